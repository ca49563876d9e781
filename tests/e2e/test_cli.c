/*
 * test_cli.c — end to end: the client verbs of the real `durata` binary
 * (jobs submit|get|cancel|purge|list, start, status, raise, terminate,
 * suspend, resume, rewind, purge, list, wait) against a real `durata
 * serve`, run with fork/exec and checked on stdout, stderr and exit code:
 * the job flow, the instance flow, wait on a completed, a failed and a
 * terminated instance and a timeout, the live status line on a terminal (a
 * pseudo-terminal as stderr) and the line per change otherwise, paging
 * with --all, API keys, bad usage (2), an unreachable server (1), 404 (6)
 * and conflicts (7).
 * One server for the file (DURATA_URL points the children at it); the API
 * key test starts its own. Each test makes its own jobs and instances.
 * Threading: the test's thread; children are waited for.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#define CLI_DEADLINE_MS 60000
#define CLI_MAX_ENV 512

extern char **environ;

static struct e2e_server srv;

/* ------------------------------------------------------------ running the CLI */

struct cli {
    int code; /* exit status, or 128 + signal */
    char *out;
    char *err; /* stderr (the terminal's output with CLI_TTY) */
};

enum { CLI_PLAIN = 0, CLI_TTY = 1 };

struct sink {
    char *data;
    size_t len;
};

static void
sink_read(struct sink *s, int fd, bool *open)
{
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        *open = false;
        return;
    }
    s->data = realloc(s->data, s->len + (size_t)n + 1);
    assert_non_null(s->data);
    memcpy(s->data + s->len, buf, (size_t)n);
    s->len += (size_t)n;
    s->data[s->len] = '\0';
}

static char *
sink_take(struct sink *s)
{
    char *d = s->data ? s->data : strdup("");

    assert_non_null(d);
    s->data = NULL;
    return d;
}

/* The children's environment: ours without DURATA_URL, DURATA_API_KEY and
 * COLUMNS, then DURATA_URL=<the server> (unless extra sets it), then extra. */
static void
child_env(const char *const *extra, const char **envp, char *url_var, size_t url_size)
{
    bool extra_url = false;
    size_t n = 0;

    for (size_t i = 0; extra && extra[i]; i++)
        extra_url |= strncmp(extra[i], "DURATA_URL=", 11) == 0;
    for (char **e = environ; *e && n < CLI_MAX_ENV - 16; e++)
        if (strncmp(*e, "DURATA_URL=", 11) && strncmp(*e, "DURATA_API_KEY=", 15) &&
            strncmp(*e, "COLUMNS=", 8))
            envp[n++] = *e;
    snprintf(url_var, url_size, "DURATA_URL=%s", srv.base);
    if (!extra_url)
        envp[n++] = url_var;
    for (size_t i = 0; extra && extra[i] && n < CLI_MAX_ENV - 1; i++)
        envp[n++] = extra[i];
    envp[n] = NULL;
}

/* A pseudo-terminal 100 columns wide: *master, and the slave's path. */
static void
open_pty(int *master, char *slave, size_t size)
{
    struct winsize ws = {.ws_row = 24, .ws_col = 100};

    *master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(*master >= 0);
    assert_int_equal(grantpt(*master), 0);
    assert_int_equal(unlockpt(*master), 0);
    snprintf(slave, size, "%s", ptsname(*master));
    assert_int_equal(ioctl(*master, TIOCSWINSZ, &ws), 0);
    fcntl(*master, F_SETFL, fcntl(*master, F_GETFL) | O_NONBLOCK);
}

