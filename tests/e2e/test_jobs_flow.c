/*
 * test_jobs_flow.c — end to end: the job API's flows (issue 3 §2) against
 * the real server: seed 001 (a thumbnail job submitted and polled through
 * running to completed with its artifactUrl), seed 000 (create, status,
 * cancel a sleep job -> cancelled, purge a terminal job, 409 for purging a
 * running one), a failing job that ends failed with its attempts and
 * error, the management URLs of the 202 working against the Durable
 * Functions API, and 404 for unknown ids and for instances that are not
 * jobs. One server for the whole file; each test makes its own jobs.
 */
#include "test_jobs_support.h"

#define DF "/runtime/webhooks/durabletask"

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

static void
test_seed001_thumbnail_runs_then_completes_with_artifact(void **state)
{
    const struct timespec pause = {.tv_nsec = 20 * 1000 * 1000};
    struct jb_answer a, b;
    char want[512], *loc, *retry;
    bool seen_running = false;
    const char *id, *status;
    json_t *job = NULL;
    int polls;

    (void)state;
    jb_call(&srv, "POST", "/api/jobs",
            "{\"job_type\":\"thumbnail\",\"customer_id\":\"cust-123\",\"payload\":{\"asset_url\":"
            "\"https://example.invalid/image.png\"}}",
            NULL, &a);
    jb_expect(&a, 202);
    assert_string_equal(jb_str(a.json, "status"), "accepted");
    id = jb_str(a.json, "job_id");
    jb_fmt(want, sizeof(want), "%s/api/jobs/%s", srv.base, id);
    assert_string_equal(jb_str(a.json, "status_url"), want);
    loc = e2e_header(&a.raw, "Location");
    retry = e2e_header(&a.raw, "Retry-After");
    assert_non_null(loc);
    assert_string_equal(loc, want);
    assert_non_null(retry);
    assert_true(strtol(retry, NULL, 10) >= 1);
    for (polls = 0; polls < 1000; polls++) { /* 20 s at most */
        json_decref(job);
        job = jb_get(&srv, id, NULL);
        status = jb_str(job, "status");
        if (strcmp(status, "running") == 0)
            seen_running = true;
        else if (strcmp(status, "completed") == 0)
            break;
        else
            assert_string_equal(status, "pending");
        nanosleep(&pause, NULL);
    }
    assert_true(seen_running);
    assert_string_equal(jb_str(job, "status"), "completed");
    jb_fmt(want, sizeof(want), "{\"artifactUrl\":\"https://example.invalid/jobs/%s.json\"}", id);
    assert_true(jb_json_eq(json_object_get(job, "result"), want));
    assert_string_equal(jb_str(job, "job_type"), "thumbnail");
    assert_string_equal(jb_str(job, "customer_id"), "cust-123");
    assert_true(json_is_null(json_object_get(job, "error")));
    assert_int_equal(json_integer_value(json_object_get(job, "attempts")), 1);
    assert_string_equal(jb_str(json_object_get(job, "custom_status"), "jobType"), "thumbnail");
    assert_int_equal(strlen(jb_str(job, "created_at")), 20); /* second precision, Z */
    assert_int_equal(strlen(jb_str(job, "updated_at")), 20);
    jb_call_url("GET", loc, NULL, &b); /* Location leads to the job */
    jb_expect(&b, 200);
    assert_string_equal(jb_str(b.json, "job_id"), id);
    jb_answer_release(&b);
    json_decref(job);
    free(loc);
    free(retry);
    jb_answer_release(&a);
}

