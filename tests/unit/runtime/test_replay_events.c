/*
 * test_replay_events.c — external events and races: FIFO claiming per
 * name, case-insensitive names, buffered events, wait timeouts giving the
 * event back, when_any between an event and a timer (and that the winner
 * survives later replays), continue-as-new carryover and custom status.
 */
#include "support_sim.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ------------------------------------------------------------- FIFO */

static enum durata_orch_result
orch_three_waits(struct durata_orch *o, void *arg)
{
    struct durata_task *w[3], *all;

    (void)arg;
    w[0] = durata_wait_event(o, "approval", -1);
    w[1] = durata_wait_event(o, "Approval", -1);
    w[2] = durata_wait_event(o, "APPROVAL", -1);
    all = durata_when_all(o, w, 3);
    if (!durata_await(o, all))
        return DURATA_YIELD;
    durata_orch_complete(o, durata_task_result(all));
    return DURATA_DONE;
}

static void
test_waits_claim_events_fifo_per_name_case_insensitively(void **state)
{
    struct sim s;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    /* Buffered: the events arrive before the code ever waits. */
    sim_raise(&s, "APPROVAL", "1");
    sim_raise(&s, "other", "\"x\"");
    sim_raise(&s, "approval", "2");
    assert_int_equal(sim_step(&s, orch_three_waits, NULL), 0);
    assert_int_equal(s.out.completion, DT_PENDING);
    assert_int_equal(s.out.n_actions, 0); /* waits without timeout take no action */

    sim_begin(&s, SIM_T0 + 1000);
    sim_raise(&s, "ApProVaL", "3");
    assert_int_equal(sim_step(&s, orch_three_waits, NULL), 0);
    assert_int_equal(s.out.completion, DT_COMPLETED);
    assert_string_equal(s.out.output, "[1,2,3]");
    sim_release(&s);
}

/* ---------------------------------------------------------- timeouts */

static enum durata_orch_result
orch_timeout_then_wait(struct durata_orch *o, void *arg)
{
    struct durata_task *first, *second;
    char out[128];

    (void)arg;
    first = durata_wait_event(o, "e", 1000);
    if (!durata_await(o, first))
        return DURATA_YIELD;
    second = durata_wait_event(o, "e", -1);
    if (!durata_await(o, second))
        return DURATA_YIELD;
    if (durata_task_is_failed(first))
        assert_string_equal(durata_task_failure(first)->error_type, "TimeoutError");
    snprintf(out, sizeof(out), "[%s,%s]",
             durata_task_is_failed(first) ? "\"timeout\"" : durata_task_result(first),
             durata_task_result(second));
    durata_orch_complete(o, out);
    return DURATA_DONE;
}

static void
test_wait_timeout_gives_the_event_back_to_a_later_wait(void **state)
{
    struct sim s;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    assert_int_equal(sim_step(&s, orch_timeout_then_wait, NULL), 0);
    assert_int_equal(s.out.n_actions, 1);
    assert_int_equal(sim_action(&s, 0)->kind, DT_ACT_CREATE_TIMER);
    assert_int_equal(sim_action(&s, 0)->id, 0);
    assert_int_equal(sim_action(&s, 0)->fire_at_ms, SIM_T0 + 1000);

    sim_begin(&s, SIM_T0 + 1000);
    sim_timer_fired(&s, 0);
    sim_raise(&s, "e", "7"); /* recorded after the timer fired */
    assert_int_equal(sim_step(&s, orch_timeout_then_wait, NULL), 0);
    assert_int_equal(s.out.completion, DT_COMPLETED);
    assert_string_equal(s.out.output, "[\"timeout\",7]");
    sim_release(&s);
}

static void
test_wait_with_timeout_gets_an_event_recorded_before_the_timer(void **state)
{
    struct sim s;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    assert_int_equal(sim_step(&s, orch_timeout_then_wait, NULL), 0);
    sim_begin(&s, SIM_T0 + 500);
    sim_raise(&s, "e", "\"a\"");
    assert_int_equal(sim_step(&s, orch_timeout_then_wait, NULL), 0);
    assert_int_equal(s.out.completion, DT_PENDING);
    assert_int_equal(s.out.n_actions, 0);
    sim_begin(&s, SIM_T0 + 1000);
    sim_timer_fired(&s, 0); /* too late to matter */
    sim_raise(&s, "e", "\"b\"");
    assert_int_equal(sim_step(&s, orch_timeout_then_wait, NULL), 0);
    assert_int_equal(s.out.completion, DT_COMPLETED);
    assert_string_equal(s.out.output, "[\"a\",\"b\"]");
    sim_release(&s);
}

/* ----------------------------------------------------------- when_any */

static enum durata_orch_result
orch_race(struct durata_orch *o, void *arg)
{
    struct durata_task *t[2], *any;

    (void)arg;
    t[0] = durata_wait_event(o, "go", -1);
    t[1] = durata_create_timer(o, durata_orch_now(o) + 5000);
    any = durata_when_any(o, t, 2);
    if (!durata_await(o, any))
        return DURATA_YIELD;
    durata_orch_complete(o, strcmp(durata_task_result(any), "0") == 0 ? "\"event\"" : "\"timer\"");
    return DURATA_DONE;
}

