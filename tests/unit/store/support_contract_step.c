/*
 * support_contract_step.c — the store contract for the two shortcut shapes
 * of a step: an optimistic step (no lock held; applies only when nobody
 * holds the lock, the row is as read and nothing waits in the inbox; may
 * finish an activity task with it) and a Create that carries the
 * instance's first step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "fixtures.h"
#include <stdlib.h>
#include <string.h>

/* An optimistic step on id that appends one event at `base` and writes the
 * instance Running at now_ms, expecting the row last updated at expect_ms. */
static struct dt_write *
optimistic_step(struct dt_store *s, const char *id, size_t base, int64_t now_ms, int64_t expect_ms)
{
    struct dt_write *w = dt_write_new(DT_W_STEP);
    struct durata_instance *cur = fx_get(s, id);

    assert_non_null(w);
    assert_non_null(cur);
    w->u.step.instance_id = fx_strdup(id);
    w->u.step.history_base = base;
    w->u.step.state = cur;
    cur->status = DURATA_RUNNING;
    cur->updated_ms = now_ms;
    w->u.step.optimistic = true;
    w->u.step.now_ms = now_ms;
    w->u.step.expect_updated_ms = expect_ms;
    w->u.step.expect_execution_id = fx_strdup("exec-1");
    assert_int_equal(dt_event_list_push_take(&w->u.step.append,
                                             fx_event(DURATA_EV_TIMER_FIRED, now_ms, NULL, NULL)),
                     0);
    return w;
}

/* Creates id with its execution under way and an empty inbox, as a start
 * that carried its first step leaves it. */
static void
create_started(struct dt_store *s, const char *id, const char *name, int64_t created_ms)
{
    struct dt_write *w = fx_create_unit(id, name, created_ms);

    dt_msg_free(w->u.create.start);
    w->u.create.start = NULL;
    assert_int_equal(fx_commit1(s, w), 0);
}

/* Makes the step finish the tasks rows[0..n). */
static void
finish_tasks(struct dt_write *w, const int64_t *rows, size_t n)
{
    w->u.step.done_tasks = calloc(n, sizeof(*rows));
    assert_non_null(w->u.step.done_tasks);
    memcpy(w->u.step.done_tasks, rows, n * sizeof(*rows));
    w->u.step.n_done_tasks = n;
}

static int64_t
task_count(struct dt_store *s)
{
    int64_t by_status[8], inbox, tasks;

    fx_counts(s, by_status, &inbox, &tasks);
    return tasks;
}

static void
test_optimistic_step_applies_only_to_the_row_it_read(void **state)
{
    struct fx *fx = *state;
    struct durata_instance *inst;

    create_started(fx->s, "o", "O", 1000);
    assert_int_equal(fx_commit1(fx->s, optimistic_step(fx->s, "o", 0, 2000, 1000)), 0);
    inst = fx_get(fx->s, "o");
    assert_int_equal(inst->status, DURATA_RUNNING);
    assert_int_equal(inst->updated_ms, 2000);
    durata_instance_free(inst);
    assert_int_equal(fx_history_len(fx->s, "o"), 1);
    /* Read before that step: the row changed since. */
    assert_int_equal(fx_commit1(fx->s, optimistic_step(fx->s, "o", 1, 3000, 1000)),
                     DURATA_ECONFLICT);
    assert_int_equal(fx_history_len(fx->s, "o"), 1);
    /* Another execution under the same id (restarted since). */
    struct dt_write *w = optimistic_step(fx->s, "o", 1, 3000, 2000);
    free(w->u.step.expect_execution_id);
    w->u.step.expect_execution_id = fx_strdup("exec-0");
    assert_int_equal(fx_commit1(fx->s, w), DURATA_ECONFLICT);
    /* A writer that read the same history collides on its position. */
    assert_int_equal(fx_commit1(fx->s, optimistic_step(fx->s, "o", 0, 3000, 2000)),
                     DURATA_ECONFLICT);
    assert_int_equal(fx_history_len(fx->s, "o"), 1);
}

/* A message sent before the step was built (here: the start itself, then
 * a terminate) is the claim's to apply first; one visible only later (a
 * timer) does not hold the step. */
static void
test_optimistic_step_yields_to_the_inbox(void **state)
{
    struct fx *fx = *state;

    assert_int_equal(fx_create(fx->s, "q", "Q", 1000), 0);
    assert_int_equal(fx_commit1(fx->s, optimistic_step(fx->s, "q", 0, 2000, 1000)),
                     DURATA_ECONFLICT);
    create_started(fx->s, "r", "R", 1000);
    assert_int_equal(fx_send(fx->s, fx_msg("r", DURATA_EV_TIMER_FIRED, 9000, NULL)), 0);
    assert_int_equal(fx_commit1(fx->s, optimistic_step(fx->s, "r", 0, 2000, 1000)), 0);
    assert_int_equal(fx_send(fx->s, fx_msg("r", DURATA_EV_EXECUTION_TERMINATED, 2500, NULL)), 0);
    assert_int_equal(fx_commit1(fx->s, optimistic_step(fx->s, "r", 1, 3000, 2000)),
                     DURATA_ECONFLICT);
    assert_int_equal(fx_history_len(fx->s, "r"), 1);
    assert_int_equal(fx_history_len(fx->s, "q"), 0);
}

