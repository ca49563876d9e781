/*
 * jobs.c — the job orchestration "durata.Job", dt_jobs_register() and the
 * demo job types (see jobs.h).
 *
 * Orchestration input (JSON object, as POST /api/jobs stores it):
 *   {"job_type": string, "customer_id": string|null, "payload": any|null, ...}
 * Other members (the job API keeps "request_hash" there) are ignored. The
 * input is read without parsing (dt_json_member): the texts of
 * customer_id and payload go into the handler's input as they are written
 * in it (jansson's compact text, for inputs the job API stored).
 *
 * Retries: the orchestrator runs the retry loop itself, with durable timers,
 * instead of handing the policy to the runtime, because the handler must
 * see which attempt it is on: attempt k gets the input
 *   {"job_id","job_type","customer_id","payload","attempt": k}
 * and a runtime retry would replay the first attempt's input. Attempt k
 * failing retriably is followed by a timer of
 *   min(first_interval_ms * backoff_coefficient^(k-1), max_interval_ms)
 * unless k is the policy's max_attempts (0 or 1: a single attempt), the
 * failure is non-retriable, or the timer would end after the first attempt's
 * time plus timeout_ms. Everything is decided from the recorded history, so
 * replays agree.
 *
 * Interruptions: a handler that stops because its worker is stopping (or
 * lost its lease) fails with error type DT_JOB_INTERRUPTED ("Interrupted");
 * the job then runs the same attempt again at once, without counting it
 * and without backoff, at most DT_JOB_MAX_INTERRUPTIONS times. A server
 * restarted after SIGTERM thus resumes a sleep job rather than failing it.
 *
 * Custom status: {"state":"running","jobType":<type>,"attempt":k}, set
 * before each attempt (the job API reads "attempt" as the attempt count);
 * "state" becomes "completed" or "failed" when the job ends that way (a
 * terminated job keeps the last one).
 * The instance completes with the handler's result, or fails with the last
 * failure (type, message, details) of the handler. Bad input fails with
 * "InvalidInput", an unregistered job type with "UnknownJobType".
 *
 * State: none in the process. The orchestrator's registration argument is
 * the caller's struct dt_job_set (the types and their count), which it
 * only reads; each hub thus has its own job types.
 * Demo types: "echo" returns the payload; "sleep" sleeps payload "ms"
 * (at most one hour) in 20 ms slices, checking durata_activity_is_cancelled
 * between them, and returns {"slept_ms": n}; "fail" fails with "JobFailed"
 * (message from payload "message", non-retriable unless payload
 * {"retriable": true}; 3 attempts 1 s then 2 s apart); "thumbnail" sleeps
 * payload "render_ms" (default 1500, at most 60000) to look like work and
 * returns {"artifactUrl": "https://example.invalid/jobs/<job_id>.json"}
 * (3 attempts). A bad payload fails non-retriably with "InvalidPayload".
 * Threading: the orchestrator runs on orchestration threads and only reads
 * its input, the table and the deterministic clock; the handlers keep no
 * state.
 */
#include "workers/jobs.h"

#include "base/buf.h"
#include "base/json.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DT_JOB_INTERRUPTED "Interrupted"
#define DT_JOB_MAX_INTERRUPTIONS 100
#define DT_JOB_TYPE_NAME_MAX 128
#define DT_JOB_ACTIVITY_PREFIX "job:"

static const struct dt_job_type *
job_set_find(const struct dt_job_set *set, const char *name)
{
    size_t i;

    for (i = 0; i < set->n; i++)
        if (strcmp(set->types[i].name, name) == 0)
            return &set->types[i];
    return NULL;
}

/* ------------------------------------------------------------ the job */

struct job_run {
    struct durata_orch *o;
    const struct dt_job_type *type;
    /* The members of the orchestration input, as text inside it (or inside
     * `normal`); len 0 when absent. */
    struct dt_json_span customer_id, payload;
    char *normal; /* jansson's text of an input written with escaped keys (owned) */
    char activity[DT_JOB_TYPE_NAME_MAX + sizeof(DT_JOB_ACTIVITY_PREFIX)];
    int64_t first_ms; /* deterministic time of the first attempt */
};

