/*
 * Native side of the CPU differential fuzzer (tests/fuzz/README.md).
 *
 * One process runs a whole batch. It reads cases from stdin until EOF, and for each one:
 * fills the DATA and STACK pages from the case's memory seed, copies the code (which ends in
 * int3) to its address in the RWX code pages, loads the eight GPRs and EFLAGS and jumps to it.
 * The closing int3 (SIGTRAP), or any fault on the way (SIGSEGV, SIGBUS, SIGFPE, SIGILL), lands
 * in one handler that runs on an alternate stack, copies the registers, EFLAGS, EIP, vector
 * (ucontext REG_TRAPNO) and error code out of the ucontext and siglongjmps back. The result
 * record carries them and the bytes of the compared pages that changed.
 *
 * The layout and the memory fill are twins of tests/fuzz/layout.ts.
 *
 * Wire format (little endian). Greeting: u32 "XFZ1", u16 selectors ES CS SS DS FS GS.
 *   case:   u32 code_addr, u32 regs[8] (EAX..EDI), u32 eflags, u32 mem_seed, u16 len, u8 code[len]
 *   result: u32 vector, u32 err, u32 cr2, u32 eip, u32 regs[8], u32 eflags,
 *           u16 nruns, nruns x { u16 offset, u16 length, u8 bytes[length] }  (offsets in the shadow)
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define CODE_BASE 0x10000000u
#define CODE_SIZE 0x2000u
#define DATA_PAGES 0x10100000u
#define STACK_PAGES 0x10200000u
#define PAGES_SIZE 0x2000u
#define RO_PAGE (DATA_PAGES + PAGES_SIZE)
#define RO_SIZE 0x1000u
#define DATA_BUF 0x10100c00u
#define DATA_BUF_SIZE 0x800u
#define STACK_BUF 0x10200e00u
#define STACK_BUF_SIZE 0x400u
#define SHADOW_SIZE (2 * PAGES_SIZE)
#define MAX_CODE 1024

static const uint32_t INTERESTING32[] = {
	0x00000000, 0x00000001, 0x00000002, 0xffffffff, 0x0000007f, 0x00000080, 0x000000ff, 0x00000100,
	0x00007fff, 0x00008000, 0x0000ffff, 0x00010000, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe,
	0x55555555, 0xaaaaaaaa, 0x00ff00ff, 0x12345678, 0xffffff80, 0xffff8000, 0x0000000f, 0x00000009,
};
#define N_INTERESTING (sizeof INTERESTING32 / sizeof INTERESTING32[0])

static uint32_t xorshift32(uint32_t s)
{
	s ^= s << 13;
	s ^= s >> 17;
	s ^= s << 5;
	return s;
}

/* layout.ts fillWords */
static void fill_words(uint32_t seed, uint32_t *w, unsigned n)
{
	uint32_t s = seed ^ 0x9e3779b9u;
	if (s == 0)
		s = 1;
	for (unsigned k = 0; k < n; k++) {
		s = xorshift32(s);
		if ((s & 7) < 3) {
			w[k] = INTERESTING32[(s >> 3) % N_INTERESTING];
		} else {
			s = xorshift32(s);
			w[k] = s;
		}
	}
}

/* The state the trampoline loads, and the code address it jumps to. */
uint32_t in_regs[8];
uint32_t in_flags;
uint32_t in_entry;

/* enter_case: EFLAGS first (POPF needs a stack: ours), then every GPR, ESP last, then jump. */
__asm__(
	".text\n"
	".globl enter_case\n"
	"enter_case:\n"
	"  pushl in_flags\n"
	"  popfl\n"
	"  movl in_regs+0, %eax\n"
	"  movl in_regs+4, %ecx\n"
	"  movl in_regs+8, %edx\n"
	"  movl in_regs+12, %ebx\n"
	"  movl in_regs+20, %ebp\n"
	"  movl in_regs+24, %esi\n"
	"  movl in_regs+28, %edi\n"
	"  movl in_regs+16, %esp\n"
	"  jmp *in_entry\n");
void enter_case(void) __attribute__((noreturn));

