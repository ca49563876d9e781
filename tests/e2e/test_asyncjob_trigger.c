/*
 * test_asyncjob_trigger.c — end to end: seed 002's HTTP trigger,
 * GET (or POST) /api/job-start/{jobName}, against the real server.
 *  - The 202 is Durable Functions' CreateCheckStatusResponse: id, the seven
 *    management URLs, Location = statusQueryGetUri, Retry-After: 10.
 *  - The status endpoint then shows the seed's document: AsyncJobOrchestrator,
 *    input {ThirdPartyJobId (a UUID), QueuedDuration, InProgressDuration}
 *    from the server's ASYNC_JOB_*_DURATION_SEC (1 and 1 here), custom
 *    status Queued, then InProgress, then Completed.
 *  - A running job's name is a 409, a finished one is replaced, a bad name
 *    is a 400, HEAD and other methods are the router's 404 and start
 *    nothing; without the variables the seed's defaults (20, 30) apply; a
 *    malformed variable is a 500 naming it; API keys are carried into the
 *    URLs as code=.
 * The main server (one for the file) inherits the duration variables from
 * this process: the harness forks and execs the binary without touching
 * the environment. Each test uses its own job names.
 */
#include "test_df_support.h"

#include <ctype.h>

#define START "/api/job-start/"
#define POLL_MS 10000

static struct e2e_server srv;

static int
group_setup(void **state)
{
    int rc;

    (void)state;
    if (setenv("ASYNC_JOB_QUEUED_DURATION_SEC", "1", 1) != 0 ||
        setenv("ASYNC_JOB_INPROGRESS_DURATION_SEC", "1", 1) != 0)
        return -1;
    rc = e2e_start(&srv, NULL);
    unsetenv("ASYNC_JOB_QUEUED_DURATION_SEC");
    unsetenv("ASYNC_JOB_INPROGRESS_DURATION_SEC");
    return rc;
}

static int
group_teardown(void **state)
{
    (void)state;
    return df_stop_clean(&srv);
}

/* ------------------------------------------------------------ helpers */

static bool
is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;

        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

/* Starts job `name` with method; asserts 202 and returns the body. */
static json_t *
start_job(const struct e2e_server *s, const char *method, const char *name,
          const char *const *headers, struct e2e_resp *r)
{
    char path[512];
    json_t *v;

    v = df_call(s, method, df_fmt(path, sizeof(path), START "%s", name), NULL, headers, r);
    if (r->status != 202)
        fail_msg("%s %s: %ld %s", method, path, r->status, r->body);
    assert_non_null(v);
    return v;
}

/* Asserts an error answer: status and error.code (and error.field). */
static void
expect_error(const struct e2e_server *s, const char *method, const char *path, long status,
             const char *code, const char *field)
{
    struct e2e_resp r;
    json_t *v = df_call(s, method, path, NULL, NULL, &r), *err;

    if (r.status != status)
        fail_msg("%s %s: want %ld, got %ld %s", method, path, status, r.status, r.body);
    err = json_object_get(v, "error");
    assert_string_equal(df_str(err, "code"), code);
    if (field)
        assert_string_equal(df_str(err, "field"), field);
    json_decref(v);
    e2e_resp_release(&r);
}

/* Waits for customStatus == want on the seed's status route. */
static void
wait_custom_status(const char *name, const char *want)
{
    char path[512];

    df_inst(path, sizeof(path), name, NULL);
    if (!e2e_wait_field(&srv, path, "customStatus", want, POLL_MS))
        fail_msg("%s never showed customStatus %s", name, want);
}

/* The ThirdPartyJobId of the instance's input (malloc'd). */
static char *
third_party_id(const struct e2e_server *s, const char *name)
{
    json_t *st = df_get(s, name, NULL, NULL);
    char *id = strdup(df_str(json_object_get(st, "input"), "ThirdPartyJobId"));

    json_decref(st);
    assert_non_null(id);
    return id;
}

/* ------------------------------------------------------------ tests */

/* The management URLs (spec 1.14): field, and what follows the id up to
 * the common query. */
static const char *const urls[][2] = {
    {"statusQueryGetUri", "?"},
    {"sendEventPostUri", "/raiseEvent/{eventName}?"},
    {"terminatePostUri", "/terminate?reason={text}&"},
    {"purgeHistoryDeleteUri", "?"},
    {"restartPostUri", "/restart?"},
    {"suspendPostUri", "/suspend?reason={text}&"},
    {"resumePostUri", "/resume?reason={text}&"},
};

