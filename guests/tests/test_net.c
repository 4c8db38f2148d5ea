/* Native tests of the TCP/IP stack: a scripted peer feeds frames to
 * net_input() and checks every frame the stack sends (headers, checksums,
 * sequence numbers), with the clock under the test's control. */
#include "native.h"
#include <kit/netpriv.h>

#define SIP 0x0A580005u                 /* the stack: 10.88.0.5 */
#define CIP 0x0A580001u                 /* the peer: 10.88.0.1 (gateway) */
#define FAR 0x08080808u                 /* off-link: via the gateway */
static const u8 SMAC[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x05 };
static const u8 CMAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const u8 BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

#define QMAX 512
static u8 q[QMAX][1600];
static u32 qlen[QMAX];
static int qn;
static u64 clock_ms;

static int capture(const void *f, u32 len)
{
    if (qn < QMAX - 1) {                 /* the last slot is scratch */
        memcpy(q[qn], f, len);
        qlen[qn] = len;
        qn++;
    }
    return 0;
}

static void tick(u64 ms)
{
    clock_ms += ms;
    net_set_time(clock_ms);
    net_timers();
}

static void setup(void)
{
    qn = 0;
    clock_ms += 100000;
    net_set_time(clock_ms);
    net_init(SMAC, SIP, 0xFFFF0000u, CIP, capture, 12345);
}

/* ---- frames from the peer ---- */

static void send_arp(u16 op, u32 spa, u32 tpa, const u8 *dst)
{
    u8 f[60] = { 0 };
    memcpy(f, dst, 6);
    memcpy(f + 6, CMAC, 6);
    put16(f + 12, 0x0806);
    u8 *a = f + 14;
    put16(a, 1); put16(a + 2, 0x0800); a[4] = 6; a[5] = 4; put16(a + 6, op);
    memcpy(a + 8, CMAC, 6); put32(a + 14, spa);
    memset(a + 18, 0, 6); put32(a + 24, tpa);
    net_input(f, 60, 0);
}

static u32 ip_frame(u8 *f, u8 proto, u32 src, u32 plen)
{
    memcpy(f, SMAC, 6);
    memcpy(f + 6, CMAC, 6);
    put16(f + 12, 0x0800);
    u8 *h = f + 14;
    h[0] = 0x45; h[1] = 0; put16(h + 2, (u16)(20 + plen)); put16(h + 4, 1);
    put16(h + 6, 0x4000); h[8] = 64; h[9] = proto; put16(h + 10, 0);
    put32(h + 12, src); put32(h + 16, SIP);
    put16(h + 10, csum_fold(csum_add(0, h, 20)));
    return 14 + 20 + plen;
}

struct seg { u32 seq, ack; u8 flags; u16 wnd; const u8 *data; u32 len; int mss; };

static void send_tcp(u16 sport, u16 dport, u32 seq, u32 ack, u8 flags, u16 wnd,
                     const void *data, u32 len, int mss)
{
    static u8 f[1600];
    u8 *t = f + 34;
    u32 hl = mss ? 24 : 20;
    put16(t, sport); put16(t + 2, dport); put32(t + 4, seq); put32(t + 8, ack);
    t[12] = (u8)((hl / 4) << 4); t[13] = flags; put16(t + 14, wnd);
    put16(t + 16, 0); put16(t + 18, 0);
    if (mss) { t[20] = 2; t[21] = 4; put16(t + 22, (u16)mss); }
    if (len)
        memcpy(t + hl, data, len);
    u32 sum = csum_pseudo(CIP, SIP, 6, (u16)(hl + len));
    put16(t + 16, csum_fold(csum_add(sum, t, hl + len)));
    net_input(f, ip_frame(f, 6, CIP, hl + len), 0);
}

/* ---- frames from the stack ---- */

