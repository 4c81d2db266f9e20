/* Shared helpers for the Check suites: one executable per module, run by CTest. */
#ifndef FTHARNESS_TESTS_TESTUTIL_H
#define FTHARNESS_TESTS_TESTUTIL_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

/* Runs `suite`: EXIT_SUCCESS when every test passed. */
static inline int ft_test_run(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Defines main() running the suite built by `make_suite`. */
#define FT_TEST_MAIN(make_suite)                                                                   \
    int main(void)                                                                                 \
    {                                                                                              \
        return ft_test_run(make_suite());                                                          \
    }

/* The same for a suite that needs something the machine may lack: `available(&why)` false
 * skips the whole program with status 77 and its reason. */
#define FT_TEST_MAIN_IF(available, make_suite)                                                     \
    int main(void)                                                                                 \
    {                                                                                              \
        const char *why;                                                                           \
        if (!available(&why)) {                                                                    \
            printf("SKIP: %s\n", why);                                                             \
            return 77;                                                                             \
        }                                                                                          \
        return ft_test_run(make_suite());                                                          \
    }

/* Asserts that `call` returned 0, printing the error it filled otherwise. */
#define ck_assert_ok(call, err) ck_assert_msg((call) == 0, "%s: %s", #call, (err).message)

/* Asserts that `err` holds `code` and that its message contains `needle`. */
#define ck_assert_error(err, want_code, needle)                                                    \
    do {                                                                                           \
        ck_assert_msg((err).code == (want_code), "error code %s, expected %s (message: %s)",       \
                      ft_code_name((err).code), ft_code_name(want_code), (err).message);           \
        ck_assert_msg(strstr((err).message, (needle)) != NULL,                                     \
                      "error message \"%s\" does not mention \"%s\"", (err).message, (needle));    \
    } while (0)

/* Small deterministic PRNG (xorshift64*) so generated inputs are the same every run. */
static inline uint64_t test_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

#endif
