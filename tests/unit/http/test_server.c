/*
 * test_server.c — the server driven over real sockets with libcurl: a
 * server started in-process on port 0 with a small route table. Checks
 * health and readiness, 404 for unknown paths and wrong methods, the body
 * limit (413 from Content-Length, from a chunked body, and at once with
 * Expect: 100-continue), huge headers, API keys in each form, decoded
 * captures and query values, base_url behind a proxy, handler failures,
 * Content-Type/Content-Length on every answer, concurrent clients, and
 * start errors (port in use, bad pattern).
 */
#include "support_http.h"

#include "base/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* GET /echo/{a}/{b}: the captures, decoded path, query q and base_url. */
static int
route_echo(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    const char *q = dt_http_query(req, "q");

    (void)app;
    return dt_http_json(resp, 200,
                        json_pack("{s:s,s:s,s:s,s:s?,s:s,s:i}", "a", req->params[0], "b",
                                  req->params[1], "path", req->path, "q", q, "base", req->base_url,
                                  "n_params", (int)req->n_params));
}

/* POST /body: the length and text of the body. */
static int
route_body(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    (void)app;
    return dt_http_json(
        resp, 200,
        json_pack("{s:i,s:s%}", "len", (int)req->body_len, "body", req->body, req->body_len));
}

static int
route_fail(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    (void)app;
    (void)req;
    (void)resp;
    return DURATA_ESTORE;
}

static int
route_text(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    int rc;

    (void)app;
    (void)req;
    rc = dt_http_text(resp, 201, "text/plain; charset=utf-8", "made", 4);
    if (rc == 0)
        rc = dt_http_add_header(resp, "Location", "/text/1");
    if (rc == 0)
        rc = dt_http_add_header(resp, "X-Bad", "a\r\nInjected: yes");
    return rc;
}

/* GET /slow: a blocking handler, as hub calls are. */
static int
route_slow(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    (void)app;
    (void)req;
    usleep(20 * 1000);
    return dt_http_json(resp, 200, json_pack("{s:b}", "slow", 1));
}

static int
route_noop(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    (void)app;
    (void)req;
    (void)resp;
    return 0;
}

/* GET /block: says it has started, then takes 300 ms. */
static atomic_bool block_entered;

static int
route_block(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    (void)app;
    (void)req;
    atomic_store(&block_entered, true);
    usleep(300 * 1000);
    return dt_http_json(resp, 200, json_pack("{s:b}", "done", 1));
}

static const struct dt_route test_routes[] = {
    {"GET", "/echo/{a}/{b}", route_echo, "echo", false},
    {"POST", "/body", route_body, "body", false},
    {"GET", "/fail", route_fail, "fail", false},
    {"POST", "/text", route_text, "text", false},
    {"GET", "/slow", route_slow, "slow", false},
    {"GET", "/empty", route_noop, "a handler that sets nothing", false},
    {"GET", "/block", route_block, "a request in progress while the server stops", false},
    {NULL, NULL, NULL, NULL, false},
};

static const struct dt_route *const all_routes[] = {test_routes, dt_ops_routes, NULL};

struct fixture {
    struct ht_server s;
};

static int
setup_with(void **state, const char *const *keys, size_t max_body)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (!f)
        return -1;
    f->s.cfg.api_keys = keys;
    f->s.cfg.max_body_bytes = max_body;
    f->s.cfg.threads = 4;
    f->s.app.routes = all_routes;
    if (ht_server_start(&f->s) < 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int
setup(void **state)
{
    return setup_with(state, NULL, 1024);
}

static const char *const test_keys[] = {"key-one", "key-two", NULL};

static int
setup_keys(void **state)
{
    return setup_with(state, test_keys, 0);
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    ht_server_stop(&f->s);
    free(f);
    return 0;
}

/* Sends a request and checks status; returns the reply for more checks. */
static void
expect(struct fixture *f, const char *method, const char *path, const char *body,
       const char *const *headers, long status, struct ht_reply *r)
{
    assert_int_equal(
        ht_request(method, ht_url(&f->s, path), body, body ? strlen(body) : 0, headers, false, r),
        0);
    if (r->status != status)
        fprintf(stderr, "%s %s: %ld %s\n", method, path, r->status, r->body);
    assert_int_equal(r->status, status);
}

/* Checks a JSON error body with this code, and the JSON content type. */
static void
assert_error(const struct ht_reply *r, const char *code)
{
    json_t *v = json_loads(r->body, 0, NULL);
    char ct[128];

    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(json_object_get(v, "error"), "code")),
                        code);
    assert_true(json_is_string(json_object_get(json_object_get(v, "error"), "message")));
    json_decref(v);
    assert_true(ht_header(r, "Content-Type", ct, sizeof(ct)));
    assert_string_equal(ct, "application/json; charset=utf-8");
}

