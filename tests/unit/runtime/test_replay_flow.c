/*
 * test_replay_flow.c — replay of whole orchestrations over successive
 * steps: sequences, fan-out/fan-in, sub-orchestrations, the deterministic
 * clock and ids, and how the function's return value becomes a completion.
 */
#include "support_sim.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ------------------------------------------------------------ sequence */

static enum durata_orch_result
orch_sequence(struct durata_orch *o, void *arg)
{
    static const char *names[] = {"A", "B", "C"};
    const char *results[3];
    const char *prev = durata_orch_input(o);
    char out[256];

    (void)arg;
    for (int i = 0; i < 3; i++) {
        struct durata_task *t = durata_call_activity(o, names[i], prev, NULL);

        if (!durata_await(o, t))
            return DURATA_YIELD;
        if (durata_task_is_failed(t)) {
            durata_orch_fail(o, "StepFailed", durata_task_failure(t)->message, NULL);
            return DURATA_DONE;
        }
        results[i] = prev = durata_task_result(t);
    }
    snprintf(out, sizeof(out), "[%s,%s,%s]", results[0], results[1], results[2]);
    durata_orch_complete(o, out);
    return DURATA_DONE;
}

static void
test_sequence_of_three_activities_completes_with_combined_output(void **state)
{
    static const char *names[] = {"A", "B", "C"};
    static const char *inputs[] = {"\"in\"", "1", "2"};
    static const char *results[] = {"1", "2", "3"};
    struct sim s;

    (void)state;
    sim_init(&s, "\"in\"", SIM_T0);
    for (int step = 0; step < 3; step++) {
        assert_int_equal(sim_step(&s, orch_sequence, NULL), 0);
        assert_int_equal(s.out.completion, DT_PENDING);
        assert_int_equal(s.out.n_actions, 1);
        assert_int_equal(sim_action(&s, 0)->kind, DT_ACT_SCHEDULE_TASK);
        assert_int_equal(sim_action(&s, 0)->id, step);
        assert_string_equal(sim_action(&s, 0)->name, names[step]);
        assert_string_equal(sim_action(&s, 0)->input, inputs[step]);
        sim_begin(&s, SIM_T0 + 1000 * (step + 1));
        sim_task_done(&s, step, results[step]);
    }
    assert_int_equal(sim_step(&s, orch_sequence, NULL), 0);
    assert_int_equal(s.out.completion, DT_COMPLETED);
    assert_int_equal(s.out.n_actions, 0);
    assert_string_equal(s.out.output, "[1,2,3]");
    assert_null(s.out.failure);
    sim_release(&s);
}

static void
test_sequence_failure_reaches_the_code(void **state)
{
    struct sim s;

    (void)state;
    sim_init(&s, "\"in\"", SIM_T0);
    assert_int_equal(sim_step(&s, orch_sequence, NULL), 0);
    sim_begin(&s, SIM_T0 + 1000);
    sim_task_failed(&s, 0, "bad input", false);
    assert_int_equal(sim_step(&s, orch_sequence, NULL), 0);
    assert_int_equal(s.out.completion, DT_FAILED);
    assert_string_equal(s.out.failure->error_type, "StepFailed");
    assert_string_equal(s.out.failure->message, "bad input");
    sim_release(&s);
}

/* ------------------------------------------------------ fan-out/fan-in */

#define FAN 100

static enum durata_orch_result
orch_fan(struct durata_orch *o, void *arg)
{
    struct durata_task *tasks[FAN], *all;
    char input[16];

    (void)arg;
    for (int i = 0; i < FAN; i++) {
        snprintf(input, sizeof(input), "%d", i);
        tasks[i] = durata_call_activity(o, "Work", input, NULL);
    }
    all = durata_when_all(o, tasks, FAN);
    if (!durata_await(o, all))
        return DURATA_YIELD;
    durata_orch_complete(o, durata_task_result(all));
    return DURATA_DONE;
}

