/*
 * activity.h — running one activity task (engine-private).
 *
 * Owns: struct durata_activity (the context an activity function sees),
 * executing a leased task through the registered function, and turning its
 * outcome into a TaskCompleted / TaskFailed message for the orchestration.
 * Threading: one activity runs on one worker thread; `cancelled` is set
 * from other threads (renewal lost, hub stopping).
 */
#ifndef DT_ENGINE_ACTIVITY_H
#define DT_ENGINE_ACTIVITY_H

#include "durata.h"
#include "store/event.h"

#include <stdatomic.h>
#include <stdbool.h>

struct durata_activity {
    struct durata_hub *hub;
    struct dt_task *task; /* owned */
    char *output;
    struct durata_failure *failure;
    bool finished;
    atomic_bool cancelled;
};

/* Runs task (taken) and queues its result for commit. */
void dt_activity_execute(struct durata_hub *hub, struct dt_task *task);

/* Delivers an activity result (taken) to its instance's inbox with the
 * deletion of task row task_row_id. from_callback: called from a commit
 * callback, so it must not wait for room in the commit queue. */
void dt_activity_send_result(struct durata_hub *hub, int64_t task_row_id, struct dt_msg *result,
                             bool from_callback);

/* Fails a task that was delivered too often without a result (taken). */
void dt_activity_fail_poisoned(struct durata_hub *hub, struct dt_task *task, int max_deliveries);

#endif
