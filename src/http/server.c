/*
 * server.c — the HTTP server: libmicrohttpd underneath, requests turned
 * into struct dt_http_req, routed through the app's tables, answered from
 * struct dt_http_resp.
 *
 * Owns: the libmicrohttpd daemon (an internal polling thread pool, epoll
 * where available, SRV_POLL_PER_CPU threads a CPU and at most
 * config.threads), the worker threads (struct srv_pool), one struct
 * srv_conn per request (its capped body buffer), and the per-request
 * pipeline: body framing checks (400 for ambiguous lengths), body limit
 * (413, after dropping the body, at once when it is declared far over),
 * path and query decoding, API keys (401), route lookup (404), the
 * handler, Content-Type on every answer, the request's metrics
 * (app->metrics, by route pattern) and one
 * debug log line; the overload limits (503 "overloaded" with Retry-After
 * rather than more memory: write requests waiting for a worker beyond
 * max_queued, and request bodies beyond the budget all connections share,
 * charged at once from Content-Length or chunk by chunk and given back when
 * the request ends, whichever way it ends); and stopping with a drain
 * (requests in progress are answered first, and answers close their
 * connections from then on).
 * libmicrohttpd itself answers malformed request lines and headers too
 * large for the per-connection memory (400/414/431/505, with its own small
 * HTML bodies; request lines that are not HTTP at all get the connection
 * closed) and closes idle connections after the timeout.
 * Does not own: the app and the config (the caller's, they outlive the
 * server); what handlers do.
 * Threading: libmicrohttpd's threads read requests, route them and write
 * answers. Reads (GET, HEAD, OPTIONS) and the routes marked nonblocking
 * are handled right there; a nonblocking handler that waits for a durable
 * commit defers its answer (dt_http_defer: the connection is suspended
 * until dt_http_resume, from the hub's thread, and the answer is built on
 * the libmicrohttpd thread after). Every other method may block in the
 * hub (durata_raise_event returns once the event is on disk), so those
 * requests go to the worker threads (config.threads of them), the
 * connection suspended meanwhile, so a libmicrohttpd thread never sleeps
 * in a commit while its other connections wait. A request is handled by
 * one thread at a time (hand-offs go through the pool's lock or the hub's
 * callback, then libmicrohttpd's resume). The server struct is read-only
 * after start but for the pool and its atomic counters.
 */
#include "http/server_impl.h"

#include "http/metrics.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"

#include <microhttpd.h>

#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SRV_DEFAULT_MAX_BODY (1024 * 1024)
#define SRV_DEFAULT_CONNECTIONS 1024
#define SRV_DEFAULT_THREADS 8
/* libmicrohttpd's polling threads per online CPU. Handlers that may block
 * run on the worker threads, so these only need to keep the CPUs busy; a
 * thread per connection or two woke once per event (each request twice:
 * its arrival and its resume) where a few threads take several at a time.
 * Measured with two servers loaded at once on 2 CPUs, 8 polling threads
 * against 64: 1-3 % less CPU a job end to end, 13-20 % less accepting. */
#define SRV_POLL_PER_CPU 4
#define SRV_DEFAULT_TIMEOUT_S 30
/* Per-connection memory: the request line and headers must fit in it, so
 * it is also the header size limit: about 15 KiB of headers pass, as
 * Node.js's 16 KiB default, and libmicrohttpd answers 431 beyond (or
 * closes the connection when not even that fits). libmicrohttpd zeroes
 * all of it after every request: at 32 KiB that was ~3 % of the server's
 * CPU when accepting jobs. */
#define SRV_CONNECTION_MEMORY (16 * 1024)
/* A body over the limit (chunked, or declared at most this large) is read
 * and dropped to the end so the 413 can be sent; past this many bytes the
 * connection is simply closed (or, when declared, answered at once). */
#define SRV_DISCARD_MAX (4 * 1024 * 1024)
#define SRV_JSON_TYPE "application/json; charset=utf-8"
/* How long stopping waits for requests in progress to be answered. */
#define SRV_DRAIN_MS 10000
/* Write requests waiting for a worker, per worker thread. Each worker holds
 * one request through its durable commit and the hub commits what they
 * hold together, so a queued request waits about (queued / workers) commit
 * rounds: 64 rounds of 1-10 ms stay under the second Retry-After: 1 asks a
 * refused client to wait, so only requests that would have waited longer
 * than a retry are refused. With serve's 64 threads that is 4096, above the
 * default connection limit: the bound bites when connections are raised or
 * threads are few. */
#define SRV_QUEUED_PER_THREAD 64
/* Request bodies buffered at once, all connections together: 64 bodies at
 * the default 1 MiB limit, or tens of thousands of usual job submissions
 * (a few hundred bytes each), where 1024 connections each sending 1 MiB
 * could otherwise hold 1 GiB. */
#define SRV_DEFAULT_BODY_BUDGET ((size_t)64 * 1024 * 1024)
#define SRV_QUEUE_FULL_MSG "more write requests are waiting than the server accepts; retry later"
#define SRV_BUDGET_MSG                                                                             \
    "the request bodies being received take all the memory set aside for them; retry later"

/* The worker threads that run the requests that may wait for a durable
 * write (srv_may_write), so a libmicrohttpd thread blocks on none of them.
 * `mu` guards the queue, `n_queued` and `stopping`. */
