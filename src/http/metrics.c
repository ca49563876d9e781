/*
 * metrics.c — the Prometheus registry of metrics.h and GET /metrics.
 *
 * Owns: the series table. Series live in one array allocated up front
 * (DT_METRICS_MAX_SERIES slots, never moved or freed before the
 * registry), so a reader holds no lock: it loads `count` (acquire) and
 * scans the slots below it, whose keys never change once published. A new
 * series is written under `add_mu` into slot `count` and then published by
 * a release store of count + 1. Counters are relaxed atomics: each is
 * exact on its own; a scrape racing with requests may see a histogram's
 * sum one observation ahead of its buckets, which Prometheus tolerates.
 * The histogram's _count is the sum of its buckets as read, so _count
 * always equals the +Inf bucket.
 * Latency is kept in integer nanoseconds so bucket edges compare exactly
 * (0.001 s lands in le="0.001") and the sum prints as an exact decimal.
 * Threading: see metrics.h.
 */
#include "http/metrics.h"

#include "base/buf.h"
#include "base/log.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_MIN 100
#define STATUS_MAX 599
#define N_STATUS (STATUS_MAX - STATUS_MIN + 1)
#define NS_PER_S 1000000000ULL

/* Upper bounds of the finite buckets, in nanoseconds and as labels. */
static const uint64_t bucket_ns[DT_METRICS_BUCKETS] = {
    500000ULL,   1000000ULL,    2500000ULL,    5000000ULL,     10000000ULL,
    25000000ULL, 50000000ULL,   100000000ULL,  250000000ULL,   500000000ULL,
    NS_PER_S,    2500000000ULL, 5000000000ULL, 10000000000ULL,
};
static const char *const bucket_le[DT_METRICS_BUCKETS] = {
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
    "0.1",    "0.25",  "0.5",    "1",     "2.5",  "5",     "10",
};

static const char *const known_methods[] = {"GET",    "HEAD",  "POST",   "PUT",
                                            "DELETE", "PATCH", "OPTIONS"};

struct series {
    char *method; /* immutable once published */
    char *route;
    uint32_t hash;
    atomic_uint_fast64_t by_status[N_STATUS];
    atomic_uint_fast64_t buckets[DT_METRICS_BUCKETS + 1]; /* last: +Inf only */
    atomic_uint_fast64_t sum_ns;
};

struct dt_metrics {
    struct series *slots;   /* DT_METRICS_MAX_SERIES entries */
    _Atomic size_t count;   /* published slots; written under add_mu */
    pthread_mutex_t add_mu; /* serializes adding a series */
};

/* ------------------------------------------------------------ registry */

int
dt_metrics_new(struct dt_metrics **out)
{
    struct dt_metrics *m;

    if (!out)
        return DURATA_EINVAL;
    *out = NULL;
    m = calloc(1, sizeof(*m));
    if (!m)
        return DURATA_ENOMEM;
    m->slots = calloc(DT_METRICS_MAX_SERIES, sizeof(*m->slots));
    if (!m->slots)
        goto out_free_m;
    if (pthread_mutex_init(&m->add_mu, NULL) != 0)
        goto out_free_slots;
    atomic_init(&m->count, 0);
    *out = m;
    return 0;
out_free_slots:
    free(m->slots);
out_free_m:
    free(m);
    return DURATA_ENOMEM;
}

void
dt_metrics_free(struct dt_metrics *m)
{
    size_t n;

    if (!m)
        return;
    n = atomic_load(&m->count);
    for (size_t i = 0; i < n; i++) {
        free(m->slots[i].method);
        free(m->slots[i].route);
    }
    pthread_mutex_destroy(&m->add_mu);
    free(m->slots);
    free(m);
}

/* The method label: one of the standard methods, else "other". */
static const char *
method_label(const char *method)
{
    for (size_t i = 0; method && i < sizeof(known_methods) / sizeof(known_methods[0]); i++)
        if (strcmp(method, known_methods[i]) == 0)
            return known_methods[i];
    return "other";
}

