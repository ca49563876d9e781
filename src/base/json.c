/*
 * json.c — limits checks and small conveniences over jansson.
 *
 * Owns: the validation of untrusted JSON text (size, nesting depth, syntax)
 * and compact text <-> value helpers. Validation is a scan of its own that
 * builds nothing: jansson can only check a text by building its values
 * (an allocation per value, a hash table per object), which the hub did
 * several times per orchestration step for texts it then stored as they
 * were, and jansson 2.14 has no depth option, so a deeply nested hostile
 * input never reaches its parser.
 * Threading: thread-safe; no state.
 */
#include "base/json.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at p (1 to 4 bytes), or 0
 * (overlong forms, surrogates and code points past U+10FFFF included).
 * Reads no byte past a NUL. */
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

/* ------------------------------------------------------------ validation
 * One pass over the text, allocating nothing, that accepts exactly what
 * json_loads(text, JSON_DECODE_ANY) accepts (jansson 2.14), so a text that
 * passed always parses later: strings of well-formed UTF-8 without raw
 * control characters, the escapes \" \\ \/ \b \f \n \r \t and \uXXXX (not
 * \u0000; a high surrogate only followed by an escaped low one); numbers
 * in RFC 8259's grammar whose integers fit in 64 bits and whose reals do
 * not overflow a double; true, false, null; no trailing commas; nothing
 * after the value but whitespace. Containers nest at most
 * DT_JSON_MAX_DEPTH deep (jansson allows 2048). */

static const unsigned char *
skip_ws(const unsigned char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static bool
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* The value of the four hex digits at p, or -1. */
static long
hex4(const unsigned char *p)
{
    long v = 0;

    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        int d = is_digit(c)                              ? c - '0'
                : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
                                                         : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* The end of the \u escape (and its pair) at p, or NULL. */
static const unsigned char *
scan_unicode_escape(const unsigned char *p)
{
    long v = hex4(p + 2), lo;

    if (v <= 0 || (v >= 0xDC00 && v <= 0xDFFF))
        return NULL;
    if (v < 0xD800 || v > 0xDBFF)
        return p + 6;
    if (p[6] != '\\' || p[7] != 'u')
        return NULL;
    lo = hex4(p + 8);
    return lo >= 0xDC00 && lo <= 0xDFFF ? p + 12 : NULL;
}

/* The end of the string literal whose opening quote is at p, or NULL. */
static const unsigned char *
scan_string(const unsigned char *p)
{
    size_t n;

    for (p++;;) {
        if (*p == '"')
            return p + 1;
        if (*p < 0x20) /* the text's end included */
            return NULL;
        if (*p == '\\') {
            if (p[1] == 'u')
                p = scan_unicode_escape(p);
            else if (p[1] && strchr("\"\\/bfnrt", p[1]))
                p += 2;
            else
                return NULL;
            if (!p)
                return NULL;
            continue;
        }
        if (!(n = utf8_len(p)))
            return NULL;
        p += n;
    }
}

/* The end of the number at p, or NULL (bad syntax, an integer outside
 * 64 bits, a real that overflows). */
static const unsigned char *
scan_number(const unsigned char *p)
{
    const unsigned char *start = p;
    bool real = false;
    int saved = errno;

    if (*p == '-')
        p++;
    if (*p == '0') {
        if (is_digit(*++p))
            return NULL;
    } else if (is_digit(*p)) {
        while (is_digit(*p))
            p++;
    } else {
        return NULL;
    }
    if (*p == '.') {
        if (!is_digit(*++p))
            return NULL;
        while (is_digit(*p))
            p++;
        real = true;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!is_digit(*p))
            return NULL;
        while (is_digit(*p))
            p++;
        real = true;
    }
    /* Both stop where the number does: what follows it cannot continue
     * one (JSON has no hex or inf). */
    errno = 0;
    if (real) {
        double d = strtod((const char *)start, NULL);
        if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE)
            p = NULL;
    } else {
        (void)strtoll((const char *)start, NULL, 10);
        if (errno == ERANGE)
            p = NULL;
    }
    errno = saved;
    return p;
}

