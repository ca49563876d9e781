/*
 * http_floor.c — bench_http_floor: what libmicrohttpd alone costs a
 * request on this machine, set up as `durata serve` sets it up, so the
 * figures of bench_http can be read against a floor no server built on it
 * can go below.
 *
 * It runs itself as the server (`bench_http_floor serve ...`, started and
 * stopped by PID like durata in bench_http) and loads it with bench_http's
 * client: C keep-alive connections (default 50) POSTing the body of a job
 * submission. The server does no work of its own: it reads the body and
 * answers 202 with Location, Retry-After and a body of the size of
 * durata's submission answer. Two modes, one server each:
 *  - at once: the answer is queued from the access handler;
 *  - deferred: the connection is suspended and a "commit" thread resumes
 *    every suspended connection each COMMIT_US (default 200 µs), as the
 *    group commit of durata's store does (without any I/O), so what is
 *    measured is the suspend/resume round of a durable answer.
 * The daemon's options are those of src/http/server.c: a thread pool of
 * SRV_POLL_PER_CPU (4) threads a CPU, 16 KiB of memory a connection,
 * inter-thread wake-ups (ITC) for resumes, epoll.
 *
 * Output: per mode, requests/s, latency p50/p99 and the CPU a request of
 * the server and of the client; a JSON line at the end.
 * Threading: the driver is one thread; the server has libmicrohttpd's
 * pool and the commit thread.
 */
#include "http_load.h"
#include "http_proc.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FLOOR_POLL_PER_CPU 4 /* as SRV_POLL_PER_CPU in src/http/server.c */
#define FLOOR_CONNECTION_MEMORY (16 * 1024)
#define FLOOR_BODY_MAX (64 * 1024)
#define FLOOR_REQ_MAX 2048
#define FLOOR_SUBMISSION "{\"job_type\":\"sleep\",\"payload\":{\"ms\":3600000}}"

/* ------------------------------------------------------------ server */

struct floor_req {
    struct MHD_Connection *conn;
    bool waiting; /* suspended, in the commit thread's list */
    bool answered;
    struct floor_req *next;
};

struct floor_server {
    const char *body;
    size_t body_len;
    bool deferred;
    long commit_us;
    pthread_mutex_t mu; /* guards pending and stop */
    struct floor_req *pending;
    bool stop;
};

static volatile sig_atomic_t floor_stop;

static void
on_term(int sig)
{
    (void)sig;
    floor_stop = 1;
}

static enum MHD_Result
floor_answer(struct floor_server *fs, struct MHD_Connection *c)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(fs->body_len, (void *)fs->body, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;

    if (!r)
        return MHD_NO;
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                  "application/json; charset=utf-8");
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, "http://127.0.0.1/api/jobs/x");
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "2");
    ret = MHD_queue_response(c, 202, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result
floor_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
             const char *version, const char *upload, size_t *upload_size, void **ctx)
{
    struct floor_server *fs = cls;
    struct floor_req *q = *ctx;

    (void)url;
    (void)method;
    (void)version;
    (void)upload;
    if (!q) {
        if (!(q = calloc(1, sizeof(*q))))
            return MHD_NO;
        q->conn = c;
        *ctx = q;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0; /* the body is read and dropped */
        return MHD_YES;
    }
    if (!fs->deferred || q->answered)
        return floor_answer(fs, c);
    if (q->waiting)
        return MHD_YES;
    q->waiting = true;
    pthread_mutex_lock(&fs->mu);
    MHD_suspend_connection(c);
    q->next = fs->pending;
    fs->pending = q;
    pthread_mutex_unlock(&fs->mu);
    return MHD_YES;
}

static void
floor_completed(void *cls, struct MHD_Connection *c, void **ctx,
                enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)c;
    (void)code;
    free(*ctx);
    *ctx = NULL;
}

