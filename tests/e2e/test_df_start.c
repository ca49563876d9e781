/*
 * test_df_start.c — end to end: starting orchestrations through the Durable
 * Functions API (spec 1.1, 1.14): the check-status payload and its
 * management URLs, ids, input forms, version, scheduled start, the
 * timeout/pollingInterval wait and the start errors (400 / 409).
 * One server for the whole file (group setup); each test uses its own ids.
 */
#include "test_df_support.h"

#include <ctype.h>

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
    return df_stop_clean(&srv);
}

/* Asserts that url is base + DF + "/instances/" + enc_id + tail + "?" +
 * head + "taskHub=...&connection=..." (+ "&code=" + code). */
static void
check_url(const char *url, const char *enc_id, const char *tail, const char *head, const char *code)
{
    char want[1024], key[256];

    df_fmt(want, sizeof(want), "%s" DF "/instances/%s%s?%staskHub=", srv.base, enc_id, tail, head);
    if (strncmp(url, want, strlen(want)) != 0)
        fail_msg("url %s does not start with %s", url, want);
    assert_non_null(strstr(url, "&connection="));
    if (code) {
        df_fmt(key, sizeof(key), "&code=%s", code);
        assert_non_null(strstr(url, key));
    } else {
        assert_null(strstr(url, "code="));
    }
}

static void
check_payload(const json_t *v, const char *id, const char *enc_id, const char *code)
{
    assert_string_equal(df_str(v, "id"), id);
    check_url(df_str(v, "statusQueryGetUri"), enc_id, "", "", code);
    check_url(df_str(v, "sendEventPostUri"), enc_id, "/raiseEvent/{eventName}", "", code);
    check_url(df_str(v, "terminatePostUri"), enc_id, "/terminate", "reason={text}&", code);
    check_url(df_str(v, "purgeHistoryDeleteUri"), enc_id, "", "", code);
    check_url(df_str(v, "restartPostUri"), enc_id, "/restart", "", code);
    check_url(df_str(v, "suspendPostUri"), enc_id, "/suspend", "reason={text}&", code);
    check_url(df_str(v, "resumePostUri"), enc_id, "/resume", "reason={text}&", code);
}

static bool
is_second_time(const char *t)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";

    if (strlen(t) != strlen(shape))
        return false;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? !isdigit((unsigned char)t[i]) : t[i] != shape[i])
            return false;
    return true;
}

static void
test_start_answers_check_status_payload(void **state)
{
    struct e2e_resp r;
    char *loc, *retry;
    const char *id;
    json_t *v, *st;
    long code;

    (void)state;
    v = df_call(&srv, "POST", DF "/orchestrators/durata.Job",
                "{\"job_type\":\"echo\",\"payload\":{\"x\":1}}", NULL, &r);
    assert_int_equal(r.status, 202);
    id = df_str(v, "id");
    assert_int_equal(strlen(id), 32); /* a generated id: 32 hex digits */
    for (const char *p = id; *p; p++)
        assert_true(isxdigit((unsigned char)*p));
    check_payload(v, id, id, NULL);
    assert_int_equal(json_object_size(v), 8); /* no rewindPostUri, as DF */
    loc = e2e_header(&r, "Location");
    retry = e2e_header(&r, "Retry-After");
    assert_non_null(loc);
    assert_string_equal(loc, df_str(v, "statusQueryGetUri"));
    assert_string_equal(retry, "10");
    df_wait_status(&srv, id, "Completed", 10000);

    /* The status URL works as given, with a query appended as clients do. */
    char url[1200];
    struct e2e_resp r2;
    df_fmt(url, sizeof(url), "%s&showInput=true", loc);
    assert_int_equal(e2e_request_url("GET", url, NULL, NULL, &r2), 0);
    assert_int_equal(r2.status, 200);
    json_error_t err;
    st = json_loads(r2.body, 0, &err);
    assert_string_equal(df_str(st, "name"), "durata.Job");
    assert_string_equal(df_str(st, "instanceId"), id);
    assert_string_equal(df_str(st, "runtimeStatus"), "Completed");
    assert_true(df_json_eq(json_object_get(st, "output"), "{\"x\":1}"));
    assert_true(json_is_object(json_object_get(st, "input")));
    assert_non_null(json_object_get(st, "customStatus"));
    assert_true(is_second_time(df_str(st, "createdTime")));
    assert_true(is_second_time(df_str(st, "lastUpdatedTime")));
    assert_null(json_object_get(st, "historyEvents"));
    json_decref(st);
    e2e_resp_release(&r2);
    free(loc);
    free(retry);

    /* A second GET on the bare path agrees. */
    st = df_get(&srv, id, NULL, &code);
    assert_int_equal(code, 200);
    json_decref(st);
    json_decref(v);
    e2e_resp_release(&r);
}