struct srv_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* work queued, or stopping */
    struct srv_conn *head, *tail;
    size_t n_queued;   /* in the queue, not yet taken by a worker */
    size_t max_queued; /* set before the workers start, then read-only */
    bool stopping;
    pthread_t *threads;
    size_t n_threads; /* running */
};

struct dt_http_server {
    struct MHD_Daemon *daemon;
    struct srv_pool pool;
    struct dt_app *app;
    const struct dt_http_config *cfg;
    size_t max_body;
    size_t body_budget;
    /* Body bytes charged by requests in progress (the sum of their
     * srv_conn.reserved); never above body_budget, since budget_take checks
     * before it adds. */
    _Atomic size_t body_bytes;
    int port;
    char listen[DT_HTTP_HOST_MAX + 16]; /* "host:port", base_url fallback */
    /* Requests begun (headers read) and not yet completed (answer sent or
     * connection gone); stopping waits for it to reach 0. */
    _Atomic long in_flight;
    /* Set when stopping begins: answers then close their connection, so
     * keep-alive clients go away and the drain can end. */
    atomic_bool stopping;
    /* Deferred requests not yet resumed: the daemon must not stop while
     * one of their connections is suspended. Once defer_closed is set
     * (stopping, after the drain), dt_http_defer refuses: a keep-alive
     * connection may still send a request then. */
    _Atomic long deferred;
    atomic_bool defer_closed;
};

/* One request's state across the access handler's calls; freed when
 * libmicrohttpd reports the request complete. */
struct srv_conn {
    struct dt_http_server *srv;
    struct dt_buf body;
    int64_t start_us;
    size_t dropped;  /* body bytes not kept (a refused request's) */
    size_t reserved; /* charged to srv->body_bytes; srv_body_done gives it back */
    bool too_big;    /* over the body limit: 413 */
    bool overloaded; /* over the queue or the body budget: 503 */
    bool prepaid;    /* the whole Content-Length was charged at the start */
    /* A request handed to a worker (srv_offload) or deferred: built and
     * routed on the libmicrohttpd thread, handled on the worker (or
     * waiting for dt_http_resume) while the connection is suspended,
     * answered on the libmicrohttpd thread once resumed. The worker (or
     * dt_http_resume) sets `answered` before resuming, and
     * libmicrohttpd's own lock around resumption orders it before the
     * next srv_access call. */
    struct MHD_Connection *conn;
    const char *url; /* the target's path (libmicrohttpd's memory) */
    struct dt_http_req req;
    struct dt_http_resp resp;
    const struct dt_route *route; /* what answered; NULL: no route did */
    bool answered;
    struct srv_conn *next; /* the pool's queue */
    /* A deferred request (dt_http_defer): what builds its answer once
     * resumed; cleared when it has run. */
    dt_http_finish_fn finish;
    void *finish_arg;
    int finish_rc;
};

/* ------------------------------------------------------------ body budget */

/* Charges n more body bytes of sc to the server's budget; false, with
 * nothing charged, when that would take the total over it. Compare and
 * swap rather than add then check, so a refused request never makes
 * another one fail through a passing overshoot. */
static bool
budget_take(struct dt_http_server *s, struct srv_conn *sc, size_t n)
{
    size_t cur = atomic_load(&s->body_bytes);

    do {
        if (n > s->body_budget - cur) /* cur <= body_budget always */
            return false;
    } while (!atomic_compare_exchange_weak(&s->body_bytes, &cur, cur + n));
    sc->reserved += n;
    return true;
}

/* Frees sc's body and gives its bytes back to the budget. Called when the
 * answer is built (the body is read no more), when a body is refused, and
 * when the request completes (every way, the client gone included); only
 * the first call gives anything back. */
static void
srv_body_done(struct srv_conn *sc)
{
    dt_buf_release(&sc->body);
    if (sc->reserved) {
        atomic_fetch_sub(&sc->srv->body_bytes, sc->reserved);
        sc->reserved = 0;
    }
}

/* ------------------------------------------------------------ responses */

static bool
header_is_sendable(const struct dt_http_kv *h)
{
    /* libmicrohttpd computes Content-Length; Content-Type comes from the
     * response's field; a CR or LF would split the header. */
    if (strcasecmp(h->key, "Content-Length") == 0 || strcasecmp(h->key, "Content-Type") == 0)
        return false;
    return !strpbrk(h->key, "\r\n:") && !strpbrk(h->value, "\r\n") && h->key[0];
}

/* Hands resp's body to libmicrohttpd and queues the answer; `close`
 * ends the connection after it. */
