/*
 * step.c — one orchestration step (see step.h).
 *
 * A step reads the instance, its history and its visible inbox; applies
 * control messages in arrival order (terminate ends everything; suspend
 * holds every later message except resume and terminate in the inbox);
 * hands the remaining new events to the replay; and writes the outcome as
 * one DT_W_STEP unit under the instance lock. Messages for an older
 * execution (results of a generation that continued as new) are consumed
 * and dropped. Messages that arrive before the execution has started
 * (events raised to a Pending instance) stay in the inbox until it starts.
 */
#include "engine/step.h"

#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "engine/actions.h"
#include "engine/hub.h"
#include "runtime/replay.h"

#include <stdlib.h>
#include <string.h>

struct step_ctx {
    struct durata_hub *hub;
    int64_t now;
    struct durata_instance *inst; /* the row as read; owned */
    struct dt_event_list past;    /* committed history */
    struct dt_msg_list inbox;     /* visible messages */
    struct dt_event_list fresh;   /* this step's new events for the replay */
    struct dt_write *w;           /* the unit being built; owned */
    bool started;                 /* an ExecutionStarted is in past or fresh */
    bool terminated;
    bool resumed; /* events recorded while suspended await a replay */
};

static const struct dt_event *
find_started(const struct dt_event_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        if (l->items[i]->type == DURATA_EV_EXECUTION_STARTED)
            return l->items[i];
    return NULL;
}

static int
consume(struct step_ctx *s, const struct dt_msg *m)
{
    struct dt_step *st = &s->w->u.step;
    int64_t *p = realloc(st->consumed, (st->n_consumed + 1) * sizeof(*p));
    if (!p)
        return DURATA_ENOMEM;
    st->consumed = p;
    p[st->n_consumed++] = m->id;
    return 0;
}

/* Records a history event (a copy of e, timestamp kept) in this step. */
static int
record(struct step_ctx *s, const struct dt_event *e)
{
    struct dt_event *copy = dt_event_clone(e);
    if (!copy)
        return DURATA_ENOMEM;
    return dt_event_list_push_take(&s->w->u.step.append, copy);
}

/* Terminate: records the event, ends the instance, tells parent and (when
 * asked) children. */
static int
apply_terminate(struct step_ctx *s, const struct dt_event *e)
{
    struct durata_instance *st = s->w->u.step.state;
    int rc = record(s, e);
    if (rc < 0)
        return rc;
    st->status = DURATA_TERMINATED;
    free(st->output);
    st->output = dt_strdup_opt(e->input);
    st->completed_ms = s->now;
    s->terminated = true;
    s->w->u.step.clear_inbox = true;
    s->w->u.step.clear_tasks = true;
    if (e->recurse && (rc = dt_actions_terminate_children(s->w, &s->past, e->input, s->now)) < 0)
        return rc;
    const struct dt_event *started = find_started(&s->past);
    if (!started)
        started = find_started(&s->fresh);
    struct durata_failure *f =
        dt_failure_new("Terminated", "the sub-orchestration was terminated", e->input, true);
    if (!f)
        return DURATA_ENOMEM;
    rc = dt_actions_notify_parent(s->w, started, NULL, f, s->now);
    durata_failure_free(f);
    return rc;
}

/* Applies one control message; returns 1 when it was one, 0 otherwise. */
static int
apply_control(struct step_ctx *s, const struct dt_msg *m)
{
    struct durata_instance *st = s->w->u.step.state;
    const struct dt_event *e = m->event;
    switch (e->type) {
    case DURATA_EV_EXECUTION_TERMINATED: {
        int rc = apply_terminate(s, e);
        return rc < 0 ? rc : 1;
    }
    case DURATA_EV_EXECUTION_SUSPENDED:
        if (st->status == DURATA_RUNNING || st->status == DURATA_PENDING) {
            st->status = DURATA_SUSPENDED;
            int rc = record(s, e);
            return rc < 0 ? rc : 1;
        }
        return 1;
    case DURATA_EV_EXECUTION_RESUMED:
        if (st->status == DURATA_SUSPENDED) {
            st->status = s->started ? DURATA_RUNNING : DURATA_PENDING;
            s->resumed = true;
            int rc = record(s, e);
            return rc < 0 ? rc : 1;
        }
        return 1;
    default:
        return 0;
    }
}

