/*
 * context.h — the orchestration context of one replay (struct durata_orch).
 *
 * Owns: the history view (past and fresh concatenated into one array, so a
 * "position" is an index into it), the indexes built over it once per
 * replay (runtime/index.h), the action-id counter, matching calls against
 * recorded scheduling events, the new actions, the deterministic clock and
 * cursor, event claiming, the tasks (freed with the context), the custom
 * status and the ending the code chose. The public context reads, custom
 * status and ending calls of durata.h are defined in context.c.
 * Does not own: the events (borrowed from struct dt_replay_in, which
 * outlives the replay) or task evaluation (task.c).
 *
 * Clock: clock_at[i] is the timestamp of the latest OrchestratorStarted at
 * or before position i (the ExecutionStarted timestamp before the first
 * one). The cursor starts at the ExecutionStarted position and moves to the
 * completion position of each task the code awaits successfully (never
 * backwards); durata_orch_now() is clock_at[cursor], and the code is
 * replaying while the cursor is inside `past`.
 *
 * Stopping: a NonDeterminismError, a broken limit, a bad argument to a call
 * that has no task to fail (send_event), or running out of memory stops the
 * replay: later calls return the `spare` task (failed with that reason),
 * durata_await returns false so the code returns at once, ending calls are
 * ignored, and the step ends as DT_FAILED (or DURATA_ENOMEM) with no new
 * actions, whatever the function returns.
 *
 * Threading: none; the context lives on one thread for one replay.
 */
#ifndef DT_RUNTIME_CONTEXT_H
#define DT_RUNTIME_CONTEXT_H

#include "runtime/index.h"
#include "runtime/replay.h"
#include "runtime/task.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DT_POS_NEW (-1)  /* no such event in the history (a new action / not done) */
#define DT_POS_STOP (-2) /* the replay stopped (see above) */

/* An action as the code asks for it; strings are borrowed. */
struct dt_want {
    enum dt_action_kind kind;
    int32_t id;
    const char *name;
    const char *instance_id;
    const char *input;
    int64_t fire_at_ms;
};

struct durata_orch {
    const struct dt_replay_in *in;
    /* Per position, in one block that clock_at starts: */
    struct dt_event **ev; /* past then fresh; the events are not owned */
    size_t n_ev;
    int64_t *clock_at; /* the block: free this one only */
    bool *claimed;     /* an EventRaised some wait claimed */
    const struct dt_event *started;
    const char *execution_id; /* never NULL */
    struct dt_id_index ids;
    struct dt_name_index raised;

    int32_t next_id;
    uint64_t uuid_counter;
    int64_t cursor;

    struct dt_action *actions;
    size_t n_actions, cap_actions;
    struct durata_task **tasks;
    size_t n_tasks, cap_tasks;
    struct durata_task spare; /* returned once stopped; never freed */

    bool ended; /* the code called an ending */
    enum dt_completion completion;
    char *output;
    struct durata_failure *failure;
    struct durata_failure *fatal; /* why the replay stopped */
    bool oom;
    bool custom_status_set;
    char *custom_status;
};

/* Builds the context over in's history. DURATA_EINVAL (no ExecutionStarted,
 * a NULL event, missing instance id or function) or DURATA_ENOMEM; on
 * failure o is released. */
DURATA_MUST_CHECK int dt_orch_init(struct durata_orch *o, const struct dt_replay_in *in);
void dt_orch_release(struct durata_orch *o);

bool dt_orch_is_stopped(const struct durata_orch *o);
/* Stops the replay with a failure (the first reason is kept). */
void dt_orch_stop(struct durata_orch *o, const char *error_type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void dt_orch_oom(struct durata_orch *o);

/* Takes the next action id; false (and stops) when the execution has used
 * all DT_RETRY_ID_STRIDE - 1 of them. */
bool dt_orch_take_id(struct durata_orch *o, int32_t *id);
/* Matches w (w->id set) with the history: the position of its scheduling
 * event; DT_POS_NEW when there is none (w is then appended to the new
 * actions); DT_POS_STOP on a mismatch (NonDeterminismError) or OOM. */
int64_t dt_orch_schedule(struct durata_orch *o, const struct dt_want *w);
/* Position of the event completing action id of that kind (TaskCompleted/
 * TaskFailed, SubOrchestrationInstance*, TimerFired); DT_POS_NEW if none. */
int64_t dt_orch_completion(struct durata_orch *o, int32_t id, enum dt_action_kind kind);
int64_t dt_orch_clock_at(const struct durata_orch *o, int64_t pos);
/* The derived sub-orchestration id "<execution_id>:<id as %04x>"
 * (malloc'd; NULL after flagging OOM). */
char *dt_orch_sub_id(struct durata_orch *o, int32_t id);

/* The oldest EventRaised named name (any case) no wait has claimed: its
 * position, and its group in *g for dt_orch_event_claim; -1 when none. */
int64_t dt_orch_event_peek(struct durata_orch *o, const char *name, struct dt_name_group **g);
void dt_orch_event_claim(struct durata_orch *o, struct dt_name_group *g);

/* Makes t owned by the context (freed by dt_orch_release). */
DURATA_MUST_CHECK int dt_orch_track(struct durata_orch *o, struct durata_task *t);

/* Index slots visited by lookups so far (cost checks in tests). */
uint64_t dt_orch_probes(const struct durata_orch *o);

#endif
