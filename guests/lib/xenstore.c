/*
 * Xenstore client (io/xs_wire.h; docs/misc/xenstore.txt; Mini-OS xenbus.c).
 *
 * start_info.store_mfn is a MACHINE frame; like the console page it is
 * mapped at a fixed .bss address with update_va_mapping. Both rings carry
 * byte streams of messages: a 16-byte xsd_sockmsg header and at most 4096
 * payload bytes. The store event channel is wake-only; all ring work is
 * done here, in the main thread. Like Linux and Mini-OS the client waits
 * for xenstored as long as it takes.
 */
#include <kit/kit.h>
#include <kit/xenstore.h>

#define RING XENSTORE_RING_SIZE
#define MAX_WATCHES 8
#define QUEUE_LEN 16

static char xenstore_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static volatile struct xenstore_domain_interface *xs;
static evtchn_port_t xs_port;
static u32 next_req_id = 1;
static char payload[XENSTORE_PAYLOAD_MAX + 1];

static struct { char path[128]; char token[64]; int used; } watches[MAX_WATCHES];
static struct xs_watch_event queue[QUEUE_LEN];
static u32 q_head, q_len;

/* Error names carried by XS_ERROR replies (xs_wire.h xsd_errors). */
static const struct { const char *name; int err; } xs_errors[] = {
    { "EINVAL", 22 }, { "EACCES", 13 }, { "EEXIST", 17 }, { "EISDIR", 21 },
    { "ENOENT", 2 }, { "ENOMEM", 12 }, { "ENOSPC", 28 }, { "EIO", 5 },
    { "ENOTEMPTY", 39 }, { "ENOSYS", 38 }, { "EROFS", 30 }, { "EBUSY", 16 },
    { "EAGAIN", 11 }, { "EISCONN", 106 }, { "E2BIG", 7 }, { "EPERM", 1 },
};

static int error_from_name(const char *name)
{
    for (u32 i = 0; i < sizeof(xs_errors) / sizeof(xs_errors[0]); i++)
        if (!strcmp(name, xs_errors[i].name))
            return -xs_errors[i].err;
    return -5;                                  /* EIO */
}

static int req_has_space(void) { return xs->req_prod - READ_ONCE(xs->req_cons) < RING; }
static int rsp_has_data(void) { return READ_ONCE(xs->rsp_prod) != xs->rsp_cons; }

static void ring_write(const void *data, u32 len)
{
    const char *p = data;
    while (len) {
        WAIT_UNTIL(req_has_space(), 0);
        u32 prod = xs->req_prod;
        u32 space = RING - (prod - READ_ONCE(xs->req_cons));
        mb();                 /* see the free space before writing into it */
        u32 k = space < len ? space : len;
        for (u32 i = 0; i < k; i++)
            xs->req[(prod + i) & (RING - 1)] = p[i];
        wmb();                /* data before the index */
        xs->req_prod = prod + k;
        evtchn_send(xs_port);
        p += k;
        len -= k;
    }
}

static void ring_read(void *data, u32 len)
{
    char *p = data;
    while (len) {
        WAIT_UNTIL(rsp_has_data(), 0);
        u32 cons = xs->rsp_cons, avail = READ_ONCE(xs->rsp_prod) - cons;
        rmb();                /* index before the data */
        u32 k = avail < len ? avail : len;
        for (u32 i = 0; i < k; i++)
            p[i] = xs->rsp[(cons + i) & (RING - 1)];
        mb();                 /* data copied before the space is freed */
        xs->rsp_cons = cons + k;
        evtchn_send(xs_port);
        p += k;
        len -= k;
    }
}

/* WATCH_EVENT payload is "path\0token\0". Identical queued events are
 * coalesced; when full, the oldest is dropped (consumers re-read state). */
static void enqueue_watch(u32 len)
{
    struct xs_watch_event ev;
    u32 plen = strnlen(payload, len);
    strlcpy(ev.path, payload, sizeof(ev.path));
    strlcpy(ev.token, plen < len ? payload + plen + 1 : "", sizeof(ev.token));
    for (u32 i = 0; i < q_len; i++) {
        struct xs_watch_event *q = &queue[(q_head + i) % QUEUE_LEN];
        if (!strcmp(q->path, ev.path) && !strcmp(q->token, ev.token))
            return;
    }
    if (q_len == QUEUE_LEN) {
        q_head = (q_head + 1) % QUEUE_LEN;
        q_len--;
    }
    queue[(q_head + q_len++) % QUEUE_LEN] = ev;
}

/* Reads one whole message into payload (NUL-terminated); queues it and
 * returns 0 if it was a watch event. */
static int read_message(struct xsd_sockmsg *hdr)
{
    ring_read(hdr, sizeof(*hdr));
    if (hdr->len > XENSTORE_PAYLOAD_MAX)
        kit_panic("kit: xenstore reply too long (%u)\n", hdr->len);
    ring_read(payload, hdr->len);
    payload[hdr->len] = '\0';
    if (hdr->type == XS_WATCH_EVENT) {
        enqueue_watch(hdr->len);
        return 0;
    }
    return 1;
}

struct part { const char *data; u32 len; };

/* Sends one request and waits for its reply; returns the reply length
 * (payload holds it) or -errno. */
static int xs_talk(u32 type, u32 tx, const struct part *parts, u32 n)
{
    struct xsd_sockmsg hdr = { type, next_req_id++, tx, 0 };
    for (u32 i = 0; i < n; i++)
        hdr.len += parts[i].len;
    if (hdr.len > XENSTORE_PAYLOAD_MAX)
        return -7;                              /* E2BIG */
    ring_write(&hdr, sizeof(hdr));
    for (u32 i = 0; i < n; i++)
        ring_write(parts[i].data, parts[i].len);

    struct xsd_sockmsg rsp;
    for (;;) {
        if (!read_message(&rsp) || rsp.req_id != hdr.req_id)
            continue;                           /* watch, or a stale reply */
        if (rsp.type == XS_ERROR)
            return error_from_name(payload);
        return rsp.len;
    }
}