/* The end of the scalar at p (a string, number or literal), or NULL. */
static const unsigned char *
scan_scalar(const unsigned char *p)
{
    switch (*p) {
    case '"':
        return scan_string(p);
    case 't':
        return strncmp((const char *)p, "true", 4) == 0 ? p + 4 : NULL;
    case 'f':
        return strncmp((const char *)p, "false", 5) == 0 ? p + 5 : NULL;
    case 'n':
        return strncmp((const char *)p, "null", 4) == 0 ? p + 4 : NULL;
    default:
        return scan_number(p);
    }
}

/* 0, DURATA_EJSON or DURATA_ETOOBIG (nested too deep) for the text. */
static int
json_scan(const unsigned char *p)
{
    unsigned char open[DT_JSON_MAX_DEPTH]; /* '{' or '[' per level */
    int depth = 0;
    bool key = false; /* an object's key comes next, not a value */

    p = skip_ws(p);
    for (;;) {
        if (key) {
            if (*p != '"' || !(p = scan_string(p)))
                return DURATA_EJSON;
            p = skip_ws(p);
            if (*p != ':')
                return DURATA_EJSON;
            p = skip_ws(p + 1);
            key = false;
        }
        if (*p == '{' || *p == '[') {
            if (depth == DT_JSON_MAX_DEPTH)
                return DURATA_ETOOBIG;
            open[depth++] = *p;
            p = skip_ws(p + 1);
            if (*p != (open[depth - 1] == '{' ? '}' : ']')) {
                key = open[depth - 1] == '{';
                continue;
            }
            p++;
            depth--;
        } else if (!(p = scan_scalar(p))) {
            return DURATA_EJSON;
        }
        /* After a value: a comma, the end of containers, or the text's. */
        for (;;) {
            p = skip_ws(p);
            if (depth == 0)
                return *p ? DURATA_EJSON : 0;
            if (*p == ',') {
                p = skip_ws(p + 1);
                key = open[depth - 1] == '{';
                break;
            }
            if (*p != (open[depth - 1] == '{' ? '}' : ']'))
                return DURATA_EJSON;
            p++;
            depth--;
        }
    }
}

/* The end of the string literal at p in checked text, or NULL at the
 * text's end: nothing is validated again. */
static const unsigned char *
skip_string(const unsigned char *p)
{
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1])
            p++;
    return *p ? p + 1 : NULL;
}

/* The end of the value at p in checked text (numbers and literals skipped
 * as runs of their characters, not converted), or NULL. */
static const unsigned char *
skip_value(const unsigned char *p)
{
    const unsigned char *start;
    int depth = 0;

    do {
        if (*p == '{' || *p == '[') {
            depth++;
            p++;
        } else if (*p == '}' || *p == ']') {
            depth--;
            p++;
        } else if (*p == '"') {
            if (!(p = skip_string(p)))
                return NULL;
        } else if (depth > 0 && (*p == ',' || *p == ':' || *p == ' ' || *p == '\t' || *p == '\n' ||
                                 *p == '\r')) {
            p++;
        } else {
            for (start = p; *p && (is_digit(*p) || (*p >= 'a' && *p <= 'z') || *p == '-' ||
                                   *p == '+' || *p == '.' || *p == 'E');
                 p++)
                ;
            if (p == start)
                return NULL;
        }
    } while (depth > 0 && *p);
    return depth == 0 ? p : NULL;
}