static void
child_exec(const char **argv, const char **envp, int out_fd, int err_fd)
{
    int null = open("/dev/null", O_RDONLY);

    dup2(null, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execve(argv[0], (char *const *)argv, (char *const *)envp);
    fprintf(stderr, "test: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Reads the child's stdout (and stderr pipe) until they close. */
static void
collect(pid_t pid, int out_fd, int err_fd, bool err_is_pipe, struct sink *out, struct sink *err)
{
    struct timespec t0, now;
    bool out_open = true, err_open = err_is_pipe;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (out_open || err_open) {
        struct pollfd p[2] = {{.fd = out_open ? out_fd : -1, .events = POLLIN},
                              {.fd = err_fd, .events = POLLIN}};

        if (poll(p, 2, 100) > 0) {
            if (p[0].revents)
                sink_read(out, out_fd, &out_open);
            if (p[1].revents) {
                bool open = true;
                sink_read(err, err_fd, &open);
                err_open = err_open && open;
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - t0.tv_sec) * 1000 > CLI_DEADLINE_MS) {
            kill(pid, SIGKILL);
            fail_msg("durata did not finish within %d ms", CLI_DEADLINE_MS);
        }
    }
}

/* Runs DURATA_BIN with args; env: extra "NAME=value" entries or NULL. */
static void
cli_exec(struct cli *r, int flags, const char *const *env, const char *const *args)
{
    const char *bin = getenv("DURATA_BIN"), *argv[64], *envp[CLI_MAX_ENV];
    int out[2], err[2] = {-1, -1}, master = -1, slave = -1, status;
    struct sink so = {0}, se = {0};
    char url_var[256], slave_path[128];
    size_t n = 0;
    pid_t pid;

    assert_non_null(bin);
    argv[n++] = bin;
    for (size_t i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    child_env(env, envp, url_var, sizeof(url_var));
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    if (flags & CLI_TTY) {
        open_pty(&master, slave_path, sizeof(slave_path));
        slave = open(slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC); /* held: no EIO on master */
        assert_true(slave >= 0);
    } else {
        assert_int_equal(pipe2(err, O_CLOEXEC), 0);
    }
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        child_exec(argv, envp, out[1], (flags & CLI_TTY) ? slave : err[1]);
    close(out[1]);
    if (err[1] >= 0)
        close(err[1]);
    collect(pid, out[0], (flags & CLI_TTY) ? master : err[0], !(flags & CLI_TTY), &so, &se);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (flags & CLI_TTY) {
        size_t before;
        bool open = true;
        do { /* what the terminal still holds: read until EAGAIN (non-blocking) */
            before = se.len;
            sink_read(&se, master, &open);
        } while (open && se.len > before);
        close(slave);
        close(master);
    } else {
        close(err[0]);
    }
    close(out[0]);
    r->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r->out = sink_take(&so);
    r->err = sink_take(&se);
}

#define CLI(r, ...) cli_exec((r), CLI_PLAIN, NULL, (const char *const[]){__VA_ARGS__, NULL})
#define CLI_ENV(r, env, ...)                                                                       \
    cli_exec((r), CLI_PLAIN, (env), (const char *const[]){__VA_ARGS__, NULL})

static void
cli_release(struct cli *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

/* Checks the exit code, printing the run when it differs. */
static void
expect_code(const struct cli *r, int code)
{
    if (r->code != code)
        fprintf(stderr, "exit %d (want %d)\n--- stdout:\n%s--- stderr:\n%s---\n", r->code, code,
                r->out, r->err);
    assert_int_equal(r->code, code);
}

static void
expect_in(const char *text, const char *want)
{
    if (!strstr(text, want))
        fprintf(stderr, "'%s' not found in:\n%s\n", want, text);
    assert_non_null(strstr(text, want));
}

/* A job id or instance id printed alone on stdout: copies it into id. */
static void
take_id(const struct cli *r, char *id, size_t size)
{
    size_t n = strlen(r->out);

    expect_code(r, 0);
    assert_true(n > 1 && n < size && r->out[n - 1] == '\n');
    assert_null(strchr(r->out, ' '));
    memcpy(id, r->out, n - 1);
    id[n - 1] = '\0';
}

/* Submits a job with the CLI and returns its id in id. */
static void
submit(const char *type, const char *payload, char *id, size_t size)
{
    struct cli r;

    if (payload)
        CLI(&r, "jobs", "submit", type, "--payload", payload);
    else
        CLI(&r, "jobs", "submit", type);
    take_id(&r, id, size);
    cli_release(&r);
}

static long
http_status(const char *method, const char *path)
{
    struct e2e_resp resp;
    long status;

    assert_int_equal(e2e_request(&srv, method, path, NULL, NULL, &resp), 0);
    status = resp.status;
    e2e_resp_release(&resp);
    return status;
}

static void
wait_job_status(const char *id, const char *status)
{
    char path[256];

    snprintf(path, sizeof(path), "/api/jobs/%s", id);
    assert_true(e2e_wait_field(&srv, path, "status", status, 20000));
}

/* A port on 127.0.0.1 that nothing listens on (bound, then released). */
static int
closed_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static int
count_lines(const char *s)
{
    int n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static int
group_setup(void **state)
{
    (void)state;
    return e2e_start(&srv, NULL);
}

static int
group_teardown(void **state)
{
    (void)state;
    e2e_cleanup(&srv);
    return 0;
}

/* ------------------------------------------------------------ help and usage */

static void
test_help_lists_every_command_and_exit_code(void **state)
{
    static const char *const words[] = {"serve",
                                        "version",
                                        "jobs submit",
                                        "jobs get",
                                        "jobs cancel",
                                        "jobs purge",
                                        "jobs list",
                                        "start",
                                        "status",
                                        "raise",
                                        "terminate",
                                        "suspend",
                                        "resume",
                                        "rewind",
                                        "purge",
                                        "list",
                                        "wait",
                                        "0  ok",
                                        "2  bad usage",
                                        "3  wait: the instance failed",
                                        "4  wait: the instance was terminated",
                                        "5  wait: timed out",
                                        "6  not found (404)",
                                        "7  conflict",
                                        "--url",
                                        "--api-key",
                                        "--json",
                                        "DURATA_URL",
                                        "DURATA_API_KEY"};
    struct cli r;

    (void)state;
    CLI(&r, "--help");
    expect_code(&r, 0);
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        expect_in(r.out, words[i]);
    assert_string_equal(r.err, "");
    cli_release(&r);
    CLI(&r, "version");
    expect_code(&r, 0);
    expect_in(r.out, "durata ");
    cli_release(&r);
}

static void
test_every_verb_has_help(void **state)
{
    static const char *const verbs[][2] = {
        {"jobs", "submit"},  {"jobs", "get"},   {"jobs", "cancel"}, {"jobs", "purge"},
        {"jobs", "list"},    {"start", NULL},   {"status", NULL},   {"raise", NULL},
        {"terminate", NULL}, {"suspend", NULL}, {"resume", NULL},   {"rewind", NULL},
        {"purge", NULL},     {"list", NULL},    {"wait", NULL}};
    char want[64];
    struct cli r;

    (void)state;
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (verbs[i][1])
            CLI(&r, verbs[i][0], verbs[i][1], "--help");
        else
            CLI(&r, verbs[i][0], "--help");
        expect_code(&r, 0);
        snprintf(want, sizeof(want), "usage: durata %s%s%s ", verbs[i][0], verbs[i][1] ? " " : "",
                 verbs[i][1] ? verbs[i][1] : "");
        expect_in(r.out, want);
        expect_in(r.out, "--url URL");
        expect_in(r.out, "Exit codes:");
        cli_release(&r);
    }
    CLI(&r, "wait", "-h");
    expect_code(&r, 0);
    expect_in(r.out, "--timeout SECONDS");
    expect_in(r.out, "5 timed out");
    cli_release(&r);
    CLI(&r, "jobs", "--help");
    expect_code(&r, 0);
    expect_in(r.out, "jobs submit");
    cli_release(&r);
}

/* Runs args, expecting exit 2, nothing on stdout and `msg` on stderr. */
static void
expect_usage(const char *msg, const char *const *args)
{
    struct cli r;

    cli_exec(&r, CLI_PLAIN, NULL, args);
    expect_code(&r, 2);
    assert_string_equal(r.out, "");
    expect_in(r.err, msg);
    cli_release(&r);
}

#define USAGE(msg, ...) expect_usage((msg), (const char *const[]){__VA_ARGS__, NULL})

static void
test_bad_usage_exits_2(void **state)
{
    (void)state;
    USAGE("Run 'durata --help'", "frobnicate");
    USAGE("usage: durata jobs", "jobs");
    USAGE("unknown verb 'frob'", "jobs", "frob");
    USAGE("missing TYPE", "jobs", "submit");
    USAGE("missing ID", "jobs", "get");
    USAGE("missing EVENT", "raise", "some-id");
    USAGE("unexpected argument 'two'", "status", "one", "two");
    USAGE("ID cannot be empty", "status", "");
    USAGE("unknown option '--bogus'", "list", "--bogus");
    USAGE("unknown option '--reason'", "jobs", "get", "x", "--reason", "r");
    USAGE("option '--payload' needs a value", "jobs", "submit", "echo", "--payload");
    USAGE("--payload is not valid JSON", "jobs", "submit", "echo", "--payload", "{nope");
    USAGE("--payload must be a JSON object", "jobs", "submit", "echo", "--payload", "[1,2]");
    USAGE("cannot read /nonexistent/p.json", "jobs", "submit", "echo", "--payload",
          "@/nonexistent/p.json");
    USAGE("--input is not valid JSON", "start", "durata.Job", "--input", "{");
    USAGE("--data is not valid JSON", "raise", "id", "ev", "--data", "nope");
    USAGE("--limit wants a number from 1 to 1000", "jobs", "list", "--limit", "0");
    USAGE("--limit wants a number from 1 to 1000", "list", "--limit", "12x");
    USAGE("unknown status 'Runing'", "list", "--status", "Running,Runing");
    USAGE("--status wants pending, running", "jobs", "list", "--status", "done");
    USAGE("API key cannot hold control characters", "list", "--api-key", "a\nb");
    USAGE("--timeout wants seconds", "wait", "id", "--timeout", "soon");
    USAGE("--timeout wants seconds", "wait", "id", "--timeout", "-1");
    USAGE("--idempotency-key must be", "jobs", "submit", "echo", "--idempotency-key", "a\r\nb");
    USAGE("must start with http:// or https://", "list", "--url", "ftp://example.invalid");
    USAGE("missing command after the options", "--url", "http://127.0.0.1:1");
}

static void
test_unreachable_server_exits_1(void **state)
{
    char url[64];
    struct cli r;

    (void)state;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
    CLI(&r, "jobs", "list", "--url", url);
    expect_code(&r, 1);
    assert_string_equal(r.out, "");
    expect_in(r.err, "durata jobs list: no answer from ");
    expect_in(r.err, url);
    cli_release(&r);
    CLI(&r, "--url", url, "wait", "some-id", "--timeout", "5");
    expect_code(&r, 1);
    expect_in(r.err, "durata wait: no answer from ");
    cli_release(&r);
    CLI_ENV(&r, ((const char *const[]){"DURATA_URL=http://127.0.0.1:1", NULL}), "status", "x");
    expect_code(&r, 1);
    expect_in(r.err, "http://127.0.0.1:1");
    cli_release(&r);
}

/* ------------------------------------------------------------ jobs */

static void
test_jobs_submit_prints_the_id_then_get_list_and_purge(void **state)
{
    char id[128], path[256], customer[64];
    struct cli r;
    json_t *v;

    (void)state;
    snprintf(customer, sizeof(customer), "cust-%d", (int)getpid());
    CLI(&r, "jobs", "submit", "echo", "--customer", customer, "--payload", "{\"hello\":\"world\"}");
    take_id(&r, id, sizeof(id));
    assert_string_equal(r.err, "");
    cli_release(&r);
    snprintf(path, sizeof(path), "/api/jobs/%s", id);
    assert_int_equal(http_status("GET", path), 200);
    wait_job_status(id, "completed");

    CLI(&r, "jobs", "get", id);
    expect_code(&r, 0);
    expect_in(r.out, "status         completed");
    expect_in(r.out, "job_type       echo");
    expect_in(r.out, customer);
    expect_in(r.out, "result         {\"hello\":\"world\"}");
    cli_release(&r);
    CLI(&r, "jobs", "get", id, "--json");
    expect_code(&r, 0);
    assert_non_null(v = json_loads(r.out, 0, NULL));
    assert_string_equal(json_string_value(json_object_get(v, "job_id")), id);
    assert_string_equal(json_string_value(json_object_get(v, "status")), "completed");
    json_decref(v);
    cli_release(&r);

    CLI(&r, "jobs", "list", "--customer", customer, "--type", "echo", "--status", "completed");
    expect_code(&r, 0);
    expect_in(r.out, "JOB ID");
    expect_in(r.out, id);
    assert_int_equal(count_lines(r.out), 2);
    cli_release(&r);

    CLI(&r, "jobs", "purge", id);
    expect_code(&r, 0);
    expect_in(r.out, id);
    cli_release(&r);
    assert_int_equal(http_status("GET", path), 404);
    CLI(&r, "jobs", "get", id);
    expect_code(&r, 6);
    assert_string_equal(r.out, "");
    expect_in(r.err, "durata jobs get: no job with this id (HTTP 404)");
    cli_release(&r);
}

static void
test_jobs_submit_validation_payload_file_and_idempotency(void **state)
{
    char file[700], arg[710], id1[128], id2[128], key[64];
    struct cli r;
    FILE *f;

    (void)state;
    CLI(&r, "jobs", "submit", "no-such-type");
    expect_code(&r, 1);
    assert_string_equal(r.out, "");
    expect_in(r.err, "(HTTP 422)");
    expect_in(r.err, "job_type");
    cli_release(&r);

    snprintf(file, sizeof(file), "%s/payload.json", srv.dir);
    assert_non_null(f = fopen(file, "w"));
    fputs("{\"from\": \"a file\"}\n", f);
    fclose(f);
    snprintf(arg, sizeof(arg), "@%s", file);
    snprintf(key, sizeof(key), "key-%d", (int)getpid());
    CLI(&r, "jobs", "submit", "echo", "--payload", arg, "--idempotency-key", key);
    take_id(&r, id1, sizeof(id1));
    cli_release(&r);
    CLI(&r, "jobs", "submit", "echo", "--payload", arg, "--idempotency-key", key);
    take_id(&r, id2, sizeof(id2));
    cli_release(&r);
    assert_string_equal(id1, id2);
    CLI(&r, "jobs", "submit", "echo", "--payload", "{\"other\":1}", "--idempotency-key", key);
    expect_code(&r, 7);
    expect_in(r.err, "(HTTP 409)");
    cli_release(&r);
    wait_job_status(id1, "completed");
    CLI(&r, "jobs", "get", id1);
    expect_in(r.out, "{\"from\":\"a file\"}");
    cli_release(&r);
}

static void
test_jobs_cancel_then_conflicts(void **state)
{
    char id[128];
    struct cli r;

    (void)state;
    submit("sleep", "{\"ms\":60000}", id, sizeof(id));
    wait_job_status(id, "running");
    CLI(&r, "jobs", "purge", id);
    expect_code(&r, 7);
    expect_in(r.err, "has not ended");
    cli_release(&r);
    CLI(&r, "jobs", "cancel", id, "--reason", "changed my mind");
    expect_code(&r, 0);
    expect_in(r.out, "cancellation requested: ");
    expect_in(r.out, id);
    cli_release(&r);
    CLI(&r, "wait", id, "--timeout", "30");
    expect_code(&r, 4);
    expect_in(r.out, "Terminated");
    cli_release(&r);
    CLI(&r, "jobs", "get", id);
    expect_in(r.out, "status         cancelled");
    expect_in(r.out, "changed my mind");
    cli_release(&r);
    CLI(&r, "jobs", "cancel", id);
    expect_code(&r, 7);
    expect_in(r.err, "the job has already ended (HTTP 409)");
    cli_release(&r);
    CLI(&r, "jobs", "cancel", "no-such-job");
    expect_code(&r, 6);
    cli_release(&r);
    CLI(&r, "jobs", "purge", "no-such-job");
    expect_code(&r, 6);
    cli_release(&r);
}

static void
test_jobs_list_all_follows_next_cursor(void **state)
{
    char customer[64], payload[64], ids[5][128];
    struct cli r;
    json_t *v;

    (void)state;
    snprintf(customer, sizeof(customer), "pager-%d", (int)getpid());
    for (int i = 0; i < 5; i++) {
        snprintf(payload, sizeof(payload), "{\"n\":%d}", i);
        CLI(&r, "jobs", "submit", "echo", "--customer", customer, "--payload", payload);
        take_id(&r, ids[i], sizeof(ids[i]));
        cli_release(&r);
    }
    CLI(&r, "jobs", "list", "--customer", customer, "--limit", "2");
    expect_code(&r, 0);
    assert_int_equal(count_lines(r.out), 3); /* heading + 2 */
    expect_in(r.out, ids[0]);
    expect_in(r.out, ids[1]);
    expect_in(r.err, "more jobs follow");
    cli_release(&r);
    CLI(&r, "jobs", "list", "--customer", customer, "--limit", "2", "--all");
    expect_code(&r, 0);
    assert_int_equal(count_lines(r.out), 6);
    for (int i = 0; i < 5; i++)
        expect_in(r.out, ids[i]);
    assert_string_equal(r.err, "");
    cli_release(&r);
    CLI(&r, "jobs", "list", "--customer", customer, "--limit", "2", "--all", "--json");
    expect_code(&r, 0);
    assert_non_null(v = json_loads(r.out, 0, NULL));
    assert_int_equal(json_array_size(json_object_get(v, "jobs")), 5);
    assert_true(json_is_null(json_object_get(v, "next_cursor")));
    json_decref(v);
    cli_release(&r);
    CLI(&r, "jobs", "list", "--customer", "nobody-at-all");
    expect_code(&r, 0);
    assert_string_equal(r.out, "");
    expect_in(r.err, "no jobs");
    cli_release(&r);
}

/* ------------------------------------------------------------ instances */

#define SLEEP_INPUT "{\"job_type\":\"sleep\",\"payload\":{\"ms\":60000}}"

/* Runs args and checks the exit code and what stdout and stderr hold
 * (NULL: not checked). */
static void
check(int code, const char *in_out, const char *in_err, const char *const *args)
{
    struct cli r;

    cli_exec(&r, CLI_PLAIN, NULL, args);
    expect_code(&r, code);
    if (in_out)
        expect_in(r.out, in_out);
    if (in_err)
        expect_in(r.err, in_err);
    cli_release(&r);
}

#define CHECK(code, in_out, in_err, ...)                                                           \
    check((code), (in_out), (in_err), (const char *const[]){__VA_ARGS__, NULL})

/* The controls of a running instance: raise, suspend, resume and their
 * conflicts, and purge refused while it runs. */
static void
drive_running_instance(const char *id)
{
    CHECK(0, "status         Running", NULL, "status", id);
    CHECK(0, "version        1.2", NULL, "status", id);
    CHECK(0, "event Approval raised: ", NULL, "raise", id, "Approval", "--data",
          "{\"approved\":true}");
    CHECK(0, "suspend requested: ", NULL, "suspend", id, "--reason", "hold");
    CHECK(7, NULL, "already suspended (HTTP 409)", "suspend", id);
    CHECK(0, "\"runtimeStatus\":\"Suspended\"", NULL, "status", id, "--json");
    CHECK(0, "resume requested: ", NULL, "resume", id, "--reason", "go on");
    CHECK(7, NULL, "not suspended (HTTP 409)", "resume", id);
    CHECK(7, NULL, "has not ended, so nothing was deleted", "purge", id);
}

/* Terminate, then what an ended instance answers, its history, purge. */
static void
end_instance(const char *id)
{
    CHECK(0, "termination requested: ", NULL, "terminate", id, "--reason", "enough");
    CHECK(4, "status         Terminated", NULL, "wait", id, "--timeout", "30");
    CHECK(7, NULL, "(HTTP 410)", "terminate", id);
    CHECK(7, NULL, "(HTTP 410)", "raise", id, "Late");
    CHECK(0, "EventRaised", NULL, "status", id, "--history");
    CHECK(0, "Approval", NULL, "status", id, "--history");
    CHECK(0, "ExecutionSuspended", NULL, "status", id, "--history");
    CHECK(0, "ExecutionTerminated", NULL, "status", id, "--history");
    CHECK(0, "purged: ", NULL, "purge", id);
    CHECK(6, NULL, "(HTTP 404)", "status", id);
}

static void
test_instance_verbs_drive_an_instance_through_its_life(void **state)
{
    char id[64];
    struct cli r;

    (void)state;
    snprintf(id, sizeof(id), "cli-life-%d", (int)getpid());
    CLI(&r, "start", "durata.Job", "--id", id, "--input", SLEEP_INPUT, "--version", "1.2");
    expect_code(&r, 0);
    assert_int_equal(strncmp(r.out, id, strlen(id)), 0);
    assert_string_equal(r.out + strlen(id), "\n");
    cli_release(&r);
    CHECK(7, NULL, "(HTTP 409)", "start", "durata.Job", "--id", id, "--input", SLEEP_INPUT);
    wait_job_status(id, "running");
    drive_running_instance(id);
    end_instance(id);
}

static void
test_not_found_exits_6_for_every_verb(void **state)
{
    static const char *const cmds[][4] = {
        {"status", "nope-404", NULL},       {"terminate", "nope-404", NULL},
        {"suspend", "nope-404", NULL},      {"resume", "nope-404", NULL},
        {"rewind", "nope-404", NULL},       {"raise", "nope-404", "Ev", NULL},
        {"purge", "nope-404", NULL},        {"wait", "nope-404", NULL},
        {"jobs", "get", "nope-404", NULL},  {"jobs", "cancel", "nope-404", NULL},
        {"jobs", "purge", "nope-404", NULL}};
    struct cli r;

    (void)state;
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        cli_exec(&r, CLI_PLAIN, NULL, cmds[i]);
        expect_code(&r, 6);
        assert_string_equal(r.out, "");
        expect_in(r.err, "(HTTP 404)");
        cli_release(&r);
    }
}

static void
test_start_input_file_and_list_filters(void **state)
{
    char prefix[64], id[96], file[700], arg[710];
    struct cli r;
    json_t *v;
    FILE *f;

    (void)state;
    snprintf(prefix, sizeof(prefix), "cli-list-%d-", (int)getpid());
    snprintf(file, sizeof(file), "%s/input.json", srv.dir);
    assert_non_null(f = fopen(file, "w"));
    fputs("{\"job_type\":\"echo\",\"payload\":{\"x\":1}}", f);
    fclose(f);
    snprintf(arg, sizeof(arg), "@%s", file);
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof(id), "%s%d", prefix, i);
        CLI(&r, "start", "durata.Job", "--id", id, "--input", arg);
        expect_code(&r, 0);
        cli_release(&r);
        CLI(&r, "wait", id, "--timeout", "30");
        expect_code(&r, 0);
        expect_in(r.out, "output         {\"x\":1}");
        cli_release(&r);
    }
    CLI(&r, "list", "--prefix", prefix, "--status", "completed,failed", "--name", "durata.Job");
    expect_code(&r, 0);
    expect_in(r.out, "INSTANCE ID");
    assert_int_equal(count_lines(r.out), 4);
    expect_in(r.out, "Completed");
    cli_release(&r);
    CLI(&r, "list", "--prefix", prefix, "--status", "Running");
    expect_code(&r, 0);
    assert_string_equal(r.out, "");
    expect_in(r.err, "no instances");
    cli_release(&r);
    CLI(&r, "list", "--prefix", prefix, "--limit", "1");
    expect_code(&r, 0);
    assert_int_equal(count_lines(r.out), 2);
    expect_in(r.err, "more instances follow");
    cli_release(&r);
    CLI(&r, "list", "--prefix", prefix, "--limit", "1", "--all", "--json");
    expect_code(&r, 0);
    assert_non_null(v = json_loads(r.out, 0, NULL));
    assert_int_equal(json_array_size(v), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(v, 2), "instanceId")), id);
    json_decref(v);
    cli_release(&r);
    CLI(&r, "--url", srv.base, "list", "--prefix", prefix, "--all");
    expect_code(&r, 0);
    assert_int_equal(count_lines(r.out), 4);
    cli_release(&r);
}

