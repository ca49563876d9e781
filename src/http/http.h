/*
 * http.h — the HTTP front end's shared contract: requests, responses,
 * routes and the server (libmicrohttpd underneath).
 *
 * Owns: the shapes every API module (df_api.c, jobs_api.c, ops.c) works
 * with, so they never see libmicrohttpd; the route table type; the error
 * body of DESIGN.md ({"error":{"code","message","field"?}}).
 * Threading: the server runs GET/HEAD handlers, and the handlers of routes
 * marked nonblocking, on libmicrohttpd's thread pool, and other methods on
 * its worker pool (the connection suspended meanwhile), where a handler
 * may block (it calls the hub, which waits for durable commits). A
 * nonblocking handler that has to wait defers its answer (dt_http_defer)
 * instead. A request and its response belong to the one thread handling
 * them at a time.
 */
#ifndef DT_HTTP_HTTP_H
#define DT_HTTP_HTTP_H

#include "durata.h"

#include "base/buf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ config */

struct dt_http_config {
    const char *host;            /* listen address, "127.0.0.1" by default */
    int port;                    /* 0 = a free port (dt_http_server_port tells) */
    size_t max_body_bytes;       /* 0 = 1 MiB; over it: 413 */
    unsigned max_connections;    /* 0 = 1024; over it libmicrohttpd refuses */
    unsigned threads;            /* handler threads; 0 = 8 */
    unsigned timeout_s;          /* idle connection timeout; 0 = 30 */
    const char *const *api_keys; /* NULL-terminated; NULL/empty = no auth */
    /* Write requests (every method but GET, HEAD, OPTIONS) waiting for a
     * handler thread; 0 = 64 per thread. Over it: 503 "overloaded" with
     * Retry-After at once, nothing queued. */
    unsigned max_queued;
    /* Request bodies buffered at once over all connections; 0 = 64 MiB.
     * A body that would go over it: 503 "overloaded" with Retry-After
     * (keep it >= max_body_bytes, or the largest bodies never fit). */
    size_t body_budget_bytes;
};

/* ------------------------------------------------------------ request */

struct dt_http_kv {
    char *key;
    char *value;
};

struct dt_http_req {
    const char *method;       /* "GET", "POST", ... */
    const char *path;         /* percent-decoded path, no query */
    const char *base_url;     /* "http://host:port" as the client reached us
                                 (Host header; X-Forwarded-Proto/Host honoured) */
    struct dt_http_kv *query; /* decoded query parameters, in order */
    size_t n_query;
    struct dt_http_kv *headers;
    size_t n_headers;
    const char *body; /* NUL-terminated; "" when none */
    size_t body_len;
    /* Path parameters captured by the route pattern, in pattern order
     * (e.g. "{id}" and "{event}"), percent-decoded. */
    const char *params[4];
    size_t n_params;
    /* The handler runs on a worker thread, where it may wait. */
    bool may_block;
    void *server_ctx; /* the server's own (dt_http_defer); NULL outside it */
};

/* The value of query parameter `name` (case-insensitive, first match), or
 * NULL. */
const char *dt_http_query(const struct dt_http_req *r, const char *name);
/* Header value (case-insensitive) or NULL. */
const char *dt_http_header(const struct dt_http_req *r, const char *name);
/* Parses a query boolean: "true"/"false" (case-insensitive); anything else
 * (or absent) gives dflt, as Durable Functions treats it. */
bool dt_http_query_bool(const struct dt_http_req *r, const char *name, bool dflt);

/* ------------------------------------------------------------ response */

struct dt_http_resp {
    int status;
    char *content_type; /* NULL = "application/json; charset=utf-8" */
    char *body;         /* malloc'd; NULL = empty body */
    size_t body_len;
    /* Extra headers (Location, Retry-After, ...), added with
     * dt_http_add_header: each value lives in its key's allocation. */
    struct dt_http_kv *headers;
    size_t n_headers;
};

/* Sets status and a compact JSON body from v (v is taken: decref'd).
 * Returns 0 or DURATA_ENOMEM. */
DURATA_MUST_CHECK int dt_http_json(struct dt_http_resp *resp, int status, json_t *v);
/* Sets status and the raw body text (copied), with content type ctype
 * (NULL = JSON). */
DURATA_MUST_CHECK int dt_http_text(struct dt_http_resp *resp, int status, const char *ctype,
                                   const char *text, size_t len);
/* Sets status and the content of b as the body (taken: b is left empty),
 * saving the copy dt_http_text makes. 0 or DURATA_ENOMEM. */
DURATA_MUST_CHECK int dt_http_take_buf(struct dt_http_resp *resp, int status, const char *ctype,
                                       struct dt_buf *b);
/* The error body of DESIGN.md: {"error":{"code":code,"message":message}}
 * plus "field" when field is non-NULL. */
DURATA_MUST_CHECK int dt_http_error(struct dt_http_resp *resp, int status, const char *code,
                                    const char *message, const char *field);
/* Adds a response header (copied). */
DURATA_MUST_CHECK int dt_http_add_header(struct dt_http_resp *resp, const char *key,
                                         const char *value);
void dt_http_resp_release(struct dt_http_resp *resp);

/* Maps a DURATA_E* code to an error response (status + code name), for the
 * generic cases: EINVAL/EJSON 400, ENOTFOUND 404, ECONFLICT 409, ETOOBIG 413,
 * EGONE 410, EUNKNOWN 400 (unknown orchestrator), EOVERLOAD 503, others 500. */
DURATA_MUST_CHECK int dt_http_error_from(struct dt_http_resp *resp, int code, const char *message);