int
dt_json_members(const char *text, const char *const *keys, size_t n, struct dt_json_span *out)
{
    const unsigned char *p = skip_ws((const unsigned char *)text), *k, *ke, *v;
    int members = 0;

    for (size_t i = 0; i < n; i++)
        out[i] = (struct dt_json_span){NULL, 0};
    if (*p != '{')
        return -1;
    p = skip_ws(p + 1);
    if (*p == '}')
        return 0;
    for (;; members++) {
        if (*p != '"' || !(ke = skip_string(p)))
            return -1;
        k = p + 1; /* the key's text is [k, ke - 1) */
        if (memchr(k, '\\', (size_t)(ke - 1 - k)))
            return -1; /* escapes: only a parser can compare it */
        p = skip_ws(ke);
        if (*p != ':')
            return -1;
        v = skip_ws(p + 1);
        if (!(p = skip_value(v)))
            return -1;
        for (size_t i = 0; i < n; i++) {
            if (strlen(keys[i]) == (size_t)(ke - 1 - k) && memcmp(k, keys[i], strlen(keys[i])) == 0)
                out[i] = (struct dt_json_span){(const char *)v, (size_t)(p - v)}; /* last wins */
        }
        p = skip_ws(p);
        if (*p == '}')
            return members + 1;
        if (*p != ',')
            return -1;
        p = skip_ws(p + 1);
    }
}

int
dt_json_member(const char *text, const char *key, struct dt_json_span *out)
{
    struct dt_json_span v;
    int rc = dt_json_members(text, &key, 1, &v);

    if (rc < 0 || !v.text)
        return rc < 0 ? -1 : 0;
    *out = v;
    return 1;
}

int
dt_json_check(const char *text, size_t max_bytes)
{
    if (!text)
        return 0;
    if (max_bytes > 0 && max_bytes < SIZE_MAX && strnlen(text, max_bytes + 1) > max_bytes)
        return DURATA_ETOOBIG;
    return json_scan((const unsigned char *)text);
}

/* Copies the JSON text at t without the whitespace between tokens into
 * out (NULL: only counts); the bytes it takes. */
