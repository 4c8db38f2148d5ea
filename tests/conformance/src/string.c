/* String instruction conformance: MOVS CMPS SCAS LODS STOS in byte, word
 * and dword size; without prefix, with REP (MOVS LODS STOS), REPE and REPNE
 * (CMPS SCAS); DF clear and set; ECX = 0, 1 and longer counts; CMPS/SCAS
 * stopping at a difference or a match at various positions; segment
 * override prefixes on the source (DS: CS: SS: ES:). Each case records how
 * far ESI and EDI moved, ECX, EAX, the flags and the destination buffer.
 * Flags (Intel SDM Vol. 2 "CMPS", "SCAS"): as CMP, all six; MOVS LODS STOS
 * change none (checked with both input patterns). */
#include "insn.h"

static u8 sbuf[512] __attribute__((aligned(16)));
static u8 dbuf[512] __attribute__((aligned(16)));

/* Pristine contents, made once; each case restores the window the
 * instructions can reach ([WLO, WHI): bases 200/300, +-33 elements of 4
 * bytes) and hashes only that window. */
#define WLO 128
#define WHI 448
static u32 pristine[512 / 4];

static void bufs_init(void)
{
	u32 s = 99;
	for (u32 i = 0; i < NELEM(pristine); i++)
		pristine[i] = lcg_next(&s);
}

static void bufs_reset(u32 salt)
{
	u32 *sp = (u32 *)sbuf, *dp = (u32 *)dbuf;
	for (u32 i = WLO / 4; i < WHI / 4; i++)
		sp[i] = dp[i] = pristine[i] ^ salt;
}

static u32 dbuf_hash(void)
{
	u32 h = FNV_INIT;
	for (u32 i = WLO; i < WHI; i += 4)
		h = fnv_u32(h, *(u32 *)(dbuf + i));
	return h;
}

struct sregs {
	u32 esi, edi, ecx, eax, f;
};

/* Runs `body` with ESI, EDI, ECX, EAX and EFLAGS (DF included) loaded;
 * clears DF again before the C code resumes. */
#define STR(fn, body)                                                          \
	static NOINLINE void fn(struct sregs *r)                               \
	{                                                                      \
		u32 si = r->esi, di = r->edi, c = r->ecx, a = r->eax, f = r->f; \
		__asm__ volatile(FL_IN body "\n\tpushfl\n\tcld\n\tpopl %[f]"   \
				 : "+S"(si), "+D"(di), "+c"(c), "+a"(a), [f] "+r"(f) \
				 :                                             \
				 : "cc", "memory");                            \
		r->esi = si, r->edi = di, r->ecx = c, r->eax = a, r->f = f;    \
	}
