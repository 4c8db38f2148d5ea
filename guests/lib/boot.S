/*
 * Entry point, Xen ELF notes and the hypercall page.
 *
 * Entry state (xen-abi.md §2): ESI = start_info, ESP = top of the builder's
 * boot stack, EFLAGS.IF as 0x200 but events masked in vcpu_info, CS 0xe019,
 * DS/ES/FS/GS/SS 0xe021, paging on with the bootstrap tables.
 */
#include <kit/layout.h>

/* One Xen note: name "Xen", a type from elfnote.h, a string or a 4-byte
 * number (numeric notes are 4 or 8 bytes; 4 for a 32-bit kernel). gas
 * strips the quotes of a macro argument, so strings are re-quoted here. */
.macro XEN_NOTE_BEGIN type
	.pushsection .note.Xen, "a", @note
	.balign 4
	.long 2f - 1f
	.long 4f - 3f
	.long \type
1:	.asciz "Xen"
2:	.balign 4
3:
.endm
.macro XEN_NOTE_END
4:	.balign 4
	.popsection
.endm
.macro XEN_NOTE_STR type, str
	XEN_NOTE_BEGIN \type
	.asciz "\str"
	XEN_NOTE_END
.endm
.macro XEN_NOTE_NUM type, value
	XEN_NOTE_BEGIN \type
	.long \value
	XEN_NOTE_END
.endm

	XEN_NOTE_STR 6, "xenoform-kit"           /* GUEST_OS */
	XEN_NOTE_STR 5, "xen-3.0"                /* XEN_VERSION */
	XEN_NOTE_STR 8, "generic"                /* LOADER */
	XEN_NOTE_NUM 3, KIT_VIRT_BASE            /* VIRT_BASE */
	XEN_NOTE_NUM 4, KIT_VIRT_BASE            /* PADDR_OFFSET: p_paddr == p_vaddr */
	XEN_NOTE_NUM 1, _start                   /* ENTRY */
	XEN_NOTE_NUM 2, hypercall_page           /* HYPERCALL_PAGE (virtual) */
	XEN_NOTE_STR 9, "yes"                    /* PAE_MODE */
	/* We never build page tables, so an L3 above 4 GiB is fine. Names
	 * must be ones libelf knows (features.h without XENFEAT_). */
	XEN_NOTE_STR 10, "pae_pgdir_above_4gb"   /* FEATURES */
	XEN_NOTE_NUM 14, 1                       /* SUSPEND_CANCEL: kit_suspend handles it */

	.section .text.boot, "ax"
	.globl _start
_start:
	cld
	/* Zero .bss ourselves: the loader should have, but being sure costs
	 * a few microseconds. The boot stack is outside the image. */
	movl $__bss_start, %edi
	movl $_end, %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	rep stosb
	movl %esp, kit_boot_stack_top
	movl $kit_stack + KIT_STACK_SIZE, %esp
	pushl %esi                      /* struct start_info * */
	call kit_start                  /* never returns */
1:	jmp 1b

/* Filled by the domain builder (HYPERVISOR_HYPERCALL_PAGE note): 128 stubs
 * of 32 bytes. 0xCC (int3) until then, as Xen itself pre-fills it, so a
 * call into an unfilled page traps instead of running zeros. */
	.section .text.hypercall_page, "ax"
	.balign 4096
	.globl hypercall_page
hypercall_page:
	.fill 4096, 1, 0xcc

	.section .bss.stack, "aw", @nobits
	.balign 16
	.globl kit_stack
kit_stack:
	.skip KIT_STACK_SIZE

	.section .note.GNU-stack, "", @progbits
