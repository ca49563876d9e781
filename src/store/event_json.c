/*
 * event_json.c — the JSON text form of history events and failures.
 *
 * Owns: the mapping between struct dt_event and the DTFx-shaped object
 * stored by every backend. One table says which fields each event type
 * carries; the encoder writes exactly those (NULL strings are left out) and
 * the decoder reads exactly those, so the two cannot drift apart.
 * Field names: EventType (the type's name), EventId, Timestamp (ISO text
 * with 7 fractional digits), Name, Version, Input, Result, InstanceId,
 * ExecutionId, TaskScheduledId, TimerId, FireAt, ScheduledStartTime,
 * OrchestrationStatus (status name), FailureDetails {ErrorType,
 * ErrorMessage, StackTrace, IsNonRetriable}, ParentInstance {InstanceId,
 * ExecutionId, Name, TaskScheduledId}, Recurse; the input of
 * ExecutionSuspended/Resumed/Rewound is written as "Reason" and that of
 * GenericEvent as "Data", as DTFx names them.
 * Decoding trusts nothing: text that is not JSON gives DURATA_EJSON; JSON of
 * the wrong shape (unknown EventType, a field of the wrong type, a number
 * out of range, a bad timestamp) gives DURATA_ECORRUPT.
 * Threading: plain functions; no state.
 */
#include "store/codec.h"
#include "store/event.h"

#include "base/buf.h"
#include "base/json.h"
#include "base/time.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum field {
    F_NAME = 1u << 0,
    F_VERSION = 1u << 1,
    F_INPUT = 1u << 2,  /* e->input as "Input" */
    F_REASON = 1u << 3, /* e->input as "Reason" */
    F_DATA = 1u << 4,   /* e->input as "Data" */
    F_RESULT = 1u << 5,
    F_INSTANCE = 1u << 6,
    F_EXECUTION = 1u << 7,
    F_TASK = 1u << 8,  /* e->task_id as "TaskScheduledId" */
    F_TIMER = 1u << 9, /* e->task_id as "TimerId" */
    F_FIRE_AT = 1u << 10,
    F_SCHED = 1u << 11,
    F_STATUS = 1u << 12,
    F_FAILURE = 1u << 13,
    F_PARENT = 1u << 14,
    F_RECURSE = 1u << 15,
};

struct type_fields {
    enum durata_event_type type;
    unsigned fields;
};

/* The table of event.h, one row per type. */
static const struct type_fields type_table[] = {
    {DURATA_EV_EXECUTION_STARTED,
     F_NAME | F_VERSION | F_INPUT | F_INSTANCE | F_EXECUTION | F_SCHED | F_PARENT},
    {DURATA_EV_EXECUTION_COMPLETED, F_STATUS | F_RESULT | F_FAILURE},
    {DURATA_EV_EXECUTION_TERMINATED, F_INPUT | F_RECURSE},
    {DURATA_EV_TASK_SCHEDULED, F_NAME | F_VERSION | F_INPUT},
    {DURATA_EV_TASK_COMPLETED, F_TASK | F_RESULT},
    {DURATA_EV_TASK_FAILED, F_TASK | F_FAILURE},
    {DURATA_EV_SUB_ORCHESTRATION_CREATED, F_NAME | F_VERSION | F_INSTANCE | F_INPUT},
    {DURATA_EV_SUB_ORCHESTRATION_COMPLETED, F_TASK | F_RESULT},
    {DURATA_EV_SUB_ORCHESTRATION_FAILED, F_TASK | F_FAILURE},
    {DURATA_EV_TIMER_CREATED, F_FIRE_AT},
    {DURATA_EV_TIMER_FIRED, F_FIRE_AT | F_TIMER},
    {DURATA_EV_ORCHESTRATOR_STARTED, 0},
    {DURATA_EV_ORCHESTRATOR_COMPLETED, 0},
    {DURATA_EV_EVENT_SENT, F_INSTANCE | F_NAME | F_INPUT},
    {DURATA_EV_EVENT_RAISED, F_NAME | F_INPUT},
    {DURATA_EV_CONTINUE_AS_NEW, F_INPUT},
    {DURATA_EV_GENERIC, F_DATA},
    {DURATA_EV_EXECUTION_SUSPENDED, F_REASON},
    {DURATA_EV_EXECUTION_RESUMED, F_REASON},
    {DURATA_EV_EXECUTION_REWOUND, F_REASON},
};

