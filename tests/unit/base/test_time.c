/*
 * test_time.c — ISO 8601 formatting and parsing (base/time.c): known
 * instants, leap years, offsets, malformed text, independence from TZ, and
 * round trips over random instants.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/time.h"

#define MAY_1_2024_10_00_03_123 1714557603123LL

static int64_t
parse_ok(const char *text)
{
    int64_t ms = -42;

    assert_int_equal(dt_time_parse(text, &ms), 0);
    return ms;
}

static void
test_format_known_instants(void **state)
{
    char out[DT_TIME_TEXT_MAX];

    (void)state;
    dt_time_format_s(0, out, sizeof(out));
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    dt_time_format_7(0, out, sizeof(out));
    assert_string_equal(out, "1970-01-01T00:00:00.0000000Z");
    dt_time_format_s(MAY_1_2024_10_00_03_123, out, sizeof(out));
    assert_string_equal(out, "2024-05-01T10:00:03Z");
    dt_time_format_7(MAY_1_2024_10_00_03_123, out, sizeof(out));
    assert_string_equal(out, "2024-05-01T10:00:03.1230000Z");
    dt_time_format_7(951868799000LL, out, sizeof(out));
    assert_string_equal(out, "2000-02-29T23:59:59.0000000Z");
}

static void
test_format_before_epoch_uses_floor(void **state)
{
    char out[DT_TIME_TEXT_MAX];

    (void)state;
    dt_time_format_7(-1, out, sizeof(out));
    assert_string_equal(out, "1969-12-31T23:59:59.9990000Z");
    dt_time_format_s(-1, out, sizeof(out));
    assert_string_equal(out, "1969-12-31T23:59:59Z");
    dt_time_format_s(-14182940000LL, out, sizeof(out));
    assert_string_equal(out, "1969-07-20T20:17:40Z");
}

static void
test_format_truncates_to_small_buffer(void **state)
{
    char out[5];

    (void)state;
    memset(out, 'x', sizeof(out));
    dt_time_format_s(0, out, sizeof(out));
    assert_string_equal(out, "1970");
}

static void
test_parse_accepted_forms(void **state)
{
    const int64_t t = MAY_1_2024_10_00_03_123;

    (void)state;
    assert_int_equal(parse_ok("2024-05-01T10:00:03.123Z"), t);
    assert_int_equal(parse_ok("2024-05-01T10:00:03.1230000Z"), t);
    assert_int_equal(parse_ok("2024-05-01T10:00:03.123"), t);
    assert_int_equal(parse_ok("2024-05-01t10:00:03.123z"), t);
    assert_int_equal(parse_ok("2024-05-01 10:00:03.123Z"), t);
    assert_int_equal(parse_ok("2024-05-01T10:00:03Z"), t - 123);
    assert_int_equal(parse_ok("2024-05-01T10:00:03"), t - 123);
    assert_int_equal(parse_ok("2024-05-01T10:00Z"), t - 3123);
    assert_int_equal(parse_ok("2024-05-01T10:00"), t - 3123);
    assert_int_equal(parse_ok("2024-05-01"), t - 36003123);
    /* Fraction digits: fewer than 3 scale up, more than 3 are truncated. */
    assert_int_equal(parse_ok("2024-05-01T10:00:03.1Z"), t - 23);
    assert_int_equal(parse_ok("2024-05-01T10:00:03.12Z"), t - 3);
    assert_int_equal(parse_ok("2024-05-01T10:00:03.123999999Z"), t);
}

static void
test_parse_offsets(void **state)
{
    const int64_t t = MAY_1_2024_10_00_03_123 - 123;

    (void)state;
    assert_int_equal(parse_ok("2024-05-01T12:00:03+02:00"), t);
    assert_int_equal(parse_ok("2024-05-01T04:30:03-05:30"), t);
    assert_int_equal(parse_ok("2024-05-01T10:00:03+00:00"), t);
    assert_int_equal(parse_ok("2024-05-01T10:00:03-00:00"), t);
    /* An offset that moves the instant across a day, month and year. */
    assert_int_equal(parse_ok("2024-01-01T01:00:00+02:00"), parse_ok("2023-12-31T23:00:00Z"));
    assert_int_equal(parse_ok("2023-12-31T23:00:00-02:00"), parse_ok("2024-01-01T01:00:00Z"));
    assert_int_equal(parse_ok("2024-05-01T10:00:03.5+23:59"),
                     t + 500 - (23 * 3600 + 59 * 60) * 1000LL);
}

