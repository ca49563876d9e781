/*
 * json.c — limits checks and small conveniences over jansson.
 *
 * Owns: the validation of untrusted JSON text (size, nesting depth, syntax)
 * and compact text <-> value helpers. jansson 2.14 has no depth option, so
 * the depth is measured here by scanning the text before it is parsed; that
 * also keeps a deeply nested hostile input from reaching the parser at all.
 * Threading: thread-safe; no state.
 */
#include "base/json.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* true when the brackets of text nest deeper than max. Brackets inside
 * string literals (escapes included) do not count. The text need not be
 * valid JSON; the parser judges that afterwards. */
static bool
json_too_deep(const char *text, int max)
{
    bool in_string = false, escaped = false;
    int depth = 0;

    for (const char *p = text; *p; p++) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (*p == '\\')
                escaped = true;
            else if (*p == '"')
                in_string = false;
        } else if (*p == '"') {
            in_string = true;
        } else if (*p == '[' || *p == '{') {
            if (++depth > max)
                return true;
        } else if ((*p == ']' || *p == '}') && depth > 0) {
            depth--;
        }
    }
    return false;
}

int
dt_json_check(const char *text, size_t max_bytes)
{
    json_error_t err;
    json_t *v;

    if (!text)
        return 0;
    if (max_bytes > 0 && max_bytes < SIZE_MAX && strnlen(text, max_bytes + 1) > max_bytes)
        return DURATA_ETOOBIG;
    if (json_too_deep(text, DT_JSON_MAX_DEPTH))
        return DURATA_ETOOBIG;
    v = json_loads(text, JSON_DECODE_ANY, &err);
    if (!v)
        return DURATA_EJSON;
    json_decref(v);
    return 0;
}

char *
dt_json_text(const json_t *v)
{
    /* NULL stands for JSON null across the APIs, so it has a text too. */
    if (!v)
        return dt_strdup_opt("null");
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

json_t *
dt_json_parse(const char *text)
{
    json_error_t err;

    if (!text)
        return NULL;
    return json_loads(text, JSON_DECODE_ANY, &err);
}

/* A copy of s with every non-ASCII byte replaced by '?': the fallback for
 * text that is not valid UTF-8, which jansson refuses to encode. */
static char *
ascii_copy(const char *s)
{
    char *out = dt_strdup_opt(s);

    if (!out)
        return NULL;
    for (char *p = out; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    return out;
}

char *
dt_json_quote(const char *s)
{
    json_t *str;
    char *copy = NULL, *out;

    if (!s)
        return dt_strdup_opt("null");
    str = json_string(s);
    if (!str) {
        /* Either out of memory or invalid UTF-8; the ASCII copy tells. */
        copy = ascii_copy(s);
        if (!copy)
            return NULL;
        str = json_string(copy);
        if (!str)
            goto out_free_copy;
    }
    out = json_dumps(str, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(str);
    free(copy);
    return out;

out_free_copy:
    free(copy);
    return NULL;
}

char *
dt_strdup_opt(const char *s)
{
    size_t n;
    char *out;

    if (!s)
        return NULL;
    n = strlen(s) + 1;
    out = malloc(n);
    if (out)
        memcpy(out, s, n);
    return out;
}

json_t *
dt_json_string_lossy(const char *s)
{
    json_t *v = json_string(s);
    char *copy;

    if (v)
        return v;
    copy = strdup(s);
    if (!copy)
        return NULL;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    v = json_string(copy);
    free(copy);
    return v;
}
