/*
 * test_jobs_validation.c — end to end: the job API's catalogue of bad
 * input (issue 3 §2, DESIGN.md "Errors and bad input"): each answered with
 * the right code and error body, every bad field named at once, nothing
 * started, and the server still healthy after. One server for the file.
 */
#include "test_jobs_support.h"

static struct e2e_server srv;

static int
group_setup(void **state)
{
    (void)state;
    return e2e_start(&srv, NULL);
}

static int
group_teardown(void **state)
{
    (void)state;
    e2e_cleanup(&srv);
    return 0;
}

/* Number of jobs the list shows (all statuses). */
static size_t
count_jobs(void)
{
    struct jb_answer a;
    size_t n;

    jb_call(&srv, "GET", "/api/jobs?limit=1000", NULL, NULL, &a);
    jb_expect(&a, 200);
    n = json_array_size(json_object_get(a.json, "jobs"));
    assert_true(json_is_null(json_object_get(a.json, "next_cursor")));
    jb_answer_release(&a);
    return n;
}

static void
expect_submit_error(const char *body, const char *const *headers, long status, const char *code)
{
    struct jb_answer a;

    jb_call(&srv, "POST", "/api/jobs", body, headers, &a);
    jb_expect_error(&a, status, code);
    jb_answer_release(&a);
}

static void
test_content_type_must_be_json_when_given(void **state)
{
    static const char *const text[] = {"Content-Type: text/plain", NULL};
    static const char *const form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    static const char *const json_utf8[] = {"Content-Type: Application/JSON; charset=utf-8", NULL};
    static const char *const problem[] = {"Content-Type: application/problem+json", NULL};
    static const char *const none[] = {"Content-Type:", NULL}; /* curl: send none */
    char *a, *b, *c;

    (void)state;
    expect_submit_error("{\"job_type\":\"echo\"}", text, 415, "unsupported_media_type");
    expect_submit_error("{\"job_type\":\"echo\"}", form, 415, "unsupported_media_type");
    a = jb_submit_h(&srv, "{\"job_type\":\"echo\"}", json_utf8);
    b = jb_submit_h(&srv, "{\"job_type\":\"echo\"}", problem);
    c = jb_submit_h(&srv, "{\"job_type\":\"echo\"}", none);
    free(a);
    free(b);
    free(c);
    jb_expect_healthy(&srv);
}

static void
test_malformed_bodies_are_400(void **state)
{
    static const char *const bodies[] = {
        "",
        "{",
        "{\"job_type\":",
        "not json",
        "{\"job_type\":\"echo\"}x",
        "{\"job_type\":\"echo\",\"job_type\":\"sleep\"}", /* duplicate member */
    };
    size_t before = count_jobs(), i;

    (void)state;
    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
        expect_submit_error(bodies[i], NULL, 400, "invalid_json");
    assert_int_equal(count_jobs(), before);
    jb_expect_healthy(&srv);
}

static void
test_every_bad_field_is_named_at_once(void **state)
{
    struct jb_answer a;
    size_t before = count_jobs();

    (void)state;
    jb_call(&srv, "POST", "/api/jobs",
            "{\"job_type\":5,\"customer_id\":[1],\"payload\":\"x\",\"priority\":1}", NULL, &a);
    jb_expect_error(&a, 422, "validation_failed");
    assert_true(jb_error_names(&a, "job_type"));
    assert_true(jb_error_names(&a, "customer_id"));
    assert_true(jb_error_names(&a, "payload"));
    assert_true(jb_error_names(&a, "priority"));
    assert_int_equal(json_array_size(json_object_get(json_object_get(a.json, "error"), "fields")),
                     4);
    assert_string_equal(jb_str(json_object_get(a.json, "error"), "field"), "job_type");
    jb_answer_release(&a);
    assert_int_equal(count_jobs(), before);
}

