/*
 * A minimal test harness. A test is `TEST(name) { ... return 0; }`; CHECK
 * fails the test with the file and line. Each suite lists its tests in a
 * list_<suite>.h file as `JW_TEST(name)` lines; the runner runs one test by
 * name (`jw_unit parser_ping`) or all of them, and CMake registers each one
 * with ctest from the same lists.
 */
#ifndef JW_TEST_H
#define JW_TEST_H

#include <stdio.h>
#include <string.h>

#define TEST(name) int jw_test_##name(void)

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,          \
                    __LINE__, #cond);                                       \
            return 1;                                                       \
        }                                                                   \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                  \
    do {                                                                    \
        long long jw_a_ = (long long)(a), jw_b_ = (long long)(b);           \
        if (jw_a_ != jw_b_) {                                               \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n",       \
                    __FILE__, __LINE__, #a, #b, jw_a_, jw_b_);              \
            return 1;                                                       \
        }                                                                   \
    } while (0)

/* Compare len bytes at a with the NUL-terminated string b. */
#define CHECK_MEM_STR(a, alen, b)                                           \
    do {                                                                    \
        size_t jw_l_ = strlen(b);                                           \
        if ((size_t)(alen) != jw_l_ || memcmp((a), (b), jw_l_) != 0) {      \
            fprintf(stderr, "%s:%d: %s != \"%s\" (got \"%.*s\")\n",         \
                    __FILE__, __LINE__, #a, (b), (int)(alen),               \
                    (const char *)(a));                                     \
            return 1;                                                       \
        }                                                                   \
    } while (0)

#define CHECK_STR(a, b) CHECK_MEM_STR((a), strlen(a), (b))

#endif