static sigjmp_buf back;
static struct {
	uint32_t vector, err, cr2, eip, regs[8], eflags;
} out_state;

/* A case may leave EFLAGS.AC (alignment checks) or DF set: start from clean flags. */
static inline __attribute__((always_inline)) void clean_flags(void)
{
	__asm__ volatile("pushl $0x202\n\tpopfl" ::: "memory", "cc");
}

static void on_signal(int sig, siginfo_t *si, void *uc_)
{
	clean_flags();
	ucontext_t *uc = uc_;
	greg_t *g = uc->uc_mcontext.gregs;
	out_state.vector = g[REG_TRAPNO];
	out_state.err = g[REG_ERR];
	/* For a page fault the kernel reports CR2 as the signal's address. */
	out_state.cr2 = sig == SIGSEGV && g[REG_TRAPNO] == 14 ? (uint32_t)(uintptr_t)si->si_addr : 0;
	out_state.eip = g[REG_EIP];
	out_state.regs[0] = g[REG_EAX];
	out_state.regs[1] = g[REG_ECX];
	out_state.regs[2] = g[REG_EDX];
	out_state.regs[3] = g[REG_EBX];
	out_state.regs[4] = g[REG_UESP];
	out_state.regs[5] = g[REG_EBP];
	out_state.regs[6] = g[REG_ESI];
	out_state.regs[7] = g[REG_EDI];
	out_state.eflags = g[REG_EFL];
	siglongjmp(back, 1);
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void map_fixed(uint32_t addr, uint32_t size, int prot)
{
	void *p = mmap((void *)(uintptr_t)addr, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED || p != (void *)(uintptr_t)addr)
		die("mmap");
}

/* Output, buffered. */
static unsigned char *obuf;
static size_t olen, ocap;

static void put(const void *p, size_t n)
{
	if (olen + n > ocap) {
		ocap = (ocap + n) * 2;
		obuf = realloc(obuf, ocap);
		if (!obuf)
			die("realloc");
	}
	memcpy(obuf + olen, p, n);
	olen += n;
}

static void put16(uint32_t v)
{
	uint16_t x = v;
	put(&x, 2);
}

static void flush_out(void)
{
	size_t done = 0;
	while (done < olen) {
		ssize_t k = write(1, obuf + done, olen - done);
		if (k <= 0)
			die("write");
		done += k;
	}
	olen = 0;
}

static unsigned char initial[SHADOW_SIZE];

static void load_memory(uint32_t seed)
{
	memset(initial, 0, sizeof initial);
	fill_words(seed, (uint32_t *)(initial + (DATA_BUF - DATA_PAGES)), DATA_BUF_SIZE / 4);
	fill_words(seed + 0x51ed, (uint32_t *)(initial + PAGES_SIZE + (STACK_BUF - STACK_PAGES)), STACK_BUF_SIZE / 4);
	memcpy((void *)(uintptr_t)DATA_PAGES, initial, PAGES_SIZE);
	memcpy((void *)(uintptr_t)STACK_PAGES, initial + PAGES_SIZE, PAGES_SIZE);
}

/* Emit the runs of shadow bytes that differ from the initial image. */
static void put_changes(void)
{
	const unsigned char *now[2] = { (const unsigned char *)(uintptr_t)DATA_PAGES, (const unsigned char *)(uintptr_t)STACK_PAGES };
	uint16_t offs[512], lens[512];
	unsigned n = 0;
	for (unsigned half = 0; half < 2; half++) {
		const unsigned char *a = now[half], *b = initial + half * PAGES_SIZE;
		if (memcmp(a, b, PAGES_SIZE) == 0)
			continue;
		for (unsigned k = 0; k < PAGES_SIZE;) {
			if (a[k] == b[k]) {
				k++;
				continue;
			}
			unsigned start = k;
			while (k < PAGES_SIZE && a[k] != b[k])
				k++;
			if (n < 512) {
				offs[n] = half * PAGES_SIZE + start;
				lens[n] = k - start;
				n++;
			}
		}
	}
	put16(n);
	for (unsigned k = 0; k < n; k++) {
		put16(offs[k]);
		put16(lens[k]);
		unsigned off = offs[k];
		const unsigned char *src = off < PAGES_SIZE ? now[0] + off : now[1] + (off - PAGES_SIZE);
		put(src, lens[k]);
	}
}

/* Run the loaded case; returns once the handler has caught its trap or fault. Kept out of line
 * so that no caller variable lives across the sigsetjmp. */
static __attribute__((noinline)) void run_case(void)
{
	if (sigsetjmp(back, 0) == 0)
		enter_case();
}

static unsigned char *read_all(size_t *len)
{
	size_t cap = 1 << 20, n = 0;
	unsigned char *b = malloc(cap);
	for (;;) {
		if (n == cap && !(b = realloc(b, cap *= 2)))
			die("realloc");
		ssize_t k = read(0, b + n, cap - n);
		if (k < 0)
			die("read");
		if (k == 0)
			break;
		n += k;
	}
	*len = n;
	return b;
}

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

int main(void)
{
	map_fixed(CODE_BASE, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC);
	map_fixed(DATA_PAGES, PAGES_SIZE, PROT_READ | PROT_WRITE);
	map_fixed(STACK_PAGES, PAGES_SIZE, PROT_READ | PROT_WRITE);
	map_fixed(RO_PAGE, RO_SIZE, PROT_READ); /* zeros; a write faults */
	/* Fault the read-only page in now: a write to a never-touched page would report "not
	 * present" (error code bit 0 clear) instead of a protection violation. */
	(void)*(volatile unsigned char *)(uintptr_t)RO_PAGE;
	memset((void *)(uintptr_t)CODE_BASE, 0xcc, CODE_SIZE);

	static char altstack[1 << 16];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0 };
	if (sigaltstack(&ss, NULL))
		die("sigaltstack");
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	/* SA_NODEFER: the handler leaves by siglongjmp, so the signal must not stay blocked. */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	int sigs[] = { SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGILL };
	for (unsigned k = 0; k < sizeof sigs / sizeof sigs[0]; k++)
		if (sigaction(sigs[k], &sa, NULL))
			die("sigaction");

	/* A batch that hangs (it cannot, with forward-only control flow) must not hang the tests. */
	alarm(300);

	uint32_t magic = 0x315a4658;
	put(&magic, 4);
	uint16_t sel;
	__asm__ volatile("movw %%es, %0" : "=r"(sel));
	put16(sel);
	__asm__ volatile("movw %%cs, %0" : "=r"(sel));
	put16(sel);
	__asm__ volatile("movw %%ss, %0" : "=r"(sel));
	put16(sel);
	__asm__ volatile("movw %%ds, %0" : "=r"(sel));
	put16(sel);
	__asm__ volatile("movw %%fs, %0" : "=r"(sel));
	put16(sel);
	__asm__ volatile("movw %%gs, %0" : "=r"(sel));
	put16(sel);

	size_t len;
	unsigned char *in = read_all(&len);
	size_t p = 0;
	while (p + 46 <= len) {
		uint32_t code_addr = rd32(in + p);
		for (int r = 0; r < 8; r++)
			in_regs[r] = rd32(in + p + 4 + 4 * r);
		in_flags = rd32(in + p + 36);
		uint32_t seed = rd32(in + p + 40);
		unsigned code_len = in[p + 44] | (in[p + 45] << 8);
		p += 46;
		if (p + code_len > len || code_len > MAX_CODE || code_addr < CODE_BASE || code_addr + code_len > CODE_BASE + CODE_SIZE) {
			fprintf(stderr, "harness: malformed case at byte %zu\n", p - 46);
			return 2;
		}
		load_memory(seed);
		memcpy((void *)(uintptr_t)code_addr, in + p, code_len);
		p += code_len;
		in_entry = code_addr;
		run_case();
		clean_flags();
		put(&out_state, sizeof out_state);
		put_changes();
		memset((void *)(uintptr_t)code_addr, 0xcc, code_len); /* as the emulator: int3 filler */
		if (olen > (1 << 20))
			flush_out();
	}
	flush_out();
	return 0;
}