static void
test_optimistic_step_waits_for_a_held_lock(void **state)
{
    struct fx *fx = *state;

    assert_int_equal(fx_create(fx->s, "l", "L", 1000), 0);
    fx_claim_one(fx->s, "w1", 1000, "l"); /* locked until 61000 */
    assert_int_equal(fx_commit1(fx->s, optimistic_step(fx->s, "l", 0, 2000, 1000)),
                     DURATA_ECONFLICT);
    /* The lock alone: at 999 the start message is not visible yet. */
    assert_int_equal(fx_commit1(fx->s, optimistic_step(fx->s, "l", 0, 999, 1000)),
                     DURATA_ECONFLICT);
    assert_int_equal(fx_history_len(fx->s, "l"), 0);
    /* Once the lock expired, the message its holder never consumed is the
     * next claim's, still ahead of the step. */
    assert_int_equal(fx_commit1(fx->s, optimistic_step(fx->s, "l", 0, 61000, 1000)),
                     DURATA_ECONFLICT);
    assert_int_equal(fx_history_len(fx->s, "l"), 0);
}

static void
test_step_finishes_its_tasks_once(void **state)
{
    struct fx *fx = *state;
    struct dt_write *w;
    int64_t rows[2];

    create_started(fx->s, "t", "T", 1000);
    rows[0] = fx_add_task(fx->s, "t", 0, 1000);
    rows[1] = fx_add_task(fx->s, "t", 0, 1000);
    w = optimistic_step(fx->s, "t", 0, 2000, 1000);
    finish_tasks(w, rows, 2);
    assert_int_equal(fx_commit1(fx->s, w), 0);
    assert_int_equal(task_count(fx->s), 0);
    /* A second result for one of them changes nothing, the other one with it. */
    rows[1] = fx_add_task(fx->s, "t", 0, 1000);
    w = optimistic_step(fx->s, "t", 1, 3000, 2000);
    finish_tasks(w, rows, 2);
    assert_int_equal(fx_commit1(fx->s, w), DURATA_ENOTFOUND);
    assert_int_equal(task_count(fx->s), 1);
    assert_int_equal(fx_history_len(fx->s, "t"), 1);
    struct durata_instance *inst = fx_get(fx->s, "t");
    assert_int_equal(inst->updated_ms, 2000);
    durata_instance_free(inst);
}

/* A Create of a Running instance with its first step: two events and one
 * activity task. */
static struct dt_write *
create_with_first(const char *id, int64_t now_ms)
{
    struct dt_write *w = dt_write_new(DT_W_CREATE), *first = dt_write_new(DT_W_STEP);
    struct dt_step *st = &first->u.step;

    assert_non_null(w);
    assert_non_null(first);
    w->u.create.inst = fx_instance(id, "F", DURATA_RUNNING, now_ms);
    w->u.create.replace_terminal = true;
    w->u.create.first = first;
    st->instance_id = fx_strdup(id);
    assert_int_equal(dt_event_list_push_take(&st->append, fx_event(DURATA_EV_EXECUTION_STARTED,
                                                                   now_ms, "F", "{\"n\":1}")),
                     0);
    assert_int_equal(dt_event_list_push_take(
                         &st->append, fx_event(DURATA_EV_TASK_SCHEDULED, now_ms, "Act", NULL)),
                     0);
    assert_int_equal(
        dt_task_list_push_take(&st->tasks, dt_task_new(id, "exec-1", 0, "Act", NULL, now_ms)), 0);
    return w;
}

static void
test_create_writes_its_first_step(void **state)
{
    struct fx *fx = *state;
    struct durata_instance *inst;

    assert_int_equal(fx_commit1(fx->s, create_with_first("f", 1000)), 0);
    inst = fx_get(fx->s, "f");
    assert_int_equal(inst->status, DURATA_RUNNING);
    durata_instance_free(inst);
    assert_int_equal(fx_history_len(fx->s, "f"), 2);
    assert_int_equal(fx_inbox_len(fx->s, "f", 1000), 0);
    assert_int_equal(task_count(fx->s), 1);
    /* The id is in use: nothing of the second create lands. */
    assert_int_equal(fx_commit1(fx->s, create_with_first("f", 2000)), DURATA_ECONFLICT);
    assert_int_equal(fx_history_len(fx->s, "f"), 2);
    assert_int_equal(task_count(fx->s), 1);
    fx_reopen(fx);
    assert_int_equal(fx_history_len(fx->s, "f"), 2);
}

static void
test_create_with_first_step_refuses_a_start_message(void **state)
{
    struct fx *fx = *state;
    struct dt_write *w = create_with_first("g", 1000), *plain = fx_create_unit("g", "F", 1000);

    w->u.create.start = plain->u.create.start; /* both ways of starting: refused */
    plain->u.create.start = NULL;
    dt_write_free(plain);
    assert_int_equal(fx_commit1(fx->s, w), DURATA_EINVAL);
    assert_false(fx_exists(fx->s, "g"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

const struct CMUnitTest contract_step_tests[] = {
    T(test_optimistic_step_applies_only_to_the_row_it_read),
    T(test_optimistic_step_yields_to_the_inbox),
    T(test_optimistic_step_waits_for_a_held_lock),
    T(test_step_finishes_its_tasks_once),
    T(test_create_writes_its_first_step),
    T(test_create_with_first_step_refuses_a_start_message),
};

const size_t contract_step_count = sizeof(contract_step_tests) / sizeof(contract_step_tests[0]);
