/*
 * TCP, server side (RFC 9293), with retransmission timers per RFC 6298,
 * Karn's rule, exponential backoff, congestion control per RFC 5681 (slow
 * start, congestion avoidance, fast retransmit / fast recovery on three
 * duplicate ACKs), RFC 5961 challenge ACKs for in-window RST and SYN,
 * receiver and sender silly-window avoidance (RFC 9293 §3.8.6.2), zero
 * window probes, and RFC 6528 initial sequence numbers.
 *
 * Each connection has a send ring (bytes from snd_una on: unacknowledged,
 * then unsent) and a receive ring (in-order bytes the application has not
 * read). A segment that arrives out of order is not queued: it is dropped
 * and answered with an immediate duplicate ACK. ACKs for in-order data are
 * coalesced per event-loop iteration (net_flush), so a response written in
 * the same iteration carries the ACK.
 */
#include <kit/netpriv.h>

enum tcp_state {
    TCP_FREE = 0, TCP_LISTEN_UNUSED, TCP_SYN_RECEIVED, TCP_ESTABLISHED,
    TCP_FIN_WAIT_1, TCP_FIN_WAIT_2, TCP_CLOSE_WAIT, TCP_CLOSING,
    TCP_LAST_ACK, TCP_TIME_WAIT, TCP_CLOSED,
};

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

#define RTO_INIT_MS 1000
#define RTO_MIN_MS 200
#define RTO_MAX_MS 60000
#define MAX_RETRIES 12          /* data: about 2 minutes with backoff to 60 s */
#define MAX_SYN_RETRIES 5
#define TIME_WAIT_MS 2000       /* short 2*MSL: one segment, no routers */
#define FIN_WAIT_2_MS 30000
#define PERSIST_MIN_MS 500

struct tcb {
    u8 state;
    u8 app;                  /* 1 while the application holds the id */
    u8 accepted;             /* handed out by tcp_accept */
    u8 listener;
    u8 fin_queued;           /* application closed: FIN after the data */
    u8 fin_acked;            /* ... and the peer acknowledged it */
    u8 fin_rcvd;
    u8 syn_acked;
    u8 ack_pending;          /* an ACK (or window update) is owed */
    u8 dupacks;
    u8 persist;              /* probing a zero window */
    u8 in_recovery;
    u8 retries;
    u8 error;                /* NET_E* that ended the connection */
    u32 rip;
    u16 lport, rport;
    u16 mss;                 /* peer's MSS, capped at TCP_MSS */
    /* send side */
    u32 iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2, max_sndwnd;
    u32 cwnd, ssthresh, recover;
    u32 snd_head, snd_len;   /* ring index of snd_una's byte; bytes queued */
    /* receive side */
    u32 irs, rcv_nxt, rcv_adv;   /* rcv_adv: right edge advertised */
    u32 rcv_head, rcv_len;
    /* timers (ms, 0 = off) */
    u64 rto_at, tw_at;
    u32 rto, srtt, rttvar;   /* srtt, rttvar scaled by 8 and 4 (RFC 6298 in ms) */
    u32 rtt_seq;
    u64 rtt_start;           /* 0 = no measurement running */
    u8 snd[TCP_SNDBUF];
    u8 rcv[TCP_RCVBUF];
};

static struct tcb conns[TCP_MAX_CONNS];
static struct listener { u16 port; u8 used; u32 backlog; } listeners[TCP_MAX_LISTENERS];
static u8 frame[ETH_FRAME_MAX + 64];

void tcp_init(void)
{
    memset(conns, 0, sizeof(conns));
    memset(listeners, 0, sizeof(listeners));
}

/* ---- helpers ---- */

static u32 hash32(u32 x)
{
    x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16;
    return x;
}

/* RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, secret),
 * M a 4 us clock. */
static u32 make_iss(u32 rip, u16 lport, u16 rport)
{
    u32 f = hash32(net.seed ^ hash32(rip ^ hash32(((u32)lport << 16) | rport) ^ net.ip));
    return f + (u32)(net.now * 250);
}

static u32 rcv_space(const struct tcb *t) { return TCP_RCVBUF - t->rcv_len; }

static void free_tcb(struct tcb *t)
{
    t->state = TCP_FREE;
    t->app = 0;
}

static void set_rto_timer(struct tcb *t)
{
    t->rto_at = net.now + t->rto;
}

