/*
 * PV console driver (io/console.h; Mini-OS console/xencons_ring.c).
 *
 * start_info.console.domU.mfn is a MACHINE frame. Rather than finding its
 * bootstrap-region address through the M2P, the kit maps it at a fixed
 * virtual address of its own (console_page, a page-aligned .bss page) with
 * update_va_mapping, which works with any builder layout. The frame the
 * .bss page had before simply stays unused.
 *
 * Before console_init() (and for a domain without a ring, e.g. dom0) output
 * goes through HYPERVISOR_console_io(CONSOLEIO_write).
 */
#include <kit/kit.h>

#define OUT_SIZE sizeof(((struct xencons_interface *)0)->out)
#define IN_SIZE sizeof(((struct xencons_interface *)0)->in)
#define POLL_NS NSEC_PER_MSEC
#define GIVE_UP_NS (2 * NSEC_PER_SEC)

static char console_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static volatile struct xencons_interface *cons;
static evtchn_port_t cons_port;

static void console_map(void)
{
    struct start_info *si = start_info;
    if ((si->flags & SIF_INITDOMAIN) || si->console.domU.mfn == 0)
        return;                           /* no ring: keep console_io */
    long rc = map_frame(console_page, si->console.domU.mfn);
    if (rc < 0) {
        cons = NULL;
        printf("kit: cannot map console ring (%ld)\n", rc);
        return;
    }
    cons_port = si->console.domU.evtchn;
    cons = (volatile struct xencons_interface *)console_page;
    evtchn_bind(cons_port, NULL, NULL);   /* wake-only: we poll the ring */
}

void console_init(void) { console_map(); }
void console_resume(void) { console_map(); }

static int out_has_space(void)
{
    return cons->out_prod - READ_ONCE(cons->out_cons) < OUT_SIZE;
}

/* Waits for the backend in 1 ms steps so a backend that never signals us
 * still makes progress; returns 0 once the give-up time has passed. */
static int wait_backend(int (*ready)(void), u64 give_up)
{
    for (;;) {
        u64 now = now_ns();
        if (now >= give_up)
            return ready();
        u64 step = now + POLL_NS < give_up ? now + POLL_NS : give_up;
        if (WAIT_UNTIL(ready(), step))
            return 1;
    }
}

void console_write(const char *s, u32 n)
{
    if (!cons) {
        HYPERVISOR_console_io(CONSOLEIO_write, n, s);
        return;
    }
    u64 give_up = 0;
    while (n) {
        unsigned long flags = local_irq_save();
        u32 prod = cons->out_prod;
        u32 space = OUT_SIZE - (prod - READ_ONCE(cons->out_cons));
        u32 k = space < n ? space : n;
        for (u32 i = 0; i < k; i++)
            cons->out[(prod + i) & (OUT_SIZE - 1)] = s[i];
        wmb();                            /* data before the index */
        cons->out_prod = prod + k;
        local_irq_restore(flags);
        if (k) {
            evtchn_send(cons_port);
            s += k;
            n -= k;
            continue;
        }
        if (!give_up)
            give_up = now_ns() + GIVE_UP_NS;
        if (!wait_backend(out_has_space, give_up))
            return;                       /* backend gone: drop the rest */
    }
}

static int out_drained(void)
{
    return READ_ONCE(cons->out_cons) == cons->out_prod;
}

void console_flush(void)
{
    if (cons && !out_drained()) {
        evtchn_send(cons_port);
        wait_backend(out_drained, now_ns() + GIVE_UP_NS);
    }
}

u32 console_read(char *buf, u32 n)
{
    if (!cons)
        return 0;
    u32 c = cons->in_cons, p = READ_ONCE(cons->in_prod);
    rmb();                                /* index before the data */
    u32 k = 0;
    while (c != p && k < n)
        buf[k++] = cons->in[c++ & (IN_SIZE - 1)];
    mb();                                 /* data read before freeing it */
    cons->in_cons = c;
    if (k)
        evtchn_send(cons_port);
    return k;
}
