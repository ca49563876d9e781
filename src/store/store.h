/*
 * store.h — the store interface: one vtable that every backend implements.
 *
 * The store is the only source of truth of a hub. It holds four tables:
 * instances (one row per orchestration instance, its current execution),
 * history (append-only events of the current execution), inbox (messages
 * waiting for an instance, each visible from a time) and tasks (activity
 * tasks with a lease). Backends: sqlite.c now, postgres.c later.
 *
 * Writes arrive as *units* (struct dt_write) and are applied by commit() in
 * batches: one transaction and one durable sync per batch (group commit).
 * Each unit succeeds or fails on its own (its rc); a unit that fails leaves
 * no trace, and the batch's other units still apply. commit() itself fails
 * only when the whole transaction could not be made durable; then no unit
 * of the batch applied.
 *
 * Claims and leases live in the store, not in memory, so several processes
 * sharing one database never step the same instance at once nor lose a
 * task: a claim sets an owner and an expiry; an expired claim is free again.
 *
 * Backend error codes (SQLITE_BUSY, SQLSTATEs) never leave the backend: they
 * are mapped to DURATA_E* codes.
 *
 * Threading: every op may be called from any thread; a backend serializes
 * what it must. Ownership of unit fields: the unit owns what it points to
 * and dt_write_free() releases it; results are written into the unit.
 */
#ifndef DT_STORE_STORE_H
#define DT_STORE_STORE_H

#include "durata.h"
#include "store/event.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dt_store;

/* ------------------------------------------------------------ write units */

enum dt_write_kind {
    DT_W_CREATE,          /* create an instance with its start message */
    DT_W_SEND,            /* deliver one message to an existing instance */
    DT_W_STEP,            /* apply an orchestration step or an admin rewrite */
    DT_W_TASK_DONE,       /* delete a task and deliver its result */
    DT_W_TASK_RELEASE,    /* give a leased task back, visible at a time */
    DT_W_RENEW,           /* extend task leases held by an owner */
    DT_W_CLAIM_INSTANCES, /* lock instances that have visible messages */
    DT_W_CLAIM_TASKS,     /* lease visible tasks */
    DT_W_PURGE,           /* delete one terminal instance */
    DT_W_PURGE_MANY,      /* delete a batch of terminal instances by filter */
};

/*
 * Pre-claim: a unit that makes work visible may claim it for its writer in
 * the same transaction, saving a separate claim (and its commit) on the
 * node that will do the work anyway. For an instance: after the unit
 * delivered its message (visible at now_ms), the instance is locked for
 * owner until until_ms under the same rules as DT_W_CLAIM_INSTANCES (not
 * locked by anyone else; Suspended/Pending only for the message types that
 * claim allows). For a step's tasks: they are inserted already leased to
 * owner until until_ms (deliveries = 1). `claimed` reports the outcome;
 * owner NULL means no pre-claim.
 */
struct dt_preclaim {
    char *owner;
    int64_t now_ms;
    int64_t until_ms;
    bool claimed;
};

struct dt_write;

/*
 * Create: inserts `inst` (its status normally Pending) and `start` (the
 * ExecutionStarted message, possibly visible later for a scheduled start).
 * If an instance with that id exists: when it is terminal and
 * replace_terminal is set, it is replaced (history, inbox and tasks
 * deleted first); otherwise rc = DURATA_ECONFLICT and nothing changes.
 * When rc is ECONFLICT and on_conflict is set, on_conflict is delivered
 * instead (used for a sub-orchestration whose id is taken: the parent gets
 * SubOrchestrationInstanceFailed).
 * `first` (a DT_W_STEP unit, optional, with start NULL): the instance's
 * first step, run before the instance was stored, so `inst` is already its
 * outcome; its history, outbox, tasks and creates are applied with the
 * insert (steps 2, 5 and 6 of Step below; its state, lock and consumed
 * fields are not used).
 */
struct dt_create {
    struct durata_instance *inst;
    struct dt_msg *start;
    struct dt_msg *on_conflict;
    bool replace_terminal;
    struct dt_preclaim claim;
    struct dt_write *first;
};

/*
 * Send: delivers msg to msg->instance_id. rc = DURATA_ENOTFOUND when the
 * instance does not exist, DURATA_EGONE when it is terminal, and
 * DURATA_ECONFLICT when allowed_statuses is non-zero and the status bit
 * (1u << status) is not in it.
 */
struct dt_send {
    struct dt_msg *msg;
    unsigned allowed_statuses;
    struct dt_preclaim claim;
};

