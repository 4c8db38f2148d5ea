/* Native tests of the HTTP/1.1 parser, the chunked decoder, response heads
 * and the heap allocator. */
#include "native.h"
#include <kit/http.h>
#include <kit/alloc.h>

static int parse(const char *s, struct http_req *r)
{
    return http_parse_request(s, (u32)strlen(s), r);
}

static void t_request_line(void)
{
    struct http_req r;
    const char *s = "GET /kv/a?x=1 HTTP/1.1\r\nHost: h\r\n\r\nNEXT";
    CHECK_EQ(parse(s, &r), (int)strlen(s) - 4);
    CHECK(!strcmp(r.method, "GET"));
    CHECK(!strcmp(r.target, "/kv/a?x=1"));
    CHECK_EQ(r.minor, 1);
    CHECK_EQ(r.keep_alive, 1);
    CHECK_EQ(r.has_length, 0);
    /* incomplete heads need more bytes, at every cut */
    for (u32 cut = 0; cut < strlen(s) - 4; cut++)
        CHECK_EQ(http_parse_request(s, cut, &r), 0);
    /* bare LF, leading empty lines */
    CHECK(parse("\r\n\nPUT /x HTTP/1.1\nHost: h\nContent-Length: 3\n\n", &r) > 0);
    CHECK(!strcmp(r.method, "PUT"));
    CHECK_EQ(r.content_length, 3);
    /* malformed request lines */
    CHECK_EQ(parse("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", &r), -400);
    CHECK_EQ(parse("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", &r), -400);
    CHECK_EQ(parse("GET /\r\n\r\n", &r), -400);
    CHECK_EQ(parse("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", &r), -400);
    CHECK_EQ(parse("GET / HTTP/2.0\r\nHost: h\r\n\r\n", &r), -505);
    CHECK_EQ(parse("GET / HTTX/1.1\r\nHost: h\r\n\r\n", &r), -400);
}

static void t_fields(void)
{
    struct http_req r;
    CHECK_EQ(parse("GET / HTTP/1.1\r\n\r\n", &r), -400);                 /* no Host */
    CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", &r), -400);
    CHECK(parse("GET / HTTP/1.0\r\n\r\n", &r) > 0);                      /* 1.0: optional */
    CHECK_EQ(r.keep_alive, 0);
    CHECK(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r) > 0);
    CHECK_EQ(r.keep_alive, 1);
    CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n", &r) > 0);
    CHECK_EQ(r.keep_alive, 0);
    CHECK_EQ(parse("GET / HTTP/1.1\r\nHost : a\r\n\r\n", &r), -400);     /* space before colon */
    CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", &r), -400);
    CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", &r), -400);
    CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", &r), -400);
    CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", &r), -400);
    CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\ncontent-length:5\r\n\r\n", &r) > 0);
    CHECK_EQ(r.content_length, 5);
    CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", &r), -400);
    CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &r) > 0);
    CHECK_EQ(r.chunked, 1);
    CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", &r), -501);
    CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", &r), -400);
    CHECK(parse("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", &r) > 0);
    CHECK_EQ(r.expect_continue, 1);
    CHECK_EQ(parse("PUT / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n", &r), -417);
    CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", &r), -400);     /* bare CR in a value */
    /* an endless head is refused */
    static char big[HTTP_MAX_HEAD + 200];
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    memset(big + 19, 'a', sizeof(big) - 20);
    big[sizeof(big) - 1] = 0;
    CHECK_EQ(parse(big, &r), -431);
}

