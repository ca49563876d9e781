/*
 * test_delivery.c — at-least-once activity delivery: a task leased by a
 * worker that died is delivered again once its lease expires; past
 * max_deliveries it is failed as a PoisonMessage; and a result that comes
 * late (after another delivery completed the task) is ignored.
 *
 * The dead worker is simulated through the store API: a second dt_store
 * on the same file commits a DT_W_CLAIM_TASKS unit under another owner.
 */
#include "support_engine.h"

#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEASE_MS 30000

static int work_calls;
static int work_last_delivery;

static void
act_work(struct durata_activity *a, void *arg)
{
    (void)arg;
    work_calls++;
    work_last_delivery = durata_activity_delivery(a);
    durata_activity_complete(a, "\"fresh\"");
}

/* Work, then "finish"; output {"ok":result} or {"caught":type}. */
static enum durata_orch_result
orch_work(struct durata_orch *o, void *arg)
{
    (void)arg;
    char out[512];
    struct durata_task *t = durata_call_activity(o, "Work", "{\"job\":1}", NULL);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    if (durata_task_is_failed(t)) {
        snprintf(out, sizeof(out), "{\"caught\":\"%s\"}", durata_task_failure(t)->error_type);
        durata_orch_complete(o, out);
        return DURATA_DONE;
    }
    struct durata_task *fin = durata_wait_event(o, "finish", -1);
    if (!durata_await(o, fin))
        return DURATA_YIELD;
    snprintf(out, sizeof(out), "{\"ok\":%s}", durata_task_result(t));
    durata_orch_complete(o, out);
    return DURATA_DONE;
}

static int
setup(void **state)
{
    int rc = eng_setup(state);
    struct eng *e = *state;
    struct durata_hub_options o = {.max_deliveries = 2, .activity_lease_ms = LEASE_MS};

    if (rc == 0) {
        eng_reopen(e, &o);
        eng_act(e, "Work", act_work, NULL);
        eng_orch(e, "Job", orch_work, NULL);
    }
    work_calls = work_last_delivery = 0;
    return rc;
}

/* A worker that dies right after claiming: leases every visible task
 * under its own owner. Returns the unit (the caller frees it). */
static struct dt_write *
dead_worker_claim(struct eng *e, struct dt_store *s, size_t want)
{
    struct dt_write *w = dt_write_new(DT_W_CLAIM_TASKS);
    assert_non_null(w);
    struct dt_claim_tasks *c = &w->u.claim_tasks;
    c->owner = strdup("dead-worker:1:deadbeef");
    assert_non_null(c->owner);
    c->now_ms = eng_now(e);
    c->lease_until_ms = eng_now(e) + LEASE_MS;
    c->max = 16;
    c->max_deliveries = 2;
    assert_int_equal(s->ops->commit(s, &w, 1), 0);
    assert_int_equal(w->rc, 0);
    assert_int_equal(c->tasks.count + c->poisoned.count, want);
    return w;
}

static struct dt_store *
second_store(struct eng *e)
{
    struct dt_store *s = NULL;

    assert_int_equal(dt_store_open(e->path, &s), 0);
    assert_non_null(s);
    return s;
}

static void
test_expired_lease_of_dead_worker_is_redelivered(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Job", "redeliver", NULL, id);
    assert_true(durata_hub_run_pending(e->hub, 1) >= 1); /* schedules Work */
    struct dt_store *s = second_store(e);
    struct dt_write *w = dead_worker_claim(e, s, 1);
    assert_int_equal(w->u.claim_tasks.tasks.items[0]->deliveries, 1);
    assert_string_equal(w->u.claim_tasks.tasks.items[0]->name, "Work");
    dt_write_free(w);

    /* Leased by someone else: not run here while the lease holds. */
    eng_run(e);
    eng_advance(e, LEASE_MS - 1);
    eng_run(e);
    assert_int_equal(work_calls, 0);

    eng_advance(e, 1);
    eng_run(e);
    assert_int_equal(work_calls, 1);
    assert_int_equal(work_last_delivery, 2);
    assert_int_equal(durata_raise_event(e->hub, "redeliver", "finish", NULL), 0);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "redeliver");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(eng_json_equal(inst->output, "{\"ok\":\"fresh\"}"));
    durata_instance_free(inst);
    dt_store_close(s);
}

