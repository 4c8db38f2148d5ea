/* A tiny unit-test harness for the host-native tests (make check-native).
 * Tests include the kit headers only; the harness declares the few libc
 * functions it needs itself, so kit/xen.h's types never meet libc's. */
#ifndef TESTS_NATIVE_H
#define TESTS_NATIVE_H
#include <kit/xen.h>
#include <kit/string.h>

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *malloc(size_t n);
void *calloc(size_t n, size_t m);
void free(void *p);
void abort(void);
int rand(void);
void srand(unsigned seed);

extern int t_failed, t_checks;
extern const char *t_name;
#define CHECK(cond) do { t_checks++; if (!(cond)) { t_failed++; \
    printf("  FAIL %s: %s:%d: %s\n", t_name, __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); t_checks++; \
    if (a_ != b_) { t_failed++; printf("  FAIL %s: %s:%d: %s == %lld, want %s == %lld\n", \
    t_name, __FILE__, __LINE__, #a, a_, #b, b_); } } while (0)

typedef void (*test_fn)(void);
void run_test(const char *name, test_fn fn);

void test_net(void);
void test_http(void);
void test_kvlog(void);

#endif
