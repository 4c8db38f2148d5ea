/* Exchange and compare-exchange conformance: XADD (8/16/32, reg and mem,
 * LOCK), CMPXCHG (8/16/32, reg and mem, LOCK; equal and unequal
 * accumulator), CMPXCHG8B (LOCK and not; equal and unequal), XCHG (8/16/32,
 * the one-byte 90+r forms with (E)AX, reg,reg, and mem, which the CPU always
 * locks). Flags (Intel SDM Vol. 2): XADD as ADD, CMPXCHG as CMP of the
 * accumulator with the destination (all six); CMPXCHG8B sets ZF and leaves
 * CF PF AF SF OF unchanged; XCHG changes none. */
#include "insn.h"

static u32 mem;

/* XADD: returns the destination, *src_out the old destination. */
typedef u32 (*x_fn)(u32 d, u32 s, u32 fi, u32 *fo, u32 *sout);
#define XADD_R(fn, ins, M, C)                                                  \
	static NOINLINE u32 fn(u32 d, u32 s, u32 fi, u32 *fo, u32 *sout)       \
	{                                                                      \
		__asm__ volatile(FL_IN ins " %" M "[s], %" M "[d]" FL_OUT      \
				 : [d] "+" C(d), [s] "+" C(s), [f] "+r"(fi)    \
				 :                                             \
				 : "cc");                                      \
		*fo = fi;                                                      \
		*sout = s;                                                     \
		return d;                                                      \
	}
#define XADD_M(fn, ins, M, C, pfx)                                             \
	static NOINLINE u32 fn(u32 d, u32 s, u32 fi, u32 *fo, u32 *sout)       \
	{                                                                      \
		mem = d;                                                       \
		__asm__ volatile(FL_IN pfx ins " %" M "[s], (%[p])" FL_OUT     \
				 : [s] "+" C(s), [f] "+r"(fi)                  \
				 : [p] "r"(&mem)                               \
				 : "cc", "memory");                            \
		*fo = fi;                                                      \
		*sout = s;                                                     \
		return mem;                                                    \
	}
XADD_R(xadd_b_r, "xaddb", "b", "q")
XADD_R(xadd_w_r, "xaddw", "w", "r")
XADD_R(xadd_l_r, "xaddl", "k", "r")
XADD_M(xadd_b_m, "xaddb", "b", "q", "")
XADD_M(xadd_w_m, "xaddw", "w", "r", "")
XADD_M(xadd_l_m, "xaddl", "k", "r", "")
XADD_M(xadd_b_lm, "xaddb", "b", "q", "lock ")
XADD_M(xadd_w_lm, "xaddw", "w", "r", "lock ")
XADD_M(xadd_l_lm, "xaddl", "k", "r", "lock ")
/* XCHG forms use the same shape (flags in/out to check none change). */
#define XCHG_R(fn, ins, M, CD, CS)                                             \
	static NOINLINE u32 fn(u32 d, u32 s, u32 fi, u32 *fo, u32 *sout)       \
	{                                                                      \
		__asm__ volatile(FL_IN ins " %" M "[s], %" M "[d]" FL_OUT      \
				 : [d] "+" CD(d), [s] "+" CS(s), [f] "+r"(fi)  \
				 :                                             \
				 : "cc");                                      \
		*fo = fi;                                                      \
		*sout = s;                                                     \
		return d;                                                      \
	}
XCHG_R(xchg_b_r, "xchgb", "b", "q", "q")
XCHG_R(xchg_h_r, "xchgb", "h", "Q", "Q")
XCHG_R(xchg_w_r, "xchgw", "w", "c", "d")  /* 87 /r */
XCHG_R(xchg_l_r, "xchgl", "k", "c", "d")  /* 87 /r */
XCHG_R(xchg_w_a, "xchgw", "w", "a", "S")  /* 66 96 */
XCHG_R(xchg_l_a, "xchgl", "k", "D", "a")  /* 97 */
XADD_M(xchg_b_m, "xchgb", "b", "q", "")
XADD_M(xchg_w_m, "xchgw", "w", "r", "")
XADD_M(xchg_l_m, "xchgl", "k", "r", "")
XADD_M(xchg_l_lm, "xchgl", "k", "r", "lock ")

