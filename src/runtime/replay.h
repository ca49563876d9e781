/*
 * replay.h — runs one step of a C orchestrator by deterministic replay.
 *
 * Owns: the orchestration context (struct durata_orch), durable tasks
 * (struct durata_task), matching the actions the code takes against the
 * recorded history, and the public durata_orch_* / durata_call_* /
 * durata_await / durata_when_* functions of durata.h.
 * Does not own: storage, locking, inbox filtering, suspend/terminate
 * handling (engine/ does those and hands in the events of one step).
 * Threading: one replay runs on one thread; nothing is shared.
 *
 * Model. The orchestrator function is called once per step, from the top,
 * with the whole history of the current execution (`past`, committed) plus
 * the step's new events (`fresh`, starting with OrchestratorStarted). Each
 * scheduling call takes the next action id (a per-execution counter from 0)
 * and is matched with the history event carrying that EventId
 * (TaskScheduled, TimerCreated, SubOrchestrationInstanceCreated,
 * EventSent). A call that finds no event is a new action, returned in
 * `actions` for the engine to commit; a call that finds an event of another
 * kind or name ends the step with a NonDeterminismError failure.
 *
 * A task is done when its result event is in the history; await order and
 * when_any pick the winner by history position, so replays decide exactly
 * as the first run did. The deterministic clock (durata_orch_now) is the
 * timestamp of the latest OrchestratorStarted at or before the history
 * position the code has reached (the completion event of the latest await
 * that succeeded).
 *
 * Retries: the first attempt of a call with a retry policy takes id s from
 * the counter; its k-th follow-up (k = 1, 2, ...: retry timer, then next
 * attempt, alternately) takes id s + k * DT_RETRY_ID_STRIDE, so a retry
 * chain never shifts the ids of calls made after it. This bounds action ids
 * per execution to DT_RETRY_ID_STRIDE - 1 and attempts to
 * DURATA_MAX_RETRY_ATTEMPTS.
 *
 * External events: each wait claims, in call order, the first EventRaised
 * of that name (case-insensitive) not claimed by an earlier wait. A wait
 * with a timeout whose timer fired before its claimed event was recorded
 * times out and gives the event back for later waits.
 */
#ifndef DT_RUNTIME_REPLAY_H
#define DT_RUNTIME_REPLAY_H

#include "durata.h"
#include "store/event.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DT_RETRY_ID_STRIDE (1 << 21)

enum dt_action_kind {
    DT_ACT_SCHEDULE_TASK, /* name, input */
    DT_ACT_CREATE_TIMER,  /* fire_at_ms */
    DT_ACT_CREATE_SUB,    /* name, version, instance_id (never NULL: derived
                             as "<execution_id>:<id as %04x>"), input */
    DT_ACT_SEND_EVENT,    /* instance_id (target), name, input (data) */
};

struct dt_action {
    enum dt_action_kind kind;
    int32_t id;
    char *name;
    char *version;
    char *instance_id;
    char *input;
    int64_t fire_at_ms;
};

enum dt_completion {
    DT_PENDING,          /* the code is waiting: commit the actions only */
    DT_COMPLETED,        /* output */
    DT_FAILED,           /* failure (also for errors of the runtime) */
    DT_CONTINUED_AS_NEW, /* output = the new input; carryover filled */
};

struct dt_replay_in {
    const char *instance_id;
    const char *execution_id;
    const char *name;
    struct dt_event *const *past; /* committed history (current execution) */
    size_t n_past;
    struct dt_event *const *fresh; /* this step's new events, in order */
    size_t n_fresh;
    durata_orchestrator_fn fn;
    void *arg;
    size_t max_custom_status_bytes;
    size_t max_payload_bytes;
    /* The custom status stored now (JSON or NULL): setting it again to the
     * same text needs no second check. */
    const char *custom_status;
};

struct dt_replay_out {
    struct dt_action *actions; /* new actions, in the order taken */
    size_t n_actions;
    enum dt_completion completion;
    char *output;                   /* COMPLETED: JSON or NULL; CONTINUED: new input */
    struct durata_failure *failure; /* FAILED */
    struct dt_event_list carryover; /* CONTINUED: EventRaised events no wait consumed */
    bool custom_status_set;         /* the code called set_custom_status */
    char *custom_status;            /* its last value (NULL = cleared) */
};

/* Runs the orchestrator over the history. Returns 0 (whatever the code did:
 * failures are a completion) or DURATA_ENOMEM / DURATA_EINVAL (bad input:
 * no ExecutionStarted). out is caller storage, zeroed by the call. */
DURATA_MUST_CHECK int dt_replay_run(const struct dt_replay_in *in, struct dt_replay_out *out);
void dt_replay_out_release(struct dt_replay_out *out);

#endif
