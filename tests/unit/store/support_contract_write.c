/*
 * support_contract_write.c — store contract, part 1: create, send, step,
 * task results and batches. Written against struct dt_store_ops only, so
 * every backend runs the same suite (see fixtures.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "fixtures.h"

#include <stdlib.h>
#include <string.h>

static struct dt_write *
step_unit(const char *id, const char *owner)
{
    struct dt_write *w = dt_write_new(DT_W_STEP);

    assert_non_null(w);
    w->u.step.instance_id = fx_strdup(id);
    w->u.step.lock_owner = fx_strdup(owner);
    return w;
}

static void
step_append(struct dt_write *w, enum durata_event_type type, const char *name)
{
    assert_int_equal(dt_event_list_push_take(&w->u.step.append, fx_event(type, 5, name, NULL)), 0);
}

static void
step_outbox(struct dt_write *w, struct dt_msg *m)
{
    assert_int_equal(dt_msg_list_push_take(&w->u.step.outbox, m), 0);
}

/* The state of id with a new status, for a step's state field. */
static struct durata_instance *
state_with(struct dt_store *s, const char *id, enum durata_status status)
{
    struct durata_instance *inst = fx_get(s, id);

    assert_non_null(inst);
    inst->status = status;
    return inst;
}

static int64_t
first_inbox_id(struct dt_store *s, const char *id)
{
    struct dt_msg_list l = {0};
    int64_t mid;

    assert_int_equal(s->ops->get_inbox(s, id, INT64_MAX, &l), 0);
    assert_true(l.count > 0);
    mid = l.items[0]->id;
    dt_msg_list_release(&l);
    return mid;
}

/* ---------------------------------------------------------------- create */

static void
test_create_then_read_back(void **state)
{
    struct fx *fx = *state;
    struct durata_instance *inst;
    struct dt_msg_list inbox = {0};
    int64_t by[8], n_inbox, n_tasks;

    assert_int_equal(fx_create(fx->s, "a", "Orch", 1000), 0);
    inst = fx_get(fx->s, "a");
    assert_non_null(inst);
    assert_string_equal(inst->id, "a");
    assert_string_equal(inst->name, "Orch");
    assert_string_equal(inst->execution_id, "exec-1");
    assert_string_equal(inst->input, "{\"n\":1}");
    assert_int_equal(inst->status, DURATA_PENDING);
    assert_int_equal(inst->created_ms, 1000);
    assert_null(inst->output);
    assert_null(inst->failure);
    durata_instance_free(inst);
    assert_int_equal(fx_history_len(fx->s, "a"), 0);
    assert_int_equal(fx->s->ops->get_inbox(fx->s, "a", 1000, &inbox), 0);
    assert_int_equal(inbox.count, 1);
    assert_true(inbox.items[0]->id > 0);
    assert_string_equal(inbox.items[0]->instance_id, "a");
    assert_int_equal(inbox.items[0]->event->type, DURATA_EV_EXECUTION_STARTED);
    assert_string_equal(inbox.items[0]->event->name, "Orch");
    dt_msg_list_release(&inbox);
    fx_counts(fx->s, by, &n_inbox, &n_tasks);
    assert_int_equal(by[DURATA_PENDING], 1);
    assert_int_equal(n_inbox, 1);
    assert_int_equal(n_tasks, 0);
    assert_null(fx_get(fx->s, "missing"));
}

static void
test_create_existing_id_conflicts_and_changes_nothing(void **state)
{
    struct fx *fx = *state;
    struct durata_instance *inst;
    struct dt_write *w;

    assert_int_equal(fx_create(fx->s, "a", "First", 1000), 0);
    w = fx_create_unit("a", "Second", 2000);
    assert_int_equal(fx_commit1(fx->s, w), DURATA_ECONFLICT);
    inst = fx_get(fx->s, "a");
    assert_string_equal(inst->name, "First");
    assert_int_equal(inst->created_ms, 1000);
    durata_instance_free(inst);
    assert_int_equal(fx_inbox_len(fx->s, "a", INT64_MAX), 1);
}

