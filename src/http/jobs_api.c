/*
 * jobs_api.c — the job API under /api/jobs (issue 3 §2; seeds 000, 001):
 * submit, status, cancel, purge and list, over the "durata.Job"
 * orchestration of workers/jobs.h. The job id is the instance id, so the
 * Durable Functions routes work on jobs too.
 *
 * Owns: dt_jobs_routes (which also serves /api/openapi.json, openapi.c);
 * struct dt_jobs_api (the app's idempotency locks, http.h); the job view of
 * an instance; validation of submissions; idempotency keys; the job list
 * cursor.
 *
 * Submission (POST /api/jobs): a Content-Type, when given, must be JSON
 * (application/json or application/...+json; else 415); the body must be
 * a JSON object (malformed or duplicate members: 400 invalid_json; not an
 * object: 422) with job_type (a string naming one of app->job_types),
 * customer_id (string of at most 256 bytes without control characters, or
 * null) and payload (object or null, at most JOBS_MAX_PAYLOAD_BYTES as
 * compact JSON and JOBS_MAX_PAYLOAD_DEPTH deep) and nothing else. Every
 * bad field is reported at once:
 *   {"error":{"code":"validation_failed","message":"invalid job submission:
 *    job_type, payload","field":"job_type","fields":[{"field","message"}..]}}
 * with 422, or 413 "payload_too_large" when the only problem is the size.
 * The job's input is {"job_type","customer_id","payload"} (+ request_hash);
 * the answer is 202 with status "accepted", job_id, status_url and the
 * Durable Functions management URLs (job_accepted.c).
 *
 * GET /api/jobs/{id} and the list write their views as text (job_view.c)
 * from the stored texts, which are spliced in when they are JSON.
 *
 * Status mapping: Pending -> pending, Running/ContinuedAsNew -> running,
 * Completed -> completed, Failed -> failed, Terminated/Canceled ->
 * cancelled, Suspended -> suspended. "attempts" is the "attempt" member of
 * the custom status the job orchestration sets before each attempt (0
 * before the first).
 *
 * Idempotency-Key: the instance id is "idem-" + UUIDv5(key), and the job's
 * input keeps "request_hash" = UUIDv5 of the canonical request (job_type,
 * customer_id, payload; keys sorted), so the guarantee survives restarts:
 * an existing job under that id with the same hash is returned again (202,
 * header Idempotent-Replayed: true), a different hash (or an instance that
 * is not a job) is a 409. The check-then-start runs under one of
 * JOBS_IDEM_STRIPES mutexes chosen by the id, so two concurrent requests
 * with one key cannot both start. The mutexes belong to the app
 * (dt_app.jobs, struct dt_jobs_api), not to the process; an app without
 * them answers such submissions 500. The guarantee lasts as long as the
 * job's history: once purged (or retention removed it), the key is free
 * again. The stripes only serialise one server; the store is the truth.
 *
 * List: the store filters on the orchestration name and status; job_type
 * and customer_id are matched on the rows read (a job's input is not
 * indexed), so a filtered request reads up to JOBS_LIST_MAX_ROUNDS batches
 * and its page may hold fewer than `limit` jobs while next_cursor is not
 * null: clients follow next_cursor until it is null. next_cursor is the
 * store's continuation after the last row the page consumed (when a page
 * fills up in the middle of a batch, one more query of exactly the rows
 * consumed yields it), so paging never skips or repeats a job.
 *
 * Logs: submit, cancel and purge each log one line with instanceId,
 * job_type, customer_id and reason.
 * Threading: handlers run on the server's threads; the app's stripes are
 * the only state they share (the file keeps none of its own).
 */
#include "http/df.h"
#include "http/http.h"
#include "http/job_accepted.h"
#include "http/job_view.h"
#include "http/openapi.h"

#include "base/buf.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "workers/jobs.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JOBS_MAX_PAYLOAD_BYTES (256 * 1024)
#define JOBS_MAX_PAYLOAD_DEPTH (DT_JSON_MAX_DEPTH - 2) /* the input wraps it */
#define JOBS_MAX_CUSTOMER_ID 256
#define JOBS_MAX_KEY 256
#define JOBS_MAX_REASON 4096
#define JOBS_MAX_ID 256
#define JOBS_IDEM_STRIPES 64
#define JOBS_LIST_DEFAULT 50
#define JOBS_LIST_MAX 1000
#define JOBS_LIST_MAX_ROUNDS 10
#define JOBS_LIST_MIN_BATCH 100 /* rows read per round when filtering */

/* ------------------------------------------------------------ state */

/* The app's job API state (http.h). The mutexes are set up by
 * dt_jobs_api_new and never change until dt_jobs_api_free; each one
 * guards the check-then-start of the Idempotency-Key ids that hash to it. */
struct dt_jobs_api {
    pthread_mutex_t idem[JOBS_IDEM_STRIPES];
};

