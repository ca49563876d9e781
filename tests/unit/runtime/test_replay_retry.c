/*
 * test_replay_retry.c — retry policies: backoff timers (fire times and the
 * s + k * DT_RETRY_ID_STRIDE ids), max attempts, non-retriable failures,
 * the total timeout, ids of later calls, sub-orchestration retries and bad
 * policies.
 */
#include "support_sim.h"

#include "runtime/task.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define S DT_RETRY_ID_STRIDE

struct retry_case {
    struct durata_retry_policy policy;
    bool sub;
    int32_t after_id; /* id the call after the retry chain got */
};

static enum durata_orch_result
orch_retry(struct durata_orch *o, void *arg)
{
    struct retry_case *c = arg;
    struct durata_task *t, *after;

    t = c->sub ? durata_call_sub_orchestrator(o, "Child", NULL, NULL, &c->policy)
               : durata_call_activity(o, "Flaky", "\"x\"", &c->policy);
    after = durata_call_activity(o, "After", NULL, NULL);
    c->after_id = after->id;
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

/* Runs a step and checks it added exactly one action of that kind and id
 * (besides "After", which is new only in the first step). */
static const struct dt_action *
step_expect(struct sim *s, struct retry_case *c, enum dt_action_kind kind, int32_t id)
{
    const struct dt_action *a;

    assert_int_equal(sim_step(s, orch_retry, c), 0);
    assert_int_equal(s->out.completion, DT_PENDING);
    assert_int_equal(c->after_id, 1);
    a = sim_action(s, 0);
    assert_int_equal(s->out.n_actions, a->id == 0 ? 2 : 1);
    assert_int_equal(a->kind, kind);
    assert_int_equal(a->id, id);
    return a;
}

static void
test_retry_backs_off_with_durable_timers_until_max_attempts(void **state)
{
    struct retry_case c = {.policy = {.max_attempts = 4,
                                      .first_interval_ms = 1000,
                                      .backoff_coefficient = 2,
                                      .max_interval_ms = 3000}};
    static const int64_t delays[] = {1000, 2000, 3000}; /* 4000 capped to 3000 */
    int64_t t = SIM_T0;
    char msg[32];
    struct sim s;

    (void)state;
    sim_init(&s, NULL, t);
    assert_string_equal(step_expect(&s, &c, DT_ACT_SCHEDULE_TASK, 0)->name, "Flaky");
    for (int n = 0; n < 3; n++) {
        const struct dt_action *a;

        t += 700;
        sim_begin(&s, t);
        snprintf(msg, sizeof(msg), "boom %d", n);
        sim_task_failed(&s, n * 2 * S, msg, false);
        a = step_expect(&s, &c, DT_ACT_CREATE_TIMER, (2 * n + 1) * S);
        assert_int_equal(a->fire_at_ms, t + delays[n]);
        t += delays[n];
        sim_begin(&s, t);
        sim_timer_fired(&s, (2 * n + 1) * S);
        a = step_expect(&s, &c, DT_ACT_SCHEDULE_TASK, (2 * n + 2) * S);
        assert_string_equal(a->name, "Flaky");
        assert_string_equal(a->input, "\"x\"");
    }
    sim_begin(&s, t + 10);
    sim_task_failed(&s, 6 * S, "boom 3", false);
    assert_int_equal(sim_step(&s, orch_retry, &c), 0);
    assert_int_equal(s.out.completion, DT_FAILED);
    assert_int_equal(s.out.n_actions, 0);
    assert_string_equal(s.out.failure->error_type, "ValueError");
    assert_string_equal(s.out.failure->message, "boom 3"); /* the last attempt's */
    sim_release(&s);
}

static void
test_retry_succeeding_on_a_later_attempt_gives_its_result(void **state)
{
    struct retry_case c = {.policy = {.max_attempts = 3, .first_interval_ms = 500}};
    struct sim s;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    step_expect(&s, &c, DT_ACT_SCHEDULE_TASK, 0);
    sim_begin(&s, SIM_T0 + 100);
    sim_task_failed(&s, 0, "once", false);
    assert_int_equal(step_expect(&s, &c, DT_ACT_CREATE_TIMER, S)->fire_at_ms, SIM_T0 + 600);
    sim_begin(&s, SIM_T0 + 600);
    sim_timer_fired(&s, S);
    step_expect(&s, &c, DT_ACT_SCHEDULE_TASK, 2 * S);
    sim_begin(&s, SIM_T0 + 700);
    sim_task_done(&s, 2 * S, "{\"ok\":true}");
    assert_int_equal(sim_step(&s, orch_retry, &c), 0);
    assert_int_equal(s.out.completion, DT_COMPLETED);
    assert_string_equal(s.out.output, "{\"ok\":true}");
    sim_release(&s);
}

static void
test_retry_stops_on_a_non_retriable_failure(void **state)
{
    struct retry_case c = {.policy = {.max_attempts = 5, .first_interval_ms = 1000}};
    struct sim s;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    step_expect(&s, &c, DT_ACT_SCHEDULE_TASK, 0);
    sim_begin(&s, SIM_T0 + 100);
    sim_task_failed(&s, 0, "fatal", true);
    assert_int_equal(sim_step(&s, orch_retry, &c), 0);
    assert_int_equal(s.out.completion, DT_FAILED);
    assert_int_equal(s.out.n_actions, 0);
    assert_string_equal(s.out.failure->message, "fatal");
    sim_release(&s);
}

static void
test_retry_stops_once_the_total_timeout_has_passed(void **state)
{
    struct retry_case c = {
        .policy = {.max_attempts = 10, .first_interval_ms = 1000, .timeout_ms = 1500}};
    struct sim s;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    step_expect(&s, &c, DT_ACT_SCHEDULE_TASK, 0);
    sim_begin(&s, SIM_T0 + 200); /* before the timeout: retried */
    sim_task_failed(&s, 0, "first", false);
    step_expect(&s, &c, DT_ACT_CREATE_TIMER, S);
    sim_begin(&s, SIM_T0 + 1200);
    sim_timer_fired(&s, S);
    step_expect(&s, &c, DT_ACT_SCHEDULE_TASK, 2 * S);
    sim_begin(&s, SIM_T0 + 1500); /* at call time + timeout: over */
    sim_task_failed(&s, 2 * S, "second", false);
    assert_int_equal(sim_step(&s, orch_retry, &c), 0);
    assert_int_equal(s.out.completion, DT_FAILED);
    assert_int_equal(s.out.n_actions, 0);
    assert_string_equal(s.out.failure->message, "second");
    sim_release(&s);
}

static void
test_sub_orchestration_retry_uses_each_attempts_own_derived_id(void **state)
{
    struct retry_case c = {.policy = {.max_attempts = 2, .first_interval_ms = 10}, .sub = true};
    char expect[64];
    struct sim s;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    assert_string_equal(step_expect(&s, &c, DT_ACT_CREATE_SUB, 0)->instance_id, "exec-1:0000");
    sim_begin(&s, SIM_T0 + 5);
    sim_sub_failed(&s, 0, "child 1");
    step_expect(&s, &c, DT_ACT_CREATE_TIMER, S);
    sim_begin(&s, SIM_T0 + 15);
    sim_timer_fired(&s, S);
    snprintf(expect, sizeof(expect), "exec-1:%04x", (unsigned)(2 * S));
    assert_string_equal(step_expect(&s, &c, DT_ACT_CREATE_SUB, 2 * S)->instance_id, expect);
    sim_begin(&s, SIM_T0 + 20);
    sim_sub_failed(&s, 2 * S, "child 2");
    assert_int_equal(sim_step(&s, orch_retry, &c), 0);
    assert_int_equal(s.out.completion, DT_FAILED);
    assert_string_equal(s.out.failure->message, "child 2");
    sim_release(&s);
}

static enum durata_orch_result
orch_bad_policies(struct durata_orch *o, void *arg)
{
    static const struct durata_retry_policy bad[] = {
        {.max_attempts = 0, .first_interval_ms = 1},
        {.max_attempts = DURATA_MAX_RETRY_ATTEMPTS + 1, .first_interval_ms = 1},
        {.max_attempts = 2, .first_interval_ms = 0},
        {.max_attempts = 2, .first_interval_ms = 1, .backoff_coefficient = 0.5},
        {.max_attempts = 2, .first_interval_ms = 1, .timeout_ms = -1},
    };

    (void)arg;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct durata_task *t = durata_call_activity(o, "A", NULL, &bad[i]);

        assert_true(durata_await(o, t));
        assert_true(durata_task_is_failed(t));
        assert_string_equal(durata_task_failure(t)->error_type, "ArgumentError");
        assert_non_null(strstr(durata_task_failure(t)->message, "retry policy"));
    }
    assert_int_equal(durata_call_activity(o, "A", NULL, NULL)->id, 0); /* no id was taken */
    return DURATA_YIELD;
}

static void
test_bad_retry_policy_fails_the_task_without_taking_an_id(void **state)
{
    struct sim s;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    assert_int_equal(sim_run(&s, orch_bad_policies, NULL), 0);
    assert_int_equal(s.out.completion, DT_PENDING);
    assert_int_equal(s.out.n_actions, 1);
    sim_release(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_backs_off_with_durable_timers_until_max_attempts),
        cmocka_unit_test(test_retry_succeeding_on_a_later_attempt_gives_its_result),
        cmocka_unit_test(test_retry_stops_on_a_non_retriable_failure),
        cmocka_unit_test(test_retry_stops_once_the_total_timeout_has_passed),
        cmocka_unit_test(test_sub_orchestration_retry_uses_each_attempts_own_derived_id),
        cmocka_unit_test(test_bad_retry_policy_fails_the_task_without_taking_an_id),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
