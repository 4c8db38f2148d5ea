/*
 * ARP for IPv4 over Ethernet (RFC 826), with the merge rule: a packet from
 * a sender we know updates its entry; one addressed to us adds the sender.
 * Requests for our address are answered. An entry is fresh for ARP_TTL_MS;
 * after that it is stale: frames still go to the known MAC while a new
 * request is out (as Linux's STALE/PROBE states), and the entry is dropped
 * if three requests, a second apart, go unanswered. For an unknown
 * neighbour the newest frame is held while the request is out and sent on
 * the reply (older ones are dropped: TCP retransmits).
 */
#include <kit/netpriv.h>

#define ARP_ENTRIES 32
#define ARP_TTL_MS (5 * 60 * 1000)
#define ARP_RETRY_MS 1000
#define ARP_TRIES 3
#define ARP_HLEN 28

static const u8 broadcast[ETH_ALEN] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
static const u8 zero_mac[ETH_ALEN];

static struct arp_entry {
    u32 ip;                  /* 0 = free */
    u8 mac[ETH_ALEN];
    u8 resolved;
    u8 tries;                /* requests sent since the entry went stale */
    u64 expires;             /* resolved: end of freshness */
    u64 retry_at;            /* next request while unresolved or stale */
    u32 held_len;
    u8 held[ETH_FRAME_MAX + 46];
} cache[ARP_ENTRIES];

void arp_init(void)
{
    memset(cache, 0, sizeof(cache));
}

static struct arp_entry *lookup(u32 ip)
{
    for (int i = 0; i < ARP_ENTRIES; i++)
        if (cache[i].ip == ip)
            return &cache[i];
    return NULL;
}

static struct arp_entry *slot_for(u32 ip)
{
    struct arp_entry *e = lookup(ip), *victim = NULL;
    if (e)
        return e;
    for (int i = 0; i < ARP_ENTRIES; i++) {
        if (!cache[i].ip)
            { victim = &cache[i]; break; }
        if (!victim || cache[i].expires + cache[i].retry_at < victim->expires + victim->retry_at)
            victim = &cache[i];
    }
    memset(victim, 0, sizeof(*victim));
    victim->ip = ip;
    return victim;
}

static void send_arp(u16 op, const u8 *dst_mac, const u8 *target_mac, u32 target_ip, u32 sender_ip)
{
    u8 f[64];
    u8 *a = f + ETH_HLEN;
    put16(a, 1);                                /* hardware: Ethernet */
    put16(a + 2, ETHERTYPE_IP);
    a[4] = ETH_ALEN;
    a[5] = 4;
    put16(a + 6, op);
    memcpy(a + 8, net.mac, ETH_ALEN);
    put32(a + 14, sender_ip);
    memcpy(a + 18, target_mac, ETH_ALEN);
    put32(a + 24, target_ip);
    eth_output(f, ETH_HLEN + ARP_HLEN, dst_mac, ETHERTYPE_ARP);
}

static void request(struct arp_entry *e)
{
    e->tries++;
    e->retry_at = net.now + ARP_RETRY_MS;
    net.stats.arp_requests++;
    send_arp(1, broadcast, zero_mac, e->ip, net.ip);
}

void arp_announce(void)
{
    net.stats.arp_requests++;
    send_arp(1, broadcast, zero_mac, net.ip, net.ip);
}

void arp_input(const u8 *a, u32 len)
{
    if (len < ARP_HLEN || get16(a) != 1 || get16(a + 2) != ETHERTYPE_IP ||
        a[4] != ETH_ALEN || a[5] != 4) {
        net.stats.rx_dropped++;
        return;
    }
    u16 op = get16(a + 6);
    const u8 *sha = a + 8;
    u32 spa = get32(a + 14), tpa = get32(a + 24);
    if (!spa || spa == net.ip || (sha[0] & 1))
        return;                                 /* probe, conflict, bogus */
    int for_us = tpa == net.ip;
    struct arp_entry *e = lookup(spa);
    if (e || for_us) {
        if (!e)
            e = slot_for(spa);
        memcpy(e->mac, sha, ETH_ALEN);
        e->resolved = 1;
        e->tries = 0;
        e->retry_at = 0;
        e->expires = net.now + ARP_TTL_MS;
        if (e->held_len) {
            u32 n = e->held_len;
            e->held_len = 0;
            eth_output(e->held, n, e->mac, ETHERTYPE_IP);
        }
    }
    if (for_us && op == 1) {
        net.stats.arp_replies++;
        send_arp(2, sha, sha, spa, net.ip);
    }
}

int arp_output(u32 nh, u8 *frame, u32 len)
{
    struct arp_entry *e = lookup(nh);
    if (e && e->resolved) {
        if (e->expires <= net.now && !e->tries)
            request(e);                         /* stale: check, keep sending */
        return eth_output(frame, len, e->mac, ETHERTYPE_IP);
    }
    if (!e)
        e = slot_for(nh);
    if (len <= sizeof(e->held)) {
        memcpy(e->held, frame, len);
        e->held_len = len;
    }
    if (!e->tries)
        request(e);
    return 0;
}

void arp_timers(void)
{
    for (int i = 0; i < ARP_ENTRIES; i++) {
        struct arp_entry *e = &cache[i];
        if (!e->ip || !e->tries || e->retry_at > net.now)
            continue;
        if (e->tries >= ARP_TRIES) {
            net.stats.tx_dropped += e->held_len ? 1 : 0;
            memset(e, 0, sizeof(*e));           /* unreachable: forget */
        } else {
            request(e);
        }
    }
}

u64 arp_next_timer(void)
{
    u64 t = 0;
    for (int i = 0; i < ARP_ENTRIES; i++)
        if (cache[i].ip && cache[i].tries && (!t || cache[i].retry_at < t))
            t = cache[i].retry_at;
    return t;
}
