/*
 * A small HTTP/1.1 server over the kit's TCP sockets (see http.h):
 * persistent connections, pipelined requests answered in order (the next
 * request is parsed once the previous response is fully handed to TCP),
 * Content-Length and chunked request bodies, Expect: 100-continue, HEAD for
 * every GET route, idle keep-alive connections closed after the timeout.
 * Buffers: an 8 KiB head buffer per connection (static), request bodies and
 * responses on the kit heap (alloc.h), which the guest must set up.
 */
#include <kit/kit.h>
#include <kit/net.h>
#include <kit/http.h>
#include <kit/netdev.h>
#include <kit/control.h>
#include <kit/alloc.h>

#define IN_CAP (HTTP_MAX_HEAD + 1024)

static struct hconn {
    u8 used;
    u8 have_head;
    u8 close_after;
    u8 out_static;
    u8 body_done;
    char in[IN_CAP];
    u32 in_len;
    struct http_req req;
    struct http_chunked ch;
    char *body;
    u32 body_len, body_cap;
    char *out;
    u32 out_len, out_off;
    u64 last_active;
} conns[TCP_MAX_CONNS];

static struct http_server_config cfg;
static int listener = -1;
static u32 nr_requests;
static struct hconn *current;

static const char oom_response[] =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

u32 http_server_requests(void) { return nr_requests; }

static void free_out(struct hconn *h)
{
    if (!h->out_static)
        kfree(h->out);
    h->out = NULL;
    h->out_len = h->out_off = 0;
    h->out_static = 0;
}

static void reset_request(struct hconn *h)
{
    kfree(h->body);
    h->body = NULL;
    h->body_len = h->body_cap = 0;
    h->have_head = 0;
    h->body_done = 0;
}

static void release(int c, int abort)
{
    struct hconn *h = &conns[c];
    reset_request(h);
    free_out(h);
    h->used = 0;
    h->in_len = 0;
    if (abort)
        tcp_abort(c);
    else
        tcp_close(c);
}

static void set_out(struct hconn *h, char *buf, u32 len, int is_static)
{
    h->out = buf;
    h->out_len = len;
    h->out_off = 0;
    h->out_static = (u8)is_static;
}

void http_reply(struct http_exchange *x, int status, const char *content_type,
                const void *body, u32 len, const char *extra)
{
    struct hconn *h = current;
    if (!h || x->replied)
        return;
    x->replied = 1;
    x->status = status;
    int keep = h->req.keep_alive && !x->close && status != 400 && status != 413 && status < 500;
    /* RFC 9110 §6.6.1: an origin server with a clock sends Date. */
    char hdrs[384];
    u64 sec;
    u32 nsec;
    wallclock(&sec, &nsec);
    char date[30];
    http_date(date, sec);
    snprintf(hdrs, sizeof(hdrs), "Date: %s\r\n%s", date, extra ? extra : "");
    char head[512];
    u32 hl = http_format_head(head, sizeof(head), status, content_type, len, keep, h->req.minor, hdrs);
    u32 blen = (x->head_only || status == 204 || status == 304) ? 0 : len;
    char *out = hl ? kmalloc(hl + blen) : NULL;
    if (!out) {
        set_out(h, (char *)oom_response, sizeof(oom_response) - 1, 1);
        h->close_after = 1;
        return;
    }
    memcpy(out, head, hl);
    if (blen)
        memcpy(out + hl, body, blen);
    set_out(h, out, hl + blen, 0);
    h->close_after = (u8)!keep;
    nr_requests++;
}

static void error_reply(struct hconn *h, int status)
{
    struct http_exchange x;
    memset(&x, 0, sizeof(x));
    x.req = &h->req;
    x.close = 1;
    current = h;
    char msg[64];
    u32 n = 0;
    const char *r = http_reason(status);
    while (r[n] && n < sizeof(msg) - 2) {
        msg[n] = r[n];
        n++;
    }
    msg[n++] = '\n';
    http_reply(&x, status, "text/plain", msg, n, NULL);
    current = NULL;
}

