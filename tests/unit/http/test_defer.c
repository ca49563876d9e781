/*
 * test_defer.c — the server's deferred answers (dt_http_defer,
 * dt_http_resume, DT_HTTP_BLOCKS) driven over real sockets: a nonblocking
 * POST route defers, a resumer thread owned by the test resumes it later,
 * and the finish function builds the answer on a libmicrohttpd thread
 * from the request kept alive meanwhile. Checks the answer and the threads
 * involved, a failure code passed through the resume, a resume made before
 * the handler returns, a handler sent on to a worker (DT_HTTP_BLOCKS) and
 * a write route not marked nonblocking run on one (dt_http_defer refused
 * there), many deferred requests at once, a stop while a request is
 * deferred, and a client gone before the resume.
 *
 * Threading: handlers and finish functions run on the server's threads
 * and only record what they see in `g` (atomics); the assertions are made
 * on the test's thread. The resumer thread resumes queued requests when
 * they are due; it outlives the server of each test, since stopping waits
 * for deferred requests to be resumed.
 */
#include "support_http.h"

#include "base/clock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ clock */

static void
sleep_ms(long ms)
{
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&pause, NULL);
}

/* Polls until *v reaches want or timeout_ms passes; true when reached. */
static bool
wait_for(atomic_int *v, int want, long timeout_ms)
{
    int64_t deadline = dt_clock_mono_us() + timeout_ms * 1000;

    while (atomic_load(v) < want && dt_clock_mono_us() < deadline)
        sleep_ms(1);
    return atomic_load(v) >= want;
}

/* ------------------------------------------------------------ shared state */

/* One deferred request: the finish function's argument (freed by it) and,
 * meanwhile, a node of the resumer's queue. Whoever resumes it touches it
 * no more after dt_http_resume: finish may have freed it already. */
struct pending {
    struct dt_http_defer *d;
    int rc; /* what to resume with (the finish function checks it came) */
    int64_t due_us;
    pthread_t handler_thread;
    struct pending *next;
};

/* The test's resumer thread: resumes queued requests once due. `mu`
 * guards head (sorted by due_us) and stop. */
struct resumer {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC */
    struct pending *head;
    bool stop;
    pthread_t thread;
};

/* What the server's threads saw; reset by setup while no server runs. */
struct counters {
    atomic_int handler_calls;
    atomic_int handler_may_block; /* /defer handlers run with may_block true */
    atomic_int defer_null;        /* dt_http_defer refused on /defer */
    atomic_int deferred;          /* dt_http_defer accepted */
    atomic_int resumes;           /* resumer calls to dt_http_resume */
    _Atomic int64_t resumed_us;   /* when the last one was made */
    atomic_int finish_calls;
    atomic_int finish_gone;       /* with resp NULL */
    atomic_int finish_on_resumer; /* finish run on the resumer's thread */
    atomic_int finish_elsewhere;  /* not on the thread that ran the handler */
    atomic_int finish_in_handler; /* run inside the handler's own call */
    atomic_int rc_mismatch;       /* finish got another rc than resumed */
    atomic_int blocks_calls;
    atomic_int blocks_seen[4];     /* per call: 1 may_block false, 2 true */
    atomic_int blocks_same_thread; /* the second call on the first's thread */
    atomic_int defer_on_worker;    /* dt_http_defer accepted with may_block */
    atomic_int plain_calls;
    atomic_int plain_seen_may_block;
};

static struct {
    struct resumer res;
    struct counters c;
    _Atomic(struct dt_http_defer *) held; /* a "hold" request, resumed by the test */
} g;

/* Set while a handler runs on this thread: finish must never run then. */
static _Thread_local bool t_in_handler;
/* Set on the thread that ran /blocks without may_block. */
static _Thread_local bool t_blocks_ran;

/* ------------------------------------------------------------ resumer */

static void
resume_now(struct pending *p)
{
    struct dt_http_defer *d = p->d;
    int rc = p->rc;

    atomic_store(&g.c.resumed_us, dt_clock_mono_us());
    atomic_fetch_add(&g.c.resumes, 1);
    dt_http_resume(d, rc); /* p may be gone from here on */
}