/* Delay after failed attempt k (1-based) under policy p. */
static int64_t
job_backoff_ms(const struct durata_retry_policy *p, int k)
{
    double coef = p->backoff_coefficient < 1.0 ? 1.0 : p->backoff_coefficient;
    double d = (double)p->first_interval_ms * pow(coef, (double)(k - 1));

    if (!isfinite(d) || d > 9.0e15)
        d = 9.0e15;
    if (p->max_interval_ms > 0 && d > (double)p->max_interval_ms)
        d = (double)p->max_interval_ms;
    return d < 0 ? 0 : (int64_t)d;
}

static int
job_max_attempts(const struct durata_retry_policy *p)
{
    if (p->max_attempts <= 1)
        return 1;
    return p->max_attempts > DURATA_MAX_RETRY_ATTEMPTS ? DURATA_MAX_RETRY_ATTEMPTS
                                                       : p->max_attempts;
}

/* Appends `,"key":` (key needs no escaping) then the member's text (null
 * when absent). */
static int
append_member(struct dt_buf *b, const char *key, struct dt_json_span v)
{
    int rc;

    if ((rc = dt_buf_appends(b, ",\"")) < 0 || (rc = dt_buf_appends(b, key)) < 0 ||
        (rc = dt_buf_appends(b, "\":")) < 0)
        return rc;
    return v.len ? dt_buf_append(b, v.text, v.len) : dt_buf_append(b, "null", 4);
}

/* Appends `,"attempt":k}`, the last member of the texts below (each replay
 * writes them again, so no printf). */
static int
append_attempt_end(struct dt_buf *b, int k)
{
    int rc;

    if ((rc = dt_buf_appends(b, ",\"attempt\":")) < 0 || (rc = dt_buf_append_int(b, k)) < 0)
        return rc;
    return dt_buf_append(b, "}", 1);
}

/* The activity of job type `type` (at most DT_JOB_TYPE_NAME_MAX bytes,
 * checked at registration): DT_JOB_ACTIVITY_PREFIX + type, into out. */
static void
activity_name(char out[DT_JOB_TYPE_NAME_MAX + sizeof(DT_JOB_ACTIVITY_PREFIX)], const char *type)
{
    size_t n = strnlen(type, DT_JOB_TYPE_NAME_MAX);

    memcpy(out, DT_JOB_ACTIVITY_PREFIX, sizeof(DT_JOB_ACTIVITY_PREFIX) - 1);
    memcpy(out + sizeof(DT_JOB_ACTIVITY_PREFIX) - 1, type, n);
    out[sizeof(DT_JOB_ACTIVITY_PREFIX) - 1 + n] = '\0';
}

/* Sets the custom status {"state":state,"jobType":...,"attempt":k} (the
 * text written directly, as jansson's compact dump would write it: every
 * replay sets it again); false after failing the instance. */
static bool
job_set_state(struct job_run *r, const char *state, int k)
{
    struct dt_buf b;
    int rc;

    dt_buf_init(&b, 0);
    rc = dt_buf_appends(&b, "{\"state\":");
    if (rc == 0 && (rc = dt_json_append_str(&b, state)) == 0 &&
        (rc = dt_buf_appends(&b, ",\"jobType\":")) == 0 &&
        (rc = dt_json_append_str(&b, r->type->name)) == 0)
        rc = append_attempt_end(&b, k);
    if (rc == 0)
        rc = durata_orch_set_custom_status(r->o, b.data);
    dt_buf_release(&b);
    if (rc < 0)
        durata_orch_fail(r->o, "CustomStatusError", "could not set the job's custom status", NULL);
    return rc == 0;
}

/* Sets the custom status and builds the handler's input for attempt k,
 * {"job_id","job_type","customer_id","payload","attempt"} (null for a
 * missing customer_id or payload); NULL (after failing the instance) on
 * error. Caller frees. */
