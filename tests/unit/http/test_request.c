/*
 * test_request.c — request helpers: percent-decoding, query parsing and
 * lookup, header lookup, booleans, base_url from Host and X-Forwarded-*,
 * API key checks, and the response builders (JSON, text, errors, headers,
 * error_from mapping).
 */
#include "http/server_impl.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
test_pct_decode(void **state)
{
    char *out;
    size_t len;

    (void)state;
    assert_int_equal(dt_http_pct_decode("a%20b%2fc%2F", 12, false, &out, &len), 0);
    assert_string_equal(out, "a b/c/");
    assert_int_equal(len, 6);
    free(out);
    assert_int_equal(dt_http_pct_decode("a+b", 3, true, &out, NULL), 0);
    assert_string_equal(out, "a b");
    free(out);
    assert_int_equal(dt_http_pct_decode("a+b", 3, false, &out, NULL), 0);
    assert_string_equal(out, "a+b");
    free(out);
    /* Broken escapes are kept literally, including at the very end. */
    assert_int_equal(dt_http_pct_decode("%g1%%41%4", 9, false, &out, NULL), 0);
    assert_string_equal(out, "%g1%A%4");
    free(out);
    assert_int_equal(dt_http_pct_decode("", 0, false, &out, &len), 0);
    assert_string_equal(out, "");
    assert_int_equal(len, 0);
    free(out);
    /* Only len bytes are read. */
    assert_int_equal(dt_http_pct_decode("abc%41", 4, false, &out, NULL), 0);
    assert_string_equal(out, "abc%");
    free(out);
    out = NULL;
    assert_int_equal(dt_http_pct_decode("a%00b", 5, false, &out, NULL), DURATA_EINVAL);
    assert_null(out);
}

static void
test_query_parsing_and_lookup(void **state)
{
    struct dt_http_req req = {0};

    (void)state;
    assert_int_equal(
        dt_http_req_parse_query(&req, "a=1&B=%20x+y&flag&&=v&d=e=f&a=2&showHistory=TRUE&x=maybe"),
        0);
    assert_int_equal(req.n_query, 8);
    assert_string_equal(dt_http_query(&req, "a"), "1");
    assert_string_equal(dt_http_query(&req, "A"), "1"); /* names are case-insensitive */
    assert_string_equal(dt_http_query(&req, "b"), " x y");
    assert_string_equal(dt_http_query(&req, "flag"), "");
    assert_string_equal(dt_http_query(&req, ""), "v");
    assert_string_equal(dt_http_query(&req, "d"), "e=f");
    assert_null(dt_http_query(&req, "missing"));
    assert_null(dt_http_query(NULL, "a"));
    assert_true(dt_http_query_bool(&req, "showhistory", false));
    assert_false(dt_http_query_bool(&req, "missing", false));
    assert_true(dt_http_query_bool(&req, "missing", true));
    assert_true(dt_http_query_bool(&req, "x", true)); /* unparseable: the default */
    assert_false(dt_http_query_bool(&req, "x", false));
    assert_int_equal(dt_http_req_add_query_encoded(&req, "k%41", NULL), 0);
    assert_string_equal(dt_http_query(&req, "kA"), "");
    assert_int_equal(dt_http_req_parse_query(&req, "z=%00"), DURATA_EINVAL);
    dt_http_req_release_owned(&req);
    assert_int_equal(req.n_query, 0);
    assert_null(req.query);
}

static void
test_header_lookup_is_case_insensitive(void **state)
{
    struct dt_http_kv headers[] = {{"Content-Type", "application/json"}, {"X-Two", "2"}};
    struct dt_http_req req = {.headers = headers, .n_headers = 2};

    (void)state;
    assert_string_equal(dt_http_header(&req, "content-type"), "application/json");
    assert_string_equal(dt_http_header(&req, "x-two"), "2");
    assert_null(dt_http_header(&req, "x-three"));
    assert_null(dt_http_header(&req, NULL));
}

