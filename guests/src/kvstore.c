/*
 * kvstore: a durable key-value store over HTTP/1.1 on port 80, its data on
 * the first vbd (xvda) in a write-ahead log (lib/kvlog.c: checksummed
 * records, replayed at boot; a torn tail after a power cut is ignored).
 *
 * Console output (exact; <> vary):
 *
 *   kvstore: disk <handle> <sectors> sectors, sector-size <bytes>, flush <flush-cache|barrier|none>
 *   kvstore: new store, <n> KiB per log area
 * or
 *   kvstore: recovered <keys> keys from <records> records (log <bytes> bytes, generation <gen>)
 *   kvstore: address <ip>/<prefix> gateway <gw> mac <mac>
 *   kvstore: listening on :80
 *
 * Failures (then power off): "kvstore: FAIL no disk (<errno>)",
 * "kvstore: FAIL read-only disk", "kvstore: FAIL cannot open the store
 * (<errno>)", "kvstore: FAIL no network (<errno>)".
 * control/shutdown as httpd ("kvstore: poweroff requested", ...; suspend:
 * "kvstore: suspend requested", "kvstore: resumed").
 *
 * Requests (the key is the rest of the path after /kv/, as sent, without
 * the query; 1-255 bytes; values up to 256 KiB):
 *   PUT /kv/<key>     body = value; 204 once the record is on disk and the
 *                     disk flushed (blk_flush) - never before; 413 if too
 *                     large, 507 if the disk is full, 500 on an I/O error
 *   GET /kv/<key>     200 application/octet-stream, the value; 404
 *   DELETE /kv/<key>  204 once durable; 404 if absent
 *   GET /kv/          200 text/plain: the keys in byte order, one per line
 *                     (each followed by "\n"; empty body when none)
 *   GET /             200 application/json
 *                     {"kernel":"kvstore","version":"1.0.0","uptimeMs":N,"requests":N,"keys":N}
 *   HEAD wherever GET works; other methods 405 with Allow; other paths 404.
 * Keep-alive as httpd.
 */
#include <kit/kit.h>
#include <kit/control.h>
#include <kit/blkfront.h>
#include <kit/blkif.h>
#include <kit/netdev.h>
#include <kit/http.h>
#include <kit/alloc.h>
#include <kit/kvlog.h>

#define KVSTORE_VERSION "1.0.0"

static char heap[6 << 20] __attribute__((aligned(16)));

static int d_read(void *ctx, u64 s, void *buf, u32 n) { (void)ctx; return blk_read(s, buf, n); }
static int d_write(void *ctx, u64 s, const void *buf, u32 n) { (void)ctx; return blk_write(s, buf, n); }
static int d_flush(void *ctx) { (void)ctx; return blk_flush(); }

struct list { char *buf; u32 len, cap; int oom; };

static void add_key(const char *k, u32 kl, void *arg)
{
    struct list *l = arg;
    if (l->oom)
        return;
    if (l->len + kl + 1 > l->cap) {
        u32 cap = (l->cap ? l->cap * 2 : 4096);
        while (cap < l->len + kl + 1)
            cap *= 2;
        char *nb = krealloc(l->buf, cap);
        if (!nb) {
            l->oom = 1;
            return;
        }
        l->buf = nb;
        l->cap = cap;
    }
    memcpy(l->buf + l->len, k, kl);
    l->len += kl;
    l->buf[l->len++] = '\n';
}

static void status_reply(struct http_exchange *x, int rc)
{
    int st = rc == -28 ? 507 : rc == -12 ? 503 : rc == -22 ? 400 : 500;
    const char *r = http_reason(st);
    http_reply(x, st, "text/plain", r, strlen(r), NULL);
}

static int is(const char *m, const char *want) { return !strcmp(m, want); }