/*
 * Step: applied only while the unit's lock_owner holds the instance lock
 * (rc = DURATA_ECONFLICT otherwise), or, for an admin rewrite (lock_owner
 * NULL), only when the instance's status is in expect_statuses (ECONFLICT
 * otherwise; ENOTFOUND when missing), or, when `optimistic` is set, only
 * when nobody holds the lock at now_ms, the row's execution and
 * updated_ms are still expect_execution_id and expect_updated_ms, i.e.
 * nothing changed the instance since the step read it, and no message for
 * the instance is visible in the inbox at now_ms: one that is (a
 * terminate, a suspend, an event) came first and is due to a claim, which
 * must see it before anything that arrived after it (ECONFLICT otherwise;
 * a step that changed its history collides at history_base).
 * A step may also finish activity tasks: the rows
 * done_tasks[0..n_done_tasks) are deleted with it, rc = DURATA_ENOTFOUND
 * when one is already gone (its result arrived another way). In order:
 *  1. replace_history: delete the instance's history first;
 *  2. append `append` after the first `history_base` events (the store keys
 *     an append by (instance, history_base): a second append at the same
 *     position — a writer that read the same history — fails the unit with
 *     DURATA_ECONFLICT);
 *  3. write `state` into the instance row (every field but the name and the
 *     creation time, which are fixed when the instance is created);
 *  4. delete the consumed inbox messages, or the whole inbox (clear_inbox),
 *     and the instance's tasks when clear_tasks;
 *  5. deliver `outbox`: a message whose target does not exist or is
 *     terminal is dropped silently (events to the instance itself see the
 *     state of step 3);
 *  6. insert `tasks`; apply `creates` (each as a Create unit, its failure
 *     handled by its on_conflict message);
 *  7. release the instance lock.
 */
struct dt_step {
    char *instance_id;
    char *lock_owner;
    unsigned expect_statuses;
    bool replace_history;
    size_t history_base;
    struct dt_event_list append;
    char *append_text; /* append as the history row's JSON array, when
                          dt_write_precode wrote it; NULL: the writer does */
    struct durata_instance *state;
    int64_t *consumed;
    size_t n_consumed;
    bool clear_inbox;
    bool clear_tasks;
    struct dt_msg_list outbox;
    struct dt_task_list tasks;
    struct dt_create *creates;
    size_t n_creates;
    struct dt_preclaim task_claim; /* lease the new tasks to their writer */
    bool optimistic;
    int64_t now_ms;            /* optimistic: a lock expired by then is free */
    int64_t expect_updated_ms; /* optimistic: the row as the step read it */
    char *expect_execution_id;
    int64_t *done_tasks;
    size_t n_done_tasks;
};

/* Task done: deletes task row task_row_id and delivers result (dropped
 * when the instance is gone). rc = DURATA_ENOTFOUND when the task no longer
 * exists: a result already arrived, this one is ignored. */
struct dt_task_done {
    int64_t task_row_id;
    struct dt_msg *result;
    struct dt_preclaim claim;
};

/* Task release: clears the lease of task_row_id if lease_owner holds it,
 * and makes it visible at visible_ms. */
struct dt_task_release {
    int64_t task_row_id;
    char *lease_owner;
    int64_t visible_ms;
};

/* Renew: sets lease_until_ms on each task of ids[] still leased by owner;
 * rc = DURATA_ECONFLICT when at least one was not (lost[i] says which). */
struct dt_renew {
    int64_t *ids;
    bool *lost;
    size_t n;
    char *owner;
    int64_t lease_until_ms;
};

/*
 * Claim instances: locks up to max instances that have a message visible at
 * now_ms and are not locked (or whose lock expired), setting lock owner and
 * lock_until_ms. A Suspended instance is claimed only for a visible
 * ExecutionResumed or ExecutionTerminated message, a Pending one only for
 * ExecutionStarted or a control message (terminate, suspend, resume): events
 * raised before a scheduled start wait without waking anyone. Result: ids[] (owned by
 * the unit), oldest waiting first.
 */
struct dt_claim_instances {
    char *owner;
    int64_t now_ms;
    int64_t lock_until_ms;
    size_t max;
    char **ids;
    size_t n_ids;
};

/*
 * Claim tasks: leases up to max tasks visible at now_ms and not leased (or
 * whose lease expired), incrementing each one's deliveries. A task whose
 * deliveries would exceed max_deliveries is leased too but returned in
 * `poisoned` instead of `tasks`, for the caller to fail it.
 */
struct dt_claim_tasks {
    char *owner;
    int64_t now_ms;
    int64_t lease_until_ms;
    size_t max;
    int max_deliveries;
    struct dt_task_list tasks;
    struct dt_task_list poisoned;
};

