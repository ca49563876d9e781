/*
 * duration.c — durations as text ("7d", "1h30m") and milliseconds.
 *
 * Owns: the grammar of duration.h. Parsing checks the whole text before it
 * reports an overflow, so a malformed text is always DURATA_EINVAL and
 * only a well-formed but too large one is DURATA_ETOOBIG. Arithmetic is in
 * uint64_t with explicit bounds, never signed overflow.
 * Threading: thread-safe; no state.
 */
#include "base/duration.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct unit {
    const char *name;
    uint64_t ms;
};

/* Longest names first where one is a prefix of another ("ms" before "m"). */
static const struct unit units[] = {
    {"ms", 1},
    {"s", 1000},
    {"m", 60 * 1000},
    {"h", 60 * 60 * 1000},
    {"d", 24 * 60 * 60 * 1000},
    {"w", 7 * 24 * 60 * 60 * 1000},
};

#define N_UNITS (sizeof(units) / sizeof(units[0]))

/* Matches a unit at *p; advances *p past it. NULL when none. */
static const struct unit *
unit_at(const char **p)
{
    for (size_t i = 0; i < N_UNITS; i++) {
        size_t n = strlen(units[i].name);
        if (strncmp(*p, units[i].name, n) == 0) {
            *p += n;
            return &units[i];
        }
    }
    return NULL;
}

/* Reads one "digits unit" part at *p into *part_ms; *overflow is set (and
 * the value is meaningless) when it exceeds INT64_MAX. false when the text
 * at *p is not a part. */
static bool
read_part(const char **p, uint64_t *part_ms, bool *overflow)
{
    const uint64_t limit = (uint64_t)INT64_MAX;
    const struct unit *u;
    uint64_t n = 0;
    const char *s = *p;

    if (*s < '0' || *s > '9')
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (n > (limit - (uint64_t)(*s - '0')) / 10)
            *overflow = true;
        else
            n = n * 10 + (uint64_t)(*s - '0');
    }
    if (!(u = unit_at(&s)))
        return false;
    if (n != 0 && n > limit / u->ms)
        *overflow = true;
    else
        *part_ms = n * u->ms;
    *p = s;
    return true;
}

int
dt_duration_parse(const char *text, int64_t *out_ms)
{
    const uint64_t limit = (uint64_t)INT64_MAX;
    bool overflow = false;
    uint64_t total = 0, part = 0;
    const char *p = text;

    if (!text || !out_ms || !*text)
        return DURATA_EINVAL;
    while (*p) {
        if (!read_part(&p, &part, &overflow))
            return DURATA_EINVAL;
        if (!overflow && part > limit - total)
            overflow = true;
        if (!overflow)
            total += part;
    }
    if (overflow)
        return DURATA_ETOOBIG;
    *out_ms = (int64_t)total;
    return 0;
}

void
dt_duration_format(int64_t ms, char *out, size_t size)
{
    /* Output units: days down to milliseconds (weeks left out on purpose). */
    static const size_t order[] = {4, 3, 2, 1, 0};
    uint64_t left;
    size_t used = 0;
    int n;

    if (!out || size == 0)
        return;
    out[0] = '\0';
    /* The magnitude of INT64_MIN does not fit int64_t: negate in uint64_t. */
    left = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    if (ms < 0) {
        n = snprintf(out, size, "-");
        used = (size_t)n < size ? (size_t)n : size - 1;
    }
    if (left == 0) {
        snprintf(out + used, size - used, "0s");
        return;
    }
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && left; i++) {
        const struct unit *u = &units[order[i]];
        if (left < u->ms)
            continue;
        n = snprintf(out + used, size - used, "%llu%s", (unsigned long long)(left / u->ms),
                     u->name);
        left %= u->ms;
        if (n < 0 || (size_t)n >= size - used)
            return; /* truncated: snprintf left it NUL-terminated */
        used += (size_t)n;
    }
}
