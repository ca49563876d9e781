/*
 * test_core.c — the server core of the real binary: health and readiness,
 * unknown routes, a catalogue of bad inputs (malformed request lines over
 * a raw socket, huge headers and URLs, oversize bodies, path tricks, wrong
 * content type), each answered with its code and the server healthy
 * after; API keys; SIGTERM exiting 0; and the command line (usage, exit
 * codes, the two stdout lines, refusing 0.0.0.0 without an API key).
 */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int
setup(void **state)
{
    struct e2e_server *s = calloc(1, sizeof(*s));

    if (!s || e2e_start(s, NULL) != 0) {
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

static const char *const key_args[] = {"--api-key", "k-one", "--api-key", "k-two", NULL};

static int
setup_keys(void **state)
{
    struct e2e_server *s = calloc(1, sizeof(*s));

    if (!s || e2e_start(s, key_args) != 0) {
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

/* Stops the server and checks it exited 0 (under the sanitizers a leak or
 * an error report makes the exit code non-zero), then cleans up. */
static int
teardown(void **state)
{
    struct e2e_server *s = *state;
    int status = s->pid > 0 ? e2e_stop(s) : 0;
    bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;

    if (!clean) {
        char line[512];
        FILE *f = fopen(s->log, "r");
        fprintf(stderr, "durata did not exit cleanly (status 0x%x); its log:\n", status);
        while (f && fgets(line, sizeof(line), f))
            fputs(line, stderr);
        if (f)
            fclose(f);
    }
    e2e_cleanup(s);
    free(s);
    return clean ? 0 : -1;
}

/* One request; asserts the transport worked and the status is `status`. */
static void
expect(struct e2e_server *s, const char *method, const char *path, const char *body,
       const char *const *headers, long status, struct e2e_resp *r)
{
    assert_int_equal(e2e_request(s, method, path, body, headers, r), 0);
    if (r->status != status)
        fprintf(stderr, "%s %s: got %ld, want %ld: %s\n", method, path, r->status, status, r->body);
    assert_int_equal(r->status, status);
}

/* The body is {"error":{"code":code,"message":string}} sent as JSON. */
static void
assert_json_error(const struct e2e_resp *r, const char *code)
{
    json_t *v = json_loads(r->body, 0, NULL);
    char *ct = e2e_header(r, "Content-Type");

    assert_non_null(v);
    assert_true(json_is_string(json_object_get(json_object_get(v, "error"), "message")));
    if (code)
        assert_string_equal(json_string_value(json_object_get(json_object_get(v, "error"), "code")),
                            code);
    json_decref(v);
    assert_non_null(ct);
    assert_string_equal(ct, "application/json; charset=utf-8");
    free(ct);
}

static void
assert_healthy(struct e2e_server *s)
{
    struct e2e_resp r;

    expect(s, "GET", "/healthz", NULL, NULL, 200, &r);
    assert_string_equal(r.body, "{\"status\":\"ok\"}");
    e2e_resp_release(&r);
    expect(s, "GET", "/readyz", NULL, NULL, 200, &r);
    e2e_resp_release(&r);
}

static void
test_health_and_readiness(void **state)
{
    struct e2e_server *s = *state;
    struct e2e_resp r;
    char *h;

    expect(s, "GET", "/healthz", NULL, NULL, 200, &r);
    assert_string_equal(r.body, "{\"status\":\"ok\"}");
    h = e2e_header(&r, "Content-Length");
    assert_non_null(h);
    assert_string_equal(h, "15");
    free(h);
    h = e2e_header(&r, "content-type");
    assert_string_equal(h, "application/json; charset=utf-8");
    free(h);
    e2e_resp_release(&r);
    expect(s, "GET", "/readyz", NULL, NULL, 200, &r);
    assert_string_equal(r.body, "{\"status\":\"ready\"}");
    e2e_resp_release(&r);
    assert_true(e2e_wait_field(s, "/readyz", "status", "ready", 1000));
}

static void
test_unknown_routes_and_wrong_methods_are_404(void **state)
{
    struct e2e_server *s = *state;
    const char *cases[][2] = {
        {"GET", "/nope"},
        {"GET", "/"},
        {"GET", "/api"},
        {"POST", "/healthz"},
        {"DELETE", "/readyz"},
        {"PUT", "/api/jobs"},
        {"PATCH", "/api/jobs/abc"},
        {"GET", "/api/jobs/abc/history/extra"},
        {"GET", "/runtime/webhooks/durabletask/instances/x/unknownOp"},
        {"GET", "/runtime/webhooks/durabletask/instances/x/terminate"},
        {"OPTIONS", "/api/jobs"},
    };
    struct e2e_resp r;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect(s, cases[i][0], cases[i][1], NULL, NULL, 404, &r);
        assert_json_error(&r, "not_found");
        e2e_resp_release(&r);
    }
    assert_healthy(s);
}

/* ------------------------------------------------------------ raw socket */

/* Sends raw bytes on a fresh connection and reads until the server closes
 * or the response is complete (headers + Content-Length). Returns the
 * status, or 0 when the server closed without answering. */
static long
raw_exchange(const struct e2e_server *s, const char *data, size_t len)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    char buf[65536];
    size_t got = 0;
    long status = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    (void)send(fd, data, len, MSG_NOSIGNAL);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;
        char *end, *cl;

        assert_true(poll(&p, 1, 10000) == 1); /* never left hanging */
        n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
        end = strstr(buf, "\r\n\r\n");
        cl = strcasestr(buf, "\r\nContent-Length:");
        if (end && cl && cl < end && got >= (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10))
            break;
    }
    close(fd);
    buf[got] = '\0';
    if (got > 12 && strncmp(buf, "HTTP/1.", 7) == 0)
        status = strtol(buf + 9, NULL, 10);
    return status;
}

struct raw_case {
    const char *what;
    const char *data;
    long status; /* 0: libmicrohttpd closes without an answer */
};

static void
test_malformed_requests_over_a_raw_socket(void **state)
{
    struct e2e_server *s = *state;
    const struct raw_case cases[] = {
        {"not HTTP", "GARBAGE\r\n\r\n", 0},
        {"no target", "GET\r\n\r\n", 0},
        {"TLS hello", "\x16\x03\x01\x02\x01\x01\x01\x01\xfc\x03\x03\r\n\r\n", 0},
        {"HTTP/9.9", "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 505},
        {"bad length", "POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400},
        {"bad chunk",
         "POST /api/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
        {"header without colon", "GET /healthz HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400},
        {"two lengths",
         "POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 4\r\n\r\n{}",
         400},
        {"length and chunked",
         "POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         400},
        {"unknown coding", "POST /api/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
         400},
        {"asterisk target", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"relative target", "GET healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"encoded NUL", "GET /api/jobs/%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"encoded NUL in query", "GET /api/jobs?status=%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"unknown method", "BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 404},
        {"absolute form", "GET http://example.com/healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200},
        {"bare LF", "GET /healthz HTTP/1.1\nHost: x\n\n", 200},
        {"HTTP/1.0", "GET /healthz HTTP/1.0\r\n\r\n", 200},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long got = raw_exchange(s, cases[i].data, strlen(cases[i].data));
        if (got != cases[i].status)
            fprintf(stderr, "raw case '%s': got %ld, want %ld\n", cases[i].what, got,
                    cases[i].status);
        assert_int_equal(got, cases[i].status);
        assert_healthy(s);
    }
}

static void
test_huge_headers_and_urls_are_refused(void **state)
{
    struct e2e_server *s = *state;
    size_t n = 100 * 1024;
    char *big = malloc(n + 64), *many = malloc(3000 * 32 + 64), *url = malloc(n + 64);
    const char *hdr[] = {big, NULL};
    size_t off;

    assert_non_null(big);
    assert_non_null(many);
    assert_non_null(url);
    /* Headers up to the documented ~15 KiB pass. */
    memcpy(big, "X-Big: ", 7);
    memset(big + 7, 'a', 14 * 1024);
    big[7 + 14 * 1024] = '\0';
    {
        struct e2e_resp r;
        expect(s, "GET", "/healthz", NULL, hdr, 200, &r);
        e2e_resp_release(&r);
    }
    /* One header larger than the per-connection memory. */
    memcpy(big, "X-Big: ", 7);
    memset(big + 7, 'a', n);
    big[7 + n] = '\0';
    {
        struct e2e_resp r;
        expect(s, "GET", "/healthz", NULL, hdr, 431, &r);
        e2e_resp_release(&r);
    }
    /* Thousands of small headers. */
    off = (size_t)snprintf(many, 64, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 3000; i++)
        off += (size_t)snprintf(many + off, 32, "X-H%d: vvvvvvvvvvvvvv\r\n", i);
    memcpy(many + off, "\r\n", 3);
    assert_int_equal(raw_exchange(s, many, off + 2), 431);
    assert_healthy(s);
    /* A 100 KiB URL. */
    memcpy(url, "GET /", 5);
    memset(url + 5, 'u', n);
    memcpy(url + 5 + n, " HTTP/1.1\r\nHost: x\r\n\r\n", 23);
    assert_int_equal(raw_exchange(s, url, 5 + n + 22), 414);
    assert_healthy(s);
    free(big);
    free(many);
    free(url);
}

static void
test_oversize_bodies_are_413(void **state)
{
    struct e2e_server *s = *state;
    const char *expect100[] = {"Expect: 100-continue", NULL};
    size_t n = 1024 * 1024 + 1, big = 8 * 1024 * 1024;
    char *body = malloc(big + 1);
    struct e2e_resp r;

    assert_non_null(body);
    memset(body, ' ', big);
    body[0] = '{';
    body[n - 1] = '}';
    body[n] = '\0';
    expect(s, "POST", "/api/jobs", body, NULL, 413, &r);
    assert_json_error(&r, "too_large");
    e2e_resp_release(&r);
    body[n - 1] = ' ';
    body[big - 1] = '}';
    body[big] = '\0';
    expect(s, "POST", "/api/jobs", body, expect100, 413, &r);
    assert_json_error(&r, "too_large");
    e2e_resp_release(&r);
    free(body);
    assert_healthy(s);
    /* The server still takes ordinary work. */
    expect(s, "POST", "/api/jobs", "{\"job_type\":\"echo\",\"payload\":{\"n\":1}}", NULL, 202, &r);
    e2e_resp_release(&r);
}

static void
test_path_tricks(void **state)
{
    struct e2e_server *s = *state;
    const struct {
        const char *path;
        long status;
        long alt; /* a second acceptable code (the API module decides), or 0 */
    } cases[] = {
        {"/api/jobs/../healthz", 404, 0},
        {"/%2e%2e/healthz", 404, 0},
        {"/healthz/..", 404, 0},
        {"/healthz/.", 404, 0},
        {"/api/jobs/%2e%2e", 404, 0},
        {"/api/jobs/.", 404, 0},
        {"/runtime/webhooks/durabletask/instances/%2E%2E", 404, 0},
        {"//healthz", 404, 0},
        {"/healthz%2F", 404, 0},
        {"/api/jobs/%00", 400, 0},
        {"/api/jobs/..%2f..%2fetc%2fpasswd", 400, 404},
        {"/api/jobs/a%5Cb", 400, 404},
        {"/HEALTHZ", 200, 0},
        {"/healthz/", 200, 0},
        {"/%68ealthz", 200, 0},
    };
    struct e2e_resp r;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(e2e_request(s, "GET", cases[i].path, NULL, NULL, &r), 0);
        if (r.status != cases[i].status && r.status != cases[i].alt)
            fprintf(stderr, "GET %s: got %ld\n", cases[i].path, r.status);
        assert_true(r.status == cases[i].status || r.status == cases[i].alt);
        if (r.status != 200)
            assert_json_error(&r, NULL);
        e2e_resp_release(&r);
    }
    assert_healthy(s);
}

static void
test_wrong_content_type_is_415(void **state)
{
    struct e2e_server *s = *state;
    const char *text[] = {"Content-Type: text/plain", NULL};
    const char *form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    const char *job = "{\"job_type\":\"echo\"}";
    struct e2e_resp r;

    expect(s, "POST", "/api/jobs", job, text, 415, &r);
    assert_json_error(&r, NULL);
    e2e_resp_release(&r);
    expect(s, "POST", "/api/jobs", job, form, 415, &r);
    assert_json_error(&r, NULL);
    e2e_resp_release(&r);
    expect(s, "POST", "/api/jobs", "{not json", NULL, 400, &r);
    assert_json_error(&r, NULL);
    e2e_resp_release(&r);
    assert_healthy(s);
}

static void
test_api_keys_in_each_form(void **state)
{
    struct e2e_server *s = *state;
    const char *hdr[] = {"x-functions-key: k-one", NULL};
    const char *bearer[] = {"Authorization: Bearer k-two", NULL};
    const char *wrong[] = {"x-functions-key: k-three", NULL};
    struct e2e_resp r;

    expect(s, "GET", "/api/jobs", NULL, NULL, 401, &r);
    assert_json_error(&r, "unauthorized");
    e2e_resp_release(&r);
    expect(s, "GET", "/api/jobs", NULL, wrong, 401, &r);
    e2e_resp_release(&r);
    expect(s, "GET", "/runtime/webhooks/durabletask/instances", NULL, NULL, 401, &r);
    e2e_resp_release(&r);
    expect(s, "GET", "/api/jobs", NULL, hdr, 200, &r);
    e2e_resp_release(&r);
    expect(s, "GET", "/api/jobs?code=k-two", NULL, NULL, 200, &r);
    e2e_resp_release(&r);
    expect(s, "GET", "/api/jobs", NULL, bearer, 200, &r);
    e2e_resp_release(&r);
    assert_healthy(s); /* probes need no key */
}

static void
test_sigterm_exits_zero(void **state)
{
    struct e2e_server *s = *state;
    struct e2e_resp r;
    int status;

    expect(s, "POST", "/api/jobs", "{\"job_type\":\"echo\"}", NULL, 202, &r);
    e2e_resp_release(&r);
    status = e2e_stop(s);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* It comes back on the same store. */
    assert_int_equal(e2e_restart(s, NULL), 0);
    assert_healthy(s);
}

/* ------------------------------------------------------------ CLI */

struct run {
    const char *const *env; /* "NAME=value" set in the child, or NULL */
    int status;             /* waitpid status */
    char out[8192];         /* stdout */
    char err[8192];         /* stderr */
};

static void
read_file(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;

    if (f) {
        n = fread(buf, 1, size - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
}

/* Runs DURATA_BIN with args (NULL-terminated) and stdout/stderr in files
 * under dir. When serve_lines > 0, waits for that many stdout lines, then
 * sends SIGTERM. Fails the test when the process outlives 20 s. */
static void
run_cli(const char *dir, const char *const *args, int serve_lines, struct run *out)
{
    char outp[600], errp[600];
    const char *argv[32];
    size_t n = 0;
    pid_t pid;

    snprintf(outp, sizeof(outp), "%s/cli.out", dir);
    snprintf(errp, sizeof(errp), "%s/cli.err", dir);
    argv[n++] = getenv("DURATA_BIN");
    assert_non_null(argv[0]);
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fo = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        unsetenv("DURATA_API_KEY");
        unsetenv("DURATA_LISTEN");
        for (size_t i = 0; out->env && out->env[i]; i++)
            putenv((char *)out->env[i]);
        dup2(fo, STDOUT_FILENO);
        dup2(fe, STDERR_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    for (int waited = 0; waited < 20000; waited += 10) {
        struct timespec ts = {0, 10 * 1000000L};
        int lines = 0;

        if (waitpid(pid, &out->status, WNOHANG) == pid)
            goto done;
        if (serve_lines > 0) {
            read_file(outp, out->out, sizeof(out->out));
            for (const char *p = out->out; (p = strchr(p, '\n')); p++)
                lines++;
            if (lines >= serve_lines) {
                kill(pid, SIGTERM);
                serve_lines = 0;
            }
        }
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &out->status, 0);
    fail_msg("durata did not exit in time");
done:
    read_file(outp, out->out, sizeof(out->out));
    read_file(errp, out->err, sizeof(out->err));
}

static void
assert_exit(const struct run *r, int code)
{
    if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != code)
        fprintf(stderr, "status 0x%x\nstdout: %s\nstderr: %s\n", r->status, r->out, r->err);
    assert_true(WIFEXITED(r->status));
    assert_int_equal(WEXITSTATUS(r->status), code);
}

static void
test_cli_usage_and_exit_codes(void **state)
{
    struct e2e_server *s = *state;
    struct run *r = calloc(1, sizeof(*r));
    char store[700];
    const char *no_args[] = {NULL};
    const char *help[] = {"--help", NULL};
    const char *serve_help[] = {"serve", "--help", NULL};
    const char *version[] = {"version", NULL};
    const char *unknown[] = {"frobnicate", NULL};
    const char *bad_flag[] = {"serve", "--bogus", NULL};
    const char *no_value[] = {"serve", "--listen", NULL};
    const char *bad_listen[] = {"serve", "--listen", "nonsense", NULL};
    const char *bad_port[] = {"serve", "--listen", "127.0.0.1:99999", NULL};
    const char *extra[] = {"serve", "stray", NULL};

    assert_non_null(r);
    snprintf(store, sizeof(store), "%s/other.db", s->dir);
    run_cli(s->dir, no_args, 0, r);
    assert_exit(r, 2);
    assert_non_null(strstr(r->err, "usage"));
    run_cli(s->dir, help, 0, r);
    assert_exit(r, 0);
    assert_non_null(strstr(r->out, "serve"));
    run_cli(s->dir, serve_help, 0, r);
    assert_exit(r, 0);
    assert_non_null(strstr(r->out, "--listen"));
    assert_non_null(strstr(r->out, "--api-key"));
    run_cli(s->dir, version, 0, r);
    assert_exit(r, 0);
    assert_true(strncmp(r->out, "durata ", 7) == 0);
    run_cli(s->dir, unknown, 0, r);
    assert_exit(r, 2);
    assert_non_null(strstr(r->err, "frobnicate"));
    run_cli(s->dir, bad_flag, 0, r);
    assert_exit(r, 2);
    assert_non_null(strstr(r->err, "--bogus"));
    run_cli(s->dir, no_value, 0, r);
    assert_exit(r, 2);
    run_cli(s->dir, bad_listen, 0, r);
    assert_exit(r, 2);
    assert_non_null(strstr(r->err, "HOST:PORT"));
    run_cli(s->dir, bad_port, 0, r);
    assert_exit(r, 2);
    run_cli(s->dir, extra, 0, r);
    assert_exit(r, 2);
    free(r);
}

static void
test_cli_refuses_public_address_without_a_key(void **state)
{
    struct e2e_server *s = *state;
    struct run *r = calloc(1, sizeof(*r));
    char store[700];
    const char *any4[] = {"serve", "--listen", "0.0.0.0:0", "--store", store, NULL};
    const char *any6[] = {"serve", "--listen", "[::]:0", "--store", store, NULL};
    const char *keyed[] = {"serve", "--listen",  "0.0.0.0:0", "--store",
                           store,   "--api-key", "secret",    NULL};

    assert_non_null(r);
    snprintf(store, sizeof(store), "%s/other.db", s->dir);
    run_cli(s->dir, any4, 0, r);
    assert_exit(r, 2);
    assert_non_null(strstr(r->err, "API key"));
    assert_non_null(strstr(r->err, "0.0.0.0"));
    assert_string_equal(r->out, "");
    run_cli(s->dir, any6, 0, r);
    assert_exit(r, 2);
    /* With a key it serves (and stops cleanly on SIGTERM). */
    run_cli(s->dir, keyed, 2, r);
    assert_exit(r, 0);
    assert_true(strncmp(r->out, "listening on http://0.0.0.0:", 28) == 0);
    free(r);
}

static void
test_cli_environment_and_flag_precedence(void **state)
{
    struct e2e_server *s = *state;
    struct run *r = calloc(1, sizeof(*r));
    char store[700], env_store[720];
    const char *env_public[] = {"DURATA_LISTEN=0.0.0.0:0", NULL};
    const char *env_keyed[] = {"DURATA_LISTEN=0.0.0.0:0", "DURATA_API_KEY=a,b", env_store, NULL};
    const char *env_bad[] = {"DURATA_LISTEN=nonsense", NULL};
    const char *serve[] = {"serve", "--store", store, NULL};
    const char *serve_env_store[] = {"serve", NULL};
    const char *flag_wins[] = {"serve", "--listen", "127.0.0.1:0", "--store", store, NULL};

    assert_non_null(r);
    snprintf(store, sizeof(store), "%s/other.db", s->dir);
    snprintf(env_store, sizeof(env_store), "DURATA_STORE=%s/env.db", s->dir);
    r->env = env_public; /* the environment's address is used ... */
    run_cli(s->dir, serve, 0, r);
    assert_exit(r, 2);
    assert_non_null(strstr(r->err, "0.0.0.0"));
    run_cli(s->dir, flag_wins, 2, r); /* ... unless a flag overrides it */
    assert_exit(r, 0);
    assert_true(strncmp(r->out, "listening on http://127.0.0.1:", 30) == 0);
    r->env = env_bad;
    run_cli(s->dir, serve, 0, r);
    assert_exit(r, 2);
    r->env = env_keyed; /* keys and the store from the environment */
    run_cli(s->dir, serve_env_store, 2, r);
    assert_exit(r, 0);
    assert_true(strncmp(r->out, "listening on http://0.0.0.0:", 28) == 0);
    assert_non_null(strstr(r->out, "x-functions-key"));
    assert_true(access(env_store + strlen("DURATA_STORE="), F_OK) == 0);
    free(r);
}

static void
test_cli_prints_exactly_the_url_and_a_curl_line(void **state)
{
    struct e2e_server *s = *state;
    struct run *r = calloc(1, sizeof(*r));
    char store[700];
    const char *args[] = {"serve", "--listen", "127.0.0.1:0", "--store", store, NULL};
    char *second;
    long port;

    assert_non_null(r);
    snprintf(store, sizeof(store), "%s/other.db", s->dir);
    run_cli(s->dir, args, 2, r);
    assert_exit(r, 0);
    assert_true(strncmp(r->out, "listening on http://127.0.0.1:", 30) == 0);
    port = strtol(r->out + 30, &second, 10);
    assert_true(port > 0 && port < 65536);
    assert_true(second[0] == '\n');
    second++;
    assert_non_null(strstr(second, "curl "));
    assert_non_null(strstr(second, "/api/jobs"));
    assert_non_null(strchr(second, '\n'));
    assert_string_equal(strchr(second, '\n'), "\n"); /* nothing after two lines */
    assert_non_null(strstr(r->err, "loopback"));
    free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_health_and_readiness, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_routes_and_wrong_methods_are_404, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_malformed_requests_over_a_raw_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_headers_and_urls_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversize_bodies_are_413, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_tricks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_content_type_is_415, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_keys_in_each_form, setup_keys, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_exits_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_usage_and_exit_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_refuses_public_address_without_a_key, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_environment_and_flag_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_prints_exactly_the_url_and_a_curl_line, setup,
                                        teardown),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
