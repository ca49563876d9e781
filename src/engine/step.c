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
 *
 * Two shortcuts skip the inbox when this node holds what a step needs:
 * a start runs the instance's first step before the instance is stored
 * and writes both in one Create (dt_step_first), and an activity result
 * whose instance's history is cached here is written together with the
 * step it wakes, optimistically: the step applies only if nothing touched
 * the instance since it was read and no message waits in its inbox (a
 * terminate or suspend sent before the result must act before it), else
 * the result goes to the inbox as usual (dt_step_deliver). Results that
 * arrive while such a step is under way wait for it (direct.h) and go
 * together with the next one (dt_step_run_direct). Such a step starts from
 * the instance's state and history as this hub committed them (kept
 * together in the history cache) and reads nothing: messages in the inbox
 * wait for the claim they woke, and the store refuses the step while there
 * are any. When the cache holds no state for the instance, the step reads
 * the store and the inbox's own messages come first.
 */
#include "engine/step.h"

#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "engine/actions.h"
#include "engine/activity.h"
#include "engine/direct.h"
#include "engine/hub.h"
#include "runtime/replay.h"

#include <stdlib.h>
#include <string.h>

/* Instance states up to this many bytes of input, output and custom status
 * are cached with their history, so an optimistic step reads nothing. */
#define DT_STEP_CACHED_STATE_MAX (16 * 1024)

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
    bool resumed;        /* events recorded while suspended await a replay */
    size_t extras_taken; /* inbox messages not stored (id 0) that were used */
    size_t n_lent;       /* the inbox's last n_lent messages are lent (lend_extra) */
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
    if (m->id == 0) { /* not in the store: nothing to delete */
        s->extras_taken++;
        return 0;
    }
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
            .custom_status = st->custom_status,
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
 * execution, same updated time, same length), else read. A read in a later
 * snapshot than the instance's must find the same length, or a writer came
 * in between: DURATA_ECONFLICT (the step's inbox would be older than its
 * history). */
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
    int rc = store->ops->get_history(store, id, &s->past);
    if (rc == 0 && s->past.count != stored)
        rc = DURATA_ECONFLICT;
    return rc;
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

/* The instance and its history as this hub last committed them, from the
 * cache, without reading the store (its inbox waits for a claim): for an
 * optimistic step, whose write applies only if nothing changed since.
 * false when the cache holds no state for id. */
static bool
load_cached(struct step_ctx *s, const char *id)
{
    size_t count;
    if (!dt_hcache_take_state(&s->hub->hcache, id, &s->inst, &s->past, &count))
        return false;
    s->started = find_started(&s->past) != NULL;
    return true;
}

static size_t
len_opt(const char *s)
{
    return s ? strlen(s) : 0;
}

/* Whether a committed state may go to the cache: not when it is too large
 * to keep (the cache bounds events, not bytes). */
static bool
state_fits_cache(const struct durata_instance *st)
{
    size_t n = len_opt(st->input) + len_opt(st->output) + len_opt(st->custom_status);
    return n <= DT_STEP_CACHED_STATE_MAX && !st->failure;
}

/* A step's write with what the cache needs once it committed, and for a
 * direct step (one that carries activity results), those results, to send
 * the usual way if the step loses its race. */
struct step_req {
    struct dt_commit_req req; /* first: the committer hands back &req */
    struct durata_hub *hub;
    struct dt_event_list past;
    bool direct;
    struct dt_direct_list results;
};

/* The step a unit carries: a Step, or a Create's first step. */
static struct dt_step *
unit_step(struct dt_write *w)
{
    return w->kind == DT_W_STEP ? &w->u.step : &w->u.create.first->u.step;
}

/* Once committed (visible, maybe not yet durable): the new history (past +
 * appended) goes to the cache, unless the instance ended, so the next step,
 * which may start before the flush, finds it. The events and the state move
 * there from the unit (nothing reads them after its commit), rather than
 * being copied on the committer thread, the serial stage of every commit. */