static void
test_create_conflict_delivers_on_conflict(void **state)
{
    struct fx *fx = *state;
    struct dt_write *w;

    assert_int_equal(fx_create(fx->s, "parent", "P", 1000), 0);
    assert_int_equal(fx_create(fx->s, "child", "C", 1000), 0);
    w = fx_create_unit("child", "C", 2000);
    w->u.create.on_conflict = fx_msg("parent", DURATA_EV_SUB_ORCHESTRATION_FAILED, 2000, NULL);
    assert_int_equal(fx_commit1(fx->s, w), DURATA_ECONFLICT);
    assert_int_equal(fx_inbox_len(fx->s, "parent", INT64_MAX), 2);
    /* an on_conflict for a target that does not exist is dropped */
    w = fx_create_unit("child", "C", 2000);
    w->u.create.on_conflict = fx_msg("ghost", DURATA_EV_SUB_ORCHESTRATION_FAILED, 2000, NULL);
    assert_int_equal(fx_commit1(fx->s, w), DURATA_ECONFLICT);
    assert_int_equal(fx_inbox_len(fx->s, "ghost", INT64_MAX), 0);
}

static void
test_create_replaces_terminal_only_when_asked(void **state)
{
    struct fx *fx = *state;
    struct durata_instance *inst;
    struct dt_write *w;
    int64_t by[8], n_inbox, n_tasks;

    assert_int_equal(fx_create(fx->s, "x", "Old", 1000), 0);
    w = step_unit("x", NULL);
    step_append(w, DURATA_EV_EXECUTION_STARTED, "Old");
    assert_int_equal(
        dt_task_list_push_take(&w->u.step.tasks, dt_task_new("x", "exec-1", 0, "Act", NULL, 0)), 0);
    w->u.step.state = state_with(fx->s, "x", DURATA_RUNNING);
    assert_int_equal(fx_commit1(fx->s, w), 0);
    /* not terminal: refused even with replace_terminal */
    w = fx_create_unit("x", "New", 5000);
    w->u.create.replace_terminal = true;
    assert_int_equal(fx_commit1(fx->s, w), DURATA_ECONFLICT);
    assert_int_equal(fx_set_status(fx->s, "x", DURATA_COMPLETED), 0);
    assert_int_equal(fx_commit1(fx->s, fx_create_unit("x", "New", 5000)), DURATA_ECONFLICT);
    w = fx_create_unit("x", "New", 5000);
    w->u.create.replace_terminal = true;
    assert_int_equal(fx_commit1(fx->s, w), 0);
    inst = fx_get(fx->s, "x");
    assert_string_equal(inst->name, "New");
    assert_int_equal(inst->status, DURATA_PENDING);
    assert_int_equal(inst->created_ms, 5000);
    durata_instance_free(inst);
    assert_int_equal(fx_history_len(fx->s, "x"), 0);
    assert_int_equal(fx_inbox_len(fx->s, "x", INT64_MAX), 1);
    fx_counts(fx->s, by, &n_inbox, &n_tasks);
    assert_int_equal(n_tasks, 0);
}

static void
test_create_rejects_bad_unit(void **state)
{
    struct fx *fx = *state;
    struct dt_write *w = dt_write_new(DT_W_CREATE);

    assert_int_equal(fx_commit1(fx->s, w), DURATA_EINVAL); /* no instance */
    w = fx_create_unit("a", "A", 1);
    free(w->u.create.start->instance_id);
    w->u.create.start->instance_id = fx_strdup("b"); /* start for another id */
    assert_int_equal(fx_commit1(fx->s, w), DURATA_EINVAL);
    assert_false(fx_exists(fx->s, "a"));
}

/* ------------------------------------------------------------------ send */

