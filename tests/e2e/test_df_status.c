/*
 * test_df_status.c — end to end: GET instances/{id} (spec 1.2) and its
 * showHistory reshaping (3.2), seed 002's AsyncJob seen through the status
 * endpoint with its custom status moving Queued -> InProgress -> Completed,
 * and seed 003's JobMonitor following a job until it completes.
 * One server for the whole file.
 */
#include "test_df_support.h"

#include <ctype.h>

static struct e2e_server srv;

static int
group_setup(void **state)
{
    (void)state;
    /* AsyncJob durations are passed in the start body here (the seed's
     * trigger route, test_asyncjob_trigger.c, reads them from the
     * environment). */
    return e2e_start(&srv, NULL);
}

static int
group_teardown(void **state)
{
    (void)state;
    return df_stop_clean(&srv);
}

static void
test_status_running_is_202_with_location(void **state)
{
    struct e2e_resp r;
    char *loc, *retry, want[512];
    json_t *v;

    (void)state;
    free(df_start_job(&srv, "run-1", "sleep", "{\"ms\":60000}"));
    df_wait_status(&srv, "run-1", "Running", 10000);
    v = df_call(&srv, "GET", DF "/instances/run-1?showInput=false&x=a%20b", NULL, NULL, &r);
    assert_int_equal(r.status, 202);
    assert_string_equal(df_str(v, "runtimeStatus"), "Running");
    assert_true(json_is_null(json_object_get(v, "input")));
    assert_true(json_is_null(json_object_get(v, "output")));
    assert_string_equal(df_str(json_object_get(v, "customStatus"), "state"), "running");
    assert_string_equal(df_str(json_object_get(v, "customStatus"), "jobType"), "sleep");
    loc = e2e_header(&r, "Location");
    retry = e2e_header(&r, "Retry-After");
    df_fmt(want, sizeof(want), "%s" DF "/instances/run-1?showInput=false&x=a%%20b", srv.base);
    assert_string_equal(loc, want);
    assert_string_equal(retry, "5");
    free(loc);
    free(retry);
    json_decref(v);
    e2e_resp_release(&r);

    /* Terminated: 200, no Location, the reason as output. */
    assert_int_equal(df_op(&srv, "run-1", "terminate?reason=enough%20now"), 202);
    df_wait_status(&srv, "run-1", "Terminated", 10000);
    v = df_call(&srv, "GET", DF "/instances/run-1", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(df_json_eq(json_object_get(v, "output"), "\"enough now\""));
    loc = e2e_header(&r, "Location");
    assert_null(loc);
    json_decref(v);
    e2e_resp_release(&r);
}

static void
test_status_missing_and_bad_ids(void **state)
{
    (void)state;
    assert_int_equal(df_status(&srv, "GET", DF "/instances/no-such-instance", NULL, NULL), 404);
    assert_int_equal(df_status(&srv, "GET", DF "/instances/%40x", NULL, NULL), 400);
    /* Unknown operation or wrong method: 404. */
    assert_int_equal(df_status(&srv, "GET", DF "/instances/x/frobnicate", NULL, NULL), 404);
    assert_int_equal(df_status(&srv, "POST", DF "/instances/x", "", NULL), 404);
    assert_int_equal(df_status(&srv, "PUT", DF "/instances", "", NULL), 404);
}

/* The event of history h whose EventType is type (the n-th one). */
static json_t *
event_of(json_t *h, const char *type, int n)
{
    size_t i;
    json_t *e;

    json_array_foreach(h, i, e) if (!strcmp(df_str(e, "EventType"), type) && n-- == 0) return e;
    return NULL;
}

static bool
is_7_digit_time(const char *t)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddddddZ";

    if (strlen(t) != strlen(shape))
        return false;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? !isdigit((unsigned char)t[i]) : t[i] != shape[i])
            return false;
    return true;
}

static void
check_history_common(json_t *h)
{
    size_t i;
    json_t *e;

    assert_true(json_is_array(h));
    json_array_foreach(h, i, e)
    {
        const char *type = df_str(e, "EventType");
        assert_null(json_object_get(e, "EventId"));
        assert_null(json_object_get(e, "IsPlayed"));
        assert_true(is_7_digit_time(df_str(e, "Timestamp")));
        assert_string_not_equal(type, "OrchestratorStarted");
        assert_string_not_equal(type, "OrchestratorCompleted");
        assert_string_not_equal(type, "TaskScheduled"); /* all folded */
    }
}

