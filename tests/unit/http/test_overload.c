/*
 * test_overload.c — the server's overload limits over real sockets with
 * libcurl: the bound on write requests waiting for a worker and the budget
 * for request bodies buffered at once, both answered 503 "overloaded" with
 * Retry-After. A POST handler that blocks until the test opens its gate
 * (mutex + condition variable) holds the workers, the queue and part of the
 * budget for as long as a test needs, so the outcomes are exact.
 */
#include "support_http.h"

#include "base/log.h"
#include "http/metrics.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* How long a test waits for an event before it fails. */
#define WAIT_S 30

/* ------------------------------------------------------------ the gate */

/* What POST /hold waits on: `entered` counts the handlers that started,
 * `open` lets them all return. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered;
    bool open;
} gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false};

static void
gate_reset(void)
{
    pthread_mutex_lock(&gate.mu);
    gate.entered = 0;
    gate.open = false;
    pthread_mutex_unlock(&gate.mu);
}

static void
gate_open(void)
{
    pthread_mutex_lock(&gate.mu);
    gate.open = true;
    pthread_cond_broadcast(&gate.cv);
    pthread_mutex_unlock(&gate.mu);
}

static struct timespec
deadline(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += WAIT_S;
    return ts;
}

/* Waits until n handlers have entered; false after WAIT_S. */
static bool
gate_wait_entered(int n)
{
    struct timespec until = deadline();
    int rc = 0;

    pthread_mutex_lock(&gate.mu);
    while (gate.entered < n && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&gate.cv, &gate.mu, &until);
    rc = gate.entered >= n;
    pthread_mutex_unlock(&gate.mu);
    return rc;
}

/* POST /hold: says it has started, waits for the gate, answers the body's
 * length. */
static int
route_hold(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    (void)app;
    pthread_mutex_lock(&gate.mu);
    gate.entered++;
    pthread_cond_broadcast(&gate.cv);
    while (!gate.open)
        pthread_cond_wait(&gate.cv, &gate.mu);
    pthread_mutex_unlock(&gate.mu);
    return dt_http_json(resp, 200, json_pack("{s:i}", "len", (int)req->body_len));
}

/* POST /body: the body's length. */
static int
route_body(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    (void)app;
    return dt_http_json(resp, 200, json_pack("{s:i}", "len", (int)req->body_len));
}

static int
route_fail(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    (void)app;
    (void)req;
    (void)resp;
    return DURATA_ESTORE;
}

static const struct dt_route test_routes[] = {
    {"POST", "/hold", route_hold, "blocks until the test opens the gate", false},
    {"POST", "/body", route_body, "the body's length", false},
    {"POST", "/fail", route_fail, "a handler failure", false},
    {NULL, NULL, NULL, NULL, false},
};

static const struct dt_route *const all_routes[] = {test_routes, dt_ops_routes, NULL};

/* ------------------------------------------------------------ fixture */

struct fixture {
    struct ht_server s;
    struct dt_metrics *metrics;
    char *bytes; /* BYTES_MAX 'b's, for bodies */
};

#define BYTES_MAX (64 * 1024)

static int
setup_with(void **state, unsigned max_queued, size_t max_body, size_t budget, unsigned timeout_s)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (!f)
        return -1;
    gate_reset();
    f->bytes = malloc(BYTES_MAX + 1);
    if (!f->bytes || dt_metrics_new(&f->metrics) < 0)
        goto out_free;
    memset(f->bytes, 'b', BYTES_MAX);
    f->bytes[BYTES_MAX] = '\0';
    f->s.cfg.threads = 2;
    f->s.cfg.max_queued = max_queued;
    f->s.cfg.max_body_bytes = max_body;
    f->s.cfg.body_budget_bytes = budget;
    f->s.cfg.timeout_s = timeout_s;
    f->s.app.routes = all_routes;
    f->s.app.metrics = f->metrics;
    if (ht_server_start(&f->s) < 0)
        goto out_free;
    *state = f;
    return 0;

out_free:
    dt_metrics_free(f->metrics);
    free(f->bytes);
    free(f);
    return -1;
}

/* Two workers, at most two requests waiting for them. */
static int
setup_queue(void **state)
{
    return setup_with(state, 2, 0, 0, 0);
}

/* Bodies up to 16 KiB, 4 KiB of them buffered at once. */
#define BUDGET 4096
static int
setup_budget(void **state)
{
    return setup_with(state, 0, 16 * 1024, BUDGET, 0);
}

