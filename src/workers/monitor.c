/*
 * monitor.c — "JobMonitor", the monitor pattern of seed 003, and its
 * default status activity "GetJobStatus".
 *
 * JobMonitor input (JSON object):
 *   {"jobId": "<non-empty string>",
 *    "expireAt": <ms since the Unix epoch, number>,
 *    "pollIntervalMs": <number > 0, default 60000, at most one year>,
 *    "statusActivity": "<activity name, default \"GetJobStatus\">"}
 * Each execution runs one poll:
 *  - when durata_orch_now() >= expireAt: custom status "Expired", complete
 *    with {"jobId": ..., "status": "Expired"};
 *  - else call statusActivity with {"jobId": ...} (up to 3 attempts, 1 s
 *    then 2 s apart, for transient failures). Its result must be a JSON
 *    string. "Processing": custom status "Processing", a durable timer to
 *    min(now + pollIntervalMs, expireAt), then continue-as-new with the
 *    same input (so the history stays one poll long). Any other status is
 *    final: it is recorded as the custom status and the monitor completes
 *    with {"jobId": ..., "status": "<final status>"}.
 * Failures: bad input -> "InvalidInput"; a failed status activity or timer
 * passes its failure on; a result that is not a JSON string ->
 * "InvalidStatus"; out of memory -> "OutOfMemory".
 *
 * GetJobStatus input: {"jobId": "<id>"} or the id as a bare JSON string
 * (the seed passes the id alone). It looks the id up as a durata instance
 * on the hub given as its arg and returns a JSON string: "Processing" while
 * the instance is not terminal, its status name ("Completed", "Failed",
 * "Canceled", "Terminated") once it is, or "NotFound". Bad input fails the
 * task non-retriably ("InvalidInput"); a store error fails it retriably.
 *
 * Threading: no state; the activity only makes thread-safe client calls.
 */
#include "workers/builtins.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DT_MONITOR_DEFAULT_POLL_MS 60000
#define DT_MONITOR_MAX_POLL_MS (366LL * 24 * 3600 * 1000)

struct monitor_input {
    const char *job_id;   /* borrowed from the parsed JSON */
    const char *activity; /* borrowed from the parsed JSON or static */
    int64_t expire_at_ms;
    int64_t poll_ms;
};

/* An integral or real JSON number as int64 (truncated); false when v is
 * not a number or out of range. */
static bool
json_to_int64(const json_t *v, int64_t *out)
{
    double d;

    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (!json_is_real(v))
        return false;
    d = json_real_value(v);
    if (!isfinite(d) || d < -9.0e18 || d > 9.0e18)
        return false;
    *out = (int64_t)d;
    return true;
}

/* Optional fields: pollIntervalMs and statusActivity. */
static int
monitor_input_parse_options(const json_t *root, struct monitor_input *in, char *msg,
                            size_t msg_size)
{
    const json_t *v;

    in->poll_ms = DT_MONITOR_DEFAULT_POLL_MS;
    v = json_object_get(root, "pollIntervalMs");
    if (v && !json_is_null(v)) {
        if (!json_to_int64(v, &in->poll_ms) || in->poll_ms <= 0 ||
            in->poll_ms > DT_MONITOR_MAX_POLL_MS) {
            snprintf(msg, msg_size, "pollIntervalMs must be a number in [1, %lld]",
                     DT_MONITOR_MAX_POLL_MS);
            return DURATA_EINVAL;
        }
    }
    in->activity = DT_GET_JOB_STATUS_NAME;
    v = json_object_get(root, "statusActivity");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v) || json_string_length(v) == 0) {
            snprintf(msg, msg_size, "statusActivity must be a non-empty string");
            return DURATA_EINVAL;
        }
        in->activity = json_string_value(v);
    }
    return 0;
}

static int
monitor_input_parse(const json_t *root, struct monitor_input *in, char *msg, size_t msg_size)
{
    const json_t *v;

    if (!json_is_object(root)) {
        snprintf(msg, msg_size, "input must be a JSON object with jobId and expireAt");
        return DURATA_EINVAL;
    }
    v = json_object_get(root, "jobId");
    if (!json_is_string(v) || json_string_length(v) == 0) {
        snprintf(msg, msg_size, "jobId must be a non-empty string");
        return DURATA_EINVAL;
    }
    in->job_id = json_string_value(v);
    if (!json_to_int64(json_object_get(root, "expireAt"), &in->expire_at_ms)) {
        snprintf(msg, msg_size, "expireAt must be a number (milliseconds since the epoch)");
        return DURATA_EINVAL;
    }
    return monitor_input_parse_options(root, in, msg, msg_size);
}

/* Compact JSON text of a new reference (stolen); NULL on OOM. */
static char *
json_text_steal(json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

    json_decref(v);
    return text;
}

static void
fail_from_task(struct durata_orch *o, const struct durata_task *t, const char *fallback_type)
{
    const struct durata_failure *f = durata_task_failure(t);

    durata_orch_fail(o, f && f->error_type ? f->error_type : fallback_type,
                     f && f->message ? f->message : "the task failed", f ? f->details : NULL);
}

