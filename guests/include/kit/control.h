/*
 * The toolstack's shutdown requests (docs/misc/xenstore-paths.pandoc,
 * libxl_domain.c): it writes poweroff, reboot, halt or suspend to
 * ~/control/shutdown; the guest writes "" back and calls SCHEDOP_shutdown
 * with the matching reason (sched.h: poweroff 0, reboot 1, suspend 2).
 */
#ifndef KIT_CONTROL_H
#define KIT_CONTROL_H
#include <kit/xenstore.h>

#define CONTROL_TOKEN "control"

/* Watches control/shutdown (the watch fires once at once, xenstore.txt). */
int control_init(void);
int control_is_event(const struct xs_watch_event *ev);
/* Reads control/shutdown; if it holds a request, acknowledges it with ""
 * (in a transaction, retried on EAGAIN, as Linux's shutdown_handler) and
 * returns its SHUTDOWN_* reason; -1 if empty, absent or unknown. */
int control_check(void);
/* "poweroff", "reboot", "suspend", "crash", or "?" */
const char *control_reason_name(int reason);
/* Acts on a reason: shuts down (no return) or, for suspend, suspends and
 * returns kit_suspend()'s result once running again. */
int control_act(int reason);

#endif
