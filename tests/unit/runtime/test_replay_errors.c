/*
 * test_replay_errors.c — what ends a step as failed and what does not:
 * nondeterminism (name, kind and target mismatches), payload limits on
 * inputs and outputs, bad arguments, and histories the code legitimately
 * stops following.
 */
#include "support_sim.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* A history whose first step scheduled one action of `type` named name
 * (EventSent: to target) at id 0; the next step has just begun. */
static void
history_with(struct sim *s, enum durata_event_type type, const char *name, const char *target)
{
    struct dt_event *e;

    sim_init(s, NULL, SIM_T0);
    sim_commit(s);
    e = sim_past(s, type);
    e->event_id = 0;
    if (name)
        assert_non_null(e->name = strdup(name));
    if (target)
        assert_non_null(e->instance_id = strdup(target));
    sim_begin(s, SIM_T0 + 1000);
}

struct after_mismatch {
    bool first_failed;
    bool later_failed;
    const char *later_type;
};

static enum durata_orch_result
orch_calls_b(struct durata_orch *o, void *arg)
{
    struct after_mismatch *log = arg;
    struct durata_task *t = durata_call_activity(o, "B", NULL, NULL);
    struct durata_task *later = durata_call_activity(o, "C", NULL, NULL);

    log->first_failed = durata_task_is_failed(t);
    log->later_failed = durata_task_is_failed(later);
    log->later_type = durata_task_failure(later) ? durata_task_failure(later)->error_type : NULL;
    if (!durata_await(o, t)) /* false once the replay stopped */
        return DURATA_YIELD;
    durata_orch_complete(o, "1");
    return DURATA_DONE;
}

static void
test_activity_name_mismatch_is_a_nondeterminism_failure(void **state)
{
    struct after_mismatch log = {0};
    struct sim s;

    (void)state;
    history_with(&s, DURATA_EV_TASK_SCHEDULED, "A", NULL);
    assert_int_equal(sim_run(&s, orch_calls_b, &log), 0);
    assert_int_equal(s.out.completion, DT_FAILED);
    assert_int_equal(s.out.n_actions, 0); /* "C" is not scheduled */
    assert_string_equal(s.out.failure->error_type, "NonDeterminismError");
    assert_non_null(strstr(s.out.failure->message, "action 0"));
    assert_non_null(strstr(s.out.failure->message, "activity \"B\""));
    assert_non_null(strstr(s.out.failure->message, "TaskScheduled \"A\""));
    assert_true(log.first_failed);
    assert_true(log.later_failed);
    assert_string_equal(log.later_type, "NonDeterminismError");
    sim_release(&s);
}

static void
test_activity_where_history_has_a_timer_is_a_nondeterminism_failure(void **state)
{
    struct after_mismatch log = {0};
    struct sim s;

    (void)state;
    history_with(&s, DURATA_EV_TIMER_CREATED, NULL, NULL);
    assert_int_equal(sim_run(&s, orch_calls_b, &log), 0);
    assert_int_equal(s.out.completion, DT_FAILED);
    assert_string_equal(s.out.failure->error_type, "NonDeterminismError");
    assert_non_null(strstr(s.out.failure->message, "TimerCreated"));
    sim_release(&s);
}

static enum durata_orch_result
orch_timer(struct durata_orch *o, void *arg)
{
    (void)arg;
    (void)durata_create_timer(o, durata_orch_now(o));
    return DURATA_YIELD;
}

static void
test_timer_where_history_has_an_activity_is_a_nondeterminism_failure(void **state)
{
    struct sim s;

    (void)state;
    history_with(&s, DURATA_EV_TASK_SCHEDULED, "A", NULL);
    assert_int_equal(sim_run(&s, orch_timer, NULL), 0);
    assert_int_equal(s.out.completion, DT_FAILED);
    assert_string_equal(s.out.failure->error_type, "NonDeterminismError");
    assert_non_null(strstr(s.out.failure->message, "creates a timer"));
    sim_release(&s);
}

static enum durata_orch_result
orch_send(struct durata_orch *o, void *arg)
{
    (void)arg;
    durata_send_event(o, "target-1", "ping", "{\"n\":1}");
    durata_orch_complete(o, "\"sent\"");
    return DURATA_DONE;
}

