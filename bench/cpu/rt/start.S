/* Process entry for the freestanding benchmark programs.
 * The loader (Linux natively, the emulator's test loader otherwise) leaves
 * ESP pointing at argc, with argv[] and envp[] above it (i386 psABI, "Process
 * Initialization"). Nothing else is assumed: registers other than ESP are
 * undefined on entry, so EBP is cleared and the stack re-aligned to 16 bytes
 * before calling C (gcc assumes a 16-byte aligned stack at a call). */
	.section .text.start, "ax"
	.globl _start
_start:
	xorl	%ebp, %ebp
	movl	%esp, %eax
	andl	$-16, %esp
	subl	$12, %esp
	pushl	%eax
	call	rt_main
	/* rt_main never returns; if it did, exit(127). */
	movl	$127, %ebx
	movl	$1, %eax
	int	$0x80
	hlt
	.section .note.GNU-stack, "", @progbits
