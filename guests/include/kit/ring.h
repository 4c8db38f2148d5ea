/*
 * Shared I/O rings (io/ring.h; xen-abi.md §8), front-end side.
 *
 * A ring page starts with a 64-byte header {req_prod, req_event, rsp_prod,
 * rsp_event, private[4], pad[44]} followed by the entries, a union of one
 * request and one response; the entry count is (4096 - 64) / entry size
 * rounded down to a power of two. Indices are free-running u32, masked by
 * (size - 1). The front end keeps req_prod_pvt and rsp_cons privately.
 */
#ifndef KIT_RING_H
#define KIT_RING_H
#include <kit/xen.h>
#include <kit/arch.h>
#include <kit/string.h>

struct ring_hdr {
    u32 req_prod;
    u32 req_event;
    u32 rsp_prod;
    u32 rsp_event;
    u8 pvt[4];               /* netif/tapif private bytes; zero */
    u8 pad[44];
};
KIT_ASSERT_OFF(struct ring_hdr, rsp_event, 12);
KIT_ASSERT_OFF(struct ring_hdr, pvt, 16);
KIT_ASSERT_SIZE(struct ring_hdr, 64);

/* Entries that fit a page for a given entry size (__RING_SIZE). */
#define RING_ENTRIES(entry_size) \
    ((4096 - 64) / (entry_size) >= 256 ? 256 : \
     (4096 - 64) / (entry_size) >= 128 ? 128 : \
     (4096 - 64) / (entry_size) >= 64 ? 64 : \
     (4096 - 64) / (entry_size) >= 32 ? 32 : \
     (4096 - 64) / (entry_size) >= 16 ? 16 : 8)

/* SHARED_RING_INIT: producers 0, events 1. */
static inline void ring_init_shared(volatile struct ring_hdr *h)
{
    h->req_prod = 0;
    h->rsp_prod = 0;
    h->req_event = 1;
    h->rsp_event = 1;
    for (int i = 0; i < 4; i++)
        h->pvt[i] = 0;
    for (int i = 0; i < 44; i++)
        h->pad[i] = 0;
}

/* RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: publish req_prod = new; returns
 * nonzero when the back end asked to be notified ((new - event) <
 * (new - old), unsigned). */
static inline int ring_push_requests(volatile struct ring_hdr *h, u32 new_prod)
{
    u32 old = h->req_prod;
    wmb();                       /* requests before the index */
    h->req_prod = new_prod;
    mb();                        /* index before reading req_event */
    return (u32)(new_prod - h->req_event) < (u32)(new_prod - old);
}

/* RING_HAS_UNCONSUMED_RESPONSES */
static inline u32 ring_unconsumed_responses(const volatile struct ring_hdr *h, u32 rsp_cons)
{
    return READ_ONCE(h->rsp_prod) - rsp_cons;
}

/* RING_FINAL_CHECK_FOR_RESPONSES: ask for an event at the next response,
 * then look again (a response may have slipped in before rsp_event). */
static inline int ring_final_check_responses(volatile struct ring_hdr *h, u32 rsp_cons)
{
    if (ring_unconsumed_responses(h, rsp_cons))
        return 1;
    h->rsp_event = rsp_cons + 1;
    mb();
    return ring_unconsumed_responses(h, rsp_cons) != 0;
}

#endif