static void
test_send_to_another_target_is_a_nondeterminism_failure(void **state)
{
    struct sim s;

    (void)state;
    history_with(&s, DURATA_EV_EVENT_SENT, "ping", "target-2");
    assert_int_equal(sim_run(&s, orch_send, NULL), 0);
    assert_int_equal(s.out.completion, DT_FAILED); /* the ending was ignored */
    assert_null(s.out.output);
    assert_string_equal(s.out.failure->error_type, "NonDeterminismError");
    assert_non_null(strstr(s.out.failure->message, "\"target-2\""));
    sim_release(&s);

    history_with(&s, DURATA_EV_EVENT_SENT, "ping", "target-1");
    assert_int_equal(sim_run(&s, orch_send, NULL), 0);
    assert_int_equal(s.out.completion, DT_COMPLETED);
    assert_int_equal(s.out.n_actions, 0); /* already sent */
    sim_release(&s);
}

static void
test_actions_taken_before_an_ending_are_kept(void **state)
{
    struct sim s;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    assert_int_equal(sim_run(&s, orch_send, NULL), 0);
    assert_int_equal(s.out.completion, DT_COMPLETED);
    assert_string_equal(s.out.output, "\"sent\"");
    assert_int_equal(s.out.n_actions, 1);
    assert_int_equal(sim_action(&s, 0)->kind, DT_ACT_SEND_EVENT);
    assert_string_equal(sim_action(&s, 0)->instance_id, "target-1");
    assert_string_equal(sim_action(&s, 0)->input, "{\"n\":1}");
    sim_release(&s);
}

static enum durata_orch_result
orch_first_only(struct durata_orch *o, void *arg)
{
    struct durata_task *t = durata_call_activity(o, "A", NULL, NULL);

    (void)arg;
    if (!durata_await(o, t))
        return DURATA_YIELD;
    durata_orch_complete(o, durata_task_result(t));
    return DURATA_DONE;
}

static void
test_history_actions_the_code_no_longer_reaches_are_not_errors(void **state)
{
    struct dt_event *e;
    struct sim s;

    (void)state;
    history_with(&s, DURATA_EV_TASK_SCHEDULED, "A", NULL);
    e = sim_past(&s, DURATA_EV_TASK_SCHEDULED);
    e->event_id = 1;
    assert_non_null(e->name = strdup("Unawaited"));
    sim_task_done(&s, 1, "2");
    sim_task_done(&s, 0, "1");
    assert_int_equal(sim_run(&s, orch_first_only, NULL), 0);
    assert_int_equal(s.out.completion, DT_COMPLETED);
    assert_string_equal(s.out.output, "1");
    sim_release(&s);
}

/* --------------------------------------------------- limits, arguments */

static enum durata_orch_result
orch_big_input(struct durata_orch *o, void *arg)
{
    struct durata_task *t = durata_call_activity(o, "A", "\"0123456789abcdef\"", NULL);
    struct durata_task *bad = durata_call_activity(o, "A", "{nope", NULL);
    struct durata_task *unnamed = durata_call_activity(o, NULL, NULL, NULL);
    struct durata_task *any = durata_when_any(o, (struct durata_task *[]){t, NULL}, 2);

    (void)arg;
    assert_true(durata_await(o, t));
    assert_true(durata_task_is_failed(t));
    assert_string_equal(durata_task_failure(t)->error_type, "ArgumentError");
    assert_non_null(strstr(durata_task_failure(t)->message, "payload size limit"));
    assert_non_null(strstr(durata_task_failure(bad)->message, "not valid JSON"));
    assert_true(durata_task_is_failed(unnamed));
    assert_true(durata_task_is_failed(any));
    (void)durata_call_activity(o, "Small", "1", NULL);
    return DURATA_YIELD;
}

static void
test_activity_input_over_the_payload_limit_fails_the_task(void **state)
{
    struct sim s;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    s.max_payload = 10;
    assert_int_equal(sim_run(&s, orch_big_input, NULL), 0);
    assert_int_equal(s.out.completion, DT_PENDING);
    assert_int_equal(s.out.n_actions, 1);
    assert_string_equal(sim_action(&s, 0)->name, "Small");
    assert_int_equal(sim_action(&s, 0)->id, 0);
    sim_release(&s);
}