/* Resumes every suspended connection each commit_us, until stopped. */
static void *
floor_commit_main(void *arg)
{
    struct floor_server *fs = arg;
    struct timespec pause = {0, fs->commit_us * 1000L};
    bool stop = false;

    pthread_setname_np(pthread_self(), "floor-commit");
    while (!stop) {
        nanosleep(&pause, NULL);
        pthread_mutex_lock(&fs->mu);
        struct floor_req *q = fs->pending;
        fs->pending = NULL;
        stop = fs->stop;
        pthread_mutex_unlock(&fs->mu);
        while (q) {
            struct floor_req *next = q->next;
            q->answered = true;
            MHD_resume_connection(q->conn);
            q = next;
        }
    }
    return NULL;
}

/* A JSON body of `size` bytes, the size of durata's answer. */
static char *
floor_body(size_t size)
{
    static const char head[] = "{\"status\":\"accepted\",\"pad\":\"";
    char *b = malloc(size + 1);

    if (!b)
        return NULL;
    memset(b, 'x', size);
    memcpy(b, head, sizeof(head) - 1);
    b[size - 2] = '"';
    b[size - 1] = '}';
    b[size] = '\0';
    return b;
}

/* `bench_http_floor serve --listen 127.0.0.1:0 --store X [--mode M]
 * [--commit-us U] [--body-bytes B]`, as http_proc.c starts it. */
static int
serve_main(int argc, char **argv)
{
    struct floor_server fs = {.commit_us = 200, .body_len = 1900};
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    unsigned pool = FLOOR_POLL_PER_CPU * (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    struct MHD_Daemon *d;
    pthread_t commit;
    char *body;

    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--mode") == 0)
            fs.deferred = strcmp(argv[i + 1], "deferred") == 0;
        else if (strcmp(argv[i], "--commit-us") == 0)
            fs.commit_us = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--body-bytes") == 0)
            fs.body_len = (size_t)strtoul(argv[i + 1], NULL, 10);
    }
    if (fs.body_len < 64 || fs.body_len > FLOOR_BODY_MAX || fs.commit_us < 1 ||
        fs.commit_us > 999999) {
        fprintf(stderr, "bench_http_floor serve: bad --body-bytes or --commit-us\n");
        return 2;
    }
    if (!(body = floor_body(fs.body_len)))
        return 1;
    fs.body = body;
    pthread_mutex_init(&fs.mu, NULL);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    if (pthread_create(&commit, NULL, floor_commit_main, &fs) != 0)
        return 1;
    d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME, 0,
                         NULL, NULL, floor_access, &fs, MHD_OPTION_SOCK_ADDR, &addr,
                         MHD_OPTION_THREAD_POOL_SIZE, pool, MHD_OPTION_CONNECTION_LIMIT, 1024u,
                         MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                         (size_t)FLOOR_CONNECTION_MEMORY, MHD_OPTION_NOTIFY_COMPLETED,
                         floor_completed, NULL, MHD_OPTION_END);
    if (d) {
        printf("listening on http://127.0.0.1:%u\n",
               (unsigned)MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
        fflush(stdout);
        while (!floor_stop)
            pause();
    }
    /* The commit thread resumes what is still suspended before it ends,
     * so the daemon can stop. */
    pthread_mutex_lock(&fs.mu);
    fs.stop = true;
    pthread_mutex_unlock(&fs.mu);
    pthread_join(commit, NULL);
    if (d)
        MHD_stop_daemon(d);
    pthread_mutex_destroy(&fs.mu);
    free(body);
    return d ? 0 : 1;
}

/* ------------------------------------------------------------ driver */