static void
test_parse_leap_years(void **state)
{
    int64_t ms;

    (void)state;
    assert_int_equal(parse_ok("2000-02-29T23:59:59Z"), 951868799000LL);
    assert_int_equal(parse_ok("2024-03-01") - parse_ok("2024-02-28"), 2 * 86400000LL);
    assert_int_equal(parse_ok("2023-03-01") - parse_ok("2023-02-28"), 86400000LL);
    assert_int_equal(parse_ok("2000-03-01") - parse_ok("2000-02-28"), 2 * 86400000LL);
    assert_int_equal(parse_ok("1900-03-01") - parse_ok("1900-02-28"), 86400000LL);
    assert_int_equal(parse_ok("2025-01-01") - parse_ok("2024-01-01"), 366 * 86400000LL);
    assert_int_equal(parse_ok("2024-01-01") - parse_ok("2023-01-01"), 365 * 86400000LL);
    assert_int_equal(dt_time_parse("2023-02-29", &ms), DURATA_EINVAL);
    assert_int_equal(dt_time_parse("1900-02-29", &ms), DURATA_EINVAL);
    assert_int_equal(dt_time_parse("2100-02-29T00:00Z", &ms), DURATA_EINVAL);
}

static void
test_parse_rejects_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        "2024",
        "2024-05",
        "2024-5-01",
        "24-05-01",
        "2024/05/01",
        "2024-00-01",
        "2024-13-01",
        "2024-05-00",
        "2024-04-31",
        "2024-05-01x",
        "2024-05-01T",
        "2024-05-01T10",
        "2024-05-01T1:00",
        "2024-05-01T24:00",
        "2024-05-01T10:60",
        "2024-05-01T10:00:60",
        "2024-05-01T10:00:3",
        "2024-05-01T10:00:03.",
        "2024-05-01T10:00:03.Z",
        "2024-05-01T10:00:03Zjunk",
        "2024-05-01T10:00:03 Z",
        "2024-05-01T10:00+0200",
        "2024-05-01T10:00+02",
        "2024-05-01T10:00+24:00",
        "2024-05-01T10:00+02:60",
        "2024-05-01T10:00+02:00Z",
        " 2024-05-01",
        "2024-05-01Z",
        "2024-05-01T10:00:03.123Z\n",
    };
    int64_t ms = 7;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (dt_time_parse(bad[i], &ms) != DURATA_EINVAL)
            fail_msg("accepted malformed \"%s\"", bad[i]);
    }
    assert_int_equal(ms, 7); /* failures leave the output alone */
    assert_int_equal(dt_time_parse(NULL, &ms), DURATA_EINVAL);
    assert_int_equal(dt_time_parse("2024-05-01", NULL), DURATA_EINVAL);
}

static void
test_results_ignore_tz_environment(void **state)
{
    static const char *const zones[] = {"UTC0", "EST5EDT", "XYZ-5:30", "ABC+11"};
    char out[DT_TIME_TEXT_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        assert_int_equal(setenv("TZ", zones[i], 1), 0);
        tzset();
        assert_int_equal(parse_ok("2024-05-01T10:00:03.123Z"), MAY_1_2024_10_00_03_123);
        assert_int_equal(parse_ok("2024-07-01"), 1719792000000LL);
        dt_time_format_7(MAY_1_2024_10_00_03_123, out, sizeof(out));
        assert_string_equal(out, "2024-05-01T10:00:03.1230000Z");
    }
    unsetenv("TZ");
    tzset();
}

