/* Time (xen-abi.md §3): system time from vcpu_time_info and the TSC,
 * wallclock from shared_info, a one-shot timer and blocking waits. */
#ifndef KIT_TIME_H
#define KIT_TIME_H
#include <kit/xen.h>
#include <kit/events.h>

#define NSEC_PER_MSEC 1000000ull
#define NSEC_PER_SEC 1000000000ull

/* Binds VIRQ_TIMER (without it a set_timer_op deadline cannot wake a
 * blocked vCPU: Xen's send_timer_event is a no-op for an unbound VIRQ) and
 * stops the default 10 ms periodic timer, which only costs upcalls. */
void time_init(void);
/* Nanoseconds since boot; never goes backwards. */
u64 now_ns(void);
/* Wall-clock time = wc_sec/wc_nsec (boot time) + system time. */
void wallclock(u64 *sec, u32 *nsec);
/* With events masked by the caller: arm the one-shot timer for deadline
 * (0 = none) and SCHEDOP_block. Xen re-enables events atomically, so an
 * event that arrived after the caller's check still wakes us; pending
 * upcalls run before this returns. */
void block_masked(u64 deadline);
void sleep_until(u64 deadline);
void sleep_ns(u64 ns);

/* Evaluates cond with events masked, blocking between tries; 1 when cond
 * held, 0 once the deadline (system time, 0 = none) has passed. */
#define WAIT_UNTIL(cond, deadline) ({                                        \
    int ok__;                                                               \
    u64 dl__ = (deadline);                                                  \
    for (;;) {                                                              \
        unsigned long f__ = local_irq_save();                               \
        if (cond) { ok__ = 1; local_irq_restore(f__); break; }              \
        if (dl__ && now_ns() >= dl__) { ok__ = 0; local_irq_restore(f__); break; } \
        block_masked(dl__);                                                 \
        local_irq_restore(f__);                                             \
    }                                                                       \
    ok__; })

#endif
