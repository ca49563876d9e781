/*
 * event.h — the persisted model: history events, inbox messages and activity
 * tasks, and their JSON encoding.
 *
 * Owns: struct dt_event (one HistoryEvent of the Durable Task model; field
 * meaning per type is listed below), its JSON text form (the form stored in
 * every backend and shown to users), struct dt_msg (an event waiting in an
 * instance's inbox) and struct dt_task (an activity task row).
 * Does not own: how rows are stored (the backends) or what events mean to an
 * orchestration (engine/, runtime/).
 * Threading: plain values; no shared state.
 *
 * JSON form: an object with DTFx field names, e.g.
 *   {"EventType":"TaskCompleted","EventId":-1,"Timestamp":"2024-05-01T10:00:00.1230000Z",
 *    "TaskScheduledId":3,"Result":"{\"ok\":true}"}
 * Input/Result/Reason fields hold JSON text as strings, as DTFx stores them.
 * Only the fields that apply to the type are written; absent fields decode
 * as NULL / 0 / -1.
 */
#ifndef DT_STORE_EVENT_H
#define DT_STORE_EVENT_H

#include "durata.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Field use by type (all carry type, event_id, timestamp_ms):
 *  ExecutionStarted: name, version, input, instance_id, execution_id,
 *                    scheduled_start_ms, parent_instance_id,
 *                    parent_execution_id, parent_name, parent_task_id (-1 none)
 *  ExecutionCompleted: status, result, failure
 *  ExecutionTerminated: input (reason JSON), recurse
 *  TaskScheduled: name, version, input          (event_id = action id)
 *  TaskCompleted: task_id, result
 *  TaskFailed: task_id, failure
 *  SubOrchestrationInstanceCreated: name, version, instance_id, input (event_id = action id)
 *  SubOrchestrationInstanceCompleted: task_id, result
 *  SubOrchestrationInstanceFailed: task_id, failure
 *  TimerCreated: fire_at_ms                     (event_id = action id)
 *  TimerFired: fire_at_ms, task_id (= the timer's id)
 *  OrchestratorStarted / OrchestratorCompleted: -
 *  EventSent: instance_id (target), name, input (event_id = action id)
 *  EventRaised: name, input
 *  ContinueAsNew: input
 *  GenericEvent: input (data)
 *  ExecutionSuspended / ExecutionResumed / ExecutionRewound: input (reason)
 */
struct dt_event {
    enum durata_event_type type;
    int32_t event_id;
    int64_t timestamp_ms;
    char *name;
    char *version;
    char *input;
    char *result;
    char *instance_id;
    char *execution_id;
    int32_t task_id;
    int64_t fire_at_ms;
    int64_t scheduled_start_ms;
    enum durata_status status;
    struct durata_failure *failure;
    char *parent_instance_id;
    char *parent_execution_id;
    char *parent_name;
    int32_t parent_task_id;
    bool recurse;
    char *encoded; /* cached JSON text (dt_event_precode); not copied by clone */
};

/* Returns a zeroed event of that type (event_id, task_id, parent_task_id
 * = -1), or NULL on out of memory. */
struct dt_event *dt_event_new(enum durata_event_type type, int64_t timestamp_ms);
struct dt_event *dt_event_clone(const struct dt_event *e);
void dt_event_free(struct dt_event *e);

/* Deep copy of a failure (NULL in, NULL out); NULL also on out of memory
 * when f was non-NULL: check with `f && !copy`. */
struct durata_failure *dt_failure_clone(const struct durata_failure *f);
struct durata_failure *dt_failure_new(const char *type, const char *message, const char *details,
                                      bool non_retriable);

/* Encodes e as a JSON object text (malloc'd, caller frees); NULL on OOM. */
char *dt_event_to_json(const struct dt_event *e);
/* Encodes e once into e->encoded so the store's writer thread only copies
 * the text. The event must not change afterwards. Errors are left for the
 * store to report when it encodes again. */
void dt_event_precode(struct dt_event *e);

/* Decodes JSON text made by dt_event_to_json. DURATA_EJSON / DURATA_ECORRUPT
 * on bad input; *out is the caller's. */
DURATA_MUST_CHECK int dt_event_from_json(const char *json, struct dt_event **out);

/* A growable array of owned events. */
struct dt_event_list {
    struct dt_event **items;
    size_t count;
    size_t cap;
};

/* Appends e (taken: freed by the list, also on failure). */
DURATA_MUST_CHECK int dt_event_list_push_take(struct dt_event_list *l, struct dt_event *e);
/* The events of l as one JSON array text (malloc'd) into *out, a history
 * row's text; precoded events are copied, the others encoded. 0, or an
 * encoding error (DURATA_EINVAL for text that is not UTF-8) or
 * DURATA_ENOMEM. */
DURATA_MUST_CHECK int dt_event_list_encode(const struct dt_event_list *l, char **out);
/* Frees every event and the array; leaves an empty list. */
void dt_event_list_release(struct dt_event_list *l);

/* A message in an instance's inbox. */
struct dt_msg {
    int64_t id;             /* assigned by the store; 0 before insert */
    char *instance_id;      /* the target */
    char *execution_id;     /* NULL = any execution; else dropped when stale */
    int64_t visible_ms;     /* not delivered before this time */
    struct dt_event *event; /* owned */
};

struct dt_msg *dt_msg_new_take(const char *instance_id, const char *execution_id,
                               int64_t visible_ms, struct dt_event *event);
void dt_msg_free(struct dt_msg *m);

struct dt_msg_list {
    struct dt_msg **items;
    size_t count;
    size_t cap;
};

DURATA_MUST_CHECK int dt_msg_list_push_take(struct dt_msg_list *l, struct dt_msg *m);
/* Appends m (non-NULL) without taking it: on DURATA_ENOMEM m is still the
 * caller's, and releasing l frees it unless the caller takes it out. */
DURATA_MUST_CHECK int dt_msg_list_push(struct dt_msg_list *l, struct dt_msg *m);
void dt_msg_list_release(struct dt_msg_list *l);

/* An activity task (one scheduled TaskScheduled awaiting its result). */
struct dt_task {
    int64_t id; /* assigned by the store */
    char *instance_id;
    char *execution_id;
    int32_t task_id; /* the TaskScheduled event id */
    char *name;
    char *input; /* JSON text or NULL */
    int64_t visible_ms;
    int deliveries;    /* times handed out so far, this one included */
    char *lease_owner; /* NULL when not leased */
    int64_t lease_until_ms;
};

struct dt_task *dt_task_new(const char *instance_id, const char *execution_id, int32_t task_id,
                            const char *name, const char *input, int64_t visible_ms);
void dt_task_free(struct dt_task *t);

struct dt_task_list {
    struct dt_task **items;
    size_t count;
    size_t cap;
};

DURATA_MUST_CHECK int dt_task_list_push_take(struct dt_task_list *l, struct dt_task *t);
void dt_task_list_release(struct dt_task_list *l);

/* Deep copy / free helpers for the public instance record. */
struct durata_instance *dt_instance_clone(const struct durata_instance *inst);

#endif
