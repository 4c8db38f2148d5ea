/*
 * 64-bit division helpers that gcc calls on i386 (__udivdi3, __umoddi3).
 * The kit defines them so the images do not depend on the host's libgcc,
 * whose CET build starts each function with endbr32 (F3 0F 1E FB): a NOP
 * on real CPUs, but one more opcode an emulator would have to know.
 * A 32-bit divisor (every use in the kit: /10, /16, /1e9) takes two divl;
 * a wider one falls back to shift-and-subtract.
 */
#include <kit/xen.h>

u64 __udivmoddi4(u64 n, u64 d, u64 *rem);
u64 __udivdi3(u64 n, u64 d);
u64 __umoddi3(u64 n, u64 d);

/* edx:eax / d -> quotient eax, remainder edx; needs hi < d. */
static inline u32 divl(u32 hi, u32 lo, u32 d, u32 *r)
{
    u32 q;
    __asm__("divl %4" : "=a"(q), "=d"(*r) : "a"(lo), "d"(hi), "rm"(d));
    return q;
}

u64 __udivmoddi4(u64 n, u64 d, u64 *rem)
{
    u64 q;
    if (d == 0) {
        volatile u32 zero = 0;
        return 1 / zero;                  /* #DE, as the hardware would */
    }
    if ((d >> 32) == 0) {
        u32 r, hi = (u32)(n >> 32), lo = (u32)n, dd = (u32)d;
        u32 qhi = divl(0, hi, dd, &r);    /* r < dd, so the next fits */
        u32 qlo = divl(r, lo, dd, &r);
        q = ((u64)qhi << 32) | qlo;
        if (rem)
            *rem = r;
        return q;
    }
    u64 r = 0;
    q = 0;
    for (int i = 63; i >= 0; i--) {
        r = (r << 1) | ((n >> i) & 1);
        if (r >= d) {
            r -= d;
            q |= 1ull << i;
        }
    }
    if (rem)
        *rem = r;
    return q;
}

u64 __udivdi3(u64 n, u64 d) { return __udivmoddi4(n, d, NULL); }

u64 __umoddi3(u64 n, u64 d)
{
    u64 r;
    __udivmoddi4(n, d, &r);
    return r;
}
