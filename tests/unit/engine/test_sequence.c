/*
 * test_sequence.c — orchestrations of activities: a 3-step sequence and its
 * history, a fan-out/fan-in of 50 activities through durata_when_all, and
 * custom status as durata_get_status shows it between steps.
 */
#include "support_engine.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hello_calls;
static int square_calls;

/* "Hello <name>!" for a JSON string input. */
static void
act_hello(struct durata_activity *a, void *arg)
{
    (void)arg;
    json_t *in = json_loads(durata_activity_input(a), JSON_DECODE_ANY, NULL);
    char text[256];

    hello_calls++;
    if (!json_is_string(in)) {
        json_decref(in);
        durata_activity_fail(a, "BadInput", "expected a string", NULL, true);
        return;
    }
    snprintf(text, sizeof(text), "Hello %s!", json_string_value(in));
    json_decref(in);
    char *out = eng_json_of_str(text);
    durata_activity_complete(a, out);
    free(out);
}

static void
act_square(struct durata_activity *a, void *arg)
{
    (void)arg;
    long long n = eng_json_int(durata_activity_input(a));
    char *out = eng_json_of_int(n * n);

    square_calls++;
    durata_activity_complete(a, out);
    free(out);
}

/* Hello for Tokyo, Seattle and London in turn; the output is the array. */
static enum durata_orch_result
orch_sequence(struct durata_orch *o, void *arg)
{
    static const char *const cities[] = {"\"Tokyo\"", "\"Seattle\"", "\"London\""};
    char out[512];
    size_t len = 0;

    (void)arg;
    len += (size_t)snprintf(out + len, sizeof(out) - len, "[");
    for (int i = 0; i < 3; i++) {
        struct durata_task *t = durata_call_activity(o, "Hello", cities[i], NULL);
        if (!durata_await(o, t))
            return DURATA_YIELD;
        if (durata_task_is_failed(t)) {
            durata_orch_fail(o, "Unexpected", durata_task_failure(t)->message, NULL);
            return DURATA_DONE;
        }
        len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s", i ? "," : "",
                                durata_task_result(t));
    }
    snprintf(out + len, sizeof(out) - len, "]");
    durata_orch_complete(o, out);
    return DURATA_DONE;
}

#define FAN 50

/* Squares 0..FAN-1 in parallel and sums them. */
static enum durata_orch_result
orch_fan(struct durata_orch *o, void *arg)
{
    struct durata_task *tasks[FAN];
    char in[32];

    (void)arg;
    for (int i = 0; i < FAN; i++) {
        snprintf(in, sizeof(in), "%d", i);
        tasks[i] = durata_call_activity(o, "Square", in, NULL);
    }
    struct durata_task *all = durata_when_all(o, tasks, FAN);
    if (!durata_await(o, all))
        return DURATA_YIELD;
    if (durata_task_is_failed(all)) {
        durata_orch_fail(o, "Unexpected", "a square failed", NULL);
        return DURATA_DONE;
    }
    long long sum = 0;
    for (int i = 0; i < FAN; i++)
        sum += eng_json_int(durata_task_result(tasks[i]));
    char *out = eng_json_of_int(sum);
    durata_orch_complete(o, out);
    free(out);
    return DURATA_DONE;
}

/* Custom status before and after an activity. */
static enum durata_orch_result
orch_status(struct durata_orch *o, void *arg)
{
    (void)arg;
    if (durata_orch_set_custom_status(o, "{\"phase\":\"working\",\"pct\":10}") != 0) {
        durata_orch_fail(o, "Unexpected", "set_custom_status", NULL);
        return DURATA_DONE;
    }
    struct durata_task *t = durata_call_activity(o, "Hello", "\"status\"", NULL);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    if (durata_orch_set_custom_status(o, "{\"phase\":\"done\"}") != 0) {
        durata_orch_fail(o, "Unexpected", "set_custom_status", NULL);
        return DURATA_DONE;
    }
    durata_orch_complete(o, durata_task_result(t));
    return DURATA_DONE;
}

/* Custom status over the limit: the set call fails, the code reports it. */
static enum durata_orch_result
orch_big_status(struct durata_orch *o, void *arg)
{
    (void)arg;
    char big[300];
    memset(big, 'x', sizeof(big));
    big[0] = '"';
    big[sizeof(big) - 2] = '"';
    big[sizeof(big) - 1] = '\0';
    int rc = durata_orch_set_custom_status(o, big);
    char out[32];
    snprintf(out, sizeof(out), "%d", rc);
    durata_orch_complete(o, out);
    return DURATA_DONE;
}

static int
setup(void **state)
{
    int rc = eng_setup(state);
    struct eng *e = *state;

    if (rc == 0) {
        eng_act(e, "Hello", act_hello, NULL);
        eng_act(e, "Square", act_square, NULL);
        eng_orch(e, "Sequence", orch_sequence, NULL);
        eng_orch(e, "Fan", orch_fan, NULL);
        eng_orch(e, "Status", orch_status, NULL);
        eng_orch(e, "BigStatus", orch_big_status, NULL);
    }
    hello_calls = square_calls = 0;
    return rc;
}

