/*
 * blkfront (see blkfront.h). Handshake as Linux blkfront: wait for the
 * back end's InitWait, publish ring-ref, event-channel and protocol
 * ("x86_32-abi") with state Initialised in one transaction, wait for
 * Connected, read sectors / info / sector-size / feature-flush-cache /
 * feature-barrier from the back end, then switch to Connected.
 *
 * Request ids are the index of a shadow slot that remembers which bounce
 * pages a request uses and where its data belongs in the caller's buffer.
 */
#include <kit/kit.h>
#include <kit/xenstore.h>
#include <kit/xenbus.h>
#include <kit/gnttab.h>
#include <kit/blkif.h>
#include <kit/blkfront.h>

#define SECT 512u
#define SECTS_PER_PAGE (PAGE_SIZE / SECT)
#define MAX_SEGS BLKIF_MAX_SEGMENTS_PER_REQUEST

static char ring_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static char bounce[BLK_BOUNCE_PAGES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static grant_ref_t bounce_ref[BLK_BOUNCE_PAGES];
static u8 bounce_busy[BLK_BOUNCE_PAGES];
static u32 bounce_free;

static volatile struct blkif_sring *sring;
static u32 req_prod_pvt, rsp_cons;
static grant_ref_t ring_ref;
static int port = -1;
static struct xenbus_dev dev;
static struct blk_info info;
static int connected;
static u32 nr_errors;

static struct shadow {
    int used;
    u8 op;
    u8 nr;                   /* pages */
    u8 page[MAX_SEGS];       /* bounce page indexes */
    char *dst;               /* read: where the data goes */
    u32 bytes;
    s16 status;
    int done;
} shadow[BLK_RING_SIZE];

const struct blk_info *blk_info(void) { return &info; }
u32 blk_errors(void) { return nr_errors; }

static int grant_pages(void)
{
    int r = gnttab_grant_access(dev.backend_id, virt_to_mfn(ring_page), 0);
    if (r < 0)
        return r;
    ring_ref = (grant_ref_t)r;
    for (u32 i = 0; i < BLK_BOUNCE_PAGES; i++) {
        r = gnttab_grant_access(dev.backend_id, virt_to_mfn(bounce[i]), 0);
        if (r < 0)
            return r;
        bounce_ref[i] = (grant_ref_t)r;
        bounce_busy[i] = 0;
    }
    bounce_free = BLK_BOUNCE_PAGES;
    return 0;
}

static void revoke_pages(void)
{
    gnttab_end_access(ring_ref);
    for (u32 i = 0; i < BLK_BOUNCE_PAGES; i++)
        gnttab_end_access(bounce_ref[i]);
}

static int read_backend_info(void)
{
    u64 v;
    int rc = xenbus_read_u64(XBT_NIL, dev.backend, "sectors", &v);
    if (rc < 0)
        return rc;
    info.sectors = v;
    info.info = xenbus_read_u64(XBT_NIL, dev.backend, "info", &v) < 0 ? 0 : (u32)v;
    info.sector_size = xenbus_read_u64(XBT_NIL, dev.backend, "sector-size", &v) < 0 ? SECT : (u32)v;
    if (info.sector_size < SECT || info.sector_size > PAGE_SIZE || info.sector_size % SECT)
        return -22;
    char mode[8];
    info.readonly = (info.info & VDISK_READONLY) ||
        (xenbus_read_str(XBT_NIL, dev.backend, "mode", mode, sizeof(mode)) > 0 && mode[0] == 'r' && !mode[1]);
    info.flush_op = -1;
    if (xenbus_read_u64(XBT_NIL, dev.backend, "feature-flush-cache", &v) == 0 && v)
        info.flush_op = BLKIF_OP_FLUSH_DISKCACHE;
    else if (xenbus_read_u64(XBT_NIL, dev.backend, "feature-barrier", &v) == 0 && v)
        info.flush_op = BLKIF_OP_WRITE_BARRIER;
    return 0;
}

static int blk_connect(void)
{
    sring = (volatile struct blkif_sring *)ring_page;
    memset(ring_page, 0, PAGE_SIZE);
    ring_init_shared(&sring->h);
    req_prod_pvt = rsp_cons = 0;
    memset(shadow, 0, sizeof(shadow));

    int rc = grant_pages();
    if (rc < 0)
        return rc;
    rc = evtchn_alloc_unbound(dev.backend_id, NULL, NULL);
    if (rc < 0)
        return rc;
    port = rc;

    struct xenbus_kv kv[3] = { { "ring-ref", "" }, { "event-channel", "" }, { "protocol", "" } };
    snprintf(kv[0].value, sizeof(kv[0].value), "%u", ring_ref);
    snprintf(kv[1].value, sizeof(kv[1].value), "%d", port);
    strlcpy(kv[2].value, XEN_IO_PROTO_ABI_X86_32, sizeof(kv[2].value));
    rc = xenbus_connect(&dev, kv, 3);
    if (rc < 0)
        return rc;
    rc = read_backend_info();
    if (rc < 0)
        return rc;
    rc = xenbus_switch_state(&dev, XBT_NIL, XenbusStateConnected);
    if (rc < 0)
        return rc;
    connected = 1;
    return 0;
}

static void blk_post_suspend(int cancelled)
{
    if (cancelled || !info.node[0])
        return;                 /* same domain: ring, grants, port all stand */
    /* A new domain: the grant table and event channels are new, and the
     * toolstack made a new back end for us. Connect again. */
    connected = 0;
    port = -1;
    char id[16];
    const char *slash = strchr(info.node + 7, '/');
    strlcpy(id, slash ? slash + 1 : "", sizeof(id));
    int rc = xenbus_dev_init(&dev, "vbd", id);
    if (rc == 0)
        rc = blk_connect();
    if (rc < 0)
        printf("blkfront: reconnect after resume failed (%d)\n", rc);
}

int blkfront_init(const char *id)
{
    gnttab_setup();
    int rc = xenbus_dev_init(&dev, "vbd", id);
    if (rc < 0)
        return rc;
    memset(&info, 0, sizeof(info));
    strlcpy(info.node, dev.node, sizeof(info.node));
    strlcpy(info.backend, dev.backend, sizeof(info.backend));
    info.handle = (u16)strtoull(strchr(dev.node + 7, '/') + 1, NULL);
    rc = blk_connect();
    if (rc < 0)
        return rc;
    static int hooked;
    if (!hooked) {
        kit_on_suspend(NULL, blk_post_suspend);
        hooked = 1;
    }
    return 0;
}

/* ---- requests ---- */

static int take_page(void)
{
    for (u32 i = 0; i < BLK_BOUNCE_PAGES; i++)
        if (!bounce_busy[i]) {
            bounce_busy[i] = 1;
            bounce_free--;
            return (int)i;
        }
    return -1;
}

static int ring_full(void)
{
    return req_prod_pvt - rsp_cons >= BLK_RING_SIZE;
}

static int free_slot(void)
{
    for (u32 i = 0; i < BLK_RING_SIZE; i++)
        if (!shadow[i].used)
            return (int)i;
    return -1;
}

static void kick(void)
{
    if (ring_push_requests(&sring->h, req_prod_pvt))
        evtchn_send((evtchn_port_t)port);
}

/* Consumes responses; returns how many. */
static u32 reap(void)
{
    u32 n = 0;
    for (;;) {
        u32 prod = READ_ONCE(sring->h.rsp_prod);
        rmb();                                  /* index before entries */
        while (rsp_cons != prod) {
            volatile struct blkif_response *r = &sring->ring[rsp_cons % BLK_RING_SIZE].rsp;
            u64 id = r->id;
            s16 status = r->status;
            rsp_cons++;
            n++;
            if (id >= BLK_RING_SIZE || !shadow[id].used || shadow[id].done)
                continue;                       /* not ours: ignore */
            struct shadow *s = &shadow[id];
            s->status = status;
            s->done = 1;
        }
        if (!ring_final_check_responses(&sring->h, rsp_cons))
            return n;
    }
}

static int has_responses(void)
{
    return ring_unconsumed_responses(&sring->h, rsp_cons) != 0;
}

/* Finishes a completed request: copies read data out, frees its pages. */
static int retire(struct shadow *s)
{
    int rc = 0;
    if (s->status != BLKIF_RSP_OKAY) {
        nr_errors++;
        rc = s->status == BLKIF_RSP_EOPNOTSUPP ? -95 : -5;
    } else if (s->op == BLKIF_OP_READ) {
        u32 left = s->bytes;
        for (u32 i = 0; i < s->nr; i++) {
            u32 k = left < PAGE_SIZE ? left : PAGE_SIZE;
            memcpy(s->dst + i * PAGE_SIZE, bounce[s->page[i]], k);
            left -= k;
        }
    }
    for (u32 i = 0; i < s->nr; i++) {
        bounce_busy[s->page[i]] = 0;
        bounce_free++;
    }
    s->used = 0;
    return rc;
}

static int check_range(u64 sector, u32 n)
{
    if (!connected)
        return -19;                             /* ENODEV */
    u32 spu = info.sector_size / SECT;
    if (sector % spu || n % spu)
        return -22;
    if (sector > info.sectors || n > info.sectors - sector)
        return -22;
    return 0;
}

static int blk_rw(u8 op, u64 sector, char *buf, u32 n)
{
    int rc = check_range(sector, n);
    if (rc < 0)
        return rc;
    if (op == BLKIF_OP_WRITE && info.readonly)
        return -30;                             /* EROFS */
    u32 inflight = 0;
    int err = 0;
    u32 done_sects = 0;
    while (done_sects < n || inflight) {
        /* Issue as much as the ring and the bounce pages allow. */
        while (done_sects < n && !ring_full() && bounce_free >= 1) {
            int slot = free_slot();
            if (slot < 0)
                break;
            u32 chunk = n - done_sects;
            u32 pages = (chunk + SECTS_PER_PAGE - 1) / SECTS_PER_PAGE;
            if (pages > MAX_SEGS)
                pages = MAX_SEGS;
            if (pages > bounce_free)
                pages = bounce_free;
            if (chunk > pages * SECTS_PER_PAGE)
                chunk = pages * SECTS_PER_PAGE;
            struct shadow *s = &shadow[slot];
            memset(s, 0, sizeof(*s));
            s->used = 1;
            s->op = op;
            s->nr = (u8)pages;
            s->dst = buf + (u32)done_sects * SECT;
            s->bytes = chunk * SECT;
            volatile struct blkif_request *r = &sring->ring[req_prod_pvt % BLK_RING_SIZE].req;
            r->operation = op;
            r->nr_segments = (u8)pages;
            r->handle = info.handle;
            r->id = (u64)slot;
            r->sector_number = sector + done_sects;
            u32 left = chunk;
            for (u32 i = 0; i < pages; i++) {
                int p = take_page();
                s->page[i] = (u8)p;
                u32 k = left < SECTS_PER_PAGE ? left : SECTS_PER_PAGE;
                if (op == BLKIF_OP_WRITE)
                    memcpy(bounce[p], s->dst + i * PAGE_SIZE, k * SECT);
                r->seg[i].gref = bounce_ref[p];
                r->seg[i].first_sect = 0;
                r->seg[i].last_sect = (u8)(k - 1);
                left -= k;
            }
            req_prod_pvt++;
            inflight++;
            done_sects += chunk;
        }
        kick();
        if (!inflight)
            break;                              /* cannot happen: all free */
        /* Wait for at least one answer, then retire all that are done. */
        WAIT_UNTIL(has_responses(), 0);
        reap();
        for (u32 i = 0; i < BLK_RING_SIZE; i++)
            if (shadow[i].used && shadow[i].done) {
                int r = retire(&shadow[i]);
                if (r < 0 && !err)
                    err = r;
                inflight--;
            }
    }
    return err;
}

int blk_read(u64 sector, void *buf, u32 n)
{
    return blk_rw(BLKIF_OP_READ, sector, buf, n);
}

int blk_write(u64 sector, const void *buf, u32 n)
{
    return blk_rw(BLKIF_OP_WRITE, sector, (char *)buf, n);
}

int blk_flush(void)
{
    if (!connected)
        return -19;
    if (info.flush_op < 0)
        return 0;
    if (info.readonly)
        return 0;
    int slot = free_slot();
    struct shadow *s = &shadow[slot];
    memset(s, 0, sizeof(*s));
    s->used = 1;
    s->op = (u8)info.flush_op;
    volatile struct blkif_request *r = &sring->ring[req_prod_pvt % BLK_RING_SIZE].req;
    r->operation = (u8)info.flush_op;
    r->nr_segments = 0;
    r->handle = info.handle;
    r->id = (u64)slot;
    r->sector_number = 0;
    req_prod_pvt++;
    kick();
    while (!s->done) {
        WAIT_UNTIL(has_responses(), 0);
        reap();
    }
    return retire(s);
}

void blkfront_shutdown(void)
{
    if (!connected)
        return;
    connected = 0;
    xenbus_disconnect(&dev);
    revoke_pages();
    evtchn_close((evtchn_port_t)port);
    port = -1;
}
