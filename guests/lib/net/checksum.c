/* Internet checksum (RFC 1071): 16-bit one's-complement sum of big-endian
 * words, a trailing odd byte padded with zero. Sums are kept in 32 bits
 * and folded at the end; callers chain pieces of even length. */
#include <kit/netpriv.h>

u32 csum_add(u32 sum, const void *data, u32 len)
{
    const u8 *p = data;
    u64 s = sum;
    while (len >= 2) {
        s += (u32)((p[0] << 8) | p[1]);
        p += 2;
        len -= 2;
    }
    if (len)
        s += (u32)(p[0] << 8);
    while (s >> 32)
        s = (s & 0xFFFFFFFFull) + (s >> 32);
    return (u32)s;
}

u16 csum_fold(u32 sum)
{
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (u16)~sum;
}

u32 csum_pseudo(u32 src, u32 dst, u8 proto, u16 len)
{
    u64 s = (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) + proto + len;
    while (s >> 32)
        s = (s & 0xFFFFFFFFull) + (s >> 32);
    return (u32)s;
}