/* FNV-1a over method, a separator and route. */
static uint32_t
key_hash(const char *method, const char *route)
{
    uint32_t h = 2166136261u;

    for (const char *p = method; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    h = (h ^ 0xffu) * 16777619u;
    for (const char *p = route; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

static struct series *
find_in(struct dt_metrics *m, size_t n, const char *method, const char *route, uint32_t h)
{
    for (size_t i = 0; i < n; i++) {
        struct series *s = &m->slots[i];
        if (s->hash == h && strcmp(s->route, route) == 0 && strcmp(s->method, method) == 0)
            return s;
    }
    return NULL;
}

/* Adds the series under add_mu (another thread may have added it since
 * the lock-free look-up). NULL when out of memory. When the table is
 * full, the overflow series is used; it is created while one slot is
 * still free, so the last slot always holds it. */
static struct series *
add_series(struct dt_metrics *m, const char *method, const char *route, uint32_t h)
{
    struct series *s;
    size_t n;

    pthread_mutex_lock(&m->add_mu);
    n = atomic_load_explicit(&m->count, memory_order_relaxed);
    if ((s = find_in(m, n, method, route, h)))
        goto out_unlock;
    if (n >= DT_METRICS_MAX_SERIES - 1) {
        method = "other";
        route = "overflow";
        h = key_hash(method, route);
        if ((s = find_in(m, n, method, route, h)))
            goto out_unlock; /* the table is full and ends with it */
    }
    s = &m->slots[n];
    s->method = strdup(method);
    s->route = strdup(route);
    if (!s->method || !s->route) {
        free(s->method);
        free(s->route);
        s->method = s->route = NULL;
        s = NULL;
        goto out_unlock;
    }
    s->hash = h;
    atomic_store_explicit(&m->count, n + 1, memory_order_release);
out_unlock:
    pthread_mutex_unlock(&m->add_mu);
    return s;
}

/* Seconds to nanoseconds, clamped to [0, 10^6 s]. */
static uint64_t
to_ns(double seconds)
{
    if (!(seconds > 0)) /* also NaN */
        return 0;
    if (seconds > 1e6)
        seconds = 1e6;
    return (uint64_t)llround(seconds * 1e9);
}

void
dt_metrics_observe(struct dt_metrics *m, const char *method, const char *route, int status,
                   double seconds)
{
    struct series *s;
    uint64_t ns;
    uint32_t h;
    size_t b;

    if (!m || status < STATUS_MIN || status > STATUS_MAX)
        return;
    method = method_label(method);
    if (!route)
        route = "unmatched";
    h = key_hash(method, route);
    s = find_in(m, atomic_load_explicit(&m->count, memory_order_acquire), method, route, h);
    if (!s && !(s = add_series(m, method, route, h))) {
        dt_log(DT_LOG_WARN, "metrics: out of memory, request not counted", NULL);
        return;
    }
    ns = to_ns(seconds);
    for (b = 0; b < DT_METRICS_BUCKETS && ns > bucket_ns[b]; b++)
        ;
    atomic_fetch_add_explicit(&s->by_status[status - STATUS_MIN], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_ns, ns, memory_order_relaxed);
}

/* ------------------------------------------------------------ rendering */

/* Appends s as a label value: backslash, double quote and newline
 * escaped as the exposition format requires. */
static int
append_label_value(struct dt_buf *b, const char *s)
{
    int rc = 0;

    for (const char *p = s; *p && rc == 0; p++) {
        if (*p == '\\')
            rc = dt_buf_append(b, "\\\\", 2);
        else if (*p == '"')
            rc = dt_buf_append(b, "\\\"", 2);
        else if (*p == '\n')
            rc = dt_buf_append(b, "\\n", 2);
        else
            rc = dt_buf_append(b, p, 1);
    }
    return rc;
}

/* Appends `name{method="…",route="…"` (no closing brace: the caller may
 * add labels). */
static int
append_series_head(struct dt_buf *b, const char *name, const struct series *s)
{
    int rc = dt_buf_appendf(b, "%s{method=\"", name);

    if (rc == 0)
        rc = append_label_value(b, s->method);
    if (rc == 0)
        rc = dt_buf_appends(b, "\",route=\"");
    if (rc == 0)
        rc = append_label_value(b, s->route);
    return rc == 0 ? dt_buf_appends(b, "\"") : rc;
}

static int
append_family(struct dt_buf *b, const char *name, const char *type, const char *help)
{
    return dt_buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int
cmp_series(const void *pa, const void *pb)
{
    const struct series *a = *(const struct series *const *)pa;
    const struct series *b = *(const struct series *const *)pb;
    int c = strcmp(a->route, b->route);

    return c ? c : strcmp(a->method, b->method);
}

static int
render_requests(struct dt_buf *b, struct series *const *list, size_t n)
{
    int rc = append_family(b, "durata_http_requests_total", "counter",
                           "HTTP requests answered, by method, route pattern and status code.");

    for (size_t i = 0; i < n && rc == 0; i++) {
        for (int k = 0; k < N_STATUS && rc == 0; k++) {
            uint64_t v = atomic_load_explicit(&list[i]->by_status[k], memory_order_relaxed);
            if (v == 0)
                continue;
            rc = append_series_head(b, "durata_http_requests_total", list[i]);
            if (rc == 0)
                rc = dt_buf_appendf(b, ",code=\"%d\"} %llu\n", k + STATUS_MIN,
                                    (unsigned long long)v);
        }
    }
    return rc;
}

/* Appends nanoseconds as seconds in exact decimal: 252000000 -> "0.252". */
static int
append_seconds(struct dt_buf *b, uint64_t ns)
{
    char frac[16];
    size_t len;

    if (ns % NS_PER_S == 0)
        return dt_buf_appendf(b, "%llu", (unsigned long long)(ns / NS_PER_S));
    snprintf(frac, sizeof(frac), "%09llu", (unsigned long long)(ns % NS_PER_S));
    for (len = strlen(frac); len > 0 && frac[len - 1] == '0'; len--)
        frac[len - 1] = '\0';
    return dt_buf_appendf(b, "%llu.%s", (unsigned long long)(ns / NS_PER_S), frac);
}

static int
render_one_histogram(struct dt_buf *b, const struct series *s)
{
    uint64_t cumulative = 0;
    int rc = 0;

    for (int k = 0; k <= DT_METRICS_BUCKETS && rc == 0; k++) {
        cumulative += atomic_load_explicit(&s->buckets[k], memory_order_relaxed);
        rc = append_series_head(b, "durata_http_request_duration_seconds_bucket", s);
        if (rc == 0)
            rc = dt_buf_appendf(b, ",le=\"%s\"} %llu\n",
                                k < DT_METRICS_BUCKETS ? bucket_le[k] : "+Inf",
                                (unsigned long long)cumulative);
    }
    if (rc == 0)
        rc = append_series_head(b, "durata_http_request_duration_seconds_sum", s);
    if (rc == 0)
        rc = dt_buf_appends(b, "} ");
    if (rc == 0)
        rc = append_seconds(b, atomic_load_explicit(&s->sum_ns, memory_order_relaxed));
    if (rc == 0)
        rc = dt_buf_appends(b, "\n");
    if (rc == 0)
        rc = append_series_head(b, "durata_http_request_duration_seconds_count", s);
    return rc == 0 ? dt_buf_appendf(b, "} %llu\n", (unsigned long long)cumulative) : rc;
}

static int
render_http(struct dt_buf *b, struct dt_metrics *m)
{
    size_t n = atomic_load_explicit(&m->count, memory_order_acquire);
    struct series **list;
    int rc;

    list = malloc((n ? n : 1) * sizeof(*list));
    if (!list)
        return DURATA_ENOMEM;
    for (size_t i = 0; i < n; i++)
        list[i] = &m->slots[i];
    qsort(list, n, sizeof(*list), cmp_series);
    rc = render_requests(b, list, n);
    if (rc == 0)
        rc = append_family(b, "durata_http_request_duration_seconds", "histogram",
                           "Time from a request's arrival to its answer, by method and route "
                           "pattern.");
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = render_one_histogram(b, list[i]);
    free(list);
    return rc;
}

/* One family with a single unlabelled sample. */
static int
render_scalar(struct dt_buf *b, const char *name, const char *type, const char *help,
              unsigned long long v)
{
    int rc = append_family(b, name, type, help);

    return rc == 0 ? dt_buf_appendf(b, "%s %llu\n", name, v) : rc;
}

static int
render_counts(struct dt_buf *b, struct durata_hub *hub)
{
    int64_t by_status[8] = {0}, inbox = 0, tasks = 0;
    int rc, crc = durata_hub_counts(hub, by_status, &inbox, &tasks);

    if (crc < 0)
        dt_log(DT_LOG_WARN, "metrics: store counts failed", "error", durata_strerror(crc), NULL);
    rc = render_scalar(b, "durata_store_up", "gauge",
                       "1 when this scrape could read the store's counts, else 0.", crc == 0);
    if (rc < 0 || crc < 0)
        return rc;
    rc = append_family(b, "durata_instances", "gauge",
                       "Orchestration instances in the store, by runtime status.");
    for (int s = 0; s < 8 && rc == 0; s++)
        rc = dt_buf_appendf(b, "durata_instances{status=\"%s\"} %lld\n",
                            durata_status_name((enum durata_status)s), (long long)by_status[s]);
    if (rc == 0)
        rc = render_scalar(b, "durata_inbox_messages", "gauge",
                           "Messages waiting in instance inboxes, durable timers not yet due "
                           "included.",
                           (unsigned long long)inbox);
    if (rc == 0)
        rc = render_scalar(b, "durata_activity_tasks", "gauge",
                           "Activity tasks queued or leased to a worker.",
                           (unsigned long long)tasks);
    return rc;
}

/* A histogram of the engine's (durata_hub_stats: per-bucket counts, the
 * last unbounded) with bounds scaled by 1/divisor for their labels. */
static int
render_engine_histogram(struct dt_buf *b, const char *name, const char *help,
                        const uint64_t *bounds, double divisor, const uint64_t *counts, double sum)
{
    uint64_t cumulative = 0;
    int rc = append_family(b, name, "histogram", help);

    for (int k = 0; k < DURATA_STATS_BUCKETS && rc == 0; k++) {
        cumulative += counts[k];
        if (k < DURATA_STATS_BUCKETS - 1)
            rc = dt_buf_appendf(b, "%s_bucket{le=\"%g\"} %llu\n", name, (double)bounds[k] / divisor,
                                (unsigned long long)cumulative);
        else
            rc = dt_buf_appendf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
                                (unsigned long long)cumulative);
    }
    if (rc == 0)
        rc = dt_buf_appendf(b, "%s_sum %.17g\n%s_count %llu\n", name, sum, name,
                            (unsigned long long)cumulative);
    return rc;
}

static int
render_hub_histograms(struct dt_buf *b, const struct durata_hub_stats *st)
{
    static const uint64_t batch_bounds[] = {DURATA_BATCH_BOUNDS};
    static const uint64_t act_bounds[] = {DURATA_ACTIVITY_US_BOUNDS};
    int rc = render_engine_histogram(
        b, "durata_store_commit_batch_units",
        "Write units per store commit (group commit batch size) since the hub opened.",
        batch_bounds, 1, st->batch_units, (double)st->units);
    if (rc == 0)
        rc = render_engine_histogram(
            b, "durata_activity_duration_seconds",
            "Run time of activity functions (job handlers) since the hub opened.", act_bounds, 1e6,
            st->activity_us, (double)st->activity_us_sum / 1e6);
    return rc;
}

/* The hub's counters, one family each. */
static const struct {
    const char *name;
    const char *type;
    const char *help;
    size_t offset; /* of a uint64_t in struct durata_hub_stats */
} hub_scalars[] = {
    {"durata_store_commits_total", "counter",
     "Store transactions (group commits) since the hub opened.",
     offsetof(struct durata_hub_stats, commits)},
    {"durata_store_commit_units_total", "counter",
     "Write units committed since the hub opened (units per commit is the batch size).",
     offsetof(struct durata_hub_stats, units)},
    {"durata_store_commit_batch_max", "gauge",
     "Most write units in one commit since the hub opened.",
     offsetof(struct durata_hub_stats, largest_batch)},
    {"durata_orchestration_steps_total", "counter", "Orchestration steps run since the hub opened.",
     offsetof(struct durata_hub_stats, steps)},
    {"durata_activity_executions_total", "counter", "Activity executions since the hub opened.",
     offsetof(struct durata_hub_stats, activities)},
    {"durata_direct_starts_total", "counter",
     "Starts written together with the instance's first step.",
     offsetof(struct durata_hub_stats, direct_starts)},
    {"durata_direct_results_total", "counter",
     "Activity results written together with the step they woke (no inbox round trip).",
     offsetof(struct durata_hub_stats, direct_results)},
};

static int
render_hub(struct dt_buf *b, struct durata_hub *hub)
{
    struct durata_hub_stats st = {0};
    int rc = render_counts(b, hub);

    durata_hub_get_stats(hub, &st);
    for (size_t i = 0; i < sizeof(hub_scalars) / sizeof(hub_scalars[0]) && rc == 0; i++) {
        uint64_t v;
        memcpy(&v, (const char *)&st + hub_scalars[i].offset, sizeof(v));
        rc = render_scalar(b, hub_scalars[i].name, hub_scalars[i].type, hub_scalars[i].help,
                           (unsigned long long)v);
    }
    if (rc == 0)
        rc = render_hub_histograms(b, &st);
    return rc;
}

int
dt_metrics_render(struct dt_metrics *m, struct durata_hub *hub, char **out, size_t *len)
{
    struct dt_buf b;
    int rc = 0;

    if (!out || !len)
        return DURATA_EINVAL;
    dt_buf_init(&b, 0);
    if (m)
        rc = render_http(&b, m);
    if (rc == 0 && hub)
        rc = render_hub(&b, hub);
    if (rc < 0)
        goto out_release;
    *len = b.len;
    if (!(*out = dt_buf_detach(&b)))
        rc = DURATA_ENOMEM;
out_release:
    dt_buf_release(&b);
    return rc;
}

/* ------------------------------------------------------------ route */

static int
metrics_get(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    char *text = NULL;
    size_t len = 0;
    int rc;

    (void)req;
    if ((rc = dt_metrics_render(app->metrics, app->hub, &text, &len)) < 0)
        return dt_http_error_from(resp, rc, "could not render the metrics");
    rc = dt_http_text(resp, 200, DT_METRICS_CONTENT_TYPE, text, len);
    free(text);
    return rc;
}

const struct dt_route dt_metrics_routes[] = {
    {"GET", "/metrics", metrics_get,
     "Prometheus metrics (text format 0.0.4): requests, latencies, instances, queues, commits",
     false},
    {NULL, NULL, NULL, NULL, false},
};
