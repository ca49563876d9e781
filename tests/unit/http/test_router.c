/*
 * test_router.c — route matching: case-insensitive literals, decoded
 * captures, trailing slash, wrong method vs unknown path, HEAD as GET,
 * literal segments winning over captures, dot-segment and empty-segment
 * tricks, encoded NUL bytes, and pattern validation.
 */
#include "http/server_impl.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <string.h>

static int
handler_a(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    (void)app;
    (void)req;
    (void)resp;
    return 0;
}

static const struct dt_route table_one[] = {
    {"GET", "/healthz", handler_a, "health", false},
    {"GET", "/items/{id}", handler_a, "one item", false},
    {"DELETE", "/items/{id}", handler_a, "delete item", false},
    {"POST", "/items/{id}/raiseEvent/{event}", handler_a, "raise", false},
    {"GET", "/items", handler_a, "list", false},
    {NULL, NULL, NULL, NULL, false},
};

static const struct dt_route table_two[] = {
    {"GET", "/items/special", handler_a, "literal beats capture", false},
    {"GET", "/", handler_a, "root", false},
    {NULL, NULL, NULL, NULL, false},
};

static const struct dt_route *const tables[] = {table_one, table_two, NULL};

/* Finds method+path; returns the rc and leaves params in *req. */
static int
find(const char *method, const char *path, struct dt_http_req *req, const struct dt_route **r,
     enum dt_route_miss *miss)
{
    memset(req, 0, sizeof(*req));
    return dt_route_find(tables, method, path, req, r, miss);
}

static void
test_literal_segments_match_case_insensitively(void **state)
{
    struct dt_http_req req;
    const struct dt_route *r;
    enum dt_route_miss miss;

    (void)state;
    assert_int_equal(find("GET", "/HEALTHZ", &req, &r, &miss), 0);
    assert_ptr_equal(r, &table_one[0]);
    assert_int_equal(req.n_params, 0);
    assert_int_equal(find("POST", "/Items/x/RAISEEVENT/e", &req, &r, &miss), 0);
    assert_ptr_equal(r, &table_one[3]);
    dt_http_req_release_owned(&req);
    /* An encoded letter is still the literal. */
    assert_int_equal(find("GET", "/%68ealthz", &req, &r, &miss), 0);
    assert_ptr_equal(r, &table_one[0]);
}

static void
test_captures_are_decoded_in_pattern_order(void **state)
{
    struct dt_http_req req;
    const struct dt_route *r;
    enum dt_route_miss miss;

    (void)state;
    assert_int_equal(find("POST", "/items/a%20b%2Fc/raiseEvent/ev%C3%A9nt", &req, &r, &miss), 0);
    assert_ptr_equal(r, &table_one[3]);
    assert_int_equal(req.n_params, 2);
    assert_string_equal(req.params[0], "a b/c");
    assert_string_equal(req.params[1], "ev\xc3\xa9nt");
    dt_http_req_release_owned(&req);
    /* '+' is a plus sign in a path. */
    assert_int_equal(find("GET", "/items/a+b", &req, &r, &miss), 0);
    assert_string_equal(req.params[0], "a+b");
    dt_http_req_release_owned(&req);
}

static void
test_trailing_slash_is_ignored(void **state)
{
    struct dt_http_req req;
    const struct dt_route *r;
    enum dt_route_miss miss;

    (void)state;
    assert_int_equal(find("GET", "/items/", &req, &r, &miss), 0);
    assert_ptr_equal(r, &table_one[4]);
    assert_int_equal(find("GET", "/items/42/", &req, &r, &miss), 0);
    assert_ptr_equal(r, &table_one[1]);
    assert_string_equal(req.params[0], "42");
    dt_http_req_release_owned(&req);
    assert_int_equal(find("GET", "/", &req, &r, &miss), 0);
    assert_ptr_equal(r, &table_two[1]);
    /* Only one slash is forgiven. */
    assert_int_equal(find("GET", "/items//", &req, &r, &miss), DURATA_ENOTFOUND);
}

static void
test_wrong_method_is_told_apart_from_unknown_path(void **state)
{
    struct dt_http_req req;
    const struct dt_route *r;
    enum dt_route_miss miss;

    (void)state;
    assert_int_equal(find("POST", "/healthz", &req, &r, &miss), DURATA_ENOTFOUND);
    assert_null(r);
    assert_int_equal(miss, DT_ROUTE_NO_METHOD);
    assert_int_equal(req.n_params, 0);
    assert_int_equal(find("PUT", "/items/1", &req, &r, &miss), DURATA_ENOTFOUND);
    assert_int_equal(miss, DT_ROUTE_NO_METHOD);
    assert_int_equal(find("GET", "/nothing/here", &req, &r, &miss), DURATA_ENOTFOUND);
    assert_int_equal(miss, DT_ROUTE_NO_PATH);
    assert_int_equal(find("GET", "/items/1/raiseEvent", &req, &r, &miss), DURATA_ENOTFOUND);
    assert_int_equal(miss, DT_ROUTE_NO_PATH);
    /* Methods are case-sensitive (RFC 9110). */
    assert_int_equal(find("get", "/healthz", &req, &r, &miss), DURATA_ENOTFOUND);
    assert_int_equal(miss, DT_ROUTE_NO_METHOD);
}

