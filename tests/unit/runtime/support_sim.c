/*
 * support_sim.c — the engine stand-in of the runtime tests (support_sim.h).
 */
#include "support_sim.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char *
dup_opt(const char *s)
{
    char *c;

    if (!s)
        return NULL;
    c = strdup(s);
    assert_non_null(c);
    return c;
}

static struct dt_event *
push(struct dt_event_list *l, enum durata_event_type type, int64_t ts)
{
    struct dt_event *e = dt_event_new(type, ts);

    assert_non_null(e);
    assert_int_equal(dt_event_list_push_take(l, e), 0);
    return e;
}

void
sim_init(struct sim *s, const char *input, int64_t t0)
{
    struct dt_event *e;

    memset(s, 0, sizeof(*s));
    s->instance_id = "inst-1";
    s->execution_id = "exec-1";
    s->max_payload = 1 << 20;
    s->max_status = 16 << 10;
    s->now = t0;
    push(&s->fresh, DURATA_EV_ORCHESTRATOR_STARTED, t0);
    e = push(&s->fresh, DURATA_EV_EXECUTION_STARTED, t0);
    e->name = dup_opt("Orch");
    e->input = dup_opt(input);
    e->instance_id = dup_opt(s->instance_id);
    e->execution_id = dup_opt(s->execution_id);
}

void
sim_release(struct sim *s)
{
    dt_event_list_release(&s->past);
    dt_event_list_release(&s->fresh);
    dt_replay_out_release(&s->out);
}

int
sim_run(struct sim *s, durata_orchestrator_fn fn, void *arg)
{
    struct dt_replay_in in = {
        .instance_id = s->instance_id,
        .execution_id = s->execution_id,
        .name = "Orch",
        .past = s->past.items,
        .n_past = s->past.count,
        .fresh = s->fresh.items,
        .n_fresh = s->fresh.count,
        .fn = fn,
        .arg = arg,
        .max_custom_status_bytes = s->max_status,
        .max_payload_bytes = s->max_payload,
    };

    dt_replay_out_release(&s->out);
    return dt_replay_run(&in, &s->out);
}

static void
record_action(struct sim *s, const struct dt_action *a)
{
    static const enum durata_event_type types[] = {
        [DT_ACT_SCHEDULE_TASK] = DURATA_EV_TASK_SCHEDULED,
        [DT_ACT_CREATE_TIMER] = DURATA_EV_TIMER_CREATED,
        [DT_ACT_CREATE_SUB] = DURATA_EV_SUB_ORCHESTRATION_CREATED,
        [DT_ACT_SEND_EVENT] = DURATA_EV_EVENT_SENT,
    };
    struct dt_event *e = push(&s->past, types[a->kind], s->now);

    e->event_id = a->id;
    e->name = dup_opt(a->name);
    e->version = dup_opt(a->version);
    e->instance_id = dup_opt(a->instance_id);
    e->input = dup_opt(a->input);
    e->fire_at_ms = a->fire_at_ms;
}

void
sim_commit(struct sim *s)
{
    for (size_t i = 0; i < s->fresh.count; i++)
        assert_int_equal(dt_event_list_push_take(&s->past, s->fresh.items[i]), 0);
    s->fresh.count = 0; /* the events now belong to past */
    dt_event_list_release(&s->fresh);
    for (size_t i = 0; i < s->out.n_actions; i++)
        record_action(s, &s->out.actions[i]);
}

int
sim_step(struct sim *s, durata_orchestrator_fn fn, void *arg)
{
    int rc = sim_run(s, fn, arg);

    sim_commit(s);
    return rc;
}

void
sim_begin(struct sim *s, int64_t now)
{
    s->now = now;
    push(&s->fresh, DURATA_EV_ORCHESTRATOR_STARTED, now);
}

void
sim_task_done(struct sim *s, int32_t id, const char *result)
{
    struct dt_event *e = push(&s->fresh, DURATA_EV_TASK_COMPLETED, s->now);

    e->task_id = id;
    e->result = dup_opt(result);
}

void
sim_task_failed(struct sim *s, int32_t id, const char *message, bool non_retriable)
{
    struct dt_event *e = push(&s->fresh, DURATA_EV_TASK_FAILED, s->now);

    e->task_id = id;
    e->failure = dt_failure_new("ValueError", message, NULL, non_retriable);
    assert_non_null(e->failure);
}

void
sim_sub_done(struct sim *s, int32_t id, const char *result)
{
    struct dt_event *e = push(&s->fresh, DURATA_EV_SUB_ORCHESTRATION_COMPLETED, s->now);

    e->task_id = id;
    e->result = dup_opt(result);
}

void
sim_sub_failed(struct sim *s, int32_t id, const char *message)
{
    struct dt_event *e = push(&s->fresh, DURATA_EV_SUB_ORCHESTRATION_FAILED, s->now);

    e->task_id = id;
    e->failure = dt_failure_new("ChildError", message, NULL, false);
    assert_non_null(e->failure);
}

void
sim_timer_fired(struct sim *s, int32_t id)
{
    struct dt_event *e = push(&s->fresh, DURATA_EV_TIMER_FIRED, s->now);

    e->task_id = id;
    e->fire_at_ms = s->now;
}

void
sim_raise(struct sim *s, const char *name, const char *input)
{
    struct dt_event *e = push(&s->fresh, DURATA_EV_EVENT_RAISED, s->now);

    e->name = dup_opt(name);
    e->input = dup_opt(input);
}

struct dt_event *
sim_past(struct sim *s, enum durata_event_type type)
{
    return push(&s->past, type, s->now);
}

const struct dt_action *
sim_action(const struct sim *s, size_t i)
{
    assert_true(i < s->out.n_actions);
    return &s->out.actions[i];
}
