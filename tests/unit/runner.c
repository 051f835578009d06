/* Runs the tests named in the list_*.h files: all, or those named on the
 * command line. Prints one line per test and a closing "N passed, N failed"
 * line; exits non-zero when any failed. */
#include <stdio.h>
#include <string.h>

#include "test.h"

/* Which lists to run: all suites unless the build names one file. */
#ifndef JW_TEST_LIST
#define JW_TEST_LIST "tests.h"
#endif

#define JW_TEST(name) int jw_test_##name(void);
#include JW_TEST_LIST
#undef JW_TEST

static const struct {
    const char *name;
    int (*fn)(void);
} tests[] = {
#define JW_TEST(name) {#name, jw_test_##name},
#include JW_TEST_LIST
#undef JW_TEST
};

int main(int argc, char **argv)
{
    size_t count = sizeof(tests) / sizeof(tests[0]);
    int passed = 0, failed = 0;

    for (size_t i = 0; i < count; i++) {
        int wanted = argc < 2;
        for (int a = 1; a < argc; a++)
            if (strcmp(argv[a], tests[i].name) == 0)
                wanted = 1;
        if (!wanted)
            continue;
        int rc = tests[i].fn();
        printf("%s %s\n", rc == 0 ? "ok  " : "FAIL", tests[i].name);
        fflush(stdout);
        if (rc == 0)
            passed++;
        else
            failed++;
    }
    if (passed + failed == 0) {
        fprintf(stderr, "no test matched\n");
        return 2;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