static enum MHD_Result
srv_queue(struct MHD_Connection *c, struct dt_http_resp *resp, bool close)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (resp->body) {
        r = MHD_create_response_from_buffer_with_free_callback(resp->body_len, resp->body, free);
        if (r)
            resp->body = NULL; /* libmicrohttpd frees it now */
    } else {
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!r)
        return MHD_NO;
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                  resp->content_type ? resp->content_type : SRV_JSON_TYPE);
    for (size_t i = 0; i < resp->n_headers; i++)
        if (header_is_sendable(&resp->headers[i]))
            (void)MHD_add_response_header(r, resp->headers[i].key, resp->headers[i].value);
    if (close)
        (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    ret = MHD_queue_response(c, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Sets resp to an error; when even that fails (out of memory), to a
 * bodiless 500 so something is always sent. */
static void
srv_error(struct dt_http_resp *resp, int status, const char *code, const char *message)
{
    dt_http_resp_release(resp);
    if (dt_http_error(resp, status, code, message, NULL) < 0) {
        dt_http_resp_release(resp);
        resp->status = 500;
    }
}

/* Sets resp to the overload answer: 503 "overloaded" with Retry-After. */
static void
srv_overloaded(struct dt_http_resp *resp, const char *message)
{
    srv_error(resp, 503, "overloaded", message);
    /* Out of memory here loses only the hint: the body says it all. */
    if (resp->status == 503 && dt_http_add_header(resp, "Retry-After", "1") < 0)
        dt_log(DT_LOG_WARN, "out of memory adding Retry-After", NULL);
}

/* Accounts for an answered request: the metrics (app->metrics, by route
 * pattern) and one debug log line. Called before the answer is queued, so
 * a client holding its answer finds it counted. */
static void
srv_record(const struct srv_conn *sc, const char *method, const char *path, int status)
{
    char st[16], ms[32];
    int64_t us = dt_clock_mono_us() - sc->start_us;

    dt_metrics_observe(sc->srv->app->metrics, method, sc->route ? sc->route->pattern : NULL, status,
                       (double)us / 1e6);
    if (!dt_log_is_on(DT_LOG_DEBUG))
        return; /* the line's fields are formatted for nobody */
    snprintf(st, sizeof(st), "%d", status);
    snprintf(ms, sizeof(ms), "%lld.%03lld", (long long)(us / 1000), (long long)(us % 1000));
    dt_log(DT_LOG_DEBUG, "http request", "method", method, "path", path, "status", st, "ms", ms,
           NULL);
}

/* Queues an error answer for a request that never reached the router (a
 * 503 is the overload answer, with Retry-After). */
static enum MHD_Result
srv_reject(struct MHD_Connection *c, struct srv_conn *sc, const char *method, const char *url,
           int status, const char *code, const char *message)
{
    struct dt_http_resp resp = {0};
    enum MHD_Result ret;

    if (status == 503)
        srv_overloaded(&resp, message);
    else
        srv_error(&resp, status, code, message);
    srv_record(sc, method, url, resp.status);
    ret = srv_queue(c, &resp, atomic_load(&sc->srv->stopping));
    srv_body_done(sc);
    dt_http_resp_release(&resp);
    return ret;
}

/* ------------------------------------------------------------ requests */

struct header_fill {
    struct dt_http_req *req;
    size_t cap;
};

static enum MHD_Result
collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct header_fill *hf = cls;

    (void)kind;
    if (hf->req->n_headers == hf->cap)
        return MHD_NO;
    /* libmicrohttpd's strings live until the request completes, longer
     * than the dt_http_req built on them; they are never freed here. */
    hf->req->headers[hf->req->n_headers].key = (char *)key;
    hf->req->headers[hf->req->n_headers].value = (char *)(value ? value : "");
    hf->req->n_headers++;
    return MHD_YES;
}

struct query_fill {
    struct dt_http_req *req;
    int rc;
};

static enum MHD_Result
collect_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct query_fill *qf = cls;

    (void)kind;
    qf->rc = dt_http_req_add_query_encoded(qf->req, key, value);
    return qf->rc == 0 ? MHD_YES : MHD_NO;
}

/* Fills req from the connection: decoded path and query, headers, body,
 * base_url. DURATA_EINVAL (an encoded NUL), DURATA_ENOMEM. */
static int
srv_fill_request(struct dt_http_server *s, struct MHD_Connection *c, struct srv_conn *sc,
                 const char *url, struct dt_http_req *req)
{
    struct query_fill qf = {req, 0};
    struct header_fill hf = {req, 0};
    char *path;
    int n, rc;

    rc = dt_http_pct_decode(url, strlen(url), false, &path, NULL);
    if (rc < 0)
        return rc;
    req->path = path;
    (void)MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_query, &qf);
    if (qf.rc < 0)
        return qf.rc;
    n = MHD_get_connection_values(c, MHD_HEADER_KIND, NULL, NULL);
    if (n > 0) {
        req->headers = calloc((size_t)n, sizeof(*req->headers));
        if (!req->headers)
            return DURATA_ENOMEM;
        hf.cap = (size_t)n;
        (void)MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &hf);
    }
    req->body = sc->body.data ? sc->body.data : "";
    req->body_len = sc->body.len;
    return dt_http_base_url(dt_http_header(req, "X-Forwarded-Proto"),
                            dt_http_header(req, "X-Forwarded-Host"), dt_http_header(req, "Host"),
                            s->listen, (char **)&req->base_url);
}

static bool
route_is_open(const struct dt_route *route)
{
    return route &&
           (strcmp(route->pattern, "/healthz") == 0 || strcmp(route->pattern, "/readyz") == 0);
}

static bool
auth_required(const struct dt_http_server *s)
{
    return s->cfg->api_keys && s->cfg->api_keys[0];
}

/* Finds the route of req and checks its API key. false, with the
 * 400/401/404 answer in resp, when no handler is to run; *route is what the
 * path matched (NULL: nothing). */
static bool
srv_find(struct dt_http_server *s, const char *url, struct dt_http_req *req,
         struct dt_http_resp *resp, const struct dt_route **route)
{
    enum dt_route_miss miss;
    int rc;

