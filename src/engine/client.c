/*
 * client.c — the client half of the public API: start, events, control
 * messages, status, history, query and wait.
 *
 * Every request is validated here (ids, names, JSON, sizes) before it
 * becomes a write unit; a request returns once its unit is committed, so a
 * success is durable.
 */
#include "engine/hub.h"

#include "base/clock.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "engine/step.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int
check_id(struct durata_hub *hub, const char *id)
{
    return dt_id_check(id, hub->opt.max_id_bytes, NULL);
}

static int
check_payload(struct durata_hub *hub, const char *json)
{
    return dt_json_check(json, hub->opt.max_payload_bytes);
}

static struct dt_event *
control_event(enum durata_event_type type, int64_t now, const char *input)
{
    struct dt_event *e = dt_event_new(type, now);
    if (e && input && !(e->input = strdup(input))) {
        dt_event_free(e);
        return NULL;
    }
    return e;
}

/* Commits one Send unit carrying e (taken). */
static int
send_message(struct durata_hub *hub, const char *id, struct dt_event *e, unsigned allowed)
{
    if (!e)
        return DURATA_ENOMEM;
    struct dt_write *w = dt_write_new(DT_W_SEND);
    struct dt_msg *m = dt_msg_new_take(id, NULL, e->timestamp_ms, e);
    if (!w || !m) {
        dt_write_free(w);
        dt_msg_free(m);
        return DURATA_ENOMEM;
    }
    w->u.send.msg = m;
    w->u.send.allowed_statuses = allowed;
    dt_hub_preclaim(hub, &w->u.send.claim, DT_WAKE_ORCH);
    int rc = dt_committer_run(&hub->committer, w);
    dt_write_free(w);
    return rc;
}

/* Builds the Create unit of a start. */
static int
start_unit(struct durata_hub *hub, const struct durata_start_options *o, const char *id,
           struct dt_write **out)
{
    int64_t now = dt_hub_now(hub);
    char exec_id[DT_ID_RANDOM_SIZE];
    int rc = dt_id_random(exec_id);
    if (rc < 0)
        return rc;
    int64_t at = o->scheduled_start_ms > now ? o->scheduled_start_ms : 0;
    struct durata_instance inst = {
        .id = (char *)id,
        .name = (char *)o->name,
        .version = (char *)o->version,
        .execution_id = exec_id,
        .status = DURATA_PENDING,
        .input = (char *)o->input,
        .created_ms = now,
        .updated_ms = now,
        .scheduled_start_ms = at,
    };
    struct dt_write *w = dt_write_new(DT_W_CREATE);
    struct dt_event *e = dt_event_new(DURATA_EV_EXECUTION_STARTED, at ? at : now);
    if (!w || !e)
        goto out_oom;
    e->name = strdup(o->name);
    e->version = dt_strdup_opt(o->version);
    e->input = dt_strdup_opt(o->input);
    e->instance_id = strdup(id);
    e->execution_id = strdup(exec_id);
    e->scheduled_start_ms = at;
    if (!e->name || !e->instance_id || !e->execution_id || (o->version && !e->version) ||
        (o->input && !e->input))
        goto out_oom;
    w->u.create.replace_terminal = true;
    w->u.create.inst = dt_instance_clone(&inst);
    w->u.create.start = dt_msg_new_take(id, exec_id, at ? at : now, e);
    e = NULL;
    if (!w->u.create.inst || !w->u.create.start)
        goto out_oom;
    *out = w;
    return 0;
out_oom:
    dt_event_free(e);
    dt_write_free(w);
    return DURATA_ENOMEM;
}

/* Checks a start's options and builds its Create unit into *out (with its
 * first step taken already when the hub runs). */