/* The same, and connections idle for 1 s are closed: libmicrohttpd may
 * miss a close that arrives with the last bytes it reads, and then only
 * its idle timeout ends the request. */
static int
setup_budget_short_timeout(void **state)
{
    return setup_with(state, 0, 16 * 1024, BUDGET, 1);
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    gate_open(); /* a failed test may have left handlers waiting */
    ht_server_stop(&f->s);
    dt_metrics_free(f->metrics);
    free(f->bytes);
    free(f);
    return 0;
}

/* POSTs len bytes to path (chunked or with Content-Length) and checks the
 * status; a 200 must echo the length. */
static void
post(struct fixture *f, const char *path, size_t len, bool chunked, long status)
{
    struct ht_reply r;
    json_t *v;

    assert_true(len <= BYTES_MAX);
    assert_int_equal(ht_request("POST", ht_url(&f->s, path), f->bytes, len, NULL, chunked, &r), 0);
    if (r.status != status)
        fprintf(stderr, "POST %s (%zu bytes%s): %ld %s\n", path, len, chunked ? ", chunked" : "",
                r.status, r.body);
    assert_int_equal(r.status, status);
    if (status == 200) {
        v = json_loads(r.body, 0, NULL);
        assert_int_equal(json_integer_value(json_object_get(v, "len")), (json_int_t)len);
        json_decref(v);
    }
    ht_reply_release(&r);
}

/* The overload answer: 503, Retry-After: 1, the JSON error "overloaded". */
static void
assert_overloaded(const struct ht_reply *r)
{
    json_t *v = json_loads(r->body, 0, NULL);
    char h[128];

    assert_int_equal(r->status, 503);
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(json_object_get(v, "error"), "code")),
                        "overloaded");
    assert_true(json_is_string(json_object_get(json_object_get(v, "error"), "message")));
    json_decref(v);
    assert_true(ht_header(r, "Retry-After", h, sizeof(h)));
    assert_string_equal(h, "1");
    assert_true(ht_header(r, "Content-Type", h, sizeof(h)));
    assert_string_equal(h, "application/json; charset=utf-8");
}

static void
assert_healthy(struct fixture *f)
{
    struct ht_reply r;

    assert_int_equal(ht_request("GET", ht_url(&f->s, "/healthz"), NULL, 0, NULL, false, &r), 0);
    assert_int_equal(r.status, 200);
    ht_reply_release(&r);
}

/* ------------------------------------------------------------ calls */

/* A request made on its own thread. */
struct call {
    char url[256];
    const char *body;
    size_t len;
    bool chunked;
    struct ht_reply reply;
    int rc;
    bool finished; /* guarded by calls.mu */
    pthread_t t;
};

/* `done` counts the finished calls; `mu` also guards call.finished. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
} calls = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

static void *
call_run(void *arg)
{
    struct call *c = arg;

    c->rc = ht_request("POST", c->url, c->body, c->len, NULL, c->chunked, &c->reply);
    pthread_mutex_lock(&calls.mu);
    c->finished = true;
    calls.done++;
    pthread_cond_broadcast(&calls.cv);
    pthread_mutex_unlock(&calls.mu);
    return NULL;
}

static void
call_start(struct fixture *f, struct call *c, const char *path, size_t len)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->url, sizeof(c->url), "%s%s", f->s.base, path);
    c->body = f->bytes;
    c->len = len;
    assert_int_equal(pthread_create(&c->t, NULL, call_run, c), 0);
}

/* Waits until n calls have finished; the count then, after WAIT_S at
 * most. */
static int
calls_wait_done(int n)
{
    struct timespec until = deadline();
    int rc = 0, done;

    pthread_mutex_lock(&calls.mu);
    while (calls.done < n && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&calls.cv, &calls.mu, &until);
    done = calls.done;
    pthread_mutex_unlock(&calls.mu);
    return done;
}

static bool
call_is_done(struct call *c)
{
    bool done;

    pthread_mutex_lock(&calls.mu);
    done = c->finished;
    pthread_mutex_unlock(&calls.mu);
    return done;
}