static void run_x(const char *name, x_fn fn, int bits, u32 fm)
{
	int n;
	const u32 *v = vals_for(bits, &n);
	u32 m = width_mask(bits);
	grp_begin(name);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			for (int k = 0; k < NFIN; k++) {
				u32 d = v[i] | (JUNK_D & ~m), s = v[j] | (JUNK_S & ~m), f, so;
				u32 r = fn(d, s, flags_base | fin_pat[k], &f, &so);
				rec4(d, s, fin_pat[k], 0, r, so, f & fm);
			}
	grp_end();
}

/* CMPXCHG: accumulator a, destination d, source s. Returns the destination;
 * *aout the accumulator. */
typedef u32 (*cx_fn)(u32 a, u32 d, u32 s, u32 fi, u32 *fo, u32 *aout);
#define CX_R(fn, ins, M, C)                                                    \
	static NOINLINE u32 fn(u32 a, u32 d, u32 s, u32 fi, u32 *fo, u32 *aout) \
	{                                                                      \
		__asm__ volatile(FL_IN ins " %" M "[s], %" M "[d]" FL_OUT      \
				 : "+a"(a), [d] "+" C(d), [f] "+r"(fi)         \
				 : [s] C(s)                                    \
				 : "cc");                                      \
		*fo = fi;                                                      \
		*aout = a;                                                     \
		return d;                                                      \
	}
#define CX_M(fn, ins, M, C, pfx)                                               \
	static NOINLINE u32 fn(u32 a, u32 d, u32 s, u32 fi, u32 *fo, u32 *aout) \
	{                                                                      \
		mem = d;                                                       \
		__asm__ volatile(FL_IN pfx ins " %" M "[s], (%[p])" FL_OUT     \
				 : "+a"(a), [f] "+r"(fi)                       \
				 : [s] C(s), [p] "r"(&mem)                     \
				 : "cc", "memory");                            \
		*fo = fi;                                                      \
		*aout = a;                                                     \
		return mem;                                                    \
	}
CX_R(cx_b_r, "cmpxchgb", "b", "q")
CX_R(cx_w_r, "cmpxchgw", "w", "r")
CX_R(cx_l_r, "cmpxchgl", "k", "r")
CX_M(cx_b_m, "cmpxchgb", "b", "q", "")
CX_M(cx_w_m, "cmpxchgw", "w", "r", "")
CX_M(cx_l_m, "cmpxchgl", "k", "r", "")
CX_M(cx_b_lm, "cmpxchgb", "b", "q", "lock ")
CX_M(cx_w_lm, "cmpxchgw", "w", "r", "lock ")
CX_M(cx_l_lm, "cmpxchgl", "k", "r", "lock ")

static void run_cx(const char *name, cx_fn fn, int bits)
{
	int n;
	const u32 *v = vals_for(bits, &n);
	u32 m = width_mask(bits);
	grp_begin(name);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			for (int e = 0; e < 2; e++)
				for (int k = 0; k < NFIN; k++) {
					u32 d = v[i] | (JUNK_D & ~m);
					/* e: accumulator equals the destination */
					u32 a = (e ? v[i] : v[(i + j + 1) % n]) | (JUNK_S & ~m);
					u32 s = v[j] | 0x77000000u;
					u32 f, ao, r = fn(a, d, s, flags_base | fin_pat[k], &f, &ao);
					rec4(a, d, s, fin_pat[k], r, ao, f & F_ARITH);
				}
	grp_end();
}

