/* HTTP/1.1 request parsing and response heads (see http.h). Pure: no
 * I/O, no allocation; built for the guests and for the native tests. */
#include <kit/http.h>
#include <kit/string.h>

static int is_tchar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
        return 1;
    }
    return 0;
}

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

static int name_is(const char *p, u32 n, const char *want)
{
    u32 i = 0;
    for (; i < n && want[i]; i++)
        if (lower(p[i]) != want[i])
            return 0;
    return i == n && !want[i];
}

/* Case-insensitive search for a comma-separated token in a field value. */
static int has_token(const char *v, u32 n, const char *tok)
{
    u32 i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        u32 s = i;
        while (i < n && v[i] != ',')
            i++;
        u32 e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e > s && name_is(v + s, e - s, tok))
            return 1;
    }
    return 0;
}

/* The last token of a list ("gzip, chunked" -> "chunked"). */
static int last_token_is(const char *v, u32 n, const char *tok, int *count)
{
    u32 i = 0, s = 0, e = 0;
    *count = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        u32 a = i;
        while (i < n && v[i] != ',')
            i++;
        u32 b = i;
        while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
            b--;
        if (b > a) {
            s = a;
            e = b;
            (*count)++;
        }
    }
    return *count && name_is(v + s, e - s, tok);
}

/* Finds the end of the line starting at p: returns the index of '\n', or
 * -1. *content = length without the CR. */
static int line_end(const char *buf, u32 len, u32 p, u32 *content)
{
    for (u32 i = p; i < len; i++)
        if (buf[i] == '\n') {
            *content = (i > p && buf[i - 1] == '\r') ? i - p - 1 : i - p;
            return (int)i;
        }
    return -1;
}

int http_parse_request(const char *buf, u32 len, struct http_req *req)
{
    memset(req, 0, sizeof(*req));
    u32 p = 0, n;
    int e;
    /* skip empty lines before the request line (RFC 9112 §2.2) */
    for (;;) {
        e = line_end(buf, len, p, &n);
        if (e < 0)
            return len - p > HTTP_MAX_HEAD ? -431 : 0;
        if (n)
            break;
        p = (u32)e + 1;
    }
    /* request line */
    const char *l = buf + p;
    u32 i = 0;
    while (i < n && is_tchar(l[i]))
        i++;
    if (!i || i >= sizeof(req->method) || i >= n || l[i] != ' ')
        return -400;
    memcpy(req->method, l, i);
    u32 t = ++i;
    while (i < n && l[i] != ' ' && (u8)l[i] > 0x20 && l[i] != 0x7f)
        i++;
    if (i == t || i >= n || l[i] != ' ')
        return -400;
    if (i - t >= sizeof(req->target))
        return -414;
    memcpy(req->target, l + t, i - t);
    i++;
    if (n - i != 8 || memcmp(l + i, "HTTP/", 5) || l[i + 5] < '0' || l[i + 5] > '9' ||
        l[i + 6] != '.' || l[i + 7] < '0' || l[i + 7] > '9')
        return -400;
    if (l[i + 5] != '1')
        return -505;
    req->minor = l[i + 7] - '0';
    p = (u32)e + 1;

    int hosts = 0, conn_close = 0, conn_keep = 0, te = 0;
    for (;;) {
        e = line_end(buf, len, p, &n);
        if (e < 0)
            return len > HTTP_MAX_HEAD ? -431 : 0;
        if ((u32)e + 1 > HTTP_MAX_HEAD)
            return -431;
        const char *f = buf + p;
        p = (u32)e + 1;
        if (!n)
            break;                              /* end of the head */
        if (f[0] == ' ' || f[0] == '\t')
            return -400;                        /* obs-fold */
        u32 k = 0;
        while (k < n && is_tchar(f[k]))
            k++;
        if (!k || k >= n || f[k] != ':')
            return -400;
        u32 vs = k + 1, ve = n;
        while (vs < ve && (f[vs] == ' ' || f[vs] == '\t'))
            vs++;
        while (ve > vs && (f[ve - 1] == ' ' || f[ve - 1] == '\t'))
            ve--;
        for (u32 j = vs; j < ve; j++)
            if ((u8)f[j] < 0x20 && f[j] != '\t')
                return -400;                    /* CR, NUL, controls */
        const char *v = f + vs;
        u32 vn = ve - vs;
        if (name_is(f, k, "host")) {
            hosts++;
        } else if (name_is(f, k, "content-length")) {
            /* "5" or "5, 5": every member the same number */
            u32 j = 0;
            while (j < vn) {
                while (j < vn && (v[j] == ' ' || v[j] == '\t' || v[j] == ','))
                    j++;
                if (j >= vn)
                    break;
                u64 num = 0;
                u32 d = 0;
                while (j < vn && v[j] >= '0' && v[j] <= '9') {
                    if (num > 0xFFFFFFFFFFFull)
                        return -400;
                    num = num * 10 + (u64)(v[j++] - '0');
                    d++;
                }
                while (j < vn && (v[j] == ' ' || v[j] == '\t'))
                    j++;
                if (!d || (j < vn && v[j] != ','))
                    return -400;
                if (req->has_length && req->content_length != num)
                    return -400;
                req->has_length = 1;
                req->content_length = num;
            }
            if (!req->has_length)
                return -400;
        } else if (name_is(f, k, "transfer-encoding")) {
            int count;
            te += 1;
            if (!last_token_is(v, vn, "chunked", &count) || count != 1 || te > 1)
                return -501;
            req->chunked = 1;
        } else if (name_is(f, k, "connection")) {
            conn_close |= has_token(v, vn, "close");
            conn_keep |= has_token(v, vn, "keep-alive");
        } else if (name_is(f, k, "expect")) {
            if (name_is(v, vn, "100-continue"))
                req->expect_continue = 1;
            else
                return -417;
        }
    }
    if (req->chunked && req->has_length)
        return -400;
    if (req->minor >= 1 && hosts != 1)
        return -400;
    if (hosts > 1)
        return -400;
    req->keep_alive = req->minor >= 1 ? !conn_close : (conn_keep && !conn_close);
    if (req->minor == 0)
        req->expect_continue = 0;
    req->head_len = p;
    return (int)p;
}