static void *
resumer_main(void *arg)
{
    struct resumer *r = arg;
    struct pending *p;
    struct timespec ts;

    pthread_setname_np(pthread_self(), "ht-resumer");
    pthread_mutex_lock(&r->mu);
    for (;;) {
        p = r->head;
        if (!p && r->stop)
            break;
        if (!p) {
            pthread_cond_wait(&r->cv, &r->mu);
        } else if (p->due_us > dt_clock_mono_us()) {
            ts.tv_sec = (time_t)(p->due_us / 1000000);
            ts.tv_nsec = (long)(p->due_us % 1000000) * 1000;
            pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        } else {
            r->head = p->next;
            pthread_mutex_unlock(&r->mu);
            resume_now(p);
            pthread_mutex_lock(&r->mu);
        }
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static int
resumer_start(struct resumer *r)
{
    pthread_condattr_t attr;

    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&r->thread, NULL, resumer_main, r) != 0) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        return -1;
    }
    return 0;
}

/* Ends the thread once everything queued has been resumed. */
static void
resumer_stop(struct resumer *r)
{
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
}

/* Queues p to be resumed delay_ms from now (the queue stays sorted). */
static void
resumer_push(struct resumer *r, struct pending *p, long delay_ms)
{
    struct pending **at;

    p->due_us = dt_clock_mono_us() + delay_ms * 1000;
    pthread_mutex_lock(&r->mu);
    at = &r->head;
    while (*at && (*at)->due_us <= p->due_us)
        at = &(*at)->next;
    p->next = *at;
    *at = p;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* ------------------------------------------------------------ routes */

static long
query_long(const struct dt_http_req *req, const char *name, long dflt)
{
    const char *v = dt_http_query(req, name);

    return v ? strtol(v, NULL, 10) : dflt;
}

/* Builds the answer of a deferred /defer: 201 with the body, id and path
 * read from req (so req must still be valid), 409 for DURATA_ECONFLICT. */
static int
defer_finish(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp, void *arg,
             int rc)
{
    struct pending *p = arg;

    (void)app;
    atomic_fetch_add(&g.c.finish_calls, 1);
    if (t_in_handler)
        atomic_fetch_add(&g.c.finish_in_handler, 1);
    if (pthread_equal(pthread_self(), g.res.thread))
        atomic_fetch_add(&g.c.finish_on_resumer, 1);
    if (!pthread_equal(pthread_self(), p->handler_thread))
        atomic_fetch_add(&g.c.finish_elsewhere, 1);
    if (rc != p->rc)
        atomic_fetch_add(&g.c.rc_mismatch, 1);
    free(p);
    if (!resp) {
        atomic_fetch_add(&g.c.finish_gone, 1);
        return 0;
    }
    if (rc == DURATA_ECONFLICT)
        return dt_http_error(resp, 409, "conflict", "resumed with a conflict", NULL);
    if (rc < 0)
        return rc;
    return dt_http_json(resp, 201,
                        json_pack("{s:s%,s:s?,s:s}", "body", req->body, req->body_len, "id",
                                  dt_http_query(req, "id"), "path", req->path));
}

/* POST /defer?rc=N&delay=MS&mode=sync|hold&id=X: defers; the resumer
 * resumes with rc after delay ms, or this handler before it returns
 * (sync), or the test itself (hold, through g.held). */
static int
route_defer(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    const char *mode = dt_http_query(req, "mode");
    struct pending *p = calloc(1, sizeof(*p));

    (void)app;
    atomic_fetch_add(&g.c.handler_calls, 1);
    if (req->may_block)
        atomic_fetch_add(&g.c.handler_may_block, 1);
    if (!p)
        return DURATA_ENOMEM;
    p->rc = (int)query_long(req, "rc", 0);
    p->handler_thread = pthread_self();
    p->d = dt_http_defer(req, defer_finish, p);
    if (!p->d) {
        atomic_fetch_add(&g.c.defer_null, 1);
        free(p);
        return dt_http_error(resp, 500, "not_deferred", "dt_http_defer gave NULL", NULL);
    }
    atomic_fetch_add(&g.c.deferred, 1);
    t_in_handler = true;
    if (mode && strcmp(mode, "sync") == 0)
        dt_http_resume(p->d, p->rc);
    else if (mode && strcmp(mode, "hold") == 0)
        atomic_store(&g.held, p->d);
    else
        resumer_push(&g.res, p, query_long(req, "delay", 0));
    t_in_handler = false;
    return DT_HTTP_DEFERRED; /* p is not touched any more: it may be gone */
}

/* Finish of a deferral that must not have been accepted (on a worker). */
static int
worker_finish(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp, void *arg,
              int rc)
{
    (void)app;
    (void)req;
    (void)arg;
    (void)rc;
    return resp ? dt_http_error(resp, 500, "deferred_on_worker", "deferred on a worker", NULL) : 0;
}

/* true when dt_http_defer refuses req (as it must on a worker). When it
 * wrongly accepts, the request is resumed at once so nothing hangs. */
static bool
defer_is_refused(struct dt_http_req *req)
{
    struct dt_http_defer *d = dt_http_defer(req, worker_finish, NULL);

    if (!d)
        return true;
    atomic_fetch_add(&g.c.defer_on_worker, 1);
    dt_http_resume(d, 0);
    return false;
}

/* POST /blocks (nonblocking): asks for a worker when it may not block,
 * answers there. */
static int
route_blocks(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    int n = atomic_fetch_add(&g.c.blocks_calls, 1);

    (void)app;
    if (n < 4)
        atomic_store(&g.c.blocks_seen[n], req->may_block ? 2 : 1);
    if (!req->may_block) {
        t_blocks_ran = true;
        return DT_HTTP_BLOCKS;
    }
    if (t_blocks_ran)
        atomic_fetch_add(&g.c.blocks_same_thread, 1);
    if (!defer_is_refused(req))
        return DT_HTTP_DEFERRED;
    return dt_http_json(resp, 200,
                        json_pack("{s:b,s:s%}", "may_block", 1, "body", req->body, req->body_len));
}

/* POST /plain (not nonblocking): runs on a worker. */
static int
route_plain(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    (void)app;
    atomic_fetch_add(&g.c.plain_calls, 1);
    if (req->may_block)
        atomic_fetch_add(&g.c.plain_seen_may_block, 1);
    if (!defer_is_refused(req))
        return DT_HTTP_DEFERRED;
    return dt_http_json(resp, 200, json_pack("{s:b}", "may_block", req->may_block));
}

static const struct dt_route defer_routes[] = {
    {"POST", "/defer", route_defer, "a deferred answer", true},
    {"POST", "/blocks", route_blocks, "a nonblocking route that needs a worker", true},
    {"POST", "/plain", route_plain, "a write route run on a worker", false},
    {NULL, NULL, NULL, NULL, false},
};

static const struct dt_route *const all_routes[] = {defer_routes, dt_ops_routes, NULL};

/* ------------------------------------------------------------ fixture */

struct fixture {
    struct ht_server s;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (!f)
        return -1;
    /* No thread of a previous test runs any more. */
    memset(&g.c, 0, sizeof(g.c));
    atomic_store(&g.held, NULL);
    if (resumer_start(&g.res) < 0)
        goto out_free;
    f->s.cfg.threads = 4;
    f->s.app.routes = all_routes;
    if (ht_server_start(&f->s) < 0)
        goto out_resumer;
    *state = f;
    return 0;

out_resumer:
    resumer_stop(&g.res);
out_free:
    free(f);
    return -1;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    struct dt_http_defer *d = atomic_exchange(&g.held, NULL);

    if (d) /* a failed test left it: stopping would wait for it forever */
        dt_http_resume(d, DURATA_ECONFLICT);
    ht_server_stop(&f->s); /* waits for the resumer's deferred requests */
    resumer_stop(&g.res);
    free(f);
    return 0;
}

/* POSTs body to path and checks the status. */
static void
post(struct fixture *f, const char *path, const char *body, long status, struct ht_reply *r)
{
    assert_int_equal(ht_request("POST", ht_url(&f->s, path), body, strlen(body), NULL, false, r),
                     0);
    if (r->status != status)
        fprintf(stderr, "POST %s: %ld %s\n", path, r->status, r->body);
    assert_int_equal(r->status, status);
}

/* The error code of a JSON error body, copied into out. */
static void
error_code(const struct ht_reply *r, char *out, size_t size)
{
    json_t *v = json_loads(r->body, 0, NULL);
    const char *code = json_string_value(json_object_get(json_object_get(v, "error"), "code"));

    snprintf(out, size, "%s", code ? code : "");
    json_decref(v);
}

/* Nothing went wrong on the server's side of the deferrals. */
static void
assert_clean_deferrals(void)
{
    assert_int_equal(atomic_load(&g.c.handler_may_block), 0);
    assert_int_equal(atomic_load(&g.c.defer_null), 0);
    assert_int_equal(atomic_load(&g.c.finish_on_resumer), 0);
    assert_int_equal(atomic_load(&g.c.finish_elsewhere), 0);
    assert_int_equal(atomic_load(&g.c.finish_in_handler), 0);
    assert_int_equal(atomic_load(&g.c.rc_mismatch), 0);
}

/* ------------------------------------------------------------ tests */

static void
test_deferred_answer_is_built_by_finish_after_the_resume(void **state)
{
    struct fixture *f = *state;
    const char *body = "{\"name\":\"deferred-1\",\"pad\":\"kept while the request waits\"}";
    struct ht_reply r;
    char v[256];
    int64_t t0 = dt_clock_mono_us(), t1;

    post(f, "/defer?id=first&delay=20", body, 201, &r);
    t1 = dt_clock_mono_us();
    assert_true(ht_json_str(&r, "body", v, sizeof(v)));
    assert_string_equal(v, body);
    assert_true(ht_json_str(&r, "id", v, sizeof(v)));
    assert_string_equal(v, "first");
    assert_true(ht_json_str(&r, "path", v, sizeof(v)));
    assert_string_equal(v, "/defer");
    assert_true(ht_header(&r, "Content-Type", v, sizeof(v)));
    assert_string_equal(v, "application/json; charset=utf-8");
    ht_reply_release(&r);
    /* The answer came after the resume, which came 20 ms after the
     * deferral. */
    assert_int_equal(atomic_load(&g.c.resumes), 1);
    assert_true(atomic_load(&g.c.resumed_us) <= t1);
    assert_true(t1 - t0 >= 20 * 1000);
    assert_int_equal(atomic_load(&g.c.handler_calls), 1);
    assert_int_equal(atomic_load(&g.c.deferred), 1);
    assert_int_equal(atomic_load(&g.c.finish_calls), 1);
    assert_int_equal(atomic_load(&g.c.finish_gone), 0);
    /* Handler with may_block false; finish on the handler's libmicrohttpd
     * thread, not on the resumer's. */
    assert_clean_deferrals();
}

static void
test_resume_with_a_failure_code_gives_its_error(void **state)
{
    struct fixture *f = *state;
    struct ht_reply r;
    char path[128], code[64];

    snprintf(path, sizeof(path), "/defer?id=conflict&delay=5&rc=%d", DURATA_ECONFLICT);
    post(f, path, "{}", 409, &r);
    error_code(&r, code, sizeof(code));
    assert_string_equal(code, "conflict");
    ht_reply_release(&r);
    /* A failure the finish function returns itself is a 500. */
    snprintf(path, sizeof(path), "/defer?id=store&delay=5&rc=%d", DURATA_ESTORE);
    post(f, path, "{}", 500, &r);
    error_code(&r, code, sizeof(code));
    assert_string_equal(code, "internal");
    ht_reply_release(&r);
    assert_int_equal(atomic_load(&g.c.finish_calls), 2);
    assert_clean_deferrals();
}

static void
test_resume_before_the_handler_returns(void **state)
{
    struct fixture *f = *state;
    struct ht_reply r;
    char v[128], path[128];

    post(f, "/defer?id=sync&mode=sync", "sync body", 201, &r);
    assert_true(ht_json_str(&r, "body", v, sizeof(v)));
    assert_string_equal(v, "sync body");
    assert_true(ht_json_str(&r, "id", v, sizeof(v)));
    assert_string_equal(v, "sync");
    ht_reply_release(&r);
    snprintf(path, sizeof(path), "/defer?mode=sync&rc=%d", DURATA_ECONFLICT);
    post(f, path, "x", 409, &r);
    ht_reply_release(&r);
    assert_int_equal(atomic_load(&g.c.resumes), 0);
    assert_int_equal(atomic_load(&g.c.finish_calls), 2);
    assert_clean_deferrals();
}

static void
test_blocks_runs_the_handler_again_on_a_worker(void **state)
{
    struct fixture *f = *state;
    struct ht_reply r;

    post(f, "/blocks", "to the worker", 200, &r);
    assert_string_equal(r.body, "{\"may_block\":true,\"body\":\"to the worker\"}");
    ht_reply_release(&r);
    assert_int_equal(atomic_load(&g.c.blocks_calls), 2);
    assert_int_equal(atomic_load(&g.c.blocks_seen[0]), 1);     /* may_block false */
    assert_int_equal(atomic_load(&g.c.blocks_seen[1]), 2);     /* then true */
    assert_int_equal(atomic_load(&g.c.blocks_same_thread), 0); /* on a worker */
    assert_int_equal(atomic_load(&g.c.defer_on_worker), 0);
    /* A write route not marked nonblocking runs on a worker from the start. */
    post(f, "/plain", "w", 200, &r);
    assert_string_equal(r.body, "{\"may_block\":true}");
    ht_reply_release(&r);
    assert_int_equal(atomic_load(&g.c.plain_calls), 1);
    assert_int_equal(atomic_load(&g.c.plain_seen_may_block), 1);
    assert_int_equal(atomic_load(&g.c.defer_on_worker), 0);
}

#define N_CLIENTS 8
#define N_PER_CLIENT 25

struct client {
    struct fixture *f;
    int id;
    int ok; /* answers exactly as expected */
};

/* One request of client c: every fifth is resumed with a conflict. */
static bool
client_call(struct client *c, int i)
{
    char u[256], body[64], id[32], got[64];
    int rc = i % 5 == 4 ? DURATA_ECONFLICT : 0;
    struct ht_reply r;
    bool ok;

    snprintf(id, sizeof(id), "c%d-%d", c->id, i);
    snprintf(body, sizeof(body), "{\"from\":\"%s\"}", id);
    snprintf(u, sizeof(u), "%s/defer?id=%s&delay=%d&rc=%d", c->f->s.base, id, i % 4, rc);
    if (ht_request("POST", u, body, strlen(body), NULL, false, &r) < 0) {
        ht_reply_release(&r);
        return false;
    }
    if (rc)
        ok = r.status == 409;
    else
        ok = r.status == 201 && ht_json_str(&r, "id", got, sizeof(got)) && strcmp(got, id) == 0 &&
             ht_json_str(&r, "body", got, sizeof(got)) && strcmp(got, body) == 0;
    ht_reply_release(&r);
    return ok;
}

static void *
client_run(void *arg)
{
    struct client *c = arg;

    for (int i = 0; i < N_PER_CLIENT; i++)
        c->ok += client_call(c, i);
    return NULL;
}

static void
test_many_deferred_requests_at_once(void **state)
{
    struct fixture *f = *state;
    struct client c[N_CLIENTS];
    pthread_t t[N_CLIENTS];

    for (int i = 0; i < N_CLIENTS; i++) {
        c[i] = (struct client){f, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, client_run, &c[i]), 0);
    }
    for (int i = 0; i < N_CLIENTS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < N_CLIENTS; i++)
        assert_int_equal(c[i].ok, N_PER_CLIENT);
    assert_int_equal(atomic_load(&g.c.handler_calls), N_CLIENTS * N_PER_CLIENT);
    assert_int_equal(atomic_load(&g.c.resumes), N_CLIENTS * N_PER_CLIENT);
    assert_int_equal(atomic_load(&g.c.finish_calls), N_CLIENTS * N_PER_CLIENT);
    assert_int_equal(atomic_load(&g.c.finish_gone), 0);
    assert_clean_deferrals();
}

