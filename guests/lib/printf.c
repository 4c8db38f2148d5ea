/*
 * printf family: %d %i %u %x %X %p %s %c %%, the 'l' / 'll' / 'z' length
 * modifiers, a width (or '*'), '0' and '-' flags, and a precision for %s.
 * One formatter writes through a put() callback so snprintf and printf
 * share it; printf stages output in a small buffer and hands whole chunks
 * to console_write().
 */
#include <kit/console.h>
#include <kit/string.h>

typedef void (*put_fn)(void *ctx, char c);

static void put_repeat(put_fn put, void *ctx, char c, int n)
{
    while (n-- > 0)
        put(ctx, c);
}

/* Emits one field: the digits/text in s (len bytes), with an optional
 * sign, padded to width. Zero padding goes between sign and digits. */
static int put_field(put_fn put, void *ctx, const char *s, int len,
                     char sign, int width, int left, int zero)
{
    int total = len + (sign != 0);
    int pad = width > total ? width - total : 0;
    if (!left && !zero)
        put_repeat(put, ctx, ' ', pad);
    if (sign)
        put(ctx, sign);
    if (!left && zero)
        put_repeat(put, ctx, '0', pad);
    for (int i = 0; i < len; i++)
        put(ctx, s[i]);
    if (left)
        put_repeat(put, ctx, ' ', pad);
    return total + pad;
}

static int utoa(char *out, u64 v, unsigned base, int upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    do {
        /* 32-bit values avoid the libgcc 64-bit division. */
        if (v <= 0xFFFFFFFFull) {
            u32 w = (u32)v;
            tmp[n++] = digits[w % base];
            v = w / base;
        } else {
            tmp[n++] = digits[v % base];
            v /= base;
        }
    } while (v);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static int vformat(put_fn put, void *ctx, const char *fmt, va_list ap)
{
    int count = 0;
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(ctx, *fmt);
            count++;
            continue;
        }
        int left = 0, zero = 0, width = 0, prec = -1, lng = 0;
        for (;; fmt++) {
            if (fmt[1] == '-') left = 1;
            else if (fmt[1] == '0') zero = 1;
            else break;
        }
        fmt++;
        if (*fmt == '*') {
            width = va_arg(ap, int);
            if (width < 0) left = 1, width = -width;
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        if (*fmt == '.') {
            fmt++;
            prec = 0;
            if (*fmt == '*') { prec = va_arg(ap, int); fmt++; }
            while (*fmt >= '0' && *fmt <= '9')
                prec = prec * 10 + (*fmt++ - '0');
        }
        while (*fmt == 'l') { lng++; fmt++; }
        if (*fmt == 'z') fmt++;           /* size_t is 32-bit here */

        char buf[24];
        char sign = 0;
        u64 v;
        switch (*fmt) {
        case 'd': case 'i': {
            s64 sv = lng >= 2 ? va_arg(ap, s64) : (s64)va_arg(ap, long);
            if (sv < 0) { sign = '-'; v = (u64)0 - (u64)sv; } else v = sv;
            count += put_field(put, ctx, buf, utoa(buf, v, 10, 0), sign,
                               width, left, zero);
            break;
        }
        case 'u': case 'x': case 'X':
            v = lng >= 2 ? va_arg(ap, u64) : va_arg(ap, unsigned long);
            count += put_field(put, ctx, buf,
                               utoa(buf, v, *fmt == 'u' ? 10 : 16, *fmt == 'X'),
                               0, width, left, zero);
            break;
        case 'p':
            buf[0] = '0'; buf[1] = 'x';
            v = (unsigned long)va_arg(ap, void *);
            {
                char hex[12];
                int n = utoa(hex, v, 16, 0);
                memset(buf + 2, '0', 8 - n);
                memcpy(buf + 2 + 8 - n, hex, n);
            }
            count += put_field(put, ctx, buf, 10, 0, width, left, 0);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s) s = "(null)";
            int n = prec >= 0 ? (int)strnlen(s, prec) : (int)strlen(s);
            count += put_field(put, ctx, s, n, 0, width, left, 0);
            break;
        }
        case 'c':
            buf[0] = (char)va_arg(ap, int);
            count += put_field(put, ctx, buf, 1, 0, width, left, 0);
            break;
        case '%':
            put(ctx, '%');
            count++;
            break;
        case '\0':
            return count;                /* lone '%' at the end */
        default:                         /* unknown: print it verbatim */
            put(ctx, '%');
            put(ctx, *fmt);
            count += 2;
        }
    }
    return count;
}

struct buf_ctx { char *buf; size_t size, len; };

static void put_buf(void *p, char c)
{
    struct buf_ctx *b = p;
    if (b->len + 1 < b->size)
        b->buf[b->len] = c;
    b->len++;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct buf_ctx b = { buf, size, 0 };
    int n = vformat(put_buf, &b, fmt, ap);
    if (size)
        buf[b.len < size ? b.len : size - 1] = '\0';
    return n;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

struct con_ctx { char buf[128]; u32 len; };

static void put_con(void *p, char c)
{
    struct con_ctx *k = p;
    k->buf[k->len++] = c;
    if (k->len == sizeof(k->buf)) {
        console_write(k->buf, k->len);
        k->len = 0;
    }
}

int vprintf(const char *fmt, va_list ap)
{
    struct con_ctx k;
    k.len = 0;
    int n = vformat(put_con, &k, fmt, ap);
    if (k.len)
        console_write(k.buf, k.len);
    return n;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}
