/*
 * test_df_restart.c — end to end: the restart operation (spec 1.9) and
 * restarting the server itself mid-job (killed, then started again on the
 * same store) with nothing lost: a job in flight, an AsyncJob between its
 * timers, a suspended instance and the finished ones all come back, seen
 * through the Durable Functions API.
 * Each test starts its own server.
 */
#include "test_df_support.h"

static struct e2e_server srv;

static int
setup(void **state)
{
    (void)state;
    return e2e_start(&srv, NULL);
}

static int
teardown(void **state)
{
    (void)state;
    return df_stop_clean(&srv);
}

static void
test_restart_with_new_id(void **state)
{
    struct e2e_resp r;
    char *loc;
    const char *new_id;
    json_t *v, *st;
    long code;

    (void)state;
    free(df_start_job(&srv, "orig-1", "echo", "{\"again\":true}"));
    df_wait_status(&srv, "orig-1", "Completed", 10000);
    v = df_call(&srv, "POST", DF "/instances/orig-1/restart", "", NULL, &r);
    assert_int_equal(r.status, 202);
    new_id = df_str(v, "id");
    assert_string_not_equal(new_id, "orig-1");
    loc = e2e_header(&r, "Location");
    assert_string_equal(loc, df_str(v, "statusQueryGetUri"));
    assert_non_null(strstr(loc, new_id));
    assert_non_null(json_object_get(v, "restartPostUri"));
    df_wait_status(&srv, new_id, "Completed", 10000);
    st = df_get(&srv, new_id, NULL, &code);
    assert_string_equal(df_str(st, "name"), "durata.Job");
    assert_true(df_json_eq(json_object_get(st, "output"), "{\"again\":true}"));
    json_decref(st);
    free(loc);
    json_decref(v);
    e2e_resp_release(&r);

    /* Same id: the restarted instance replaces the terminal one. */
    v = df_call(&srv, "POST", DF "/instances/orig-1/restart?restartWithNewInstanceId=false", "",
                NULL, &r);
    assert_int_equal(r.status, 202);
    assert_string_equal(df_str(v, "id"), "orig-1");
    json_decref(v);
    e2e_resp_release(&r);
    df_wait_status(&srv, "orig-1", "Completed", 10000);

    /* With a wait, like start. */
    v = df_call(&srv, "POST",
                DF "/instances/orig-1/restart?restartWithNewInstanceId=true&timeout=20"
                   "&pollingInterval=1",
                "", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(df_json_eq(v, "{\"again\":true}"));
    json_decref(v);
    e2e_resp_release(&r);
}

/* How many instances the list shows. */
static int
list_count(void)
{
    struct e2e_resp r;
    json_t *v = df_call(&srv, "GET", DF "/instances", NULL, NULL, &r);
    int n;

    assert_int_equal(r.status, 200);
    n = (int)json_array_size(v);
    json_decref(v);
    e2e_resp_release(&r);
    return n;
}

/* The server is killed while work is in flight and started again on the
 * same store; every instance is still there and finishes. */
static void
test_server_killed_mid_job_loses_nothing(void **state)
{
    json_t *st;
    long code;
    int before;

    (void)state;
    free(df_start_job(&srv, "crash-sleep", "sleep", "{\"ms\":1500}"));
    free(df_start(&srv, "AsyncJobOrchestrator", "crash-async",
                  "{\"ThirdPartyJobId\":\"x-1\",\"QueuedDuration\":1,\"InProgressDuration\":1}"));
    free(df_start_job(&srv, "crash-done", "echo", "{\"kept\":1}"));
    free(df_start_job(&srv, "crash-held", "sleep", "{\"ms\":100}"));
    assert_int_equal(df_op(&srv, "crash-held", "suspend"), 202);
    df_wait_status(&srv, "crash-sleep", "Running", 10000);
    df_wait_status(&srv, "crash-done", "Completed", 10000);
    df_wait_status(&srv, "crash-held", "Suspended", 10000);
    assert_true(e2e_wait_field(&srv, DF "/instances/crash-async", "customStatus", "Queued", 5000));
    before = list_count();
    assert_int_equal(before, 4);

    e2e_kill(&srv);
    assert_int_equal(e2e_restart(&srv, NULL), 0);

    assert_int_equal(list_count(), before);
    st = df_get(&srv, "crash-done", NULL, &code);
    assert_int_equal(code, 200);
    assert_true(df_json_eq(json_object_get(st, "output"), "{\"kept\":1}"));
    json_decref(st);
    /* The killed server's activity lease (30 s) has to expire first. */
    df_wait_status(&srv, "crash-sleep", "Completed", 60000);
    st = df_get(&srv, "crash-sleep", NULL, &code);
    assert_true(df_json_eq(json_object_get(st, "output"), "{\"slept_ms\":1500}"));
    json_decref(st);
    df_wait_status(&srv, "crash-async", "Completed", 20000);
    st = df_get(&srv, "crash-async", NULL, &code);
    assert_true(df_json_eq(json_object_get(st, "customStatus"), "\"Completed\""));
    json_decref(st);
    /* Still suspended after the restart; resumes and finishes. */
    st = df_get(&srv, "crash-held", NULL, &code);
    assert_string_equal(df_str(st, "runtimeStatus"), "Suspended");
    json_decref(st);
    assert_int_equal(df_op(&srv, "crash-held", "resume"), 202);
    df_wait_status(&srv, "crash-held", "Completed", 10000);
}

/* A graceful stop (SIGTERM) and start again: the same. */
static void
test_server_stopped_mid_job_resumes(void **state)
{
    (void)state;
    free(df_start_job(&srv, "stop-sleep", "sleep", "{\"ms\":1000}"));
    df_wait_status(&srv, "stop-sleep", "Running", 10000);
    assert_int_equal(e2e_stop(&srv), 0); /* exit status 0 */
    assert_int_equal(e2e_restart(&srv, NULL), 0);
    df_wait_status(&srv, "stop-sleep", "Completed", 20000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_restart_with_new_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_killed_mid_job_loses_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_stopped_mid_job_resumes, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
