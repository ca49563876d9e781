/*
 * durata.h — the public C API of libdurata, the durable task hub.
 *
 * A program embeds a hub over a store (a SQLite file), registers orchestrators
 * and activities written in C, and starts, queries and manages orchestration
 * instances. Everything here is prefixed durata_ / DURATA_; nothing else in
 * the tree is public.
 *
 * Conventions:
 *  - Fallible calls return 0 or a negative DURATA_E* code (durata_strerror()).
 *  - JSON values cross the API as NUL-terminated JSON text (`const char *`);
 *    NULL means "no value" (JSON null).
 *  - Strings passed in are borrowed: the callee copies what it keeps.
 *  - Pointers returned are owned by the caller unless the doc says otherwise,
 *    and are released with the matching _free (which accepts NULL).
 *  - Times are int64_t milliseconds since the Unix epoch (UTC).
 *  - Client calls (start, raise, terminate, query, ...) are thread-safe.
 */
#ifndef DURATA_H
#define DURATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define DURATA_MUST_CHECK __attribute__((warn_unused_result))
#else
#define DURATA_MUST_CHECK
#endif

/* ---------------------------------------------------------------- errors */

/* X(name, value, message): the one list of error codes. */
#define DURATA_ERRORS(X)                                                                           \
    X(EINVAL, -1, "invalid argument")                                                              \
    X(ENOMEM, -2, "out of memory")                                                                 \
    X(ENOTFOUND, -3, "not found")                                                                  \
    X(ECONFLICT, -4, "conflicts with the instance's state")                                        \
    X(ETOOBIG, -5, "value too large")                                                              \
    X(EJSON, -6, "invalid JSON")                                                                   \
    X(ESTORE, -7, "store failure")                                                                 \
    X(EBUSY, -8, "store busy or locked")                                                           \
    X(ECORRUPT, -9, "stored data is corrupt or from an unknown schema version")                    \
    X(EUNKNOWN, -10, "unknown orchestrator or activity name")                                      \
    X(ETIMEDOUT, -11, "timed out")                                                                 \
    X(ESTOPPED, -12, "hub is stopped")                                                             \
    X(EGONE, -13, "instance is in a terminal state")                                               \
    X(EOVERLOAD, -14, "overloaded, try again later")                                               \
    X(ESYS, -15, "system call failed")

enum durata_error {
    DURATA_OK = 0,
#define DURATA_X_ENUM(name, value, msg) DURATA_##name = (value),
    DURATA_ERRORS(DURATA_X_ENUM)
#undef DURATA_X_ENUM
};

/* A static English message for a code (never NULL; unknown codes included). */
const char *durata_strerror(int code);

/* ------------------------------------------------------------ status & data */

/* Runtime status; the numbering is the Durable Task protocol's. */
enum durata_status {
    DURATA_RUNNING = 0,
    DURATA_COMPLETED = 1,
    DURATA_CONTINUED_AS_NEW = 2,
    DURATA_FAILED = 3,
    DURATA_CANCELED = 4,
    DURATA_TERMINATED = 5,
    DURATA_PENDING = 6,
    DURATA_SUSPENDED = 7,
};

/* "Running", "Completed", ... (the Durable Functions spelling). */
const char *durata_status_name(enum durata_status s);
/* Parses a name (case-insensitive) or a decimal number; -1 when unknown. */
int durata_status_parse(const char *name);
/* Completed, Failed, Canceled, Terminated. */
bool durata_status_is_terminal(enum durata_status s);

/* Failure details, mirroring the protocol's TaskFailureDetails. */
struct durata_failure {
    char *error_type; /* e.g. "ValueError", "TimeoutError" */
    char *message;
    char *details; /* free text (stack, stderr tail), may be NULL */
    bool non_retriable;
};

void durata_failure_free(struct durata_failure *f);

/* One orchestration instance as stored (the current execution). */
struct durata_instance {
    char *id;
    char *name;
    char *version; /* may be NULL */
    char *execution_id;
    enum durata_status status;
    char *input;                    /* JSON text or NULL */
    char *output;                   /* JSON text or NULL; the reason for Terminated */
    char *custom_status;            /* JSON text or NULL */
    struct durata_failure *failure; /* set when Failed */
    int64_t created_ms;
    int64_t updated_ms;
    int64_t completed_ms;       /* 0 while not terminal */
    int64_t scheduled_start_ms; /* 0 when started at once */
    char *parent_id;            /* sub-orchestrations: the parent's id */
};

void durata_instance_free(struct durata_instance *inst);

