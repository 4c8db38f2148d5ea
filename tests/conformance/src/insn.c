#include "insn.h"

void run_bin(const char *name, bin_fn fn, int bits, u32 fmask)
{
	int n;
	const u32 *v = vals_for(bits, &n);
	u32 m = width_mask(bits);
	grp_begin(name);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			for (int k = 0; k < NFIN; k++) {
				u32 d = v[i] | (JUNK_D & ~m);
				u32 s = v[j] | (JUNK_S & ~m);
				u32 f, r = fn(d, s, flags_base | fin_pat[k], &f);
				rec3(d, s, fin_pat[k], r, f & fmask);
			}
	grp_end();
}

void run_bin_fixed(const char *name, bin_fn fn, int bits, u32 src, u32 fmask)
{
	int n;
	const u32 *v = vals_for(bits, &n);
	u32 m = width_mask(bits);
	grp_begin(name);
	for (int i = 0; i < n; i++)
		for (int k = 0; k < NFIN; k++) {
			u32 d = v[i] | (JUNK_D & ~m);
			u32 f, r = fn(d, src, flags_base | fin_pat[k], &f);
			rec3(d, src, fin_pat[k], r, f & fmask);
		}
	grp_end();
}

void run_un(const char *name, un_fn fn, int bits, u32 fmask)
{
	int n;
	const u32 *v = vals_for(bits, &n);
	u32 m = width_mask(bits);
	grp_begin(name);
	for (int i = 0; i < n; i++)
		for (int k = 0; k < NFIN; k++) {
			u32 d = v[i] | (JUNK_D & ~m);
			u32 f, r = fn(d, flags_base | fin_pat[k], &f);
			rec2(d, fin_pat[k], r, f & fmask);
		}
	grp_end();
}
