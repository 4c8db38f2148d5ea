/* Multiply and divide conformance.
 *  MUL, IMUL (one operand) r/m8 r/m16 r/m32, register and memory source;
 *  IMUL r16/r32, r/m (0F AF), register and memory;
 *  IMUL r, r/m, imm8 (6B) and imm16/imm32 (69), register and memory source;
 *  DIV, IDIV r/m8 r/m16 r/m32, register and memory divisor.
 * Flags (Intel SDM Vol. 2 "MUL", "IMUL", "DIV", "IDIV"): MUL/IMUL define CF
 * and OF only (SF ZF AF PF undefined); DIV/IDIV leave all six undefined.
 * Divide error (#DE) kills a native process, so only divisions whose quotient
 * fits are run (the check itself is ordinary C, so it runs on both sides);
 * #DE is covered by the emulator's unit tests. */
#include "insn.h"

static u32 mem;

/* One-operand forms: EAX and EDX in, EAX and EDX out. */
typedef u32 (*md_fn)(u32 a, u32 d, u32 s, u32 fi, u32 *fo, u32 *dout);

#define MD_R(fn, ins, M)                                                       \
	static NOINLINE u32 fn(u32 a, u32 d, u32 s, u32 fi, u32 *fo, u32 *dout) \
	{                                                                      \
		__asm__ volatile(FL_IN ins " %" M "[s]" FL_OUT                 \
				 : "+a"(a), "+d"(d), [f] "+r"(fi)              \
				 : [s] "c"(s)                                  \
				 : "cc");                                      \
		*fo = fi;                                                      \
		*dout = d;                                                     \
		return a;                                                      \
	}
#define MD_M(fn, ins)                                                          \
	static NOINLINE u32 fn(u32 a, u32 d, u32 s, u32 fi, u32 *fo, u32 *dout) \
	{                                                                      \
		mem = s;                                                       \
		__asm__ volatile(FL_IN ins " (%[p])" FL_OUT                    \
				 : "+a"(a), "+d"(d), [f] "+r"(fi)              \
				 : [p] "r"(&mem)                               \
				 : "cc", "memory");                            \
		*fo = fi;                                                      \
		*dout = d;                                                     \
		return a;                                                      \
	}
