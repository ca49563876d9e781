/*
 * asyncjob.c — "AsyncJobOrchestrator", the timed job lifecycle of seed 002,
 * and durata_async_job_input(), the input its trigger builds.
 *
 * Input (JSON object):
 *   {"ThirdPartyJobId": "<non-empty string>",
 *    "QueuedDuration": <seconds, number >= 0>,
 *    "InProgressDuration": <seconds, number >= 0>}
 * Durations are at most DT_ASYNCJOB_MAX_SECONDS; fractions of a second are
 * kept to the millisecond. Other fields are ignored.
 *
 * Lifecycle: custom status "Queued" (a JSON string), a durable timer of
 * QueuedDuration, custom status "InProgress", a durable timer of
 * InProgressDuration, custom status "Completed", then completion with
 *   {"ThirdPartyJobId": "<as given>", "status": "Completed"}.
 * A timer is created even for a zero duration, so the history always holds
 * two TimerCreated/TimerFired pairs.
 *
 * Failures: bad input fails the instance at once with error type
 * "InvalidInput" and a message naming the field; a failed timer passes its
 * failure on; running out of memory fails it with "OutOfMemory".
 *
 * durata_async_job_input() reads ASYNC_JOB_QUEUED_DURATION_SEC and
 * ASYNC_JOB_INPROGRESS_DURATION_SEC (whole seconds, defaults 20 and 30). A
 * set variable that is not a plain decimal in [0, DT_ASYNCJOB_MAX_SECONDS]
 * (empty included) is DURATA_EINVAL: a typo must not become a default.
 *
 * Threading: no state; the orchestrator is replayed from the top each step
 * and only reads its input and the deterministic clock.
 */
#include "workers/builtins.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

/* Ten years: far beyond any real phase, far below int64 overflow in ms. */
#define DT_ASYNCJOB_MAX_SECONDS 315360000LL
#define DT_ASYNCJOB_DEFAULT_QUEUED_SEC 20LL
#define DT_ASYNCJOB_DEFAULT_INPROGRESS_SEC 30LL

struct asyncjob_input {
    const char *job_id; /* borrowed from the parsed JSON */
    int64_t queued_ms;
    int64_t in_progress_ms;
};

/* Seconds in v (integer or real) as milliseconds; -1 when not a valid
 * duration. */
static int64_t
duration_ms(const json_t *v)
{
    double s;

    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 || i > DT_ASYNCJOB_MAX_SECONDS)
            return -1;
        return (int64_t)i * 1000;
    }
    if (!json_is_real(v))
        return -1;
    s = json_real_value(v);
    if (!isfinite(s) || s < 0 || s > (double)DT_ASYNCJOB_MAX_SECONDS)
        return -1;
    return (int64_t)llround(s * 1000.0);
}

/* Fills in from root; on failure writes the reason into msg and returns
 * DURATA_EINVAL. */
static int
asyncjob_input_parse(const json_t *root, struct asyncjob_input *in, char *msg, size_t msg_size)
{
    const json_t *id;

    if (!json_is_object(root)) {
        snprintf(msg, msg_size,
                 "input must be a JSON object with ThirdPartyJobId, "
                 "QueuedDuration and InProgressDuration");
        return DURATA_EINVAL;
    }
    id = json_object_get(root, "ThirdPartyJobId");
    if (!json_is_string(id) || json_string_length(id) == 0) {
        snprintf(msg, msg_size, "ThirdPartyJobId must be a non-empty string");
        return DURATA_EINVAL;
    }
    in->job_id = json_string_value(id);
    in->queued_ms = duration_ms(json_object_get(root, "QueuedDuration"));
    if (in->queued_ms < 0) {
        snprintf(msg, msg_size, "QueuedDuration must be a number of seconds in [0, %lld]",
                 DT_ASYNCJOB_MAX_SECONDS);
        return DURATA_EINVAL;
    }
    in->in_progress_ms = duration_ms(json_object_get(root, "InProgressDuration"));
    if (in->in_progress_ms < 0) {
        snprintf(msg, msg_size, "InProgressDuration must be a number of seconds in [0, %lld]",
                 DT_ASYNCJOB_MAX_SECONDS);
        return DURATA_EINVAL;
    }
    return 0;
}

/* Sets the custom status and waits `ms` on a durable timer. true when the
 * timer fired; false when the caller must return: *result then says how
 * (DURATA_YIELD while waiting, DURATA_DONE after failing the instance). */
