/*
 * serve.c — `durata serve`: the hub over a SQLite store behind the HTTP
 * server, until SIGTERM or SIGINT.
 *
 * Owns: reading options (defaults, then the configuration file, then
 * DURATA_* environment variables, then flags; config.c finds and reads the
 * file), the job type table (the demo types, with configured command types
 * replacing or joining them; --job-type is the last layer), the refusal to
 * listen beyond loopback without an API key, the start order (hub open,
 * registration, hub start, HTTP server, ready) and the stop order (not
 * ready, HTTP server stopped so running requests finish, hub stopped, store
 * closed, job table freed). stdout carries exactly two lines:
 * "listening on http://HOST:PORT" and a curl line to try; everything else
 * goes to stderr.
 * Threading: main thread; SIGINT/SIGTERM are blocked in every thread and
 * taken with sigwait here, so no handler runs asynchronously.
 */
#include "cli/cli.h"

#include "base/duration.h"
#include "base/log.h"
#include "http/asyncjob_api.h"
#include "http/metrics.h"
#include "workers/retention.h"
#include "cli/config.h"
#include "http/http.h"
#include "workers/jobs.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVE_MAX_KEYS 16
/* Write handlers run on a worker pool of this size (their connection
 * suspended) and block while the hub makes the request durable, so the
 * count bounds the writes in progress; group commit needs many at once.
 * It also sizes libmicrohttpd's own pool, which serves reads inline. */
#define SERVE_DEFAULT_THREADS 64
#define SERVE_DEFAULT_GRACE_MS 10000 /* SIGTERM: running handlers may finish */

struct serve_opts {
    char host[256];
    int port;
    const char *store;
    const char *keys[SERVE_MAX_KEYS + 1]; /* NULL-terminated */
    size_t n_keys;
    char *env_keys; /* DURATA_API_KEY copy, split in place */
    unsigned threads;
    unsigned max_queued; /* 0 = the server's default (64 per thread) */
    size_t body_budget;  /* 0 = the server's default (64 MiB) */
    int log_level;
    int64_t retention_ms;      /* 0 = keep finished instances */
    int64_t activity_lease_ms; /* 0 = the hub's default (30 s) */
    int64_t shutdown_grace_ms;
    struct dt_config cfg; /* the file's values, then --job-type's types */
};