/* One history event as returned by durata_get_history(); mirrors HistoryEvent. */
enum durata_event_type {
    DURATA_EV_EXECUTION_STARTED = 0,
    DURATA_EV_EXECUTION_COMPLETED = 1,
    DURATA_EV_EXECUTION_TERMINATED = 3,
    DURATA_EV_TASK_SCHEDULED = 4,
    DURATA_EV_TASK_COMPLETED = 5,
    DURATA_EV_TASK_FAILED = 6,
    DURATA_EV_SUB_ORCHESTRATION_CREATED = 7,
    DURATA_EV_SUB_ORCHESTRATION_COMPLETED = 8,
    DURATA_EV_SUB_ORCHESTRATION_FAILED = 9,
    DURATA_EV_TIMER_CREATED = 10,
    DURATA_EV_TIMER_FIRED = 11,
    DURATA_EV_ORCHESTRATOR_STARTED = 12,
    DURATA_EV_ORCHESTRATOR_COMPLETED = 13,
    DURATA_EV_EVENT_SENT = 14,
    DURATA_EV_EVENT_RAISED = 15,
    DURATA_EV_CONTINUE_AS_NEW = 16,
    DURATA_EV_GENERIC = 17,
    DURATA_EV_EXECUTION_SUSPENDED = 19,
    DURATA_EV_EXECUTION_RESUMED = 20,
    DURATA_EV_EXECUTION_REWOUND = 21,
};

/* "ExecutionStarted", "TaskCompleted", ... ; "Unknown" otherwise. */
const char *durata_event_type_name(enum durata_event_type t);

/* ------------------------------------------------------------------- hub */

struct durata_hub;

/* A clock returning milliseconds since the epoch; tests inject a fake one. */
typedef int64_t (*durata_clock_fn)(void *arg);

struct durata_hub_options {
    const char *store_path;         /* SQLite file; NULL = "./durata.db" */
    int64_t activity_lease_ms;      /* 0 = 30000 */
    int64_t orchestration_lock_ms;  /* how long a step may hold an instance; 0 = 10000 */
    int max_deliveries;             /* activity redeliveries before poison; 0 = 10 */
    int orchestration_threads;      /* 0 = 2 */
    int activity_threads;           /* 0 = 8 */
    size_t max_payload_bytes;       /* input/output/event JSON; 0 = 1 MiB */
    size_t max_custom_status_bytes; /* 0 = 16 KiB */
    size_t max_id_bytes;            /* instance id length; 0 = 256 */
    int64_t sweep_interval_ms;      /* expired-lease sweep; 0 = 1000 */
    int64_t stop_grace_ms;          /* how long durata_hub_stop lets running
                                       activities finish before it cancels
                                       them; 0 = cancel at once */
    durata_clock_fn clock;          /* NULL = the system clock */
    void *clock_arg;
};

/* Opens the store (creating or migrating it) and returns a stopped hub. */
DURATA_MUST_CHECK int durata_hub_open(struct durata_hub **out, const struct durata_hub_options *o);

/* Starts the worker threads. Registration must be complete before. */
DURATA_MUST_CHECK int durata_hub_start(struct durata_hub *hub);

/* Stops the threads: no new work is taken; running activities get up to
 * stop_grace_ms to finish (their leases renewed meanwhile), then see
 * durata_activity_is_cancelled; queued ones are released. Nothing
 * committed is lost. Idempotent. */
void durata_hub_stop(struct durata_hub *hub);

/* Stops if needed, closes the store, frees the hub. Accepts NULL. */
void durata_hub_close(struct durata_hub *hub);

/* Without threads: process every piece of work visible now (steps,
 * activities, due timers) in the caller's thread until none is left or
 * max_items were processed (0 = no cap). Returns the number processed, or a
 * negative code. For tests and single-threaded embedders. */
DURATA_MUST_CHECK int durata_hub_run_pending(struct durata_hub *hub, int max_items);

/* Histograms in the stats: DURATA_STATS_BUCKETS counts, bucket i holding
 * the observations <= bound i and > bound i-1 (not cumulative); the last
 * bucket has no upper bound. The bounds, as initializer lists: */
#define DURATA_STATS_BUCKETS 12
#define DURATA_BATCH_BOUNDS 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024
#define DURATA_ACTIVITY_US_BOUNDS                                                                  \
    100, 500, 1000, 5000, 10000, 50000, 100000, 500000, 1000000, 5000000, 10000000

