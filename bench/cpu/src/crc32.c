/* CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) computed bit by bit
 * with no table: shifts, masks, XOR and a data-dependent branchless select. */
#include "rt.h"

#define LEN 16384
#define REPS 100

static u8 buf[LEN];

static NOINLINE u32 crc32(const u8 *p, u32 n, u32 crc)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

int main(void)
{
	u32 s = 1;
	for (u32 i = 0; i < LEN; i++) {
		s = s * 1103515245u + 12345u;
		buf[i] = (u8)(s >> 16);
	}
	if (crc32((const u8 *)"123456789", 9, 0) != 0xcbf43926u) /* the check value */
		return 1;
	u32 crc = 0;
	for (int r = 0; r < REPS; r++) {
		crc = crc32(buf, LEN, crc);
		buf[r] ^= (u8)crc;
	}
	report("crc32", crc);
	return 0;
}