    *route = NULL;
    rc = dt_route_find(s->app->routes, req->method, url, req, route, &miss);
    if (rc == DURATA_EINVAL || rc == DURATA_ENOMEM) {
        if (rc == DURATA_EINVAL)
            srv_error(resp, 400, "bad_request", "the path holds an encoded NUL byte");
        else
            srv_overloaded(resp, "out of memory");
        *route = NULL;
        return false;
    }
    if (auth_required(s) && !route_is_open(*route) &&
        !dt_http_key_is_valid(req, s->cfg->api_keys)) {
        srv_error(resp, 401, "unauthorized",
                  "a valid API key is required: header x-functions-key, query parameter code "
                  "or Authorization: Bearer");
        /* RFC 9110 wants the scheme named; the body already says it all,
         * so running out of memory here only loses the header. */
        if (resp->body && dt_http_add_header(resp, "WWW-Authenticate", "Bearer") < 0)
            dt_log(DT_LOG_WARN, "out of memory adding WWW-Authenticate", NULL);
        return false;
    }
    if (!*route) {
        srv_error(resp, 404, "not_found",
                  miss == DT_ROUTE_NO_METHOD ? "this path does not take this method"
                                             : "no such route");
        return false;
    }
    return true;
}

/* A handler's (or a finish function's) return value rc: a failure, or an
 * answer without a valid status, becomes a 500. */
static void
srv_check_answer(struct dt_http_resp *resp, int rc)
{
    if (rc < 0 || resp->status < 100 || resp->status > 599)
        srv_error(resp, 500, "internal",
                  rc < 0 ? durata_strerror(rc) : "the handler gave no status");
}

/* Runs sc's handler on this thread. Returns DT_HTTP_DEFERRED or
 * DT_HTTP_BLOCKS as the handler did; else 0 with the answer in sc->resp. */
static int
srv_call(struct dt_http_server *s, struct srv_conn *sc)
{
    int rc = sc->route->handler(s->app, &sc->req, &sc->resp);

    if ((rc == DT_HTTP_DEFERRED && sc->finish) || (rc == DT_HTTP_BLOCKS && !sc->req.may_block))
        return rc;
    if (rc == DT_HTTP_DEFERRED) /* without dt_http_defer: nothing will answer */
        rc = DURATA_EINVAL;
    srv_check_answer(&sc->resp, rc == DT_HTTP_BLOCKS ? DURATA_EINVAL : rc);
    return 0;
}

/* The path of the request target: origin-form "/p" as is, absolute-form
 * "http://host/p" (which HTTP/1.1 servers must accept) reduced to "/p". */
static const char *
target_path(const char *url)
{
    const char *p;

    if (strncasecmp(url, "http://", 7) == 0)
        p = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        p = url + 8;
    else
        return url;
    p = strchr(p, '/');
    return p ? p : "/";
}

/* Builds req from the connection; when that fails, sets the error answer
 * in resp and returns false (nothing to route). */
static bool
srv_prepare(struct dt_http_server *s, struct MHD_Connection *c, struct srv_conn *sc,
            const char *url, struct dt_http_req *req, struct dt_http_resp *resp)
{
    int rc = srv_fill_request(s, c, sc, url, req);

    if (rc == DURATA_EINVAL)
        srv_error(resp, 400, "bad_request", "the URL holds an encoded NUL byte");
    else if (rc < 0)
        srv_overloaded(resp, "out of memory");
    else if (url[0] != '/')
        srv_error(resp, 400, "bad_request", "the request target must be a path");
    return rc == 0 && url[0] == '/';
}

/* Logs, queues resp on the connection, and releases req, resp and the
 * body (its bytes go back to the budget before the client can have the
 * answer). */
static enum MHD_Result
srv_answer(struct MHD_Connection *c, struct srv_conn *sc, const char *method, const char *url,
           struct dt_http_req *req, struct dt_http_resp *resp)
{
    enum MHD_Result ret;

    srv_record(sc, method, req->path ? req->path : url, resp->status);
    ret = srv_queue(c, resp, atomic_load(&sc->srv->stopping));
    srv_body_done(sc);
    dt_http_resp_release(resp);
    free(req->headers);
    req->headers = NULL;
    req->n_headers = 0;
    dt_http_req_release_owned(req);
    return ret;
}

/* ------------------------------------------------------------ workers */

/* Requests that may wait for a durable commit: every method but the
 * reads. Reads run on the libmicrohttpd thread: they are short, and a
 * hand-off would cost more than it saves. */
static bool
srv_may_write(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
           strcmp(method, "OPTIONS") != 0;
}

enum pool_push_result {
    POOL_QUEUED,   /* a worker will answer and resume the connection */
    POOL_FULL,     /* max_queued requests wait already: nothing done */
    POOL_STOPPING, /* the workers may be gone: nothing done */
};

/* Suspends sc's connection and queues sc for a worker, unless the queue is
 * full or the pool is stopping (nothing queued then would ever be
 * resumed). Suspending under the lock keeps a worker from resuming the
 * connection before it is suspended. */
static enum pool_push_result
pool_push(struct srv_pool *p, struct srv_conn *sc)
{
    enum pool_push_result res = POOL_QUEUED;

    sc->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        res = POOL_STOPPING;
    } else if (p->n_queued >= p->max_queued) {
        res = POOL_FULL;
    } else {
        MHD_suspend_connection(sc->conn);
        if (p->tail)
            p->tail->next = sc;
        else
            p->head = sc;
        p->tail = sc;
        p->n_queued++;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return res;
}

/* true when the queue is at its bound: a request refused on this comes
 * before its body is read. Only a hint (the queue moves on): pool_push
 * decides. */
