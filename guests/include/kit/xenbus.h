/*
 * Xenbus front-end helpers (io/xenbus.h; docs/misc/xenstore-paths.pandoc;
 * the handshake of Linux xenbus/blkfront/netfront and Mini-OS).
 *
 * The toolstack creates both halves before the domain starts:
 *   device/<type>/<id>/backend     = /local/domain/<b>/backend/<type>/<us>/<id>
 *   device/<type>/<id>/backend-id  = <b>
 *   device/<type>/<id>/state       = 1 (Initialising)
 * and the back end moves itself to InitWait (2) once it is ready to read
 * the front end's keys. The front end then:
 *   1. writes state = Initialising (1);
 *   2. waits for the back end's state >= InitWait (2);
 *   3. in one transaction (retried on EAGAIN) publishes its keys
 *      (ring-ref, event-channel, protocol, ...) and state = Initialised (3);
 *   4. waits for the back end's state = Connected (4), then reads the back
 *      end's keys (sectors, feature-*, ...);
 *   5. writes state = Connected (4).
 * Shutdown: state = Closing (5), wait for the back end to reach Closing or
 * Closed, state = Closed (6).
 */
#ifndef KIT_XENBUS_H
#define KIT_XENBUS_H
#include <kit/xen.h>

enum xenbus_state {
    XenbusStateUnknown = 0,
    XenbusStateInitialising = 1,
    XenbusStateInitWait = 2,
    XenbusStateInitialised = 3,
    XenbusStateConnected = 4,
    XenbusStateClosing = 5,
    XenbusStateClosed = 6,
    XenbusStateReconfiguring = 7,
    XenbusStateReconfigured = 8,
};

struct xenbus_dev {
    char node[64];           /* "device/vbd/51712" (relative: our domain) */
    char backend[128];       /* the back end's directory (absolute) */
    domid_t backend_id;
    char token[24];          /* watch token for the back end's state */
};

#define XENBUS_TIMEOUT_NS (30ull * 1000000000ull)

/* Fills dev for device/<type>/<id>; id NULL = the first one listed under
 * device/<type>. Reads backend and backend-id. 0 or -errno. */
int xenbus_dev_init(struct xenbus_dev *dev, const char *type, const char *id);
/* Reads <dir>/<key> as a string / an unsigned decimal. -errno if absent. */
int xenbus_read_str(u32 tx, const char *dir, const char *key, char *buf, u32 len);
int xenbus_read_u64(u32 tx, const char *dir, const char *key, u64 *out);
/* Writes <dir>/<key>. */
int xenbus_write(u32 tx, const char *dir, const char *key, const char *value);
int xenbus_printf(u32 tx, const char *dir, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int xenbus_switch_state(struct xenbus_dev *dev, u32 tx, int state);
/* The back end's state, or -errno. */
int xenbus_backend_state(struct xenbus_dev *dev);
/* Waits (watching the back end's state node) until its state is in
 * [lo, hi] or the deadline passes; returns the last state seen (check it
 * against the range), or -errno. Closed/Closing outside the range end the
 * wait early. */
int xenbus_wait_backend(struct xenbus_dev *dev, int lo, int hi, u64 deadline);

/* One front-end key to publish: name and value. */
struct xenbus_kv { const char *key; char value[32]; };
/* Steps 1-4 above: Initialising, wait InitWait, publish kvs + Initialised
 * in a transaction, wait Connected. 0, or -errno (-ETIMEDOUT -110 if the
 * back end never came, -EIO if it closed). Step 5 is the caller's, after
 * it has read the back end's keys. */
int xenbus_connect(struct xenbus_dev *dev, const struct xenbus_kv *kvs, u32 n);
/* Closing -> (back end closes) -> Closed; bounded wait. */
int xenbus_disconnect(struct xenbus_dev *dev);

#endif
