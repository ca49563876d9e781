/*
 * df_history.c — the historyEvents array of GET status with showHistory
 * (spec 3.2), built from the stored events of durata_get_history().
 *
 * Owns: the reshaping rules. EventType stays a name; EventId (and IsPlayed,
 * if any) go; OrchestratorStarted/Completed are dropped; ExecutionStarted
 * loses its instance, parent and version fields and calls its Name
 * "FunctionName"; a TaskScheduled (SubOrchestrationInstanceCreated) that
 * has a completion is folded into it: the completion gains FunctionName,
 * Input and ScheduledTime and loses TaskScheduledId; one without a
 * completion stays, minus Version. Result (task, sub-orchestration and
 * execution completions) is shown only with showHistoryOutput, parsed into
 * real JSON; every Input is dropped with showInput=false; TimerFired loses
 * TimerId. Failed completions also carry DTFx's Reason and Details, taken
 * from FailureDetails; the Reason of ExecutionSuspended/Resumed/Rewound,
 * stored as a JSON string, is shown as its text. Timestamp is written last
 * in each event.
 * Matching a completion to its scheduling event is by (kind, EventId)
 * through a sorted index, so a long history costs O(n log n).
 * Threading: no state.
 */
#include "http/df.h"

#include <stdlib.h>
#include <string.h>

enum kind { K_NONE, K_TASK, K_SUB };

/* One scheduling event of the history: its kind, EventId, position. */
struct sched {
    int kind;
    int32_t id;
    size_t at;
};

struct reshape {
    const struct durata_history *h;
    json_t **ev;         /* each event parsed, in order */
    struct sched *sched; /* the scheduling events, sorted by (kind, id) */
    size_t n_sched;
    size_t *origin; /* completion i -> index of its scheduling event + 1 */
    bool *folded;   /* scheduling event i was folded into its completion */
    bool show_input;
    bool show_output;
};

static enum kind
sched_kind(enum durata_event_type t)
{
    if (t == DURATA_EV_TASK_SCHEDULED)
        return K_TASK;
    if (t == DURATA_EV_SUB_ORCHESTRATION_CREATED)
        return K_SUB;
    return K_NONE;
}

static enum kind
completion_kind(enum durata_event_type t)
{
    if (t == DURATA_EV_TASK_COMPLETED || t == DURATA_EV_TASK_FAILED)
        return K_TASK;
    if (t == DURATA_EV_SUB_ORCHESTRATION_COMPLETED || t == DURATA_EV_SUB_ORCHESTRATION_FAILED)
        return K_SUB;
    return K_NONE;
}

static int
sched_cmp(const void *a, const void *b)
{
    const struct sched *x = a, *y = b;

    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->at < y->at ? -1 : (x->at > y->at);
}

/* The latest scheduling event of kind k with EventId id before position
 * `before`, or -1. */
static long
sched_find(const struct reshape *r, int k, int32_t id, size_t before)
{
    size_t lo = 0, hi = r->n_sched;
    long found = -1;

    while (lo < hi) { /* first entry >= (k, id) */
        size_t mid = lo + (hi - lo) / 2;
        const struct sched *s = &r->sched[mid];
        if (s->kind < k || (s->kind == k && s->id < id))
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < r->n_sched && r->sched[lo].kind == k && r->sched[lo].id == id; lo++)
        if (r->sched[lo].at < before)
            found = (long)r->sched[lo].at;
    return found;
}

/* Parses every event and indexes the scheduling ones. */
static int
reshape_load(struct reshape *r)
{
    size_t n = r->h->count;

    r->ev = calloc(n ? n : 1, sizeof(*r->ev));
    r->sched = calloc(n ? n : 1, sizeof(*r->sched));
    r->origin = calloc(n ? n : 1, sizeof(*r->origin));
    r->folded = calloc(n ? n : 1, sizeof(*r->folded));
    if (!r->ev || !r->sched || !r->origin || !r->folded)
        return DURATA_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct durata_event *e = &r->h->events[i];
        json_error_t err;

        r->ev[i] = e->json ? json_loads(e->json, 0, &err) : NULL;
        if (!json_is_object(r->ev[i]))
            return DURATA_ECORRUPT;
        if (sched_kind(e->type) != K_NONE)
            r->sched[r->n_sched++] = (struct sched){sched_kind(e->type), e->event_id, i};
    }
    qsort(r->sched, r->n_sched, sizeof(*r->sched), sched_cmp);
    return 0;
}