int
dt_jobs_api_new(struct dt_jobs_api **out)
{
    struct dt_jobs_api *j = malloc(sizeof(*j));
    size_t i;

    *out = NULL;
    if (!j)
        return DURATA_ENOMEM;
    for (i = 0; i < JOBS_IDEM_STRIPES; i++)
        if (pthread_mutex_init(&j->idem[i], NULL) != 0)
            goto out_destroy;
    *out = j;
    return 0;

out_destroy:
    while (i-- > 0)
        pthread_mutex_destroy(&j->idem[i]);
    free(j);
    return DURATA_ENOMEM;
}

void
dt_jobs_api_free(struct dt_jobs_api *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < JOBS_IDEM_STRIPES; i++)
        pthread_mutex_destroy(&j->idem[i]);
    free(j);
}

/* The stripe of j guarding instance id `id`. */
static pthread_mutex_t *
jobs_idem_lock(struct dt_jobs_api *j, const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return &j->idem[h % JOBS_IDEM_STRIPES];
}

/* ------------------------------------------------------------ job view */

/* A JSON string of s (null for NULL); bytes of text that is not UTF-8
 * (ids and handler messages may be anything) become '?'. NULL on OOM. */
static json_t *
safe_str(const char *s)
{
    return s ? dt_df_string(s) : json_null();
}

static bool
is_job(const struct durata_instance *inst)
{
    return inst->name && strcmp(inst->name, DT_JOB_ORCHESTRATOR) == 0;
}

/* Reads job req->params[0] into *out; on a miss fills resp (400 bad id,
 * 404 unknown or not a job) and returns false with *rc the handler's
 * return value. */
static bool
load_job(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp,
         struct durata_instance **out, int *rc)
{
    const char *id = req->n_params ? req->params[0] : "";
    const char *why = NULL;
    int r;

    *out = NULL;
    if (dt_id_check(id, JOBS_MAX_ID, &why) < 0) {
        *rc = dt_http_error(resp, 400, "invalid_id", why ? why : "invalid job id", "job_id");
        return false;
    }
    r = durata_get_status(app->hub, id, out);
    if (r == 0 && !is_job(*out)) {
        durata_instance_free(*out);
        *out = NULL;
        r = DURATA_ENOTFOUND;
    }
    if (r == DURATA_ENOTFOUND)
        *rc = dt_http_error(resp, 404, "not_found", "no job with this id", "job_id");
    else if (r < 0)
        *rc = dt_http_error_from(resp, r, NULL);
    return r == 0;
}

static int
jobs_get(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    struct durata_instance *inst;
    struct dt_buf b;
    int rc;

    if (!load_job(app, req, resp, &inst, &rc))
        return rc;
    dt_buf_init(&b, 0);
    rc = dt_job_view_append(&b, inst);
    if (rc == 0)
        rc = dt_http_take_buf(resp, 200, NULL, &b);
    dt_buf_release(&b);
    durata_instance_free(inst);
    return rc;
}

/* ------------------------------------------------------------ validation */

/* What is wrong with a submission: one entry per bad field. */
struct job_problems {
    json_t *fields; /* array of {"field","message"} */
    bool invalid;   /* a problem other than a size limit */
    bool oom;
};

static void
problem(struct job_problems *p, const char *field, const char *message, bool size_only)
{
    json_t *e = json_pack("{s:s, s:s}", "field", field, "message", message);

    if (!e || json_array_append_new(p->fields, e) < 0)
        p->oom = true;
    if (!size_only)
        p->invalid = true;
}

/* Nesting depth of v (a scalar is 1), counting no further than limit+1. */
static size_t
json_depth(const json_t *v, size_t limit)
{
    size_t max = 0, d, i;
    void *it;

    if (limit == 0)
        return 1;
    for (it = json_object_iter((json_t *)v); it; it = json_object_iter_next((json_t *)v, it)) {
        if ((d = json_depth(json_object_iter_value(it), limit - 1)) > max)
            max = d;
    }
    for (i = 0; i < json_array_size(v); i++) {
        if ((d = json_depth(json_array_get(v, i), limit - 1)) > max)
            max = d;
    }
    return max + 1;
}

