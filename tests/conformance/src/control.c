/* Control flow, stack and addressing conformance:
 *  LEA over every ModRM/SIB shape (all bases, indexes, scales, displacement
 *    sizes, no-base and no-index SIB, ESP base) and LEA with a 16-bit
 *    destination; near JMP/CALL/RET (rel8, rel32, RET imm16, indirect through
 *    register and memory, CS override, jump tables, NOTRACK prefix,
 *    call/pop get-PC); ENTER (nesting levels 0, 1, 2, 3, 7, 31, 32) and
 *    LEAVE; PUSHAD/POPAD and PUSHAW/POPAW; the NOP family (0F 1F /0 in all
 *    lengths with 66 and CS prefixes, lea/mov padding, ENDBR32, PAUSE);
 *  LOOP LOOPE LOOPNE JECXZ; XLAT (with a segment override);
 *  PUSH/POP of registers, immediates (6A sign-extended, 68), memory (FF /6,
 *    8F /0, including POP to an ESP-based address), PUSH ESP, POP ESP, and
 *    their 16-bit (66) forms; MOV forms (moffs A0-A3, C6/C7 to memory, 16-bit
 *    moves that keep the upper half); segment override prefixes (ES CS SS
 *    DS) on ordinary memory operands. FS and GS are not used: their bases
 *    differ between a Linux process and the emulator. */
#include "insn.h"

u32 lea_all(u32 *out);
u32 flow(u32 *trace);
void pusha_popa(u32 *out);
void nops(u32 *out, u32 flags);
#define ENTERS(X) X(enter_0_0) X(enter_16_0) X(enter_8_1) X(enter_0_2) \
	X(enter_12_3) X(enter_4_7) X(enter_0_31) X(enter_0_32) X(enter_0x1234_1)
#define X_DECL(n) void n(u32 *out, u32 *fake_ebp);
ENTERS(X_DECL)

static void record_words(const char *name, const u32 *w, u32 n)
{
	grp_begin(name);
	for (u32 i = 0; i < n; i++)
		rec2(i, 0, w[i], 0);
	grp_end();
}

static u32 big[1200];

static void run_lea(void)
{
	u32 n = lea_all(big);
	record_words("lea.modrm.sib", big, n);
}

static void run_flow(void)
{
	u32 n = flow(big);
	record_words("jmp.call.ret", big, n);
}

static u32 fake_frames[64];

static void run_enter(void)
{
	static void (*const fns[])(u32 *, u32 *) = {
#define X_PTR(n) n,
		ENTERS(X_PTR)};
	grp_begin("enter.leave");
	for (u32 f = 0; f < NELEM(fns); f++) {
		for (u32 i = 0; i < 64; i++)
			fake_frames[i] = 0xf0000000u + i * 0x01010101u;
		u32 out[62];
		memset(out, 0, sizeof(out));
		fns[f](out, fake_frames + 48);
		/* out[60] is EBP after LEAVE: a static address, kept as an
		 * offset from the fake frame */
		out[60] -= (u32)(fake_frames + 48);
		u32 in[1] = {f};
		grp_case(in, 1, out, 62);
	}
	grp_end();
}

static void run_pusha(void)
{
	u32 out[29];
	pusha_popa(out);
	record_words("pusha.popa", out, 29);
}

static void run_nops(void)
{
	grp_begin("nop.forms");
	for (int k = 0; k < NFIN; k++) {
		u32 out[9];
		nops(out, flags_base | fin_pat[k]);
		out[7] &= F_ARITH | F_DF;
		u32 in[1] = {fin_pat[k]};
		grp_case(in, 1, out, 9);
	}
	grp_end();
}

/* ---- LOOP family ---- */

static u8 loopdata[64];

static void run_loops(void)
{
	static const u32 counts[] = {1, 2, 3, 10, 40};
	grp_begin("loop");
	for (u32 c = 0; c < NELEM(counts); c++) {
		u32 n = 0, cx = counts[c];
		__asm__ volatile("1:\tincl %0\n\tloop 1b" : "+r"(n), "+c"(cx) : : "cc");
		rec2(counts[c], 0, n, cx);
	}
	grp_end();
	/* LOOPE/LOOPNE: scan loopdata for a (non-)match; ZF from CMP. */
	for (u32 i = 0; i < sizeof(loopdata); i++)
		loopdata[i] = (u8)(i < 20 ? 7 : i);
	grp_begin("loope.loopne");
	for (u32 c = 0; c < NELEM(counts); c++)
		for (u32 v = 5; v < 9; v++) {
			u32 i1 = 0, c1 = counts[c], f1, i2 = 0, c2 = counts[c], f2;
			__asm__ volatile("1:\tincl %0\n\tcmpb %b4, -1(%3,%0)\n\tloope 1b\n\t"
					 "pushfl\n\tpopl %2"
					 : "+r"(i1), "+c"(c1), "=r"(f1)
					 : "r"(loopdata), "q"(7)
					 : "cc");
			__asm__ volatile("1:\tincl %0\n\tcmpb %b4, -1(%3,%0)\n\tloopne 1b\n\t"
					 "pushfl\n\tpopl %2"
					 : "+r"(i2), "+c"(c2), "=r"(f2)
					 : "r"(loopdata), "q"(v + 15)
					 : "cc");
			u32 in[2] = {counts[c], v}, out[6] = {i1, c1, f1 & F_ARITH, i2, c2, f2 & F_ARITH};
			grp_case(in, 2, out, 6);
		}
	grp_end();
	grp_begin("jecxz");
	static const u32 cxs[] = {0, 1, 0x10000, 0x80000000u, 0xffffffffu};
	for (u32 c = 0; c < NELEM(cxs); c++) {
		u32 r = 0;
		__asm__ volatile("jecxz 1f\n\tmovl $1, %0\n\tjmp 2f\n1:\tmovl $2, %0\n2:"
				 : "+r"(r)
				 : "c"(cxs[c]));
		rec2(cxs[c], 0, r, 0);
	}
	grp_end();
}

