/* netfront + the stack (see netdev.h). */
#include <kit/kit.h>
#include <kit/xenstore.h>
#include <kit/xenbus.h>
#include <kit/netfront.h>
#include <kit/netif.h>
#include <kit/netdev.h>

#define NET_DEFAULT_GW 0x0A000001u      /* 10.0.0.1 */
#define NET_DEFAULT_MASK 0xFF000000u    /* /8 */
#define ANNOUNCES 3

static u32 cfg_ip, cfg_mask, cfg_gw;
static u32 announces_left;
static u64 next_announce;

u32 net_netmask(void) { return cfg_mask; }
u32 net_gateway(void) { return cfg_gw; }

static int send_frame(const void *frame, u32 len)
{
    return netfront_send(frame, len);
}

static void deliver(const u8 *frame, u32 len, u32 flags, void *arg)
{
    (void)arg;
    net_input(frame, len, (flags & (NETRXF_data_validated | NETRXF_csum_blank)) != 0);
}

static void read_config(void)
{
    const u8 *mac = netfront_mac();
    char v[48];
    cfg_mask = NET_DEFAULT_MASK;
    cfg_gw = NET_DEFAULT_GW;
    cfg_ip = 0x0A000000u | ((u32)mac[3] << 16) | ((u32)mac[4] << 8) | mac[5];
    if (xenbus_read_str(XBT_NIL, netfront_node(), "ip", v, sizeof(v)) > 0) {
        u32 ip;
        if (ip_parse(v, &ip) == 0) {
            cfg_ip = ip;
            const char *slash = strchr(v, '/');
            if (slash) {
                u64 len = strtoull(slash + 1, NULL);
                if (len >= 1 && len <= 32)
                    cfg_mask = len == 32 ? ~0u : ~((1u << (32 - len)) - 1);
            }
        }
    }
    if (xenbus_read_str(XBT_NIL, netfront_node(), "netmask", v, sizeof(v)) > 0) {
        u32 mask;
        if (ip_parse(v, &mask) == 0 && mask && !(~mask & (~mask + 1)))
            cfg_mask = mask;                    /* contiguous ones only */
    }
    if (xenbus_read_str(XBT_NIL, netfront_node(), "gateway", v, sizeof(v)) > 0) {
        u32 gw;
        if (ip_parse(v, &gw) == 0)
            cfg_gw = gw;
    }
}

static void start_announcing(void)
{
    arp_announce();
    announces_left = ANNOUNCES - 1;
    next_announce = net_time() + 1000;
}

static void resumed(void)
{
    u32 old = cfg_ip;
    read_config();
    net_set_time(now_ns() / NSEC_PER_MSEC);
    if (cfg_ip != old)
        printf("net: address changed after resume; keeping the stack's\n");
    start_announcing();
}

int net_start(void)
{
    int rc = netfront_init(NULL);
    if (rc < 0)
        return rc;
    read_config();
    net_set_time(now_ns() / NSEC_PER_MSEC);
    net_init(netfront_mac(), cfg_ip, cfg_mask, cfg_gw, send_frame, (u32)rdtsc() ^ (u32)now_ns());
    netfront_set_resume_hook(resumed);
    start_announcing();
    return 0;
}

void net_poll(void)
{
    net_set_time(now_ns() / NSEC_PER_MSEC);
    while (netfront_poll(deliver, NULL, 64))
        net_set_time(now_ns() / NSEC_PER_MSEC);
    if (announces_left && net_time() >= next_announce) {
        arp_announce();
        announces_left--;
        next_announce = net_time() + 1000;
    }
    u64 t = net_next_timer();
    if (t && t <= net_time())
        net_timers();
}

void net_wait(u64 deadline)
{
    u64 t = net_next_timer();
    if (announces_left && (!t || next_announce < t))
        t = next_announce;
    if (t) {
        u64 ns = t * NSEC_PER_MSEC;
        if (!deadline || ns < deadline)
            deadline = ns;
    }
    if (deadline && deadline <= now_ns())
        return;
    WAIT_UNTIL(netfront_has_work() || xs_event_pending(), deadline);
}