static char *
job_attempt_begin(struct job_run *r, int k)
{
    struct dt_buf b;
    int rc;

    if (!job_set_state(r, "running", k))
        return NULL;
    dt_buf_init(&b, 0);
    rc = dt_buf_appends(&b, "{\"job_id\":");
    if (rc == 0 && (rc = dt_json_append_str(&b, durata_orch_instance_id(r->o))) == 0 &&
        (rc = dt_buf_appends(&b, ",\"job_type\":")) == 0 &&
        (rc = dt_json_append_str(&b, r->type->name)) == 0 &&
        (rc = append_member(&b, "customer_id", r->customer_id)) == 0 &&
        (rc = append_member(&b, "payload", r->payload)) == 0)
        rc = append_attempt_end(&b, k);
    if (rc == 0)
        return dt_buf_detach(&b);
    dt_buf_release(&b);
    durata_orch_fail(r->o, "OutOfMemory", "could not build the handler's input", NULL);
    return NULL;
}

/* Fails the instance with the handler's failure f. */
static void
job_fail_with(struct durata_orch *o, const struct durata_failure *f)
{
    durata_orch_fail(o, f && f->error_type ? f->error_type : "JobFailed",
                     f && f->message ? f->message : "the job's handler failed",
                     f ? f->details : NULL);
}

/* Runs attempt k (again, after interruptions). true with the task in *out
 * once it has a result; false: return *res. */
static bool
job_attempt(struct job_run *r, int k, struct durata_task **out, enum durata_orch_result *res)
{
    struct durata_task *t;
    char *input;

    *res = DURATA_DONE;
    input = job_attempt_begin(r, k);
    if (!input)
        return false;
    t = durata_call_activity(r->o, r->activity, input, NULL);
    free(input);
    if (!durata_await(r->o, t)) {
        *res = DURATA_YIELD;
        return false;
    }
    *out = t;
    return true;
}

/* Decides what follows failed attempt k: true when another attempt is due
 * after *delay_ms; false when the job fails with f. */
static bool
job_should_retry(const struct job_run *r, int k, const struct durata_failure *f, int64_t *delay_ms)
{
    const struct durata_retry_policy *p = &r->type->retry;

    if ((f && f->non_retriable) || k >= job_max_attempts(p))
        return false;
    *delay_ms = job_backoff_ms(p, k);
    if (p->timeout_ms > 0 && durata_orch_now(r->o) + *delay_ms > r->first_ms + p->timeout_ms)
        return false;
    return true;
}

static bool
job_is_interruption(const struct durata_failure *f)
{
    return f && f->error_type && strcmp(f->error_type, DT_JOB_INTERRUPTED) == 0;
}

/* The attempt loop; see the file comment. */
static enum durata_orch_result
job_run_attempts(struct job_run *r)
{
    const struct durata_failure *f;
    enum durata_orch_result res;
    struct durata_task *t, *timer;
    int k = 1, interruptions = 0;
    int64_t delay;

    r->first_ms = durata_orch_now(r->o);
    for (;;) {
        if (!job_attempt(r, k, &t, &res))
            return res;
        if (!durata_task_is_failed(t)) {
            if (job_set_state(r, "completed", k))
                durata_orch_complete(r->o, durata_task_result(t));
            return DURATA_DONE;
        }
        f = durata_task_failure(t);
        if (job_is_interruption(f) && interruptions < DT_JOB_MAX_INTERRUPTIONS) {
            interruptions++;
            continue;
        }
        if (!job_should_retry(r, k, f, &delay)) {
            if (job_set_state(r, "failed", k))
                job_fail_with(r->o, f);
            return DURATA_DONE;
        }
        timer = durata_create_timer(r->o, durata_orch_now(r->o) + delay);
        if (!durata_await(r->o, timer))
            return DURATA_YIELD;
        k++;
    }
}

/* Finds the input's members in text: job_type into *jt, the others into
 * r. -1 when text is not an object or has keys written with escapes. */