static const struct type_fields *
type_by_value(enum durata_event_type t)
{
    for (size_t i = 0; i < sizeof(type_table) / sizeof(type_table[0]); i++)
        if (type_table[i].type == t)
            return &type_table[i];
    return NULL;
}

static const struct type_fields *
type_by_name(const char *name)
{
    for (size_t i = 0; i < sizeof(type_table) / sizeof(type_table[0]); i++)
        if (strcmp(durata_event_type_name(type_table[i].type), name) == 0)
            return &type_table[i];
    return NULL;
}

/* ---------------------------------------------------------------- encode */

/*
 * The encoder writes the text straight into a buffer instead of building a
 * jansson object and dumping it (that was a tenth of the engine's CPU): the
 * output is byte for byte jansson's compact dump of the same object, members
 * in the order written, strings escaped as jansson escapes them (" \ and
 * control characters; UTF-8 as is). Text that is not UTF-8 is refused
 * (DURATA_EINVAL), as json_string() refuses it.
 */
struct jw {
    struct dt_buf b;
    int rc;
    bool first; /* no member yet in the innermost object */
};

static void
jw_raw(struct jw *w, const char *s, size_t n)
{
    if (w->rc == 0)
        w->rc = dt_buf_append(&w->b, s, n);
}

/* A member's key: one of the encoder's own names, which need no escapes. */
static void
jw_key(struct jw *w, const char *key)
{
    size_t n = strlen(key);
    char *out;

    if (w->rc != 0)
        return;
    if ((w->rc = dt_buf_extend(&w->b, n + 3 + !w->first, &out)) != 0)
        return;
    if (!w->first)
        *out++ = ',';
    w->first = false;
    *out++ = '"';
    memcpy(out, key, n);
    memcpy(out + n, "\":", 2);
}

static void
jw_open(struct jw *w)
{
    jw_raw(w, "{", 1);
    w->first = true;
}

static void
jw_close(struct jw *w)
{
    jw_raw(w, "}", 1);
    w->first = false;
}

/* A string member unless s is NULL. */
static void
jw_str(struct jw *w, const char *key, const char *s)
{
    if (!s || w->rc < 0)
        return;
    jw_key(w, key);
    if (w->rc == 0)
        w->rc = dt_json_append_utf8(&w->b, s);
}

static void
jw_int(struct jw *w, const char *key, int64_t n)
{
    char text[24], *p = text + sizeof(text);
    uint64_t u = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;

    do
        *--p = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (n < 0)
        *--p = '-';
    jw_key(w, key);
    jw_raw(w, p, (size_t)(text + sizeof(text) - p));
}

static void
jw_time(struct jw *w, const char *key, int64_t ms)
{
    char text[DT_TIME_TEXT_MAX];

    dt_time_format_7(ms, text, sizeof(text));
    jw_str(w, key, text);
}

static void
jw_failure(struct jw *w, const struct durata_failure *f)
{
    jw_open(w);
    jw_str(w, "ErrorType", f->error_type);
    jw_str(w, "ErrorMessage", f->message);
    jw_str(w, "StackTrace", f->details);
    jw_key(w, "IsNonRetriable");
    jw_raw(w, f->non_retriable ? "true" : "false", f->non_retriable ? 4 : 5);
    jw_close(w);
}

static void
jw_parent(struct jw *w, const struct dt_event *e)
{
    if (!e->parent_instance_id)
        return;
    jw_key(w, "ParentInstance");
    jw_open(w);
    jw_str(w, "InstanceId", e->parent_instance_id);
    jw_str(w, "ExecutionId", e->parent_execution_id);
    jw_str(w, "Name", e->parent_name);
    jw_int(w, "TaskScheduledId", e->parent_task_id);
    jw_close(w);
}

