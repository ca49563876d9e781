/*
 * dispatch.c — the dispatcher thread and the worker pools (see dispatch.h).
 *
 * Capacity: claimed work waits in a bounded queue per kind (see ORCH_DEPTH
 * and ACT_DEPTH), filled both by the dispatcher's claims and by commits
 * that pre-claim; a crashed node's claims stay bounded by it.
 */
#include "engine/dispatch.h"

#include "base/clock.h"
#include "base/log.h"
#include "engine/activity.h"
#include "engine/hub.h"
#include "engine/step.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void
dt_dispatcher_init(struct dt_dispatcher *d, struct durata_hub *hub)
{
    *d = (struct dt_dispatcher){.hub = hub};
    d->n_orch_threads = hub->opt.orchestration_threads;
    d->n_act_threads = hub->opt.activity_threads;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    pthread_cond_init(&d->orch_cv, NULL);
    pthread_cond_init(&d->act_cv, NULL);
    pthread_cond_init(&d->idle_cv, NULL);
    dt_heap_init(&d->due);
    d->wake = DT_WAKE_ALL;
}

void
dt_dispatcher_add_due(struct dt_dispatcher *d, int64_t due_ms)
{
    pthread_mutex_lock(&d->mu);
    int64_t top;
    bool earlier = !dt_heap_peek(&d->due, &top) || due_ms < top;
    if (dt_heap_push(&d->due, due_ms) < 0) /* no memory: the sweep still finds it */
        earlier = false;
    if (earlier)
        pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

void
dt_dispatcher_track(struct dt_dispatcher *d, struct durata_activity *a)
{
    pthread_mutex_lock(&d->mu);
    if (d->n_running_acts == d->cap_running_acts) {
        size_t cap = d->cap_running_acts ? d->cap_running_acts * 2 : 16;
        void *p = realloc(d->running_acts, cap * sizeof(*d->running_acts));
        if (!p) { /* not renewed by the hub; the activity may renew itself */
            pthread_mutex_unlock(&d->mu);
            return;
        }
        d->running_acts = p;
        d->cap_running_acts = cap;
    }
    d->running_acts[d->n_running_acts++] = a;
    if (d->stopping)
        atomic_store(&a->cancelled, true);
    pthread_mutex_unlock(&d->mu);
}

void
dt_dispatcher_untrack(struct dt_dispatcher *d, struct durata_activity *a)
{
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < d->n_running_acts; i++) {
        if (d->running_acts[i] == a) {
            d->running_acts[i] = d->running_acts[--d->n_running_acts];
            break;
        }
    }
    if (!d->n_running_acts)
        pthread_cond_broadcast(&d->idle_cv);
    pthread_mutex_unlock(&d->mu);
}

/* ------------------------------------------------------------ claiming */

/* How much claimed work may wait per worker thread. Steps take
 * milliseconds, so a deep queue costs nothing and lets one claim (or the
 * commits that pre-claim) feed the workers for a while. Activities may run
 * long, so their queue stays short: a task queued here waits for this
 * hub's threads (its lease renewed meanwhile) where another hub may have
 * run it already. */
#define ORCH_DEPTH 64
#define ACT_DEPTH 4

static size_t
orch_cap(const struct dt_dispatcher *d)
{
    return (size_t)d->n_orch_threads * ORCH_DEPTH;
}

static size_t
act_cap(const struct dt_dispatcher *d)
{
    return (size_t)d->n_act_threads * ACT_DEPTH;
}

