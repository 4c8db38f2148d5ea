/* BCD adjust conformance: DAA DAS AAA AAS over every AL with every CF/AF
 * input (and several AH values for the ASCII adjusts), AAM and AAD with base
 * 10 and other bases (AAD 0 is legal; AAM 0 would raise #DE and is left to
 * the emulator's unit tests). Flags masked per Intel SDM Vol. 2:
 *   DAA/DAS: OF undefined;       AAA/AAS: OF SF ZF PF undefined;
 *   AAM/AAD: OF AF CF undefined. */
#include "insn.h"

#define BCD1(fn, body)                                                         \
	static NOINLINE u32 fn(u32 a, u32 fi, u32 *fo)                         \
	{                                                                      \
		__asm__ volatile(FL_IN body FL_OUT                             \
				 : "+a"(a), [f] "+r"(fi)                       \
				 :                                             \
				 : "cc");                                      \
		*fo = fi;                                                      \
		return a;                                                      \
	}
BCD1(do_daa, "daa")
BCD1(do_das, "das")
BCD1(do_aaa, "aaa")
BCD1(do_aas, "aas")
/* AAM/AAD imm8 spelled as bytes so any base can be given */
BCD1(aam10, ".byte 0xd4, 10")
BCD1(aam16, ".byte 0xd4, 16")
BCD1(aam1, ".byte 0xd4, 1")
BCD1(aam7, ".byte 0xd4, 7")
BCD1(aam255, ".byte 0xd4, 255")
BCD1(aad10, ".byte 0xd5, 10")
BCD1(aad16, ".byte 0xd5, 16")
BCD1(aad0, ".byte 0xd5, 0")
BCD1(aad1, ".byte 0xd5, 1")
BCD1(aad7, ".byte 0xd5, 7")
BCD1(aad255, ".byte 0xd5, 255")

typedef u32 (*bcd_fn)(u32 a, u32 fi, u32 *fo);

/* Input flag patterns: CF and AF each clear or set; the other status flags
 * alternate so "unchanged" cannot pass by accident. */
static u32 bcd_fin(u32 i)
{
	return (i & 1 ? F_CF : 0) | (i & 2 ? F_AF : 0) | (i & 1 ? F_ZF | F_OF : F_SF | F_PF);
}

static void run_bcd(const char *name, bcd_fn fn, const u32 *ahs, u32 nah, u32 fm)
{
	grp_begin(name);
	for (u32 h = 0; h < nah; h++)
		for (u32 al = 0; al < 256; al++)
			for (u32 i = 0; i < 4; i++) {
				u32 a = 0xc3a50000u | (ahs[h] << 8) | al, f;
				u32 r = fn(a, flags_base | bcd_fin(i), &f);
				rec3(a, bcd_fin(i), 0, r, f & fm);
			}
	grp_end();
}

int main(void)
{
	static const u32 ah1[] = {0x5e};
	static const u32 ah4[] = {0x00, 0x09, 0x7f, 0xff};
	static const u32 ah6[] = {0x00, 0x01, 0x09, 0x10, 0x80, 0xff};
	const u32 da = F_CF | F_AF | F_SF | F_ZF | F_PF;
	const u32 aa = F_CF | F_AF;
	const u32 am = F_SF | F_ZF | F_PF;
	run_bcd("daa", do_daa, ah1, 1, da);
	run_bcd("das", do_das, ah1, 1, da);
	run_bcd("aaa", do_aaa, ah4, 4, aa);
	run_bcd("aas", do_aas, ah4, 4, aa);
	run_bcd("aam.10", aam10, ah1, 1, am);
	run_bcd("aam.16", aam16, ah1, 1, am);
	run_bcd("aam.1", aam1, ah1, 1, am);
	run_bcd("aam.7", aam7, ah1, 1, am);
	run_bcd("aam.255", aam255, ah1, 1, am);
	run_bcd("aad.10", aad10, ah6, 6, am);
	run_bcd("aad.16", aad16, ah6, 6, am);
	run_bcd("aad.0", aad0, ah6, 6, am);
	run_bcd("aad.1", aad1, ah6, 6, am);
	run_bcd("aad.7", aad7, ah6, 6, am);
	run_bcd("aad.255", aad255, ah6, 6, am);
	return 0;
}
