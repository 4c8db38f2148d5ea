/*
 * Balloon driver. Giving a page back, as Linux's decrease_reservation():
 * drop our mapping of it (a mapped frame keeps a reference, so Xen could
 * not free it), mark its P2M entry invalid, then XENMEM_decrease_reservation
 * with its MFN. Taking it back: XENMEM_populate_physmap with its PFN, which
 * returns the new MFN and updates the M2P itself (memory.h), then restore
 * the P2M entry and, where the bootstrap tables cover it, the mapping.
 */
#include <kit/kit.h>
#include <kit/balloon.h>
#include <kit/xenstore.h>

#define BATCH 256
/* The highest pfn that can have a bootstrap mapping: below the Xen hole
 * (0xF5800000, xen-abi.md §2). */
#define MAPPABLE_PFNS ((0xF5800000u - KIT_VIRT_BASE) >> PAGE_SHIFT)

static u32 top;                  /* pfns [0, top) are populated */
static u32 frames[BATCH];

void balloon_init(void)
{
    top = kit_nr_pages;
}

u32 balloon_pages(void) { return top; }

long balloon_reservation(void)
{
    domid_t self = DOMID_SELF;
    return HYPERVISOR_memory_op(XENMEM_current_reservation, &self);
}

long balloon_max_reservation(void)
{
    domid_t self = DOMID_SELF;
    return HYPERVISOR_memory_op(XENMEM_maximum_reservation, &self);
}

static const volatile u64 *pte_of(u32 pfn)
{
    return pfn < MAPPABLE_PFNS ? pte_lookup((u32)pfn_to_virt(pfn)) : NULL;
}

static void set_pfn(u32 pfn, u32 mfn)
{
    phys_to_machine[pfn] = mfn;
    if (pte_of(pfn))
        map_frame(pfn_to_virt(pfn), mfn);
}

static long reservation_op(u32 cmd, u32 n)
{
    struct xen_memory_reservation r = {
        .extent_start = (u32)frames, .nr_extents = n, .extent_order = 0,
        .address_bits = 0, .domid = DOMID_SELF,
    };
    return HYPERVISOR_memory_op(cmd, &r);
}

/* Releases up to n pages from the top; returns how many went. */
static u32 decrease(u32 n)
{
    n = n < BATCH ? n : BATCH;
    for (u32 i = 0; i < n; i++) {
        u32 pfn = top - 1 - i;
        const volatile u64 *pte = pte_of(pfn);
        frames[i] = phys_to_machine[pfn];
        if (pte && (*pte & _PAGE_PRESENT))
            unmap_va(pfn_to_virt(pfn));
        phys_to_machine[pfn] = INVALID_P2M_ENTRY;
    }
    long done = reservation_op(XENMEM_decrease_reservation, n);
    if (done < 0)
        done = 0;
    for (u32 i = (u32)done; i < n; i++)    /* Xen kept these: undo */
        set_pfn(top - 1 - i, frames[i]);
    top -= (u32)done;
    return (u32)done;
}

/* Repopulates up to n pages above top; returns how many came back. */
static u32 increase(u32 n)
{
    n = n < BATCH ? n : BATCH;
    for (u32 i = 0; i < n; i++)
        frames[i] = top + i;               /* IN: gpfns, OUT: mfns */
    long done = reservation_op(XENMEM_populate_physmap, n);
    if (done <= 0)
        return 0;
    for (u32 i = 0; i < (u32)done; i++)
        set_pfn(top + i, frames[i]);
    top += (u32)done;
    return (u32)done;
}

u32 balloon_set_target(u32 target)
{
    if (target < kit_first_free_pfn)
        target = kit_first_free_pfn;
    if (target > kit_nr_pages)             /* the P2M has no room above */
        target = kit_nr_pages;
    while (top > target && decrease(top - target))
        ;
    while (top < target && increase(target - top))
        ;
    return top;
}

int balloon_watch(void)
{
    return xs_watch("memory/target", BALLOON_TOKEN);
}

int balloon_read_target(u64 *kib)
{
    char value[32];
    int n = xs_read(XBT_NIL, "memory/target", value, sizeof(value));
    if (n < 0)
        return n;
    *kib = strtoull(value, NULL);
    return 0;
}