#define STR0(s) { (s), strlen(s) + 1 }          /* with its NUL */

int xs_read(u32 tx, const char *path, char *buf, u32 len)
{
    struct part p[] = { STR0(path) };
    int n = xs_talk(XS_READ, tx, p, 1);
    if (n >= 0 && len)
        strlcpy(buf, payload, (u32)n + 1 < len ? (u32)n + 1 : len);
    return n;
}

int xs_write(u32 tx, const char *path, const char *value)
{
    struct part p[] = { STR0(path), { value, strlen(value) } };
    int n = xs_talk(XS_WRITE, tx, p, 2);
    return n < 0 ? n : 0;
}

int xs_rm(u32 tx, const char *path)
{
    struct part p[] = { STR0(path) };
    int n = xs_talk(XS_RM, tx, p, 1);
    return n < 0 ? n : 0;
}

int xs_directory(u32 tx, const char *path, char *buf, u32 len)
{
    struct part p[] = { STR0(path) };
    int n = xs_talk(XS_DIRECTORY, tx, p, 1);
    if (n < 0)
        return n;
    int count = 0;
    u32 copy = (u32)n < len ? (u32)n : len;
    memcpy(buf, payload, copy);
    for (u32 i = 0; i < copy; i++)
        count += buf[i] == '\0';
    return count;
}

static int watch_raw(u32 type, const char *path, const char *token)
{
    struct part p[] = { STR0(path), STR0(token) };
    int n = xs_talk(type, XBT_NIL, p, 2);
    return n < 0 ? n : 0;
}

int xs_watch(const char *path, const char *token)
{
    int rc = watch_raw(XS_WATCH, path, token);
    if (rc < 0)
        return rc;
    for (int i = 0; i < MAX_WATCHES; i++)
        if (!watches[i].used) {                 /* remembered for resume */
            strlcpy(watches[i].path, path, sizeof(watches[i].path));
            strlcpy(watches[i].token, token, sizeof(watches[i].token));
            watches[i].used = 1;
            break;
        }
    return 0;
}

int xs_unwatch(const char *path, const char *token)
{
    for (int i = 0; i < MAX_WATCHES; i++)
        if (watches[i].used && !strcmp(watches[i].path, path) &&
            !strcmp(watches[i].token, token))
            watches[i].used = 0;
    return watch_raw(XS_UNWATCH, path, token);
}

int xs_transaction_start(u32 *tx)
{
    struct part p[] = { { "", 1 } };
    int n = xs_talk(XS_TRANSACTION_START, XBT_NIL, p, 1);
    if (n < 0)
        return n;
    *tx = (u32)strtoull(payload, NULL);
    return 0;
}

int xs_transaction_end(u32 tx, int abort)
{
    struct part p[] = { { abort ? "F" : "T", 2 } };
    int n = xs_talk(XS_TRANSACTION_END, tx, p, 1);
    return n < 0 ? n : 0;
}

int xs_next_watch(struct xs_watch_event *ev, u64 deadline)
{
    for (;;) {
        if (q_len) {
            *ev = queue[q_head];
            q_head = (q_head + 1) % QUEUE_LEN;
            q_len--;
            return 1;
        }
        if (rsp_has_data()) {
            struct xsd_sockmsg hdr;
            read_message(&hdr);                 /* replies here are stale */
            continue;
        }
        if (!WAIT_UNTIL(rsp_has_data(), deadline))
            return 0;
    }
}

int xs_event_pending(void)
{
    return q_len || rsp_has_data();
}

static int take_token(const char *token, struct xs_watch_event *ev)
{
    for (u32 i = 0; i < q_len; i++) {
        u32 k = (q_head + i) % QUEUE_LEN;
        if (strcmp(queue[k].token, token))
            continue;
        *ev = queue[k];
        for (u32 j = i; j + 1 < q_len; j++)     /* close the gap, keep order */
            queue[(q_head + j) % QUEUE_LEN] = queue[(q_head + j + 1) % QUEUE_LEN];
        q_len--;
        return 1;
    }
    return 0;
}

int xs_next_watch_token(const char *token, struct xs_watch_event *ev, u64 deadline)
{
    for (;;) {
        if (take_token(token, ev))
            return 1;
        if (rsp_has_data()) {
            struct xsd_sockmsg hdr;
            read_message(&hdr);                 /* replies here are stale */
            continue;
        }
        if (!WAIT_UNTIL(rsp_has_data(), deadline))
            return 0;
    }
}

static void xs_map(void)
{
    long rc = map_frame(xenstore_page, start_info->store_mfn);
    if (rc < 0)
        kit_panic("kit: cannot map xenstore ring (%ld)\n", rc);
    xs = (volatile struct xenstore_domain_interface *)xenstore_page;
    xs_port = start_info->store_evtchn;
    evtchn_bind(xs_port, NULL, NULL);
}

void xs_init(void)
{
    xs_map();
}

void xs_resume(void)
{
    xs_map();
    /* A reply cut short by the suspend can never complete (Linux
     * xb_init_comms does the same). */
    if (xs->rsp_prod != xs->rsp_cons)
        xs->rsp_cons = xs->rsp_prod;
    q_len = 0;
    for (int i = 0; i < MAX_WATCHES; i++)
        if (watches[i].used)
            watch_raw(XS_WATCH, watches[i].path, watches[i].token);
}