static bool
asyncjob_phase(struct durata_orch *o, const char *status_json, int64_t ms,
               enum durata_orch_result *result)
{
    struct durata_task *timer;
    const struct durata_failure *f;

    *result = DURATA_DONE;
    if (durata_orch_set_custom_status(o, status_json) < 0) {
        durata_orch_fail(o, "CustomStatusError", "could not set the custom status", NULL);
        return false;
    }
    timer = durata_create_timer(o, durata_orch_now(o) + ms);
    if (!durata_await(o, timer)) {
        *result = DURATA_YIELD;
        return false;
    }
    if (durata_task_is_failed(timer)) {
        f = durata_task_failure(timer);
        durata_orch_fail(o, f && f->error_type ? f->error_type : "TimerError",
                         f && f->message ? f->message : "the durable timer failed",
                         f ? f->details : NULL);
        return false;
    }
    return true;
}

static enum durata_orch_result
asyncjob_complete(struct durata_orch *o, const char *job_id)
{
    json_t *out;
    char *text = NULL;

    if (durata_orch_set_custom_status(o, "\"Completed\"") < 0) {
        durata_orch_fail(o, "CustomStatusError", "could not set the custom status", NULL);
        return DURATA_DONE;
    }
    out = json_pack("{s:s, s:s}", "ThirdPartyJobId", job_id, "status", "Completed");
    if (out)
        text = json_dumps(out, JSON_COMPACT);
    if (!text)
        durata_orch_fail(o, "OutOfMemory", "could not build the output", NULL);
    else
        durata_orch_complete(o, text);
    free(text);
    json_decref(out);
    return DURATA_DONE;
}

enum durata_orch_result
dt_asyncjob_orchestrator(struct durata_orch *o, void *arg)
{
    struct asyncjob_input in;
    enum durata_orch_result result;
    char msg[160];
    json_t *root;

    (void)arg;
    root = json_loads(durata_orch_input(o) ? durata_orch_input(o) : "null", JSON_DECODE_ANY, NULL);
    if (asyncjob_input_parse(root, &in, msg, sizeof(msg)) < 0) {
        durata_orch_fail(o, "InvalidInput", msg, NULL);
        result = DURATA_DONE;
        goto out_free_root;
    }
    if (!asyncjob_phase(o, "\"Queued\"", in.queued_ms, &result))
        goto out_free_root;
    if (!asyncjob_phase(o, "\"InProgress\"", in.in_progress_ms, &result))
        goto out_free_root;
    result = asyncjob_complete(o, in.job_id);
out_free_root:
    json_decref(root);
    return result;
}

/* Whole seconds from env var `name`, or `fallback` when it is unset. */
static int
env_seconds(const char *name, long long fallback, long long *out)
{
    const char *s = getenv(name);
    char *end;
    long long v;
    size_t i;

    if (!s) {
        *out = fallback;
        return 0;
    }
    if (s[0] == '\0')
        return DURATA_EINVAL;
    for (i = 0; s[i]; i++) {
        if (!isdigit((unsigned char)s[i]))
            return DURATA_EINVAL;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > DT_ASYNCJOB_MAX_SECONDS)
        return DURATA_EINVAL;
    *out = v;
    return 0;
}

int
durata_async_job_input(char **out)
{
    long long queued, in_progress;
    char id[37];
    uuid_t uu;
    json_t *obj;
    char *text;
    int rc;

    if (!out)
        return DURATA_EINVAL;
    *out = NULL;
    rc = env_seconds("ASYNC_JOB_QUEUED_DURATION_SEC", DT_ASYNCJOB_DEFAULT_QUEUED_SEC, &queued);
    if (rc < 0)
        return rc;
    rc = env_seconds("ASYNC_JOB_INPROGRESS_DURATION_SEC", DT_ASYNCJOB_DEFAULT_INPROGRESS_SEC,
                     &in_progress);
    if (rc < 0)
        return rc;
    uuid_generate_random(uu);
    uuid_unparse_lower(uu, id);
    obj = json_pack("{s:s, s:I, s:I}", "ThirdPartyJobId", id, "QueuedDuration", (json_int_t)queued,
                    "InProgressDuration", (json_int_t)in_progress);
    if (!obj)
        return DURATA_ENOMEM;
    text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (!text)
        return DURATA_ENOMEM;
    *out = text;
    return 0;
}