static void
test_seed000_create_status_cancel_purge(void **state)
{
    struct jb_answer a;
    char path[512], *id;
    json_t *job;
    long st;

    (void)state;
    id = jb_submit(&srv, "{\"job_type\":\"sleep\",\"customer_id\":\"cust-9\",\"payload\":"
                         "{\"ms\":600000}}");
    jb_wait_status(&srv, id, "running", 10000);
    jb_call(&srv, "DELETE", jb_fmt(path, sizeof(path), "/api/jobs/%s/history", id), NULL, NULL, &a);
    jb_expect_error(&a, 409, "conflict");
    jb_answer_release(&a);
    jb_call(&srv, "DELETE",
            jb_fmt(path, sizeof(path), "/api/jobs/%s?reason=client%%20requested", id), NULL, NULL,
            &a);
    jb_expect(&a, 202);
    assert_string_equal(jb_str(a.json, "status"), "cancellation-requested");
    jb_answer_release(&a);
    jb_wait_status(&srv, id, "cancelled", 10000);
    job = jb_get(&srv, id, &st);
    assert_int_equal(st, 200);
    assert_string_equal(jb_str(json_object_get(job, "error"), "message"), "client requested");
    assert_string_equal(jb_str(job, "customer_id"), "cust-9");
    json_decref(job);
    jb_call(&srv, "GET", jb_fmt(path, sizeof(path), DF "/instances/%s", id), NULL, NULL, &a);
    jb_expect(&a, 200);
    assert_string_equal(jb_str(a.json, "runtimeStatus"), "Terminated");
    assert_string_equal(jb_str(a.json, "output"), "client requested");
    jb_answer_release(&a);
    jb_call(&srv, "DELETE", jb_fmt(path, sizeof(path), "/api/jobs/%s", id), NULL, NULL, &a);
    jb_expect_error(&a, 409, "conflict"); /* already terminal */
    jb_answer_release(&a);
    jb_call(&srv, "DELETE", jb_fmt(path, sizeof(path), "/api/jobs/%s/history", id), NULL, NULL, &a);
    jb_expect(&a, 202);
    assert_string_equal(jb_str(a.json, "status"), "purge-requested");
    jb_answer_release(&a);
    json_decref(jb_get(&srv, id, &st));
    assert_int_equal(st, 404);
    jb_call(&srv, "DELETE", jb_fmt(path, sizeof(path), "/api/jobs/%s/history", id), NULL, NULL, &a);
    jb_expect_error(&a, 404, "not_found");
    jb_answer_release(&a);
    free(id);
}

static void
test_unknown_foreign_and_invalid_ids(void **state)
{
    static const char *const methods[][2] = {{"GET", ""}, {"DELETE", ""}, {"DELETE", "/history"}};
    struct jb_answer a;
    char path[512];
    size_t i;

    (void)state;
    for (i = 0; i < 3; i++) {
        jb_call(&srv, methods[i][0],
                jb_fmt(path, sizeof(path), "/api/jobs/no-such-job%s", methods[i][1]), NULL, NULL,
                &a);
        jb_expect_error(&a, 404, "not_found");
        jb_answer_release(&a);
    }
    /* an instance that is not a job is not one through the job API */
    jb_call(&srv, "POST", DF "/orchestrators/AsyncJobOrchestrator/not-a-job-1",
            "{\"ThirdPartyJobId\":\"t\",\"QueuedDuration\":0,\"InProgressDuration\":0}", NULL, &a);
    jb_expect(&a, 202);
    jb_answer_release(&a);
    for (i = 0; i < 3; i++) {
        jb_call(&srv, methods[i][0],
                jb_fmt(path, sizeof(path), "/api/jobs/not-a-job-1%s", methods[i][1]), NULL, NULL,
                &a);
        jb_expect_error(&a, 404, "not_found");
        jb_answer_release(&a);
    }
    jb_call(&srv, "GET", "/api/jobs/a%2Fb", NULL, NULL, &a); /* '/' is never in an id */
    jb_expect_error(&a, 400, "invalid_id");
    jb_answer_release(&a);
    jb_call(&srv, "GET", "/api/jobs/@entity", NULL, NULL, &a);
    jb_expect_error(&a, 400, "invalid_id");
    jb_answer_release(&a);
}

