/*
 * test_df_matrix.c — end to end: the status-code matrix of spec 1.16,
 * operation by state, with durata's documented differences (409 where DF
 * answers 500; purge of a live instance answers 200 {"instancesDeleted":0}).
 * States come from the built-in job orchestration: Pending (a scheduled
 * start an hour away), Running (a sleep job), Suspended, Completed (echo),
 * Failed (fail), Terminated; "missing" is an unknown id. ContinuedAsNew is
 * transient (JobMonitor passes through it between polls) and cannot be held
 * still for a test; the engine treats it like Running for every operation.
 * Also: raiseEvent's content checks and delivery, case-insensitive
 * operation names, rewind of a failed job.
 * One server for the whole file.
 */
#include "test_df_support.h"

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

/* Expected codes of the operations that do not change a terminal or
 * missing instance. */
struct expect {
    long get, raise, terminate, suspend, resume, rewind;
};

static void
check_still_ops(const char *id, const struct expect *x)
{
    char path[300];

    df_inst(path, sizeof(path), id, NULL);
    assert_int_equal(df_status(&srv, "GET", path, NULL, NULL), x->get);
    assert_int_equal(df_raise(&srv, id, "ping", "{\"n\":1}"), x->raise);
    assert_int_equal(df_op(&srv, id, "terminate?reason=r"), x->terminate);
    assert_int_equal(df_op(&srv, id, "suspend?reason=r"), x->suspend);
    assert_int_equal(df_op(&srv, id, "resume?reason=r"), x->resume);
    if (x->rewind)
        assert_int_equal(df_op(&srv, id, "rewind?reason=r"), x->rewind);
}

/* Start with the same id (the default reuse policy). */
static long
start_same(const char *id)
{
    char path[300];

    df_fmt(path, sizeof(path), DF "/orchestrators/durata.Job/%s", id);
    return df_status(&srv, "POST", path, "{\"job_type\":\"echo\"}", NULL);
}

static long
restart_same(const char *id)
{
    return df_op(&srv, id, "restart?restartWithNewInstanceId=false");
}

static void
test_matrix_missing(void **state)
{
    const struct expect x = {404, 404, 404, 404, 404, 404};
    long deleted;

    (void)state;
    check_still_ops("nobody-home", &x);
    assert_int_equal(df_purge(&srv, "nobody-home", &deleted), 404);
    assert_int_equal(restart_same("nobody-home"), 400); /* as DF */
    assert_int_equal(df_op(&srv, "nobody-home", "restart"), 400);
}

/* A job that stays Pending for an hour. */
static void
start_pending(const char *id)
{
    char path[300], at[64];

    df_fmt(path, sizeof(path), DF "/orchestrators/durata.Job/%s?scheduledStartTime=%s", id,
           df_iso(at, sizeof(at), df_now_ms() + 3600 * 1000));
    assert_int_equal(df_status(&srv, "POST", path, "{\"job_type\":\"echo\"}", NULL), 202);
}

static void
test_matrix_pending(void **state)
{
    char path[300];
    long deleted;

    (void)state;
    start_pending("pend-1");
    assert_int_equal(
        df_status(&srv, "GET", df_inst(path, sizeof(path), "pend-1", NULL), NULL, NULL), 202);
    assert_int_equal(df_raise(&srv, "pend-1", "early", "true"), 202);
    assert_int_equal(df_op(&srv, "pend-1", "resume"), 409);
    assert_int_equal(df_op(&srv, "pend-1", "rewind"), 409);
    assert_int_equal(df_purge(&srv, "pend-1", &deleted), 200);
    assert_int_equal(deleted, 0);
    assert_int_equal(start_same("pend-1"), 409);
    assert_int_equal(restart_same("pend-1"), 409);
    assert_int_equal(df_status(&srv, "GET", path, NULL, NULL), 202); /* nothing was deleted */

    start_pending("pend-2");
    assert_int_equal(df_op(&srv, "pend-2", "suspend"), 202);
    start_pending("pend-3");
    assert_int_equal(df_op(&srv, "pend-3", "terminate?reason=never%20mind"), 202);
    df_wait_status(&srv, "pend-3", "Terminated", 10000); /* it never runs */
}