static void
serve_usage(FILE *out)
{
    fprintf(out, "usage: durata serve [--listen HOST:PORT] [--store PATH] [--config FILE]\n"
                 "                    [--api-key KEY]... [--job-type NAME=COMMAND]...\n"
                 "                    [--threads N] [--max-queued N] [--body-budget SIZE]\n"
                 "                    [--log-level LEVEL]\n"
                 "                    [--retention DURATION] [--activity-lease DURATION]\n"
                 "                    [--shutdown-grace DURATION]\n"
                 "\n"
                 "Runs the durable task hub behind its HTTP API (/api/jobs, the Durable\n"
                 "Functions API under /runtime/webhooks/durabletask, /healthz, /readyz).\n"
                 "\n"
                 "  --listen HOST:PORT  address to listen on (default 127.0.0.1:8080; port 0\n"
                 "                      picks a free port; IPv6 as [::1]:8080)\n"
                 "  --store PATH        SQLite file (default ./durata.db, created if missing)\n"
                 "  --config FILE       settings and job types as JSON (default ./durata.json\n"
                 "                      when it exists; see below)\n"
                 "  --api-key KEY       require this key (repeatable); clients send it as the\n"
                 "                      x-functions-key header, the code query parameter or\n"
                 "                      Authorization: Bearer KEY. Without a key the server only\n"
                 "                      listens on loopback addresses.\n"
                 "  --job-type NAME=COMMAND\n"
                 "                      a job type run by COMMAND (repeatable; replaces a\n"
                 "                      configured or built-in type of that name). COMMAND is\n"
                 "                      split into words like a shell would (quotes,\n"
                 "                      backslashes) but no shell runs: write sh -c '...' for\n"
                 "                      pipes, redirections and variables.\n"
                 "  --threads N         HTTP handler threads, the most requests in progress at\n"
                 "                      once (default 64)\n"
                 "  --max-queued N      write requests (POST, DELETE, ...) waiting for a handler\n"
                 "                      thread; more are refused at once with 503 and\n"
                 "                      Retry-After (default 64 per thread)\n"
                 "  --body-budget SIZE  request bodies held in memory at once, all connections\n"
                 "                      together (1M to 64G, e.g. 256M; default 64M); a body\n"
                 "                      that would go over it is refused with 503 and\n"
                 "                      Retry-After\n"
                 "  --log-level LEVEL   debug, info, warn, error or off (default info)\n"
                 "  --retention DURATION\n"
                 "                      purge finished instances created longer ago than\n"
                 "                      DURATION (30s, 15m, 24h, 7d, ...), in the background;\n"
                 "                      default: keep them\n"
                 "  --activity-lease DURATION\n"
                 "                      how long a running activity (a job's handler) is\n"
                 "                      leased to this server, renewed while it runs; after\n"
                 "                      a crash its task runs again once the lease expires\n"
                 "                      (1s to 1d, e.g. 10s or 2m; default 30s)\n"
                 "  --shutdown-grace DURATION\n"
                 "                      on SIGTERM, how long running handlers may go on to\n"
                 "                      finish before they are interrupted (their jobs then\n"
                 "                      run again after a restart, without counting an\n"
                 "                      attempt); no new job starts meanwhile (0s to 1h;\n"
                 "                      default 10s)\n"
                 "  -h, --help          show this text\n"
                 "\n");
    /* Two strings: C compilers need only take 4095 characters in one. */
    fprintf(out, "Built-in job types: echo, sleep, fail, thumbnail. A command job type runs\n"
                 "its program in its own process group with the job on stdin as JSON\n"
                 "({\"job_id\",\"job_type\",\"customer_id\",\"payload\",\"attempt\"}) and\n"
                 "DURATA_JOB_ID, DURATA_ATTEMPT, DURATA_JOB_TYPE in its environment. Exit 0\n"
                 "with one JSON value (or nothing) on stdout completes the job with it; a\n"
                 "non-zero exit, a signal, other output (or over 1 MiB) or the timeout\n"
                 "(default 3600 s; the process group is killed) fails the attempt with the\n"
                 "last 4 KiB of stderr. --job-type types make one attempt.\n"
                 "\n"
                 "Configuration file (every member optional; durata.json):\n"
                 "  {\"listen\": \"127.0.0.1:8080\", \"store\": \"./durata.db\",\n"
                 "   \"apiKeys\": [\"KEY\"], \"threads\": 64, \"logLevel\": \"info\",\n"
                 "   \"retention\": \"7d\", \"activityLeaseSeconds\": 30,\n"
                 "   \"shutdownGraceSeconds\": 10,\n"
                 "   \"jobTypes\": {\"resize\": {\"command\": [\"./resize.sh\", \"--fast\"],\n"
                 "       \"timeoutSeconds\": 300, \"concurrency\": 2,\n"
                 "       \"retry\": {\"maxAttempts\": 3, \"firstRetryIntervalMs\": 1000,\n"
                 "                 \"backoffCoefficient\": 2, \"maxRetryIntervalMs\": 60000}}}}\n"
                 "\n"
                 "Environment: DURATA_CONFIG (the file), DURATA_LISTEN, DURATA_STORE,\n"
                 "DURATA_API_KEY (comma-separated keys), DURATA_THREADS, DURATA_LOG_LEVEL,\n"
                 "DURATA_RETENTION, DURATA_ACTIVITY_LEASE, DURATA_SHUTDOWN_GRACE. GET /metrics "
                 "serves Prometheus\n"
                 "metrics.\n"
                 "Each layer overrides the one before: defaults, the file, the\n"
                 "environment, flags.\n"
                 "Prints 'listening on http://HOST:PORT' once ready; SIGTERM or SIGINT stops\n"
                 "it cleanly (exit 0). Exit 1 when the store or the address cannot be used,\n"
                 "2 on bad usage or a bad configuration file.\n");
}