static void handle(struct http_exchange *x)
{
    const struct http_req *r = x->req;
    const char *t = r->target;
    u32 tl = 0;
    while (t[tl] && t[tl] != '?')
        tl++;
    int get = is(r->method, "GET") || is(r->method, "HEAD");

    if (tl == 1 && t[0] == '/') {
        if (!get) {
            http_reply(x, 405, "text/plain", "Method Not Allowed\n", 19, "Allow: GET, HEAD\r\n");
            return;
        }
        char body[192];
        int n = snprintf(body, sizeof(body),
                         "{\"kernel\":\"kvstore\",\"version\":\"%s\",\"uptimeMs\":%llu,"
                         "\"requests\":%u,\"keys\":%u}",
                         KVSTORE_VERSION, now_ns() / NSEC_PER_MSEC, http_server_requests() + 1,
                         kv_count());
        http_reply(x, 200, "application/json", body, (u32)n, NULL);
        return;
    }
    if (tl < 4 || memcmp(t, "/kv/", 4)) {
        http_reply(x, 404, "text/plain", "Not Found\n", 10, NULL);
        return;
    }
    const char *key = t + 4;
    u32 kl = tl - 4;
    if (!kl) {                                   /* the listing */
        if (!get) {
            http_reply(x, 405, "text/plain", "Method Not Allowed\n", 19, "Allow: GET, HEAD\r\n");
            return;
        }
        struct list l = { NULL, 0, 0, 0 };
        kv_keys(add_key, &l);
        if (l.oom)
            status_reply(x, -12);
        else
            http_reply(x, 200, "text/plain", l.buf ? l.buf : "", l.len, NULL);
        kfree(l.buf);
        return;
    }
    if (kl > KV_MAX_KEY) {
        http_reply(x, 414, "text/plain", "URI Too Long\n", 13, NULL);
        return;
    }
    if (get) {
        const void *v;
        u32 vl;
        if (kv_get(key, kl, &v, &vl) < 0)
            http_reply(x, 404, "text/plain", "Not Found\n", 10, NULL);
        else
            http_reply(x, 200, "application/octet-stream", v, vl, NULL);
    } else if (is(r->method, "PUT")) {
        int rc = kv_put(key, kl, x->body, x->body_len);   /* durable on 0 */
        if (rc < 0)
            status_reply(x, rc);
        else
            http_reply(x, 204, NULL, NULL, 0, NULL);
    } else if (is(r->method, "DELETE")) {
        int rc = kv_delete(key, kl);
        if (rc == -2)
            http_reply(x, 404, "text/plain", "Not Found\n", 10, NULL);
        else if (rc < 0)
            status_reply(x, rc);
        else
            http_reply(x, 204, NULL, NULL, 0, NULL);
    } else {
        http_reply(x, 405, "text/plain", "Method Not Allowed\n", 19,
                   "Allow: GET, HEAD, PUT, DELETE\r\n");
    }
}

void guest_main(void)
{
    kit_init(KIT_DEFAULT);
    heap_init(heap, sizeof(heap));
    control_init();
    int rc = blkfront_init(NULL);
    if (rc < 0) {
        printf("kvstore: FAIL no disk (%d)\n", rc);
        return;
    }
    const struct blk_info *bi = blk_info();
    printf("kvstore: disk %u %llu sectors, sector-size %u, flush %s\n", bi->handle, bi->sectors,
           bi->sector_size, bi->flush_op == BLKIF_OP_FLUSH_DISKCACHE ? "flush-cache" :
           bi->flush_op == BLKIF_OP_WRITE_BARRIER ? "barrier" : "none");
    if (bi->readonly) {
        printf("kvstore: FAIL read-only disk\n");
        return;
    }
    struct kv_disk disk = { d_read, d_write, d_flush, NULL, bi->sectors, bi->sector_size / 512 };
    rc = kv_open(&disk, kmalloc, kfree);
    if (rc < 0) {
        printf("kvstore: FAIL cannot open the store (%d)\n", rc);
        return;
    }
    const struct kv_stats *st = kv_get_stats();
    if (st->formatted)
        printf("kvstore: new store, %llu KiB per log area\n", st->area_bytes / 1024);
    else
        printf("kvstore: recovered %u keys from %u records (log %llu bytes, generation %u)\n",
               kv_count(), st->records, st->log_bytes, st->gen);

    struct http_server_config cfg = {
        .port = 80, .max_body = KV_MAX_VALUE, .idle_timeout_ms = 60000, .handler = handle,
    };
    http_serve_main("kvstore", &cfg);
}
