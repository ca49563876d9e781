/*
 * serve.c — `durata serve`: the hub over a SQLite store behind the HTTP
 * server, until SIGTERM or SIGINT.
 *
 * Owns: reading options (defaults, then DURATA_* environment variables,
 * then flags), the refusal to listen beyond loopback without an API key,
 * the start order (hub open, registration, hub start, HTTP server, ready)
 * and the stop order (not ready, HTTP server stopped so running requests
 * finish, hub stopped, store closed). stdout carries exactly two lines:
 * "listening on http://HOST:PORT" and a curl line to try; everything else
 * goes to stderr.
 * Threading: main thread; SIGINT/SIGTERM are blocked in every thread and
 * taken with sigwait here, so no handler runs asynchronously.
 */
#include "cli/cli.h"

#include "base/log.h"
#include "http/http.h"
#include "workers/jobs.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVE_MAX_KEYS 16
/* Handlers block while the hub makes a request durable, and a pool thread
 * serves its connections one request at a time, so the thread count bounds
 * the requests in progress; group commit needs many in progress at once. */
#define SERVE_DEFAULT_THREADS 64

struct serve_opts {
    char host[256];
    int port;
    const char *store;
    const char *keys[SERVE_MAX_KEYS + 1]; /* NULL-terminated */
    size_t n_keys;
    char *env_keys; /* DURATA_API_KEY copy, split in place */
    unsigned threads;
    int log_level;
};

