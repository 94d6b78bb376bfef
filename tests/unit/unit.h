/* tests/unit/unit.h: the unit-test harness (Redis's testhelp.h in spirit).
 *
 * A test file defines test functions with TEST(name) and lists them in main() with RUN(name);
 * CHECK* record a failure and continue, so one run reports every broken case. main() ends with
 * `return unit_done();`, which prints "N passed, N failed" for the file (tests/run_unit.sh adds
 * the files' counts into the suite's closing line). */
#ifndef TEND_UNIT_H
#define TEND_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed, unit_cur_failed;
static const char *unit_cur;

#define TEST(name) static void name(void)
#define RUN(name)                                                                                 \
    do {                                                                                          \
        unit_cur = #name;                                                                         \
        unit_cur_failed = 0;                                                                      \
        name();                                                                                   \
        if (unit_cur_failed)                                                                      \
            unit_failed++;                                                                        \
        else                                                                                      \
            unit_passed++;                                                                        \
    } while (0)

#define UNIT_FAIL(...)                                                                            \
    do {                                                                                          \
        fprintf(stderr, "FAIL %s (%s:%d): ", unit_cur, __FILE__, __LINE__);                       \
        fprintf(stderr, __VA_ARGS__);                                                             \
        fputc('\n', stderr);                                                                      \
        unit_cur_failed = 1;                                                                      \
    } while (0)

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond))                                                                              \
            UNIT_FAIL("%s", #cond);                                                               \
    } while (0)
#define CHECK_INT(a, b)                                                                           \
    do {                                                                                          \
        long long a_ = (long long)(a), b_ = (long long)(b);                                       \
        if (a_ != b_)                                                                             \
            UNIT_FAIL("%s == %lld, expected %lld", #a, a_, b_);                                   \
    } while (0)
#define CHECK_STR(a, b)                                                                           \
    do {                                                                                          \
        const char *a_ = (a), *b_ = (b);                                                          \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                    \
            UNIT_FAIL("%s == \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)",                    \
                      b_ ? b_ : "(null)");                                                        \
    } while (0)

static inline int unit_done(void)
{
    printf("%d passed, %d failed\n", unit_passed, unit_failed);
    return unit_failed ? 1 : 0;
}

#endif