static void
test_field_rules(void **state)
{
    static const struct {
        const char *body;
        const char *field;
    } cases[] = {
        {"{}", "job_type"},
        {"{\"job_type\":null}", "job_type"},
        {"{\"job_type\":\"\"}", "job_type"},
        {"{\"job_type\":\"transcode\"}", "job_type"}, /* unknown type */
        {"{\"job_type\":\"ECHO\"}", "job_type"},      /* names are exact */
        {"{\"job_type\":\"echo\",\"customer_id\":7}", "customer_id"},
        {"{\"job_type\":\"echo\",\"customer_id\":\"a\\u0001b\"}", "customer_id"},
        {"{\"job_type\":\"echo\",\"payload\":[1,2]}", "payload"},
        {"{\"job_type\":\"echo\",\"payload\":7}", "payload"},
    };
    struct jb_answer a;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        jb_call(&srv, "POST", "/api/jobs", cases[i].body, NULL, &a);
        jb_expect_error(&a, 422, "validation_failed");
        if (!jb_error_names(&a, cases[i].field))
            fail_msg("%s: %s not named in %s", cases[i].body, cases[i].field, a.raw.body);
        jb_answer_release(&a);
    }
    jb_call(&srv, "POST", "/api/jobs", "[]", NULL, &a); /* not an object */
    jb_expect_error(&a, 422, "validation_failed");
    jb_answer_release(&a);
    jb_call(&srv, "POST", "/api/jobs", "{\"job_type\":\"nope\"}", NULL, &a);
    assert_non_null(strstr(a.raw.body, "thumbnail")); /* the known types are listed */
    jb_answer_release(&a);
}

static void
test_optional_fields_may_be_null_or_absent(void **state)
{
    char *id = jb_submit(&srv, "{\"job_type\":\"echo\",\"customer_id\":null,\"payload\":null}");
    json_t *job;

    (void)state;
    jb_wait_status(&srv, id, "completed", 10000);
    job = jb_get(&srv, id, NULL);
    assert_true(json_is_null(json_object_get(job, "customer_id")));
    assert_true(json_is_null(json_object_get(job, "result")));
    json_decref(job);
    free(id);
}

/* A JSON object text of about `bytes` bytes, nested `depth` deep. */
static char *
payload_body(size_t bytes, int depth)
{
    size_t n = bytes + (size_t)depth * 8 + 128, o = 0;
    char *b = malloc(n);

    assert_non_null(b);
    o += (size_t)snprintf(b + o, n - o, "{\"job_type\":\"echo\",\"payload\":");
    for (int d = 0; d < depth; d++)
        o += (size_t)snprintf(b + o, n - o, "{\"a\":");
    o += (size_t)snprintf(b + o, n - o, "{\"blob\":\"");
    memset(b + o, 'x', bytes);
    o += bytes;
    o += (size_t)snprintf(b + o, n - o, "\"}");
    for (int d = 0; d < depth; d++)
        b[o++] = '}';
    snprintf(b + o, n - o, "}");
    return b;
}

static void
test_size_and_depth_limits(void **state)
{
    char *big = payload_body(300 * 1024, 0), *huge = payload_body(2 * 1024 * 1024, 0);
    char *deep = payload_body(1, 70), *ok_deep = payload_body(1, 40);
    char *ok = payload_body(200 * 1024, 0), *id;
    struct jb_answer a;

    (void)state;
    jb_call(&srv, "POST", "/api/jobs", big, NULL, &a); /* payload over 256 KiB */
    jb_expect_error(&a, 413, "payload_too_large");
    assert_true(jb_error_names(&a, "payload"));
    jb_answer_release(&a);
    jb_call(&srv, "POST", "/api/jobs", huge, NULL, &a); /* body over the server's 1 MiB */
    jb_expect(&a, 413);
    jb_answer_release(&a);
    jb_call(&srv, "POST", "/api/jobs", deep, NULL, &a);
    jb_expect(&a, 422);
    assert_true(jb_error_names(&a, "payload"));
    jb_answer_release(&a);
    id = jb_submit(&srv, ok_deep);
    jb_wait_status(&srv, id, "completed", 10000);
    free(id);
    id = jb_submit(&srv, ok);
    jb_wait_status(&srv, id, "completed", 10000);
    free(id);
    free(big);
    free(huge);
    free(deep);
    free(ok_deep);
    free(ok);
    jb_expect_healthy(&srv);
}

/* Submits body with an Idempotency-Key of its own (keyed submissions
 * always go through the parser) and without one (which a plain body does
 * not); the answers must agree: the same status, the same error, or jobs
 * with the same view once completed. */
