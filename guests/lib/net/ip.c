/* IPv4 (RFC 791): no options sent, none needed on input, no fragments
 * (DF on output; fragments are dropped on input), TTL 64. */
#include <kit/netpriv.h>

void ip_input(const u8 *p, u32 len, int csum_ok)
{
    if (len < IP_HLEN || (p[0] >> 4) != 4) {
        net.stats.rx_dropped++;
        return;
    }
    u32 hl = (u32)(p[0] & 15) * 4, total = get16(p + 2);
    if (hl < IP_HLEN || total < hl || total > len || csum_fold(csum_add(0, p, hl))) {
        net.stats.rx_dropped++;
        return;
    }
    u16 frag = get16(p + 6);
    if ((frag & 0x2000) || (frag & 0x1FFF)) {   /* MF, or an offset */
        net.stats.rx_dropped++;
        return;
    }
    u32 src = get32(p + 12), dst = get32(p + 16);
    if (dst != net.ip) {
        net.stats.rx_dropped++;
        return;
    }
    switch (p[9]) {
    case IPPROTO_ICMP:
        icmp_input(src, p + hl, total - hl);
        break;
    case IPPROTO_TCP:
        tcp_input(src, dst, p + hl, total - hl, csum_ok);
        break;
    default:
        net.stats.rx_dropped++;
    }
}

int ip_output(u8 *frame, u32 plen, u32 dst, u8 proto)
{
    u8 *h = frame + ETH_HLEN;
    u32 total = IP_HLEN + plen;
    h[0] = 0x45;
    h[1] = 0;
    put16(h + 2, (u16)total);
    put16(h + 4, net.ip_id++);
    put16(h + 6, 0x4000);                       /* DF */
    h[8] = 64;
    h[9] = proto;
    put16(h + 10, 0);
    put32(h + 12, net.ip);
    put32(h + 16, dst);
    put16(h + 10, csum_fold(csum_add(0, h, IP_HLEN)));
    u32 nh = ((dst ^ net.ip) & net.netmask) ? net.gateway : dst;
    return arp_output(nh, frame, ETH_HLEN + total);
}
