/* The benchmark programs' runtime: write(2) and exit(2) through int $0x80,
 * a few output helpers and the mem* functions gcc may call. Kept separate
 * from tests/conformance/rt on purpose: a change there must not change the
 * code measured here, so figures stay comparable across commits. */
#ifndef BENCH_RT_H
#define BENCH_RT_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef int s32;
typedef long long s64;
typedef unsigned int size_t;

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define NOINLINE __attribute__((noinline))

int main(void);
void sys_write(int fd, const void *buf, u32 n);
__attribute__((noreturn)) void sys_exit(int code);
void out_str(const char *s);
void out_hex(u32 v, int digits);
void out_dec(u32 v);
void out_char(char c);
void out_flush(void);
/* "<name>: checksum=<hex8>\n" */
void report(const char *name, u32 sum);

void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif
