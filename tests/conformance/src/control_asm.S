/* Hand-written parts of the control/addressing conformance program: forms
 * whose operands are the registers or the stack themselves (LEA over every
 * ModRM/SIB shape, control transfers, ENTER/LEAVE, PUSHA/POPA, the NOP
 * family). Every routine is cdecl, saves the callee-saved registers and
 * stores only values independent of where the stack is (stack addresses are
 * recorded as differences from a saved ESP). */
	.text

/* Register values for the LEA matrix: varied bit patterns, one near the
 * 32-bit wrap. */
#define KA 0x00001000
#define KC 0x12345678
#define KD 0x80000001
#define KB 0xfffffff0
#define KBP 0x0badf00d
#define KSI 0x7fffffff
#define KDI 0x00000003

	.macro	lea_store	mem:vararg
	leal	\mem, %eax
	pushl	%eax
	movl	$KA, %eax
	.endm
	.macro	lea_store_sp	mem:vararg
	leal	\mem, %eax
	subl	%esp, %eax
	pushl	%eax
	movl	$KA, %eax
	.endm

/* u32 lea_all(u32 *out): every addressing form into out[], returns count. */
	.globl	lea_all
lea_all:
	pushl	%ebp
	pushl	%ebx
	pushl	%esi
	pushl	%edi
	movl	%esp, lea_sp0
	movl	$KA, %eax
	movl	$KC, %ecx
	movl	$KD, %edx
	movl	$KB, %ebx
	movl	$KBP, %ebp
	movl	$KSI, %esi
	movl	$KDI, %edi
	/* absolute disp32 (mod=00 rm=101) */
	lea_store 0x12345678
	/* no SIB: every base, mod 00 / 01 (+ and -) / 10 */
	.irp	b, eax,ecx,edx,ebx,ebp,esi,edi
	lea_store (%\b)
	lea_store 0x7f(%\b)
	lea_store -0x80(%\b)
	lea_store 0x12345678(%\b)
	lea_store -0x789abcdf(%\b)
	.endr
	/* SIB: every base x index x scale x displacement kind */
	.irp	b, eax,ecx,edx,ebx,ebp,esi,edi
	.irp	i, eax,ecx,edx,ebx,ebp,esi,edi
	.irp	s, 1,2,4,8
	lea_store (%\b,%\i,\s)
	lea_store 0x11(%\b,%\i,\s)
	lea_store -0x22(%\b,%\i,\s)
	lea_store 0x7abcdef0(%\b,%\i,\s)
	.endr
	.endr
	.endr
	/* SIB with no base (mod=00 base=101: disp32 + index*scale) */
	.irp	i, eax,ecx,edx,ebx,ebp,esi,edi
	.irp	s, 1,2,4,8
	lea_store 0(,%\i,\s)
	lea_store -0x44(,%\i,\s)
	lea_store 0x55667788(,%\i,\s)
	.endr
	.endr
	/* SIB with no index (index=100), any scale; and base=101 mod=00 */
	.irp	b, eax,ecx,edx,ebx,ebp,esi,edi
	.irp	s, 1,2,4,8
	lea_store (%\b,%eiz,\s)
	lea_store 0x33(%\b,%eiz,\s)
	.endr
	.endr
	lea_store 0x1000(,%eiz,1)
	/* ESP as base: recorded relative to ESP */
	lea_store_sp (%esp)
	lea_store_sp 0x44(%esp)
	lea_store_sp -0x10000(%esp)
	.irp	i, eax,ecx,edx,ebx,ebp,esi,edi
	.irp	s, 1,2,4,8
	lea_store_sp (%esp,%\i,\s)
	lea_store_sp 0x12(%esp,%\i,\s)
	lea_store_sp 0x1234567(%esp,%\i,\s)
	.endr
	.endr
	/* 16-bit destination (66 8D): only the low word is written */
	movl	$0xaaaaaaaa, %eax
	leaw	0x1234(%ecx,%edx,2), %ax
	pushl	%eax
	movl	$KA, %eax
	/* copy the stack area out (newest first), return the count */
	movl	lea_sp0, %ecx
	subl	%esp, %ecx
	shrl	$2, %ecx
	movl	%ecx, %eax
	movl	lea_sp0, %edx
	movl	20(%edx), %edi
	movl	%esp, %esi
	rep movsl
	movl	lea_sp0, %esp
	popl	%edi
	popl	%esi
	popl	%ebx
	popl	%ebp
	ret

/* ---- control transfers ---- */

