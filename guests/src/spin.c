/*
 * spin: a CPU-bound guest for scheduler tests and benchmarks. It never blocks.
 *
 * Console output (exact):
 *
 *   spin: ready
 *
 * then nothing: it computes forever (the toolstack destroys it). The work is an
 * LCG over a small array, so the loop touches memory as real code does.
 */
#include <kit/kit.h>

static volatile u32 sink[64];

void guest_main(void)
{
    kit_init(KIT_TRAPS);
    printf("spin: ready\n");
    u32 x = 1;
    for (;;) {
        for (u32 k = 0; k < 64; k++) {
            x = x * 1664525u + 1013904223u;
            sink[k] ^= x;
        }
    }
}