/* Parses queued frame i as TCP to the peer, checking every checksum. */
static int parse_tcp(int i, struct seg *s)
{
    const u8 *f = q[i];
    if (qlen[i] < 54 || memcmp(f, CMAC, 6) || memcmp(f + 6, SMAC, 6) || get16(f + 12) != 0x0800)
        return 0;
    const u8 *h = f + 14;
    u32 total = get16(h + 2);
    if (h[0] != 0x45 || h[9] != 6 || csum_fold(csum_add(0, h, 20)) || get32(h + 12) != SIP ||
        get32(h + 16) != CIP || !(get16(h + 6) & 0x4000) || 14 + total > qlen[i])
        return 0;
    const u8 *t = h + 20;
    u32 tl = total - 20;
    if (csum_fold(csum_add(csum_pseudo(SIP, CIP, 6, (u16)tl), t, tl)))
        return 0;
    u32 hl = (u32)(t[12] >> 4) * 4;
    s->seq = get32(t + 4); s->ack = get32(t + 8); s->flags = t[13]; s->wnd = get16(t + 14);
    s->data = t + hl; s->len = tl - hl; s->mss = 0;
    if (hl >= 24 && t[20] == 2 && t[21] == 4)
        s->mss = get16(t + 22);
    return 1;
}

#define SYN 0x02
#define ACK 0x10
#define FIN 0x01
#define RST 0x04
#define PSH 0x08

/* Handshake from port sport to 80; returns the stack's ISS. */
static u32 handshake(u16 sport, u32 ciss, u16 wnd, int *conn, int l)
{
    qn = 0;
    send_tcp(sport, 80, ciss, 0, SYN, wnd, NULL, 0, 1460);
    struct seg s;
    CHECK_EQ(qn, 1);
    CHECK(parse_tcp(0, &s));
    CHECK_EQ(s.flags, SYN | ACK);
    CHECK_EQ(s.ack, ciss + 1);
    CHECK_EQ(s.mss, 1460);
    qn = 0;
    send_tcp(sport, 80, ciss + 1, s.seq + 1, ACK, wnd, NULL, 0, 0);
    *conn = tcp_accept(l);
    CHECK(*conn >= 0);
    return s.seq;
}