static void
test_send_rules(void **state)
{
    struct fx *fx = *state;
    struct dt_write *w;

    assert_int_equal(fx_send(fx->s, fx_msg("ghost", DURATA_EV_EVENT_RAISED, 0, "e")),
                     DURATA_ENOTFOUND);
    assert_int_equal(fx_create(fx->s, "a", "A", 1000), 0);
    w = dt_write_new(DT_W_SEND);
    w->u.send.msg = fx_msg("a", DURATA_EV_EVENT_RAISED, 1000, "e");
    w->u.send.allowed_statuses = 1u << DURATA_RUNNING;
    assert_int_equal(fx_commit1(fx->s, w), DURATA_ECONFLICT);
    assert_int_equal(fx_inbox_len(fx->s, "a", INT64_MAX), 1);
    w = dt_write_new(DT_W_SEND);
    w->u.send.msg = fx_msg("a", DURATA_EV_EVENT_RAISED, 1000, "e");
    w->u.send.allowed_statuses = (1u << DURATA_RUNNING) | (1u << DURATA_PENDING);
    fx_commit(fx->s, &w, 1);
    assert_int_equal(w->rc, 0);
    assert_true(w->u.send.msg->id > 0);
    dt_write_free(w);
    assert_int_equal(fx_inbox_len(fx->s, "a", INT64_MAX), 2);
    /* a message for another execution is stale: dropped */
    w = dt_write_new(DT_W_SEND);
    w->u.send.msg =
        dt_msg_new_take("a", "old-exec", 0, fx_event(DURATA_EV_EVENT_RAISED, 0, "e", NULL));
    assert_int_equal(fx_commit1(fx->s, w), 0);
    assert_int_equal(fx_inbox_len(fx->s, "a", INT64_MAX), 2);
    assert_int_equal(fx_set_status(fx->s, "a", DURATA_TERMINATED), 0);
    assert_int_equal(fx_send(fx->s, fx_msg("a", DURATA_EV_EVENT_RAISED, 0, "e")), DURATA_EGONE);
    assert_int_equal(fx_inbox_len(fx->s, "a", INT64_MAX), 2);
}

static void
test_batch_units_fail_alone(void **state)
{
    struct fx *fx = *state;
    struct dt_write *w[4];

    w[0] = fx_create_unit("a", "A", 1);
    w[1] = fx_create_unit("a", "A2", 2);
    w[2] = dt_write_new(DT_W_SEND);
    w[2]->u.send.msg = fx_msg("ghost", DURATA_EV_EVENT_RAISED, 0, "e");
    w[3] = fx_create_unit("b", "B", 3);
    fx_commit(fx->s, w, 4);
    assert_int_equal(w[0]->rc, 0);
    assert_int_equal(w[1]->rc, DURATA_ECONFLICT);
    assert_int_equal(w[2]->rc, DURATA_ENOTFOUND);
    assert_int_equal(w[3]->rc, 0);
    for (int i = 0; i < 4; i++)
        dt_write_free(w[i]);
    assert_true(fx_exists(fx->s, "b"));
    assert_int_equal(fx_inbox_len(fx->s, "a", INT64_MAX), 1);
    assert_int_equal(fx->s->ops->commit(fx->s, NULL, 0), 0); /* empty batch */
}

/* ------------------------------------------------------------------ step */