/* The 202 carries every URL of spec 1.14, built from the request's host. */
static void
test_start_answers_check_status_payload(void **state)
{
    char want[512], *loc, *retry;
    struct e2e_resp r;
    json_t *v;

    (void)state;
    v = start_job(&srv, "GET", "job-urls?taskHub=other", NULL, &r);
    assert_string_equal(df_str(v, "id"), "job-urls");
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        df_fmt(want, sizeof(want), "%s" DF "/instances/job-urls%staskHub=durata&connection=Storage",
               srv.base, urls[i][1]);
        assert_string_equal(df_str(v, urls[i][0]), want);
    }
    assert_int_equal(json_object_size(v), 8);
    loc = e2e_header(&r, "Location");
    retry = e2e_header(&r, "Retry-After");
    assert_non_null(loc);
    assert_string_equal(loc, df_str(v, "statusQueryGetUri"));
    assert_non_null(retry);
    assert_string_equal(retry, "10");
    free(loc);
    free(retry);
    json_decref(v);
    e2e_resp_release(&r);
    assert_int_equal(df_op(&srv, "job-urls", "terminate?reason=done"), 202);
}

/* Seed 002 as its document shows it: started by name, seen through the
 * status route moving Queued -> InProgress -> Completed; a second start of
 * the running job is a 409. */
static void
test_seed_002_flow(void **state)
{
    json_t *st, *in, *out;
    struct e2e_resp r;
    long code;

    (void)state;
    json_decref(start_job(&srv, "GET", "job-gb4711", NULL, &r));
    e2e_resp_release(&r);
    /* Pending or Running, never finished this soon (1 s + 1 s of timers). */
    expect_error(&srv, "GET", START "job-gb4711", 409, "instance_exists", "jobName");

    wait_custom_status("job-gb4711", "Queued");
    st = df_get(&srv, "job-gb4711", NULL, &code);
    assert_int_equal(code, 202);
    assert_string_equal(df_str(st, "name"), "AsyncJobOrchestrator");
    assert_string_equal(df_str(st, "instanceId"), "job-gb4711");
    assert_string_equal(df_str(st, "runtimeStatus"), "Running");
    in = json_object_get(st, "input");
    assert_true(is_uuid(df_str(in, "ThirdPartyJobId")));
    assert_true(df_json_eq(json_object_get(in, "QueuedDuration"), "1"));
    assert_true(df_json_eq(json_object_get(in, "InProgressDuration"), "1"));
    assert_int_equal(json_object_size(in), 3);
    assert_true(json_is_null(json_object_get(st, "output")));
    assert_non_null(json_object_get(st, "createdTime"));
    assert_non_null(json_object_get(st, "lastUpdatedTime"));

    wait_custom_status("job-gb4711", "InProgress");
    wait_custom_status("job-gb4711", "Completed");
    df_wait_status(&srv, "job-gb4711", "Completed", POLL_MS);
    json_decref(st);
    st = df_get(&srv, "job-gb4711", NULL, &code);
    assert_int_equal(code, 200);
    assert_string_equal(df_str(st, "customStatus"), "Completed");
    out = json_object_get(st, "output");
    assert_string_equal(df_str(out, "status"), "Completed");
    assert_string_equal(df_str(out, "ThirdPartyJobId"),
                        df_str(json_object_get(st, "input"), "ThirdPartyJobId"));
    json_decref(st);
}

/* A finished job's name starts a new job (spec 2.2), with a new
 * ThirdPartyJobId; POST works as GET and its body is ignored. */
static void
test_finished_job_is_replaced_and_post_starts(void **state)
{
    char *first, *second;
    struct e2e_resp r;
    json_t *v, *st;

    (void)state;
    v = df_call(&srv, "POST", START "job-again", "{\"ignored\":true}", NULL, &r);
    assert_int_equal(r.status, 202);
    assert_string_equal(df_str(v, "id"), "job-again");
    json_decref(v);
    e2e_resp_release(&r);
    df_wait_status(&srv, "job-again", "Completed", POLL_MS);
    first = third_party_id(&srv, "job-again");

    json_decref(start_job(&srv, "GET", "job-again", NULL, &r));
    e2e_resp_release(&r);
    second = third_party_id(&srv, "job-again");
    assert_string_not_equal(first, second);
    st = df_get(&srv, "job-again", NULL, NULL);
    assert_string_not_equal(df_str(st, "runtimeStatus"), "Completed");
    json_decref(st);
    df_wait_status(&srv, "job-again", "Completed", POLL_MS);
    free(first);
    free(second);
}

