/* ALU conformance: ADD OR ADC SBB AND SUB XOR CMP TEST INC DEC NEG NOT in 8-,
 * 16- and 32-bit operand size, in every encoding gcc and hand-written code
 * use: reg,reg (both direction bits: 00-03 /r with mod=11), reg,mem, mem,reg,
 * LOCK mem,reg, reg,imm (80/81/83 groups and the AL/AX/EAX short forms
 * 04/05...), mem,imm, and for 8-bit the high-byte registers AH/CH/DH/BH.
 *
 * Flags compared (Intel SDM Vol. 2, "Flags Affected" of each instruction):
 * all six status flags for ADD ADC SUB SBB CMP NEG INC DEC (INC/DEC leave CF
 * unchanged, NOT changes none; both are checked with every input pattern);
 * AND OR XOR TEST leave AF undefined, so AF is masked there. */
#include "insn.h"

static u32 mem;

/* reg, reg (gas's default: the 00/01-style "store" encoding). */
#define RR(fn, ins, M, C, pfx)                                                 \
	static NOINLINE u32 fn(u32 d, u32 s, u32 fi, u32 *fo)                  \
	{                                                                      \
		__asm__ volatile(FL_IN pfx ins " %" M "[s], %" M "[d]" FL_OUT  \
				 : [d] "+" C(d), [f] "+r"(fi)                  \
				 : [s] C(s)                                    \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return d;                                                      \
	}
/* 8-bit high registers: the operand byte is rotated into bits 8..15 and the
 * junk around it stays where it was. */
#define RRH(fn, ins)                                                           \
	static NOINLINE u32 fn(u32 d, u32 s, u32 fi, u32 *fo)                  \
	{                                                                      \
		d = (d << 8) | (d >> 24);                                      \
		s = (s << 8) | (s >> 24);                                      \
		__asm__ volatile(FL_IN ins " %h[s], %h[d]" FL_OUT              \
				 : [d] "+Q"(d), [f] "+r"(fi)                   \
				 : [s] "Q"(s)                                  \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return (d >> 8) | (d << 24);                                   \
	}
/* reg, [mem] */
#define RM(fn, ins, M, C)                                                      \
	static NOINLINE u32 fn(u32 d, u32 s, u32 fi, u32 *fo)                  \
	{                                                                      \
		mem = s;                                                       \
		__asm__ volatile(FL_IN ins " (%[p]), %" M "[d]" FL_OUT         \
				 : [d] "+" C(d), [f] "+r"(fi)                  \
				 : [p] "r"(&mem)                               \
				 : "cc", "memory");                            \
		*fo = fi;                                                      \
		return d;                                                      \
	}
/* [mem], reg (optionally LOCKed) */
#define MR(fn, ins, M, C, pfx)                                                 \
	static NOINLINE u32 fn(u32 d, u32 s, u32 fi, u32 *fo)                  \
	{                                                                      \
		mem = d;                                                       \
		__asm__ volatile(FL_IN pfx ins " %" M "[s], (%[p])" FL_OUT     \
				 : [f] "+r"(fi)                                \
				 : [s] C(s), [p] "r"(&mem)                     \
				 : "cc", "memory");                            \
		*fo = fi;                                                      \
		return mem;                                                    \
	}
/* reg, imm in a given register (C = "a" picks the short accumulator forms) */
#define RI(fn, ins, M, C, imm)                                                 \
	static NOINLINE u32 fn(u32 d, u32 s, u32 fi, u32 *fo)                  \
	{                                                                      \
		(void)s;                                                       \
		__asm__ volatile(FL_IN ins " %[i], %" M "[d]" FL_OUT           \
				 : [d] "+" C(d), [f] "+r"(fi)                  \
				 : [i] "i"(imm)                                \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return d;                                                      \
	}
/* [mem], imm */
#define MI(fn, ins, imm)                                                       \
	static NOINLINE u32 fn(u32 d, u32 s, u32 fi, u32 *fo)                  \
	{                                                                      \
		(void)s;                                                       \
		mem = d;                                                       \
		__asm__ volatile(FL_IN ins " %[i], (%[p])" FL_OUT              \
				 : [f] "+r"(fi)                                \
				 : [i] "i"(imm), [p] "r"(&mem)                 \
				 : "cc", "memory");                            \
		*fo = fi;                                                      \
		return mem;                                                    \
	}
/* unary on reg / [mem] */
#define UR(fn, ins, M, C)                                                      \
	static NOINLINE u32 fn(u32 d, u32 fi, u32 *fo)                         \
	{                                                                      \
		__asm__ volatile(FL_IN ins " %" M "[d]" FL_OUT                 \
				 : [d] "+" C(d), [f] "+r"(fi)                  \
				 :                                             \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return d;                                                      \
	}
#define UM(fn, ins, pfx)                                                       \
	static NOINLINE u32 fn(u32 d, u32 fi, u32 *fo)                         \
	{                                                                      \
		mem = d;                                                       \
		__asm__ volatile(FL_IN pfx ins " (%[p])" FL_OUT                \
				 : [f] "+r"(fi)                                \
				 : [p] "r"(&mem)                               \
				 : "cc", "memory");                            \
		*fo = fi;                                                      \
		return mem;                                                    \
	}

/* Immediates per width: zero, one, the imm8 sign-extension edges (0x7f,
 * -0x80, -1), values that need the full-width encoding, and sign bits. */
#define IMMS_b(X, ...) X(__VA_ARGS__, 0, 0) X(__VA_ARGS__, 1, 1) X(__VA_ARGS__, 2, 0x7f) \
	X(__VA_ARGS__, 3, 0x80) X(__VA_ARGS__, 4, 0xff) X(__VA_ARGS__, 5, 0x5a)
#define IMMS_w(X, ...) X(__VA_ARGS__, 0, 0) X(__VA_ARGS__, 1, 1) X(__VA_ARGS__, 2, 0x7f) \
	X(__VA_ARGS__, 3, -0x80) X(__VA_ARGS__, 4, -1) X(__VA_ARGS__, 5, 0x80)            \
	X(__VA_ARGS__, 6, 0x7fff) X(__VA_ARGS__, 7, 0x8000) X(__VA_ARGS__, 8, 0x1234)
#define IMMS_l(X, ...) X(__VA_ARGS__, 0, 0) X(__VA_ARGS__, 1, 1) X(__VA_ARGS__, 2, 0x7f) \
	X(__VA_ARGS__, 3, -0x80) X(__VA_ARGS__, 4, -1) X(__VA_ARGS__, 5, 0x80)            \
	X(__VA_ARGS__, 6, 0x12345678) X(__VA_ARGS__, 7, -0x80000000)                      \
	X(__VA_ARGS__, 8, 0x7fffffff)

struct imm_fn {
	bin_fn fn;
	u32 imm;
};

#define DEF_RI_A(op, S, M, i, imm) RI(op##_##S##_ai##i, #op #S, M, "a", imm)
#define DEF_RI_D(op, S, M, i, imm) RI(op##_##S##_di##i, #op #S, M, "d", imm)
#define DEF_MI(op, S, M, i, imm) MI(op##_##S##_mi##i, #op #S, imm)
#define TAB_RI_A(op, S, M, i, imm) {op##_##S##_ai##i, (u32)(imm)},
#define TAB_RI_D(op, S, M, i, imm) {op##_##S##_di##i, (u32)(imm)},
#define TAB_MI(op, S, M, i, imm) {op##_##S##_mi##i, (u32)(imm)},

/* All forms of a binary op at one width; C is the register class. */
#define DEF_BIN(op, S, M, C)                                                   \
	RR(op##_##S##_rr, #op #S, M, C, "")                                    \
	RR(op##_##S##_rrl, #op #S, M, C, "%{load%} ")                            \
	RM(op##_##S##_rm, #op #S, M, C)                                        \
	MR(op##_##S##_mr, #op #S, M, C, "")                                    \
	IMMS_##S(DEF_RI_A, op, S, M)                                           \
	IMMS_##S(DEF_RI_D, op, S, M)                                           \
	IMMS_##S(DEF_MI, op, S, M)                                             \
	static const struct imm_fn op##_##S##_imm[3][9] = {                    \
		{IMMS_##S(TAB_RI_A, op, S, M)},                                \
		{IMMS_##S(TAB_RI_D, op, S, M)},                                \
		{IMMS_##S(TAB_MI, op, S, M)}};

#define DEF_BIN3(op)                                                           \
	DEF_BIN(op, b, "b", "q")                                               \
	DEF_BIN(op, w, "w", "r")                                               \
	DEF_BIN(op, l, "k", "r")                                               \
	RRH(op##_b_hh, #op "b")
#define DEF_LOCK3(op)                                                          \
	MR(op##_b_lmr, #op "b", "b", "q", "lock ")                             \
	MR(op##_w_lmr, #op "w", "w", "r", "lock ")                             \
	MR(op##_l_lmr, #op "l", "k", "r", "lock ")

DEF_BIN3(add)
DEF_BIN3(or)
DEF_BIN3(adc)
DEF_BIN3(sbb)
DEF_BIN3(and)
DEF_BIN3(sub)
DEF_BIN3(xor)
DEF_BIN3(cmp)
DEF_LOCK3(add)
DEF_LOCK3(or)
DEF_LOCK3(adc)
DEF_LOCK3(sbb)
DEF_LOCK3(and)
DEF_LOCK3(sub)
DEF_LOCK3(xor)

/* TEST has only the r/m,reg (84/85), r/m,imm (F6/F7 /0) and accumulator
 * (A8/A9) encodings. */
#define DEF_TEST(S, M, C)                                                      \
	RR(test_##S##_rr, "test" #S, M, C, "")                                 \
	MR(test_##S##_mr, "test" #S, M, C, "")                                 \
	IMMS_##S(DEF_RI_A, test, S, M)                                         \
	IMMS_##S(DEF_RI_D, test, S, M)                                         \
	IMMS_##S(DEF_MI, test, S, M)                                           \
	static const struct imm_fn test_##S##_imm[3][9] = {                    \
		{IMMS_##S(TAB_RI_A, test, S, M)},                              \
		{IMMS_##S(TAB_RI_D, test, S, M)},                              \
		{IMMS_##S(TAB_MI, test, S, M)}};
DEF_TEST(b, "b", "q")
DEF_TEST(w, "w", "r")
DEF_TEST(l, "k", "r")
RRH(test_b_hh, "testb")

#define DEF_UN(op, S, M, C)                                                    \
	UR(op##_##S##_r, #op #S, M, C)                                         \
	UM(op##_##S##_m, #op #S, "")
#define DEF_UN3(op)                                                            \
	DEF_UN(op, b, "b", "q")                                                \
	DEF_UN(op, w, "w", "r")                                                \
	DEF_UN(op, l, "k", "r")
DEF_UN3(inc)
DEF_UN3(dec)
DEF_UN3(neg)
DEF_UN3(not)
/* LOCK is legal on INC DEC NEG NOT with a memory destination. */
#define DEF_LUN3(op)                                                           \
	UM(op##_b_lm, #op "b", "lock ")                                        \
	UM(op##_w_lm, #op "w", "lock ")                                        \
	UM(op##_l_lm, #op "l", "lock ")
DEF_LUN3(inc)
DEF_LUN3(dec)
DEF_LUN3(neg)
DEF_LUN3(not)

static void run_imms(const char *name, const struct imm_fn (*t)[9], int nimm,
		     int bits, u32 fm)
{
	static const char *const form[3] = {"ai", "ri", "mi"};
	char buf[48];
	for (int f = 0; f < 3; f++)
		for (int i = 0; i < nimm; i++) {
			/* name.form<i> */
			u32 n = 0;
			for (const char *p = name; *p; p++)
				buf[n++] = *p;
			buf[n++] = '.';
			buf[n++] = form[f][0];
			buf[n++] = form[f][1];
			buf[n++] = (char)('0' + i);
			buf[n] = 0;
			run_bin_fixed(buf, t[f][i].fn, bits, t[f][i].imm, fm);
		}
}

#define NIMM_b 6
#define NIMM_w 9
#define NIMM_l 9
#define BITS_b 8
#define BITS_w 16
#define BITS_l 32

#define RUN_BIN(op, S, fm, lock)                                               \
	do {                                                                   \
		run_bin(#op "." #S ".rr", op##_##S##_rr, BITS_##S, fm);        \
		run_bin(#op "." #S ".rrl", op##_##S##_rrl, BITS_##S, fm);      \
		run_bin(#op "." #S ".rm", op##_##S##_rm, BITS_##S, fm);        \
		run_bin(#op "." #S ".mr", op##_##S##_mr, BITS_##S, fm);        \
		lock;                                                          \
		run_imms(#op "." #S, op##_##S##_imm, NIMM_##S, BITS_##S, fm); \
	} while (0)
#define RUN_BIN3(op, fm, lk)                                                   \
	do {                                                                   \
		RUN_BIN(op, b, fm, lk(op, b, fm));                             \
		run_bin(#op ".b.hh", op##_b_hh, 8, fm);                        \
		RUN_BIN(op, w, fm, lk(op, w, fm));                             \
		RUN_BIN(op, l, fm, lk(op, l, fm));                             \
	} while (0)
#define LK(op, S, fm) run_bin(#op "." #S ".lmr", op##_##S##_lmr, BITS_##S, fm)
#define NOLK(op, S, fm) (void)0

#define RUN_UN3(op, fm, lk)                                                    \
	do {                                                                   \
		run_un(#op ".b.r", op##_b_r, 8, fm);                           \
		run_un(#op ".b.m", op##_b_m, 8, fm);                           \
		run_un(#op ".b.lm", op##_b_lm, 8, fm);                         \
		run_un(#op ".w.r", op##_w_r, 16, fm);                          \
		run_un(#op ".w.m", op##_w_m, 16, fm);                          \
		run_un(#op ".w.lm", op##_w_lm, 16, fm);                        \
		run_un(#op ".l.r", op##_l_r, 32, fm);                          \
		run_un(#op ".l.m", op##_l_m, 32, fm);                          \
		run_un(#op ".l.lm", op##_l_lm, 32, fm);                        \
	} while (0)

int main(void)
{
	RUN_BIN3(add, F_ARITH, LK);
	RUN_BIN3(or, F_LOGIC, LK);
	RUN_BIN3(adc, F_ARITH, LK);
	RUN_BIN3(sbb, F_ARITH, LK);
	RUN_BIN3(and, F_LOGIC, LK);
	RUN_BIN3(sub, F_ARITH, LK);
	RUN_BIN3(xor, F_LOGIC, LK);
	RUN_BIN3(cmp, F_ARITH, NOLK);
	run_bin("test.b.rr", test_b_rr, 8, F_LOGIC);
	run_bin("test.b.hh", test_b_hh, 8, F_LOGIC);
	run_bin("test.b.mr", test_b_mr, 8, F_LOGIC);
	run_imms("test.b", test_b_imm, NIMM_b, 8, F_LOGIC);
	run_bin("test.w.rr", test_w_rr, 16, F_LOGIC);
	run_bin("test.w.mr", test_w_mr, 16, F_LOGIC);
	run_imms("test.w", test_w_imm, NIMM_w, 16, F_LOGIC);
	run_bin("test.l.rr", test_l_rr, 32, F_LOGIC);
	run_bin("test.l.mr", test_l_mr, 32, F_LOGIC);
	run_imms("test.l", test_l_imm, NIMM_l, 32, F_LOGIC);
	RUN_UN3(inc, F_ARITH, 0);
	RUN_UN3(dec, F_ARITH, 0);
	RUN_UN3(neg, F_ARITH, 0);
	RUN_UN3(not, F_ARITH, 0);
	return 0;
}