static void
test_rewind_a_failed_instance(void **state)
{
    char id[128];
    struct cli r;

    (void)state;
    submit("fail", NULL, id, sizeof(id));
    CLI(&r, "wait", id, "--timeout", "30");
    expect_code(&r, 3);
    cli_release(&r);
    CLI(&r, "rewind", id, "--reason", "try again");
    expect_code(&r, 0);
    expect_in(r.out, "rewind requested: ");
    cli_release(&r);
    CLI(&r, "wait", id, "--timeout", "30"); /* the fail type fails again */
    expect_code(&r, 3);
    cli_release(&r);
    CLI(&r, "status", id, "--history");
    expect_in(r.out, "ExecutionRewound");
    expect_in(r.out, "try again");
    cli_release(&r);
    submit("echo", NULL, id, sizeof(id));
    CLI(&r, "wait", id, "--timeout", "30");
    expect_code(&r, 0);
    cli_release(&r);
    CLI(&r, "rewind", id);
    expect_code(&r, 7);
    cli_release(&r);
}

/* ------------------------------------------------------------ wait */

static void
test_wait_exit_codes_follow_the_outcome(void **state)
{
    char id[128];
    struct cli r;
    json_t *v;

    (void)state;
    submit("echo", "{\"done\":true}", id, sizeof(id));
    CLI(&r, "wait", id, "--timeout", "30");
    expect_code(&r, 0);
    expect_in(r.out, "status         Completed");
    expect_in(r.out, "output         {\"done\":true}");
    cli_release(&r);

    submit("fail", NULL, id, sizeof(id));
    CLI(&r, "wait", id, "--timeout", "30", "--json");
    expect_code(&r, 3);
    assert_non_null(v = json_loads(r.out, 0, NULL));
    assert_string_equal(json_string_value(json_object_get(v, "runtimeStatus")), "Failed");
    json_decref(v);
    cli_release(&r);

    submit("sleep", "{\"ms\":60000}", id, sizeof(id));
    CLI(&r, "wait", id, "--timeout", "0.3");
    expect_code(&r, 5);
    assert_string_equal(r.out, "");
    expect_in(r.err, "durata wait: timed out after ");
    cli_release(&r);
    CLI(&r, "terminate", id, "--reason", "stop");
    expect_code(&r, 0);
    cli_release(&r);
    CLI(&r, "wait", id, "--timeout", "30");
    expect_code(&r, 4);
    expect_in(r.out, "Terminated");
    cli_release(&r);
}