/* ---- XLAT ---- */

static u8 xtab[256];

static void run_xlat(void)
{
	for (u32 i = 0; i < 256; i++)
		xtab[i] = (u8)(i * 37 + 11);
	grp_begin("xlat");
	for (u32 i = 0; i < 256; i += 7) {
		u32 a = 0x12345600u | i, b = 0x55667700u | (255 - i);
		__asm__ volatile("xlat" : "+a"(a) : "b"(xtab));
		__asm__ volatile("xlat %%ss:(%%ebx)" : "+a"(b) : "b"(xtab));
		rec2(i, 0, a, b);
	}
	grp_end();
}

/* ---- PUSH / POP forms ---- */

static u32 pmem[4];

static void run_pushpop(void)
{
	u32 out[24];
	u32 *o = out;
	grp_begin("push.pop");
	/* immediates: 6A (sign-extended imm8), 68 imm32, 66 6A, 66 68 */
	__asm__ volatile("pushl $-3\n\tpushl $0x7f\n\tpushl $0x12345678\n\t"
			 "pushw $-2\n\tpushw $0x1234\n\t"
			 "popl %0\n\tpopl %1\n\tpopl %2\n\tpopl %3"
			 : "=r"(o[0]), "=r"(o[1]), "=r"(o[2]), "=r"(o[3])
			 :
			 : "memory");
	/* memory: FF /6 and 8F /0, 32 and 16 bit */
	pmem[0] = 0xaabbccdd, pmem[1] = 0x11223344, pmem[2] = 0x55667788, pmem[3] = 0;
	__asm__ volatile("pushl (%0)\n\tpushw 4(%0)\n\tpopw 8(%0)\n\tpopl 12(%0)"
			 :
			 : "r"(pmem)
			 : "memory");
	o[4] = pmem[2], o[5] = pmem[3];
	/* PUSH ESP pushes the value before the push; POP ESP loads ESP from
	 * the stack (the increment is lost) */
	__asm__ volatile("movl %%esp, %%ecx\n\tpushl %%esp\n\tpopl %0\n\tsubl %%ecx, %0\n\t"
			 "pushl %%esp\n\tpopl %%esp\n\tmovl %%esp, %1\n\tsubl %%ecx, %1"
			 : "=&r"(o[6]), "=&r"(o[7])
			 :
			 : "ecx", "memory");
	/* 16-bit PUSH ESP form (66 54) pushes SP; read it back as a word */
	__asm__ volatile("movl %%esp, %%ecx\n\tpushw %%sp\n\tpopw %w0\n\tsubw %%cx, %w0\n\t"
			 "movzwl %w0, %0"
			 : "=&r"(o[8])
			 :
			 : "ecx", "memory");
	/* POP to an ESP-based address: the address is computed after ESP is
	 * incremented (Intel SDM Vol. 2 "POP") */
	__asm__ volatile("pushl $0x51\n\tpushl $0x52\n\tpopl (%%esp)\n\tpopl %0"
			 : "=r"(o[9])
			 :
			 : "memory");
	/* PUSH/POP of 16-bit registers keep the upper halves */
	u32 a = 0x12345678u, b = 0xffff0000u;
	__asm__ volatile("pushw %w1\n\tpopw %w0" : "+r"(b) : "r"(a) : "memory");
	o[10] = b;
	for (u32 i = 0; i < 11; i++)
		rec2(i, 0, out[i], 0);
	grp_end();
}

/* ---- MOV forms and segment overrides ---- */

static u32 mv[8];