static size_t
compact_copy(const char *t, char *out)
{
    bool in_string = false;
    size_t n = 0;

    for (; *t; t++) {
        if (!in_string && (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r'))
            continue;
        if (out)
            out[n] = *t;
        n++;
        if (in_string && *t == '\\' && t[1]) {
            if (out)
                out[n] = t[1];
            n++;
            t++;
        } else if (*t == '"') {
            in_string = !in_string;
        }
    }
    return n;
}

int
dt_json_append_compact(struct dt_buf *b, const char *text)
{
    char *out;
    int rc;

    if (!strpbrk(text, " \t\n\r"))
        return dt_buf_appends(b, text);
    if ((rc = dt_buf_extend(b, compact_copy(text, NULL), &out)) != 0)
        return rc;
    compact_copy(text, out);
    return 0;
}

bool
dt_json_is_value(const char *text)
{
    json_t *v;

    if (dt_json_check(text, 0) == 0)
        return true;
    v = dt_json_parse(text);
    json_decref(v);
    return v != NULL;
}

int
dt_json_append_stored(struct dt_buf *b, const char *text)
{
    json_t *v;
    char *dump;
    int rc;

    if (!text)
        return dt_buf_append(b, "null", 4);
    if (dt_json_check(text, 0) == 0)
        return dt_json_append_compact(b, text);
    if (!(v = dt_json_parse(text)))
        return dt_json_append_str(b, text);
    /* JSON nested deeper than dt_json_check takes: as jansson writes it. */
    dump = dt_json_text(v);
    json_decref(v);
    rc = dump ? dt_buf_appends(b, dump) : DURATA_ENOMEM;
    free(dump);
    return rc;
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

bool
dt_utf8_is_valid(const char *s)
{
    size_t n;

    for (const unsigned char *p = (const unsigned char *)s; *p; p += n)
        if (!(n = utf8_len(p)))
            return false;
    return true;
}

/* The bytes beyond one that byte c takes in a string literal: 1 for a
 * quote, a backslash and the control characters with a short escape
 * (\b \t \n \f \r), 5 for the other control characters (\u00XX), else 0. */
static const unsigned char escape_extra[256] = {
    /* clang-format off */
    5, 5, 5, 5, 5, 5, 5, 5, 1, 1, 1, 5, 1, 1, 5, 5, /* 0x00-0x0f */
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, /* 0x10-0x1f */
    /* clang-format on */
    ['"'] = 1,
    ['\\'] = 1,
};

/* Writes the escape of byte c (escape_extra[c] > 0) at out; its end. */
static char *
json_escape(unsigned char c, char *out)
{
    static const char shorts[] = "btn_fr"; /* bytes 8 to 13 (11 has none) */
    static const char hex[] = "0123456789ABCDEF";

    *out++ = '\\';
    if (c == '"' || c == '\\') {
        *out++ = (char)c;
    } else if (c >= 8 && c <= 13 && c != 11) {
        *out++ = shorts[c - 8];
    } else {
        memcpy(out, "u00", 3);
        out[3] = hex[c >> 4];
        out[4] = hex[c & 15];
        out += 5;
    }
    return out;
}

/* How many of the n bytes at u from the start need no escape and are
 * ASCII: 8 at a time while a word has no control character, quote,
 * backslash or byte past ASCII (the tests of "Bit Twiddling Hacks"), then
 * byte by byte. */
static size_t
plain_prefix(const unsigned char *u, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t w, q, bs;
        memcpy(&w, u + i, 8);
        q = w ^ (ones * '"');
        bs = w ^ (ones * '\\');
        /* A high bit for: a byte below 0x20, a quote, a backslash, or a
         * byte past ASCII (which also covers the first three's misfires). */
        if ((((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((bs - ones) & ~bs) | w) & highs)
            break;
    }
    while (i < n && u[i] < 0x80 && !escape_extra[u[i]])
        i++;
    return i;
}

/* Sizes the n bytes at s as a string literal's content: *extra the escape
 * bytes beyond n, *high whether it has bytes past ASCII. */
static void
literal_size(const unsigned char *s, size_t n, size_t *extra, bool *high)
{
    size_t more = 0, i = 0;
    unsigned char any = 0;

    while ((i += plain_prefix(s + i, n - i)) < n) {
        any |= s[i];
        more += escape_extra[s[i]];
        i++;
    }
    *extra = more;
    *high = any >= 0x80;
}

/* Writes the n bytes at u as a literal's content at out (escaped; bytes
 * past ASCII as '?' when lossy); its end. Runs of bytes that need nothing
 * are copied at once. */
static char *
literal_copy(const unsigned char *u, size_t n, bool lossy, char *out)
{
    size_t i = 0;

    while (i < n) {
        size_t run = i + plain_prefix(u + i, n - i);
        memcpy(out, u + i, run - i);
        out += run - i;
        if ((i = run) == n)
            break;
        if (u[i] >= 0x80)
            *out++ = lossy ? '?' : (char)u[i];
        else
            out = json_escape(u[i], out);
        i++;
    }
    return out;
}

/* s as a string literal into b. Text that is not UTF-8 is refused
 * (DURATA_EINVAL) when strict, else written with '?' for its bytes past
 * ASCII. One scan sizes it; the copy then goes run by run. */
static int
append_literal(struct dt_buf *b, const char *s, bool strict)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t extra, n;
    bool high, lossy;
    char *out;
    int rc;

    if (!s)
        return dt_buf_append(b, "null", 4);
    n = strlen(s);
    literal_size(u, n, &extra, &high);
    lossy = high && !dt_utf8_is_valid(s);
    if (lossy && strict)
        return DURATA_EINVAL;
    if ((rc = dt_buf_extend(b, n + extra + 2, &out)) != 0)
        return rc;
    *out++ = '"';
    if (!extra && !lossy) {
        memcpy(out, s, n);
        out += n;
    } else {
        out = literal_copy(u, n, lossy, out);
    }
    *out = '"';
    return 0;
}

int
dt_json_append_str(struct dt_buf *b, const char *s)
{
    return append_literal(b, s, false);
}

int
dt_json_append_utf8(struct dt_buf *b, const char *s)
{
    return append_literal(b, s, true);
}
