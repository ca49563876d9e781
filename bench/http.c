/*
 * http.c — bench_http: the `durata serve` HTTP server under load, measured
 * from outside as a client sees it, with full durability (every 202 is on
 * disk before it is sent).
 *
 * It starts the real binary (--bin, else $DURATA_BIN, else the one built
 * with this benchmark) on 127.0.0.1 port 0 with a fresh SQLite store in a
 * temporary directory, drives it over keep-alive connections with its own
 * epoll client (http_load.c: one thread, so the server keeps the other
 * core), then stops it with SIGTERM by PID and removes the directory
 * (http_proc.c).
 *
 * Phases, in this order (2 to 5 on one server and store):
 *  1. accept: N POST /api/jobs from C connections (default 50) on a server
 *     of its own with a fresh store; jobs accepted/s and the send-to-202
 *     latency p50/p99. What is measured is ingestion: each 202 means the
 *     job is on disk with its first step taken (instance, history and the
 *     handler's task, as for every job), but the jobs are "sleep" jobs of
 *     an hour, so the server's few handler threads take the first ones and
 *     the rest wait as a backlog, and running jobs does not compete with
 *     accepting them (phase 2 gives the rate of accepting while running).
 *     The phase checks that the backlog is there, then stops that server.
 *  2. end to end: N echo jobs the same way; jobs/s from the first
 *     submission to the moment a poll of GET /api/jobs?status=pending,
 *     running&limit=1 (every POLL_US, started once all are accepted) finds
 *     none left. "echo" is the in-process no-op handler (it returns its
 *     payload). Failed or cancelled jobs make the run fail.
 *  2b. the same with a command job type: the server is started with
 *     --job-type bench-cat=cat, so each job runs `cat` (the job's JSON on
 *     stdin comes back as its result); M jobs (default N / 10).
 *  3. status: G GET /api/jobs/{id} of one completed job from C connections;
 *     req/s and latency.
 *  4. submit-to-start at low load, one job at a time on one connection: a
 *     "sleep" job with {"ms":0} is submitted, then GET /api/jobs/{id} is
 *     sent back to back until the job shows "running" or "completed". The
 *     figure is from just before the POST is written to the end of the
 *     first answer showing it started: the durable start, the step that
 *     marks the job running and schedules its handler (a second durable
 *     commit), and up to one poll round trip of lateness. The next sample
 *     waits until the job has completed.
 *  5. the server's peak RSS (VmHWM of /proc/PID/status) before it stops.
 * CPU time of the server and of this client per phase is printed too
 * (--cpu: per server thread name), to tell a CPU-bound run from a
 * latency-bound one.
 *
 * Output: progress on stderr; the figures and one JSON line on stdout.
 * Threading: one thread.
 */
#include "http_load.h"
#include "http_proc.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef BENCH_DURATA_BIN
#define BENCH_DURATA_BIN "durata"
#endif

#define DRAIN_TIMEOUT_US (600 * 1000000LL)
#define POLL_US 2000
#define REQ_MAX 2048
/* The command job type the server is started with (--job-type). */
#define CMD_TYPE "bench-cat"
#define CMD_TYPE_ARG CMD_TYPE "=cat"

struct bench_opts {
    size_t n;           /* jobs per job phase */
    size_t cmd_n;       /* jobs of the command phase */
    size_t gets;        /* status requests */
    size_t connections; /* for phases 1-3 */
    int samples;        /* latency samples */
    const char *bin;
    const char *dir;
    const char *server_args[HP_MAX_SERVER_ARGS];
    size_t n_server_args;
    bool keep;
    bool cpu;
    unsigned phases; /* PH_* bits */
};

enum {
    PH_ACCEPT = 1u << 0,
    PH_E2E = 1u << 1,
    PH_STATUS = 1u << 2,
    PH_LATENCY = 1u << 3,
    PH_COMMAND = 1u << 4,
    PH_ALL = 0x1fu,
};

struct results {
    double accept_rate, accept_p50_us, accept_p99_us, accept_max_us;
    double e2e_rate, e2e_s, e2e_accept_rate;
    double cmd_rate, cmd_s;
    double get_rate, get_p50_us, get_p99_us;
    double start_p50_us, start_p99_us, start_max_us, post_p50_us, post_p99_us;
    int samples;
    long hwm_kb, rss_kb;
    int server_status;
};