/* ------------------------------------------------------------ routes */

struct dt_app; /* what handlers share: the hub and the server's settings */

/* A handler fills resp; its return value is 0, or a negative DURATA_E*
 * code when it could not even build a response (then the server answers
 * 500), or one of these: */
#define DT_HTTP_DEFERRED 1 /* dt_http_defer was called: the answer comes later */
#define DT_HTTP_BLOCKS                                                                             \
    2 /* a nonblocking route's handler would wait on this                                          \
         request: run it again on a worker (resp untouched) */
typedef int (*dt_http_handler)(struct dt_app *app, struct dt_http_req *req,
                               struct dt_http_resp *resp);

/* Builds a deferred request's answer once it is resumed, on a
 * libmicrohttpd thread: rc is what dt_http_resume was given; the return
 * value as a handler's. Called exactly once: with resp NULL when the
 * connection went away first (only arg is to be released then). */
typedef int (*dt_http_finish_fn)(struct dt_app *app, struct dt_http_req *req,
                                 struct dt_http_resp *resp, void *arg, int rc);

struct dt_http_defer;

/* From a handler on a libmicrohttpd thread: the answer will come later.
 * The connection waits without holding the thread until dt_http_resume;
 * the handler must then return DT_HTTP_DEFERRED, and req stays valid. NULL
 * when the request cannot be deferred (outside the server, on a worker
 * thread, where the handler simply waits, once the server is stopping, or
 * deferred already): answer at once then. DT_HTTP_DEFERRED without a
 * deferral is answered 500. */
struct dt_http_defer *dt_http_defer(struct dt_http_req *req, dt_http_finish_fn finish, void *arg);

/* Ends the wait of a deferred request, from any thread, exactly once:
 * finish(..., arg, rc) then builds the answer. */
void dt_http_resume(struct dt_http_defer *d, int rc);

/* Builds the answer to a start (rc 0 with the instance's id, else the
 * start's error and id NULL); resp NULL when the connection went away (only
 * arg is to be released then). The return value as a handler's. */
typedef int (*dt_http_started_fn)(struct dt_http_req *req, struct dt_http_resp *resp, int rc,
                                  const char *id, void *arg);

/* Starts o and answers through `answer` (called exactly once) when the
 * start is durable: deferred (durata_start_async) when the server can
 * defer req, else after waiting in durata_start. Returns what the handler
 * returns: DT_HTTP_DEFERRED, or answer's value. start.c. */
int dt_http_start(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp,
                  const struct durata_start_options *o, dt_http_started_fn answer, void *arg);

/* A route: method ("GET", ...) and a pattern of literal segments and
 * "{name}" captures, e.g. "/runtime/webhooks/durabletask/instances/{id}".
 * Literal segments match case-insensitively (Durable Functions matches
 * operation names like "raiseEvent" that way); a trailing slash in the
 * request is ignored. A path that matches a pattern with another method
 * gets 404, as Durable Functions answers (never 405). */
struct dt_route {
    const char *method;
    const char *pattern;
    dt_http_handler handler;
    const char *summary; /* one line, for the OpenAPI document */
    /* The handler never waits (it answers at once, defers, or returns
     * DT_HTTP_BLOCKS), so it runs on libmicrohttpd's thread whatever the
     * method, without a hand-off to a worker. */
    bool nonblocking;
};

/* Each API module exports its table, ending with a {NULL} entry. */
extern const struct dt_route dt_df_routes[];   /* df_api.c */
extern const struct dt_route dt_jobs_routes[]; /* jobs_api.c */
extern const struct dt_route dt_ops_routes[];  /* ops.c: /healthz, /readyz */

/* ------------------------------------------------------------ app */

/* The job API's state (jobs_api.c): the mutex stripes that make the
 * check-then-start of one Idempotency-Key atomic within the server. One
 * per app; free it only after the server serving the app has stopped.
 * Handlers on any thread may use it at once. */
struct dt_jobs_api;

/* 0, or DURATA_ENOMEM (then *out is NULL). */
DURATA_MUST_CHECK int dt_jobs_api_new(struct dt_jobs_api **out);
/* NULL ok. */
void dt_jobs_api_free(struct dt_jobs_api *j);

struct dt_app {
    struct durata_hub *hub;
    const struct dt_http_config *config;
    /* The route tables the server serves, NULL-terminated (the server
     * itself references none, so it can be tested with any table). */
    const struct dt_route *const *routes;
    /* Job types known to the job API (built-in demo types and configured
     * ones), NULL-terminated names; see workers/jobs.h. */
    const char *const *job_types;
    /* The job API's state (dt_jobs_api_new); NULL: a submission with an
     * Idempotency-Key answers 500. */
    struct dt_jobs_api *jobs;
    bool ready; /* set once the server accepts requests (for /readyz) */
    /* The Prometheus registry (http/metrics.h): the server records each
     * answered request in it, GET /metrics renders it. NULL = not kept. */
    struct dt_metrics *metrics;
};

/* ------------------------------------------------------------ server */

struct dt_http_server;

/* Starts listening and serving app with cfg (both must outlive the
 * server). DURATA_ESYS when the address cannot be bound (logged). */
DURATA_MUST_CHECK int dt_http_server_start(struct dt_http_server **out, struct dt_app *app,
                                           const struct dt_http_config *cfg);
/* The bound port (useful with port 0). */
int dt_http_server_port(const struct dt_http_server *s);
/* Stops accepting, finishes running requests, frees. NULL ok. */
void dt_http_server_stop(struct dt_http_server *s);

#endif
