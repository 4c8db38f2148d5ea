/*
 * Exception handling: every vector a PV guest can receive gets an entry
 * (entry.S) that prints one diagnostic line and crashes the domain with
 * SCHEDOP_shutdown(SHUTDOWN_crash). Xen delivers an exception on the ring-1
 * stack as [error code] EIP, CS, EFLAGS (xen-abi.md §4); for a page fault
 * the address is in vcpu_info.arch.cr2 (§11).
 */
#include <kit/kit.h>

/* Laid out by entry.S: pushal, then vector, then (pushed or real) error
 * code, then the frame Xen built. */
struct trap_frame {
    u32 edi, esi, ebp, esp, ebx, edx, ecx, eax;
    u32 vector, error;
    u32 eip, cs, eflags;
};

#define TRAP(name) extern void trap_##name(void);
TRAP(divide_error) TRAP(debug) TRAP(int3) TRAP(overflow) TRAP(bounds)
TRAP(invalid_op) TRAP(device_not_available) TRAP(coproc_overrun)
TRAP(invalid_tss) TRAP(segment_not_present) TRAP(stack_segment)
TRAP(general_protection) TRAP(page_fault) TRAP(spurious)
TRAP(coprocessor_error) TRAP(alignment_check) TRAP(simd_error)
#undef TRAP

/* Flag TI_SET_IF_MASKED keeps events masked in the handler; DPL 3 on int3
 * and into so those instructions work from any ring (as Mini-OS). #DF (8),
 * NMI (2) and #MC (18) are not delivered through this table. */
#define E(vec, dpl, fn) { vec, TI_SET_IF_MASKED | (dpl), FLAT_KERNEL_CS, (u32)(fn) }
static const struct trap_info trap_table[] = {
    E(0, 0, trap_divide_error),   E(1, 0, trap_debug),
    E(3, 3, trap_int3),           E(4, 3, trap_overflow),
    E(5, 0, trap_bounds),         E(6, 0, trap_invalid_op),
    E(7, 0, trap_device_not_available), E(9, 0, trap_coproc_overrun),
    E(10, 0, trap_invalid_tss),   E(11, 0, trap_segment_not_present),
    E(12, 0, trap_stack_segment), E(13, 0, trap_general_protection),
    E(14, 0, trap_page_fault),    E(15, 0, trap_spurious),
    E(16, 0, trap_coprocessor_error), E(17, 0, trap_alignment_check),
    E(19, 0, trap_simd_error),
    { 0, 0, 0, 0 },
};
#undef E

static const char *const trap_names[20] = {
    "divide error", "debug", "nmi", "int3", "overflow", "bounds",
    "invalid opcode", "device not available", "double fault",
    "coprocessor segment overrun", "invalid TSS", "segment not present",
    "stack segment", "general protection", "page fault", "spurious",
    "coprocessor error", "alignment check", "machine check", "SIMD error",
};

void traps_init(void)
{
    long rc = HYPERVISOR_set_trap_table(trap_table);
    if (rc < 0)
        printf("kit: set_trap_table failed (%ld)\n", rc);
}

void do_trap(struct trap_frame *f)
{
    const char *name = f->vector < 20 ? trap_names[f->vector] : "?";
    printf("kit: fatal trap %u (%s) eip=%08x err=%x", f->vector, name,
           f->eip, f->error);
    if (f->vector == 14)
        printf(" cr2=%08x", HYPERVISOR_shared_info->vcpu_info[0].arch.cr2);
    printf("\n");
    kit_shutdown(SHUTDOWN_crash);
}

/* Xen could not load the segment registers of a frame we returned to. */
void do_failsafe(void)
{
    printf("kit: failsafe callback (bad segment)\n");
    kit_shutdown(SHUTDOWN_crash);
}