static void
test_failed_job_reports_attempts_and_error(void **state)
{
    char *retried, *once;
    json_t *job, *err;

    (void)state;
    retried = jb_submit(&srv, "{\"job_type\":\"fail\",\"payload\":{\"retriable\":true,"
                              "\"message\":\"printer on fire\"}}");
    once = jb_submit(&srv, "{\"job_type\":\"fail\"}");
    jb_wait_status(&srv, once, "failed", 10000);
    job = jb_get(&srv, once, NULL);
    assert_int_equal(json_integer_value(json_object_get(job, "attempts")), 1);
    assert_string_equal(jb_str(json_object_get(job, "error"), "type"), "JobFailed");
    json_decref(job);
    jb_wait_status(&srv, retried, "failed", 20000); /* backoff 1 s, then 2 s */
    job = jb_get(&srv, retried, NULL);
    err = json_object_get(job, "error");
    assert_int_equal(json_integer_value(json_object_get(job, "attempts")), 3);
    assert_string_equal(jb_str(err, "type"), "JobFailed");
    assert_string_equal(jb_str(err, "message"), "printer on fire");
    assert_string_equal(jb_str(err, "details"), "attempt 3");
    assert_true(json_is_null(json_object_get(job, "result")));
    assert_string_equal(jb_str(json_object_get(job, "custom_status"), "state"), "failed");
    json_decref(job);
    free(retried);
    free(once);
}

/* url with the first `placeholder` replaced by `value` (static buffer). */
static const char *
subst(char *buf, size_t size, const char *url, const char *placeholder, const char *value)
{
    const char *at = strstr(url, placeholder);

    assert_non_null(at);
    return jb_fmt(buf, size, "%.*s%s%s", (int)(at - url), url, value, at + strlen(placeholder));
}

/* Sends a bodiless POST to url as DF clients do; returns the status. */
static long
post_url(const char *url)
{
    static const char *const hdrs[] = {"Content-Type: application/json", NULL};
    struct e2e_resp r;
    long st;

    assert_int_equal(e2e_request_url("POST", url, "", hdrs, &r), 0);
    st = r.status;
    e2e_resp_release(&r);
    return st;
}

static void
test_management_urls_drive_the_df_api(void **state)
{
    struct jb_answer sub, a;
    char url[2048];
    const char *id;
    json_t *job;

    (void)state;
    jb_call(&srv, "POST", "/api/jobs", "{\"job_type\":\"sleep\",\"payload\":{\"ms\":600000}}", NULL,
            &sub);
    jb_expect(&sub, 202);
    id = jb_str(sub.json, "job_id");
    assert_string_equal(jb_str(sub.json, "id"), id);
    jb_wait_status(&srv, id, "running", 10000);
    jb_call_url("GET", jb_str(sub.json, "statusQueryGetUri"), NULL, &a);
    jb_expect(&a, 202);
    assert_string_equal(jb_str(a.json, "instanceId"), id);
    assert_string_equal(jb_str(a.json, "name"), "durata.Job");
    assert_string_equal(jb_str(a.json, "runtimeStatus"), "Running");
    jb_answer_release(&a);
    assert_int_equal(post_url(subst(url, sizeof(url), jb_str(sub.json, "sendEventPostUri"),
                                    "{eventName}", "ping")),
                     202);
    assert_int_equal(
        post_url(subst(url, sizeof(url), jb_str(sub.json, "suspendPostUri"), "{text}", "pause")),
        202);
    jb_wait_status(&srv, id, "suspended", 10000);
    assert_int_equal(
        post_url(subst(url, sizeof(url), jb_str(sub.json, "resumePostUri"), "{text}", "go")), 202);
    jb_wait_status(&srv, id, "running", 10000);
    assert_int_equal(
        post_url(subst(url, sizeof(url), jb_str(sub.json, "terminatePostUri"), "{text}", "via-df")),
        202);
    jb_wait_status(&srv, id, "cancelled", 10000);
    job = jb_get(&srv, id, NULL);
    assert_string_equal(jb_str(json_object_get(job, "error"), "message"), "via-df");
    json_decref(job);
    jb_call_url("DELETE", jb_str(sub.json, "purgeHistoryDeleteUri"), NULL, &a);
    jb_expect(&a, 200);
    assert_true(jb_json_eq(a.json, "{\"instancesDeleted\":1}"));
    jb_answer_release(&a);
    json_decref(jb_get(&srv, id, &(long){0}));
    jb_call(&srv, "GET", jb_fmt(url, sizeof(url), "/api/jobs/%s", id), NULL, NULL, &a);
    jb_expect(&a, 404);
    jb_answer_release(&a);
    jb_answer_release(&sub);
}

