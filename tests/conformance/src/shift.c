/* Shift and rotate conformance: SHL SHR SAR ROL ROR RCL RCR in 8-, 16- and
 * 32-bit size, by 1 (D0/D1), by CL (D2/D3) and by imm8 (C0/C1, including an
 * explicit C1 /r 01 that gas would never pick), on registers and memory;
 * SHLD/SHRD by imm8 and CL, 16- and 32-bit, register and memory destination.
 *
 * Counts cover 0, 1, >1, the operand size and beyond, and values that the
 * 5-bit count mask folds back (32, 33, 63, 255). Flags compared, from Intel SDM
 * Vol. 2 "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR" and "SHLD"/"SHRD":
 *  - masked count 0: nothing changes, all six status flags compared;
 *  - shifts: CF SF ZF PF; OF only for a masked count of 1; AF undefined; CF
 *    undefined for SHL/SHR when the count is >= the operand size;
 *  - rotates: CF; OF only for a masked count of 1; SF ZF AF PF never change;
 *  - SHLD/SHRD: CF SF ZF PF, OF only for count 1, AF undefined; for a count
 *    greater than the operand size (16-bit only) result and flags undefined. */
#include "insn.h"

static u32 mem;

enum kind { K_SHL, K_SHR, K_SAR, K_ROT };

static u32 shift_mask(enum kind k, int bits, u32 count)
{
	u32 c = count & 31, m;
	if (c == 0)
		return F_ARITH;
	if (k == K_ROT)
		return F_CF | F_PF | F_AF | F_ZF | F_SF | (c == 1 ? F_OF : 0);
	m = F_CF | F_PF | F_ZF | F_SF | (c == 1 ? F_OF : 0);
	if (k != K_SAR && c >= (u32)bits)
		m &= ~F_CF;
	return m;
}