static void
race(bool event_first)
{
    struct sim s;

    sim_init(&s, NULL, SIM_T0);
    assert_int_equal(sim_step(&s, orch_race, NULL), 0);
    assert_int_equal(s.out.completion, DT_PENDING);
    assert_int_equal(s.out.n_actions, 1);
    assert_int_equal(sim_action(&s, 0)->fire_at_ms, SIM_T0 + 5000);

    sim_begin(&s, SIM_T0 + 5000);
    if (event_first)
        sim_raise(&s, "GO", "1");
    else
        sim_timer_fired(&s, 0);
    assert_int_equal(sim_step(&s, orch_race, NULL), 0);
    assert_int_equal(s.out.completion, DT_COMPLETED);
    assert_string_equal(s.out.output, event_first ? "\"event\"" : "\"timer\"");

    /* The loser's completion arrives later: replays decide as before. */
    sim_begin(&s, SIM_T0 + 6000);
    if (event_first)
        sim_timer_fired(&s, 0);
    else
        sim_raise(&s, "go", "1");
    assert_int_equal(sim_run(&s, orch_race, NULL), 0);
    assert_int_equal(s.out.completion, DT_COMPLETED);
    assert_string_equal(s.out.output, event_first ? "\"event\"" : "\"timer\"");
    sim_release(&s);
}

static void
test_when_any_event_beats_timer_and_stays_the_winner(void **state)
{
    (void)state;
    race(true);
}

static void
test_when_any_timer_beats_event_and_stays_the_winner(void **state)
{
    (void)state;
    race(false);
}

static void
test_when_any_both_in_one_step_picks_the_earlier_history_position(void **state)
{
    struct sim s;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    assert_int_equal(sim_step(&s, orch_race, NULL), 0);
    sim_begin(&s, SIM_T0 + 5000);
    sim_timer_fired(&s, 0);
    sim_raise(&s, "go", "1");
    assert_int_equal(sim_run(&s, orch_race, NULL), 0);
    assert_string_equal(s.out.output, "\"timer\"");
    sim_release(&s);
}

/* --------------------------------------------------- continue-as-new */

static enum durata_orch_result
orch_cycle(struct durata_orch *o, void *arg)
{
    struct durata_task *w = durata_wait_event(o, "a", -1);

    (void)arg;
    if (!durata_await(o, w))
        return DURATA_YIELD;
    durata_orch_continue_as_new(o, "{\"round\":2}");
    return DURATA_DONE;
}

static void
test_continue_as_new_carries_over_unclaimed_events(void **state)
{
    struct sim s;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    sim_raise(&s, "A", "1");
    sim_raise(&s, "b", "2");
    sim_raise(&s, "a", "3");
    assert_int_equal(sim_run(&s, orch_cycle, NULL), 0);
    assert_int_equal(s.out.completion, DT_CONTINUED_AS_NEW);
    assert_string_equal(s.out.output, "{\"round\":2}");
    assert_int_equal(s.out.carryover.count, 2);
    assert_int_equal(s.out.carryover.items[0]->type, DURATA_EV_EVENT_RAISED);
    assert_string_equal(s.out.carryover.items[0]->name, "b");
    assert_string_equal(s.out.carryover.items[0]->input, "2");
    assert_string_equal(s.out.carryover.items[1]->name, "a");
    assert_string_equal(s.out.carryover.items[1]->input, "3");
    /* Clones, not the history's own events. */
    assert_ptr_not_equal(s.out.carryover.items[0], s.fresh.items[3]);
    sim_release(&s);
}

/* ------------------------------------------------------ custom status */

static enum durata_orch_result
orch_status(struct durata_orch *o, void *arg)
{
    char big[64];

    (void)arg;
    memset(big, ' ', sizeof(big));
    big[0] = '"';
    big[sizeof(big) - 2] = '"';
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(durata_orch_set_custom_status(o, "{\"stage\":1}"), 0);
    assert_int_equal(durata_orch_set_custom_status(o, "{bad"), DURATA_EJSON);
    assert_int_equal(durata_orch_set_custom_status(o, big), DURATA_ETOOBIG);
    return DURATA_YIELD;
}

static enum durata_orch_result
orch_status_clear(struct durata_orch *o, void *arg)
{
    (void)arg;
    assert_int_equal(durata_orch_set_custom_status(o, "1"), 0);
    assert_int_equal(durata_orch_set_custom_status(o, NULL), 0);
    return DURATA_YIELD;
}

static enum durata_orch_result
orch_idle(struct durata_orch *o, void *arg)
{
    (void)o;
    (void)arg;
    return DURATA_YIELD;
}

static void
test_custom_status_is_checked_and_the_last_good_value_kept(void **state)
{
    struct sim s;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    s.max_status = 32;
    assert_int_equal(sim_run(&s, orch_idle, NULL), 0);
    assert_false(s.out.custom_status_set);
    assert_int_equal(sim_run(&s, orch_status, NULL), 0);
    assert_true(s.out.custom_status_set);
    assert_string_equal(s.out.custom_status, "{\"stage\":1}");
    assert_int_equal(sim_run(&s, orch_status_clear, NULL), 0);
    assert_true(s.out.custom_status_set);
    assert_null(s.out.custom_status);
    sim_release(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_waits_claim_events_fifo_per_name_case_insensitively),
        cmocka_unit_test(test_wait_timeout_gives_the_event_back_to_a_later_wait),
        cmocka_unit_test(test_wait_with_timeout_gets_an_event_recorded_before_the_timer),
        cmocka_unit_test(test_when_any_event_beats_timer_and_stays_the_winner),
        cmocka_unit_test(test_when_any_timer_beats_event_and_stays_the_winner),
        cmocka_unit_test(test_when_any_both_in_one_step_picks_the_earlier_history_position),
        cmocka_unit_test(test_continue_as_new_carries_over_unclaimed_events),
        cmocka_unit_test(test_custom_status_is_checked_and_the_last_good_value_kept),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
