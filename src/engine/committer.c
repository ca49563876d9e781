/*
 * committer.c — group commit (see committer.h for the contract).
 *
 * The loop: wait for units; detach the whole queue (up to max_batch); commit
 * them in one store transaction; run the `after` hook and each request's
 * `committed` callback; then, pipelined, hand the batch to the syncer
 * thread, which flushes everything queued with one sync and reports each
 * unit; otherwise report at once. A waiter sleeps on a lock and condition
 * of its own, so a finished batch wakes exactly its waiters, and a woken
 * waiter does not queue for the committer's lock behind the syncer (which
 * held it while it woke a whole batch's waiters one by one).
 */
#include "engine/committer.h"

#include "base/log.h"

#include <errno.h>
#include <stdlib.h>

void
dt_committer_init(struct dt_committer *c, struct dt_store *store, dt_commit_after_fn after,
                  void *after_arg)
{
    *c = (struct dt_committer){.store = store, .after = after, .after_arg = after_arg};
    c->max_batch = 512;
    c->max_queue = 16384;
    pthread_mutex_init(&c->commit_mu, NULL);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->work_cv, NULL);
    pthread_cond_init(&c->space_cv, NULL);
    pthread_cond_init(&c->sync_cv, NULL);
    pthread_cond_init(&c->synced_cv, NULL);
}

size_t
dt_stats_bucket(const uint64_t *bounds, uint64_t v)
{
    size_t i = 0;
    while (i < DURATA_STATS_BUCKETS - 1 && v > bounds[i])
        i++;
    return i;
}

/* Commits units[0..n) (the units of list), reports them committed, then
 * runs the hook, so what the hook sets going finds what the callbacks
 * stored; the caller holds no lock. */
static int
commit_batch(struct dt_committer *c, struct dt_write **units, size_t n, struct dt_commit_req *list)
{
    pthread_mutex_lock(&c->commit_mu);
    int rc = c->store->ops->commit(c->store, units, n);
    for (struct dt_commit_req *r = list; r; r = r->next)
        if (r->committed)
            r->committed(r, r->unit->rc);
    static const uint64_t bounds[] = {DURATA_BATCH_BOUNDS};
    c->batches++;
    c->units += n;
    c->batch_hist[dt_stats_bucket(bounds, n)]++;
    if (n > c->largest_batch)
        c->largest_batch = n;
    if (rc < 0)
        dt_log(DT_LOG_ERROR, "store commit failed", "error", durata_strerror(rc), NULL);
    if (c->after)
        c->after(c->after_arg, units, n, rc);
    pthread_mutex_unlock(&c->commit_mu);
    return rc;
}

/* Reports the results of a detached list of requests. */
static void
finish_list(struct dt_commit_req *list)
{
    struct dt_commit_req *waiters = NULL, *released = NULL;
    while (list) {
        struct dt_commit_req *next = list->next;
        if (list->done) {
            bool later = list->release != NULL; /* else done may free list */
            list->done(list, list->unit->rc);
            if (later) {
                list->next = released;
                released = list;
            }
        } else {
            list->next = waiters;
            waiters = list;
        }
        list = next;
    }
    while (waiters) {
        struct dt_commit_req *w = waiters;
        waiters = w->next; /* w belongs to its waiter once finished is set */
        if (!w->wake_mu) {
            w->finished = true;
            continue;
        }
        pthread_mutex_lock(w->wake_mu);
        w->finished = true;
        pthread_cond_signal(w->wake); /* under wake_mu: the waiter is still there */
        pthread_mutex_unlock(w->wake_mu);
    }
    while (released) {
        struct dt_commit_req *r = released;
        released = r->next;
        r->release(r);
    }
}

/* A flush failed: what it covered may not survive a crash. */
static void
fail_unsynced(struct dt_commit_req *list, int rc)
{
    for (; list; list = list->next)
        if (list->unit->rc == 0)
            list->unit->rc = rc;
}

/* Queues a committed batch for the syncer thread. */
static void
queue_for_sync(struct dt_committer *c, struct dt_commit_req *list)
{
    struct dt_commit_req *last = list;
    while (last->next)
        last = last->next;
    pthread_mutex_lock(&c->mu);
    c->committed_seq++;
    if (c->sync_tail)
        c->sync_tail->next = list;
    else
        c->sync_head = list;
    c->sync_tail = last;
    pthread_cond_signal(&c->sync_cv);
    pthread_mutex_unlock(&c->mu);
}

/* Commits a detached list of requests; async_sync: the syncer thread
 * makes it durable and reports it, else this call does. */