#define MD(op)                                                                 \
	MD_R(op##_b_r, #op "b", "b")                                           \
	MD_M(op##_b_m, #op "b")                                                \
	MD_R(op##_w_r, #op "w", "w")                                           \
	MD_M(op##_w_m, #op "w")                                                \
	MD_R(op##_l_r, #op "l", "k")                                           \
	MD_M(op##_l_m, #op "l")
MD(mul)
MD(imul)
MD(div)
MD(idiv)

/* IMUL r, r/m (0F AF) */
#define IM2(fn, ins, M)                                                        \
	static NOINLINE u32 fn(u32 d, u32 s, u32 fi, u32 *fo)                  \
	{                                                                      \
		__asm__ volatile(FL_IN ins " %" M "[s], %" M "[d]" FL_OUT      \
				 : [d] "+r"(d), [f] "+r"(fi)                   \
				 : [s] "r"(s)                                  \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return d;                                                      \
	}
#define IM2M(fn, ins, M)                                                       \
	static NOINLINE u32 fn(u32 d, u32 s, u32 fi, u32 *fo)                  \
	{                                                                      \
		mem = s;                                                       \
		__asm__ volatile(FL_IN ins " (%[p]), %" M "[d]" FL_OUT         \
				 : [d] "+r"(d), [f] "+r"(fi)                   \
				 : [p] "r"(&mem)                               \
				 : "cc", "memory");                            \
		*fo = fi;                                                      \
		return d;                                                      \
	}
IM2(imul2_w_r, "imulw", "w")
IM2M(imul2_w_m, "imulw", "w")
IM2(imul2_l_r, "imull", "k")
IM2M(imul2_l_m, "imull", "k")

/* IMUL r, r/m, imm: the destination starts as junk and must be fully
 * replaced (16-bit: its upper half kept). */
#define IM3(fn, ins, M, imm)                                                   \
	static NOINLINE u32 fn(u32 d, u32 s, u32 fi, u32 *fo)                  \
	{                                                                      \
		__asm__ volatile(FL_IN ins " %[i], %" M "[s], %" M "[d]" FL_OUT \
				 : [d] "+&r"(d), [f] "+r"(fi)                  \
				 : [s] "r"(s), [i] "i"(imm)                    \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return d;                                                      \
	}
#define IM3M(fn, ins, M, imm)                                                  \
	static NOINLINE u32 fn(u32 d, u32 s, u32 fi, u32 *fo)                  \
	{                                                                      \
		mem = s;                                                       \
		__asm__ volatile(FL_IN ins " %[i], (%[p]), %" M "[d]" FL_OUT   \
				 : [d] "+r"(d), [f] "+r"(fi)                   \
				 : [p] "r"(&mem), [i] "i"(imm)                 \
				 : "cc", "memory");                            \
		*fo = fi;                                                      \
		return d;                                                      \
	}
#define IMMS_w(X, ...) X(__VA_ARGS__, 0, 0) X(__VA_ARGS__, 1, 1) X(__VA_ARGS__, 2, -1) \
	X(__VA_ARGS__, 3, 0x7f) X(__VA_ARGS__, 4, -0x80) X(__VA_ARGS__, 5, 0x100)          \
	X(__VA_ARGS__, 6, 0x7fff) X(__VA_ARGS__, 7, -0x8000) X(__VA_ARGS__, 8, 10)
#define IMMS_l(X, ...) X(__VA_ARGS__, 0, 0) X(__VA_ARGS__, 1, 1) X(__VA_ARGS__, 2, -1) \
	X(__VA_ARGS__, 3, 0x7f) X(__VA_ARGS__, 4, -0x80) X(__VA_ARGS__, 5, 0x12345)        \
	X(__VA_ARGS__, 6, 0x7fffffff) X(__VA_ARGS__, 7, -0x80000000)                       \
	X(__VA_ARGS__, 8, 10)
#define NIMM 9
struct imm_fn {
	bin_fn fn;
	u32 imm;
};
#define DEF3(S, M, i, imm)                                                     \
	IM3(imul3_##S##_r##i, "imul" #S, M, imm)                               \
	IM3M(imul3_##S##_m##i, "imul" #S, M, imm)
#define TAB3R(S, M, i, imm) {imul3_##S##_r##i, (u32)(imm)},
#define TAB3M(S, M, i, imm) {imul3_##S##_m##i, (u32)(imm)},
IMMS_w(DEF3, w, "w")
IMMS_l(DEF3, l, "k")
static const struct imm_fn imul3_w[2][NIMM] = {{IMMS_w(TAB3R, w, "w")},
					       {IMMS_w(TAB3M, w, "w")}};
static const struct imm_fn imul3_l[2][NIMM] = {{IMMS_l(TAB3R, l, "k")},
					       {IMMS_l(TAB3M, l, "k")}};

static void run_mul(const char *name, md_fn fn, int bits)
{
	int n;
	const u32 *v = vals_for(bits, &n);
	u32 m = width_mask(bits);
	grp_begin(name);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			for (int k = 0; k < NFIN; k++) {
				u32 a = v[i] | (JUNK_D & ~m), s = v[j] | (JUNK_S & ~m);
				u32 f, d, r = fn(a, JUNK_S, s, flags_base | fin_pat[k], &f, &d);
				rec4(a, s, fin_pat[k], 0, r, d, f & (F_CF | F_OF));
			}
	grp_end();
}

/* Would DIV/IDIV of hi:lo by s (each `bits` wide) fault with #DE? */
static int div_faults(int sgn, int bits, u32 hi, u32 lo, u32 s)
{
	u32 m = width_mask(bits);
	hi &= m, lo &= m, s &= m;
	if (s == 0)
		return 1;
	u64 n = ((u64)hi << bits) | lo;
	if (!sgn)
		return hi >= s;
	/* sign-extend the 2*bits-wide dividend and the divisor */
	s64 sn = (s64)(n << (64 - 2 * bits)) >> (64 - 2 * bits);
	s64 ss = (s64)((u64)s << (64 - bits)) >> (64 - bits);
	if (ss == -1 && bits == 32 && hi == 0x80000000u && lo == 0)
		return 1;
	s64 q = sn / ss;
	s64 lim = (s64)1 << (bits - 1);
	return q >= lim || q < -lim;
}

static void run_div(const char *name, md_fn fn, int sgn, int bits)
{
	int n;
	const u32 *v = vals_for(bits, &n);
	u32 m = width_mask(bits);
	grp_begin(name);
	for (int i = 0; i < n; i++) {
		u32 lo = v[i];
		/* high halves: zero, sign extension of lo, and a few others */
		u32 his[6] = {0, (lo >> (bits - 1)) & 1 ? m : 0, 1, m, m >> 1,
			      v[(i * 7 + 3) % n]};
		for (int h = 0; h < 6; h++)
			for (int j = 0; j < n; j++) {
				u32 s = v[j];
				if (div_faults(sgn, bits, his[h], lo, s))
					continue;
				u32 a, d;
				if (bits == 8) { /* AX holds the dividend */
					a = (JUNK_D & 0xffff0000u) | (his[h] << 8) | lo;
					d = JUNK_S;
				} else {
					a = lo | (JUNK_D & ~m);
					d = his[h] | (JUNK_S & ~m);
				}
				u32 f, dout, r = fn(a, d, s | (JUNK_S & ~m), flags_base, &f, &dout);
				rec4(a, d, s, 0, r, dout, 0);
			}
	}
	grp_end();
}

static void run_imm3(const char *name, const struct imm_fn (*t)[NIMM], int bits)
{
	int n;
	const u32 *v = vals_for(bits, &n);
	u32 m = width_mask(bits);
	grp_begin(name);
	for (int f = 0; f < 2; f++)
		for (int x = 0; x < NIMM; x++)
			for (int i = 0; i < n; i++)
				for (int k = 0; k < NFIN; k++) {
					u32 s = v[i] | (JUNK_S & ~m), fl;
					u32 r = t[f][x].fn(JUNK_D, s, flags_base | fin_pat[k], &fl);
					rec3(s, t[f][x].imm, fin_pat[k], r, fl & (F_CF | F_OF));
				}
	grp_end();
}

int main(void)
{
	run_mul("mul.b.r", mul_b_r, 8);
	run_mul("mul.b.m", mul_b_m, 8);
	run_mul("mul.w.r", mul_w_r, 16);
	run_mul("mul.w.m", mul_w_m, 16);
	run_mul("mul.l.r", mul_l_r, 32);
	run_mul("mul.l.m", mul_l_m, 32);
	run_mul("imul.b.r", imul_b_r, 8);
	run_mul("imul.b.m", imul_b_m, 8);
	run_mul("imul.w.r", imul_w_r, 16);
	run_mul("imul.w.m", imul_w_m, 16);
	run_mul("imul.l.r", imul_l_r, 32);
	run_mul("imul.l.m", imul_l_m, 32);
	run_bin("imul2.w.r", imul2_w_r, 16, F_CF | F_OF);
	run_bin("imul2.w.m", imul2_w_m, 16, F_CF | F_OF);
	run_bin("imul2.l.r", imul2_l_r, 32, F_CF | F_OF);
	run_bin("imul2.l.m", imul2_l_m, 32, F_CF | F_OF);
	run_imm3("imul3.w", imul3_w, 16);
	run_imm3("imul3.l", imul3_l, 32);
	run_div("div.b.r", div_b_r, 0, 8);
	run_div("div.b.m", div_b_m, 0, 8);
	run_div("div.w.r", div_w_r, 0, 16);
	run_div("div.w.m", div_w_m, 0, 16);
	run_div("div.l.r", div_l_r, 0, 32);
	run_div("div.l.m", div_l_m, 0, 32);
	run_div("idiv.b.r", idiv_b_r, 1, 8);
	run_div("idiv.b.m", idiv_b_m, 1, 8);
	run_div("idiv.w.r", idiv_w_r, 1, 16);
	run_div("idiv.w.m", idiv_w_m, 1, 16);
	run_div("idiv.l.r", idiv_l_r, 1, 32);
	run_div("idiv.l.m", idiv_l_m, 1, 32);
	return 0;
}