static void
step_committed(struct dt_commit_req *req, int rc)
{
    struct step_req *sr = (struct step_req *)req;
    struct dt_step *st = unit_step(req->unit);
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
        if (rc == 0) {
            struct durata_instance *state = st->state;
            bool keep = state_fits_cache(state);
            if (keep)
                st->state = NULL; /* the cache's now */
            dt_hcache_put(&sr->hub->hcache, st->instance_id, state->execution_id, state->updated_ms,
                          l, keep ? state : NULL);
        }
    }
    dt_event_list_release(&sr->past);
}

/* Delivers each result the usual way (see dt_activity_send_result). */
static void
send_each(struct durata_hub *hub, struct dt_direct_list *l, bool from_callback)
{
    for (size_t i = 0; i < l->count; i++) {
        dt_activity_send_result(hub, l->items[i].task_row_id, l->items[i].result, from_callback);
        l->items[i].result = NULL;
    }
    dt_direct_list_release(l);
}

/* Delivers every result waiting for id the usual way, until none is left
 * (from a commit callback). */
static void
send_waiting(struct durata_hub *hub, const char *id)
{
    do {
        struct dt_direct_list l = {0};
        dt_direct_take(&hub->direct, id, &l);
        send_each(hub, &l, true);
    } while (dt_direct_done(&hub->direct, id));
}

/* Once durable (or failed): the request is done. A direct step that lost
 * its race (or found one of its tasks finished already) hands its results
 * on one by one; then results that came meanwhile get the next step, on an
 * orchestration thread, or the usual way once the hub is stopping. */
static void
step_done(struct dt_commit_req *req, int rc)
{
    struct step_req *sr = (struct step_req *)req;
    const char *id = req->unit->u.step.instance_id;
    if (rc == 0 && sr->direct)
        atomic_fetch_add(&sr->hub->n_direct_results, sr->results.count);
    if (rc < 0 && rc != DURATA_ECONFLICT && rc != DURATA_ENOTFOUND)
        dt_log(DT_LOG_WARN, "step write failed", "instanceId", id, "error", durata_strerror(rc),
               NULL);
    if (rc < 0)
        send_each(sr->hub, &sr->results, true);
    if (sr->direct && dt_direct_done(&sr->hub->direct, id) &&
        !dt_dispatcher_push_direct(&sr->hub->dispatcher, id))
        send_waiting(sr->hub, id); /* the hub is stopping */
}

static void
step_release(struct dt_commit_req *req)
{
    struct step_req *sr = (struct step_req *)req;
    dt_direct_list_release(&sr->results);
    dt_event_list_release(&sr->past); /* when the commit never ran */
    dt_write_free(req->unit);
    free(sr);
}

/* Queues the step's write; the history read for it goes along, and for a
 * direct step its results (taken when it returns true). false: could not
 * queue (a direct step's results stay the caller's). */
static bool
submit(struct step_ctx *s, struct dt_direct_list *results)
{
    struct step_req *sr = calloc(1, sizeof(*sr));
    if (!sr && results)
        return false;
    if (!sr) {
        dt_committer_submit_free(&s->hub->committer, s->w);
        s->w = NULL;
        return false;
    }
    sr->req.unit = s->w;
    sr->req.committed = step_committed;
    sr->req.done = step_done;
    sr->req.release = step_release;
    sr->hub = s->hub;
    sr->past = s->past;
    if (results) {
        sr->direct = true;
        sr->results = *results;
        *results = (struct dt_direct_list){0};
    }
    s->past = (struct dt_event_list){0};
    s->w = NULL;
    dt_committer_submit(&s->hub->committer, &sr->req);
    return true;
}

/* The unit of a step on s->inst as read, before any message applies. */
static int
begin_unit(struct step_ctx *s, const char *id)
{
    if (!(s->w = dt_write_new(DT_W_STEP)))
        return DURATA_ENOMEM;
    struct dt_step *st = &s->w->u.step;
    st->instance_id = strdup(id);
    st->lock_owner = strdup(s->hub->owner);
    st->history_base = s->past.count;
    st->state = dt_instance_clone(s->inst);
    if (!st->instance_id || !st->lock_owner || !st->state)
        return DURATA_ENOMEM;
    return 0;
}

