/*
 * test_json.c — JSON helpers (base/json.c): validity, size and depth
 * limits of dt_json_check, its agreement with jansson's parser on edge
 * cases and on a random corpus, and the text/parse/quote conveniences.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/json.h"

/* depth x "[" then inner then depth x "]" (malloc'd). */
static char *
nested(int depth, const char *open, const char *inner, const char *close)
{
    size_t lo = strlen(open), li = strlen(inner), lc = strlen(close);
    char *s = malloc((size_t)depth * (lo + lc) + li + 1);
    char *p = s;

    assert_non_null(s);
    for (int i = 0; i < depth; i++, p += lo)
        memcpy(p, open, lo);
    memcpy(p, inner, li);
    p += li;
    for (int i = 0; i < depth; i++, p += lc)
        memcpy(p, close, lc);
    *p = '\0';
    return s;
}

static void
test_check_accepts_any_value(void **state)
{
    static const char *const good[] = {
        "null",
        "true",
        "false",
        "0",
        "-1.5e3",
        "\"s\"",
        "\"\"",
        "[]",
        "{}",
        " {\"a\":[1,2,{\"b\":null}]} ",
        "\"caf\xc3\xa9\"",
        "\"\\u00e9\\n\"",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (dt_json_check(good[i], 0) != 0)
            fail_msg("rejected valid %s", good[i]);
    }
    assert_int_equal(dt_json_check(NULL, 0), 0);
    assert_int_equal(dt_json_check(NULL, 1), 0);
}

static void
test_check_rejects_invalid_text(void **state)
{
    static const char *const bad[] = {
        "",    " ",     "{",  "[1,]",           "nul", "1 2",      "{\"a\":1}x",
        "'s'", "{a:1}", "[1", "\"unterminated", "NaN", "\"\xff\"",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (dt_json_check(bad[i], 0) != DURATA_EJSON)
            fail_msg("accepted invalid '%s'", bad[i]);
    }
}

/* What jansson says of text: true when json_loads(JSON_DECODE_ANY) takes it. */
static bool
jansson_accepts(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &err);

    json_decref(v);
    return v != NULL;
}

static void
expect_agreement(const char *text)
{
    bool ours = dt_json_check(text, 0) == 0, theirs = jansson_accepts(text);

    if (ours != theirs)
        fail_msg("dt_json_check %s '%s', jansson %s it", ours ? "accepts" : "rejects", text,
                 theirs ? "accepts" : "rejects");
}

/* The corners of the grammar where a hand-written scanner and jansson
 * could part: numbers, escapes, surrogates, UTF-8, literals, commas. */
