/*
 * hvbench: hypervisor micro-benchmarks, measured inside the guest with RDTSC (1 tick = 1 ns
 * of system time on Xenoform) and reported on the console, then poweroff.
 *
 * Command line: "iters=N" (default 100000).
 * Console output (exact format):
 *
 *   hvbench: null-hypercall iters=N ns=T
 *   hvbench: evtchn-upcall iters=N ns=T
 *   hvbench: done
 *
 * null-hypercall: N calls of xen_version(XENVER_version) (the cheapest hypercall), total ns.
 * evtchn-upcall: N rounds of "send on an IPI port bound to ourselves, wait until the upcall
 * handler has run", total ns from each send to the handler's run.
 */
#include <kit/kit.h>
#include <kit/hypercall.h>
#include <kit/events.h>

#define EVTCHNOP_bind_ipi_ 7
struct bind_ipi { u32 vcpu; u32 port; };

static volatile u32 upcalls;
static volatile u64 seen_at;

static void on_ipi(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data;
    seen_at = rdtsc();
    upcalls++;
}

static u32 parse(const char *s, const char *key, u32 dflt)
{
    u32 n = strlen(key);
    for (const char *p = s; *p; p++) {
        if (strncmp(p, key, n) == 0) {
            u32 v = 0;
            for (p += n; *p >= '0' && *p <= '9'; p++)
                v = v * 10 + (u32)(*p - '0');
            return v;
        }
    }
    return dflt;
}

void guest_main(void)
{
    kit_init(KIT_TRAPS);
    u32 iters = parse((const char *)start_info->cmd_line, "iters=", 100000);

    u64 t0 = rdtsc();
    for (u32 k = 0; k < iters; k++)
        HYPERVISOR_xen_version(0, 0);
    u64 t1 = rdtsc();
    printf("hvbench: null-hypercall iters=%u ns=%llu\n", iters, t1 - t0);

    struct bind_ipi ipi = { .vcpu = 0, .port = 0 };
    if (HYPERVISOR_event_channel_op(EVTCHNOP_bind_ipi_, &ipi) != 0) {
        printf("hvbench: bind_ipi failed\n");
    } else {
        evtchn_bind(ipi.port, on_ipi, 0);
        u64 total = 0;
        for (u32 k = 0; k < iters; k++) {
            u32 before = upcalls;
            u64 sent = rdtsc();
            evtchn_send(ipi.port);
            while (upcalls == before)
                ;
            total += seen_at - sent;
        }
        printf("hvbench: evtchn-upcall iters=%u ns=%llu\n", iters, total);
    }
    printf("hvbench: done\n");
    struct sched_shutdown s = { .reason = SHUTDOWN_poweroff };
    HYPERVISOR_sched_op(SCHEDOP_shutdown, &s);
}