static void
expect_paths_agree(const char *body, int n)
{
    char key[64];
    const char *const keyed[] = {jb_fmt(key, sizeof(key), "Idempotency-Key: agree-%d", n), NULL};
    static const char *const fields[] = {"job_type", "customer_id", "status", "result"};
    struct jb_answer a, b;
    json_t *ja, *jb;

    jb_call(&srv, "POST", "/api/jobs", body, NULL, &a);
    jb_call(&srv, "POST", "/api/jobs", body, keyed, &b);
    if (a.status != b.status)
        fail_msg("body %d: %ld without a key, %ld with one: %s | %s", n, a.status, b.status,
                 a.raw.body, b.raw.body);
    if (a.status != 202) {
        assert_true(json_equal(json_object_get(a.json, "error"), json_object_get(b.json, "error")));
    } else {
        jb_wait_status(&srv, jb_str(a.json, "job_id"), "completed", 10000);
        jb_wait_status(&srv, jb_str(b.json, "job_id"), "completed", 10000);
        ja = jb_get(&srv, jb_str(a.json, "job_id"), NULL);
        jb = jb_get(&srv, jb_str(b.json, "job_id"), NULL);
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
            if (!json_equal(json_object_get(ja, fields[i]), json_object_get(jb, fields[i])))
                fail_msg("body %d: %s differs", n, fields[i]);
        json_decref(ja);
        json_decref(jb);
    }
    jb_answer_release(&a);
    jb_answer_release(&b);
}

/* A payload of about `bytes` bytes of reals, whose compact dump is several
 * times its text. */
static char *
reals_body(size_t bytes)
{
    static const char head[] = "{\"job_type\":\"echo\",\"payload\":{\"r\":[1e300";
    char *b = malloc(bytes + 64);
    size_t o = sizeof(head) - 1;

    assert_non_null(b);
    memcpy(b, head, o);
    for (; o < bytes; o += 6)
        memcpy(b + o, ",1e300", 6);
    memcpy(b + o, "]}}", 4);
    return b;
}

/* Submissions read without jansson (plain bodies) answer as parsed ones:
 * spacing, escapes, reals, repeated and unknown keys, and each limit from
 * both sides. */
static void
test_plain_and_parsed_bodies_agree(void **state)
{
    static const char *const bodies[] = {
        "{\"job_type\":\"echo\"}",
        "{\"job_type\":\"echo\",\"payload\":{\"a\":1},\"customer_id\":\"c-1\"}",
        " { \"payload\" : { \"x\" : [1, 2.5, -0, 1E5, \"s\\u00e9\\n\", {}] } ,\t\"job_type\" : "
        "\"echo\" , \"customer_id\" : \"c 2\" } ",
        "{\"job_type\":\"echo\",\"payload\":{\n\"a\": [\r\n1]}}",
        "{\"job_type\":\"ech\\u006f\"}",
        "{\"job_type\":\"echo\",\"customer_id\":\"caf\\u00e9\"}",
        "{\"job_type\":\"echo\",\"customer_id\":\"caf\u00c3\u00a9\"}",
        "{\"job_type\":\"echo\",\"customer_id\":\"del\x7f\"}",
        "{\"job_type\":\"echo\",\"customer_id\":null,\"payload\":null}",
        "{\"job_type\":\"echo\",\"customer_id\":7}",
        "{\"job_type\":\"echo\",\"job_type\":\"echo\"}",
        "{\"job_type\":\"echo\",\"extra\":1}",
        "{\"job_type\":\"nope\"}",
        "{\"job_type\":\"\",\"payload\":{}}",
        "{\"job_type\":\"echo\",\"payload\":[1]}",
        "{\"job_type\":\"echo\",\"payload\":\"text\"}",
        "{\"job_type\":\"echo\",\"payload\":{}} x",
        "[{\"job_type\":\"echo\"}]",
    };
    static const char cid_head[] = "{\"job_type\":\"echo\",\"customer_id\":\"";
    char cid[400], *b;
    int n = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
        expect_paths_agree(bodies[i], n++);
    for (size_t len = 255; len <= 257; len++) { /* the customer id limit */
        memset(cid, 'c', sizeof(cid));
        memcpy(cid, cid_head, sizeof(cid_head) - 1);
        memcpy(cid + sizeof(cid_head) - 1 + len, "\"}", 3);
        expect_paths_agree(cid, n++);
    }
    for (int depth = 59; depth <= 61; depth++) { /* the depth limit: 60 passes */
        b = payload_body(1, depth);
        expect_paths_agree(b, n++);
        free(b);
    }
    for (size_t size = 30 * 1024; size <= 70 * 1024; size += 40 * 1024) {
        b = reals_body(size); /* plain-sized; then a dump over the limit */
        expect_paths_agree(b, n++);
        free(b);
    }
    b = payload_body(260 * 1024, 0); /* over the payload limit */
    expect_paths_agree(b, n++);
    free(b);
    jb_expect_healthy(&srv);
}