#define STR_SET(op)                                                            \
	STR(op##b_1, #op "b")                                                  \
	STR(op##w_1, #op "w")                                                  \
	STR(op##l_1, #op "l")
STR_SET(movs)
STR_SET(cmps)
STR_SET(scas)
STR_SET(lods)
STR_SET(stos)
STR(rep_movsb, "rep movsb")
STR(rep_movsw, "rep movsw")
STR(rep_movsl, "rep movsl")
STR(rep_stosb, "rep stosb")
STR(rep_stosw, "rep stosw")
STR(rep_stosl, "rep stosl")
STR(rep_lodsb, "rep lodsb")
STR(rep_lodsw, "rep lodsw")
STR(rep_lodsl, "rep lodsl")
STR(repe_cmpsb, "repe cmpsb")
STR(repe_cmpsw, "repe cmpsw")
STR(repe_cmpsl, "repe cmpsl")
STR(repne_cmpsb, "repne cmpsb")
STR(repne_cmpsw, "repne cmpsw")
STR(repne_cmpsl, "repne cmpsl")
STR(repe_scasb, "repe scasb")
STR(repe_scasw, "repe scasw")
STR(repe_scasl, "repe scasl")
STR(repne_scasb, "repne scasb")
STR(repne_scasw, "repne scasw")
STR(repne_scasl, "repne scasl")
/* Segment overrides on the source operand (flat segments: same bytes). */
STR(cs_movsl, "movsl %%cs:(%%esi), %%es:(%%edi)")
STR(ss_movsb, "movsb %%ss:(%%esi), %%es:(%%edi)")
STR(es_lodsl, "lodsl %%es:(%%esi), %%eax")
STR(cs_rep_movsb, "rep movsb %%cs:(%%esi), %%es:(%%edi)")
/* Explicit DS (3E, which gas would drop) in two prefix orders. */
STR(ds_rep_movsw, ".byte 0x3e, 0x66, 0xf3, 0xa5") /* ds data16 rep movsw */
STR(rep_ds_movsb, ".byte 0xf3, 0x3e, 0xa4")       /* rep ds movsb */
STR(ss_repe_cmpsl, "repe cmpsl %%es:(%%edi), %%ss:(%%esi)")
STR(es_repne_cmpsb, "repne cmpsb %%es:(%%edi), %%es:(%%esi)")

typedef void (*str_fn)(struct sregs *);

/* Differences planted for CMPS/SCAS to find (byte positions in dbuf). */
static void plant(int kind, u32 pos)
{
	if (kind == 1) /* one difference at pos */
		dbuf[pos] ^= 0x5a;
	if (kind == 2) /* everything differs from pos on, except one byte */
		for (u32 i = pos; i < sizeof(dbuf); i++)
			if (i != pos + 3)
				dbuf[i] ^= 0xff;
}

static void run_str(const char *name, str_fn fn, int size, u32 fm)
{
	static const u32 counts[] = {0, 1, 2, 3, 7, 16, 33};
	static const u32 starts[] = {0, 1, 3};
	grp_begin(name);
	for (int df = 0; df < 2; df++)
		for (u32 c = 0; c < NELEM(counts); c++)
			for (u32 st = 0; st < NELEM(starts); st++)
				for (int kind = 0; kind < 3; kind++)
					for (int k = 0; k < NFIN; k++) {
						bufs_reset((c * 31 + st) * 0x01010101u);
						plant(kind, 200 + (u32)size * (c + st));
						/* DF=1 walks down from the upper part */
						u32 base = df ? 300 : 200;
						struct sregs r = {
							(u32)(sbuf + base + starts[st]),
							(u32)(dbuf + base + starts[st]), counts[c],
							/* SCAS looks for the dbuf value at the
							 * planted spot or a miss */
							kind == 1 ? *(u32 *)(dbuf + 200 + size * (c + st))
								  : 0xa5a5a5a5u,
							flags_base | fin_pat[k] | (df ? F_DF : 0)};
						u32 si0 = r.esi, di0 = r.edi;
						fn(&r);
						u32 in[5] = {(u32)df, counts[c], starts[st], (u32)kind, fin_pat[k]};
						u32 out[6] = {r.esi - si0, r.edi - di0, r.ecx, r.eax,
							      r.f & (fm | F_DF), dbuf_hash()};
						grp_case(in, 5, out, 6);
					}
	grp_end();
}

#define A F_ARITH
int main(void)
{
	bufs_init();
	run_str("movsb", movsb_1, 1, A);
	run_str("movsw", movsw_1, 2, A);
	run_str("movsl", movsl_1, 4, A);
	run_str("cmpsb", cmpsb_1, 1, A);
	run_str("cmpsw", cmpsw_1, 2, A);
	run_str("cmpsl", cmpsl_1, 4, A);
	run_str("scasb", scasb_1, 1, A);
	run_str("scasw", scasw_1, 2, A);
	run_str("scasl", scasl_1, 4, A);
	run_str("lodsb", lodsb_1, 1, A);
	run_str("lodsw", lodsw_1, 2, A);
	run_str("lodsl", lodsl_1, 4, A);
	run_str("stosb", stosb_1, 1, A);
	run_str("stosw", stosw_1, 2, A);
	run_str("stosl", stosl_1, 4, A);
	run_str("rep.movsb", rep_movsb, 1, A);
	run_str("rep.movsw", rep_movsw, 2, A);
	run_str("rep.movsl", rep_movsl, 4, A);
	run_str("rep.stosb", rep_stosb, 1, A);
	run_str("rep.stosw", rep_stosw, 2, A);
	run_str("rep.stosl", rep_stosl, 4, A);
	run_str("rep.lodsb", rep_lodsb, 1, A);
	run_str("rep.lodsw", rep_lodsw, 2, A);
	run_str("rep.lodsl", rep_lodsl, 4, A);
	run_str("repe.cmpsb", repe_cmpsb, 1, A);
	run_str("repe.cmpsw", repe_cmpsw, 2, A);
	run_str("repe.cmpsl", repe_cmpsl, 4, A);
	run_str("repne.cmpsb", repne_cmpsb, 1, A);
	run_str("repne.cmpsw", repne_cmpsw, 2, A);
	run_str("repne.cmpsl", repne_cmpsl, 4, A);
	run_str("repe.scasb", repe_scasb, 1, A);
	run_str("repe.scasw", repe_scasw, 2, A);
	run_str("repe.scasl", repe_scasl, 4, A);
	run_str("repne.scasb", repne_scasb, 1, A);
	run_str("repne.scasw", repne_scasw, 2, A);
	run_str("repne.scasl", repne_scasl, 4, A);
	run_str("cs.movsl", cs_movsl, 4, A);
	run_str("ss.movsb", ss_movsb, 1, A);
	run_str("es.lodsl", es_lodsl, 4, A);
	run_str("cs.rep.movsb", cs_rep_movsb, 1, A);
	run_str("ds.rep.movsw", ds_rep_movsw, 2, A);
	run_str("rep.ds.movsb", rep_ds_movsb, 1, A);
	run_str("ss.repe.cmpsl", ss_repe_cmpsl, 4, A);
	run_str("es.repne.cmpsb", es_repne_cmpsb, 1, A);
	return 0;
}