/* Links each completion to its scheduling event. */
static void
reshape_link(struct reshape *r)
{
    for (size_t i = 0; i < r->h->count; i++) {
        enum kind k = completion_kind(r->h->events[i].type);
        json_t *tid = json_object_get(r->ev[i], "TaskScheduledId");
        long at;

        if (k == K_NONE || !json_is_integer(tid))
            continue;
        at = sched_find(r, k, (int32_t)json_integer_value(tid), i);
        if (at < 0 || r->folded[at])
            continue;
        r->folded[at] = true;
        r->origin[i] = (size_t)at + 1;
    }
}

static void
reshape_release(struct reshape *r)
{
    if (r->ev)
        for (size_t i = 0; i < r->h->count; i++)
            json_decref(r->ev[i]);
    free(r->ev);
    free(r->sched);
    free(r->origin);
    free(r->folded);
}

/* Is field `key` of an event of type t left out? */
static bool
field_dropped(const struct reshape *r, enum durata_event_type t, const char *key)
{
    if (!strcmp(key, "EventType") || !strcmp(key, "EventId") || !strcmp(key, "IsPlayed") ||
        !strcmp(key, "Timestamp"))
        return true; /* EventType and Timestamp are placed separately */
    if (!strcmp(key, "Input") && !r->show_input)
        return true;
    if (!strcmp(key, "Result") && !r->show_output)
        return true;
    switch (t) {
    case DURATA_EV_EXECUTION_STARTED:
        return !strcmp(key, "InstanceId") || !strcmp(key, "ExecutionId") ||
               !strcmp(key, "ParentInstance") || !strcmp(key, "Version") || !strcmp(key, "Tags") ||
               !strcmp(key, "OrchestrationInstance");
    case DURATA_EV_TASK_SCHEDULED:
    case DURATA_EV_SUB_ORCHESTRATION_CREATED:
        return !strcmp(key, "Version") || !strcmp(key, "Tags");
    case DURATA_EV_TASK_COMPLETED:
    case DURATA_EV_TASK_FAILED:
    case DURATA_EV_SUB_ORCHESTRATION_COMPLETED:
    case DURATA_EV_SUB_ORCHESTRATION_FAILED:
        return !strcmp(key, "TaskScheduledId");
    case DURATA_EV_TIMER_FIRED:
        return !strcmp(key, "TimerId");
    default:
        return false;
    }
}

/* Sets key on o to a copy of src's member key, when src has it. */
static int
copy_member(json_t *o, const char *key, const json_t *src, const char *src_key)
{
    json_t *v = json_object_get(src, src_key);

    if (!v)
        return 0;
    return json_object_set(o, key, v) == 0 ? 0 : DURATA_ENOMEM;
}

/* The Reason of ExecutionSuspended/Resumed/Rewound is stored as JSON (a
 * string, from the API's `reason`); DTFx shows it as plain text. */
static json_t *
reason_value(json_t *v)
{
    json_error_t err;
    json_t *parsed = json_loads(json_string_value(v), JSON_DECODE_ANY, &err);

    if (json_is_string(parsed))
        return parsed;
    json_decref(parsed);
    return json_incref(v);
}

/* A stored field's value: Result is parsed into real JSON, Reason
 * unwrapped; the rest is kept as stored (Input stays JSON-encoded text, as
 * DF shows it). */
