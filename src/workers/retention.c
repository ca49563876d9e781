/*
 * retention.c — the background purge of retention.h.
 *
 * Owns: the retention thread and its counters. A pass fixes its cutoff
 * (clock - older_than) once, then repeats: find the oldest terminal
 * instance created before the cutoff (durata_query of one item per
 * terminal status, index seeks), purge [.., min(oldest + slice, cutoff)), adapt the slice, pause.
 * It ends when no terminal instance older than the cutoff is left, on an
 * error (retried at the next pass), or when stopping. Each iteration
 * deletes at least the instance it found unless that instance changed
 * meanwhile (purged by a client, rewound, replaced); three empty
 * iterations in a row end the pass so it can never spin.
 * Waits (interval, pause) use CLOCK_MONOTONIC, so a wall-clock or fake
 * clock jump never stretches them; only the cutoff reads the hub's clock.
 * Threading: `mu` guards stopping, kicked and stats; `slice_ms` belongs to
 * the thread; the rest is read-only after start.
 */
#include "workers/retention.h"

#include "base/clock.h"
#include "base/duration.h"
#include "base/log.h"
#include "base/time.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define DEFAULT_BATCH 500
#define DEFAULT_PAUSE_MS 20
#define MIN_INTERVAL_MS 1000
#define MAX_INTERVAL_MS (5 * 60 * 1000)
#define MAX_SLICE_MS (INT64_C(1) << 42) /* ~139 years: beyond any retention */
#define MAX_BATCH 1000000
#define EMPTY_ITERATIONS_MAX 3

#define TERMINAL_STATUSES                                                                          \
    ((1u << DURATA_COMPLETED) | (1u << DURATA_FAILED) | (1u << DURATA_CANCELED) |                  \
     (1u << DURATA_TERMINATED))

struct dt_retention {
    struct durata_hub *hub;
    struct dt_retention_options opt; /* defaults filled in */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;               /* CLOCK_MONOTONIC; broadcast on stop, kick and each pass */
    bool stopping;                   /* guarded by mu */
    bool kicked;                     /* guarded by mu */
    struct dt_retention_stats stats; /* guarded by mu */
    int64_t slice_ms;                /* thread-private, kept across passes */
};

/* One pass's running totals. */
struct pass {
    int64_t cutoff_ms;
    int64_t deleted;
    uint64_t batches;
    int rc;
};

/* ------------------------------------------------------------ waiting */

/* Waits ms or until stopping (or kicked, when wake_on_kick, which then
 * consumes the kick). Returns true when stopping. */
static bool
wait_ms(struct dt_retention *r, int64_t ms, bool wake_on_kick)
{
    struct timespec until;
    bool stopping;

    dt_clock_deadline(CLOCK_MONOTONIC, ms, &until);
    pthread_mutex_lock(&r->mu);
    while (!r->stopping && !(wake_on_kick && r->kicked))
        if (pthread_cond_timedwait(&r->cv, &r->mu, &until) == ETIMEDOUT)
            break;
    if (wake_on_kick)
        r->kicked = false;
    stopping = r->stopping;
    pthread_mutex_unlock(&r->mu);
    return stopping;
}

static bool
is_stopping(struct dt_retention *r)
{
    bool stopping;

    pthread_mutex_lock(&r->mu);
    stopping = r->stopping;
    pthread_mutex_unlock(&r->mu);
    return stopping;
}

/* ------------------------------------------------------------ a pass */

static int64_t
now_ms(const struct dt_retention *r)
{
    return r->opt.clock ? r->opt.clock(r->opt.clock_arg) : dt_clock_wall_ms();
}

/* The creation time of the oldest terminal instance created before
 * cutoff; *found false when there is none. One query per terminal status:
 * with a single status the store walks its (status, created_ms) index and
 * stops at the first row, where a status list would make SQLite sort every
 * match (seconds per batch on a large backlog). */
