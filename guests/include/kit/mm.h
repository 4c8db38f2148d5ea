/*
 * Pseudo-physical memory: the P2M array the builder left at
 * start_info.mfn_list, the bootstrap mapping (pfn n at KIT_VIRT_BASE + n
 * pages), and the few MMU operations the kit needs.
 */
#ifndef KIT_MM_H
#define KIT_MM_H
#include <kit/xen.h>
#include <kit/layout.h>

extern u32 *phys_to_machine;      /* P2M: nr_pages entries */
extern u32 kit_nr_pages;          /* start_info.nr_pages at boot */
extern u32 kit_first_free_pfn;    /* first pfn above everything in use */

static inline u32 virt_to_pfn(const void *va)
{ return ((u32)va - KIT_VIRT_BASE) >> PAGE_SHIFT; }
static inline void *pfn_to_virt(u32 pfn)
{ return (void *)(KIT_VIRT_BASE + (pfn << PAGE_SHIFT)); }
static inline u32 pfn_to_mfn(u32 pfn) { return phys_to_machine[pfn]; }
static inline u32 virt_to_mfn(const void *va)
{ return pfn_to_mfn(virt_to_pfn(va)); }

void mm_init(void);
/* Linear search of the P2M (no M2P needed); -1 if the MFN is not ours. */
long mfn_to_pfn(u32 mfn);
/* The L1 PTE for va, found by walking the bootstrap tables from pt_base;
 * NULL if no L1 table covers va. Page tables are mapped read-only. */
const volatile u64 *pte_lookup(u32 va);
/* update_va_mapping(va, mfn | present | rw) with INVLPG; 0 or -errno. */
long map_frame(void *va, u32 mfn);
long unmap_va(void *va);
/* Publishes the P2M for save/restore: shared_info.arch.max_pfn and
 * pfn_to_mfn_frame_list_list (arch-x86/xen.h). Call again after resume. */
void mm_publish_p2m(void);

#endif