/* Window to advertise, with receiver SWS avoidance: the right edge moves
 * only by at least min(MSS, buffer/2), and never moves left. */
static u32 adv_window(struct tcb *t)
{
    u32 space = rcv_space(t);
    u32 cur = SEQ_GT(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
    u32 step = TCP_MSS < TCP_RCVBUF / 2 ? TCP_MSS : TCP_RCVBUF / 2;
    if (space > cur && space - cur >= step)
        cur = space;
    if (cur > 65535)
        cur = 65535;
    t->rcv_adv = t->rcv_nxt + cur;
    return cur;
}

/* Builds and sends one segment. data: `len` bytes of the send ring from
 * sequence number `seq` (which must be inside [snd_una, data_end)). */
static void send_segment(struct tcb *t, u32 seq, u8 flags, u32 len)
{
    u8 *th = frame + ETH_HLEN + IP_HLEN;
    u32 hl = TCP_HLEN + ((flags & F_SYN) ? 4 : 0);
    put16(th, t->lport);
    put16(th + 2, t->rport);
    put32(th + 4, seq);
    put32(th + 8, (flags & F_ACK) ? t->rcv_nxt : 0);
    th[12] = (u8)((hl / 4) << 4);
    th[13] = flags;
    put16(th + 14, (u16)adv_window(t));
    put16(th + 16, 0);
    put16(th + 18, 0);
    if (flags & F_SYN) {                        /* MSS option */
        th[20] = 2;
        th[21] = 4;
        put16(th + 22, TCP_MSS);
    }
    if (len) {
        u32 off = (t->snd_head + (seq - t->snd_una)) % TCP_SNDBUF;
        u32 first = TCP_SNDBUF - off < len ? TCP_SNDBUF - off : len;
        memcpy(th + hl, t->snd + off, first);
        memcpy(th + hl + first, t->snd, len - first);
    }
    u32 n = hl + len;
    u32 sum = csum_pseudo(net.ip, t->rip, IPPROTO_TCP, (u16)n);
    put16(th + 16, csum_fold(csum_add(sum, th, n)));
    net.stats.tcp_out++;
    if (flags & F_ACK)
        t->ack_pending = 0;
    ip_output(frame, n, t->rip, IPPROTO_TCP);
}

/* A reset for a segment that has no connection (RFC 9293 §3.10.7.1). */
static void send_reset(u32 dst, u16 sport, u16 dport, u32 seq, u32 ack, u8 flags)
{
    u8 *th = frame + ETH_HLEN + IP_HLEN;
    put16(th, sport);
    put16(th + 2, dport);
    put32(th + 4, seq);
    put32(th + 8, ack);
    th[12] = (TCP_HLEN / 4) << 4;
    th[13] = flags;
    put16(th + 14, 0);
    put16(th + 16, 0);
    put16(th + 18, 0);
    u32 sum = csum_pseudo(net.ip, dst, IPPROTO_TCP, TCP_HLEN);
    put16(th + 16, csum_fold(csum_add(sum, th, TCP_HLEN)));
    net.stats.tcp_resets_sent++;
    net.stats.tcp_out++;
    ip_output(frame, TCP_HLEN, dst, IPPROTO_TCP);
}

static void send_ack(struct tcb *t)
{
    send_segment(t, t->snd_nxt, F_ACK, 0);
}

/* The connection is over with an error: tell the application, free the
 * slot if nobody holds it. */
static void drop_conn(struct tcb *t, u8 err)
{
    t->error = err;
    t->state = TCP_CLOSED;
    t->rto_at = t->tw_at = 0;
    if (!t->app)
        free_tcb(t);
}

static void enter_time_wait(struct tcb *t)
{
    t->state = TCP_TIME_WAIT;
    t->rto_at = 0;
    t->tw_at = net.now + TIME_WAIT_MS;
}

/* ---- output ---- */

static u32 flight(const struct tcb *t) { return t->snd_max - t->snd_una; }

/* Sends what the windows allow from snd_nxt, and the FIN when due. */
static void output(struct tcb *t)
{
    if (t->state == TCP_SYN_RECEIVED || t->state < TCP_SYN_RECEIVED || t->state == TCP_CLOSED ||
        t->state == TCP_TIME_WAIT)
        return;
    u32 end = t->snd_una + t->snd_len;          /* syn_acked here */
    for (;;) {
        u32 wnd = t->snd_wnd < t->cwnd ? t->snd_wnd : t->cwnd;
        u32 limit = t->snd_una + wnd;
        u32 avail = SEQ_LT(t->snd_nxt, end) ? end - t->snd_nxt : 0;
        u32 usable = SEQ_LT(t->snd_nxt, limit) ? limit - t->snd_nxt : 0;
        u32 len = avail < usable ? avail : usable;
        if (len > t->mss)
            len = t->mss;
        /* The FIN goes with (or after) the last byte; snd_nxt == end + 1
         * means it is already out (a timeout sets snd_nxt back). */
        int fin_due = t->fin_queued && !t->fin_acked && t->snd_nxt + len == end;
        if (!len && !fin_due) {
            /* Zero window with data waiting and nothing in flight: the
             * timer sends a probe. */
            if (avail && !flight(t) && !t->rto_at)
                t->rto_at = net.now + (t->rto > PERSIST_MIN_MS ? t->rto : PERSIST_MIN_MS);
            break;
        }
        /* Sender SWS avoidance: a short segment only if it empties the
         * queue, or is at least half the largest window seen. */
        if (len && len < t->mss && len < avail && len < t->max_sndwnd / 2 && flight(t))
            break;
        u8 flags = F_ACK | (len && len == avail ? F_PSH : 0) | (fin_due ? F_FIN : 0);
        u32 seq = t->snd_nxt;
        if (len && !t->rtt_start && !SEQ_LT(seq, t->snd_max)) {
            t->rtt_start = net.now ? net.now : 1;   /* time this new segment */
            t->rtt_seq = seq + len;
        }
        if (SEQ_LT(seq, t->snd_max))
            net.stats.tcp_retransmits++;
        send_segment(t, seq, flags, len);
        t->snd_nxt = seq + len + (fin_due ? 1 : 0);
        if (SEQ_GT(t->snd_nxt, t->snd_max))
            t->snd_max = t->snd_nxt;
        if (!t->rto_at)
            set_rto_timer(t);
        if (fin_due)
            break;
    }
}

/* ---- input ---- */

static struct tcb *find(u32 rip, u16 lport, u16 rport)
{
    for (int i = 0; i < TCP_MAX_CONNS; i++) {
        struct tcb *t = &conns[i];
        if (t->state != TCP_FREE && t->rip == rip && t->lport == lport && t->rport == rport)
            return t;
    }
    return NULL;
}

static int find_listener(u16 port)
{
    for (int i = 0; i < TCP_MAX_LISTENERS; i++)
        if (listeners[i].used && listeners[i].port == port)
            return i;
    return -1;
}

static struct tcb *alloc_tcb(void)
{
    struct tcb *oldest_tw = NULL;
    for (int i = 0; i < TCP_MAX_CONNS; i++) {
        if (conns[i].state == TCP_FREE)
            return &conns[i];
        if (conns[i].state == TCP_TIME_WAIT && !conns[i].app &&
            (!oldest_tw || conns[i].tw_at < oldest_tw->tw_at))
            oldest_tw = &conns[i];
    }
    if (oldest_tw)
        free_tcb(oldest_tw);                    /* TIME_WAIT gives way */
    return oldest_tw;
}

static u32 backlog_used(int l)
{
    u32 n = 0;
    for (int i = 0; i < TCP_MAX_CONNS; i++)
        if (conns[i].state != TCP_FREE && conns[i].listener == l && !conns[i].accepted &&
            conns[i].state != TCP_CLOSED && conns[i].state != TCP_TIME_WAIT)
            n++;
    return n;
}

static u16 parse_mss(const u8 *seg, u32 hl)
{
    u32 i = TCP_HLEN;
    while (i < hl) {
        u8 kind = seg[i];
        if (kind == 0)
            break;
        if (kind == 1) {
            i++;
            continue;
        }
        if (i + 1 >= hl || seg[i + 1] < 2 || i + seg[i + 1] > hl)
            break;
        if (kind == 2 && seg[i + 1] == 4)
            return get16(seg + i + 2);
        i += seg[i + 1];
    }
    return 536;                                 /* RFC 9293 default */
}

static void passive_open(int l, u32 rip, u16 lport, u16 rport, u32 seq, const u8 *seg, u32 hl,
                         u16 wnd)
{
    struct tcb *t;
    if (backlog_used(l) >= listeners[l].backlog || !(t = alloc_tcb())) {
        net.stats.tcp_dropped_syn++;            /* the client retries */
        return;
    }
    memset(t, 0, (u32)((u8 *)&t->snd - (u8 *)t));
    t->state = TCP_SYN_RECEIVED;
    t->listener = (u8)l;
    t->rip = rip;
    t->lport = lport;
    t->rport = rport;
    u16 mss = parse_mss(seg, hl);
    t->mss = mss > TCP_MSS ? TCP_MSS : (mss < 64 ? 64 : mss);
    t->irs = seq;
    t->rcv_nxt = seq + 1;
    t->rcv_adv = t->rcv_nxt;
    t->iss = make_iss(rip, lport, rport);
    t->snd_una = t->iss;
    t->snd_nxt = t->snd_max = t->iss + 1;
    t->snd_wnd = wnd;
    t->max_sndwnd = wnd;
    t->snd_wl1 = seq;
    t->snd_wl2 = t->iss;
    /* RFC 5681 §3.1 initial window */
    t->cwnd = t->mss > 2190 ? 2 * t->mss : t->mss > 1095 ? 3 * t->mss : 4 * t->mss;
    t->ssthresh = 65535;
    t->rto = RTO_INIT_MS;
    send_segment(t, t->iss, F_SYN | F_ACK, 0);
    set_rto_timer(t);
}

/* New data acknowledged: RTT sample, congestion window, timers. */
static void ack_advance(struct tcb *t, u32 ack)
{
    u32 acked = ack - t->snd_una;
    if (!t->syn_acked) {
        t->syn_acked = 1;
        acked--;
        t->snd_una++;
    }
    u32 data = acked < t->snd_len ? acked : t->snd_len;
    t->snd_head = (t->snd_head + data) % TCP_SNDBUF;
    t->snd_len -= data;
    t->snd_una += data;
    if (acked > data && t->fin_queued) {
        t->snd_una += 1;                        /* our FIN */
        t->fin_acked = 1;
    }
    if (SEQ_LT(t->snd_nxt, t->snd_una))
        t->snd_nxt = t->snd_una;

    if (t->rtt_start && SEQ_GEQ(ack, t->rtt_seq)) {     /* RFC 6298 §2 */
        u32 r = (u32)(net.now - t->rtt_start);
        if (!t->srtt) {
            t->srtt = r * 8;
            t->rttvar = r * 2;
        } else {
            s32 err = (s32)r - (s32)(t->srtt / 8);
            t->srtt = (u32)((s32)t->srtt + err);
            if (err < 0)
                err = -err;
            t->rttvar = (u32)((s32)t->rttvar + (err - (s32)(t->rttvar / 4)));
        }
        t->rto = t->srtt / 8 + (t->rttvar > 1 ? t->rttvar : 1);
        t->rtt_start = 0;
    }
    if (t->rto < RTO_MIN_MS)
        t->rto = RTO_MIN_MS;
    if (t->rto > RTO_MAX_MS)
        t->rto = RTO_MAX_MS;
    t->retries = 0;

    if (t->in_recovery) {                       /* RFC 5681 §3.2 step 6 */
        if (SEQ_GEQ(ack, t->recover)) {
            t->in_recovery = 0;
            t->cwnd = t->ssthresh;
        } else {                                /* partial ACK: resend the next hole */
            u32 n = flight(t) < t->snd_len ? flight(t) : t->snd_len;
            send_segment(t, t->snd_una, F_ACK, n < t->mss ? n : t->mss);
            net.stats.tcp_retransmits++;
        }
    } else if (t->cwnd < t->ssthresh) {
        t->cwnd += acked < t->mss ? acked : t->mss;    /* slow start */
    } else {
        u32 inc = t->mss * t->mss / (t->cwnd ? t->cwnd : 1);
        t->cwnd += inc ? inc : 1;               /* congestion avoidance */
    }
    t->dupacks = 0;
    t->rto_at = flight(t) ? net.now + t->rto : 0;
}

/* Stores in-order payload; returns the bytes taken. */
static u32 take_data(struct tcb *t, const u8 *data, u32 len)
{
    u32 room = rcv_space(t);
    if (len > room)
        len = room;
    u32 at = (t->rcv_head + t->rcv_len) % TCP_RCVBUF;
    u32 first = TCP_RCVBUF - at < len ? TCP_RCVBUF - at : len;
    memcpy(t->rcv + at, data, first);
    memcpy(t->rcv, data + first, len - first);
    t->rcv_len += len;
    t->rcv_nxt += len;
    return len;
}

void tcp_input(u32 src, u32 dst, const u8 *seg, u32 len, int csum_ok)
{
    net.stats.tcp_in++;
    if (len < TCP_HLEN) {
        net.stats.rx_dropped++;
        return;
    }
    if (!csum_ok && csum_fold(csum_add(csum_pseudo(src, dst, IPPROTO_TCP, (u16)len), seg, len))) {
        net.stats.tcp_bad_csum++;
        return;
    }
    u32 hl = (u32)(seg[12] >> 4) * 4;
    if (hl < TCP_HLEN || hl > len) {
        net.stats.rx_dropped++;
        return;
    }
    u16 sport = get16(seg), dport = get16(seg + 2);
    u32 seq = get32(seg + 4), ack = get32(seg + 8);
    u8 flags = seg[13];
    u16 wnd = get16(seg + 14);
    const u8 *data = seg + hl;
    u32 dlen = len - hl;
    u32 seglen = dlen + ((flags & F_SYN) ? 1 : 0) + ((flags & F_FIN) ? 1 : 0);

    struct tcb *t = find(src, dport, sport);
    if (t && t->state == TCP_TIME_WAIT && (flags & F_SYN) && !(flags & (F_ACK | F_RST)) &&
        SEQ_GT(seq, t->rcv_nxt) && !t->app) {
        free_tcb(t);                            /* a new incarnation (RFC 9293 §3.6.1) */
        t = NULL;
    }
    if (!t || t->state == TCP_CLOSED) {
        if (flags & F_RST)
            return;
        int l = find_listener(dport);
        if (!t && l >= 0 && (flags & F_SYN) && !(flags & F_ACK)) {
            passive_open(l, src, dport, sport, seq, seg, hl, wnd);
            return;
        }
        if (flags & F_ACK)
            send_reset(src, dport, sport, ack, 0, F_RST);
        else
            send_reset(src, dport, sport, 0, seq + seglen, F_RST | F_ACK);
        return;
    }

    /* SYN_RECEIVED: a retransmitted SYN means our SYN-ACK was lost. */
    if (t->state == TCP_SYN_RECEIVED && (flags & F_SYN) && !(flags & F_ACK) && seq == t->irs) {
        send_segment(t, t->iss, F_SYN | F_ACK, 0);
        return;
    }

    /* 1. Sequence number acceptable? (RFC 9293 §3.10.7.4) */
    u32 rwnd = SEQ_GT(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
    int ok;
    if (seglen == 0)
        ok = rwnd == 0 ? seq == t->rcv_nxt
                       : SEQ_GEQ(seq, t->rcv_nxt) && SEQ_LT(seq, t->rcv_nxt + rwnd);
    else if (rwnd == 0)
        ok = seq == t->rcv_nxt;                 /* treat as a probe: ACK only */
    else
        ok = (SEQ_GEQ(seq, t->rcv_nxt) && SEQ_LT(seq, t->rcv_nxt + rwnd)) ||
             (SEQ_GEQ(seq + seglen - 1, t->rcv_nxt) && SEQ_LT(seq + seglen - 1, t->rcv_nxt + rwnd));
    if (!ok) {
        if (!(flags & F_RST))
            send_ack(t);
        return;
    }

    /* 2. RST (RFC 5961 §3.2: exact match resets, in-window gets a
     * challenge ACK). */
    if (flags & F_RST) {
        if (seq == t->rcv_nxt)
            drop_conn(t, NET_ECONNRESET);
        else
            send_ack(t);
        return;
    }
    /* 4. SYN in a synchronized state: challenge ACK (RFC 5961 §4). */
    if (flags & F_SYN) {
        send_ack(t);
        return;
    }
    /* 5. ACK */
    if (!(flags & F_ACK))
        return;
    if (t->state == TCP_SYN_RECEIVED) {
        if (!(SEQ_GT(ack, t->snd_una) && SEQ_LEQ(ack, t->snd_max))) {
            send_reset(src, dport, sport, ack, 0, F_RST);
            return;
        }
        t->state = TCP_ESTABLISHED;
        t->snd_wnd = wnd;
        t->max_sndwnd = wnd;
        t->snd_wl1 = seq;
        t->snd_wl2 = ack;
        ack_advance(t, ack);                    /* acknowledges the SYN */
    }
    if (SEQ_GT(ack, t->snd_max)) {              /* acks what we never sent */
        send_ack(t);
        return;
    }
    if (SEQ_GT(ack, t->snd_una)) {
        ack_advance(t, ack);
    } else if (ack == t->snd_una && flight(t) && !dlen && wnd && wnd == t->snd_wnd &&
               !(flags & F_FIN)) {
        /* duplicate ACK (RFC 5681 §2) */
        if (++t->dupacks == 3 && !t->in_recovery) {
            u32 fl = flight(t);
            t->ssthresh = fl / 2 > 2 * t->mss ? fl / 2 : 2 * t->mss;
            t->recover = t->snd_max;
            t->in_recovery = 1;
            u32 n = fl < t->snd_len ? fl : t->snd_len;
            send_segment(t, t->snd_una, F_ACK, n < t->mss ? n : t->mss);
            net.stats.tcp_retransmits++;
            t->cwnd = t->ssthresh + 3 * t->mss;
        } else if (t->in_recovery) {
            t->cwnd += t->mss;                  /* inflate */
        }
    }
    /* window update (RFC 9293 SND.WL1/WL2 rule) */
    if (SEQ_LT(t->snd_wl1, seq) || (t->snd_wl1 == seq && SEQ_LEQ(t->snd_wl2, ack))) {
        t->snd_wnd = wnd;
        t->snd_wl1 = seq;
        t->snd_wl2 = ack;
        if (wnd > t->max_sndwnd)
            t->max_sndwnd = wnd;
        if (wnd && t->persist) {               /* the window opened */
            t->persist = 0;
            t->snd_nxt = t->snd_una;            /* resend a dropped probe */
            t->rto_at = flight(t) ? net.now + t->rto : 0;
        }
    }
    int fin_acked = t->fin_acked;
    switch (t->state) {
    case TCP_FIN_WAIT_1:
        if (fin_acked)
            t->state = TCP_FIN_WAIT_2, t->tw_at = t->app ? 0 : net.now + FIN_WAIT_2_MS;
        break;
    case TCP_CLOSING:
        if (fin_acked)
            enter_time_wait(t);
        break;
    case TCP_LAST_ACK:
        if (fin_acked) {
            t->state = TCP_CLOSED;
            t->rto_at = 0;
            if (!t->app)
                free_tcb(t);
            return;
        }
        break;
    case TCP_TIME_WAIT:
        if (flags & F_FIN)                      /* peer's FIN again: re-ACK */
            send_ack(t), t->tw_at = net.now + TIME_WAIT_MS;
        return;
    default:
        break;
    }

    /* 7. Segment text, in order only. */
    if (dlen && (t->state == TCP_ESTABLISHED || t->state == TCP_FIN_WAIT_1 ||
                 t->state == TCP_FIN_WAIT_2)) {
        if (SEQ_LT(seq, t->rcv_nxt)) {          /* trim what we have */
            u32 skip = t->rcv_nxt - seq;
            if (skip >= dlen) {
                dlen = 0;
            } else {
                data += skip;
                dlen -= skip;
            }
            seq = t->rcv_nxt;
        }
        if (seq != t->rcv_nxt) {                /* a hole before it */
            send_ack(t);
            return;
        }
        if (dlen) {
            u32 took = take_data(t, data, dlen);
            if (took)
                t->ack_pending = 1;
            if (!t->app && t->accepted) {       /* closed by us: discard */
                t->rcv_len = 0;
                t->rcv_head = 0;
            }
            if (took < dlen) {                  /* beyond the window: FIN too */
                flags &= (u8)~F_FIN;
                send_ack(t);
            }
        }
    }
    /* 8. FIN */
    if ((flags & F_FIN) && seq + dlen == t->rcv_nxt && !t->fin_rcvd) {
        t->fin_rcvd = 1;
        t->rcv_nxt++;
        t->ack_pending = 1;
        switch (t->state) {
        case TCP_ESTABLISHED:
            t->state = TCP_CLOSE_WAIT;
            break;
        case TCP_FIN_WAIT_1:
            if (fin_acked)
                enter_time_wait(t);
            else
                t->state = TCP_CLOSING;
            break;
        case TCP_FIN_WAIT_2:
            enter_time_wait(t);
            break;
        default:
            break;
        }
        send_ack(t);
    }
    output(t);
}

/* ---- timers ---- */

static void on_rto(struct tcb *t)
{
    t->rto_at = 0;
    if (t->state == TCP_SYN_RECEIVED) {
        if (++t->retries > MAX_SYN_RETRIES) {
            drop_conn(t, NET_ETIMEDOUT);
            return;
        }
        t->rto = t->rto * 2 > RTO_MAX_MS ? RTO_MAX_MS : t->rto * 2;
        send_segment(t, t->iss, F_SYN | F_ACK, 0);
        set_rto_timer(t);
        return;
    }
    if (!t->snd_wnd && t->snd_len && flight(t) <= 1) {
        /* Persist (RFC 9293 §3.8.6.1): probe the zero window with the next
         * byte, for as long as the peer keeps answering; no retry limit. */
        t->persist = 1;
        send_segment(t, t->snd_una, F_ACK, 1);
        t->snd_nxt = t->snd_una + 1;
        if (SEQ_GT(t->snd_nxt, t->snd_max))
            t->snd_max = t->snd_nxt;
        t->rto = t->rto * 2 > RTO_MAX_MS ? RTO_MAX_MS : t->rto * 2;
        set_rto_timer(t);
        return;
    }
    if (!flight(t))
        return;
    if (++t->retries > MAX_RETRIES) {
        send_segment(t, t->snd_nxt, F_RST | F_ACK, 0);
        drop_conn(t, NET_ETIMEDOUT);
        return;
    }
    /* RFC 5681 §3.1 eq. 4, RFC 6298 §5.5-5.6: back off, go back to snd_una. */
    u32 fl = flight(t);
    t->ssthresh = fl / 2 > 2 * t->mss ? fl / 2 : 2 * t->mss;
    t->cwnd = t->mss;
    t->in_recovery = 0;
    t->dupacks = 0;
    t->rto = t->rto * 2 > RTO_MAX_MS ? RTO_MAX_MS : t->rto * 2;
    t->rtt_start = 0;                           /* Karn */
    t->snd_nxt = t->snd_una;
    set_rto_timer(t);
    output(t);
    if (t->snd_nxt == t->snd_una && t->snd_len == 0 && !t->fin_queued)
        t->rto_at = 0;
}

void tcp_timers(void)
{
    for (int i = 0; i < TCP_MAX_CONNS; i++) {
        struct tcb *t = &conns[i];
        if (t->state == TCP_FREE)
            continue;
        if (t->rto_at && t->rto_at <= net.now)
            on_rto(t);
        if (t->tw_at && t->tw_at <= net.now) {
            t->tw_at = 0;
            if (t->state == TCP_TIME_WAIT || t->state == TCP_FIN_WAIT_2) {
                t->state = TCP_CLOSED;
                t->rto_at = 0;
                if (!t->app)
                    free_tcb(t);
            }
        }
    }
}

u64 tcp_next_timer(void)
{
    u64 best = 0;
    for (int i = 0; i < TCP_MAX_CONNS; i++) {
        struct tcb *t = &conns[i];
        if (t->state == TCP_FREE)
            continue;
        if (t->rto_at && (!best || t->rto_at < best))
            best = t->rto_at;
        if (t->tw_at && (!best || t->tw_at < best))
            best = t->tw_at;
    }
    return best;
}

void net_flush(void)
{
    for (int i = 0; i < TCP_MAX_CONNS; i++) {
        struct tcb *t = &conns[i];
        if (t->state == TCP_FREE || t->state == TCP_CLOSED)
            continue;
        output(t);
        if (t->state == TCP_SYN_RECEIVED || t->state == TCP_TIME_WAIT)
            continue;
        /* Window update once the application has made real room. */
        u32 cur = SEQ_GT(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
        u32 space = rcv_space(t);
        if (space > cur && (space - cur >= 2 * TCP_MSS || space - cur >= TCP_RCVBUF / 2))
            t->ack_pending = 1;
        if (t->ack_pending)
            send_ack(t);
    }
}

/* ---- socket calls ---- */

static struct tcb *conn(int c)
{
    if (c < 0 || c >= TCP_MAX_CONNS || conns[c].state == TCP_FREE || !conns[c].app)
        return NULL;
    return &conns[c];
}

int tcp_listen(u16 port, u32 backlog)
{
    if (find_listener(port) >= 0)
        return -NET_EADDRINUSE;
    for (int i = 0; i < TCP_MAX_LISTENERS; i++)
        if (!listeners[i].used) {
            listeners[i].used = 1;
            listeners[i].port = port;
            listeners[i].backlog = backlog ? backlog : TCP_MAX_CONNS;
            return i;
        }
    return -NET_ENOSPC;
}

int tcp_accept(int l)
{
    if (l < 0 || l >= TCP_MAX_LISTENERS || !listeners[l].used)
        return -NET_EINVAL;
    for (int i = 0; i < TCP_MAX_CONNS; i++) {
        struct tcb *t = &conns[i];
        if (t->state >= TCP_ESTABLISHED && t->state != TCP_TIME_WAIT && t->state != TCP_CLOSED &&
            t->listener == l && !t->accepted) {
            t->accepted = 1;
            t->app = 1;
            net.stats.tcp_accepted++;
            return i;
        }
    }
    return -NET_EAGAIN;
}

int tcp_recv(int c, void *buf, u32 len)
{
    struct tcb *t = conn(c);
    if (!t)
        return -NET_ENOTCONN;
    if (!t->rcv_len) {
        if (t->error)
            return -(int)t->error;
        return t->fin_rcvd ? 0 : -NET_EAGAIN;
    }
    if (len > t->rcv_len)
        len = t->rcv_len;
    u32 first = TCP_RCVBUF - t->rcv_head < len ? TCP_RCVBUF - t->rcv_head : len;
    memcpy(buf, t->rcv + t->rcv_head, first);
    memcpy((u8 *)buf + first, t->rcv, len - first);
    t->rcv_head = (t->rcv_head + len) % TCP_RCVBUF;
    t->rcv_len -= len;
    return (int)len;
}

int tcp_send(int c, const void *buf, u32 len)
{
    struct tcb *t = conn(c);
    if (!t)
        return -NET_ENOTCONN;
    if (t->error)
        return -(int)t->error;
    if (t->fin_queued || (t->state != TCP_ESTABLISHED && t->state != TCP_CLOSE_WAIT))
        return -NET_EPIPE;
    u32 room = TCP_SNDBUF - t->snd_len;
    if (!room)
        return -NET_EAGAIN;
    if (len > room)
        len = room;
    u32 at = (t->snd_head + t->snd_len) % TCP_SNDBUF;
    u32 first = TCP_SNDBUF - at < len ? TCP_SNDBUF - at : len;
    memcpy(t->snd + at, buf, first);
    memcpy(t->snd, (const u8 *)buf + first, len - first);
    t->snd_len += len;
    return (int)len;
}

u32 tcp_send_space(int c)
{
    struct tcb *t = conn(c);
    return t && !t->error && !t->fin_queued ? TCP_SNDBUF - t->snd_len : 0;
}

u32 tcp_recv_avail(int c)
{
    struct tcb *t = conn(c);
    return t ? t->rcv_len : 0;
}

u32 tcp_unacked(int c)
{
    struct tcb *t = conn(c);
    return t ? t->snd_len : 0;
}

int tcp_eof(int c)
{
    struct tcb *t = conn(c);
    return !t || t->error || t->state == TCP_CLOSED || (t->fin_rcvd && !t->rcv_len);
}

void tcp_close(int c)
{
    struct tcb *t = conn(c);
    if (!t)
        return;
    t->app = 0;
    t->rcv_len = 0;                             /* unread data is discarded */
    switch (t->state) {
    case TCP_ESTABLISHED:
        t->state = TCP_FIN_WAIT_1;
        t->fin_queued = 1;
        break;
    case TCP_CLOSE_WAIT:
        t->state = TCP_LAST_ACK;
        t->fin_queued = 1;
        break;
    case TCP_CLOSED:
        free_tcb(t);
        return;
    case TCP_FIN_WAIT_2:
        if (!t->tw_at)
            t->tw_at = net.now + FIN_WAIT_2_MS;
        return;
    default:
        return;
    }
    output(t);
    if (!t->rto_at)
        set_rto_timer(t);
}

void tcp_abort(int c)
{
    struct tcb *t = conn(c);
    if (!t)
        return;
    if (t->state != TCP_CLOSED && t->state != TCP_TIME_WAIT)
        send_segment(t, t->snd_nxt, F_RST | F_ACK, 0);
    free_tcb(t);
}

int tcp_peer(int c, u32 *ip, u16 *port)
{
    struct tcb *t = conn(c);
    if (!t)
        return -NET_ENOTCONN;
    *ip = t->rip;
    *port = t->rport;
    return 0;
}

u32 tcp_active(void)
{
    u32 n = 0;
    for (int i = 0; i < TCP_MAX_CONNS; i++)
        n += conns[i].state != TCP_FREE;
    return n;
}