static void
test_sequence_of_three_activities_completes(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Sequence", "seq", NULL, id);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "seq");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(
        eng_json_equal(inst->output, "[\"Hello Tokyo!\",\"Hello Seattle!\",\"Hello London!\"]"));
    durata_instance_free(inst);
    assert_int_equal(hello_calls, 3);
}

static void
test_sequence_history_is_in_order(void **state)
{
    struct eng *e = *state;
    enum durata_event_type want[] = {
        DURATA_EV_EXECUTION_STARTED, DURATA_EV_TASK_SCHEDULED,      DURATA_EV_TASK_COMPLETED,
        DURATA_EV_TASK_SCHEDULED,    DURATA_EV_TASK_COMPLETED,      DURATA_EV_TASK_SCHEDULED,
        DURATA_EV_TASK_COMPLETED,    DURATA_EV_EXECUTION_COMPLETED,
    };
    enum durata_event_type got[32];
    char id[257];

    eng_start(e, "Sequence", "seqh", NULL, id);
    eng_run(e);
    size_t n = eng_history_types(e, "seqh", got, 32);
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++) {
        if (got[i] != want[i])
            fail_msg("event %zu is %s, expected %s", i, durata_event_type_name(got[i]),
                     durata_event_type_name(want[i]));
    }
    /* Each completion names its TaskScheduled (ids 0, 1, 2). */
    for (size_t k = 0; k < 3; k++) {
        char *sched = eng_history_event(e, "seqh", DURATA_EV_TASK_SCHEDULED, k);
        char *done = eng_history_event(e, "seqh", DURATA_EV_TASK_COMPLETED, k);
        assert_int_equal(eng_json_member_int(sched, "EventId"), (long long)k);
        assert_int_equal(eng_json_member_int(done, "TaskScheduledId"), (long long)k);
        char *name = eng_json_member_str(sched, "Name");
        assert_non_null(name);
        assert_string_equal(name, "Hello");
        free(name);
        free(sched);
        free(done);
    }
    struct durata_history *h = NULL;
    assert_int_equal(durata_get_history(e->hub, "seqh", &h), 0);
    for (size_t i = 0; i < h->count; i++) {
        assert_non_null(h->events[i].json);
        assert_true(h->events[i].timestamp_ms >= ENG_T0);
    }
    durata_history_free(h);
}

static void
test_history_of_missing_instance_is_enotfound(void **state)
{
    struct eng *e = *state;
    struct durata_history *h = (struct durata_history *)1;

    assert_int_equal(durata_get_history(e->hub, "nobody", &h), DURATA_ENOTFOUND);
    assert_null(h);
}

static void
test_fan_out_fan_in_of_50(void **state)
{
    struct eng *e = *state;
    char id[257];
    long long want = 0;

    for (int i = 0; i < FAN; i++)
        want += (long long)i * i;
    eng_start(e, "Fan", "fan", NULL, id);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "fan");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_int_equal(eng_json_int(inst->output), want);
    durata_instance_free(inst);
    assert_int_equal(square_calls, FAN);
    assert_int_equal(eng_history_count(e, "fan", DURATA_EV_TASK_SCHEDULED), FAN);
    assert_int_equal(eng_history_count(e, "fan", DURATA_EV_TASK_COMPLETED), FAN);
    assert_int_equal(eng_history_count(e, "fan", DURATA_EV_EXECUTION_COMPLETED), 1);
}

static void
test_custom_status_visible_after_a_step(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Status", "cs", NULL, id);
    struct durata_instance *inst = eng_get(e, "cs");
    assert_null(inst->custom_status);
    durata_instance_free(inst);

    /* One step: the activity is scheduled, not run. */
    assert_true(durata_hub_run_pending(e->hub, 1) >= 1);
    inst = eng_get(e, "cs");
    assert_int_equal(inst->status, DURATA_RUNNING);
    assert_true(eng_json_equal(inst->custom_status, "{\"phase\":\"working\",\"pct\":10}"));
    durata_instance_free(inst);
    assert_int_equal(hello_calls, 0);

    eng_run(e);
    inst = eng_get(e, "cs");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(eng_json_equal(inst->custom_status, "{\"phase\":\"done\"}"));
    assert_true(eng_json_equal(inst->output, "\"Hello status!\""));
    durata_instance_free(inst);
}

static void
test_custom_status_over_limit_is_etoobig(void **state)
{
    struct eng *e = *state;
    struct durata_hub_options o = {.max_custom_status_bytes = 100};
    char id[257];

    eng_reopen(e, &o);
    eng_orch(e, "BigStatus", orch_big_status, NULL);
    eng_start(e, "BigStatus", "big", NULL, id);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "big");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_int_equal(eng_json_int(inst->output), DURATA_ETOOBIG);
    assert_null(inst->custom_status);
    durata_instance_free(inst);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sequence_of_three_activities_completes, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_sequence_history_is_in_order, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_history_of_missing_instance_is_enotfound, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_fan_out_fan_in_of_50, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_custom_status_visible_after_a_step, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_custom_status_over_limit_is_etoobig, setup,
                                        eng_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
