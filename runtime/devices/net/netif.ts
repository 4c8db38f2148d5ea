/**
 * The netif ABI (xen/include/public/io/netif.h, io/ring.h, io/xenbus.h; xen-abi.md §6, §8):
 * shared-ring layout, request/response layouts as gcc -m32 lays them out, flags and status
 * codes, and the XenbusState values of the handshake. Numbers only — no behaviour.
 */

export const PAGE_SIZE = 4096;

/** struct <name>_sring header (io/ring.h): the ring array starts at 64. */
export const RING = {
  REQ_PROD: 0,
  REQ_EVENT: 4,
  RSP_PROD: 8,
  RSP_EVENT: 12,
  ENTRIES: 64,
} as const;

/**
 * __RING_SIZE: (4096 − 64) / sizeof(union of request and response), rounded down to a power
 * of two. tx: union of 12-byte request and 4-byte response → 336 → 256; rx: 8 and 8 → 504 → 256.
 */
export const NET_TX_RING_SIZE = 256;
export const NET_RX_RING_SIZE = 256;
/** Slot sizes (the union's size). */
export const TX_SLOT = 12;
export const RX_SLOT = 8;

/** struct netif_tx_request (12 B). */
export const TXREQ = { GREF: 0, OFFSET: 4, FLAGS: 6, ID: 8, SIZE: 10 } as const;
/** struct netif_tx_response (4 B used of the slot). */
export const TXRSP = { ID: 0, STATUS: 2 } as const;
/** struct netif_rx_request (8 B). */
export const RXREQ = { ID: 0, GREF: 4 } as const;
/** struct netif_rx_response (8 B). */
export const RXRSP = { ID: 0, OFFSET: 2, FLAGS: 4, STATUS: 6 } as const;
/** struct netif_extra_info: u8 type, u8 flags, then 6 bytes of type-specific data. */
export const EXTRA = { TYPE: 0, FLAGS: 1 } as const;

export const NETTXF_csum_blank = 1;
export const NETTXF_data_validated = 2;
export const NETTXF_more_data = 4;
export const NETTXF_extra_info = 8;

export const NETRXF_data_validated = 1;
export const NETRXF_csum_blank = 2;
export const NETRXF_more_data = 4;
export const NETRXF_extra_info = 8;

export const XEN_NETIF_EXTRA_TYPE_NONE = 0;
export const XEN_NETIF_EXTRA_TYPE_GSO = 1;
export const XEN_NETIF_EXTRA_TYPE_MCAST_ADD = 2;
export const XEN_NETIF_EXTRA_TYPE_MCAST_DEL = 3;
/** Types 4 (hash) and 5 (xdp) came later; a backend that does not know a type refuses it. */
export const XEN_NETIF_EXTRA_TYPE_MAX = 4;
export const XEN_NETIF_EXTRA_FLAG_MORE = 1;

export const NETIF_RSP_DROPPED = -2;
export const NETIF_RSP_ERROR = -1;
export const NETIF_RSP_OKAY = 0;
/** The status of a response slot that answers an extra-info request. */
export const NETIF_RSP_NULL = 1;

/**
 * XEN_NETIF_NR_SLOTS_MIN: slots per packet every backend must accept; Linux netback drops a
 * packet with more (XEN_NETBK_LEGACY_SLOTS_MAX) and disables a frontend that uses 20 or more
 * (fatal_skb_slots, drivers/net/xen-netback/netback.c).
 */
export const NR_SLOTS_MIN = 18;
export const FATAL_SKB_SLOTS = 20;

/** Ethernet: header (dest, src, ethertype) and the largest untagged frame without FCS. */
export const ETH_HLEN = 14;
export const ETH_MAX_FRAME = 1514;

import { XenbusState } from '../xenbus-state.ts';

export { XenbusState };
