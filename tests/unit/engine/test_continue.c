/*
 * test_continue.c — continue-as-new: a counter that restarts itself 5
 * times with fresh history and then completes; an event raised while it
 * runs is carried over to the generation that waits for it.
 */
#include "support_engine.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int generations; /* first runs of the counter (not replays) */

static void
act_inc(struct durata_activity *a, void *arg)
{
    (void)arg;
    char *out = eng_json_of_int(eng_json_int(durata_activity_input(a)) + 1);
    durata_activity_complete(a, out);
    free(out);
}

/* Input {"n":k}: increments k through an activity; below 5 continues as
 * new with the new count; at 5 waits for "stop" and completes with
 * {"n":5,"stop":data}. */
static enum durata_orch_result
orch_counter(struct durata_orch *o, void *arg)
{
    (void)arg;
    long long n = eng_json_member_int(durata_orch_input(o), "n");
    char in[64], out[512];

    if (!durata_orch_is_replaying(o))
        generations++;
    if (n >= 5) {
        struct durata_task *stop = durata_wait_event(o, "stop", -1);
        if (!durata_await(o, stop))
            return DURATA_YIELD;
        snprintf(out, sizeof(out), "{\"n\":%lld,\"stop\":%s}", n, durata_task_result(stop));
        durata_orch_complete(o, out);
        return DURATA_DONE;
    }
    snprintf(in, sizeof(in), "%lld", n);
    struct durata_task *t = durata_call_activity(o, "Inc", in, NULL);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    snprintf(out, sizeof(out), "{\"n\":%lld}", eng_json_int(durata_task_result(t)));
    durata_orch_continue_as_new(o, out);
    return DURATA_DONE;
}

static int
setup(void **state)
{
    int rc = eng_setup(state);
    struct eng *e = *state;

    if (rc == 0) {
        eng_act(e, "Inc", act_inc, NULL);
        eng_orch(e, "Counter", orch_counter, NULL);
    }
    generations = 0;
    return rc;
}

static void
test_continue_as_new_five_times_then_completes(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Counter", "ctr", "{\"n\":0}", id);
    struct durata_instance *first = eng_get(e, "ctr");
    eng_run(e);
    /* Generation 5 waits for "stop". */
    struct durata_instance *inst = eng_get(e, "ctr");
    assert_int_equal(inst->status, DURATA_RUNNING);
    assert_true(eng_json_equal(inst->input, "{\"n\":5}"));
    assert_string_not_equal(inst->execution_id, first->execution_id);
    durata_instance_free(inst);
    assert_int_equal(generations, 6);
    /* History restarts with each generation. */
    assert_int_equal(eng_history_count(e, "ctr", DURATA_EV_EXECUTION_STARTED), 1);
    assert_int_equal(eng_history_count(e, "ctr", DURATA_EV_TASK_SCHEDULED), 0);

    assert_int_equal(durata_raise_event(e->hub, "ctr", "stop", "\"now\""), 0);
    eng_run(e);
    inst = eng_get(e, "ctr");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(eng_json_equal(inst->output, "{\"n\":5,\"stop\":\"now\"}"));
    assert_string_equal(inst->id, "ctr");
    assert_string_equal(inst->name, "Counter");
    durata_instance_free(inst);
    durata_instance_free(first);
}

static void
test_event_raised_while_running_is_carried_over(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Counter", "carry", "{\"n\":0}", id);
    /* Run the first steps only: generation 0 schedules Inc. */
    assert_true(durata_hub_run_pending(e->hub, 1) >= 1);
    assert_int_equal(eng_status(e, "carry"), DURATA_RUNNING);
    /* Raised now, consumed by no wait until generation 5. */
    assert_int_equal(durata_raise_event(e->hub, "carry", "stop", "{\"early\":true}"), 0);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "carry");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(eng_json_equal(inst->output, "{\"n\":5,\"stop\":{\"early\":true}}"));
    durata_instance_free(inst);
    assert_int_equal(generations, 6);
    assert_int_equal(eng_history_count(e, "carry", DURATA_EV_EVENT_RAISED), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_continue_as_new_five_times_then_completes, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_event_raised_while_running_is_carried_over, setup,
                                        eng_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
