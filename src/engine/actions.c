/*
 * actions.c — the replay's outcome as store writes (see actions.h).
 */
#include "engine/actions.h"

#include "base/id.h"
#include "base/json.h"

#include <stdlib.h>
#include <string.h>

static int
append(struct dt_write *w, struct dt_event *e)
{
    if (!e)
        return DURATA_ENOMEM;
    return dt_event_list_push_take(&w->u.step.append, e);
}

/* Queues e (taken) for instance_id / execution_id, visible at visible_ms. */
static int
send(struct dt_write *w, const char *instance_id, const char *execution_id, int64_t visible_ms,
     struct dt_event *e)
{
    if (!e)
        return DURATA_ENOMEM;
    struct dt_msg *m = dt_msg_new_take(instance_id, execution_id, visible_ms, e);
    if (!m)
        return DURATA_ENOMEM;
    return dt_msg_list_push_take(&w->u.step.outbox, m);
}

static struct dt_event *
event_with(enum durata_event_type type, int64_t now, int32_t event_id, const char *name,
           const char *input)
{
    struct dt_event *e = dt_event_new(type, now);
    if (!e)
        return NULL;
    e->event_id = event_id;
    e->name = dt_strdup_opt(name);
    e->input = dt_strdup_opt(input);
    if ((name && !e->name) || (input && !e->input)) {
        dt_event_free(e);
        return NULL;
    }
    return e;
}

static int
schedule_task(struct dt_write *w, const struct dt_action *a, int64_t now)
{
    const struct durata_instance *st = w->u.step.state;
    int rc = append(w, event_with(DURATA_EV_TASK_SCHEDULED, now, a->id, a->name, a->input));
    if (rc < 0)
        return rc;
    struct dt_task *t = dt_task_new(st->id, st->execution_id, a->id, a->name, a->input, now);
    if (!t)
        return DURATA_ENOMEM;
    return dt_task_list_push_take(&w->u.step.tasks, t);
}

static int
create_timer(struct dt_write *w, const struct dt_action *a, int64_t now)
{
    const struct durata_instance *st = w->u.step.state;
    struct dt_event *created = event_with(DURATA_EV_TIMER_CREATED, now, a->id, NULL, NULL);
    if (created)
        created->fire_at_ms = a->fire_at_ms;
    int rc = append(w, created);
    if (rc < 0)
        return rc;
    struct dt_event *fired = dt_event_new(DURATA_EV_TIMER_FIRED, a->fire_at_ms);
    if (fired) {
        fired->task_id = a->id;
        fired->fire_at_ms = a->fire_at_ms;
    }
    return send(w, st->id, st->execution_id, a->fire_at_ms, fired);
}

static struct dt_msg *
sub_conflict_msg(const struct durata_instance *st, int32_t id, int64_t now)
{
    struct dt_event *e = dt_event_new(DURATA_EV_SUB_ORCHESTRATION_FAILED, now);
    if (!e)
        return NULL;
    e->task_id = id;
    e->failure = dt_failure_new("InstanceIdConflict",
                                "an instance with the sub-orchestration's id is already running",
                                NULL, true);
    if (!e->failure) {
        dt_event_free(e);
        return NULL;
    }
    return dt_msg_new_take(st->id, st->execution_id, now, e);
}

static struct dt_event *
child_started(const struct durata_instance *parent, const struct dt_action *a, const char *exec_id,
              int64_t now)
{
    struct dt_event *e = event_with(DURATA_EV_EXECUTION_STARTED, now, -1, a->name, a->input);
    if (!e)
        return NULL;
    e->version = dt_strdup_opt(a->version);
    e->instance_id = strdup(a->instance_id);
    e->execution_id = strdup(exec_id);
    e->parent_instance_id = strdup(parent->id);
    e->parent_execution_id = strdup(parent->execution_id);
    e->parent_name = strdup(parent->name);
    e->parent_task_id = a->id;
    if ((a->version && !e->version) || !e->instance_id || !e->execution_id ||
        !e->parent_instance_id || !e->parent_execution_id || !e->parent_name) {
        dt_event_free(e);
        return NULL;
    }
    return e;
}

