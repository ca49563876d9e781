/*
 * test_timers.c — time-driven behaviour with the fake clock: durable
 * timers fire at their time and not before, a scheduled start stays
 * Pending until its time (an event raised meanwhile is delivered after the
 * start), and a retry policy retries a failing activity on durable timers.
 */
#include "support_engine.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int flaky_calls;
static int flaky_failures; /* how many first calls fail */
static int64_t flaky_last_call_ms;
static struct eng *cur;

/* Fails the first flaky_failures calls, then returns the attempt number. */
static void
act_flaky(struct durata_activity *a, void *arg)
{
    (void)arg;
    flaky_calls++;
    flaky_last_call_ms = eng_now(cur);
    if (flaky_calls <= flaky_failures) {
        durata_activity_fail(a, "Transient", "try again", NULL, false);
        return;
    }
    char *out = eng_json_of_int(flaky_calls);
    durata_activity_complete(a, out);
    free(out);
}

/* Waits 5 s on a durable timer, then completes with the time it saw. */
static enum durata_orch_result
orch_timer(struct durata_orch *o, void *arg)
{
    (void)arg;
    struct durata_task *t = durata_create_timer(o, durata_orch_now(o) + 5000);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    char *out = eng_json_of_int(durata_orch_now(o));
    durata_orch_complete(o, out);
    free(out);
    return DURATA_DONE;
}

/* Waits for "hello" and completes with its data. */
static enum durata_orch_result
orch_wait_hello(struct durata_orch *o, void *arg)
{
    (void)arg;
    struct durata_task *t = durata_wait_event(o, "hello", -1);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    durata_orch_complete(o, durata_task_result(t));
    return DURATA_DONE;
}

/* Calls Flaky with a retry policy (4 attempts, 1 s apart). */
static enum durata_orch_result
orch_retry(struct durata_orch *o, void *arg)
{
    (void)arg;
    struct durata_retry_policy p = {
        .max_attempts = 4,
        .first_interval_ms = 1000,
        .backoff_coefficient = 1.0,
    };
    struct durata_task *t = durata_call_activity(o, "Flaky", NULL, &p);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    if (durata_task_is_failed(t)) {
        durata_orch_fail(o, durata_task_failure(t)->error_type, durata_task_failure(t)->message,
                         NULL);
        return DURATA_DONE;
    }
    durata_orch_complete(o, durata_task_result(t));
    return DURATA_DONE;
}

static int
setup(void **state)
{
    int rc = eng_setup(state);
    struct eng *e = *state;

    if (rc == 0) {
        eng_act(e, "Flaky", act_flaky, NULL);
        eng_orch(e, "Timer", orch_timer, NULL);
        eng_orch(e, "WaitHello", orch_wait_hello, NULL);
        eng_orch(e, "Retry", orch_retry, NULL);
    }
    cur = e;
    flaky_calls = flaky_failures = 0;
    flaky_last_call_ms = 0;
    return rc;
}

static void
test_timer_does_not_fire_before_its_time(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Timer", "t1", NULL, id);
    eng_run(e);
    assert_int_equal(eng_status(e, "t1"), DURATA_RUNNING);
    assert_int_equal(eng_history_count(e, "t1", DURATA_EV_TIMER_CREATED), 1);
    eng_advance(e, 4999);
    eng_run(e);
    assert_int_equal(eng_status(e, "t1"), DURATA_RUNNING);
    assert_int_equal(eng_history_count(e, "t1", DURATA_EV_TIMER_FIRED), 0);
}

static void
test_timer_fires_at_its_time(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Timer", "t2", NULL, id);
    eng_run(e);
    eng_advance(e, 4999);
    eng_run(e);
    eng_advance(e, 1);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "t2");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    /* The orchestration's clock after the timer is the step that saw it. */
    assert_int_equal(eng_json_int(inst->output), ENG_T0 + 5000);
    assert_int_equal(inst->completed_ms, ENG_T0 + 5000);
    durata_instance_free(inst);
    assert_int_equal(eng_history_count(e, "t2", DURATA_EV_TIMER_FIRED), 1);
    char *fired = eng_history_event(e, "t2", DURATA_EV_TIMER_FIRED, 0);
    assert_non_null(fired);
    assert_int_equal(eng_json_member_int(fired, "TimerId"), 0);
    free(fired);
}