static void
test_step_requires_the_lock(void **state)
{
    struct fx *fx = *state;
    struct durata_instance *inst;
    struct dt_write *w;
    int64_t mid;

    assert_int_equal(fx_create(fx->s, "a", "A", 1000), 0);
    fx_claim_one(fx->s, "w1", 1000, "a");
    mid = first_inbox_id(fx->s, "a");
    for (int round = 0; round < 2; round++) {
        w = step_unit("a", round == 0 ? "w2" : "w1");
        step_append(w, DURATA_EV_ORCHESTRATOR_STARTED, NULL);
        step_append(w, DURATA_EV_EXECUTION_STARTED, "A");
        w->u.step.state = state_with(fx->s, "a", DURATA_RUNNING);
        w->u.step.consumed = malloc(sizeof(int64_t));
        w->u.step.consumed[0] = mid;
        w->u.step.n_consumed = 1;
        assert_int_equal(fx_commit1(fx->s, w), round == 0 ? DURATA_ECONFLICT : 0);
        inst = fx_get(fx->s, "a");
        assert_int_equal(inst->status, round == 0 ? DURATA_PENDING : DURATA_RUNNING);
        durata_instance_free(inst);
        assert_int_equal(fx_history_len(fx->s, "a"), round == 0 ? 0 : 2);
        assert_int_equal(fx_inbox_len(fx->s, "a", INT64_MAX), round == 0 ? 1 : 0);
    }
    /* the step released the lock: another owner may claim at once */
    assert_int_equal(fx_send(fx->s, fx_msg("a", DURATA_EV_EVENT_RAISED, 1001, "e")), 0);
    fx_claim_one(fx->s, "w2", 1001, "a");
}

static void
test_step_history_positions_detect_concurrent_writer(void **state)
{
    struct fx *fx = *state;
    struct dt_event_list h = {0};
    struct dt_write *w;

    assert_int_equal(fx_create(fx->s, "a", "A", 1000), 0);
    fx_claim_one(fx->s, "w1", 1000, "a");
    w = step_unit("a", "w1");
    step_append(w, DURATA_EV_ORCHESTRATOR_STARTED, NULL);
    step_append(w, DURATA_EV_EXECUTION_STARTED, "A");
    w->u.step.clear_inbox = true;
    w->u.step.state = state_with(fx->s, "a", DURATA_RUNNING);
    assert_int_equal(fx_commit1(fx->s, w), 0);
    assert_int_equal(fx_send(fx->s, fx_msg("a", DURATA_EV_EVENT_RAISED, 1000, "e")), 0);
    fx_claim_one(fx->s, "w1", 1000, "a");
    /* a writer that read the same (empty) history appends at 0 too: clash */
    w = step_unit("a", "w1");
    step_append(w, DURATA_EV_EVENT_RAISED, "e");
    w->u.step.history_base = 0;
    w->u.step.clear_inbox = true;
    w->u.step.state = state_with(fx->s, "a", DURATA_RUNNING);
    assert_int_equal(fx_commit1(fx->s, w), DURATA_ECONFLICT);
    assert_int_equal(fx_history_len(fx->s, "a"), 2);
    assert_int_equal(fx_inbox_len(fx->s, "a", INT64_MAX), 1);
    /* the failed step left the lock to w1: it steps with the right base */
    w = step_unit("a", "w1");
    step_append(w, DURATA_EV_EVENT_RAISED, "e");
    w->u.step.history_base = 2;
    w->u.step.clear_inbox = true;
    assert_int_equal(fx_commit1(fx->s, w), 0);
    assert_int_equal(fx->s->ops->get_history(fx->s, "a", &h), 0);
    assert_int_equal(h.count, 3);
    assert_int_equal(h.items[0]->type, DURATA_EV_ORCHESTRATOR_STARTED);
    assert_int_equal(h.items[1]->type, DURATA_EV_EXECUTION_STARTED);
    assert_int_equal(h.items[2]->type, DURATA_EV_EVENT_RAISED);
    assert_string_equal(h.items[2]->name, "e");
    dt_event_list_release(&h);
}

/* A unit that fails after it changed rows (here: the state written, then
 * the history position clashes) leaves no trace, in the middle of a batch
 * whose other units apply. */
