/*
 * test_metrics.c — the Prometheus registry (http/metrics.c): the exact
 * exposition text for known observations, bucket edges, label escaping,
 * method folding, the series cap, exact counts under concurrent
 * observers and scrapes, the hub's families from a real store, and
 * GET /metrics through the handler and a running server.
 */
#include "http/metrics.h"

#include "support_http.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int
setup_registry(void **state)
{
    struct dt_metrics *m = NULL;

    if (dt_metrics_new(&m) != 0)
        return -1;
    *state = m;
    return 0;
}

static int
teardown_registry(void **state)
{
    dt_metrics_free(*state);
    return 0;
}

static char *
render(struct dt_metrics *m, struct durata_hub *hub)
{
    char *text = NULL;
    size_t len = 0;

    assert_int_equal(dt_metrics_render(m, hub, &text, &len), 0);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    return text;
}

/* The value on the line starting with `series` followed by a space; fails
 * the test when there is no such line or there are several. */
static unsigned long long
sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    const char *p = text, *found = NULL;

    while ((p = strstr(p, series))) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ') {
            if (found)
                fail_msg("series %s appears twice", series);
            found = p;
        }
        p += n;
    }
    if (!found)
        fail_msg("series %s missing in:\n%s", series, text);
    return strtoull(found + n + 1, NULL, 10);
}

#define JOBS "method=\"POST\",route=\"/api/jobs\""
#define HEALTH "method=\"GET\",route=\"/healthz\""
#define UNMATCHED "method=\"other\",route=\"unmatched\""
#define DUR "durata_http_request_duration_seconds"
#define BUCKET(series, le, n) DUR "_bucket{" series ",le=\"" le "\"} " #n "\n"

/* The expected exposition text, one source line per string (a single
 * literal would exceed the 4095 characters C guarantees). */
static const char *const expected_http[] = {
    "# HELP durata_http_requests_total HTTP requests answered, by method, route pattern and ",
    "status code.\n",
    "# TYPE durata_http_requests_total counter\n",
    "durata_http_requests_total{" JOBS ",code=\"202\"} 1\n",
    "durata_http_requests_total{" HEALTH ",code=\"200\"} 2\n",
    "durata_http_requests_total{" HEALTH ",code=\"503\"} 1\n",
    "durata_http_requests_total{" UNMATCHED ",code=\"404\"} 1\n",
    "# HELP durata_http_request_duration_seconds Time from a request's arrival to its answer, ",
    "by method and route pattern.\n",
    "# TYPE durata_http_request_duration_seconds histogram\n",
    BUCKET(JOBS, "0.0005", 0),
    BUCKET(JOBS, "0.001", 0),
    BUCKET(JOBS, "0.0025", 0),
    BUCKET(JOBS, "0.005", 0),
    BUCKET(JOBS, "0.01", 0),
    BUCKET(JOBS, "0.025", 0),
    BUCKET(JOBS, "0.05", 0),
    BUCKET(JOBS, "0.1", 0),
    BUCKET(JOBS, "0.25", 0),
    BUCKET(JOBS, "0.5", 1),
    BUCKET(JOBS, "1", 1),
    BUCKET(JOBS, "2.5", 1),
    BUCKET(JOBS, "5", 1),
    BUCKET(JOBS, "10", 1),
    BUCKET(JOBS, "+Inf", 1),
    DUR "_sum{" JOBS "} 0.3\n",
    DUR "_count{" JOBS "} 1\n",
    BUCKET(HEALTH, "0.0005", 1),
    BUCKET(HEALTH, "0.001", 2),
    BUCKET(HEALTH, "0.0025", 2),
    BUCKET(HEALTH, "0.005", 2),
    BUCKET(HEALTH, "0.01", 2),
    BUCKET(HEALTH, "0.025", 2),
    BUCKET(HEALTH, "0.05", 2),
    BUCKET(HEALTH, "0.1", 2),
    BUCKET(HEALTH, "0.25", 2),
    BUCKET(HEALTH, "0.5", 2),
    BUCKET(HEALTH, "1", 2),
    BUCKET(HEALTH, "2.5", 2),
    BUCKET(HEALTH, "5", 2),
    BUCKET(HEALTH, "10", 2),
    BUCKET(HEALTH, "+Inf", 3),
    DUR "_sum{" HEALTH "} 12.0012\n",
    DUR "_count{" HEALTH "} 3\n",
    BUCKET(UNMATCHED, "0.0005", 1),
    BUCKET(UNMATCHED, "0.001", 1),
    BUCKET(UNMATCHED, "0.0025", 1),
    BUCKET(UNMATCHED, "0.005", 1),
    BUCKET(UNMATCHED, "0.01", 1),
    BUCKET(UNMATCHED, "0.025", 1),
    BUCKET(UNMATCHED, "0.05", 1),
    BUCKET(UNMATCHED, "0.1", 1),
    BUCKET(UNMATCHED, "0.25", 1),
    BUCKET(UNMATCHED, "0.5", 1),
    BUCKET(UNMATCHED, "1", 1),
    BUCKET(UNMATCHED, "2.5", 1),
    BUCKET(UNMATCHED, "5", 1),
    BUCKET(UNMATCHED, "10", 1),
    BUCKET(UNMATCHED, "+Inf", 1),
    DUR "_sum{" UNMATCHED "} 0\n",
    DUR "_count{" UNMATCHED "} 1\n",
};

