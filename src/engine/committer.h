/*
 * committer.h — group commit: many writers, one transaction per batch.
 *
 * Owns: the queue of write units waiting for the store, and the thread that
 * drains it: it takes every unit queued (up to max_batch), commits them in
 * one store transaction (one fsync), then reports each unit's result. While
 * a batch commits, the next one gathers, so the batch size grows with load
 * and one fsync serves many requests.
 * When the store supports pipelined durability (ops->pipeline), a second
 * thread makes batches durable: the committer applies batch n+1 while the
 * syncer flushes batch n, and a unit is reported (its callback, its waiter)
 * only once it is durable. Work a commit makes visible is dispatched at
 * commit time; a crash before the flush loses it together with the commit
 * that made it visible, and it runs again (at-least-once).
 * Before dt_committer_start (or after stop), submissions commit and sync at
 * once in the caller's thread, so single-threaded use needs no thread.
 * Threading: submit from any thread. `mu` guards queue, count, running and
 * stopping; the store is only called by one thread at a time (commit_mu).
 */
#ifndef DT_ENGINE_COMMITTER_H
#define DT_ENGINE_COMMITTER_H

#include "store/store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dt_commit_req;

/* Called once a unit's fate is known (rc also in req->unit->rc), from the
 * committer thread, without locks held. It owns req afterwards. */
typedef void (*dt_commit_done_fn)(struct dt_commit_req *req, int rc);

struct dt_commit_req {
    struct dt_write *unit;
    dt_commit_done_fn committed; /* optional: at commit time, before the batch's
                                    hook and before durable, with the store
                                    lock held (must not submit nor free req) */
    dt_commit_done_fn done;
    void (*release)(struct dt_commit_req *req); /* optional: frees req once
                                    every request of its batch was reported,
                                    so reports do not wait behind frees
                                    (done then leaves req alone) */
    void *arg;
    struct dt_commit_req *next; /* queue link, committer-private */
    bool finished;              /* for waiters; guarded by wake_mu */
    pthread_mutex_t *wake_mu;   /* a waiter's own lock and condition, */
    pthread_cond_t *wake;       /* signalled when finished */
};

/* Called after each batch commits (or fails), before results are reported,
 * from the committer thread: the engine learns about new visible work. */
typedef void (*dt_commit_after_fn)(void *arg, struct dt_write **units, size_t n, int rc);

struct dt_committer {
    struct dt_store *store;
    dt_commit_after_fn after;
    void *after_arg;
    size_t max_batch;
    size_t max_queue;

    pthread_mutex_t commit_mu; /* one store commit at a time */
    pthread_mutex_t mu;
    pthread_cond_t work_cv;  /* queue became non-empty or stopping */
    pthread_cond_t space_cv; /* room in the queue for blocked submitters */
    size_t blocked;          /* submitters waiting for room */
    struct dt_commit_req *head, *tail;
    size_t count;
    bool running;
    bool stopping;
    pthread_t thread;

    /* pipelined durability */
    bool store_pipelined; /* commits no longer sync by themselves */
    bool syncer_running;  /* guarded by mu */
    pthread_t sync_thread;
    struct dt_commit_req *sync_head, *sync_tail; /* committed, not yet durable */
    pthread_cond_t sync_cv;                      /* sync queue non-empty or stopping */
    pthread_cond_t synced_cv;                    /* synced_seq advanced */
    uint64_t committed_seq;                      /* batches committed; guarded by mu */
    uint64_t synced_seq;                         /* batches durable; guarded by mu */
    bool sync_stopping;

    /* statistics, guarded by commit_mu */
    uint64_t batches;
    uint64_t units;
    size_t largest_batch;
    uint64_t batch_hist[DURATA_STATS_BUCKETS]; /* see durata_hub_stats */
};

/* The bucket of value v among bounds[0..DURATA_STATS_BUCKETS-1). */
size_t dt_stats_bucket(const uint64_t *bounds, uint64_t v);

void dt_committer_init(struct dt_committer *c, struct dt_store *store, dt_commit_after_fn after,
                       void *after_arg);
DURATA_MUST_CHECK int dt_committer_start(struct dt_committer *c);
/* Commits what is queued, then stops the thread. */
void dt_committer_stop(struct dt_committer *c);
void dt_committer_release(struct dt_committer *c);

/* Queues req (its unit and callback set by the caller). Blocks while the
 * queue is full (backpressure). */
void dt_committer_submit(struct dt_committer *c, struct dt_commit_req *req);

/* Queues req unless the queue is full: DURATA_EOVERLOAD then, and req is
 * not queued (for callers that must not block). Before the committer runs,
 * req is committed and reported (req->done) before this returns. */
DURATA_MUST_CHECK int dt_committer_try_submit(struct dt_committer *c, struct dt_commit_req *req);

/* Commits w and waits for its result (also w->rc). w stays the caller's. */
int dt_committer_run(struct dt_committer *c, struct dt_write *w);

/* Commits req->unit and waits for it, calling req->committed on the way
 * (req->done must be NULL). Returns the unit's rc. */
int dt_committer_run_req(struct dt_committer *c, struct dt_commit_req *req);

/* Waits until every batch committed before the call is durable, so what a
 * reader sees cannot be lost to a power failure. Returns at once when
 * nothing is pending (always, without pipelining). */
void dt_committer_barrier(struct dt_committer *c);

/* Commits units[0..n) (in one batch when the queue is idle) and waits for
 * all of them; results in each unit's rc. */
void dt_committer_run_many(struct dt_committer *c, struct dt_write **units, size_t n);

/* Queues w with no waiter: w is freed once committed; a failure is logged. */
void dt_committer_submit_free(struct dt_committer *c, struct dt_write *w);

/* The same without waiting for room in the queue: for a write that a
 * commit callback must hand on (a callback that waited for room would wait
 * for its own thread). */
void dt_committer_submit_free_now(struct dt_committer *c, struct dt_write *w);

#endif
