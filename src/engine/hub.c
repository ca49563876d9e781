/*
 * hub.c — opening, starting, stopping and closing a hub; registration; the
 * commit hook that turns committed writes into wake-ups.
 */
#include "engine/hub.h"

#include "base/clock.h"
#include "base/id.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int64_t
dt_hub_now(struct durata_hub *hub)
{
    return hub->opt.clock(hub->opt.clock_arg);
}

/* ------------------------------------------------------------ registries */

static int
registry_index(const struct dt_registry *r, const char *name, bool *found)
{
    size_t lo = 0, hi = r->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(r->items[mid].name, name);
        if (c == 0) {
            *found = true;
            return (int)mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return (int)lo;
}

const struct dt_registration *
dt_registry_find(const struct dt_registry *r, const char *name)
{
    bool found;
    if (!name)
        return NULL;
    int i = registry_index(r, name, &found);
    return found ? &r->items[i] : NULL;
}

static int
registry_add(struct durata_hub *hub, struct dt_registry *r, const char *name,
             struct dt_registration reg)
{
    if (!name || !*name || !reg.fn.orch || strlen(name) > 256)
        return DURATA_EINVAL;
    pthread_mutex_lock(&hub->mu);
    bool started = hub->started;
    pthread_mutex_unlock(&hub->mu);
    if (started)
        return DURATA_EBUSY; /* workers read the registry without a lock */
    bool found;
    int i = registry_index(r, name, &found);
    if (found) {
        r->items[i].fn = reg.fn;
        r->items[i].arg = reg.arg;
        return 0;
    }
    if (r->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct dt_registration *p = realloc(r->items, cap * sizeof(*p));
        if (!p)
            return DURATA_ENOMEM;
        r->items = p;
        r->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return DURATA_ENOMEM;
    memmove(&r->items[i + 1], &r->items[i], (r->count - (size_t)i) * sizeof(*r->items));
    reg.name = copy;
    r->items[i] = reg;
    r->count++;
    return 0;
}

static void
registry_release(struct dt_registry *r)
{
    for (size_t i = 0; i < r->count; i++)
        free(r->items[i].name);
    free(r->items);
    *r = (struct dt_registry){0};
}

int
durata_register_orchestrator(struct durata_hub *hub, const char *name, durata_orchestrator_fn fn,
                             void *arg)
{
    if (!hub)
        return DURATA_EINVAL;
    return registry_add(hub, &hub->orchestrators, name,
                        (struct dt_registration){.fn.orch = fn, .arg = arg});
}

int
durata_register_activity(struct durata_hub *hub, const char *name, durata_activity_fn fn, void *arg)
{
    if (!hub)
        return DURATA_EINVAL;
    return registry_add(hub, &hub->activities, name,
                        (struct dt_registration){.fn.act = fn, .arg = arg});
}

/* ------------------------------------------------------------ commit hook */

void
dt_hub_preclaim(struct durata_hub *hub, struct dt_preclaim *pc, unsigned kind)
{
    if (!dt_dispatcher_has_room(&hub->dispatcher, kind))
        return;
    pc->owner = strdup(hub->owner); /* NULL on OOM: simply no pre-claim */
    pc->now_ms = dt_hub_now(hub);
    pc->until_ms = pc->now_ms + (kind == DT_WAKE_ORCH ? hub->opt.orchestration_lock_ms
                                                      : hub->opt.activity_lease_ms);
}

/* Queues a step's pre-claimed work (its leased tasks are taken). */
static void
take_step_claims(struct dt_dispatcher *d, struct dt_step *s)
{
    for (size_t i = 0; i < s->n_creates; i++)
        if (s->creates[i].claim.claimed)
            dt_dispatcher_push_instance(d, s->creates[i].inst->id);
    if (!s->task_claim.claimed)
        return;
    for (size_t i = 0; i < s->tasks.count; i++) {
        dt_dispatcher_push_task(d, s->tasks.items[i]);
        s->tasks.items[i] = NULL;
    }
}

static void
note_visible(struct durata_hub *hub, int64_t now, int64_t visible_ms)
{
    if (visible_ms > now)
        dt_dispatcher_add_due(&hub->dispatcher, visible_ms);
}

bool
dt_hub_is_started(struct durata_hub *hub)
{
    pthread_mutex_lock(&hub->mu);
    bool started = hub->started;
    pthread_mutex_unlock(&hub->mu);
    return started;
}

/* Notes what a committed step sends; returns the kinds of work it may
 * have made claimable. held_lock: the step ran under the instance lock,
 * which it now released, so messages that came meanwhile (and could not
 * claim the instance then) are claimable; a first step or an optimistic
 * one held no lock, and such messages woke the dispatcher themselves. */
static unsigned
note_step(struct durata_hub *hub, int64_t now, struct dt_step *s, bool held_lock)
{
    for (size_t i = 0; i < s->outbox.count; i++)
        note_visible(hub, now, s->outbox.items[i]->visible_ms);
    take_step_claims(&hub->dispatcher, s);
    return (held_lock ? DT_WAKE_ORCH : 0) |
           (s->tasks.count && !s->task_claim.claimed ? DT_WAKE_ACT : 0);
}

/* Queues what a committed unit pre-claimed, notes future visible times,
 * and returns which kinds of work may now be claimable. */
static unsigned
note_unit(struct durata_hub *hub, int64_t now, struct dt_write *w)
{
    struct dt_dispatcher *d = &hub->dispatcher;
    switch (w->kind) {
    case DT_W_CREATE:
        if (w->u.create.first)
            return note_step(hub, now, &w->u.create.first->u.step, false);
        note_visible(hub, now, w->u.create.start->visible_ms);
        if (!w->u.create.claim.claimed)
            return DT_WAKE_ORCH;
        dt_dispatcher_push_instance(d, w->u.create.inst->id);
        return 0;
    case DT_W_SEND:
        note_visible(hub, now, w->u.send.msg->visible_ms);
        if (!w->u.send.claim.claimed)
            return DT_WAKE_ORCH;
        dt_dispatcher_push_instance(d, w->u.send.msg->instance_id);
        return 0;
    case DT_W_STEP:
        return note_step(hub, now, &w->u.step, !w->u.step.optimistic);
    case DT_W_TASK_DONE:
        if (!w->u.task_done.claim.claimed)
            return DT_WAKE_ORCH;
        dt_dispatcher_push_instance(d, w->u.task_done.result->instance_id);
        return 0;
    case DT_W_TASK_RELEASE:
        note_visible(hub, now, w->u.task_release.visible_ms);
        return DT_WAKE_ACT;
    case DT_W_RENEW:
    case DT_W_CLAIM_INSTANCES:
    case DT_W_CLAIM_TASKS:
    case DT_W_PURGE:
    case DT_W_PURGE_MANY:
        return 0;
    }
    return 0;
}

void
dt_hub_after_commit(void *arg, struct dt_write **units, size_t n, int rc)
{
    struct durata_hub *hub = arg;
    if (rc < 0)
        return;
    int64_t now = dt_hub_now(hub);
    unsigned wake = 0;
    bool steps = false;
    for (size_t i = 0; i < n; i++) {
        if (units[i]->rc < 0)
            continue;
        wake |= note_unit(hub, now, units[i]);
        steps |= units[i]->kind == DT_W_STEP || units[i]->kind == DT_W_PURGE ||
                 (units[i]->kind == DT_W_CREATE && units[i]->u.create.first);
    }
    if (wake)
        dt_dispatcher_wake(&hub->dispatcher, wake);
    if (steps) {
        pthread_mutex_lock(&hub->mu);
        hub->progress++;
        pthread_cond_broadcast(&hub->progress_cv);
        pthread_mutex_unlock(&hub->mu);
    }
}

/* ------------------------------------------------------------ lifecycle */

static void
fill_defaults(struct durata_hub_options *o)
{
    if (!o->activity_lease_ms)
        o->activity_lease_ms = 30000;
    if (!o->orchestration_lock_ms)
        o->orchestration_lock_ms = 10000;
    if (!o->max_deliveries)
        o->max_deliveries = 10;
    if (!o->orchestration_threads)
        o->orchestration_threads = 2;
    if (!o->activity_threads)
        o->activity_threads = 8;
    if (!o->max_payload_bytes)
        o->max_payload_bytes = 1 << 20;
    if (!o->max_custom_status_bytes)
        o->max_custom_status_bytes = 16 << 10;
    if (!o->max_id_bytes)
        o->max_id_bytes = 256;
    if (!o->sweep_interval_ms)
        o->sweep_interval_ms = 1000;
    if (!o->clock)
        o->clock = dt_clock_system;
}

static int
check_options(const struct durata_hub_options *o)
{
    if (o->activity_lease_ms < 0 || o->orchestration_lock_ms < 0 || o->max_deliveries < 0 ||
        o->stop_grace_ms < 0 || o->orchestration_threads < 0 || o->activity_threads < 0 ||
        o->sweep_interval_ms < 0 || o->orchestration_threads > 256 || o->activity_threads > 4096 ||
        o->max_id_bytes > 4096)
        return DURATA_EINVAL;
    return 0;
}

static int
make_owner(struct durata_hub *hub)
{
    char host[64] = "host", rnd[DT_ID_RANDOM_SIZE];
    (void)gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    int rc = dt_id_random(rnd);
    if (rc < 0)
        return rc;
    snprintf(hub->owner, sizeof(hub->owner), "%s:%ld:%.8s", host, (long)getpid(), rnd);
    return 0;
}

int
durata_hub_open(struct durata_hub **out, const struct durata_hub_options *o)
{
    struct durata_hub_options none = {0};
    if (!out)
        return DURATA_EINVAL;
    *out = NULL;
    if (!o)
        o = &none;
    int rc = check_options(o);
    if (rc < 0)
        return rc;
    struct durata_hub *hub = calloc(1, sizeof(*hub));
    if (!hub)
        return DURATA_ENOMEM;
    hub->opt = *o;
    fill_defaults(&hub->opt);
    hub->opt.store_path = strdup(o->store_path ? o->store_path : "./durata.db");
    pthread_mutex_init(&hub->mu, NULL);
    pthread_cond_init(&hub->progress_cv, NULL);
    if (!hub->opt.store_path) {
        rc = DURATA_ENOMEM;
        goto out_free;
    }
    if ((rc = make_owner(hub)) < 0)
        goto out_free;
    if ((rc = dt_store_open(hub->opt.store_path, &hub->store)) < 0)
        goto out_free;
    dt_committer_init(&hub->committer, hub->store, dt_hub_after_commit, hub);
    dt_dispatcher_init(&hub->dispatcher, hub);
    dt_hcache_init(&hub->hcache, 4096, 1 << 20);
    dt_direct_init(&hub->direct);
    *out = hub;
    return 0;
out_free:
    free((char *)hub->opt.store_path);
    pthread_mutex_destroy(&hub->mu);
    pthread_cond_destroy(&hub->progress_cv);
    free(hub);
    return rc;
}

int
durata_hub_start(struct durata_hub *hub)
{
    if (!hub)
        return DURATA_EINVAL;
    pthread_mutex_lock(&hub->mu);
    if (hub->started) {
        pthread_mutex_unlock(&hub->mu);
        return 0;
    }
    hub->started = true;
    pthread_mutex_unlock(&hub->mu);
    /* Timers that were pending when the store was last closed. */
    int64_t due = 0;
    int rc = hub->store->ops->next_due(hub->store, dt_hub_now(hub), &due);
    if (rc == 0 && due)
        dt_dispatcher_add_due(&hub->dispatcher, due);
    if ((rc = dt_committer_start(&hub->committer)) < 0)
        goto out_stop;
    if ((rc = dt_dispatcher_start(&hub->dispatcher)) < 0)
        goto out_stop;
    return 0;
out_stop:
    durata_hub_stop(hub);
    return rc;
}

void
durata_hub_stop(struct durata_hub *hub)
{
    if (!hub)
        return;
    dt_dispatcher_stop(&hub->dispatcher);
    dt_committer_stop(&hub->committer);
    dt_direct_drop_all(&hub->direct); /* no thread is left to step them */
    pthread_mutex_lock(&hub->mu);
    hub->started = false;
    pthread_cond_broadcast(&hub->progress_cv);
    pthread_mutex_unlock(&hub->mu);
}

void
durata_hub_close(struct durata_hub *hub)
{
    if (!hub)
        return;
    durata_hub_stop(hub);
    dt_dispatcher_release(&hub->dispatcher);
    dt_hcache_release(&hub->hcache);
    dt_direct_release(&hub->direct);
    dt_committer_release(&hub->committer);
    dt_store_close(hub->store);
    registry_release(&hub->orchestrators);
    registry_release(&hub->activities);
    free((char *)hub->opt.store_path);
    pthread_mutex_destroy(&hub->mu);
    pthread_cond_destroy(&hub->progress_cv);
    free(hub);
}

int
durata_hub_run_pending(struct durata_hub *hub, int max_items)
{
    if (!hub)
        return DURATA_EINVAL;
    pthread_mutex_lock(&hub->mu);
    bool started = hub->started;
    pthread_mutex_unlock(&hub->mu);
    if (started)
        return DURATA_EBUSY;
    return dt_dispatcher_run_pending(&hub->dispatcher, max_items);
}

void
durata_hub_get_stats(struct durata_hub *hub, struct durata_hub_stats *out)
{
    if (!hub || !out)
        return;
    pthread_mutex_lock(&hub->committer.commit_mu);
    out->commits = hub->committer.batches;
    out->units = hub->committer.units;
    out->largest_batch = hub->committer.largest_batch;
    memcpy(out->batch_units, hub->committer.batch_hist, sizeof(out->batch_units));
    pthread_mutex_unlock(&hub->committer.commit_mu);
    out->steps = atomic_load(&hub->n_steps);
    out->activities = atomic_load(&hub->n_activities);
    out->direct_starts = atomic_load(&hub->n_direct_starts);
    out->direct_results = atomic_load(&hub->n_direct_results);
    for (size_t i = 0; i < DURATA_STATS_BUCKETS; i++)
        out->activity_us[i] = atomic_load(&hub->activity_us[i]);
    out->activity_us_sum = atomic_load(&hub->activity_us_sum);
}