/* The value of one series of durata_http_requests_total, -1 if absent. */
static long
requests_counted(struct fixture *f, const char *route, int code)
{
    char *text = NULL, want[256];
    const char *at;
    size_t len;
    long n = -1;

    assert_int_equal(dt_metrics_render(f->metrics, NULL, &text, &len), 0);
    snprintf(want, sizeof(want),
             "durata_http_requests_total{method=\"POST\",route=\"%s\",code=\"%d\"} ", route, code);
    at = strstr(text, want);
    if (at)
        n = strtol(at + strlen(want), NULL, 10);
    free(text);
    return n;
}

/* ------------------------------------------------------------ the queue */

/* 503s counted for /hold requests: under no route when refused before the
 * body was read, under /hold when the queue filled up while it came in
 * (pool_push decides). */
static long
queue_refusals(struct fixture *f)
{
    long unrouted = requests_counted(f, "unmatched", 503);
    long routed = requests_counted(f, "/hold", 503);

    return (unrouted > 0 ? unrouted : 0) + (routed > 0 ? routed : 0);
}

#define WORKERS 2
#define QUEUED 2
#define BURST 8

static void
test_writes_over_the_queue_bound_get_503_then_the_server_recovers(void **state)
{
    /* Static: a failed assertion leaves the test while calls still run. */
    static struct call held[WORKERS], burst[BURST];
    struct fixture *f = *state;
    int ok = 0, refused = 0;

    pthread_mutex_lock(&calls.mu);
    calls.done = 0;
    pthread_mutex_unlock(&calls.mu);
    /* Both workers block in the handler... */
    for (int i = 0; i < WORKERS; i++)
        call_start(f, &held[i], "/hold", 2);
    assert_true(gate_wait_entered(WORKERS));
    /* ...so of a burst, QUEUED wait for them and the rest are refused at
     * once: exactly BURST - QUEUED calls finish while the gate is shut. */
    for (int i = 0; i < BURST; i++)
        call_start(f, &burst[i], "/hold", 2);
    assert_int_equal(calls_wait_done(BURST - QUEUED), BURST - QUEUED);
    for (int i = 0; i < BURST; i++) {
        if (!call_is_done(&burst[i]))
            continue;
        assert_int_equal(burst[i].rc, 0);
        assert_overloaded(&burst[i].reply);
        refused++;
    }
    assert_int_equal(refused, BURST - QUEUED);
    /* Counted like any other answer, before the client had it. */
    assert_int_equal(queue_refusals(f), BURST - QUEUED);
    gate_open();
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(held[i].t, NULL);
        assert_int_equal(held[i].reply.status, 200);
        ht_reply_release(&held[i].reply);
    }
    for (int i = 0; i < BURST; i++) {
        pthread_join(burst[i].t, NULL);
        ok += burst[i].rc == 0 && burst[i].reply.status == 200;
        ht_reply_release(&burst[i].reply);
    }
    assert_int_equal(ok, QUEUED);
    assert_int_equal(requests_counted(f, "/hold", 200), WORKERS + QUEUED);
    /* Serving normally again: the queue has room for later writes. */
    assert_healthy(f);
    for (int i = 0; i < 3 * (WORKERS + QUEUED); i++)
        post(f, "/body", 10, false, 200);
    assert_int_equal(queue_refusals(f), BURST - QUEUED);
}

/* ------------------------------------------------------------ the budget */

static void
test_bodies_over_the_budget_get_503_and_small_ones_pass(void **state)
{
    struct fixture *f = *state;
    struct ht_reply r;

    /* Declared by Content-Length: refused before it is read. */
    assert_int_equal(ht_request("POST", ht_url(&f->s, "/body"), f->bytes, 6000, NULL, false, &r),
                     0);
    assert_overloaded(&r);
    ht_reply_release(&r);
    /* Chunked: refused once the chunks run over. */
    assert_int_equal(ht_request("POST", ht_url(&f->s, "/body"), f->bytes, 6000, NULL, true, &r), 0);
    assert_overloaded(&r);
    ht_reply_release(&r);
    post(f, "/body", 1024, false, 200);
    post(f, "/body", 1024, true, 200);
    /* The refusals and the answers gave everything back: the whole budget
     * fits, either way it comes, but not a byte more. */
    post(f, "/body", BUDGET, false, 200);
    post(f, "/body", BUDGET, true, 200);
    post(f, "/body", BUDGET + 1, false, 503);
    post(f, "/body", BUDGET + 1, true, 503);
    post(f, "/body", BUDGET, false, 200);
    /* Over the body limit is still 413, not an overload. */
    post(f, "/body", 16 * 1024 + 1, false, 413);
    assert_healthy(f);
}

