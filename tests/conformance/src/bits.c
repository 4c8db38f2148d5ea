/* Bit, condition and flag conformance:
 *  BT BTS BTR BTC: reg,reg / reg,imm8 (0F BA) / mem,imm8 / mem,reg (the
 *    register offset is signed and reaches far outside the addressed dword),
 *    16- and 32-bit, with LOCK on the memory forms;
 *  BSF BSR 16/32 reg and mem (zero source: only ZF); REP BSF (nonzero source,
 *    result only: the host runs it as TZCNT); BSWAP on every register;
 *  CMOVcc (16/32, reg and mem), SETcc (reg, high-byte reg, mem) and Jcc
 *    (rel8 and rel32) for all 16 conditions over all 32 combinations of
 *    CF PF ZF SF OF;
 *  MOVSX MOVZX (all widths, reg/high-byte/mem), CBW CWDE CWD CDQ;
 *  LAHF SAHF, CLC STC CMC CLD STD, PUSHF/POPF (32 and 16 bit).
 * Flags (Intel SDM Vol. 2): BT* define CF and leave ZF unaffected (OF SF AF
 * PF undefined); BSF/BSR define ZF only; POPF at CPL 3 with IOPL 0 cannot
 * change IF or IOPL (they are masked: the loader picks them), TF is never set
 * (it would trap). */
#include "insn.h"

/* ---------------- BT family ---------------- */

#define BT_FL (F_CF | F_ZF)

