/*
 * test_suborch.c — sub-orchestrations: the parent receives the child's
 * output, a child's failure surfaces as a failed task in the parent, and a
 * recursive terminate reaches a running child (a plain one does not).
 */
#include "support_engine.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
act_double(struct durata_activity *a, void *arg)
{
    (void)arg;
    char *out = eng_json_of_int(2 * eng_json_int(durata_activity_input(a)));
    durata_activity_complete(a, out);
    free(out);
}

/* Doubles its input through an activity. */
static enum durata_orch_result
orch_child(struct durata_orch *o, void *arg)
{
    (void)arg;
    struct durata_task *t = durata_call_activity(o, "Double", durata_orch_input(o), NULL);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    durata_orch_complete(o, durata_task_result(t));
    return DURATA_DONE;
}

static enum durata_orch_result
orch_bad_child(struct durata_orch *o, void *arg)
{
    (void)arg;
    durata_orch_fail(o, "ChildError", "the child gave up", "details here");
    return DURATA_DONE;
}

/* Waits forever for "go". */
static enum durata_orch_result
orch_stuck_child(struct durata_orch *o, void *arg)
{
    (void)arg;
    struct durata_task *t = durata_wait_event(o, "go", -1);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    durata_orch_complete(o, NULL);
    return DURATA_DONE;
}

/* Calls StuckChild under "<id>-kid" and waits for it. */
static enum durata_orch_result
orch_middle(struct durata_orch *o, void *arg)
{
    (void)arg;
    char kid[300];
    snprintf(kid, sizeof(kid), "%s-kid", durata_orch_instance_id(o));
    struct durata_task *t = durata_call_sub_orchestrator(o, "StuckChild", kid, NULL, NULL);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    durata_orch_complete(o, durata_task_result(t));
    return DURATA_DONE;
}

/* Calls the child named in its input's "child" under id "<parent>-kid",
 * with input 21; output {"ok":result} or {"failed":type,"message":msg}. */
static enum durata_orch_result
orch_parent(struct durata_orch *o, void *arg)
{
    (void)arg;
    char kid[300];
    char *child = eng_json_member_str(durata_orch_input(o), "child");
    snprintf(kid, sizeof(kid), "%s-kid", durata_orch_instance_id(o));
    struct durata_task *t = durata_call_sub_orchestrator(o, child ? child : "?", kid, "21", NULL);
    free(child);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    char out[1024];
    if (durata_task_is_failed(t)) {
        const struct durata_failure *f = durata_task_failure(t);
        snprintf(out, sizeof(out), "{\"failed\":\"%s\",\"message\":\"%s\"}", f->error_type,
                 f->message);
    } else {
        snprintf(out, sizeof(out), "{\"ok\":%s}", durata_task_result(t));
    }
    durata_orch_complete(o, out);
    return DURATA_DONE;
}

static int
setup(void **state)
{
    int rc = eng_setup(state);
    struct eng *e = *state;

    if (rc == 0) {
        eng_act(e, "Double", act_double, NULL);
        eng_orch(e, "Child", orch_child, NULL);
        eng_orch(e, "BadChild", orch_bad_child, NULL);
        eng_orch(e, "StuckChild", orch_stuck_child, NULL);
        eng_orch(e, "Parent", orch_parent, NULL);
        eng_orch(e, "Middle", orch_middle, NULL);
    }
    return rc;
}

static void
test_parent_receives_child_output(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Parent", "p1", "{\"child\":\"Child\"}", id);
    eng_run(e);
    struct durata_instance *p = eng_get(e, "p1");
    assert_int_equal(p->status, DURATA_COMPLETED);
    assert_true(eng_json_equal(p->output, "{\"ok\":42}"));
    durata_instance_free(p);
    struct durata_instance *c = eng_get(e, "p1-kid");
    assert_int_equal(c->status, DURATA_COMPLETED);
    assert_string_equal(c->name, "Child");
    assert_non_null(c->parent_id);
    assert_string_equal(c->parent_id, "p1");
    assert_true(eng_json_equal(c->input, "21"));
    assert_true(eng_json_equal(c->output, "42"));
    durata_instance_free(c);
    assert_int_equal(eng_history_count(e, "p1", DURATA_EV_SUB_ORCHESTRATION_CREATED), 1);
    assert_int_equal(eng_history_count(e, "p1", DURATA_EV_SUB_ORCHESTRATION_COMPLETED), 1);
}