static int
start_prepare(struct durata_hub *hub, const struct durata_start_options *o, size_t id_out_size,
              struct dt_write **out)
{
    char gen[DT_ID_RANDOM_SIZE];
    if (!hub || !o || !o->name || !*o->name || strlen(o->name) > 256)
        return DURATA_EINVAL;
    if (!dt_registry_find(&hub->orchestrators, o->name))
        return DURATA_EUNKNOWN;
    const char *id = o->instance_id;
    int rc;
    if (!id) {
        if ((rc = dt_id_ordered(dt_hub_now(hub), gen)) < 0)
            return rc;
        id = gen;
    }
    if ((rc = check_id(hub, id)) < 0 || (rc = check_payload(hub, o->input)) < 0)
        return rc;
    if (o->version && strlen(o->version) > 256)
        return DURATA_EINVAL;
    if (id_out_size && id_out_size <= strlen(id))
        return DURATA_EINVAL;
    struct dt_write *w;
    if ((rc = start_unit(hub, o, id, &w)) < 0)
        return rc;
    /* A running hub takes the first step now and writes it with the start
     * (no inbox round trip); otherwise, or if that fails, the instance
     * starts through its inbox. */
    bool now = !w->u.create.inst->scheduled_start_ms && dt_hub_is_started(hub);
    if (!now || dt_step_first(hub, w) < 0)
        dt_hub_preclaim(hub, &w->u.create.claim, DT_WAKE_ORCH);
    /* The new instance's history will push an older one out of the cache:
     * the starting threads free those rather than the writer. */
    dt_hcache_reap(&hub->hcache);
    *out = w;
    return 0;
}

int
durata_start(struct durata_hub *hub, const struct durata_start_options *o, char *id_out,
             size_t id_out_size)
{
    struct dt_write *w;
    if (id_out && id_out_size == 0)
        return DURATA_EINVAL;
    int rc = start_prepare(hub, o, id_out ? id_out_size : 0, &w);
    if (rc < 0)
        return rc;
    rc = dt_step_commit_create(hub, w);
    if (rc == 0 && id_out)
        memcpy(id_out, w->u.create.inst->id, strlen(w->u.create.inst->id) + 1);
    dt_write_free(w);
    return rc;
}

int
durata_start_async(struct durata_hub *hub, const struct durata_start_options *o,
                   durata_started_fn done, void *arg)
{
    struct dt_write *w;
    if (!done)
        return DURATA_EINVAL;
    int rc = start_prepare(hub, o, 0, &w);
    if (rc < 0)
        return rc;
    rc = dt_step_submit_create(hub, w, done, arg);
    if (rc < 0)
        dt_write_free(w);
    return rc;
}

int
durata_raise_event(struct durata_hub *hub, const char *instance_id, const char *name,
                   const char *data)
{
    int rc;
    if (!hub || !name || !*name || strlen(name) > 256)
        return DURATA_EINVAL;
    if ((rc = check_id(hub, instance_id)) < 0 || (rc = check_payload(hub, data)) < 0)
        return rc;
    struct dt_event *e = control_event(DURATA_EV_EVENT_RAISED, dt_hub_now(hub), data);
    if (e && !(e->name = strdup(name))) {
        dt_event_free(e);
        e = NULL;
    }
    return send_message(hub, instance_id, e, 0);
}

int
durata_terminate(struct durata_hub *hub, const char *instance_id, const char *reason,
                 bool recursive)
{
    int rc;
    if (!hub)
        return DURATA_EINVAL;
    if ((rc = check_id(hub, instance_id)) < 0 || (rc = check_payload(hub, reason)) < 0)
        return rc;
    struct dt_event *e = control_event(DURATA_EV_EXECUTION_TERMINATED, dt_hub_now(hub), reason);
    if (e)
        e->recurse = recursive;
    rc = send_message(hub, instance_id, e, 0);
    if (rc == 0)
        dt_log(DT_LOG_INFO, "termination requested", "instanceId", instance_id, "reason", reason,
               NULL);
    return rc;
}

int
durata_suspend(struct durata_hub *hub, const char *instance_id, const char *reason)
{
    int rc;
    if (!hub)
        return DURATA_EINVAL;
    if ((rc = check_id(hub, instance_id)) < 0 || (rc = check_payload(hub, reason)) < 0)
        return rc;
    unsigned allowed = 1u << DURATA_RUNNING | 1u << DURATA_PENDING | 1u << DURATA_CONTINUED_AS_NEW;
    return send_message(hub, instance_id,
                        control_event(DURATA_EV_EXECUTION_SUSPENDED, dt_hub_now(hub), reason),
                        allowed);
}

