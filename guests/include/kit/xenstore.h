/*
 * Xenstore client over the shared ring (io/xs_wire.h, docs/misc/xenstore.txt).
 * Requests are synchronous: one in flight, matched by req_id. Watch events
 * that arrive meanwhile are queued and handed out by xs_next_watch().
 * Relative paths resolve under /local/domain/<domid>.
 * Every call returns >= 0 on success or -errno (ENOENT, EACCES, EAGAIN…).
 */
#ifndef KIT_XENSTORE_H
#define KIT_XENSTORE_H
#include <kit/xen.h>

#define XBT_NIL 0u               /* no transaction */
#define XS_NO_WAIT 1ull          /* a deadline that has always passed */

struct xs_watch_event {
    char path[256];
    char token[64];
};

void xs_init(void);
/* After a resume in a new domain: new ring/port, re-register watches. */
void xs_resume(void);
/* Reads into buf (NUL-terminated, truncated to len-1); returns the value's
 * full length. */
int xs_read(u32 tx, const char *path, char *buf, u32 len);
int xs_write(u32 tx, const char *path, const char *value);
int xs_rm(u32 tx, const char *path);
/* Child names, each NUL-terminated, packed in buf; returns their count. */
int xs_directory(u32 tx, const char *path, char *buf, u32 len);
int xs_watch(const char *path, const char *token);
int xs_unwatch(const char *path, const char *token);
int xs_transaction_start(u32 *tx);
/* abort = 0 commits; a commit may fail with -EAGAIN: retry the whole
 * transaction. */
int xs_transaction_end(u32 tx, int abort);
/* Next queued watch event, waiting until deadline (system time; 0 = for
 * ever, XS_NO_WAIT = just poll). 1 = got one, 0 = deadline passed. */
int xs_next_watch(struct xs_watch_event *ev, u64 deadline);
/* The same for events whose token is `token` only; other events stay
 * queued, in order, for whoever waits for them. */
int xs_next_watch_token(const char *token, struct xs_watch_event *ev, u64 deadline);
/* Nonzero when a watch event is queued or the reply ring holds unread
 * bytes: cheap enough for a WAIT_UNTIL condition in an event loop. */
int xs_event_pending(void);

#endif
