/*
 * df_control.c — the DF management API's operations on one instance:
 * raiseEvent, terminate, suspend, resume, rewind (spec 1.4–1.8) and purge
 * one (1.10).
 *
 * Owns: the status codes of matrix 1.16 for these operations. 404 for a
 * missing instance, 410 for a terminal one wherever DF answers 410 (clients
 * treat it as success, so no conflict code ever replaces it), and these
 * deliberate differences (issue 3): 409 with a JSON body where DF answers
 * 500 (suspend while suspended, resume while not suspended, rewind of a
 * non-terminal instance); purge of a non-terminal instance deletes nothing
 * and answers 200 {"instancesDeleted":0}.
 * raiseEvent checks in DF's order: existence, state, Content-Type
 * (application/json, else 400), JSON body (empty = null).
 * A `reason` query value is stored as a JSON string; terminate's becomes the
 * instance's output. terminate also takes recursive=true (terminates
 * running sub-orchestrations too), an extension DF lacks.
 * Threading: runs on the request's thread; hub calls are thread-safe.
 */
#include "http/df.h"

#include "base/json.h"
#include "base/log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Maps an operation's failure; conflict_msg explains a 409. */
static int
op_error(struct dt_http_resp *resp, int rc, const char *conflict_msg)
{
    switch (rc) {
    case DURATA_ENOTFOUND:
        return dt_http_error(resp, 404, "not_found", "no such instance", NULL);
    case DURATA_EGONE:
        return dt_http_error(resp, 410, "gone", "the instance is in a terminal state", NULL);
    case DURATA_ECONFLICT:
        return dt_http_error(resp, 409, "conflict", conflict_msg, NULL);
    case DURATA_ETOOBIG:
        return dt_http_error(resp, 413, "too_big", "the value is too large or too deep", NULL);
    case DURATA_EJSON:
        return dt_http_error(resp, 400, "invalid_json", "the body is not valid JSON", "body");
    case DURATA_EINVAL:
        return dt_http_error(resp, 400, "invalid_argument", "invalid argument", NULL);
    default:
        return dt_http_error_from(resp, rc, NULL);
    }
}

static int
accepted(struct dt_http_resp *resp)
{
    return dt_http_text(resp, 202, NULL, "", 0);
}

/* The `reason` query parameter as JSON text (a string), or NULL when
 * absent. *oom is set when it could not be built. */
static char *
reason_param(const struct dt_http_req *req, bool *oom)
{
    const char *v = dt_http_query(req, "reason");
    char *json;

    *oom = false;
    if (!v)
        return NULL;
    json = dt_json_quote(v);
    *oom = json == NULL;
    return json;
}

/* ------------------------------------------------------------ raiseEvent */

static bool
content_type_json(const struct dt_http_req *req)
{
    const char *ct = dt_http_header(req, "Content-Type");
    size_t n = strlen("application/json");

    if (!ct)
        return false;
    while (isspace((unsigned char)*ct))
        ct++;
    return strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || isspace((unsigned char)ct[n]));
}

/* Existence and state first, as DF checks them: 0 when the instance can
 * take an event, else 1 with a 404/410 in resp (or a negative code). */
static int
raise_target_ok(struct dt_app *app, const char *id, struct dt_http_resp *resp)
{
    struct durata_instance *inst;
    int rc = durata_get_status(app->hub, id, &inst);
    bool terminal;

    if (rc < 0)
        return (rc = op_error(resp, rc, NULL)) < 0 ? rc : 1;
    terminal = durata_status_is_terminal(inst->status);
    durata_instance_free(inst);
    if (!terminal)
        return 0;
    return (rc = op_error(resp, DURATA_EGONE, NULL)) < 0 ? rc : 1;
}

/* The event data: NULL for an empty body, else the checked JSON text;
 * false with a 400 in resp when the body is not usable. */
static bool
event_data(const struct dt_http_req *req, struct dt_http_resp *resp, const char **data, int *rc)
{
    bool blank = true;

    *data = NULL;
    if (!content_type_json(req)) {
        *rc = dt_http_error(resp, 400, "unsupported_content_type",
                            "Only application/json request content is supported", "Content-Type");
        return false;
    }
    for (size_t i = 0; i < req->body_len && blank; i++)
        blank = isspace((unsigned char)req->body[i]);
    if (blank)
        return true;
    if (strlen(req->body) != req->body_len || dt_json_check(req->body, 0) == DURATA_EJSON) {
        *rc = op_error(resp, DURATA_EJSON, NULL);
        return false;
    }
    *data = req->body;
    return true;
}