static void
test_restart_url_runs_the_job_again(void **state)
{
    struct jb_answer sub, a;
    const char *id;
    char *again;
    json_t *job;

    (void)state;
    jb_call(&srv, "POST", "/api/jobs",
            "{\"job_type\":\"echo\",\"customer_id\":\"c-r\",\"payload\""
            ":{\"n\":7}}",
            NULL, &sub);
    jb_expect(&sub, 202);
    id = jb_str(sub.json, "job_id");
    jb_wait_status(&srv, id, "completed", 10000);
    jb_call_url("POST", jb_str(sub.json, "restartPostUri"), "", &a);
    jb_expect(&a, 202);
    again = strdup(jb_str(a.json, "id"));
    assert_string_not_equal(again, id);
    jb_answer_release(&a);
    jb_wait_status(&srv, again, "completed", 10000);
    job = jb_get(&srv, again, NULL);
    assert_string_equal(jb_str(job, "customer_id"), "c-r");
    assert_true(jb_json_eq(json_object_get(job, "result"), "{\"n\":7}"));
    json_decref(job);
    free(again);
    jb_answer_release(&sub);
}

static void
test_jobs_started_through_df_are_jobs(void **state)
{
    struct jb_answer a;
    json_t *job;

    (void)state;
    jb_call(&srv, "POST", DF "/orchestrators/durata.Job/df-made-job",
            "{\"job_type\":\"echo\",\"customer_id\":\"c-df\",\"payload\":{\"via\":\"df\"}}", NULL,
            &a);
    jb_expect(&a, 202);
    jb_answer_release(&a);
    jb_wait_status(&srv, "df-made-job", "completed", 10000);
    job = jb_get(&srv, "df-made-job", NULL);
    assert_string_equal(jb_str(job, "job_type"), "echo");
    assert_string_equal(jb_str(job, "customer_id"), "c-df");
    assert_true(jb_json_eq(json_object_get(job, "result"), "{\"via\":\"df\"}"));
    json_decref(job);
}

/* With an API key: generated URLs carry it as `code`, and work. */
static void
test_urls_carry_the_api_key(void **state)
{
    static const char *const args[] = {"--api-key", "s3cret", NULL};
    static const char *const key[] = {"x-functions-key: s3cret", NULL};
    struct e2e_server ks;
    struct jb_answer a, b;

    (void)state;
    assert_int_equal(e2e_start(&ks, args), 0);
    jb_call(&ks, "POST", "/api/jobs", "{\"job_type\":\"echo\"}", NULL, &a);
    jb_expect_error(&a, 401, "unauthorized");
    jb_answer_release(&a);
    jb_call(&ks, "POST", "/api/jobs", "{\"job_type\":\"echo\"}", key, &a);
    jb_expect(&a, 202);
    assert_non_null(strstr(jb_str(a.json, "status_url"), "?code=s3cret"));
    assert_non_null(strstr(jb_str(a.json, "statusQueryGetUri"), "&code=s3cret"));
    assert_non_null(strstr(jb_str(a.json, "terminatePostUri"), "&code=s3cret"));
    jb_call_url("GET", jb_str(a.json, "status_url"), NULL, &b);
    jb_expect(&b, 200);
    jb_answer_release(&b);
    jb_call_url("GET", jb_str(a.json, "statusQueryGetUri"), NULL, &b);
    assert_true(b.status == 200 || b.status == 202);
    jb_answer_release(&b);
    jb_answer_release(&a);
    e2e_cleanup(&ks);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed001_thumbnail_runs_then_completes_with_artifact),
        cmocka_unit_test(test_seed000_create_status_cancel_purge),
        cmocka_unit_test(test_unknown_foreign_and_invalid_ids),
        cmocka_unit_test(test_failed_job_reports_attempts_and_error),
        cmocka_unit_test(test_management_urls_drive_the_df_api),
        cmocka_unit_test(test_restart_url_runs_the_job_again),
        cmocka_unit_test(test_jobs_started_through_df_are_jobs),
        cmocka_unit_test(test_urls_carry_the_api_key),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
