/*
 * test_control.c — control requests on whole instances: terminate
 * (running, pending, terminal) and suspend / resume (results held while
 * suspended, the state conflicts of each request).
 */
#include "support_engine.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int work_calls;
static int wait_runs;

static void
act_work(struct durata_activity *a, void *arg)
{
    (void)arg;
    work_calls++;
    durata_activity_complete(a, "\"worked\"");
}

/* Waits for "go" forever. */
static enum durata_orch_result
orch_wait(struct durata_orch *o, void *arg)
{
    (void)arg;
    wait_runs++;
    struct durata_task *t = durata_wait_event(o, "go", -1);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    durata_orch_complete(o, durata_task_result(t));
    return DURATA_DONE;
}

/* Work, then complete with its result. */
static enum durata_orch_result
orch_one(struct durata_orch *o, void *arg)
{
    (void)arg;
    struct durata_task *t = durata_call_activity(o, "Work", NULL, NULL);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    durata_orch_complete(o, durata_task_result(t));
    return DURATA_DONE;
}

static int
setup(void **state)
{
    int rc = eng_setup(state);
    struct eng *e = *state;

    if (rc == 0) {
        eng_act(e, "Work", act_work, NULL);
        eng_orch(e, "Wait", orch_wait, NULL);
        eng_orch(e, "One", orch_one, NULL);
    }
    work_calls = wait_runs = 0;
    return rc;
}

static void
test_terminate_running_sets_reason_as_output(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Wait", "term", NULL, id);
    eng_run(e);
    assert_int_equal(eng_status(e, "term"), DURATA_RUNNING);
    eng_advance(e, 10);
    assert_int_equal(durata_terminate(e->hub, "term", "{\"why\":\"operator\"}", false), 0);
    /* Asynchronous: nothing changes before a step. */
    assert_int_equal(eng_status(e, "term"), DURATA_RUNNING);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "term");
    assert_int_equal(inst->status, DURATA_TERMINATED);
    assert_true(eng_json_equal(inst->output, "{\"why\":\"operator\"}"));
    assert_int_equal(inst->completed_ms, ENG_T0 + 10);
    durata_instance_free(inst);
    assert_int_equal(eng_history_count(e, "term", DURATA_EV_EXECUTION_TERMINATED), 1);
    /* Events no longer land. */
    assert_int_equal(durata_raise_event(e->hub, "term", "go", "1"), DURATA_EGONE);
}

static void
test_terminate_pending_never_runs(void **state)
{
    struct eng *e = *state;
    struct durata_start_options o = {
        .name = "Wait",
        .instance_id = "never",
        .scheduled_start_ms = ENG_T0 + 60000,
    };
    char id[257];

    assert_int_equal(durata_start(e->hub, &o, id, sizeof(id)), 0);
    assert_int_equal(durata_terminate(e->hub, "never", "\"not needed\"", false), 0);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "never");
    assert_int_equal(inst->status, DURATA_TERMINATED);
    assert_true(eng_json_equal(inst->output, "\"not needed\""));
    durata_instance_free(inst);
    eng_advance(e, 120000);
    eng_run(e);
    assert_int_equal(eng_status(e, "never"), DURATA_TERMINATED);
    assert_int_equal(wait_runs, 0);
}

static void
test_terminate_terminal_is_egone(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "One", "done", NULL, id);
    eng_run(e);
    assert_int_equal(eng_status(e, "done"), DURATA_COMPLETED);
    assert_int_equal(durata_terminate(e->hub, "done", NULL, false), DURATA_EGONE);
    assert_int_equal(durata_terminate(e->hub, "nobody", NULL, false), DURATA_ENOTFOUND);
    assert_int_equal(durata_terminate(e->hub, "done", "{bad", false), DURATA_EJSON);
    struct durata_instance *inst = eng_get(e, "done");
    assert_true(eng_json_equal(inst->output, "\"worked\""));
    durata_instance_free(inst);
}

static void
test_terminate_drops_outstanding_activity_result(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "One", "cut", NULL, id);
    assert_true(durata_hub_run_pending(e->hub, 1) >= 1); /* the task is scheduled */
    assert_int_equal(durata_terminate(e->hub, "cut", NULL, false), 0);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "cut");
    assert_int_equal(inst->status, DURATA_TERMINATED);
    assert_null(inst->output);
    durata_instance_free(inst);
    assert_int_equal(eng_history_count(e, "cut", DURATA_EV_TASK_COMPLETED), 0);
}