static void
test_a_body_in_progress_holds_its_share_until_answered(void **state)
{
    static struct call held; /* may outlive a failed test */
    struct fixture *f = *state;

    pthread_mutex_lock(&calls.mu);
    calls.done = 0;
    pthread_mutex_unlock(&calls.mu);
    call_start(f, &held, "/hold", 1536);
    assert_true(gate_wait_entered(1));
    /* 1536 of 4096 bytes are taken while the handler runs. */
    post(f, "/body", BUDGET - 1536 + 1, false, 503);
    post(f, "/body", BUDGET - 1536 + 1, true, 503);
    post(f, "/body", BUDGET - 1536, false, 200);
    post(f, "/body", BUDGET - 1536, true, 200);
    post(f, "/body", BUDGET, false, 503);
    gate_open();
    pthread_join(held.t, NULL);
    assert_int_equal(held.rc, 0);
    assert_int_equal(held.reply.status, 200);
    ht_reply_release(&held.reply);
    /* Given back before the answer went out: the whole budget again. */
    post(f, "/body", BUDGET, false, 200);
    post(f, "/body", BUDGET + 1, false, 503);
}

static void
test_failed_requests_give_their_bytes_back(void **state)
{
    struct fixture *f = *state;

    for (int i = 0; i < 3; i++) {
        post(f, "/fail", BUDGET, false, 500);
        post(f, "/fail", BUDGET, true, 500);
        post(f, "/nope", BUDGET, false, 404);
        post(f, "/nope", BUDGET, true, 404);
        post(f, "/body", BUDGET, false, 200);
    }
    post(f, "/body", BUDGET + 1, true, 503);
}

/* Sends a request declaring a whole-budget body and a piece of it, then
 * ends its side of the connection; returns the socket. */
static int
send_and_vanish(struct fixture *f)
{
    struct sockaddr_in sa = {0};
    struct timeval wait = {WAIT_S, 0};
    char head[256];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int n;

    assert_true(fd >= 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait)), 0);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)dt_http_server_port(f->s.srv));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    n = snprintf(head, sizeof(head), "POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n",
                 BUDGET);
    assert_int_equal(send(fd, head, (size_t)n, 0), n);
    assert_int_equal(send(fd, f->bytes, 100, 0), 100);
    assert_int_equal(shutdown(fd, SHUT_WR), 0);
    return fd;
}

/* true once the server has closed fd's connection (having answered
 * nothing), false after WAIT_S. */
static bool
server_closed(int fd)
{
    char c;
    ssize_t n;

    do
        n = recv(fd, &c, 1, 0);
    while (n < 0 && errno == EINTR);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

static void
test_a_client_gone_mid_body_gives_its_bytes_back(void **state)
{
    struct fixture *f = *state;
    FILE *sink = tmpfile();
    char line[1024];
    bool leaked = false;
    int fd;

    assert_non_null(sink);
    dt_log_setup(DT_LOG_WARN, sink);
    fd = send_and_vanish(f);
    /* libmicrohttpd ends the request (srv_completed) before it closes the
     * connection, whether it sees the client go or times it out. */
    assert_true(server_closed(fd));
    close(fd);
    post(f, "/body", BUDGET, false, 200);
    post(f, "/body", BUDGET + 1, false, 503);
    /* Once more, stopping the server at once: stopping completes every
     * request and then checks that the budget is whole. */
    close(send_and_vanish(f));
    ht_server_stop(&f->s);
    dt_log_setup(DT_LOG_INFO, NULL);
    rewind(sink);
    while (fgets(line, sizeof(line), sink))
        leaked |= strstr(line, "not given back") != NULL;
    fclose(sink);
    assert_false(leaked);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_writes_over_the_queue_bound_get_503_then_the_server_recovers, setup_queue,
            teardown),
        cmocka_unit_test_setup_teardown(test_bodies_over_the_budget_get_503_and_small_ones_pass,
                                        setup_budget, teardown),
        cmocka_unit_test_setup_teardown(test_a_body_in_progress_holds_its_share_until_answered,
                                        setup_budget, teardown),
        cmocka_unit_test_setup_teardown(test_failed_requests_give_their_bytes_back, setup_budget,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_client_gone_mid_body_gives_its_bytes_back,
                                        setup_budget_short_timeout, teardown),
    };
    return cmocka_run_group_tests(tests, ht_curl_setup, ht_curl_teardown);
}