static void
serve_usage(FILE *out)
{
    fprintf(out, "usage: durata serve [--listen HOST:PORT] [--store PATH] [--api-key KEY]...\n"
                 "                    [--threads N] [--log-level LEVEL]\n"
                 "\n"
                 "Runs the durable task hub behind its HTTP API (/api/jobs, the Durable\n"
                 "Functions API under /runtime/webhooks/durabletask, /healthz, /readyz).\n"
                 "\n"
                 "  --listen HOST:PORT  address to listen on (default 127.0.0.1:8080; port 0\n"
                 "                      picks a free port; IPv6 as [::1]:8080)\n"
                 "  --store PATH        SQLite file (default ./durata.db, created if missing)\n"
                 "  --api-key KEY       require this key (repeatable); clients send it as the\n"
                 "                      x-functions-key header, the code query parameter or\n"
                 "                      Authorization: Bearer KEY. Without a key the server only\n"
                 "                      listens on loopback addresses.\n"
                 "  --threads N         HTTP handler threads, the most requests in progress at\n"
                 "                      once (default 64)\n"
                 "  --log-level LEVEL   debug, info, warn, error or off (default info)\n"
                 "  -h, --help          show this text\n"
                 "\n"
                 "Environment: DURATA_LISTEN, DURATA_STORE, DURATA_API_KEY (comma-separated\n"
                 "keys), DURATA_THREADS, DURATA_LOG_LEVEL; flags override them.\n"
                 "Prints 'listening on http://HOST:PORT' once ready; SIGTERM or SIGINT stops\n"
                 "it cleanly (exit 0). Exit 1 when the store or the address cannot be used,\n"
                 "2 on bad usage.\n");
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
set_log_level(struct serve_opts *o, const char *text)
{
    o->log_level = dt_log_level_parse(text);
    if (o->log_level < 0)
        return usage_error("unknown log level (use debug, info, warn, error or off):", text);
    return DT_EXIT_OK;
}

/* Defaults, then the DURATA_* environment. */
static int
serve_defaults(struct serve_opts *o)
{
    const char *v;
    int rc = DT_EXIT_OK;

    memset(o, 0, sizeof(*o));
    snprintf(o->host, sizeof(o->host), "127.0.0.1");
    o->port = 8080;
    o->store = "./durata.db";
    o->log_level = DT_LOG_INFO;
    o->threads = SERVE_DEFAULT_THREADS;
    if ((v = getenv("DURATA_LISTEN")) && *v)
        rc = set_listen(o, v);
    if (rc == DT_EXIT_OK && (v = getenv("DURATA_STORE")) && *v)
        o->store = v;
    if (rc == DT_EXIT_OK && (v = getenv("DURATA_THREADS")) && *v)
        rc = set_threads(o, v);
    if (rc == DT_EXIT_OK && (v = getenv("DURATA_LOG_LEVEL")) && *v)
        rc = set_log_level(o, v);
    if (rc == DT_EXIT_OK && (v = getenv("DURATA_API_KEY")) && *v) {
        o->env_keys = strdup(v);
        if (!o->env_keys)
            return DT_EXIT_FAIL;
        for (char *save = NULL, *k = strtok_r(o->env_keys, ",", &save); k && !rc;
             k = strtok_r(NULL, ",", &save))
            rc = add_key(o, k);
    }
    return rc;
}

/* The flags, over what serve_defaults set. -1: --help was shown. */
static int
serve_flags(struct serve_opts *o, int argc, char **argv)
{
    static const struct option longs[] = {
        {"listen", required_argument, NULL, 'l'},
        {"store", required_argument, NULL, 's'},
        {"api-key", required_argument, NULL, 'k'},
        {"threads", required_argument, NULL, 't'},
        {"log-level", required_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool flag_keys = false;
    int c, rc = DT_EXIT_OK;

    opterr = 0;
    optind = 1;
    while (rc == DT_EXIT_OK && (c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        switch (c) {
        case 'l':
            rc = set_listen(o, optarg);
            break;
        case 's':
            o->store = optarg;
            break;
        case 'k':
            if (!flag_keys) /* flags replace the environment's keys */
                o->n_keys = 0;
            flag_keys = true;
            rc = add_key(o, optarg);
            break;
        case 't':
            rc = set_threads(o, optarg);
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
    const struct dt_route *routes[4];
    const char **job_names;
};

static int
serve_open_hub(struct serve_state *st, const struct serve_opts *o)
{
    struct durata_hub_options ho = {.store_path = o->store};
    const struct dt_job_type *types;
    size_t n = 0;
    int rc;

    rc = durata_hub_open(&st->hub, &ho);
    if (rc < 0) {
        fprintf(stderr, "durata serve: cannot open the store %s: %s\n", o->store,
                durata_strerror(rc));
        return DT_EXIT_FAIL;
    }
    types = dt_jobs_demo_types(&n);
    st->job_names = calloc(n + 1, sizeof(*st->job_names));
    if (!st->job_names)
        rc = DURATA_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++)
        st->job_names[i] = types[i].name;
    if (rc == 0)
        rc = durata_register_builtins(st->hub);
    if (rc == 0)
        rc = dt_jobs_register(st->hub, types, n);
    if (rc == 0)
        rc = durata_hub_start(st->hub);
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
    st->cfg.api_keys = o->n_keys ? o->keys : NULL;
    st->routes[0] = dt_ops_routes;
    st->routes[1] = dt_df_routes;
    st->routes[2] = dt_jobs_routes;
    st->routes[3] = NULL;
    st->app.hub = st->hub;
    st->app.config = &st->cfg;
    st->app.routes = st->routes;
    st->app.job_types = st->job_names;
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
    dt_http_server_stop(st->srv); /* running requests finish first */
    if (st->hub)
        durata_hub_stop(st->hub);
    durata_hub_close(st->hub);
    free(st->job_names);
}

int
dt_cli_serve(int argc, char **argv)
{
    struct serve_state st = {0};
    struct serve_opts o;
    sigset_t sigs;
    int rc, sig = 0;

    rc = serve_defaults(&o);
    if (rc == DT_EXIT_OK)
        rc = serve_flags(&o, argc, argv);
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

out_opts:
    free(o.env_keys);
    return rc < 0 ? DT_EXIT_OK : rc;
}