/* The concatenation of parts, in a static buffer. */
static const char *
joined(const char *const *parts, size_t n)
{
    static char all[16384];
    size_t used = 0;

    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(parts[i]);
        assert_true(used + len < sizeof(all));
        memcpy(all + used, parts[i], len);
        used += len;
    }
    all[used] = '\0';
    return all;
}

static void
test_render_exact_text(void **state)
{
    struct dt_metrics *m = *state;
    char *text;

    dt_metrics_observe(m, "GET", "/healthz", 200, 0.0002);
    dt_metrics_observe(m, "GET", "/healthz", 200, 0.001); /* on an edge: le="0.001" */
    dt_metrics_observe(m, "GET", "/healthz", 503, 12.0);  /* past the last bucket */
    dt_metrics_observe(m, "POST", "/api/jobs", 202, 0.3);
    dt_metrics_observe(m, "BREW", NULL, 404, -1.0);     /* odd method, no route, bad time */
    dt_metrics_observe(m, "GET", "/healthz", 99, 0.1);  /* not a status: ignored */
    dt_metrics_observe(m, "GET", "/healthz", 600, 0.1); /* idem */
    dt_metrics_observe(NULL, "GET", "/healthz", 200, 0.1);
    text = render(m, NULL);
    assert_string_equal(text,
                        joined(expected_http, sizeof(expected_http) / sizeof(expected_http[0])));
    free(text);
}

static void
test_empty_registry_renders_headers_only(void **state)
{
    char *text = render(*state, NULL);

    assert_string_equal(text,
                        "# HELP durata_http_requests_total HTTP requests answered, by method, "
                        "route pattern and status code.\n"
                        "# TYPE durata_http_requests_total counter\n"
                        "# HELP durata_http_request_duration_seconds Time from a request's "
                        "arrival to its answer, by method and route pattern.\n"
                        "# TYPE durata_http_request_duration_seconds histogram\n");
    free(text);
    text = render(NULL, NULL);
    assert_string_equal(text, "");
    free(text);
}

static void
test_label_values_are_escaped(void **state)
{
    struct dt_metrics *m = *state;
    char *text;

    dt_metrics_observe(m, "PUT", "/a\"b\\c\nd", 201, 0.0);
    text = render(m, NULL);
    assert_int_equal(sample(text, "durata_http_requests_total{method=\"PUT\","
                                  "route=\"/a\\\"b\\\\c\\nd\",code=\"201\"}"),
                     1);
    /* No raw newline inside a sample line: each line starts with a name. */
    for (const char *p = text; (p = strchr(p, '\n')) && p[1]; p++)
        assert_true(p[1] == '#' || strncmp(p + 1, "durata_", 7) == 0);
    free(text);
}

static void
test_methods_are_folded(void **state)
{
    struct dt_metrics *m = *state;
    char *text;

    dt_metrics_observe(m, "DELETE", "/x", 202, 0.0);
    dt_metrics_observe(m, "get", "/x", 200, 0.0); /* methods are case-sensitive tokens */
    dt_metrics_observe(m, NULL, "/x", 200, 0.0);
    dt_metrics_observe(m, "HEAD", "/x", 200, 0.0);
    text = render(m, NULL);
    assert_int_equal(sample(text, "durata_http_requests_total{method=\"DELETE\",route=\"/x\","
                                  "code=\"202\"}"),
                     1);
    assert_int_equal(sample(text, "durata_http_requests_total{method=\"other\",route=\"/x\","
                                  "code=\"200\"}"),
                     2);
    assert_int_equal(sample(text, "durata_http_requests_total{method=\"HEAD\",route=\"/x\","
                                  "code=\"200\"}"),
                     1);
    free(text);
}

