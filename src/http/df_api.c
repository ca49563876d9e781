/*
 * df_api.c — the Durable Functions management API's route table, start and
 * restart (spec 1.1, 1.9), and the check-status payload (1.14).
 *
 * Owns: dt_df_routes; the one builder of the management URLs, which the
 * job API's 202 uses too (built from the request's base_url, ids
 * percent-encoded, {eventName}/{text} kept literal, always a query string
 * taskHub=…&connection=… plus code=<key> when the request carried its key
 * in `code` or x-functions-key); the sync-over-async wait of start/restart
 * (timeout + pollingInterval, in seconds).
 * Deliberate differences from DF (issue 3): a start or restart that
 * conflicts with a live instance answers 409 with a JSON body where DF
 * answers 500; `version` on start is a query parameter and is stored.
 * Extension (spec 2.13): start takes scheduledStartTime=<ISO date>; the
 * instance stays Pending until then.
 * Threading: handlers run on the server's threads; a wait blocks only the
 * request's thread (durata_wait sleeps on the hub's progress signal).
 */
#include "http/df.h"

#include "base/buf.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/time.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DF_DEFAULT_HUB "durata"
#define DF_DEFAULT_CONNECTION "Storage"
#define DF_URL_MAX (64 * 1024)
#define DF_MAX_WAIT_S 3600.0

/* ------------------------------------------------------------ URLs */

int
dt_df_append_encoded(struct dt_buf *b, const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s;
    int rc = 0;

    while (*p && rc == 0) {
        size_t run = 0; /* characters kept as they are, appended together */
        while (p[run] && (isalnum(p[run]) || p[run] == '-' || p[run] == '.' || p[run] == '_' ||
                          p[run] == '~' || (keep_slash && p[run] == '/')))
            run++;
        if (run) {
            rc = dt_buf_append(b, p, run);
            p += run;
            continue;
        }
        char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
        rc = dt_buf_append(b, esc, 3);
        p++;
    }
    return rc;
}

const char *
dt_df_request_key(const struct dt_http_req *req)
{
    const char *key = dt_http_query(req, "code");

    if (!key || !*key)
        key = dt_http_header(req, "x-functions-key");
    return key && *key ? key : NULL;
}

/* The management URLs of the check-status payload, in the order DF emits
 * them: the JSON field, the path after the instance id, and the literal
 * head of the query string. */
static const struct {
    const char *field;
    const char *suffix;
    const char *head;
} df_urls[DT_DF_URL_COUNT] = {
    {"statusQueryGetUri", "", ""},
    {"sendEventPostUri", "/raiseEvent/{eventName}", ""},
    {"terminatePostUri", "/terminate", "reason={text}&"},
    {"purgeHistoryDeleteUri", "", ""},
    {"restartPostUri", "/restart", ""},
    {"suspendPostUri", "/suspend", "reason={text}&"},
    {"resumePostUri", "/resume", "reason={text}&"},
};

const char *
dt_df_url_field(size_t i)
{
    return i < DT_DF_URL_COUNT ? df_urls[i].field : NULL;
}

/* The query string every management URL carries after its head. */
static int
append_common_query(struct dt_buf *b, const struct dt_http_req *req, bool hub_from_query)
{
    const char *hub = hub_from_query ? dt_http_query(req, "taskHub") : NULL;
    const char *conn = hub_from_query ? dt_http_query(req, "connection") : NULL;
    const char *key = dt_df_request_key(req);
    int rc;

    if ((rc = dt_buf_appends(b, "taskHub=")) < 0 ||
        (rc = dt_df_append_encoded(b, hub && *hub ? hub : DF_DEFAULT_HUB, false)) < 0 ||
        (rc = dt_buf_appends(b, "&connection=")) < 0 ||
        (rc = dt_df_append_encoded(b, conn && *conn ? conn : DF_DEFAULT_CONNECTION, false)) < 0)
        return rc;
    if (key &&
        ((rc = dt_buf_appends(b, "&code=")) < 0 || (rc = dt_df_append_encoded(b, key, false)) < 0))
        return rc;
    return 0;
}

