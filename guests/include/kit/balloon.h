/*
 * Balloon driver (memory.h; Linux drivers/xen/balloon.c, Mini-OS
 * balloon.c). The domain's pseudo-physical space is [0, nr_pages); the
 * balloon keeps [0, top) populated and gives [top, nr_pages) back to Xen,
 * always from the top, never below kit_first_free_pfn (the kernel, the
 * builder's pages and the boot stack).
 */
#ifndef KIT_BALLOON_H
#define KIT_BALLOON_H
#include <kit/xen.h>

#define BALLOON_TOKEN "balloon"

void balloon_init(void);
/* Pages the guest holds by its own count. */
u32 balloon_pages(void);
/* XENMEM_current_reservation / maximum_reservation for DOMID_SELF, in
 * pages, or -errno. */
long balloon_reservation(void);
long balloon_max_reservation(void);
/* Moves towards target pages (clamped to [kit_first_free_pfn, nr_pages]);
 * returns the pages held afterwards. */
u32 balloon_set_target(u32 target_pages);
/* Watches memory/target (KiB) with BALLOON_TOKEN. */
int balloon_watch(void);
/* Reads memory/target in KiB; -errno if absent. */
int balloon_read_target(u64 *kib);

#endif
