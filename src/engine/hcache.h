/*
 * hcache.h — the history cache: decoded histories of recently stepped
 * instances, so a step reads only its new messages (DESIGN: "steps are cheap
 * at any history length").
 *
 * Owns: entries keyed by instance id, each holding the history as the step
 * that produced it committed it, with the execution id, the instance's
 * updated time and the event count it was written with, and optionally the
 * instance's state as committed. The store stays the truth: a step takes
 * an entry out only if those three still match what the store says
 * (another process or an admin rewrite changes at least one), or, taking
 * the state too without reading the store, writes under the condition
 * that they still do (an optimistic step); the new history goes back only
 * after its write committed.
 * Bounded: at most max_entries instances and max_events events; the least
 * recently used entries go first. What a put evicts or replaces is not
 * freed there (puts run on the store's one writer thread, the serial stage
 * of every commit) but left for dt_hcache_reap, which the threads that
 * take entries and start instances call; past DT_HCACHE_DEAD_MAX left over,
 * a put frees them itself.
 * Threading: all calls lock `mu`; an entry taken out belongs to its taker.
 */
#ifndef DT_ENGINE_HCACHE_H
#define DT_ENGINE_HCACHE_H

#include "store/event.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dt_hentry;

/* Entries left for dt_hcache_reap before a put frees them itself. */
#define DT_HCACHE_DEAD_MAX 1024

struct dt_hcache {
    pthread_mutex_t mu;
    struct dt_hentry **buckets; /* chained hash by id */
    size_t n_buckets;
    struct dt_hentry *lru_head, *lru_tail; /* most recent first */
    size_t entries, events;
    size_t max_entries, max_events;
    uint64_t hits, misses;  /* statistics */
    struct dt_hentry *dead; /* evicted or replaced, to be freed */
    _Atomic size_t n_dead;  /* read without the lock to skip an empty reap */
};

void dt_hcache_init(struct dt_hcache *c, size_t max_entries, size_t max_events);
void dt_hcache_release(struct dt_hcache *c);

/* Whether an entry for id is in the cache now (not taken by a step). */
bool dt_hcache_has(struct dt_hcache *c, const char *id);

/* Takes the entry for id out of the cache when it matches execution_id and
 * updated_ms; its events move into *out (appended; out must be empty) and
 * the count it was stored with into *count. false (and the entry dropped)
 * when missing or stale. */
bool dt_hcache_take(struct dt_hcache *c, const char *id, const char *execution_id,
                    int64_t updated_ms, struct dt_event_list *out, size_t *count);

/* Takes the entry for id out with the instance state it was stored with,
 * unchecked: for a write that checks the store itself. false (nothing
 * changed) when there is no entry or it has no state. */
bool dt_hcache_take_state(struct dt_hcache *c, const char *id, struct durata_instance **state,
                          struct dt_event_list *out, size_t *count);

/* Stores the history of id (its events are taken; l is left empty) and,
 * unless NULL, the instance's state (taken). A previous entry is replaced.
 * Out of memory or over the bounds simply drops what does not fit. */
void dt_hcache_put(struct dt_hcache *c, const char *id, const char *execution_id,
                   int64_t updated_ms, struct dt_event_list *l, struct durata_instance *state);

/* Frees what puts evicted or replaced (outside the lock). */
void dt_hcache_reap(struct dt_hcache *c);

/* Forgets id (admin rewrites, purge). */
void dt_hcache_drop(struct dt_hcache *c, const char *id);

#endif
