/*
 * json.h — helpers over jansson for JSON text crossing the APIs.
 *
 * Owns: checking untrusted JSON text against limits (size, nesting depth),
 * small conveniences for turning values to text and back, and writing
 * JSON string literals straight into a buffer as jansson would.
 * Threading: thread-safe (no state).
 */
#ifndef DT_BASE_JSON_H
#define DT_BASE_JSON_H

#include "durata.h"

#include "base/buf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define DT_JSON_MAX_DEPTH 64

/* 0 when text is one valid JSON value (any type, "null" included) of at
 * most max_bytes (0 = no limit) and nesting at most DT_JSON_MAX_DEPTH;
 * DURATA_ETOOBIG or DURATA_EJSON otherwise. NULL text is valid (no value).
 * A text it accepts is one jansson's json_loads(JSON_DECODE_ANY) parses,
 * and the other way round (within the depth). Allocates nothing. */
DURATA_MUST_CHECK int dt_json_check(const char *text, size_t max_bytes);

/* A value's text inside a larger JSON text (not NUL-terminated). */
struct dt_json_span {
    const char *text;
    size_t len;
};

/* Finds member `key` of the object that the JSON text (one that
 * dt_json_check accepts) holds, without parsing: *out is the text of its
 * value, the last one when the key repeats (as jansson keeps). 1 found,
 * 0 absent, -1 when the text is not an object or one of its keys is
 * written with escapes (then only a parser can tell; use jansson). */
DURATA_MUST_CHECK int dt_json_member(const char *text, const char *key, struct dt_json_span *out);
/* The same for keys[0..n) in one pass: out[i] is member keys[i]'s value,
 * or {NULL, 0} when absent. The number of members the object has (more
 * than the keys found when some repeat or are not in keys), or -1 as
 * above. */
DURATA_MUST_CHECK int dt_json_members(const char *text, const char *const *keys, size_t n,
                                      struct dt_json_span *out);

/* Appends text, one JSON value that dt_json_check accepts, without the
 * whitespace between its tokens (what a compact dump of it would hold,
 * but for numbers and escapes, written as they are). 0, DURATA_ENOMEM or
 * DURATA_ETOOBIG at b's cap (b unchanged). */
DURATA_MUST_CHECK int dt_json_append_compact(struct dt_buf *b, const char *text);

/* Whether text (non-NULL) is one JSON value that jansson reads: one
 * dt_json_check takes, or one nested deeper than it allows. */
bool dt_json_is_value(const char *text);
/* Appends a stored text as a value: null for NULL, the value when it is
 * JSON (without whitespace between tokens), else a string of the text
 * (as dt_json_append_str). 0, DURATA_ENOMEM or DURATA_ETOOBIG. */
DURATA_MUST_CHECK int dt_json_append_stored(struct dt_buf *b, const char *text);

/* Compact text of v (malloc'd; NULL on OOM). Accepts any value type. */
char *dt_json_text(const json_t *v);

/* Parses text as any JSON value (decoding flag JSON_DECODE_ANY); NULL when
 * text is NULL or invalid. */
json_t *dt_json_parse(const char *text);

/* A JSON string value for s; text that is not UTF-8 (which jansson
 * refuses) keeps its ASCII and shows other bytes as '?' instead of failing.
 * New reference, NULL only on out of memory. */
json_t *dt_json_string_lossy(const char *s);

/* true when s is well-formed UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF): the only text jansson takes as a string. */
bool dt_utf8_is_valid(const char *s);

/* Appends s to b as a JSON string literal, byte for byte as jansson's
 * compact dump writes it (", \ and control characters escaped; UTF-8 as
 * is); NULL appends null. Text that is not UTF-8 keeps its ASCII and shows
 * other bytes as '?', as dt_json_string_lossy. 0 or dt_buf_append's error. */
DURATA_MUST_CHECK int dt_json_append_str(struct dt_buf *b, const char *s);
/* The same for text that must be UTF-8: DURATA_EINVAL (nothing appended)
 * when it is not. */
DURATA_MUST_CHECK int dt_json_append_utf8(struct dt_buf *b, const char *s);

/* A JSON string literal for s, e.g. "\"hi\"" (malloc'd; NULL on OOM). */
char *dt_json_quote(const char *s);

/* strdup that accepts NULL (returns NULL) — for optional fields. A NULL
 * result for a non-NULL s means out of memory. */
char *dt_strdup_opt(const char *s);

#endif