static void
test_round_trips_random_instants(void **state)
{
    /* From 1900 to 9999, so negative instants are covered as well. */
    const int64_t lo = -2208988800000LL, hi = 253402300799999LL;
    char out[DT_TIME_TEXT_MAX];

    (void)state;
    srand(12345);
    for (int i = 0; i < 20000; i++) {
        uint64_t r = ((uint64_t)rand() << 32) ^ ((uint64_t)rand() << 16) ^ (uint64_t)rand();
        int64_t ms = lo + (int64_t)(r % (uint64_t)(hi - lo));
        int64_t sec_floor = ms - (((ms % 1000) + 1000) % 1000);

        dt_time_format_7(ms, out, sizeof(out));
        assert_int_equal(strlen(out), 28);
        assert_int_equal(parse_ok(out), ms);
        dt_time_format_s(ms, out, sizeof(out));
        assert_int_equal(strlen(out), 20);
        assert_int_equal(parse_ok(out), sec_floor);
    }
}

/* The formatter against gmtime_r and snprintf, the way it used to be
 * written, over random instants from year 1 to 9999 and the days around
 * leap days and century years. */
static void
reference_format(int64_t ms, bool frac, char *out, size_t size)
{
    int64_t s = ms / 1000, r = ms % 1000;
    struct tm tm;
    time_t t;

    if (r < 0) {
        r += 1000;
        s--;
    }
    t = (time_t)s;
    assert_non_null(gmtime_r(&t, &tm));
    if (frac)
        snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03d0000Z", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)r);
    else
        snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void
expect_as_reference(int64_t ms)
{
    char ours[DT_TIME_TEXT_MAX], theirs[128]; /* room for any int snprintf prints */

    dt_time_format_7(ms, ours, sizeof(ours));
    reference_format(ms, true, theirs, sizeof(theirs));
    if (strcmp(ours, theirs) != 0)
        fail_msg("%lld: %s, expected %s", (long long)ms, ours, theirs);
    dt_time_format_s(ms, ours, sizeof(ours));
    reference_format(ms, false, theirs, sizeof(theirs));
    if (strcmp(ours, theirs) != 0)
        fail_msg("%lld: %s, expected %s", (long long)ms, ours, theirs);
}

static void
test_format_matches_gmtime(void **state)
{
    const int64_t lo = -62135596800000LL, hi = 253402300799999LL; /* 0001 .. 9999 */
    static const int years[] = {1,    4,    100,  400,  1600, 1900, 1969, 1970,
                                1972, 2000, 2024, 2100, 2400, 9996, 9999};
    unsigned seed = 99;

    (void)state;
    for (int i = 0; i < 200000; i++) {
        uint64_t r = ((uint64_t)rand_r(&seed) << 33) ^ ((uint64_t)rand_r(&seed) << 16) ^
                     (uint64_t)rand_r(&seed);
        expect_as_reference(lo + (int64_t)(r % (uint64_t)(hi - lo)));
    }
    for (size_t i = 0; i < sizeof(years) / sizeof(years[0]); i++) {
        struct tm tm = {.tm_year = years[i] - 1900, .tm_mon = 1, .tm_mday = 27};
        int64_t start = (int64_t)timegm(&tm) * 1000;
        for (int64_t ms = start; ms < start + 5 * 86400000LL; ms += 3600000LL - 1)
            expect_as_reference(ms);
    }
    expect_as_reference(-1);
    expect_as_reference(0);
    expect_as_reference(86399999);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_known_instants),
        cmocka_unit_test(test_format_matches_gmtime),
        cmocka_unit_test(test_format_before_epoch_uses_floor),
        cmocka_unit_test(test_format_truncates_to_small_buffer),
        cmocka_unit_test(test_parse_accepted_forms),
        cmocka_unit_test(test_parse_offsets),
        cmocka_unit_test(test_parse_leap_years),
        cmocka_unit_test(test_parse_rejects_malformed),
        cmocka_unit_test(test_results_ignore_tz_environment),
        cmocka_unit_test(test_round_trips_random_instants),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
