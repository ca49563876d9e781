/*
 * time.h — UTC timestamps as text (ISO 8601) and back.
 *
 * Owns: the two output forms the APIs use, second precision
 * "2024-05-01T10:00:03Z" (status payloads) and 7 fractional digits
 * "2024-05-01T10:00:03.1230000Z" (history events), and a lenient parser.
 * Threading: thread-safe (no state).
 */
#ifndef DT_BASE_TIME_H
#define DT_BASE_TIME_H

#include "durata.h"

#include <stddef.h>
#include <stdint.h>

#define DT_TIME_TEXT_MAX 40

/* "YYYY-MM-DDTHH:MM:SSZ" into out (at least DT_TIME_TEXT_MAX bytes). */
void dt_time_format_s(int64_t ms, char *out, size_t size);
/* "YYYY-MM-DDTHH:MM:SS.fffffffZ" (milliseconds padded to 7 digits). */
void dt_time_format_7(int64_t ms, char *out, size_t size);
/* Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.frac]]" with "Z", a
 * "+HH:MM"/"-HH:MM" offset or none (UTC). DURATA_EINVAL when malformed. */
DURATA_MUST_CHECK int dt_time_parse(const char *text, int64_t *out_ms);

#endif