/* Each step appends a marker to the trace at EDI. */
	.macro	mark	v
	movl	$\v, (%edi)
	leal	4(%edi), %edi
	.endm

fn_a:
	mark	0x100
	ret
fn_ret8:
	mark	0x101
	ret	$8
fn_ret0:
	mark	0x102
	ret	$0
fn_nested:
	mark	0x103
	call	fn_a
	mark	0x104
	ret

/* u32 flow(u32 *trace): returns the number of markers written. */
	.globl	flow
flow:
	pushl	%ebp
	pushl	%ebx
	pushl	%esi
	pushl	%edi
	movl	20(%esp), %edi
	movl	%esp, %ebp
	jmp	1f			/* EB rel8, forward */
	mark	0xbad
1:	mark	1
	{disp32} jmp 2f			/* E9 rel32 */
	mark	0xbad
3:	mark	3
	jmp	4f
2:	mark	2
	jmp	3b			/* EB rel8, backward */
4:	call	fn_a			/* E8 */
	mark	4
	pushl	$0x11
	pushl	$0x22
	call	fn_ret8			/* C2 08 00 pops the arguments */
	mark	5
	call	fn_ret0			/* C2 00 00 */
	call	fn_nested
	movl	$fn_a, %eax
	call	*%eax			/* FF /2, register */
	mark	6
	movl	$fn_a, fptr
	call	*fptr			/* FF /2, disp32 memory */
	movl	$fptab, %ebx
	call	*4(%ebx)		/* FF /2, base+disp8 */
	movl	$1, %ecx
	call	*fptab(,%ecx,4)		/* FF /2, SIB */
	call	*%cs:fptr		/* CS-overridden memory operand */
	mark	7
	/* switch-style jump tables, as gcc emits them */
	xorl	%ecx, %ecx
5:	jmp	*jtab(,%ecx,4)		/* FF /4, SIB */
6:	mark	0x200
	incl	%ecx
	jmp	5b
7:	mark	0x201
	incl	%ecx
	jmp	5b
8:	mark	0x202
	movl	$9f, %eax
	jmp	*%eax			/* FF /4, register */
	mark	0xbad
9:	mark	8
	movl	$10f, jptr
	jmp	*jptr			/* FF /4, memory */
	mark	0xbad
10:	mark	9
	movl	$11f, %eax
	.byte	0x3e			/* NOTRACK (DS) prefix, -fcf-protection */
	jmp	*%eax
	mark	0xbad
11:	mark	10
	/* get-PC idiom of PIC code: call the next instruction, pop */
	call	12f
12:	popl	%eax
	subl	$12b, %eax
	movl	%eax, (%edi)
	leal	4(%edi), %edi
	/* stack balance: ESP must be back where it started */
	movl	%esp, %eax
	subl	%ebp, %eax
	movl	%eax, (%edi)
	leal	4(%edi), %edi
	movl	%edi, %eax
	subl	20(%esp), %eax
	shrl	$2, %eax
	popl	%edi
	popl	%esi
	popl	%ebx
	popl	%ebp
	ret

/* ---- ENTER / LEAVE ----
 * void enter_N(u32 *out, u32 *fake_ebp): EBP is pointed at a static fake
 * frame chain so the words ENTER copies for nesting levels > 0 are known.
 * out[0] = ESP after ENTER - ESP before, out[1] = EBP after - ESP before,
 * out[2..] = the words between the new EBP and ESP (new EBP first; the
 * frame pointer ENTER pushes last is a stack address: stored minus the
 * original ESP), then EBP and ESP-ESP0 after LEAVE. */
	.macro	enter_fn	name, size, level
	.globl	\name
\name:
	pushl	%ebp
	pushl	%ebx
	pushl	%esi
	pushl	%edi
	movl	20(%esp), %edi
	movl	24(%esp), %ebp
	movl	%esp, %esi
	enter	$\size, $\level
	movl	%esp, %eax
	subl	%esi, %eax
	movl	%eax, 0(%edi)
	movl	%ebp, %eax
	subl	%esi, %eax
	movl	%eax, 4(%edi)
	/* words at EBP, EBP-4, ..., EBP-4*level */
	movl	(%ebp), %eax
	movl	%eax, 8(%edi)
	.if	(\level % 32) > 0
	xorl	%ecx, %ecx
1:	incl	%ecx
	cmpl	$(\level % 32), %ecx
	je	2f
	movl	%ecx, %eax
	negl	%eax
	movl	(%ebp,%eax,4), %eax
	movl	%eax, 8(%edi,%ecx,4)
	jmp	1b
