/*
 * engine.c — bench_engine: throughput, latency and memory of an embedded
 * hub on a SQLite file with full durability (WAL; every acknowledged write
 * flushed to disk).
 *
 * For each N of --sizes it measures, on fresh store files in a temporary
 * directory:
 *  1. starts/s: N durable starts from CLIENTS (32) threads while the hub does
 *     no orchestration work (starts are scheduled an hour ahead, so the hub
 *     runs its committer — group commit — but nothing becomes visible);
 *  2. single/s: N one-activity orchestrations, started from 32 threads with
 *     the hub running, end to end until all are Completed;
 *  3. fan-out/s: N/10 orchestrations of 10 activities + when_all, on the
 *     same store;
 *  4. latency: ~500 samples of start-to-activity-start at low load (one
 *     instance at a time), on the same store, p50 / p99 in microseconds;
 *  5. RSS after each phase and the peak RSS.
 * Completion is tracked by an atomic counter bumped by the orchestrator
 * when it completes, then confirmed by durata_query (no instance left
 * Pending or Running). Output: progress on stderr; an aligned table, one
 * JSON line per N and a cost-per-instance comparison on stdout.
 *
 * Usage: bench_engine [--sizes 1000,10000,100000] [--quick] [--dir DIR]
 *                     [--samples 500] [--keep]
 * Written only against include/durata.h. Threading: the main thread drives;
 * client threads only call durata_start; hub threads run the callbacks,
 * which touch only atomics.
 */
#include "durata.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#define CLIENTS 32
#define FAN 10
#define MAX_SIZES 16
#define STALL_MS 120000 /* a phase with no progress for this long fails */
#define TMPFS_MAGIC_NUMBER 0x01021994

struct bench_opts {
    size_t sizes[MAX_SIZES];
    size_t n_sizes;
    const char *dir;
    int samples;
    bool keep;
};

/* What the orchestrators and activities share with the driver. */
struct bench_shared {
    atomic_long done;       /* orchestrations that reached their end */
    atomic_llong *stamp_us; /* latency: activity start per sample */
    int n_stamps;
};

struct bench_result {
    size_t n;
    double start_s, single_s, fan_s;
    double start_rate, single_rate, fan_rate, fan_act_rate;
    double p50_us, p99_us, max_us;
    int samples;
    long rss_start_kb, rss_single_kb, rss_fan_kb, rss_latency_kb, peak_kb;
};

/* ----------------------------------------------------------------- clocks */

static int64_t
mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* -------------------------------------------------------------- memory */