static void
assert_healthy(struct fixture *f)
{
    struct ht_reply r;

    expect(f, "GET", "/healthz", NULL, NULL, 200, &r);
    assert_string_equal(r.body, "{\"status\":\"ok\"}");
    ht_reply_release(&r);
}

static void
test_healthz_and_readyz(void **state)
{
    struct fixture *f = *state;
    struct ht_reply r;
    char v[64];

    assert_int_not_equal(dt_http_server_port(f->s.srv), 0);
    expect(f, "GET", "/healthz", NULL, NULL, 200, &r);
    assert_string_equal(r.body, "{\"status\":\"ok\"}");
    assert_true(ht_header(&r, "Content-Type", v, sizeof(v)));
    assert_string_equal(v, "application/json; charset=utf-8");
    assert_true(ht_header(&r, "Content-Length", v, sizeof(v)));
    assert_string_equal(v, "15");
    ht_reply_release(&r);
    expect(f, "GET", "/readyz", NULL, NULL, 503, &r);
    assert_true(ht_header(&r, "Retry-After", v, sizeof(v)));
    ht_reply_release(&r);
    __atomic_store_n(&f->s.app.ready, true, __ATOMIC_RELEASE);
    expect(f, "GET", "/readyz/", NULL, NULL, 200, &r);
    assert_string_equal(r.body, "{\"status\":\"ready\"}");
    ht_reply_release(&r);
    expect(f, "HEAD", "/healthz", NULL, NULL, 200, &r);
    assert_string_equal(r.body, "");
    ht_reply_release(&r);
}

static void
test_unknown_path_and_wrong_method_are_404(void **state)
{
    struct fixture *f = *state;
    struct ht_reply r;

    expect(f, "GET", "/nope", NULL, NULL, 404, &r);
    assert_error(&r, "not_found");
    ht_reply_release(&r);
    expect(f, "POST", "/healthz", "{}", NULL, 404, &r);
    assert_error(&r, "not_found");
    assert_non_null(strstr(r.body, "method"));
    ht_reply_release(&r);
    expect(f, "DELETE", "/echo/a/b", NULL, NULL, 404, &r);
    assert_error(&r, "not_found");
    ht_reply_release(&r);
    expect(f, "GET", "/echo/%2e%2e/b", NULL, NULL, 404, &r);
    ht_reply_release(&r);
    expect(f, "GET", "/echo/../healthz", NULL, NULL, 404, &r);
    ht_reply_release(&r);
    expect(f, "GET", "/echo/a%00/b", NULL, NULL, 400, &r);
    assert_error(&r, "bad_request");
    ht_reply_release(&r);
    expect(f, "GET", "/echo/a/b?q=%00", NULL, NULL, 400, &r);
    assert_error(&r, "bad_request");
    ht_reply_release(&r);
    assert_healthy(f);
}

static void
test_captures_and_query_are_decoded(void **state)
{
    struct fixture *f = *state;
    struct ht_reply r;
    char v[256];

    expect(f, "GET", "/ECHO/hello%20world/x%2Fy/?q=a+b%26c&other=1", NULL, NULL, 200, &r);
    assert_true(ht_json_str(&r, "a", v, sizeof(v)));
    assert_string_equal(v, "hello world");
    assert_true(ht_json_str(&r, "b", v, sizeof(v)));
    assert_string_equal(v, "x/y");
    assert_true(ht_json_str(&r, "q", v, sizeof(v)));
    assert_string_equal(v, "a b&c");
    assert_true(ht_json_str(&r, "path", v, sizeof(v)));
    assert_string_equal(v, "/ECHO/hello world/x/y/");
    ht_reply_release(&r);
}

