/*
 * test.h - the tiny test harness every tests/test_*.c uses.
 *
 * A test program defines functions `static void test_xxx(void)` and a main()
 * that calls T_RUN(test_xxx) for each, then returns T_END().  Every test prints
 * one line "PASS: <prog>/<name>" or "FAIL: <prog>/<name>"; tests/run_all.sh
 * counts those lines over all programs and prints "N passed, N failed".
 * T_CHECK records a failure with file:line and a message and goes on.
 */
#ifndef DC_TEST_H
#define DC_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_cur_failed_;
static int t_n_pass_, t_n_fail_;
static const char *t_prog_ = "test";

#define T_CHECK(cond, ...)                                                        \
    do {                                                                          \
        if (!(cond)) {                                                            \
            t_cur_failed_ = 1;                                                    \
            fprintf(stdout, "  check failed at %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stdout, __VA_ARGS__);                                         \
            fprintf(stdout, "\n");                                                \
            fflush(stdout);                                                       \
        }                                                                         \
    } while (0)

#define T_RUN(fn)                                                                 \
    do {                                                                          \
        t_cur_failed_ = 0;                                                        \
        fn();                                                                     \
        if (t_cur_failed_) t_n_fail_++; else t_n_pass_++;                         \
        printf("%s: %s/%s\n", t_cur_failed_ ? "FAIL" : "PASS", t_prog_, &(#fn)[5]); \
        fflush(stdout);                                                           \
    } while (0)

#define T_BEGIN(name) (t_prog_ = (name))
#define T_END() (printf("# %s: %d passed, %d failed\n", t_prog_, t_n_pass_, t_n_fail_), t_n_fail_ ? 1 : 0)

/* Root of the shared test data (tests/data), overridable by DEEPC_TEST_DATA. */
static inline const char *t_data_dir(void) {
    const char *d = getenv("DEEPC_TEST_DATA");
    return d ? d : "tests/data";
}

/* Deterministic xorshift RNG for random test inputs. */
static inline unsigned t_rand_u32(unsigned long long *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (unsigned)((*s * 0x2545F4914F6CDD1DULL) >> 32);
}
static inline float t_rand_f32(unsigned long long *s) { /* uniform in [-1, 1) */
    return (float)((double)t_rand_u32(s) / 2147483648.0 - 1.0);
}

#endif