static void
test_start_with_id_percent_encodes_urls(void **state)
{
    struct e2e_resp r;
    json_t *v;

    (void)state;
    v = df_call(&srv, "POST", DF "/orchestrators/durata.Job/my%20job%2B1",
                "{\"job_type\":\"echo\"}", NULL, &r);
    assert_int_equal(r.status, 202);
    check_payload(v, "my job+1", "my%20job%2B1", NULL);
    json_decref(v);
    e2e_resp_release(&r);
    df_wait_status(&srv, "my%20job%2B1", "Completed", 10000);
}

static void
test_start_carries_the_key_in_urls(void **state)
{
    static const char *const hdrs[] = {"x-functions-key: k/ey 2", NULL};
    struct e2e_resp r;
    json_t *v;

    (void)state;
    v = df_call(&srv, "POST", DF "/orchestrators/durata.Job/keyed-1?code=s3cr%2Bt",
                "{\"job_type\":\"echo\"}", NULL, &r);
    assert_int_equal(r.status, 202);
    check_payload(v, "keyed-1", "keyed-1", "s3cr%2Bt");
    json_decref(v);
    e2e_resp_release(&r);

    v = df_call(&srv, "POST", DF "/orchestrators/durata.Job/keyed-2", "{\"job_type\":\"echo\"}",
                hdrs, &r);
    assert_int_equal(r.status, 202);
    check_payload(v, "keyed-2", "keyed-2", "k%2Fey%202");
    json_decref(v);
    e2e_resp_release(&r);

    /* taskHub and connection from the request are echoed. */
    v = df_call(&srv, "POST", DF "/orchestrators/durata.Job/keyed-3?taskHub=Hub1&connection=C2",
                "{\"job_type\":\"echo\"}", NULL, &r);
    assert_int_equal(r.status, 202);
    assert_non_null(strstr(df_str(v, "statusQueryGetUri"), "?taskHub=Hub1&connection=C2"));
    json_decref(v);
    e2e_resp_release(&r);
}