/* Counters since the hub was opened (for metrics and benchmarks). */
struct durata_hub_stats {
    uint64_t commits;        /* store transactions (group commits) */
    uint64_t units;          /* write units in them */
    uint64_t largest_batch;  /* most units in one commit */
    uint64_t steps;          /* orchestration steps run */
    uint64_t activities;     /* activity executions */
    uint64_t direct_starts;  /* starts written together with their first step */
    uint64_t direct_results; /* activity results written with the step they woke */
    uint64_t batch_units[DURATA_STATS_BUCKETS]; /* units per commit */
    uint64_t activity_us[DURATA_STATS_BUCKETS]; /* activity run time, microseconds */
    uint64_t activity_us_sum;
};

/* A consistent snapshot of the counters. */
void durata_hub_get_stats(struct durata_hub *hub, struct durata_hub_stats *out);

/* What the store holds now (for metrics): instances by status
 * (by_status[s] for each enum durata_status s, 8 entries), messages waiting
 * in instances' inboxes (*inbox, timers not yet due included) and activity
 * tasks queued or leased (*tasks). inbox/tasks may be NULL. Reads the store
 * (a count over every instance: cost grows with the table), from any
 * thread, started hub or not. DURATA_EINVAL, or a store error. */
DURATA_MUST_CHECK int durata_hub_counts(struct durata_hub *hub, int64_t by_status[8],
                                        int64_t *inbox, int64_t *tasks);

/* ----------------------------------------------------- orchestrator runtime */

struct durata_orch; /* the context of one replay; owned by the runtime */
struct durata_task; /* a durable task of one replay; owned by the context */

/* What an orchestrator function returns. */
enum durata_orch_result {
    DURATA_YIELD = 0, /* waiting on a task that has no result yet */
    DURATA_DONE = 1,  /* called durata_orch_complete/fail/continue_as_new */
};

/* An orchestrator is re-run from the top on each step, with the results
 * recorded so far; it must be deterministic (time and ids from the context).
 * Await a task with `if (!durata_await(o, t)) return DURATA_YIELD;`. */
typedef enum durata_orch_result (*durata_orchestrator_fn)(struct durata_orch *o, void *arg);

struct durata_retry_policy {
    int max_attempts;           /* counts the first try; >= 1 */
    int64_t first_interval_ms;  /* > 0 */
    double backoff_coefficient; /* >= 1; 0 means 1 */
    int64_t max_interval_ms;    /* 0 = unbounded */
    int64_t timeout_ms;         /* total, from the first attempt; 0 = unbounded */
};

/* Maximum attempts a retry policy may ask for (ids of retries are derived
 * from the first attempt's id; see runtime/README). */
#define DURATA_MAX_RETRY_ATTEMPTS 500

DURATA_MUST_CHECK int durata_register_orchestrator(struct durata_hub *hub, const char *name,
                                                   durata_orchestrator_fn fn, void *arg);

/* Context reads. Returned strings are owned by the context and valid until
 * the orchestrator returns. */
const char *durata_orch_input(struct durata_orch *o);
const char *durata_orch_instance_id(struct durata_orch *o);
const char *durata_orch_name(struct durata_orch *o);
int64_t durata_orch_now(struct durata_orch *o); /* deterministic clock */
bool durata_orch_is_replaying(struct durata_orch *o);
/* A deterministic UUID (name-based, v5) written into out (37 bytes). */
void durata_orch_new_uuid(struct durata_orch *o, char out[37]);

/* Scheduling calls. Each returns a task owned by the context (never NULL:
 * on a bad argument the task is already failed with the reason). `retry`
 * may be NULL. `input` is JSON text or NULL. */
struct durata_task *durata_call_activity(struct durata_orch *o, const char *name, const char *input,
                                         const struct durata_retry_policy *retry);
struct durata_task *durata_call_sub_orchestrator(struct durata_orch *o, const char *name,
                                                 const char *instance_id /* NULL = derived */,
                                                 const char *input,
                                                 const struct durata_retry_policy *retry);
struct durata_task *durata_create_timer(struct durata_orch *o, int64_t fire_at_ms);
/* Waits for an external event by name (case-insensitive, FIFO per name).
 * timeout_ms < 0 waits forever; on timeout the task fails with error type
 * "TimeoutError" and the event, if it comes later, stays for another wait. */
struct durata_task *durata_wait_event(struct durata_orch *o, const char *name, int64_t timeout_ms);
/* Fire-and-forget event to another instance. */
void durata_send_event(struct durata_orch *o, const char *instance_id, const char *name,
                       const char *data);

