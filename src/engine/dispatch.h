/*
 * dispatch.h — claiming work from the store and handing it to workers.
 *
 * Owns: the dispatcher thread, the orchestration and activity worker
 * threads and their queues, the min-heap of due times (timers, delayed
 * starts, retry delays), the lease renewal of running activities, and the
 * slow sweep that reclaims expired leases and locks of dead nodes.
 * Dispatch is push: a commit that may have made work visible sets a wake
 * flag (dt_dispatcher_wake); a future visible time goes on the heap and
 * wakes the thread when due. Claims go through the committer, so they ride
 * in the same transactions as other writes.
 * Threading: `mu` guards every field below it; workers and the dispatcher
 * sleep on their own condition variables.
 */
#ifndef DT_ENGINE_DISPATCH_H
#define DT_ENGINE_DISPATCH_H

#include "base/heap.h"
#include "store/event.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct durata_hub;
struct durata_activity;

enum dt_wake { DT_WAKE_ORCH = 1, DT_WAKE_ACT = 2, DT_WAKE_ALL = 3 };

struct dt_id_node {
    struct dt_id_node *next;
    bool direct; /* step with the results waiting in the hub's direct.h */
    char id[];
};

struct dt_dispatcher {
    struct durata_hub *hub;
    int n_orch_threads;
    int n_act_threads;
    pthread_t thread;
    pthread_t *orch_threads;
    pthread_t *act_threads;

    pthread_mutex_t mu;
    pthread_cond_t cv;      /* the dispatcher thread sleeps here */
    pthread_cond_t orch_cv; /* orchestration workers */
    pthread_cond_t act_cv;  /* activity workers */
    pthread_cond_t idle_cv; /* no activity runs any more */
    unsigned wake;          /* DT_WAKE_* bits */
    /* running, quiescing, stopping and the two inflight counts change under
     * mu; dt_dispatcher_has_room reads them without it (a hint). */
    atomic_bool running;
    atomic_bool quiescing; /* stopping with a grace: no claims, renewals go on */
    atomic_bool stopping;  /* the dispatcher thread ends */
    bool draining;         /* workers end once their queue is empty */
    struct dt_heap due;    /* wall-clock ms at which something turns visible */
    struct dt_id_node *orch_head, *orch_tail;
    _Atomic size_t orch_inflight; /* queued + being stepped */
    struct dt_task_list act_queue;
    size_t act_queue_head;
    /* Activity workers asleep on act_cv, and whether one was signalled and
     * has not woken yet: one wake at a time, each woken worker wakes the
     * next while tasks remain (act_wake_next). */
    int act_sleepers;
    bool act_wake_pending;
    _Atomic size_t act_inflight; /* queued + running */
    struct durata_activity **running_acts;
    size_t n_running_acts, cap_running_acts;
    int64_t next_sweep_mono;
    int64_t next_renew_mono;
};

void dt_dispatcher_init(struct dt_dispatcher *d, struct durata_hub *hub);
DURATA_MUST_CHECK int dt_dispatcher_start(struct dt_dispatcher *d);
/* Stops claiming; gives running activities up to the hub's stop_grace_ms
 * (leases renewed, queued activity tasks released), then cancels them
 * (durata_activity_is_cancelled) and waits for them; finishes queued
 * steps. */
void dt_dispatcher_stop(struct dt_dispatcher *d);
void dt_dispatcher_release(struct dt_dispatcher *d);

void dt_dispatcher_wake(struct dt_dispatcher *d, unsigned what);
/* Something becomes visible at due_ms (wall clock). */
void dt_dispatcher_add_due(struct dt_dispatcher *d, int64_t due_ms);

/* Whether work of that kind (DT_WAKE_ORCH or DT_WAKE_ACT) may be
 * pre-claimed by a commit: the threads run and the local queue has room. */
bool dt_dispatcher_has_room(struct dt_dispatcher *d, unsigned kind);
/* Queues work a commit pre-claimed for this node. */
void dt_dispatcher_push_instance(struct dt_dispatcher *d, const char *id);
void dt_dispatcher_push_task(struct dt_dispatcher *d, struct dt_task *task);
/* Queues a direct step of id (dt_step_run_direct) for an orchestration
 * thread, even past the queue's capacity since results wait on it; false
 * (nothing queued) once the workers are draining: they may be gone. */
bool dt_dispatcher_push_direct(struct dt_dispatcher *d, const char *id);

/* Single-threaded mode: claim and process work in the caller's thread. */
int dt_dispatcher_run_pending(struct dt_dispatcher *d, int max_items);

/* Running-activity registry used for lease renewal. */
void dt_dispatcher_track(struct dt_dispatcher *d, struct durata_activity *a);
void dt_dispatcher_untrack(struct dt_dispatcher *d, struct durata_activity *a);

#endif