int
dt_df_urls_init(struct dt_df_urls *u, const struct dt_http_req *req, const char *id,
                bool hub_from_query)
{
    int rc;

    dt_buf_init(&u->instance, DF_URL_MAX);
    dt_buf_init(&u->query, DF_URL_MAX);
    if (!id)
        return DURATA_EINVAL;
    if ((rc = dt_buf_appends(&u->instance, req->base_url ? req->base_url : "")) < 0 ||
        (rc = dt_buf_appends(&u->instance, DT_DF_BASE "/instances/")) < 0 ||
        (rc = dt_df_append_encoded(&u->instance, id, false)) < 0 ||
        (rc = append_common_query(&u->query, req, hub_from_query)) < 0) {
        dt_df_urls_release(u);
        return rc;
    }
    return 0;
}

void
dt_df_urls_release(struct dt_df_urls *u)
{
    dt_buf_release(&u->instance);
    dt_buf_release(&u->query);
}

int
dt_df_append_url(struct dt_buf *b, const struct dt_df_urls *u, size_t i)
{
    int rc;

    if (i >= DT_DF_URL_COUNT)
        return DURATA_EINVAL;
    if ((rc = dt_buf_append(b, u->instance.data, u->instance.len)) < 0 ||
        (rc = dt_buf_appends(b, df_urls[i].suffix)) < 0 || (rc = dt_buf_append(b, "?", 1)) < 0 ||
        (rc = dt_buf_appends(b, df_urls[i].head)) < 0)
        return rc;
    return dt_buf_append(b, u->query.data, u->query.len);
}

char *
dt_df_request_url(const struct dt_http_req *req)
{
    struct dt_buf b;
    int rc;

    dt_buf_init(&b, DF_URL_MAX);
    rc = dt_buf_appends(&b, req->base_url ? req->base_url : "");
    if (rc == 0)
        rc = dt_df_append_encoded(&b, req->path, true);
    for (size_t i = 0; i < req->n_query && rc == 0; i++) {
        if ((rc = dt_buf_appends(&b, i ? "&" : "?")) < 0 ||
            (rc = dt_df_append_encoded(&b, req->query[i].key, false)) < 0)
            break;
        if (req->query[i].value &&
            ((rc = dt_buf_appends(&b, "=")) < 0 ||
             (rc = dt_df_append_encoded(&b, req->query[i].value, false)) < 0))
            break;
    }
    if (rc < 0) {
        dt_buf_release(&b);
        return NULL;
    }
    return dt_buf_detach(&b);
}

/* The check-status payload: id, then the management URLs (taskHub and
 * connection echoed from the request). */
static json_t *
check_status_body(const struct dt_http_req *req, const char *id, bool hub_from_query)
{
    json_t *o = json_object();
    struct dt_df_urls u;
    struct dt_buf b;

    dt_buf_init(&b, 2 * DF_URL_MAX);
    if (!o || dt_df_urls_init(&u, req, id, hub_from_query) < 0) {
        json_decref(o);
        return NULL;
    }
    if (json_object_set_new(o, "id", dt_df_string(id)) != 0)
        goto out_free;
    for (size_t i = 0; i < DT_DF_URL_COUNT; i++) {
        dt_buf_reset(&b);
        if (dt_df_append_url(&b, &u, i) < 0 ||
            json_object_set_new(o, dt_df_url_field(i), json_stringn(b.data, b.len)) != 0)
            goto out_free;
    }
    dt_buf_release(&b);
    dt_df_urls_release(&u);
    return o;

out_free:
    dt_buf_release(&b);
    dt_df_urls_release(&u);
    json_decref(o);
    return NULL;
}