static void
test_check_agrees_with_jansson_on_edges(void **state)
{
    static const char *const texts[] = {
        "0",
        "-0",
        "01",
        "-01",
        "-",
        "1.",
        ".5",
        "1.5",
        "1e5",
        "1E+5",
        "1e-5",
        "1e",
        "1e+",
        "-1.5e-3",
        "2.",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "1e308",
        "1e309",
        "-1e309",
        "1e-400",
        "123456789012345678901.5",
        "0x10",
        "Infinity",
        "-Infinity",
        "1 ",
        " 1",
        "\t\n\r 1 \r\n",
        "\f1",
        "1\v",
        "\"\\u0000\"",
        "\"\\u0001\"",
        "\"\\uD834\\uDD1E\"",
        "\"\\uD834\"",
        "\"\\uDD1E\"",
        "\"\\uD834x\"",
        "\"\\uD834\\u0041\"",
        "\"\\ud834\\udd1e\"",
        "\"\\u00e9\"",
        "\"\\u00G9\"",
        "\"\\u12\"",
        "\"\\x41\"",
        "\"\\'\"",
        "\"\\/\"",
        "\"\\b\\f\\n\\r\\t\\\"\\\\\"",
        "\"\x01\"",
        "\"\x1f\"",
        "\"\x7f\"",
        "\"\xc3\xa9\"",
        "\"\xc3\"",
        "\"\xc0\xaf\"",
        "\"\xe0\x80\xaf\"",
        "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"",
        "\"\xf0\x9f\x98\x80\"",
        "\"\xf8\x88\x80\x80\x80\"",
        "true",
        "false",
        "null",
        "tru",
        "truex",
        "nulll",
        "True",
        "[true,false,null]",
        "[]",
        "{}",
        "[ ]",
        "{ }",
        "[,]",
        "[1,,2]",
        "[1,]",
        "{,}",
        "{\"a\":1,}",
        "{\"a\" : 1 , \"b\" : [ 2 , { } ] }",
        "{\"a\"}",
        "{\"a\":}",
        "{1:2}",
        "{\"a\":1 \"b\":2}",
        "[1 2]",
        "[\"a\":1]",
        "{\"a\",1}",
        "]",
        "}",
        "[}",
        "{]",
        "[[]]]",
        "\"\xc3\xa9\xe2\x82\xac\"",
        "{\"\xc3\xa9\":\"\\u20ac\"}",
        "[-]",
        "[--1]",
        "[+1]",
        "[1.e5]",
        "[0.0e0]",
        "[1e0001]",
        "\"a\" \"b\"",
        "nan",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        expect_agreement(texts[i]);
}

/* Random texts in JSON's alphabet, half of them near-misses of valid
 * documents: both must judge every one alike. */
static void
test_check_agrees_with_jansson_on_random_texts(void **state)
{
    static const char *const atoms[] = {
        "{",        "}",     "[",
        "]",        ",",     ":",
        "\"",       "\"k\"", "\"v\"",
        "1",        "-",     "0",
        ".",        "e",     "E",
        "+",        "12",    "3.5",
        "1e400",    "true",  "false",
        "null",     " ",     "\n",
        "\\",       "\\u",   "\\uD834",
        "\\uDD1E",  "00",    "\\n",
        "\xc3\xa9", "\xc3",  "\xed\xa0\x80",
        "\x01",     "x",     "99999999999999999999",
    };
    static const char *const docs[] = {
        "{\"a\":[1,2.5,-3e2,true,false,null,\"s\\n\\u00e9\"],\"b\":{\"c\":{}}}",
        "[{\"k\":\"v\"},[[]],\"\\uD834\\uDD1E\",0,-0.5e-7]",
        "{\"job_type\":\"echo\",\"payload\":{\"n\":1},\"customer_id\":null}",
    };
    unsigned seed = 12345;
    char text[256];
    int accepted = 0;

    (void)state;
    for (int round = 0; round < 200000; round++) {
        size_t n = 0;
        if (round % 2 == 0) {
            int parts = 1 + rand_r(&seed) % 12;
            for (int i = 0; i < parts; i++) {
                const char *a = atoms[rand_r(&seed) % (sizeof(atoms) / sizeof(atoms[0]))];
                size_t la = strlen(a);
                if (n + la >= sizeof(text))
                    break;
                memcpy(text + n, a, la);
                n += la;
            }
        } else {
            /* A valid document with one byte replaced, dropped or doubled. */
            const char *d = docs[rand_r(&seed) % (sizeof(docs) / sizeof(docs[0]))];
            size_t ld = strlen(d), at = (size_t)rand_r(&seed) % ld;
            const char *a = atoms[rand_r(&seed) % (sizeof(atoms) / sizeof(atoms[0]))];
            int how = rand_r(&seed) % 3;
            memcpy(text, d, at);
            n = at;
            if (how == 0) {
                text[n++] = a[0];
                at++;
            } else if (how == 2) {
                text[n++] = d[at];
            }
            if (how == 1)
                at++;
            memcpy(text + n, d + at, ld - at);
            n += ld - at;
        }
        text[n] = '\0';
        expect_agreement(text);
        accepted += dt_json_check(text, 0) == 0;
    }
    /* The corpus must exercise both answers. */
    assert_true(accepted > 1000);
    assert_true(accepted < 190000);
}

/* dt_json_member finds what jansson's json_object_get finds, or says it
 * cannot (escaped keys, not an object). */
static void
test_member_agrees_with_jansson(void **state)
{
    static const char *const texts[] = {
        "{}",
        " { } ",
        "{\"a\":1}",
        "{\"a\" : [1, {\"a\":2}, \"]\"] , \"b\":\"x\\\"}\", \"c\":null}",
        "{\"a\":1,\"b\":{\"c\":[[],{}]},\"a\":\"last\"}",
        "{\"payload\":{\"n\":1},\"job_type\":\"echo\",\"customer_id\":null}",
        "{\"k\\u0065y\":1,\"a\":2}",
        "{\"\":0,\"a\":-1.5e3}",
        "[1,2]",
        "\"a\"",
        "null",
    };
    static const char *const keys[] = {"a", "b", "c", "payload", "job_type", "key", "", "n"};

    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        json_t *all = json_loads(texts[i], JSON_DECODE_ANY, NULL);

        assert_non_null(all);
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            struct dt_json_span v = {0};
            int rc = dt_json_member(texts[i], keys[k], &v);
            json_t *want = json_object_get(all, keys[k]);

            if (rc < 0) { /* only where a parser is needed */
                assert_true(!json_is_object(all) || strchr(texts[i], '\\') != NULL);
                continue;
            }
            if (!want) {
                assert_int_equal(rc, 0);
                continue;
            }
            assert_int_equal(rc, 1);
            json_t *got = json_loadb(v.text, v.len, JSON_DECODE_ANY, NULL);
            if (!json_equal(got, want))
                fail_msg("'%s' member %s: '%.*s'", texts[i], keys[k], (int)v.len, v.text);
            json_decref(got);
        }
        json_decref(all);
    }
}