static bool
pool_is_full(struct srv_pool *p)
{
    bool full;

    pthread_mutex_lock(&p->mu);
    full = p->n_queued >= p->max_queued;
    pthread_mutex_unlock(&p->mu);
    return full;
}

/* The next queued request; NULL once stopping and the queue is empty
 * (what was queued is still run: its connection waits to be resumed). */
static struct srv_conn *
pool_pop(struct srv_pool *p)
{
    struct srv_conn *sc;

    pthread_mutex_lock(&p->mu);
    while (!p->head && !p->stopping)
        pthread_cond_wait(&p->cv, &p->mu);
    sc = p->head;
    if (sc) {
        p->head = sc->next;
        if (!p->head)
            p->tail = NULL;
        p->n_queued--;
    }
    pthread_mutex_unlock(&p->mu);
    return sc;
}

static void *
srv_worker_main(void *arg)
{
    struct dt_http_server *s = arg;
    struct srv_conn *sc;

    pthread_setname_np(pthread_self(), "dt-http");
    while ((sc = pool_pop(&s->pool))) {
        sc->req.may_block = true;
        (void)srv_call(s, sc);
        sc->answered = true;
        MHD_resume_connection(sc->conn);
    }
    return NULL;
}

/* Hands a routed request to a worker: the connection is suspended until
 * the worker has the answer, so this thread serves its other connections
 * meanwhile. A full queue answers 503 at once; once the workers are
 * stopping, the request runs here. */
static enum MHD_Result
srv_offload(struct dt_http_server *s, struct MHD_Connection *c, struct srv_conn *sc)
{
    switch (pool_push(&s->pool, sc)) {
    case POOL_QUEUED:
        return MHD_YES;
    case POOL_FULL:
        srv_overloaded(&sc->resp, SRV_QUEUE_FULL_MSG);
        break;
    case POOL_STOPPING:
        sc->req.may_block = true;
        (void)srv_call(s, sc);
        break;
    }
    return srv_answer(c, sc, sc->req.method, sc->url, &sc->req, &sc->resp);
}

/* A complete request: built and routed here, then handled here (reads and
 * nonblocking routes), deferred, or handed to a worker. */
static enum MHD_Result
srv_dispatch(struct dt_http_server *s, struct MHD_Connection *c, struct srv_conn *sc,
             const char *url, const char *method)
{
    sc->req.method = method;
    sc->url = target_path(url);
    sc->conn = c;
    if (!srv_prepare(s, c, sc, sc->url, &sc->req, &sc->resp) ||
        !srv_find(s, sc->url, &sc->req, &sc->resp, &sc->route))
        return srv_answer(c, sc, method, sc->url, &sc->req, &sc->resp);
    if (srv_may_write(method) && !sc->route->nonblocking)
        return srv_offload(s, c, sc);
    sc->req.server_ctx = sc;
    switch (srv_call(s, sc)) {
    case DT_HTTP_DEFERRED:
        return MHD_YES;
    case DT_HTTP_BLOCKS:
        sc->req.server_ctx = NULL;
        return srv_offload(s, c, sc);
    default:
        return srv_answer(c, sc, method, sc->url, &sc->req, &sc->resp);
    }
}

/* ------------------------------------------------------------ deferral */

struct dt_http_defer *
dt_http_defer(struct dt_http_req *req, dt_http_finish_fn finish, void *arg)
{
    struct srv_conn *sc = req->server_ctx;

    if (!sc || req->may_block || !finish || sc->finish)
        return NULL;
    /* Counted before the check, so the stop either sees the count or this
     * sees defer_closed (sequentially consistent atomics). */
    atomic_fetch_add(&sc->srv->deferred, 1);
    if (atomic_load(&sc->srv->defer_closed)) {
        atomic_fetch_sub(&sc->srv->deferred, 1);
        return NULL;
    }
    sc->finish = finish;
    sc->finish_arg = arg;
    MHD_suspend_connection(sc->conn); /* this is the connection's thread */
    return (struct dt_http_defer *)sc;
}

void
dt_http_resume(struct dt_http_defer *d, int rc)
{
    struct srv_conn *sc = (struct srv_conn *)d;
    struct dt_http_server *s = sc->srv; /* sc may be gone once resumed */

    sc->finish_rc = rc;
    sc->answered = true;
    MHD_resume_connection(sc->conn);
    atomic_fetch_sub(&s->deferred, 1);
}

/* Runs a deferred request's finish function, once: into resp, or with
 * resp NULL to release it when the connection went away. */
static void
srv_finish(struct srv_conn *sc, struct dt_http_resp *resp)
{
    dt_http_finish_fn finish = sc->finish;

    if (!finish)
        return;
    sc->finish = NULL;
    int rc = finish(sc->srv->app, &sc->req, resp, sc->finish_arg, sc->finish_rc);
    if (resp)
        srv_check_answer(resp, rc);
}

/* Ends the workers after they have run what is queued. */
static void
pool_stop(struct srv_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    p->threads = NULL;
    p->n_threads = 0;
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
}

