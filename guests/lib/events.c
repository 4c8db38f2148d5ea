/*
 * Event channels: the upcall demultiplexer and port helpers.
 * The asm entry (entry.S: hypervisor_callback) saves registers and calls
 * do_hypervisor_callback() with events masked (Xen sets the mask before
 * entry, compat_create_bounce_frame), then returns through the iret
 * hypercall, which restores the mask from EFLAGS.IF atomically. So a new
 * event arriving during the scan re-enters only after the frame is popped:
 * no nesting, no lost edge.
 */
#include <kit/kit.h>

static struct {
    evtchn_handler_t fn;
    void *data;
    u32 count;
} handlers[NR_EVENT_CHANNELS];

extern void hypervisor_callback(void);
extern void failsafe_callback(void);

static struct vcpu_info *vcpu0(void)
{
    return &HYPERVISOR_shared_info->vcpu_info[0];
}

/* Loop of xen-abi.md §4 (Mini-OS hypervisor.c do_hypervisor_callback). */
void do_hypervisor_callback(void)
{
    struct shared_info *s = HYPERVISOR_shared_info;
    struct vcpu_info *v = vcpu0();

    while (READ_ONCE(v->evtchn_upcall_pending)) {
        WRITE_ONCE(v->evtchn_upcall_pending, 0);
        u32 l1 = xchg32(&v->evtchn_pending_sel, 0);
        while (l1) {
            u32 i = __builtin_ctz(l1);
            l1 &= l1 - 1;
            u32 l2;
            while ((l2 = READ_ONCE(s->evtchn_pending[i]) &
                         ~READ_ONCE(s->evtchn_mask[i])) != 0) {
                evtchn_port_t port = i * 32 + __builtin_ctz(l2);
                clear_bit32(s->evtchn_pending, port);
                handlers[port].count++;
                if (handlers[port].fn)
                    handlers[port].fn(port, handlers[port].data);
            }
        }
    }
}

void events_init(void)
{
    struct shared_info *s = HYPERVISOR_shared_info;
    /* Start from "everything masked", like Linux and Mini-OS: a port only
     * interrupts once a driver has bound it. */
    for (int i = 0; i < 32; i++) {
        WRITE_ONCE(s->evtchn_mask[i], ~0u);
        WRITE_ONCE(s->evtchn_pending[i], 0);
    }
    memset(handlers, 0, sizeof(handlers));
    HYPERVISOR_set_callbacks(FLAT_KERNEL_CS, hypervisor_callback,
                             FLAT_KERNEL_CS, failsafe_callback);
}

unsigned long local_irq_save(void)
{
    struct vcpu_info *v = vcpu0();
    unsigned long old = v->evtchn_upcall_mask;
    WRITE_ONCE(v->evtchn_upcall_mask, 1);
    barrier();
    return old;
}

void local_irq_restore(unsigned long flags)
{
    struct vcpu_info *v = vcpu0();
    barrier();
    WRITE_ONCE(v->evtchn_upcall_mask, (u8)flags);
    barrier();
    /* An event that came in while masked only set upcall_pending. */
    if (!flags && READ_ONCE(v->evtchn_upcall_pending))
        force_evtchn_callback();
}

void force_evtchn_callback(void)
{
    HYPERVISOR_xen_version(0, NULL);
}

void evtchn_bind(evtchn_port_t port, evtchn_handler_t fn, void *data)
{
    if (port >= NR_EVENT_CHANNELS)
        return;
    handlers[port].fn = fn;
    handlers[port].data = data;
    evtchn_unmask(port);
}

void evtchn_unbind(evtchn_port_t port)
{
    if (port >= NR_EVENT_CHANNELS)
        return;
    evtchn_mask(port);
    handlers[port].fn = NULL;
    handlers[port].data = NULL;
}

int evtchn_bind_virq(u32 virq, evtchn_handler_t fn, void *data)
{
    struct evtchn_bind_virq op = { virq, 0, 0 };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &op);
    if (rc < 0)
        return rc;
    evtchn_bind(op.port, fn, data);
    return op.port;
}

int evtchn_alloc_unbound(domid_t remote, evtchn_handler_t fn, void *data)
{
    struct evtchn_alloc_unbound op = { DOMID_SELF, remote, 0 };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &op);
    if (rc < 0)
        return rc;
    evtchn_bind(op.port, fn, data);
    return op.port;
}

int evtchn_send(evtchn_port_t port)
{
    struct evtchn_port_arg op = { port };
    return HYPERVISOR_event_channel_op(EVTCHNOP_send, &op);
}

int evtchn_close(evtchn_port_t port)
{
    struct evtchn_port_arg op = { port };
    evtchn_unbind(port);
    return HYPERVISOR_event_channel_op(EVTCHNOP_close, &op);
}

void evtchn_mask(evtchn_port_t port)
{
    set_bit32(HYPERVISOR_shared_info->evtchn_mask, port);
}

void evtchn_clear(evtchn_port_t port)
{
    clear_bit32(HYPERVISOR_shared_info->evtchn_pending, port);
}

/* A masked edge is lost, so after clearing the mask re-raise a pending bit
 * by hand (Mini-OS unmask_evtchn; xen-abi.md §4). */
void evtchn_unmask(evtchn_port_t port)
{
    struct shared_info *s = HYPERVISOR_shared_info;
    struct vcpu_info *v = vcpu0();

    clear_bit32(s->evtchn_mask, port);
    if (test_bit32(s->evtchn_pending, port) &&
        !test_and_set_bit32(&v->evtchn_pending_sel, port / 32)) {
        WRITE_ONCE(v->evtchn_upcall_pending, 1);
        if (!READ_ONCE(v->evtchn_upcall_mask))
            force_evtchn_callback();
    }
}

u32 evtchn_count(evtchn_port_t port)
{
    return port < NR_EVENT_CHANNELS ? READ_ONCE(handlers[port].count) : 0;
}
