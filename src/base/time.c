/*
 * time.c — UTC timestamps as ISO 8601 text and back.
 *
 * Owns: formatting milliseconds since the epoch in the two API forms and
 * parsing the forms listed in time.h. Formatting computes the civil date
 * itself (gmtime_r for years outside 0..9999) and parsing uses timegm, so
 * the TZ environment never matters. Milliseconds are split
 * with floor division, so times before 1970 format correctly.
 * Threading: thread-safe; no state.
 */
#include "base/time.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Splits ms into whole seconds and the millisecond remainder (0..999). */
static void
split_ms(int64_t ms, time_t *sec, int *rem)
{
    int64_t s = ms / 1000;
    int64_t r = ms % 1000;

    if (r < 0) {
        r += 1000;
        s -= 1;
    }
    *sec = (time_t)s;
    *rem = (int)r;
}

/* The proleptic Gregorian date of day `days` counted from 1970-01-01
 * (negative before), by the usual era arithmetic: 400-year eras of 146,097
 * days, each starting on March 1st so that the leap day ends a year. */
static void
civil_date(int64_t days, int64_t *year, int *month, int *day)
{
    int64_t z = days + 719468; /* days since 0000-03-01 */
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                      /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                    /* March = 0 */

    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = yoe + era * 400 + (*month <= 2);
}

static char *
put_digits(char *p, int64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + n;
}

/* Writes the date and time of ms, the 7-digit fraction (when with_frac) and
 * "Z", truncated to size as snprintf would. Digits are written directly:
 * every history event carries a timestamp, and snprintf with gmtime_r was
 * a tenth of the time spent encoding events. Years outside 0..9999 take
 * gmtime_r and snprintf (which print them with more digits or a sign); a
 * time gmtime_r cannot represent yields an empty string. */
static void
format_utc(int64_t ms, bool with_frac, char *out, size_t size)
{
    char text[DT_TIME_TEXT_MAX], *p = text;
    int64_t year, sec_of_day, days;
    struct tm tm;
    time_t sec;
    int rem, month, day;
    size_t len;

    if (!out || size == 0)
        return;
    split_ms(ms, &sec, &rem);
    days = (int64_t)sec / 86400;
    sec_of_day = (int64_t)sec % 86400;
    if (sec_of_day < 0) {
        sec_of_day += 86400;
        days--;
    }
    civil_date(days, &year, &month, &day);
    if (year < 0 || year > 9999) {
        if (!gmtime_r(&sec, &tm)) {
            out[0] = '\0';
            return;
        }
        if (with_frac)
            snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03d0000Z", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rem);
        else
            snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        return;
    }
    p = put_digits(p, year, 4);
    *p++ = '-';
    p = put_digits(p, month, 2);
    *p++ = '-';
    p = put_digits(p, day, 2);
    *p++ = 'T';
    p = put_digits(p, sec_of_day / 3600, 2);
    *p++ = ':';
    p = put_digits(p, sec_of_day / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, sec_of_day % 60, 2);
    if (with_frac) {
        *p++ = '.';
        p = put_digits(p, rem, 3);
        p = put_digits(p, 0, 4);
    }
    *p++ = 'Z';
    len = (size_t)(p - text);
    if (len > size - 1)
        len = size - 1;
    memcpy(out, text, len);
    out[len] = '\0';
}

void
dt_time_format_s(int64_t ms, char *out, size_t size)
{
    format_utc(ms, false, out, size);
}

void
dt_time_format_7(int64_t ms, char *out, size_t size)
{
    format_utc(ms, true, out, size);
}

/* Reads exactly n decimal digits at *p into *out and advances *p. */
static bool
read_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool
is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int
days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

/* "YYYY-MM-DD" into tm; checks the day against the month and leap years. */
static bool
parse_date(const char **p, struct tm *tm)
{
    int y, mo, d;

    if (!read_digits(p, 4, &y) || **p != '-')
        return false;
    (*p)++;
    if (!read_digits(p, 2, &mo) || **p != '-')
        return false;
    (*p)++;
    if (!read_digits(p, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return false;
    tm->tm_year = y - 1900;
    tm->tm_mon = mo - 1;
    tm->tm_mday = d;
    return true;
}

/* "HH:MM[:SS[.frac]]"; frac has at least one digit, digits past the third
 * are read and dropped (truncation toward the earlier millisecond). */
static bool
parse_clock(const char **p, struct tm *tm, int *ms)
{
    int h, mi, s = 0, frac = 0, digits = 0;

    if (!read_digits(p, 2, &h) || **p != ':')
        return false;
    (*p)++;
    if (!read_digits(p, 2, &mi))
        return false;
    if (**p == ':') {
        (*p)++;
        if (!read_digits(p, 2, &s))
            return false;
        if (**p == '.' || **p == ',') {
            (*p)++;
            while (**p >= '0' && **p <= '9') {
                if (digits < 3)
                    frac = frac * 10 + (**p - '0');
                digits++;
                (*p)++;
            }
            if (digits == 0)
                return false;
            for (int i = digits; i < 3; i++)
                frac *= 10;
        }
    }
    if (h > 23 || mi > 59 || s > 59)
        return false;
    tm->tm_hour = h;
    tm->tm_min = mi;
    tm->tm_sec = s;
    *ms = frac;
    return true;
}

/* "Z", "+HH:MM", "-HH:MM" or nothing, then the end of the text. The offset
 * is returned in seconds east of UTC. */
static bool
parse_zone(const char *p, int64_t *offset_s)
{
    int h, m, sign;

    *offset_s = 0;
    if (*p == 'Z' || *p == 'z')
        return p[1] == '\0';
    if (*p == '\0')
        return true;
    if (*p != '+' && *p != '-')
        return false;
    sign = *p == '-' ? -1 : 1;
    p++;
    if (!read_digits(&p, 2, &h) || *p != ':')
        return false;
    p++;
    if (!read_digits(&p, 2, &m) || *p != '\0')
        return false;
    if (h > 23 || m > 59)
        return false;
    *offset_s = sign * (int64_t)(h * 3600 + m * 60);
    return true;
}

int
dt_time_parse(const char *text, int64_t *out_ms)
{
    struct tm tm = {0};
    const char *p = text;
    int64_t offset_s = 0;
    int ms = 0;
    time_t sec;

    if (!text || !out_ms)
        return DURATA_EINVAL;
    if (!parse_date(&p, &tm))
        return DURATA_EINVAL;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!parse_clock(&p, &tm, &ms) || !parse_zone(p, &offset_s))
            return DURATA_EINVAL;
    } else if (*p != '\0') {
        return DURATA_EINVAL;
    }
    sec = timegm(&tm);
    *out_ms = ((int64_t)sec - offset_s) * 1000 + ms;
    return 0;
}
