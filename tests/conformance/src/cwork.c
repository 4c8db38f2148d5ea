/* Generic C workloads, compiled at -O0/-O2/-Os for -march=i386 and i686 (and
 * once with -fcf-protection): whatever gcc emits for everyday C must run
 * identically on the emulator. Every variant prints the same lines, so the
 * variants also check each other. Covered: sorting through function
 * pointers, hashing (multiply, rotate, xorshift), 64-bit arithmetic through
 * libgcc (__udivdi3 __divdi3 __umoddi3 __moddi3, and __popcount*, __ctz* as
 * gcc chooses), 64-bit shifts (SHLD/SHRD by CL), struct copies (REP MOVS or
 * memcpy), dense and sparse switches (jump tables), bit tricks through
 * builtins (BSF BSR BSWAP, parity), bit-fields, narrow signed arithmetic,
 * varargs, recursion, computed goto, variable-length arrays. */
#include "rt.h"

static u32 H = FNV_INIT;
static void mix(u32 v) { H = fnv_u32(H, v); }
static void mix64(u64 v) { mix((u32)v), mix((u32)(v >> 32)); }
static void report(const char *name)
{
	out_str(name);
	out_str(": ");
	out_hex(H, 8);
	out_char('\n');
	H = FNV_INIT;
}

static u32 seed = 2463534242u;
static u32 xorshift(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 17;
	seed ^= seed << 5;
	return seed;
}

/* ---- sorting ---- */

struct rec {
	u32 key;
	s16 small;
	u8 tag;
	char name[9];
};

static int cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;
	return x < y ? -1 : x > y;
}
static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	if (x->small != y->small)
		return x->small < y->small ? -1 : 1;
	return cmp_u32(&x->key, &y->key);
}

static void swap_bytes(u8 *a, u8 *b, size_t n)
{
	while (n--) {
		u8 t = *a;
		*a++ = *b;
		*b++ = t;
	}
}

/* Plain quicksort with insertion sort for short runs. */
static void qsort_(void *base, size_t n, size_t sz, int (*cmp)(const void *, const void *))
{
	u8 *b = base;
	while (n > 8) {
		size_t mid = n / 2, i = 0, j = n - 1;
		swap_bytes(b, b + mid * sz, sz);
		for (;;) {
			do
				i++;
			while (i < n && cmp(b + i * sz, b) < 0);
			while (cmp(b + j * sz, b) > 0)
				j--;
			if (i >= j)
				break;
			swap_bytes(b + i * sz, b + j * sz, sz);
		}
		swap_bytes(b, b + j * sz, sz);
		if (j < n - j - 1) {
			qsort_(b, j, sz, cmp);
			b += (j + 1) * sz;
			n -= j + 1;
		} else {
			qsort_(b + (j + 1) * sz, n - j - 1, sz, cmp);
			n = j;
		}
	}
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && cmp(b + (k - 1) * sz, b + k * sz) > 0; k--)
			swap_bytes(b + (k - 1) * sz, b + k * sz, sz);
}

static u32 nums[700];
static struct rec recs[200];

static void work_sort(void)
{
	for (u32 i = 0; i < NELEM(nums); i++)
		nums[i] = xorshift() % 5000;
	qsort_(nums, NELEM(nums), sizeof(nums[0]), cmp_u32);
	for (u32 i = 0; i < NELEM(nums); i++)
		mix(nums[i]);
	for (u32 i = 1; i < NELEM(nums); i++)
		if (nums[i - 1] > nums[i])
			fail("sort order");
	for (u32 i = 0; i < NELEM(recs); i++) {
		recs[i].key = xorshift();
		recs[i].small = (s16)(xorshift() % 21 - 10);
		recs[i].tag = (u8)i;
		for (int k = 0; k < 8; k++)
			recs[i].name[k] = (char)('a' + (recs[i].key >> (k * 3)) % 26);
		recs[i].name[8] = 0;
	}
	qsort_(recs, NELEM(recs), sizeof(recs[0]), cmp_rec);
	for (u32 i = 0; i < NELEM(recs); i++)
		mix(recs[i].key ^ (u32)recs[i].small ^ ((u32)recs[i].tag << 24) ^ (u32)recs[i].name[i % 8]);
	report("sort");
}

