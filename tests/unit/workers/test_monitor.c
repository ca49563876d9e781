/*
 * test_monitor.c — "JobMonitor" (seed 003) and its "GetJobStatus" activity:
 * polling with continue-as-new until the status leaves "Processing",
 * expiry (at once and while polling), the status of real instances, and
 * the rejection of bad input and bad status answers.
 */
#include "support_workers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR_MS 3600000LL

/* A scripted status activity: "Processing" for the first `processing`
 * calls, then `final` (JSON text), or a failure when `fail` is set. */
struct script {
    pthread_mutex_t lock; /* guards calls and last_input */
    int calls;
    char last_input[256];
    int processing;
    const char *final;
    bool fail;
};

#define SCRIPT(p, f)                                                                               \
    {                                                                                              \
        .lock = PTHREAD_MUTEX_INITIALIZER, .processing = (p), .final = (f)                         \
    }

static void
scripted_status(struct durata_activity *a, void *arg)
{
    struct script *sc = arg;
    int n;

    pthread_mutex_lock(&sc->lock);
    n = ++sc->calls;
    snprintf(sc->last_input, sizeof(sc->last_input), "%s",
             durata_activity_input(a) ? durata_activity_input(a) : "null");
    pthread_mutex_unlock(&sc->lock);
    if (sc->fail)
        durata_activity_fail(a, "BackendDown", "the job backend is down", NULL, true);
    else if (n <= sc->processing)
        durata_activity_complete(a, "\"Processing\"");
    else
        durata_activity_complete(a, sc->final);
}

static int
script_calls(struct script *sc)
{
    int n;

    pthread_mutex_lock(&sc->lock);
    n = sc->calls;
    pthread_mutex_unlock(&sc->lock);
    return n;
}

static void
monitor_input(char *buf, size_t size, const char *job, int64_t expire_at, int64_t poll_ms,
              const char *activity)
{
    snprintf(buf, size,
             "{\"jobId\":\"%s\",\"expireAt\":%lld,\"pollIntervalMs\":%lld,"
             "\"statusActivity\":\"%s\"}",
             job, (long long)expire_at, (long long)poll_ms, activity);
}

static void
assert_outcome(const struct durata_instance *inst, const char *job, const char *status)
{
    char expected[256];

    snprintf(expected, sizeof(expected), "{\"jobId\":\"%s\",\"status\":\"%s\"}", job, status);
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(wk_json_equal(inst->output, expected));
    assert_true(wk_json_is_string(inst->custom_status, status));
}

static void
test_continues_as_new_until_done(void **state)
{
    struct script sc = SCRIPT(3, "\"Done\"");
    struct durata_instance *inst = NULL;
    char input[256], id[257], execs[8][128];
    struct wk_fixture *fx = *state;
    struct durata_hub *hub;
    int n_execs = 0, round;

    hub = wk_fixture_hub(fx, true);
    assert_int_equal(durata_register_activity(hub, "TestStatus", scripted_status, &sc), 0);
    monitor_input(input, sizeof(input), "job-1", WK_T0 + HOUR_MS, 1000, "TestStatus");
    wk_start(hub, "JobMonitor", "mon-1", input, id);
    for (round = 0; round < 50; round++) {
        inst = wk_run_and_get(hub, id);
        if (n_execs == 0 || strcmp(execs[n_execs - 1], inst->execution_id) != 0) {
            assert_true(n_execs < 8);
            snprintf(execs[n_execs++], sizeof(execs[0]), "%s", inst->execution_id);
        }
        if (durata_status_is_terminal(inst->status))
            break;
        assert_true(wk_json_is_string(inst->custom_status, "Processing"));
        durata_instance_free(inst);
        atomic_fetch_add(&fx->clock.now_ms, 1000);
    }
    assert_outcome(inst, "job-1", "Done");
    assert_int_equal(script_calls(&sc), 4);
    assert_int_equal(n_execs, 4); /* the first execution + 3 continue-as-new */
    assert_true(wk_json_equal(sc.last_input, "{\"jobId\":\"job-1\"}"));
    assert_true(wk_json_equal(inst->input, input));
    /* The last execution's history holds one poll and no timer. */
    assert_int_equal(wk_history_count(hub, id, DURATA_EV_TASK_SCHEDULED), 1);
    assert_int_equal(wk_history_count(hub, id, DURATA_EV_TIMER_CREATED), 0);
    durata_instance_free(inst);
}