/* Applies the inbox and runs the replay when there is news. */
static int
process(struct step_ctx *s)
{
    struct dt_step *st = &s->w->u.step;
    int rc;
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

static int
build(struct step_ctx *s, const char *id)
{
    int rc = load(s, id);
    if (rc < 0 || (rc = begin_unit(s, id)) < 0)
        return rc;
    return process(s);
}

static void
ctx_release(struct step_ctx *s)
{
    dt_write_free(s->w);
    durata_instance_free(s->inst);
    dt_event_list_release(&s->past);
    dt_event_list_release(&s->fresh);
    s->inbox.count -= s->n_lent; /* the lent messages are the caller's */
    dt_msg_list_release(&s->inbox);
}

/* Puts m, a message the store does not know (id 0), at the inbox's end,
 * lent: the step only reads it, and ctx_release leaves it to the caller
 * (it is sent the usual way if the step cannot be written). */
static int
lend_extra(struct step_ctx *s, struct dt_msg *m)
{
    if (!m || m->id != 0)
        return DURATA_EINVAL;
    int rc = dt_msg_list_push(&s->inbox, m);
    if (rc == 0)
        s->n_lent++;
    return rc;
}

void
dt_step_execute(struct durata_hub *hub, const char *instance_id)
{
    struct step_ctx s = {.hub = hub, .now = dt_hub_now(hub)};
    atomic_fetch_add(&hub->n_steps, 1);
    int rc = build(&s, instance_id);
    /* A writer without the lock (an admin rewrite) came in between the
     * reads: read again. */
    for (int tries = 0; rc == DURATA_ECONFLICT && tries < 3; tries++) {
        ctx_release(&s);
        s = (struct step_ctx){.hub = hub, .now = dt_hub_now(hub)};
        rc = build(&s, instance_id);
    }
    if (rc == 0) {
        submit(&s, NULL);
    } else if (rc != DURATA_ENOTFOUND) {
        /* The lock expires and the step is tried again. */
        dt_log(DT_LOG_ERROR, "orchestration step failed", "instanceId", instance_id, "error",
               durata_strerror(rc), NULL);
    }
    ctx_release(&s);
}

int
dt_step_first(struct durata_hub *hub, struct dt_write *w)
{
    struct dt_create *cr = &w->u.create;
    struct step_ctx s = {.hub = hub, .now = cr->inst->created_ms};
    /* The instance as created and its start message are lent to the step
     * (neither is changed by it) and taken back before ctx_release: cr
     * keeps them unchanged when the step fails and the start goes through
     * the inbox instead. */
    s.inst = cr->inst;
    int rc = lend_extra(&s, cr->start);
    if (rc < 0 || (rc = begin_unit(&s, cr->inst->id)) < 0 || (rc = process(&s)) < 0)
        goto out;
    struct durata_instance *state = dt_instance_clone(s.w->u.step.state);
    rc = !state ? DURATA_ENOMEM : s.extras_taken != 1 ? DURATA_ECONFLICT : 0;
    if (rc < 0) {
        durata_instance_free(state);
        goto out;
    }
    atomic_fetch_add(&hub->n_steps, 1);
    durata_instance_free(cr->inst);
    cr->inst = state;
    dt_msg_free(cr->start);
    cr->start = NULL;
    cr->first = s.w;
    s.w = NULL;
out:
    s.inst = NULL; /* lent too */
    ctx_release(&s);
    return rc;
}

/* Counts and logs a committed Create unit. */
static void
create_committed(struct durata_hub *hub, const struct dt_write *w)
{
    if (w->u.create.first)
        atomic_fetch_add(&hub->n_direct_starts, 1);
    dt_log(DT_LOG_DEBUG, "instance started", "instanceId", w->u.create.inst->id, "name",
           w->u.create.inst->name, NULL);
}

int
dt_step_commit_create(struct durata_hub *hub, struct dt_write *w)
{
    struct step_req sr = {.req = {.unit = w}, .hub = hub};
    if (w->u.create.first)
        sr.req.committed = step_committed;
    int rc = dt_committer_run_req(&hub->committer, &sr.req);
    if (rc == 0)
        create_committed(hub, w);
    return rc;
}

/* A Create unit committed without a waiter (dt_step_submit_create). */
struct create_req {
    struct step_req sr; /* first: the committer hands back &sr.req */
    durata_started_fn done;
    void *arg;
};

static void
create_done(struct dt_commit_req *req, int rc)
{
    struct create_req *cr = (struct create_req *)req;
    struct dt_write *w = req->unit;
    if (rc == 0)
        create_committed(cr->sr.hub, w);
    cr->done(cr->arg, rc, w->u.create.inst->id);
}

static void
create_release(struct dt_commit_req *req)
{
    dt_write_free(req->unit);
    free((struct create_req *)req);
}

int
dt_step_submit_create(struct durata_hub *hub, struct dt_write *w, durata_started_fn done, void *arg)
{
    struct create_req *cr = calloc(1, sizeof(*cr));
    if (!cr)
        return DURATA_ENOMEM;
    cr->sr.req.unit = w;
    cr->sr.req.committed = w->u.create.first ? step_committed : NULL;
    cr->sr.req.done = create_done;
    cr->sr.req.release = create_release;
    cr->sr.hub = hub;
    cr->done = done;
    cr->arg = arg;
    int rc = dt_committer_try_submit(&hub->committer, &cr->sr.req);
    if (rc < 0)
        free(cr);
    return rc;
}

/* Builds and queues one optimistic step carrying results (taken when it
 * returns true). */
static bool
step_with_results(struct durata_hub *hub, const char *id, struct dt_direct_list *results)
{
    struct step_ctx s = {.hub = hub, .now = dt_hub_now(hub)};
    bool taken = false;
    if ((!load_cached(&s, id) && load(&s, id) < 0) || s.inst->status != DURATA_RUNNING ||
        !s.inst->execution_id)
        goto out;
    for (size_t i = 0; i < results->count; i++)
        if (lend_extra(&s, results->items[i].result) < 0)
            goto out;
    if (begin_unit(&s, id) < 0 || process(&s) < 0 || s.extras_taken != results->count)
        goto out;
    struct dt_step *st = &s.w->u.step;
    st->optimistic = true;
    st->now_ms = s.now;
    st->expect_updated_ms = s.inst->updated_ms;
    st->done_tasks = calloc(results->count, sizeof(*st->done_tasks));
    if (!st->done_tasks || !(st->expect_execution_id = strdup(s.inst->execution_id)))
        goto out;
    for (size_t i = 0; i < results->count; i++)
        st->done_tasks[i] = results->items[i].task_row_id;
    st->n_done_tasks = results->count;
    atomic_fetch_add(&hub->n_steps, 1);
    taken = submit(&s, results);
out:
    ctx_release(&s);
    return taken;
}

void
dt_step_run_direct(struct durata_hub *hub, const char *id)
{
    for (;;) {
        struct dt_direct_list results = {0};
        dt_direct_take(&hub->direct, id, &results);
        if (results.count && step_with_results(hub, id, &results))
            return; /* step_done goes on from here */
        send_each(hub, &results, false);
        if (!dt_direct_done(&hub->direct, id))
            return;
    }
}

bool
dt_step_deliver(struct durata_hub *hub, int64_t task_row_id, struct dt_msg *result)
{
    /* A copy: once added, result belongs to whichever step writes it. */
    char *id = strdup(result->instance_id);
    if (!id)
        return false;
    /* A direct step of this instance is under way: go with the next one. */
    int rc = dt_direct_add(&hub->direct, id, task_row_id, result, false);
    /* Else, unless a locked step holds it now or it was not stepped here
     * lately (its history is not cached), step it directly. */
    if (rc == DT_DIRECT_REFUSED && dt_hcache_has(&hub->hcache, id))
        rc = dt_direct_add(&hub->direct, id, task_row_id, result, true);
    if (rc == DT_DIRECT_OPENED)
        dt_step_run_direct(hub, id);
    free(id);
    return rc > 0;
}