2:	movl	%ecx, %eax
	negl	%eax
	movl	(%ebp,%eax,4), %eax
	subl	%esi, %eax
	movl	%eax, 8(%edi,%ecx,4)
	.endif
	leave
	movl	%ebp, 240(%edi)
	movl	%esp, %eax
	subl	%esi, %eax
	movl	%eax, 244(%edi)
	popl	%edi
	popl	%esi
	popl	%ebx
	popl	%ebp
	ret
	.endm
	enter_fn enter_0_0, 0, 0
	enter_fn enter_16_0, 16, 0
	enter_fn enter_8_1, 8, 1
	enter_fn enter_0_2, 0, 2
	enter_fn enter_12_3, 12, 3
	enter_fn enter_4_7, 4, 7
	enter_fn enter_0_31, 0, 31
	enter_fn enter_0_32, 0, 32	/* level is taken modulo 32 */
	enter_fn enter_0x1234_1, 0x1234, 1

/* ---- PUSHA / POPA (32 and 16 bit) ----
 * void pusha_popa(u32 *out): out[0..7] the PUSHAD image (ESP slot relative),
 * out[8..15] the registers after POPAD of a modified image, then the same
 * for PUSHAW/POPAW in out[16..31]. */
	.globl	pusha_popa
pusha_popa:
	pushl	%ebp
	pushl	%ebx
	pushl	%esi
	pushl	%edi
	movl	%esp, pa_sp0
	movl	$0x11111111, %eax
	movl	$0x22222222, %ecx
	movl	$0x33333333, %edx
	movl	$0x44444444, %ebx
	movl	$0x55555555, %ebp
	movl	$0x66666666, %esi
	movl	$0x77777777, %edi
	pushal
	/* image: EDI ESI EBP ESP EBX EDX ECX EAX from low to high */
	movl	$pa_out, %eax
	.irp	k, 0,1,2,3,4,5,6,7
	movl	4*\k(%esp), %ecx
	movl	%ecx, 4*\k(%eax)
	.endr
	movl	pa_sp0, %ecx
	subl	%ecx, 12(%eax)		/* ESP slot relative to the caller */
	/* change the image; POPAD must skip the ESP slot */
	.irp	k, 0,1,2,4,5,6,7
	xorl	$0x0f0f0f0f, 4*\k(%esp)
	.endr
	movl	$0xdeadbeef, 12(%esp)
	popal
	movl	%eax, pa_out+32
	movl	%ecx, pa_out+36
	movl	%edx, pa_out+40
	movl	%ebx, pa_out+44
	movl	%ebp, pa_out+48
	movl	%esi, pa_out+52
	movl	%edi, pa_out+56
	movl	%esp, %eax
	subl	pa_sp0, %eax
	movl	%eax, pa_out+60
	/* 16-bit: PUSHAW pushes the eight 16-bit registers, POPAW loads the
	 * low halves only */
	movl	$0xaaaa0001, %eax
	movl	$0xaaaa0002, %ecx
	movl	$0xaaaa0003, %edx
	movl	$0xaaaa0004, %ebx
	movl	$0xaaaa0005, %ebp
	movl	$0xaaaa0006, %esi
	movl	$0xaaaa0007, %edi
	pushaw
	movl	0(%esp), %eax
	movl	%eax, pa_out+64
	movzwl	4(%esp), %eax		/* BP */
	movl	%eax, pa_out+68
	movzwl	6(%esp), %eax		/* the SP slot */
	subw	pa_sp0, %ax
	movzwl	%ax, %eax
	movl	%eax, pa_out+72
	movl	8(%esp), %eax
	movl	%eax, pa_out+76
	movl	12(%esp), %eax
	movl	%eax, pa_out+80
	xorl	$0x12341234, 0(%esp)
	xorl	$0x12341234, 8(%esp)
	xorl	$0x12341234, 12(%esp)
	xorw	$0x1234, 4(%esp)
	popaw
	movl	%eax, pa_out+84
	movl	%ecx, pa_out+88
	movl	%edx, pa_out+92
	movl	%ebx, pa_out+96
	movl	%ebp, pa_out+100
	movl	%esi, pa_out+104
	movl	%edi, pa_out+108
	movl	%esp, %eax
	subl	pa_sp0, %eax
	movl	%eax, pa_out+112
	movl	pa_sp0, %esp
	popl	%edi
	popl	%esi
	popl	%ebx
	popl	%ebp
	movl	4(%esp), %edi
	pushl	%esi
	movl	$pa_out, %esi
	movl	$29, %ecx
	rep movsl
	popl	%esi
	ret