static void
test_continues_as_new_with_threads(void **state)
{
    /* static: the hub's threads may still run when a failed test unwinds. */
    static struct script sc = SCRIPT(3, "\"Done\"");
    struct durata_instance *inst = NULL;
    char input[256], id[257];
    struct wk_fixture *fx = *state;
    struct durata_hub *hub;

    hub = wk_fixture_hub(fx, false);
    assert_int_equal(durata_register_activity(hub, "TestStatus", scripted_status, &sc), 0);
    assert_int_equal(durata_hub_start(hub), 0);
    /* expireAt far in the future of the real clock: year 2100. */
    monitor_input(input, sizeof(input), "job-2", 4102444800000LL, 20, "TestStatus");
    wk_start(hub, "JobMonitor", NULL, input, id);
    assert_int_equal(durata_wait(hub, id, 20000, &inst), 0);
    assert_outcome(inst, "job-2", "Done");
    assert_int_equal(script_calls(&sc), 4);
    durata_instance_free(inst);
}

static void
test_expired_completes_without_polling(void **state)
{
    struct script sc = SCRIPT(0, "\"Done\"");
    struct durata_instance *inst;
    char input[256], id[257];
    struct wk_fixture *fx = *state;
    struct durata_hub *hub;

    hub = wk_fixture_hub(fx, true);
    assert_int_equal(durata_register_activity(hub, "TestStatus", scripted_status, &sc), 0);
    monitor_input(input, sizeof(input), "job-old", WK_T0 - 1, 1000, "TestStatus");
    wk_start(hub, "JobMonitor", NULL, input, id);
    inst = wk_run_and_get(hub, id);
    assert_outcome(inst, "job-old", "Expired");
    durata_instance_free(inst);
    /* expireAt == now counts as expired too. */
    monitor_input(input, sizeof(input), "job-now", WK_T0, 1000, "TestStatus");
    wk_start(hub, "JobMonitor", NULL, input, id);
    inst = wk_run_and_get(hub, id);
    assert_outcome(inst, "job-now", "Expired");
    assert_int_equal(wk_history_count(hub, id, DURATA_EV_TASK_SCHEDULED), 0);
    assert_int_equal(script_calls(&sc), 0);
    durata_instance_free(inst);
}

static void
test_expires_while_processing(void **state)
{
    struct script sc = SCRIPT(1000000, "\"Done\"");
    struct durata_instance *inst;
    char input[256], id[257];
    struct wk_fixture *fx = *state;
    struct durata_hub *hub;

    hub = wk_fixture_hub(fx, true);
    assert_int_equal(durata_register_activity(hub, "TestStatus", scripted_status, &sc), 0);
    monitor_input(input, sizeof(input), "job-slow", WK_T0 + 2500, 1000, "TestStatus");
    wk_start(hub, "JobMonitor", NULL, input, id);
    inst = wk_drive(hub, &fx->clock, id, 500, 20);
    assert_outcome(inst, "job-slow", "Expired");
    /* Polls at WK_T0, +1000 and +2000; the last timer is cut to expireAt,
     * so the monitor ends at WK_T0+2500, not at the next poll time WK_T0+3000. */
    assert_int_equal(script_calls(&sc), 3);
    assert_true(inst->completed_ms >= WK_T0 + 2500 && inst->completed_ms < WK_T0 + 3000);
    durata_instance_free(inst);
}

/* Waits for event "Go"; fails when its data is "fail", else completes. */
static enum durata_orch_result
wait_for_go(struct durata_orch *o, void *arg)
{
    struct durata_task *t = durata_wait_event(o, "Go", -1);

    (void)arg;
    if (!durata_await(o, t))
        return DURATA_YIELD;
    if (wk_json_is_string(durata_task_result(t), "fail"))
        durata_orch_fail(o, "Told", "asked to fail", NULL);
    else
        durata_orch_complete(o, "\"went\"");
    return DURATA_DONE;
}

