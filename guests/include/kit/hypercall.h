/*
 * Hypercalls through the hypercall page (xen-abi.md §1): the page, filled by
 * the domain builder at the address in the HYPERCALL_PAGE note, holds 128
 * stubs of 32 bytes; `call hypercall_page + nr*32` runs stub nr.
 * EAX returns the result (-errno on failure). Arguments go in EBX, ECX, EDX,
 * ESI, EDI and Xen may clobber all of them (clobber_regs in debug builds), so
 * every wrapper declares all five as clobbered outputs.
 * Argument order is the 32-bit one of Mini-OS hypercall-x86_32.h.
 */
#ifndef KIT_HYPERCALL_H
#define KIT_HYPERCALL_H
#include <kit/xen.h>

extern char hypercall_page[PAGE_SIZE];

#define _hypercall(nr, a1, a2, a3, a4, a5) ({                               \
    long r__, b__, c__, d__, S__, D__;                                      \
    __asm__ __volatile__("call hypercall_page + %c[off]"                    \
        : "=a"(r__), "=b"(b__), "=c"(c__), "=d"(d__), "=S"(S__), "=D"(D__)  \
        : [off] "i"((nr) * 32), "1"((long)(a1)), "2"((long)(a2)),           \
          "3"((long)(a3)), "4"((long)(a4)), "5"((long)(a5))                 \
        : "memory");                                                        \
    (void)b__; (void)c__; (void)d__; (void)S__; (void)D__;                  \
    r__; })

static inline long HYPERVISOR_set_trap_table(const struct trap_info *t)
{ return _hypercall(__HYPERVISOR_set_trap_table, t, 0, 0, 0, 0); }

static inline long HYPERVISOR_mmu_update(struct mmu_update *req, u32 count,
                                         u32 *done, domid_t dom)
{ return _hypercall(__HYPERVISOR_mmu_update, req, count, done, dom, 0); }

static inline long HYPERVISOR_set_callbacks(u32 ev_cs, void (*ev)(void),
                                            u32 fs_cs, void (*fs)(void))
{ return _hypercall(__HYPERVISOR_set_callbacks, ev_cs, ev, fs_cs, fs, 0); }

static inline long HYPERVISOR_memory_op(u32 cmd, void *arg)
{ return _hypercall(__HYPERVISOR_memory_op, cmd, arg, 0, 0, 0); }

/* The new PTE goes as two words (PAE PTEs are 64-bit). */
static inline long HYPERVISOR_update_va_mapping(u32 va, u64 pte, u32 flags)
{ return _hypercall(__HYPERVISOR_update_va_mapping, va, (u32)pte,
                    (u32)(pte >> 32), flags, 0); }

/* Absolute system time in ns as (lo, hi); 0 cancels the timer. */
static inline long HYPERVISOR_set_timer_op(u64 deadline)
{ return _hypercall(__HYPERVISOR_set_timer_op, (u32)deadline,
                    (u32)(deadline >> 32), 0, 0, 0); }

static inline long HYPERVISOR_xen_version(u32 cmd, void *arg)
{ return _hypercall(__HYPERVISOR_xen_version, cmd, arg, 0, 0, 0); }

static inline long HYPERVISOR_console_io(u32 cmd, u32 count, const char *buf)
{ return _hypercall(__HYPERVISOR_console_io, cmd, count, buf, 0, 0); }

static inline long HYPERVISOR_grant_table_op(u32 cmd, void *uops, u32 count)
{ return _hypercall(__HYPERVISOR_grant_table_op, cmd, uops, count, 0, 0); }

static inline long HYPERVISOR_vcpu_op(u32 cmd, u32 vcpu, void *arg)
{ return _hypercall(__HYPERVISOR_vcpu_op, cmd, vcpu, arg, 0, 0); }

static inline long HYPERVISOR_sched_op(u32 cmd, void *arg)
{ return _hypercall(__HYPERVISOR_sched_op, cmd, arg, 0, 0, 0); }

/* SCHEDOP_shutdown(suspend) wants the start_info MFN in EDX (sched.h). */
static inline long HYPERVISOR_suspend(u32 start_info_mfn)
{
    struct sched_shutdown s = { SHUTDOWN_suspend };
    return _hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown, &s,
                      start_info_mfn, 0, 0);
}

static inline long HYPERVISOR_event_channel_op(u32 cmd, void *arg)
{ return _hypercall(__HYPERVISOR_event_channel_op, cmd, arg, 0, 0, 0); }

#endif