static void consume_in(struct hconn *h, u32 n)
{
    memmove(h->in, h->in + n, h->in_len - n);
    h->in_len -= n;
}

static void dispatch(struct hconn *h)
{
    struct http_exchange x;
    memset(&x, 0, sizeof(x));
    x.req = &h->req;
    x.body = h->body ? h->body : "";
    x.body_len = h->body_len;
    x.head_only = !strcmp(h->req.method, "HEAD");
    current = h;
    cfg.handler(&x);
    if (!x.replied)
        http_reply(&x, 500, "text/plain", "no response\n", 12, NULL);
    current = NULL;
    reset_request(h);
}

/* Advances one connection's request state machine on buffered input. */
static void process(int c, struct hconn *h)
{
    while (!h->out && !h->close_after) {
        if (!h->have_head) {
            int r = http_parse_request(h->in, h->in_len, &h->req);
            if (r == 0) {
                if (h->in_len >= IN_CAP)
                    error_reply(h, 431);
                return;
            }
            if (r < 0) {
                error_reply(h, -r);
                return;
            }
            consume_in(h, (u32)r);
            h->have_head = 1;
            h->body_len = 0;
            if (h->req.chunked) {
                http_chunked_init(&h->ch);
                h->body_cap = cfg.max_body < 65536 ? cfg.max_body : 65536;
            } else {
                if (h->req.content_length > cfg.max_body) {
                    error_reply(h, 413);
                    return;
                }
                h->body_cap = (u32)h->req.content_length;
            }
            if (h->body_cap) {
                h->body = kmalloc(h->body_cap);
                if (!h->body) {
                    error_reply(h, 503);
                    return;
                }
            }
            if (h->req.expect_continue && (h->req.chunked || h->req.content_length)) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                tcp_send(c, cont, sizeof(cont) - 1);
            }
            h->body_done = !h->req.chunked && !h->req.content_length;
        }
        if (!h->body_done) {
            if (h->req.chunked) {
                for (;;) {
                    u32 used, got;
                    if (h->body_len == h->body_cap) {
                        if (h->body_cap >= cfg.max_body) {
                            error_reply(h, 413);
                            return;
                        }
                        u32 cap = h->body_cap * 2 > cfg.max_body ? cfg.max_body : h->body_cap * 2;
                        char *nb = krealloc(h->body, cap ? cap : 4096);
                        if (!nb) {
                            error_reply(h, 503);
                            return;
                        }
                        h->body = nb;
                        h->body_cap = cap ? cap : 4096;
                    }
                    int r = http_chunked_feed(&h->ch, h->in, h->in_len, &used, h->body + h->body_len,
                                              h->body_cap - h->body_len, &got);
                    if (r < 0) {
                        error_reply(h, 400);
                        return;
                    }
                    consume_in(h, used);
                    h->body_len += got;
                    if (r == 1) {
                        h->body_done = 1;
                        break;
                    }
                    if (!used && h->body_len < h->body_cap)
                        return;                 /* needs more input */
                }
            } else {
                u32 want = (u32)h->req.content_length - h->body_len;
                u32 n = h->in_len < want ? h->in_len : want;
                memcpy(h->body + h->body_len, h->in, n);
                h->body_len += n;
                consume_in(h, n);
                if (h->body_len < h->req.content_length)
                    return;
                h->body_done = 1;
            }
        }
        dispatch(h);
    }
}

static void flush_out(int c, struct hconn *h)
{
    while (h->out && h->out_off < h->out_len) {
        int n = tcp_send(c, h->out + h->out_off, h->out_len - h->out_off);
        if (n <= 0)
            break;
        h->out_off += (u32)n;
    }
    if (h->out && h->out_off == h->out_len)
        free_out(h);
}

int http_server_start(const struct http_server_config *c)
{
    cfg = *c;
    if (!cfg.idle_timeout_ms)
        cfg.idle_timeout_ms = 60000;
    listener = tcp_listen(cfg.port, TCP_MAX_CONNS);
    return listener;
}

