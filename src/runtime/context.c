/*
 * context.c — the orchestration context: history view, matching, actions,
 * clock, event claiming, and the public context reads, custom status and
 * endings of durata.h.
 *
 * Owns: everything declared in context.h (see there for the clock and the
 * stopping rules). Matching: a call whose action id has a scheduling event
 * in the history must agree with it on kind (TaskScheduled for an activity,
 * TimerCreated for a timer, SubOrchestrationInstanceCreated for a
 * sub-orchestration, EventSent for a send) and on name (case-sensitive;
 * for EventSent also on the target instance); timer fire times and inputs
 * are not compared. History events whose ids the code never reaches are
 * not errors: code may legitimately stop awaiting a task.
 * Endings: the first ending call wins; an output or new input that is not
 * valid JSON or is over max_payload_bytes turns the ending into a failure
 * (ArgumentError) that names the problem.
 * Threading: none.
 */
#include "runtime/context.h"

#include "base/id.h"
#include "base/json.h"
#include "base/time.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct durata_failure oom_failure = {
    .error_type = "OutOfMemory",
    .message = "the orchestration runtime ran out of memory",
    .non_retriable = true,
};

static int
view_build(struct durata_orch *o, const struct dt_replay_in *in)
{
    int64_t now = 0;

    o->n_ev = in->n_past + in->n_fresh;
    if (o->n_ev == 0 || (in->n_past && !in->past) || (in->n_fresh && !in->fresh))
        return DURATA_EINVAL;
    /* One block for the three per-position arrays, the 8-byte ones first
     * (a replay runs twice a job; three allocations each were measurable). */
    size_t per = sizeof(*o->clock_at) + sizeof(*o->ev) + sizeof(*o->claimed);
    if (o->n_ev > SIZE_MAX / per || !(o->clock_at = malloc(o->n_ev * per)))
        return DURATA_ENOMEM;
    o->ev = (struct dt_event **)(o->clock_at + o->n_ev);
    o->claimed = (bool *)(o->ev + o->n_ev);
    memset(o->claimed, 0, o->n_ev * sizeof(*o->claimed));
    for (size_t i = 0; i < o->n_ev; i++) {
        o->ev[i] = i < in->n_past ? in->past[i] : in->fresh[i - in->n_past];
        if (!o->ev[i])
            return DURATA_EINVAL;
        if (!o->started && o->ev[i]->type == DURATA_EV_EXECUTION_STARTED) {
            o->started = o->ev[i];
            o->cursor = (int64_t)i;
        }
    }
    if (!o->started)
        return DURATA_EINVAL;
    now = o->started->timestamp_ms;
    for (size_t i = 0; i < o->n_ev; i++) {
        if (o->ev[i]->type == DURATA_EV_ORCHESTRATOR_STARTED)
            now = o->ev[i]->timestamp_ms;
        o->clock_at[i] = now;
    }
    return 0;
}

int
dt_orch_init(struct durata_orch *o, const struct dt_replay_in *in)
{
    int rc;

    memset(o, 0, sizeof(*o));
    o->in = in;
    o->spare.owner = o;
    o->spare.kind = DT_TASK_INVALID;
    o->spare.id = -1;
    o->spare.pos = -1;
    o->spare.done = true;
    o->spare.failed = true;
    o->spare.failure = &oom_failure;
    if (!in->instance_id || !in->fn) {
        rc = DURATA_EINVAL;
        goto out_release;
    }
    rc = view_build(o, in);
    if (rc)
        goto out_release;
    o->execution_id = in->execution_id ? in->execution_id : o->started->execution_id;
    if (!o->execution_id)
        o->execution_id = "";
    rc = dt_id_index_build(&o->ids, o->ev, o->n_ev);
    if (rc)
        goto out_release;
    rc = dt_name_index_build(&o->raised, o->ev, o->n_ev);
    if (rc)
        goto out_release;
    return 0;

out_release:
    dt_orch_release(o);
    return rc;
}

static void
action_release(struct dt_action *a)
{
    free(a->name);
    free(a->version);
    free(a->instance_id);
    free(a->input);
}