/* ---- hashing ---- */

static u32 rotl32(u32 x, int r) { return (x << r) | (x >> (32 - r)); }

static u32 murmur3(const u8 *p, u32 n, u32 h)
{
	u32 i = 0;
	for (; i + 4 <= n; i += 4) {
		u32 k = (u32)p[i] | (u32)p[i + 1] << 8 | (u32)p[i + 2] << 16 | (u32)p[i + 3] << 24;
		k *= 0xcc9e2d51u;
		k = rotl32(k, 15);
		k *= 0x1b873593u;
		h ^= k;
		h = rotl32(h, 13);
		h = h * 5 + 0xe6546b64u;
	}
	u32 k = 0;
	switch (n & 3) {
	case 3:
		k ^= (u32)p[i + 2] << 16;
		/* fall through */
	case 2:
		k ^= (u32)p[i + 1] << 8;
		/* fall through */
	case 1:
		k ^= p[i];
		k *= 0xcc9e2d51u;
		k = rotl32(k, 15);
		k *= 0x1b873593u;
		h ^= k;
	}
	h ^= n;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	return h ^ (h >> 16);
}

static u64 fnv64(const u8 *p, u32 n)
{
	u64 h = 0xcbf29ce484222325ull;
	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

static u8 text[1000];

static void work_hash(void)
{
	for (u32 i = 0; i < sizeof(text); i++)
		text[i] = (u8)(xorshift() >> 11);
	for (u32 n = 0; n < 200; n += 7)
		mix(murmur3(text + n, n, n * 3));
	for (u32 n = 0; n < sizeof(text); n += 111)
		mix64(fnv64(text, n));
	/* adler-32 with % (division by a constant: multiply-high) */
	u32 a = 1, b = 0;
	for (u32 i = 0; i < sizeof(text); i++) {
		a = (a + text[i]) % 65521;
		b = (b + a) % 65521;
	}
	mix((b << 16) | a);
	report("hash");
}

/* ---- 64-bit arithmetic ---- */

static NOINLINE u64 gcd64(u64 a, u64 b)
{
	while (b) {
		u64 t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static void work_arith64(void)
{
	static const u64 sp[] = {0, 1, 2, 3, 7, 10, 0xff, 0x7fffffffull, 0x80000000ull,
				 0xffffffffull, 0x100000000ull, 0x123456789abcdefull,
				 0x7fffffffffffffffull, 0x8000000000000000ull,
				 0xfffffffffffffffeull, 0xffffffffffffffffull};
	for (u32 i = 0; i < NELEM(sp); i++)
		for (u32 j = 0; j < NELEM(sp); j++) {
			u64 x = sp[i], y = sp[j];
			mix64(x + y), mix64(x - y), mix64(x * y);
			mix64(x & ~y), mix64(x ^ (y >> 3));
			mix(x < y), mix((s64)x < (s64)y), mix(x == y);
			if (y) {
				mix64(x / y), mix64(x % y);
				s64 sx = (s64)x, sy = (s64)y;
				if (!(sy == -1 && sx == (s64)0x8000000000000000ull))
					mix64((u64)(sx / sy)), mix64((u64)(sx % sy));
			}
			u32 c = (u32)y & 63;
			mix64(x << c), mix64(x >> c), mix64((u64)((s64)x >> c));
		}
	for (u32 i = 0; i < 300; i++) {
		u64 x = ((u64)xorshift() << 32) | xorshift();
		u64 y = ((u64)xorshift() << (xorshift() % 32)) + 1;
		mix64(x / y), mix64(x % y), mix64(gcd64(x, y));
		s64 sx = (s64)x, sy = (s64)y * (i & 1 ? -1 : 1);
		mix64((u64)(sx / sy)), mix64((u64)(sx % sy));
		/* 32x32->64 widening multiply, signed and unsigned */
		u32 a = (u32)x, b = (u32)y;
		mix64((u64)a * b), mix64((u64)((s64)(s32)a * (s32)b));
		/* division by constants */
		mix64(x / 10), mix64(x % 1000000007ull), mix((u32)x / 7), mix((u32)((s32)a / -3));
	}
	report("arith64");
}

/* ---- struct copies ---- */

struct big {
	u32 w[37];
	u8 b[7];
	u16 h;
};
struct small {
	u8 a, b, c;
};

static NOINLINE struct big make_big(u32 s)
{
	struct big r;
	for (u32 i = 0; i < NELEM(r.w); i++)
		r.w[i] = s * (i + 1) ^ 0x5bd1e995u;
	for (u32 i = 0; i < sizeof(r.b); i++)
		r.b[i] = (u8)(s >> i);
	r.h = (u16)(s * 3);
	return r;
}

static NOINLINE u32 sum_big(struct big v) /* passed by value */
{
	u32 s = v.h;
	for (u32 i = 0; i < NELEM(v.w); i++)
		s = s * 31 + v.w[i];
	for (u32 i = 0; i < sizeof(v.b); i++)
		s += v.b[i];
	return s;
}

static struct big bigs[8];
static struct small smalls[50];

static void work_struct(void)
{
	for (u32 i = 0; i < 8; i++)
		bigs[i] = make_big(i * 977 + 1);
	for (u32 r = 0; r < 20; r++) {
		struct big t = bigs[r % 8];
		t.w[r % 37] ^= r;
		bigs[(r + 3) % 8] = t;
		mix(sum_big(bigs[r % 8]));
	}
	for (u32 i = 0; i < NELEM(smalls); i++) {
		struct small s = {(u8)i, (u8)(i * 7), (u8)(i ^ 0x55)};
		smalls[(i * 13) % NELEM(smalls)] = s;
	}
	for (u32 i = 0; i < NELEM(smalls); i++)
		mix(smalls[i].a | smalls[i].b << 8 | smalls[i].c << 16);
	/* overlapping move and fill */
	u8 buf[100];
	for (u32 i = 0; i < sizeof(buf); i++)
		buf[i] = (u8)i;
	memmove(buf + 3, buf, 90);
	memmove(buf, buf + 7, 50);
	memset(buf + 60, 0xa5, 17);
	for (u32 i = 0; i < sizeof(buf); i += 4)
		mix(*(u32 *)(buf + i));
	report("struct");
}

/* ---- switch ---- */

static NOINLINE u32 dense(u32 op, u32 a, u32 b)
{
	switch (op) {
	case 0: return a + b;
	case 1: return a - b;
	case 2: return a * b;
	case 3: return a & b;
	case 4: return a | b;
	case 5: return a ^ b;
	case 6: return a << (b & 31);
	case 7: return a >> (b & 31);
	case 8: return (u32)((s32)a >> (b & 31));
	case 9: return b ? a / b : 0;
	case 10: return b ? a % b : 0;
	case 11: return ~a;
	case 12: return -a;
	case 13: return a == b;
	case 14: return (s32)a < (s32)b;
	default: return 0xdeadbeefu;
	}
}

static NOINLINE int sparse(int k)
{
	switch (k) {
	case -1000: return 1;
	case -7: return 2;
	case 0: return 3;
	case 13: return 4;
	case 99: return 5;
	case 1000: return 6;
	case 65536: return 7;
	case 0x7fffffff: return 8;
	default: return -1;
	}
}

static NOINLINE u32 interp(const u8 *code, u32 n)
{
	/* a tiny stack machine, dispatched by a switch (gcc: jump table) */
	u32 st[16], sp = 0, acc = 0;
	for (u32 pc = 0; pc < n; pc++) {
		switch (code[pc] & 7) {
		case 0: st[sp++ & 15] = acc; break;
		case 1: acc = st[--sp & 15]; break;
		case 2: acc += code[pc] >> 3; break;
		case 3: acc *= 3; break;
		case 4: acc ^= acc >> 5; break;
		case 5: acc = (acc << 1) | (acc >> 31); break;
		case 6: acc -= st[(sp - 1) & 15]; break;
		case 7: acc = ~acc; break;
		}
	}
	return acc ^ sp;
}

static void work_switch(void)
{
	for (u32 op = 0; op < 17; op++)
		for (u32 i = 0; i < 20; i++)
			mix(dense(op, xorshift(), i * 0x11111111u));
	static const int ks[] = {-1000, -7, 0, 13, 99, 1000, 65536, 0x7fffffff, 5, -1, 12};
	for (u32 i = 0; i < NELEM(ks); i++)
		mix((u32)sparse(ks[i]));
	mix(interp(text, sizeof(text)));
	report("switch");
}

/* ---- bit tricks ---- */

struct flagsf {
	u32 a : 3;
	u32 b : 7;
	s32 c : 5;
	u32 d : 17;
};

static void work_bits(void)
{
	for (u32 i = 0; i < 200; i++) {
		u32 x = xorshift() >> (i % 32);
		u64 y = ((u64)xorshift() << 32 | xorshift()) >> (i % 64);
		mix((u32)__builtin_popcount(x));
		mix((u32)__builtin_parity(x));
		mix((u32)__builtin_popcountll(y));
		if (x) {
			mix((u32)__builtin_ctz(x));
			mix((u32)__builtin_clz(x));
		}
		if (y) {
			mix((u32)__builtin_ctzll(y));
			mix((u32)__builtin_clzll(y));
		}
		mix((u32)__builtin_ffs((int)x));
		mix(__builtin_bswap32(x));
		mix64(__builtin_bswap64(y));
		mix((u32)__builtin_bswap16((u16)x));
		mix(x & -x), mix(x & (x - 1)), mix(rotl32(x, (int)(i % 31) + 1));
		/* narrow signed arithmetic: sign extensions and truncations */
		s8 c = (s8)x;
		s16 s = (s16)(x >> 8);
		mix((u32)(c * s)), mix((u32)(s / (c | 1))), mix((u32)(u8)(c >> 2));
		struct flagsf f = {x, x >> 3, (s32)(x >> 10), x >> 15};
		f.c += (s32)i;
		f.b ^= f.a;
		mix(f.a), mix(f.b), mix((u32)f.c), mix(f.d);
		/* branchless min/max and abs */
		s32 p = (s32)x, q = (s32)(u32)y;
		mix((u32)(p < q ? p : q)), mix((u32)(p > q ? p : q));
		mix((u32)(p < 0 ? -(u32)p : (u32)p));
	}
	report("bits");
}

/* ---- varargs, recursion, computed goto, VLA ---- */

static NOINLINE u32 vsum(int n, ...)
{
	__builtin_va_list ap;
	__builtin_va_start(ap, n);
	u32 s = 0;
	for (int i = 0; i < n; i++) {
		if (i & 1)
			s += (u32)__builtin_va_arg(ap, u64) * 3;
		else
			s ^= __builtin_va_arg(ap, u32);
	}
	__builtin_va_end(ap);
	return s;
}

static NOINLINE u32 ack(u32 m, u32 n)
{
	if (!m)
		return n + 1;
	if (!n)
		return ack(m - 1, 1);
	return ack(m - 1, ack(m, n - 1));
}

static NOINLINE u32 fib(u32 n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static NOINLINE u32 threaded(const u8 *code, u32 n)
{
	static void *const ops[4] = {&&op_add, &&op_mul, &&op_xor, &&op_end};
	u32 acc = 1, pc = 0;
#define NEXT goto *ops[pc < n ? code[pc++] & 3 : 3]
	NEXT;
op_add:
	acc += pc;
	NEXT;
op_mul:
	acc *= 7;
	NEXT;
op_xor:
	acc ^= acc >> 3;
	NEXT;
op_end:
	if (pc < n) {
		acc += 1000;
		NEXT;
	}
	return acc;
#undef NEXT
}

static NOINLINE u32 vla(u32 n)
{
	u32 a[n];
	for (u32 i = 0; i < n; i++)
		a[i] = i * i;
	u32 s = 0;
	for (u32 i = 0; i < n; i++)
		s += a[n - 1 - i] ^ i;
	return s;
}

static void work_misc(void)
{
	mix(vsum(5, 1u, 2ull, 3u, 0x100000004ull, 5u));
	mix(vsum(2, 0xffffffffu, 0xffffffffffffffffull));
	mix(ack(2, 3)), mix(ack(3, 3));
	mix(fib(20));
	mix(threaded(text, 300));
	for (u32 n = 1; n < 200; n += 37)
		mix(vla(n));
	report("misc");
}

int main(void)
{
	work_sort();
	work_hash();
	work_arith64();
	work_struct();
	work_switch();
	work_bits();
	work_misc();
	return 0;
}
