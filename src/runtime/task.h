/*
 * task.h — durable tasks of one replay (struct durata_task).
 *
 * Owns: the task record and the public calls that create and read tasks
 * (durata_call_*, durata_create_timer, durata_wait_event,
 * durata_send_event, durata_when_*, durata_await, durata_task_*), which are
 * defined in task.c.
 * Does not own: the history, ids, actions or the clock (context.h).
 * Invariants: a task is evaluated completely when it is created: the whole
 * history of the step is known then, so whether it is done, its result and
 * the position of its completion never change afterwards. Tasks live until
 * the context is released; results and failures they point to are owned by
 * the task (own_*) or borrowed from the history events, which outlive the
 * replay.
 * Threading: none; one replay owns its tasks.
 */
#ifndef DT_RUNTIME_TASK_H
#define DT_RUNTIME_TASK_H

#include "durata.h"

#include <stdbool.h>
#include <stdint.h>

enum dt_task_kind {
    DT_TASK_ACTIVITY,
    DT_TASK_TIMER,
    DT_TASK_SUB,
    DT_TASK_EVENT, /* wait for an external event, maybe with a timeout timer */
    DT_TASK_RETRY, /* an activity or sub-orchestration with a retry policy */
    DT_TASK_ALL,
    DT_TASK_ANY,
    DT_TASK_INVALID, /* failed at the call: bad argument, runtime stopped */
};

struct durata_task {
    struct durata_orch *owner;
    enum dt_task_kind kind;
    int32_t id; /* action id (a retry chain's first attempt); -1 none */
    bool done;
    bool failed;
    /* History position of the event that completed the task (for a
     * combinator: the deciding child's); -1 when done without one (bad
     * argument, when_all of nothing). Orders when_any and moves the clock. */
    int64_t pos;
    const char *result;                   /* own_result or an event's */
    const struct durata_failure *failure; /* own_failure, an event's or static */
    char *own_result;
    struct durata_failure *own_failure;
};

/* Frees a task and what it owns (NULL accepted). */
void dt_orch_task_free(struct durata_task *t);

#endif