/* Purge one: deletes instance, history, inbox and tasks when terminal
 * (deleted = 1); when not terminal nothing changes (deleted = 0).
 * rc = DURATA_ENOTFOUND when missing. */
struct dt_purge {
    char *instance_id;
    int deleted;
};

/* Purge many: deletes at most max terminal instances matching the filter
 * (its statuses restricted to terminal ones); deleted = how many. */
struct dt_purge_many {
    struct durata_filter filter; /* strings owned by the unit */
    size_t max;
    int64_t deleted;
};

struct dt_write {
    enum dt_write_kind kind;
    int rc; /* result of this unit, set by commit() */
    union {
        struct dt_create create;
        struct dt_send send;
        struct dt_step step;
        struct dt_task_done task_done;
        struct dt_task_release task_release;
        struct dt_renew renew;
        struct dt_claim_instances claim_instances;
        struct dt_claim_tasks claim_tasks;
        struct dt_purge purge;
        struct dt_purge_many purge_many;
    } u;
};

/* A zeroed unit of that kind; NULL on out of memory. */
struct dt_write *dt_write_new(enum dt_write_kind kind);
/* Frees the unit and everything it owns (including results). NULL ok. */
void dt_write_free(struct dt_write *w);
/* Encodes every event the unit carries (dt_event_precode), so a submitting
 * thread does that work instead of the store's single writer. */
void dt_write_precode(struct dt_write *w);

/* Releases what a Create owns (the struct itself is caller storage). */
void dt_create_release(struct dt_create *c);

/* ------------------------------------------------------------ the vtable */

struct dt_store_ops {
    const char *name; /* "sqlite" */

    /* Applies units[0..n) in one durable transaction (see the top). */
    int (*commit)(struct dt_store *s, struct dt_write **units, size_t n);

    /* The instance row; DURATA_ENOTFOUND. */
    int (*get_instance)(struct dt_store *s, const char *id, struct durata_instance **out);

    /* The current execution's history, in order, appended to *out. */
    int (*get_history)(struct dt_store *s, const char *id, struct dt_event_list *out);

    /* What a step reads, from one snapshot (one read transaction, so the
     * reader's page cache is filled once): the instance row, its messages
     * visible at now_ms (appended to *inbox) and its history length.
     * DURATA_ENOTFOUND when the instance does not exist. */
    int (*load_step)(struct dt_store *s, const char *id, int64_t now_ms,
                     struct durata_instance **inst, struct dt_msg_list *inbox, size_t *history_len);

    /* How many events the current execution's history holds (cheap: no
     * event is read). 0 for an unknown instance. */
    int (*history_len)(struct dt_store *s, const char *id, size_t *out);

    /* The instance's messages visible at now_ms, in arrival order. */
    int (*get_inbox)(struct dt_store *s, const char *id, int64_t now_ms, struct dt_msg_list *out);

    /* One page of instances matching f ordered by (created, id), strictly
     * after the position encoded in `after` (NULL = from the start).
     * (*out)->continuation is NULL on the last page. */
    int (*query)(struct dt_store *s, const struct durata_filter *f, size_t limit, const char *after,
                 struct durata_page **out);

    /* The earliest time after now_ms at which something becomes claimable:
     * a message or task turning visible, a lease or lock expiring.
     * *out_ms = 0 when nothing is pending. */
    int (*next_due)(struct dt_store *s, int64_t now_ms, int64_t *out_ms);

    /* Counts for metrics and tests: instances by status (counts[status],
     * 8 entries), inbox messages, tasks. */
    int (*counts)(struct dt_store *s, int64_t by_status[8], int64_t *inbox, int64_t *tasks);

    /* Optional pipelined durability (NULL when unsupported). pipeline()
     * switches the store so that commit() returns once a batch is applied
     * and visible, before it reaches the disk; sync() then makes every batch
     * committed before the call durable (one flush for many batches). A
     * crash before sync() loses a suffix of batches, never one in the
     * middle. The engine commits batch n+1 while another thread syncs
     * batch n, and acknowledges a unit only after its sync. */
    int (*pipeline)(struct dt_store *s);
    int (*sync)(struct dt_store *s);

    void (*close)(struct dt_store *s);
};

struct dt_store {
    const struct dt_store_ops *ops;
};

/* Opens the backend named by `target`: a file path (SQLite). */
DURATA_MUST_CHECK int dt_store_open(const char *target, struct dt_store **out);

static inline void
dt_store_close(struct dt_store *s)
{
    if (s)
        s->ops->close(s);
}

#endif