static void t_chunked(void)
{
    struct http_chunked c;
    char out[64];
    u32 used, got;
    const char *body = "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\nNEXT";
    http_chunked_init(&c);
    CHECK_EQ(http_chunked_feed(&c, body, (u32)strlen(body), &used, out, sizeof(out), &got), 1);
    CHECK_EQ(got, 23);
    CHECK(!memcmp(out, "Wikipedia in\r\n\r\nchunks.", 23));
    CHECK_EQ(used, strlen(body) - 4);
    /* byte by byte gives the same */
    http_chunked_init(&c);
    u32 total = 0, i = 0;
    int r = 0;
    while (i < strlen(body) && r == 0) {
        r = http_chunked_feed(&c, body + i, 1, &used, out + total, sizeof(out) - total, &got);
        i += used;
        total += got;
    }
    CHECK_EQ(r, 1);
    CHECK_EQ(total, 23);
    /* little output room: progress without loss */
    http_chunked_init(&c);
    char small[3], acc[64];
    total = 0; i = 0; r = 0;
    int rounds = 0;
    while (r == 0 && rounds++ < 1000) {
        r = http_chunked_feed(&c, body + i, (u32)strlen(body) - i, &used, small, 3, &got);
        memcpy(acc + total, small, got);
        total += got;
        i += used;
    }
    CHECK_EQ(r, 1);
    CHECK_EQ(total, 23);
    CHECK(!memcmp(acc, "Wikipedia in\r\n\r\nchunks.", 23));
    http_chunked_init(&c);
    CHECK_EQ(http_chunked_feed(&c, "zz\r\n", 4, &used, out, 64, &got), -400);
    http_chunked_init(&c);
    CHECK_EQ(http_chunked_feed(&c, "3\r\nabcX", 7, &used, out, 64, &got), -400);
    http_chunked_init(&c);
    CHECK_EQ(http_chunked_feed(&c, "1000000000000000\r\n", 18, &used, out, 64, &got), -400);
}

static void t_format(void)
{
    char b[256];
    u32 n = http_format_head(b, sizeof(b), 200, "application/json", 65, 1, 1, NULL);
    CHECK(n > 0);
    CHECK(!strcmp(b, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 65\r\n\r\n"));
    n = http_format_head(b, sizeof(b), 204, NULL, 0, 0, 1, NULL);
    CHECK(!strcmp(b, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"));
    n = http_format_head(b, sizeof(b), 404, "text/plain", 10, 1, 0, "Allow: GET\r\n");
    CHECK(!strcmp(b, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n"
                     "Connection: keep-alive\r\nAllow: GET\r\n\r\n"));
    CHECK_EQ(http_format_head(b, 20, 200, "text/plain", 1, 1, 1, NULL), 0);    /* too small */
    char d[30];
    http_date(d, 784111777);                             /* RFC 9110's example */
    CHECK(!strcmp(d, "Sun, 06 Nov 1994 08:49:37 GMT"));
    http_date(d, 0);
    CHECK(!strcmp(d, "Thu, 01 Jan 1970 00:00:00 GMT"));
    http_date(d, 951782400);                             /* a leap day */
    CHECK(!strcmp(d, "Tue, 29 Feb 2000 00:00:00 GMT"));
    http_date(d, 1700000000);
    CHECK(!strcmp(d, "Tue, 14 Nov 2023 22:13:20 GMT"));
}

static void t_alloc(void)
{
    static char heap[1 << 18];
    heap_init(heap, sizeof(heap));
    size_t all = heap_free_bytes();
    void *p[64];
    for (int i = 0; i < 64; i++) {
        p[i] = kmalloc((size_t)(i * 37 + 1));
        CHECK(p[i] != NULL);
        CHECK_EQ(((size_t)p[i]) & 15, 0);
        memset(p[i], i, (size_t)(i * 37 + 1));
    }
    for (int i = 0; i < 64; i++)
        for (int k = 0; k < i * 37 + 1; k++)
            if (((u8 *)p[i])[k] != (u8)i) { CHECK(0); break; }
    for (int i = 0; i < 64; i += 2)
        kfree(p[i]);
    for (int i = 1; i < 64; i += 2)
        kfree(p[i]);
    CHECK_EQ(heap_free_bytes(), all);                    /* all merged back */
    CHECK(heap_largest_free() < all && heap_largest_free() + 32 >= all);
    CHECK(kmalloc(sizeof(heap)) == NULL);
    void *a = kmalloc(100);
    memcpy(a, "hello", 6);
    void *b = krealloc(a, 5000);
    CHECK(b && !strcmp(b, "hello"));
    kfree(b);
    kfree(b);                                            /* double free ignored */
    CHECK_EQ(heap_free_bytes(), all);
    /* random churn */
    void *slot[32] = { 0 };
    for (int i = 0; i < 5000; i++) {
        int k = rand() % 32;
        if (slot[k]) { kfree(slot[k]); slot[k] = NULL; }
        else slot[k] = kmalloc((size_t)(rand() % 3000));
    }
    for (int k = 0; k < 32; k++)
        kfree(slot[k]);
    CHECK_EQ(heap_free_bytes(), all);
}

void test_http(void)
{
    run_test("http/request-line", t_request_line);
    run_test("http/fields", t_fields);
    run_test("http/chunked", t_chunked);
    run_test("http/format", t_format);
    run_test("alloc/heap", t_alloc);
}
