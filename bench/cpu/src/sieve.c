/* Sieve of Eratosthenes: primes below N, repeated. Byte array, nested loops
 * with a variable stride: loads, stores, compares and branches. */
#include "rt.h"

#define N 1000000
#define REPS 8

static u8 composite[N];

static NOINLINE u32 sieve(u32 *last)
{
	for (u32 i = 0; i < N; i++)
		composite[i] = 0;
	u32 count = 0;
	for (u32 i = 2; i < N; i++) {
		if (composite[i])
			continue;
		count++;
		*last = i;
		if (i <= N / i)
			for (u32 j = i * i; j < N; j += i)
				composite[j] = 1;
	}
	return count;
}

int main(void)
{
	u32 sum = 0, last = 0;
	for (int r = 0; r < REPS; r++)
		sum = sum * 31 + sieve(&last) + last;
	report("sieve", sum); /* 78498 primes below 10^6, the last 999983 */
	return 0;
}
