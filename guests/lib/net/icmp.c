/* ICMP (RFC 792): echo requests (type 8) are answered with echo replies
 * (type 0) carrying the same identifier, sequence number and data. */
#include <kit/netpriv.h>

void icmp_input(u32 src, const u8 *p, u32 len)
{
    if (len < 8 || csum_fold(csum_add(0, p, len))) {
        net.stats.rx_dropped++;
        return;
    }
    if (p[0] != 8 || p[1] != 0)
        return;
    if (len > NET_MTU - IP_HLEN)
        return;
    static u8 f[ETH_FRAME_MAX];
    u8 *r = f + ETH_HLEN + IP_HLEN;
    memcpy(r, p, len);
    r[0] = 0;                                   /* echo reply */
    put16(r + 2, 0);
    put16(r + 2, csum_fold(csum_add(0, r, len)));
    net.stats.icmp_echo++;
    ip_output(f, len, src, IPPROTO_ICMP);
}
