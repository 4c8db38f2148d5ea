/*
 * hcfuzz: issues random hypercalls with random arguments, for the isolation fuzz test.
 * The seed and the number of calls come from the command line ("seed=N calls=M").
 * Whatever the hypervisor answers, this guest only hurts itself.
 *
 * Console output (exact, if the guest survives its own calls):
 *
 *   hcfuzz: seed S calls M
 *   hcfuzz: done
 *
 * It may instead shut itself down or crash (a random SCHEDOP_shutdown, a trap
 * table pointing nowhere, an unmapped page...): that is the point.
 */
#include <kit/kit.h>
#include <kit/hypercall.h>

static u32 state;

/* A hypercall whose number is only known at run time: call stub nr of the page. */
static long hypercall_any(u32 nr, u32 a1, u32 a2, u32 a3, u32 a4, u32 a5)
{
    long r, b, c, d, S, D;
    void *stub = hypercall_page + nr * 32;
    __asm__ __volatile__("call *%[stub]"
        : "=a"(r), "=b"(b), "=c"(c), "=d"(d), "=S"(S), "=D"(D)
        : [stub] "m"(stub), "1"(a1), "2"(a2), "3"(a3), "4"(a4), "5"(a5)
        : "memory");
    (void)b; (void)c; (void)d; (void)S; (void)D;
    return r;
}

static u32 rnd(void)
{
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}

static u32 arg_for(void)
{
    static u8 buffer[4096] __attribute__((aligned(4096)));
    switch (rnd() % 6) {
    case 0: return 0;
    case 1: return rnd() % 64;                           /* small command numbers */
    case 2: return (u32)buffer + (rnd() % 4096);         /* a valid pointer */
    case 3: return 0xf5800000u + (rnd() % 0x800000);      /* the hypervisor hole */
    case 4: return rnd();                                /* anything */
    default: return (u32)&buffer[rnd() % 64] & ~3u;      /* an aligned valid pointer */
    }
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
    const char *cmd = (const char *)start_info->cmd_line;
    state = parse(cmd, "seed=", 1) | 1;
    u32 calls = parse(cmd, "calls=", 1000);
    printf("hcfuzz: seed %u calls %u\n", state, calls);
    for (u32 k = 0; k < calls; k++) {
        u32 nr = rnd() % 48;
        /* Skip calls that would end the test early without exercising anything new:
         * iret with a random frame, and sched_op block (nobody would wake us). */
        if (nr == 23)
            continue;
        u32 a1 = arg_for(), a2 = arg_for(), a3 = arg_for(), a4 = arg_for(), a5 = arg_for();
        if ((nr == 29 || nr == 6) && a1 == 1)
            continue;                                    /* SCHEDOP_block */
        hypercall_any(nr, a1, a2, a3, a4, a5);
    }
    printf("hcfuzz: done\n");
    struct sched_shutdown s = { .reason = SHUTDOWN_poweroff };
    HYPERVISOR_sched_op(SCHEDOP_shutdown, &s);
}