/* The input field under the key the type gives it. */
static const char *
input_key(unsigned fields)
{
    if (fields & F_REASON)
        return "Reason";
    if (fields & F_DATA)
        return "Data";
    if (fields & F_INPUT)
        return "Input";
    return NULL;
}

static void
jw_fields(struct jw *w, const struct dt_event *e, unsigned f)
{
    const char *ikey = input_key(f);

    if (f & F_NAME)
        jw_str(w, "Name", e->name);
    if (f & F_VERSION)
        jw_str(w, "Version", e->version);
    if (ikey)
        jw_str(w, ikey, e->input);
    if (f & F_INSTANCE)
        jw_str(w, "InstanceId", e->instance_id);
    if (f & F_EXECUTION)
        jw_str(w, "ExecutionId", e->execution_id);
    if (f & F_TASK)
        jw_int(w, "TaskScheduledId", e->task_id);
    if (f & F_TIMER)
        jw_int(w, "TimerId", e->task_id);
    if (f & F_FIRE_AT)
        jw_time(w, "FireAt", e->fire_at_ms);
    if ((f & F_SCHED) && e->scheduled_start_ms != 0)
        jw_time(w, "ScheduledStartTime", e->scheduled_start_ms);
    if (f & F_STATUS)
        jw_str(w, "OrchestrationStatus", durata_status_name(e->status));
    if (f & F_RESULT)
        jw_str(w, "Result", e->result);
    if ((f & F_FAILURE) && e->failure) {
        jw_key(w, "FailureDetails");
        jw_failure(w, e->failure);
    }
    if (f & F_PARENT)
        jw_parent(w, e);
    if ((f & F_RECURSE) && e->recurse) {
        jw_key(w, "Recurse");
        jw_raw(w, "true", 4);
    }
}

/* Hands the text over (or the error), releasing the buffer. */
static int
jw_finish(struct jw *w, char **out)
{
    if (w->rc == 0 && !(*out = dt_buf_detach(&w->b)))
        w->rc = DURATA_ENOMEM;
    dt_buf_release(&w->b);
    return w->rc;
}

/* Writes e as a JSON object into w's buffer (after what it holds). */
static void
jw_event(struct jw *w, const struct dt_event *e, const struct type_fields *tf)
{
    jw_open(w);
    jw_str(w, "EventType", durata_event_type_name(e->type));
    jw_int(w, "EventId", e->event_id);
    jw_time(w, "Timestamp", e->timestamp_ms);
    jw_fields(w, e, tf->fields);
    jw_close(w);
}

int
dt_event_encode(const struct dt_event *e, char **out)
{
    const struct type_fields *tf;
    struct jw w = {.rc = 0};

    *out = NULL;
    if (e && e->encoded) {
        *out = strdup(e->encoded);
        return *out ? 0 : DURATA_ENOMEM;
    }
    if (!e || !(tf = type_by_value(e->type)))
        return DURATA_EINVAL;
    dt_buf_init(&w.b, 0);
    jw_event(&w, e, tf);
    return jw_finish(&w, out);
}

char *
dt_event_to_json(const struct dt_event *e)
{
    char *out;

    if (dt_event_encode(e, &out) < 0)
        return NULL;
    return out;
}

int
dt_failure_encode(const struct durata_failure *f, char **out)
{
    struct jw w = {.rc = 0};

    *out = NULL;
    if (!f)
        return 0;
    dt_buf_init(&w.b, 0);
    jw_failure(&w, f);
    return jw_finish(&w, out);
}

/* ---------------------------------------------------------------- decode */

/* Reads an optional string member into *dst (absent or null: NULL). */
static int
get_str(const json_t *o, const char *key, char **dst)
{
    json_t *v = json_object_get(o, key);

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return DURATA_ECORRUPT;
    *dst = dt_strdup_opt(json_string_value(v));
    return *dst ? 0 : DURATA_ENOMEM;
}

