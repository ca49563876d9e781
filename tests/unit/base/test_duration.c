/*
 * test_duration.c — durations as text (base/duration.c): each unit, sums
 * of parts, refusal of bare numbers and malformed text, overflow, and
 * formatting with round trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/duration.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

static int64_t
parse_ok(const char *text)
{
    int64_t ms = -42;

    assert_int_equal(dt_duration_parse(text, &ms), 0);
    return ms;
}

static void
assert_parse_fails(const char *text, int code)
{
    int64_t ms = -42;

    assert_int_equal(dt_duration_parse(text, &ms), code);
    assert_int_equal(ms, -42); /* untouched on error */
}

static void
test_each_unit(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("250ms"), 250);
    assert_int_equal(parse_ok("30s"), 30 * SEC);
    assert_int_equal(parse_ok("15m"), 15 * MIN);
    assert_int_equal(parse_ok("24h"), 24 * HOUR);
    assert_int_equal(parse_ok("7d"), 7 * DAY);
    assert_int_equal(parse_ok("2w"), 14 * DAY);
    assert_int_equal(parse_ok("0s"), 0);
    assert_int_equal(parse_ok("007m"), 7 * MIN);
}

static void
test_parts_add_up(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("1h30m"), HOUR + 30 * MIN);
    assert_int_equal(parse_ok("1d12h"), DAY + 12 * HOUR);
    assert_int_equal(parse_ok("1s500ms"), 1500);
    /* Order is free and units may repeat. */
    assert_int_equal(parse_ok("30m1h"), HOUR + 30 * MIN);
    assert_int_equal(parse_ok("1m1m"), 2 * MIN);
}

static void
test_malformed_is_einval(void **state)
{
    static const char *const bad[] = {
        "",    "30",  "s",     "h1",   " 30s",   "30s ", "30 s", "-5m",   "+5m",  "1.5h",
        "30S", "30x", "30sec", "1h30", "1h 30m", "5mss", "m5",   "0x10s", "1e3s",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = -42;
        int rc = dt_duration_parse(bad[i], &ms);
        if (rc != DURATA_EINVAL)
            fail_msg("\"%s\" gave %d, want DURATA_EINVAL", bad[i], rc);
        assert_int_equal(ms, -42);
    }
    assert_parse_fails(NULL, DURATA_EINVAL);
    assert_int_equal(dt_duration_parse("1s", NULL), DURATA_EINVAL);
}

static void
test_overflow_is_etoobig(void **state)
{
    (void)state;
    /* INT64_MAX ms itself is fine; one more is not. */
    assert_int_equal(parse_ok("9223372036854775807ms"), INT64_MAX);
    assert_parse_fails("9223372036854775808ms", DURATA_ETOOBIG);
    assert_parse_fails("99999999999999999999999999s", DURATA_ETOOBIG);
    /* INT64_MAX ms is 106751991167 whole days. */
    assert_int_equal(parse_ok("106751991167d"), 106751991167LL * DAY);
    assert_parse_fails("106751991168d", DURATA_ETOOBIG);
    assert_parse_fails("9223372036854775807ms1ms", DURATA_ETOOBIG);
    /* Malformed wins over overflow: the text is wrong, not just large. */
    assert_parse_fails("99999999999999999999999999sx", DURATA_EINVAL);
}

static void
test_format(void **state)
{
    char out[DT_DURATION_TEXT_MAX];

    (void)state;
    dt_duration_format(0, out, sizeof(out));
    assert_string_equal(out, "0s");
    dt_duration_format(HOUR + 30 * MIN, out, sizeof(out));
    assert_string_equal(out, "1h30m");
    dt_duration_format(7 * DAY, out, sizeof(out));
    assert_string_equal(out, "7d");
    dt_duration_format(14 * DAY, out, sizeof(out));
    assert_string_equal(out, "14d");
    dt_duration_format(1500, out, sizeof(out));
    assert_string_equal(out, "1s500ms");
    dt_duration_format(DAY + 1, out, sizeof(out));
    assert_string_equal(out, "1d1ms");
    dt_duration_format(-90 * SEC, out, sizeof(out));
    assert_string_equal(out, "-1m30s");
    dt_duration_format(INT64_MIN, out, sizeof(out));
    assert_string_equal(out, "-106751991167d7h12m55s808ms");
}

static void
test_format_truncates_safely(void **state)
{
    char small[5];

    (void)state;
    memset(small, 'x', sizeof(small));
    dt_duration_format(DAY + HOUR + MIN, small, sizeof(small));
    assert_string_equal(small, "1d1h"); /* "1d1h1m" cut, still terminated */
    dt_duration_format(5 * SEC, small, 1);
    assert_string_equal(small, "");
    dt_duration_format(5 * SEC, NULL, 10); /* no crash */
}

static void
test_round_trip(void **state)
{
    static const int64_t samples[] = {1,       999,      1000,         61001,
                                      3599999, 86400000, 123456789012, INT64_MAX};
    char out[DT_DURATION_TEXT_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        dt_duration_format(samples[i], out, sizeof(out));
        assert_int_equal(parse_ok(out), samples[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_unit),
        cmocka_unit_test(test_parts_add_up),
        cmocka_unit_test(test_malformed_is_einval),
        cmocka_unit_test(test_overflow_is_etoobig),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_truncates_safely),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