static void
test_matrix_running_and_suspended(void **state)
{
    long deleted;

    (void)state;
    free(df_start_job(&srv, "live-1", "sleep", "{\"ms\":60000}"));
    df_wait_status(&srv, "live-1", "Running", 10000);
    assert_int_equal(df_status(&srv, "GET", DF "/instances/live-1", NULL, NULL), 202);
    assert_int_equal(df_raise(&srv, "live-1", "ping", "{\"n\":1}"), 202);
    assert_int_equal(df_op(&srv, "live-1", "resume"), 409);
    assert_int_equal(df_op(&srv, "live-1", "rewind"), 409);
    assert_int_equal(df_purge(&srv, "live-1", &deleted), 200);
    assert_int_equal(deleted, 0);
    assert_int_equal(start_same("live-1"), 409);
    assert_int_equal(restart_same("live-1"), 409);

    assert_int_equal(df_op(&srv, "live-1", "suspend?reason=hold"), 202);
    df_wait_status(&srv, "live-1", "Suspended", 10000);
    assert_int_equal(df_status(&srv, "GET", DF "/instances/live-1", NULL, NULL), 202);
    assert_int_equal(df_raise(&srv, "live-1", "ping", "{\"n\":2}"), 202);
    assert_int_equal(df_op(&srv, "live-1", "suspend"), 409);
    assert_int_equal(df_op(&srv, "live-1", "rewind"), 409);
    assert_int_equal(df_purge(&srv, "live-1", &deleted), 200);
    assert_int_equal(deleted, 0);
    assert_int_equal(start_same("live-1"), 409);
    assert_int_equal(restart_same("live-1"), 409);

    assert_int_equal(df_op(&srv, "live-1", "resume?reason=go"), 202);
    df_wait_status(&srv, "live-1", "Running", 10000);
    assert_int_equal(df_op(&srv, "live-1", "terminate?reason=done"), 202);
    df_wait_status(&srv, "live-1", "Terminated", 10000);

    /* Terminating a suspended instance works. */
    free(df_start_job(&srv, "live-2", "sleep", "{\"ms\":60000}"));
    df_wait_status(&srv, "live-2", "Running", 10000);
    assert_int_equal(df_op(&srv, "live-2", "suspend"), 202);
    df_wait_status(&srv, "live-2", "Suspended", 10000);
    assert_int_equal(df_op(&srv, "live-2", "terminate"), 202);
    df_wait_status(&srv, "live-2", "Terminated", 10000);
}

/* The shared checks of a terminal state: 410s, purge, start and restart
 * under the same id. make() creates a fresh instance in that state. */
static void
check_terminal(const char *prefix, void (*make)(const char *id), long rewind)
{
    const struct expect x = {200, 410, 410, 410, 410, rewind};
    char id[64], path[300];
    long deleted;

    make(df_fmt(id, sizeof(id), "%s-a", prefix));
    check_still_ops(id, &x);
    make(df_fmt(id, sizeof(id), "%s-b", prefix));
    assert_int_equal(df_purge(&srv, id, &deleted), 200);
    assert_int_equal(deleted, 1);
    assert_int_equal(df_purge(&srv, id, &deleted), 404);
    assert_int_equal(df_status(&srv, "GET", df_inst(path, sizeof(path), id, NULL), NULL, NULL),
                     404);
    make(df_fmt(id, sizeof(id), "%s-c", prefix));
    assert_int_equal(start_same(id), 202);
    df_wait_status(&srv, id, "Completed", 10000);
    make(df_fmt(id, sizeof(id), "%s-d", prefix));
    assert_int_equal(restart_same(id), 202);
}

static void
make_completed(const char *id)
{
    free(df_start_job(&srv, id, "echo", "1"));
    df_wait_status(&srv, id, "Completed", 10000);
}

static void
make_failed(const char *id)
{
    free(df_start_job(&srv, id, "fail", NULL));
    df_wait_status(&srv, id, "Failed", 10000);
}

/* Terminated before it ran (so no sleeping activity is left behind, and a
 * restart runs the echo job). */
static void
make_terminated(const char *id)
{
    start_pending(id);
    assert_int_equal(df_op(&srv, id, "terminate"), 202);
    df_wait_status(&srv, id, "Terminated", 10000);
}

static void
test_matrix_completed(void **state)
{
    (void)state;
    check_terminal("done", make_completed, 410);
}

static void
test_matrix_failed(void **state)
{
    (void)state;
    check_terminal("failed", make_failed, 0 /* rewind: its own test */);
    assert_int_equal(df_status(&srv, "GET", DF "/instances/failed-a", NULL, NULL), 200);
    assert_int_equal(df_status(&srv, "GET",
                               DF "/instances/failed-a?returnInternalServerErrorOnFailure=true",
                               NULL, NULL),
                     500);
}

static void
test_matrix_terminated(void **state)
{
    (void)state;
    check_terminal("term", make_terminated, 410);
}