void
dt_dispatcher_wake(struct dt_dispatcher *d, unsigned what)
{
    pthread_mutex_lock(&d->mu);
    d->wake |= what;
    /* Without room it could not claim: the next finished item signals. */
    if (((what & DT_WAKE_ORCH) && d->orch_inflight < orch_cap(d)) ||
        ((what & DT_WAKE_ACT) && d->act_inflight < act_cap(d)))
        pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

/* Without the lock: every start and step asks, and the answer may be out
 * of date the moment it is given anyway (work pushed past the cap or after
 * a stop is handled by the push). */
bool
dt_dispatcher_has_room(struct dt_dispatcher *d, unsigned kind)
{
    return d->running && !d->stopping && !d->quiescing &&
           (kind == DT_WAKE_ORCH ? d->orch_inflight < orch_cap(d) : d->act_inflight < act_cap(d));
}

/* Appends an instance id to the orchestration queue; d->mu held. */
static void
queue_node(struct dt_dispatcher *d, const char *id, bool direct)
{
    size_t len = strlen(id);
    struct dt_id_node *node = malloc(sizeof(*node) + len + 1);
    if (!node)  /* a lock expires and the instance is claimed again; tasks */
        return; /* whose results waited run again when their leases do */
    node->next = NULL;
    node->direct = direct;
    memcpy(node->id, id, len + 1);
    if (d->orch_tail)
        d->orch_tail->next = node;
    else
        d->orch_head = node;
    d->orch_tail = node;
    d->orch_inflight++;
    pthread_cond_signal(&d->orch_cv);
}

static void
queue_instance(struct dt_dispatcher *d, const char *id)
{
    queue_node(d, id, false);
}

void
dt_dispatcher_push_instance(struct dt_dispatcher *d, const char *id)
{
    pthread_mutex_lock(&d->mu);
    queue_instance(d, id);
    pthread_mutex_unlock(&d->mu);
}

bool
dt_dispatcher_push_direct(struct dt_dispatcher *d, const char *id)
{
    pthread_mutex_lock(&d->mu);
    bool queued = d->running && !d->draining;
    if (queued)
        queue_node(d, id, true);
    pthread_mutex_unlock(&d->mu);
    return queued;
}

/* Tasks waiting in the activity queue; d->mu held. */
static size_t
queued_tasks(const struct dt_dispatcher *d)
{
    return d->act_queue.count - d->act_queue_head;
}

/* Wakes one sleeping activity worker unless one is on its way; d->mu held.
 * A commit pushes its tasks one by one and a short activity is done in
 * microseconds, so a signal per task woke a thread per task (a futex call
 * on the writer's thread each time, and a context switch); chained, a
 * woken worker takes the tasks queued meanwhile, and the queue still
 * spreads over every thread when tasks wait. */
static void
act_wake_next(struct dt_dispatcher *d)
{
    if (d->act_sleepers > 0 && !d->act_wake_pending && queued_tasks(d) > 0) {
        d->act_wake_pending = true;
        pthread_cond_signal(&d->act_cv);
    }
}

void
dt_dispatcher_push_task(struct dt_dispatcher *d, struct dt_task *task)
{
    pthread_mutex_lock(&d->mu);
    if (dt_task_list_push_take(&d->act_queue, task) == 0) { /* else: the lease expires */
        d->act_inflight++;
        act_wake_next(d);
    }
    pthread_mutex_unlock(&d->mu);
}

/* Claims up to want_orch instances and want_act tasks in one batch. The
 * results stay in the units; the caller frees them. */
static void
claim(struct durata_hub *hub, size_t want_orch, size_t want_act, struct dt_write **wo,
      struct dt_write **wa)
{
    int64_t now = dt_hub_now(hub);
    struct dt_write *units[2];
    size_t n = 0;
    *wo = *wa = NULL;
    if (want_orch && (*wo = dt_write_new(DT_W_CLAIM_INSTANCES))) {
        struct dt_claim_instances *c = &(*wo)->u.claim_instances;
        c->owner = strdup(hub->owner);
        c->now_ms = now;
        c->lock_until_ms = now + hub->opt.orchestration_lock_ms;
        c->max = want_orch;
        units[n++] = *wo;
    }
    if (want_act && (*wa = dt_write_new(DT_W_CLAIM_TASKS))) {
        struct dt_claim_tasks *c = &(*wa)->u.claim_tasks;
        c->owner = strdup(hub->owner);
        c->now_ms = now;
        c->lease_until_ms = now + hub->opt.activity_lease_ms;
        c->max = want_act;
        c->max_deliveries = hub->opt.max_deliveries;
        units[n++] = *wa;
    }
    if (n)
        dt_committer_run_many(&hub->committer, units, n);
}

/* Fails the tasks a claim found poisoned (delivered too often). */
static void
fail_poisoned(struct durata_hub *hub, struct dt_claim_tasks *c)
{
    for (size_t i = 0; i < c->poisoned.count; i++) {
        dt_activity_fail_poisoned(hub, c->poisoned.items[i], c->max_deliveries);
        c->poisoned.items[i] = NULL;
    }
    c->poisoned.count = 0;
}

/* Moves claimed items onto the queues; called with d->mu held. Sets the
 * wake bits again when a claim came back full (more may be waiting). */
static void
enqueue_claimed(struct dt_dispatcher *d, struct dt_write *wo, struct dt_write *wa)
{
    if (wo && wo->rc == 0) {
        struct dt_claim_instances *c = &wo->u.claim_instances;
        for (size_t i = 0; i < c->n_ids; i++)
            queue_instance(d, c->ids[i]);
        if (c->n_ids == c->max)
            d->wake |= DT_WAKE_ORCH;
    }
    if (wa && wa->rc == 0) {
        struct dt_claim_tasks *c = &wa->u.claim_tasks;
        for (size_t i = 0; i < c->tasks.count; i++) {
            if (dt_task_list_push_take(&d->act_queue, c->tasks.items[i]) == 0)
                d->act_inflight++;
            c->tasks.items[i] = NULL;
        }
        if (c->tasks.count == c->max)
            d->wake |= DT_WAKE_ACT;
        if (c->tasks.count)
            pthread_cond_broadcast(&d->act_cv);
        c->tasks.count = 0;
    }
}

/* Drops queued task row `id`, whose lease another worker holds now; d->mu
 * held. */
static void
drop_queued(struct dt_dispatcher *d, int64_t id)
{
    struct dt_task **items = d->act_queue.items;

    for (size_t i = d->act_queue_head; i < d->act_queue.count; i++) {
        if (items[i]->id != id)
            continue;
        dt_task_free(items[i]);
        memmove(&items[i], &items[i + 1], (d->act_queue.count - i - 1) * sizeof(*items));
        if (--d->act_queue.count == d->act_queue_head)
            d->act_queue_head = d->act_queue.count = 0;
        d->act_inflight--;
        return;
    }
}

/* Renews the leases of running and queued activities: a task that waits
 * behind long activities would otherwise see its lease expire before it
 * starts, be claimed again and run twice, each expiry counting as a
 * delivery towards the poison limit. Marks lost running ones cancelled
 * and drops lost queued ones. Called without d->mu. */
static void
renew_leases(struct dt_dispatcher *d)
{
    struct durata_hub *hub = d->hub;
    struct dt_write *w = dt_write_new(DT_W_RENEW);
    if (!w)
        return;
    struct dt_renew *r = &w->u.renew;
    pthread_mutex_lock(&d->mu);
    size_t n_running = d->n_running_acts, n = n_running + queued_tasks(d);
    r->ids = calloc(n ? n : 1, sizeof(*r->ids));
    r->lost = calloc(n ? n : 1, sizeof(*r->lost));
    if (r->ids && r->lost) {
        for (size_t i = 0; i < n_running; i++)
            r->ids[i] = d->running_acts[i]->task->id;
        for (size_t i = n_running; i < n; i++)
            r->ids[i] = d->act_queue.items[d->act_queue_head + i - n_running]->id;
    }
    pthread_mutex_unlock(&d->mu);
    r->owner = strdup(hub->owner);
    if (!n || !r->ids || !r->lost || !r->owner)
        goto out_free;
    r->n = n;
    r->lease_until_ms = dt_hub_now(hub) + hub->opt.activity_lease_ms;
    (void)dt_committer_run(&hub->committer, w);
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < n; i++) {
        if (!r->lost[i])
            continue;
        if (i >= n_running) {
            drop_queued(d, r->ids[i]); /* unless it started meanwhile */
            continue;
        }
        for (size_t j = 0; j < d->n_running_acts; j++)
            if (d->running_acts[j]->task->id == r->ids[i])
                atomic_store(&d->running_acts[j]->cancelled, true);
    }
    pthread_mutex_unlock(&d->mu);
out_free:
    dt_write_free(w);
}