static json_t *
field_value(const char *key, json_t *v)
{
    if (!strcmp(key, "Result") && json_is_string(v))
        return dt_df_value(json_string_value(v));
    if (!strcmp(key, "Reason") && json_is_string(v))
        return reason_value(v);
    return json_incref(v);
}

/* The fields a folded scheduling event s gives its completion. */
static int
put_origin(const struct reshape *r, json_t *o, const json_t *s)
{
    int rc;

    if ((rc = copy_member(o, "FunctionName", s, "Name")) < 0)
        return rc;
    if (r->show_input && (rc = copy_member(o, "Input", s, "Input")) < 0)
        return rc;
    return 0;
}

/* DTFx's Reason/Details of a failed completion, from FailureDetails. */
static int
put_reason(json_t *o, const json_t *src)
{
    const json_t *fd = json_object_get(src, "FailureDetails");
    int rc;

    if (!json_is_object(fd))
        return 0;
    if ((rc = copy_member(o, "Reason", fd, "ErrorMessage")) < 0 ||
        (rc = copy_member(o, "Details", fd, "StackTrace")) < 0)
        return rc;
    return 0;
}

static int
put_fields(const struct reshape *r, size_t i, json_t *o)
{
    enum durata_event_type t = r->h->events[i].type;
    const json_t *src = r->ev[i];
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)src, key, v)
    {
        const char *out_key = key;
        json_t *val;

        if (field_dropped(r, t, key))
            continue;
        if (t == DURATA_EV_EXECUTION_STARTED && !strcmp(key, "Name"))
            out_key = "FunctionName";
        if (!(val = field_value(key, v)) || json_object_set_new(o, out_key, val) != 0)
            return DURATA_ENOMEM;
    }
    if (t == DURATA_EV_TASK_FAILED || t == DURATA_EV_SUB_ORCHESTRATION_FAILED)
        return put_reason(o, src);
    return 0;
}

/* The reshaped form of event i. */
static int
reshape_event(const struct reshape *r, size_t i, json_t **out)
{
    const json_t *origin = r->origin[i] ? r->ev[r->origin[i] - 1] : NULL;
    json_t *o = json_object();
    int rc = DURATA_ENOMEM;

    if (!o || copy_member(o, "EventType", r->ev[i], "EventType") < 0)
        goto out_free;
    if (origin && (rc = put_origin(r, o, origin)) < 0)
        goto out_free;
    if ((rc = put_fields(r, i, o)) < 0)
        goto out_free;
    rc = DURATA_ENOMEM;
    if (origin && copy_member(o, "ScheduledTime", origin, "Timestamp") < 0)
        goto out_free;
    if (copy_member(o, "Timestamp", r->ev[i], "Timestamp") < 0)
        goto out_free;
    *out = o;
    return 0;

out_free:
    json_decref(o);
    return rc;
}

static bool
event_shown(const struct reshape *r, size_t i)
{
    enum durata_event_type t = r->h->events[i].type;

    if (t == DURATA_EV_ORCHESTRATOR_STARTED || t == DURATA_EV_ORCHESTRATOR_COMPLETED)
        return false;
    return !r->folded[i];
}

int
dt_df_history_json(const struct durata_history *h, bool show_input, bool show_output, json_t **out)
{
    struct reshape r = {.h = h, .show_input = show_input, .show_output = show_output};
    json_t *arr = json_array();
    int rc = DURATA_ENOMEM;

    *out = NULL;
    if (!arr || (rc = reshape_load(&r)) < 0)
        goto out_free;
    reshape_link(&r);
    for (size_t i = 0; i < h->count; i++) {
        json_t *e;

        if (!event_shown(&r, i))
            continue;
        if ((rc = reshape_event(&r, i, &e)) < 0)
            goto out_free;
        if (json_array_append_new(arr, e) != 0) {
            rc = DURATA_ENOMEM;
            goto out_free;
        }
    }
    reshape_release(&r);
    *out = arr;
    return 0;

out_free:
    reshape_release(&r);
    json_decref(arr);
    return rc;
}
