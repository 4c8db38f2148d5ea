/*
 * Event channels (event_channel.h) and the virtual interrupt flag.
 *
 * Handlers run in upcall context with events masked; they must be short and
 * must not print or block. The kit's own handlers do nothing: every driver
 * polls its ring from the main thread, and an event only wakes the vCPU from
 * SCHEDOP_block. That keeps all ring state single-threaded.
 */
#ifndef KIT_EVENTS_H
#define KIT_EVENTS_H
#include <kit/xen.h>

typedef void (*evtchn_handler_t)(evtchn_port_t port, void *data);

/* Masks every port and registers the upcall and failsafe callbacks. */
void events_init(void);
/* Installs a handler for an already-bound port (console, xenstore) and
 * unmasks it. A NULL handler means "wake only". */
void evtchn_bind(evtchn_port_t port, evtchn_handler_t fn, void *data);
void evtchn_unbind(evtchn_port_t port);
/* Return the new port, or -errno. */
int evtchn_bind_virq(u32 virq, evtchn_handler_t fn, void *data);
int evtchn_alloc_unbound(domid_t remote, evtchn_handler_t fn, void *data);
int evtchn_send(evtchn_port_t port);
int evtchn_close(evtchn_port_t port);
void evtchn_mask(evtchn_port_t port);
void evtchn_unmask(evtchn_port_t port);
void evtchn_clear(evtchn_port_t port);
/* How many times the port has been dispatched (wraps). */
u32 evtchn_count(evtchn_port_t port);

/* The virtual IF: vcpu_info[0].evtchn_upcall_mask (1 = events held). */
unsigned long local_irq_save(void);
void local_irq_restore(unsigned long flags);
#define local_irq_disable() ((void)local_irq_save())
#define local_irq_enable() local_irq_restore(0)
/* Any hypercall returns through Xen's event check, which delivers pending
 * upcalls (Mini-OS uses xen_version(0) the same way). */
void force_evtchn_callback(void);

#endif
