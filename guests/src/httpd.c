/*
 * httpd: HTTP/1.1 on port 80 of the first vif, with keep-alive.
 *
 * Console output (exact; <> vary):
 *
 *   httpd: address <ip>/<prefix> gateway <gw> mac <mac>
 *   httpd: listening on :80
 *
 * e.g. "httpd: address 10.88.0.5/16 gateway 10.88.0.1 mac 00:16:3e:00:00:05".
 * Without a vif: "httpd: FAIL no network (<errno>)", then power off.
 * control/shutdown is honoured: "httpd: poweroff requested" (or reboot)
 * then SCHEDOP_shutdown; "httpd: suspend requested", and after the resume
 * (the netfront reconnects and announces itself with gratuitous ARPs)
 * "httpd: resumed".
 *
 * Requests:
 *   GET / (or HEAD /)  200 application/json
 *                      {"kernel":"httpd","version":"1.0.0","uptimeMs":N,"requests":N}
 *                      uptimeMs: ms since the kernel started; requests: the
 *                      requests answered so far, this one included.
 *   other methods on / 405 with Allow: GET, HEAD
 *   anything else      404 text/plain "Not Found\n"
 * Persistent connections as HTTP/1.1 says (Connection: close honoured;
 * HTTP/1.0 keep-alive on request); idle connections close after 60 s.
 */
#include <kit/kit.h>
#include <kit/control.h>
#include <kit/netdev.h>
#include <kit/http.h>
#include <kit/alloc.h>

#define HTTPD_VERSION "1.0.0"

static char heap[1 << 20] __attribute__((aligned(16)));
static u64 boot_ns;

static void handle(struct http_exchange *x)
{
    const struct http_req *r = x->req;
    if (strcmp(r->target, "/")) {
        http_reply(x, 404, "text/plain", "Not Found\n", 10, NULL);
        return;
    }
    if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD")) {
        http_reply(x, 405, "text/plain", "Method Not Allowed\n", 19, "Allow: GET, HEAD\r\n");
        return;
    }
    char body[160];
    int n = snprintf(body, sizeof(body),
                     "{\"kernel\":\"httpd\",\"version\":\"%s\",\"uptimeMs\":%llu,\"requests\":%u}",
                     HTTPD_VERSION, (now_ns() - boot_ns) / NSEC_PER_MSEC,
                     http_server_requests() + 1);
    http_reply(x, 200, "application/json", body, (u32)n, NULL);
}

void guest_main(void)
{
    boot_ns = 0;                                /* system time starts at boot */
    kit_init(KIT_DEFAULT);
    heap_init(heap, sizeof(heap));
    control_init();
    struct http_server_config cfg = {
        .port = 80, .max_body = 65536, .idle_timeout_ms = 60000, .handler = handle,
    };
    http_serve_main("httpd", &cfg);
}