static bool
has_control_chars(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

/* Whether name[0..len) is a job type of this server. */
static bool
job_type_is_known(const struct dt_app *app, const char *name, size_t len)
{
    for (const char *const *t = app->job_types; t && *t; t++)
        if (strlen(*t) == len && memcmp(*t, name, len) == 0)
            return true;
    return false;
}

static void
check_job_type(const struct dt_app *app, const json_t *v, struct job_problems *p)
{
    struct dt_buf b;
    char *msg;
    int rc;

    if (!v || json_is_null(v)) {
        problem(p, "job_type", "required: the name of a job type", false);
        return;
    }
    if (!json_is_string(v) || json_string_length(v) == 0) {
        problem(p, "job_type", "must be a non-empty string", false);
        return;
    }
    if (job_type_is_known(app, json_string_value(v), json_string_length(v)))
        return;
    dt_buf_init(&b, 2048);
    rc = dt_buf_appends(&b, "unknown job type; known types:");
    for (const char *const *t = app->job_types; rc == 0 && t && *t; t++)
        rc = dt_buf_appendf(&b, "%s %s", t == app->job_types ? "" : ",", *t);
    msg = dt_buf_detach(&b); /* a message cut at the cap is still useful */
    problem(p, "job_type", msg ? msg : "unknown job type", false);
    free(msg);
}

static void
check_customer_id(const json_t *v, struct job_problems *p)
{
    if (!v || json_is_null(v))
        return;
    if (!json_is_string(v))
        problem(p, "customer_id", "must be a string or null", false);
    else if (json_string_length(v) > JOBS_MAX_CUSTOMER_ID)
        problem(p, "customer_id", "longer than 256 bytes", false);
    else if (has_control_chars(json_string_value(v)) ||
             strlen(json_string_value(v)) != json_string_length(v))
        problem(p, "customer_id", "must not hold control characters", false);
}

static void
check_payload(const json_t *v, struct job_problems *p)
{
    char *text;

    if (!v || json_is_null(v))
        return;
    if (!json_is_object(v)) {
        problem(p, "payload", "must be a JSON object or null", false);
        return;
    }
    if (json_depth(v, JOBS_MAX_PAYLOAD_DEPTH) > JOBS_MAX_PAYLOAD_DEPTH) {
        problem(p, "payload", "nested deeper than 62 levels", false);
        return;
    }
    text = json_dumps(v, JSON_COMPACT);
    if (!text)
        p->oom = true;
    else if (strlen(text) > JOBS_MAX_PAYLOAD_BYTES)
        problem(p, "payload", "larger than 262144 bytes as compact JSON", true);
    free(text);
}

static void
check_key(const char *key, struct job_problems *p)
{
    size_t n;

    if (!key)
        return;
    n = strlen(key);
    if (n == 0 || n > JOBS_MAX_KEY) {
        problem(p, "Idempotency-Key", "must be 1 to 256 characters", false);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)key[i] < 0x20 || (unsigned char)key[i] > 0x7e) {
            problem(p, "Idempotency-Key", "must be printable ASCII", false);
            return;
        }
    }
}

/* Checks every field of body (an object) and the key; unknown members
 * are problems too. */
static void
check_submission(const struct dt_app *app, const json_t *body, const char *key,
                 struct job_problems *p)
{
    const char *k;
    void *it;

    check_job_type(app, json_object_get(body, "job_type"), p);
    check_customer_id(json_object_get(body, "customer_id"), p);
    check_payload(json_object_get(body, "payload"), p);
    check_key(key, p);
    for (it = json_object_iter((json_t *)body); it;
         it = json_object_iter_next((json_t *)body, it)) {
        k = json_object_iter_key(it);
        if (strcmp(k, "job_type") != 0 && strcmp(k, "customer_id") != 0 &&
            strcmp(k, "payload") != 0)
            problem(p, k, "unknown field (expected job_type, customer_id, payload)", false);
    }
}

/* The answer to a request with problems: 422 (413 when every problem is
 * a size limit) naming every bad field; `what` names the request. */
static int
problems_resp(struct dt_http_resp *resp, struct job_problems *p, const char *what)
{
    bool invalid = p->invalid;
    struct dt_buf b;
    json_t *first = json_array_get(p->fields, 0), *err, *x;
    char *msg;
    size_t i;
    int rc;

    dt_buf_init(&b, 4096);
    rc = invalid ? dt_buf_appendf(&b, "invalid %s:", what)
                 : dt_buf_appendf(&b, "%s too large:", what);
    for (i = 0; rc == 0 && i < json_array_size(p->fields); i++) {
        x = json_array_get(p->fields, i);
        rc = dt_buf_appendf(&b, "%s %s", i ? "," : "",
                            json_string_value(json_object_get(x, "field")));
    }
    msg = dt_buf_detach(&b); /* a message cut at the cap is still useful */
    err = json_pack("{s:{s:s, s:s, s:O, s:O}}", "error", "code",
                    invalid ? "validation_failed" : "payload_too_large", "message",
                    msg ? msg : "invalid request", "field", json_object_get(first, "field"),
                    "fields", p->fields);
    free(msg);
    return err ? dt_http_json(resp, invalid ? 422 : 413, err) : DURATA_ENOMEM;
}

/* true when Content-Type is JSON (application/json or application/...+json). */
static bool
content_type_is_json(const char *ct)
{
    size_t n;

    while (*ct == ' ' || *ct == '\t')
        ct++;
    n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return true;
    return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
           strncasecmp(ct + n - 5, "+json", 5) == 0;
}

/* The checks before the body is read: a JSON Content-Type (415) and a
 * body at all (400). false with resp filled and *rc the handler's return
 * value when one fails. */