static void
test_fan_out_fan_in_of_100_collects_results_in_call_order(void **state)
{
    int order[FAN];
    char expect[FAN * 8] = "[", result[16];
    unsigned seed = 12345;
    struct sim s;

    (void)state;
    for (int i = 0; i < FAN; i++)
        order[i] = i;
    for (int i = FAN - 1; i > 0; i--) { /* a fixed shuffle */
        int j, tmp;

        seed = seed * 1103515245u + 12345u;
        j = (int)((seed >> 16) % (unsigned)(i + 1));
        tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    sim_init(&s, NULL, SIM_T0);
    assert_int_equal(sim_step(&s, orch_fan, NULL), 0);
    assert_int_equal(s.out.completion, DT_PENDING);
    assert_int_equal(s.out.n_actions, FAN);
    for (int i = 0; i < FAN; i++) {
        snprintf(result, sizeof(result), "%d", i);
        assert_int_equal(sim_action(&s, (size_t)i)->id, i);
        assert_string_equal(sim_action(&s, (size_t)i)->input, result);
    }
    for (int batch = 0; batch < 4; batch++) {
        assert_int_equal(s.out.completion, DT_PENDING);
        sim_begin(&s, SIM_T0 + 1000 * (batch + 1));
        for (int k = batch * 25; k < (batch + 1) * 25; k++) {
            snprintf(result, sizeof(result), "%d", order[k] * 10);
            sim_task_done(&s, order[k], result);
        }
        assert_int_equal(sim_step(&s, orch_fan, NULL), 0);
        assert_int_equal(s.out.n_actions, 0);
    }
    assert_int_equal(s.out.completion, DT_COMPLETED);
    for (int i = 0; i < FAN; i++)
        snprintf(expect + strlen(expect), sizeof(expect) - strlen(expect), "%s%d", i ? "," : "",
                 i * 10);
    snprintf(expect + strlen(expect), sizeof(expect) - strlen(expect), "]");
    assert_string_equal(s.out.output, expect);
    sim_release(&s);
}

static enum durata_orch_result
orch_all_fail(struct durata_orch *o, void *arg)
{
    struct durata_task *t[3], *all;

    (void)arg;
    t[0] = durata_call_activity(o, "A", NULL, NULL);
    t[1] = durata_call_activity(o, "B", NULL, NULL);
    t[2] = durata_call_activity(o, "C", NULL, NULL);
    all = durata_when_all(o, t, 3);
    if (!durata_await(o, all))
        return DURATA_YIELD;
    assert_true(durata_task_is_failed(all));
    assert_null(durata_task_result(all));
    durata_orch_fail(o, "AllFailed", durata_task_failure(all)->message, NULL);
    return DURATA_DONE;
}

static void
test_when_all_waits_for_all_then_fails_with_the_first_failure(void **state)
{
    struct sim s;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    assert_int_equal(sim_step(&s, orch_all_fail, NULL), 0);
    sim_begin(&s, SIM_T0 + 10);
    sim_task_failed(&s, 2, "c failed", false);
    sim_task_failed(&s, 1, "b failed", false);
    assert_int_equal(sim_step(&s, orch_all_fail, NULL), 0);
    assert_int_equal(s.out.completion, DT_PENDING); /* A is still running */
    sim_begin(&s, SIM_T0 + 20);
    sim_task_done(&s, 0, "1");
    assert_int_equal(sim_step(&s, orch_all_fail, NULL), 0);
    assert_int_equal(s.out.completion, DT_FAILED);
    assert_string_equal(s.out.failure->message, "b failed");
    sim_release(&s);
}

/* --------------------------------------------------- sub-orchestrations */

static enum durata_orch_result
orch_subs(struct durata_orch *o, void *arg)
{
    struct durata_task *t[2], *all;

    (void)arg;
    for (int i = 0; i < 17; i++)
        durata_send_event(o, "other", "ping", NULL);
    t[0] = durata_call_sub_orchestrator(o, "Child", NULL, "{\"n\":1}", NULL);
    t[1] = durata_call_sub_orchestrator(o, "Child", "kid-2", NULL, NULL);
    all = durata_when_all(o, t, 2);
    if (!durata_await(o, all))
        return DURATA_YIELD;
    if (durata_task_is_failed(all)) {
        durata_orch_fail(o, durata_task_failure(all)->error_type, durata_task_failure(all)->message,
                         NULL);
        return DURATA_DONE;
    }
    durata_orch_complete(o, durata_task_result(all));
    return DURATA_DONE;
}

static void
test_sub_orchestration_ids_are_derived_from_execution_and_action_id(void **state)
{
    struct sim s;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    assert_int_equal(sim_step(&s, orch_subs, NULL), 0);
    assert_int_equal(s.out.n_actions, 19);
    assert_int_equal(sim_action(&s, 0)->kind, DT_ACT_SEND_EVENT);
    assert_string_equal(sim_action(&s, 0)->instance_id, "other");
    assert_string_equal(sim_action(&s, 0)->name, "ping");
    assert_int_equal(sim_action(&s, 17)->kind, DT_ACT_CREATE_SUB);
    assert_int_equal(sim_action(&s, 17)->id, 17);
    assert_string_equal(sim_action(&s, 17)->instance_id, "exec-1:0011");
    assert_string_equal(sim_action(&s, 17)->name, "Child");
    assert_string_equal(sim_action(&s, 17)->input, "{\"n\":1}");
    assert_string_equal(sim_action(&s, 18)->instance_id, "kid-2");
    assert_null(sim_action(&s, 18)->input);

    sim_begin(&s, SIM_T0 + 100);
    sim_sub_done(&s, 18, "\"two\"");
    sim_sub_done(&s, 17, "{\"one\":1}");
    assert_int_equal(sim_run(&s, orch_subs, NULL), 0);
    assert_int_equal(s.out.completion, DT_COMPLETED);
    assert_int_equal(s.out.n_actions, 0);
    assert_string_equal(s.out.output, "[{\"one\":1},\"two\"]");
    sim_release(&s);
}

static void
test_sub_orchestration_failure_is_the_task_failure(void **state)
{
    struct sim s;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    assert_int_equal(sim_step(&s, orch_subs, NULL), 0);
    sim_begin(&s, SIM_T0 + 100);
    sim_sub_done(&s, 17, "1");
    sim_sub_failed(&s, 18, "child broke");
    assert_int_equal(sim_step(&s, orch_subs, NULL), 0);
    assert_int_equal(s.out.completion, DT_FAILED);
    assert_string_equal(s.out.failure->error_type, "ChildError");
    assert_string_equal(s.out.failure->message, "child broke");
    sim_release(&s);
}

/* ------------------------------------------------- clock, replay, uuids */

struct clock_log {
    int64_t now[4];
    bool replaying[4];
    char uuid[3][37];
};

static enum durata_orch_result
orch_clock(struct durata_orch *o, void *arg)
{
    struct clock_log *log = arg;
    struct durata_task *a, *timer;

    memset(log, 0, sizeof(*log));
    log->now[0] = durata_orch_now(o);
    log->replaying[0] = durata_orch_is_replaying(o);
    durata_orch_new_uuid(o, log->uuid[0]);
    durata_orch_new_uuid(o, log->uuid[1]);
    a = durata_call_activity(o, "A", NULL, NULL);
    if (!durata_await(o, a))
        return DURATA_YIELD;
    log->now[1] = durata_orch_now(o);
    log->replaying[1] = durata_orch_is_replaying(o);
    durata_orch_new_uuid(o, log->uuid[2]);
    timer = durata_create_timer(o, durata_orch_now(o) + 60000);
    if (!durata_await(o, timer))
        return DURATA_YIELD;
    log->now[2] = durata_orch_now(o);
    log->replaying[2] = durata_orch_is_replaying(o);
    durata_orch_complete(o, NULL);
    return DURATA_DONE;
}

static void
test_now_advances_with_awaits_and_is_replaying_follows_the_cursor(void **state)
{
    struct clock_log log;
    struct sim s;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    assert_int_equal(sim_step(&s, orch_clock, &log), 0);
    assert_int_equal(log.now[0], SIM_T0);
    assert_false(log.replaying[0]);

    sim_begin(&s, SIM_T0 + 5000);
    sim_task_done(&s, 0, NULL);
    assert_int_equal(sim_step(&s, orch_clock, &log), 0);
    assert_int_equal(log.now[0], SIM_T0);
    assert_true(log.replaying[0]);
    assert_int_equal(log.now[1], SIM_T0 + 5000);
    assert_false(log.replaying[1]);
    assert_int_equal(s.out.n_actions, 1);
    assert_int_equal(sim_action(&s, 0)->kind, DT_ACT_CREATE_TIMER);
    assert_int_equal(sim_action(&s, 0)->id, 1);
    assert_int_equal(sim_action(&s, 0)->fire_at_ms, SIM_T0 + 5000 + 60000);

    sim_begin(&s, SIM_T0 + 65000);
    sim_timer_fired(&s, 1);
    assert_int_equal(sim_step(&s, orch_clock, &log), 0);
    assert_int_equal(log.now[1], SIM_T0 + 5000);
    assert_true(log.replaying[1]);
    assert_int_equal(log.now[2], SIM_T0 + 65000);
    assert_false(log.replaying[2]);
    assert_int_equal(s.out.completion, DT_COMPLETED);
    assert_null(s.out.output);
    sim_release(&s);
}

static void
test_new_uuid_is_stable_across_replays(void **state)
{
    struct clock_log first, again;
    struct sim s, other;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    assert_int_equal(sim_step(&s, orch_clock, &first), 0);
    assert_int_equal(strlen(first.uuid[0]), 36);
    assert_int_equal(first.uuid[0][14], '5');
    assert_string_not_equal(first.uuid[0], "00000000-0000-0000-0000-000000000000");
    assert_string_not_equal(first.uuid[0], first.uuid[1]);
    sim_begin(&s, SIM_T0 + 5000);
    sim_task_done(&s, 0, NULL);
    assert_int_equal(sim_run(&s, orch_clock, &again), 0);
    assert_string_equal(again.uuid[0], first.uuid[0]);
    assert_string_equal(again.uuid[1], first.uuid[1]);
    assert_string_not_equal(again.uuid[2], first.uuid[0]);
    assert_string_not_equal(again.uuid[2], first.uuid[1]);

    sim_init(&other, NULL, SIM_T0);
    other.instance_id = "inst-2";
    assert_int_equal(sim_run(&other, orch_clock, &again), 0);
    assert_string_not_equal(again.uuid[0], first.uuid[0]);
    sim_release(&other);
    sim_release(&s);
}

/* ------------------------------------------------ return values, inputs */

static enum durata_orch_result
orch_returns(struct durata_orch *o, void *arg)
{
    (void)o;
    return (enum durata_orch_result)(intptr_t)arg;
}

static void
test_return_value_without_ending_becomes_the_completion(void **state)
{
    struct sim s;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    assert_int_equal(sim_run(&s, orch_returns, (void *)(intptr_t)DURATA_DONE), 0);
    assert_int_equal(s.out.completion, DT_COMPLETED);
    assert_null(s.out.output);
    assert_int_equal(sim_run(&s, orch_returns, (void *)(intptr_t)DURATA_YIELD), 0);
    assert_int_equal(s.out.completion, DT_PENDING);
    assert_int_equal(sim_run(&s, orch_returns, (void *)(intptr_t)7), 0);
    assert_int_equal(s.out.completion, DT_FAILED);
    assert_non_null(strstr(s.out.failure->message, "returned 7"));
    sim_release(&s);
}

static enum durata_orch_result
orch_reads(struct durata_orch *o, void *arg)
{
    (void)arg;
    assert_string_equal(durata_orch_input(o), "{\"x\":1}");
    assert_string_equal(durata_orch_instance_id(o), "inst-1");
    assert_string_equal(durata_orch_name(o), "Orch");
    durata_orch_complete(o, "\"first\"");
    durata_orch_complete(o, "\"second\""); /* the first ending wins */
    durata_orch_fail(o, "X", "y", NULL);
    return DURATA_DONE;
}

static void
test_context_reads_and_first_ending_wins(void **state)
{
    struct sim s;

    (void)state;
    sim_init(&s, "{\"x\":1}", SIM_T0);
    assert_int_equal(sim_run(&s, orch_reads, NULL), 0);
    assert_int_equal(s.out.completion, DT_COMPLETED);
    assert_string_equal(s.out.output, "\"first\"");
    assert_null(s.out.failure);
    sim_release(&s);
}

static void
test_history_without_execution_started_is_einval(void **state)
{
    struct dt_replay_out out;
    struct dt_event *ev = dt_event_new(DURATA_EV_ORCHESTRATOR_STARTED, SIM_T0);
    struct dt_event *list[2] = {ev, NULL};
    struct dt_replay_in in = {.instance_id = "i", .fresh = list, .n_fresh = 1, .fn = orch_returns};

    (void)state;
    assert_non_null(ev);
    assert_int_equal(dt_replay_run(&in, &out), DURATA_EINVAL);
    assert_int_equal(out.n_actions, 0);
    in.n_fresh = 2; /* a NULL event */
    assert_int_equal(dt_replay_run(&in, &out), DURATA_EINVAL);
    in.n_fresh = 0;
    assert_int_equal(dt_replay_run(&in, &out), DURATA_EINVAL);
    assert_int_equal(dt_replay_run(NULL, &out), DURATA_EINVAL);
    dt_replay_out_release(&out);
    dt_event_free(ev);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence_of_three_activities_completes_with_combined_output),
        cmocka_unit_test(test_sequence_failure_reaches_the_code),
        cmocka_unit_test(test_fan_out_fan_in_of_100_collects_results_in_call_order),
        cmocka_unit_test(test_when_all_waits_for_all_then_fails_with_the_first_failure),
        cmocka_unit_test(test_sub_orchestration_ids_are_derived_from_execution_and_action_id),
        cmocka_unit_test(test_sub_orchestration_failure_is_the_task_failure),
        cmocka_unit_test(test_now_advances_with_awaits_and_is_replaying_follows_the_cursor),
        cmocka_unit_test(test_new_uuid_is_stable_across_replays),
        cmocka_unit_test(test_return_value_without_ending_becomes_the_completion),
        cmocka_unit_test(test_context_reads_and_first_ending_wins),
        cmocka_unit_test(test_history_without_execution_started_is_einval),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