static void
test_series_are_capped(void **state)
{
    struct dt_metrics *m = *state;
    char route[32], series[128];
    char *text;
    int extra = 10;

    for (int i = 0; i < DT_METRICS_MAX_SERIES + extra; i++) {
        snprintf(route, sizeof(route), "/r%d", i);
        dt_metrics_observe(m, "GET", route, 200, 0.0);
    }
    dt_metrics_observe(m, "GET", "/r0", 200, 0.0); /* an existing series still counts */
    text = render(m, NULL);
    assert_int_equal(sample(text, "durata_http_requests_total{method=\"GET\",route=\"/r0\","
                                  "code=\"200\"}"),
                     2);
    snprintf(series, sizeof(series),
             "durata_http_requests_total{method=\"GET\",route=\"/r%d\",code=\"200\"}",
             DT_METRICS_MAX_SERIES - 2);
    assert_int_equal(sample(text, series), 1);
    snprintf(series, sizeof(series), "route=\"/r%d\"", DT_METRICS_MAX_SERIES - 1);
    assert_null(strstr(text, series));
    /* The last slot is the overflow series: every route past the cap. */
    assert_int_equal(sample(text, "durata_http_requests_total{method=\"other\",route=\"overflow\","
                                  "code=\"200\"}"),
                     extra + 1);
    free(text);
}

/* ------------------------------------------------------------ threads */

#define N_THREADS 6
#define N_PER_THREAD 20000
#define N_ROUTES 5

struct worker {
    struct dt_metrics *m;
    int index;
};

static void *
observer(void *arg)
{
    struct worker *w = arg;
    char route[16];

    for (int i = 0; i < N_PER_THREAD; i++) {
        /* Each thread walks the routes from a different start, so several
         * threads race to create the same series. */
        snprintf(route, sizeof(route), "/c%d", (i + w->index) % N_ROUTES);
        dt_metrics_observe(w->m, i % 2 ? "GET" : "POST", route, 200 + (i % 3), 0.002);
    }
    return NULL;
}

struct scraper {
    struct dt_metrics *m;
    _Atomic int stop;
    int renders;
};

static void *
scraper_run(void *arg)
{
    struct scraper *s = arg;

    while (!atomic_load(&s->stop)) {
        char *text = NULL;
        size_t len;
        if (dt_metrics_render(s->m, NULL, &text, &len) != 0)
            return (void *)1;
        free(text);
        s->renders++;
    }
    return NULL;
}

