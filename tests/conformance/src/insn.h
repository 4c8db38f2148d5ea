/* Helpers shared by the instruction conformance programs: inline-asm
 * wrappers that load EFLAGS, run one instruction and capture EFLAGS, plus the
 * drivers that sweep them over the operand tables.
 *
 * Rules every wrapper follows (so the same code is valid natively and in the
 * emulator): operands live in registers or in static memory addressed by a
 * register (never an ESP-relative "m" operand: the asm pushes and pops, which
 * would move such an operand); stack addresses are never hashed or printed
 * (the stack is placed differently by Linux and by the emulator's loader). */
#ifndef INSN_H
#define INSN_H
#include "rt.h"

/* Upper bits put in 8- and 16-bit operands' registers: a narrow write must
 * leave them as they were. */
#define JUNK_D 0xa5c3e187u
#define JUNK_S 0x5a3c1e78u

/* "pushl fin; popfl" then the instruction, then "pushfl; popl fout". */
#define FL_IN "pushl %[f]\n\tpopfl\n\t"
#define FL_OUT "\n\tpushfl\n\tpopl %[f]"

static inline u32 width_mask(int bits)
{
	return bits == 32 ? 0xffffffffu : (1u << bits) - 1;
}

static inline const u32 *vals_for(int bits, int *n)
{
	if (bits == 8) {
		*n = nv8;
		return v8;
	}
	if (bits == 16) {
		*n = nv16;
		return v16;
	}
	*n = nv32;
	return v32;
}

/* dst = fn(dst, src) with flags in/out. */
typedef u32 (*bin_fn)(u32 d, u32 s, u32 fin, u32 *fout);
/* dst = fn(dst) with flags in/out. */
typedef u32 (*un_fn)(u32 d, u32 fin, u32 *fout);

/* Sweep a binary form over every (dst, src, input flags) triple. */
void run_bin(const char *name, bin_fn fn, int bits, u32 fmask);
/* Sweep over dst values and input flags, with a fixed src (e.g. an immediate
 * baked into the instruction). */
void run_bin_fixed(const char *name, bin_fn fn, int bits, u32 src, u32 fmask);
void run_un(const char *name, un_fn fn, int bits, u32 fmask);

#endif