/* Prints "durata serve: <what>['<arg>']" and the hint; returns 2. */
static int
usage_error(const char *what, const char *arg)
{
    if (arg)
        fprintf(stderr, "durata serve: %s '%s'\n", what, arg);
    else
        fprintf(stderr, "durata serve: %s\n", what);
    fprintf(stderr, "Run 'durata serve --help' for usage.\n");
    return DT_EXIT_USAGE;
}

static int
set_listen(struct serve_opts *o, const char *text)
{
    const char *why;

    if (!dt_cli_parse_listen(text, o->host, sizeof(o->host), &o->port, &why)) {
        fprintf(stderr, "durata serve: bad listen address '%s': %s\n", text, why);
        return DT_EXIT_USAGE;
    }
    return DT_EXIT_OK;
}

static int
add_key(struct serve_opts *o, const char *key)
{
    if (!key[0])
        return usage_error("an API key cannot be empty", NULL);
    if (o->n_keys == SERVE_MAX_KEYS)
        return usage_error("too many API keys (at most 16)", NULL);
    o->keys[o->n_keys++] = key;
    o->keys[o->n_keys] = NULL;
    return DT_EXIT_OK;
}

static int
set_threads(struct serve_opts *o, const char *text)
{
    char *end;
    long v = strtol(text, &end, 10);

    if (*text == '\0' || *end != '\0' || v < 1 || v > 1024)
        return usage_error("--threads wants a number from 1 to 1024, not", text);
    o->threads = (unsigned)v;
    return DT_EXIT_OK;
}

static int
set_max_queued(struct serve_opts *o, const char *text)
{
    char *end;
    long v = strtol(text, &end, 10);

    if (*text == '\0' || *end != '\0' || v < 1 || v > 1000000)
        return usage_error("--max-queued wants a number from 1 to 1000000, not", text);
    o->max_queued = (unsigned)v;
    return DT_EXIT_OK;
}

/* Bytes, or K, M, G (powers of 1024); at least the 1 MiB body limit, so
 * the largest body always fits. */
static int
set_body_budget(struct serve_opts *o, const char *text)
{
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    unsigned shift = 0;

    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift)
        end++;
    if (*text < '0' || *text > '9' || *end != '\0' || v > (64ULL << 30) >> shift ||
        (v << shift) < (1ULL << 20))
        return usage_error("--body-budget wants a size from 1M to 64G (such as 256M), not", text);
    o->body_budget = (size_t)(v << shift);
    return DT_EXIT_OK;
}

static int
set_log_level(struct serve_opts *o, const char *text)
{
    o->log_level = dt_log_level_parse(text);
    if (o->log_level < 0)
        return usage_error("unknown log level (use debug, info, warn, error or off):", text);
    return DT_EXIT_OK;
}

static int
set_retention(struct serve_opts *o, const char *text)
{
    int64_t ms;
    int rc = dt_duration_parse(text, &ms);
    if (rc == DURATA_ETOOBIG)
        return usage_error("--retention is too long:", text);
    if (rc < 0 || ms <= 0)
        return usage_error("--retention wants a duration such as 30s, 15m, 24h or 7d, not", text);
    o->retention_ms = ms;
    return DT_EXIT_OK;
}

/* A duration option (named by `from`) within [min_ms, max_ms] (described
 * by `range`) into *out. */
static int
set_duration(const char *from, const char *text, int64_t min_ms, int64_t max_ms, const char *range,
             int64_t *out)
{
    int64_t ms;

    if (dt_duration_parse(text, &ms) == 0 && ms >= min_ms && ms <= max_ms) {
        *out = ms;
        return DT_EXIT_OK;
    }
    fprintf(stderr, "durata serve: %s wants a duration from %s (such as 10s, 2m or 1h), not '%s'\n",
            from, range, text);
    fprintf(stderr, "Run 'durata serve --help' for usage.\n");
    return DT_EXIT_USAGE;
}

/* --activity-lease or DURATA_ACTIVITY_LEASE (named by `from`); the file's
 * activityLeaseSeconds is checked by dt_config_parse. */