static void
test_concurrent_observations_are_exact(void **state)
{
    struct dt_metrics *m = *state;
    struct worker w[N_THREADS];
    pthread_t th[N_THREADS], sth;
    struct scraper sc = {.m = m};
    unsigned long long total = 0, hist = 0;
    char series[160];
    void *sret;
    char *text;

    assert_int_equal(pthread_create(&sth, NULL, scraper_run, &sc), 0);
    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (struct worker){.m = m, .index = i};
        assert_int_equal(pthread_create(&th[i], NULL, observer, &w[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    atomic_store(&sc.stop, 1);
    assert_int_equal(pthread_join(sth, &sret), 0);
    assert_null(sret);
    text = render(m, NULL);
    for (int r = 0; r < N_ROUTES; r++) {
        for (int k = 0; k < 2; k++) {
            const char *method = k ? "GET" : "POST";
            for (int code = 200; code <= 202; code++) {
                snprintf(series, sizeof(series),
                         "durata_http_requests_total{method=\"%s\",route=\"/c%d\",code=\"%d\"}",
                         method, r, code);
                total += sample(text, series); /* sample() also fails on duplicates */
            }
            snprintf(series, sizeof(series),
                     "durata_http_request_duration_seconds_bucket{method=\"%s\",route=\"/c%d\","
                     "le=\"0.0025\"}",
                     method, r);
            hist += sample(text, series);
        }
    }
    assert_int_equal(total, (unsigned long long)N_THREADS * N_PER_THREAD);
    assert_int_equal(hist, (unsigned long long)N_THREADS * N_PER_THREAD);
    assert_true(sc.renders > 0);
    free(text);
}

/* ------------------------------------------------------------ hub */

struct hub_fixture {
    char dir[512];
    char path[600];
    struct durata_hub *hub;
    struct dt_metrics *m;
};

static enum durata_orch_result
done_orch(struct durata_orch *o, void *arg)
{
    (void)arg;
    durata_orch_complete(o, "\"ok\"");
    return DURATA_DONE;
}

/* Runs about 3 ms: above the 1 ms bucket whatever the machine. */
static void
nap_act(struct durata_activity *a, void *arg)
{
    struct timespec ts = {0, 3000000};

    (void)arg;
    nanosleep(&ts, NULL);
    durata_activity_complete(a, "null");
}

static enum durata_orch_result
nap_orch(struct durata_orch *o, void *arg)
{
    (void)arg;
    struct durata_task *t = durata_call_activity(o, "Nap", NULL, NULL);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    durata_orch_complete(o, "\"ok\"");
    return DURATA_DONE;
}

static int
setup_hub(void **state)
{
    struct hub_fixture *f = calloc(1, sizeof(*f));
    const char *base = getenv("DURATA_TEST_TMP");
    struct durata_hub_options o = {0};

    if (!f)
        return -1;
    if (!base || !*base)
        base = "/tmp";
    snprintf(f->dir, sizeof(f->dir), "%s/metrics-XXXXXX", base);
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
    o.store_path = f->path;
    if (durata_hub_open(&f->hub, &o) != 0 || dt_metrics_new(&f->m) != 0)
        return -1;
    if (durata_register_orchestrator(f->hub, "Done", done_orch, NULL) != 0 ||
        durata_register_orchestrator(f->hub, "NapOrch", nap_orch, NULL) != 0 ||
        durata_register_activity(f->hub, "Nap", nap_act, NULL) != 0)
        return -1;
    *state = f;
    return 0;
}

static int
teardown_hub(void **state)
{
    static const char *const sides[] = {"", "-wal", "-shm", "-journal"};
    struct hub_fixture *f = *state;
    char file[700];

    durata_hub_close(f->hub);
    dt_metrics_free(f->m);
    for (size_t i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
        snprintf(file, sizeof(file), "%s%s", f->path, sides[i]);
        unlink(file);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static void
start(struct durata_hub *hub, const char *id)
{
    struct durata_start_options so = {.name = "Done", .instance_id = id};
    char out[257];

    assert_int_equal(durata_start(hub, &so, out, sizeof(out)), 0);
}

static void
test_hub_families_read_the_store(void **state)
{
    struct hub_fixture *f = *state;
    char *text;

    start(f->hub, "a");
    start(f->hub, "b");
    assert_true(durata_hub_run_pending(f->hub, 0) > 0);
    start(f->hub, "c"); /* not run: Pending with its start message waiting */
    text = render(NULL, f->hub);
    assert_int_equal(sample(text, "durata_store_up"), 1);
    assert_int_equal(sample(text, "durata_instances{status=\"Completed\"}"), 2);
    assert_int_equal(sample(text, "durata_instances{status=\"Pending\"}"), 1);
    assert_int_equal(sample(text, "durata_instances{status=\"Running\"}"), 0);
    assert_int_equal(sample(text, "durata_instances{status=\"Terminated\"}"), 0);
    assert_int_equal(sample(text, "durata_inbox_messages"), 1);
    assert_int_equal(sample(text, "durata_activity_tasks"), 0);
    assert_true(sample(text, "durata_store_commits_total") >= 3);
    assert_true(sample(text, "durata_store_commit_units_total") >=
                sample(text, "durata_store_commits_total"));
    assert_true(sample(text, "durata_store_commit_batch_max") >= 1);
    assert_int_equal(sample(text, "durata_orchestration_steps_total"), 2);
    assert_int_equal(sample(text, "durata_activity_executions_total"), 0);
    assert_non_null(strstr(text, "# TYPE durata_instances gauge\n"));
    assert_non_null(strstr(text, "# TYPE durata_store_commits_total counter\n"));
    assert_null(strstr(text, "durata_http_")); /* no registry given */
    free(text);
}

static void
test_engine_histograms(void **state)
{
    struct hub_fixture *f = *state;
    struct durata_start_options so = {.name = "NapOrch", .instance_id = "n"};
    char out[257], *text;

    assert_int_equal(durata_start(f->hub, &so, out, sizeof(out)), 0);
    assert_true(durata_hub_run_pending(f->hub, 0) > 0);
    text = render(NULL, f->hub);
    assert_non_null(strstr(text, "# TYPE durata_activity_duration_seconds histogram\n"));
    assert_int_equal(sample(text, "durata_activity_duration_seconds_bucket{le=\"0.0001\"}"), 0);
    assert_int_equal(sample(text, "durata_activity_duration_seconds_bucket{le=\"0.001\"}"), 0);
    assert_int_equal(sample(text, "durata_activity_duration_seconds_bucket{le=\"10\"}"), 1);
    assert_int_equal(sample(text, "durata_activity_duration_seconds_bucket{le=\"+Inf\"}"), 1);
    assert_int_equal(sample(text, "durata_activity_duration_seconds_count"), 1);
    /* Every commit is in the batch histogram; its sum is the units. */
    unsigned long long commits = sample(text, "durata_store_commits_total");
    assert_int_equal(sample(text, "durata_store_commit_batch_units_count"), commits);
    assert_int_equal(sample(text, "durata_store_commit_batch_units_bucket{le=\"+Inf\"}"), commits);
    assert_int_equal(sample(text, "durata_store_commit_batch_units_sum"),
                     sample(text, "durata_store_commit_units_total"));
    assert_true(sample(text, "durata_store_commit_batch_units_bucket{le=\"1\"}") >= 1);
    free(text);
}

static void
test_counts_api_rejects_bad_arguments(void **state)
{
    struct hub_fixture *f = *state;
    int64_t by[8];

    assert_int_equal(durata_hub_counts(NULL, by, NULL, NULL), DURATA_EINVAL);
    assert_int_equal(durata_hub_counts(f->hub, NULL, NULL, NULL), DURATA_EINVAL);
    start(f->hub, "x");
    assert_int_equal(durata_hub_counts(f->hub, by, NULL, NULL), 0);
    assert_int_equal(by[DURATA_PENDING], 1);
}

static void
test_route_serves_the_text(void **state)
{
    struct hub_fixture *f = *state;
    static const struct dt_route *const tables[] = {dt_metrics_routes, NULL};
    struct dt_app app = {.hub = f->hub, .metrics = f->m};
    struct dt_http_req req = {.method = "GET", .path = "/metrics"};
    struct dt_http_resp resp = {0};
    struct ht_server s = {0};
    struct ht_reply reply;
    char ctype[128];

    assert_string_equal(dt_metrics_routes[0].method, "GET");
    assert_string_equal(dt_metrics_routes[0].pattern, "/metrics");
    assert_null(dt_metrics_routes[1].method);
    dt_metrics_observe(f->m, "GET", "/metrics", 200, 0.004);
    assert_int_equal(dt_metrics_routes[0].handler(&app, &req, &resp), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.content_type, DT_METRICS_CONTENT_TYPE);
    assert_int_equal(sample(resp.body, "durata_http_requests_total{method=\"GET\","
                                       "route=\"/metrics\",code=\"200\"}"),
                     1);
    assert_int_equal(sample(resp.body, "durata_store_up"), 1);
    dt_http_resp_release(&resp);

    /* Through a running server: the header reaches the client. */
    s.app = app;
    s.app.routes = tables;
    assert_int_equal(ht_server_start(&s), 0);
    char url[128];
    snprintf(url, sizeof(url), "%s/metrics", s.base);
    assert_int_equal(ht_request("GET", url, NULL, 0, NULL, false, &reply), 0);
    assert_int_equal(reply.status, 200);
    assert_true(ht_header(&reply, "Content-Type", ctype, sizeof(ctype)));
    assert_string_equal(ctype, DT_METRICS_CONTENT_TYPE);
    assert_non_null(strstr(reply.body, "# TYPE durata_http_request_duration_seconds histogram"));
    ht_reply_release(&reply);
    ht_server_stop(&s);
}

static void
test_bad_arguments(void **state)
{
    char *text = NULL;
    size_t len;

    (void)state;
    assert_int_equal(dt_metrics_new(NULL), DURATA_EINVAL);
    assert_int_equal(dt_metrics_render(NULL, NULL, NULL, &len), DURATA_EINVAL);
    assert_int_equal(dt_metrics_render(NULL, NULL, &text, NULL), DURATA_EINVAL);
    dt_metrics_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_render_exact_text, setup_registry, teardown_registry),
        cmocka_unit_test_setup_teardown(test_empty_registry_renders_headers_only, setup_registry,
                                        teardown_registry),
        cmocka_unit_test_setup_teardown(test_label_values_are_escaped, setup_registry,
                                        teardown_registry),
        cmocka_unit_test_setup_teardown(test_methods_are_folded, setup_registry, teardown_registry),
        cmocka_unit_test_setup_teardown(test_series_are_capped, setup_registry, teardown_registry),
        cmocka_unit_test_setup_teardown(test_concurrent_observations_are_exact, setup_registry,
                                        teardown_registry),
        cmocka_unit_test_setup_teardown(test_hub_families_read_the_store, setup_hub, teardown_hub),
        cmocka_unit_test_setup_teardown(test_engine_histograms, setup_hub, teardown_hub),
        cmocka_unit_test_setup_teardown(test_counts_api_rejects_bad_arguments, setup_hub,
                                        teardown_hub),
        cmocka_unit_test_setup_teardown(test_route_serves_the_text, setup_hub, teardown_hub),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
