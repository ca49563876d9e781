/*
 * admin.c — operator actions on whole instances: purge, purge many,
 * rewind and restart.
 *
 * Rewind follows DTFx: in the failed execution's history, every
 * TaskFailed / SubOrchestrationInstanceFailed and its scheduling event, and
 * the final ExecutionCompleted, are removed; an ExecutionRewound event is
 * recorded and a GenericEvent wakes the instance, whose replay then issues
 * the removed calls again while every success stays recorded. A failed
 * sub-orchestration is started again under its id (it is terminal, so it
 * is replaced).
 */
#include "engine/hub.h"

#include "base/id.h"
#include "base/json.h"
#include "base/log.h"

#include <stdlib.h>
#include <string.h>

#define PURGE_BATCH 500

int
durata_purge(struct durata_hub *hub, const char *instance_id, int *deleted)
{
    int rc;
    if (!hub)
        return DURATA_EINVAL;
    if ((rc = dt_id_check(instance_id, hub->opt.max_id_bytes, NULL)) < 0)
        return rc;
    struct dt_write *w = dt_write_new(DT_W_PURGE);
    if (!w || !(w->u.purge.instance_id = strdup(instance_id))) {
        dt_write_free(w);
        return DURATA_ENOMEM;
    }
    rc = dt_committer_run(&hub->committer, w);
    if (rc == 0 && deleted)
        *deleted = w->u.purge.deleted;
    if (rc == 0 && w->u.purge.deleted)
        dt_hcache_drop(&hub->hcache, instance_id);
    dt_write_free(w);
    return rc;
}

static int
copy_filter(struct durata_filter *dst, const struct durata_filter *src)
{
    *dst = *src;
    dst->name = dt_strdup_opt(src->name);
    dst->id_prefix = dt_strdup_opt(src->id_prefix);
    if ((src->name && !dst->name) || (src->id_prefix && !dst->id_prefix))
        return DURATA_ENOMEM;
    return 0;
}

int
durata_purge_many(struct durata_hub *hub, const struct durata_filter *f, int64_t *deleted)
{
    struct durata_filter none = {0};
    if (!hub)
        return DURATA_EINVAL;
    int64_t total = 0;
    for (;;) {
        struct dt_write *w = dt_write_new(DT_W_PURGE_MANY);
        if (!w)
            return DURATA_ENOMEM;
        int rc = copy_filter(&w->u.purge_many.filter, f ? f : &none);
        w->u.purge_many.max = PURGE_BATCH;
        if (rc == 0)
            rc = dt_committer_run(&hub->committer, w);
        int64_t n = w->u.purge_many.deleted;
        dt_write_free(w);
        if (rc < 0)
            return rc;
        total += n;
        if (deleted)
            *deleted = total;
        if (n < PURGE_BATCH)
            return 0;
    }
}

/* Is event e (at index i) one that rewind removes from `l`? */
static bool
rewound_away(const struct dt_event_list *l, size_t i)
{
    const struct dt_event *e = l->items[i];
    switch (e->type) {
    case DURATA_EV_EXECUTION_COMPLETED:
    case DURATA_EV_TASK_FAILED:
    case DURATA_EV_SUB_ORCHESTRATION_FAILED:
        return true;
    case DURATA_EV_TASK_SCHEDULED:
    case DURATA_EV_SUB_ORCHESTRATION_CREATED:
        for (size_t j = i + 1; j < l->count; j++) {
            const struct dt_event *r = l->items[j];
            if ((r->type == DURATA_EV_TASK_FAILED ||
                 r->type == DURATA_EV_SUB_ORCHESTRATION_FAILED) &&
                r->task_id == e->event_id)
                return true;
        }
        return false;
    default:
        return false;
    }
}

static int
rewind_unit(struct durata_hub *hub, struct durata_instance *inst, struct dt_event_list *history,
            const char *reason, struct dt_write *w)
{
    int64_t now = dt_hub_now(hub);
    struct dt_step *st = &w->u.step;
    int rc;
    st->instance_id = strdup(inst->id);
    st->expect_statuses = 1u << DURATA_FAILED;
    st->replace_history = true;
    for (size_t i = 0; i < history->count; i++) {
        if (rewound_away(history, i))
            continue;
        if ((rc = dt_event_list_push_take(&st->append, history->items[i])) < 0) {
            history->items[i] = NULL;
            return rc;
        }
        history->items[i] = NULL;
    }
    struct dt_event *rw = dt_event_new(DURATA_EV_EXECUTION_REWOUND, now);
    if (!rw || (reason && !(rw->input = strdup(reason)))) {
        dt_event_free(rw);
        return DURATA_ENOMEM;
    }
    if ((rc = dt_event_list_push_take(&st->append, rw)) < 0)
        return rc;
    struct dt_event *wake = dt_event_new(DURATA_EV_GENERIC, now);
    struct dt_msg *m = wake ? dt_msg_new_take(inst->id, inst->execution_id, now, wake) : NULL;
    if (!m || (rc = dt_msg_list_push_take(&st->outbox, m)) < 0)
        return DURATA_ENOMEM;
    if (!(st->state = dt_instance_clone(inst)) || !st->instance_id)
        return DURATA_ENOMEM;
    st->state->status = DURATA_RUNNING;
    st->state->updated_ms = now;
    st->state->completed_ms = 0;
    free(st->state->output);
    st->state->output = NULL;
    durata_failure_free(st->state->failure);
    st->state->failure = NULL;
    return 0;
}

int
durata_rewind(struct durata_hub *hub, const char *instance_id, const char *reason)
{
    int rc;
    if (!hub)
        return DURATA_EINVAL;
    if ((rc = dt_id_check(instance_id, hub->opt.max_id_bytes, NULL)) < 0 ||
        (rc = dt_json_check(reason, hub->opt.max_payload_bytes)) < 0)
        return rc;
    struct durata_instance *inst = NULL;
    struct dt_event_list history = {0};
    struct dt_write *w = NULL;
    if ((rc = hub->store->ops->get_instance(hub->store, instance_id, &inst)) < 0)
        goto out;
    rc = inst->status == DURATA_FAILED ? 0 : DURATA_ECONFLICT;
    if (rc < 0 || (rc = hub->store->ops->get_history(hub->store, instance_id, &history)) < 0)
        goto out;
    rc = DURATA_ENOMEM;
    if (!(w = dt_write_new(DT_W_STEP)) || (rc = rewind_unit(hub, inst, &history, reason, w)) < 0)
        goto out;
    rc = dt_committer_run(&hub->committer, w);
    dt_hcache_drop(&hub->hcache, instance_id); /* its history was rewritten */
    if (rc == 0)
        dt_log(DT_LOG_INFO, "instance rewound", "instanceId", instance_id, "reason", reason, NULL);
out:
    dt_write_free(w);
    dt_event_list_release(&history);
    durata_instance_free(inst);
    return rc;
}

int
durata_restart(struct durata_hub *hub, const char *instance_id, bool new_id, char *id_out,
               size_t id_out_size)
{
    struct durata_instance *inst;
    int rc = durata_get_status(hub, instance_id, &inst);
    if (rc < 0)
        return rc;
    struct durata_start_options o = {
        .name = inst->name,
        .instance_id = new_id ? NULL : inst->id,
        .input = inst->input,
        .version = inst->version,
    };
    rc = durata_start(hub, &o, id_out, id_out_size);
    durata_instance_free(inst);
    return rc;
}