static enum durata_orch_result
orch_end_with(struct durata_orch *o, void *arg)
{
    const char *const *how = arg;

    if (strcmp(how[0], "complete") == 0)
        durata_orch_complete(o, how[1]);
    else
        durata_orch_continue_as_new(o, how[1]);
    return DURATA_DONE;
}

static void
test_output_over_the_payload_limit_fails_the_orchestration(void **state)
{
    const char *big[] = {"complete", "\"0123456789abcdef\""};
    const char *bad[] = {"continue", "{oops"};
    const char *fine[] = {"complete", "[1]"};
    struct sim s;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    s.max_payload = 10;
    assert_int_equal(sim_run(&s, orch_end_with, big), 0);
    assert_int_equal(s.out.completion, DT_FAILED);
    assert_string_equal(s.out.failure->error_type, "ArgumentError");
    assert_non_null(strstr(s.out.failure->message, "output is over the payload size limit"));
    assert_int_equal(sim_run(&s, orch_end_with, bad), 0);
    assert_int_equal(s.out.completion, DT_FAILED);
    assert_non_null(strstr(s.out.failure->message, "continue-as-new input is not valid JSON"));
    assert_int_equal(sim_run(&s, orch_end_with, fine), 0);
    assert_int_equal(s.out.completion, DT_COMPLETED);
    assert_string_equal(s.out.output, "[1]");
    sim_release(&s);
}

static enum durata_orch_result
orch_bad_send(struct durata_orch *o, void *arg)
{
    (void)arg;
    (void)durata_call_activity(o, "A", NULL, NULL);
    durata_send_event(o, "x", "ping", "{broken");
    assert_true(durata_task_is_failed(durata_create_timer(o, 0)));
    return DURATA_YIELD;
}

static void
test_send_event_with_bad_data_fails_the_orchestration(void **state)
{
    struct sim s;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    assert_int_equal(sim_run(&s, orch_bad_send, NULL), 0);
    assert_int_equal(s.out.completion, DT_FAILED);
    assert_int_equal(s.out.n_actions, 0);
    assert_string_equal(s.out.failure->error_type, "ArgumentError");
    assert_non_null(strstr(s.out.failure->message, "send_event \"ping\""));
    sim_release(&s);
}

static void
test_null_context_and_task_are_harmless(void **state)
{
    char uuid[37];

    (void)state;
    assert_null(durata_call_activity(NULL, "A", NULL, NULL));
    assert_null(durata_wait_event(NULL, "e", -1));
    assert_null(durata_when_all(NULL, NULL, 0));
    assert_false(durata_await(NULL, NULL));
    assert_false(durata_task_is_failed(NULL));
    assert_null(durata_task_result(NULL));
    assert_null(durata_task_failure(NULL));
    assert_null(durata_orch_input(NULL));
    assert_int_equal(durata_orch_set_custom_status(NULL, "1"), DURATA_EINVAL);
    durata_orch_new_uuid(NULL, uuid);
    assert_string_equal(uuid, "00000000-0000-0000-0000-000000000000");
    durata_orch_complete(NULL, "1");
    durata_send_event(NULL, "a", "b", NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_activity_name_mismatch_is_a_nondeterminism_failure),
        cmocka_unit_test(test_activity_where_history_has_a_timer_is_a_nondeterminism_failure),
        cmocka_unit_test(test_timer_where_history_has_an_activity_is_a_nondeterminism_failure),
        cmocka_unit_test(test_send_to_another_target_is_a_nondeterminism_failure),
        cmocka_unit_test(test_actions_taken_before_an_ending_are_kept),
        cmocka_unit_test(test_history_actions_the_code_no_longer_reaches_are_not_errors),
        cmocka_unit_test(test_activity_input_over_the_payload_limit_fails_the_task),
        cmocka_unit_test(test_output_over_the_payload_limit_fails_the_orchestration),
        cmocka_unit_test(test_send_event_with_bad_data_fails_the_orchestration),
        cmocka_unit_test(test_null_context_and_task_are_harmless),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