/* Records `status` as custom status and completes with {jobId, status}. */
static enum durata_orch_result
monitor_finish(struct durata_orch *o, const char *job_id, const char *status)
{
    char *custom = json_text_steal(json_string(status));
    char *output = json_text_steal(json_pack("{s:s, s:s}", "jobId", job_id, "status", status));

    if (!custom || !output)
        durata_orch_fail(o, "OutOfMemory", "could not build the monitor's output", NULL);
    else if (durata_orch_set_custom_status(o, custom) < 0)
        durata_orch_fail(o, "CustomStatusError", "the final status is too large to record", NULL);
    else
        durata_orch_complete(o, output);
    free(custom);
    free(output);
    return DURATA_DONE;
}

/* Still processing: sleep on a durable timer, then start over. */
static enum durata_orch_result
monitor_wait_and_continue(struct durata_orch *o, const struct monitor_input *in)
{
    struct durata_task *timer;
    int64_t fire_at = durata_orch_now(o) + in->poll_ms;

    if (fire_at > in->expire_at_ms)
        fire_at = in->expire_at_ms;
    if (durata_orch_set_custom_status(o, "\"Processing\"") < 0) {
        durata_orch_fail(o, "CustomStatusError", "could not set the custom status", NULL);
        return DURATA_DONE;
    }
    timer = durata_create_timer(o, fire_at);
    if (!durata_await(o, timer))
        return DURATA_YIELD;
    if (durata_task_is_failed(timer)) {
        fail_from_task(o, timer, "TimerError");
        return DURATA_DONE;
    }
    durata_orch_continue_as_new(o, durata_orch_input(o));
    return DURATA_DONE;
}

static enum durata_orch_result
monitor_poll(struct durata_orch *o, const struct monitor_input *in)
{
    static const struct durata_retry_policy retry = {
        .max_attempts = 3, .first_interval_ms = 1000, .backoff_coefficient = 2.0};
    struct durata_task *t;
    char *call_input;
    json_t *status;
    enum durata_orch_result r;

    if (durata_orch_now(o) >= in->expire_at_ms)
        return monitor_finish(o, in->job_id, "Expired");
    call_input = json_text_steal(json_pack("{s:s}", "jobId", in->job_id));
    if (!call_input) {
        durata_orch_fail(o, "OutOfMemory", "could not build the status request", NULL);
        return DURATA_DONE;
    }
    t = durata_call_activity(o, in->activity, call_input, &retry);
    free(call_input);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    if (durata_task_is_failed(t)) {
        fail_from_task(o, t, "ActivityError");
        return DURATA_DONE;
    }
    status =
        json_loads(durata_task_result(t) ? durata_task_result(t) : "null", JSON_DECODE_ANY, NULL);
    if (!json_is_string(status)) {
        durata_orch_fail(o, "InvalidStatus", "the status activity must return a JSON string",
                         durata_task_result(t));
        r = DURATA_DONE;
    } else if (strcmp(json_string_value(status), "Processing") == 0) {
        r = monitor_wait_and_continue(o, in);
    } else {
        r = monitor_finish(o, in->job_id, json_string_value(status));
    }
    json_decref(status);
    return r;
}

enum durata_orch_result
dt_monitor_orchestrator(struct durata_orch *o, void *arg)
{
    struct monitor_input in;
    enum durata_orch_result r;
    char msg[160];
    json_t *root;

    (void)arg;
    root = json_loads(durata_orch_input(o) ? durata_orch_input(o) : "null", JSON_DECODE_ANY, NULL);
    if (monitor_input_parse(root, &in, msg, sizeof(msg)) < 0) {
        durata_orch_fail(o, "InvalidInput", msg, NULL);
        r = DURATA_DONE;
    } else {
        r = monitor_poll(o, &in);
    }
    json_decref(root);
    return r;
}

/* The job id of a GetJobStatus input: {"jobId": "..."} or "...". */
static const char *
job_id_of(const json_t *root)
{
    const json_t *v = json_is_object(root) ? json_object_get(root, "jobId") : root;

    if (!json_is_string(v) || json_string_length(v) == 0)
        return NULL;
    return json_string_value(v);
}

void
dt_get_job_status_activity(struct durata_activity *a, void *arg)
{
    struct durata_hub *hub = arg;
    struct durata_instance *inst = NULL;
    const char *input = durata_activity_input(a);
    const char *id, *status;
    json_t *root = json_loads(input ? input : "null", JSON_DECODE_ANY, NULL);
    char *result;
    int rc;

    id = job_id_of(root);
    if (!id) {
        durata_activity_fail(a, "InvalidInput", "input must be {\"jobId\": \"<id>\"}", input, true);
        goto out_free_root;
    }
    rc = durata_get_status(hub, id, &inst);
    if (rc == DURATA_ENOTFOUND) {
        status = "NotFound";
    } else if (rc < 0) {
        durata_activity_fail(a, "StoreError", durata_strerror(rc), NULL, false);
        goto out_free_root;
    } else {
        status = durata_status_is_terminal(inst->status) ? durata_status_name(inst->status)
                                                         : "Processing";
    }
    result = json_text_steal(json_string(status));
    if (result)
        durata_activity_complete(a, result);
    else
        durata_activity_fail(a, "OutOfMemory", "could not build the status", NULL, false);
    free(result);
    durata_instance_free(inst);
out_free_root:
    json_decref(root);
}