/* ------------------------------------------------------------ threads */

static void
timed_wait(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t ms)
{
    struct timespec ts;
    dt_clock_deadline(CLOCK_REALTIME, ms, &ts);
    pthread_cond_timedwait(cv, mu, &ts);
}

/* How long the dispatcher may sleep; pops due times; d->mu held. */
static int64_t
sleep_budget(struct dt_dispatcher *d)
{
    int64_t now = dt_hub_now(d->hub), mono = dt_clock_mono_ms(), top;
    while (dt_heap_peek(&d->due, &top) && top <= now) {
        dt_heap_pop(&d->due, &top);
        d->wake |= DT_WAKE_ALL;
    }
    if (mono >= d->next_sweep_mono) {
        d->next_sweep_mono = mono + d->hub->opt.sweep_interval_ms;
        d->wake |= DT_WAKE_ALL;
    }
    int64_t budget = d->next_sweep_mono - mono;
    if ((d->n_running_acts || queued_tasks(d)) && d->next_renew_mono - mono < budget)
        budget = d->next_renew_mono - mono;
    if (dt_heap_peek(&d->due, &top) && top - now < budget)
        budget = top - now;
    return budget < 1 ? 1 : budget;
}

static void *
dispatcher_main(void *arg)
{
    struct dt_dispatcher *d = arg;
    size_t cap_orch = orch_cap(d), cap_act = act_cap(d);
    pthread_setname_np(pthread_self(), "dt-dispatch");
    pthread_mutex_lock(&d->mu);
    while (!d->stopping) {
        int64_t budget = sleep_budget(d);
        size_t want_orch = (d->wake & DT_WAKE_ORCH) && d->orch_inflight < cap_orch
                               ? cap_orch - d->orch_inflight
                               : 0;
        size_t want_act =
            (d->wake & DT_WAKE_ACT) && d->act_inflight < cap_act ? cap_act - d->act_inflight : 0;
        if (d->quiescing) /* stopping: what runs may finish, nothing new */
            want_orch = want_act = 0;
        bool renew =
            (d->n_running_acts || queued_tasks(d)) && dt_clock_mono_ms() >= d->next_renew_mono;
        if (!want_orch && !want_act && !renew) {
            timed_wait(&d->cv, &d->mu, budget);
            continue;
        }
        if (want_orch)
            d->wake &= ~(unsigned)DT_WAKE_ORCH;
        if (want_act)
            d->wake &= ~(unsigned)DT_WAKE_ACT;
        if (renew)
            d->next_renew_mono = dt_clock_mono_ms() + d->hub->opt.activity_lease_ms / 3;
        pthread_mutex_unlock(&d->mu);
        struct dt_write *wo, *wa;
        claim(d->hub, want_orch, want_act, &wo, &wa);
        if (wa)
            fail_poisoned(d->hub, &wa->u.claim_tasks);
        if (renew)
            renew_leases(d);
        pthread_mutex_lock(&d->mu);
        enqueue_claimed(d, wo, wa);
        pthread_mutex_unlock(&d->mu);
        dt_write_free(wo);
        dt_write_free(wa);
        pthread_mutex_lock(&d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

static void *
orch_worker_main(void *arg)
{
    struct dt_dispatcher *d = arg;
    pthread_setname_np(pthread_self(), "dt-orch");
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (!d->orch_head && !d->draining)
            pthread_cond_wait(&d->orch_cv, &d->mu);
        struct dt_id_node *node = d->orch_head;
        if (!node)
            break; /* stopping and drained */
        d->orch_head = node->next;
        if (!d->orch_head)
            d->orch_tail = NULL;
        pthread_mutex_unlock(&d->mu);
        if (node->direct)
            dt_step_run_direct(d->hub, node->id);
        else
            dt_step_execute(d->hub, node->id);
        free(node);
        pthread_mutex_lock(&d->mu);
        d->orch_inflight--;
        if (d->wake & DT_WAKE_ORCH) /* work waits for room to claim it */
            pthread_cond_signal(&d->cv);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

static struct dt_task *
pop_task(struct dt_dispatcher *d)
{
    if (d->act_queue_head >= d->act_queue.count)
        return NULL;
    struct dt_task *t = d->act_queue.items[d->act_queue_head];
    d->act_queue.items[d->act_queue_head++] = NULL;
    if (d->act_queue_head == d->act_queue.count)
        d->act_queue_head = d->act_queue.count = 0;
    return t;
}

static void
release_task(struct durata_hub *hub, struct dt_task *t)
{
    struct dt_write *w = dt_write_new(DT_W_TASK_RELEASE);
    if (w) {
        w->u.task_release.task_row_id = t->id;
        w->u.task_release.lease_owner = strdup(hub->owner);
        w->u.task_release.visible_ms = dt_hub_now(hub);
        dt_committer_submit_free(&hub->committer, w);
    }
    dt_task_free(t);
}

static void *
act_worker_main(void *arg)
{
    struct dt_dispatcher *d = arg;
    pthread_setname_np(pthread_self(), "dt-activity");
    pthread_mutex_lock(&d->mu);
    for (;;) {
        struct dt_task *t;
        while (!(t = pop_task(d)) && !d->draining) {
            d->act_sleepers++;
            pthread_cond_wait(&d->act_cv, &d->mu);
            d->act_sleepers--;
            d->act_wake_pending = false;
        }
        if (!t)
            break;
        act_wake_next(d);
        bool stopping = d->draining || d->quiescing;
        pthread_mutex_unlock(&d->mu);
        if (stopping)
            release_task(d->hub, t);
        else
            dt_activity_execute(d->hub, t);
        pthread_mutex_lock(&d->mu);
        d->act_inflight--;
        if (d->wake & DT_WAKE_ACT) /* work waits for room to claim it */
            pthread_cond_signal(&d->cv);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

int
dt_dispatcher_start(struct dt_dispatcher *d)
{
    int no = 0, na = 0; /* threads started */

    free(d->orch_threads);
    free(d->act_threads);
    d->orch_threads = calloc((size_t)d->n_orch_threads, sizeof(pthread_t));
    d->act_threads = calloc((size_t)d->n_act_threads, sizeof(pthread_t));
    if (!d->orch_threads || !d->act_threads)
        return DURATA_ENOMEM;
    d->stopping = false;
    d->quiescing = false;
    d->draining = false;
    d->wake = DT_WAKE_ALL;
    d->next_sweep_mono = dt_clock_mono_ms() + d->hub->opt.sweep_interval_ms;
    for (; no < d->n_orch_threads; no++)
        if (pthread_create(&d->orch_threads[no], NULL, orch_worker_main, d) != 0)
            goto out_join;
    for (; na < d->n_act_threads; na++)
        if (pthread_create(&d->act_threads[na], NULL, act_worker_main, d) != 0)
            goto out_join;
    if (pthread_create(&d->thread, NULL, dispatcher_main, d) != 0)
        goto out_join;
    pthread_mutex_lock(&d->mu);
    d->running = true;
    pthread_mutex_unlock(&d->mu);
    return 0;

out_join: /* the workers started so far release what is queued and leave */
    pthread_mutex_lock(&d->mu);
    d->draining = true;
    pthread_cond_broadcast(&d->orch_cv);
    pthread_cond_broadcast(&d->act_cv);
    pthread_mutex_unlock(&d->mu);
    for (int i = 0; i < no; i++)
        pthread_join(d->orch_threads[i], NULL);
    for (int i = 0; i < na; i++)
        pthread_join(d->act_threads[i], NULL);
    d->draining = false;
    return DURATA_ESYS;
}

/* Lets running activities finish for up to grace_ms; d->mu held. */
static void
quiesce(struct dt_dispatcher *d, int64_t grace_ms)
{
    int64_t deadline = dt_clock_mono_ms() + grace_ms, left;
    d->quiescing = true;
    pthread_cond_broadcast(&d->act_cv); /* queued tasks are released */
    while (d->n_running_acts && (left = deadline - dt_clock_mono_ms()) > 0)
        timed_wait(&d->idle_cv, &d->mu, left);
}

void
dt_dispatcher_stop(struct dt_dispatcher *d)
{
    pthread_mutex_lock(&d->mu);
    if (!d->running) {
        pthread_mutex_unlock(&d->mu);
        return;
    }
    if (d->hub->opt.stop_grace_ms > 0)
        quiesce(d, d->hub->opt.stop_grace_ms);
    d->stopping = true;
    for (size_t i = 0; i < d->n_running_acts; i++)
        atomic_store(&d->running_acts[i]->cancelled, true);
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL); /* no claims after this */
    pthread_mutex_lock(&d->mu);
    d->draining = true;
    pthread_cond_broadcast(&d->orch_cv);
    pthread_cond_broadcast(&d->act_cv);
    pthread_mutex_unlock(&d->mu);
    for (int i = 0; i < d->n_orch_threads; i++)
        pthread_join(d->orch_threads[i], NULL);
    for (int i = 0; i < d->n_act_threads; i++)
        pthread_join(d->act_threads[i], NULL);
    pthread_mutex_lock(&d->mu);
    d->running = false;
    d->quiescing = false;
    pthread_mutex_unlock(&d->mu);
}

void
dt_dispatcher_release(struct dt_dispatcher *d)
{
    dt_dispatcher_stop(d);
    while (d->orch_head) {
        struct dt_id_node *n = d->orch_head;
        d->orch_head = n->next;
        free(n);
    }
    dt_task_list_release(&d->act_queue);
    dt_heap_release(&d->due);
    free(d->orch_threads);
    free(d->act_threads);
    free(d->running_acts);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    pthread_cond_destroy(&d->orch_cv);
    pthread_cond_destroy(&d->act_cv);
    pthread_cond_destroy(&d->idle_cv);
}

/* ------------------------------------------------------------ inline mode */

int
dt_dispatcher_run_pending(struct dt_dispatcher *d, int max_items)
{
    int done = 0;
    for (;;) {
        struct dt_write *wo, *wa;
        claim(d->hub, 64, 64, &wo, &wa);
        size_t got = 0;
        for (size_t i = 0; wo && wo->rc == 0 && i < wo->u.claim_instances.n_ids; i++, got++)
            dt_step_execute(d->hub, wo->u.claim_instances.ids[i]);
        if (wa && wa->rc == 0) {
            got += wa->u.claim_tasks.poisoned.count;
            fail_poisoned(d->hub, &wa->u.claim_tasks);
            struct dt_task_list *l = &wa->u.claim_tasks.tasks;
            for (size_t i = 0; i < l->count; i++, got++) {
                dt_activity_execute(d->hub, l->items[i]);
                l->items[i] = NULL;
            }
        }
        int rc = (wo && wo->rc < 0) ? wo->rc : (wa && wa->rc < 0) ? wa->rc : 0;
        dt_write_free(wo);
        dt_write_free(wa);
        if (rc < 0)
            return rc;
        done += (int)got;
        if (!got || (max_items > 0 && done >= max_items))
            return done;
    }
}
