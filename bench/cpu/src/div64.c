/* 64-bit division and remainder through libgcc (__udivdi3 __umoddi3
 * __divdi3 __moddi3): divisors below and above 2^32 (both of libgcc's
 * paths: one DIV, or the normalise-with-BSR-and-correct path), signed
 * operands of both signs. */
#include "rt.h"

#define ITERS 400000

static u32 st = 88172645u;
static u32 next(void)
{
	st ^= st << 13;
	st ^= st >> 17;
	st ^= st << 5;
	return st;
}

int main(void)
{
	u64 acc = 0;
	for (u32 i = 0; i < ITERS; i++) {
		u64 a = ((u64)next() << 32) | next();
		u32 sh = next() % 60;
		u64 b = (((u64)next() << 32) | next()) >> sh;
		if (!b)
			b = 1;
		u64 q = a / b, r = a % b;
		if (q * b + r != a || r >= b)
			return 1;
		acc += q ^ (r << 1);
		s64 sa = (s64)(a ^ ((u64)i << 40)), sb = (s64)b * ((i & 1) ? -1 : 1);
		if (sb == -1)
			sb = 3;
		s64 sq = sa / sb, sr = sa % sb;
		acc = (acc << 1 | acc >> 63) ^ (u64)sq ^ (u64)sr;
	}
	report("div64", (u32)acc ^ (u32)(acc >> 32));
	return 0;
}
