/*
 * actions.h — what an orchestrator's actions and endings write (engine-private).
 *
 * Owns: the mapping from the replay's output (struct dt_replay_out) to the
 * pieces of a DT_W_STEP unit, the same mapping the Durable Task protocol
 * gives for OrchestratorAction: ScheduleTask -> TaskScheduled + an activity
 * task; CreateTimer -> TimerCreated + a TimerFired message visible at
 * fireAt; CreateSubOrchestration -> SubOrchestrationInstanceCreated + a
 * child instance; SendEvent -> EventSent + EventRaised to the target;
 * CompleteOrchestration -> ExecutionCompleted + the parent's
 * SubOrchestrationInstanceCompleted/Failed; continue-as-new -> a new
 * execution started through the inbox.
 * Threading: pure functions over the unit being built.
 */
#ifndef DT_ENGINE_ACTIONS_H
#define DT_ENGINE_ACTIONS_H

#include "runtime/replay.h"
#include "store/store.h"

/* Appends the fresh events (moved: fresh is left empty, or on failure
 * holds NULLs where events left) and the outcome of `out` to the step
 * unit w. */
DURATA_MUST_CHECK int dt_actions_apply(struct dt_write *w, const struct dt_event_list *past,
                                       struct dt_event_list *fresh, const struct dt_replay_out *out,
                                       int64_t now);

/* Tells the parent (if `started` names one) that this instance ended:
 * failure NULL -> SubOrchestrationInstanceCompleted(result), else
 * SubOrchestrationInstanceFailed(failure). */
DURATA_MUST_CHECK int dt_actions_notify_parent(struct dt_write *w, const struct dt_event *started,
                                               const char *result,
                                               const struct durata_failure *failure, int64_t now);

/* Sends ExecutionTerminated(recurse) to every child created in `past` that
 * has no completion recorded. */
DURATA_MUST_CHECK int dt_actions_terminate_children(struct dt_write *w,
                                                    const struct dt_event_list *past,
                                                    const char *reason, int64_t now);

#endif