static void
test_scheduled_start_stays_pending_until_its_time(void **state)
{
    struct eng *e = *state;
    struct durata_start_options o = {
        .name = "WaitHello",
        .instance_id = "later",
        .scheduled_start_ms = ENG_T0 + 10000,
    };
    char id[257];

    assert_int_equal(durata_start(e->hub, &o, id, sizeof(id)), 0);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "later");
    assert_int_equal(inst->status, DURATA_PENDING);
    assert_int_equal(inst->scheduled_start_ms, ENG_T0 + 10000);
    durata_instance_free(inst);
    eng_advance(e, 9999);
    eng_run(e);
    assert_int_equal(eng_status(e, "later"), DURATA_PENDING);
    eng_advance(e, 1);
    eng_run(e);
    assert_int_equal(eng_status(e, "later"), DURATA_RUNNING);
}

static void
test_event_raised_before_scheduled_start_is_delivered_after(void **state)
{
    struct eng *e = *state;
    struct durata_start_options o = {
        .name = "WaitHello",
        .instance_id = "early-event",
        .scheduled_start_ms = ENG_T0 + 10000,
    };
    char id[257];

    assert_int_equal(durata_start(e->hub, &o, id, sizeof(id)), 0);
    eng_run(e);
    assert_int_equal(durata_raise_event(e->hub, "early-event", "hello", "{\"x\":1}"), 0);
    /* The event must wait for the start (and not keep the hub busy). */
    eng_run(e);
    assert_int_equal(eng_status(e, "early-event"), DURATA_PENDING);
    eng_advance(e, 5000);
    eng_run(e);
    assert_int_equal(eng_status(e, "early-event"), DURATA_PENDING);
    eng_advance(e, 5000);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "early-event");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(eng_json_equal(inst->output, "{\"x\":1}"));
    durata_instance_free(inst);
}

static void
test_retry_policy_retries_on_durable_timers(void **state)
{
    struct eng *e = *state;
    char id[257];

    flaky_failures = 2;
    eng_start(e, "Retry", "retry", NULL, id);
    eng_run(e);
    assert_int_equal(flaky_calls, 1);
    assert_int_equal(eng_status(e, "retry"), DURATA_RUNNING);

    /* The retry timer is due 1000 ms after the failure, not before. */
    eng_advance(e, 999);
    eng_run(e);
    assert_int_equal(flaky_calls, 1);
    eng_advance(e, 1);
    eng_run(e);
    assert_int_equal(flaky_calls, 2);
    assert_int_equal(flaky_last_call_ms, ENG_T0 + 1000);
    assert_int_equal(eng_status(e, "retry"), DURATA_RUNNING);

    eng_advance(e, 1000);
    eng_run(e);
    assert_int_equal(flaky_calls, 3);
    struct durata_instance *inst = eng_get(e, "retry");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_int_equal(eng_json_int(inst->output), 3); /* the third attempt's result */
    durata_instance_free(inst);
    assert_int_equal(eng_history_count(e, "retry", DURATA_EV_TASK_SCHEDULED), 3);
    assert_int_equal(eng_history_count(e, "retry", DURATA_EV_TASK_FAILED), 2);
    assert_int_equal(eng_history_count(e, "retry", DURATA_EV_TASK_COMPLETED), 1);
    assert_int_equal(eng_history_count(e, "retry", DURATA_EV_TIMER_FIRED), 2);
}

static void
test_retry_policy_gives_up_after_max_attempts(void **state)
{
    struct eng *e = *state;
    char id[257];

    flaky_failures = 100;
    eng_start(e, "Retry", "retry-out", NULL, id);
    eng_run(e);
    for (int i = 0; i < 10; i++) {
        eng_advance(e, 1000);
        eng_run(e);
    }
    assert_int_equal(flaky_calls, 4);
    struct durata_instance *inst = eng_get(e, "retry-out");
    assert_int_equal(inst->status, DURATA_FAILED);
    assert_non_null(inst->failure);
    assert_string_equal(inst->failure->error_type, "Transient");
    durata_instance_free(inst);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_timer_does_not_fire_before_its_time, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_timer_fires_at_its_time, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_scheduled_start_stays_pending_until_its_time, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_event_raised_before_scheduled_start_is_delivered_after,
                                        setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_retry_policy_retries_on_durable_timers, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_retry_policy_gives_up_after_max_attempts, setup,
                                        eng_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
