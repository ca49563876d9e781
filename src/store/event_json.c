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

#include "base/json.h"
#include "base/time.h"

#include <jansson.h>
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

/* true when s is well-formed UTF-8 (no overlongs, surrogates or code
 * points past U+10FFFF), the only text jansson accepts. */
static bool
utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        unsigned c = *p++, n, cp;

        if (c < 0x80)
            continue;
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, cp = c & 0x07;
        else
            return false;
        for (unsigned i = 0; i < n; i++, p++) {
            if ((*p & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (*p & 0x3f);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
    }
    return true;
}

/* Sets key to a string value unless s is NULL. json_string refuses text
 * that is not UTF-8: that is the caller's bad input, not memory. */
static int
put_str(json_t *o, const char *key, const char *s)
{
    json_t *v;

    if (!s)
        return 0;
    v = json_string(s);
    if (!v)
        return utf8_valid(s) ? DURATA_ENOMEM : DURATA_EINVAL;
    return json_object_set_new(o, key, v) == 0 ? 0 : DURATA_ENOMEM;
}

static int
put_int(json_t *o, const char *key, int64_t n)
{
    return json_object_set_new(o, key, json_integer(n)) == 0 ? 0 : DURATA_ENOMEM;
}

static int
put_time(json_t *o, const char *key, int64_t ms)
{
    char text[DT_TIME_TEXT_MAX];

    dt_time_format_7(ms, text, sizeof(text));
    return put_str(o, key, text);
}

static json_t *
failure_object(const struct durata_failure *f, int *rc)
{
    json_t *o = json_object();

    *rc = DURATA_ENOMEM;
    if (!o)
        return NULL;
    if ((*rc = put_str(o, "ErrorType", f->error_type)) < 0 ||
        (*rc = put_str(o, "ErrorMessage", f->message)) < 0 ||
        (*rc = put_str(o, "StackTrace", f->details)) < 0)
        goto out_free;
    *rc = DURATA_ENOMEM;
    if (json_object_set_new(o, "IsNonRetriable", json_boolean(f->non_retriable)) != 0)
        goto out_free;
    *rc = 0;
    return o;

out_free:
    json_decref(o);
    return NULL;
}

static int
put_failure(json_t *o, const struct durata_failure *f)
{
    json_t *fo;
    int rc;

    if (!f)
        return 0;
    fo = failure_object(f, &rc);
    if (!fo)
        return rc;
    return json_object_set_new(o, "FailureDetails", fo) == 0 ? 0 : DURATA_ENOMEM;
}

static int
put_parent(json_t *o, const struct dt_event *e)
{
    json_t *p;
    int rc;

    if (!e->parent_instance_id)
        return 0;
    p = json_object();
    if (!p)
        return DURATA_ENOMEM;
    if ((rc = put_str(p, "InstanceId", e->parent_instance_id)) < 0 ||
        (rc = put_str(p, "ExecutionId", e->parent_execution_id)) < 0 ||
        (rc = put_str(p, "Name", e->parent_name)) < 0 ||
        (rc = put_int(p, "TaskScheduledId", e->parent_task_id)) < 0) {
        json_decref(p);
        return rc;
    }
    return json_object_set_new(o, "ParentInstance", p) == 0 ? 0 : DURATA_ENOMEM;
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

static int
put_fields(json_t *o, const struct dt_event *e, unsigned f)
{
    const char *ikey = input_key(f);
    int rc = 0;

    if ((f & F_NAME) && (rc = put_str(o, "Name", e->name)) < 0)
        return rc;
    if ((f & F_VERSION) && (rc = put_str(o, "Version", e->version)) < 0)
        return rc;
    if (ikey && (rc = put_str(o, ikey, e->input)) < 0)
        return rc;
    if ((f & F_INSTANCE) && (rc = put_str(o, "InstanceId", e->instance_id)) < 0)
        return rc;
    if ((f & F_EXECUTION) && (rc = put_str(o, "ExecutionId", e->execution_id)) < 0)
        return rc;
    if ((f & F_TASK) && (rc = put_int(o, "TaskScheduledId", e->task_id)) < 0)
        return rc;
    if ((f & F_TIMER) && (rc = put_int(o, "TimerId", e->task_id)) < 0)
        return rc;
    if ((f & F_FIRE_AT) && (rc = put_time(o, "FireAt", e->fire_at_ms)) < 0)
        return rc;
    if ((f & F_SCHED) && e->scheduled_start_ms != 0 &&
        (rc = put_time(o, "ScheduledStartTime", e->scheduled_start_ms)) < 0)
        return rc;
    if ((f & F_STATUS) &&
        (rc = put_str(o, "OrchestrationStatus", durata_status_name(e->status))) < 0)
        return rc;
    if ((f & F_RESULT) && (rc = put_str(o, "Result", e->result)) < 0)
        return rc;
    if ((f & F_FAILURE) && (rc = put_failure(o, e->failure)) < 0)
        return rc;
    if ((f & F_PARENT) && (rc = put_parent(o, e)) < 0)
        return rc;
    if ((f & F_RECURSE) && e->recurse && json_object_set_new(o, "Recurse", json_true()) != 0)
        return DURATA_ENOMEM;
    return 0;
}

/* Takes o: dumps it compactly into *out and releases it. */
static int
dump_take(json_t *o, char **out)
{
    *out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return *out ? 0 : DURATA_ENOMEM;
}

int
dt_event_encode(const struct dt_event *e, char **out)
{
    const struct type_fields *tf;
    json_t *o;
    int rc;

    *out = NULL;
    if (e && e->encoded) {
        *out = strdup(e->encoded);
        return *out ? 0 : DURATA_ENOMEM;
    }
    if (!e || !(tf = type_by_value(e->type)))
        return DURATA_EINVAL;
    o = json_object();
    if (!o)
        return DURATA_ENOMEM;
    if ((rc = put_str(o, "EventType", durata_event_type_name(e->type))) < 0 ||
        (rc = put_int(o, "EventId", e->event_id)) < 0 ||
        (rc = put_time(o, "Timestamp", e->timestamp_ms)) < 0 ||
        (rc = put_fields(o, e, tf->fields)) < 0) {
        json_decref(o);
        return rc;
    }
    return dump_take(o, out);
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
    json_t *o;
    int rc;

    *out = NULL;
    if (!f)
        return 0;
    o = failure_object(f, &rc);
    if (!o)
        return rc;
    return dump_take(o, out);
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