static int
get_i32(const json_t *o, const char *key, int32_t *dst)
{
    json_t *v = json_object_get(o, key);
    json_int_t n;

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return DURATA_ECORRUPT;
    n = json_integer_value(v);
    if (n < INT32_MIN || n > INT32_MAX)
        return DURATA_ECORRUPT;
    *dst = (int32_t)n;
    return 0;
}

static int
get_time(const json_t *o, const char *key, int64_t *dst)
{
    json_t *v = json_object_get(o, key);

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || dt_time_parse(json_string_value(v), dst) < 0)
        return DURATA_ECORRUPT;
    return 0;
}

static int
get_bool(const json_t *o, const char *key, bool *dst)
{
    json_t *v = json_object_get(o, key);

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return DURATA_ECORRUPT;
    *dst = json_is_true(v);
    return 0;
}

static int
get_status(const json_t *o, enum durata_status *dst)
{
    json_t *v = json_object_get(o, "OrchestrationStatus");
    int s;

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || (s = durata_status_parse(json_string_value(v))) < 0)
        return DURATA_ECORRUPT;
    *dst = (enum durata_status)s;
    return 0;
}

static int
failure_from_object(const json_t *o, struct durata_failure **out)
{
    struct durata_failure *f;
    int rc;

    if (!json_is_object(o))
        return DURATA_ECORRUPT;
    f = calloc(1, sizeof(*f));
    if (!f)
        return DURATA_ENOMEM;
    if ((rc = get_str(o, "ErrorType", &f->error_type)) < 0 ||
        (rc = get_str(o, "ErrorMessage", &f->message)) < 0 ||
        (rc = get_str(o, "StackTrace", &f->details)) < 0 ||
        (rc = get_bool(o, "IsNonRetriable", &f->non_retriable)) < 0) {
        durata_failure_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

static int
get_failure(const json_t *o, struct durata_failure **dst)
{
    json_t *v = json_object_get(o, "FailureDetails");

    if (!v || json_is_null(v))
        return 0;
    return failure_from_object(v, dst);
}

static int
get_parent(const json_t *o, struct dt_event *e)
{
    json_t *p = json_object_get(o, "ParentInstance");
    int rc;

    if (!p || json_is_null(p))
        return 0;
    if (!json_is_object(p))
        return DURATA_ECORRUPT;
    if ((rc = get_str(p, "InstanceId", &e->parent_instance_id)) < 0 ||
        (rc = get_str(p, "ExecutionId", &e->parent_execution_id)) < 0 ||
        (rc = get_str(p, "Name", &e->parent_name)) < 0 ||
        (rc = get_i32(p, "TaskScheduledId", &e->parent_task_id)) < 0)
        return rc;
    return 0;
}

static int
get_fields(const json_t *o, struct dt_event *e, unsigned f)
{
    const char *ikey = input_key(f);
    int rc = 0;

    if (((f & F_NAME) && (rc = get_str(o, "Name", &e->name)) < 0) ||
        ((f & F_VERSION) && (rc = get_str(o, "Version", &e->version)) < 0) ||
        (ikey && (rc = get_str(o, ikey, &e->input)) < 0) ||
        ((f & F_INSTANCE) && (rc = get_str(o, "InstanceId", &e->instance_id)) < 0) ||
        ((f & F_EXECUTION) && (rc = get_str(o, "ExecutionId", &e->execution_id)) < 0) ||
        ((f & F_TASK) && (rc = get_i32(o, "TaskScheduledId", &e->task_id)) < 0) ||
        ((f & F_TIMER) && (rc = get_i32(o, "TimerId", &e->task_id)) < 0) ||
        ((f & F_FIRE_AT) && (rc = get_time(o, "FireAt", &e->fire_at_ms)) < 0) ||
        ((f & F_SCHED) && (rc = get_time(o, "ScheduledStartTime", &e->scheduled_start_ms)) < 0) ||
        ((f & F_STATUS) && (rc = get_status(o, &e->status)) < 0) ||
        ((f & F_RESULT) && (rc = get_str(o, "Result", &e->result)) < 0) ||
        ((f & F_FAILURE) && (rc = get_failure(o, &e->failure)) < 0) ||
        ((f & F_PARENT) && (rc = get_parent(o, e)) < 0) ||
        ((f & F_RECURSE) && (rc = get_bool(o, "Recurse", &e->recurse)) < 0))
        return rc;
    return 0;
}

/* Parses text as one JSON object: DURATA_EJSON when it is not JSON,
 * DURATA_ECORRUPT when it is JSON but not an object. */
static int
load_object(const char *text, json_t **out)
{
    json_error_t err;
    json_t *o;

    if (!text)
        return DURATA_EJSON;
    o = json_loads(text, JSON_DECODE_ANY, &err);
    if (!o)
        return DURATA_EJSON;
    if (!json_is_object(o)) {
        json_decref(o);
        return DURATA_ECORRUPT;
    }
    *out = o;
    return 0;
}

/* The event's type from the object; DURATA_ECORRUPT when absent/unknown. */
static const struct type_fields *
object_type(const json_t *o)
{
    json_t *v = json_object_get(o, "EventType");

    if (!json_is_string(v))
        return NULL;
    return type_by_name(json_string_value(v));
}

int
dt_event_from_value(const json_t *o, struct dt_event **out)
{
    const struct type_fields *tf;
    struct dt_event *e;
    int rc;

    if (!json_is_object(o))
        return DURATA_ECORRUPT;
    if (!(tf = object_type(o)))
        return DURATA_ECORRUPT;
    if (!(e = dt_event_new(tf->type, 0)))
        return DURATA_ENOMEM;
    if ((rc = get_i32(o, "EventId", &e->event_id)) < 0 ||
        (rc = get_time(o, "Timestamp", &e->timestamp_ms)) < 0 ||
        (rc = get_fields(o, e, tf->fields)) < 0) {
        dt_event_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

int
dt_event_from_json(const char *json, struct dt_event **out)
{
    json_t *o;
    int rc;

    if (!out)
        return DURATA_EINVAL;
    if ((rc = load_object(json, &o)) < 0)
        return rc;
    rc = dt_event_from_value(o, out);
    json_decref(o);
    return rc;
}

int
dt_failure_decode(const char *text, struct durata_failure **out)
{
    json_t *o;
    int rc;

    *out = NULL;
    if (!text)
        return 0;
    if ((rc = load_object(text, &o)) < 0)
        return rc;
    rc = failure_from_object(o, out);
    json_decref(o);
    return rc;
}

void
dt_event_precode(struct dt_event *e)
{
    if (e && !e->encoded && dt_event_encode(e, &e->encoded) < 0)
        e->encoded = NULL;
}

int
dt_event_list_encode(const struct dt_event_list *l, char **out)
{
    const struct type_fields *tf;
    struct jw w = {.rc = 0};
    size_t size = 2;

    /* Precoded events are copied; the others are written in place, all
     * into one buffer sized for a typical event's few hundred bytes. */
    for (size_t i = 0; i < l->count; i++)
        size += (l->items[i]->encoded ? strlen(l->items[i]->encoded) : 384) + 1;
    dt_buf_init(&w.b, 0);
    w.rc = dt_buf_reserve(&w.b, size);
    jw_raw(&w, "[", 1);
    for (size_t i = 0; i < l->count && w.rc == 0; i++) {
        const struct dt_event *e = l->items[i];
        if (i)
            jw_raw(&w, ",", 1);
        if (e->encoded)
            jw_raw(&w, e->encoded, strlen(e->encoded));
        else if ((tf = type_by_value(e->type)))
            jw_event(&w, e, tf);
        else
            w.rc = DURATA_EINVAL;
    }
    jw_raw(&w, "]", 1);
    return jw_finish(&w, out);
}
