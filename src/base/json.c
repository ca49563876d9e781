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
#include <stdio.h>
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

/* Length of the well-formed UTF-8 sequence at p (1 to 4 bytes), or 0
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t
utf8_len(const unsigned char *p)
{
    unsigned lo = 0x80, hi = 0xBF;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF)
        return (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        lo = p[0] == 0xE0 ? 0xA0 : lo;
        hi = p[0] == 0xED ? 0x9F : hi;
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        lo = p[0] == 0xF0 ? 0x90 : lo;
        hi = p[0] == 0xF4 ? 0x8F : hi;
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80 ? 4 : 0;
    }
    return 0;
}

bool
dt_utf8_is_valid(const char *s)
{
    size_t n;

    for (const unsigned char *p = (const unsigned char *)s; *p; p += n)
        if (!(n = utf8_len(p)))
            return false;
    return true;
}

/* The escape of byte c (a quote, a backslash or a control character) into
 * out (at least 7 bytes); its length. */
static size_t
json_escape(unsigned char c, char *out)
{
    static const char shorts[] = "btn_fr"; /* bytes 8 to 13 (11 has none) */

    if (c == '"' || c == '\\' || (c >= 8 && c <= 13 && c != 11)) {
        out[0] = '\\';
        out[1] = c == '"' || c == '\\' ? (char)c : shorts[c - 8];
        return 2;
    }
    return (size_t)snprintf(out, 7, "\\u%04X", c);
}

int
dt_json_append_str(struct dt_buf *b, const char *s)
{
    bool ascii_only;
    const char *run;
    char esc[8];
    int rc;

    if (!s)
        return dt_buf_append(b, "null", 4);
    ascii_only = !dt_utf8_is_valid(s);
    rc = dt_buf_append(b, "\"", 1);
    for (run = s; rc == 0; s++) {
        unsigned char c = (unsigned char)*s;

        if (c && c != '"' && c != '\\' && c >= 0x20 && !(ascii_only && c >= 0x80))
            continue;
        rc = dt_buf_append(b, run, (size_t)(s - run));
        run = s + 1;
        if (rc < 0 || !c)
            break;
        if (c >= 0x80)
            rc = dt_buf_append(b, "?", 1);
        else
            rc = dt_buf_append(b, esc, json_escape(c, esc));
    }
    return rc == 0 ? dt_buf_append(b, "\"", 1) : rc;
}