/* Calls GetJobStatus with its own input and completes with the answer. */
static enum durata_orch_result
call_get_job_status(struct durata_orch *o, void *arg)
{
    struct durata_task *t = durata_call_activity(o, "GetJobStatus", durata_orch_input(o), NULL);
    const struct durata_failure *f;

    (void)arg;
    if (!durata_await(o, t))
        return DURATA_YIELD;
    f = durata_task_failure(t);
    if (durata_task_is_failed(t))
        durata_orch_fail(o, f->error_type, f->message, NULL);
    else
        durata_orch_complete(o, durata_task_result(t));
    return DURATA_DONE;
}

static struct durata_instance *
status_of(struct durata_hub *hub, const char *id)
{
    struct durata_instance *inst = NULL;

    assert_int_equal(durata_get_status(hub, id, &inst), 0);
    return inst;
}

static void
start_monitor(struct durata_hub *hub, const char *mon_id, const char *job)
{
    char input[256], id[257];

    snprintf(input, sizeof(input), "{\"jobId\":\"%s\",\"expireAt\":%lld,\"pollIntervalMs\":1000}",
             job, WK_T0 + HOUR_MS);
    wk_start(hub, "JobMonitor", mon_id, input, id);
}

static void
test_get_job_status_follows_real_instances(void **state)
{
    struct durata_instance *inst;
    struct wk_fixture *fx = *state;
    struct durata_hub *hub;
    char id[257];

    hub = wk_fixture_hub(fx, true);
    assert_int_equal(durata_register_orchestrator(hub, "WaitForGo", wait_for_go, NULL), 0);
    wk_start(hub, "WaitForGo", "target-ok", NULL, id);
    wk_start(hub, "WaitForGo", "target-fail", NULL, id);
    start_monitor(hub, "mon-ok", "target-ok");
    start_monitor(hub, "mon-fail", "target-fail");
    start_monitor(hub, "mon-missing", "no-such-job");
    inst = wk_run_and_get(hub, "mon-ok");
    assert_int_equal(inst->status, DURATA_RUNNING);
    assert_true(wk_json_is_string(inst->custom_status, "Processing"));
    durata_instance_free(inst);
    inst = status_of(hub, "mon-missing");
    assert_outcome(inst, "no-such-job", "NotFound");
    durata_instance_free(inst);

    assert_int_equal(durata_raise_event(hub, "target-ok", "Go", "\"ok\""), 0);
    assert_int_equal(durata_raise_event(hub, "target-fail", "Go", "\"fail\""), 0);
    inst = wk_drive(hub, &fx->clock, "mon-ok", 1000, 5);
    assert_outcome(inst, "target-ok", "Completed");
    durata_instance_free(inst);
    inst = status_of(hub, "mon-fail");
    assert_outcome(inst, "target-fail", "Failed");
    durata_instance_free(inst);
}

static void
test_get_job_status_inputs(void **state)
{
    struct durata_instance *inst;
    struct wk_fixture *fx = *state;
    struct durata_hub *hub;
    char id[257];

    hub = wk_fixture_hub(fx, true);
    assert_int_equal(durata_register_orchestrator(hub, "WaitForGo", wait_for_go, NULL), 0);
    assert_int_equal(durata_register_orchestrator(hub, "CallStatus", call_get_job_status, NULL), 0);
    wk_start(hub, "WaitForGo", "target", NULL, id);
    /* The seed passes the job id alone, as a JSON string. */
    wk_start(hub, "CallStatus", "bare", "\"target\"", id);
    inst = wk_run_and_get(hub, "bare");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(wk_json_is_string(inst->output, "Processing"));
    durata_instance_free(inst);
    assert_int_equal(durata_terminate(hub, "target", "\"stop\"", false), 0);
    inst = wk_run_and_get(hub, "target");
    assert_int_equal(inst->status, DURATA_TERMINATED);
    durata_instance_free(inst);
    wk_start(hub, "CallStatus", "object", "{\"jobId\":\"target\"}", id);
    inst = wk_run_and_get(hub, "object");
    assert_true(wk_json_is_string(inst->output, "Terminated"));
    durata_instance_free(inst);
    wk_start(hub, "CallStatus", "bad", "{\"jobId\":5}", id);
    inst = wk_run_and_get(hub, "bad");
    assert_int_equal(inst->status, DURATA_FAILED);
    assert_string_equal(inst->failure->error_type, "InvalidInput");
    durata_instance_free(inst);
}

