/*
 * test_buf.c — the capped byte buffer (base/buf.c): growth, formatting,
 * refusal past the cap leaving the content intact, detach and reset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"

static void
test_new_buffer_is_empty(void **state)
{
    struct dt_buf b;
    char *s;

    (void)state;
    dt_buf_init(&b, 0);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    s = dt_buf_detach(&b);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
    dt_buf_release(&b);
}

static void
test_appends_grow_and_stay_terminated(void **state)
{
    struct dt_buf b;
    char expect[5001];

    (void)state;
    dt_buf_init(&b, 0);
    for (int i = 0; i < 5000; i++) {
        char c = (char)('a' + i % 26);
        assert_int_equal(dt_buf_append(&b, &c, 1), 0);
        expect[i] = c;
        assert_int_equal(b.data[b.len], '\0');
    }
    expect[5000] = '\0';
    assert_int_equal(b.len, 5000);
    assert_true(b.cap > b.len);
    assert_string_equal(b.data, expect);
    assert_int_equal(dt_buf_appends(&b, "!"), 0);
    assert_int_equal(b.len, 5001);
    assert_int_equal(b.data[5000], '!');
    dt_buf_release(&b);
    assert_null(b.data);
}

static void
test_append_keeps_binary_bytes(void **state)
{
    static const char bin[] = {'a', '\0', 'b', '\xff'};
    struct dt_buf b;

    (void)state;
    dt_buf_init(&b, 0);
    assert_int_equal(dt_buf_append(&b, bin, sizeof(bin)), 0);
    assert_int_equal(b.len, sizeof(bin));
    assert_memory_equal(b.data, bin, sizeof(bin));
    assert_int_equal(dt_buf_append(&b, NULL, 0), 0);
    assert_int_equal(b.len, sizeof(bin));
    assert_int_equal(dt_buf_append(&b, NULL, 3), DURATA_EINVAL);
    assert_int_equal(dt_buf_appends(&b, NULL), DURATA_EINVAL);
    assert_int_equal(b.len, sizeof(bin));
    dt_buf_release(&b);
}

/* dt_buf_append_int writes what printf's %lld writes, at the extremes too. */
static void
test_append_int_matches_printf(void **state)
{
    static const long long values[] = {0, 7, -7, 10, -10, 1234567890123LL, LLONG_MAX, LLONG_MIN};
    char want[32];
    struct dt_buf b;

    (void)state;
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        dt_buf_init(&b, 0);
        assert_int_equal(dt_buf_append_int(&b, values[i]), 0);
        snprintf(want, sizeof(want), "%lld", values[i]);
        assert_string_equal(b.data, want);
        dt_buf_release(&b);
    }
    dt_buf_init(&b, 3); /* over the cap: refused, nothing appended */
    assert_int_equal(dt_buf_append_int(&b, 12345), DURATA_ETOOBIG);
    assert_int_equal(b.len, 0);
    dt_buf_release(&b);
}

static void
test_appendf_formats_and_grows(void **state)
{
    struct dt_buf b;
    char big[300];

    (void)state;
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    dt_buf_init(&b, 0);
    assert_int_equal(dt_buf_appendf(&b, "%d-%s", 42, "x"), 0);
    assert_string_equal(b.data, "42-x");
    /* Longer than the room left: exercises the grow-and-format-again path. */
    assert_int_equal(dt_buf_appendf(&b, "[%s]", big), 0);
    assert_int_equal(b.len, 4 + 2 + 299);
    assert_int_equal(memcmp(b.data, "42-x[zzz", 8), 0);
    assert_int_equal(b.data[b.len - 1], ']');
    assert_int_equal(b.data[b.len], '\0');
    assert_int_equal(dt_buf_appendf(&b, "%s", ""), 0);
    assert_int_equal(b.len, 305);
    dt_buf_release(&b);
}

static void
test_cap_refuses_and_leaves_content_intact(void **state)
{
    struct dt_buf b;

    (void)state;
    dt_buf_init(&b, 10);
    assert_int_equal(dt_buf_appends(&b, "12345678"), 0);
    assert_int_equal(dt_buf_appends(&b, "abc"), DURATA_ETOOBIG);
    assert_int_equal(b.len, 8);
    assert_string_equal(b.data, "12345678");
    assert_int_equal(dt_buf_appendf(&b, "%s", "abc"), DURATA_ETOOBIG);
    assert_int_equal(b.len, 8);
    assert_string_equal(b.data, "12345678");
    /* Exactly up to the cap is fine; one more byte is not. */
    assert_int_equal(dt_buf_appends(&b, "90"), 0);
    assert_string_equal(b.data, "1234567890");
    assert_int_equal(dt_buf_append(&b, "x", 1), DURATA_ETOOBIG);
    assert_int_equal(dt_buf_appendf(&b, "x"), DURATA_ETOOBIG);
    assert_int_equal(dt_buf_append(&b, "", 0), 0);
    assert_string_equal(b.data, "1234567890");
    assert_true(b.cap <= 11); /* never grows past what the cap can use */
    dt_buf_release(&b);
}