static void
test_child_failure_is_a_failed_task_in_parent(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Parent", "p2", "{\"child\":\"BadChild\"}", id);
    eng_run(e);
    struct durata_instance *c = eng_get(e, "p2-kid");
    assert_int_equal(c->status, DURATA_FAILED);
    assert_non_null(c->failure);
    assert_string_equal(c->failure->error_type, "ChildError");
    durata_instance_free(c);
    struct durata_instance *p = eng_get(e, "p2");
    assert_int_equal(p->status, DURATA_COMPLETED);
    assert_true(
        eng_json_equal(p->output, "{\"failed\":\"ChildError\",\"message\":\"the child gave up\"}"));
    durata_instance_free(p);
    assert_int_equal(eng_history_count(e, "p2", DURATA_EV_SUB_ORCHESTRATION_FAILED), 1);
}

static void
test_unknown_child_orchestrator_fails_the_task(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Parent", "p3", "{\"child\":\"NoSuchChild\"}", id);
    eng_run(e);
    struct durata_instance *p = eng_get(e, "p3");
    assert_int_equal(p->status, DURATA_COMPLETED);
    char *failed = eng_json_member_str(p->output, "failed");
    assert_non_null(failed); /* the parent was told, it did not hang */
    free(failed);
    durata_instance_free(p);
}

static void
test_recursive_terminate_reaches_running_child(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Parent", "p4", "{\"child\":\"StuckChild\"}", id);
    eng_run(e);
    assert_int_equal(eng_status(e, "p4"), DURATA_RUNNING);
    assert_int_equal(eng_status(e, "p4-kid"), DURATA_RUNNING);
    assert_int_equal(durata_terminate(e->hub, "p4", "\"all of it\"", true), 0);
    eng_run(e);
    assert_int_equal(eng_status(e, "p4"), DURATA_TERMINATED);
    struct durata_instance *c = eng_get(e, "p4-kid");
    assert_int_equal(c->status, DURATA_TERMINATED);
    assert_true(eng_json_equal(c->output, "\"all of it\""));
    durata_instance_free(c);
}

static void
test_recursive_terminate_reaches_grandchild(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Parent", "g", "{\"child\":\"Middle\"}", id);
    eng_run(e);
    assert_int_equal(eng_status(e, "g-kid"), DURATA_RUNNING);
    assert_int_equal(eng_status(e, "g-kid-kid"), DURATA_RUNNING);
    assert_int_equal(durata_terminate(e->hub, "g", NULL, true), 0);
    eng_run(e);
    assert_int_equal(eng_status(e, "g"), DURATA_TERMINATED);
    assert_int_equal(eng_status(e, "g-kid"), DURATA_TERMINATED);
    assert_int_equal(eng_status(e, "g-kid-kid"), DURATA_TERMINATED);
}

static void
test_plain_terminate_leaves_child_running(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Parent", "p5", "{\"child\":\"StuckChild\"}", id);
    eng_run(e);
    assert_int_equal(durata_terminate(e->hub, "p5", NULL, false), 0);
    eng_run(e);
    assert_int_equal(eng_status(e, "p5"), DURATA_TERMINATED);
    assert_int_equal(eng_status(e, "p5-kid"), DURATA_RUNNING);
    /* The child can still finish; its result to a terminated parent is dropped. */
    assert_int_equal(durata_raise_event(e->hub, "p5-kid", "go", NULL), 0);
    eng_run(e);
    assert_int_equal(eng_status(e, "p5-kid"), DURATA_COMPLETED);
    assert_int_equal(eng_status(e, "p5"), DURATA_TERMINATED);
}

static void
test_sub_orchestration_id_conflict_fails_the_task(void **state)
{
    struct eng *e = *state;
    char id[257];

    /* Someone already runs an instance under the child's id. */
    eng_start(e, "StuckChild", "p6-kid", NULL, id);
    eng_run(e);
    eng_start(e, "Parent", "p6", "{\"child\":\"Child\"}", id);
    eng_run(e);
    struct durata_instance *p = eng_get(e, "p6");
    assert_int_equal(p->status, DURATA_COMPLETED);
    char *failed = eng_json_member_str(p->output, "failed");
    assert_non_null(failed);
    assert_string_equal(failed, "InstanceIdConflict");
    free(failed);
    durata_instance_free(p);
    struct durata_instance *c = eng_get(e, "p6-kid");
    assert_string_equal(c->name, "StuckChild"); /* untouched */
    assert_int_equal(c->status, DURATA_RUNNING);
    assert_null(c->parent_id);
    durata_instance_free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parent_receives_child_output, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_child_failure_is_a_failed_task_in_parent, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_child_orchestrator_fails_the_task, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_recursive_terminate_reaches_running_child, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_recursive_terminate_reaches_grandchild, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_plain_terminate_leaves_child_running, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_sub_orchestration_id_conflict_fails_the_task, setup,
                                        eng_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
