/*
 * test_events.c — external events: durata_raise_event's errors (missing,
 * terminal, bad JSON), waits with a timeout (event first, timeout first),
 * FIFO order per name, and durata_send_event between instances.
 */
#include "support_engine.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Waits for "Approval" up to 5 s: output {"approved":data} or "timeout". */
static enum durata_orch_result
orch_approval(struct durata_orch *o, void *arg)
{
    (void)arg;
    struct durata_task *t = durata_wait_event(o, "Approval", 5000);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    if (durata_task_is_failed(t)) {
        char *out = eng_json_of_str(durata_task_failure(t)->error_type);
        durata_orch_complete(o, out);
        free(out);
        return DURATA_DONE;
    }
    char out[512];
    snprintf(out, sizeof(out), "{\"approved\":%s}", durata_task_result(t));
    durata_orch_complete(o, out);
    return DURATA_DONE;
}

/* Two waits on "item", in order: output [first, second]. */
static enum durata_orch_result
orch_two_items(struct durata_orch *o, void *arg)
{
    (void)arg;
    struct durata_task *a = durata_wait_event(o, "item", -1);
    if (!durata_await(o, a))
        return DURATA_YIELD;
    struct durata_task *b = durata_wait_event(o, "ITEM", -1);
    if (!durata_await(o, b))
        return DURATA_YIELD;
    char out[512];
    snprintf(out, sizeof(out), "[%s,%s]", durata_task_result(a), durata_task_result(b));
    durata_orch_complete(o, out);
    return DURATA_DONE;
}

/* Sends "item" with its input to the instance named in its input's "to". */
static enum durata_orch_result
orch_sender(struct durata_orch *o, void *arg)
{
    (void)arg;
    char *to = eng_json_member_str(durata_orch_input(o), "to");
    durata_send_event(o, to, "item", "\"from sender\"");
    free(to);
    durata_orch_complete(o, NULL);
    return DURATA_DONE;
}

static enum durata_orch_result
orch_done(struct durata_orch *o, void *arg)
{
    (void)arg;
    durata_orch_complete(o, "0");
    return DURATA_DONE;
}

static int
setup(void **state)
{
    int rc = eng_setup(state);
    struct eng *e = *state;

    if (rc == 0) {
        eng_orch(e, "Approval", orch_approval, NULL);
        eng_orch(e, "TwoItems", orch_two_items, NULL);
        eng_orch(e, "Sender", orch_sender, NULL);
        eng_orch(e, "Done", orch_done, NULL);
    }
    return rc;
}

static void
test_raise_to_missing_instance_is_enotfound(void **state)
{
    struct eng *e = *state;

    assert_int_equal(durata_raise_event(e->hub, "ghost", "Approval", "true"), DURATA_ENOTFOUND);
}

static void
test_raise_to_terminal_instance_is_egone(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Done", "finished", NULL, id);
    eng_run(e);
    assert_int_equal(eng_status(e, "finished"), DURATA_COMPLETED);
    assert_int_equal(durata_raise_event(e->hub, "finished", "Approval", "true"), DURATA_EGONE);
}

static void
test_raise_with_invalid_data_is_ejson(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Approval", "ap-json", NULL, id);
    eng_run(e);
    assert_int_equal(durata_raise_event(e->hub, "ap-json", "Approval", "{oops"), DURATA_EJSON);
    assert_int_equal(durata_raise_event(e->hub, "ap-json", "", "1"), DURATA_EINVAL);
    eng_run(e);
    assert_int_equal(eng_status(e, "ap-json"), DURATA_RUNNING);
}

static void
test_wait_event_gets_event_before_timeout(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Approval", "ap1", NULL, id);
    eng_run(e);
    eng_advance(e, 4000);
    eng_run(e);
    assert_int_equal(eng_status(e, "ap1"), DURATA_RUNNING);
    /* Names match case-insensitively. */
    assert_int_equal(durata_raise_event(e->hub, "ap1", "approval", "{\"by\":\"ann\"}"), 0);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "ap1");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(eng_json_equal(inst->output, "{\"approved\":{\"by\":\"ann\"}}"));
    durata_instance_free(inst);
    /* The timer firing later changes nothing. */
    eng_advance(e, 2000);
    eng_run(e);
    assert_int_equal(eng_status(e, "ap1"), DURATA_COMPLETED);
}

static void
test_wait_event_times_out(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Approval", "ap2", NULL, id);
    eng_run(e);
    eng_advance(e, 4999);
    eng_run(e);
    assert_int_equal(eng_status(e, "ap2"), DURATA_RUNNING);
    eng_advance(e, 1);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "ap2");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(eng_json_equal(inst->output, "\"TimeoutError\""));
    durata_instance_free(inst);
    /* Too late now. */
    assert_int_equal(durata_raise_event(e->hub, "ap2", "Approval", "true"), DURATA_EGONE);
}

static void
test_events_of_a_name_are_fifo(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "TwoItems", "fifo", NULL, id);
    assert_int_equal(durata_raise_event(e->hub, "fifo", "item", "1"), 0);
    assert_int_equal(durata_raise_event(e->hub, "fifo", "Item", "2"), 0);
    assert_int_equal(durata_raise_event(e->hub, "fifo", "item", "3"), 0);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "fifo");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(eng_json_equal(inst->output, "[1,2]"));
    durata_instance_free(inst);
    assert_int_equal(eng_history_count(e, "fifo", DURATA_EV_EVENT_RAISED), 3);
}

static void
test_send_event_reaches_another_instance(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "TwoItems", "receiver", NULL, id);
    eng_run(e);
    assert_int_equal(durata_raise_event(e->hub, "receiver", "item", "\"from client\""), 0);
    eng_start(e, "Sender", "sender", "{\"to\":\"receiver\"}", id);
    eng_run(e);
    assert_int_equal(eng_status(e, "sender"), DURATA_COMPLETED);
    assert_int_equal(eng_history_count(e, "sender", DURATA_EV_EVENT_SENT), 1);
    struct durata_instance *inst = eng_get(e, "receiver");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(eng_json_equal(inst->output, "[\"from client\",\"from sender\"]"));
    durata_instance_free(inst);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_raise_to_missing_instance_is_enotfound, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_raise_to_terminal_instance_is_egone, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_raise_with_invalid_data_is_ejson, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_wait_event_gets_event_before_timeout, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_wait_event_times_out, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_events_of_a_name_are_fifo, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_send_event_reaches_another_instance, setup,
                                        eng_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