static void
test_task_over_max_deliveries_is_poisoned(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Job", "poison", NULL, id);
    assert_true(durata_hub_run_pending(e->hub, 1) >= 1);
    struct dt_store *s = second_store(e);
    dt_write_free(dead_worker_claim(e, s, 1)); /* delivery 1 */
    eng_advance(e, LEASE_MS);
    struct dt_write *w = dead_worker_claim(e, s, 1); /* delivery 2: the limit */
    assert_int_equal(w->u.claim_tasks.tasks.count, 1);
    assert_int_equal(w->u.claim_tasks.tasks.items[0]->deliveries, 2);
    dt_write_free(w);
    eng_advance(e, LEASE_MS);
    eng_run(e); /* delivery 3 would exceed the limit */
    assert_int_equal(work_calls, 0);
    struct durata_instance *inst = eng_get(e, "poison");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(eng_json_equal(inst->output, "{\"caught\":\"PoisonMessage\"}"));
    durata_instance_free(inst);
    assert_int_equal(eng_history_count(e, "poison", DURATA_EV_TASK_FAILED), 1);
    char *failed = eng_history_event(e, "poison", DURATA_EV_TASK_FAILED, 0);
    assert_non_null(failed);
    assert_non_null(strstr(failed, "PoisonMessage"));
    free(failed);
    /* Nothing is left to deliver. */
    eng_advance(e, 10 * LEASE_MS);
    eng_run(e);
    assert_int_equal(work_calls, 0);
    dt_store_close(s);
}

/* The dead worker was only slow: it reports after the task was done. */
static int
late_result(struct eng *e, struct dt_store *s, const struct dt_task *t)
{
    struct dt_write *w = dt_write_new(DT_W_TASK_DONE);
    struct dt_event *ev = dt_event_new(DURATA_EV_TASK_COMPLETED, eng_now(e));
    assert_non_null(w);
    assert_non_null(ev);
    ev->task_id = t->task_id;
    ev->result = strdup("\"late\"");
    w->u.task_done.task_row_id = t->id;
    w->u.task_done.result = dt_msg_new_take(t->instance_id, t->execution_id, eng_now(e), ev);
    assert_non_null(w->u.task_done.result);
    assert_int_equal(s->ops->commit(s, &w, 1), 0);
    int rc = w->rc;
    dt_write_free(w);
    return rc;
}

static void
test_late_duplicate_result_is_ignored(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Job", "late", NULL, id);
    assert_true(durata_hub_run_pending(e->hub, 1) >= 1);
    struct dt_store *s = second_store(e);
    struct dt_write *claimed = dead_worker_claim(e, s, 1);
    eng_advance(e, LEASE_MS + 1);
    eng_run(e); /* redelivered here and completed */
    assert_int_equal(work_calls, 1);
    assert_int_equal(eng_history_count(e, "late", DURATA_EV_TASK_COMPLETED), 1);
    assert_int_equal(eng_status(e, "late"), DURATA_RUNNING);

    assert_int_equal(late_result(e, s, claimed->u.claim_tasks.tasks.items[0]), DURATA_ENOTFOUND);
    eng_run(e);
    assert_int_equal(durata_raise_event(e->hub, "late", "finish", NULL), 0);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "late");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(eng_json_equal(inst->output, "{\"ok\":\"fresh\"}"));
    durata_instance_free(inst);
    assert_int_equal(eng_history_count(e, "late", DURATA_EV_TASK_COMPLETED), 1);
    dt_write_free(claimed);
    dt_store_close(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_expired_lease_of_dead_worker_is_redelivered, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_task_over_max_deliveries_is_poisoned, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_late_duplicate_result_is_ignored, setup, eng_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
