/* String and memory copies: a REP MOVSD/MOVSB memcpy (as kernels and libcs
 * write it), a plain byte loop, strlen and strcpy over strings of many
 * lengths and alignments. */
#include "rt.h"

#define BLK 4096
#define REPS 600

static u8 src[BLK + 64], dst[BLK + 64];
static char strs[64][300];
static char sdst[320];

/* memcpy the way hand-written libc/kernel code does it */
static inline void rep_memcpy(void *d, const void *s, u32 n)
{
	u32 d0, d1, d2;
	__asm__ volatile("rep movsl\n\t"
			 "movl %4, %%ecx\n\t"
			 "rep movsb"
			 : "=&c"(d0), "=&D"(d1), "=&S"(d2)
			 : "0"(n / 4), "g"(n & 3), "1"(d), "2"(s)
			 : "memory");
}

/* a byte loop gcc must not turn into a memcpy call */
__attribute__((optimize("no-tree-loop-distribute-patterns"))) static NOINLINE void
byte_copy(u8 *d, const u8 *s, u32 n)
{
	while (n--)
		*d++ = *s++;
}

static NOINLINE u32 my_strlen(const char *s)
{
	const char *p = s;
	while (*p)
		p++;
	return (u32)(p - s);
}

static NOINLINE char *my_strcpy(char *d, const char *s)
{
	char *r = d;
	while ((*d++ = *s++))
		;
	return r;
}

static u32 fold(u32 h, const u8 *p, u32 n)
{
	for (u32 i = 0; i < n; i += 61)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

int main(void)
{
	u32 s = 7, h = 2166136261u;
	for (u32 i = 0; i < sizeof(src); i++) {
		s = s * 1664525u + 1013904223u;
		src[i] = (u8)(s >> 24);
	}
	for (u32 k = 0; k < 64; k++) {
		u32 len = (k * 37) % 299;
		for (u32 i = 0; i < len; i++) {
			s = s * 1664525u + 1013904223u;
			strs[k][i] = (char)('!' + (s >> 24) % 90);
		}
		strs[k][len] = 0;
	}
	for (int r = 0; r < REPS; r++) {
		/* block copies at every source/destination alignment pair */
		for (u32 a = 0; a < 4; a++)
			for (u32 b = 0; b < 4; b++) {
				rep_memcpy(dst + a, src + b + (u32)r % 8, BLK - 16);
				h = fold(h, dst, BLK);
				byte_copy(dst + b, src + a, BLK / 4);
				h = fold(h, dst, BLK / 4);
			}
		/* strings */
		for (u32 k = 0; k < 64; k++) {
			u32 off = (k + (u32)r) & 7;
			my_strcpy(sdst + off, strs[k]);
			h = (h ^ my_strlen(sdst + off)) * 16777619u;
			h = (h ^ (u8)sdst[off + (k % 5)]) * 16777619u;
		}
	}
	report("strcopy", h);
	return 0;
}