static int
pool_start(struct dt_http_server *s, size_t n)
{
    struct srv_pool *p = &s->pool;

    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->threads = calloc(n, sizeof(*p->threads));
    if (!p->threads) {
        pool_stop(p);
        return DURATA_ENOMEM;
    }
    for (; p->n_threads < n; p->n_threads++) {
        if (pthread_create(&p->threads[p->n_threads], NULL, srv_worker_main, s) != 0) {
            dt_log(DT_LOG_ERROR, "cannot start the HTTP worker threads", NULL);
            pool_stop(p);
            return DURATA_ESYS;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ API keys */

/* Constant-time equality: the time depends on the key's length only. */
static bool
key_equal(const char *given, const char *key)
{
    size_t glen = strlen(given), klen = strlen(key);
    unsigned char diff = glen != klen;

    for (size_t i = 0; i < klen; i++)
        diff |= (unsigned char)key[i] ^ (unsigned char)(i < glen ? given[i] : 0);
    return diff == 0;
}

bool
dt_http_key_is_valid(const struct dt_http_req *req, const char *const *keys)
{
    const char *given[3] = {dt_http_header(req, "x-functions-key"), dt_http_query(req, "code"),
                            NULL};
    const char *auth = dt_http_header(req, "Authorization");
    bool ok = false;

    if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
        given[2] = auth + 7;
        while (*given[2] == ' ')
            given[2]++;
    }
    /* Every candidate is compared with every key, without stopping early. */
    for (size_t k = 0; keys && keys[k]; k++)
        for (size_t g = 0; g < 3; g++)
            if (keys[k][0] && given[g] && given[g][0])
                ok |= key_equal(given[g], keys[k]);
    return ok;
}

/* ------------------------------------------------------------ libmicrohttpd */

/* The declared Content-Length; 0 when there is none (libmicrohttpd itself
 * rejects a malformed one). Past ULLONG_MAX it saturates: still too big. */
static unsigned long long
content_length(struct MHD_Connection *c)
{
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

    if (!cl || *cl < '0' || *cl > '9')
        return 0;
    return strtoull(cl, NULL, 10);
}

struct framing {
    int content_lengths;
    int transfer_encodings;
    bool chunked;
};

static enum MHD_Result
count_framing(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct framing *fr = cls;

    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        fr->content_lengths++;
    if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        fr->transfer_encodings++;
        fr->chunked = value && strcasecmp(value, "chunked") == 0;
    }
    return MHD_YES;
}

/* Why the body's framing cannot be trusted, or NULL. Two lengths, a
 * length with chunking, or a transfer coding other than chunked would let
 * a proxy and this server disagree on where the request ends (request
 * smuggling), and libmicrohttpd would wait for an unframed body. */
static const char *
framing_error(struct MHD_Connection *c)
{
    struct framing fr = {0};

    (void)MHD_get_connection_values(c, MHD_HEADER_KIND, count_framing, &fr);
    if (fr.content_lengths > 1)
        return "more than one Content-Length header";
    if (fr.transfer_encodings > 1 || (fr.transfer_encodings == 1 && !fr.chunked))
        return "unsupported Transfer-Encoding (only chunked is accepted)";
    if (fr.transfer_encodings && fr.content_lengths)
        return "both Content-Length and Transfer-Encoding";
    return NULL;
}

/* The overload checks made before the body is read: room in the worker
 * queue for a write, and the declared body charged to the budget in full.
 * The body's buffer is then capped at the declared size, so what it holds
 * is what was charged. */
static enum MHD_Result
srv_admit(struct dt_http_server *s, struct MHD_Connection *c, struct srv_conn *sc, const char *url,
          const char *method, unsigned long long declared)
{
    if (srv_may_write(method) && pool_is_full(&s->pool)) {
        sc->overloaded = true; /* a body, if any, is never kept */
        return srv_reject(c, sc, method, url, 503, "overloaded", SRV_QUEUE_FULL_MSG);
    }
    if (declared == 0)
        return MHD_YES;
    if (!budget_take(s, sc, (size_t)declared)) {
        sc->overloaded = true;
        return srv_reject(c, sc, method, url, 503, "overloaded", SRV_BUDGET_MSG);
    }
    sc->prepaid = true;
    dt_buf_init(&sc->body, (size_t)declared);
    return MHD_YES;
}

/* First call of a request: its state, and an answer at once when the
 * body is badly framed (400), declared far too large (413: over
 * SRV_DISCARD_MAX) or the server is overloaded (503); the body is then
 * never read and libmicrohttpd closes the connection after. A body
 * declared over the limit but not that far is read and dropped first, then
 * answered 413: a client still sending when the answer came and the
 * connection closed would see it reset, not the 413. */
static enum MHD_Result
srv_begin(struct dt_http_server *s, struct MHD_Connection *c, const char *url, const char *method,
          void **req_cls)
{
    struct srv_conn *sc = calloc(1, sizeof(*sc));
    unsigned long long declared;
    const char *why;

    if (!sc)
        return MHD_NO;
    atomic_fetch_add(&s->in_flight, 1);
    sc->srv = s;
    dt_buf_init(&sc->body, s->max_body);
    sc->start_us = dt_clock_mono_us();
    *req_cls = sc;
    declared = content_length(c);
    sc->too_big = declared > s->max_body;
    if (declared > SRV_DISCARD_MAX)
        return srv_reject(c, sc, method, url, 413, "too_large",
                          "the request body is larger than the server accepts");
    why = framing_error(c);
    if (why) {
        sc->too_big = true; /* a body, if any, is never kept */
        return srv_reject(c, sc, method, url, 400, "bad_request", why);
    }
    if (sc->too_big)
        return MHD_YES; /* srv_take_body drops it, srv_access answers 413 */
    return srv_admit(s, c, sc, url, method, declared);
}

static bool
srv_keeps_body(const struct srv_conn *sc)
{
    return !sc->too_big && !sc->overloaded;
}

/* A piece of the body: kept while under the body limit and, unless its
 * Content-Length was charged at the start, while the budget has room for
 * it; dropped after (the answer is then 413 or 503). */
static enum MHD_Result
srv_take_body(struct srv_conn *sc, const char *data, size_t *size)
{
    size_t n = *size;
    int rc;

    *size = 0;
    if (srv_keeps_body(sc) && !sc->prepaid && !budget_take(sc->srv, sc, n)) {
        sc->overloaded = true;
        srv_body_done(sc);
    }
    if (srv_keeps_body(sc)) {
        rc = dt_buf_append(&sc->body, data, n);
        if (rc == 0)
            return MHD_YES;
        if (rc == DURATA_ENOMEM)
            return MHD_NO; /* srv_completed gives the bytes back */
        sc->too_big = true;
        srv_body_done(sc);
    }
    sc->dropped += n;
    if (sc->dropped > SRV_DISCARD_MAX)
        return MHD_NO; /* an endless body: close the connection */
    return MHD_YES;
}

static enum MHD_Result
srv_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
    struct dt_http_server *s = cls;
    struct srv_conn *sc = *req_cls;

    (void)version;
    if (!sc)
        return srv_begin(s, c, url, method, req_cls);
    if (*upload_data_size)
        return srv_take_body(sc, upload_data, upload_data_size);
    if (sc->answered) { /* resumed: the worker's answer, or a deferred one's */
        sc->answered = false;
        srv_finish(sc, &sc->resp);
        return srv_answer(c, sc, method, sc->url, &sc->req, &sc->resp);
    }
    if (sc->too_big)
        return srv_reject(c, sc, method, url, 413, "too_large",
                          "the request body is larger than the server accepts");
    if (sc->overloaded) /* the budget ran out while the body came */
        return srv_reject(c, sc, method, url, 503, "overloaded", SRV_BUDGET_MSG);
    return srv_dispatch(s, c, sc, url, method);
}