static bool
body_is_framed(struct dt_http_req *req, struct dt_http_resp *resp, int *rc)
{
    const char *ct = dt_http_header(req, "Content-Type");

    if (ct && *ct && !content_type_is_json(ct)) {
        *rc = dt_http_error(resp, 415, "unsupported_media_type",
                            "the body must be JSON (Content-Type: application/json)", NULL);
        return false;
    }
    if (req->body_len == 0) {
        *rc = dt_http_error(resp, 400, "invalid_json",
                            "the body must be a JSON object with job_type", "body");
        return false;
    }
    return true;
}

/* Parses the body into *out (an object). On a bad body fills resp (400,
 * 422) and returns false with *rc the handler's return value. */
static bool
parse_body(struct dt_http_req *req, struct dt_http_resp *resp, json_t **out, int *rc)
{
    json_error_t err;
    char msg[256];

    *out = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &err);
    if (!*out) {
        snprintf(msg, sizeof(msg), "malformed JSON at line %d, column %d: %s", err.line, err.column,
                 err.text);
        *rc = dt_http_error(resp, 400, "invalid_json", msg, "body");
        return false;
    }
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        *rc = dt_http_error(resp, 422, "validation_failed",
                            "the body must be a JSON object with job_type", "body");
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ submit */

/* The job's input {"job_type","customer_id","payload"} from a checked body. */
static json_t *
job_input(const json_t *body)
{
    json_t *cid = json_object_get(body, "customer_id"), *payload = json_object_get(body, "payload");

    return json_pack("{s:O, s:O?, s:O?}", "job_type", json_object_get(body, "job_type"),
                     "customer_id", json_is_null(cid) ? NULL : cid, "payload",
                     json_is_null(payload) ? NULL : payload);
}

static void
log_job_as(const char *msg, const char *id, const char *job_type, const char *customer_id,
           const char *reason)
{
    dt_log(DT_LOG_INFO, msg, "instanceId", id, "job_type", job_type, "customer_id", customer_id,
           "reason", reason, NULL);
}

static void
log_job(const char *msg, const char *id, const json_t *input, const char *reason)
{
    log_job_as(msg, id, json_string_value(json_object_get(input, "job_type")),
               json_string_value(json_object_get(input, "customer_id")), reason);
}

/* What the answer to a submission logs: its job type and customer id,
 * kept in one allocation until the start is durable. */
struct submit_note {
    const char *customer_id; /* NULL: none */
    char job_type[];         /* then the customer id's bytes */
};

static struct submit_note *
submit_note_new(const char *jt, size_t jt_len, const char *cid, size_t cid_len)
{
    struct submit_note *n = malloc(sizeof(*n) + jt_len + 1 + (cid ? cid_len + 1 : 0));
    char *c;

    if (!n)
        return NULL;
    memcpy(n->job_type, jt, jt_len);
    n->job_type[jt_len] = '\0';
    n->customer_id = NULL;
    if (cid) {
        c = n->job_type + jt_len + 1;
        memcpy(c, cid, cid_len);
        c[cid_len] = '\0';
        n->customer_id = c;
    }
    return n;
}

/* A plain JSON string literal: no escapes, so its text is its value. */
static bool
span_is_plain_string(struct dt_json_span v)
{
    return v.len >= 2 && v.text[0] == '"' && !memchr(v.text, '\\', v.len);
}

static bool
span_is(struct dt_json_span v, const char *text)
{
    return v.len == strlen(text) && memcmp(v.text, text, v.len) == 0;
}

/* Whether the containers of JSON text t (a checked value) nest at most max
 * deep. */
