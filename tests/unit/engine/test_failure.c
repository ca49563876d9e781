/*
 * test_failure.c — failures: an activity failure caught by the code or
 * failing the orchestration, rewind of a failed instance (failed work runs
 * again, successes are not repeated), a missing activity or result, and a
 * nondeterministic orchestrator.
 */
#include "support_engine.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int first_calls, flaky_calls, last_calls, boom_calls;
static bool switch_name; /* the Fickle orchestrator's behaviour */

static void
act_first(struct durata_activity *a, void *arg)
{
    (void)arg;
    first_calls++;
    durata_activity_complete(a, "\"one\"");
}

/* Fails on its first call only. */
static void
act_flaky(struct durata_activity *a, void *arg)
{
    (void)arg;
    if (++flaky_calls == 1) {
        durata_activity_fail(a, "Transient", "first call fails", "trace...", false);
        return;
    }
    durata_activity_complete(a, "\"two\"");
}

static void
act_last(struct durata_activity *a, void *arg)
{
    (void)arg;
    last_calls++;
    durata_activity_complete(a, "\"three\"");
}

static void
act_boom(struct durata_activity *a, void *arg)
{
    (void)arg;
    boom_calls++;
    durata_activity_fail(a, "BoomError", "it exploded", "at line 1", true);
}

/* Completes with text that is not JSON. */
static void
act_bad_output(struct durata_activity *a, void *arg)
{
    (void)arg;
    durata_activity_complete(a, "{not json");
}

/* Returns without a result. */
static void
act_silent(struct durata_activity *a, void *arg)
{
    (void)a;
    (void)arg;
}

/* Calls the activity named in its input and reports what it saw:
 * {"caught":type,"message":msg,"nonRetriable":b} or {"ok":result}. */
static enum durata_orch_result
orch_catch(struct durata_orch *o, void *arg)
{
    (void)arg;
    char *name = eng_json_member_str(durata_orch_input(o), "act");
    struct durata_task *t = durata_call_activity(o, name ? name : "?", NULL, NULL);
    free(name);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    char out[1024];
    if (durata_task_is_failed(t)) {
        const struct durata_failure *f = durata_task_failure(t);
        snprintf(out, sizeof(out), "{\"caught\":\"%s\",\"message\":\"%s\",\"nonRetriable\":%s}",
                 f->error_type, f->message, f->non_retriable ? "true" : "false");
    } else {
        snprintf(out, sizeof(out), "{\"ok\":%s}", durata_task_result(t));
    }
    durata_orch_complete(o, out);
    return DURATA_DONE;
}

/* Calls Boom and fails with its failure. */
static enum durata_orch_result
orch_propagate(struct durata_orch *o, void *arg)
{
    (void)arg;
    struct durata_task *t = durata_call_activity(o, "Boom", NULL, NULL);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    if (durata_task_is_failed(t)) {
        const struct durata_failure *f = durata_task_failure(t);
        durata_orch_fail(o, f->error_type, f->message, f->details);
        return DURATA_DONE;
    }
    durata_orch_complete(o, NULL);
    return DURATA_DONE;
}

/* First, Flaky, Last in sequence; fails on the first failure. */
static enum durata_orch_result
orch_three(struct durata_orch *o, void *arg)
{
    static const char *const names[] = {"First", "Flaky", "Last"};
    const char *res[3] = {NULL, NULL, NULL};

    (void)arg;
    for (int i = 0; i < 3; i++) {
        struct durata_task *t = durata_call_activity(o, names[i], NULL, NULL);
        if (!durata_await(o, t))
            return DURATA_YIELD;
        if (durata_task_is_failed(t)) {
            durata_orch_fail(o, durata_task_failure(t)->error_type, durata_task_failure(t)->message,
                             NULL);
            return DURATA_DONE;
        }
        res[i] = durata_task_result(t);
    }
    char out[256];
    snprintf(out, sizeof(out), "[%s,%s,%s]", res[0], res[1], res[2]);
    durata_orch_complete(o, out);
    return DURATA_DONE;
}

/* Calls First, or Last when *(bool *)arg is set: a nondeterministic code. */
static enum durata_orch_result
orch_fickle(struct durata_orch *o, void *arg)
{
    const bool *flip = arg;
    struct durata_task *t = durata_call_activity(o, *flip ? "Last" : "First", NULL, NULL);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    durata_orch_complete(o, durata_task_result(t));
    return DURATA_DONE;
}