/* Without a terminal: one line per status change, no carriage return. */
static void
test_wait_prints_a_line_per_status_change(void **state)
{
    char id[128], want[160];
    struct cli r;

    (void)state;
    submit("sleep", "{\"ms\":1500}", id, sizeof(id));
    CLI(&r, "wait", id, "--timeout", "30");
    expect_code(&r, 0);
    snprintf(want, sizeof(want), "%s: Running\n", id);
    expect_in(r.err, want);
    assert_null(strstr(strstr(r.err, want) + 1, want)); /* once, though polled many times */
    assert_null(strchr(r.err, '\r'));
    expect_in(r.out, "status         Completed");
    cli_release(&r);
}

/* On a terminal: one line rewritten with '\r', wiped before the result. */
static void
test_wait_live_line_on_a_terminal(void **state)
{
    char id[128], want[160];
    struct cli r;

    (void)state;
    submit("sleep", "{\"ms\":1500}", id, sizeof(id));
    cli_exec(&r, CLI_TTY, NULL, (const char *const[]){"wait", id, "--timeout", "30", NULL});
    expect_code(&r, 0);
    snprintf(want, sizeof(want), "\r%s  Running  ", id);
    expect_in(r.err, want);
    assert_non_null(strstr(strstr(r.err, want) + 1, want)); /* rewritten, not printed once */
    assert_null(strchr(r.err, '\n'));                       /* never a new line */
    assert_int_equal(r.err[strlen(r.err) - 1], '\r');       /* the line wiped at the end */
    expect_in(r.out, "status         Completed");
    cli_release(&r);
}