void
dt_orch_release(struct durata_orch *o)
{
    for (size_t i = 0; i < o->n_tasks; i++)
        dt_orch_task_free(o->tasks[i]);
    free(o->tasks);
    for (size_t i = 0; i < o->n_actions; i++)
        action_release(&o->actions[i]);
    free(o->actions);
    dt_id_index_release(&o->ids);
    dt_name_index_release(&o->raised);
    free(o->clock_at); /* the block of ev and claimed too */
    free(o->output);
    durata_failure_free(o->failure);
    durata_failure_free(o->fatal);
    free(o->custom_status);
    memset(o, 0, sizeof(*o));
}

bool
dt_orch_is_stopped(const struct durata_orch *o)
{
    return o->fatal || o->oom;
}

void
dt_orch_stop(struct durata_orch *o, const char *error_type, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (dt_orch_is_stopped(o))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    o->fatal = dt_failure_new(error_type, msg, NULL, true);
    if (!o->fatal) {
        dt_orch_oom(o);
        return;
    }
    o->spare.failure = o->fatal;
}

void
dt_orch_oom(struct durata_orch *o)
{
    o->oom = true;
    if (!o->fatal)
        o->spare.failure = &oom_failure;
}

bool
dt_orch_take_id(struct durata_orch *o, int32_t *id)
{
    if (o->next_id >= DT_RETRY_ID_STRIDE - 1) {
        dt_orch_stop(o, "ActionLimitError",
                     "the execution took more than %d actions; use continue-as-new to restart "
                     "it with a fresh history",
                     DT_RETRY_ID_STRIDE - 2);
        return false;
    }
    *id = o->next_id++;
    return true;
}

static enum durata_event_type
sched_type(enum dt_action_kind k)
{
    switch (k) {
    case DT_ACT_SCHEDULE_TASK:
        return DURATA_EV_TASK_SCHEDULED;
    case DT_ACT_CREATE_TIMER:
        return DURATA_EV_TIMER_CREATED;
    case DT_ACT_CREATE_SUB:
        return DURATA_EV_SUB_ORCHESTRATION_CREATED;
    case DT_ACT_SEND_EVENT:
        return DURATA_EV_EVENT_SENT;
    }
    return DURATA_EV_GENERIC;
}

static bool
str_eq(const char *a, const char *b)
{
    return (!a || !b) ? a == b : strcmp(a, b) == 0;
}

static const char *
nz(const char *s)
{
    return s ? s : "";
}

static bool
want_matches(const struct dt_want *w, const struct dt_event *e)
{
    if (e->type != sched_type(w->kind))
        return false;
    if (w->kind == DT_ACT_CREATE_TIMER)
        return true;
    if (w->kind == DT_ACT_SEND_EVENT && !str_eq(w->instance_id, e->instance_id))
        return false;
    return str_eq(w->name, e->name);
}

static void
describe_want(const struct dt_want *w, char *out, size_t size)
{
    switch (w->kind) {
    case DT_ACT_SCHEDULE_TASK:
        snprintf(out, size, "calls activity \"%s\"", nz(w->name));
        return;
    case DT_ACT_CREATE_TIMER:
        snprintf(out, size, "creates a timer");
        return;
    case DT_ACT_CREATE_SUB:
        snprintf(out, size, "calls sub-orchestration \"%s\"", nz(w->name));
        return;
    case DT_ACT_SEND_EVENT:
        snprintf(out, size, "sends event \"%s\" to \"%s\"", nz(w->name), nz(w->instance_id));
        return;
    }
}

static void
describe_event(const struct dt_event *e, char *out, size_t size)
{
    const char *type = durata_event_type_name(e->type);

    if (e->type == DURATA_EV_TIMER_CREATED)
        snprintf(out, size, "%s", type);
    else if (e->type == DURATA_EV_EVENT_SENT)
        snprintf(out, size, "%s \"%s\" to \"%s\"", type, nz(e->name), nz(e->instance_id));
    else
        snprintf(out, size, "%s \"%s\"", type, nz(e->name));
}

static void
nondeterminism(struct durata_orch *o, const struct dt_want *w, const struct dt_event *e)
{
    char want[300], got[300];

    describe_want(w, want, sizeof(want));
    describe_event(e, got, sizeof(got));
    dt_orch_stop(o, "NonDeterminismError",
                 "action %d: the code %s but the history records %s; the orchestrator code "
                 "is not deterministic or changed while this instance was running",
                 (int)w->id, want, got);
}

static int
action_push(struct durata_orch *o, const struct dt_want *w)
{
    struct dt_action *a;

    if (o->n_actions == o->cap_actions) {
        size_t cap = o->cap_actions ? o->cap_actions * 2 : 16;
        struct dt_action *grown = realloc(o->actions, cap * sizeof(*grown));

        if (!grown)
            return DURATA_ENOMEM;
        o->actions = grown;
        o->cap_actions = cap;
    }
    a = &o->actions[o->n_actions];
    memset(a, 0, sizeof(*a));
    a->kind = w->kind;
    a->id = w->id;
    a->fire_at_ms = w->fire_at_ms;
    a->name = dt_strdup_opt(w->name);
    a->instance_id = dt_strdup_opt(w->instance_id);
    a->input = dt_strdup_opt(w->input);
    if ((w->name && !a->name) || (w->instance_id && !a->instance_id) || (w->input && !a->input)) {
        action_release(a);
        return DURATA_ENOMEM;
    }
    o->n_actions++;
    return 0;
}

int64_t
dt_orch_schedule(struct durata_orch *o, const struct dt_want *w)
{
    const struct dt_id_slot *s = dt_id_index_find(&o->ids, w->id);

    if (s && s->sched >= 0) {
        if (!want_matches(w, o->ev[s->sched])) {
            nondeterminism(o, w, o->ev[s->sched]);
            return DT_POS_STOP;
        }
        return s->sched;
    }
    if (action_push(o, w) != 0) {
        dt_orch_oom(o);
        return DT_POS_STOP;
    }
    return DT_POS_NEW;
}

int64_t
dt_orch_completion(struct durata_orch *o, int32_t id, enum dt_action_kind kind)
{
    const struct dt_id_slot *s = dt_id_index_find(&o->ids, id);
    enum durata_event_type t;
    bool fits = false;

    if (!s || s->done < 0)
        return DT_POS_NEW;
    t = o->ev[s->done]->type;
    switch (kind) {
    case DT_ACT_SCHEDULE_TASK:
        fits = t == DURATA_EV_TASK_COMPLETED || t == DURATA_EV_TASK_FAILED;
        break;
    case DT_ACT_CREATE_SUB:
        fits =
            t == DURATA_EV_SUB_ORCHESTRATION_COMPLETED || t == DURATA_EV_SUB_ORCHESTRATION_FAILED;
        break;
    case DT_ACT_CREATE_TIMER:
        fits = t == DURATA_EV_TIMER_FIRED;
        break;
    case DT_ACT_SEND_EVENT:
        break;
    }
    return fits ? s->done : DT_POS_NEW;
}

int64_t
dt_orch_clock_at(const struct durata_orch *o, int64_t pos)
{
    if (pos < 0 || (size_t)pos >= o->n_ev)
        return o->started->timestamp_ms;
    return o->clock_at[pos];
}

char *
dt_orch_sub_id(struct durata_orch *o, int32_t id)
{
    size_t size = strlen(o->execution_id) + 16;
    char *s = malloc(size);

    if (!s) {
        dt_orch_oom(o);
        return NULL;
    }
    snprintf(s, size, "%s:%04x", o->execution_id, (unsigned)id);
    return s;
}

int64_t
dt_orch_event_peek(struct durata_orch *o, const char *name, struct dt_name_group **g)
{
    *g = dt_name_index_find(&o->raised, name);
    if (!*g || (*g)->head >= (*g)->count)
        return -1;
    return (int64_t)o->raised.pos[(*g)->first + (*g)->head];
}

void
dt_orch_event_claim(struct durata_orch *o, struct dt_name_group *g)
{
    o->claimed[o->raised.pos[g->first + g->head]] = true;
    g->head++;
}

int
dt_orch_track(struct durata_orch *o, struct durata_task *t)
{
    if (o->n_tasks == o->cap_tasks) {
        size_t cap = o->cap_tasks ? o->cap_tasks * 2 : 32;
        struct durata_task **grown = realloc(o->tasks, cap * sizeof(*grown));

        if (!grown)
            return DURATA_ENOMEM;
        o->tasks = grown;
        o->cap_tasks = cap;
    }
    o->tasks[o->n_tasks++] = t;
    return 0;
}

