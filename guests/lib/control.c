/* Shutdown requests from the toolstack through xenstore (see control.h). */
#include <kit/kit.h>
#include <kit/control.h>

#define NODE "control/shutdown"

static const struct { const char *request; int reason; } requests[] = {
    { "poweroff", SHUTDOWN_poweroff },
    { "halt", SHUTDOWN_poweroff },        /* Linux treats halt as poweroff */
    { "reboot", SHUTDOWN_reboot },
    { "suspend", SHUTDOWN_suspend },
};

int control_init(void)
{
    return xs_watch(NODE, CONTROL_TOKEN);
}

int control_is_event(const struct xs_watch_event *ev)
{
    return !strcmp(ev->token, CONTROL_TOKEN);
}

int control_check(void)
{
    char value[32];
    for (;;) {
        u32 tx = XBT_NIL;
        int have_tx = xs_transaction_start(&tx) == 0;
        int n = xs_read(tx, NODE, value, sizeof(value));
        if (n <= 0) {                     /* absent, empty or error */
            if (have_tx)
                xs_transaction_end(tx, 1);
            return -1;
        }
        xs_write(tx, NODE, "");
        if (have_tx && xs_transaction_end(tx, 0) == -11 /* EAGAIN */)
            continue;
        for (u32 i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
            if (!strcmp(value, requests[i].request))
                return requests[i].reason;
        return -1;
    }
}

const char *control_reason_name(int reason)
{
    switch (reason) {
    case SHUTDOWN_poweroff: return "poweroff";
    case SHUTDOWN_reboot: return "reboot";
    case SHUTDOWN_suspend: return "suspend";
    case SHUTDOWN_crash: return "crash";
    default: return "?";
    }
}

int control_act(int reason)
{
    if (reason == SHUTDOWN_suspend)
        return kit_suspend();
    kit_shutdown((u32)reason);
}