static int
create_sub(struct dt_write *w, const struct dt_action *a, int64_t now)
{
    struct dt_step *step = &w->u.step;
    const struct durata_instance *st = step->state;
    struct dt_event *ev =
        event_with(DURATA_EV_SUB_ORCHESTRATION_CREATED, now, a->id, a->name, a->input);
    if (ev && !(ev->instance_id = strdup(a->instance_id))) {
        dt_event_free(ev);
        ev = NULL;
    }
    int rc = append(w, ev);
    if (rc < 0)
        return rc;
    char exec_id[DT_ID_RANDOM_SIZE];
    if ((rc = dt_id_random(exec_id)) < 0)
        return rc;
    struct dt_create *c = realloc(step->creates, (step->n_creates + 1) * sizeof(*c));
    if (!c)
        return DURATA_ENOMEM;
    step->creates = c;
    c = &c[step->n_creates++];
    *c = (struct dt_create){.replace_terminal = true};
    struct durata_instance child = {
        .id = a->instance_id,
        .name = a->name,
        .version = a->version,
        .execution_id = exec_id,
        .status = DURATA_PENDING,
        .input = a->input,
        .created_ms = now,
        .updated_ms = now,
        .parent_id = st->id,
    };
    c->inst = dt_instance_clone(&child);
    c->start = dt_msg_new_take(a->instance_id, exec_id, now, child_started(st, a, exec_id, now));
    c->on_conflict = sub_conflict_msg(st, a->id, now);
    return c->inst && c->start && c->on_conflict ? 0 : DURATA_ENOMEM;
}

static int
send_event(struct dt_write *w, const struct dt_action *a, int64_t now)
{
    struct dt_event *sent = event_with(DURATA_EV_EVENT_SENT, now, a->id, a->name, a->input);
    if (sent && !(sent->instance_id = strdup(a->instance_id))) {
        dt_event_free(sent);
        sent = NULL;
    }
    int rc = append(w, sent);
    if (rc < 0)
        return rc;
    return send(w, a->instance_id, NULL, now,
                event_with(DURATA_EV_EVENT_RAISED, now, -1, a->name, a->input));
}

static int
apply_action(struct dt_write *w, const struct dt_action *a, int64_t now)
{
    switch (a->kind) {
    case DT_ACT_SCHEDULE_TASK:
        return schedule_task(w, a, now);
    case DT_ACT_CREATE_TIMER:
        return create_timer(w, a, now);
    case DT_ACT_CREATE_SUB:
        return create_sub(w, a, now);
    case DT_ACT_SEND_EVENT:
        return send_event(w, a, now);
    }
    return DURATA_EINVAL;
}

int
dt_actions_notify_parent(struct dt_write *w, const struct dt_event *started, const char *result,
                         const struct durata_failure *failure, int64_t now)
{
    if (!started || !started->parent_instance_id)
        return 0;
    enum durata_event_type type =
        failure ? DURATA_EV_SUB_ORCHESTRATION_FAILED : DURATA_EV_SUB_ORCHESTRATION_COMPLETED;
    struct dt_event *e = dt_event_new(type, now);
    if (!e)
        return DURATA_ENOMEM;
    e->task_id = started->parent_task_id;
    e->result = dt_strdup_opt(result);
    e->failure = dt_failure_clone(failure);
    if ((result && !e->result) || (failure && !e->failure)) {
        dt_event_free(e);
        return DURATA_ENOMEM;
    }
    return send(w, started->parent_instance_id, started->parent_execution_id, now, e);
}