int
dt_df_accepted(const struct dt_http_req *req, struct dt_http_resp *resp, const char *id,
               bool hub_from_query)
{
    json_t *body = check_status_body(req, id, hub_from_query);
    const char *loc;
    int rc;

    if (!body)
        return DURATA_ENOMEM;
    loc = json_string_value(json_object_get(body, "statusQueryGetUri"));
    rc = dt_http_add_header(resp, "Location", loc);
    if (rc == 0)
        rc = dt_http_add_header(resp, "Retry-After", "10");
    if (rc == 0)
        return dt_http_json(resp, 202, body);
    json_decref(body);
    return rc;
}

/* ------------------------------------------------------------ checks */

static bool
id_ok(const char *id, struct dt_http_resp *resp, int *rc)
{
    const char *why = NULL;
    char msg[160];

    if (dt_id_check(id, DT_DF_MAX_ID, &why) == 0)
        return true;
    snprintf(msg, sizeof(msg), "invalid instance id: %s", why ? why : "not allowed");
    *rc = dt_http_error(resp, 400, "invalid_instance_id", msg, "instanceId");
    return false;
}

bool
dt_df_id_ok(const struct dt_http_req *req, struct dt_http_resp *resp, int *rc)
{
    *rc = 0;
    if (req->n_params < 1 || !req->params[0]) {
        *rc = dt_http_error(resp, 400, "invalid_instance_id", "missing instance id", "instanceId");
        return false;
    }
    return id_ok(req->params[0], resp, rc);
}

/* A body of only whitespace is no input, like an empty one. */
static bool
body_blank(const struct dt_http_req *req)
{
    for (size_t i = 0; i < req->body_len; i++)
        if (!isspace((unsigned char)req->body[i]))
            return false;
    return true;
}

/* A seconds parameter: -1 absent, -2 malformed, else milliseconds. */
static int64_t
seconds_param(const struct dt_http_req *req, const char *name)
{
    const char *v = dt_http_query(req, name);
    char *end;
    double s;

    if (!v)
        return -1;
    errno = 0;
    s = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(s) || s < 0)
        return -2;
    if (s > DF_MAX_WAIT_S)
        s = DF_MAX_WAIT_S;
    return (int64_t)llround(s * 1000.0);
}

/* The wait of start/restart: *wait_ms = -1 when not asked (both timeout
 * and pollingInterval are needed). false with a 400 in resp when bad. */
static bool
wait_params(const struct dt_http_req *req, struct dt_http_resp *resp, int64_t *wait_ms, int *rc)
{
    int64_t timeout = seconds_param(req, "timeout");
    int64_t poll = seconds_param(req, "pollingInterval");

    *wait_ms = -1;
    if (timeout == -2 || poll == -2) {
        *rc = dt_http_error(resp, 400, "invalid_parameter",
                            "timeout and pollingInterval are seconds (a number >= 0)",
                            timeout == -2 ? "timeout" : "pollingInterval");
        return false;
    }
    if (timeout < 0 || poll < 0)
        return true;
    if (poll > timeout) {
        *rc = dt_http_error(resp, 400, "invalid_parameter",
                            "pollingInterval must not be greater than timeout", "pollingInterval");
        return false;
    }
    *wait_ms = timeout;
    return true;
}

/* ------------------------------------------------------------ start */

/* Answers start/restart: 202 check status, or with a wait, the instance's
 * end (200 output when Completed, 200/500 status payload otherwise), or
 * 202 when the wait times out. */
