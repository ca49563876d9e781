/*
 * harness.c — starting the real `durata serve` for end-to-end tests and
 * talking to it with libcurl (contract in harness.h).
 *
 * Owns: the server's temporary directory (store and log file), its
 * process (started with fork/exec, stdout and stderr appended to the log,
 * stopped by PID only), and the libcurl easy handles of each request.
 * Startup never sleeps a fixed time: it polls the log for the
 * "listening on" line, then GET /readyz, every 20 ms, up to 20 s.
 * Threading: one server per test; e2e_request* may run on several threads
 * at once (libcurl's global init is done once, under pthread_once).
 */
#include "harness.h"
#include "support/curl_capture.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define E2E_START_TIMEOUT_MS 20000
#define E2E_STOP_GRACE_MS 10000
#define E2E_POLL_MS 20
#define E2E_MAX_ARGS 64

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int64_t
e2e_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ------------------------------------------------------------ process */

static void
print_log(const struct e2e_server *s)
{
    char buf[4096];
    FILE *f = fopen(s->log, "r");
    size_t n;

    fprintf(stderr, "---- durata log (%s) ----\n", s->log);
    if (!f)
        return;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        fwrite(buf, 1, n, stderr);
    fclose(f);
    fprintf(stderr, "---- end of log ----\n");
}

/* Forks and execs DURATA_BIN serve ... with output appended to s->log. */
static pid_t
spawn_server(const struct e2e_server *s, const char *const *extra)
{
    const char *bin = getenv("DURATA_BIN");
    const char *argv[E2E_MAX_ARGS];
    size_t n = 0;
    pid_t pid;
    int fd;

    if (!bin || !*bin) {
        fprintf(stderr, "e2e: DURATA_BIN is not set\n");
        return -1;
    }
    argv[n++] = bin;
    argv[n++] = "serve";
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--store";
    argv[n++] = s->store;
    for (size_t i = 0; extra && extra[i] && n < E2E_MAX_ARGS - 1; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        execv(bin, (char *const *)argv);
        fprintf(stderr, "e2e: cannot run %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    close(fd);
    return pid;
}

/* Looks for "listening on http://HOST:PORT" after byte `from` of the log. */
static bool
find_listen_line(struct e2e_server *s, long from)
{
    char line[1024];
    const char *key = "listening on http://";
    FILE *f = fopen(s->log, "r");
    bool found = false;

    if (!f)
        return false;
    if (fseek(f, from, SEEK_SET) == 0) {
        while (!found && fgets(line, sizeof(line), f)) {
            char *p = strstr(line, key), *colon;
            if (!p || !strchr(p, '\n'))
                continue;
            p[strcspn(p, "\r\n")] = '\0';
            colon = strrchr(p + strlen(key), ':');
            if (!colon)
                continue;
            s->port = (int)strtol(colon + 1, NULL, 10);
            snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
            found = s->port > 0;
        }
    }
    fclose(f);
    return found;
}

static long
log_size(const struct e2e_server *s)
{
    struct stat st;

    return stat(s->log, &st) == 0 ? (long)st.st_size : 0;
}

/* true while the server process lives (reaps it when it has exited). */
static bool
server_alive(struct e2e_server *s)
{
    int status;

    if (s->pid <= 0)
        return false;
    if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
        fprintf(stderr, "e2e: durata exited early (status 0x%x)\n", status);
        s->pid = 0;
        return false;
    }
    return true;
}

static bool
wait_ready(struct e2e_server *s, long log_from)
{
    int64_t deadline = e2e_now_ms() + E2E_START_TIMEOUT_MS;
    struct e2e_resp r;

    while (!find_listen_line(s, log_from)) {
        if (!server_alive(s) || e2e_now_ms() > deadline)
            return false;
        sleep_ms(E2E_POLL_MS);
    }
    while (e2e_now_ms() <= deadline && server_alive(s)) {
        if (e2e_request(s, "GET", "/readyz", NULL, NULL, &r) == 0 && r.status == 200) {
            e2e_resp_release(&r);
            return true;
        }
        e2e_resp_release(&r);
        sleep_ms(E2E_POLL_MS);
    }
    return false;
}

/* Starts the process on s's directory and waits until it is ready. */
static int
launch(struct e2e_server *s, const char *const *extra_args)
{
    long from = log_size(s);

    s->port = 0;
    s->base[0] = '\0';
    s->pid = spawn_server(s, extra_args);
    if (s->pid < 0) {
        s->pid = 0;
        return -1;
    }
    if (wait_ready(s, from))
        return 0;
    fprintf(stderr, "e2e: durata did not become ready\n");
    if (s->pid > 0)
        (void)e2e_stop(s);
    print_log(s);
    return -1;
}

int
e2e_start(struct e2e_server *s, const char *const *extra_args)
{
    const char *root = getenv("DURATA_TEST_TMP");

    memset(s, 0, sizeof(*s));
    if (!root || !*root)
        root = "/tmp";
    mkdir(root, 0755);
    snprintf(s->dir, sizeof(s->dir), "%s/durata-e2e-XXXXXX", root);
    if (!mkdtemp(s->dir)) {
        fprintf(stderr, "e2e: mkdtemp %s: %s\n", s->dir, strerror(errno));
        s->dir[0] = '\0';
        return -1;
    }
    snprintf(s->store, sizeof(s->store), "%s/durata.db", s->dir);
    snprintf(s->log, sizeof(s->log), "%s/server.log", s->dir);
    pthread_once(&curl_once, curl_init_once);
    return launch(s, extra_args);
}

int
e2e_restart(struct e2e_server *s, const char *const *extra_args)
{
    if (s->pid > 0)
        (void)e2e_stop(s);
    return launch(s, extra_args);
}

int
e2e_stop(struct e2e_server *s)
{
    int64_t deadline = e2e_now_ms() + E2E_STOP_GRACE_MS;
    int status = 0;
    pid_t got = 0;

    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    while ((got = waitpid(s->pid, &status, WNOHANG)) == 0 && e2e_now_ms() < deadline)
        sleep_ms(10);
    if (got == 0) {
        fprintf(stderr, "e2e: durata ignored SIGTERM for %d ms; killing it\n", E2E_STOP_GRACE_MS);
        kill(s->pid, SIGKILL);
        got = waitpid(s->pid, &status, 0);
    }
    s->pid = 0;
    return got > 0 ? status : -1;
}

void
e2e_kill(struct e2e_server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGKILL);
    (void)waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

static int
remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void
e2e_cleanup(struct e2e_server *s)
{
    if (s->pid > 0)
        (void)e2e_stop(s);
    if (s->dir[0])
        (void)nftw(s->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    s->dir[0] = '\0';
}

/* ------------------------------------------------------------ HTTP */

static bool
has_header(const char *const *headers, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; headers && headers[i]; i++)
        if (strncasecmp(headers[i], name, n) == 0 && headers[i][n] == ':')
            return true;
    return false;
}

/* The request's header list: the caller's, plus Content-Type JSON when a
 * body is sent without one, and no "Expect: 100-continue" unless asked. */
static struct curl_slist *
header_list(const char *const *extra, bool sends_body)
{
    struct curl_slist *list = NULL;

    if (!has_header(extra, "Expect"))
        list = curl_slist_append(list, "Expect:");
    if (sends_body && !has_header(extra, "Content-Type"))
        list = curl_slist_append(list, "Content-Type: application/json");
    for (size_t i = 0; extra && extra[i]; i++)
        list = curl_slist_append(list, extra[i]);
    return list;
}

int
e2e_request_url(const char *method, const char *url, const char *body,
                const char *const *extra_headers, struct e2e_resp *out)
{
    struct tc_capture b = {0}, h = {0};
    bool sends_body = body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
    struct curl_slist *list;
    CURLcode rc = CURLE_FAILED_INIT;
    CURL *c;

    memset(out, 0, sizeof(*out));
    pthread_once(&curl_once, curl_init_once);
    list = header_list(extra_headers, sends_body);
    c = curl_easy_init();
    if (c) {
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (strcmp(method, "HEAD") == 0)
            curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        if (sends_body) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? strlen(body) : 0));
        }
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tc_on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, tc_on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
        rc = curl_easy_perform(c);
        if (rc == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
        curl_easy_cleanup(c);
    }
    curl_slist_free_all(list);
    out->body = b.data ? b.data : strdup("");
    out->body_len = b.len;
    out->headers = h.data ? h.data : strdup("");
    return rc == CURLE_OK ? 0 : -1;
}