static void
test_base_url_from_host_and_forwarded_headers(void **state)
{
    struct fixture *f = *state;
    const char *proxy[] = {"X-Forwarded-Proto: https", "X-Forwarded-Host: api.example.com", NULL};
    const char *bad_proxy[] = {"X-Forwarded-Host: evil.example/x", "Host: inner:81", NULL};
    struct ht_reply r;
    char v[256];

    expect(f, "GET", "/echo/a/b", NULL, NULL, 200, &r);
    assert_true(ht_json_str(&r, "base", v, sizeof(v)));
    assert_string_equal(v, f->s.base);
    ht_reply_release(&r);
    expect(f, "GET", "/echo/a/b", NULL, proxy, 200, &r);
    assert_true(ht_json_str(&r, "base", v, sizeof(v)));
    assert_string_equal(v, "https://api.example.com");
    ht_reply_release(&r);
    expect(f, "GET", "/echo/a/b", NULL, bad_proxy, 200, &r);
    assert_true(ht_json_str(&r, "base", v, sizeof(v)));
    assert_string_equal(v, "http://inner:81");
    ht_reply_release(&r);
}

static void
test_body_up_to_the_limit_is_delivered(void **state)
{
    struct fixture *f = *state;
    char *body = malloc(1025);
    struct ht_reply r;
    json_t *v;

    assert_non_null(body);
    memset(body, 'x', 1024);
    body[1024] = '\0';
    expect(f, "POST", "/body", body, NULL, 200, &r);
    v = json_loads(r.body, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(v, "len")), 1024);
    assert_string_equal(json_string_value(json_object_get(v, "body")), body);
    json_decref(v);
    ht_reply_release(&r);
    expect(f, "POST", "/body", NULL, NULL, 200, &r);
    assert_string_equal(r.body, "{\"len\":0,\"body\":\"\"}");
    ht_reply_release(&r);
    assert_int_equal(ht_request("POST", ht_url(&f->s, "/body"), body, 1024, NULL, true, &r), 0);
    assert_int_equal(r.status, 200);
    ht_reply_release(&r);
    free(body);
}

static void
test_body_over_the_limit_is_413(void **state)
{
    struct fixture *f = *state;
    const char *expect100[] = {"Expect: 100-continue", NULL};
    size_t big = 8 * 1024 * 1024;
    char *body = malloc(big + 1);
    struct ht_reply r;

    assert_non_null(body);
    memset(body, 'y', big);
    body[big] = '\0';
    /* Declared by Content-Length: the body is read and dropped, then 413. */
    assert_int_equal(ht_request("POST", ht_url(&f->s, "/body"), body, 1025, NULL, false, &r), 0);
    assert_int_equal(r.status, 413);
    assert_error(&r, "too_large");
    ht_reply_release(&r);
    /* Declared far over (past what the server reads to drop), with Expect:
     * 100-continue: refused before the client sends the 8 MiB. */
    assert_int_equal(ht_request("POST", ht_url(&f->s, "/body"), body, big, expect100, false, &r),
                     0);
    assert_int_equal(r.status, 413);
    assert_error(&r, "too_large");
    ht_reply_release(&r);
    /* Chunked, no length: noticed while reading. */
    assert_int_equal(ht_request("POST", ht_url(&f->s, "/body"), body, 5000, NULL, true, &r), 0);
    assert_int_equal(r.status, 413);
    assert_error(&r, "too_large");
    ht_reply_release(&r);
    /* An endless chunked body is cut off rather than read forever. */
    assert_int_equal(ht_request("POST", ht_url(&f->s, "/body"), body, big, NULL, true, &r), -1);
    ht_reply_release(&r);
    free(body);
    assert_healthy(f);
}

static void
test_huge_headers_are_refused_and_server_stays_healthy(void **state)
{
    struct fixture *f = *state;
    size_t n = 200 * 1024;
    char *h = malloc(n + 16);
    const char *headers[] = {h, NULL};
    struct ht_reply r;

    assert_non_null(h);
    memcpy(h, "X-Big: ", 7);
    memset(h + 7, 'a', n);
    h[7 + n] = '\0';
    assert_int_equal(ht_request("GET", ht_url(&f->s, "/healthz"), NULL, 0, headers, false, &r), 0);
    assert_int_equal(r.status, 431);
    ht_reply_release(&r);
    free(h);
    assert_healthy(f);
}