/* Combinators: a task that completes when all / the first of tasks[] has.
 * when_all fails with the first failure (in task order) once all are done;
 * when_any's result is the index of the winner as JSON (e.g. "1"). */
struct durata_task *durata_when_all(struct durata_orch *o, struct durata_task **tasks, size_t n);
struct durata_task *durata_when_any(struct durata_orch *o, struct durata_task **tasks, size_t n);

/* true when t has a result (success or failure); false: return DURATA_YIELD. */
bool durata_await(struct durata_orch *o, struct durata_task *t);
bool durata_task_is_failed(const struct durata_task *t);
/* Result JSON text (NULL when none); owned by the context. */
const char *durata_task_result(const struct durata_task *t);
/* Failure of a failed task; owned by the context. */
const struct durata_failure *durata_task_failure(const struct durata_task *t);

/* Custom status: JSON text, size-limited (DURATA_ETOOBIG), or NULL to clear. */
DURATA_MUST_CHECK int durata_orch_set_custom_status(struct durata_orch *o, const char *json);

/* Endings: call one, then return DURATA_DONE. */
void durata_orch_complete(struct durata_orch *o, const char *output);
void durata_orch_fail(struct durata_orch *o, const char *error_type, const char *message,
                      const char *details);
/* Restart with new input and empty history; events raised but not yet
 * consumed by a wait are carried over to the new execution. */
void durata_orch_continue_as_new(struct durata_orch *o, const char *input);

/* ------------------------------------------------------------ activities */

struct durata_activity; /* one execution of an activity; owned by the runtime */

/* An activity runs at least once per scheduled task. Return after calling
 * durata_activity_complete or durata_activity_fail (returning without either
 * fails the task with "ActivityError: no result"). */
typedef void (*durata_activity_fn)(struct durata_activity *a, void *arg);

DURATA_MUST_CHECK int durata_register_activity(struct durata_hub *hub, const char *name,
                                               durata_activity_fn fn, void *arg);

const char *durata_activity_input(struct durata_activity *a);
const char *durata_activity_name(struct durata_activity *a);
const char *durata_activity_instance_id(struct durata_activity *a);
int durata_activity_task_id(struct durata_activity *a);
int durata_activity_delivery(struct durata_activity *a); /* 1 on first delivery */
/* Extends the lease; long activities call it (the hub also renews leases
 * of running activities on its own while the process lives). Returns
 * DURATA_ECONFLICT when the lease was lost (another worker has the task). */
DURATA_MUST_CHECK int durata_activity_renew(struct durata_activity *a);
/* true once the hub is stopping or the lease was lost: wrap up soon. */
bool durata_activity_is_cancelled(struct durata_activity *a);
void durata_activity_complete(struct durata_activity *a, const char *output);
void durata_activity_fail(struct durata_activity *a, const char *error_type, const char *message,
                          const char *details, bool non_retriable);

/* --------------------------------------------------------------- client */

struct durata_start_options {
    const char *name;           /* orchestrator name, required */
    const char *instance_id;    /* NULL = a generated 32-hex id */
    const char *input;          /* JSON text or NULL */
    const char *version;        /* stored, may be NULL */
    int64_t scheduled_start_ms; /* 0 = now */
};

/* Starts an instance; its id is written into id_out (at least 257 bytes).
 * DURATA_ECONFLICT when an instance with that id exists and is not terminal
 * (a terminal one is replaced). Returns after the start is durable. */
DURATA_MUST_CHECK int durata_start(struct durata_hub *hub, const struct durata_start_options *o,
                                   char *id_out, size_t id_out_size);

/* The outcome of durata_start_async: rc 0 once the start is durable (then
 * instance_id names the instance), else the code durata_start would give. */
typedef void (*durata_started_fn)(void *arg, int rc, const char *instance_id);

/* durata_start without waiting for the disk, for callers that must not
 * block (an event loop). The options are checked as durata_start checks
 * them: a bad one is returned at once and `done` is never called; so is
 * DURATA_EOVERLOAD when the hub's write queue is full. Otherwise returns 0
 * and calls done(arg, rc, id) exactly once: on a hub thread, or within
 * this call when the hub's writer is not running. done must return soon
 * and must not call the hub's waiting functions (durata_start, ...). */
DURATA_MUST_CHECK int durata_start_async(struct durata_hub *hub,
                                         const struct durata_start_options *o,
                                         durata_started_fn done, void *arg);

/* Delivers an event. DURATA_ENOTFOUND, DURATA_EGONE (terminal). */
DURATA_MUST_CHECK int durata_raise_event(struct durata_hub *hub, const char *instance_id,
                                         const char *name, const char *data);
