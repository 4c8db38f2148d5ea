/*
 * netfront: a network device front end (io/netif.h; xen-abi.md §8).
 *
 * Separate tx and rx rings (256 entries each), one event channel for
 * both. Keys published: tx-ring-ref, rx-ring-ref, event-channel,
 * request-rx-copy = 1 (the back end copies into our pages with grant
 * copy), feature-rx-notify = 1 (we notify when we post rx buffers),
 * feature-no-csum-offload = 1 (we want complete checksums), feature-sg = 0,
 * feature-gso-tcpv4 = 0. The rx ring is kept full: 256 pages granted
 * writable to the back end, request id = slot = page index. Tx frames are
 * copied into one of 256 half-page buffers (128 pages granted read-only),
 * so a frame may be up to 2048 bytes; tx id = buffer index.
 */
#ifndef KIT_NETFRONT_H
#define KIT_NETFRONT_H
#include <kit/xen.h>

#define NETFRONT_TX_BUFS 256
#define NETFRONT_RX_BUFS 256

struct netfront_stats {
    u32 rx_frames, rx_errors, rx_dropped, tx_frames, tx_errors, tx_busy;
    u64 rx_bytes, tx_bytes;
};

/* rx callback: the frame stays valid only during the call. flags are the
 * NETRXF_* of the response (data_validated / csum_blank). */
typedef void (*netfront_rx_fn)(const u8 *frame, u32 len, u32 flags, void *arg);

/* Connects to device/vif/<id> (NULL: the first vif). 0 or -errno. */
int netfront_init(const char *id);
/* MAC from the front end's "mac" node (00:16:3e:..). */
const u8 *netfront_mac(void);
const char *netfront_node(void);
/* Delivers up to budget received frames (0 = all), reclaims finished tx
 * buffers, reposts rx buffers. Returns the frames delivered. */
u32 netfront_poll(netfront_rx_fn fn, void *arg, u32 budget);
/* Queues one frame: 0, -EAGAIN (-11) when every tx buffer is in flight,
 * -EMSGSIZE (-90) if longer than 2048 bytes, -ENODEV when disconnected. */
int netfront_send(const void *frame, u32 len);
/* Nonzero when rx or tx responses wait (and, when there are none, asks the
 * back end for an event on the next one). For WAIT_UNTIL, events masked. */
int netfront_has_work(void);
const struct netfront_stats *netfront_get_stats(void);
/* Called after a resume in a new domain has reconnected the rings. */
void netfront_set_resume_hook(void (*fn)(void));
void netfront_shutdown(void);

#endif