/* dt_json_members counts the object's members, repeats included, so a
 * caller can tell a body with only known keys, each once. */
static void
test_members_counts_every_member(void **state)
{
    static const struct {
        const char *text;
        int members;
    } cases[] = {
        {"{}", 0},
        {" { } ", 0},
        {"{\"a\":1}", 1},
        {"{\"a\":{\"b\":1,\"c\":2},\"d\":[1,2,3]}", 2},
        {"{\"a\":1,\"a\":2}", 2},
        {"{\"x\":1,\"y\":2,\"z\":3}", 3},
        {"[1]", -1},
        {"{\"\\u0061\":1}", -1},
    };
    static const char *const keys[] = {"a", "b"};

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct dt_json_span v[2];

        if (dt_json_members(cases[i].text, keys, 2, v) != cases[i].members)
            fail_msg("'%s': want %d members", cases[i].text, cases[i].members);
    }
}

static void
test_check_size_limit(void **state)
{
    (void)state;
    assert_int_equal(dt_json_check("[1,2,3]", 7), 0);
    assert_int_equal(dt_json_check("[1,2,3]", 6), DURATA_ETOOBIG);
    assert_int_equal(dt_json_check("[1,2,3]", 1), DURATA_ETOOBIG);
    assert_int_equal(dt_json_check("[1,2,3]", 0), 0);
    assert_int_equal(dt_json_check("[1,2,3]", SIZE_MAX), 0);
    /* Size is judged before syntax. */
    assert_int_equal(dt_json_check("{{{{{{{{", 4), DURATA_ETOOBIG);
}

static void
test_check_depth_limit(void **state)
{
    char *s;

    (void)state;
    s = nested(DT_JSON_MAX_DEPTH, "[", "1", "]");
    assert_int_equal(dt_json_check(s, 0), 0);
    free(s);
    s = nested(DT_JSON_MAX_DEPTH + 1, "[", "1", "]");
    assert_int_equal(dt_json_check(s, 0), DURATA_ETOOBIG);
    free(s);
    s = nested(DT_JSON_MAX_DEPTH, "{\"k\":", "{}", "}");
    assert_int_equal(dt_json_check(s, 0), DURATA_ETOOBIG);
    free(s);
    s = nested(DT_JSON_MAX_DEPTH - 1, "{\"k\":", "[]", "}");
    assert_int_equal(dt_json_check(s, 0), 0);
    free(s);
    /* Far past any parser's comfort: refused quickly, no crash. */
    s = nested(100000, "[", "", "]");
    assert_int_equal(dt_json_check(s, 0), DURATA_ETOOBIG);
    free(s);
    /* Depth is nesting, not the count of containers. */
    assert_int_equal(dt_json_check("[[1],[2],[3],[[4]],{\"a\":[5]}]", 0), 0);
}

static void
test_check_depth_ignores_brackets_in_strings(void **state)
{
    char *inner = nested(200, "[", "", "");
    size_t n = strlen(inner);
    char *s = malloc(n + 16);

    (void)state;
    assert_non_null(s);
    snprintf(s, n + 16, "[\"%s\"]", inner);
    assert_int_equal(dt_json_check(s, 0), 0);
    /* An escaped quote does not end the string. */
    snprintf(s, n + 16, "[\"\\\"%s\"]", inner);
    assert_int_equal(dt_json_check(s, 0), 0);
    /* An escaped backslash right before the quote does end it. */
    snprintf(s, n + 16, "[\"\\\\\",%s", inner);
    assert_int_equal(dt_json_check(s, 0), DURATA_ETOOBIG);
    free(s);
    free(inner);
}

