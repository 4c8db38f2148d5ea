/* Runs the native unit tests; prints "N passed, N failed" (tests, not
 * checks) and exits non-zero on any failure. */
#include "native.h"

int t_failed, t_checks;
const char *t_name;
static int tests_passed, tests_failed;

void run_test(const char *name, test_fn fn)
{
    int before = t_failed;
    t_name = name;
    fn();
    if (t_failed == before) {
        tests_passed++;
        printf("ok   %s\n", name);
    } else {
        tests_failed++;
        printf("FAIL %s\n", name);
    }
}

int main(void)
{
    test_net();
    test_http();
    test_kvlog();
    printf("%d checks\n", t_checks);
    printf("%d passed, %d failed\n", tests_passed, tests_failed);
    return tests_failed ? 1 : 0;
}