static int
job_fields(struct job_run *r, const char *text, struct dt_json_span *jt)
{
    static const char *const keys[] = {"job_type", "customer_id", "payload"};
    struct dt_json_span v[3];
    int rc = dt_json_members(text, keys, 3, v);

    *jt = v[0];
    r->customer_id = v[1];
    r->payload = v[2];
    return rc;
}

static bool
span_is_string(struct dt_json_span v)
{
    return v.len >= 2 && v.text[0] == '"';
}

/* The job type named by the string literal jt; NULL when none is. */
static const struct dt_job_type *
job_find_literal(const struct dt_job_set *set, struct dt_json_span jt, char *name, size_t size)
{
    json_t *v;

    if (!memchr(jt.text, '\\', jt.len)) {
        size_t n = jt.len - 2 < size ? jt.len - 2 : size - 1; /* longer: no type's */
        memcpy(name, jt.text + 1, n);
        name[n] = '\0';
    } else { /* escapes: jansson reads them */
        v = json_loadb(jt.text, jt.len, JSON_DECODE_ANY, NULL);
        snprintf(name, size, "%s", json_is_string(v) ? json_string_value(v) : "");
        json_decref(v);
    }
    return job_set_find(set, name);
}

/* Reads and checks the input into r, without parsing it (the member texts
 * go into the handler's input as they are: the job API stores the input as
 * jansson's compact text); false after failing the instance. */
static bool
job_run_init(struct job_run *r, const struct dt_job_set *set)
{
    const char *in = durata_orch_input(r->o);
    char name[DT_JOB_TYPE_NAME_MAX + 2];
    struct dt_json_span jt;
    json_t *v;
    int rc = -1;

    if (in && (rc = job_fields(r, in, &jt)) < 0 && (v = json_loads(in, 0, NULL))) {
        r->normal = json_is_object(v) ? json_dumps(v, JSON_COMPACT) : NULL; /* keys unescaped */
        json_decref(v);
        rc = r->normal ? job_fields(r, r->normal, &jt) : -1;
    }
    if (rc < 0 || !span_is_string(jt) ||
        (r->customer_id.len && !span_is_string(r->customer_id) &&
         !(r->customer_id.len == 4 && memcmp(r->customer_id.text, "null", 4) == 0))) {
        durata_orch_fail(r->o, "InvalidInput",
                         "the job input must be an object with a string job_type and a string "
                         "or null customer_id",
                         NULL);
        return false;
    }
    r->type = job_find_literal(set, jt, name, sizeof(name));
    if (!r->type) {
        durata_orch_fail(r->o, "UnknownJobType", "no handler is registered for this job type",
                         name);
        return false;
    }
    activity_name(r->activity, r->type->name);
    return true;
}

static enum durata_orch_result
job_orchestrator(struct durata_orch *o, void *arg)
{
    struct job_run r = {.o = o};
    enum durata_orch_result res = DURATA_DONE;

    if (job_run_init(&r, arg))
        res = job_run_attempts(&r);
    free(r.normal);
    return res;
}

/* ------------------------------------------------------------ registration */

static bool
job_type_is_valid(const struct dt_job_type *t)
{
    const struct durata_retry_policy *p = &t->retry;
    size_t len;

    if (!t->name || !t->handler)
        return false;
    len = strlen(t->name);
    if (len == 0 || len > DT_JOB_TYPE_NAME_MAX)
        return false;
    if (p->max_attempts < 0 || p->max_attempts > DURATA_MAX_RETRY_ATTEMPTS)
        return false;
    if (p->first_interval_ms < 0 || p->max_interval_ms < 0 || p->timeout_ms < 0)
        return false;
    if (p->max_attempts > 1 && p->first_interval_ms <= 0)
        return false;
    return !(p->backoff_coefficient != 0 &&
             (!isfinite(p->backoff_coefficient) || p->backoff_coefficient < 1.0));
}

static bool
job_types_are_valid(const struct dt_job_type *types, size_t n)
{
    size_t i, j;

    for (i = 0; i < n; i++) {
        if (!job_type_is_valid(&types[i]))
            return false;
        for (j = 0; j < i; j++)
            if (strcmp(types[i].name, types[j].name) == 0)
                return false;
    }
    return true;
}