static void run_mov(void)
{
	u32 out[32];
	memset(out, 0, sizeof(out));
	for (u32 i = 0; i < 8; i++)
		mv[i] = 0x01010101u * (i + 1) ^ 0x80402010u;
	grp_begin("mov.forms");
	/* moffs: A1/A3 (32), A0/A2 (8), 66 A1/A3 (16) */
	u32 a = 0xcccccccc;
	__asm__ volatile("movl mv+4, %%eax" : "=a"(out[0]));
	__asm__ volatile("movb mv+9, %%al" : "+a"(a));
	out[1] = a;
	__asm__ volatile("movw mv+12, %%ax" : "+a"(a));
	out[2] = a;
	__asm__ volatile("movl %0, mv+16\n\tmovb %b0, mv+21\n\tmovw %w0, mv+26"
			 :
			 : "a"(0xa1b2c3d4u)
			 : "memory");
	/* C6/C7 immediates to memory, 8/16/32 */
	__asm__ volatile("movb $0x9a, 1(%0)\n\tmovw $0x7bcd, 30(%0)\n\tmovl $-5, 24(%0)"
			 :
			 : "r"(mv)
			 : "memory");
	/* 16- and 8-bit register moves keep the rest of the register */
	u32 d = 0x11112222u, s = 0xabcdef01u;
	__asm__ volatile("movw %w1, %w0" : "+r"(d) : "r"(s));
	out[3] = d;
	d = 0x11112222u;
	__asm__ volatile("movb %h1, %b0" : "+q"(d) : "Q"(s));
	out[4] = d;
	d = 0x11112222u;
	__asm__ volatile("movw $0x5a5a, %w0" : "+r"(d)); /* 66 B8+r */
	out[5] = d;
	d = 0x11112222u;
	__asm__ volatile("movb $0x77, %h0" : "+Q"(d)); /* B4+r */
	out[6] = d;
	/* segment overrides: ES CS SS DS on loads, ES SS DS on stores */
	u32 r1, r2, r3, r4;
	__asm__ volatile("movl %%es:4(%4), %0\n\tmovl %%cs:8(%4), %1\n\t"
			 "movl %%ss:12(%4), %2\n\t.byte 0x3e\n\tmovl 16(%4), %3"
			 : "=&r"(r1), "=&r"(r2), "=&r"(r3), "=&r"(r4)
			 : "r"(mv)
			 : "memory");
	out[7] = r1, out[8] = r2, out[9] = r3, out[10] = r4;
	__asm__ volatile("movl $0x0e0e0e0e, %%es:0(%0)\n\t"
			 "movl $0x55555555, %%ss:20(%0)\n\t"
			 "addl $3, %%es:0(%0)\n\tincl %%ss:20(%0)"
			 :
			 : "r"(mv)
			 : "memory", "cc");
	/* an SS-default base (EBP) with overrides both ways */
	__asm__ volatile("pushl %%ebp\n\tmovl %1, %%ebp\n\tmovl 4(%%ebp), %0\n\t"
			 "addl %%ds:8(%%ebp), %0\n\taddl %%es:12(%%ebp), %0\n\tpopl %%ebp"
			 : "=&r"(out[11])
			 : "r"(mv)
			 : "memory", "cc");
	for (u32 i = 0; i < 8; i++)
		out[12 + i] = mv[i];
	for (u32 i = 0; i < 20; i++)
		rec2(i, 0, out[i], 0);
	grp_end();
}

/* ---- 16-bit operand size on everyday instructions ---- */

static u16 w16[4];

static void run_opsize(void)
{
	grp_begin("opsize16");
	for (int i = 0; i < nv16; i++) {
		u32 x = v16[i] | 0xdead0000u, y = 0xbeef0000u | v16[(i + 3) % nv16];
		u32 r[8], f;
		w16[0] = (u16)v16[i];
		w16[1] = 0x4321;
		r[0] = x;
		r[1] = y;
		r[2] = x;
		__asm__ volatile("incw %w0\n\tnotw %w1\n\tnegw %w2" : "+r"(r[0]), "+r"(r[1]), "+r"(r[2]) : : "cc");
		r[3] = x;
		__asm__ volatile("imulw $-7, %w1, %w0" : "=&r"(r[3]) : "r"(y), "0"(r[3]) : "cc");
		r[4] = x;
		__asm__ volatile("movzwl %w0, %0\n\taddw (%2), %w0\n\tpushfl\n\tpopl %1"
				 : "+r"(r[4]), "=r"(f)
				 : "r"(w16)
				 : "cc", "memory");
		r[5] = x;
		__asm__ volatile("rolw $3, %w0\n\tsarw %w0\n\tshldw $5, %w1, %w0" : "+r"(r[5]) : "r"(y) : "cc");
		r[6] = y;
		__asm__ volatile("xchgw %w0, 2(%1)\n\tcmpw $0x4321, %w0\n\tsete %b0" : "+q"(r[6]) : "r"(w16) : "cc", "memory");
		r[7] = w16[1];
		u32 in[2] = {x, y}, out[9] = {r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], f & F_ARITH};
		grp_case(in, 2, out, 9);
	}
	grp_end();
}

int main(void)
{
	run_lea();
	run_flow();
	run_enter();
	run_pusha();
	run_nops();
	run_loops();
	run_xlat();
	run_pushpop();
	run_mov();
	run_opsize();
	return 0;
}