static void
test_status_show_history_reshapes(void **state)
{
    json_t *st, *h, *e;
    long code;

    (void)state;
    free(df_start_job(&srv, "hist-1", "echo", "{\"v\":[1,2]}"));
    df_wait_status(&srv, "hist-1", "Completed", 10000);

    st = df_get(&srv, "hist-1", "?showHistory=true", &code);
    assert_int_equal(code, 200);
    h = json_object_get(st, "historyEvents");
    check_history_common(h);
    e = json_array_get(h, 0);
    assert_string_equal(df_str(e, "EventType"), "ExecutionStarted");
    assert_string_equal(df_str(e, "FunctionName"), "durata.Job");
    assert_null(json_object_get(e, "Name"));
    assert_null(json_object_get(e, "InstanceId"));
    assert_null(json_object_get(e, "ExecutionId"));
    assert_null(json_object_get(e, "Version"));
    assert_true(json_is_string(json_object_get(e, "Input"))); /* JSON-encoded text */
    e = event_of(h, "TaskCompleted", 0);
    assert_non_null(e);
    assert_string_equal(df_str(e, "FunctionName"), "job:echo");
    assert_true(is_7_digit_time(df_str(e, "ScheduledTime")));
    assert_true(json_is_string(json_object_get(e, "Input")));
    assert_null(json_object_get(e, "TaskScheduledId"));
    assert_null(json_object_get(e, "Result")); /* only with showHistoryOutput */
    e = json_array_get(h, json_array_size(h) - 1);
    assert_string_equal(df_str(e, "EventType"), "ExecutionCompleted");
    assert_string_equal(df_str(e, "OrchestrationStatus"), "Completed");
    assert_null(json_object_get(e, "Result"));
    json_decref(st);

    st = df_get(&srv, "hist-1", "?showHistory=true&showHistoryOutput=true&showInput=false", &code);
    h = json_object_get(st, "historyEvents");
    check_history_common(h);
    assert_true(json_is_null(json_object_get(st, "input")));
    e = event_of(h, "TaskCompleted", 0);
    assert_true(df_json_eq(json_object_get(e, "Result"), "{\"v\":[1,2]}")); /* real JSON */
    assert_null(json_object_get(e, "Input"));
    assert_null(json_object_get(json_array_get(h, 0), "Input"));
    e = event_of(h, "ExecutionCompleted", 0);
    assert_true(df_json_eq(json_object_get(e, "Result"), "{\"v\":[1,2]}"));
    json_decref(st);
}

