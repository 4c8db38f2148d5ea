/* Internals shared by the files in lib/net/ (not for guests). */
#ifndef KIT_NETPRIV_H
#define KIT_NETPRIV_H
#include <kit/net.h>
#include <kit/string.h>

#define ETHERTYPE_IP 0x0800
#define ETHERTYPE_ARP 0x0806
#define IPPROTO_ICMP 1
#define IPPROTO_TCP 6
#define IP_HLEN 20
#define TCP_HLEN 20

struct net_state {
    u8 mac[ETH_ALEN];
    u32 ip, netmask, gateway;
    net_output_fn out;
    u64 now;                 /* ms */
    u32 seed;
    u16 ip_id;
    struct net_stats stats;
};
extern struct net_state net;

/* Unaligned big-endian accessors for packet fields. */
static inline u16 get16(const u8 *p) { return (u16)((p[0] << 8) | p[1]); }
static inline u32 get32(const u8 *p)
{ return ((u32)p[0] << 24) | ((u32)p[1] << 16) | ((u32)p[2] << 8) | p[3]; }
static inline void put16(u8 *p, u16 v) { p[0] = (u8)(v >> 8); p[1] = (u8)v; }
static inline void put32(u8 *p, u32 v)
{ p[0] = (u8)(v >> 24); p[1] = (u8)(v >> 16); p[2] = (u8)(v >> 8); p[3] = (u8)v; }

/* RFC 1071 one's-complement sum (checksum.c). */
u32 csum_add(u32 sum, const void *data, u32 len);
u16 csum_fold(u32 sum);
/* Pseudo-header sum for TCP/UDP (RFC 9293 §3.1). */
u32 csum_pseudo(u32 src, u32 dst, u8 proto, u16 len);

/* eth.c: sends a frame whose Ethernet header (14 bytes) the caller left
 * room for; fills it in. Frames shorter than 60 bytes are padded. */
int eth_output(u8 *frame, u32 len, const u8 dst[ETH_ALEN], u16 type);
/* arp.c */
void arp_input(const u8 *pkt, u32 len);
/* Sends an IPv4 frame to next hop `nh` (resolving its MAC; the frame is
 * held, one per neighbour, while an ARP request is out). */
int arp_output(u32 nh, u8 *frame, u32 len);
void arp_timers(void);
u64 arp_next_timer(void);
void arp_init(void);
/* ip.c: frame has room for Ethernet + IP headers before the payload at
 * frame + ETH_HLEN + IP_HLEN; plen = payload bytes. */
void ip_input(const u8 *pkt, u32 len, int csum_ok);
int ip_output(u8 *frame, u32 plen, u32 dst, u8 proto);
/* icmp.c / tcp.c */
void icmp_input(u32 src, const u8 *pkt, u32 len);
void tcp_input(u32 src, u32 dst, const u8 *seg, u32 len, int csum_ok);
void tcp_timers(void);
u64 tcp_next_timer(void);
void tcp_init(void);

/* Sequence-number comparisons (mod 2^32). */
#define SEQ_LT(a, b) ((s32)((u32)(a) - (u32)(b)) < 0)
#define SEQ_LEQ(a, b) ((s32)((u32)(a) - (u32)(b)) <= 0)
#define SEQ_GT(a, b) ((s32)((u32)(a) - (u32)(b)) > 0)
#define SEQ_GEQ(a, b) ((s32)((u32)(a) - (u32)(b)) >= 0)

#endif
