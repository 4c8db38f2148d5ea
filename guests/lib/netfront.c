/*
 * netfront (see netfront.h). Handshake as Linux netfront's talk_to_netback
 * (keys, then state), with the XenbusState sequence of xenbus.h.
 */
#include <kit/kit.h>
#include <kit/xenstore.h>
#include <kit/xenbus.h>
#include <kit/gnttab.h>
#include <kit/netif.h>
#include <kit/netfront.h>

#define TX_BUF_SIZE 2048
#define TX_PAGES (NETFRONT_TX_BUFS * TX_BUF_SIZE / PAGE_SIZE)

static char tx_ring_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static char rx_ring_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static char tx_pages[TX_PAGES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static char rx_pages[NETFRONT_RX_BUFS][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static grant_ref_t tx_page_ref[TX_PAGES], rx_page_ref[NETFRONT_RX_BUFS];
static grant_ref_t tx_ring_ref, rx_ring_ref;

static volatile struct netif_tx_sring *txs;
static volatile struct netif_rx_sring *rxs;
static u32 tx_prod_pvt, tx_cons, rx_prod_pvt, rx_cons;
static u16 tx_free[NETFRONT_TX_BUFS];
static u32 tx_nfree;
static u8 tx_busy[NETFRONT_TX_BUFS];

static int port = -1;
static int connected;
static struct xenbus_dev dev;
static u8 mac[6];
static struct netfront_stats stats;
static void (*resume_hook)(void);

const u8 *netfront_mac(void) { return mac; }
const char *netfront_node(void) { return dev.node; }
const struct netfront_stats *netfront_get_stats(void) { return &stats; }
void netfront_set_resume_hook(void (*fn)(void)) { resume_hook = fn; }

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int parse_mac(const char *s, u8 *out)
{
    for (int i = 0; i < 6; i++) {
        int hi = hexval(s[0]), lo = hexval(s[1]);
        if (hi < 0 || lo < 0 || (i < 5 && s[2] != ':') || (i == 5 && s[2]))
            return -22;
        out[i] = (u8)(hi * 16 + lo);
        s += 3;
    }
    return 0;
}

static void post_rx(void)
{
    /* Keep every rx slot posted: slot i always carries page i. */
    while (rx_prod_pvt - rx_cons < NET_RX_RING_SIZE) {
        u32 i = rx_prod_pvt % NET_RX_RING_SIZE;
        volatile struct netif_rx_request *r = &rxs->ring[i].req;
        r->id = (u16)i;
        r->pad = 0;
        r->gref = rx_page_ref[i];
        rx_prod_pvt++;
    }
    if (ring_push_requests(&rxs->h, rx_prod_pvt))
        evtchn_send((evtchn_port_t)port);
}

static int grant_all(void)
{
    domid_t b = dev.backend_id;
    int r;
    if ((r = gnttab_grant_access(b, virt_to_mfn(tx_ring_page), 0)) < 0)
        return r;
    tx_ring_ref = (grant_ref_t)r;
    if ((r = gnttab_grant_access(b, virt_to_mfn(rx_ring_page), 0)) < 0)
        return r;
    rx_ring_ref = (grant_ref_t)r;
    for (u32 i = 0; i < TX_PAGES; i++) {
        if ((r = gnttab_grant_access(b, virt_to_mfn(tx_pages[i]), 1)) < 0)
            return r;
        tx_page_ref[i] = (grant_ref_t)r;
    }
    for (u32 i = 0; i < NETFRONT_RX_BUFS; i++) {
        if ((r = gnttab_grant_access(b, virt_to_mfn(rx_pages[i]), 0)) < 0)
            return r;
        rx_page_ref[i] = (grant_ref_t)r;
    }
    return 0;
}

static int net_connect(void)
{
    memset(tx_ring_page, 0, PAGE_SIZE);
    memset(rx_ring_page, 0, PAGE_SIZE);
    txs = (volatile struct netif_tx_sring *)tx_ring_page;
    rxs = (volatile struct netif_rx_sring *)rx_ring_page;
    ring_init_shared(&txs->h);
    ring_init_shared(&rxs->h);
    tx_prod_pvt = tx_cons = rx_prod_pvt = rx_cons = 0;
    tx_nfree = 0;
    for (int i = NETFRONT_TX_BUFS - 1; i >= 0; i--) {
        tx_free[tx_nfree++] = (u16)i;
        tx_busy[i] = 0;
    }
    int rc = grant_all();
    if (rc < 0)
        return rc;
    rc = evtchn_alloc_unbound(dev.backend_id, NULL, NULL);
    if (rc < 0)
        return rc;
    port = rc;

    struct xenbus_kv kv[] = {
        { "tx-ring-ref", "" }, { "rx-ring-ref", "" }, { "event-channel", "" },
        { "request-rx-copy", "1" }, { "feature-rx-notify", "1" },
        { "feature-no-csum-offload", "1" }, { "feature-sg", "0" },
        { "feature-gso-tcpv4", "0" },
    };
    snprintf(kv[0].value, sizeof(kv[0].value), "%u", tx_ring_ref);
    snprintf(kv[1].value, sizeof(kv[1].value), "%u", rx_ring_ref);
    snprintf(kv[2].value, sizeof(kv[2].value), "%d", port);
    rc = xenbus_connect(&dev, kv, sizeof(kv) / sizeof(kv[0]));
    if (rc < 0)
        return rc;
    connected = 1;
    post_rx();
    return xenbus_switch_state(&dev, XBT_NIL, XenbusStateConnected);
}

static void net_post_suspend(int cancelled)
{
    if (cancelled)
        return;
    connected = 0;
    port = -1;
    char id[16];
    const char *slash = strchr(dev.node + 7, '/');
    strlcpy(id, slash ? slash + 1 : "0", sizeof(id));
    int rc = xenbus_dev_init(&dev, "vif", id);
    if (rc == 0)
        rc = net_connect();
    if (rc < 0) {
        printf("netfront: reconnect after resume failed (%d)\n", rc);
        return;
    }
    if (resume_hook)
        resume_hook();
}

int netfront_init(const char *id)
{
    gnttab_setup();
    int rc = xenbus_dev_init(&dev, "vif", id);
    if (rc < 0)
        return rc;
    char m[32];
    rc = xenbus_read_str(XBT_NIL, dev.node, "mac", m, sizeof(m));
    if (rc < 0)
        rc = xenbus_read_str(XBT_NIL, dev.backend, "mac", m, sizeof(m));
    if (rc < 0 || parse_mac(m, mac) < 0)
        return rc < 0 ? rc : -22;
    rc = net_connect();
    if (rc < 0)
        return rc;
    static int hooked;
    if (!hooked) {
        kit_on_suspend(NULL, net_post_suspend);
        hooked = 1;
    }
    return 0;
}

static void reclaim_tx(void)
{
    for (;;) {
        u32 prod = READ_ONCE(txs->h.rsp_prod);
        rmb();
        while (tx_cons != prod) {
            volatile struct netif_tx_response *r = &txs->ring[tx_cons % NET_TX_RING_SIZE].rsp;
            u16 id = r->id;
            s16 status = r->status;
            tx_cons++;
            if (status == NETIF_RSP_NULL)
                continue;
            if (status != NETIF_RSP_OKAY)
                stats.tx_errors++;
            if (id < NETFRONT_TX_BUFS && tx_busy[id]) {
                tx_busy[id] = 0;
                tx_free[tx_nfree++] = id;
            }
        }
        if (!ring_final_check_responses(&txs->h, tx_cons))
            return;
    }
}

int netfront_send(const void *frame, u32 len)
{
    if (!connected)
        return -19;
    if (len > TX_BUF_SIZE)
        return -90;
    if (!tx_nfree)
        reclaim_tx();
    if (!tx_nfree || tx_prod_pvt - tx_cons >= NET_TX_RING_SIZE) {
        stats.tx_busy++;
        return -11;
    }
    u16 id = tx_free[--tx_nfree];
    tx_busy[id] = 1;
    u32 page = id / 2, off = (id % 2) * TX_BUF_SIZE;
    memcpy(tx_pages[page] + off, frame, len);
    volatile struct netif_tx_request *r = &txs->ring[tx_prod_pvt % NET_TX_RING_SIZE].req;
    r->gref = tx_page_ref[page];
    r->offset = (u16)off;
    r->flags = 0;
    r->id = id;
    r->size = (u16)len;
    tx_prod_pvt++;
    if (ring_push_requests(&txs->h, tx_prod_pvt))
        evtchn_send((evtchn_port_t)port);
    stats.tx_frames++;
    stats.tx_bytes += len;
    return 0;
}

u32 netfront_poll(netfront_rx_fn fn, void *arg, u32 budget)
{
    if (!connected)
        return 0;
    u32 n = 0;
    for (;;) {
        u32 prod = READ_ONCE(rxs->h.rsp_prod);
        rmb();
        while (rx_cons != prod && (!budget || n < budget)) {
            u32 slot = rx_cons % NET_RX_RING_SIZE;
            volatile struct netif_rx_response *r = &rxs->ring[slot].rsp;
            u16 flags = r->flags, off = r->offset, id = r->id;
            u32 page = id < NETFRONT_RX_BUFS ? id : slot;   /* id = page index */
            s16 status = r->status;
            rx_cons++;
            if (flags & (NETRXF_more_data | NETRXF_extra_info)) {
                /* We offered neither scatter-gather nor GSO: skip the
                 * whole packet, its extra-info slots (flag MORE in byte 1
                 * chains them) and its continuation slots. */
                stats.rx_dropped++;
                if (flags & NETRXF_extra_info) {
                    u8 more;
                    do {
                        if (rx_cons == prod)
                            break;
                        more = ((volatile u8 *)&rxs->ring[rx_cons % NET_RX_RING_SIZE])[1];
                        rx_cons++;
                    } while (more & XEN_NETIF_EXTRA_FLAG_MORE);
                }
                while ((flags & NETRXF_more_data) && rx_cons != prod) {
                    flags = rxs->ring[rx_cons % NET_RX_RING_SIZE].rsp.flags;
                    rx_cons++;
                }
                continue;
            }
            if (status < 0) {
                stats.rx_errors++;
                continue;
            }
            if ((u32)off + (u32)status > PAGE_SIZE) {
                stats.rx_errors++;
                continue;
            }
            stats.rx_frames++;
            stats.rx_bytes += (u32)status;
            n++;
            if (fn)
                fn((const u8 *)rx_pages[page] + off, (u32)status, flags, arg);
        }
        post_rx();
        if (budget && n >= budget)
            break;
        if (!ring_final_check_responses(&rxs->h, rx_cons))
            break;
    }
    reclaim_tx();
    return n;
}

int netfront_has_work(void)
{
    if (!connected)
        return 0;
    int rx = ring_final_check_responses(&rxs->h, rx_cons);
    int tx = tx_nfree < NETFRONT_TX_BUFS / 2 && ring_final_check_responses(&txs->h, tx_cons);
    return rx || tx;
}

void netfront_shutdown(void)
{
    if (!connected)
        return;
    connected = 0;
    xenbus_disconnect(&dev);
    gnttab_end_access(tx_ring_ref);
    gnttab_end_access(rx_ring_ref);
    for (u32 i = 0; i < TX_PAGES; i++)
        gnttab_end_access(tx_page_ref[i]);
    for (u32 i = 0; i < NETFRONT_RX_BUFS; i++)
        gnttab_end_access(rx_page_ref[i]);
    evtchn_close((evtchn_port_t)port);
    port = -1;
}
