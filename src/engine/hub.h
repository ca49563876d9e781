/*
 * hub.h — the task hub: what one engine instance holds (private layout of
 * struct durata_hub).
 *
 * Owns: the store, the options, the registries of orchestrators and
 * activities, the committer, the dispatcher and its worker threads, and the
 * node's owner id used for claims (host:pid:random, unique per open).
 * Invariants: the store is the only truth; everything here is a cache or a
 * wake-up that a restart rebuilds from the store.
 * Threading: registries are written before dt_hub start and only read
 * after (no lock). `mu` guards the fields marked so.
 */
#ifndef DT_ENGINE_HUB_H
#define DT_ENGINE_HUB_H

#include "durata.h"
#include "engine/committer.h"
#include "engine/direct.h"
#include "engine/dispatch.h"
#include "engine/hcache.h"
#include "store/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct dt_registration {
    char *name;
    union {
        durata_orchestrator_fn orch;
        durata_activity_fn act;
    } fn;
    void *arg;
};

struct dt_registry {
    struct dt_registration *items; /* sorted by name */
    size_t count;
    size_t cap;
};

struct durata_hub {
    struct durata_hub_options opt; /* defaults filled in; store_path owned */
    struct dt_store *store;
    char owner[128];
    struct dt_registry orchestrators;
    struct dt_registry activities;
    struct dt_committer committer;
    struct dt_dispatcher dispatcher;
    struct dt_hcache hcache;
    struct dt_direct direct;

    pthread_mutex_t mu;
    pthread_cond_t progress_cv;   /* broadcast after batches holding steps */
    uint64_t progress;            /* guarded by mu: count of such batches */
    atomic_uint_fast64_t n_steps; /* counters for durata_hub_get_stats */
    atomic_uint_fast64_t n_activities;
    atomic_uint_fast64_t n_direct_starts;
    atomic_uint_fast64_t n_direct_results;
    atomic_uint_fast64_t activity_us[DURATA_STATS_BUCKETS];
    atomic_uint_fast64_t activity_us_sum;
    bool started; /* guarded by mu */
};

int64_t dt_hub_now(struct durata_hub *hub);

/* Whether the hub's threads run (durata_hub_start until durata_hub_stop). */
bool dt_hub_is_started(struct durata_hub *hub);

/* Looks up a registration; NULL when unknown. */
const struct dt_registration *dt_registry_find(const struct dt_registry *r, const char *name);

/* Asks the unit being built to claim the work it makes visible for this
 * node (kind DT_WAKE_ORCH: the instance; DT_WAKE_ACT: a step's tasks),
 * when the threads run and have room. */
void dt_hub_preclaim(struct durata_hub *hub, struct dt_preclaim *pc, unsigned kind);

/* The hub's commit hook: wakes the dispatcher, feeds timers, wakes waiters. */
void dt_hub_after_commit(void *arg, struct dt_write **units, size_t n, int rc);

#endif