static void
test_parse_and_text_round_trip(void **state)
{
    json_t *v;
    char *text;

    (void)state;
    v = dt_json_parse(" { \"a\" : [1, 2.5, \"x\"], \"b\" : null } ");
    assert_non_null(v);
    assert_true(json_is_object(v));
    text = dt_json_text(v);
    assert_string_equal(text, "{\"a\":[1,2.5,\"x\"],\"b\":null}");
    free(text);
    json_decref(v);
    v = dt_json_parse("42");
    assert_true(json_is_integer(v));
    text = dt_json_text(v);
    assert_string_equal(text, "42");
    free(text);
    json_decref(v);
    v = dt_json_parse("\"hi\"");
    assert_string_equal(json_string_value(v), "hi");
    json_decref(v);
    assert_null(dt_json_parse(NULL));
    assert_null(dt_json_parse("{"));
    assert_null(dt_json_parse(""));
    text = dt_json_text(NULL);
    assert_string_equal(text, "null");
    free(text);
}

static void
test_quote_escapes(void **state)
{
    char *q;
    json_t *back;

    (void)state;
    q = dt_json_quote("hi");
    assert_string_equal(q, "\"hi\"");
    free(q);
    q = dt_json_quote("a\"b\\c\n\t\x01");
    assert_string_equal(q, "\"a\\\"b\\\\c\\n\\t\\u0001\"");
    back = dt_json_parse(q);
    assert_string_equal(json_string_value(back), "a\"b\\c\n\t\x01");
    json_decref(back);
    free(q);
    q = dt_json_quote("");
    assert_string_equal(q, "\"\"");
    free(q);
    q = dt_json_quote("caf\xc3\xa9");
    assert_int_equal(dt_json_check(q, 0), 0);
    free(q);
    /* Not UTF-8: still a valid literal, the bad bytes replaced. */
    q = dt_json_quote("a\xff\xfe");
    assert_string_equal(q, "\"a??\"");
    free(q);
    q = dt_json_quote(NULL);
    assert_string_equal(q, "null");
    free(q);
}

/* dt_json_append_utf8 writes t (UTF-8) as jansson's compact dump does. */
static void
assert_literal_as_jansson(const char *t)
{
    json_t *v = json_string(t);
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    struct dt_buf b;

    dt_buf_init(&b, 4096);
    assert_int_equal(dt_json_append_utf8(&b, t), 0);
    assert_int_equal(dt_buf_append(&b, "", 1), 0);
    assert_string_equal(b.data, want);
    dt_buf_release(&b);
    free(want);
    json_decref(v);
}

/* dt_json_append_str writes what jansson's compact dump of the same string
 * writes, byte for byte, and the lossy form for text that is not UTF-8;
 * dt_json_append_utf8 refuses that text. */
static void
test_append_str_matches_jansson(void **state)
{
    static const char *const texts[] = {
        "",
        "plain",
        "quote \" back \\ slash /",
        "\b\f\n\r\t\v\x01\x1f\x7f",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
        "line\nbreak\twith \"all\" \\ of it",
    };
    static const char *const bad[] = {"x\xffy", "\xc0\xaf overlong", "\xed\xa0\x80 surrogate",
                                      "caf\xc3\xa9 then \xfe"};
    struct dt_buf b;

    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]) + sizeof(bad) / sizeof(bad[0]); i++) {
        bool good = i < sizeof(texts) / sizeof(texts[0]);
        const char *s = good ? texts[i] : bad[i - sizeof(texts) / sizeof(texts[0])];
        json_t *v = dt_json_string_lossy(s);
        char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

        assert_int_equal(dt_utf8_is_valid(s), good);
        dt_buf_init(&b, 4096);
        assert_int_equal(dt_json_append_str(&b, s), 0);
        assert_int_equal(dt_buf_append(&b, "", 1), 0);
        assert_string_equal(b.data, want);
        /* The strict form: the same, or refused with nothing appended. */
        dt_buf_reset(&b);
        assert_int_equal(dt_buf_append(&b, "[", 1), 0);
        assert_int_equal(dt_json_append_utf8(&b, s), good ? 0 : DURATA_EINVAL);
        assert_int_equal(dt_buf_append(&b, "", 1), 0);
        if (good)
            assert_string_equal(b.data + 1, want);
        else
            assert_string_equal(b.data, "[");
        dt_buf_release(&b);
        free(want);
        json_decref(v);
    }
    /* One byte that needs care at every place of a 20-byte plain text
     * (the scan goes 8 bytes at a time). */
    static const char *const special[] = {"\"", "\\", "\n", "\x01", "\x1f", "\x7f", "\xc3\xa9"};
    for (size_t k = 0; k < sizeof(special) / sizeof(special[0]); k++) {
        for (size_t at = 0; at < 20; at++) {
            char t[32];
            memset(t, 'p', 20);
            t[20] = '\0';
            memcpy(t + at, special[k], strlen(special[k]));
            t[at + strlen(special[k]) > 20 ? at + strlen(special[k]) : 20] = '\0';
            assert_literal_as_jansson(t);
        }
    }
    /* Every ASCII byte, each control character among plain runs. */
    char all[2 * 127 + 1];
    for (int c = 1; c < 128; c++) {
        all[2 * (c - 1)] = (char)c;
        all[2 * (c - 1) + 1] = 'a';
    }
    all[2 * 127] = '\0';
    assert_literal_as_jansson(all);
    dt_buf_init(&b, 4096);
    assert_int_equal(dt_json_append_str(&b, NULL), 0);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "null", 4);
    dt_buf_release(&b);
    /* Over the cap: refused whole, the content as it was. */
    dt_buf_init(&b, 10);
    assert_int_equal(dt_buf_append(&b, "x", 1), 0);
    assert_int_equal(dt_json_append_str(&b, "\x01\x02"), DURATA_ETOOBIG);
    assert_string_equal(b.data, "x");
    assert_int_equal(dt_json_append_str(&b, "a\"b"), 0);
    assert_string_equal(b.data, "x\"a\\\"b\"");
    dt_buf_release(&b);
}

