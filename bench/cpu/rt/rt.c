/* See rt.h. Built with -fno-tree-loop-distribute-patterns so the mem*
 * loops are not turned into calls to themselves. */
#include "rt.h"

void sys_write(int fd, const void *buf, u32 n)
{
	const char *p = buf;
	while (n) {
		int r;
		__asm__ volatile("int $0x80"
				 : "=a"(r)
				 : "0"(4), "b"(fd), "c"(p), "d"(n)
				 : "memory");
		if (r <= 0)
			sys_exit(126);
		p += r;
		n -= (u32)r;
	}
}

void sys_exit(int code)
{
	for (;;)
		__asm__ volatile("int $0x80" : : "a"(1), "b"(code) : "memory");
}

static char obuf[256];
static u32 olen;

void out_flush(void)
{
	if (olen)
		sys_write(1, obuf, olen);
	olen = 0;
}

void out_char(char c)
{
	if (olen == sizeof(obuf))
		out_flush();
	obuf[olen++] = c;
}

void out_str(const char *s)
{
	while (*s)
		out_char(*s++);
}

void out_hex(u32 v, int digits)
{
	for (int i = digits - 1; i >= 0; i--)
		out_char("0123456789abcdef"[(v >> (4 * i)) & 15]);
}

void out_dec(u32 v)
{
	char t[10];
	int n = 0;
	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		out_char(t[--n]);
}

void report(const char *name, u32 sum)
{
	out_str(name);
	out_str(": checksum=");
	out_hex(sum, 8);
	out_char('\n');
}

void *memcpy(void *d, const void *s, size_t n)
{
	u8 *dp = d;
	const u8 *sp = s;
	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	u8 *dp = d;
	const u8 *sp = s;
	if (dp < sp) {
		while (n--)
			*dp++ = *sp++;
	} else {
		while (n--)
			dp[n] = sp[n];
	}
	return d;
}

void *memset(void *d, int c, size_t n)
{
	u8 *dp = d;
	while (n--)
		*dp++ = (u8)c;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

__attribute__((noreturn, used)) void rt_main(u32 *sp)
{
	(void)sp;
	int rc = main();
	out_flush();
	sys_exit(rc);
}
