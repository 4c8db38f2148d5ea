#include "native.h"
void test_kvlog(void) {}