static void
run_one_batch(struct dt_committer *c, struct dt_commit_req *list, size_t n, bool async_sync)
{
    struct dt_write *stack_units[64];
    struct dt_write **units = n <= 64 ? stack_units : malloc(n * sizeof(*units));
    size_t i = 0;
    if (!units) {
        for (struct dt_commit_req *r = list; r; r = r->next)
            r->unit->rc = DURATA_ENOMEM;
    } else {
        for (struct dt_commit_req *r = list; r; r = r->next)
            units[i++] = r->unit;
        (void)commit_batch(c, units, n, list);
        if (units != stack_units)
            free(units);
    }
    if (async_sync) {
        queue_for_sync(c, list);
        return;
    }
    int rc = c->store_pipelined ? c->store->ops->sync(c->store) : 0;
    if (rc < 0)
        fail_unsynced(list, rc);
    pthread_mutex_lock(&c->mu);
    c->synced_seq = ++c->committed_seq;
    pthread_cond_broadcast(&c->synced_cv);
    pthread_mutex_unlock(&c->mu);
    finish_list(list);
}

static void *
syncer_main(void *arg)
{
    struct dt_committer *c = arg;
    pthread_setname_np(pthread_self(), "dt-sync");
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->sync_head && !c->sync_stopping)
            pthread_cond_wait(&c->sync_cv, &c->mu);
        struct dt_commit_req *list = c->sync_head;
        if (!list)
            break;
        uint64_t target = c->committed_seq;
        c->sync_head = c->sync_tail = NULL;
        pthread_mutex_unlock(&c->mu);
        int rc = c->store->ops->sync(c->store); /* one flush for every batch queued */
        if (rc < 0)
            fail_unsynced(list, rc);
        finish_list(list);
        pthread_mutex_lock(&c->mu);
        c->synced_seq = target;
        pthread_cond_broadcast(&c->synced_cv);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