static void
test_unit_failing_after_writes_leaves_no_trace_in_its_batch(void **state)
{
    struct fx *fx = *state;
    struct dt_write *w[3];

    assert_int_equal(fx_create(fx->s, "a", "A", 1000), 0);
    assert_int_equal(fx_create(fx->s, "b", "B", 1000), 0);
    fx_claim_one(fx->s, "w1", 1000, "a");
    w[0] = step_unit("a", "w1"); /* a's first step: two events */
    step_append(w[0], DURATA_EV_ORCHESTRATOR_STARTED, NULL);
    step_append(w[0], DURATA_EV_EXECUTION_STARTED, "A");
    w[0]->u.step.state = state_with(fx->s, "a", DURATA_RUNNING);
    w[0]->u.step.clear_inbox = true;
    assert_int_equal(fx_commit1(fx->s, w[0]), 0);
    fx_claim_one(fx->s, "w1", 1000, "b");
    assert_int_equal(fx_send(fx->s, fx_msg("a", DURATA_EV_EVENT_RAISED, 1000, "e")), 0);
    fx_claim_one(fx->s, "w1", 1000, "a");
    w[0] = fx_create_unit("c", "C", 1000);
    w[1] = step_unit("a", "w1"); /* base 0 clashes after the state write */
    step_append(w[1], DURATA_EV_EVENT_RAISED, "e");
    w[1]->u.step.history_base = 0;
    w[1]->u.step.state = state_with(fx->s, "a", DURATA_COMPLETED);
    w[1]->u.step.clear_inbox = true;
    w[2] = step_unit("b", "w1");
    step_append(w[2], DURATA_EV_ORCHESTRATOR_STARTED, NULL);
    w[2]->u.step.state = state_with(fx->s, "b", DURATA_RUNNING);
    fx_commit(fx->s, w, 3);
    assert_int_equal(w[0]->rc, 0);
    assert_int_equal(w[1]->rc, DURATA_ECONFLICT);
    assert_int_equal(w[2]->rc, 0);
    for (int i = 0; i < 3; i++)
        dt_write_free(w[i]);
    struct durata_instance *a = fx_get(fx->s, "a"), *b = fx_get(fx->s, "b");
    assert_int_equal(a->status, DURATA_RUNNING); /* the state write was undone */
    assert_int_equal(b->status, DURATA_RUNNING);
    durata_instance_free(a);
    durata_instance_free(b);
    assert_true(fx_exists(fx->s, "c"));
    assert_int_equal(fx_history_len(fx->s, "a"), 2);
    assert_int_equal(fx_inbox_len(fx->s, "a", INT64_MAX), 1); /* not consumed */
    assert_int_equal(fx_history_len(fx->s, "b"), 1);
}

static void
test_load_step_reads_one_snapshot_of_what_a_step_needs(void **state)
{
    struct fx *fx = *state;
    struct durata_instance *inst = NULL;
    struct dt_msg_list inbox = {0};
    size_t len = 99;

    assert_int_equal(fx->s->ops->load_step(fx->s, "nope", 1000, &inst, &inbox, &len),
                     DURATA_ENOTFOUND);
    assert_null(inst);
    assert_int_equal(fx_create(fx->s, "a", "A", 1000), 0);
    assert_int_equal(fx_send(fx->s, fx_msg("a", DURATA_EV_EVENT_RAISED, 5000, "later")), 0);
    assert_int_equal(fx->s->ops->load_step(fx->s, "a", 1000, &inst, &inbox, &len), 0);
    assert_string_equal(inst->id, "a");
    assert_int_equal(inbox.count, 1); /* the start; the event is not visible yet */
    assert_int_equal(inbox.items[0]->event->type, DURATA_EV_EXECUTION_STARTED);
    assert_int_equal(len, 0);
    durata_instance_free(inst);
    dt_msg_list_release(&inbox);
    fx_claim_one(fx->s, "w1", 1000, "a");
    struct dt_write *w = step_unit("a", "w1");
    step_append(w, DURATA_EV_ORCHESTRATOR_STARTED, NULL);
    step_append(w, DURATA_EV_EXECUTION_STARTED, "A");
    w->u.step.state = state_with(fx->s, "a", DURATA_RUNNING);
    assert_int_equal(fx_commit1(fx->s, w), 0);
    assert_int_equal(fx->s->ops->load_step(fx->s, "a", 6000, &inst, &inbox, &len), 0);
    assert_int_equal(len, 2);
    assert_int_equal(inst->status, DURATA_RUNNING);
    assert_int_equal(inbox.count, 2); /* nothing consumed; the event is visible now */
    durata_instance_free(inst);
    dt_msg_list_release(&inbox);
}

