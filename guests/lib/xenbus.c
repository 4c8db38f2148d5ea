/* Xenbus front-end handshake (see xenbus.h). */
#include <kit/kit.h>
#include <kit/xenstore.h>
#include <kit/xenbus.h>

static u32 next_token;

static void join(char *out, u32 len, const char *dir, const char *key)
{
    snprintf(out, len, "%s/%s", dir, key);
}

int xenbus_read_str(u32 tx, const char *dir, const char *key, char *buf, u32 len)
{
    char path[192];
    join(path, sizeof(path), dir, key);
    return xs_read(tx, path, buf, len);
}

int xenbus_read_u64(u32 tx, const char *dir, const char *key, u64 *out)
{
    char value[32];
    int n = xenbus_read_str(tx, dir, key, value, sizeof(value));
    if (n < 0)
        return n;
    const char *end;
    *out = strtoull(value, &end);
    return (end == value || *end) ? -22 : 0;    /* EINVAL: not a number */
}

int xenbus_write(u32 tx, const char *dir, const char *key, const char *value)
{
    char path[192];
    join(path, sizeof(path), dir, key);
    return xs_write(tx, path, value);
}

int xenbus_printf(u32 tx, const char *dir, const char *key, const char *fmt, ...)
{
    char value[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    return xenbus_write(tx, dir, key, value);
}

int xenbus_switch_state(struct xenbus_dev *dev, u32 tx, int state)
{
    return xenbus_printf(tx, dev->node, "state", "%d", state);
}

int xenbus_backend_state(struct xenbus_dev *dev)
{
    u64 v;
    int rc = xenbus_read_u64(XBT_NIL, dev->backend, "state", &v);
    return rc < 0 ? rc : (int)v;
}

int xenbus_dev_init(struct xenbus_dev *dev, const char *type, const char *id)
{
    char dir[48], first[32];
    memset(dev, 0, sizeof(*dev));
    if (!id) {
        char list[256];
        snprintf(dir, sizeof(dir), "device/%s", type);
        int n = xs_directory(XBT_NIL, dir, list, sizeof(list) - 1);
        if (n < 0)
            return n;
        if (n == 0)
            return -2;                          /* ENOENT */
        list[sizeof(list) - 1] = '\0';
        strlcpy(first, list, sizeof(first));
        id = first;
    }
    snprintf(dev->node, sizeof(dev->node), "device/%s/%s", type, id);
    int n = xenbus_read_str(XBT_NIL, dev->node, "backend", dev->backend, sizeof(dev->backend));
    if (n < 0)
        return n;
    u64 bid = 0;
    if (xenbus_read_u64(XBT_NIL, dev->node, "backend-id", &bid) < 0)
        bid = 0;                                /* Domain-0 */
    dev->backend_id = (domid_t)bid;
    snprintf(dev->token, sizeof(dev->token), "xenbus%u", next_token++);
    return 0;
}

int xenbus_wait_backend(struct xenbus_dev *dev, int lo, int hi, u64 deadline)
{
    char path[160];
    join(path, sizeof(path), dev->backend, "state");
    int rc = xs_watch(path, dev->token);
    if (rc < 0)
        return rc;
    int state;
    for (;;) {
        state = xenbus_backend_state(dev);
        if (state >= lo && state <= hi)
            break;
        if (state >= XenbusStateClosing && state <= XenbusStateClosed)
            break;                              /* it gave up */
        struct xs_watch_event ev;
        if (!xs_next_watch_token(dev->token, &ev, deadline)) {
            state = xenbus_backend_state(dev);
            break;
        }
    }
    xs_unwatch(path, dev->token);
    /* The watch's own firings may still be queued: drop them. */
    struct xs_watch_event ev;
    while (xs_next_watch_token(dev->token, &ev, XS_NO_WAIT))
        ;
    return state;
}

int xenbus_connect(struct xenbus_dev *dev, const struct xenbus_kv *kvs, u32 n)
{
    int rc = xenbus_switch_state(dev, XBT_NIL, XenbusStateInitialising);
    if (rc < 0)
        return rc;
    u64 deadline = now_ns() + XENBUS_TIMEOUT_NS;
    int st = xenbus_wait_backend(dev, XenbusStateInitWait, XenbusStateConnected, deadline);
    if (st < 0)
        return st;
    if (st < XenbusStateInitWait)
        return -110;                            /* ETIMEDOUT */
    if (st > XenbusStateConnected)
        return -5;                              /* EIO */

    for (;;) {                                  /* Linux talk_to_blkback */
        u32 tx;
        rc = xs_transaction_start(&tx);
        if (rc < 0)
            return rc;
        for (u32 i = 0; i < n && rc >= 0; i++)
            rc = xenbus_write(tx, dev->node, kvs[i].key, kvs[i].value);
        if (rc >= 0)
            rc = xenbus_switch_state(dev, tx, XenbusStateInitialised);
        if (rc < 0) {
            xs_transaction_end(tx, 1);
            return rc;
        }
        rc = xs_transaction_end(tx, 0);
        if (rc == -11)                          /* EAGAIN: do it again */
            continue;
        if (rc < 0)
            return rc;
        break;
    }

    st = xenbus_wait_backend(dev, XenbusStateConnected, XenbusStateConnected, deadline);
    if (st < 0)
        return st;
    if (st == XenbusStateConnected)
        return 0;
    return st >= XenbusStateClosing ? -5 : -110;
}

int xenbus_disconnect(struct xenbus_dev *dev)
{
    int rc = xenbus_switch_state(dev, XBT_NIL, XenbusStateClosing);
    if (rc < 0)
        return rc;
    xenbus_wait_backend(dev, XenbusStateClosing, XenbusStateClosed,
                        now_ns() + 5 * NSEC_PER_SEC);
    return xenbus_switch_state(dev, XBT_NIL, XenbusStateClosed);
}
