/* Internet checksum (RFC 1071): 16-bit one's-complement sum of big-endian
 * words, a trailing odd byte padded with zero. Sums are kept in 32 bits
 * and folded at the end; callers chain pieces of even length. */
#include <kit/netpriv.h>

u32 csum_add(u32 sum, const void *data, u32 len)
{
    /* RFC 1071 §2(B): the sum is byte-order independent, so add the data
     * as little-endian 32-bit words and swap the bytes of the folded
     * result once, instead of assembling big-endian 16-bit words. */
    const u8 *p = data;
    u64 s = 0;
    while (len >= 4) {
        u32 w;
        __builtin_memcpy(&w, p, 4);
        s += w;
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        u16 w;
        __builtin_memcpy(&w, p, 2);
        s += w;
        p += 2;
        len -= 2;
    }
    if (len)
        s += p[0];                              /* low byte = first in memory */
    while (s >> 16)
        s = (s & 0xFFFF) + (s >> 16);
    u32 be = ((s & 0xFF) << 8) | ((s >> 8) & 0xFF);   /* back to network order */
    u64 t = (u64)sum + be;
    while (t >> 32)
        t = (t & 0xFFFFFFFFull) + (t >> 32);
    return (u32)t;
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