static void
test_appendf_over_cap_after_partial_write_is_undone(void **state)
{
    struct dt_buf b;
    char fill[61], tail[51];

    (void)state;
    memset(fill, 'f', 60);
    fill[60] = '\0';
    memset(tail, 't', 50);
    tail[50] = '\0';
    dt_buf_init(&b, 100);
    assert_int_equal(dt_buf_appends(&b, fill), 0);
    /* There is spare room, so the first formatting attempt writes part of
     * tail into it before the cap check refuses the whole. */
    assert_true(b.cap > b.len + 1);
    assert_int_equal(dt_buf_appendf(&b, "%s", tail), DURATA_ETOOBIG);
    assert_int_equal(b.len, 60);
    assert_int_equal(strlen(b.data), 60);
    assert_string_equal(b.data, fill);
    dt_buf_release(&b);
}

static void
test_detach_hands_over_and_empties(void **state)
{
    struct dt_buf b;
    char *s;

    (void)state;
    dt_buf_init(&b, 50);
    assert_int_equal(dt_buf_appends(&b, "hello"), 0);
    s = dt_buf_detach(&b);
    assert_string_equal(s, "hello");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 50);
    assert_int_equal(dt_buf_appends(&b, "again"), 0);
    assert_string_equal(b.data, "again");
    assert_string_equal(s, "hello");
    free(s);
    dt_buf_release(&b);
}

static void
test_reset_keeps_storage(void **state)
{
    struct dt_buf b;
    char *data;
    size_t cap;

    (void)state;
    dt_buf_init(&b, 0);
    assert_int_equal(dt_buf_appends(&b, "something"), 0);
    data = b.data;
    cap = b.cap;
    dt_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    assert_string_equal(b.data, "");
    assert_int_equal(dt_buf_appends(&b, "new"), 0);
    assert_string_equal(b.data, "new");
    dt_buf_release(&b);
    dt_buf_reset(&b); /* on an empty buffer too */
    assert_null(b.data);
}

/* reserve allocates once for what follows, and never past the cap. */
static void
test_reserve_allocates_ahead_within_the_cap(void **state)
{
    struct dt_buf b;
    char *data;

    (void)state;
    dt_buf_init(&b, 0);
    assert_int_equal(dt_buf_reserve(&b, 1000), 0);
    assert_true(b.cap >= 1001);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    data = b.data;
    for (int i = 0; i < 100; i++)
        assert_int_equal(dt_buf_appends(&b, "0123456789"), 0);
    assert_ptr_equal(b.data, data); /* no reallocation on the way */
    dt_buf_release(&b);
    dt_buf_init(&b, 10);
    assert_int_equal(dt_buf_reserve(&b, 1000), 0);
    assert_true(b.cap <= 11);
    assert_int_equal(dt_buf_appends(&b, "0123456789"), 0);
    assert_int_equal(dt_buf_appends(&b, "x"), DURATA_ETOOBIG);
    dt_buf_release(&b);
}

static void
test_extend_hands_out_room_within_the_cap(void **state)
{
    struct dt_buf b;
    char *at = NULL;

    (void)state;
    dt_buf_init(&b, 8);
    assert_int_equal(dt_buf_append(&b, "ab", 2), 0);
    assert_int_equal(dt_buf_extend(&b, 3, &at), 0);
    assert_ptr_equal(at, b.data + 2);
    memcpy(at, "cde", 3);
    assert_int_equal(b.len, 5);
    assert_string_equal(b.data, "abcde");
    assert_int_equal(dt_buf_extend(&b, 4, &at), DURATA_ETOOBIG);
    assert_int_equal(b.len, 5);
    assert_string_equal(b.data, "abcde");
    assert_int_equal(dt_buf_extend(&b, 3, &at), 0);
    memcpy(at, "fgh", 3);
    assert_string_equal(b.data, "abcdefgh");
    dt_buf_release(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_buffer_is_empty),
        cmocka_unit_test(test_appends_grow_and_stay_terminated),
        cmocka_unit_test(test_append_keeps_binary_bytes),
        cmocka_unit_test(test_appendf_formats_and_grows),
        cmocka_unit_test(test_append_int_matches_printf),
        cmocka_unit_test(test_cap_refuses_and_leaves_content_intact),
        cmocka_unit_test(test_appendf_over_cap_after_partial_write_is_undone),
        cmocka_unit_test(test_detach_hands_over_and_empties),
        cmocka_unit_test(test_reset_keeps_storage),
        cmocka_unit_test(test_reserve_allocates_ahead_within_the_cap),
        cmocka_unit_test(test_extend_hands_out_room_within_the_cap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