static int
set_activity_lease(struct serve_opts *o, const char *from, const char *text)
{
    return set_duration(from, text, DT_CLI_LEASE_MIN_MS, DT_CLI_LEASE_MAX_MS, "1s to 1d",
                        &o->activity_lease_ms);
}

/* --shutdown-grace or DURATA_SHUTDOWN_GRACE; the file's
 * shutdownGraceSeconds is checked by dt_config_parse. */
static int
set_shutdown_grace(struct serve_opts *o, const char *from, const char *text)
{
    return set_duration(from, text, 0, DT_CONFIG_GRACE_MAX_S * 1000LL, "0s to 1h",
                        &o->shutdown_grace_ms);
}

static const struct option serve_longs[] = {
    {"retention", required_argument, NULL, 'r'},
    {"activity-lease", required_argument, NULL, 'a'},
    {"shutdown-grace", required_argument, NULL, 'g'},
    {"listen", required_argument, NULL, 'l'},
    {"store", required_argument, NULL, 's'},
    {"config", required_argument, NULL, 'c'},
    {"api-key", required_argument, NULL, 'k'},
    {"job-type", required_argument, NULL, 'j'},
    {"threads", required_argument, NULL, 't'},
    {"max-queued", required_argument, NULL, 'q'},
    {"body-budget", required_argument, NULL, 'b'},
    {"log-level", required_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void
serve_defaults(struct serve_opts *o)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->host, sizeof(o->host), "127.0.0.1");
    o->port = 8080;
    o->store = "./durata.db";
    o->log_level = DT_LOG_INFO;
    o->threads = SERVE_DEFAULT_THREADS;
    o->shutdown_grace_ms = SERVE_DEFAULT_GRACE_MS;
    dt_config_init(&o->cfg);
}

/* The --config flag's value, found before the other flags are applied
 * (the file is a lower layer than the environment and the flags); NULL
 * when absent. *help is set for --help (shown without reading any file).
 * Errors are left to serve_flags. */
static const char *
serve_config_flag(int argc, char **argv, bool *help)
{
    const char *path = NULL;
    int c;

    *help = false;
    opterr = 0;
    optind = 0; /* a full reset of getopt's state */
    while ((c = getopt_long(argc, argv, ":h", serve_longs, NULL)) != -1) {
        if (c == 'c')
            path = optarg;
        else if (c == 'h')
            *help = true;
    }
    return path;
}

/* Applies the configuration file's settings over the defaults. */
static int
serve_apply_config(struct serve_opts *o)
{
    const struct dt_config *c = &o->cfg;
    const char *why;
    int rc = DT_EXIT_OK;

    if (c->listen && !dt_cli_parse_listen(c->listen, o->host, sizeof(o->host), &o->port, &why)) {
        fprintf(stderr, "durata serve: %s: listen: bad listen address '%s': %s\n", c->origin,
                c->listen, why);
        return DT_EXIT_USAGE;
    }
    if (c->store)
        o->store = c->store;
    if (c->threads)
        o->threads = (unsigned)c->threads;
    if (c->log_level)
        o->log_level = dt_log_level_parse(c->log_level);
    if (c->retention && rc == DT_EXIT_OK)
        rc = set_retention(o, c->retention);
    if (o->cfg.activity_lease_ms)
        o->activity_lease_ms = o->cfg.activity_lease_ms;
    if (o->cfg.shutdown_grace_ms >= 0)
        o->shutdown_grace_ms = o->cfg.shutdown_grace_ms;
    for (size_t i = 0; i < c->n_api_keys && rc == DT_EXIT_OK; i++)
        rc = add_key(o, c->api_keys[i]);
    return rc;
}