static int
started(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp, const char *id,
        int64_t wait_ms)
{
    struct durata_instance *inst;
    const char *out;
    int rc, status;

    if (wait_ms < 0)
        return dt_df_accepted(req, resp, id, true);
    rc = durata_wait(app->hub, id, wait_ms, &inst);
    if (rc == DURATA_ETIMEDOUT)
        return dt_df_accepted(req, resp, id, true);
    if (rc < 0)
        return dt_http_error_from(resp, rc, NULL);
    if (inst->status == DURATA_COMPLETED) {
        out = inst->output ? inst->output : "null";
        rc = dt_http_text(resp, 200, NULL, out, strlen(out));
    } else {
        status = inst->status == DURATA_FAILED &&
                         dt_http_query_bool(req, "returnInternalServerErrorOnFailure", false)
                     ? 500
                     : 200;
        rc = dt_df_status_resp(resp, status, inst, dt_http_query_bool(req, "showInput", true));
    }
    durata_instance_free(inst);
    return rc;
}

/* Maps a durata_start/durata_restart failure. */
static int
start_error(struct dt_http_resp *resp, int rc, const char *name, const char *id)
{
    char msg[200];

    switch (rc) {
    case DURATA_EUNKNOWN:
        if (name)
            snprintf(msg, sizeof(msg), "no orchestrator named '%.120s' is registered", name);
        else
            snprintf(msg, sizeof(msg), "the instance's orchestrator is no longer registered");
        return dt_http_error(resp, 400, "unknown_orchestrator", msg, "functionName");
    case DURATA_ECONFLICT:
        snprintf(msg, sizeof(msg), "instance '%.120s' exists and is not in a terminal state",
                 id ? id : "");
        return dt_http_error(resp, 409, "instance_exists", msg, "instanceId");
    case DURATA_EJSON:
        return dt_http_error(resp, 400, "invalid_json", "the input is not valid JSON", "body");
    case DURATA_ETOOBIG:
        return dt_http_error(resp, 413, "too_big", "the input is too large or too deep", "body");
    case DURATA_EINVAL:
        return dt_http_error(resp, 400, "invalid_argument",
                             "invalid orchestrator name, instance id or version", NULL);
    default:
        return dt_http_error_from(resp, rc, NULL);
    }
}

/* Checks the start body: NULL input when blank, else valid JSON. */
static bool
start_input(const struct dt_http_req *req, struct dt_http_resp *resp, const char **input, int *rc)
{
    int check;

    *input = NULL;
    if (body_blank(req))
        return true;
    if (strlen(req->body) != req->body_len) {
        *rc = dt_http_error(resp, 400, "invalid_json", "the body holds a NUL byte", "body");
        return false;
    }
    check = dt_json_check(req->body, 0);
    if (check == DURATA_EJSON) {
        *rc = dt_http_error(resp, 400, "invalid_json", "the body is not valid JSON", "body");
        return false;
    }
    if (check < 0) {
        *rc = start_error(resp, check, NULL, NULL);
        return false;
    }
    *input = req->body;
    return true;
}

/* The start options from the query: version (stored) and the extension
 * scheduledStartTime (an ISO date: the instance stays Pending until then). */
static bool
start_query(const struct dt_http_req *req, struct dt_http_resp *resp,
            struct durata_start_options *o, int *rc)
{
    const char *at = dt_http_query(req, "scheduledStartTime");

    o->version = dt_http_query(req, "version");
    if (o->version && !*o->version)
        o->version = NULL;
    if (at && dt_time_parse(at, &o->scheduled_start_ms) < 0) {
        *rc = dt_http_error(resp, 400, "invalid_parameter",
                            "scheduledStartTime is not an ISO 8601 date", "scheduledStartTime");
        return false;
    }
    return true;
}

/* The 202 of a start without a wait (dt_http_started_fn). */
static int
start_answer(struct dt_http_req *req, struct dt_http_resp *resp, int rc, const char *id, void *arg)
{
    (void)arg;
    if (!resp)
        return rc;
    if (rc < 0)
        return start_error(resp, rc, req->params[0], req->n_params > 1 ? req->params[1] : NULL);
    dt_log(DT_LOG_DEBUG, "orchestration started", "instanceId", id, "name", req->params[0], NULL);
    return dt_df_accepted(req, resp, id, true);
}

