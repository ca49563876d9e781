/*
 * asyncjob_api.c — seed 002's HTTP trigger: GET /api/job-start/{jobName}
 * (the seed's AsyncJobTrigger, an Azure Functions HTTP trigger under the
 * default /api/ prefix) starts the built-in "AsyncJobOrchestrator"
 * (workers/asyncjob.c) with jobName as its instance id.
 *
 * Owns: dt_asyncjob_routes and its one handler. The input is the seed's,
 * built by durata_async_job_input(): a fresh ThirdPartyJobId (UUID) and the
 * durations from ASYNC_JOB_QUEUED_DURATION_SEC and
 * ASYNC_JOB_INPROGRESS_DURATION_SEC of the server's environment (20 and 30
 * s when unset), read at each start.
 *
 * Answers, like Durable Functions' CreateCheckStatusResponse: 202 with the
 * management payload (id and the seven URLs of df.h's builder, with
 * taskHub=durata and connection=Storage: the trigger is application code,
 * so a taskHub/connection in its own query is not echoed; code=<key> when
 * the request carried its key), Location = statusQueryGetUri and
 * Retry-After: 10. A jobName that breaks the instance id rules (spec 2.1)
 * is a 400; a job of that name that has not finished is a 409 (DF answers
 * 500 there); a finished one is replaced (spec 2.2, durata_start's rule).
 * Set duration variables that are not whole seconds make every start a 500
 * naming them: a server misconfiguration, not the client's fault.
 *
 * Methods: GET as the seed, and POST (Azure HTTP triggers take both by
 * default); a POST body is ignored. The router hands HEAD to GET routes,
 * but HEAD must not start anything (RFC 9110 safe method), so it answers
 * 404 as for any method a path does not take.
 * Logs: one line per start with instanceId, name, ThirdPartyJobId and
 * reason (null: a start has none, as for a job submission).
 * Threading: no state; the handler runs on libmicrohttpd's threads and
 * answers once the start is durable without holding its thread
 * (dt_http_start).
 */
#include "http/asyncjob_api.h"
#include "http/df.h"

#include "base/id.h"
#include "base/log.h"
#include "workers/builtins.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Checks jobName against the instance id rules; false with a 400 in resp
 * (and *rc what building it returned) when it breaks them. */
static bool
job_name_ok(const char *name, struct dt_http_resp *resp, int *rc)
{
    const char *why = NULL;
    char msg[160];

    if (name && dt_id_check(name, DT_DF_MAX_ID, &why) == 0)
        return true;
    snprintf(msg, sizeof(msg), "invalid job name (it is the instance id): %s",
             why ? why : "missing");
    *rc = dt_http_error(resp, 400, "invalid_instance_id", msg, "jobName");
    return false;
}

/* Maps a failed durata_async_job_input or durata_start. */
static int
start_error(struct dt_http_resp *resp, int code, const char *name)
{
    char msg[200];

    switch (code) {
    case DURATA_ECONFLICT:
        snprintf(msg, sizeof(msg),
                 "job '%.120s' exists and has not finished; it can be started again once it has",
                 name);
        return dt_http_error(resp, 409, "instance_exists", msg, "jobName");
    case DURATA_EUNKNOWN:
        return dt_http_error(resp, 500, "internal",
                             "this server has no " DT_ASYNCJOB_NAME " registered", NULL);
    case DURATA_ENOMEM:
        return DURATA_ENOMEM;
    default:
        return dt_http_error_from(resp, code, NULL);
    }
}

static void
log_start(const char *id, const char *input)
{
    json_t *in = json_loads(input, 0, NULL);

    dt_log(DT_LOG_INFO, "async job started", "instanceId", id, "name", DT_ASYNCJOB_NAME,
           "ThirdPartyJobId", json_string_value(json_object_get(in, "ThirdPartyJobId")), "reason",
           NULL, NULL);
    json_decref(in);
}

/* The answer once the start is durable (dt_http_started_fn); arg is the
 * input text, freed here. */
static int
started(struct dt_http_req *req, struct dt_http_resp *resp, int rc, const char *id, void *arg)
{
    char *input = arg;

    if (resp && rc < 0)
        rc = start_error(resp, rc, req->params[0]);
    else if (resp) {
        log_start(id, input);
        rc = dt_df_accepted(req, resp, id, false);
    }
    free(input);
    return rc;
}

static int
asyncjob_start(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    struct durata_start_options o = {.name = DT_ASYNCJOB_NAME};
    char *input = NULL;
    int rc = 0;

    if (strcmp(req->method, "HEAD") == 0)
        return dt_http_error(resp, 404, "not_found", "this path does not take this method", NULL);
    o.instance_id = req->n_params > 0 ? req->params[0] : NULL;
    if (!job_name_ok(o.instance_id, resp, &rc))
        return rc;
    rc = durata_async_job_input(&input);
    if (rc == DURATA_EINVAL)
        return dt_http_error(resp, 500, "invalid_configuration",
                             "ASYNC_JOB_QUEUED_DURATION_SEC and ASYNC_JOB_INPROGRESS_DURATION_SEC "
                             "must be whole seconds (0 to 315360000) when set",
                             NULL);
    if (rc < 0)
        return rc;
    o.input = input;
    return dt_http_start(app, req, resp, &o, started, input);
}

const struct dt_route dt_asyncjob_routes[] = {
    {"GET", "/api/job-start/{jobName}", asyncjob_start,
     "Seed 002: start an AsyncJob (AsyncJobOrchestrator) under the instance id jobName", true},
    {"POST", "/api/job-start/{jobName}", asyncjob_start,
     "Seed 002: start an AsyncJob, as GET (the body is ignored)", true},
    {NULL, NULL, NULL, NULL, false},
};