/* Resident set size now, in KiB (from /proc/self/statm). */
static long
rss_now_kb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static long
rss_peak_kb(void)
{
    struct rusage ru;

    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* ------------------------------------------------ orchestrations, activities */

static void
act_echo(struct durata_activity *a, void *arg)
{
    (void)arg;
    durata_activity_complete(a, durata_activity_input(a));
}

/* Records when it starts, for the latency sample named by its input. */
static void
act_stamp(struct durata_activity *a, void *arg)
{
    struct bench_shared *sh = arg;
    int64_t now = mono_us();
    const char *in = durata_activity_input(a);
    long i = in ? strtol(in, NULL, 10) : -1;

    if (i >= 0 && i < sh->n_stamps)
        atomic_store(&sh->stamp_us[i], now);
    durata_activity_complete(a, in);
}

static enum durata_orch_result
orch_one(struct durata_orch *o, void *arg)
{
    struct bench_shared *sh = arg;
    struct durata_task *t = durata_call_activity(o, "Echo", durata_orch_input(o), NULL);

    if (!durata_await(o, t))
        return DURATA_YIELD;
    atomic_fetch_add(&sh->done, 1);
    durata_orch_complete(o, durata_task_result(t));
    return DURATA_DONE;
}

static enum durata_orch_result
orch_fan(struct durata_orch *o, void *arg)
{
    struct bench_shared *sh = arg;
    struct durata_task *tasks[FAN], *all;
    char in[16];

    for (int i = 0; i < FAN; i++) {
        snprintf(in, sizeof(in), "%d", i);
        tasks[i] = durata_call_activity(o, "Echo", in, NULL);
    }
    all = durata_when_all(o, tasks, FAN);
    if (!durata_await(o, all))
        return DURATA_YIELD;
    atomic_fetch_add(&sh->done, 1);
    if (durata_task_is_failed(all))
        durata_orch_fail(o, "FanFailed", "an activity failed", NULL);
    else
        durata_orch_complete(o, "10");
    return DURATA_DONE;
}

static enum durata_orch_result
orch_latency(struct durata_orch *o, void *arg)
{
    struct durata_task *t = durata_call_activity(o, "Stamp", durata_orch_input(o), NULL);

    (void)arg;
    if (!durata_await(o, t))
        return DURATA_YIELD;
    durata_orch_complete(o, NULL);
    return DURATA_DONE;
}

/* Opens a hub on path with every bench function registered, started. */
static int
hub_open(const char *path, struct bench_shared *sh, struct durata_hub **out)
{
    struct durata_hub_options o = {.store_path = path};
    struct durata_hub *hub = NULL;
    int rc = durata_hub_open(&hub, &o);

    if (rc == 0)
        rc = durata_register_orchestrator(hub, "BenchOne", orch_one, sh);
    if (rc == 0)
        rc = durata_register_orchestrator(hub, "BenchFan", orch_fan, sh);
    if (rc == 0)
        rc = durata_register_orchestrator(hub, "BenchLatency", orch_latency, sh);
    if (rc == 0)
        rc = durata_register_activity(hub, "Echo", act_echo, sh);
    if (rc == 0)
        rc = durata_register_activity(hub, "Stamp", act_stamp, sh);
    if (rc == 0)
        rc = durata_hub_start(hub);
    if (rc < 0) {
        fprintf(stderr, "bench: hub on %s: %s\n", path, durata_strerror(rc));
        durata_hub_close(hub);
        return rc;
    }
    *out = hub;
    return 0;
}

/* ---------------------------------------------------------- client threads */

struct starter {
    struct durata_hub *hub;
    const char *name;
    size_t count;     /* instances this thread starts */
    int64_t start_at; /* scheduled_start_ms, 0 = now */
    int rc;
    pthread_t thread;
};

static void *
starter_main(void *arg)
{
    struct starter *s = arg;
    struct durata_start_options so = {.name = s->name, .scheduled_start_ms = s->start_at};
    char id[257], input[24];

    for (size_t i = 0; i < s->count && s->rc == 0; i++) {
        snprintf(input, sizeof(input), "%zu", i);
        so.input = input;
        int rc = durata_start(s->hub, &so, id, sizeof(id));
        if (rc == DURATA_EBUSY || rc == DURATA_EOVERLOAD) {
            sleep_us(1000); /* backpressure: try this one again */
            i--;
            continue;
        }
        s->rc = rc;
    }
    return NULL;
}

/* Starts n instances of name from CLIENTS threads; 0 or the first error. */
static int
start_many(struct durata_hub *hub, const char *name, size_t n, int64_t start_at)
{
    struct starter s[CLIENTS];
    int created = 0, rc = 0;

    for (; created < CLIENTS; created++) {
        s[created] = (struct starter){
            .hub = hub,
            .name = name,
            .count = n / CLIENTS + ((size_t)created < n % CLIENTS),
            .start_at = start_at,
        };
        if (pthread_create(&s[created].thread, NULL, starter_main, &s[created]) != 0) {
            rc = DURATA_ESYS;
            break;
        }
    }
    for (int i = 0; i < created; i++) {
        pthread_join(s[i].thread, NULL);
        if (rc == 0)
            rc = s[i].rc;
    }
    if (rc < 0)
        fprintf(stderr, "bench: start %s: %s\n", name, durata_strerror(rc));
    return rc;
}

/* ----------------------------------------------------------------- phases */

/* Number of instances still Pending or Running (0 or 1: limit 1), or < 0. */
static int
any_unfinished(struct durata_hub *hub)
{
    struct durata_filter f = {.statuses = 1u << DURATA_PENDING | 1u << DURATA_RUNNING};
    struct durata_page *p = NULL;
    int rc = durata_query(hub, &f, 1, NULL, &p);

    if (rc == 0)
        rc = (int)p->count;
    durata_page_free(p);
    return rc;
}

/* Waits until sh->done reaches target and no instance is unfinished. */
static int
wait_done(struct durata_hub *hub, struct bench_shared *sh, long target)
{
    long last = -1;
    int64_t last_change = mono_us();

    for (;;) {
        long done = atomic_load(&sh->done);
        if (done >= target) {
            int rc = any_unfinished(hub);
            if (rc <= 0)
                return rc;
        }
        if (done != last) {
            last = done;
            last_change = mono_us();
        } else if (mono_us() - last_change > (int64_t)STALL_MS * 1000) {
            fprintf(stderr, "bench: stalled at %ld of %ld completions\n", done, target);
            return DURATA_ETIMEDOUT;
        }
        sleep_us(done >= target ? 200 : 1000);
    }
}

/* Phase 1: durable starts, nothing processed. */
static int
phase_starts(const char *path, struct bench_shared *sh, struct bench_result *r)
{
    struct durata_hub *hub = NULL;
    int rc = hub_open(path, sh, &hub);

    if (rc < 0)
        return rc;
    int64_t t0 = mono_us();
    rc = start_many(hub, "BenchOne", r->n, wall_ms() + 3600 * 1000);
    r->start_s = (double)(mono_us() - t0) / 1e6;
    r->start_rate = (double)r->n / r->start_s;
    durata_hub_close(hub);
    r->rss_start_kb = rss_now_kb();
    return rc;
}

/* Prints the group-commit figures of a phase (progress, on stderr). */
static void
print_commits(const char *phase, const struct durata_hub_stats *a, const struct durata_hub_stats *b,
              double seconds)
{
    uint64_t commits = b->commits - a->commits, units = b->units - a->units;
    fprintf(stderr, "bench:   %s: %llu commits (%.0f/s), %.1f units per commit, %llu steps\n",
            phase, (unsigned long long)commits, (double)commits / seconds,
            commits ? (double)units / (double)commits : 0.0,
            (unsigned long long)(b->steps - a->steps));
}

/* Starts count instances of name and waits for all of them; seconds. */
static int
run_to_completion(struct durata_hub *hub, struct bench_shared *sh, const char *name, size_t count,
                  double *seconds)
{
    struct durata_hub_stats before, after;
    durata_hub_get_stats(hub, &before);
    atomic_store(&sh->done, 0);
    int64_t t0 = mono_us();
    int rc = start_many(hub, name, count, 0);

    if (rc == 0)
        rc = wait_done(hub, sh, (long)count);
    *seconds = (double)(mono_us() - t0) / 1e6;
    durata_hub_get_stats(hub, &after);
    print_commits(name, &before, &after, *seconds);
    return rc;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* One latency sample: start, then the activity's first instruction. */
static int
latency_sample(struct durata_hub *hub, struct bench_shared *sh, int i, int64_t *us)
{
    struct durata_start_options so = {.name = "BenchLatency"};
    struct durata_instance *inst = NULL;
    char id[257], input[16];

    snprintf(input, sizeof(input), "%d", i);
    so.input = input;
    int64_t t0 = mono_us();
    int rc = durata_start(hub, &so, id, sizeof(id));
    if (rc == 0)
        rc = durata_wait(hub, id, STALL_MS, &inst);
    if (rc == 0 && inst->status != DURATA_COMPLETED)
        rc = DURATA_ECONFLICT;
    durata_instance_free(inst);
    *us = atomic_load(&sh->stamp_us[i]) - t0;
    return rc;
}

/* Phase 4: one instance at a time; p50 / p99 of start-to-activity-start. */
static int
phase_latency(struct durata_hub *hub, struct bench_shared *sh, int samples, struct bench_result *r)
{
    int64_t *lat = calloc((size_t)samples, sizeof(*lat));
    int rc = 0;

    if (!lat)
        return DURATA_ENOMEM;
    for (int i = 0; i < samples; i++)
        atomic_store(&sh->stamp_us[i], 0);
    for (int i = 0; i < samples && rc == 0; i++)
        rc = latency_sample(hub, sh, i, &lat[i]);
    if (rc == 0) {
        qsort(lat, (size_t)samples, sizeof(*lat), cmp_i64);
        r->samples = samples;
        r->p50_us = (double)lat[samples / 2];
        r->p99_us = (double)lat[(samples * 99) / 100];
        r->max_us = (double)lat[samples - 1];
    } else {
        fprintf(stderr, "bench: latency sample: %s\n", durata_strerror(rc));
    }
    free(lat);
    return rc;
}

/* Phases 2-4 on one store. */
static int
phase_run(const char *path, struct bench_shared *sh, int samples, struct bench_result *r)
{
    struct durata_hub *hub = NULL;
    size_t fans = r->n / FAN ? r->n / FAN : 1;
    int rc = hub_open(path, sh, &hub);

    if (rc < 0)
        return rc;
    if ((rc = run_to_completion(hub, sh, "BenchOne", r->n, &r->single_s)) < 0)
        goto out_close;
    r->single_rate = (double)r->n / r->single_s;
    r->rss_single_kb = rss_now_kb();
    fprintf(stderr, "bench: N=%zu single-activity done in %.2f s\n", r->n, r->single_s);
    if ((rc = run_to_completion(hub, sh, "BenchFan", fans, &r->fan_s)) < 0)
        goto out_close;
    r->fan_rate = (double)fans / r->fan_s;
    r->fan_act_rate = (double)(fans * FAN) / r->fan_s;
    r->rss_fan_kb = rss_now_kb();
    fprintf(stderr, "bench: N=%zu fan-out done in %.2f s\n", r->n, r->fan_s);
    rc = phase_latency(hub, sh, samples, r);
    r->rss_latency_kb = rss_now_kb();
out_close:
    durata_hub_close(hub);
    return rc;
}

/* ----------------------------------------------------------------- files */

static void
remove_store(const char *path)
{
    const char *sides[] = {"", "-wal", "-shm", "-journal"};
    char p[1200];

    for (size_t i = 0; i < sizeof(sides) / sizeof(*sides); i++) {
        snprintf(p, sizeof(p), "%s%s", path, sides[i]);
        unlink(p);
    }
}

static int
make_workdir(const char *parent, char *dir, size_t size)
{
    struct statfs fs;

    snprintf(dir, size, "%s/durata-bench-XXXXXX", parent);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench: mkdtemp %s: %s\n", dir, strerror(errno));
        return -1;
    }
    if (statfs(dir, &fs) == 0 && fs.f_type == TMPFS_MAGIC_NUMBER)
        fprintf(stderr,
                "bench: warning: %s is tmpfs; fsync costs nothing there, "
                "use --dir on a disk for real figures\n",
                dir);
    return 0;
}

/* Runs every phase for one N. */
static int
bench_one(const struct bench_opts *opt, const char *dir, struct bench_shared *sh,
          struct bench_result *r)
{
    char start_db[1100], run_db[1100];
    int rc;

    snprintf(start_db, sizeof(start_db), "%s/starts-%zu.db", dir, r->n);
    snprintf(run_db, sizeof(run_db), "%s/run-%zu.db", dir, r->n);
    fprintf(stderr, "bench: N=%zu starts...\n", r->n);
    rc = phase_starts(start_db, sh, r);
    if (!opt->keep)
        remove_store(start_db);
    if (rc < 0)
        return rc;
    fprintf(stderr, "bench: N=%zu %zu starts in %.2f s; running...\n", r->n, r->n, r->start_s);
    rc = phase_run(run_db, sh, opt->samples, r);
    if (!opt->keep)
        remove_store(run_db);
    /* ru_maxrss can trail a fresh statm reading by a few pages (per-thread
     * RSS counters are folded in lazily): never print a peak below a sample. */
    r->peak_kb = rss_peak_kb();
    long seen[] = {r->rss_start_kb, r->rss_single_kb, r->rss_fan_kb, r->rss_latency_kb};
    for (size_t i = 0; i < sizeof(seen) / sizeof(*seen); i++)
        if (seen[i] > r->peak_kb)
            r->peak_kb = seen[i];
    return rc;
}

/* ---------------------------------------------------------------- report */

static void
print_header(void)
{
    printf("%9s %10s %10s %10s %10s %9s %9s %9s  %s\n", "N", "starts/s", "single/s", "fanout/s",
           "acts/s", "p50 us", "p99 us", "peak MB", "RSS MB after starts/single/fanout/latency");
}

static void
print_row(const struct bench_result *r)
{
    printf("%9zu %10.0f %10.0f %10.1f %10.0f %9.0f %9.0f %9.1f  %.1f / %.1f / %.1f / %.1f\n", r->n,
           r->start_rate, r->single_rate, r->fan_rate, r->fan_act_rate, r->p50_us, r->p99_us,
           r->peak_kb / 1024.0, r->rss_start_kb / 1024.0, r->rss_single_kb / 1024.0,
           r->rss_fan_kb / 1024.0, r->rss_latency_kb / 1024.0);
}

static void
print_json(const struct bench_result *r)
{
    printf("{\"bench\":\"engine\",\"n\":%zu,\"starts_per_s\":%.1f,\"start_s\":%.3f,"
           "\"single_per_s\":%.1f,\"single_s\":%.3f,\"fanout_per_s\":%.2f,"
           "\"fanout_activities_per_s\":%.1f,\"fanout_s\":%.3f,\"latency_samples\":%d,"
           "\"latency_p50_us\":%.0f,\"latency_p99_us\":%.0f,\"latency_max_us\":%.0f,"
           "\"rss_after_starts_kb\":%ld,\"rss_after_single_kb\":%ld,\"rss_after_fanout_kb\":%ld,"
           "\"rss_after_latency_kb\":%ld,\"peak_rss_kb\":%ld}\n",
           r->n, r->start_rate, r->start_s, r->single_rate, r->single_s, r->fan_rate,
           r->fan_act_rate, r->fan_s, r->samples, r->p50_us, r->p99_us, r->max_us, r->rss_start_kb,
           r->rss_single_kb, r->rss_fan_kb, r->rss_latency_kb, r->peak_kb);
}

/* Microseconds of wall time per instance at the smallest and largest N. */
static void
print_cost_line(const char *what, double small_rate, double large_rate, size_t small_n,
                size_t large_n)
{
    double a = 1e6 / small_rate, b = 1e6 / large_rate, ratio = b / a;

    printf("cost per instance, %-8s: %8.1f us at N=%-7zu %8.1f us at N=%-7zu x%.2f (%s)\n", what, a,
           small_n, b, large_n, ratio,
           ratio <= 1.25  ? "flat"
           : ratio <= 2.0 ? "grows a little"
                          : "grows");
}

static void
print_cost(const struct bench_result *res, size_t n)
{
    const struct bench_result *s = &res[0], *l = &res[0];

    for (size_t i = 1; i < n; i++) {
        if (res[i].n < s->n)
            s = &res[i];
        if (res[i].n > l->n)
            l = &res[i];
    }
    if (s == l) {
        printf("cost per instance: one size only; run with --sizes a,b to compare\n");
        return;
    }
    print_cost_line("starts", s->start_rate, l->start_rate, s->n, l->n);
    print_cost_line("single", s->single_rate, l->single_rate, s->n, l->n);
    print_cost_line("fan-out", s->fan_act_rate, l->fan_act_rate, s->n, l->n);
}

/* ------------------------------------------------------------------ args */

static int
parse_sizes(const char *s, struct bench_opts *o)
{
    o->n_sizes = 0;
    while (*s) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s || v < FAN || v > 10000000 || o->n_sizes == MAX_SIZES ||
            (*end != ',' && *end != '\0'))
            return -1;
        o->sizes[o->n_sizes++] = (size_t)v;
        s = *end == ',' ? end + 1 : end;
    }
    return o->n_sizes ? 0 : -1;
}

