/*
 * Network device ring ABI (io/netif.h; xen-abi.md §8), i386 layouts.
 * Separate tx and rx rings, one page each, 256 entries each. Linux
 * netfront assumes an rx response sits in the slot of its request, so
 * backends answer in order; this front end uses rx id = slot index too.
 */
#ifndef KIT_NETIF_H
#define KIT_NETIF_H
#include <kit/ring.h>

#define NETTXF_csum_blank (1u << 0)
#define NETTXF_data_validated (1u << 1)
#define NETTXF_more_data (1u << 2)
#define NETTXF_extra_info (1u << 3)
#define NETRXF_data_validated (1u << 0)
#define NETRXF_csum_blank (1u << 1)
#define NETRXF_more_data (1u << 2)
#define NETRXF_extra_info (1u << 3)
#define NETRXF_gso_prefix (1u << 4)
#define XEN_NETIF_EXTRA_FLAG_MORE (1u << 0)
#define NETIF_RSP_DROPPED -2
#define NETIF_RSP_ERROR -1
#define NETIF_RSP_OKAY 0
#define NETIF_RSP_NULL 1

struct netif_tx_request {
    grant_ref_t gref;
    u16 offset;              /* @4: offset of the frame in the page */
    u16 flags;               /* @6: NETTXF_* */
    u16 id;                  /* @8: echoed in the response */
    u16 size;                /* @10: frame length */
};
KIT_ASSERT_OFF(struct netif_tx_request, offset, 4);
KIT_ASSERT_OFF(struct netif_tx_request, flags, 6);
KIT_ASSERT_OFF(struct netif_tx_request, id, 8);
KIT_ASSERT_OFF(struct netif_tx_request, size, 10);
KIT_ASSERT_SIZE(struct netif_tx_request, 12);

struct netif_tx_response {
    u16 id;
    s16 status;              /* NETIF_RSP_* */
};
KIT_ASSERT_SIZE(struct netif_tx_response, 4);

struct netif_rx_request {
    u16 id;
    u16 pad;
    grant_ref_t gref;        /* @4: page the back end copies into */
};
KIT_ASSERT_OFF(struct netif_rx_request, gref, 4);
KIT_ASSERT_SIZE(struct netif_rx_request, 8);

struct netif_rx_response {
    u16 id;
    u16 offset;              /* @2: where the frame starts in the page */
    u16 flags;               /* @4: NETRXF_* */
    s16 status;              /* @6: length if >= 0, else NETIF_RSP_* */
};
KIT_ASSERT_OFF(struct netif_rx_response, offset, 2);
KIT_ASSERT_OFF(struct netif_rx_response, flags, 4);
KIT_ASSERT_OFF(struct netif_rx_response, status, 6);
KIT_ASSERT_SIZE(struct netif_rx_response, 8);

union netif_tx_sring_entry { struct netif_tx_request req; struct netif_tx_response rsp; };
union netif_rx_sring_entry { struct netif_rx_request req; struct netif_rx_response rsp; };
#define NET_TX_RING_SIZE RING_ENTRIES(sizeof(union netif_tx_sring_entry))
#define NET_RX_RING_SIZE RING_ENTRIES(sizeof(union netif_rx_sring_entry))
_Static_assert(NET_TX_RING_SIZE == 256, "netif tx ring holds 256 entries");
_Static_assert(NET_RX_RING_SIZE == 256, "netif rx ring holds 256 entries");
struct netif_tx_sring {
    struct ring_hdr h;
    union netif_tx_sring_entry ring[NET_TX_RING_SIZE];
};
struct netif_rx_sring {
    struct ring_hdr h;
    union netif_rx_sring_entry ring[NET_RX_RING_SIZE];
};
KIT_ASSERT_OFF(struct netif_tx_sring, ring, 64);
_Static_assert(sizeof(struct netif_tx_sring) <= 4096, "tx ring fits a page");
_Static_assert(sizeof(struct netif_rx_sring) <= 4096, "rx ring fits a page");

#endif