/* ------------------------------------------------------------ API keys */

static void
test_api_key_from_flag_or_environment(void **state)
{
    static const char *const args[] = {"--api-key", "s3cret", NULL};
    static const char *const env_key[] = {"DURATA_API_KEY=s3cret,other", NULL};
    struct e2e_server keyed;
    struct cli r;

    (void)state;
    memset(&keyed, 0, sizeof(keyed));
    assert_int_equal(e2e_start(&keyed, args), 0);
    CLI(&r, "--url", keyed.base, "list");
    expect_code(&r, 1);
    expect_in(r.err, "(HTTP 401)");
    expect_in(r.err, "--api-key");
    cli_release(&r);
    CLI(&r, "jobs", "submit", "echo", "--url", keyed.base, "--api-key", "wrong");
    expect_code(&r, 1);
    cli_release(&r);
    CLI(&r, "jobs", "submit", "echo", "--url", keyed.base, "--api-key", "s3cret");
    expect_code(&r, 0);
    cli_release(&r);
    CLI_ENV(&r, env_key, "jobs", "list", "--url", keyed.base);
    expect_code(&r, 0);
    expect_in(r.out, "echo");
    cli_release(&r);
    e2e_cleanup(&keyed);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_lists_every_command_and_exit_code),
        cmocka_unit_test(test_every_verb_has_help),
        cmocka_unit_test(test_bad_usage_exits_2),
        cmocka_unit_test(test_unreachable_server_exits_1),
        cmocka_unit_test(test_jobs_submit_prints_the_id_then_get_list_and_purge),
        cmocka_unit_test(test_jobs_submit_validation_payload_file_and_idempotency),
        cmocka_unit_test(test_jobs_cancel_then_conflicts),
        cmocka_unit_test(test_jobs_list_all_follows_next_cursor),
        cmocka_unit_test(test_instance_verbs_drive_an_instance_through_its_life),
        cmocka_unit_test(test_not_found_exits_6_for_every_verb),
        cmocka_unit_test(test_start_input_file_and_list_filters),
        cmocka_unit_test(test_rewind_a_failed_instance),
        cmocka_unit_test(test_wait_exit_codes_follow_the_outcome),
        cmocka_unit_test(test_wait_prints_a_line_per_status_change),
        cmocka_unit_test(test_wait_live_line_on_a_terminal),
        cmocka_unit_test(test_api_key_from_flag_or_environment),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