/* The DURATA_* environment, over the file's settings. */
static int
serve_env(struct serve_opts *o)
{
    const char *v;
    int rc = DT_EXIT_OK;

    if ((v = getenv("DURATA_LISTEN")) && *v)
        rc = set_listen(o, v);
    if (rc == DT_EXIT_OK && (v = getenv("DURATA_STORE")) && *v)
        o->store = v;
    if (rc == DT_EXIT_OK && (v = getenv("DURATA_THREADS")) && *v)
        rc = set_threads(o, v);
    if (rc == DT_EXIT_OK && (v = getenv("DURATA_LOG_LEVEL")) && *v)
        rc = set_log_level(o, v);
    if (rc == DT_EXIT_OK && (v = getenv("DURATA_RETENTION")) && *v)
        rc = set_retention(o, v);
    if (rc == DT_EXIT_OK && (v = getenv("DURATA_ACTIVITY_LEASE")) && *v)
        rc = set_activity_lease(o, "DURATA_ACTIVITY_LEASE", v);
    if (rc == DT_EXIT_OK && (v = getenv("DURATA_SHUTDOWN_GRACE")) && *v)
        rc = set_shutdown_grace(o, "DURATA_SHUTDOWN_GRACE", v);
    if (rc == DT_EXIT_OK && (v = getenv("DURATA_API_KEY")) && *v) {
        o->n_keys = 0; /* the environment's keys replace the file's */
        o->env_keys = strdup(v);
        if (!o->env_keys)
            return DT_EXIT_FAIL;
        for (char *save = NULL, *k = strtok_r(o->env_keys, ",", &save); k && !rc;
             k = strtok_r(NULL, ",", &save))
            rc = add_key(o, k);
    }
    return rc;
}

/* --job-type NAME=COMMAND: a command type over the file's and the
 * built-ins of that name (a repeated NAME: the last one wins). */
static int
add_job_type(struct serve_opts *o, const char *text)
{
    struct dt_job_spec spec;
    char err[600];
    int rc = dt_job_spec_parse_flag(&spec, text, err, sizeof(err));

    if (rc == DURATA_EINVAL)
        return usage_error(err, NULL);
    if (rc == 0)
        rc = dt_config_put_job_type(&o->cfg, &spec);
    dt_job_spec_release(&spec);
    return rc < 0 ? DT_EXIT_FAIL : DT_EXIT_OK;
}

/* The flags, over the lower layers. -1: --help was shown. */
static int
serve_flags(struct serve_opts *o, int argc, char **argv)
{
    bool flag_keys = false;
    int c, rc = DT_EXIT_OK;

    opterr = 0;
    optind = 0; /* serve_config_flag ran getopt before */
    while (rc == DT_EXIT_OK && (c = getopt_long(argc, argv, ":h", serve_longs, NULL)) != -1) {
        switch (c) {
        case 'l':
            rc = set_listen(o, optarg);
            break;
        case 'r':
            rc = set_retention(o, optarg);
            break;
        case 'a':
            rc = set_activity_lease(o, "--activity-lease", optarg);
            break;
        case 'g':
            rc = set_shutdown_grace(o, "--shutdown-grace", optarg);
            break;
        case 's':
            o->store = optarg;
            break;
        case 'c': /* read first, by serve_config_flag */
            break;
        case 'j':
            rc = add_job_type(o, optarg);
            break;
        case 'k':
            if (!flag_keys) /* flags replace the lower layers' keys */
                o->n_keys = 0;
            flag_keys = true;
            rc = add_key(o, optarg);
            break;
        case 't':
            rc = set_threads(o, optarg);
            break;
        case 'q':
            rc = set_max_queued(o, optarg);
            break;
        case 'b':
            rc = set_body_budget(o, optarg);
            break;
        case 'v':
            rc = set_log_level(o, optarg);
            break;
        case 'h':
            serve_usage(stdout);
            return -1;
        case ':':
            return usage_error("this option needs a value:", argv[optind - 1]);
        default:
            return usage_error("unknown option", argv[optind - 1]);
        }
    }
    if (rc == DT_EXIT_OK && optind < argc)
        rc = usage_error("unexpected argument", argv[optind]);
    if (rc == DT_EXIT_OK && !o->store[0])
        rc = usage_error("the store path cannot be empty", NULL);
    return rc;
}