/* by CL, register */
#define SCL(fn, ins, M, C)                                                     \
	static NOINLINE u32 fn(u32 d, u32 n, u32 fi, u32 *fo)                  \
	{                                                                      \
		__asm__ volatile(FL_IN ins " %%cl, %" M "[d]" FL_OUT           \
				 : [d] "+" C(d), [f] "+r"(fi)                  \
				 : [n] "c"(n)                                  \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return d;                                                      \
	}
/* by CL, memory */
#define SCLM(fn, ins)                                                          \
	static NOINLINE u32 fn(u32 d, u32 n, u32 fi, u32 *fo)                  \
	{                                                                      \
		mem = d;                                                       \
		__asm__ volatile(FL_IN ins " %%cl, (%[p])" FL_OUT              \
				 : [f] "+r"(fi)                                \
				 : [n] "c"(n), [p] "r"(&mem)                   \
				 : "cc", "memory");                            \
		*fo = fi;                                                      \
		return mem;                                                    \
	}
/* by 1 (D0/D1), register and memory */
#define S1(fn, ins, M, C)                                                      \
	static NOINLINE u32 fn(u32 d, u32 n, u32 fi, u32 *fo)                  \
	{                                                                      \
		(void)n;                                                       \
		__asm__ volatile(FL_IN ins " %" M "[d]" FL_OUT                 \
				 : [d] "+" C(d), [f] "+r"(fi)                  \
				 :                                             \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return d;                                                      \
	}
#define S1M(fn, ins)                                                           \
	static NOINLINE u32 fn(u32 d, u32 n, u32 fi, u32 *fo)                  \
	{                                                                      \
		(void)n;                                                       \
		mem = d;                                                       \
		__asm__ volatile(FL_IN ins " (%[p])" FL_OUT                    \
				 : [f] "+r"(fi)                                \
				 : [p] "r"(&mem)                               \
				 : "cc", "memory");                            \
		*fo = fi;                                                      \
		return mem;                                                    \
	}
/* by imm8, register (C0/C1) and memory */
#define SI(fn, ins, M, C, imm)                                                 \
	static NOINLINE u32 fn(u32 d, u32 n, u32 fi, u32 *fo)                  \
	{                                                                      \
		(void)n;                                                       \
		__asm__ volatile(FL_IN ins " %[i], %" M "[d]" FL_OUT           \
				 : [d] "+" C(d), [f] "+r"(fi)                  \
				 : [i] "i"(imm)                                \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return d;                                                      \
	}
#define SIM(fn, ins, imm)                                                      \
	static NOINLINE u32 fn(u32 d, u32 n, u32 fi, u32 *fo)                  \
	{                                                                      \
		(void)n;                                                       \
		mem = d;                                                       \
		__asm__ volatile(FL_IN ins " %[i], (%[p])" FL_OUT              \
				 : [f] "+r"(fi)                                \
				 : [i] "i"(imm), [p] "r"(&mem)                 \
				 : "cc", "memory");                            \
		*fo = fi;                                                      \
		return mem;                                                    \
	}
/* C1 /r ib with ib = 1 on EAX, spelled in bytes: gas always uses D1 for a
 * count of 1, but the C1 form with count 1 must set OF the same way. */
#define SI1E(fn, modrm)                                                        \
	static NOINLINE u32 fn(u32 d, u32 n, u32 fi, u32 *fo)                  \
	{                                                                      \
		(void)n;                                                       \
		__asm__ volatile(FL_IN ".byte 0xc1, " #modrm ", 1" FL_OUT      \
				 : "+a"(d), [f] "+r"(fi)                       \
				 :                                             \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return d;                                                      \
	}

#define ICOUNTS(X, ...) X(__VA_ARGS__, 0, 0) X(__VA_ARGS__, 1, 2) X(__VA_ARGS__, 2, 7) \
	X(__VA_ARGS__, 3, 8) X(__VA_ARGS__, 4, 9) X(__VA_ARGS__, 5, 16)                     \
	X(__VA_ARGS__, 6, 17) X(__VA_ARGS__, 7, 31) X(__VA_ARGS__, 8, 32)                   \
	X(__VA_ARGS__, 9, 33)
#define NICOUNT 10

struct cnt_fn {
	bin_fn fn;
	u32 n;
};
#define DEF_SI(op, S, M, C, i, imm)                                            \
	SI(op##_##S##_i##i, #op #S, M, C, imm)                                 \
	SIM(op##_##S##_mi##i, #op #S, imm)
#define TAB_SI(op, S, M, C, i, imm) {op##_##S##_i##i, imm},
#define TAB_SIM(op, S, M, C, i, imm) {op##_##S##_mi##i, imm},

#define DEF_SH(op, S, M, C)                                                    \
	SCL(op##_##S##_cl, #op #S, M, C)                                       \
	SCLM(op##_##S##_mcl, #op #S)                                           \
	S1(op##_##S##_1, #op #S, M, C)                                         \
	S1M(op##_##S##_m1, #op #S)                                             \
	ICOUNTS(DEF_SI, op, S, M, C)                                           \
	static const struct cnt_fn op##_##S##_imm[2][NICOUNT] = {              \
		{ICOUNTS(TAB_SI, op, S, M, C)}, {ICOUNTS(TAB_SIM, op, S, M, C)}};
#define DEF_SH3(op)                                                            \
	DEF_SH(op, b, "b", "q")                                                \
	DEF_SH(op, w, "w", "r")                                                \
	DEF_SH(op, l, "k", "r")

DEF_SH3(shl)
DEF_SH3(shr)
DEF_SH3(sar)
DEF_SH3(rol)
DEF_SH3(ror)
DEF_SH3(rcl)
DEF_SH3(rcr)
SI1E(rol_l_c1, 0xc0)
SI1E(ror_l_c1, 0xc8)
SI1E(rcl_l_c1, 0xd0)
SI1E(rcr_l_c1, 0xd8)
SI1E(shl_l_c1, 0xe0)
SI1E(shr_l_c1, 0xe8)
SI1E(sar_l_c1, 0xf8)

/* Counts tried through CL. */
static const u32 cl_counts[] = {0, 1, 2, 3, 4, 7, 8, 9, 10, 15, 16, 17, 18,
				24, 27, 31, 32, 33, 63, 0xff};

static void sweep(enum kind k, bin_fn fn, int bits, u32 n)
{
	int nv;
	const u32 *v = vals_for(bits, &nv);
	u32 m = width_mask(bits);
	for (int i = 0; i < nv; i++)
		for (int j = 0; j < NFIN; j++) {
			u32 d = v[i] | (JUNK_D & ~m);
			/* CL's register also carries junk above the count byte:
			 * only CL counts. */
			u32 f, r = fn(d, n | 0x3700, flags_base | fin_pat[j], &f);
			rec3(d, n, fin_pat[j], r, f & shift_mask(k, bits, n));
		}
}

static void run_cl(const char *name, enum kind k, bin_fn fn, int bits)
{
	grp_begin(name);
	for (u32 c = 0; c < NELEM(cl_counts); c++)
		sweep(k, fn, bits, cl_counts[c]);
	grp_end();
}

static void run_fixed(const char *name, enum kind k, bin_fn fn, int bits, u32 n)
{
	grp_begin(name);
	sweep(k, fn, bits, n);
	grp_end();
}

static void run_imm(const char *name, enum kind k, const struct cnt_fn (*t)[NICOUNT], int bits)
{
	grp_begin(name);
	for (int f = 0; f < 2; f++)
		for (int i = 0; i < NICOUNT; i++)
			sweep(k, t[f][i].fn, bits, t[f][i].n);
	grp_end();
}

#define RUN_SH(op, S, bits, k)                                                 \
	do {                                                                   \
		run_cl(#op "." #S ".cl", k, op##_##S##_cl, bits);              \
		run_cl(#op "." #S ".mcl", k, op##_##S##_mcl, bits);            \
		run_fixed(#op "." #S ".1", k, op##_##S##_1, bits, 1);          \
		run_fixed(#op "." #S ".m1", k, op##_##S##_m1, bits, 1);        \
		run_imm(#op "." #S ".imm", k, op##_##S##_imm, bits);           \
	} while (0)
#define RUN_SH3(op, k)                                                         \
	do {                                                                   \
		RUN_SH(op, b, 8, k);                                           \
		RUN_SH(op, w, 16, k);                                          \
		RUN_SH(op, l, 32, k);                                          \
		run_fixed(#op ".l.c1", k, op##_l_c1, 32, 1);                   \
	} while (0)

/* ---- SHLD / SHRD ---- */

struct dres {
	u32 r, f;
};
static u32 dmem;

#define DCL(fn, ins, M)                                                        \
	static NOINLINE u32 fn(u32 d, u32 s, u32 n, u32 fi, u32 *fo)           \
	{                                                                      \
		__asm__ volatile(FL_IN ins " %%cl, %" M "[s], %" M "[d]" FL_OUT \
				 : [d] "+r"(d), [f] "+r"(fi)                   \
				 : [s] "r"(s), [n] "c"(n)                      \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return d;                                                      \
	}
#define DCLM(fn, ins, M)                                                       \
	static NOINLINE u32 fn(u32 d, u32 s, u32 n, u32 fi, u32 *fo)           \
	{                                                                      \
		dmem = d;                                                      \
		__asm__ volatile(FL_IN ins " %%cl, %" M "[s], (%[p])" FL_OUT   \
				 : [f] "+r"(fi)                                \
				 : [s] "r"(s), [n] "c"(n), [p] "r"(&dmem)      \
				 : "cc", "memory");                            \
		*fo = fi;                                                      \
		return dmem;                                                   \
	}
#define DI(fn, ins, M, imm)                                                    \
	static NOINLINE u32 fn(u32 d, u32 s, u32 n, u32 fi, u32 *fo)           \
	{                                                                      \
		(void)n;                                                       \
		__asm__ volatile(FL_IN ins " %[i], %" M "[s], %" M "[d]" FL_OUT \
				 : [d] "+r"(d), [f] "+r"(fi)                   \
				 : [s] "r"(s), [i] "i"(imm)                    \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return d;                                                      \
	}
#define DIM(fn, ins, M, imm)                                                   \
	static NOINLINE u32 fn(u32 d, u32 s, u32 n, u32 fi, u32 *fo)           \
	{                                                                      \
		(void)n;                                                       \
		dmem = d;                                                      \
		__asm__ volatile(FL_IN ins " %[i], %" M "[s], (%[p])" FL_OUT   \
				 : [f] "+r"(fi)                                \
				 : [s] "r"(s), [i] "i"(imm), [p] "r"(&dmem)    \
				 : "cc", "memory");                            \
		*fo = fi;                                                      \
		return dmem;                                                   \
	}
typedef u32 (*dfn)(u32 d, u32 s, u32 n, u32 fi, u32 *fo);
struct dcnt_fn {
	dfn fn;
	u32 n;
};
#define DCOUNTS(X, ...) X(__VA_ARGS__, 0, 0) X(__VA_ARGS__, 1, 1) X(__VA_ARGS__, 2, 4) \
	X(__VA_ARGS__, 3, 8) X(__VA_ARGS__, 4, 15) X(__VA_ARGS__, 5, 16)                    \
	X(__VA_ARGS__, 6, 31)
#define NDCOUNT 7
#define DEF_DI(op, S, M, i, imm)                                               \
	DI(op##_##S##_i##i, #op #S, M, imm)                                    \
	DIM(op##_##S##_mi##i, #op #S, M, imm)
#define TAB_DI(op, S, M, i, imm) {op##_##S##_i##i, imm},
#define TAB_DIM(op, S, M, i, imm) {op##_##S##_mi##i, imm},
#define DEF_D(op, S, M)                                                        \
	DCL(op##_##S##_cl, #op #S, M)                                          \
	DCLM(op##_##S##_mcl, #op #S, M)                                        \
	DCOUNTS(DEF_DI, op, S, M)                                              \
	static const struct dcnt_fn op##_##S##_imm[2][NDCOUNT] = {             \
		{DCOUNTS(TAB_DI, op, S, M)}, {DCOUNTS(TAB_DIM, op, S, M)}};
DEF_D(shld, w, "w")
DEF_D(shld, l, "k")
DEF_D(shrd, w, "w")
DEF_D(shrd, l, "k")

static const u32 d_counts[] = {0, 1, 2, 4, 8, 15, 16, 17, 24, 31, 32, 33};

static void dsweep(dfn fn, int bits, u32 n)
{
	int nv;
	const u32 *v = vals_for(bits, &nv);
	u32 m = width_mask(bits), c = n & 31;
	u32 fm = c == 0 ? F_ARITH : F_CF | F_PF | F_ZF | F_SF | (c == 1 ? F_OF : 0);
	u32 rm = 0xffffffffu;
	if (c > (u32)bits) /* "DEST is undefined; CF, OF, SF, ZF, AF, PF are undefined" */
		fm = 0, rm = ~m;
	for (int i = 0; i < nv; i++)
		for (int j = 0; j < nv; j += 2)
			for (int k = 0; k < NFIN; k++) {
				u32 d = v[i] | (JUNK_D & ~m), s = v[j] | (JUNK_S & ~m);
				u32 f, r = fn(d, s, n | 0x2900, flags_base | fin_pat[k], &f);
				rec4(d, s, n, fin_pat[k], r & rm, 0, f & fm);
			}
}

static void run_dcl(const char *name, dfn fn, int bits)
{
	grp_begin(name);
	for (u32 c = 0; c < NELEM(d_counts); c++)
		dsweep(fn, bits, d_counts[c]);
	grp_end();
}

static void run_dimm(const char *name, const struct dcnt_fn (*t)[NDCOUNT], int bits)
{
	grp_begin(name);
	for (int f = 0; f < 2; f++)
		for (int i = 0; i < NDCOUNT; i++)
			dsweep(t[f][i].fn, bits, t[f][i].n);
	grp_end();
}

int main(void)
{
	RUN_SH3(shl, K_SHL);
	RUN_SH3(shr, K_SHR);
	RUN_SH3(sar, K_SAR);
	RUN_SH3(rol, K_ROT);
	RUN_SH3(ror, K_ROT);
	RUN_SH3(rcl, K_ROT);
	RUN_SH3(rcr, K_ROT);
	run_dcl("shld.w.cl", shld_w_cl, 16);
	run_dcl("shld.w.mcl", shld_w_mcl, 16);
	run_dimm("shld.w.imm", shld_w_imm, 16);
	run_dcl("shld.l.cl", shld_l_cl, 32);
	run_dcl("shld.l.mcl", shld_l_mcl, 32);
	run_dimm("shld.l.imm", shld_l_imm, 32);
	run_dcl("shrd.w.cl", shrd_w_cl, 16);
	run_dcl("shrd.w.mcl", shrd_w_mcl, 16);
	run_dimm("shrd.w.imm", shrd_w_imm, 16);
	run_dcl("shrd.l.cl", shrd_l_cl, 32);
	run_dcl("shrd.l.mcl", shrd_l_mcl, 32);
	run_dimm("shrd.l.imm", shrd_l_imm, 32);
	return 0;
}
