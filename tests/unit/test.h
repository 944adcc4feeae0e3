/*
 * test.h: a tiny harness.  Each case is a function registered in a table;
 * asserts print both sides and the line, then fail the case.
 */
#ifndef PR_TEST_H
#define PR_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int pr_test_failed;

#define ASSERT_TRUE(c)                                                         \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__,         \
                    __LINE__, #c);                                             \
            pr_test_failed = 1;                                                \
            return;                                                            \
        }                                                                      \
    } while (0)

#define ASSERT_EQ(a, b)                                                        \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (a_ != b_) {                                                        \
            fprintf(stderr, "%s:%d: %s == %s: %lld != %lld\n", __FILE__,       \
                    __LINE__, #a, #b, a_, b_);                                 \
            pr_test_failed = 1;                                                \
            return;                                                            \
        }                                                                      \
    } while (0)

#define ASSERT_MEM_EQ(p, n, s)                                                 \
    do {                                                                       \
        size_t n_ = (n), sl_ = strlen(s);                                      \
        if (n_ != sl_ || memcmp((p), (s), n_) != 0) {                          \
            fprintf(stderr, "%s:%d: \"%.*s\" != \"%s\"\n", __FILE__, __LINE__, \
                    (int)n_, (const char *)(p), (s));                          \
            pr_test_failed = 1;                                                \
            return;                                                            \
        }                                                                      \
    } while (0)

struct pr_test_case {
    const char *name;
    void (*fn)(void);
};

#define TEST_CASE(f)                                                           \
    {                                                                          \
#f, f                                                                  \
    }

static inline int
pr_test_run(const struct pr_test_case *cases, size_t n)
{
    size_t i;
    int failures = 0;

    for (i = 0; i < n; i++) {
        pr_test_failed = 0;
        cases[i].fn();
        printf("%s %s\n", pr_test_failed ? "FAIL" : "ok  ", cases[i].name);
        failures += pr_test_failed;
    }
    printf("%zu passed, %d failed\n", n - (size_t)failures, failures);
    return failures ? 1 : 0;
}

#endif
