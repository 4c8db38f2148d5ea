/* See rt.h. Built with -fno-tree-loop-distribute-patterns so gcc does not
 * turn the mem* loops below into calls to themselves. */
#include "rt.h"

int verbose;
u32 flags_base;
const u32 fin_pat[NFIN] = {0, F_ARITH};

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

/* Output is buffered so a program makes few system calls. */
static char obuf[4096];
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

void out_sdec(s32 v)
{
	if (v < 0) {
		out_char('-');
		out_dec(0u - (u32)v);
	} else {
		out_dec((u32)v);
	}
}

void fail(const char *what)
{
	out_str("FAIL: ");
	out_str(what);
	out_char('\n');
	out_flush();
	sys_exit(1);
}

u32 fnv_u32(u32 h, u32 v)
{
	for (int i = 0; i < 4; i++) {
		h ^= v & 0xff;
		h *= 16777619u;
		v >>= 8;
	}
	return h;
}

static const char *grp_name;
static u32 grp_hash, grp_n;

void grp_begin(const char *name)
{
	grp_name = name;
	grp_hash = FNV_INIT;
	grp_n = 0;
}

void grp_case(const u32 *in, int nin, const u32 *out, int nout)
{
	grp_n++;
	for (int i = 0; i < nout; i++)
		grp_hash = fnv_u32(grp_hash, out[i]);
	if (!verbose)
		return;
	out_str(grp_name);
	for (int i = 0; i < nin; i++) {
		out_char(' ');
		out_hex(in[i], 8);
	}
	out_str(" ->");
	for (int i = 0; i < nout; i++) {
		out_char(' ');
		out_hex(out[i], 8);
	}
	out_char('\n');
}

void grp_end(void)
{
	out_str(grp_name);
	out_str(": n=");
	out_dec(grp_n);
	out_str(" h=");
	out_hex(grp_hash, 8);
	out_char('\n');
}

void rec2(u32 a, u32 b, u32 r, u32 f)
{
	u32 in[2] = {a, b}, out[2] = {r, f};
	grp_case(in, 2, out, 2);
}

void rec3(u32 a, u32 b, u32 c, u32 r, u32 f)
{
	u32 in[3] = {a, b, c}, out[2] = {r, f};
	grp_case(in, 3, out, 2);
}

void rec4(u32 a, u32 b, u32 c, u32 d, u32 r1, u32 r2, u32 f)
{
	u32 in[4] = {a, b, c, d}, out[3] = {r1, r2, f};
	grp_case(in, 4, out, 3);
}

u32 get_flags(void)
{
	u32 f;
	__asm__ volatile("pushfl\n\tpopl %0" : "=r"(f));
	return f;
}

u32 lcg_next(u32 *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s;
}

/* Operand tables: the edges of each width (0, 1, the signed and unsigned
 * limits and their neighbours) plus a few fixed pseudo-random values. The
 * random tails are filled in by tables_init(). */
#define NRAND 5
u32 v8[] = {0, 1, 2, 0x0f, 0x10, 0x7f, 0x80, 0x81, 0x99, 0xfe, 0xff,
		    [11 + NRAND - 1] = 0};
u32 v16[] = {0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0x8001,
		     0xfffe, 0xffff, [11 + NRAND - 1] = 0};
u32 v32[] = {0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff,
		     0x10000, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe,
		     0xffffffff, [15 + NRAND - 1] = 0};
const int nv8 = NELEM(v8);
const int nv16 = NELEM(v16);
const int nv32 = NELEM(v32);

static void tables_init(void)
{
	u32 s = 12345;
	for (int i = 0; i < NRAND; i++) {
		u32 r = lcg_next(&s);
		v8[11 + i] = r >> 24;
		v16[11 + i] = r >> 16;
		v32[15 + i] = r ^ (r << 7);
	}
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
	u32 argc = sp[0];
	char **argv = (char **)(sp + 1);
	if (argc > 1 && argv[1][0] == '-' && argv[1][1] == 'v' && !argv[1][2])
		verbose = 1;
	flags_base = get_flags() & ~(F_ARITH | F_DF | F_TF | F_NT | F_AC);
	tables_init();
	int rc = main();
	out_flush();
	sys_exit(rc);
}