static void
test_handler_failure_is_500_and_text_bodies_keep_their_type(void **state)
{
    struct fixture *f = *state;
    struct ht_reply r;
    char v[128];

    expect(f, "GET", "/fail", NULL, NULL, 500, &r);
    assert_error(&r, "internal");
    ht_reply_release(&r);
    expect(f, "GET", "/empty", NULL, NULL, 500, &r);
    assert_error(&r, "internal");
    ht_reply_release(&r);
    expect(f, "POST", "/text", NULL, NULL, 201, &r);
    assert_string_equal(r.body, "made");
    assert_true(ht_header(&r, "Content-Type", v, sizeof(v)));
    assert_string_equal(v, "text/plain; charset=utf-8");
    assert_true(ht_header(&r, "Location", v, sizeof(v)));
    assert_string_equal(v, "/text/1");
    assert_false(ht_header(&r, "Injected", v, sizeof(v)));
    assert_false(ht_header(&r, "X-Bad", v, sizeof(v)));
    ht_reply_release(&r);
}

static void
test_api_keys_are_required_in_any_form(void **state)
{
    struct fixture *f = *state;
    const char *header_key[] = {"x-functions-key: key-one", NULL};
    const char *bearer_key[] = {"Authorization: Bearer key-two", NULL};
    const char *wrong_key[] = {"x-functions-key: key-three", NULL};
    const char *wrong_bearer[] = {"Authorization: Bearer key-on", NULL};
    struct ht_reply r;
    char v[64];

    expect(f, "GET", "/echo/a/b", NULL, NULL, 401, &r);
    assert_error(&r, "unauthorized");
    assert_true(ht_header(&r, "WWW-Authenticate", v, sizeof(v)));
    assert_string_equal(v, "Bearer");
    ht_reply_release(&r);
    expect(f, "GET", "/nope", NULL, NULL, 401, &r);
    ht_reply_release(&r);
    expect(f, "GET", "/echo/a/b", NULL, wrong_key, 401, &r);
    ht_reply_release(&r);
    expect(f, "GET", "/echo/a/b", NULL, wrong_bearer, 401, &r);
    ht_reply_release(&r);
    expect(f, "GET", "/echo/a/b?code=key-on", NULL, NULL, 401, &r);
    ht_reply_release(&r);
    expect(f, "GET", "/echo/a/b", NULL, header_key, 200, &r);
    ht_reply_release(&r);
    expect(f, "GET", "/echo/a/b?code=key-two", NULL, NULL, 200, &r);
    ht_reply_release(&r);
    expect(f, "GET", "/echo/a/b", NULL, bearer_key, 200, &r);
    ht_reply_release(&r);
    expect(f, "GET", "/nope", NULL, bearer_key, 404, &r);
    ht_reply_release(&r);
    /* Probes need no key. */
    expect(f, "GET", "/healthz", NULL, NULL, 200, &r);
    ht_reply_release(&r);
    expect(f, "GET", "/readyz", NULL, NULL, 503, &r);
    ht_reply_release(&r);
}

static void
test_each_request_is_logged_at_debug(void **state)
{
    struct fixture *f = *state;
    FILE *sink = tmpfile();
    char line[1024] = "";
    struct ht_reply r;
    json_t *v;

    assert_non_null(sink);
    dt_log_setup(DT_LOG_DEBUG, sink);
    expect(f, "GET", "/echo/x%20y/z", NULL, NULL, 200, &r);
    ht_reply_release(&r);
    /* The line is written once the answer is queued, so the client may
     * have it first: look for the line for a while before giving up. */
    bool found = false;
    for (int tries = 0; tries < 2000 && !found; tries++) {
        rewind(sink);
        while (!found && fgets(line, sizeof(line), sink))
            found = strstr(line, "http request") != NULL;
        if (!found) {
            struct timespec pause = {0, 1000000L};
            nanosleep(&pause, NULL);
        }
    }
    dt_log_setup(DT_LOG_INFO, NULL);
    fclose(sink);
    assert_true(found);
    v = json_loads(line, 0, NULL);
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "level")), "debug");
    assert_string_equal(json_string_value(json_object_get(v, "method")), "GET");
    assert_string_equal(json_string_value(json_object_get(v, "path")), "/echo/x y/z");
    assert_string_equal(json_string_value(json_object_get(v, "status")), "200");
    assert_true(json_is_string(json_object_get(v, "ms")));
    json_decref(v);
}

struct worker {
    struct fixture *f;
    int id;
    int ok;
};

