/* The conformance programs' whole runtime: two Linux i386 system calls
 * (write = 4, exit = 1, through int $0x80), a buffered text writer, FNV-1a
 * hashing and result groups. Nothing else is asked of the OS: no heap, no TLS,
 * so the same ELF runs natively and on the emulator's test loader. */
#ifndef RT_H
#define RT_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef short s16;
typedef int s32;
typedef long long s64;
typedef unsigned int size_t;

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define NOINLINE __attribute__((noinline))

/* EFLAGS bits (Intel SDM Vol. 1, 3.4.3). */
#define F_CF 0x0001u
#define F_PF 0x0004u
#define F_AF 0x0010u
#define F_ZF 0x0040u
#define F_SF 0x0080u
#define F_TF 0x0100u
#define F_IF 0x0200u
#define F_DF 0x0400u
#define F_OF 0x0800u
#define F_IOPL 0x3000u
#define F_NT 0x4000u
#define F_AC 0x40000u
#define F_ID 0x200000u
/* The six status flags. */
#define F_ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)
#define F_LOGIC (F_CF | F_PF | F_ZF | F_SF | F_OF) /* AF undefined */

/* Set by "-v" as argv[1]: print every case, not only group hashes. */
extern int verbose;

int main(void);
void sys_write(int fd, const void *buf, u32 n);
__attribute__((noreturn)) void sys_exit(int code);

void out_char(char c);
void out_str(const char *s);
void out_hex(u32 v, int digits);
void out_dec(u32 v);
void out_sdec(s32 v);
void out_flush(void);
__attribute__((noreturn)) void fail(const char *what);

/* A group is one instruction form run over a table of inputs. Every case is
 * fed to a running FNV-1a hash; the group prints one line:
 *   <name>: n=<cases> h=<hash>
 * and with -v one line per case before it. */
void grp_begin(const char *name);
/* Record one case: inputs (for -v only) and outputs (hashed and printed). */
void grp_case(const u32 *in, int nin, const u32 *out, int nout);
void grp_end(void);
/* Shorthands. */
void rec2(u32 a, u32 b, u32 r, u32 f);
void rec3(u32 a, u32 b, u32 c, u32 r, u32 f);
void rec4(u32 a, u32 b, u32 c, u32 d, u32 r1, u32 r2, u32 f);

u32 fnv_u32(u32 h, u32 v);
#define FNV_INIT 0x811c9dc5u

/* EFLAGS as the program found them, with the six status flags and DF clear:
 * IF and IOPL keep whatever the loader gave, so POPF never tries to change
 * them. */
extern u32 flags_base;
u32 get_flags(void);

/* Input flag patterns every flag-reading case is run with: all status flags
 * clear, and all set. Running both catches a flag the SDM says is "not
 * affected" being written. */
#define NFIN 2
extern const u32 fin_pat[NFIN];

/* Fixed LCG (Numerical Recipes constants) for "small random" operands. */
u32 lcg_next(u32 *s);

/* Interesting operand tables, by width. */
extern u32 v8[];
extern const int nv8;
extern u32 v16[];
extern const int nv16;
extern u32 v32[];
extern const int nv32;

void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif
