/*
 * task.c — durable tasks: activities, timers, sub-orchestrations, event
 * waits, retry chains and the when_all / when_any combinators, plus the
 * public calls that create, await and read them.
 *
 * Owns: evaluating each task when it is created (see task.h) and the
 * argument checks of the calls. A bad argument fails the returned task
 * with ArgumentError and takes no action id; send_event has no task, so a
 * bad argument there stops the replay (context.h).
 *
 * Retry chains: the first attempt takes id s from the counter; follow-up
 * k (k >= 1) takes s + k * DT_RETRY_ID_STRIDE: odd k are the waits (durable
 * timers), even k the next attempts. After failure n (0-based) the wait is
 * min(first_interval * coefficient^n, max_interval) from the deterministic
 * time of that failure; the chain stops with the failure when the attempts
 * are used up, the failure is non_retriable, or that time is at or past
 * the call's time plus timeout_ms. The chain is unfolded as far as the
 * history goes, so a step adds at most one new action to it. A derived
 * sub-orchestration id uses each attempt's own action id.
 *
 * Event waits: the timeout timer (if any) takes an id; the wait claims the
 * oldest unclaimed EventRaised of its name unless its timer fired before
 * that event was recorded, in which case it fails with TimeoutError and the
 * event stays for later waits.
 * Threading: none.
 */
#include "runtime/task.h"

#include "base/id.h"
#include "base/json.h"
#include "runtime/context.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct durata_failure missing_failure = {
    .error_type = "TaskFailed",
    .message = "the history records a failure without details",
};

void
dt_orch_task_free(struct durata_task *t)
{
    if (!t)
        return;
    free(t->own_result);
    durata_failure_free(t->own_failure);
    free(t);
}

/* A new pending task owned by o; the spare (failed) task on OOM. */
static struct durata_task *
task_new(struct durata_orch *o, enum dt_task_kind kind)
{
    struct durata_task *t = calloc(1, sizeof(*t));

    if (!t || dt_orch_track(o, t) != 0) {
        free(t);
        dt_orch_oom(o);
        return &o->spare;
    }
    t->owner = o;
    t->kind = kind;
    t->id = -1;
    t->pos = -1;
    return t;
}

/* Fails t with an owned failure (t must not be the spare). */
static struct durata_task *
task_fail_own(struct durata_orch *o, struct durata_task *t, const char *type, const char *msg,
              bool non_retriable)
{
    t->own_failure = dt_failure_new(type, msg, NULL, non_retriable);
    if (!t->own_failure) {
        dt_orch_oom(o);
        return &o->spare;
    }
    t->done = true;
    t->failed = true;
    t->failure = t->own_failure;
    return t;
}

static struct durata_task *__attribute__((format(printf, 2, 3)))
task_invalid(struct durata_orch *o, const char *fmt, ...)
{
    struct durata_task *t = task_new(o, DT_TASK_INVALID);
    char msg[512];
    va_list ap;

    if (t == &o->spare)
        return t;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return task_fail_own(o, t, "ArgumentError", msg, true);
}

static void
task_resolve(struct durata_task *t, const struct dt_event *e, int64_t pos)
{
    t->done = true;
    t->pos = pos;
    if (e->type == DURATA_EV_TASK_FAILED || e->type == DURATA_EV_SUB_ORCHESTRATION_FAILED) {
        t->failed = true;
        t->failure = e->failure ? e->failure : &missing_failure;
    } else if (e->type != DURATA_EV_TIMER_FIRED) {
        t->result = e->result;
    }
}

static bool
is_failure_event(const struct dt_event *e)
{
    return e->type == DURATA_EV_TASK_FAILED || e->type == DURATA_EV_SUB_ORCHESTRATION_FAILED;
}

static int64_t
add_saturated(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    return a + b;
}

/* A static description of why json is not an acceptable payload, or NULL
 * (also when out of memory: the replay is then stopped anyway). */
static const char *
payload_problem(struct durata_orch *o, const char *json)
{
    switch (dt_json_check(json, o->in->max_payload_bytes)) {
    case 0:
        return NULL;
    case DURATA_ETOOBIG:
        return "is over the payload size limit";
    default:
        return "is not valid JSON";
    }
}

static const char *
policy_problem(const struct durata_retry_policy *p)
{
    if (p->max_attempts < 1 || p->max_attempts > DURATA_MAX_RETRY_ATTEMPTS)
        return "max_attempts must be between 1 and DURATA_MAX_RETRY_ATTEMPTS";
    if (p->first_interval_ms <= 0)
        return "first_interval_ms must be positive";
    if (p->backoff_coefficient != 0 && !(p->backoff_coefficient >= 1))
        return "backoff_coefficient must be 0 or at least 1";
    if (p->max_interval_ms < 0 || p->timeout_ms < 0)
        return "max_interval_ms and timeout_ms must not be negative";
    return NULL;
}

/* Whether the history records input as that of the call about to take
 * the next id (its first attempt): checked when it was scheduled, so a
 * replay need not parse it again. */
static bool
input_was_recorded(struct durata_orch *o, const char *input)
{
    const struct dt_id_slot *s = dt_id_index_find(&o->ids, o->next_id);
    const char *recorded = s && s->sched >= 0 ? o->ev[s->sched]->input : NULL;

    return input && recorded && strcmp(input, recorded) == 0;
}

/* NULL when the call's arguments are fine, else the failed task. */
static struct durata_task *
check_call(struct durata_orch *o, const char *what, const char *name, const char *input,
           const struct durata_retry_policy *retry)
{
    const char *problem;

    if (!name || !*name)
        return task_invalid(o, "%s: the name is missing", what);
    problem = input_was_recorded(o, input) ? NULL : payload_problem(o, input);
    if (dt_orch_is_stopped(o))
        return &o->spare;
    if (problem)
        return task_invalid(o, "%s \"%s\": the input %s (limit %zu bytes)", what, name, problem,
                            o->in->max_payload_bytes);
    problem = retry ? policy_problem(retry) : NULL;
    if (problem)
        return task_invalid(o, "%s \"%s\": retry policy: %s", what, name, problem);
    return NULL;
}

/* Schedules w (w->id set) and returns the position of its completion,
 * DT_POS_NEW (pending) or DT_POS_STOP. */
static int64_t
attempt(struct durata_orch *o, struct dt_want *w)
{
    char *derived = NULL;
    const char *explicit_id = w->instance_id;
    int64_t p;

    if (w->kind == DT_ACT_CREATE_SUB && !explicit_id) {
        derived = dt_orch_sub_id(o, w->id);
        if (!derived)
            return DT_POS_STOP;
        w->instance_id = derived;
    }
    p = dt_orch_schedule(o, w);
    w->instance_id = explicit_id;
    free(derived);
    if (p < 0)
        return p;
    return dt_orch_completion(o, w->id, w->kind);
}

static struct durata_task *
single_start(struct durata_orch *o, struct dt_want *w, enum dt_task_kind kind)
{
    struct durata_task *t;
    int64_t c;

    if (!dt_orch_take_id(o, &w->id))
        return &o->spare;
    t = task_new(o, kind);
    if (t == &o->spare)
        return t;
    t->id = w->id;
    c = attempt(o, w);
    if (c == DT_POS_STOP)
        return &o->spare;
    if (c >= 0)
        task_resolve(t, o->ev[c], c);
    return t;
}

static int32_t
retry_id(int32_t first, int k)
{
    return (int32_t)((int64_t)first + (int64_t)k * DT_RETRY_ID_STRIDE);
}

static int64_t
retry_delay(const struct durata_retry_policy *p, int failures)
{
    double coeff = p->backoff_coefficient == 0 ? 1.0 : p->backoff_coefficient;
    double d = (double)p->first_interval_ms;

    /* Repeated multiplication, not pow(): exact for the usual integral
     * coefficients and stops growing once past any cap. */
    for (int i = 0; i < failures && d < 1e15; i++)
        d *= coeff;
    if (p->max_interval_ms > 0 && d > (double)p->max_interval_ms)
        d = (double)p->max_interval_ms;
    if (d > 1e15) /* ~31,000 years: keeps fire times in range */
        d = 1e15;
    return (int64_t)d;
}

/* true when failure n (0-based) at deterministic time `at` ends the chain. */
static bool
retry_is_over(const struct durata_retry_policy *p, int n, const struct dt_event *e, int64_t at,
              int64_t start)
{
    if (n + 1 >= p->max_attempts)
        return true;
    if (e->failure && e->failure->non_retriable)
        return true;
    return p->timeout_ms > 0 && at >= add_saturated(start, p->timeout_ms);
}

static struct durata_task *
retry_start(struct durata_orch *o, struct dt_want *w, const struct durata_retry_policy *p)
{
    struct durata_task *t;
    int64_t start = durata_orch_now(o), c;
    int32_t first;

    if (!dt_orch_take_id(o, &first))
        return &o->spare;
    t = task_new(o, DT_TASK_RETRY);
    if (t == &o->spare)
        return t;
    t->id = first;
    for (int n = 0;; n++) {
        struct dt_want wait = {.kind = DT_ACT_CREATE_TIMER};

        w->id = retry_id(first, 2 * n);
        c = attempt(o, w);
        if (c < 0)
            return c == DT_POS_STOP ? &o->spare : t;
        if (!is_failure_event(o->ev[c]) ||
            retry_is_over(p, n, o->ev[c], dt_orch_clock_at(o, c), start)) {
            task_resolve(t, o->ev[c], c);
            return t;
        }
        wait.id = retry_id(first, 2 * n + 1);
        wait.fire_at_ms = add_saturated(dt_orch_clock_at(o, c), retry_delay(p, n));
        c = attempt(o, &wait);
        if (c < 0)
            return c == DT_POS_STOP ? &o->spare : t;
    }
}

struct durata_task *
durata_call_activity(struct durata_orch *o, const char *name, const char *input,
                     const struct durata_retry_policy *retry)
{
    struct dt_want w = {.kind = DT_ACT_SCHEDULE_TASK, .name = name, .input = input};
    struct durata_task *bad;

    if (!o)
        return NULL;
    if (dt_orch_is_stopped(o))
        return &o->spare;
    bad = check_call(o, "activity", name, input, retry);
    if (bad)
        return bad;
    return retry ? retry_start(o, &w, retry) : single_start(o, &w, DT_TASK_ACTIVITY);
}

struct durata_task *
durata_call_sub_orchestrator(struct durata_orch *o, const char *name, const char *instance_id,
                             const char *input, const struct durata_retry_policy *retry)
{
    struct dt_want w = {
        .kind = DT_ACT_CREATE_SUB, .name = name, .instance_id = instance_id, .input = input};
    struct durata_task *bad;
    const char *why = NULL;

    if (!o)
        return NULL;
    if (dt_orch_is_stopped(o))
        return &o->spare;
    bad = check_call(o, "sub-orchestration", name, input, retry);
    if (bad)
        return bad;
    if (instance_id && dt_id_check(instance_id, SIZE_MAX, &why) != 0)
        return task_invalid(o, "sub-orchestration \"%s\": %s", name, why ? why : "bad id");
    return retry ? retry_start(o, &w, retry) : single_start(o, &w, DT_TASK_SUB);
}

struct durata_task *
durata_create_timer(struct durata_orch *o, int64_t fire_at_ms)
{
    struct dt_want w = {.kind = DT_ACT_CREATE_TIMER, .fire_at_ms = fire_at_ms};

    if (!o)
        return NULL;
    if (dt_orch_is_stopped(o))
        return &o->spare;
    return single_start(o, &w, DT_TASK_TIMER);
}

/* Decides wait t (with timer completion position tp, or DT_POS_NEW). */
static struct durata_task *
wait_decide(struct durata_orch *o, struct durata_task *t, const char *name, int64_t timeout_ms,
            int64_t tp)
{
    struct dt_name_group *g;
    int64_t ep = dt_orch_event_peek(o, name, &g);
    char msg[300];

    if (ep >= 0 && (tp < 0 || ep < tp)) {
        dt_orch_event_claim(o, g);
        t->done = true;
        t->pos = ep;
        t->result = o->ev[ep]->input;
        return t;
    }
    if (tp < 0)
        return t;
    snprintf(msg, sizeof(msg), "no event \"%s\" arrived within %lld ms", name,
             (long long)timeout_ms);
    t = task_fail_own(o, t, "TimeoutError", msg, false);
    if (t != &o->spare)
        t->pos = tp;
    return t;
}

struct durata_task *
durata_wait_event(struct durata_orch *o, const char *name, int64_t timeout_ms)
{
    struct dt_want w = {.kind = DT_ACT_CREATE_TIMER};
    struct durata_task *t;
    int64_t tp = DT_POS_NEW;

    if (!o)
        return NULL;
    if (dt_orch_is_stopped(o))
        return &o->spare;
    if (!name || !*name)
        return task_invalid(o, "wait_event: the event name is missing");
    if (timeout_ms >= 0 && !dt_orch_take_id(o, &w.id))
        return &o->spare;
    t = task_new(o, DT_TASK_EVENT);
    if (t == &o->spare)
        return t;
    if (timeout_ms >= 0) {
        t->id = w.id;
        w.fire_at_ms = add_saturated(durata_orch_now(o), timeout_ms);
        tp = attempt(o, &w);
        if (tp == DT_POS_STOP)
            return &o->spare;
    }
    return wait_decide(o, t, name, timeout_ms, tp);
}

void
durata_send_event(struct durata_orch *o, const char *instance_id, const char *name,
                  const char *data)
{
    struct dt_want w = {
        .kind = DT_ACT_SEND_EVENT, .name = name, .instance_id = instance_id, .input = data};
    const char *problem;

    if (!o || dt_orch_is_stopped(o))
        return;
    if (!instance_id || !*instance_id || !name || !*name) {
        dt_orch_stop(o, "ArgumentError",
                     "send_event: the target instance and event name are required");
        return;
    }
    problem = payload_problem(o, data);
    if (dt_orch_is_stopped(o))
        return;
    if (problem) {
        dt_orch_stop(o, "ArgumentError", "send_event \"%s\": the data %s (limit %zu bytes)", name,
                     problem, o->in->max_payload_bytes);
        return;
    }
    if (dt_orch_take_id(o, &w.id))
        (void)dt_orch_schedule(o, &w);
}

/* NULL when tasks[0..n) are tasks of o, else the failed task. */
static struct durata_task *
check_tasks(struct durata_orch *o, struct durata_task **tasks, size_t n, const char *what)
{
    if (n > 0 && !tasks)
        return task_invalid(o, "%s: the task array is missing", what);
    for (size_t i = 0; i < n; i++)
        if (!tasks[i] || tasks[i]->owner != o)
            return task_invalid(o, "%s: task %zu is missing or belongs to another orchestration",
                                what, i);
    return NULL;
}

/* The value of a task's result text: JSON null for no result or for text
 * that is not JSON (the engine validates results, so that is a corrupt
 * history); NULL only when out of memory. */
static json_t *
result_value(const char *text)
{
    json_error_t err;
    json_t *v;

    if (!text)
        return json_null();
    v = json_loads(text, JSON_DECODE_ANY, &err);
    if (v)
        return v;
    return json_error_code(&err) == json_error_out_of_memory ? NULL : json_null();
}

/* The results of tasks[0..n) as a JSON array text (malloc'd; NULL on OOM). */
static char *
results_array(struct durata_task **tasks, size_t n)
{
    json_t *arr = json_array();
    char *text = NULL;

    if (!arr)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *v = result_value(tasks[i]->result);

        if (!v || json_array_append_new(arr, v) != 0)
            goto out_free;
    }
    text = dt_json_text(arr);
out_free:
    json_decref(arr);
    return text;
}

struct durata_task *
durata_when_all(struct durata_orch *o, struct durata_task **tasks, size_t n)
{
    const struct durata_task *failed = NULL;
    struct durata_task *t;
    int64_t last = -1;

    if (!o)
        return NULL;
    if (dt_orch_is_stopped(o))
        return &o->spare;
    t = check_tasks(o, tasks, n, "when_all");
    if (t)
        return t;
    t = task_new(o, DT_TASK_ALL);
    if (t == &o->spare)
        return t;
    for (size_t i = 0; i < n; i++) {
        if (!tasks[i]->done)
            return t;
        if (tasks[i]->failed && !failed)
            failed = tasks[i];
        if (tasks[i]->pos > last)
            last = tasks[i]->pos;
    }
    t->done = true;
    t->pos = last;
    if (failed) {
        t->failed = true;
        t->failure = failed->failure;
        return t;
    }
    t->own_result = results_array(tasks, n);
    if (!t->own_result) {
        dt_orch_oom(o);
        return &o->spare;
    }
    t->result = t->own_result;
    return t;
}

struct durata_task *
durata_when_any(struct durata_orch *o, struct durata_task **tasks, size_t n)
{
    struct durata_task *t;
    size_t winner = SIZE_MAX;

    if (!o)
        return NULL;
    if (dt_orch_is_stopped(o))
        return &o->spare;
    if (n == 0)
        return task_invalid(o, "when_any: no tasks");
    t = check_tasks(o, tasks, n, "when_any");
    if (t)
        return t;
    t = task_new(o, DT_TASK_ANY);
    if (t == &o->spare)
        return t;
    for (size_t i = 0; i < n; i++)
        if (tasks[i]->done && (winner == SIZE_MAX || tasks[i]->pos < tasks[winner]->pos))
            winner = i;
    if (winner == SIZE_MAX)
        return t;
    t->own_result = malloc(24);
    if (!t->own_result) {
        dt_orch_oom(o);
        return &o->spare;
    }
    snprintf(t->own_result, 24, "%zu", winner);
    t->result = t->own_result;
    t->done = true;
    t->pos = tasks[winner]->pos;
    return t;
}

bool
durata_await(struct durata_orch *o, struct durata_task *t)
{
    if (!o || !t || dt_orch_is_stopped(o))
        return false;
    if (t->owner != o) {
        dt_orch_stop(o, "ArgumentError", "durata_await: the task belongs to another orchestration");
        return false;
    }
    if (!t->done)
        return false;
    if (t->pos > o->cursor)
        o->cursor = t->pos;
    return true;
}

bool
durata_task_is_failed(const struct durata_task *t)
{
    return t && t->failed;
}

const char *
durata_task_result(const struct durata_task *t)
{
    return t && t->done && !t->failed ? t->result : NULL;
}

const struct durata_failure *
durata_task_failure(const struct durata_task *t)
{
    return t && t->failed ? t->failure : NULL;
}