int
durata_resume(struct durata_hub *hub, const char *instance_id, const char *reason)
{
    int rc;
    if (!hub)
        return DURATA_EINVAL;
    if ((rc = check_id(hub, instance_id)) < 0 || (rc = check_payload(hub, reason)) < 0)
        return rc;
    return send_message(hub, instance_id,
                        control_event(DURATA_EV_EXECUTION_RESUMED, dt_hub_now(hub), reason),
                        1u << DURATA_SUSPENDED);
}

int
durata_get_status(struct durata_hub *hub, const char *instance_id, struct durata_instance **out)
{
    int rc;
    if (!hub || !out)
        return DURATA_EINVAL;
    *out = NULL;
    if ((rc = check_id(hub, instance_id)) < 0)
        return rc;
    rc = hub->store->ops->get_instance(hub->store, instance_id, out);
    /* After the read: everything it may have seen is durable before it is
     * shown, so no caller sees a state that a power cut could undo. */
    dt_committer_barrier(&hub->committer);
    return rc;
}

int
durata_wait(struct durata_hub *hub, const char *instance_id, int64_t timeout_ms,
            struct durata_instance **out)
{
    struct timespec deadline;
    if (!hub || !out || timeout_ms < 0)
        return DURATA_EINVAL;
    dt_clock_deadline(CLOCK_REALTIME, timeout_ms, &deadline);
    for (;;) {
        pthread_mutex_lock(&hub->mu);
        uint64_t seen = hub->progress;
        pthread_mutex_unlock(&hub->mu);
        int rc = durata_get_status(hub, instance_id, out);
        if (rc < 0)
            return rc;
        if (durata_status_is_terminal((*out)->status))
            return 0;
        durata_instance_free(*out);
        *out = NULL;
        pthread_mutex_lock(&hub->mu);
        rc = 0;
        while (hub->progress == seen && rc == 0)
            rc = pthread_cond_timedwait(&hub->progress_cv, &hub->mu, &deadline);
        pthread_mutex_unlock(&hub->mu);
        if (rc == ETIMEDOUT)
            return DURATA_ETIMEDOUT;
        if (rc != 0)
            return DURATA_ESYS;
    }
}

int
durata_get_history(struct durata_hub *hub, const char *instance_id, struct durata_history **out)
{
    int rc;
    if (!hub || !out)
        return DURATA_EINVAL;
    *out = NULL;
    if ((rc = check_id(hub, instance_id)) < 0)
        return rc;
    struct durata_instance *inst;
    if ((rc = hub->store->ops->get_instance(hub->store, instance_id, &inst)) < 0)
        return rc;
    durata_instance_free(inst);
    struct dt_event_list l = {0};
    struct durata_history *h = calloc(1, sizeof(*h));
    if (!h || (rc = hub->store->ops->get_history(hub->store, instance_id, &l)) < 0)
        goto out_free;
    rc = DURATA_ENOMEM;
    h->events = calloc(l.count ? l.count : 1, sizeof(*h->events));
    if (!h->events)
        goto out_free;
    for (size_t i = 0; i < l.count; i++, h->count++) {
        const struct dt_event *e = l.items[i];
        h->events[i] = (struct durata_event){e->type, e->event_id, e->timestamp_ms, NULL};
        if (!(h->events[i].json = dt_event_to_json(e)))
            goto out_free;
    }
    dt_event_list_release(&l);
    dt_committer_barrier(&hub->committer); /* see durata_get_status */
    *out = h;
    return 0;
out_free:
    dt_event_list_release(&l);
    durata_history_free(h);
    return rc < 0 ? rc : DURATA_ENOMEM;
}

void
durata_history_free(struct durata_history *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->count; i++)
        free(h->events[i].json);
    free(h->events);
    free(h);
}

int
durata_query(struct durata_hub *hub, const struct durata_filter *f, size_t limit,
             const char *continuation, struct durata_page **out)
{
    struct durata_filter none = {0};
    if (!hub || !out)
        return DURATA_EINVAL;
    *out = NULL;
    if (limit == 0)
        limit = 100;
    if (limit > 10000)
        return DURATA_EINVAL;
    int rc = hub->store->ops->query(hub->store, f ? f : &none, limit, continuation, out);
    dt_committer_barrier(&hub->committer); /* see durata_get_status */
    return rc;
}