static int
oldest_terminal(struct durata_hub *hub, int64_t cutoff_ms, int64_t *created_ms, bool *found)
{
    static const enum durata_status terminal[] = {DURATA_COMPLETED, DURATA_FAILED, DURATA_CANCELED,
                                                  DURATA_TERMINATED};
    struct durata_filter f = {.created_to_ms = cutoff_ms};
    struct durata_page *page;
    int rc;

    *found = false;
    for (size_t i = 0; i < sizeof(terminal) / sizeof(terminal[0]); i++) {
        f.statuses = 1u << terminal[i];
        page = NULL;
        if ((rc = durata_query(hub, &f, 1, NULL, &page)) < 0)
            return rc;
        if (page->count > 0 && (!*found || page->items[0]->created_ms < *created_ms)) {
            *created_ms = page->items[0]->created_ms;
            *found = true;
        }
        durata_page_free(page);
    }
    return 0;
}

/* Next slice from the last one and what its batch deleted: scaled down in
 * proportion when the batch was over target, doubled when under half. */
static int64_t
next_slice(int64_t slice, int64_t deleted, int64_t batch)
{
    if (deleted > batch) {
        slice = (int64_t)((double)slice * (double)batch / (double)deleted);
        return slice > 0 ? slice : 1;
    }
    if (deleted < batch / 2)
        return slice < MAX_SLICE_MS / 2 ? slice * 2 : MAX_SLICE_MS;
    return slice;
}

static void
record_batch(struct dt_retention *r, int64_t deleted)
{
    pthread_mutex_lock(&r->mu);
    r->stats.batches++;
    r->stats.deleted += deleted;
    if (deleted > r->stats.largest_batch)
        r->stats.largest_batch = deleted;
    pthread_mutex_unlock(&r->mu);
}

/* One batch: purges the slice after the oldest terminal instance. *done
 * when nothing is left before the cutoff. */
static int
run_batch(struct dt_retention *r, struct pass *p, int64_t *deleted, bool *done)
{
    struct durata_filter f = {.statuses = TERMINAL_STATUSES};
    int64_t oldest = 0;
    bool found = false;
    int rc;

    *deleted = 0;
    if ((rc = oldest_terminal(r->hub, p->cutoff_ms, &oldest, &found)) < 0)
        return rc;
    if (!found) {
        *done = true;
        return 0;
    }
    f.created_to_ms = oldest < p->cutoff_ms - r->slice_ms ? oldest + r->slice_ms : p->cutoff_ms;
    rc = durata_purge_many(r->hub, &f, deleted);
    p->batches++;
    p->deleted += *deleted;
    record_batch(r, *deleted);
    if (rc == 0)
        r->slice_ms = next_slice(r->slice_ms, *deleted, r->opt.batch);
    return rc;
}

static void
log_pass(const struct dt_retention *r, const struct pass *p, int64_t took_ms)
{
    char deleted[32], batches[32], ms[32], cutoff[DT_TIME_TEXT_MAX], older[DT_DURATION_TEXT_MAX];

    snprintf(deleted, sizeof(deleted), "%lld", (long long)p->deleted);
    snprintf(batches, sizeof(batches), "%llu", (unsigned long long)p->batches);
    snprintf(ms, sizeof(ms), "%lld", (long long)took_ms);
    dt_time_format_s(p->cutoff_ms, cutoff, sizeof(cutoff));
    dt_duration_format(r->opt.older_than_ms, older, sizeof(older));
    if (p->rc < 0)
        dt_log(DT_LOG_WARN, "retention pass failed, retried next pass", "error",
               durata_strerror(p->rc), "deleted", deleted, "batches", batches, "olderThan", older,
               "createdBefore", cutoff, "ms", ms, NULL);
    else
        dt_log(DT_LOG_INFO, "retention pass", "deleted", deleted, "batches", batches, "olderThan",
               older, "createdBefore", cutoff, "ms", ms, NULL);
}