int
dt_jobs_register(struct durata_hub *hub, const struct dt_job_set *set)
{
    char name[DT_JOB_TYPE_NAME_MAX + sizeof(DT_JOB_ACTIVITY_PREFIX)];
    const struct dt_job_type *t;
    size_t i;
    int rc;

    if (!hub || !set || (set->n && !set->types) || !job_types_are_valid(set->types, set->n))
        return DURATA_EINVAL;
    /* The runtime passes the argument back as void *; the orchestrator
     * only reads through it. */
    rc = durata_register_orchestrator(hub, DT_JOB_ORCHESTRATOR, job_orchestrator, (void *)set);
    for (i = 0; i < set->n && rc == 0; i++) {
        t = &set->types[i];
        activity_name(name, t->name);
        rc = durata_register_activity(hub, name, t->handler, t->handler_arg);
    }
    return rc;
}

/* ------------------------------------------------------------ demo types */

#define DT_SLEEP_MAX_MS (3600LL * 1000)
#define DT_SLEEP_SLICE_MS 20
#define DT_THUMBNAIL_DEFAULT_MS 1500
#define DT_THUMBNAIL_MAX_MS 60000

/* The handler's input, parsed; NULL after failing the task. */
static json_t *
demo_input(struct durata_activity *a)
{
    const char *text = durata_activity_input(a);
    json_t *in = text ? json_loads(text, 0, NULL) : NULL;

    if (!json_is_object(in)) {
        json_decref(in);
        durata_activity_fail(a, "InvalidInput", "the job handler's input must be a JSON object",
                             NULL, true);
        return NULL;
    }
    return in;
}

/* Completes a with the JSON value v (taken). */
static void
demo_complete(struct durata_activity *a, json_t *v)
{
    char *text = v ? dt_json_text(v) : NULL;

    if (!text)
        durata_activity_fail(a, "OutOfMemory", "could not encode the job's result", NULL, false);
    else
        durata_activity_complete(a, text);
    free(text);
    json_decref(v);
}

/* Reads payload member `key` as milliseconds in [0, max]; dflt when the
 * payload or the member is absent; -1 when it is there but invalid. */
static int64_t
demo_ms(const json_t *payload, const char *key, int64_t dflt, int64_t max)
{
    const json_t *v = json_object_get(payload, key);
    json_int_t ms;

    if (!v || json_is_null(v))
        return dflt;
    if (!json_is_integer(v))
        return -1;
    ms = json_integer_value(v);
    return ms < 0 || ms > max ? -1 : (int64_t)ms;
}

/* Sleeps ms in short slices; false when a was cancelled first. */
static bool
demo_sleep(struct durata_activity *a, int64_t ms)
{
    struct timespec ts;
    int64_t slice;

    while (ms > 0) {
        if (durata_activity_is_cancelled(a))
            return false;
        slice = ms < DT_SLEEP_SLICE_MS ? ms : DT_SLEEP_SLICE_MS;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)slice * 1000000L;
        while (nanosleep(&ts, &ts) != 0)
            ;
        ms -= slice;
    }
    return !durata_activity_is_cancelled(a);
}

static void
demo_interrupted(struct durata_activity *a)
{
    durata_activity_fail(a, DT_JOB_INTERRUPTED,
                         "the worker stopped before the job finished; it will run again", NULL,
                         false);
}

/* "echo": the payload back, as the text it is in the input when the
 * input's keys need no parser. */
static void
demo_echo(struct durata_activity *a, void *arg)
{
    const char *text = durata_activity_input(a);
    struct dt_json_span span;
    json_t *in, *p;
    char *out;

    (void)arg;
    switch (text ? dt_json_member(text, "payload", &span) : -1) {
    case 0:
        durata_activity_complete(a, "null");
        return;
    case 1:
        if (!(out = strndup(span.text, span.len))) {
            durata_activity_fail(a, "OutOfMemory", "could not copy the payload", NULL, false);
            return;
        }
        durata_activity_complete(a, out);
        free(out);
        return;
    default:
        break;
    }
    if (!(in = demo_input(a)))
        return;
    p = json_object_get(in, "payload");
    demo_complete(a, p ? json_incref(p) : json_null());
    json_decref(in);
}