/* Asks for termination (asynchronous). reason is JSON text or NULL.
 * recursive: running sub-orchestrations are terminated too. */
DURATA_MUST_CHECK int durata_terminate(struct durata_hub *hub, const char *instance_id,
                                       const char *reason, bool recursive);
DURATA_MUST_CHECK int durata_suspend(struct durata_hub *hub, const char *instance_id,
                                     const char *reason);
DURATA_MUST_CHECK int durata_resume(struct durata_hub *hub, const char *instance_id,
                                    const char *reason);
/* Rewinds a Failed instance: failed tasks run again, successes are kept. */
DURATA_MUST_CHECK int durata_rewind(struct durata_hub *hub, const char *instance_id,
                                    const char *reason);
/* Starts the instance's orchestrator again with its input; new_id: under a
 * fresh id (written to id_out), else under the same id (must be terminal). */
DURATA_MUST_CHECK int durata_restart(struct durata_hub *hub, const char *instance_id, bool new_id,
                                     char *id_out, size_t id_out_size);

/* Deletes a terminal instance with its history and messages; *deleted is
 * 1 or 0 (0 when it is not terminal; nothing is then touched). */
DURATA_MUST_CHECK int durata_purge(struct durata_hub *hub, const char *instance_id, int *deleted);

struct durata_filter {
    unsigned statuses;       /* bit set of (1u << status); 0 = any */
    int64_t created_from_ms; /* inclusive; 0 = unbounded */
    int64_t created_to_ms;   /* exclusive; 0 = unbounded */
    const char *name;        /* orchestrator name, NULL = any */
    const char *id_prefix;   /* NULL = any */
};

/* Purges terminal instances matching the filter, in batches so the hub
 * keeps serving. statuses not terminal are ignored. */
DURATA_MUST_CHECK int durata_purge_many(struct durata_hub *hub, const struct durata_filter *f,
                                        int64_t *deleted);

/* Current state; DURATA_ENOTFOUND. *out is the caller's. */
DURATA_MUST_CHECK int durata_get_status(struct durata_hub *hub, const char *instance_id,
                                        struct durata_instance **out);

/* Blocks until the instance is terminal (or timeout_ms >= 0 passes:
 * DURATA_ETIMEDOUT); *out receives its final state. */
DURATA_MUST_CHECK int durata_wait(struct durata_hub *hub, const char *instance_id,
                                  int64_t timeout_ms, struct durata_instance **out);

struct durata_event {
    enum durata_event_type type;
    int32_t event_id;
    int64_t timestamp_ms;
    char *json; /* the whole event as a JSON object (DTFx field names) */
};

struct durata_history {
    struct durata_event *events;
    size_t count;
};

DURATA_MUST_CHECK int durata_get_history(struct durata_hub *hub, const char *instance_id,
                                         struct durata_history **out);
void durata_history_free(struct durata_history *h);

struct durata_page {
    struct durata_instance **items;
    size_t count;
    char *continuation; /* NULL on the last page */
};

/* Lists instances matching f, ordered by creation time then id, at most
 * `limit` (0 = 100), starting after `continuation` (NULL = first page). */
DURATA_MUST_CHECK int durata_query(struct durata_hub *hub, const struct durata_filter *f,
                                   size_t limit, const char *continuation,
                                   struct durata_page **out);
void durata_page_free(struct durata_page *p);

/* ------------------------------------------------------------ built-ins */

/* Registers the built-in orchestrations and their activities:
 *  - "AsyncJobOrchestrator": Queued -> InProgress -> Completed through
 *    durable timers, custom status at each phase (seed 002);
 *  - "JobMonitor" with activity "GetJobStatus": polls a job's status on a
 *    durable timer with continue-as-new until it leaves "Processing" or an
 *    expiry passes (seed 003).
 * The input formats are documented in src/workers/. */
DURATA_MUST_CHECK int durata_register_builtins(struct durata_hub *hub);

/* The input of an AsyncJob, as the seed's trigger builds it:
 * {"ThirdPartyJobId": "<new uuid>", "QueuedDuration": <s>, "InProgressDuration": <s>}
 * with durations from ASYNC_JOB_QUEUED_DURATION_SEC and
 * ASYNC_JOB_INPROGRESS_DURATION_SEC (defaults 20 and 30). *out is malloc'd. */
DURATA_MUST_CHECK int durata_async_job_input(char **out);

#ifdef __cplusplus
}
#endif
#endif