static void
test_bad_idempotency_keys(void **state)
{
    static const char *const ctrl[] = {"Idempotency-Key: a\tb", NULL};
    char long_key[400];
    const char *const too_long[] = {long_key, NULL};

    (void)state;
    memset(long_key, 'k', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    memcpy(long_key, "Idempotency-Key: ", 17);
    expect_submit_error("{\"job_type\":\"echo\"}", too_long, 422, "validation_failed");
    expect_submit_error("{\"job_type\":\"echo\"}", ctrl, 422, "validation_failed");
}

static void
test_list_and_cancel_parameters(void **state)
{
    static const char *const bad[] = {
        "/api/jobs?limit=0",        "/api/jobs?limit=1001",     "/api/jobs?limit=ten",
        "/api/jobs?limit=5x",       "/api/jobs?status=done",    "/api/jobs?status=running,",
        "/api/jobs?cursor=garbage", "/api/jobs?status=,failed",
    };
    struct jb_answer a;
    char path[8192], *id;
    size_t i, n;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        jb_call(&srv, "GET", bad[i], NULL, NULL, &a);
        jb_expect_error(&a, 422, "validation_failed");
        jb_answer_release(&a);
    }
    jb_call(&srv, "GET", "/api/jobs?limit=0&status=nope", NULL, NULL, &a);
    assert_true(jb_error_names(&a, "limit") && jb_error_names(&a, "status"));
    jb_answer_release(&a);
    id = jb_submit(&srv, "{\"job_type\":\"sleep\",\"payload\":{\"ms\":600000}}");
    n = strlen(jb_fmt(path, sizeof(path), "/api/jobs/%s?reason=", id));
    memset(path + n, 'r', 5000);
    path[n + 5000] = '\0';
    jb_call(&srv, "DELETE", path, NULL, NULL, &a);
    jb_expect_error(&a, 422, "validation_failed");
    jb_answer_release(&a);
    jb_call(&srv, "DELETE", jb_fmt(path, sizeof(path), "/api/jobs/%s", id), NULL, NULL, &a);
    jb_expect(&a, 202); /* no reason is fine */
    jb_answer_release(&a);
    jb_wait_status(&srv, id, "cancelled", 10000);
    free(id);
}

static void
test_wrong_methods_and_paths_are_404(void **state)
{
    static const char *const cases[][2] = {
        {"PUT", "/api/jobs"},         {"PATCH", "/api/jobs/x"},     {"POST", "/api/jobs/x"},
        {"GET", "/api/jobs/x/y"},     {"GET", "/api/job"},          {"POST", "/api/jobs/x/history"},
        {"GET", "/api/jobs/../jobs"}, {"GET", "/api/openapi.yaml"},
    };
    struct jb_answer a;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        jb_call(&srv, cases[i][0], cases[i][1], NULL, NULL, &a);
        if (a.status != 404)
            fail_msg("%s %s: %ld", cases[i][0], cases[i][1], a.status);
        jb_answer_release(&a);
    }
    jb_expect_healthy(&srv);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_type_must_be_json_when_given),
        cmocka_unit_test(test_malformed_bodies_are_400),
        cmocka_unit_test(test_every_bad_field_is_named_at_once),
        cmocka_unit_test(test_field_rules),
        cmocka_unit_test(test_optional_fields_may_be_null_or_absent),
        cmocka_unit_test(test_size_and_depth_limits),
        cmocka_unit_test(test_plain_and_parsed_bodies_agree),
        cmocka_unit_test(test_bad_idempotency_keys),
        cmocka_unit_test(test_list_and_cancel_parameters),
        cmocka_unit_test(test_wrong_methods_and_paths_are_404),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
