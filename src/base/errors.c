/*
 * errors.c — the base part of the public API (include/durata.h): error
 * messages, runtime status names, history event type names, and freeing
 * the public data structs.
 *
 * Owns: the text of DURATA_ERRORS and the Durable Functions / DTFx
 * spellings of statuses and event types. Switches have no default so the
 * compiler flags an enum value added without a name.
 * Threading: thread-safe; no state.
 */
#include "durata.h"

#include <errno.h>
#include <stdlib.h>
#include <strings.h>

const char *
durata_strerror(int code)
{
    switch (code) {
    case DURATA_OK:
        return "success";
#define DT_X_MESSAGE(name, value, msg)                                                             \
    case DURATA_##name:                                                                            \
        return msg;
        DURATA_ERRORS(DT_X_MESSAGE)
#undef DT_X_MESSAGE
    }
    return "unknown error";
}

const char *
durata_status_name(enum durata_status s)
{
    switch (s) {
    case DURATA_RUNNING:
        return "Running";
    case DURATA_COMPLETED:
        return "Completed";
    case DURATA_CONTINUED_AS_NEW:
        return "ContinuedAsNew";
    case DURATA_FAILED:
        return "Failed";
    case DURATA_CANCELED:
        return "Canceled";
    case DURATA_TERMINATED:
        return "Terminated";
    case DURATA_PENDING:
        return "Pending";
    case DURATA_SUSPENDED:
        return "Suspended";
    }
    return "Unknown";
}

int
durata_status_parse(const char *name)
{
    char *end;
    long v;

    if (!name || !*name)
        return -1;
    for (int s = DURATA_RUNNING; s <= DURATA_SUSPENDED; s++)
        if (strcasecmp(name, durata_status_name((enum durata_status)s)) == 0)
            return s;
    if (*name < '0' || *name > '9')
        return -1;
    errno = 0;
    v = strtol(name, &end, 10);
    if (errno != 0 || *end != '\0' || v < DURATA_RUNNING || v > DURATA_SUSPENDED)
        return -1;
    return (int)v;
}

bool
durata_status_is_terminal(enum durata_status s)
{
    switch (s) {
    case DURATA_COMPLETED:
    case DURATA_FAILED:
    case DURATA_CANCELED:
    case DURATA_TERMINATED:
        return true;
    case DURATA_RUNNING:
    case DURATA_CONTINUED_AS_NEW:
    case DURATA_PENDING:
    case DURATA_SUSPENDED:
        return false;
    }
    return false;
}

const char *
durata_event_type_name(enum durata_event_type t)
{
    switch (t) {
    case DURATA_EV_EXECUTION_STARTED:
        return "ExecutionStarted";
    case DURATA_EV_EXECUTION_COMPLETED:
        return "ExecutionCompleted";
    case DURATA_EV_EXECUTION_TERMINATED:
        return "ExecutionTerminated";
    case DURATA_EV_TASK_SCHEDULED:
        return "TaskScheduled";
    case DURATA_EV_TASK_COMPLETED:
        return "TaskCompleted";
    case DURATA_EV_TASK_FAILED:
        return "TaskFailed";
    case DURATA_EV_SUB_ORCHESTRATION_CREATED:
        return "SubOrchestrationInstanceCreated";
    case DURATA_EV_SUB_ORCHESTRATION_COMPLETED:
        return "SubOrchestrationInstanceCompleted";
    case DURATA_EV_SUB_ORCHESTRATION_FAILED:
        return "SubOrchestrationInstanceFailed";
    case DURATA_EV_TIMER_CREATED:
        return "TimerCreated";
    case DURATA_EV_TIMER_FIRED:
        return "TimerFired";
    case DURATA_EV_ORCHESTRATOR_STARTED:
        return "OrchestratorStarted";
    case DURATA_EV_ORCHESTRATOR_COMPLETED:
        return "OrchestratorCompleted";
    case DURATA_EV_EVENT_SENT:
        return "EventSent";
    case DURATA_EV_EVENT_RAISED:
        return "EventRaised";
    case DURATA_EV_CONTINUE_AS_NEW:
        return "ContinueAsNew";
    case DURATA_EV_GENERIC:
        return "GenericEvent";
    case DURATA_EV_EXECUTION_SUSPENDED:
        return "ExecutionSuspended";
    case DURATA_EV_EXECUTION_RESUMED:
        return "ExecutionResumed";
    case DURATA_EV_EXECUTION_REWOUND:
        return "ExecutionRewound";
    }
    return "Unknown";
}

void
durata_failure_free(struct durata_failure *f)
{
    if (!f)
        return;
    free(f->error_type);
    free(f->message);
    free(f->details);
    free(f);
}

void
durata_instance_free(struct durata_instance *inst)
{
    if (!inst)
        return;
    free(inst->id);
    free(inst->name);
    free(inst->version);
    free(inst->execution_id);
    free(inst->input);
    free(inst->output);
    free(inst->custom_status);
    durata_failure_free(inst->failure);
    free(inst->parent_id);
    free(inst);
}

void
durata_page_free(struct durata_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->count; i++)
        durata_instance_free(p->items[i]);
    free(p->items);
    free(p->continuation);
    free(p);
}