int
dt_df_raise_event(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    const char *data;
    int rc;

    if (!dt_df_id_ok(req, resp, &rc))
        return rc;
    if (req->n_params < 2 || !req->params[1] || !*req->params[1])
        return dt_http_error(resp, 400, "invalid_argument", "missing event name", "eventName");
    if ((rc = raise_target_ok(app, req->params[0], resp)) != 0)
        return rc < 0 ? rc : 0;
    if (!event_data(req, resp, &data, &rc))
        return rc;
    rc = durata_raise_event(app->hub, req->params[0], req->params[1], data);
    if (rc == DURATA_EINVAL)
        return dt_http_error(resp, 400, "invalid_argument", "invalid event name (1 to 256 bytes)",
                             "eventName");
    if (rc < 0)
        return op_error(resp, rc, "the instance cannot take events now");
    dt_log(DT_LOG_INFO, "event raised", "instanceId", req->params[0], "event", req->params[1],
           NULL);
    return accepted(resp);
}

/* ------------------------------------------------------------ control ops */

enum df_op { OP_TERMINATE, OP_SUSPEND, OP_RESUME, OP_REWIND };

static int
run_op(struct dt_app *app, const struct dt_http_req *req, enum df_op op, const char *reason)
{
    const char *id = req->params[0];

    switch (op) {
    case OP_TERMINATE:
        return durata_terminate(app->hub, id, reason, dt_http_query_bool(req, "recursive", false));
    case OP_SUSPEND:
        return durata_suspend(app->hub, id, reason);
    case OP_RESUME:
        return durata_resume(app->hub, id, reason);
    case OP_REWIND:
        return durata_rewind(app->hub, id, reason);
    }
    return DURATA_EINVAL;
}

static const char *
conflict_message(enum df_op op)
{
    switch (op) {
    case OP_TERMINATE:
        return "the instance cannot be terminated now";
    case OP_SUSPEND:
        return "the instance is already suspended";
    case OP_RESUME:
        return "the instance is not suspended";
    case OP_REWIND:
        return "only failed instances can be rewound";
    }
    return "conflict";
}

/* Rewind refused: 410 when the instance is terminal (Completed,
 * Terminated, Canceled: DF's 410), else 409 (DF's 500). */
static int
rewind_refused(struct dt_app *app, const char *id, struct dt_http_resp *resp)
{
    struct durata_instance *inst;
    bool gone;
    int rc = durata_get_status(app->hub, id, &inst);

    if (rc < 0)
        return op_error(resp, rc, NULL);
    gone = durata_status_is_terminal(inst->status) && inst->status != DURATA_FAILED;
    durata_instance_free(inst);
    return op_error(resp, gone ? DURATA_EGONE : DURATA_ECONFLICT, conflict_message(OP_REWIND));
}

static void
log_op(enum df_op op, const char *id, const char *reason)
{
    /* The engine logs terminate and rewind itself. */
    if (op == OP_SUSPEND)
        dt_log(DT_LOG_INFO, "suspend requested", "instanceId", id, "reason", reason, NULL);
    else if (op == OP_RESUME)
        dt_log(DT_LOG_INFO, "resume requested", "instanceId", id, "reason", reason, NULL);
}

static int
control(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp, enum df_op op)
{
    char *reason;
    bool oom;
    int rc;

    if (!dt_df_id_ok(req, resp, &rc))
        return rc;
    reason = reason_param(req, &oom);
    if (oom)
        return DURATA_ENOMEM;
    rc = run_op(app, req, op, reason);
    if (rc == 0) {
        log_op(op, req->params[0], reason);
        rc = accepted(resp);
    } else if (rc == DURATA_ECONFLICT && op == OP_REWIND) {
        rc = rewind_refused(app, req->params[0], resp);
    } else {
        rc = op_error(resp, rc, conflict_message(op));
    }
    free(reason);
    return rc;
}

int
dt_df_terminate(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    return control(app, req, resp, OP_TERMINATE);
}

int
dt_df_suspend(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    return control(app, req, resp, OP_SUSPEND);
}

int
dt_df_resume(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    return control(app, req, resp, OP_RESUME);
}

int
dt_df_rewind(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    return control(app, req, resp, OP_REWIND);
}

/* ------------------------------------------------------------ purge one */

int
dt_df_purge_one(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    int deleted = 0, rc;
    json_t *body;

    if (!dt_df_id_ok(req, resp, &rc))
        return rc;
    rc = durata_purge(app->hub, req->params[0], &deleted);
    if (rc < 0)
        return op_error(resp, rc, NULL);
    if (deleted)
        dt_log(DT_LOG_INFO, "instance purged", "instanceId", req->params[0], NULL);
    body = json_pack("{si}", "instancesDeleted", deleted);
    if (!body)
        return DURATA_ENOMEM;
    return dt_http_json(resp, 200, body);
}