static void *
worker_run(void *arg)
{
    struct worker *w = arg;
    char u[256], want[64], got[64];
    struct ht_reply r;

    for (int i = 0; i < 40; i++) {
        snprintf(u, sizeof(u), "%s/echo/t%d/%d?q=x", w->f->s.base, w->id, i);
        snprintf(want, sizeof(want), "%d", i);
        if (ht_request("GET", u, NULL, 0, NULL, false, &r) == 0 && r.status == 200 &&
            ht_json_str(&r, "b", got, sizeof(got)) && strcmp(got, want) == 0)
            w->ok++;
        ht_reply_release(&r);
        if (i % 10 == 0) {
            snprintf(u, sizeof(u), "%s/slow", w->f->s.base);
            if (ht_request("GET", u, NULL, 0, NULL, false, &r) == 0 && r.status == 200)
                w->ok++;
            ht_reply_release(&r);
        }
    }
    return NULL;
}

static void
test_concurrent_clients(void **state)
{
    struct fixture *f = *state;
    struct worker w[8];
    pthread_t t[8];

    for (int i = 0; i < 8; i++) {
        w[i] = (struct worker){f, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, 44);
    }
}

static void
test_start_errors(void **state)
{
    struct fixture *f = *state;
    static const struct dt_route bad[] = {{"GET", "/a/{b", route_noop, "bad", false},
                                          {NULL, NULL, NULL, NULL, false}};
    static const struct dt_route *const bad_tables[] = {bad, NULL};
    struct dt_http_config cfg = {.host = "127.0.0.1"};
    struct dt_app app = {.config = &cfg, .routes = all_routes};
    struct dt_http_server *s = (void *)1;
    struct ht_reply r;

    cfg.port = dt_http_server_port(f->s.srv); /* already taken */
    assert_int_equal(dt_http_server_start(&s, &app, &cfg), DURATA_ESYS);
    assert_null(s);
    cfg.port = 0;
    cfg.host = "not a host name";
    assert_int_equal(dt_http_server_start(&s, &app, &cfg), DURATA_ESYS);
    cfg.host = "127.0.0.1";
    cfg.port = 70000;
    assert_int_equal(dt_http_server_start(&s, &app, &cfg), DURATA_EINVAL);
    cfg.port = 0;
    app.routes = bad_tables;
    assert_int_equal(dt_http_server_start(&s, &app, &cfg), DURATA_EINVAL);
    dt_http_server_stop(NULL);
    expect(f, "GET", "/healthz", NULL, NULL, 200, &r);
    ht_reply_release(&r);
}

struct blocked_call {
    char url[128];
    struct ht_reply reply;
    int rc;
};

static void *
blocked_call_run(void *arg)
{
    struct blocked_call *bc = arg;

    bc->rc = ht_request("GET", bc->url, NULL, 0, NULL, false, &bc->reply);
    return NULL;
}

static void
test_stop_answers_requests_in_progress(void **state)
{
    struct fixture *f = *state;
    struct blocked_call bc = {0};
    struct timespec pause = {0, 1000000L};
    pthread_t t;

    atomic_store(&block_entered, false);
    snprintf(bc.url, sizeof(bc.url), "%s/block", f->s.base);
    assert_int_equal(pthread_create(&t, NULL, blocked_call_run, &bc), 0);
    while (!atomic_load(&block_entered))
        nanosleep(&pause, NULL);
    ht_server_stop(&f->s); /* while the handler sleeps */
    pthread_join(t, NULL);
    assert_int_equal(bc.rc, 0);
    assert_int_equal(bc.reply.status, 200);
    assert_string_equal(bc.reply.body, "{\"done\":true}");
    ht_reply_release(&bc.reply);
    /* Nothing listens any more. */
    assert_int_equal(ht_request("GET", ht_url(&f->s, "/healthz"), NULL, 0, NULL, false, &bc.reply),
                     -1);
    ht_reply_release(&bc.reply);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_healthz_and_readyz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_path_and_wrong_method_are_404, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_captures_and_query_are_decoded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_base_url_from_host_and_forwarded_headers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_body_up_to_the_limit_is_delivered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_over_the_limit_is_413, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_headers_are_refused_and_server_stays_healthy,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_handler_failure_is_500_and_text_bodies_keep_their_type,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_keys_are_required_in_any_form, setup_keys,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_each_request_is_logged_at_debug, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_answers_requests_in_progress, setup, teardown),
    };
    return cmocka_run_group_tests(tests, ht_curl_setup, ht_curl_teardown);
}