/* Calls Flaky and fails with its failure. */
static enum durata_orch_result
orch_flaky_child(struct durata_orch *o, void *arg)
{
    (void)arg;
    struct durata_task *t = durata_call_activity(o, "Flaky", NULL, NULL);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    if (durata_task_is_failed(t)) {
        durata_orch_fail(o, "ChildFailed", durata_task_failure(t)->message, NULL);
        return DURATA_DONE;
    }
    durata_orch_complete(o, durata_task_result(t));
    return DURATA_DONE;
}

/* First, then the FlakyChild sub-orchestration "<id>-kid"; fails when the
 * child does. */
static enum durata_orch_result
orch_parent(struct durata_orch *o, void *arg)
{
    (void)arg;
    char kid[300], out[256];
    struct durata_task *a = durata_call_activity(o, "First", NULL, NULL);
    if (!durata_await(o, a))
        return DURATA_YIELD;
    snprintf(kid, sizeof(kid), "%s-kid", durata_orch_instance_id(o));
    struct durata_task *c = durata_call_sub_orchestrator(o, "FlakyChild", kid, NULL, NULL);
    if (!durata_await(o, c))
        return DURATA_YIELD;
    if (durata_task_is_failed(c)) {
        durata_orch_fail(o, durata_task_failure(c)->error_type, "the child failed", NULL);
        return DURATA_DONE;
    }
    snprintf(out, sizeof(out), "[%s,%s]", durata_task_result(a), durata_task_result(c));
    durata_orch_complete(o, out);
    return DURATA_DONE;
}

static int
setup(void **state)
{
    int rc = eng_setup(state);
    struct eng *e = *state;

    if (rc == 0) {
        eng_act(e, "First", act_first, NULL);
        eng_act(e, "Flaky", act_flaky, NULL);
        eng_act(e, "Last", act_last, NULL);
        eng_act(e, "Boom", act_boom, NULL);
        eng_act(e, "Silent", act_silent, NULL);
        eng_act(e, "BadOutput", act_bad_output, NULL);
        eng_orch(e, "Catch", orch_catch, NULL);
        eng_orch(e, "Propagate", orch_propagate, NULL);
        eng_orch(e, "Three", orch_three, NULL);
        eng_orch(e, "Fickle", orch_fickle, &switch_name);
        eng_orch(e, "FlakyChild", orch_flaky_child, NULL);
        eng_orch(e, "Parent", orch_parent, NULL);
    }
    first_calls = flaky_calls = last_calls = boom_calls = 0;
    switch_name = false;
    return rc;
}

static void
test_activity_failure_can_be_caught(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Catch", "c1", "{\"act\":\"Boom\"}", id);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "c1");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(eng_json_equal(
        inst->output,
        "{\"caught\":\"BoomError\",\"message\":\"it exploded\",\"nonRetriable\":true}"));
    durata_instance_free(inst);
    assert_int_equal(eng_history_count(e, "c1", DURATA_EV_TASK_FAILED), 1);
    assert_int_equal(boom_calls, 1);
}

static void
test_activity_failure_can_fail_the_orchestration(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Propagate", "f1", NULL, id);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "f1");
    assert_int_equal(inst->status, DURATA_FAILED);
    assert_non_null(inst->failure);
    assert_string_equal(inst->failure->error_type, "BoomError");
    assert_string_equal(inst->failure->message, "it exploded");
    assert_null(inst->output);
    assert_true(inst->completed_ms != 0);
    durata_instance_free(inst);
}

static void
test_unknown_activity_fails_the_task(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Catch", "c2", "{\"act\":\"NoSuchActivity\"}", id);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "c2");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    char *caught = eng_json_member_str(inst->output, "caught");
    assert_non_null(caught);
    assert_string_equal(caught, "ActivityNotFound");
    free(caught);
    durata_instance_free(inst);
}

static void
test_activity_without_result_fails_the_task(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Catch", "c3", "{\"act\":\"Silent\"}", id);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "c3");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    char *caught = eng_json_member_str(inst->output, "caught");
    assert_non_null(caught);
    assert_string_equal(caught, "ActivityError");
    free(caught);
    durata_instance_free(inst);
}

static void
test_activity_with_invalid_output_fails_the_task(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Catch", "c4", "{\"act\":\"BadOutput\"}", id);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "c4");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    char *caught = eng_json_member_str(inst->output, "caught");
    assert_non_null(caught);
    assert_string_equal(caught, "InvalidOutput");
    free(caught);
    durata_instance_free(inst);
}