/* ---- the NOP family ----
 * void nops(u32 *out, u32 flags): runs every NOP encoding compilers and
 * assemblers emit, with known registers and flags; out[] receives the
 * registers and flags afterwards (they must be unchanged). */
	.globl	nops
nops:
	pushl	%ebp
	pushl	%ebx
	pushl	%esi
	pushl	%edi
	movl	%esp, nop_sp0
	pushl	24(%esp)
	popfl
	movl	$0x01020304, %eax
	movl	$0x05060708, %ecx
	movl	$0x090a0b0c, %edx
	movl	$0x0d0e0f10, %ebx
	movl	$0x11121314, %ebp
	movl	$nop_area, %esi
	movl	$nop_area, %edi
	nop					/* 90 */
	xchg	%ax, %ax			/* 66 90 */
	.byte	0x0f, 0x1f, 0x00		/* nopl (%eax) */
	.byte	0x0f, 0x1f, 0x40, 0x00		/* nopl 0(%eax) */
	.byte	0x0f, 0x1f, 0x44, 0x00, 0x00	/* nopl 0(%eax,%eax,1) */
	.byte	0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 /* nopw 0(%eax,%eax,1) */
	.byte	0x0f, 0x1f, 0x80, 0, 0, 0, 0	/* nopl 0L(%eax) */
	.byte	0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0 /* nopl 0L(%eax,%eax,1) */
	.byte	0x66, 0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0
	.byte	0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0 /* cs nopw */
	.byte	0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0
	.byte	0x66, 0x66, 0x66, 0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0
	.byte	0x0f, 0x1f, 0xc0		/* nopl %eax (register form) */
	.byte	0x0f, 0x1f, 0x06		/* nopl (%esi): never accesses memory */
	.byte	0x0f, 0x1f, 0x05		/* nopl disp32: nor here */
	.long	0
	.byte	0x8d, 0x76, 0x00		/* lea 0(%esi),%esi */
	.byte	0x8d, 0x74, 0x26, 0x00		/* lea 0(%esi,%eiz,1),%esi */
	.byte	0x8d, 0xb6, 0, 0, 0, 0		/* lea 0L(%esi),%esi */
	.byte	0x8d, 0xb4, 0x26, 0, 0, 0, 0	/* lea 0L(%esi,%eiz,1),%esi */
	.byte	0x8d, 0xbc, 0x27, 0, 0, 0, 0	/* lea 0L(%edi,%eiz,1),%edi */
	.byte	0x8d, 0x74, 0x26, 0x00		/* again: i386 -O2 padding */
	.byte	0x89, 0xf6			/* mov %esi,%esi */
	.byte	0x8d, 0x36			/* lea (%esi),%esi */
	.byte	0xf3, 0x0f, 0x1e, 0xfb		/* endbr32 */
	.byte	0xf3, 0x0f, 0x1e, 0xfa		/* endbr64: a NOP here too */
	.byte	0xf3, 0x90			/* pause */
	pushfl
	movl	%eax, nop_out
	movl	%ecx, nop_out+4
	movl	%edx, nop_out+8
	movl	%ebx, nop_out+12
	movl	%ebp, nop_out+16
	movl	%esi, %eax
	subl	$nop_area, %eax
	movl	%eax, nop_out+20
	movl	%edi, %eax
	subl	$nop_area, %eax
	movl	%eax, nop_out+24
	popl	%eax
	movl	%eax, nop_out+28
	movl	%esp, %eax
	subl	nop_sp0, %eax
	movl	%eax, nop_out+32
	movl	nop_sp0, %esp
	popl	%edi
	popl	%esi
	popl	%ebx
	popl	%ebp
	movl	4(%esp), %edx
	xorl	%ecx, %ecx
1:	movl	nop_out(,%ecx,4), %eax
	movl	%eax, (%edx,%ecx,4)
	incl	%ecx
	cmpl	$9, %ecx
	jne	1b
	ret

	.section .rodata
	.align	4
fptab:	.long	fn_ret0, fn_a
jtab:	.long	6b, 7b, 8b

	.data
	.align	4
fptr:	.long	0
jptr:	.long	0

	.bss
	.align	4
lea_sp0: .long	0
pa_sp0:	.long	0
nop_sp0: .long	0
pa_out:	.space	128
nop_out: .space	64
nop_area: .space 64

	.section .note.GNU-stack, "", @progbits