int
e2e_request(const struct e2e_server *s, const char *method, const char *path, const char *body,
            const char *const *extra_headers, struct e2e_resp *out)
{
    size_t n = strlen(s->base) + strlen(path) + 1;
    char *url = malloc(n);
    int rc;

    if (!url) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    snprintf(url, n, "%s%s", s->base, path);
    rc = e2e_request_url(method, url, body, extra_headers, out);
    free(url);
    return rc;
}

char *
e2e_header(const struct e2e_resp *r, const char *name)
{
    size_t n = strlen(name);

    for (const char *line = r->headers; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);

        if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            len -= (size_t)(v - line);
            while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == ' '))
                len--;
            return strndup(v, len);
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

void
e2e_resp_release(struct e2e_resp *r)
{
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof(*r));
}

bool
e2e_wait_field(const struct e2e_server *s, const char *path, const char *field, const char *want,
               int timeout_ms)
{
    int64_t deadline = e2e_now_ms() + timeout_ms;

    for (;;) {
        struct e2e_resp r;
        bool match = false;

        if (e2e_request(s, "GET", path, NULL, NULL, &r) == 0) {
            json_t *v = json_loads(r.body, 0, NULL);
            const char *got = json_string_value(json_object_get(v, field));
            match = got && strcmp(got, want) == 0;
            json_decref(v);
        }
        e2e_resp_release(&r);
        if (match)
            return true;
        if (e2e_now_ms() > deadline)
            return false;
        sleep_ms(E2E_POLL_MS);
    }
}