static void
test_suspend_holds_activity_result_until_resume(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "One", "sus", NULL, id);
    assert_true(durata_hub_run_pending(e->hub, 1) >= 1);
    assert_int_equal(eng_history_count(e, "sus", DURATA_EV_TASK_SCHEDULED), 1);
    assert_int_equal(durata_suspend(e->hub, "sus", "\"pause\""), 0);
    eng_run(e);
    assert_int_equal(work_calls, 1); /* the activity ran ... */
    assert_int_equal(eng_status(e, "sus"), DURATA_SUSPENDED);
    /* ... but its result waits in the inbox. */
    assert_int_equal(eng_history_count(e, "sus", DURATA_EV_TASK_COMPLETED), 0);
    assert_int_equal(eng_history_count(e, "sus", DURATA_EV_EXECUTION_SUSPENDED), 1);
    eng_advance(e, 60000);
    eng_run(e);
    assert_int_equal(eng_status(e, "sus"), DURATA_SUSPENDED);
    assert_int_equal(eng_history_count(e, "sus", DURATA_EV_TASK_COMPLETED), 0);

    assert_int_equal(durata_resume(e->hub, "sus", "\"go on\""), 0);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "sus");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(eng_json_equal(inst->output, "\"worked\""));
    durata_instance_free(inst);
    assert_int_equal(eng_history_count(e, "sus", DURATA_EV_EXECUTION_RESUMED), 1);
    assert_int_equal(eng_history_count(e, "sus", DURATA_EV_TASK_COMPLETED), 1);
    assert_int_equal(work_calls, 1);
}

static void
test_suspend_twice_conflicts(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Wait", "sus2", NULL, id);
    eng_run(e);
    assert_int_equal(durata_suspend(e->hub, "sus2", NULL), 0);
    eng_run(e);
    assert_int_equal(eng_status(e, "sus2"), DURATA_SUSPENDED);
    assert_int_equal(durata_suspend(e->hub, "sus2", NULL), DURATA_ECONFLICT);
    /* Events still land while suspended, and wait. */
    assert_int_equal(durata_raise_event(e->hub, "sus2", "go", "42"), 0);
    eng_run(e);
    assert_int_equal(eng_status(e, "sus2"), DURATA_SUSPENDED);
    assert_int_equal(durata_resume(e->hub, "sus2", NULL), 0);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "sus2");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(eng_json_equal(inst->output, "42"));
    durata_instance_free(inst);
}

static void
test_resume_of_running_conflicts(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Wait", "run", NULL, id);
    eng_run(e);
    assert_int_equal(durata_resume(e->hub, "run", NULL), DURATA_ECONFLICT);
    assert_int_equal(durata_resume(e->hub, "nobody", NULL), DURATA_ENOTFOUND);
    assert_int_equal(durata_suspend(e->hub, "nobody", NULL), DURATA_ENOTFOUND);
    assert_int_equal(eng_status(e, "run"), DURATA_RUNNING);
}

static void
test_suspend_of_terminal_is_refused(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "One", "fin", NULL, id);
    eng_run(e);
    int rc = durata_suspend(e->hub, "fin", NULL);
    assert_true(rc == DURATA_EGONE || rc == DURATA_ECONFLICT);
    assert_int_equal(eng_status(e, "fin"), DURATA_COMPLETED);
}

static void
test_terminate_suspended_works(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Wait", "sus3", NULL, id);
    eng_run(e);
    assert_int_equal(durata_suspend(e->hub, "sus3", NULL), 0);
    eng_run(e);
    assert_int_equal(durata_terminate(e->hub, "sus3", "\"bye\"", false), 0);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "sus3");
    assert_int_equal(inst->status, DURATA_TERMINATED);
    assert_true(eng_json_equal(inst->output, "\"bye\""));
    durata_instance_free(inst);
}

static void
test_suspend_pending_then_resume_starts(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "One", "sus4", NULL, id);
    assert_int_equal(durata_suspend(e->hub, "sus4", NULL), 0);
    eng_run(e);
    assert_int_equal(eng_status(e, "sus4"), DURATA_SUSPENDED);
    assert_int_equal(work_calls, 0);
    assert_int_equal(durata_resume(e->hub, "sus4", NULL), 0);
    eng_run(e);
    assert_int_equal(eng_status(e, "sus4"), DURATA_COMPLETED);
    assert_int_equal(work_calls, 1);
}

/* The result and the suspend request are taken by the same step: the result
 * is recorded while suspended, and must be acted on after the resume. */
static void
test_result_taken_with_suspend_is_applied_after_resume(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "One", "sus5", NULL, id);
    assert_true(durata_hub_run_pending(e->hub, 1) >= 1); /* step: schedules Work */
    assert_true(durata_hub_run_pending(e->hub, 1) >= 1); /* runs Work only */
    assert_int_equal(work_calls, 1);
    assert_int_equal(eng_history_count(e, "sus5", DURATA_EV_TASK_COMPLETED), 0);
    assert_int_equal(durata_suspend(e->hub, "sus5", NULL), 0);
    eng_run(e);
    assert_int_equal(eng_status(e, "sus5"), DURATA_SUSPENDED);
    assert_int_equal(durata_resume(e->hub, "sus5", NULL), 0);
    eng_run(e);
    assert_int_equal(eng_status(e, "sus5"), DURATA_COMPLETED);
    struct durata_instance *inst = eng_get(e, "sus5");
    assert_true(eng_json_equal(inst->output, "\"worked\""));
    durata_instance_free(inst);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_terminate_running_sets_reason_as_output, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_terminate_pending_never_runs, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_terminate_terminal_is_egone, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_terminate_drops_outstanding_activity_result, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_suspend_holds_activity_result_until_resume, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_suspend_twice_conflicts, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_resume_of_running_conflicts, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_suspend_of_terminal_is_refused, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_terminate_suspended_works, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_suspend_pending_then_resume_starts, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_result_taken_with_suspend_is_applied_after_resume,
                                        setup, eng_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
