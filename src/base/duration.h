/*
 * duration.h — human-written durations ("30s", "15m", "24h", "7d",
 * "1h30m") to milliseconds and back, for flags and config values such as
 * `--retention`.
 *
 * Owns: the grammar below, nothing else.
 *   duration := part+          (no spaces, no sign)
 *   part     := digits unit
 *   unit     := "ms" | "s" | "m" | "h" | "d" | "w"     (lowercase)
 * A bare number is refused: "30" could mean seconds or minutes, and a
 * retention off by a factor of 60 deletes data. Parts add up ("1h30m" is
 * 5,400,000 ms); their order is free and a unit may repeat.
 * Threading: thread-safe (no state).
 */
#ifndef DT_BASE_DURATION_H
#define DT_BASE_DURATION_H

#include "durata.h"

#include <stddef.h>
#include <stdint.h>

/* Longest text dt_duration_format writes, NUL included. */
#define DT_DURATION_TEXT_MAX 64

/* Parses text into *out_ms (left untouched on error). Returns 0,
 * DURATA_EINVAL when text is NULL, empty or not of the grammar (the
 * message of durata_strerror is generic: callers name the flag), or
 * DURATA_ETOOBIG when the total exceeds INT64_MAX milliseconds. "0s" is a
 * valid zero; whether zero makes sense is the caller's decision. */
DURATA_MUST_CHECK int dt_duration_parse(const char *text, int64_t *out_ms);

/* Writes ms (>= 0) in the same grammar, largest units first, omitting zero
 * parts: 5400000 gives "1h30m", 0 gives "0s", 1500 gives "1s500ms". Weeks
 * are not used on output ("14d" reads better than "2w"). A negative ms
 * gives "-" followed by the form of its magnitude (not parseable: durations
 * are never negative). out gets at least DT_DURATION_TEXT_MAX bytes; a
 * smaller buffer receives a truncated, NUL-terminated text. */
void dt_duration_format(int64_t ms, char *out, size_t size);

#endif
