/*
 * test_heap.c — the int64_t min-heap (base/heap.c): empty behaviour,
 * ordering of many random keys with duplicates and extremes, and
 * interleaved pushes and pops against a sorted reference.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/heap.h"

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static int64_t
random_key(void)
{
    int64_t r = ((int64_t)rand() << 20) ^ rand();

    /* Small ranges now and then, so duplicates are common. */
    if (rand() % 4 == 0)
        return rand() % 16 - 8;
    return rand() % 2 ? r : -r;
}

static void
test_empty_heap_has_nothing(void **state)
{
    struct dt_heap h;
    int64_t k = 99;

    (void)state;
    dt_heap_init(&h);
    assert_false(dt_heap_peek(&h, &k));
    assert_false(dt_heap_pop(&h, &k));
    assert_int_equal(k, 99);
    assert_int_equal(dt_heap_push(&h, 5), 0);
    assert_true(dt_heap_peek(&h, &k));
    assert_int_equal(k, 5);
    assert_int_equal(h.count, 1); /* peek does not remove */
    assert_true(dt_heap_pop(&h, &k));
    assert_int_equal(k, 5);
    assert_false(dt_heap_pop(&h, &k));
    dt_heap_release(&h);
    assert_null(h.keys);
    assert_int_equal(h.count, 0);
}

static void
test_many_random_keys_pop_in_order(void **state)
{
    enum { N = 20000 };
    int64_t *ref = malloc(N * sizeof(*ref));
    struct dt_heap h;
    int64_t k;

    (void)state;
    assert_non_null(ref);
    srand(4242);
    dt_heap_init(&h);
    for (int i = 0; i < N; i++) {
        ref[i] = random_key();
        if (i == 100)
            ref[i] = INT64_MIN;
        if (i == 200)
            ref[i] = INT64_MAX;
        assert_int_equal(dt_heap_push(&h, ref[i]), 0);
    }
    qsort(ref, N, sizeof(*ref), cmp_i64);
    for (int i = 0; i < N; i++) {
        assert_true(dt_heap_peek(&h, &k));
        assert_int_equal(k, ref[i]);
        assert_true(dt_heap_pop(&h, &k));
        assert_int_equal(k, ref[i]);
    }
    assert_false(dt_heap_pop(&h, &k));
    dt_heap_release(&h);
    free(ref);
}

/* Removes and returns the smallest of ref[0..*n). */
static int64_t
ref_pop_min(int64_t *ref, size_t *n)
{
    size_t best = 0;
    int64_t v;

    for (size_t i = 1; i < *n; i++)
        if (ref[i] < ref[best])
            best = i;
    v = ref[best];
    ref[best] = ref[--*n];
    return v;
}

static void
test_interleaved_push_pop_matches_reference(void **state)
{
    enum { OPS = 6000 };
    int64_t *ref = malloc(OPS * sizeof(*ref));
    size_t n = 0;
    struct dt_heap h;
    int64_t k;

    (void)state;
    assert_non_null(ref);
    srand(777);
    dt_heap_init(&h);
    for (int op = 0; op < OPS; op++) {
        if (n == 0 || rand() % 3 != 0) {
            ref[n++] = random_key();
            assert_int_equal(dt_heap_push(&h, ref[n - 1]), 0);
        } else {
            int64_t want = ref_pop_min(ref, &n);
            assert_true(dt_heap_pop(&h, &k));
            assert_int_equal(k, want);
        }
        assert_int_equal(h.count, n);
    }
    while (n > 0) {
        int64_t want = ref_pop_min(ref, &n);
        assert_true(dt_heap_pop(&h, &k));
        assert_int_equal(k, want);
    }
    assert_false(dt_heap_peek(&h, &k));
    dt_heap_release(&h);
    free(ref);
}

static void
test_pop_accepts_null_out(void **state)
{
    struct dt_heap h;
    int64_t k;

    (void)state;
    dt_heap_init(&h);
    assert_int_equal(dt_heap_push(&h, 3), 0);
    assert_int_equal(dt_heap_push(&h, 1), 0);
    assert_int_equal(dt_heap_push(&h, 2), 0);
    assert_true(dt_heap_pop(&h, NULL));
    assert_true(dt_heap_peek(&h, &k));
    assert_int_equal(k, 2);
    dt_heap_release(&h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_heap_has_nothing),
        cmocka_unit_test(test_many_random_keys_pop_in_order),
        cmocka_unit_test(test_interleaved_push_pop_matches_reference),
        cmocka_unit_test(test_pop_accepts_null_out),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
