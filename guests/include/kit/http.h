/*
 * HTTP/1.1 (RFC 9112 message syntax, RFC 9110 semantics): a request-head
 * parser, a chunked-body decoder (pure, unit-tested natively), and a small
 * server over the kit's TCP sockets (http_server.c).
 *
 * Parser rules: CRLF or bare LF end lines; empty lines before the request
 * line are skipped; the request line is exactly `method SP target SP
 * HTTP/x.y`; field names are tokens followed directly by ':' (whitespace
 * before the colon is an error, as is obs-fold); Content-Length must be
 * digits (several fields or list members must agree); Transfer-Encoding
 * other than `chunked` (alone, last) is 501; both Content-Length and
 * Transfer-Encoding is 400; HTTP/1.1 without exactly one Host is 400;
 * major versions other than 1 are 505. Persistence: HTTP/1.1 keeps the
 * connection unless `Connection: close`; HTTP/1.0 only with `Connection:
 * keep-alive`.
 */
#ifndef KIT_HTTP_H
#define KIT_HTTP_H
#include <kit/xen.h>

#define HTTP_MAX_HEAD 8192           /* request line + fields */
#define HTTP_MAX_TARGET 1024

struct http_req {
    char method[16];
    char target[HTTP_MAX_TARGET];
    int minor;                       /* HTTP/1.<minor> */
    int has_length;
    u64 content_length;
    int chunked;
    int keep_alive;
    int expect_continue;
    u32 head_len;                    /* bytes up to and including the empty line */
};

/* Parses a request head at buf[0..len). Returns head_len (> 0) when the
 * head is complete, 0 when more bytes are needed, or -status for an error
 * to answer with (400, 431, 501, 505). */
int http_parse_request(const char *buf, u32 len, struct http_req *req);

/* Chunked transfer coding (RFC 9112 §7.1), incremental. */
struct http_chunked {
    int state;
    u64 left;                        /* bytes of chunk data still to come */
    u32 digits;
};
void http_chunked_init(struct http_chunked *c);
/* Consumes input from in[0..len): copies chunk data to out (up to
 * out_room bytes), sets *in_used and *out_len. Returns 1 once the final
 * chunk and trailer are consumed, 0 if more input is needed, -400 on a
 * syntax error. */
int http_chunked_feed(struct http_chunked *c, const char *in, u32 len, u32 *in_used,
                      char *out, u32 out_room, u32 *out_len);

const char *http_reason(int status);
/* IMF-fixdate (RFC 9110 §5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT"
 * (29 characters + NUL) for seconds since 1970-01-01 00:00:00 UTC. */
void http_date(char buf[30], u64 unix_seconds);
/* Formats a response head; returns its length (0 if it did not fit).
 * extra: more header lines, each ending in CRLF, or NULL. */
u32 http_format_head(char *buf, u32 size, int status, const char *content_type,
                     u64 content_length, int keep_alive, int minor, const char *extra);

/* ---- the server (http_server.c) ---- */
struct http_exchange {
    const struct http_req *req;
    const char *body;                /* the whole request body */
    u32 body_len;
    int head_only;                   /* HEAD: the server drops the body */
    /* response, filled by the handler with http_reply() */
    int status;
    int replied;
    int close;                       /* ask for Connection: close */
};
typedef void (*http_handler_fn)(struct http_exchange *x);
struct http_server_config {
    u16 port;
    u32 max_body;                    /* 413 above this */
    u32 idle_timeout_ms;             /* keep-alive connections idle longer are closed */
    http_handler_fn handler;
};
/* The handler's answer: status, content type (NULL: none), body. Extra
 * header lines (CRLF-terminated) or NULL. The body is copied. */
void http_reply(struct http_exchange *x, int status, const char *content_type,
                const void *body, u32 len, const char *extra);
int http_server_start(const struct http_server_config *cfg);
/* One pass over the connections: accept, read, parse, call the handler,
 * write. Returns nonzero if it did anything. */
int http_server_poll(void);
u64 http_server_next_timer(void);   /* ms, 0 = none */
u32 http_server_requests(void);     /* requests answered so far */
/* The main loop of an HTTP service guest: start the network, print
 * "<name>: address <ip>/<prefix> gateway <gw> mac <mac>" and "<name>: listening
 * on :<port>", then serve forever, honouring control/shutdown ("<name>: <reason>
 * requested", and "<name>: resumed" after a suspend). Returns only after
 * printing "<name>: FAIL ..." (no network, cannot listen). */
void http_serve_main(const char *name, const struct http_server_config *cfg);

#endif