static void
srv_completed(void *cls, struct MHD_Connection *c, void **req_cls,
              enum MHD_RequestTerminationCode toe)
{
    struct dt_http_server *s = cls;
    struct srv_conn *sc = *req_cls;

    (void)c;
    (void)toe;
    if (!sc)
        return;
    /* An answered request released these; one closed before its answer
     * went out (the client gone, the daemon stopping) did not. */
    srv_finish(sc, NULL);
    dt_http_resp_release(&sc->resp);
    free(sc->req.headers);
    dt_http_req_release_owned(&sc->req);
    srv_body_done(sc);
    free(sc);
    *req_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

/* Keeps the URL and query as sent: paths are split before decoding (an
 * encoded '/' stays in its segment) and decoding is done in request.c. */
static size_t
srv_unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

__attribute__((format(printf, 2, 0))) static void
srv_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;

    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    dt_log(DT_LOG_DEBUG, "libmicrohttpd", "detail", line, NULL);
}

/* ------------------------------------------------------------ start/stop */

static bool
routes_are_valid(const struct dt_app *app)
{
    for (size_t t = 0; app->routes && app->routes[t]; t++) {
        for (const struct dt_route *r = app->routes[t]; r->method; r++) {
            if (!r->handler || !dt_route_pattern_is_valid(r->pattern)) {
                dt_log(DT_LOG_ERROR, "invalid route", "method", r->method, "pattern", r->pattern,
                       NULL);
                return false;
            }
        }
    }
    return true;
}

static int
srv_resolve(const char *host, int port, struct addrinfo **out)
{
    struct addrinfo hints = {0};
    char service[16];
    int rc;

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(service, sizeof(service), "%d", port);
    rc = getaddrinfo(host, service, &hints, out);
    if (rc != 0) {
        dt_log(DT_LOG_ERROR, "cannot resolve the listen address", "host", host, "reason",
               gai_strerror(rc), NULL);
        return DURATA_ESYS;
    }
    return 0;
}

/* New connections are closed at once while the server stops. (Not
 * MHD_quiesce_daemon: with epoll and internal threads, 0.9.75 races its own
 * workers removing the listen socket from their epoll sets and aborts the
 * process when it loses.) */
static enum MHD_Result
srv_accept_policy(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    struct dt_http_server *s = cls;

    (void)addr;
    (void)addrlen;
    return atomic_load(&s->stopping) ? MHD_NO : MHD_YES;
}

static struct MHD_Daemon *
srv_daemon_start(struct dt_http_server *s, const struct addrinfo *ai)
{
    const struct dt_http_config *cfg = s->cfg;
    unsigned threads = cfg->threads ? cfg->threads : SRV_DEFAULT_THREADS, poll = threads;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned conns = cfg->max_connections ? cfg->max_connections : SRV_DEFAULT_CONNECTIONS;
    unsigned timeout = cfg->timeout_s ? cfg->timeout_s : SRV_DEFAULT_TIMEOUT_S;
    /* ITC: suspended connections are resumed from other threads. */
    unsigned flags =
        MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;

    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (cpus > 0 && (unsigned long)cpus * SRV_POLL_PER_CPU < threads)
        poll = (unsigned)cpus * SRV_POLL_PER_CPU;
    return MHD_start_daemon(
        flags, 0, srv_accept_policy, s, srv_access, s, MHD_OPTION_EXTERNAL_LOGGER, srv_mhd_log, s,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE, poll,
        MHD_OPTION_CONNECTION_LIMIT, conns, MHD_OPTION_CONNECTION_TIMEOUT, timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SRV_CONNECTION_MEMORY,
        MHD_OPTION_NOTIFY_COMPLETED, srv_completed, s, MHD_OPTION_UNESCAPE_CALLBACK,
        srv_unescape_none, s, MHD_OPTION_END);
}

