/*
 * The kit's virtual address map, shared by the linker script (kit.ld.S),
 * boot.S and C. Kept in one place so the VIRT_BASE note, the link address
 * and virt_to_pfn() cannot disagree.
 *
 * The image is linked at KIT_VIRT_BASE and the ELF notes say
 * VIRT_BASE = PADDR_OFFSET = KIT_VIRT_BASE, so (libelf: virt_offset =
 * virt_base - paddr_offset = 0) p_paddr == p_vaddr and pseudo-physical
 * frame n sits at KIT_VIRT_BASE + n * 4096 for the whole bootstrap region.
 * 0xC0000000 leaves 1 GiB minus the Xen hole (from 0xF5800000) for the
 * bootstrap region: guests of up to ~856 MiB are fully mapped if a builder
 * chose to map them all.
 */
#ifndef KIT_LAYOUT_H
#define KIT_LAYOUT_H

#define KIT_VIRT_BASE 0xC0000000
#define KIT_STACK_SIZE 16384

#endif
