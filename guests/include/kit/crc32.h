/* CRC-32 (IEEE 802.3: reflected polynomial 0xEDB88320, init and final
 * xor ~0), as zlib's crc32(); chain with crc32_update(prev, ...). */
#ifndef KIT_CRC32_H
#define KIT_CRC32_H
#include <kit/xen.h>

u32 crc32_update(u32 crc, const void *data, u32 len);
static inline u32 crc32(const void *data, u32 len) { return crc32_update(0, data, len); }

#endif