static void
test_unregistered_orchestrator_fails_the_instance(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Catch", "orphan", "{\"act\":\"First\"}", id);
    /* A new hub on the same store that does not know "Catch". */
    eng_reopen(e, NULL);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "orphan");
    assert_int_equal(inst->status, DURATA_FAILED);
    assert_non_null(inst->failure);
    assert_string_equal(inst->failure->error_type, "OrchestratorNotFound");
    durata_instance_free(inst);
}

static void
test_rewind_reruns_only_failed_work(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Three", "rw", NULL, id);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "rw");
    assert_int_equal(inst->status, DURATA_FAILED);
    assert_string_equal(inst->failure->error_type, "Transient");
    durata_instance_free(inst);
    assert_int_equal(first_calls, 1);
    assert_int_equal(flaky_calls, 1);
    assert_int_equal(last_calls, 0);

    assert_int_equal(durata_rewind(e->hub, "rw", "\"fixed it\""), 0);
    eng_run(e);
    inst = eng_get(e, "rw");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(eng_json_equal(inst->output, "[\"one\",\"two\",\"three\"]"));
    assert_null(inst->failure);
    durata_instance_free(inst);
    assert_int_equal(first_calls, 1); /* the success was kept */
    assert_int_equal(flaky_calls, 2);
    assert_int_equal(last_calls, 1);
    assert_int_equal(eng_history_count(e, "rw", DURATA_EV_TASK_FAILED), 0);
    assert_int_equal(eng_history_count(e, "rw", DURATA_EV_EXECUTION_REWOUND), 1);
    assert_int_equal(eng_history_count(e, "rw", DURATA_EV_EXECUTION_COMPLETED), 1);
}

static void
test_rewind_restarts_failed_sub_orchestration(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Parent", "rp", NULL, id);
    eng_run(e);
    assert_int_equal(eng_status(e, "rp-kid"), DURATA_FAILED);
    assert_int_equal(eng_status(e, "rp"), DURATA_FAILED);
    assert_int_equal(first_calls, 1);
    assert_int_equal(flaky_calls, 1);

    assert_int_equal(durata_rewind(e->hub, "rp", NULL), 0);
    eng_run(e);
    assert_int_equal(eng_status(e, "rp-kid"), DURATA_COMPLETED);
    assert_int_equal(eng_status(e, "rp"), DURATA_COMPLETED);
    struct durata_instance *inst = eng_get(e, "rp");
    assert_true(eng_json_equal(inst->output, "[\"one\",\"two\"]"));
    durata_instance_free(inst);
    assert_int_equal(first_calls, 1);
    assert_int_equal(flaky_calls, 2);
}

static void
test_rewind_of_non_failed_conflicts(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Catch", "ok", "{\"act\":\"First\"}", id);
    assert_int_equal(durata_rewind(e->hub, "ok", NULL), DURATA_ECONFLICT); /* pending */
    eng_run(e);
    assert_int_equal(eng_status(e, "ok"), DURATA_COMPLETED);
    assert_int_equal(durata_rewind(e->hub, "ok", NULL), DURATA_ECONFLICT);
    assert_int_equal(durata_rewind(e->hub, "nobody", NULL), DURATA_ENOTFOUND);
    assert_int_equal(eng_status(e, "ok"), DURATA_COMPLETED);
}

static void
test_nondeterministic_orchestrator_fails(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Fickle", "nd", NULL, id);
    assert_true(durata_hub_run_pending(e->hub, 1) >= 1); /* schedules First */
    assert_int_equal(eng_history_count(e, "nd", DURATA_EV_TASK_SCHEDULED), 1);
    switch_name = true; /* the replay now asks for Last */
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "nd");
    assert_int_equal(inst->status, DURATA_FAILED);
    assert_non_null(inst->failure);
    assert_string_equal(inst->failure->error_type, "NonDeterminismError");
    durata_instance_free(inst);
    assert_int_equal(last_calls, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_activity_failure_can_be_caught, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_activity_failure_can_fail_the_orchestration, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_activity_fails_the_task, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_activity_without_result_fails_the_task, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_activity_with_invalid_output_fails_the_task, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_unregistered_orchestrator_fails_the_instance, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_rewind_reruns_only_failed_work, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_rewind_restarts_failed_sub_orchestration, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_rewind_of_non_failed_conflicts, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_nondeterministic_orchestrator_fails, setup,
                                        eng_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
