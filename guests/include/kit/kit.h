/*
 * The Xenoform guest kit: the one header a guest includes.
 *
 * A guest defines guest_main(); boot.S sets up a stack and calls it through
 * kit_start(). guest_main() calls kit_init() first. Returning from
 * guest_main() powers the domain off.
 */
#ifndef KIT_KIT_H
#define KIT_KIT_H
#include <kit/xen.h>
#include <kit/arch.h>
#include <kit/hypercall.h>
#include <kit/layout.h>
#include <kit/string.h>
#include <kit/console.h>
#include <kit/events.h>
#include <kit/time.h>
#include <kit/mm.h>

extern struct start_info *start_info;          /* ESI at entry */
extern struct shared_info *HYPERVISOR_shared_info;
extern u32 kit_boot_stack_top;                  /* ESP at entry */

#define KIT_TRAPS 1u      /* install the diagnostic trap table */
#define KIT_XENSTORE 2u   /* connect the xenstore client */
#define KIT_DEFAULT (KIT_TRAPS | KIT_XENSTORE)

void guest_main(void);
void kit_init(unsigned flags);
void traps_init(void);
__attribute__((noreturn)) void kit_shutdown(u32 reason);
__attribute__((noreturn, format(printf, 1, 2))) void kit_panic(const char *fmt, ...);
/* Cooperative suspend (SCHEDOP_shutdown/suspend, xen-abi.md §5). Returns 0
 * when resumed in a new domain, 1 when the suspend was cancelled. */
int kit_suspend(void);
/* Drivers that hold Xen resources (grant frames, rings, channels) register
 * hooks around kit_suspend: `pre` runs (in reverse registration order)
 * before SCHEDOP_shutdown(suspend) with events masked; `post(cancelled)`
 * runs (in registration order) once the core kit (events, time, console,
 * xenstore) is back, with events enabled, so it may talk to xenstore.
 * Either may be NULL. At most KIT_MAX_SUSPEND_HOOKS. */
#define KIT_MAX_SUSPEND_HOOKS 8
void kit_on_suspend(void (*pre)(void), void (*post)(int cancelled));

#endif