static void
test_invalid_input_fails_clearly(void **state)
{
    static const struct {
        const char *input, *field;
    } cases[] = {
        {NULL, "jobId"},
        {"\"job\"", "jobId"},
        {"{\"expireAt\":1}", "jobId"},
        {"{\"jobId\":\"\",\"expireAt\":1}", "jobId"},
        {"{\"jobId\":\"j\"}", "expireAt"},
        {"{\"jobId\":\"j\",\"expireAt\":\"tomorrow\"}", "expireAt"},
        {"{\"jobId\":\"j\",\"expireAt\":1,\"pollIntervalMs\":0}", "pollIntervalMs"},
        {"{\"jobId\":\"j\",\"expireAt\":1,\"pollIntervalMs\":-5}", "pollIntervalMs"},
        {"{\"jobId\":\"j\",\"expireAt\":1,\"pollIntervalMs\":\"5\"}", "pollIntervalMs"},
        {"{\"jobId\":\"j\",\"expireAt\":1,\"statusActivity\":\"\"}", "statusActivity"},
        {"{\"jobId\":\"j\",\"expireAt\":1,\"statusActivity\":7}", "statusActivity"},
    };
    struct wk_fixture *fx = *state;
    struct durata_hub *hub;
    size_t i;

    hub = wk_fixture_hub(fx, true);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct durata_instance *inst;
        char id[257];

        wk_start(hub, "JobMonitor", NULL, cases[i].input, id);
        inst = wk_run_and_get(hub, id);
        assert_int_equal(inst->status, DURATA_FAILED);
        assert_string_equal(inst->failure->error_type, "InvalidInput");
        assert_non_null(strstr(inst->failure->message, cases[i].field));
        durata_instance_free(inst);
    }
}

static void
test_bad_status_answers_fail_the_monitor(void **state)
{
    struct script failing = SCRIPT(0, NULL);
    struct script number = SCRIPT(0, "42");
    struct durata_instance *inst;
    char input[256], id[257];
    struct wk_fixture *fx = *state;
    struct durata_hub *hub;

    failing.fail = true;
    hub = wk_fixture_hub(fx, true);
    assert_int_equal(durata_register_activity(hub, "Failing", scripted_status, &failing), 0);
    assert_int_equal(durata_register_activity(hub, "Number", scripted_status, &number), 0);
    monitor_input(input, sizeof(input), "j1", WK_T0 + HOUR_MS, 1000, "Failing");
    wk_start(hub, "JobMonitor", NULL, input, id);
    inst = wk_drive(hub, &fx->clock, id, 1000, 10);
    assert_int_equal(inst->status, DURATA_FAILED);
    assert_string_equal(inst->failure->error_type, "BackendDown");
    assert_int_equal(script_calls(&failing), 1); /* non-retriable: no retry */
    durata_instance_free(inst);
    monitor_input(input, sizeof(input), "j2", WK_T0 + HOUR_MS, 1000, "Number");
    wk_start(hub, "JobMonitor", NULL, input, id);
    inst = wk_drive(hub, &fx->clock, id, 1000, 10);
    assert_int_equal(inst->status, DURATA_FAILED);
    assert_string_equal(inst->failure->error_type, "InvalidStatus");
    durata_instance_free(inst);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        WK_TEST(test_continues_as_new_until_done),
        WK_TEST(test_continues_as_new_with_threads),
        WK_TEST(test_expired_completes_without_polling),
        WK_TEST(test_expires_while_processing),
        WK_TEST(test_get_job_status_follows_real_instances),
        WK_TEST(test_get_job_status_inputs),
        WK_TEST(test_invalid_input_fails_clearly),
        WK_TEST(test_bad_status_answers_fail_the_monitor),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
