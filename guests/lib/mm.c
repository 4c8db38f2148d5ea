/*
 * Pseudo-physical memory helpers. The builder maps the bootstrap region
 * 1:1 onto the first pseudo-physical frames at KIT_VIRT_BASE (xen.h
 * "start of day" comment), so virt <-> pfn is arithmetic there, and the P2M
 * at start_info.mfn_list gives pfn -> mfn. MFN -> pfn uses a search of the
 * P2M instead of the M2P table, so the kit does not depend on the M2P being
 * mapped at MACH2PHYS_VIRT_START.
 */
#include <kit/kit.h>

u32 *phys_to_machine;
u32 kit_nr_pages;
u32 kit_first_free_pfn;

/* P2M frame lists for save/restore (arch-x86/xen.h: max_pfn,
 * pfn_to_mfn_frame_list_list). With 4-byte entries one P2M page covers
 * 1024 pfns and one frame-list page covers 1024 P2M pages (4 GiB), so a
 * single page at each level suffices for a 32-bit guest. */
static u32 p2m_frame_list[1024] __attribute__((aligned(PAGE_SIZE)));
static u32 p2m_frame_list_list[1024] __attribute__((aligned(PAGE_SIZE)));

static u32 max_u32(u32 a, u32 b) { return a > b ? a : b; }
static u32 pfn_end(u32 va, u32 len) { return virt_to_pfn((void *)(va + len + PAGE_SIZE - 1)); }

void mm_init(void)
{
    extern char _end[];
    struct start_info *si = start_info;

    phys_to_machine = (u32 *)si->mfn_list;
    kit_nr_pages = si->nr_pages;

    /* Everything up to the boot stack is in use: kernel, modules, P2M,
     * start_info, xenstore and console pages, page tables, stack
     * (xen-abi.md §2 order). Take the max in case a builder reorders. */
    u32 top = virt_to_pfn(_end + PAGE_SIZE - 1);
    top = max_u32(top, pfn_end(si->mfn_list, si->nr_pages * 4));
    top = max_u32(top, pfn_end((u32)si, PAGE_SIZE));
    top = max_u32(top, pfn_end(si->pt_base, si->nr_pt_frames * PAGE_SIZE));
    top = max_u32(top, pfn_end(kit_boot_stack_top - 1, 1));
    if (si->mod_start)
        top = max_u32(top, pfn_end(si->mod_start, si->mod_len));
    kit_first_free_pfn = top;
}

long mfn_to_pfn(u32 mfn)
{
    for (u32 pfn = 0; pfn < kit_nr_pages; pfn++)
        if (phys_to_machine[pfn] == mfn)
            return pfn;
    return -1;
}

/* A table frame is reachable only if it lies in the bootstrap mapping. */
static const volatile u64 *table_virt(u64 entry)
{
    if (!(entry & _PAGE_PRESENT))
        return NULL;
    long pfn = mfn_to_pfn((u32)((entry & PTE_MFN_MASK) >> PAGE_SHIFT));
    if (pfn < 0 || (u32)pfn >= kit_first_free_pfn)
        return NULL;
    return pfn_to_virt(pfn);
}

/* PAE walk: L3 index va[31:30], L2 va[29:21], L1 va[20:12] (Intel SDM
 * vol. 3 §4.4.2). pt_base is the L3 (start_info.pt_base, = CR3). The kit
 * never changes L3/L2 entries, so each 2 MiB slot's L1 is looked up once
 * and cached: the P2M searches would otherwise cost O(nr_pages) per PTE. */
static const volatile u64 *l1_cache[2048];
static u8 l1_known[2048];

static const volatile u64 *l1_table(u32 va)
{
    const volatile u64 *l3 = (const volatile u64 *)start_info->pt_base;
    const volatile u64 *l2 = table_virt(l3[va >> 30]);
    if (!l2)
        return NULL;
    u64 l2e = l2[(va >> 21) & 511];
    return (l2e & _PAGE_PSE) ? NULL : table_virt(l2e);
}

const volatile u64 *pte_lookup(u32 va)
{
    u32 slot = va >> 21;
    if (!l1_known[slot]) {
        l1_cache[slot] = l1_table(va);
        l1_known[slot] = 1;
    }
    return l1_cache[slot] ? &l1_cache[slot][(va >> 12) & 511] : NULL;
}

long map_frame(void *va, u32 mfn)
{
    u64 pte = ((u64)mfn << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_RW;
    return HYPERVISOR_update_va_mapping((u32)va, pte, UVMF_INVLPG);
}

long unmap_va(void *va)
{
    return HYPERVISOR_update_va_mapping((u32)va, 0, UVMF_INVLPG);
}

void mm_publish_p2m(void)
{
    u32 p2m_pages = (kit_nr_pages * 4 + PAGE_SIZE - 1) / PAGE_SIZE;
    memset(p2m_frame_list, 0, sizeof(p2m_frame_list));
    memset(p2m_frame_list_list, 0, sizeof(p2m_frame_list_list));
    for (u32 i = 0; i < p2m_pages && i < 1024; i++)
        p2m_frame_list[i] = virt_to_mfn((char *)phys_to_machine + i * PAGE_SIZE);
    p2m_frame_list_list[0] = virt_to_mfn(p2m_frame_list);
    HYPERVISOR_shared_info->arch.max_pfn = kit_nr_pages;
    HYPERVISOR_shared_info->arch.pfn_to_mfn_frame_list_list =
        virt_to_mfn(p2m_frame_list_list);
}