/* The index of the first event of type in the history of id, or -1. */
static long
history_index(const char *id, const char *type)
{
    json_t *st = df_get(&srv, id, "?showHistory=true", NULL);
    json_t *h = json_object_get(st, "historyEvents"), *e;
    long found = -1;
    size_t i;

    json_array_foreach(h, i, e) if (found < 0 && !strcmp(df_str(e, "EventType"), type)) found =
        (long)i;
    json_decref(st);
    return found;
}

/* Rewind of a failed job runs the failed task again (the demo "fail" type
 * fails again) after recording ExecutionRewound. */
static void
test_matrix_rewind_failed_job(void **state)
{
    long rewound = -1, completed = -1;
    json_t *st, *e;

    (void)state;
    make_failed("rewind-1");
    assert_int_equal(df_op(&srv, "rewind-1", "rewind?reason=try%20again"), 202);
    for (int i = 0; i < 500 && !(rewound >= 0 && completed > rewound); i++) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        rewound = history_index("rewind-1", "ExecutionRewound");
        completed = history_index("rewind-1", "ExecutionCompleted");
        nanosleep(&ts, NULL);
    }
    assert_true(rewound >= 0);
    assert_true(completed > rewound);
    df_wait_status(&srv, "rewind-1", "Failed", 10000);
    st = df_get(&srv, "rewind-1", "?showHistory=true", NULL);
    e = json_array_get(json_object_get(st, "historyEvents"), (size_t)rewound);
    assert_string_equal(df_str(e, "Reason"), "try again");
    json_decref(st);
    assert_int_equal(df_op(&srv, "rewind-1", "REWIND"), 202); /* case-insensitive */
}

/* EventRaised lands in the history of a running instance. */
static bool
event_recorded(const char *id, const char *name, const char *input)
{
    json_t *st = df_get(&srv, id, "?showHistory=true", NULL), *e;
    bool found = false;
    size_t i;

    json_array_foreach(json_object_get(st, "historyEvents"), i,
                       e) if (!strcmp(df_str(e, "EventType"), "EventRaised") &&
                              !strcmp(df_str(e, "Name"), name) &&
                              df_json_eq(json_object_get(e, "Input"), input)) found = true;
    json_decref(st);
    return found;
}

static void
test_matrix_raise_event_checks(void **state)
{
    static const char *const text[] = {"Content-Type: text/plain", NULL};
    static const char *const no_type[] = {"Content-Type:", NULL}; /* curl: send none */
    static const char *const json_cs[] = {"Content-Type: application/json; charset=utf-8", NULL};
    const char *path = DF "/instances/ev-1/raiseEvent/Approval";
    bool seen = false;

    (void)state;
    free(df_start_job(&srv, "ev-1", "sleep", "{\"ms\":60000}"));
    df_wait_status(&srv, "ev-1", "Running", 10000);
    assert_int_equal(df_status(&srv, "POST", path, "{\"ok\":true}", text), 400);
    assert_int_equal(df_status(&srv, "POST", path, "{\"ok\":true}", no_type), 400);
    assert_int_equal(df_status(&srv, "POST", path, "{\"ok\":", json_cs), 400);
    assert_int_equal(df_status(&srv, "POST", path, "{\"ok\":true}", json_cs), 202);
    assert_int_equal(df_status(&srv, "POST", DF "/instances/ev-1/RAISEEVENT/Other", "", json_cs),
                     202);
    for (int i = 0; i < 500 && !seen; i++) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        seen = event_recorded("ev-1", "Approval", "\"{\\\"ok\\\":true}\"");
        if (!seen)
            nanosleep(&ts, NULL);
    }
    assert_true(seen);
    /* DF's check order: a missing instance is 404 before the content checks. */
    assert_int_equal(df_status(&srv, "POST", DF "/instances/ev-none/raiseEvent/x", "{", text), 404);
    assert_int_equal(df_op(&srv, "ev-1", "Terminate"), 202);
    df_wait_status(&srv, "ev-1", "Terminated", 10000);
    assert_int_equal(df_status(&srv, "POST", path, "{", text), 410);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix_missing),
        cmocka_unit_test(test_matrix_pending),
        cmocka_unit_test(test_matrix_running_and_suspended),
        cmocka_unit_test(test_matrix_completed),
        cmocka_unit_test(test_matrix_failed),
        cmocka_unit_test(test_matrix_terminated),
        cmocka_unit_test(test_matrix_rewind_failed_job),
        cmocka_unit_test(test_matrix_raise_event_checks),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
