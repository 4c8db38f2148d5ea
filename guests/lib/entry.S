/*
 * Trap and event entry points (ring 1). Xen's bounce frame on our stack is
 * [error code] EIP, CS, EFLAGS; CS bits 16-23 carry the saved upcall mask
 * and EFLAGS.IF = !mask (compat_create_bounce_frame; xen-abi.md §4).
 */
/* __HYPERVISOR_iret (xen.h); kit/xen.h is C-only. */
#define HYPERVISOR_IRET 23

	.text

/* Event upcall. Xen masked events before entry. We scan with them masked,
 * then return through the iret hypercall, which restores the mask from the
 * frame's EFLAGS.IF atomically with the return (pv/iret.c): no window for
 * a nested upcall, and Xen re-delivers anything that arrived meanwhile.
 * The iret stub pushes EAX itself (pv_ring1_init_hypercall_page), so we
 * restore EAX and jump to it with the bare frame on the stack. */
	.globl hypervisor_callback
hypervisor_callback:
	cld
	pushal
	call do_hypervisor_callback
	popal
	jmp hypercall_page + HYPERVISOR_IRET * 32

/* Failsafe frame: DS, ES, FS, GS, EIP, CS, EFLAGS. Fatal for the kit. */
	.globl failsafe_callback
failsafe_callback:
	cld
	call do_failsafe
1:	jmp 1b

/* Exceptions without an error code push a 0 so every frame looks alike. */
.macro TRAP_NOERR name, vec
	.globl trap_\name
trap_\name:
	pushl $0
	pushl $\vec
	jmp trap_common
.endm
.macro TRAP_ERR name, vec
	.globl trap_\name
trap_\name:
	pushl $\vec
	jmp trap_common
.endm

	TRAP_NOERR divide_error, 0
	TRAP_NOERR debug, 1
	TRAP_NOERR int3, 3
	TRAP_NOERR overflow, 4
	TRAP_NOERR bounds, 5
	TRAP_NOERR invalid_op, 6
	TRAP_NOERR device_not_available, 7
	TRAP_NOERR coproc_overrun, 9
	TRAP_ERR invalid_tss, 10
	TRAP_ERR segment_not_present, 11
	TRAP_ERR stack_segment, 12
	TRAP_ERR general_protection, 13
	TRAP_ERR page_fault, 14
	TRAP_NOERR spurious, 15
	TRAP_NOERR coprocessor_error, 16
	TRAP_ERR alignment_check, 17
	TRAP_NOERR simd_error, 19

/* Stack: vector, error, EIP, CS, EFLAGS. Save the GPRs and hand C a
 * struct trap_frame *; do_trap crashes the domain and never returns. */
trap_common:
	cld
	pushal
	pushl %esp
	call do_trap
1:	jmp 1b

	.section .note.GNU-stack, "", @progbits
