/*
 * activity.c — running activity tasks (see activity.h) and the public
 * durata_activity_* functions.
 *
 * The result travels as one DT_W_TASK_DONE unit: the task row is deleted and
 * TaskCompleted / TaskFailed lands in the instance's inbox in the same
 * transaction. If the task row is already gone (another delivery finished
 * first), the store ignores this result.
 */
#include "engine/activity.h"

#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "engine/hub.h"
#include "engine/step.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
durata_activity_input(struct durata_activity *a)
{
    return a->task->input;
}

const char *
durata_activity_name(struct durata_activity *a)
{
    return a->task->name;
}

const char *
durata_activity_instance_id(struct durata_activity *a)
{
    return a->task->instance_id;
}

int
durata_activity_task_id(struct durata_activity *a)
{
    return a->task->task_id;
}

int
durata_activity_delivery(struct durata_activity *a)
{
    return a->task->deliveries;
}

bool
durata_activity_is_cancelled(struct durata_activity *a)
{
    return atomic_load(&a->cancelled);
}

int
durata_activity_renew(struct durata_activity *a)
{
    struct durata_hub *hub = a->hub;
    struct dt_write *w = dt_write_new(DT_W_RENEW);
    if (!w)
        return DURATA_ENOMEM;
    struct dt_renew *r = &w->u.renew;
    r->ids = malloc(sizeof(*r->ids));
    r->lost = calloc(1, sizeof(*r->lost));
    r->owner = strdup(hub->owner);
    int rc = DURATA_ENOMEM;
    if (r->ids && r->lost && r->owner) {
        r->ids[0] = a->task->id;
        r->n = 1;
        r->lease_until_ms = dt_hub_now(hub) + hub->opt.activity_lease_ms;
        rc = dt_committer_run(&hub->committer, w);
        if (rc == DURATA_ECONFLICT)
            atomic_store(&a->cancelled, true);
    }
    dt_write_free(w);
    return rc;
}

void
durata_activity_complete(struct durata_activity *a, const char *output)
{
    if (a->finished)
        return;
    a->finished = true;
    int rc = dt_json_check(output, a->hub->opt.max_payload_bytes);
    if (rc < 0) {
        a->failure =
            dt_failure_new(rc == DURATA_ETOOBIG ? "PayloadTooLarge" : "InvalidOutput",
                           rc == DURATA_ETOOBIG ? "the activity's output is over the payload limit"
                                                : "the activity's output is not valid JSON",
                           NULL, true);
        return;
    }
    a->output = dt_strdup_opt(output);
}

void
durata_activity_fail(struct durata_activity *a, const char *error_type, const char *message,
                     const char *details, bool non_retriable)
{
    if (a->finished)
        return;
    a->finished = true;
    a->failure = dt_failure_new(error_type ? error_type : "ActivityError", message ? message : "",
                                details, non_retriable);
}

void
dt_activity_send_result(struct durata_hub *hub, int64_t task_row_id, struct dt_msg *result,
                        bool from_callback)
{
    struct dt_write *w = dt_write_new(DT_W_TASK_DONE);
    if (!w) {
        /* The lease expires and the task is delivered again. */
        dt_log(DT_LOG_ERROR, "out of memory reporting an activity result", "instanceId",
               result->instance_id, NULL);
        dt_msg_free(result);
        return;
    }
    w->u.task_done.task_row_id = task_row_id;
    w->u.task_done.result = result;
    dt_hub_preclaim(hub, &w->u.task_done.claim, DT_WAKE_ORCH);
    if (from_callback)
        dt_committer_submit_free_now(&hub->committer, w);
    else
        dt_committer_submit_free(&hub->committer, w);
}

/* Writes the task's result, TaskCompleted(output) or TaskFailed(failure):
 * with the step it wakes when that step can run here (see step.h), else
 * into the instance's inbox. */
static void
submit_result(struct durata_hub *hub, const struct dt_task *t, const char *output,
              const struct durata_failure *failure)
{
    int64_t now = dt_hub_now(hub);
    struct dt_event *e =
        dt_event_new(failure ? DURATA_EV_TASK_FAILED : DURATA_EV_TASK_COMPLETED, now);
    if (!e)
        goto out_oom;
    e->task_id = t->task_id;
    e->result = dt_strdup_opt(output);
    e->failure = dt_failure_clone(failure);
    if ((output && !e->result) || (failure && !e->failure))
        goto out_oom;
    struct dt_msg *m = dt_msg_new_take(t->instance_id, t->execution_id, now, e);
    e = NULL; /* taken, also on failure */
    if (!m)
        goto out_oom;
    if (!dt_hub_is_started(hub) || !dt_step_deliver(hub, t->id, m))
        dt_activity_send_result(hub, t->id, m, false);
    return;
out_oom:
    /* The lease expires and the task is delivered again. */
    dt_log(DT_LOG_ERROR, "out of memory reporting an activity result", "instanceId", t->instance_id,
           NULL);
    dt_event_free(e);
}

void
dt_activity_execute(struct durata_hub *hub, struct dt_task *task)
{
    struct durata_activity a = {.hub = hub, .task = task};
    atomic_fetch_add(&hub->n_activities, 1);
    atomic_init(&a.cancelled, false);
    const struct dt_registration *reg = dt_registry_find(&hub->activities, task->name);
    if (!reg) {
        durata_activity_fail(&a, "ActivityNotFound", "no activity with this name is registered",
                             task->name, true);
    } else {
        static const uint64_t bounds[] = {DURATA_ACTIVITY_US_BOUNDS};
        dt_dispatcher_track(&hub->dispatcher, &a);
        int64_t t0 = dt_clock_mono_us();
        reg->fn.act(&a, reg->arg);
        uint64_t us = (uint64_t)(dt_clock_mono_us() - t0);
        atomic_fetch_add(&hub->activity_us[dt_stats_bucket(bounds, us)], 1);
        atomic_fetch_add(&hub->activity_us_sum, us);
        dt_dispatcher_untrack(&hub->dispatcher, &a);
        if (!a.finished)
            durata_activity_fail(&a, "ActivityError", "the activity returned no result", NULL,
                                 false);
    }
    submit_result(hub, task, a.output, a.failure);
    free(a.output);
    durata_failure_free(a.failure);
    dt_task_free(task);
}

void
dt_activity_fail_poisoned(struct durata_hub *hub, struct dt_task *task, int max_deliveries)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "the task was delivered %d times without a result (limit %d)",
             task->deliveries, max_deliveries);
    struct durata_failure *f = dt_failure_new("PoisonMessage", msg, task->name, true);
    dt_log(DT_LOG_WARN, "activity task poisoned", "instanceId", task->instance_id, "activity",
           task->name, NULL);
    if (f)
        submit_result(hub, task, NULL, f);
    durata_failure_free(f);
    dt_task_free(task);
}