/* Names that break the instance id rules never reach the hub. */
static void
test_bad_job_names_are_400(void **state)
{
    static const char *const bad[] = {"bad%2Fname", "%40entity", "a%3Fb",
                                      "a%23b",      "a%5Cb",     "tab%09here"};
    char path[512], longname[300];
    struct e2e_resp r;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(&srv, "GET", df_fmt(path, sizeof(path), START "%s", bad[i]), 400,
                     "invalid_instance_id", "jobName");
    memset(longname, 'x', 257);
    longname[257] = '\0';
    expect_error(&srv, "POST", df_fmt(path, sizeof(path), START "%s", longname), 400,
                 "invalid_instance_id", "jobName");
    longname[256] = '\0'; /* 256 is the limit: allowed */
    json_decref(start_job(&srv, "GET", longname, NULL, &r));
    e2e_resp_release(&r);
}

/* HEAD (which the router gives GET routes) and methods the route does not
 * take answer the router's 404 and start nothing. */
static void
test_other_methods_are_404_and_start_nothing(void **state)
{
    static const char *const methods[] = {"HEAD", "PUT", "DELETE", "PATCH"};
    char path[64];
    long code;

    (void)state;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        df_fmt(path, sizeof(path), START "job-%s", methods[i]);
        assert_int_equal(df_status(&srv, methods[i], path, NULL, NULL), 404);
        json_decref(df_get(&srv, path + strlen(START), NULL, &code));
        assert_int_equal(code, 404);
    }
    expect_error(&srv, "PUT", START "job-put", 404, "not_found", NULL);
    expect_error(&srv, "GET", "/api/job-start", 404, "not_found", NULL);
}

/* Without the variables the seed's defaults apply; an API key sent in
 * x-functions-key is required and comes back as code= in every URL. */
static void
test_defaults_and_api_key(void **state)
{
    static const char *const args[] = {"--api-key", "k3y", NULL};
    static const char *const key[] = {"x-functions-key: k3y", NULL};
    struct e2e_server s2;
    struct e2e_resp r;
    json_t *v, *st, *in;

    (void)state;
    assert_int_equal(e2e_start(&s2, args), 0);
    assert_int_equal(df_status(&s2, "GET", START "job-defaults", NULL, NULL), 401);
    v = start_job(&s2, "GET", "job-defaults", key, &r);
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
        assert_non_null(strstr(df_str(v, urls[i][0]), "&connection=Storage&code=k3y"));
    json_decref(v);
    e2e_resp_release(&r);
    st = df_call(&s2, "GET", DF "/instances/job-defaults", NULL, key, &r);
    assert_int_equal(r.status, 202);
    in = json_object_get(st, "input");
    assert_true(df_json_eq(json_object_get(in, "QueuedDuration"), "20"));
    assert_true(df_json_eq(json_object_get(in, "InProgressDuration"), "30"));
    json_decref(st);
    e2e_resp_release(&r);
    assert_int_equal(df_stop_clean(&s2), 0);
}

/* A duration variable that is not whole seconds is the server's fault: 500
 * naming the variables, and no job. */
static void
test_malformed_duration_variable_is_500(void **state)
{
    struct e2e_server s3;
    long code;

    (void)state;
    assert_int_equal(setenv("ASYNC_JOB_QUEUED_DURATION_SEC", "1s", 1), 0);
    assert_int_equal(e2e_start(&s3, NULL), 0);
    unsetenv("ASYNC_JOB_QUEUED_DURATION_SEC");
    expect_error(&s3, "GET", START "job-misconfigured", 500, "invalid_configuration", NULL);
    json_decref(df_get(&s3, "job-misconfigured", NULL, &code));
    assert_int_equal(code, 404);
    assert_int_equal(df_stop_clean(&s3), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_answers_check_status_payload),
        cmocka_unit_test(test_seed_002_flow),
        cmocka_unit_test(test_finished_job_is_replaced_and_post_starts),
        cmocka_unit_test(test_bad_job_names_are_400),
        cmocka_unit_test(test_other_methods_are_404_and_start_nothing),
        cmocka_unit_test(test_defaults_and_api_key),
        cmocka_unit_test(test_malformed_duration_variable_is_500),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