/* Without a key the server must not be reachable from other machines. */
static int
serve_check_exposure(const struct serve_opts *o)
{
    if (o->n_keys > 0 || dt_cli_host_is_loopback(o->host))
        return DT_EXIT_OK;
    fprintf(stderr,
            "durata serve: refusing to listen on %s without an API key: anyone who can\n"
            "reach this address could start, read and delete jobs. Pass --api-key KEY\n"
            "(or set DURATA_API_KEY), or listen on a loopback address such as 127.0.0.1.\n",
            o->host);
    return DT_EXIT_USAGE;
}

/* Everything serve runs, released in reverse order by serve_close. */
struct serve_state {
    struct durata_hub *hub;
    struct dt_http_server *srv;
    struct dt_http_config cfg;
    struct dt_app app;
    const struct dt_route *routes[6];
    struct dt_job_table jobs;     /* demo and configured types */
    struct dt_job_set job_set;    /* jobs' types, as the job orchestration reads them */
    struct dt_jobs_api *jobs_api; /* the job API's idempotency locks */
    struct dt_metrics *metrics;
    struct dt_retention *retention;
};

/* The job types: the demo ones with the configured command types over
 * them; each command type is logged. */
static int
serve_job_types(struct serve_state *st, const struct serve_opts *o)
{
    const struct dt_job_type *demo;
    size_t n = 0;
    int rc;

    demo = dt_jobs_demo_types(&n);
    rc = dt_job_table_build(&st->jobs, demo, n, o->cfg.job_types, o->cfg.n_job_types, st->hub);
    for (size_t i = 0; rc == 0 && i < st->jobs.n; i++)
        if (st->jobs.commands[i])
            dt_log(DT_LOG_INFO, "command job type", "job_type", st->jobs.names[i], "command",
                   dt_command_program(st->jobs.commands[i]), NULL);
    return rc;
}

static int
serve_open_hub(struct serve_state *st, const struct serve_opts *o)
{
    struct durata_hub_options ho = {.store_path = o->store,
                                    .activity_lease_ms = o->activity_lease_ms,
                                    .stop_grace_ms = o->shutdown_grace_ms};
    int rc;

    rc = durata_hub_open(&st->hub, &ho);
    if (rc < 0) {
        fprintf(stderr, "durata serve: cannot open the store %s: %s\n", o->store,
                durata_strerror(rc));
        return DT_EXIT_FAIL;
    }
    rc = serve_job_types(st, o);
    if (rc == 0)
        rc = durata_register_builtins(st->hub);
    if (rc == 0) {
        st->job_set = (struct dt_job_set){.types = st->jobs.types, .n = st->jobs.n};
        rc = dt_jobs_register(st->hub, &st->job_set);
    }
    if (rc == 0)
        rc = durata_hub_start(st->hub);
    if (rc == 0 && o->retention_ms > 0) {
        struct dt_retention_options ro = {.older_than_ms = o->retention_ms};
        rc = dt_retention_start(&st->retention, st->hub, &ro);
    }
    if (rc < 0) {
        fprintf(stderr, "durata serve: cannot start the hub: %s\n", durata_strerror(rc));
        return DT_EXIT_FAIL;
    }
    return DT_EXIT_OK;
}

static void
serve_announce(const struct serve_state *st, const struct serve_opts *o)
{
    const char *auth = o->n_keys ? " -H 'x-functions-key: <your API key>'" : "";
    char base[300];

    if (strchr(o->host, ':'))
        snprintf(base, sizeof(base), "http://[%s]:%d", o->host, dt_http_server_port(st->srv));
    else
        snprintf(base, sizeof(base), "http://%s:%d", o->host, dt_http_server_port(st->srv));
    if (!o->n_keys)
        fprintf(stderr, "durata serve: no API key configured, so listening on loopback only "
                        "(pass --api-key to listen elsewhere)\n");
    printf("listening on %s\n", base);
    printf("try: curl -s -X POST %s/api/jobs -H 'Content-Type: application/json'%s "
           "-d '{\"job_type\":\"echo\",\"payload\":{\"hello\":\"world\"}}'\n",
           base, auth);
    fflush(stdout);
}

