/*
 * balloon: follows ~/memory/target (KiB) with the kit's balloon driver.
 *
 * Console output (exact; 32 MiB domain shown):
 *
 *   balloon: reservation 8192 pages
 *   balloon: target 32768 KiB, now 8192 pages
 *   balloon: target 16384 KiB, now 4096 pages
 *   ...
 *
 * Line 1 is XENMEM_current_reservation at start. Then one line per new
 * value of memory/target, starting with the value present when the watch
 * is set (xenstore fires a new watch once at once; nothing is printed if
 * the node does not exist yet). "now M pages" is
 * XENMEM_current_reservation after ballooning to target/4 pages, clamped
 * to [pages the kernel uses, start_info.nr_pages].
 *
 * control/shutdown is honoured as in ticker: "balloon: poweroff requested"
 * or "balloon: reboot requested", then SCHEDOP_shutdown with that reason;
 * "balloon: suspend requested" ... "balloon: resumed".
 */
#include <kit/kit.h>
#include <kit/balloon.h>
#include <kit/control.h>

static long reservation(void)
{
    long r = balloon_reservation();
    return r >= 0 ? r : (long)balloon_pages();
}

void guest_main(void)
{
    kit_init(KIT_DEFAULT);
    balloon_init();
    printf("balloon: reservation %ld pages\n", reservation());
    control_init();
    balloon_watch();

    u64 last_kib = ~0ull;
    for (;;) {
        struct xs_watch_event ev;
        xs_next_watch(&ev, 0);
        if (control_is_event(&ev)) {
            int reason = control_check();
            if (reason < 0)
                continue;
            printf("balloon: %s requested\n", control_reason_name(reason));
            control_act(reason);
            printf("balloon: resumed\n");
            continue;
        }
        u64 kib;
        if (strcmp(ev.token, BALLOON_TOKEN) || balloon_read_target(&kib) < 0 ||
            kib == last_kib)
            continue;
        last_kib = kib;
        balloon_set_target((u32)(kib / 4 > 0xFFFFFFFFull ? 0xFFFFFFFFull : kib / 4));
        printf("balloon: target %llu KiB, now %ld pages\n", kib, reservation());
    }
}