static u64 mem64 __attribute__((aligned(8)));
#define CX8(fn, pfx)                                                           \
	static NOINLINE u32 fn(u64 *ad, u64 cb, u32 fi)                        \
	{                                                                      \
		u32 a = (u32)*ad, d = (u32)(*ad >> 32);                        \
		__asm__ volatile(FL_IN pfx "cmpxchg8b (%[p])" FL_OUT           \
				 : "+a"(a), "+d"(d), [f] "+r"(fi)              \
				 : "b"((u32)cb), "c"((u32)(cb >> 32)), [p] "S"(&mem64) \
				 : "cc", "memory");                            \
		*ad = ((u64)d << 32) | a;                                      \
		return fi;                                                     \
	}
CX8(cx8, "")
CX8(cx8_l, "lock ")

static void run_cx8(const char *name, u32 (*fn)(u64 *, u64, u32))
{
	grp_begin(name);
	for (int i = 0; i < nv32; i++)
		for (int j = 0; j < 8; j++)
			for (int e = 0; e < 4; e++)
				for (int k = 0; k < NFIN; k++) {
					u64 m = ((u64)v32[i] << 32) | v32[(i * 3 + j) % nv32];
					u64 ad = m, cb = ((u64)v32[j] << 32) | v32[(j + 5) % nv32];
					/* e: equal; differ in the low half; in the high half; both */
					if (e & 1)
						ad ^= 0x10;
					if (e & 2)
						ad ^= 0x100000000ull;
					mem64 = m;
					u32 f = fn(&ad, cb, flags_base | fin_pat[k]);
					u32 in[4] = {(u32)m, (u32)(m >> 32), (u32)e, fin_pat[k]};
					u32 out[5] = {(u32)ad, (u32)(ad >> 32), (u32)mem64,
						      (u32)(mem64 >> 32), f & F_ARITH};
					grp_case(in, 4, out, 5);
				}
	grp_end();
}

int main(void)
{
	run_x("xadd.b.r", xadd_b_r, 8, F_ARITH);
	run_x("xadd.w.r", xadd_w_r, 16, F_ARITH);
	run_x("xadd.l.r", xadd_l_r, 32, F_ARITH);
	run_x("xadd.b.m", xadd_b_m, 8, F_ARITH);
	run_x("xadd.w.m", xadd_w_m, 16, F_ARITH);
	run_x("xadd.l.m", xadd_l_m, 32, F_ARITH);
	run_x("xadd.b.lm", xadd_b_lm, 8, F_ARITH);
	run_x("xadd.w.lm", xadd_w_lm, 16, F_ARITH);
	run_x("xadd.l.lm", xadd_l_lm, 32, F_ARITH);
	run_cx("cmpxchg.b.r", cx_b_r, 8);
	run_cx("cmpxchg.w.r", cx_w_r, 16);
	run_cx("cmpxchg.l.r", cx_l_r, 32);
	run_cx("cmpxchg.b.m", cx_b_m, 8);
	run_cx("cmpxchg.w.m", cx_w_m, 16);
	run_cx("cmpxchg.l.m", cx_l_m, 32);
	run_cx("cmpxchg.b.lm", cx_b_lm, 8);
	run_cx("cmpxchg.w.lm", cx_w_lm, 16);
	run_cx("cmpxchg.l.lm", cx_l_lm, 32);
	run_cx8("cmpxchg8b", cx8);
	run_cx8("cmpxchg8b.lock", cx8_l);
	run_x("xchg.b.r", xchg_b_r, 8, F_ARITH);
	run_x("xchg.h.r", xchg_h_r, 8, F_ARITH);
	run_x("xchg.w.r", xchg_w_r, 16, F_ARITH);
	run_x("xchg.l.r", xchg_l_r, 32, F_ARITH);
	run_x("xchg.w.ax", xchg_w_a, 16, F_ARITH);
	run_x("xchg.l.eax", xchg_l_a, 32, F_ARITH);
	run_x("xchg.b.m", xchg_b_m, 8, F_ARITH);
	run_x("xchg.w.m", xchg_w_m, 16, F_ARITH);
	run_x("xchg.l.m", xchg_l_m, 32, F_ARITH);
	run_x("xchg.l.lm", xchg_l_lm, 32, F_ARITH);
	return 0;
}