uint64_t
dt_orch_probes(const struct durata_orch *o)
{
    return o->ids.probes + o->raised.probes;
}

/* ------------------------------------------------------ public: reads */

const char *
durata_orch_input(struct durata_orch *o)
{
    return o ? o->started->input : NULL;
}

const char *
durata_orch_instance_id(struct durata_orch *o)
{
    return o ? o->in->instance_id : NULL;
}

const char *
durata_orch_name(struct durata_orch *o)
{
    if (!o)
        return NULL;
    return o->in->name ? o->in->name : o->started->name;
}

int64_t
durata_orch_now(struct durata_orch *o)
{
    return o ? o->clock_at[o->cursor] : 0;
}

bool
durata_orch_is_replaying(struct durata_orch *o)
{
    return o && (size_t)o->cursor < o->in->n_past;
}

void
durata_orch_new_uuid(struct durata_orch *o, char out[37])
{
    char ts[DT_TIME_TEXT_MAX], *name;
    size_t size;

    memcpy(out, "00000000-0000-0000-0000-000000000000", 37);
    if (!o)
        return;
    dt_time_format_7(durata_orch_now(o), ts, sizeof(ts));
    size = strlen(o->in->instance_id) + strlen(ts) + 32;
    name = malloc(size);
    if (!name) {
        dt_orch_oom(o);
        return;
    }
    snprintf(name, size, "%s_%s_%llu", o->in->instance_id, ts,
             (unsigned long long)o->uuid_counter++);
    dt_uuid_v5(name, strlen(name), out);
    free(name);
}

/* ------------------------------------------------ public: custom status */

int
durata_orch_set_custom_status(struct durata_orch *o, const char *json)
{
    char *copy;
    int rc;

    if (!o)
        return DURATA_EINVAL;
    /* Replays set the same status again: the stored text passed this check. */
    if (!json || !o->in->custom_status || strcmp(json, o->in->custom_status) != 0) {
        rc = dt_json_check(json, o->in->max_custom_status_bytes);
        if (rc)
            return rc;
    }
    copy = dt_strdup_opt(json);
    if (json && !copy) {
        dt_orch_oom(o);
        return DURATA_ENOMEM;
    }
    free(o->custom_status);
    o->custom_status = copy;
    o->custom_status_set = true;
    return 0;
}

/* ------------------------------------------------------ public: endings */

static bool
ending_open(struct durata_orch *o)
{
    return o && !o->ended && !dt_orch_is_stopped(o);
}

static void
end_failed(struct durata_orch *o, const char *type, const char *message, const char *details)
{
    o->ended = true;
    o->completion = DT_FAILED;
    o->failure = dt_failure_new(type, message, details, false);
    if (!o->failure)
        dt_orch_oom(o);
}

/* Ends with `completion` and a copy of json as output, or fails when json
 * is not an acceptable payload. */
static void
end_with_payload(struct durata_orch *o, enum dt_completion completion, const char *json,
                 const char *what)
{
    size_t max = o->in->max_payload_bytes;
    char msg[200];
    int rc = dt_json_check(json, max);

    if (rc) {
        snprintf(msg, sizeof(msg), "the %s %s", what,
                 rc == DURATA_ETOOBIG ? "is over the payload size limit" : "is not valid JSON");
        if (rc == DURATA_ETOOBIG)
            snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), " (%zu bytes)", max);
        end_failed(o, "ArgumentError", msg, NULL);
        return;
    }
    o->ended = true;
    o->completion = completion;
    o->output = dt_strdup_opt(json);
    if (json && !o->output)
        dt_orch_oom(o);
}

void
durata_orch_complete(struct durata_orch *o, const char *output)
{
    if (ending_open(o))
        end_with_payload(o, DT_COMPLETED, output, "orchestration output");
}

void
durata_orch_fail(struct durata_orch *o, const char *error_type, const char *message,
                 const char *details)
{
    if (ending_open(o))
        end_failed(o, error_type ? error_type : "OrchestrationError", message ? message : "",
                   details);
}

void
durata_orch_continue_as_new(struct durata_orch *o, const char *input)
{
    if (ending_open(o))
        end_with_payload(o, DT_CONTINUED_AS_NEW, input, "continue-as-new input");
}