static int
serve_start_http(struct serve_state *st, const struct serve_opts *o)
{
    int rc;

    st->cfg.host = o->host;
    st->cfg.port = o->port;
    st->cfg.threads = o->threads;
    st->cfg.max_queued = o->max_queued;
    st->cfg.body_budget_bytes = o->body_budget;
    st->cfg.api_keys = o->n_keys ? o->keys : NULL;
    st->routes[0] = dt_ops_routes;
    st->routes[1] = dt_df_routes;
    st->routes[2] = dt_jobs_routes;
    st->routes[3] = dt_metrics_routes;
    st->routes[4] = dt_asyncjob_routes;
    st->routes[5] = NULL;
    if (dt_metrics_new(&st->metrics) < 0 || dt_jobs_api_new(&st->jobs_api) < 0) {
        fprintf(stderr, "durata serve: out of memory\n");
        return DT_EXIT_FAIL;
    }
    st->app.metrics = st->metrics;
    st->app.hub = st->hub;
    st->app.config = &st->cfg;
    st->app.routes = st->routes;
    st->app.job_types = st->jobs.names;
    st->app.jobs = st->jobs_api;
    rc = dt_http_server_start(&st->srv, &st->app, &st->cfg);
    if (rc < 0) {
        fprintf(stderr, "durata serve: cannot listen on %s:%d: %s\n", o->host, o->port,
                durata_strerror(rc));
        return DT_EXIT_FAIL;
    }
    __atomic_store_n(&st->app.ready, true, __ATOMIC_RELEASE);
    return DT_EXIT_OK;
}

static void
serve_close(struct serve_state *st)
{
    __atomic_store_n(&st->app.ready, false, __ATOMIC_RELEASE);
    dt_http_server_stop(st->srv);     /* running requests finish first */
    dt_retention_stop(st->retention); /* before the hub it purges */
    if (st->hub)
        durata_hub_stop(st->hub);
    durata_hub_close(st->hub);
    dt_job_table_release(&st->jobs); /* the hub that ran them is gone */
    dt_metrics_free(st->metrics);    /* no request can observe any more */
    dt_jobs_api_free(st->jobs_api);  /* nor take a lock */
}

/* Defaults, the configuration file, the environment, the flags. -1:
 * --help was shown. */
static int
serve_options(struct serve_opts *o, int argc, char **argv)
{
    bool help;
    const char *path = serve_config_flag(argc, argv, &help);
    int rc;

    serve_defaults(o);
    if (help) {
        serve_usage(stdout);
        return -1;
    }
    rc = dt_cli_config_load(&o->cfg, path);
    if (rc == DT_EXIT_OK)
        rc = serve_apply_config(o);
    if (rc == DT_EXIT_OK)
        rc = serve_env(o);
    if (rc == DT_EXIT_OK)
        rc = serve_flags(o, argc, argv);
    return rc;
}

int
dt_cli_serve(int argc, char **argv)
{
    struct serve_state st = {0};
    struct serve_opts o;
    sigset_t sigs;
    int rc, sig = 0;

    rc = serve_options(&o, argc, argv);
    if (rc == DT_EXIT_OK)
        rc = serve_check_exposure(&o);
    if (rc != DT_EXIT_OK)
        goto out_opts;
    dt_log_setup((enum dt_log_level)o.log_level, NULL);
    /* Blocked before any thread exists, so every thread inherits it and
     * only sigwait below sees the signals. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    /* A line per submission: batched by a log thread (synchronous if it
     * cannot start). */
    (void)dt_log_async_start();
    signal(SIGPIPE, SIG_IGN);
    rc = serve_open_hub(&st, &o);
    if (rc == DT_EXIT_OK)
        rc = serve_start_http(&st, &o);
    if (rc == DT_EXIT_OK) {
        serve_announce(&st, &o);
        dt_log(DT_LOG_INFO, "serving", "store", o.store, NULL);
        sigwait(&sigs, &sig);
        dt_log(DT_LOG_INFO, "stopping", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM", NULL);
    }
    serve_close(&st);
    if (rc == DT_EXIT_OK)
        dt_log(DT_LOG_INFO, "stopped", NULL);
    dt_log_async_stop();

out_opts:
    free(o.env_keys);
    dt_config_release(&o.cfg);
    return rc < 0 ? DT_EXIT_OK : rc;
}
