/*
 * Time (xen-abi.md §3; Mini-OS arch/x86/time.c, Linux pvclock.c):
 *   now = system_time + ((((tsc - tsc_timestamp) << tsc_shift) * mul) >> 32)
 * with a negative shift meaning a right shift, read under the version
 * seqlock (odd = update in progress).
 */
#include <kit/kit.h>

static int timer_port = -1;
static u64 last_ns;

/* (delta * mul) >> 32 without a 64x64 multiply: split delta in halves. */
static u64 scale_delta(u64 delta, u32 mul, s8 shift)
{
    if (shift < 0)
        delta >>= -shift;
    else
        delta <<= shift;
    u32 lo = (u32)delta, hi = (u32)(delta >> 32);
    return (((u64)lo * mul) >> 32) + (u64)hi * mul;
}

static u64 system_time(void)
{
    const volatile struct vcpu_time_info *t =
        &HYPERVISOR_shared_info->vcpu_info[0].time;
    u32 version, mul;
    u64 stamp, base, tsc;
    s8 shift;

    do {
        version = t->version;
        rmb();
        stamp = t->tsc_timestamp;
        base = t->system_time;
        mul = t->tsc_to_system_mul;
        shift = t->tsc_shift;
        tsc = rdtsc();
        rmb();
    } while ((version & 1) || version != t->version);

    /* A TSC read before the stamp (another pCPU's view) counts as 0. */
    u64 delta = (s64)(tsc - stamp) > 0 ? tsc - stamp : 0;
    return base + scale_delta(delta, mul, shift);
}

u64 now_ns(void)
{
    u64 t = system_time();
    if (t < last_ns)
        return last_ns;
    last_ns = t;
    return t;
}

void wallclock(u64 *sec, u32 *nsec)
{
    const volatile struct shared_info *s = HYPERVISOR_shared_info;
    u32 version, wsec, wnsec;

    do {
        version = s->wc_version;
        rmb();
        wsec = s->wc_sec;
        wnsec = s->wc_nsec;
        rmb();
    } while ((version & 1) || version != s->wc_version);

    u64 total = wnsec + now_ns();
    *sec = wsec + total / NSEC_PER_SEC;
    *nsec = (u32)(total % NSEC_PER_SEC);
}

void time_init(void)
{
    int port = evtchn_bind_virq(VIRQ_TIMER, NULL, NULL);
    /* After a resume that kept our channels, VIRQ_TIMER is still bound
     * (-EEXIST): keep using the old port. */
    if (port >= 0)
        timer_port = port;
    else if (timer_port >= 0)
        evtchn_bind(timer_port, NULL, NULL);
    else
        kit_panic("kit: cannot bind VIRQ_TIMER (%d)\n", port);
    HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL);
    last_ns = 0;                  /* a new domain restarts system time */
}

void block_masked(u64 deadline)
{
    if (deadline)
        HYPERVISOR_set_timer_op(deadline);
    HYPERVISOR_sched_op(SCHEDOP_block, NULL);
}

void sleep_until(u64 deadline)
{
    if (deadline)
        WAIT_UNTIL(0, deadline);
}

void sleep_ns(u64 ns)
{
    sleep_until(now_ns() + ns);
}