/* ---- chunked ---- */
enum { CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER,
       CH_TRAILER_LINE, CH_DONE };

void http_chunked_init(struct http_chunked *c)
{
    memset(c, 0, sizeof(*c));
}

static int hexdig(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

int http_chunked_feed(struct http_chunked *c, const char *in, u32 len, u32 *in_used,
                      char *out, u32 out_room, u32 *out_len)
{
    u32 i = 0, o = 0;
    while (i < len && c->state != CH_DONE) {
        char ch = in[i];
        switch (c->state) {
        case CH_SIZE: {
            int h = hexdig(ch);
            if (h >= 0) {
                if (c->digits++ >= 15)
                    return -400;
                c->left = c->left * 16 + (u64)h;
                i++;
            } else if (!c->digits) {
                return -400;
            } else if (ch == ';' || ch == ' ' || ch == '\t') {
                c->state = CH_EXT;
                i++;
            } else if (ch == '\r') {
                c->state = CH_SIZE_LF;
                i++;
            } else if (ch == '\n') {
                i++;
                c->state = c->left ? CH_DATA : CH_TRAILER;
            } else {
                return -400;
            }
            break;
        }
        case CH_EXT:                            /* chunk extensions: ignored */
            if (ch == '\n')
                c->state = c->left ? CH_DATA : CH_TRAILER;
            else if ((u8)ch < 0x20 && ch != '\t' && ch != '\r')
                return -400;
            i++;
            break;
        case CH_SIZE_LF:
            if (ch != '\n')
                return -400;
            i++;
            c->state = c->left ? CH_DATA : CH_TRAILER;
            break;
        case CH_DATA: {
            u32 n = len - i;
            if (n > c->left)
                n = (u32)c->left;
            if (n > out_room - o)
                n = out_room - o;
            if (!n)
                goto out;                       /* out of room */
            memcpy(out + o, in + i, n);
            o += n;
            i += n;
            c->left -= n;
            if (!c->left)
                c->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
            if (ch == '\r') { c->state = CH_DATA_LF; i++; break; }
            if (ch != '\n')
                return -400;
            __attribute__((fallthrough));       /* bare LF */
        case CH_DATA_LF:
            if (ch != '\n')
                return -400;
            i++;
            c->state = CH_SIZE;
            c->digits = 0;
            c->left = 0;
            break;
        case CH_TRAILER:                        /* start of a trailer line */
            if (ch == '\r') { i++; break; }
            if (ch == '\n') { i++; c->state = CH_DONE; break; }
            c->state = CH_TRAILER_LINE;
            break;
        case CH_TRAILER_LINE:
            if (ch == '\n')
                c->state = CH_TRAILER;
            i++;
            break;
        }
    }
out:
    *in_used = i;
    *out_len = o;
    return c->state == CH_DONE ? 1 : 0;
}

const char *http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: return "Unknown";
    }
}