static void
run_pass(struct dt_retention *r)
{
    struct pass p = {.cutoff_ms = now_ms(r) - r->opt.older_than_ms};
    int64_t started = dt_clock_mono_ms(), deleted;
    int empty = 0;
    bool done = false;

    while (p.cutoff_ms > 0 && !done && empty < EMPTY_ITERATIONS_MAX && !is_stopping(r)) {
        if ((p.rc = run_batch(r, &p, &deleted, &done)) < 0 || done)
            break;
        empty = deleted > 0 ? 0 : empty + 1;
        if (wait_ms(r, r->opt.pause_ms, false))
            break;
    }
    log_pass(r, &p, dt_clock_mono_ms() - started);
    pthread_mutex_lock(&r->mu);
    r->stats.passes++;
    r->stats.last_deleted = p.deleted;
    r->stats.last_error = p.rc;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void *
retention_main(void *arg)
{
    struct dt_retention *r = arg;

    do
        run_pass(r);
    while (!wait_ms(r, r->opt.interval_ms, true));
    return NULL;
}

/* ------------------------------------------------------------ lifecycle */

static int
fill_options(struct dt_retention_options *o, const struct dt_retention_options *in)
{
    *o = *in;
    if (o->older_than_ms <= 0 || o->interval_ms < 0 || o->batch < 0 || o->pause_ms < 0)
        return DURATA_EINVAL;
    if (o->interval_ms == 0) {
        o->interval_ms = o->older_than_ms / 10;
        if (o->interval_ms < MIN_INTERVAL_MS)
            o->interval_ms = MIN_INTERVAL_MS;
        if (o->interval_ms > MAX_INTERVAL_MS)
            o->interval_ms = MAX_INTERVAL_MS;
    }
    if (o->batch == 0)
        o->batch = DEFAULT_BATCH;
    if (o->batch > MAX_BATCH)
        o->batch = MAX_BATCH;
    if (o->pause_ms == 0)
        o->pause_ms = DEFAULT_PAUSE_MS;
    return 0;
}

static int
sync_init(struct dt_retention *r)
{
    pthread_condattr_t ca;
    int rc;

    if (pthread_mutex_init(&r->mu, NULL) != 0)
        return DURATA_ESYS;
    if (pthread_condattr_init(&ca) != 0)
        goto out_destroy_mu;
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc == 0)
        return 0;
out_destroy_mu:
    pthread_mutex_destroy(&r->mu);
    return DURATA_ESYS;
}

static void
log_start(const struct dt_retention_options *o)
{
    char older[DT_DURATION_TEXT_MAX], every[DT_DURATION_TEXT_MAX], batch[32];

    dt_duration_format(o->older_than_ms, older, sizeof(older));
    dt_duration_format(o->interval_ms, every, sizeof(every));
    snprintf(batch, sizeof(batch), "%lld", (long long)o->batch);
    dt_log(DT_LOG_INFO, "retention on: terminal instances created longer ago are purged",
           "olderThan", older, "interval", every, "batch", batch, NULL);
}

int
dt_retention_start(struct dt_retention **out, struct durata_hub *hub,
                   const struct dt_retention_options *o)
{
    struct dt_retention *r;
    int rc;

    if (!out || !hub || !o)
        return DURATA_EINVAL;
    *out = NULL;
    if (!(r = calloc(1, sizeof(*r))))
        return DURATA_ENOMEM;
    r->hub = hub;
    r->slice_ms = 1; /* slow start: grows to the store's rate within a few batches */
    if ((rc = fill_options(&r->opt, o)) < 0)
        goto out_free;
    if ((rc = sync_init(r)) < 0)
        goto out_free;
    log_start(&r->opt);
    if (pthread_create(&r->thread, NULL, retention_main, r) != 0) {
        rc = DURATA_ESYS;
        goto out_destroy_sync;
    }
    *out = r;
    return 0;
out_destroy_sync:
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
out_free:
    free(r);
    return rc;
}

void
dt_retention_stop(struct dt_retention *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

void
dt_retention_kick(struct dt_retention *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->kicked = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void
dt_retention_get_stats(struct dt_retention *r, struct dt_retention_stats *out)
{
    if (!r || !out)
        return;
    pthread_mutex_lock(&r->mu);
    *out = r->stats;
    pthread_mutex_unlock(&r->mu);
}

int
dt_retention_wait_passes(struct dt_retention *r, uint64_t passes, int64_t timeout_ms)
{
    struct timespec until;
    int rc = 0;

    if (!r)
        return DURATA_EINVAL;
    if (timeout_ms >= 0)
        dt_clock_deadline(CLOCK_MONOTONIC, timeout_ms, &until);
    pthread_mutex_lock(&r->mu);
    while (r->stats.passes < passes && rc == 0) {
        if (timeout_ms < 0)
            pthread_cond_wait(&r->cv, &r->mu);
        else if (pthread_cond_timedwait(&r->cv, &r->mu, &until) == ETIMEDOUT)
            rc = r->stats.passes < passes ? DURATA_ETIMEDOUT : 0;
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}