int
dt_actions_terminate_children(struct dt_write *w, const struct dt_event_list *past,
                              const char *reason, int64_t now)
{
    for (size_t i = 0; i < past->count; i++) {
        const struct dt_event *c = past->items[i];
        if (c->type != DURATA_EV_SUB_ORCHESTRATION_CREATED)
            continue;
        bool ended = false;
        for (size_t j = i + 1; j < past->count && !ended; j++) {
            const struct dt_event *e = past->items[j];
            ended = (e->type == DURATA_EV_SUB_ORCHESTRATION_COMPLETED ||
                     e->type == DURATA_EV_SUB_ORCHESTRATION_FAILED) &&
                    e->task_id == c->event_id;
        }
        if (ended)
            continue;
        struct dt_event *t = event_with(DURATA_EV_EXECUTION_TERMINATED, now, -1, NULL, reason);
        if (t)
            t->recurse = true;
        int rc = send(w, c->instance_id, NULL, now, t);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static const struct dt_event *
started_event(const struct dt_event_list *past, const struct dt_event_list *fresh)
{
    for (size_t i = 0; i < past->count; i++)
        if (past->items[i]->type == DURATA_EV_EXECUTION_STARTED)
            return past->items[i];
    for (size_t i = 0; i < fresh->count; i++)
        if (fresh->items[i]->type == DURATA_EV_EXECUTION_STARTED)
            return fresh->items[i];
    return NULL;
}

/* The execution ends; records ExecutionCompleted and tells the parent. */
static int
finish(struct dt_write *w, const struct dt_event *started, const struct dt_replay_out *out,
       int64_t now)
{
    struct durata_instance *st = w->u.step.state;
    bool ok = out->completion == DT_COMPLETED;
    struct dt_event *e = dt_event_new(DURATA_EV_EXECUTION_COMPLETED, now);
    if (!e)
        return DURATA_ENOMEM;
    e->status = ok ? DURATA_COMPLETED : DURATA_FAILED;
    e->result = ok ? dt_strdup_opt(out->output) : NULL;
    e->failure = ok ? NULL : dt_failure_clone(out->failure);
    int rc = append(w, e);
    if (rc < 0)
        return rc;
    st->status = e->status;
    free(st->output);
    st->output = dt_strdup_opt(e->result);
    durata_failure_free(st->failure);
    st->failure = dt_failure_clone(e->failure);
    st->completed_ms = now;
    w->u.step.clear_inbox = true;
    w->u.step.clear_tasks = true;
    return dt_actions_notify_parent(w, started, e->result, e->failure, now);
}

/* Continue-as-new: empty history, a new execution id, the new start and
 * the carried-over events delivered through the inbox. */
static int
continue_as_new(struct dt_write *w, const struct dt_event *started, const struct dt_replay_out *out,
                int64_t now)
{
    struct dt_step *step = &w->u.step;
    struct durata_instance *st = step->state;
    char exec_id[DT_ID_RANDOM_SIZE];
    int rc = dt_id_random(exec_id);
    if (rc < 0)
        return rc;
    struct dt_event *e = dt_event_clone(started);
    if (!e)
        return DURATA_ENOMEM;
    e->timestamp_ms = now;
    free(e->input);
    free(e->execution_id);
    e->input = dt_strdup_opt(out->output);
    e->execution_id = strdup(exec_id);
    free(st->execution_id);
    free(st->input);
    st->execution_id = strdup(exec_id);
    st->input = dt_strdup_opt(out->output);
    if ((out->output && (!e->input || !st->input)) || !e->execution_id || !st->execution_id) {
        dt_event_free(e);
        return DURATA_ENOMEM;
    }
    st->status = DURATA_CONTINUED_AS_NEW;
    dt_event_list_release(&step->append);
    dt_task_list_release(&step->tasks);
    step->replace_history = true;
    step->history_base = 0;
    step->clear_tasks = true;
    if ((rc = send(w, st->id, exec_id, now, e)) < 0)
        return rc;
    for (size_t i = 0; i < out->carryover.count; i++)
        if ((rc = send(w, st->id, NULL, now, dt_event_clone(out->carryover.items[i]))) < 0)
            return rc;
    return 0;
}

int
dt_actions_apply(struct dt_write *w, const struct dt_event_list *past, struct dt_event_list *fresh,
                 const struct dt_replay_out *out, int64_t now)
{
    struct durata_instance *st = w->u.step.state;
    /* Found before the fresh events move: the event itself stays put. */
    const struct dt_event *started = started_event(past, fresh);
    int rc;
    for (size_t i = 0; i < fresh->count; i++) {
        struct dt_event *e = fresh->items[i];
        fresh->items[i] = NULL; /* w's now, even when the push fails (it frees e) */
        if ((rc = append(w, e)) < 0)
            return rc;
    }
    fresh->count = 0;
    for (size_t i = 0; i < out->n_actions; i++)
        if ((rc = apply_action(w, &out->actions[i], now)) < 0)
            return rc;
    if (out->custom_status_set) {
        free(st->custom_status);
        st->custom_status = dt_strdup_opt(out->custom_status);
        if (out->custom_status && !st->custom_status)
            return DURATA_ENOMEM;
    }
    switch (out->completion) {
    case DT_PENDING:
        return 0;
    case DT_COMPLETED:
    case DT_FAILED:
        return finish(w, started, out, now);
    case DT_CONTINUED_AS_NEW:
        return continue_as_new(w, started, out, now);
    }
    return DURATA_EINVAL;
}