#define BTRR(fn, ins, M)                                                       \
	static NOINLINE u32 fn(u32 d, u32 s, u32 fi, u32 *fo)                  \
	{                                                                      \
		__asm__ volatile(FL_IN ins " %" M "[s], %" M "[d]" FL_OUT      \
				 : [d] "+r"(d), [f] "+r"(fi)                   \
				 : [s] "r"(s)                                  \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return d;                                                      \
	}
#define BTRI(fn, ins, M, imm)                                                  \
	static NOINLINE u32 fn(u32 d, u32 s, u32 fi, u32 *fo)                  \
	{                                                                      \
		(void)s;                                                       \
		__asm__ volatile(FL_IN ins " %[i], %" M "[d]" FL_OUT           \
				 : [d] "+r"(d), [f] "+r"(fi)                   \
				 : [i] "i"(imm)                                \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return d;                                                      \
	}
/* Memory forms work on bitbuf, addressed at its middle so that negative
 * register offsets stay inside it. */
static u8 bitbuf[256] __attribute__((aligned(16)));
#define BTMR(fn, ins, M, pfx)                                                  \
	static NOINLINE u32 fn(u32 d, u32 s, u32 fi, u32 *fo)                  \
	{                                                                      \
		(void)d;                                                       \
		__asm__ volatile(FL_IN pfx ins " %" M "[s], (%[p])" FL_OUT     \
				 : [f] "+r"(fi)                                \
				 : [s] "r"(s), [p] "r"(bitbuf + 128)           \
				 : "cc", "memory");                            \
		*fo = fi;                                                      \
		return 0;                                                      \
	}
#define BTMI(fn, ins, pfx, imm)                                                \
	static NOINLINE u32 fn(u32 d, u32 s, u32 fi, u32 *fo)                  \
	{                                                                      \
		(void)d, (void)s;                                              \
		__asm__ volatile(FL_IN pfx ins " %[i], (%[p])" FL_OUT          \
				 : [f] "+r"(fi)                                \
				 : [i] "i"(imm), [p] "r"(bitbuf + 128)         \
				 : "cc", "memory");                            \
		*fo = fi;                                                      \
		return 0;                                                      \
	}
/* Immediate offsets: in range, at the top, and beyond the operand size
 * (the CPU takes them modulo the size for both register and memory). */
#define BIMMS(X, ...) X(__VA_ARGS__, 0, 0) X(__VA_ARGS__, 1, 1) X(__VA_ARGS__, 2, 7) \
	X(__VA_ARGS__, 3, 15) X(__VA_ARGS__, 4, 16) X(__VA_ARGS__, 5, 31)                 \
	X(__VA_ARGS__, 6, 33) X(__VA_ARGS__, 7, 100) X(__VA_ARGS__, 8, 255)
#define NBIMM 9
struct imm_fn {
	bin_fn fn;
	u32 imm;
};
#define DEF_BTI(op, S, M, i, imm)                                              \
	BTRI(op##_##S##_ri##i, #op #S, M, imm)                                 \
	BTMI(op##_##S##_mi##i, #op #S, "", imm)
#define TAB_BTRI(op, S, M, i, imm) {op##_##S##_ri##i, imm},
#define TAB_BTMI(op, S, M, i, imm) {op##_##S##_mi##i, imm},
#define DEF_BT(op, S, M)                                                       \
	BTRR(op##_##S##_rr, #op #S, M)                                         \
	BTMR(op##_##S##_mr, #op #S, M, "")                                     \
	BIMMS(DEF_BTI, op, S, M)                                               \
	static const struct imm_fn op##_##S##_imm[2][NBIMM] = {                \
		{BIMMS(TAB_BTRI, op, S, M)}, {BIMMS(TAB_BTMI, op, S, M)}};
#define DEF_BT2(op)                                                            \
	DEF_BT(op, w, "w")                                                     \
	DEF_BT(op, l, "k")
DEF_BT2(bt)
DEF_BT2(bts)
DEF_BT2(btr)
DEF_BT2(btc)
BTMR(bts_l_lmr, "btsl", "k", "lock ")
BTMR(btr_l_lmr, "btrl", "k", "lock ")
BTMR(btc_l_lmr, "btcl", "k", "lock ")
BTMR(bts_w_lmr, "btsw", "w", "lock ")
BTMI(bts_l_lmi, "btsl", "lock ", 5)
BTMI(btr_l_lmi, "btrl", "lock ", 9)
BTMI(btc_l_lmi, "btcl", "lock ", 30)

static void bitbuf_reset(void)
{
	u32 s = 777;
	for (u32 i = 0; i < sizeof(bitbuf); i++)
		bitbuf[i] = (u8)(lcg_next(&s) >> 24);
}

static u32 bitbuf_hash(void)
{
	u32 h = FNV_INIT;
	for (u32 i = 0; i < sizeof(bitbuf); i += 4)
		h = fnv_u32(h, *(u32 *)(bitbuf + i));
	return h;
}

static void run_bt_reg(const char *name, bin_fn fn, int bits)
{
	int n;
	const u32 *v = vals_for(bits, &n);
	u32 m = width_mask(bits);
	grp_begin(name);
	for (int i = 0; i < n; i++)
		for (u32 b = 0; b < 40; b += 3)
			for (int k = 0; k < NFIN; k++) {
				u32 d = v[i] | (JUNK_D & ~m), f;
				u32 r = fn(d, b | (JUNK_S & ~m & ~0xffffu), flags_base | fin_pat[k], &f);
				rec3(d, b, fin_pat[k], r, f & BT_FL);
			}
	grp_end();
}

static void run_bt_imm(const char *name, const struct imm_fn (*t)[NBIMM], int bits)
{
	int n;
	const u32 *v = vals_for(bits, &n);
	u32 m = width_mask(bits);
	grp_begin(name);
	for (int x = 0; x < NBIMM; x++)
		for (int i = 0; i < n; i++)
			for (int k = 0; k < NFIN; k++) {
				u32 d = v[i] | (JUNK_D & ~m), f;
				u32 r = t[0][x].fn(d, 0, flags_base | fin_pat[k], &f);
				rec3(d, t[0][x].imm, fin_pat[k], r, f & BT_FL);
			}
	bitbuf_reset();
	for (int x = 0; x < NBIMM; x++)
		for (int k = 0; k < NFIN; k++) {
			u32 f;
			t[1][x].fn(0, 0, flags_base | fin_pat[k], &f);
			rec3(0, t[1][x].imm, fin_pat[k], bitbuf_hash(), f & BT_FL);
		}
	grp_end();
}

/* Memory with a register offset: offsets -1024..1023 (bytes -128..127 around
 * bitbuf+128), applied cumulatively; each case records CF and the buffer. */
static void run_bt_mem(const char *name, bin_fn fn, int bits)
{
	u32 m = width_mask(bits);
	grp_begin(name);
	bitbuf_reset();
	for (s32 off = -1024; off < 1024; off += 37)
		for (int k = 0; k < NFIN; k++) {
			u32 f;
			s32 o = off;
			if (bits == 16) /* a 16-bit offset register is sign-extended */
				o = (s16)off;
			fn(0, ((u32)o & m) | (JUNK_S & ~m & ~0xffffu), flags_base | fin_pat[k], &f);
			rec3((u32)o, 0, fin_pat[k], bitbuf_hash(), f & BT_FL);
		}
	grp_end();
}

/* ---------------- BSF / BSR / BSWAP ---------------- */

#define BSX(fn, ins, M)                                                        \
	static NOINLINE u32 fn(u32 d, u32 s, u32 fi, u32 *fo)                  \
	{                                                                      \
		__asm__ volatile(FL_IN ins " %" M "[s], %" M "[d]" FL_OUT      \
				 : [d] "+r"(d), [f] "+r"(fi)                   \
				 : [s] "r"(s)                                  \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return d;                                                      \
	}
static u32 smem;
#define BSXM(fn, ins, M)                                                       \
	static NOINLINE u32 fn(u32 d, u32 s, u32 fi, u32 *fo)                  \
	{                                                                      \
		smem = s;                                                      \
		__asm__ volatile(FL_IN ins " (%[p]), %" M "[d]" FL_OUT         \
				 : [d] "+r"(d), [f] "+r"(fi)                   \
				 : [p] "r"(&smem)                              \
				 : "cc", "memory");                            \
		*fo = fi;                                                      \
		return d;                                                      \
	}
BSX(bsf_w_r, "bsfw", "w")
BSX(bsf_l_r, "bsfl", "k")
BSX(bsr_w_r, "bsrw", "w")
BSX(bsr_l_r, "bsrl", "k")
BSXM(bsf_w_m, "bsfw", "w")
BSXM(bsf_l_m, "bsfl", "k")
BSXM(bsr_w_m, "bsrw", "w")
BSXM(bsr_l_m, "bsrl", "k")
BSX(repbsf_l_r, "rep; bsfl", "k")
BSXM(repbsf_l_m, "rep; bsfl", "k")

static void run_bs(const char *name, bin_fn fn, int bits, int rep)
{
	int n;
	const u32 *v = vals_for(bits, &n);
	u32 m = width_mask(bits);
	grp_begin(name);
	for (int i = 0; i < n; i++)
		for (u32 sh = 0; sh < (u32)bits; sh += 5)
			for (int k = 0; k < NFIN; k++) {
				u32 s = ((v[i] << sh) & m) | (JUNK_S & ~m), f;
				if (rep && !(s & m))
					continue; /* TZCNT on the host */
				u32 r = fn(JUNK_D, s, flags_base | fin_pat[k], &f);
				if (!(s & m)) /* zero source: destination undefined */
					r = 0;
				rec3(s, 0, fin_pat[k], r, rep ? 0 : f & F_ZF);
			}
	grp_end();
}

#define BSWAP(fn, reg)                                                         \
	static NOINLINE u32 fn(u32 d)                                          \
	{                                                                      \
		__asm__ volatile("bswap %0" : "+" reg(d));                     \
		return d;                                                      \
	}
BSWAP(bswap_a, "a")
BSWAP(bswap_b, "b")
BSWAP(bswap_c, "c")
BSWAP(bswap_d, "d")
BSWAP(bswap_S, "S")
BSWAP(bswap_D, "D")
/* EBP cannot be named as an asm operand: go through it by hand. */
static NOINLINE u32 bswap_bp(u32 d)
{
	__asm__ volatile("pushl %%ebp\n\tmovl %0, %%ebp\n\tbswap %%ebp\n\t"
			 "movl %%ebp, %0\n\tpopl %%ebp"
			 : "+r"(d));
	return d;
}

static void run_bswap(void)
{
	u32 (*const fns[])(u32) = {bswap_a, bswap_b, bswap_c, bswap_d,
				   bswap_S, bswap_D, bswap_bp};
	grp_begin("bswap.l");
	for (u32 r = 0; r < NELEM(fns); r++)
		for (int i = 0; i < nv32; i++)
			rec2(v32[i], r, fns[r](v32[i]), 0);
	grp_end();
}

/* ---------------- conditions ---------------- */

#define CONDS(X) X(o) X(no) X(b) X(ae) X(e) X(ne) X(be) X(a) \
	X(s) X(ns) X(p) X(np) X(l) X(ge) X(le) X(g)

/* The 32 input states: every combination of CF PF ZF SF OF (AF follows
 * PF so it is also toggled). */
static u32 cond_flags(u32 i)
{
	return (i & 1 ? F_CF : 0) | (i & 2 ? F_PF | F_AF : 0) | (i & 4 ? F_ZF : 0) |
	       (i & 8 ? F_SF : 0) | (i & 16 ? F_OF : 0);
}

static u32 cmem;
#define DEF_CC(cc)                                                             \
	static NOINLINE u32 cmov_l_##cc(u32 d, u32 s, u32 fi, u32 *fo)         \
	{                                                                      \
		__asm__ volatile(FL_IN "cmov" #cc "l %[s], %[d]" FL_OUT        \
				 : [d] "+r"(d), [f] "+r"(fi)                   \
				 : [s] "r"(s)                                  \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return d;                                                      \
	}                                                                      \
	static NOINLINE u32 cmov_w_##cc(u32 d, u32 s, u32 fi, u32 *fo)         \
	{                                                                      \
		__asm__ volatile(FL_IN "cmov" #cc "w %w[s], %w[d]" FL_OUT      \
				 : [d] "+r"(d), [f] "+r"(fi)                   \
				 : [s] "r"(s)                                  \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return d;                                                      \
	}                                                                      \
	static NOINLINE u32 cmov_lm_##cc(u32 d, u32 s, u32 fi, u32 *fo)        \
	{                                                                      \
		cmem = s;                                                      \
		__asm__ volatile(FL_IN "cmov" #cc "l (%[p]), %[d]" FL_OUT      \
				 : [d] "+r"(d), [f] "+r"(fi)                   \
				 : [p] "r"(&cmem)                              \
				 : "cc", "memory");                            \
		*fo = fi;                                                      \
		return d;                                                      \
	}                                                                      \
	static NOINLINE u32 cmov_wm_##cc(u32 d, u32 s, u32 fi, u32 *fo)        \
	{                                                                      \
		cmem = s;                                                      \
		__asm__ volatile(FL_IN "cmov" #cc "w (%[p]), %w[d]" FL_OUT     \
				 : [d] "+r"(d), [f] "+r"(fi)                   \
				 : [p] "r"(&cmem)                              \
				 : "cc", "memory");                            \
		*fo = fi;                                                      \
		return d;                                                      \
	}                                                                      \
	static NOINLINE u32 set_r_##cc(u32 d, u32 s, u32 fi, u32 *fo)          \
	{                                                                      \
		(void)s;                                                       \
		__asm__ volatile(FL_IN "set" #cc " %b[d]" FL_OUT               \
				 : [d] "+q"(d), [f] "+r"(fi)                   \
				 :                                             \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return d;                                                      \
	}                                                                      \
	static NOINLINE u32 set_h_##cc(u32 d, u32 s, u32 fi, u32 *fo)          \
	{                                                                      \
		(void)s;                                                       \
		__asm__ volatile(FL_IN "set" #cc " %h[d]" FL_OUT               \
				 : [d] "+Q"(d), [f] "+r"(fi)                   \
				 :                                             \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return d;                                                      \
	}                                                                      \
	static NOINLINE u32 set_m_##cc(u32 d, u32 s, u32 fi, u32 *fo)          \
	{                                                                      \
		(void)s;                                                       \
		cmem = d;                                                      \
		__asm__ volatile(FL_IN "set" #cc " (%[p])" FL_OUT              \
				 : [f] "+r"(fi)                                \
				 : [p] "r"(&cmem)                              \
				 : "cc", "memory");                            \
		*fo = fi;                                                      \
		return cmem;                                                   \
	}                                                                      \
	static NOINLINE u32 j8_##cc(u32 d, u32 s, u32 fi, u32 *fo)             \
	{                                                                      \
		(void)s;                                                       \
		__asm__ volatile(FL_IN "j" #cc " 1f\n\tmovl $0x11, %[d]\n\tjmp 2f\n" \
				 "1:\tmovl $0x22, %[d]\n2:" FL_OUT             \
				 : [d] "+r"(d), [f] "+r"(fi)                   \
				 :                                             \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return d;                                                      \
	}                                                                      \
	static NOINLINE u32 j32_##cc(u32 d, u32 s, u32 fi, u32 *fo)            \
	{                                                                      \
		(void)s;                                                       \
		__asm__ volatile(FL_IN "%{disp32%} j" #cc " 1f\n\tmovl $0x11, %[d]\n\t" \
				 "jmp 2f\n1:\tmovl $0x22, %[d]\n2:" FL_OUT     \
				 : [d] "+r"(d), [f] "+r"(fi)                   \
				 :                                             \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return d;                                                      \
	}
#define X_DEF(cc) DEF_CC(cc)
CONDS(X_DEF)

struct cc_set {
	const char *name;
	bin_fn cmov_l, cmov_w, cmov_lm, cmov_wm, set_r, set_h, set_m, j8, j32;
};
#define X_TAB(cc) {#cc, cmov_l_##cc, cmov_w_##cc, cmov_lm_##cc, cmov_wm_##cc, \
		   set_r_##cc, set_h_##cc, set_m_##cc, j8_##cc, j32_##cc},
static const struct cc_set ccs[16] = {CONDS(X_TAB)};

static void run_cc(const char *name, int which)
{
	grp_begin(name);
	for (int c = 0; c < 16; c++) {
		const bin_fn *fp = &ccs[c].cmov_l + which;
		for (u32 i = 0; i < 32; i++) {
			u32 fi = flags_base | cond_flags(i), f;
			u32 r = (*fp)(0x13572468u, 0xfedcba98u, fi, &f);
			/* none of these change a status flag */
			rec3((u32)c, i, 0, r, f & F_ARITH);
		}
	}
	grp_end();
}

/* ---------------- extension ---------------- */

#define EXT(fn, ins, SM, DM, SC)                                               \
	static NOINLINE u32 fn(u32 d, u32 s, u32 fi, u32 *fo)                  \
	{                                                                      \
		(void)fi, (void)fo;                                            \
		__asm__ volatile(ins " %" SM "[s], %" DM "[d]"                 \
				 : [d] "+r"(d)                                 \
				 : [s] SC(s));                                 \
		return d;                                                      \
	}
#define EXTM(fn, ins, DM)                                                      \
	static NOINLINE u32 fn(u32 d, u32 s, u32 fi, u32 *fo)                  \
	{                                                                      \
		(void)fi, (void)fo;                                            \
		cmem = s;                                                      \
		__asm__ volatile(ins " (%[p]), %" DM "[d]"                     \
				 : [d] "+r"(d)                                 \
				 : [p] "r"(&cmem)                              \
				 : "memory");                                  \
		return d;                                                      \
	}
EXT(movsbl_r, "movsbl", "b", "k", "q")
EXT(movsbw_r, "movsbw", "b", "w", "q")
EXT(movswl_r, "movswl", "w", "k", "r")
EXT(movzbl_r, "movzbl", "b", "k", "q")
EXT(movzbw_r, "movzbw", "b", "w", "q")
EXT(movzwl_r, "movzwl", "w", "k", "r")
EXT(movsbl_h, "movsbl", "h", "k", "Q")
EXT(movzbl_h, "movzbl", "h", "k", "Q")
EXTM(movsbl_m, "movsbl", "k")
EXTM(movsbw_m, "movsbw", "w")
EXTM(movswl_m, "movswl", "k")
EXTM(movzbl_m, "movzbl", "k")
EXTM(movzbw_m, "movzbw", "w")
EXTM(movzwl_m, "movzwl", "k")

static void run_ext(const char *name, bin_fn fn, int bits)
{
	int n;
	const u32 *v = vals_for(bits, &n);
	grp_begin(name);
	for (int i = 0; i < n; i++)
		for (int h = 0; h < 2; h++) {
			/* h: the source byte is in bits 8..15 (high-byte forms) */
			u32 s = (v[i] << (h ? 8 : 0)) | (JUNK_S & ~(width_mask(bits) << (h ? 8 : 0)));
			rec2(s, 0, fn(JUNK_D, s, 0, 0), 0);
		}
	grp_end();
}

static void run_cbw(void)
{
	grp_begin("cbw.cwde.cwd.cdq");
	for (int i = 0; i < nv32; i++) {
		u32 a = v32[i], d = JUNK_D, r1 = a, r2 = a, r3 = a, r4 = a, d3 = d, d4 = d;
		__asm__ volatile("cbtw" : "+a"(r1));
		__asm__ volatile("cwtl" : "+a"(r2));
		__asm__ volatile("cwtd" : "+a"(r3), "+d"(d3));
		__asm__ volatile("cltd" : "+a"(r4), "+d"(d4));
		u32 in[1] = {a}, out[6] = {r1, r2, r3, d3, r4, d4};
		grp_case(in, 1, out, 6);
	}
	grp_end();
}

/* ---------------- flag instructions ---------------- */

static void run_lahf_sahf(void)
{
	grp_begin("lahf");
	for (u32 i = 0; i < 64; i++) {
		u32 fi = flags_base | cond_flags(i & 31) | (i & 32 ? F_AF : 0);
		fi &= (i & 32) ? ~0u : ~F_AF;
		u32 a = JUNK_D;
		__asm__ volatile("pushl %1\n\tpopfl\n\tlahf" : "+a"(a) : "r"(fi) : "cc");
		rec2(fi & F_ARITH, 0, a, 0);
	}
	grp_end();
	grp_begin("sahf");
	for (u32 ah = 0; ah < 256; ah++)
		for (int k = 0; k < NFIN; k++) {
			u32 f = flags_base | fin_pat[k], a = JUNK_D & 0xffff00ffu;
			a |= ah << 8;
			__asm__ volatile("pushl %[f]\n\tpopfl\n\tsahf" FL_OUT
					 : [f] "+r"(f)
					 : "a"(a)
					 : "cc");
			rec2(ah, fin_pat[k], 0, f & F_ARITH);
		}
	grp_end();
}

#define FLAGOP(fn, body)                                                       \
	static NOINLINE u32 fn(u32 fi)                                         \
	{                                                                      \
		__asm__ volatile("pushl %0\n\tpopfl\n\t" body                  \
				 "\n\tpushfl\n\tcld\n\tpopl %0"                \
				 : "+r"(fi)                                    \
				 :                                             \
				 : "cc");                                      \
		return fi;                                                     \
	}
FLAGOP(f_clc, "clc")
FLAGOP(f_stc, "stc")
FLAGOP(f_cmc, "cmc")
FLAGOP(f_cld, "cld")
FLAGOP(f_std, "std")
FLAGOP(f_std_cld, "std\n\tcld")
FLAGOP(f_cmc2, "cmc\n\tcmc\n\tcmc")

static void run_flagops(void)
{
	u32 (*const fns[])(u32) = {f_clc, f_stc, f_cmc, f_cld, f_std, f_std_cld, f_cmc2};
	grp_begin("clc.stc.cmc.cld.std");
	for (u32 o = 0; o < NELEM(fns); o++)
		for (u32 i = 0; i < 4; i++) {
			u32 fi = flags_base | (i & 1 ? F_ARITH : 0) | (i & 2 ? F_DF : 0);
			rec2(o, i, fns[o](fi) & (F_ARITH | F_DF), 0);
		}
	grp_end();
}

/* POPF then PUSHF: which bits ring 3 can set and clear. TF stays clear; IF
 * and IOPL are attempted but masked (not changeable at CPL 3, IOPL 0, and the
 * loader chooses their values); bits 1 (always 1) and 3, 5, 15 (always 0)
 * are compared; AC (alignment check) is toggled with only aligned accesses
 * in between. */
#define POPF_TRY (F_ARITH | F_DF | F_NT | F_AC | F_ID | F_IF | F_IOPL | 0x802au)
#define POPF_CMP (F_ARITH | F_DF | F_NT | F_AC | F_ID | 0x802au)
static void run_popf(void)
{
	u32 s = 4242;
	grp_begin("popf.pushf.l");
	for (int i = 0; i < 64; i++) {
		u32 want = i == 0 ? 0 : i == 1 ? POPF_TRY : lcg_next(&s) & POPF_TRY;
		u32 v = (flags_base & ~POPF_TRY) | want, r;
		__asm__ volatile("pushfl\n\tpushl %1\n\tpopfl\n\tpushfl\n\tpopl %0\n\tpopfl"
				 : "=&r"(r)
				 : "r"(v)
				 : "cc", "memory");
		rec2(want, 0, r & POPF_CMP, 0);
	}
	grp_end();
	/* 16-bit forms: POPFW loads bits 0..15 only, PUSHFW stores them. */
	grp_begin("popf.pushf.w");
	for (int i = 0; i < 64; i++) {
		u32 want = i == 0 ? 0 : i == 1 ? POPF_TRY : lcg_next(&s) & POPF_TRY;
		u32 v = (flags_base & ~POPF_TRY) | want, r, r16 = 0;
		/* then POPFW of the complement (bits 0..15 only; AC and ID
		 * live above and must keep their POPFL values) */
		u32 v2 = ((flags_base & ~POPF_TRY) | (~want & POPF_TRY)) & 0xffffu;
		__asm__ volatile("pushfl\n\tpushl %2\n\tpopfl\n\t"
				 "pushl %3\n\tpopfw\n\tleal 2(%%esp), %%esp\n\t"
				 "pushfw\n\tpopw %w1\n\tpushfl\n\tpopl %0\n\tpopfl"
				 : "=&r"(r), "+r"(r16)
				 : "r"(v), "r"(v2)
				 : "cc", "memory");
		rec2(want, 0, r & POPF_CMP, r16 & 0xffffu & POPF_CMP);
	}
	grp_end();
}

int main(void)
{
#define RUN_BT(op)                                                             \
	run_bt_reg(#op ".w.rr", op##_w_rr, 16);                                \
	run_bt_reg(#op ".l.rr", op##_l_rr, 32);                                \
	run_bt_imm(#op ".w.imm", op##_w_imm, 16);                              \
	run_bt_imm(#op ".l.imm", op##_l_imm, 32);                              \
	run_bt_mem(#op ".w.mr", op##_w_mr, 16);                                \
	run_bt_mem(#op ".l.mr", op##_l_mr, 32);
	RUN_BT(bt)
	RUN_BT(bts)
	RUN_BT(btr)
	RUN_BT(btc)
	run_bt_mem("bts.l.lmr", bts_l_lmr, 32);
	run_bt_mem("btr.l.lmr", btr_l_lmr, 32);
	run_bt_mem("btc.l.lmr", btc_l_lmr, 32);
	run_bt_mem("bts.w.lmr", bts_w_lmr, 16);
	run_bt_mem("bts.l.lmi", bts_l_lmi, 32);
	run_bt_mem("btr.l.lmi", btr_l_lmi, 32);
	run_bt_mem("btc.l.lmi", btc_l_lmi, 32);
	run_bs("bsf.w.r", bsf_w_r, 16, 0);
	run_bs("bsf.w.m", bsf_w_m, 16, 0);
	run_bs("bsf.l.r", bsf_l_r, 32, 0);
	run_bs("bsf.l.m", bsf_l_m, 32, 0);
	run_bs("bsr.w.r", bsr_w_r, 16, 0);
	run_bs("bsr.w.m", bsr_w_m, 16, 0);
	run_bs("bsr.l.r", bsr_l_r, 32, 0);
	run_bs("bsr.l.m", bsr_l_m, 32, 0);
	run_bs("repbsf.l.r", repbsf_l_r, 32, 1);
	run_bs("repbsf.l.m", repbsf_l_m, 32, 1);
	run_bswap();
	run_cc("cmov.l.r", 0);
	run_cc("cmov.w.r", 1);
	run_cc("cmov.l.m", 2);
	run_cc("cmov.w.m", 3);
	run_cc("setcc.r", 4);
	run_cc("setcc.h", 5);
	run_cc("setcc.m", 6);
	run_cc("jcc.rel8", 7);
	run_cc("jcc.rel32", 8);
	run_ext("movsbl.r", movsbl_r, 8);
	run_ext("movsbw.r", movsbw_r, 8);
	run_ext("movswl.r", movswl_r, 16);
	run_ext("movzbl.r", movzbl_r, 8);
	run_ext("movzbw.r", movzbw_r, 8);
	run_ext("movzwl.r", movzwl_r, 16);
	run_ext("movsbl.h", movsbl_h, 8);
	run_ext("movzbl.h", movzbl_h, 8);
	run_ext("movsbl.m", movsbl_m, 8);
	run_ext("movsbw.m", movsbw_m, 8);
	run_ext("movswl.m", movswl_m, 16);
	run_ext("movzbl.m", movzbl_m, 8);
	run_ext("movzbw.m", movzbw_m, 8);
	run_ext("movzwl.m", movzwl_m, 16);
	run_cbw();
	run_lahf_sahf();
	run_flagops();
	run_popf();
	return 0;
}