/* base_url for the given headers, compared with want. */
static void
check_base(const char *proto, const char *fhost, const char *host, const char *want)
{
    char *out = NULL;

    assert_int_equal(dt_http_base_url(proto, fhost, host, "127.0.0.1:8080", &out), 0);
    assert_string_equal(out, want);
    free(out);
}

static void
test_base_url_honours_forwarded_headers(void **state)
{
    (void)state;
    check_base(NULL, NULL, "localhost:9000", "http://localhost:9000");
    check_base(NULL, NULL, NULL, "http://127.0.0.1:8080");
    check_base("https", "api.example.com", "10.0.0.5:8080", "https://api.example.com");
    check_base("HTTPS, http", " a.example.com:8443 , b.example.com", "x",
               "https://a.example.com:8443");
    check_base("ftp", NULL, "h:1", "http://h:1");
    check_base(NULL, NULL, "[::1]:8080", "http://[::1]:8080");
    /* Hostile values never reach generated URLs. */
    check_base(NULL, "evil.com/path", "good:1", "http://good:1");
    check_base(NULL, "user@evil.com", "good:1", "http://good:1");
    check_base(NULL, NULL, "a b", "http://127.0.0.1:8080");
    check_base(NULL, NULL, "a\r\nSet-Cookie: x", "http://127.0.0.1:8080");
    check_base(NULL, "", "", "http://127.0.0.1:8080");
}

static void
test_api_keys_in_each_form(void **state)
{
    const char *keys[] = {"s3cret", "other-key", NULL};
    const char *none[] = {NULL};
    struct dt_http_kv h[2];
    struct dt_http_req req = {.headers = h};

    (void)state;
    assert_false(dt_http_key_is_valid(&req, keys));
    h[0] = (struct dt_http_kv){"X-Functions-Key", "s3cret"};
    req.n_headers = 1;
    assert_true(dt_http_key_is_valid(&req, keys));
    assert_false(dt_http_key_is_valid(&req, none));
    h[0] = (struct dt_http_kv){"x-functions-key", "s3cre"};
    assert_false(dt_http_key_is_valid(&req, keys));
    h[0] = (struct dt_http_kv){"x-functions-key", "s3cret2"};
    assert_false(dt_http_key_is_valid(&req, keys));
    h[0] = (struct dt_http_kv){"authorization", "bearer other-key"};
    assert_true(dt_http_key_is_valid(&req, keys));
    h[0] = (struct dt_http_kv){"Authorization", "Basic other-key"};
    assert_false(dt_http_key_is_valid(&req, keys));
    h[0] = (struct dt_http_kv){"Authorization", "Bearer "};
    assert_false(dt_http_key_is_valid(&req, keys));
    assert_int_equal(dt_http_req_parse_query(&req, "code=s3cret"), 0);
    assert_true(dt_http_key_is_valid(&req, keys));
    dt_http_req_release_owned(&req);
    assert_int_equal(dt_http_req_parse_query(&req, "code="), 0);
    assert_false(dt_http_key_is_valid(&req, keys));
    dt_http_req_release_owned(&req);
}

static void
test_response_builders(void **state)
{
    struct dt_http_resp resp = {0};

    (void)state;
    assert_int_equal(dt_http_json(&resp, 202, json_pack("{s:i}", "n", 1)), 0);
    assert_int_equal(resp.status, 202);
    assert_null(resp.content_type);
    assert_string_equal(resp.body, "{\"n\":1}");
    assert_int_equal(resp.body_len, 7);
    assert_int_equal(dt_http_text(&resp, 200, "text/plain", "hi\0x", 4), 0);
    assert_string_equal(resp.content_type, "text/plain");
    assert_int_equal(resp.body_len, 4);
    assert_memory_equal(resp.body, "hi\0x", 4);
    assert_int_equal(dt_http_add_header(&resp, "Location", "http://x/y"), 0);
    assert_int_equal(dt_http_add_header(&resp, "Retry-After", "5"), 0);
    assert_int_equal(resp.n_headers, 2);
    assert_string_equal(resp.headers[1].value, "5");
    assert_int_equal(dt_http_error(&resp, 400, "invalid_field", "bad \xff value", "job_type"), 0);
    assert_null(resp.content_type);
    assert_string_equal(resp.body, "{\"error\":{\"code\":\"invalid_field\",\"message\":\"bad ? "
                                   "value\",\"field\":\"job_type\"}}");
    assert_int_equal(dt_http_json(&resp, 200, NULL), DURATA_ENOMEM);
    dt_http_resp_release(&resp);
    assert_null(resp.body);
    assert_int_equal(resp.n_headers, 0);
    dt_http_resp_release(NULL);
}