struct floor_opts {
    size_t n, connections;
    const char *commit_us, *body_bytes;
    const char *dir; /* for the server's (empty) work directory */
    const char *self;
};

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* One server in `mode`, loaded with o->n submissions. */
static int
run_mode(const struct floor_opts *o, const char *mode, double *rate)
{
    const char *args[] = {"--mode",     mode,           "--commit-us",
                          o->commit_us, "--body-bytes", o->body_bytes};
    int64_t *lat = calloc(o->n, sizeof(*lat));
    char req[FLOOR_REQ_MAX];
    struct hp_server s = {0};
    struct hp_cpu a, b;
    struct hl_run r;
    int rc = -1;

    if (!lat || hp_workdir_make(o->dir, &s) < 0) {
        free(lat);
        return -1;
    }
    if (hp_server_start(&s, o->self, args, sizeof(args) / sizeof(args[0])) < 0)
        goto out_dir;
    snprintf(req, sizeof(req),
             "POST /api/jobs HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             s.host, strlen(FLOOR_SUBMISSION), FLOOR_SUBMISSION);
    r = (struct hl_run){.addr = s.addr,
                        .connections = o->connections,
                        .total = o->n,
                        .request = req,
                        .request_len = strlen(req),
                        .expect_status = 202,
                        .lat_us = lat};
    hp_cpu_snapshot(s.pid, &a);
    if (hl_run(&r) == 0 && r.bad == 0) {
        hp_cpu_snapshot(s.pid, &b);
        qsort(lat, o->n, sizeof(*lat), cmp_i64);
        *rate = (double)o->n / r.seconds;
        printf("libmicrohttpd alone, %-8s answers: %8.0f req/s   latency p50 %.2f ms, p99 %.2f "
               "ms\n",
               mode, *rate, (double)lat[o->n / 2] / 1e3, (double)lat[o->n * 99 / 100] / 1e3);
        hp_cpu_report(mode, &a, &b, r.seconds, o->n, true);
        rc = 0;
    } else {
        fprintf(stderr, "bench_http_floor: the %s run failed (%zu bad answers)\n", mode, r.bad);
    }
    if (hp_server_stop(&s) != 0)
        rc = -1;
out_dir:
    hp_workdir_remove(&s);
    free(lat);
    return rc;
}

static int
usage(void)
{
    fprintf(stderr, "usage: bench_http_floor [--n N] [--connections C] [--commit-us U]\n"
                    "                        [--body-bytes B]\n"
                    "  --n N            requests per mode (default 200000)\n"
                    "  --connections C  keep-alive connections (default 50)\n"
                    "  --commit-us U    deferred mode: resume every U microseconds (200)\n"
                    "  --body-bytes B   the answer's body (default 1900, durata's 202)\n");
    return 2;
}

int
main(int argc, char **argv)
{
    struct floor_opts o = {
        .n = 200000, .connections = 50, .commit_us = "200", .body_bytes = "1900"};
    const char *tmp = getenv("TMPDIR");
    double at_once = 0, deferred = 0;
    char self[4096];
    ssize_t len;

    if (argc > 1 && strcmp(argv[1], "serve") == 0)
        return serve_main(argc, argv);
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc)
            return usage();
        if (strcmp(argv[i], "--n") == 0)
            o.n = (size_t)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--connections") == 0)
            o.connections = (size_t)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--commit-us") == 0)
            o.commit_us = argv[i + 1];
        else if (strcmp(argv[i], "--body-bytes") == 0)
            o.body_bytes = argv[i + 1];
        else
            return usage();
    }
    if (o.n < 100 || o.connections < 1 || o.connections > o.n)
        return usage();
    /* The server is this very program, run again as `serve`. */
    if ((len = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
        return 1;
    self[len] = '\0';
    o.self = self;
    o.dir = tmp && *tmp ? tmp : "/tmp";
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    if (run_mode(&o, "at-once", &at_once) < 0 || run_mode(&o, "deferred", &deferred) < 0)
        return 1;
    printf("{\"bench\":\"http_floor\",\"n\":%zu,\"connections\":%zu,\"at_once_per_s\":%.1f,"
           "\"deferred_per_s\":%.1f}\n",
           o.n, o.connections, at_once, deferred);
    return 0;
}