static void
test_step_replace_history(void **state)
{
    struct fx *fx = *state;
    struct dt_event_list h = {0};
    struct dt_write *w;

    assert_int_equal(fx_create(fx->s, "a", "A", 1000), 0);
    w = step_unit("a", NULL);
    step_append(w, DURATA_EV_ORCHESTRATOR_STARTED, NULL);
    step_append(w, DURATA_EV_EXECUTION_STARTED, "A");
    assert_int_equal(fx_commit1(fx->s, w), 0);
    w = step_unit("a", NULL);
    w->u.step.replace_history = true;
    step_append(w, DURATA_EV_EXECUTION_STARTED, "A2");
    assert_int_equal(fx_commit1(fx->s, w), 0);
    assert_int_equal(fx->s->ops->get_history(fx->s, "a", &h), 0);
    assert_int_equal(h.count, 1);
    assert_string_equal(h.items[0]->name, "A2");
    dt_event_list_release(&h);
}

static void
test_step_admin_checks_expected_statuses(void **state)
{
    struct fx *fx = *state;
    struct durata_instance *inst;
    struct dt_write *w;

    w = step_unit("ghost", NULL);
    w->u.step.expect_statuses = 1u << DURATA_RUNNING;
    assert_int_equal(fx_commit1(fx->s, w), DURATA_ENOTFOUND);
    assert_int_equal(fx_create(fx->s, "a", "A", 1000), 0);
    w = step_unit("a", NULL);
    w->u.step.expect_statuses = 1u << DURATA_RUNNING;
    w->u.step.state = state_with(fx->s, "a", DURATA_SUSPENDED);
    assert_int_equal(fx_commit1(fx->s, w), DURATA_ECONFLICT);
    w = step_unit("a", NULL);
    w->u.step.expect_statuses = (1u << DURATA_RUNNING) | (1u << DURATA_PENDING);
    w->u.step.state = state_with(fx->s, "a", DURATA_SUSPENDED);
    w->u.step.state->custom_status = fx_strdup("\"paused\"");
    w->u.step.state->failure = dt_failure_new("E", "msg", NULL, true);
    assert_int_equal(fx_commit1(fx->s, w), 0);
    inst = fx_get(fx->s, "a");
    assert_int_equal(inst->status, DURATA_SUSPENDED);
    assert_string_equal(inst->custom_status, "\"paused\"");
    assert_non_null(inst->failure);
    assert_string_equal(inst->failure->error_type, "E");
    assert_string_equal(inst->failure->message, "msg");
    assert_null(inst->failure->details);
    assert_true(inst->failure->non_retriable);
    durata_instance_free(inst);
}