/* Sorts the inbox into control changes and the replay's fresh events. */
static int
take_messages(struct step_ctx *s)
{
    struct durata_instance *st = s->w->u.step.state;
    for (size_t i = 0; i < s->inbox.count && !s->terminated; i++) {
        const struct dt_msg *m = s->inbox.items[i];
        bool stale = m->execution_id && strcmp(m->execution_id, st->execution_id) != 0;
        int rc = stale ? 0 : apply_control(s, m);
        if (rc < 0)
            return rc;
        if (stale || rc == 1) {
            if ((rc = consume(s, m)) < 0)
                return rc;
            continue;
        }
        if (st->status == DURATA_SUSPENDED)
            continue; /* held until resumed */
        bool is_start = m->event->type == DURATA_EV_EXECUTION_STARTED;
        if (is_start && s->started) {
            if ((rc = consume(s, m)) < 0) /* a duplicate start */
                return rc;
            continue;
        }
        if (!is_start && !s->started)
            continue; /* wait for the execution to start */
        if (is_start) {
            s->started = true;
            if (st->status == DURATA_PENDING || st->status == DURATA_CONTINUED_AS_NEW)
                st->status = DURATA_RUNNING;
        }
        struct dt_event *copy = dt_event_clone(m->event);
        if (!copy || (rc = dt_event_list_push_take(&s->fresh, copy)) < 0)
            return DURATA_ENOMEM;
        if ((rc = consume(s, m)) < 0)
            return rc;
    }
    return 0;
}

/* Runs the orchestrator over past + fresh and folds its outcome into the
 * unit. */
static int
replay(struct step_ctx *s)
{
    struct durata_hub *hub = s->hub;
    struct durata_instance *st = s->w->u.step.state;
    const struct dt_registration *reg = dt_registry_find(&hub->orchestrators, st->name);
    struct dt_replay_out out;
    if (!reg) {
        memset(&out, 0, sizeof(out));
        out.completion = DT_FAILED;
        out.failure = dt_failure_new(
            "OrchestratorNotFound", "no orchestrator with this name is registered", st->name, true);
        if (!out.failure)
            return DURATA_ENOMEM;
    } else {
        struct dt_replay_in in = {
            .instance_id = st->id,
            .execution_id = st->execution_id,
            .name = st->name,
            .past = s->past.items,
            .n_past = s->past.count,
            .fresh = s->fresh.items,
            .n_fresh = s->fresh.count,
            .fn = reg->fn.orch,
            .arg = reg->arg,
            .max_custom_status_bytes = hub->opt.max_custom_status_bytes,
            .max_payload_bytes = hub->opt.max_payload_bytes,
        };
        int rc = dt_replay_run(&in, &out);
        if (rc < 0)
            return rc;
    }
    int rc = dt_actions_apply(s->w, &s->past, &s->fresh, &out, s->now);
    dt_replay_out_release(&out);
    struct dt_step *step = &s->w->u.step;
    if (rc == 0 && step->tasks.count)
        dt_hub_preclaim(hub, &step->task_claim, DT_WAKE_ACT);
    for (size_t i = 0; rc == 0 && i < step->n_creates; i++)
        dt_hub_preclaim(hub, &step->creates[i].claim, DT_WAKE_ORCH);
    return rc;
}

/* The history from the cache when it is still the store's (same
 * execution, same updated time, same length), else read. */
static int
load_history(struct step_ctx *s, const char *id, size_t stored)
{
    struct dt_store *store = s->hub->store;
    size_t cached;
    if (dt_hcache_take(&s->hub->hcache, id, s->inst->execution_id, s->inst->updated_ms, &s->past,
                       &cached)) {
        if (stored == cached)
            return 0;
        dt_event_list_release(&s->past);
    }
    return store->ops->get_history(store, id, &s->past);
}

/* One snapshot of the instance, its visible inbox and its history length,
 * then the history (cached, or read). */
static int
load(struct step_ctx *s, const char *id)
{
    struct dt_store *store = s->hub->store;
    size_t history_len;
    int rc = store->ops->load_step(store, id, s->now, &s->inst, &s->inbox, &history_len);
    if (rc < 0)
        return rc;
    if ((rc = load_history(s, id, history_len)) < 0)
        return rc;
    s->started = find_started(&s->past) != NULL;
    return 0;
}

/* A step's write with what the cache needs once it committed. */
struct step_req {
    struct dt_commit_req req; /* first: the committer hands back &req */
    struct durata_hub *hub;
    struct dt_event_list past;
};