static bool
nesting_at_most(struct dt_json_span t, size_t max)
{
    size_t depth = 0;
    bool in_str = false;

    for (size_t i = 0; i < t.len; i++) {
        char c = t.text[i];

        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                return false;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return true;
}

/* A payload the checks of check_payload pass for sure: an object whose
 * compact dump cannot pass the size limit (a number's dump is at most 8
 * times its text, as "1e5," becomes "100000.0,") nor the depth limit (its
 * scalars add one level to its containers), written on one line (a command
 * handler gets the job on one line of stdin, as jansson writes it). */
static bool
payload_is_plain(struct dt_json_span v)
{
    return v.text[0] == '{' && v.len <= JOBS_MAX_PAYLOAD_BYTES / 8 &&
           !memchr(v.text, '\n', v.len) && !memchr(v.text, '\r', v.len) &&
           nesting_at_most(v, JOBS_MAX_PAYLOAD_DEPTH - 1);
}

/* The job's input built from the body's own text when the body is plainly
 * good (valid JSON without NUL bytes; exactly the known members, each once,
 * with unescaped keys; a known job type and a customer id as plain strings;
 * a plain payload): the same input as job_input, its payload as the client
 * wrote it, without parsing. 1 with *input and *note set; 0 when the body
 * must go through jansson (which then names what is wrong); DURATA_ENOMEM. */
static int
plain_submission(const struct dt_app *app, const struct dt_http_req *req, char **input,
                 struct submit_note **note)
{
    static const char *const keys[] = {"job_type", "customer_id", "payload"};
    struct dt_json_span v[3], jt, cid = {NULL, 0};
    int members, found = 0;
    struct dt_buf b;
    int rc;

    if (strlen(req->body) != req->body_len || dt_json_check(req->body, 0) != 0 ||
        (members = dt_json_members(req->body, keys, 3, v)) < 0)
        return 0;
    for (size_t i = 0; i < 3; i++)
        found += v[i].text != NULL;
    if (members != found || !v[0].text || !span_is_plain_string(v[0]) || v[0].len == 2)
        return 0;
    jt = (struct dt_json_span){v[0].text + 1, v[0].len - 2};
    if (!job_type_is_known(app, jt.text, jt.len))
        return 0;
    if (v[1].text && !span_is(v[1], "null")) {
        if (!span_is_plain_string(v[1]) || v[1].len - 2 > JOBS_MAX_CUSTOMER_ID ||
            memchr(v[1].text, 0x7f, v[1].len))
            return 0;
        cid = (struct dt_json_span){v[1].text + 1, v[1].len - 2};
    }
    if (v[2].text && span_is(v[2], "null"))
        v[2].text = NULL;
    if (v[2].text && !payload_is_plain(v[2]))
        return 0;
    dt_buf_init(&b, 0);
    rc = dt_buf_reserve(&b, 64 + v[0].len + v[1].len + v[2].len);
    if (rc == 0 && (rc = dt_buf_appends(&b, "{\"job_type\":")) == 0)
        rc = dt_buf_append(&b, v[0].text, v[0].len);
    if (rc == 0 && cid.text && (rc = dt_buf_appends(&b, ",\"customer_id\":")) == 0)
        rc = dt_buf_append(&b, v[1].text, v[1].len);
    if (rc == 0 && v[2].text && (rc = dt_buf_appends(&b, ",\"payload\":")) == 0)
        rc = dt_buf_append(&b, v[2].text, v[2].len);
    if (rc == 0)
        rc = dt_buf_append(&b, "}", 1);
    if (rc == 0 && !(*note = submit_note_new(jt.text, jt.len, cid.text, cid.len)))
        rc = DURATA_ENOMEM;
    if (rc < 0) {
        dt_buf_release(&b);
        return DURATA_ENOMEM;
    }
    *input = dt_buf_detach(&b);
    return 1;
}

/* Maps a failed durata_start to an answer. */
static int
start_error(struct dt_http_resp *resp, int code)
{
    if (code == DURATA_ETOOBIG)
        return dt_http_error(resp, 413, "payload_too_large",
                             "the job is over the store's payload limit", "payload");
    if (code == DURATA_ECONFLICT)
        return dt_http_error(resp, 409, "conflict", "a live instance already has this id", NULL);
    return dt_http_error_from(resp, code, NULL);
}

/* Starts input (text) under id (NULL = a new id) into id_out. */
static int
start_job(struct dt_app *app, const char *id, const char *input, char id_out[257])
{
    struct durata_start_options o = {
        .name = DT_JOB_ORCHESTRATOR, .instance_id = id, .input = input};

    return durata_start(app->hub, &o, id_out, 257);
}

/* true when inst is the job an idempotent request with hash made. */
static bool
job_has_hash(const struct durata_instance *inst, const char *hash)
{
    json_t *in = is_job(inst) ? dt_json_parse(inst->input) : NULL;
    const char *h = json_string_value(json_object_get(in, "request_hash"));
    bool same = h && strcmp(h, hash) == 0;

    json_decref(in);
    return same;
}

/* The Idempotency-Key path: the job under the key's id, or a new one. */
static int
submit_idempotent(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp,
                  const char *key, json_t *input)
{
    char uuid[37], id[48], hash[37], id_out[257];
    struct durata_instance *inst = NULL;
    char *canon, *text = NULL;
    pthread_mutex_t *mu;
    int rc;

    if (!app->jobs)
        return dt_http_error(resp, 500, "internal",
                             "this server has no job API state for Idempotency-Key", NULL);
    dt_uuid_v5(key, strlen(key), uuid);
    snprintf(id, sizeof(id), "idem-%s", uuid);
    canon = json_dumps(input, JSON_COMPACT | JSON_SORT_KEYS);
    if (!canon)
        return DURATA_ENOMEM;
    dt_uuid_v5(canon, strlen(canon), hash);
    free(canon);
    if (json_object_set_new(input, "request_hash", json_string(hash)) < 0 ||
        !(text = dt_json_text(input)))
        return DURATA_ENOMEM;
    mu = jobs_idem_lock(app->jobs, id);
    pthread_mutex_lock(mu);
    rc = durata_get_status(app->hub, id, &inst);
    if (rc == DURATA_ENOTFOUND)
        rc = start_job(app, id, text, id_out);
    pthread_mutex_unlock(mu);
    free(text);
    if (rc < 0)
        return start_error(resp, rc);
    if (!inst) {
        log_job("job submitted", id, input, NULL);
        return dt_job_accepted(req, resp, id, false);
    }
    rc = job_has_hash(inst, hash);
    durata_instance_free(inst);
    if (!rc)
        return dt_http_error(resp, 409, "idempotency_conflict",
                             "this Idempotency-Key was used with a different request",
                             "Idempotency-Key");
    return dt_job_accepted(req, resp, id, true);
}

/* The answer to a submission's start (dt_http_started_fn); arg is its
 * note (freed here). */
static int
submit_answer(struct dt_http_req *req, struct dt_http_resp *resp, int rc, const char *id, void *arg)
{
    struct submit_note *note = arg;

    if (resp && rc < 0)
        rc = start_error(resp, rc);
    else if (resp) {
        log_job_as("job submitted", id, note->job_type, note->customer_id, NULL);
        rc = dt_job_accepted(req, resp, id, false);
    }
    free(note);
    return rc;
}

/* The input and note of a body that jansson parsed and the checks passed. */
static int
checked_submission(const json_t *input, char **text, struct submit_note **note)
{
    const char *jt = json_string_value(json_object_get(input, "job_type")),
               *cid = json_string_value(json_object_get(input, "customer_id"));

    if (!(*text = dt_json_text(input)))
        return DURATA_ENOMEM;
    if (!(*note = submit_note_new(jt, strlen(jt), cid, cid ? strlen(cid) : 0))) {
        free(*text);
        *text = NULL;
        return DURATA_ENOMEM;
    }
    return 0;
}

static int
jobs_submit(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    const char *key = dt_http_header(req, "Idempotency-Key");
    struct job_problems p = {0};
    json_t *body = NULL, *input = NULL;
    struct submit_note *note = NULL;
    char *text = NULL;
    int rc;

    /* An idempotent submission holds its key's lock through a durable
     * start: a worker's job. */
    if (key && !req->may_block && req->server_ctx)
        return DT_HTTP_BLOCKS;
    if (!body_is_framed(req, resp, &rc))
        return rc;
    if (!key && (rc = plain_submission(app, req, &text, &note)) != 0) {
        if (rc < 0)
            return rc;
        goto start;
    }
    if (!(p.fields = json_array()))
        return DURATA_ENOMEM;
    if (!parse_body(req, resp, &body, &rc))
        goto out_free;
    check_submission(app, body, key, &p);
    if (!p.oom && json_array_size(p.fields) > 0) {
        rc = problems_resp(resp, &p, "job submission");
        goto out_free;
    }
    rc = DURATA_ENOMEM;
    if (p.oom || !(input = job_input(body)))
        goto out_free;
    if (key) {
        rc = submit_idempotent(app, req, resp, key, input);
        goto out_free;
    }
    if ((rc = checked_submission(input, &text, &note)) < 0)
        goto out_free;
start:;
    struct durata_start_options o = {.name = DT_JOB_ORCHESTRATOR, .input = text};
    rc = dt_http_start(app, req, resp, &o, submit_answer, note);
out_free:
    free(text);
    json_decref(input);
    json_decref(body);
    json_decref(p.fields);
    return rc;
}

/* ------------------------------------------------------------ cancel, purge */

static int
jobs_cancel(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    const char *reason = dt_http_query(req, "reason");
    struct durata_instance *inst;
    json_t *input = NULL;
    char *reason_json = NULL;
    int rc;

    if (reason && strlen(reason) > JOBS_MAX_REASON)
        return dt_http_error(resp, 422, "validation_failed", "reason is longer than 4096 bytes",
                             "reason");
    if (!load_job(app, req, resp, &inst, &rc))
        return rc;
    if (durata_status_is_terminal(inst->status)) {
        rc = dt_http_error(resp, 409, "conflict", "the job has already ended", "job_id");
        goto out_free;
    }
    rc = DURATA_ENOMEM;
    if (reason && !(reason_json = dt_json_quote(reason)))
        goto out_free;
    rc = durata_terminate(app->hub, inst->id, reason_json, false);
    if (rc == DURATA_EGONE) {
        rc = dt_http_error(resp, 409, "conflict", "the job has already ended", "job_id");
        goto out_free;
    }
    if (rc < 0) {
        rc = dt_http_error_from(resp, rc, NULL);
        goto out_free;
    }
    input = dt_json_parse(inst->input);
    log_job("job cancellation requested", inst->id, input, reason);
    rc = dt_http_json(
        resp, 202,
        json_pack("{s:s, s:o}", "status", "cancellation-requested", "job_id", safe_str(inst->id)));
out_free:
    json_decref(input);
    free(reason_json);
    durata_instance_free(inst);
    return rc;
}

static int
jobs_purge(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    struct durata_instance *inst;
    json_t *input = NULL;
    int rc, deleted = 0;

    if (!load_job(app, req, resp, &inst, &rc))
        return rc;
    if (!durata_status_is_terminal(inst->status)) {
        rc = dt_http_error(resp, 409, "conflict",
                           "the job has not ended: cancel it, or wait, before purging", "job_id");
        goto out_free;
    }
    rc = durata_purge(app->hub, inst->id, &deleted);
    if (rc == 0 && deleted == 0)
        rc = dt_http_error(resp, 409, "conflict", "the job is running again", "job_id");
    else if (rc == DURATA_ENOTFOUND)
        rc = dt_http_error(resp, 404, "not_found", "no job with this id", "job_id");
    else if (rc < 0)
        rc = dt_http_error_from(resp, rc, NULL);
    if (rc != 0 || deleted == 0)
        goto out_free;
    input = dt_json_parse(inst->input);
    log_job("job history purged", inst->id, input, NULL);
    rc = dt_http_json(
        resp, 202,
        json_pack("{s:s, s:o}", "status", "purge-requested", "job_id", safe_str(inst->id)));
out_free:
    json_decref(input);
    durata_instance_free(inst);
    return rc;
}

/* ------------------------------------------------------------ list */

struct jobs_list {
    struct durata_filter f;
    const char *job_type;    /* matched on the rows read; NULL = any */
    const char *customer_id; /* same */
    size_t limit;
    const char *cursor; /* the store's continuation; NULL = first page */
};

/* Statuses of a job state name as a durata_filter bit set; 0 if unknown. */
static unsigned
job_state_bits(const char *name, size_t len)
{
    static const struct {
        const char *name;
        unsigned bits;
    } states[] = {
        {"pending", 1u << DURATA_PENDING},
        {"running", 1u << DURATA_RUNNING | 1u << DURATA_CONTINUED_AS_NEW},
        {"completed", 1u << DURATA_COMPLETED},
        {"failed", 1u << DURATA_FAILED},
        {"cancelled", 1u << DURATA_CANCELED | 1u << DURATA_TERMINATED},
        {"canceled", 1u << DURATA_CANCELED | 1u << DURATA_TERMINATED},
        {"suspended", 1u << DURATA_SUSPENDED},
    };

    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
        if (strlen(states[i].name) == len && strncasecmp(states[i].name, name, len) == 0)
            return states[i].bits;
    return 0;
}

/* "running,failed" into *bits; false when an item is unknown or empty. */
static bool
parse_states(const char *s, unsigned *bits)
{
    *bits = 0;
    for (;;) {
        size_t n = strcspn(s, ",");
        unsigned b = job_state_bits(s, n);

        if (!b)
            return false;
        *bits |= b;
        if (!s[n])
            return true;
        s += n + 1;
    }
}

static void
parse_list_query(struct dt_http_req *req, struct jobs_list *l, struct job_problems *p)
{
    const char *status = dt_http_query(req, "status"), *limit = dt_http_query(req, "limit");
    char *end;
    long n;

    l->f.name = DT_JOB_ORCHESTRATOR;
    l->job_type = dt_http_query(req, "job_type");
    l->customer_id = dt_http_query(req, "customer_id");
    l->cursor = dt_http_query(req, "cursor");
    if (l->cursor && !*l->cursor)
        l->cursor = NULL;
    if (status && *status && !parse_states(status, &l->f.statuses))
        problem(p, "status",
                "a comma-separated list of pending, running, completed, failed, cancelled, "
                "suspended",
                false);
    l->limit = JOBS_LIST_DEFAULT;
    if (limit && *limit) {
        errno = 0;
        n = strtol(limit, &end, 10);
        if (errno || *end || end == limit || n < 1 || n > JOBS_LIST_MAX)
            problem(p, "limit", "an integer from 1 to 1000", false);
        else
            l->limit = (size_t)n;
    }
}

static bool
job_matches(const struct jobs_list *l, const struct durata_instance *inst)
{
    json_t *in;
    const char *jt, *cid;
    bool ok;

    if (!l->job_type && !l->customer_id)
        return true;
    in = dt_json_parse(inst->input);
    jt = json_string_value(json_object_get(in, "job_type"));
    cid = json_string_value(json_object_get(in, "customer_id"));
    ok = (!l->job_type || (jt && strcmp(jt, l->job_type) == 0)) &&
         (!l->customer_id || (cid && strcmp(cid, l->customer_id) == 0));
    json_decref(in);
    return ok;
}

/* The continuation after the first `rows` rows from `from` (a page that
 * ends mid-batch); *next NULL when nothing follows. */
static int
cursor_after(struct dt_app *app, const struct jobs_list *l, const char *from, size_t rows,
             char **next)
{
    struct durata_page *page = NULL;
    int rc = durata_query(app->hub, &l->f, rows, from, &page);

    *next = NULL;
    if (rc == 0 && page->continuation && !(*next = strdup(page->continuation)))
        rc = DURATA_ENOMEM;
    durata_page_free(page);
    return rc;
}

/* The views of a list's jobs, comma-separated, and how many. */
struct job_views {
    struct dt_buf text;
    size_t count;
};

/* Appends the views of one page's matching rows to jobs, until limit.
 * *stop_at: rows consumed when the limit was reached mid-page, else 0. */
static int
list_page(const struct jobs_list *l, const struct durata_page *page, struct job_views *jobs,
          size_t *stop_at)
{
    int rc;

    *stop_at = 0;
    for (size_t i = 0; i < page->count; i++) {
        if (!job_matches(l, page->items[i]))
            continue;
        if ((jobs->count && (rc = dt_buf_append(&jobs->text, ",", 1)) < 0) ||
            (rc = dt_job_view_append(&jobs->text, page->items[i])) < 0)
            return rc;
        if (++jobs->count == l->limit) {
            *stop_at = i + 1 < page->count ? i + 1 : 0;
            break;
        }
    }
    return 0;
}

/* Fills jobs (at most l->limit) and the next cursor (NULL at the end). */
static int
list_collect(struct dt_app *app, const struct jobs_list *l, struct job_views *jobs, char **next)
{
    bool filtering = l->job_type || l->customer_id;
    char *cur = l->cursor ? strdup(l->cursor) : NULL;
    struct durata_page *page = NULL;
    size_t need, stop_at = 0;
    int rc = 0, round;

    *next = NULL;
    if (l->cursor && !cur)
        return DURATA_ENOMEM;
    for (round = 0; round < JOBS_LIST_MAX_ROUNDS; round++) {
        need = l->limit - jobs->count;
        rc = durata_query(app->hub, &l->f,
                          filtering && need < JOBS_LIST_MIN_BATCH ? JOBS_LIST_MIN_BATCH : need, cur,
                          &page);
        if (rc == 0)
            rc = list_page(l, page, jobs, &stop_at);
        if (rc < 0)
            break;
        if (stop_at) {
            rc = cursor_after(app, l, cur, stop_at, next);
            break;
        }
        free(cur);
        cur = NULL;
        if (page->continuation && !(cur = strdup(page->continuation))) {
            rc = DURATA_ENOMEM;
            break;
        }
        durata_page_free(page);
        page = NULL;
        if (!cur || jobs->count == l->limit)
            break;
    }
    if (rc == 0 && !*next && cur) {
        *next = cur; /* the limit was reached at a page end, or rounds ran out */
        cur = NULL;
    }
    durata_page_free(page);
    free(cur);
    return rc;
}

static int
jobs_list(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    struct job_problems p = {.fields = json_array()};
    struct jobs_list l = {0};
    struct job_views jobs = {.count = 0};
    struct dt_buf b;
    char *next = NULL;
    int rc = DURATA_ENOMEM;

    dt_buf_init(&jobs.text, 0);
    dt_buf_init(&b, 0);
    if (!p.fields)
        goto out_free;
    parse_list_query(req, &l, &p);
    if (json_array_size(p.fields) > 0) {
        rc = p.oom ? DURATA_ENOMEM : problems_resp(resp, &p, "query");
        goto out_free;
    }
    rc = list_collect(app, &l, &jobs, &next);
    if (rc == DURATA_EINVAL) {
        rc = dt_http_error(resp, 422, "validation_failed",
                           "invalid cursor: pass back a next_cursor this API returned", "cursor");
        goto out_free;
    }
    if (rc < 0) {
        rc = dt_http_error_from(resp, rc, NULL);
        goto out_free;
    }
    if ((rc = dt_buf_appends(&b, "{\"jobs\":[")) == 0 &&
        (rc = dt_buf_append(&b, jobs.text.data ? jobs.text.data : "", jobs.text.len)) == 0 &&
        (rc = dt_buf_appends(&b, "],\"next_cursor\":")) == 0 &&
        (rc = dt_json_append_str(&b, next)) == 0 && (rc = dt_buf_append(&b, "}", 1)) == 0)
        rc = dt_http_take_buf(resp, 200, NULL, &b);
out_free:
    free(next);
    dt_buf_release(&b);
    dt_buf_release(&jobs.text);
    json_decref(p.fields);
    return rc;
}

/* ------------------------------------------------------------ routes */

const struct dt_route dt_jobs_routes[] = {
    {"POST", "/api/jobs", jobs_submit,
     "Submit a job: 202 with job_id, status_url and management URLs (Idempotency-Key honoured)",
     true},
    {"GET", "/api/jobs", jobs_list,
     "List jobs, filtered by status, job_type and customer_id, "
     "a page at a time",
     false},
    {"GET", "/api/jobs/{id}", jobs_get, "A job's status, result or error, and attempts", false},
    {"DELETE", "/api/jobs/{id}", jobs_cancel,
     "Cancel a job (terminates its orchestration); 409 when it has ended", false},
    {"DELETE", "/api/jobs/{id}/history", jobs_purge,
     "Purge a finished job's history; 409 while it runs", false},
    {"GET", "/api/openapi.json", dt_openapi_get,
     "This server's OpenAPI 3.1 document, generated from its route tables", false},
    {NULL, NULL, NULL, NULL, false},
};