int http_server_poll(void)
{
    int did = 0;
    int c;
    while ((c = tcp_accept(listener)) >= 0) {
        struct hconn *h = &conns[c];
        memset(h, 0, (u32)((char *)&h->in - (char *)h));
        h->used = 1;
        h->in_len = 0;
        h->body = NULL;
        h->out = NULL;
        h->last_active = net_time();
        did = 1;
    }
    for (c = 0; c < TCP_MAX_CONNS; c++) {
        struct hconn *h = &conns[c];
        if (!h->used)
            continue;
        for (;;) {
            flush_out(c, h);
            if (h->out)
                break;                          /* TCP is full: later */
            if (h->close_after) {
                release(c, 0);
                did = 1;
                break;
            }
            int n = 0;
            if (h->in_len < IN_CAP) {
                n = tcp_recv(c, h->in + h->in_len, IN_CAP - h->in_len);
                if (n > 0) {
                    h->in_len += (u32)n;
                    h->last_active = net_time();
                    did = 1;
                } else if (n == 0 || (n < 0 && n != -NET_EAGAIN)) {
                    /* Peer finished (or the connection died). Answer what
                     * is complete, then close. */
                    process(c, h);
                    flush_out(c, h);
                    if (!h->out || n < 0) {
                        release(c, n < 0);
                        did = 1;
                    } else {
                        h->close_after = 1;
                    }
                    break;
                }
            }
            u32 before = h->in_len;
            process(c, h);
            if (h->out)
                continue;                       /* send it, then go on */
            if (n <= 0 && h->in_len == before)
                break;                          /* nothing more to do */
        }
        if (h->used && !h->out && !h->in_len && !h->have_head &&
            net_time() - h->last_active >= cfg.idle_timeout_ms) {
            release(c, 0);                      /* idle keep-alive */
            did = 1;
        }
    }
    return did;
}

u64 http_server_next_timer(void)
{
    u64 t = 0;
    for (int c = 0; c < TCP_MAX_CONNS; c++) {
        struct hconn *h = &conns[c];
        if (!h->used)
            continue;
        u64 at = h->last_active + cfg.idle_timeout_ms;
        if (!t || at < t)
            t = at;
    }
    return t;
}

/* ---- the service guests' main loop (httpd, kvstore) ---------------------- */

static int prefix_len(u32 mask)
{
    int n = 0;
    while (mask & 0x80000000u) {
        n++;
        mask <<= 1;
    }
    return n;
}

void http_serve_main(const char *name, const struct http_server_config *cfg)
{
    int rc = net_start();
    if (rc < 0) {
        printf("%s: FAIL no network (%d)\n", name, rc);
        return;
    }
    char ip[16], gw[16];
    const u8 *m = net_mac();
    printf("%s: address %s/%d gateway %s mac %02x:%02x:%02x:%02x:%02x:%02x\n", name,
           ip_fmt(net_ip(), ip), prefix_len(net_netmask()), ip_fmt(net_gateway(), gw),
           m[0], m[1], m[2], m[3], m[4], m[5]);
    if (http_server_start(cfg) < 0) {
        printf("%s: FAIL cannot listen on :%u\n", name, (u32)cfg->port);
        return;
    }
    printf("%s: listening on :%u\n", name, (u32)cfg->port);

    for (;;) {
        net_poll();
        while (http_server_poll())
            net_flush();
        net_flush();
        struct xs_watch_event ev;
        while (xs_next_watch(&ev, XS_NO_WAIT)) {
            if (!control_is_event(&ev))
                continue;
            int reason = control_check();
            if (reason < 0)
                continue;
            printf("%s: %s requested\n", name, control_reason_name(reason));
            control_act(reason);
            printf("%s: resumed\n", name);
        }
        u64 t = http_server_next_timer();
        net_wait(t ? t * NSEC_PER_MSEC : 0);
    }
}
