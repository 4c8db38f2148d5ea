/* Ethernet II framing and the stack's global state. */
#include <kit/netpriv.h>

struct net_state net;
static const u8 broadcast[ETH_ALEN] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };

void net_init(const u8 mac[ETH_ALEN], u32 ip, u32 netmask, u32 gateway,
              net_output_fn out, u32 seed)
{
    u64 now = net.now;
    memset(&net, 0, sizeof(net));
    memcpy(net.mac, mac, ETH_ALEN);
    net.ip = ip;
    net.netmask = netmask;
    net.gateway = gateway;
    net.out = out;
    net.now = now;
    net.seed = seed;
    net.ip_id = (u16)seed;
    arp_init();
    tcp_init();
}

void net_set_time(u64 now_ms) { if (now_ms > net.now) net.now = now_ms; }
u64 net_time(void) { return net.now; }
const struct net_stats *net_get_stats(void) { return &net.stats; }
u32 net_ip(void) { return net.ip; }
const u8 *net_mac(void) { return net.mac; }

void net_input(const u8 *frame, u32 len, int csum_ok)
{
    net.stats.rx_frames++;
    if (len < ETH_HLEN) {
        net.stats.rx_dropped++;
        return;
    }
    if (memcmp(frame, net.mac, ETH_ALEN) && memcmp(frame, broadcast, ETH_ALEN)) {
        net.stats.rx_dropped++;                 /* not for us */
        return;
    }
    u16 type = get16(frame + 12);
    if (type == ETHERTYPE_ARP)
        arp_input(frame + ETH_HLEN, len - ETH_HLEN);
    else if (type == ETHERTYPE_IP)
        ip_input(frame + ETH_HLEN, len - ETH_HLEN, csum_ok);
    else
        net.stats.rx_dropped++;
}

int eth_output(u8 *frame, u32 len, const u8 dst[ETH_ALEN], u16 type)
{
    memcpy(frame, dst, ETH_ALEN);
    memcpy(frame + ETH_ALEN, net.mac, ETH_ALEN);
    put16(frame + 12, type);
    if (len < 60) {                             /* minimum frame, no FCS */
        memset(frame + len, 0, 60 - len);
        len = 60;
    }
    int rc = net.out ? net.out(frame, len) : -1;
    if (rc < 0)
        net.stats.tx_dropped++;
    else
        net.stats.tx_frames++;
    return rc;
}

void net_timers(void)
{
    arp_timers();
    tcp_timers();
}

u64 net_next_timer(void)
{
    u64 a = arp_next_timer(), t = tcp_next_timer();
    if (!a)
        return t;
    if (!t)
        return a;
    return a < t ? a : t;
}

char *ip_fmt(u32 ip, char *buf)
{
    char *p = buf;
    for (int i = 3; i >= 0; i--) {
        u32 b = (ip >> (i * 8)) & 0xFF;
        if (b >= 100)
            *p++ = (char)('0' + b / 100);
        if (b >= 10)
            *p++ = (char)('0' + b / 10 % 10);
        *p++ = (char)('0' + b % 10);
        if (i)
            *p++ = '.';
    }
    *p = '\0';
    return buf;
}

int ip_parse(const char *s, u32 *ip)
{
    u32 v = 0;
    for (int i = 0; i < 4; i++) {
        u32 b = 0, digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 4) {
            b = b * 10 + (u32)(*s++ - '0');
            digits++;
        }
        if (!digits || b > 255)
            return -1;
        v = (v << 8) | b;
        if (i < 3 && *s++ != '.')
            return -1;
    }
    if (*s && *s != '/' && *s != ' ')
        return -1;
    *ip = v;
    return 0;
}