struct stop_call {
    char url[256];
    struct ht_reply reply;
    int rc;
};

static void *
stop_call_run(void *arg)
{
    struct stop_call *sc = arg;

    sc->rc = ht_request("POST", sc->url, "stop body", 9, NULL, false, &sc->reply);
    return NULL;
}

static void
test_stop_waits_for_a_deferred_request(void **state)
{
    struct fixture *f = *state;
    struct stop_call sc = {0};
    int resumes, finishes;
    char v[64];
    pthread_t t;

    snprintf(sc.url, sizeof(sc.url), "%s/defer?id=stop&delay=300", f->s.base);
    assert_int_equal(pthread_create(&t, NULL, stop_call_run, &sc), 0);
    if (!wait_for(&g.c.deferred, 1, 5000)) {
        pthread_join(t, NULL);
        ht_reply_release(&sc.reply);
        fail_msg("the request was never deferred");
    }
    ht_server_stop(&f->s); /* while the request waits for its resume */
    resumes = atomic_load(&g.c.resumes);
    finishes = atomic_load(&g.c.finish_calls);
    pthread_join(t, NULL);
    /* Stopping returned only after the resume, and the answer was built. */
    assert_int_equal(resumes, 1);
    assert_int_equal(finishes, 1);
    assert_int_equal(sc.rc, 0);
    assert_int_equal(sc.reply.status, 201);
    assert_true(ht_json_str(&sc.reply, "body", v, sizeof(v)));
    assert_string_equal(v, "stop body");
    ht_reply_release(&sc.reply);
    assert_int_equal(atomic_load(&g.c.finish_calls), 1);
    assert_int_equal(atomic_load(&g.c.finish_gone), 0);
    assert_clean_deferrals();
}