static void
test_head_matches_get_routes(void **state)
{
    struct dt_http_req req;
    const struct dt_route *r;
    enum dt_route_miss miss;

    (void)state;
    assert_int_equal(find("HEAD", "/healthz", &req, &r, &miss), 0);
    assert_ptr_equal(r, &table_one[0]);
    assert_int_equal(find("DELETE", "/items/9", &req, &r, &miss), 0);
    assert_ptr_equal(r, &table_one[2]);
    dt_http_req_release_owned(&req);
}

static void
test_literal_beats_capture_whatever_the_table_order(void **state)
{
    struct dt_http_req req;
    const struct dt_route *r;
    enum dt_route_miss miss;

    (void)state;
    assert_int_equal(find("GET", "/items/special", &req, &r, &miss), 0);
    assert_ptr_equal(r, &table_two[0]);
    assert_int_equal(req.n_params, 0);
    assert_int_equal(find("GET", "/items/Special2", &req, &r, &miss), 0);
    assert_ptr_equal(r, &table_one[1]);
    dt_http_req_release_owned(&req);
}

static void
test_dot_and_empty_segments_are_never_captured(void **state)
{
    const char *tricks[] = {"/items/..",  "/items/.",        "/items/%2e%2e",
                            "/items/%2E", "/items/../items", "/items//raiseEvent/x",
                            "//items",    "/items/%2e%2e/"};
    struct dt_http_req req;
    const struct dt_route *r;
    enum dt_route_miss miss;

    (void)state;
    for (size_t i = 0; i < sizeof(tricks) / sizeof(tricks[0]); i++) {
        assert_int_equal(find("GET", tricks[i], &req, &r, &miss), DURATA_ENOTFOUND);
        assert_null(r);
        assert_int_equal(req.n_params, 0);
    }
    /* A dot inside a segment is an ordinary character. */
    assert_int_equal(find("GET", "/items/a..b", &req, &r, &miss), 0);
    assert_string_equal(req.params[0], "a..b");
    dt_http_req_release_owned(&req);
}

static void
test_bad_paths_are_refused(void **state)
{
    char deep[200] = "";
    struct dt_http_req req;
    const struct dt_route *r;
    enum dt_route_miss miss;

    (void)state;
    assert_int_equal(find("GET", "/items/a%00b", &req, &r, &miss), DURATA_EINVAL);
    assert_int_equal(find("GET", "healthz", &req, &r, &miss), DURATA_ENOTFOUND);
    assert_int_equal(find("GET", "*", &req, &r, &miss), DURATA_ENOTFOUND);
    for (int i = 0; i < DT_ROUTE_MAX_SEGMENTS + 1; i++)
        strncat(deep, "/a", sizeof(deep) - strlen(deep) - 1);
    assert_int_equal(find("GET", deep, &req, &r, &miss), DURATA_ENOTFOUND);
    /* Escapes that are not two hex digits stay as they are. */
    assert_int_equal(find("GET", "/items/%zz%4", &req, &r, &miss), 0);
    assert_string_equal(req.params[0], "%zz%4");
    dt_http_req_release_owned(&req);
}

static void
test_pattern_validation(void **state)
{
    (void)state;
    assert_true(dt_route_pattern_is_valid("/"));
    assert_true(dt_route_pattern_is_valid("/a/{b}/c/{d}"));
    assert_true(dt_route_pattern_is_valid("/a/{b}/{c}/{d}/{e}"));
    assert_false(dt_route_pattern_is_valid("/a/{b}/{c}/{d}/{e}/{f}"));
    assert_false(dt_route_pattern_is_valid(NULL));
    assert_false(dt_route_pattern_is_valid("a"));
    assert_false(dt_route_pattern_is_valid("/a//b"));
    assert_false(dt_route_pattern_is_valid("/a/"));
    assert_false(dt_route_pattern_is_valid("/a/{}"));
    assert_false(dt_route_pattern_is_valid("/a/x{b}"));
    assert_false(dt_route_pattern_is_valid("/a/{b"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_segments_match_case_insensitively),
        cmocka_unit_test(test_captures_are_decoded_in_pattern_order),
        cmocka_unit_test(test_trailing_slash_is_ignored),
        cmocka_unit_test(test_wrong_method_is_told_apart_from_unknown_path),
        cmocka_unit_test(test_head_matches_get_routes),
        cmocka_unit_test(test_literal_beats_capture_whatever_the_table_order),
        cmocka_unit_test(test_dot_and_empty_segments_are_never_captured),
        cmocka_unit_test(test_bad_paths_are_refused),
        cmocka_unit_test(test_pattern_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
