/*
 * ticker: one line per second until the toolstack asks it to stop.
 *
 * Console output (exact):
 *
 *   ticker: ready                      once control/shutdown is watched
 *   tick 1                             1 s of system time after "ready"
 *   tick 2                             and so on, N counting from 1
 *   ...
 *
 * When ~/control/shutdown is set (the request is acknowledged with ""):
 *   "poweroff" or "halt" -> "ticker: poweroff requested", then
 *                           SCHEDOP_shutdown(poweroff = 0)
 *   "reboot"             -> "ticker: reboot requested", then
 *                           SCHEDOP_shutdown(reboot = 1)
 *   "suspend"            -> "ticker: suspend requested", SCHEDOP_shutdown
 *                           (suspend = 2); once running again
 *                           "ticker: resumed" and ticking goes on from the
 *                           next N, one second later.
 *
 * Timing: the one-shot timer (set_timer_op) plus SCHEDOP_block, waking for
 * either the deadline or a xenstore event; ticks keep a 1 s cadence from
 * "ready" and resynchronise if the domain was stalled for over a second.
 */
#include <kit/kit.h>
#include <kit/control.h>

void guest_main(void)
{
    kit_init(KIT_DEFAULT);
    control_init();
    printf("ticker: ready\n");

    u32 n = 0;
    u64 next = now_ns() + NSEC_PER_SEC;
    for (;;) {
        struct xs_watch_event ev;
        if (xs_next_watch(&ev, next)) {
            int reason = control_is_event(&ev) ? control_check() : -1;
            if (reason < 0)
                continue;
            printf("ticker: %s requested\n", control_reason_name(reason));
            control_act(reason);           /* returns only after suspend */
            printf("ticker: resumed\n");
            next = now_ns() + NSEC_PER_SEC;
            continue;
        }
        printf("tick %u\n", ++n);
        next += NSEC_PER_SEC;
        u64 now = now_ns();
        if (next <= now)
            next = now + NSEC_PER_SEC;
    }
}