/* Input forms: empty body = null, "" = the empty string, any JSON value. */
static void
test_start_input_forms(void **state)
{
    static const struct {
        const char *id, *body, *input;
    } cases[] = {
        {"in-empty", "", "null"},
        {"in-str", "\"\"", "\"\""},
        {"in-num", " 42 ", "42"},
        {"in-arr", "[1,{\"a\":null}]", "[1,{\"a\":null}]"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* JobMonitor fails such inputs at once; we only look at `input`. */
        char *id = df_start(&srv, "JobMonitor", cases[i].id, cases[i].body);
        json_t *st;
        long code;

        df_wait_status(&srv, id, "Failed", 10000);
        st = df_get(&srv, id, NULL, &code);
        assert_int_equal(code, 200);
        if (!df_json_eq(json_object_get(st, "input"), cases[i].input))
            fail_msg("case %s: input differs", cases[i].id);
        assert_true(json_is_string(json_object_get(st, "output"))); /* the failure text */
        st = (json_decref(st), df_get(&srv, id, "?showInput=false", &code));
        assert_true(json_is_null(json_object_get(st, "input")));
        assert_non_null(json_object_get(st, "output"));
        json_decref(st);
        free(id);
    }
}

static void
test_start_errors(void **state)
{
    struct e2e_resp r;
    json_t *v;

    (void)state;
    assert_int_equal(df_status(&srv, "POST", DF "/orchestrators/NoSuchThing", "", NULL), 400);
    assert_int_equal(df_status(&srv, "POST", DF "/orchestrators/durata.Job/%40entity", "", NULL),
                     400);
    assert_int_equal(df_status(&srv, "POST", DF "/orchestrators/durata.Job/a%23b", "", NULL), 400);
    assert_int_equal(df_status(&srv, "POST", DF "/orchestrators/durata.Job/a%3Fb", "", NULL), 400);
    assert_int_equal(df_status(&srv, "POST", DF "/orchestrators/durata.Job/a%5Cb", "", NULL), 400);
    assert_int_equal(df_status(&srv, "POST", DF "/orchestrators/durata.Job/a%01b", "", NULL), 400);
    char longid[400];
    char path[600];
    memset(longid, 'x', 257);
    longid[257] = '\0';
    df_fmt(path, sizeof(path), DF "/orchestrators/durata.Job/%s", longid);
    assert_int_equal(df_status(&srv, "POST", path, "", NULL), 400);
    longid[256] = '\0'; /* 256 is allowed */
    df_fmt(path, sizeof(path), DF "/orchestrators/durata.Job/%s", longid);
    assert_int_equal(df_status(&srv, "POST", path, "{\"job_type\":\"echo\"}", NULL), 202);

    v = df_call(&srv, "POST", DF "/orchestrators/durata.Job/bad-json", "{\"job_type\":", NULL, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(json_object_get(v, "error"));
    json_decref(v);
    e2e_resp_release(&r);
    /* Nothing was started under that id. */
    assert_int_equal(df_status(&srv, "GET", DF "/instances/bad-json", NULL, NULL), 404);

    /* A running id: 409 with a JSON error body (DF answers 500). */
    free(df_start_job(&srv, "busy-1", "sleep", "{\"ms\":60000}"));
    v = df_call(&srv, "POST", DF "/orchestrators/durata.Job/busy-1", "{\"job_type\":\"echo\"}",
                NULL, &r);
    assert_int_equal(r.status, 409);
    assert_string_equal(df_str(json_object_get(v, "error"), "code"), "instance_exists");
    json_decref(v);
    e2e_resp_release(&r);
    assert_int_equal(df_op(&srv, "busy-1", "terminate"), 202);

    /* Wrong method on a start route: 404, never 405. */
    assert_int_equal(df_status(&srv, "GET", DF "/orchestrators/durata.Job", NULL, NULL), 404);
    assert_int_equal(df_status(&srv, "PUT", DF "/orchestrators/durata.Job/x", "", NULL), 404);
}

/* A terminal instance is replaced by a start under its id. */
static void
test_start_replaces_terminal_instance(void **state)
{
    json_t *st;
    long code;

    (void)state;
    free(df_start_job(&srv, "again-1", "echo", "{\"n\":1}"));
    df_wait_status(&srv, "again-1", "Completed", 10000);
    free(df_start_job(&srv, "again-1", "echo", "{\"n\":2}"));
    df_wait_status(&srv, "again-1", "Completed", 10000);
    st = df_get(&srv, "again-1", NULL, &code);
    assert_true(df_json_eq(json_object_get(st, "output"), "{\"n\":2}"));
    json_decref(st);
}

static void
test_start_version_is_stored(void **state)
{
    json_t *st;
    long code;

    (void)state;
    assert_int_equal(df_status(&srv, "POST", DF "/orchestrators/durata.Job/ver-1?version=2.1",
                               "{\"job_type\":\"echo\"}", NULL),
                     202);
    df_wait_status(&srv, "ver-1", "Completed", 10000);
    st = df_get(&srv, "ver-1", NULL, &code);
    assert_string_equal(df_str(st, "version"), "2.1");
    json_decref(st);
}

static void
test_start_scheduled_stays_pending(void **state)
{
    char path[300], at[64];
    json_t *st;
    long code;

    (void)state;
    df_fmt(path, sizeof(path), DF "/orchestrators/durata.Job/later-1?scheduledStartTime=%s",
           df_iso(at, sizeof(at), df_now_ms() + 3600 * 1000));
    assert_int_equal(df_status(&srv, "POST", path, "{\"job_type\":\"echo\"}", NULL), 202);
    st = df_get(&srv, "later-1", "?showHistory=true", &code);
    assert_int_equal(code, 202);
    assert_string_equal(df_str(st, "runtimeStatus"), "Pending");
    assert_null(json_object_get(st, "historyEvents")); /* none for Pending, as DF */
    json_decref(st);
    assert_int_equal(df_status(&srv, "POST",
                               DF "/orchestrators/durata.Job/later-2?scheduledStartTime=soon",
                               "{\"job_type\":\"echo\"}", NULL),
                     400);
}

static void
test_start_wait_variants(void **state)
{
    struct e2e_resp r;
    json_t *v;

    (void)state;
    /* Completed within the timeout: 200 with the raw output. */
    v = df_call(&srv, "POST", DF "/orchestrators/durata.Job/wait-1?timeout=20&pollingInterval=0.5",
                "{\"job_type\":\"echo\",\"payload\":[\"a\",2]}", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(df_json_eq(v, "[\"a\",2]"));
    json_decref(v);
    e2e_resp_release(&r);

    /* Failed: 200 with the status payload, or 500 when asked. */
    v = df_call(&srv, "POST", DF "/orchestrators/durata.Job/wait-2?timeout=20&pollingInterval=1",
                "{\"job_type\":\"fail\"}", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(df_str(v, "runtimeStatus"), "Failed");
    json_decref(v);
    e2e_resp_release(&r);
    v = df_call(&srv, "POST",
                DF "/orchestrators/durata.Job/wait-3?timeout=20&pollingInterval=1"
                   "&returnInternalServerErrorOnFailure=true",
                "{\"job_type\":\"fail\"}", NULL, &r);
    assert_int_equal(r.status, 500);
    assert_string_equal(df_str(v, "runtimeStatus"), "Failed");
    json_decref(v);
    e2e_resp_release(&r);

    /* Still running when the timeout passes: the 202 check-status payload. */
    v = df_call(&srv, "POST", DF "/orchestrators/durata.Job/wait-4?timeout=0.3&pollingInterval=0.1",
                "{\"job_type\":\"sleep\",\"payload\":{\"ms\":60000}}", NULL, &r);
    assert_int_equal(r.status, 202);
    assert_string_equal(df_str(v, "id"), "wait-4");
    json_decref(v);
    e2e_resp_release(&r);
    assert_int_equal(df_op(&srv, "wait-4", "terminate"), 202);

    /* Only one of the two: no wait. */
    assert_int_equal(df_status(&srv, "POST", DF "/orchestrators/durata.Job/wait-5?timeout=20",
                               "{\"job_type\":\"echo\"}", NULL),
                     202);
    /* pollingInterval > timeout, or not numbers: 400. */
    assert_int_equal(df_status(&srv, "POST",
                               DF "/orchestrators/durata.Job/wait-6?timeout=1&pollingInterval=2",
                               "{\"job_type\":\"echo\"}", NULL),
                     400);
    assert_int_equal(df_status(&srv, "POST",
                               DF "/orchestrators/durata.Job/wait-7?timeout=x&pollingInterval=1",
                               "{\"job_type\":\"echo\"}", NULL),
                     400);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_answers_check_status_payload),
        cmocka_unit_test(test_start_with_id_percent_encodes_urls),
        cmocka_unit_test(test_start_carries_the_key_in_urls),
        cmocka_unit_test(test_start_input_forms),
        cmocka_unit_test(test_start_errors),
        cmocka_unit_test(test_start_replaces_terminal_instance),
        cmocka_unit_test(test_start_version_is_stored),
        cmocka_unit_test(test_start_scheduled_stays_pending),
        cmocka_unit_test(test_start_wait_variants),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