/* The limits with their defaults: body size, body budget, queue bound. */
static void
srv_set_limits(struct dt_http_server *s, const struct dt_http_config *cfg, unsigned threads)
{
    s->max_body = cfg->max_body_bytes ? cfg->max_body_bytes : SRV_DEFAULT_MAX_BODY;
    s->body_budget = cfg->body_budget_bytes ? cfg->body_budget_bytes : SRV_DEFAULT_BODY_BUDGET;
    s->pool.max_queued =
        cfg->max_queued ? cfg->max_queued : (size_t)threads * SRV_QUEUED_PER_THREAD;
    if (s->body_budget < s->max_body)
        dt_log(DT_LOG_WARN,
               "the body budget is below the body size limit: the largest bodies will always "
               "be refused as overload",
               NULL);
}

static void
srv_set_listen(struct dt_http_server *s, const char *host)
{
    if (strchr(host, ':'))
        snprintf(s->listen, sizeof(s->listen), "[%s]:%d", host, s->port);
    else
        snprintf(s->listen, sizeof(s->listen), "%s:%d", host, s->port);
}

int
dt_http_server_start(struct dt_http_server **out, struct dt_app *app,
                     const struct dt_http_config *cfg)
{
    const char *host = cfg->host ? cfg->host : "127.0.0.1";
    unsigned threads = cfg->threads ? cfg->threads : SRV_DEFAULT_THREADS;
    const union MHD_DaemonInfo *info;
    struct dt_http_server *s;
    struct addrinfo *ai = NULL;
    int rc;

    *out = NULL;
    if (cfg->port < 0 || cfg->port > 65535 || !routes_are_valid(app))
        return DURATA_EINVAL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return DURATA_ENOMEM;
    s->app = app;
    s->cfg = cfg;
    srv_set_limits(s, cfg, threads);
    rc = srv_resolve(host, cfg->port, &ai);
    if (rc < 0)
        goto out_free;
    rc = pool_start(s, threads);
    if (rc < 0) {
        freeaddrinfo(ai);
        goto out_free;
    }
    s->daemon = srv_daemon_start(s, ai);
    freeaddrinfo(ai);
    if (!s->daemon) {
        dt_log(DT_LOG_ERROR, "cannot listen (address in use or not available?)", "host", host,
               NULL);
        rc = DURATA_ESYS;
        goto out_stop_pool;
    }
    info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info && info->port ? info->port : cfg->port;
    srv_set_listen(s, host);
    *out = s;
    return 0;

out_stop_pool:
    pool_stop(&s->pool);
out_free:
    free(s);
    return rc;
}

int
dt_http_server_port(const struct dt_http_server *s)
{
    return s ? s->port : 0;
}

/* Waits (up to SRV_DRAIN_MS) until no request is in progress. */
static void
srv_drain(struct dt_http_server *s)
{
    struct timespec pause = {0, 5 * 1000000L};
    int64_t deadline = dt_clock_mono_ms() + SRV_DRAIN_MS;

    while (atomic_load(&s->in_flight) > 0 && dt_clock_mono_ms() < deadline)
        nanosleep(&pause, NULL);
    if (atomic_load(&s->in_flight) > 0)
        dt_log(DT_LOG_WARN, "stopping with requests still in progress", NULL);
}

/* Refuses new deferrals, then waits until no deferred request is
 * suspended: their writes are under way in the hub, which is still
 * running, so each is resumed soon. There is no deadline: the daemon cannot
 * stop with a suspended connection, nor free one the hub will resume. */
static void
srv_wait_deferred(struct dt_http_server *s)
{
    struct timespec pause = {0, 2 * 1000000L};
    int64_t warn_at = dt_clock_mono_ms() + SRV_DRAIN_MS;

    atomic_store(&s->defer_closed, true);
    while (atomic_load(&s->deferred) > 0) {
        nanosleep(&pause, NULL);
        if (dt_clock_mono_ms() >= warn_at) {
            dt_log(DT_LOG_WARN, "stopping: still waiting for the hub to finish deferred requests",
                   NULL);
            warn_at += SRV_DRAIN_MS;
        }
    }
}

void
dt_http_server_stop(struct dt_http_server *s)
{
    if (!s)
        return;
    /* Stop accepting (srv_accept_policy), let requests in progress be
     * answered (their handlers finish and the answers are written), then
     * close the idle keep-alive connections and the listen socket with the
     * daemon. */
    atomic_store(&s->stopping, true);
    srv_drain(s);
    /* No connection may stay suspended when the daemon stops: the workers
     * answer (and resume) everything handed to them before they end. */
    pool_stop(&s->pool);
    srv_wait_deferred(s);
    MHD_stop_daemon(s->daemon); /* every request completed: all bytes back */
    if (atomic_load(&s->body_bytes) != 0)
        dt_log(DT_LOG_ERROR, "request body bytes were not given back to the budget", NULL);
    free(s);
}