static void
sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* The q-quantile (0..1) of v[0..n), sorting v. */
static double
quantile(int64_t *v, size_t n, double q)
{
    size_t i;

    if (!n)
        return 0;
    qsort(v, n, sizeof(*v), cmp_i64);
    i = (size_t)(q * (double)(n - 1) + 0.5);
    return (double)v[i < n ? i : n - 1];
}

/* ------------------------------------------------------------ requests */

static size_t
make_get(char *out, size_t size, const struct hp_server *s, const char *target)
{
    int n = snprintf(out, size, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, s->host);

    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

static size_t
make_post(char *out, size_t size, const struct hp_server *s, const char *body)
{
    int n = snprintf(out, size,
                     "POST /api/jobs HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     s->host, strlen(body), body);

    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/* GETs target and parses the JSON answer (200 expected). */
static json_t *
get_json(struct hl_conn *c, const struct hp_server *s, const char *target)
{
    char req[REQ_MAX];
    size_t len = make_get(req, sizeof(req), s, target), blen;
    const char *body;
    int status;

    if (!len || hl_conn_request(c, req, len, &status, &body, &blen) < 0)
        return NULL;
    if (status != 200) {
        fprintf(stderr, "bench_http: GET %s answered %d: %.200s\n", target, status, body);
        return NULL;
    }
    return json_loadb(body, blen, 0, NULL);
}

/* 1 when no job is pending or running (or failed/cancelled: -1), 0 when
 * some are. */
static int
jobs_idle(struct hl_conn *c, const struct hp_server *s, const char *statuses)
{
    char target[128];
    json_t *v;
    int rc;

    snprintf(target, sizeof(target), "/api/jobs?status=%s&limit=1", statuses);
    v = get_json(c, s, target);
    if (!json_is_array(json_object_get(v, "jobs"))) {
        json_decref(v);
        return -1;
    }
    rc = json_array_size(json_object_get(v, "jobs")) == 0;
    json_decref(v);
    return rc;
}

/* Polls until no job is pending or running; the time it saw that. */
static int
wait_all_done(const struct hp_server *s, int64_t *done_us)
{
    int64_t deadline = hl_mono_us() + DRAIN_TIMEOUT_US;
    struct hl_conn c;
    int idle = 0;

    if (hl_conn_open(&c, &s->addr) < 0)
        return -1;
    while ((idle = jobs_idle(&c, s, "pending,running")) == 0 && hl_mono_us() < deadline)
        sleep_us(POLL_US);
    *done_us = hl_mono_us();
    if (idle == 1 && jobs_idle(&c, s, "failed,cancelled") != 1) {
        fprintf(stderr, "bench_http: some jobs failed or were cancelled\n");
        idle = -1;
    }
    hl_conn_close(&c);
    if (idle == 0)
        fprintf(stderr, "bench_http: jobs still pending or running after 600 s\n");
    return idle == 1 ? 0 : -1;
}

/* ------------------------------------------------------------ phases */

/* Submits n jobs of `body` from o->connections connections; 202 expected. */
static int
submit_jobs(const struct bench_opts *o, const struct hp_server *s, const char *body, size_t n,
            int64_t *lat, struct hl_run *r)
{
    char req[REQ_MAX];

    *r = (struct hl_run){.addr = s->addr,
                         .connections = o->connections,
                         .total = n,
                         .request = req,
                         .expect_status = 202,
                         .lat_us = lat};
    r->request_len = make_post(req, sizeof(req), s, body);
    if (hl_run(r) < 0)
        return -1;
    if (r->bad) {
        fprintf(stderr, "bench_http: %zu submissions were answered %d, not 202\n", r->bad,
                r->first_bad_status);
        return -1;
    }
    return 0;
}

/* Submits n jobs of `type` (payload {"n":1}) and waits until all have
 * completed. */
static int
run_jobs(const struct bench_opts *o, const struct hp_server *s, const char *type, size_t n,
         struct hl_run *r, double *all_done_s)
{
    char body[256];
    int64_t done_us;

    snprintf(body, sizeof(body), "{\"job_type\":\"%s\",\"payload\":{\"n\":1}}", type);
    if (submit_jobs(o, s, body, n, NULL, r) < 0 || wait_all_done(s, &done_us) < 0)
        return -1;
    *all_done_s = (double)(done_us - r->start_us) / 1e6;
    return 0;
}

/* Whether jobs wait in the backlog and none failed: 0 or -1. */
static int
check_backlog(const struct hp_server *s)
{
    struct hl_conn c;
    int rc = -1;

    if (hl_conn_open(&c, &s->addr) < 0)
        return -1;
    if (jobs_idle(&c, s, "pending,running") != 0)
        fprintf(stderr, "bench_http: no accepted job is left pending\n");
    else if (jobs_idle(&c, s, "failed,cancelled,completed") != 1)
        fprintf(stderr, "bench_http: accepted jobs ended before their handlers could run\n");
    else
        rc = 0;
    hl_conn_close(&c);
    return rc;
}

static int
phase_accept(const struct bench_opts *o, const struct hp_server *s, struct results *res)
{
    int64_t *lat = calloc(o->n, sizeof(*lat));
    struct hp_cpu a, b;
    struct hl_run r;
    int rc = -1;

    if (!lat)
        return -1;
    fprintf(stderr, "bench_http: 1. accept: %zu sleep jobs of an hour from %zu connections...\n",
            o->n, o->connections);
    hp_cpu_snapshot(s->pid, &a);
    if (submit_jobs(o, s, "{\"job_type\":\"sleep\",\"payload\":{\"ms\":3600000}}", o->n, lat, &r) ==
            0 &&
        check_backlog(s) == 0) {
        hp_cpu_snapshot(s->pid, &b);
        res->accept_rate = (double)o->n / r.seconds;
        res->accept_p50_us = quantile(lat, o->n, 0.50);
        res->accept_p99_us = quantile(lat, o->n, 0.99);
        res->accept_max_us = quantile(lat, o->n, 1.0);
        fprintf(stderr, "bench_http: accepted in %.2f s\n", r.seconds);
        hp_cpu_report("accept", &a, &b, r.seconds, o->n, o->cpu);
        rc = 0;
    }
    free(lat);
    return rc;
}

static int
phase_e2e(const struct bench_opts *o, const struct hp_server *s, struct results *res)
{
    struct hp_cpu a, b;
    struct hl_run r;

    fprintf(stderr, "bench_http: 2. end to end: %zu echo jobs from %zu connections...\n", o->n,
            o->connections);
    hp_cpu_snapshot(s->pid, &a);
    if (run_jobs(o, s, "echo", o->n, &r, &res->e2e_s) < 0)
        return -1;
    hp_cpu_snapshot(s->pid, &b);
    res->e2e_rate = (double)o->n / res->e2e_s;
    res->e2e_accept_rate = (double)o->n / r.seconds;
    fprintf(stderr, "bench_http: accepted in %.2f s (%.0f/s), all completed after %.2f s\n",
            r.seconds, res->e2e_accept_rate, res->e2e_s);
    hp_cpu_report("end to end", &a, &b, res->e2e_s, o->n, o->cpu);
    return 0;
}

/* The same with a command job type: the server runs `cat` for each job
 * (the job's JSON on stdin comes back as its result), one process each. */
static int
phase_command(const struct bench_opts *o, const struct hp_server *s, struct results *res)
{
    struct hp_cpu a, b;
    struct hl_run r;

    fprintf(stderr,
            "bench_http: 2b. end to end, command handler: %zu jobs of type " CMD_TYPE
            " (runs `cat`) from %zu connections...\n",
            o->cmd_n, o->connections);
    hp_cpu_snapshot(s->pid, &a);
    if (run_jobs(o, s, CMD_TYPE, o->cmd_n, &r, &res->cmd_s) < 0)
        return -1;
    hp_cpu_snapshot(s->pid, &b);
    res->cmd_rate = (double)o->cmd_n / res->cmd_s;
    fprintf(stderr, "bench_http: accepted in %.2f s, all completed after %.2f s\n", r.seconds,
            res->cmd_s);
    hp_cpu_report("command", &a, &b, res->cmd_s, o->cmd_n, o->cpu);
    return 0;
}

/* The id of one completed job, into id; when there is none yet (phase 2
 * skipped), one echo job is run first. */
static int
completed_job(const struct hp_server *s, char *id, size_t size)
{
    static const char body[] = "{\"job_type\":\"echo\",\"payload\":{\"n\":1}}";
    char req[REQ_MAX];
    struct hl_conn c;
    json_t *v = NULL;
    const char *jid = NULL, *rbody;
    size_t len = make_post(req, sizeof(req), s, body), blen;
    int64_t done_us;
    int status;

    for (int round = 0; round < 2 && !jid; round++) {
        if (hl_conn_open(&c, &s->addr) == 0)
            v = get_json(&c, s, "/api/jobs?status=completed&limit=1");
        jid = json_string_value(
            json_object_get(json_array_get(json_object_get(v, "jobs"), 0), "job_id"));
        if (jid)
            snprintf(id, size, "%s", jid);
        else if (round == 0 && hl_conn_request(&c, req, len, &status, &rbody, &blen) == 0 &&
                 status == 202)
            (void)wait_all_done(s, &done_us);
        hl_conn_close(&c);
        json_decref(v);
        v = NULL;
    }
    return jid ? 0 : -1;
}

static int
phase_get(const struct bench_opts *o, const struct hp_server *s, struct results *res)
{
    char id[300], target[400], req[REQ_MAX];
    int64_t *lat = calloc(o->gets, sizeof(*lat));
    struct hp_cpu a, b;
    struct hl_run r = {.addr = s->addr,
                       .connections = o->connections,
                       .total = o->gets,
                       .request = req,
                       .expect_status = 200,
                       .lat_us = lat};
    int rc = -1;

    if (!lat || completed_job(s, id, sizeof(id)) < 0)
        goto out_free;
    snprintf(target, sizeof(target), "/api/jobs/%s", id);
    r.request_len = make_get(req, sizeof(req), s, target);
    fprintf(stderr, "bench_http: 3. status: %zu GET %s from %zu connections...\n", o->gets, target,
            o->connections);
    hp_cpu_snapshot(s->pid, &a);
    if (hl_run(&r) < 0 || r.bad) {
        fprintf(stderr, "bench_http: %zu status requests failed (%d)\n", r.bad, r.first_bad_status);
        goto out_free;
    }
    hp_cpu_snapshot(s->pid, &b);
    res->get_rate = (double)o->gets / r.seconds;
    res->get_p50_us = quantile(lat, o->gets, 0.50);
    res->get_p99_us = quantile(lat, o->gets, 0.99);
    hp_cpu_report("status", &a, &b, r.seconds, o->gets, o->cpu);
    rc = 0;
out_free:
    free(lat);
    return rc;
}

/* Status of job `target` ("/api/jobs/ID"), malloc'd, or NULL. */
static char *
job_status(struct hl_conn *c, const struct hp_server *s, const char *target)
{
    json_t *v = get_json(c, s, target);
    const char *st = json_string_value(json_object_get(v, "status"));
    char *out = st ? strdup(st) : NULL;

    json_decref(v);
    return out;
}

/* Submits a sleep job; its status path into target. */
static int
submit_sleep(struct hl_conn *c, const struct hp_server *s, char *target, size_t size)
{
    char req[REQ_MAX];
    size_t len = make_post(req, sizeof(req), s, "{\"job_type\":\"sleep\",\"payload\":{\"ms\":0}}");
    const char *body, *id;
    size_t blen;
    json_t *v;
    int status;

    if (hl_conn_request(c, req, len, &status, &body, &blen) < 0 || status != 202)
        return -1;
    v = json_loadb(body, blen, 0, NULL);
    id = json_string_value(json_object_get(v, "job_id"));
    if (id)
        snprintf(target, size, "/api/jobs/%s", id);
    json_decref(v);
    return id ? 0 : -1;
}

/* One sample: submit-to-started in *start_us, the POST alone in *post_us. */
static int
latency_sample(struct hl_conn *c, const struct hp_server *s, int64_t *start_us, int64_t *post_us)
{
    char target[400], *st = NULL;
    int64_t t0 = hl_mono_us();
    bool started = false;

    if (submit_sleep(c, s, target, sizeof(target)) < 0)
        return -1;
    *post_us = hl_mono_us() - t0;
    while ((st = job_status(c, s, target))) {
        if (!started && (strcmp(st, "running") == 0 || strcmp(st, "completed") == 0)) {
            *start_us = hl_mono_us() - t0;
            started = true;
        }
        if (strcmp(st, "completed") == 0 || strcmp(st, "failed") == 0)
            break;
        free(st);
        if (started)
            sleep_us(200); /* waiting for the end is not measured */
    }
    if (!st || strcmp(st, "completed") != 0) {
        fprintf(stderr, "bench_http: a sleep job did not complete (%s)\n", st ? st : "?");
        free(st);
        return -1;
    }
    free(st);
    return 0;
}

static int
phase_latency(const struct bench_opts *o, const struct hp_server *s, struct results *res)
{
    int64_t *start = calloc((size_t)o->samples, sizeof(*start));
    int64_t *post = calloc((size_t)o->samples, sizeof(*post));
    struct hl_conn c = {.fd = -1};
    int rc = -1, i;

    fprintf(stderr, "bench_http: 4. submit-to-start: %d sleep jobs (ms 0), one at a time...\n",
            o->samples);
    if (!start || !post || hl_conn_open(&c, &s->addr) < 0)
        goto out_free;
    for (i = 0; i < o->samples; i++)
        if (latency_sample(&c, s, &start[i], &post[i]) < 0)
            goto out_free;
    res->samples = o->samples;
    res->start_p50_us = quantile(start, (size_t)i, 0.50);
    res->start_p99_us = quantile(start, (size_t)i, 0.99);
    res->start_max_us = quantile(start, (size_t)i, 1.0);
    res->post_p50_us = quantile(post, (size_t)i, 0.50);
    res->post_p99_us = quantile(post, (size_t)i, 0.99);
    rc = 0;
out_free:
    hl_conn_close(&c);
    free(start);
    free(post);
    return rc;
}

/* ------------------------------------------------------------ report */

static void
print_results(const struct bench_opts *o, const struct results *r)
{
    if (o->phases & PH_ACCEPT)
        printf("jobs accepted/s (POST /api/jobs into a backlog, %zu conns, durable): %8.0f   "
               "latency p50 %.2f ms, p99 %.2f ms, max %.1f ms\n",
               o->connections, r->accept_rate, r->accept_p50_us / 1e3, r->accept_p99_us / 1e3,
               r->accept_max_us / 1e3);
    if (o->phases & PH_E2E)
        printf("end-to-end no-op jobs/s (echo, submit to all completed): %8.0f   "
               "(%zu jobs in %.2f s; accepted at %.0f/s while running)\n",
               r->e2e_rate, o->n, r->e2e_s, r->e2e_accept_rate);
    if (o->phases & PH_COMMAND)
        printf("end-to-end command jobs/s (`cat` per job, submit to all completed): %8.0f   "
               "(%zu jobs in %.2f s)\n",
               r->cmd_rate, o->cmd_n, r->cmd_s);
    if (o->phases & PH_STATUS)
        printf("status GETs/s (GET /api/jobs/{id}, %zu conns):            %8.0f   "
               "latency p50 %.2f ms, p99 %.2f ms\n",
               o->connections, r->get_rate, r->get_p50_us / 1e3, r->get_p99_us / 1e3);
    if (o->phases & PH_LATENCY)
        printf("submit-to-start (sleep ms=0, POST to first status running/completed, %d "
               "samples): p50 %.2f ms, p99 %.2f ms, max %.2f ms   (POST alone: p50 %.2f ms, "
               "p99 %.2f ms)\n",
               r->samples, r->start_p50_us / 1e3, r->start_p99_us / 1e3, r->start_max_us / 1e3,
               r->post_p50_us / 1e3, r->post_p99_us / 1e3);
    printf("server peak RSS (VmHWM): %.1f MB (RSS at the end %.1f MB); exit status %d\n",
           (double)r->hwm_kb / 1024.0, (double)r->rss_kb / 1024.0, r->server_status);
    printf("{\"bench\":\"http\",\"n\":%zu,\"connections\":%zu,\"accept_per_s\":%.1f,"
           "\"accept_p50_us\":%.0f,\"accept_p99_us\":%.0f,\"e2e_per_s\":%.1f,\"e2e_s\":%.3f,"
           "\"command_n\":%zu,\"command_per_s\":%.1f,"
           "\"gets\":%zu,\"get_per_s\":%.1f,\"get_p50_us\":%.0f,\"get_p99_us\":%.0f,"
           "\"start_samples\":%d,\"start_p50_us\":%.0f,\"start_p99_us\":%.0f,"
           "\"peak_rss_kb\":%ld}\n",
           o->n, o->connections, r->accept_rate, r->accept_p50_us, r->accept_p99_us, r->e2e_rate,
           r->e2e_s, o->cmd_n, r->cmd_rate, o->gets, r->get_rate, r->get_p50_us, r->get_p99_us,
           r->samples, r->start_p50_us, r->start_p99_us, r->hwm_kb);
}

/* ------------------------------------------------------------ args */

static bool
parse_size(const char *s, size_t min, size_t max, size_t *out)
{
    char *end;
    unsigned long long v;

    if (!s)
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return false;
    *out = (size_t)v;
    return true;
}

/* "accept,status" into PH_* bits; false on an unknown name. */
static bool
parse_phases(const char *s, unsigned *out)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {
        {"accept", PH_ACCEPT},   {"e2e", PH_E2E},         {"status", PH_STATUS},
        {"latency", PH_LATENCY}, {"command", PH_COMMAND},
    };

    *out = 0;
    while (s && *s) {
        size_t n = strcspn(s, ","), i;

        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (strlen(names[i].name) == n && strncmp(names[i].name, s, n) == 0)
                break;
        if (i == sizeof(names) / sizeof(names[0]))
            return false;
        *out |= names[i].bit;
        s += n + (s[n] == ',');
    }
    return *out != 0;
}

static const char *
default_bin(void)
{
    const char *env = getenv("DURATA_BIN");

    return env && *env ? env : BENCH_DURATA_BIN;
}

/* What was given on the command line, to fill in defaults after. */
struct arg_seen {
    bool quick, n, gets, cmd_n;
    size_t samples;
};

/* Options with a value: 1 when `a` is one and v was good, 0 when `a` is
 * none of them, -1 when its value is bad. */
static int
parse_value_opt(struct bench_opts *o, struct arg_seen *seen, const char *a, const char *v)
{
    bool ok;

    if (strcmp(a, "--n") == 0)
        ok = seen->n = parse_size(v, 10, 10000000, &o->n);
    else if (strcmp(a, "--gets") == 0)
        ok = seen->gets = parse_size(v, 10, 100000000, &o->gets);
    else if (strcmp(a, "--command-n") == 0)
        ok = seen->cmd_n = parse_size(v, 10, 10000000, &o->cmd_n);
    else if (strcmp(a, "--connections") == 0)
        ok = parse_size(v, 1, 1000, &o->connections);
    else if (strcmp(a, "--samples") == 0)
        ok = parse_size(v, 1, 100000, &seen->samples);
    else if (strcmp(a, "--only") == 0)
        ok = parse_phases(v, &o->phases);
    else if (strcmp(a, "--bin") == 0 && (ok = v != NULL))
        o->bin = v;
    else if (strcmp(a, "--dir") == 0 && (ok = v != NULL))
        o->dir = v;
    else if (strcmp(a, "--server-arg") == 0 && (ok = v && o->n_server_args < HP_MAX_SERVER_ARGS))
        o->server_args[o->n_server_args++] = v;
    else
        return 0;
    return ok ? 1 : -1;
}

static int
parse_args(int argc, char **argv, struct bench_opts *o)
{
    const char *tmp = getenv("TMPDIR");
    struct arg_seen seen = {.samples = 500};
    int rc;

    *o = (struct bench_opts){.n = 50000,
                             .connections = 50,
                             .bin = default_bin(),
                             .dir = tmp && *tmp ? tmp : "/tmp",
                             .phases = PH_ALL,
                             .n_server_args = 2}; /* [0..2) set per server */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            seen.quick = true;
        else if (strcmp(argv[i], "--keep") == 0)
            o->keep = true;
        else if (strcmp(argv[i], "--cpu") == 0)
            o->cpu = true;
        else if ((rc = parse_value_opt(o, &seen, argv[i], i + 1 < argc ? argv[i + 1] : NULL)) > 0)
            i++;
        else
            return -1;
    }
    if (seen.quick && !seen.n)
        o->n = 5000;
    if (!seen.gets)
        o->gets = 4 * o->n;
    if (!seen.cmd_n)
        o->cmd_n = o->n / 10 < 10 ? 10 : o->n / 10;
    o->samples = (int)(seen.quick && seen.samples == 500 ? 100 : seen.samples);
    return 0;
}

static void
usage(void)
{
    fprintf(stderr,
            "usage: bench_http [--quick] [--n N] [--connections C] [--gets G] [--command-n M]\n"
            "                  [--samples K]\n"
            "                  [--only PHASES] [--bin PATH] [--dir DIR] [--server-arg ARG]...\n"
            "                  [--cpu] [--keep]\n"
            "  --n N            jobs per job phase (default 50000; --quick: 5000)\n"
            "  --connections C  keep-alive connections (default 50)\n"
            "  --gets G         status requests (default 4 N)\n"
            "  --command-n M    jobs of the command phase (default N / 10)\n"
            "  --samples K      submit-to-start samples (default 500; --quick: 100)\n"
            "  --only PHASES    comma-separated subset of accept,e2e,command,status,latency\n"
            "  --bin PATH       the durata binary (default $DURATA_BIN or the one built\n"
            "                   with this benchmark)\n"
            "  --dir DIR        where the store goes (default $TMPDIR or /tmp; use a disk)\n"
            "  --server-arg A   one more argument for `durata serve` (repeatable)\n"
            "  --cpu            CPU per server thread name for each phase\n"
            "  --keep           keep the store and the server's log\n");
}

/* ------------------------------------------------------------ main */

/* Starts the server on a fresh store with o->server_args[from..). */
static int
server_up(const struct bench_opts *o, struct hp_server *s, size_t from)
{
    *s = (struct hp_server){0};
    if (hp_workdir_make(o->dir, s) < 0)
        return -1;
    fprintf(stderr, "bench_http: %s serve, store %s\n", o->bin, s->db);
    if (hp_server_start(s, o->bin, o->server_args + from, o->n_server_args - from) < 0) {
        hp_workdir_remove(s);
        return -1;
    }
    fprintf(stderr, "bench_http: server pid %d on %s\n", (int)s->pid, s->host);
    return 0;
}

/* Stops the server (its exit status) and removes its store unless kept. */
static int
server_down(const struct bench_opts *o, struct hp_server *s)
{
    int64_t t0 = hl_mono_us();
    int status = hp_server_stop(s);

    fprintf(stderr, "bench_http: server stopped in %.2f s, exit status %d\n",
            (double)(hl_mono_us() - t0) / 1e6, status);
    if (o->keep)
        fprintf(stderr, "bench_http: kept %s\n", s->dir);
    else
        hp_workdir_remove(s);
    return status;
}

/* Phase 1 on a server of its own. */
static int
run_accept(struct bench_opts *o, struct results *res)
{
    struct hp_server s;
    int rc;

    /* The hour-long handlers are not waited for when it stops. */
    o->server_args[0] = "--shutdown-grace";
    o->server_args[1] = "0s";
    if (server_up(o, &s, 0) < 0)
        return -1;
    rc = phase_accept(o, &s, res);
    if (server_down(o, &s) != 0)
        rc = -1;
    return rc;
}

/* Phases 2 to 5 on one server. */
static int
run_phases(struct bench_opts *o, struct results *res)
{
    struct hp_server s;
    int rc = -1;

    /* The command job type only when its phase runs, so that builds
     * without --job-type can still be measured. */
    o->server_args[0] = "--job-type";
    o->server_args[1] = CMD_TYPE_ARG;
    if (server_up(o, &s, o->phases & PH_COMMAND ? 0 : 2) < 0)
        return -1;
    if ((o->phases & PH_E2E) && phase_e2e(o, &s, res) < 0)
        goto out;
    if ((o->phases & PH_COMMAND) && phase_command(o, &s, res) < 0)
        goto out;
    if ((o->phases & PH_STATUS) && phase_get(o, &s, res) < 0)
        goto out;
    if ((o->phases & PH_LATENCY) && phase_latency(o, &s, res) < 0)
        goto out;
    hp_server_memory(&s, &res->hwm_kb, &res->rss_kb);
    rc = 0;
out:
    res->server_status = server_down(o, &s);
    return rc;
}

int
main(int argc, char **argv)
{
    struct results res = {0};
    struct bench_opts o;
    int rc = 0;

    if (parse_args(argc, argv, &o) < 0) {
        usage();
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    if (o.phases & PH_ACCEPT)
        rc = run_accept(&o, &res);
    if (rc == 0 && (o.phases & ~PH_ACCEPT))
        rc = run_phases(&o, &res);
    if (rc == 0)
        print_results(&o, &res);
    else
        fprintf(stderr, "bench_http: failed\n");
    return rc < 0 ? 1 : 0;
}