static void
test_strdup_opt(void **state)
{
    const char *src = "copy me";
    char *s;

    (void)state;
    assert_null(dt_strdup_opt(NULL));
    s = dt_strdup_opt(src);
    assert_string_equal(s, src);
    assert_ptr_not_equal(s, src);
    free(s);
    s = dt_strdup_opt("");
    assert_string_equal(s, "");
    free(s);
}

/* Stored texts as values: JSON without its whitespace between tokens
 * (kept inside strings), anything else as a string, NULL as null; JSON
 * deeper than dt_json_check takes as jansson writes it. */
static void
test_append_stored(void **state)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {NULL, "null"},
        {"{\"a\":[1,2]}", "{\"a\":[1,2]}"},
        {" {\n  \"a\" : [ 1 , 2.5e3 ],\t\"s\": \"x  y \\\" ,\" }\r\n",
         "{\"a\":[1,2.5e3],\"s\":\"x  y \\\" ,\"}"},
        {"\"just a string\"", "\"just a string\""},
        {"not json", "\"not json\""},
        {"{\"open\": ", "\"{\\\"open\\\": \""},
        {"caf\xff", "\"caf?\""},
    };
    struct dt_buf b;
    char deep[300];
    size_t n = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dt_buf_init(&b, 0);
        assert_int_equal(dt_json_append_stored(&b, cases[i].text), 0);
        assert_string_equal(b.data, cases[i].want);
        assert_int_equal(dt_json_is_value(cases[i].want), true);
        dt_buf_release(&b);
    }
    assert_false(dt_json_is_value("not json"));
    /* 70 levels: past dt_json_check, within jansson. */
    for (int d = 0; d < 70; d++)
        deep[n++] = '[';
    deep[n++] = ' ';
    for (int d = 0; d < 70; d++)
        deep[n++] = ']';
    deep[n] = '\0';
    assert_true(dt_json_is_value(deep));
    dt_buf_init(&b, 0);
    assert_int_equal(dt_json_append_stored(&b, deep), 0);
    assert_int_equal(b.len, 140);
    assert_null(strchr(b.data, ' '));
    dt_buf_release(&b);
    /* Over the cap: refused, nothing appended. */
    dt_buf_init(&b, 8);
    assert_int_equal(dt_json_append_stored(&b, "[1, 2, 3, 4, 5]"), DURATA_ETOOBIG);
    assert_int_equal(b.len, 0);
    dt_buf_release(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_accepts_any_value),
        cmocka_unit_test(test_check_rejects_invalid_text),
        cmocka_unit_test(test_check_agrees_with_jansson_on_edges),
        cmocka_unit_test(test_check_agrees_with_jansson_on_random_texts),
        cmocka_unit_test(test_member_agrees_with_jansson),
        cmocka_unit_test(test_members_counts_every_member),
        cmocka_unit_test(test_check_size_limit),
        cmocka_unit_test(test_check_depth_limit),
        cmocka_unit_test(test_check_depth_ignores_brackets_in_strings),
        cmocka_unit_test(test_parse_and_text_round_trip),
        cmocka_unit_test(test_quote_escapes),
        cmocka_unit_test(test_append_str_matches_jansson),
        cmocka_unit_test(test_append_stored),
        cmocka_unit_test(test_strdup_opt),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
