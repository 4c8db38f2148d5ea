/*
 * Link map (preprocessed with cpp so KIT_VIRT_BASE has one definition).
 *
 *   KIT_VIRT_BASE + 0x0000  .text.boot (_start)
 *   KIT_VIRT_BASE + 0x1000  hypercall_page (one page, filled by Xen)
 *   then .text, .rodata, .note.Xen   -- segment 1, R+X
 *   then .data, .bss (shared_info, console, xenstore pages, stack) -- RW
 *   _end (page-aligned); the builder's P2M, start_info, xenstore and
 *   console pages, bootstrap page tables and boot stack follow.
 *
 * No AT(): p_paddr == p_vaddr, matching PADDR_OFFSET == VIRT_BASE.
 */
#include <kit/layout.h>

OUTPUT_FORMAT("elf32-i386")
OUTPUT_ARCH(i386)
ENTRY(_start)

PHDRS
{
    text PT_LOAD FLAGS(5);
    data PT_LOAD FLAGS(6);
    note PT_NOTE FLAGS(4);
}

SECTIONS
{
    . = KIT_VIRT_BASE;
    _text = .;
    .text : {
        *(.text.boot)
        . = ALIGN(4096);
        *(.text.hypercall_page)
        *(.text .text.*)
    } :text
    .rodata : { *(.rodata .rodata.*) } :text
    .note.Xen : { *(.note.Xen) } :text :note
    . = ALIGN(4096);
    .data : { *(.data .data.*) } :data
    .bss : { __bss_start = .; *(.bss .bss.*) *(COMMON) } :data
    . = ALIGN(4096);
    _end = .;
    /DISCARD/ : { *(.comment) *(.eh_frame) *(.note.gnu.*) *(.note.GNU-stack) }
}