/* Once committed (visible, maybe not yet durable): the new history (past +
 * appended) goes to the cache, unless the instance ended, so the next step,
 * which may start before the flush, finds it. Committer thread. */
static void
step_committed(struct dt_commit_req *req, int rc)
{
    struct step_req *sr = (struct step_req *)req;
    struct dt_step *st = &req->unit->u.step;
    if (rc == 0 && st->state && !durata_status_is_terminal(st->state->status)) {
        struct dt_event_list *l = &sr->past;
        if (st->replace_history)
            dt_event_list_release(l);
        for (size_t i = 0; i < st->append.count && rc == 0; i++) {
            struct dt_event *e = st->append.items[i];
            st->append.items[i] = NULL;
            free(e->encoded); /* the text was for the store only */
            e->encoded = NULL;
            rc = dt_event_list_push_take(l, e);
        }
        if (rc == 0)
            dt_hcache_put(&sr->hub->hcache, st->instance_id, st->state->execution_id,
                          st->state->updated_ms, l);
    }
    dt_event_list_release(&sr->past);
}

/* Once durable (or failed): the request is done. */
static void
step_done(struct dt_commit_req *req, int rc)
{
    if (rc < 0 && rc != DURATA_ECONFLICT)
        dt_log(DT_LOG_WARN, "step write failed", "instanceId", req->unit->u.step.instance_id,
               "error", durata_strerror(rc), NULL);
    dt_write_free(req->unit);
    free(req);
}

/* Queues the step's write; the history read for it goes along. */
static void
submit(struct step_ctx *s)
{
    struct step_req *sr = calloc(1, sizeof(*sr));
    if (!sr) {
        dt_committer_submit_free(&s->hub->committer, s->w);
        s->w = NULL;
        return;
    }
    sr->req.unit = s->w;
    sr->req.committed = step_committed;
    sr->req.done = step_done;
    sr->hub = s->hub;
    sr->past = s->past;
    s->past = (struct dt_event_list){0};
    s->w = NULL;
    dt_committer_submit(&s->hub->committer, &sr->req);
}

static int
build(struct step_ctx *s, const char *id)
{
    int rc = load(s, id);
    if (rc < 0)
        return rc;
    if (!(s->w = dt_write_new(DT_W_STEP)))
        return DURATA_ENOMEM;
    struct dt_step *st = &s->w->u.step;
    st->instance_id = strdup(id);
    st->lock_owner = strdup(s->hub->owner);
    st->history_base = s->past.count;
    st->state = dt_instance_clone(s->inst);
    if (!st->instance_id || !st->lock_owner || !st->state)
        return DURATA_ENOMEM;
    if (durata_status_is_terminal(s->inst->status)) {
        st->clear_inbox = true; /* late messages for a finished instance */
        return 0;
    }
    st->state->updated_ms = s->now;
    struct dt_event *os = dt_event_new(DURATA_EV_ORCHESTRATOR_STARTED, s->now);
    if (!os || (rc = dt_event_list_push_take(&s->fresh, os)) < 0)
        return DURATA_ENOMEM;
    if ((rc = take_messages(s)) < 0)
        return rc;
    bool has_news = s->fresh.count > 1;
    if (!s->terminated && s->started && st->state->status == DURATA_RUNNING &&
        (has_news || s->resumed))
        return replay(s);
    /* No replay: keep what was consumed (recorded so a later replay sees it). */
    if (has_news)
        for (size_t i = 0; i < s->fresh.count; i++)
            if ((rc = record(s, s->fresh.items[i])) < 0)
                return rc;
    return 0;
}

void
dt_step_execute(struct durata_hub *hub, const char *instance_id)
{
    struct step_ctx s = {.hub = hub, .now = dt_hub_now(hub)};
    atomic_fetch_add(&hub->n_steps, 1);
    int rc = build(&s, instance_id);
    if (rc == 0) {
        submit(&s);
    } else if (rc != DURATA_ENOTFOUND) {
        /* The lock expires and the step is tried again. */
        dt_log(DT_LOG_ERROR, "orchestration step failed", "instanceId", instance_id, "error",
               durata_strerror(rc), NULL);
    }
    dt_write_free(s.w);
    durata_instance_free(s.inst);
    dt_event_list_release(&s.past);
    dt_event_list_release(&s.fresh);
    dt_msg_list_release(&s.inbox);
}