static void t_checksum(void)
{
    /* RFC 1071 §3 example: 0001 f203 f4f5 f6f7 -> sum ddf2, checksum 220d */
    const u8 d[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
    CHECK_EQ(csum_fold(csum_add(0, d, 8)), 0x220d);
    /* odd length pads with zero */
    const u8 o[] = { 0x01, 0x02, 0x03 };
    CHECK_EQ(csum_fold(csum_add(0, o, 3)), (u16)~(0x0102 + 0x0300));
    /* chaining equals one pass */
    u8 big[1000];
    for (int i = 0; i < 1000; i++) big[i] = (u8)(i * 7);
    CHECK_EQ(csum_fold(csum_add(csum_add(0, big, 400), big + 400, 600)), csum_fold(csum_add(0, big, 1000)));
    char b[16];
    CHECK(!strcmp(ip_fmt(0x0A580102u, b), "10.88.1.2"));
    u32 ip = 0;
    CHECK_EQ(ip_parse("10.88.255.7", &ip), 0);
    CHECK_EQ(ip, 0x0A58FF07u);
    CHECK_EQ(ip_parse("10.88.0.9/16", &ip), 0);
    CHECK_EQ(ip_parse("10.88.0", &ip), -1);
    CHECK_EQ(ip_parse("10.288.0.1", &ip), -1);
}

static void t_arp(void)
{
    setup();
    send_arp(1, CIP, SIP, BCAST);                        /* who has us? */
    CHECK_EQ(qn, 1);
    const u8 *a = q[0] + 14;
    CHECK(!memcmp(q[0], CMAC, 6));
    CHECK_EQ(get16(q[0] + 12), 0x0806);
    CHECK_EQ(qlen[0], 60);                               /* padded */
    CHECK_EQ(get16(a + 6), 2);
    CHECK(!memcmp(a + 8, SMAC, 6));
    CHECK_EQ(get32(a + 14), SIP);
    CHECK(!memcmp(a + 18, CMAC, 6));
    CHECK_EQ(get32(a + 24), CIP);
    qn = 0;
    send_arp(1, CIP, 0x0A580009u, BCAST);                /* not for us */
    CHECK_EQ(qn, 0);
    arp_announce();                                      /* gratuitous */
    CHECK_EQ(qn, 1);
    a = q[0] + 14;
    CHECK(!memcmp(q[0], BCAST, 6));
    CHECK_EQ(get16(a + 6), 1);
    CHECK_EQ(get32(a + 14), SIP);
    CHECK_EQ(get32(a + 24), SIP);
}

static void t_arp_resolve(void)
{
    setup();
    /* An echo request from an unknown neighbour: the reply waits for ARP. */
    static u8 f[200];
    u8 *ic = f + 34;
    ic[0] = 8; ic[1] = 0; put16(ic + 2, 0); put16(ic + 4, 0x1234); put16(ic + 6, 7);
    memcpy(ic + 8, "pingdata", 8);
    put16(ic + 2, csum_fold(csum_add(0, ic, 16)));
    net_input(f, ip_frame(f, 1, FAR, 16), 0);
    CHECK_EQ(qn, 1);                                     /* ARP for the gateway */
    CHECK_EQ(get16(q[0] + 12), 0x0806);
    CHECK_EQ(get32(q[0] + 14 + 24), CIP);
    tick(1000);
    CHECK_EQ(qn, 2);                                     /* retried */
    qn = 0;
    send_arp(2, CIP, SIP, SMAC);                         /* the answer */
    CHECK_EQ(qn, 1);                                     /* the held reply */
    CHECK(!memcmp(q[0], CMAC, 6));
    const u8 *h = q[0] + 14;
    CHECK_EQ(get32(h + 16), FAR);
    const u8 *r = h + 20;
    CHECK_EQ(r[0], 0);
    CHECK_EQ(get16(r + 4), 0x1234);
    CHECK_EQ(get16(r + 6), 7);
    CHECK(!memcmp(r + 8, "pingdata", 8));
    CHECK_EQ(csum_fold(csum_add(0, r, 16)), 0);
    CHECK_EQ(net_get_stats()->icmp_echo, 1);
}

static void peer_known(void)
{
    send_arp(1, CIP, SIP, BCAST);
    qn = 0;
}

static void t_handshake_data_close(void)
{
    setup();
    peer_known();
    int l = tcp_listen(80, 8);
    CHECK(l >= 0);
    CHECK_EQ(tcp_listen(80, 8), -NET_EADDRINUSE);
    int c;
    u32 siss = handshake(40000, 1000, 65535, &c, l);
    struct seg s;
    /* request */
    send_tcp(40000, 80, 1001, siss + 1, ACK | PSH, 65535, "GET /", 5, 0);
    CHECK_EQ(qn, 0);                                     /* ACK deferred to flush */
    char buf[64];
    CHECK_EQ(tcp_recv(c, buf, sizeof(buf)), 5);
    CHECK(!memcmp(buf, "GET /", 5));
    CHECK_EQ(tcp_recv(c, buf, sizeof(buf)), -NET_EAGAIN);
    CHECK_EQ(tcp_send(c, "200 OK", 6), 6);
    net_flush();
    CHECK_EQ(qn, 1);                                     /* data carries the ACK */
    CHECK(parse_tcp(0, &s));
    CHECK_EQ(s.seq, siss + 1);
    CHECK_EQ(s.ack, 1006);
    CHECK_EQ(s.flags, ACK | PSH);
    CHECK_EQ(s.len, 6);
    CHECK(!memcmp(s.data, "200 OK", 6));
    CHECK_EQ(s.wnd, TCP_RCVBUF - 5);                    /* receiver SWS: edge kept */
    qn = 0;
    send_tcp(40000, 80, 1006, siss + 7, ACK, 65535, NULL, 0, 0);
    CHECK_EQ(tcp_unacked(c), 0);
    /* peer closes */
    send_tcp(40000, 80, 1006, siss + 7, ACK | FIN, 65535, NULL, 0, 0);
    CHECK_EQ(qn, 1);
    CHECK(parse_tcp(0, &s));
    CHECK_EQ(s.ack, 1007);
    CHECK_EQ(tcp_recv(c, buf, sizeof(buf)), 0);          /* EOF */
    CHECK(tcp_eof(c));
    qn = 0;
    tcp_close(c);
    CHECK_EQ(qn, 1);
    CHECK(parse_tcp(0, &s));
    CHECK_EQ(s.flags, ACK | FIN);
    CHECK_EQ(s.seq, siss + 7);
    CHECK_EQ(tcp_active(), 1);
    send_tcp(40000, 80, 1007, siss + 8, ACK, 65535, NULL, 0, 0);
    CHECK_EQ(tcp_active(), 0);                           /* LAST_ACK -> gone */
}

static void t_server_close_time_wait(void)
{
    setup();
    peer_known();
    int l = tcp_listen(80, 8), c;
    u32 siss = handshake(40001, 5000, 65535, &c, l);
    struct seg s;
    tcp_send(c, "bye", 3);
    tcp_close(c);                                        /* FIN after data */
    CHECK_EQ(qn, 1);
    CHECK(parse_tcp(0, &s));
    CHECK_EQ(s.flags, ACK | PSH | FIN);
    CHECK_EQ(s.len, 3);
    qn = 0;
    send_tcp(40001, 80, 5001, siss + 5, ACK, 65535, NULL, 0, 0);   /* FIN_WAIT_2 */
    CHECK_EQ(qn, 0);
    send_tcp(40001, 80, 5001, siss + 5, ACK | FIN, 65535, NULL, 0, 0);
    CHECK_EQ(qn, 1);
    CHECK(parse_tcp(0, &s));
    CHECK_EQ(s.ack, 5002);
    CHECK_EQ(tcp_active(), 1);                           /* TIME_WAIT */
    qn = 0;
    send_tcp(40001, 80, 5001, siss + 5, ACK | FIN, 65535, NULL, 0, 0); /* FIN again */
    CHECK_EQ(qn, 1);                                     /* re-ACKed */
    tick(2100);
    CHECK_EQ(tcp_active(), 0);
}

static void t_retransmit_backoff(void)
{
    setup();
    peer_known();
    int l = tcp_listen(80, 8), c;
    u32 siss = handshake(40002, 7000, 65535, &c, l);
    struct seg s;
    tcp_send(c, "data!", 5);
    net_flush();
    CHECK_EQ(qn, 1);
    qn = 0;
    tick(999);
    CHECK_EQ(qn, 0);
    tick(2);                                             /* RTO 1 s */
    CHECK_EQ(qn, 1);
    CHECK(parse_tcp(0, &s));
    CHECK_EQ(s.seq, siss + 1);
    CHECK_EQ(s.len, 5);
    qn = 0;
    tick(1999);
    CHECK_EQ(qn, 0);
    tick(2);                                             /* doubled: 2 s */
    CHECK_EQ(qn, 1);
    qn = 0;
    tick(4001);
    CHECK_EQ(qn, 1);
    CHECK_EQ(net_get_stats()->tcp_retransmits, 3);
    qn = 0;
    send_tcp(40002, 80, 7001, siss + 6, ACK, 65535, NULL, 0, 0);
    tick(60000);
    CHECK_EQ(qn, 0);                                     /* acked: timer off */
    /* a peer that vanishes: the connection gives up with ETIMEDOUT */
    tcp_send(c, "x", 1);
    net_flush();
    for (int i = 0; i < 20; i++)
        tick(60000);
    char b[4];
    CHECK_EQ(tcp_recv(c, b, 4), -NET_ETIMEDOUT);
    tcp_close(c);
    CHECK_EQ(tcp_active(), 0);
}

static void t_syn_ack_retransmit_and_rst(void)
{
    setup();
    peer_known();
    tcp_listen(80, 8);
    send_tcp(40003, 80, 100, 0, SYN, 65535, NULL, 0, 1460);
    struct seg s;
    CHECK(parse_tcp(0, &s));
    u32 siss = s.seq;
    qn = 0;
    tick(1001);                                          /* SYN-ACK again */
    CHECK_EQ(qn, 1);
    CHECK(parse_tcp(0, &s));
    CHECK_EQ(s.flags, SYN | ACK);
    CHECK_EQ(s.seq, siss);
    qn = 0;
    send_tcp(40003, 80, 100, 0, SYN, 65535, NULL, 0, 1460); /* peer retries */
    CHECK_EQ(qn, 1);
    CHECK(parse_tcp(0, &s));
    CHECK_EQ(s.flags, SYN | ACK);
    qn = 0;
    /* a bad ACK in SYN_RECEIVED is answered by RST seq = its ack */
    send_tcp(40003, 80, 101, siss + 77, ACK, 65535, NULL, 0, 0);
    CHECK_EQ(qn, 1);
    CHECK(parse_tcp(0, &s));
    CHECK_EQ(s.flags, RST);
    CHECK_EQ(s.seq, siss + 77);
    qn = 0;
    /* a closed port: RST|ACK acknowledging the SYN */
    send_tcp(40004, 81, 555, 0, SYN, 65535, NULL, 0, 0);
    CHECK_EQ(qn, 1);
    CHECK(parse_tcp(0, &s));
    CHECK_EQ(s.flags, RST | ACK);
    CHECK_EQ(s.seq, 0);
    CHECK_EQ(s.ack, 556);
    qn = 0;
    send_tcp(40004, 81, 555, 0, RST, 65535, NULL, 0, 0); /* never answer a RST */
    CHECK_EQ(qn, 0);
    /* an exact RST resets an established connection; one off is challenged */
    int l2 = tcp_listen(8080, 4), c;
    (void)l2;
    qn = 0;
    send_tcp(40005, 8080, 900, 0, SYN, 65535, NULL, 0, 0);
    CHECK(parse_tcp(0, &s));
    CHECK_EQ(s.mss, 1460);
    u32 is2 = s.seq;
    send_tcp(40005, 8080, 901, is2 + 1, ACK, 65535, NULL, 0, 0);
    c = tcp_accept(l2);
    CHECK(c >= 0);
    qn = 0;
    send_tcp(40005, 8080, 905, 0, RST, 65535, NULL, 0, 0);
    CHECK_EQ(qn, 1);                                     /* challenge ACK */
    CHECK(parse_tcp(0, &s));
    CHECK_EQ(s.flags, ACK);
    CHECK_EQ(s.ack, 901);
    send_tcp(40005, 8080, 901, 0, RST, 65535, NULL, 0, 0);
    char b[4];
    CHECK_EQ(tcp_recv(c, b, 4), -NET_ECONNRESET);
    CHECK_EQ(tcp_send(c, "x", 1), -NET_ECONNRESET);
    tcp_close(c);
}

static void t_out_of_order_and_window(void)
{
    setup();
    peer_known();
    int l = tcp_listen(80, 8), c;
    u32 siss = handshake(40006, 3000, 65535, &c, l);
    struct seg s;
    send_tcp(40006, 80, 3011, siss + 1, ACK, 65535, "later", 5, 0);  /* hole */
    CHECK_EQ(qn, 1);
    CHECK(parse_tcp(0, &s));
    CHECK_EQ(s.ack, 3001);                               /* duplicate ACK */
    CHECK_EQ(tcp_recv_avail(c), 0);
    qn = 0;
    /* overlapping retransmission: only the new part is taken */
    send_tcp(40006, 80, 3001, siss + 1, ACK, 65535, "0123456789", 10, 0);
    send_tcp(40006, 80, 3006, siss + 1, ACK, 65535, "56789abc", 8, 0);
    char b[32];
    CHECK_EQ(tcp_recv(c, b, sizeof(b)), 13);
    CHECK(!memcmp(b, "0123456789abc", 13));
    net_flush();
    CHECK(parse_tcp(qn - 1, &s));
    CHECK_EQ(s.ack, 3014);
    /* fill our receive buffer: the window closes, data beyond is refused */
    static u8 big[TCP_RCVBUF];
    memset(big, 'z', sizeof(big));
    u32 seq = 3014;
    for (u32 off = 0; off < TCP_RCVBUF; off += 1460) {
        u32 n = TCP_RCVBUF - off < 1460 ? TCP_RCVBUF - off : 1460;
        send_tcp(40006, 80, seq, siss + 1, ACK, 65535, big + off, n, 0);
        seq += n;
    }
    CHECK_EQ(tcp_recv_avail(c), TCP_RCVBUF);
    qn = 0;
    net_flush();
    CHECK(parse_tcp(0, &s));
    CHECK_EQ(s.wnd, 0);
    CHECK_EQ(s.ack, seq);
    qn = 0;
    send_tcp(40006, 80, seq, siss + 1, ACK, 65535, "no room", 7, 0);
    CHECK(parse_tcp(qn - 1, &s));
    CHECK_EQ(s.ack, seq);                                /* not taken */
    qn = 0;
    /* reading a little does not reopen the window (receiver SWS) ... */
    static u8 sink[TCP_RCVBUF];
    CHECK_EQ(tcp_recv(c, sink, 100), 100);
    net_flush();
    CHECK_EQ(qn, 0);
    /* ... reading a lot sends a window update */
    CHECK_EQ(tcp_recv(c, sink, 8000), 8000);
    net_flush();
    CHECK_EQ(qn, 1);
    CHECK(parse_tcp(0, &s));
    CHECK_EQ(s.wnd, 8100);
}

static void t_zero_window_persist(void)
{
    setup();
    peer_known();
    int l = tcp_listen(80, 8), c;
    u32 siss = handshake(40007, 100, 0, &c, l);          /* peer window 0 */
    struct seg s;
    CHECK_EQ(tcp_send(c, "abcdef", 6), 6);
    net_flush();
    CHECK_EQ(qn, 0);                                     /* nothing fits */
    tick(1001);
    CHECK_EQ(qn, 1);                                     /* probe: one byte */
    CHECK(parse_tcp(0, &s));
    CHECK_EQ(s.len, 1);
    CHECK_EQ(s.seq, siss + 1);
    qn = 0;
    send_tcp(40007, 80, 101, siss + 1, ACK, 0, NULL, 0, 0);   /* still 0 */
    tick(2001);
    CHECK_EQ(qn, 1);                                     /* probe again, backed off */
    qn = 0;
    for (int i = 0; i < 30; i++) {                       /* no retry limit */
        send_tcp(40007, 80, 101, siss + 1, ACK, 0, NULL, 0, 0);
        tick(60000);
    }
    CHECK_EQ(tcp_recv(c, s.data ? (void *)q : (void *)q, 1), -NET_EAGAIN);
    qn = 0;
    send_tcp(40007, 80, 101, siss + 1, ACK, 1000, NULL, 0, 0);  /* opens */
    /* Half an hour without an ARP answer: the peer's entry went stale and
     * then was dropped, so the data waits for the peer's ARP reply. */
    send_arp(2, CIP, SIP, SMAC);
    net_flush();
    int found = 0;
    for (int i = 0; i < qn; i++)
        if (parse_tcp(i, &s) && s.len == 6 && s.seq == siss + 1 && !memcmp(s.data, "abcdef", 6))
            found = 1;
    CHECK(found);
}

/* A peer that receives a long response in order only, dropping some
 * segments, acknowledging cumulatively: the stream must arrive intact. */
static void bulk(int drop_every, u32 total, u16 peer_wnd)
{
    setup();
    peer_known();
    int l = tcp_listen(80, 8), c;
    u32 siss = handshake(41000, 1, peer_wnd, &c, l);
    static u8 src[300000], dst[300000];
    for (u32 i = 0; i < total; i++)
        src[i] = (u8)(i * 31 + (i >> 8));
    u32 sent = 0, got = 0, rcv_nxt = siss + 1;
    int nseg = 0, rounds = 0;
    static u8 frames[QMAX][1600];
    static u32 flen[QMAX];
    while (got < total && rounds < 100000) {
        rounds++;
        if (sent < total) {
            int n = tcp_send(c, src + sent, total - sent);
            if (n > 0)
                sent += (u32)n;
        }
        net_flush();
        if (!qn) {
            tick(50);
            continue;
        }
        int nq = qn;                     /* take what the stack sent */
        for (int i = 0; i < nq; i++) {
            memcpy(frames[i], q[i], qlen[i]);
            flen[i] = qlen[i];
        }
        qn = 0;
        for (int i = 0; i < nq; i++) {
            struct seg s;
            memcpy(q[QMAX - 1], frames[i], flen[i]);
            qlen[QMAX - 1] = flen[i];
            if (!parse_tcp(QMAX - 1, &s) || !s.len)
                continue;
            nseg++;
            if (drop_every && nseg % drop_every == 0)
                continue;                                /* lost */
            if (s.seq == rcv_nxt) {
                memcpy(dst + got, s.data, s.len);
                got += s.len;
                rcv_nxt += s.len;
            }
            send_tcp(41000, 80, 2, rcv_nxt, ACK, peer_wnd, NULL, 0, 0);
        }
    }
    CHECK_EQ(got, total);
    CHECK(!memcmp(src, dst, total));
    tcp_close(c);
}

static void t_bulk_clean(void) { bulk(0, 200000, 65535); }
static void t_bulk_lossy(void) { bulk(7, 120000, 65535); }
static void t_bulk_small_window(void) { bulk(0, 50000, 3000); }
static void t_bulk_lossy_small_window(void) { bulk(5, 40000, 4000); }

static void t_many_connections(void)
{
    setup();
    peer_known();
    int l = tcp_listen(80, 64);
    int ok = 0;
    for (int i = 0; i < TCP_MAX_CONNS + 8; i++) {
        qn = 0;
        send_tcp((u16)(42000 + i), 80, 10, 0, SYN, 65535, NULL, 0, 1460);
        struct seg s;
        if (qn == 1 && parse_tcp(0, &s) && s.flags == (SYN | ACK)) {
            send_tcp((u16)(42000 + i), 80, 11, s.seq + 1, ACK, 65535, NULL, 0, 0);
            ok++;
        }
    }
    CHECK_EQ(ok, TCP_MAX_CONNS);
    int accepted = 0;
    while (tcp_accept(l) >= 0)
        accepted++;
    CHECK_EQ(accepted, TCP_MAX_CONNS);
    CHECK_EQ(net_get_stats()->tcp_dropped_syn, 8);
}

static void t_bad_checksum_and_junk(void)
{
    setup();
    peer_known();
    tcp_listen(80, 8);
    static u8 f[1600];
    /* corrupt TCP checksum */
    u8 *t = f + 34;
    memset(t, 0, 20);
    put16(t, 43000); put16(t + 2, 80); put32(t + 4, 1); t[12] = 0x50; t[13] = SYN;
    put16(t + 14, 1000); put16(t + 16, 0xdead);
    net_input(f, ip_frame(f, 6, CIP, 20), 0);
    CHECK_EQ(qn, 0);
    CHECK_EQ(net_get_stats()->tcp_bad_csum, 1);
    /* ... accepted when the link vouches for it (NETRXF_data_validated) */
    net_input(f, ip_frame(f, 6, CIP, 20), 1);
    CHECK_EQ(qn, 1);
    /* truncated and garbage frames never crash */
    qn = 0;
    for (int n = 0; n < 80; n++) {
        for (int i = 0; i < n; i++)
            f[i] = (u8)rand();
        if (n > 14) { memcpy(f, SMAC, 6); put16(f + 12, (n & 1) ? 0x0800 : 0x0806); }
        if (n > 34) { f[14] = 0x45; }
        net_input(f, (u32)n, n & 2);
    }
    /* a header length that lies */
    u32 len = ip_frame(f, 6, CIP, 20);
    f[34 + 12] = 0xF0;
    net_input(f, len, 1);
    /* IP fragments are dropped */
    len = ip_frame(f, 1, CIP, 8);
    put16(f + 14 + 6, 0x2000);
    net_input(f, len, 0);
    CHECK(1);
}

void test_net(void)
{
    srand(1);
    run_test("net/checksum", t_checksum);
    run_test("net/arp", t_arp);
    run_test("net/arp-resolve-icmp", t_arp_resolve);
    run_test("tcp/handshake-data-close", t_handshake_data_close);
    run_test("tcp/server-close-time-wait", t_server_close_time_wait);
    run_test("tcp/retransmit-backoff", t_retransmit_backoff);
    run_test("tcp/syn-ack-retransmit-rst", t_syn_ack_retransmit_and_rst);
    run_test("tcp/out-of-order-window", t_out_of_order_and_window);
    run_test("tcp/zero-window-persist", t_zero_window_persist);
    run_test("tcp/bulk-clean", t_bulk_clean);
    run_test("tcp/bulk-lossy", t_bulk_lossy);
    run_test("tcp/bulk-small-window", t_bulk_small_window);
    run_test("tcp/bulk-lossy-small-window", t_bulk_lossy_small_window);
    run_test("tcp/many-connections", t_many_connections);
    run_test("net/bad-checksum-junk", t_bad_checksum_and_junk);
}
