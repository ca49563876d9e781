/*
 * test_start.c — durata_start: generated and caller ids, validation of
 * name, id and input, the id-reuse rules (a non-terminal id conflicts, a
 * terminal one is replaced by a new execution), and restart.
 */
#include "support_engine.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int echo_runs;

/* Completes with its input. */
static enum durata_orch_result
orch_echo(struct durata_orch *o, void *arg)
{
    (void)arg;
    if (!durata_orch_is_replaying(o))
        echo_runs++;
    durata_orch_complete(o, durata_orch_input(o));
    return DURATA_DONE;
}

/* Waits for "go" and completes with its data. */
static enum durata_orch_result
orch_wait_go(struct durata_orch *o, void *arg)
{
    (void)arg;
    struct durata_task *t = durata_wait_event(o, "go", -1);
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
        eng_orch(e, "Echo", orch_echo, NULL);
        eng_orch(e, "WaitGo", orch_wait_go, NULL);
    }
    echo_runs = 0;
    return rc;
}

static int
start_id(struct eng *e, const char *name, const char *id, const char *input)
{
    struct durata_start_options o = {.name = name, .instance_id = id, .input = input};
    char out[257];

    return durata_start(e->hub, &o, out, sizeof(out));
}

static void
test_generated_id_is_32_hex(void **state)
{
    struct eng *e = *state;
    char a[257], b[257];

    eng_start(e, "Echo", NULL, "1", a);
    eng_start(e, "Echo", NULL, "2", b);
    assert_int_equal(strlen(a), 32);
    for (size_t i = 0; i < 32; i++)
        assert_non_null(strchr("0123456789abcdef", a[i]));
    assert_string_not_equal(a, b);
    struct durata_instance *inst = eng_get(e, a);
    assert_string_equal(inst->id, a);
    assert_string_equal(inst->name, "Echo");
    assert_int_equal(inst->status, DURATA_PENDING);
    assert_true(eng_json_equal(inst->input, "1"));
    assert_int_equal(inst->created_ms, ENG_T0);
    durata_instance_free(inst);
}

static void
test_caller_id_is_kept_and_runs(void **state)
{
    struct eng *e = *state;
    char id[257];

    struct durata_start_options o = {
        .name = "Echo", .instance_id = "order-42", .input = "{\"a\":[1,2]}", .version = "1.2"};

    assert_int_equal(durata_start(e->hub, &o, id, sizeof(id)), 0);
    assert_string_equal(id, "order-42");
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "order-42");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_non_null(inst->version);
    assert_string_equal(inst->version, "1.2");
    assert_true(eng_json_equal(inst->output, "{\"a\":[1,2]}"));
    assert_int_equal(inst->completed_ms, ENG_T0);
    assert_null(inst->failure);
    durata_instance_free(inst);
}

static void
test_start_of_unknown_orchestrator_is_eunknown(void **state)
{
    struct eng *e = *state;
    struct durata_instance *inst = NULL;

    assert_int_equal(start_id(e, "NoSuchOrchestrator", "x1", NULL), DURATA_EUNKNOWN);
    assert_int_equal(durata_get_status(e->hub, "x1", &inst), DURATA_ENOTFOUND);
    assert_null(inst);
}

static void
test_start_with_invalid_id_is_rejected(void **state)
{
    struct eng *e = *state;
    static const char *const bad[] = {"a/b",   "a\\b", "a#b",       "a?b",
                                      "@lead", "",     "tab\there", "del\x7f"};
    char long_id[300];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(start_id(e, "Echo", bad[i], NULL), DURATA_EINVAL);
    memset(long_id, 'x', 257);
    long_id[257] = '\0';
    assert_int_equal(start_id(e, "Echo", long_id, NULL), DURATA_ETOOBIG);
    long_id[256] = '\0'; /* exactly the default limit: accepted */
    assert_int_equal(start_id(e, "Echo", long_id, NULL), 0);
    struct durata_page *p = NULL;
    assert_int_equal(durata_query(e->hub, NULL, 0, NULL, &p), 0);
    assert_int_equal(p->count, 1); /* none of the bad ones was stored */
    durata_page_free(p);
}

static void
test_start_respects_max_id_bytes_option(void **state)
{
    struct eng *e = *state;
    struct durata_hub_options o = {.max_id_bytes = 8};

    eng_reopen(e, &o);
    eng_orch(e, "Echo", orch_echo, NULL);
    assert_int_equal(start_id(e, "Echo", "12345678", NULL), 0);
    assert_int_equal(start_id(e, "Echo", "123456789", NULL), DURATA_ETOOBIG);
}

static void
test_start_with_invalid_json_input_is_ejson(void **state)
{
    struct eng *e = *state;
    struct durata_instance *inst = NULL;

    assert_int_equal(start_id(e, "Echo", "j1", "{not json"), DURATA_EJSON);
    assert_int_equal(start_id(e, "Echo", "j1", "[1,"), DURATA_EJSON);
    assert_int_equal(durata_get_status(e->hub, "j1", &inst), DURATA_ENOTFOUND);
    assert_int_equal(start_id(e, "Echo", "j1", "\"plain string\""), 0);
}