/* Connects to the server and sends a whole POST /defer?mode=hold; the
 * socket, or -1. */
static int
raw_post_hold(const struct fixture *f)
{
    static const char request[] = "POST /defer?mode=hold&id=gone HTTP/1.1\r\n"
                                  "Host: 127.0.0.1\r\n"
                                  "Content-Type: application/json\r\n"
                                  "Content-Length: 11\r\n"
                                  "\r\n"
                                  "{\"gone\":1}\n";
    struct sockaddr_in sa = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)dt_http_server_port(f->s.srv));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(request) - 1)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One client gone while its request is deferred: closed normally (FIN)
 * or reset (RST). Its finish runs exactly once after the resume. */
static void
client_gone_once(struct fixture *f, bool reset, int round)
{
    struct linger lg = {1, 0};
    struct dt_http_defer *d;
    int fd = raw_post_hold(f);

    assert_true(fd >= 0);
    assert_true(wait_for(&g.c.deferred, round, 2000));
    if (reset)
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
    close(fd);
    sleep_ms(20); /* let the close reach the server before the resume */
    d = atomic_exchange(&g.held, NULL);
    assert_non_null(d);
    dt_http_resume(d, 0);
    assert_true(wait_for(&g.c.finish_calls, round, 2000));
    sleep_ms(50); /* a second call, if any, would come now */
    assert_int_equal(atomic_load(&g.c.finish_calls), round);
}