static void
test_status_history_of_failure_and_running_task(void **state)
{
    json_t *st, *h, *e;
    long code;

    (void)state;
    free(df_start_job(&srv, "hist-fail", "fail", NULL));
    df_wait_status(&srv, "hist-fail", "Failed", 10000);
    st = df_get(&srv, "hist-fail", "?showHistory=true", &code);
    assert_int_equal(code, 200);
    assert_true(json_is_string(json_object_get(st, "output")));
    h = json_object_get(st, "historyEvents");
    check_history_common(h);
    e = event_of(h, "TaskFailed", 0);
    assert_non_null(e);
    assert_string_equal(df_str(e, "FunctionName"), "job:fail");
    assert_true(json_is_object(json_object_get(e, "FailureDetails")));
    assert_true(json_is_string(json_object_get(e, "Reason")));
    e = event_of(h, "ExecutionCompleted", 0);
    assert_string_equal(df_str(e, "OrchestrationStatus"), "Failed");
    json_decref(st);
    st = df_get(&srv, "hist-fail", "?returnInternalServerErrorOnFailure=true", &code);
    assert_int_equal(code, 500);
    assert_string_equal(df_str(st, "runtimeStatus"), "Failed");
    json_decref(st);

    /* A task still running stays as TaskScheduled (minus Version). */
    free(df_start_job(&srv, "hist-run", "sleep", "{\"ms\":60000}"));
    df_wait_status(&srv, "hist-run", "Running", 10000);
    for (int tries = 0; tries < 500; tries++) {
        st = df_get(&srv, "hist-run", "?showHistory=true", &code);
        e = event_of(json_object_get(st, "historyEvents"), "TaskScheduled", 0);
        if (e)
            break;
        json_decref(st);
        st = NULL;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_non_null(st);
    assert_int_equal(code, 202);
    assert_string_equal(df_str(e, "Name"), "job:sleep");
    assert_null(json_object_get(e, "Version"));
    assert_null(json_object_get(e, "EventId"));
    json_decref(st);
    assert_int_equal(df_op(&srv, "hist-run", "terminate"), 202);
}

/* Seed 002: the AsyncJob's custom status moves Queued -> InProgress ->
 * Completed, visible through the status endpoint; its timers show in the
 * history. */
static void
test_status_async_job_custom_status(void **state)
{
    const char *path = DF "/instances/job-gb4711";
    json_t *st, *in, *h;
    long code;

    (void)state;
    free(df_start(&srv, "AsyncJobOrchestrator", "job-gb4711",
                  "{\"ThirdPartyJobId\":\"d349c562-53ea-41ef-a1b9-8f0d4be22e4f\","
                  "\"QueuedDuration\":1,\"InProgressDuration\":1}"));
    assert_true(e2e_wait_field(&srv, path, "customStatus", "Queued", 5000));
    st = df_get(&srv, "job-gb4711", NULL, &code);
    assert_int_equal(code, 202);
    assert_string_equal(df_str(st, "name"), "AsyncJobOrchestrator");
    assert_string_equal(df_str(st, "runtimeStatus"), "Running");
    in = json_object_get(st, "input");
    assert_string_equal(df_str(in, "ThirdPartyJobId"), "d349c562-53ea-41ef-a1b9-8f0d4be22e4f");
    assert_true(json_is_null(json_object_get(st, "output")));
    json_decref(st);
    assert_true(e2e_wait_field(&srv, path, "customStatus", "InProgress", 5000));
    assert_true(e2e_wait_field(&srv, path, "customStatus", "Completed", 5000));
    df_wait_status(&srv, "job-gb4711", "Completed", 5000);
    st = df_get(&srv, "job-gb4711", "?showHistory=true", &code);
    assert_int_equal(code, 200);
    assert_string_equal(df_str(json_object_get(st, "output"), "status"), "Completed");
    h = json_object_get(st, "historyEvents");
    check_history_common(h);
    assert_non_null(event_of(h, "TimerCreated", 1));
    assert_non_null(json_object_get(event_of(h, "TimerCreated", 0), "FireAt"));
    assert_non_null(event_of(h, "TimerFired", 1));
    assert_non_null(json_object_get(event_of(h, "TimerFired", 0), "FireAt"));
    assert_null(json_object_get(event_of(h, "TimerFired", 0), "TimerId"));
    json_decref(st);
}

/* Seed 003: JobMonitor polls a job (a sleep job) until it completes. */
static void
test_status_job_monitor_follows_a_job(void **state)
{
    char body[256];
    json_t *st;
    long code;

    (void)state;
    free(df_start_job(&srv, "watched-1", "sleep", "{\"ms\":1500}"));
    df_fmt(body, sizeof(body), "{\"jobId\":\"watched-1\",\"expireAt\":%lld,\"pollIntervalMs\":200}",
           df_now_ms() + 60000);
    free(df_start(&srv, "JobMonitor", "monitor-1", body));
    assert_true(
        e2e_wait_field(&srv, DF "/instances/monitor-1", "customStatus", "Processing", 5000));
    df_wait_status(&srv, "monitor-1", "Completed", 15000);
    st = df_get(&srv, "monitor-1", NULL, &code);
    assert_int_equal(code, 200);
    assert_true(df_json_eq(json_object_get(st, "output"),
                           "{\"jobId\":\"watched-1\",\"status\":\"Completed\"}"));
    assert_true(df_json_eq(json_object_get(st, "customStatus"), "\"Completed\""));
    json_decref(st);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_running_is_202_with_location),
        cmocka_unit_test(test_status_missing_and_bad_ids),
        cmocka_unit_test(test_status_show_history_reshapes),
        cmocka_unit_test(test_status_history_of_failure_and_running_task),
        cmocka_unit_test(test_status_async_job_custom_status),
        cmocka_unit_test(test_status_job_monitor_follows_a_job),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
