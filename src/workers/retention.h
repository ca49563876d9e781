/*
 * retention.h — background purge of old terminal instances (`--retention`),
 * so a hub's history never grows without bound.
 *
 * Owns: one thread per struct dt_retention. Every interval it runs a
 * *pass*: it purges the terminal instances (Completed, Failed, Canceled,
 * Terminated) created before now - older_than_ms, in bounded batches with
 * a pause between them, through the public durata_query/durata_purge_many,
 * and logs what it deleted. Running, pending, suspended and
 * continued-as-new instances are never touched, whatever their age.
 *
 * Age is counted from an instance's *creation*, not its completion: the
 * store's filters (and durata_filter, and Durable Functions' purge-history
 * API) select on creation time, which the instances table indexes; a
 * completion-time filter would need a new store query and index. The
 * consequence to document for operators: an instance that ran longer than
 * the retention is purged at the first pass after it ends, so the
 * retention must exceed the longest job plus the time clients need to
 * read its result.
 *
 * Batches: durata_purge_many deletes everything its filter matches, so a
 * batch is bounded by time: each batch purges the instances created in
 * [oldest terminal, oldest + slice), and the slice adapts so batches stay
 * near `batch` instances (halved-or-less when a batch was too big, doubled
 * when too small). Instances created in one millisecond always go
 * together; durata_purge_many itself commits them 500 per transaction, so
 * even then other writers interleave.
 *
 * Threading: start/stop/kick/stats/wait from any thread; the hub must
 * outlive the retention (stop it before durata_hub_close). The hub need
 * not be started: an unstarted hub commits in the caller's thread.
 */
#ifndef DT_WORKERS_RETENTION_H
#define DT_WORKERS_RETENTION_H

#include "durata.h"

#include <stdint.h>

struct dt_retention_options {
    int64_t older_than_ms; /* required, > 0: the retention */
    int64_t interval_ms;   /* between passes; 0 = older_than_ms / 10 within [1 s, 5 min] */
    int64_t batch;         /* target instances per batch; 0 = 500 */
    int64_t pause_ms;      /* between batches of a pass; 0 = 20 */
    durata_clock_fn clock; /* the hub's clock (it stamps created times); NULL = system */
    void *clock_arg;
};

struct dt_retention_stats {
    uint64_t passes;       /* passes finished, failed ones included */
    uint64_t batches;      /* purge calls made */
    int64_t deleted;       /* instances deleted since start */
    int64_t last_deleted;  /* by the last finished pass */
    int64_t largest_batch; /* most instances one batch deleted */
    int last_error;        /* 0, or the DURATA_E* code the last pass ended with */
};

struct dt_retention;

/* Checks o, starts the thread (its first pass begins at once) and logs
 * the settings. The options are copied. DURATA_EINVAL (hub or o NULL,
 * older_than_ms <= 0, a negative interval/batch/pause), DURATA_ENOMEM,
 * DURATA_ESYS (thread creation). */
DURATA_MUST_CHECK int dt_retention_start(struct dt_retention **out, struct durata_hub *hub,
                                         const struct dt_retention_options *o);

/* Stops the thread and frees r. Returns once the batch in progress (if
 * any) has committed: passes stop between batches and waits end at once.
 * NULL is a no-op. */
void dt_retention_stop(struct dt_retention *r);

/* Asks for a pass now instead of at the end of the interval (a pass in
 * progress is followed by another one). */
void dt_retention_kick(struct dt_retention *r);

/* A consistent snapshot of the counters. */
void dt_retention_get_stats(struct dt_retention *r, struct dt_retention_stats *out);

/* Waits until at least `passes` passes have finished: 0, or
 * DURATA_ETIMEDOUT after timeout_ms (< 0 waits for ever). */
DURATA_MUST_CHECK int dt_retention_wait_passes(struct dt_retention *r, uint64_t passes,
                                               int64_t timeout_ms);

#endif