static void
test_client_gone_before_the_resume(void **state)
{
    struct fixture *f = *state;
    struct ht_reply r;
    int64_t t0;

    client_gone_once(f, false, 1);
    client_gone_once(f, true, 2);
    fprintf(stderr, "client gone: %d of 2 finish calls had no response\n",
            atomic_load(&g.c.finish_gone));
    assert_clean_deferrals();
    /* The server still serves, deferred requests included. */
    assert_int_equal(ht_request("GET", ht_url(&f->s, "/healthz"), NULL, 0, NULL, false, &r), 0);
    assert_int_equal(r.status, 200);
    ht_reply_release(&r);
    post(f, "/defer?id=after&delay=1", "after", 201, &r);
    ht_reply_release(&r);
    assert_int_equal(atomic_load(&g.c.finish_calls), 3);
    /* Both requests completed: stopping does not wait out its drain. */
    t0 = dt_clock_mono_us();
    ht_server_stop(&f->s);
    assert_true(dt_clock_mono_us() - t0 < 5 * 1000 * 1000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_deferred_answer_is_built_by_finish_after_the_resume,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_with_a_failure_code_gives_its_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_resume_before_the_handler_returns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocks_runs_the_handler_again_on_a_worker, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_many_deferred_requests_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_waits_for_a_deferred_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_gone_before_the_resume, setup, teardown),
    };
    return cmocka_run_group_tests(tests, ht_curl_setup, ht_curl_teardown);
}