void
dt_committer_barrier(struct dt_committer *c)
{
    pthread_mutex_lock(&c->mu);
    uint64_t target = c->committed_seq;
    while (c->synced_seq < target)
        pthread_cond_wait(&c->synced_cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
}

static void *
committer_main(void *arg)
{
    struct dt_committer *c = arg;
    pthread_setname_np(pthread_self(), "dt-commit");
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->head && !c->stopping)
            pthread_cond_wait(&c->work_cv, &c->mu);
        if (!c->head && c->stopping)
            break;
        struct dt_commit_req *list = c->head, *last = list;
        size_t n = 1;
        while (last->next && n < c->max_batch) {
            last = last->next;
            n++;
        }
        c->head = last->next;
        if (!c->head)
            c->tail = NULL;
        last->next = NULL;
        c->count -= n;
        if (c->blocked)
            pthread_cond_broadcast(&c->space_cv);
        pthread_mutex_unlock(&c->mu);
        run_one_batch(c, list, n, c->syncer_running);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* Pipelines durability when the store can. Without the thread (or the
 * store's support) every batch is made durable before it is reported. */
static void
start_syncer(struct dt_committer *c)
{
    const struct dt_store_ops *ops = c->store->ops;
    if (!c->store_pipelined)
        c->store_pipelined = ops->pipeline && ops->sync && ops->pipeline(c->store) == 0;
    if (!c->store_pipelined)
        return;
    c->sync_stopping = false;
    if (pthread_create(&c->sync_thread, NULL, syncer_main, c) == 0)
        c->syncer_running = true;
}

/* Flushes and reports what the syncer holds, then ends it. */
static void
stop_syncer(struct dt_committer *c)
{
    pthread_mutex_lock(&c->mu);
    bool running = c->syncer_running;
    c->sync_stopping = true;
    pthread_cond_signal(&c->sync_cv);
    pthread_mutex_unlock(&c->mu);
    if (running)
        pthread_join(c->sync_thread, NULL);
    pthread_mutex_lock(&c->mu);
    c->syncer_running = false;
    pthread_mutex_unlock(&c->mu);
}

int
dt_committer_start(struct dt_committer *c)
{
    start_syncer(c);
    pthread_mutex_lock(&c->mu);
    c->stopping = false;
    c->running = true;
    pthread_mutex_unlock(&c->mu);
    if (pthread_create(&c->thread, NULL, committer_main, c) != 0) {
        pthread_mutex_lock(&c->mu);
        c->running = false;
        pthread_mutex_unlock(&c->mu);
        stop_syncer(c);
        return DURATA_ESYS;
    }
    return 0;
}

void
dt_committer_stop(struct dt_committer *c)
{
    pthread_mutex_lock(&c->mu);
    if (!c->running) {
        pthread_mutex_unlock(&c->mu);
        return;
    }
    c->stopping = true;
    pthread_cond_broadcast(&c->work_cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pthread_mutex_lock(&c->mu);
    c->running = false;
    pthread_mutex_unlock(&c->mu);
    stop_syncer(c); /* after the committer: it flushes the last batches */
}

void
dt_committer_release(struct dt_committer *c)
{
    dt_committer_stop(c);
    pthread_mutex_destroy(&c->commit_mu);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->work_cv);
    pthread_cond_destroy(&c->space_cv);
    pthread_cond_destroy(&c->sync_cv);
    pthread_cond_destroy(&c->synced_cv);
}

/* How enqueue treats a full queue. */
enum room_policy {
    ROOM_WAIT,   /* wait for room (backpressure) */
    ROOM_IGNORE, /* queue anyway */
    ROOM_REFUSE, /* queue nothing: DURATA_EOVERLOAD */
};

/* Queues req, treating a full queue as `room` says. 0 or DURATA_EOVERLOAD. */
static int
enqueue(struct dt_committer *c, struct dt_commit_req *req, enum room_policy room)
{
    req->next = NULL;
    req->finished = false;
    dt_write_precode(req->unit); /* JSON work here, not in the one writer */
    pthread_mutex_lock(&c->mu);
    if (!c->running || c->stopping) {
        pthread_mutex_unlock(&c->mu);
        run_one_batch(c, req, 1, false);
        return 0;
    }
    if (room == ROOM_REFUSE && c->count >= c->max_queue) {
        pthread_mutex_unlock(&c->mu);
        return DURATA_EOVERLOAD;
    }
    while (room == ROOM_WAIT && c->count >= c->max_queue && c->running) {
        c->blocked++;
        pthread_cond_wait(&c->space_cv, &c->mu);
        c->blocked--;
    }
    if (c->tail)
        c->tail->next = req;
    else
        c->head = req;
    c->tail = req;
    c->count++;
    pthread_cond_signal(&c->work_cv);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

void
dt_committer_submit(struct dt_committer *c, struct dt_commit_req *req)
{
    (void)enqueue(c, req, ROOM_WAIT);
}

int
dt_committer_try_submit(struct dt_committer *c, struct dt_commit_req *req)
{
    return enqueue(c, req, ROOM_REFUSE);
}

/* Submits reqs[0..n) and sleeps until all are finished. */
static void
submit_and_wait(struct dt_committer *c, struct dt_commit_req *reqs, size_t n)
{
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_mutex_init(&mu, NULL);
    pthread_cond_init(&cv, NULL);
    for (size_t i = 0; i < n; i++) {
        reqs[i].wake_mu = &mu;
        reqs[i].wake = &cv;
        dt_committer_submit(c, &reqs[i]);
    }
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n; i++)
        while (!reqs[i].finished)
            pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    pthread_cond_destroy(&cv);
    pthread_mutex_destroy(&mu);
}

int
dt_committer_run(struct dt_committer *c, struct dt_write *w)
{
    struct dt_commit_req req = {.unit = w};
    submit_and_wait(c, &req, 1);
    return w->rc;
}

int
dt_committer_run_req(struct dt_committer *c, struct dt_commit_req *req)
{
    submit_and_wait(c, req, 1);
    return req->unit->rc;
}

void
dt_committer_run_many(struct dt_committer *c, struct dt_write **units, size_t n)
{
    struct dt_commit_req reqs[8];
    for (size_t base = 0; base < n; base += 8) {
        size_t m = n - base < 8 ? n - base : 8;
        for (size_t i = 0; i < m; i++)
            reqs[i] = (struct dt_commit_req){.unit = units[base + i]};
        submit_and_wait(c, reqs, m);
    }
}

static void
free_when_done(struct dt_commit_req *req, int rc)
{
    if (rc < 0 && rc != DURATA_ENOTFOUND && rc != DURATA_ECONFLICT)
        dt_log(DT_LOG_WARN, "background write failed", "error", durata_strerror(rc), NULL);
    dt_write_free(req->unit);
    free(req);
}

void
dt_committer_submit_free(struct dt_committer *c, struct dt_write *w)
{
    struct dt_commit_req *req = calloc(1, sizeof(*req));
    if (!req) {
        /* Without memory for the request, commit synchronously instead. */
        struct dt_commit_req local = {.unit = w};
        submit_and_wait(c, &local, 1);
        dt_write_free(w);
        return;
    }
    req->unit = w;
    req->done = free_when_done;
    dt_committer_submit(c, req);
}

void
dt_committer_submit_free_now(struct dt_committer *c, struct dt_write *w)
{
    struct dt_commit_req *req = calloc(1, sizeof(*req));
    if (!req) {
        dt_log(DT_LOG_ERROR, "out of memory queueing a write; its work is redone later", NULL);
        dt_write_free(w);
        return;
    }
    req->unit = w;
    req->done = free_when_done;
    (void)enqueue(c, req, ROOM_IGNORE);
}