static void
test_step_outbox_drops_missing_terminal_and_stale(void **state)
{
    struct fx *fx = *state;
    struct dt_write *w;

    assert_int_equal(fx_create(fx->s, "src", "S", 1000), 0);
    assert_int_equal(fx_create(fx->s, "live", "L", 1000), 0);
    assert_int_equal(fx_create(fx->s, "done", "D", 1000), 0);
    assert_int_equal(fx_set_status(fx->s, "done", DURATA_FAILED), 0);
    fx_claim_one(fx->s, "w1", 1000, "src");
    w = step_unit("src", "w1");
    w->u.step.state = state_with(fx->s, "src", DURATA_RUNNING);
    step_outbox(w, fx_msg("live", DURATA_EV_EVENT_RAISED, 1000, "x"));
    step_outbox(w, fx_msg("done", DURATA_EV_EVENT_RAISED, 1000, "x"));
    step_outbox(w, fx_msg("ghost", DURATA_EV_EVENT_RAISED, 1000, "x"));
    step_outbox(w, fx_msg("src", DURATA_EV_TIMER_FIRED, 5000, NULL));
    step_outbox(w, dt_msg_new_take("live", "old-exec", 1000,
                                   fx_event(DURATA_EV_EVENT_RAISED, 0, "stale", NULL)));
    assert_int_equal(fx_commit1(fx->s, w), 0);
    assert_int_equal(fx_inbox_len(fx->s, "live", INT64_MAX), 2);
    assert_int_equal(fx_inbox_len(fx->s, "done", INT64_MAX), 1);
    assert_int_equal(fx_inbox_len(fx->s, "ghost", INT64_MAX), 0);
    assert_int_equal(fx_inbox_len(fx->s, "src", INT64_MAX), 2);
    assert_int_equal(fx_inbox_len(fx->s, "src", 4999), 1); /* timer not visible yet */
    /* completing while sending to itself: the self message sees Completed */
    fx_claim_one(fx->s, "w1", 1000, "src");
    w = step_unit("src", "w1");
    w->u.step.state = state_with(fx->s, "src", DURATA_COMPLETED);
    w->u.step.clear_inbox = true;
    step_outbox(w, fx_msg("src", DURATA_EV_EVENT_RAISED, 1000, "late"));
    assert_int_equal(fx_commit1(fx->s, w), 0);
    assert_int_equal(fx_inbox_len(fx->s, "src", INT64_MAX), 0);
}

static void
test_step_tasks_creates_and_clears(void **state)
{
    struct fx *fx = *state;
    struct dt_write *w;
    struct dt_create *cr;
    int64_t by[8], n_inbox, n_tasks;

    assert_int_equal(fx_create(fx->s, "p", "P", 1000), 0);
    assert_int_equal(fx_create(fx->s, "taken", "T", 1000), 0);
    fx_claim_one(fx->s, "w1", 1000, "p");
    w = step_unit("p", "w1");
    w->u.step.state = state_with(fx->s, "p", DURATA_RUNNING);
    for (int i = 0; i < 2; i++)
        assert_int_equal(dt_task_list_push_take(&w->u.step.tasks,
                                                dt_task_new("p", "exec-1", i, "Act", "1", 1000)),
                         0);
    cr = calloc(2, sizeof(*cr));
    w->u.step.creates = cr;
    w->u.step.n_creates = 2;
    for (int i = 0; i < 2; i++) {
        struct dt_write *tmp = fx_create_unit(i == 0 ? "child" : "taken", "C", 1000);

        cr[i] = tmp->u.create;
        memset(&tmp->u.create, 0, sizeof(tmp->u.create));
        dt_write_free(tmp);
    }
    cr[1].on_conflict = fx_msg("p", DURATA_EV_SUB_ORCHESTRATION_FAILED, 1000, NULL);
    fx_commit(fx->s, &w, 1);
    assert_int_equal(w->rc, 0);
    assert_true(w->u.step.tasks.items[0]->id > 0);
    assert_true(w->u.step.tasks.items[1]->id > w->u.step.tasks.items[0]->id);
    dt_write_free(w);
    assert_int_equal(fx_inbox_len(fx->s, "child", INT64_MAX), 1);
    assert_int_equal(fx_inbox_len(fx->s, "p", INT64_MAX), 2); /* start + SubOrch failed */
    fx_counts(fx->s, by, &n_inbox, &n_tasks);
    assert_int_equal(n_tasks, 2);
    assert_int_equal(by[DURATA_PENDING], 2);
    assert_int_equal(by[DURATA_RUNNING], 1);
    w = step_unit("p", NULL);
    w->u.step.clear_inbox = true;
    w->u.step.clear_tasks = true;
    assert_int_equal(fx_commit1(fx->s, w), 0);
    assert_int_equal(fx_inbox_len(fx->s, "p", INT64_MAX), 0);
    fx_counts(fx->s, by, &n_inbox, &n_tasks);
    assert_int_equal(n_tasks, 0);
    assert_int_equal(n_inbox, 2); /* child's and taken's starts */
}

