/* String helpers: byte loops, except memcpy and memset, which move whole
 * network frames and disk blocks and so use the string instructions
 * (rep movsl / rep stosl, then the odd bytes). */
#include <kit/string.h>

void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;
    const void *s = src;
    size_t words = n / 4, rest = n % 4;
    __asm__ __volatile__("cld; rep movsl; movl %3, %%ecx; rep movsb"
                         : "+D"(d), "+S"(s), "+c"(words)
                         : "r"(rest)
                         : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    char *d = dst;
    const char *s = src;
    if (d < s)
        return memcpy(dst, src, n);
    while (n--)
        d[n] = s[n];
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    void *d = dst;
    u32 v = (u8)c * 0x01010101u;
    size_t words = n / 4, rest = n % 4;
    __asm__ __volatile__("cld; rep stosl; movl %3, %%ecx; rep stosb"
                         : "+D"(d), "+c"(words)
                         : "a"(v), "r"(rest)
                         : "memory");
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const u8 *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (u8)*a - (u8)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (u8)*a - (u8)*b;
        if (!*a)
            break;
    }
    return 0;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}

size_t strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);
    if (size) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

u64 strtoull(const char *s, const char **end)
{
    u64 v = 0, base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, s += 2;
    for (;; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            break;
        v = (v > (~0ull - d) / base) ? ~0ull : v * base + d;
    }
    if (end)
        *end = s;
    return v;
}
