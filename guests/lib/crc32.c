/* CRC-32, table-driven (see crc32.h). */
#include <kit/crc32.h>

static u32 table[256];
static int ready;

static void init(void)
{
    for (u32 i = 0; i < 256; i++) {
        u32 c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    ready = 1;
}

u32 crc32_update(u32 crc, const void *data, u32 len)
{
    if (!ready)
        init();
    const u8 *p = data;
    crc = ~crc;
    while (len--)
        crc = table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}