/* "sleep": payload {"ms": n}; returns {"slept_ms": n}. */
static void
demo_sleep_job(struct durata_activity *a, void *arg)
{
    json_t *in = demo_input(a);
    const json_t *p;
    int64_t ms;

    (void)arg;
    if (!in)
        return;
    p = json_object_get(in, "payload");
    ms = json_is_object(p) && json_object_get(p, "ms") ? demo_ms(p, "ms", 0, DT_SLEEP_MAX_MS) : -1;
    if (ms < 0)
        durata_activity_fail(a, "InvalidPayload",
                             "sleep needs payload {\"ms\": n} with n an integer in [0, 3600000]",
                             NULL, true);
    else if (!demo_sleep(a, ms))
        demo_interrupted(a);
    else
        demo_complete(a, json_pack("{s:I}", "slept_ms", (json_int_t)ms));
    json_decref(in);
}

/* "fail": always fails; retriable only with payload {"retriable": true};
 * payload "message" (a string) replaces the message. */
static void
demo_fail(struct durata_activity *a, void *arg)
{
    json_t *in = demo_input(a);
    const json_t *p, *msg;
    char text[64];

    (void)arg;
    if (!in)
        return;
    p = json_object_get(in, "payload");
    msg = json_object_get(p, "message");
    snprintf(text, sizeof(text), "attempt %lld",
             (long long)json_integer_value(json_object_get(in, "attempt")));
    durata_activity_fail(a, "JobFailed",
                         json_is_string(msg) ? json_string_value(msg)
                                             : "the fail job type always fails",
                         text, !json_is_true(json_object_get(p, "retriable")));
    json_decref(in);
}

/* "thumbnail" (seed 001): simulated rendering of payload "render_ms"
 * (default 1500 ms), then {"artifactUrl": ".../jobs/<job_id>.json"}. */
static void
demo_thumbnail(struct durata_activity *a, void *arg)
{
    json_t *in = demo_input(a);
    const json_t *p, *id;
    char url[512];
    int64_t ms;

    (void)arg;
    if (!in)
        return;
    p = json_object_get(in, "payload");
    id = json_object_get(in, "job_id");
    ms = demo_ms(json_is_object(p) ? p : NULL, "render_ms", DT_THUMBNAIL_DEFAULT_MS,
                 DT_THUMBNAIL_MAX_MS);
    if (ms < 0 || !json_is_string(id))
        durata_activity_fail(a, "InvalidPayload",
                             "thumbnail's payload render_ms must be an integer in [0, 60000]", NULL,
                             true);
    else if (!demo_sleep(a, ms))
        demo_interrupted(a);
    else if (snprintf(url, sizeof(url), "https://example.invalid/jobs/%s.json",
                      json_string_value(id)) >= (int)sizeof(url))
        durata_activity_fail(a, "InvalidInput", "the job id is too long for an artifact URL", NULL,
                             true);
    else
        demo_complete(a, json_pack("{s:s}", "artifactUrl", url));
    json_decref(in);
}

static const struct dt_job_type demo_types[] = {
    {.name = "echo", .handler = demo_echo},
    {.name = "sleep", .handler = demo_sleep_job},
    {.name = "fail",
     .handler = demo_fail,
     .retry = {.max_attempts = 3, .first_interval_ms = 1000, .backoff_coefficient = 2.0}},
    {.name = "thumbnail",
     .handler = demo_thumbnail,
     .retry = {.max_attempts = 3, .first_interval_ms = 1000, .backoff_coefficient = 2.0}},
};

const struct dt_job_type *
dt_jobs_demo_types(size_t *n)
{
    if (n)
        *n = sizeof(demo_types) / sizeof(demo_types[0]);
    return demo_types;
}