static int
task_done(struct dt_store *s, int64_t row, const char *target)
{
    struct dt_write *w = dt_write_new(DT_W_TASK_DONE);

    w->u.task_done.task_row_id = row;
    w->u.task_done.result = fx_msg(target, DURATA_EV_TASK_COMPLETED, 0, NULL);
    return fx_commit1(s, w);
}

static void
test_task_done_once(void **state)
{
    struct fx *fx = *state;
    int64_t row, by[8], n_inbox, n_tasks;

    assert_int_equal(fx_create(fx->s, "a", "A", 1000), 0);
    row = fx_add_task(fx->s, "a", 3, 1000);
    assert_int_equal(task_done(fx->s, row, "a"), 0);
    assert_int_equal(fx_inbox_len(fx->s, "a", INT64_MAX), 2);
    assert_int_equal(task_done(fx->s, row, "a"), DURATA_ENOTFOUND);
    assert_int_equal(fx_inbox_len(fx->s, "a", INT64_MAX), 2);
    fx_counts(fx->s, by, &n_inbox, &n_tasks);
    assert_int_equal(n_tasks, 0);
    /* a result for a terminal instance is dropped, the task still deleted */
    row = fx_add_task(fx->s, "a", 4, 1000);
    assert_int_equal(fx_set_status(fx->s, "a", DURATA_TERMINATED), 0);
    assert_int_equal(task_done(fx->s, row, "a"), 0);
    assert_int_equal(fx_inbox_len(fx->s, "a", INT64_MAX), 2);
    fx_counts(fx->s, by, &n_inbox, &n_tasks);
    assert_int_equal(n_tasks, 0);
}

/* ------------------------------------------------------------ durability */

static void
test_reopen_finds_everything(void **state)
{
    struct fx *fx = *state;
    struct durata_instance *inst;
    struct dt_write *w;
    int64_t by[8], n_inbox, n_tasks;

    assert_int_equal(fx_create(fx->s, "a", "A", 1000), 0);
    assert_int_equal(fx_create(fx->s, "b", "B", 1001), 0);
    w = step_unit("a", NULL);
    step_append(w, DURATA_EV_EXECUTION_STARTED, "A");
    w->u.step.state = state_with(fx->s, "a", DURATA_RUNNING);
    w->u.step.state->output = fx_strdup("[1,2]");
    assert_int_equal(fx_commit1(fx->s, w), 0);
    fx_add_task(fx->s, "a", 0, 1000);
    fx_reopen(fx);
    inst = fx_get(fx->s, "a");
    assert_int_equal(inst->status, DURATA_RUNNING);
    assert_string_equal(inst->output, "[1,2]");
    durata_instance_free(inst);
    assert_int_equal(fx_history_len(fx->s, "a"), 1);
    fx_counts(fx->s, by, &n_inbox, &n_tasks);
    assert_int_equal(by[DURATA_PENDING], 1);
    assert_int_equal(by[DURATA_RUNNING], 1);
    assert_int_equal(n_inbox, 2);
    assert_int_equal(n_tasks, 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

const struct CMUnitTest contract_write_tests[] = {
    T(test_create_then_read_back),
    T(test_create_existing_id_conflicts_and_changes_nothing),
    T(test_create_conflict_delivers_on_conflict),
    T(test_create_replaces_terminal_only_when_asked),
    T(test_create_rejects_bad_unit),
    T(test_send_rules),
    T(test_batch_units_fail_alone),
    T(test_step_requires_the_lock),
    T(test_step_history_positions_detect_concurrent_writer),
    T(test_unit_failing_after_writes_leaves_no_trace_in_its_batch),
    T(test_load_step_reads_one_snapshot_of_what_a_step_needs),
    T(test_step_replace_history),
    T(test_step_admin_checks_expected_statuses),
    T(test_step_outbox_drops_missing_terminal_and_stale),
    T(test_step_tasks_creates_and_clears),
    T(test_task_done_once),
    T(test_reopen_finds_everything),
};
const size_t contract_write_count = sizeof(contract_write_tests) / sizeof(contract_write_tests[0]);