/* A positive int up to 100000, or -1. */
static int
parse_count(const char *s)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    return errno || end == s || *end || v < 1 || v > 100000 ? -1 : (int)v;
}

static int
parse_args(int argc, char **argv, struct bench_opts *o)
{
    const char *tmp = getenv("TMPDIR");

    *o = (struct bench_opts){{1000, 10000, 100000}, 3, tmp && *tmp ? tmp : "/tmp", 500, false};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) {
            o->sizes[0] = 1000;
            o->n_sizes = 1;
        } else if (strcmp(a, "--keep") == 0) {
            o->keep = true;
        } else if (strcmp(a, "--sizes") == 0 && v && parse_sizes(v, o) == 0) {
            i++;
        } else if (strcmp(a, "--dir") == 0 && v) {
            o->dir = v;
            i++;
        } else if (strcmp(a, "--samples") == 0 && v && (o->samples = parse_count(v)) > 0) {
            i++;
        } else {
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ main */

int
main(int argc, char **argv)
{
    struct bench_shared sh = {0};
    struct bench_result res[MAX_SIZES] = {0};
    struct bench_opts opt;
    char dir[1024];
    int rc = 0;
    size_t done = 0;

    if (parse_args(argc, argv, &opt) < 0) {
        fprintf(stderr, "usage: bench_engine [--sizes 1000,10000,100000] [--quick] [--dir DIR] "
                        "[--samples 500] [--keep]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    sh.n_stamps = opt.samples;
    sh.stamp_us = calloc((size_t)opt.samples, sizeof(*sh.stamp_us));
    if (!sh.stamp_us || make_workdir(opt.dir, dir, sizeof(dir)) < 0)
        return 1;
    fprintf(stderr, "bench: stores in %s (SQLite WAL, acknowledged writes flushed)\n", dir);
    for (; done < opt.n_sizes && rc == 0; done++) {
        res[done].n = opt.sizes[done];
        rc = bench_one(&opt, dir, &sh, &res[done]);
    }
    if (!opt.keep)
        rmdir(dir);
    if (rc < 0) {
        fprintf(stderr, "bench: failed at N=%zu: %s\n", res[done - 1].n, durata_strerror(rc));
        free(sh.stamp_us);
        return 1;
    }
    print_header();
    for (size_t i = 0; i < done; i++)
        print_row(&res[i]);
    for (size_t i = 0; i < done; i++)
        print_json(&res[i]);
    print_cost(res, done);
    free(sh.stamp_us);
    return 0;
}