void http_date(char buf[30], u64 t)
{
    static const char days[7][4] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
    static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    u64 day = t / 86400;
    u32 secs = (u32)(t % 86400);
    /* days since the epoch -> civil date (H. Hinnant's algorithm) */
    s64 z = (s64)day + 719468;
    s64 era = z / 146097;
    u32 doe = (u32)(z - era * 146097);
    u32 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    s64 y = (s64)yoe + era * 400;
    u32 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    u32 mp = (5 * doy + 2) / 153;
    u32 d = doy - (153 * mp + 2) / 5 + 1;
    u32 m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2)
        y++;
    const char *wd = days[day % 7];
    const char *mn = months[m - 1];
    u32 yy = (u32)y, hh = secs / 3600, mi = secs / 60 % 60, ss = secs % 60;
    char *p = buf;
    *p++ = wd[0]; *p++ = wd[1]; *p++ = wd[2]; *p++ = ','; *p++ = ' ';
    *p++ = (char)('0' + d / 10); *p++ = (char)('0' + d % 10); *p++ = ' ';
    *p++ = mn[0]; *p++ = mn[1]; *p++ = mn[2]; *p++ = ' ';
    *p++ = (char)('0' + yy / 1000 % 10); *p++ = (char)('0' + yy / 100 % 10);
    *p++ = (char)('0' + yy / 10 % 10); *p++ = (char)('0' + yy % 10); *p++ = ' ';
    *p++ = (char)('0' + hh / 10); *p++ = (char)('0' + hh % 10); *p++ = ':';
    *p++ = (char)('0' + mi / 10); *p++ = (char)('0' + mi % 10); *p++ = ':';
    *p++ = (char)('0' + ss / 10); *p++ = (char)('0' + ss % 10);
    *p++ = ' '; *p++ = 'G'; *p++ = 'M'; *p++ = 'T'; *p = '\0';
}

/* Minimal formatting without printf, so the natively built tests and the
 * guests share it. */
static u32 put(char *buf, u32 size, u32 at, const char *s)
{
    while (*s) {
        if (at + 1 >= size)
            return size;
        buf[at++] = *s++;
    }
    return at;
}

static u32 put_u64(char *buf, u32 size, u32 at, u64 v)
{
    char d[24];
    int n = 0;
    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) {
        if (at + 1 >= size)
            return size;
        buf[at++] = d[--n];
    }
    return at;
}

u32 http_format_head(char *buf, u32 size, int status, const char *content_type,
                     u64 content_length, int keep_alive, int minor, const char *extra)
{
    u32 at = 0;
    at = put(buf, size, at, "HTTP/1.1 ");
    at = put_u64(buf, size, at, (u64)status);
    at = put(buf, size, at, " ");
    at = put(buf, size, at, http_reason(status));
    at = put(buf, size, at, "\r\n");
    if (content_type) {
        at = put(buf, size, at, "Content-Type: ");
        at = put(buf, size, at, content_type);
        at = put(buf, size, at, "\r\n");
    }
    if (status >= 200 && status != 204 && status != 304) {
        at = put(buf, size, at, "Content-Length: ");
        at = put_u64(buf, size, at, content_length);
        at = put(buf, size, at, "\r\n");
    }
    if (!keep_alive)
        at = put(buf, size, at, "Connection: close\r\n");
    else if (minor == 0)
        at = put(buf, size, at, "Connection: keep-alive\r\n");
    if (extra)
        at = put(buf, size, at, extra);
    at = put(buf, size, at, "\r\n");
    if (at >= size)
        return 0;
    buf[at] = '\0';
    return at;
}