/* Headers past the array's steps of four keep their keys and values, a
 * NULL value reads as empty, and the release frees each once. */
static void
test_many_response_headers(void **state)
{
    struct dt_http_resp resp = {0};
    char key[16], value[32];

    (void)state;
    for (int i = 0; i < 9; i++) {
        snprintf(key, sizeof(key), "X-H%d", i);
        snprintf(value, sizeof(value), "value %d", i * 11);
        assert_int_equal(dt_http_add_header(&resp, key, i == 4 ? NULL : value), 0);
    }
    assert_int_equal(resp.n_headers, 9);
    for (int i = 0; i < 9; i++) {
        snprintf(key, sizeof(key), "X-H%d", i);
        snprintf(value, sizeof(value), "value %d", i * 11);
        assert_string_equal(resp.headers[i].key, key);
        assert_string_equal(resp.headers[i].value, i == 4 ? "" : value);
    }
    dt_http_resp_release(&resp);
    assert_int_equal(resp.n_headers, 0);
}

static void
check_from(int code, int status, const char *name)
{
    struct dt_http_resp resp = {0};
    json_t *v;

    assert_int_equal(dt_http_error_from(&resp, code, NULL), 0);
    assert_int_equal(resp.status, status);
    v = json_loads(resp.body, 0, NULL);
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(json_object_get(v, "error"), "code")),
                        name);
    assert_string_equal(json_string_value(json_object_get(json_object_get(v, "error"), "message")),
                        durata_strerror(code));
    assert_null(json_object_get(json_object_get(v, "error"), "field"));
    json_decref(v);
    dt_http_resp_release(&resp);
}

static void
test_error_from_maps_codes(void **state)
{
    struct dt_http_resp resp = {0};

    (void)state;
    check_from(DURATA_EINVAL, 400, "invalid_argument");
    check_from(DURATA_EJSON, 400, "invalid_json");
    check_from(DURATA_ENOTFOUND, 404, "not_found");
    check_from(DURATA_ECONFLICT, 409, "conflict");
    check_from(DURATA_ETOOBIG, 413, "too_large");
    check_from(DURATA_EGONE, 410, "gone");
    check_from(DURATA_EUNKNOWN, 400, "unknown_name");
    check_from(DURATA_EOVERLOAD, 503, "overloaded");
    check_from(DURATA_ESTORE, 500, "internal");
    check_from(DURATA_ESYS, 500, "internal");
    assert_int_equal(dt_http_error_from(&resp, DURATA_EOVERLOAD, "queue full"), 0);
    assert_non_null(strstr(resp.body, "queue full"));
    assert_int_equal(resp.n_headers, 1);
    assert_string_equal(resp.headers[0].key, "Retry-After");
    dt_http_resp_release(&resp);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pct_decode),
        cmocka_unit_test(test_query_parsing_and_lookup),
        cmocka_unit_test(test_header_lookup_is_case_insensitive),
        cmocka_unit_test(test_base_url_honours_forwarded_headers),
        cmocka_unit_test(test_api_keys_in_each_form),
        cmocka_unit_test(test_response_builders),
        cmocka_unit_test(test_many_response_headers),
        cmocka_unit_test(test_error_from_maps_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