/* A start answers when it is durable without holding the server's thread
 * (dt_http_start); one that waits for the instance's end (timeout) does
 * that on a worker thread. */
static int
df_start(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    char id[DT_DF_MAX_ID + 1];
    struct durata_start_options o = {0};
    int64_t wait_ms;
    int rc = 0;

    o.name = req->params[0];
    o.instance_id = req->n_params > 1 ? req->params[1] : NULL;
    if ((o.instance_id && !id_ok(o.instance_id, resp, &rc)) || !start_query(req, resp, &o, &rc) ||
        !start_input(req, resp, &o.input, &rc) || !wait_params(req, resp, &wait_ms, &rc))
        return rc;
    if (wait_ms < 0)
        return dt_http_start(app, req, resp, &o, start_answer, NULL);
    if (!req->may_block && req->server_ctx)
        return DT_HTTP_BLOCKS;
    rc = durata_start(app->hub, &o, id, sizeof(id));
    if (rc < 0)
        return start_error(resp, rc, o.name, o.instance_id);
    dt_log(DT_LOG_DEBUG, "orchestration started", "instanceId", id, "name", o.name, NULL);
    return started(app, req, resp, id, wait_ms);
}

/* ------------------------------------------------------------ restart */

static int
df_restart(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    bool new_id = dt_http_query_bool(req, "restartWithNewInstanceId", true);
    char id[DT_DF_MAX_ID + 1];
    int64_t wait_ms;
    int rc = 0;

    if (!dt_df_id_ok(req, resp, &rc) || !wait_params(req, resp, &wait_ms, &rc))
        return rc;
    rc = durata_restart(app->hub, req->params[0], new_id, id, sizeof(id));
    if (rc == DURATA_ENOTFOUND)
        return dt_http_error(resp, 400, "not_found",
                             "InstanceId does not match a valid orchestration instance.",
                             "instanceId");
    if (rc < 0)
        return start_error(resp, rc, NULL, req->params[0]);
    dt_log(DT_LOG_INFO, "orchestration restarted", "instanceId", id, "from", req->params[0], NULL);
    return started(app, req, resp, id, wait_ms);
}

/* ------------------------------------------------------------ routes */

const struct dt_route dt_df_routes[] = {
    {"POST", DT_DF_BASE "/orchestrators/{name}", df_start,
     "Start an orchestration (generated instance id)", true},
    {"POST", DT_DF_BASE "/orchestrators/{name}/{id}", df_start,
     "Start an orchestration under the given instance id", true},
    {"GET", DT_DF_BASE "/instances", dt_df_list, "List instances (filters, continuation token)",
     false},
    {"DELETE", DT_DF_BASE "/instances", dt_df_purge_many,
     "Purge the terminal instances matching filters (createdTimeFrom required)", false},
    {"GET", DT_DF_BASE "/instances/{id}", dt_df_get_status, "Get an instance's status", false},
    {"DELETE", DT_DF_BASE "/instances/{id}", dt_df_purge_one, "Purge a terminal instance", false},
    {"POST", DT_DF_BASE "/instances/{id}/raiseEvent/{event}", dt_df_raise_event,
     "Raise an external event", false},
    {"POST", DT_DF_BASE "/instances/{id}/terminate", dt_df_terminate, "Terminate an instance",
     false},
    {"POST", DT_DF_BASE "/instances/{id}/suspend", dt_df_suspend, "Suspend an instance", false},
    {"POST", DT_DF_BASE "/instances/{id}/resume", dt_df_resume, "Resume a suspended instance",
     false},
    {"POST", DT_DF_BASE "/instances/{id}/rewind", dt_df_rewind, "Rewind a failed instance", false},
    {"POST", DT_DF_BASE "/instances/{id}/restart", df_restart,
     "Start an instance's orchestrator again with its input", false},
    {NULL, NULL, NULL, NULL, false},
};
