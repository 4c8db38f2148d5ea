/*
 * A small TCP/IPv4 stack for single-threaded guests (RFC 826 ARP, RFC 791
 * IPv4, RFC 792 ICMP echo, RFC 9293 TCP with RFC 6298 retransmission
 * timers and RFC 5681 congestion control). Server side only: listen,
 * passive open, send, receive, close.
 *
 * The stack itself is pure: it never blocks and owns no device. A driver
 * (lib/net/netdev.c over netfront, or a unit test) hands it received
 * Ethernet frames with net_input(), gives it the time with net_set_time(),
 * calls net_timers() when net_next_timer() is due, and provides the
 * output function. An event loop looks like
 *
 *     for (;;) {
 *         net_poll();               // rx frames -> stack, timers (netdev)
 *         ... tcp_accept / tcp_recv / tcp_send / tcp_close ...
 *         net_flush();              // pending ACKs, window updates, data
 *         net_wait(deadline);       // block until a frame, event or timer
 *     }
 *
 * Addresses are in host byte order (10.88.0.1 = 0x0A580001).
 * TCP: MSS 1460 (MTU 1500, no IP options, no fragmentation: DF is set and
 * fragments are dropped), windows up to TCP_RCVBUF (no window scaling, no
 * SACK, no timestamps), segments that arrive out of order are dropped and
 * answered with a duplicate ACK (the sender retransmits), no Nagle (the
 * applications write whole responses), immediate ACKs coalesced per loop
 * iteration by net_flush().
 */
#ifndef KIT_NET_H
#define KIT_NET_H
#include <kit/xen.h>

#define ETH_ALEN 6
#define ETH_HLEN 14
#define NET_MTU 1500
#define ETH_FRAME_MAX (ETH_HLEN + NET_MTU)
#define TCP_MSS 1460
#define TCP_MAX_CONNS 32
#define TCP_MAX_LISTENERS 4
#define TCP_SNDBUF 16384
#define TCP_RCVBUF 16384

/* errno values returned (negated) by the socket calls */
#define NET_EAGAIN 11
#define NET_EINVAL 22
#define NET_EPIPE 32
#define NET_EADDRINUSE 98
#define NET_ECONNRESET 104
#define NET_ENOTCONN 107
#define NET_ETIMEDOUT 110
#define NET_ENOSPC 28

struct net_stats {
    u32 rx_frames, tx_frames, rx_dropped, tx_dropped;
    u32 arp_requests, arp_replies;
    u32 icmp_echo;
    u32 tcp_in, tcp_out, tcp_retransmits, tcp_resets_sent, tcp_bad_csum;
    u32 tcp_accepted, tcp_dropped_syn;
};

/* ---- set-up and driver side ---- */
typedef int (*net_output_fn)(const void *frame, u32 len);
void net_init(const u8 mac[ETH_ALEN], u32 ip, u32 netmask, u32 gateway,
              net_output_fn out, u32 seed);
void net_set_time(u64 now_ms);
u64 net_time(void);
/* One received Ethernet frame. csum_ok: the link already validated the
 * TCP/UDP checksum (NETRXF_data_validated / csum_blank). */
void net_input(const u8 *frame, u32 len, int csum_ok);
void net_timers(void);
/* Earliest timer deadline in ms (net_time() scale), 0 if none. */
u64 net_next_timer(void);
/* Sends what is pending on every connection (ACKs, window updates, data
 * queued by tcp_send). */
void net_flush(void);
/* Gratuitous ARP (a request for our own address): call at start-up and
 * after a move so that switches and neighbours learn where we are. */
void arp_announce(void);
const struct net_stats *net_get_stats(void);
u32 net_ip(void);
const u8 *net_mac(void);
/* Formats a.b.c.d into buf (>= 16 bytes). */
char *ip_fmt(u32 ip, char *buf);
/* Parses "a.b.c.d" (stops at '/', ' ' or NUL); 0 on success. */
int ip_parse(const char *s, u32 *ip);

/* ---- TCP sockets ---- */
/* Returns a listener id, or -errno. */
int tcp_listen(u16 port, u32 backlog);
/* Next established connection of a listener: id >= 0, or -NET_EAGAIN. */
int tcp_accept(int listener);
/* > 0 bytes read, 0 at end of stream (peer sent FIN and all data was read),
 * -NET_EAGAIN nothing yet, -NET_ECONNRESET, -NET_ETIMEDOUT, -NET_ENOTCONN. */
int tcp_recv(int c, void *buf, u32 len);
/* Bytes queued (possibly fewer than len), -NET_EAGAIN when the send buffer
 * is full, -NET_EPIPE after close or reset. Data goes out at net_flush(). */
int tcp_send(int c, const void *buf, u32 len);
u32 tcp_send_space(int c);
u32 tcp_recv_avail(int c);
/* Bytes queued but not yet acknowledged by the peer. */
u32 tcp_unacked(int c);
/* Nonzero if the connection is dead (reset, timed out) or fully closed by
 * the peer with all data read. */
int tcp_eof(int c);
/* Graceful close: FIN after the queued data. The id belongs to the stack
 * afterwards; it is reused once the connection has finished closing. */
void tcp_close(int c);
/* Abortive close: RST, id released at once. */
void tcp_abort(int c);
int tcp_peer(int c, u32 *ip, u16 *port);
/* Connections in use (all states but free). */
u32 tcp_active(void);

/* Byte order */
static inline u16 net_htons(u16 v) { return (u16)((v << 8) | (v >> 8)); }
static inline u32 net_htonl(u32 v)
{ return (v >> 24) | ((v >> 8) & 0xFF00) | ((v << 8) & 0xFF0000) | (v << 24); }
#define net_ntohs net_htons
#define net_ntohl net_htonl

#endif