static void
test_start_with_too_large_input_is_etoobig(void **state)
{
    struct eng *e = *state;
    struct durata_hub_options o = {.max_payload_bytes = 64};
    char big[100];

    eng_reopen(e, &o);
    eng_orch(e, "Echo", orch_echo, NULL);
    /* A JSON string of 80 bytes, then of 60. */
    memset(big, 'a', 80);
    big[0] = '"';
    big[79] = '"';
    big[80] = '\0';
    assert_int_equal(start_id(e, "Echo", "big", big), DURATA_ETOOBIG);
    big[59] = '"';
    big[60] = '\0';
    assert_int_equal(start_id(e, "Echo", "big", big), 0);
}

static void
test_start_of_running_id_conflicts(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "WaitGo", "busy", "1", id);
    /* Pending (not stepped yet) is not terminal either. */
    assert_int_equal(start_id(e, "WaitGo", "busy", "2"), DURATA_ECONFLICT);
    eng_run(e);
    assert_int_equal(eng_status(e, "busy"), DURATA_RUNNING);
    assert_int_equal(start_id(e, "WaitGo", "busy", "3"), DURATA_ECONFLICT);
    assert_int_equal(start_id(e, "Echo", "busy", "3"), DURATA_ECONFLICT);
    struct durata_instance *inst = eng_get(e, "busy");
    assert_true(eng_json_equal(inst->input, "1")); /* untouched */
    assert_string_equal(inst->name, "WaitGo");
    durata_instance_free(inst);
}

static void
test_start_of_terminal_id_replaces_it(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Echo", "again", "\"first\"", id);
    eng_run(e);
    struct durata_instance *old = eng_get(e, "again");
    assert_int_equal(old->status, DURATA_COMPLETED);
    assert_true(eng_json_equal(old->output, "\"first\""));

    eng_advance(e, 1000);
    eng_start(e, "Echo", "again", "\"second\"", id);
    struct durata_instance *fresh = eng_get(e, "again");
    assert_int_equal(fresh->status, DURATA_PENDING);
    assert_null(fresh->output);
    assert_int_equal(fresh->completed_ms, 0);
    assert_int_equal(fresh->created_ms, ENG_T0 + 1000);
    assert_string_not_equal(fresh->execution_id, old->execution_id);
    assert_true(eng_json_equal(fresh->input, "\"second\""));
    durata_instance_free(fresh);

    eng_run(e);
    fresh = eng_get(e, "again");
    assert_int_equal(fresh->status, DURATA_COMPLETED);
    assert_true(eng_json_equal(fresh->output, "\"second\""));
    durata_instance_free(fresh);
    durata_instance_free(old);
    /* The old execution's history is gone. */
    assert_int_equal(eng_history_count(e, "again", DURATA_EV_EXECUTION_STARTED), 1);
    assert_int_equal(eng_history_count(e, "again", DURATA_EV_EXECUTION_COMPLETED), 1);
    assert_int_equal(echo_runs, 2);
}

static void
test_restart_same_id_runs_again(void **state)
{
    struct eng *e = *state;
    char id[257], out[257];

    eng_start(e, "Echo", "re", "[7]", id);
    eng_run(e);
    struct durata_instance *before = eng_get(e, "re");
    assert_int_equal(before->status, DURATA_COMPLETED);
    assert_int_equal(durata_restart(e->hub, "re", false, out, sizeof(out)), 0);
    assert_string_equal(out, "re");
    assert_int_equal(eng_status(e, "re"), DURATA_PENDING);
    eng_run(e);
    struct durata_instance *after = eng_get(e, "re");
    assert_int_equal(after->status, DURATA_COMPLETED);
    assert_true(eng_json_equal(after->output, "[7]"));
    assert_string_not_equal(after->execution_id, before->execution_id);
    assert_int_equal(echo_runs, 2);
    durata_instance_free(before);
    durata_instance_free(after);
}

static void
test_restart_new_id_gives_a_different_instance(void **state)
{
    struct eng *e = *state;
    char id[257], out[257];

    eng_start(e, "Echo", "orig", "{\"k\":1}", id);
    eng_run(e);
    assert_int_equal(durata_restart(e->hub, "orig", true, out, sizeof(out)), 0);
    assert_string_not_equal(out, "orig");
    assert_int_equal(strlen(out), 32);
    eng_run(e);
    struct durata_instance *copy = eng_get(e, out);
    assert_int_equal(copy->status, DURATA_COMPLETED);
    assert_string_equal(copy->name, "Echo");
    assert_true(eng_json_equal(copy->output, "{\"k\":1}"));
    durata_instance_free(copy);
    assert_int_equal(eng_status(e, "orig"), DURATA_COMPLETED);
    assert_int_equal(echo_runs, 2);
}

static void
test_restart_of_running_same_id_conflicts(void **state)
{
    struct eng *e = *state;
    char id[257], out[257];

    eng_start(e, "WaitGo", "live", NULL, id);
    eng_run(e);
    assert_int_equal(durata_restart(e->hub, "live", false, out, sizeof(out)), DURATA_ECONFLICT);
    assert_int_equal(durata_restart(e->hub, "missing", false, out, sizeof(out)), DURATA_ENOTFOUND);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_generated_id_is_32_hex, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_caller_id_is_kept_and_runs, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_start_of_unknown_orchestrator_is_eunknown, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_start_with_invalid_id_is_rejected, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_start_respects_max_id_bytes_option, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_start_with_invalid_json_input_is_ejson, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_start_with_too_large_input_is_etoobig, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_start_of_running_id_conflicts, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_start_of_terminal_id_replaces_it, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_restart_same_id_runs_again, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_restart_new_id_gives_a_different_instance, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_restart_of_running_same_id_conflicts, setup,
                                        eng_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
