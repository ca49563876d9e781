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
#include "child.h"
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

static struct e2e_server srv;

/* ------------------------------------------------------------ running the CLI */

/* Our variables the children do not see: each test names the server and
 * the API key itself, and a terminal's width comes from the terminal. */
static const char *const cli_drop[] = {"DURATA_URL=", "DURATA_API_KEY=", "COLUMNS=", NULL};

/* Runs DURATA_BIN with args to its end (flags: E2E_CHILD_PLAIN or
 * E2E_CHILD_TTY). The child's environment is ours without cli_drop, then
 * DURATA_URL=<the server> (unless env sets it), then env: extra
 * "NAME=value" entries or NULL. */
static void
cli_exec(struct e2e_child *r, unsigned flags, const char *const *env, const char *const *args)
{
    const char *extra[16];
    char url_var[256];
    bool env_url = false;
    size_t n = 0;

    for (size_t i = 0; env && env[i]; i++)
        env_url |= strncmp(env[i], "DURATA_URL=", 11) == 0;
    snprintf(url_var, sizeof(url_var), "DURATA_URL=%s", srv.base);
    if (!env_url)
        extra[n++] = url_var;
    for (size_t i = 0; env && env[i]; i++) {
        assert_true(n < sizeof(extra) / sizeof(extra[0]) - 1);
        extra[n++] = env[i];
    }
    extra[n] = NULL;
    e2e_child_start(r, flags, cli_drop, extra, args);
    e2e_child_finish(r, E2E_CHILD_DEADLINE_MS);
}

#define CLI(r, ...) cli_exec((r), E2E_CHILD_PLAIN, NULL, (const char *const[]){__VA_ARGS__, NULL})
#define CLI_ENV(r, env, ...)                                                                       \
    cli_exec((r), E2E_CHILD_PLAIN, (env), (const char *const[]){__VA_ARGS__, NULL})

/* A job id or instance id printed alone on stdout: copies it into id. */
static void
take_id(const struct e2e_child *r, char *id, size_t size)
{
    size_t n = strlen(r->out.data);

    e2e_expect_code(r, 0);
    assert_true(n > 1 && n < size && r->out.data[n - 1] == '\n');
    assert_null(strchr(r->out.data, ' '));
    memcpy(id, r->out.data, n - 1);
    id[n - 1] = '\0';
}

/* Submits a job with the CLI and returns its id in id. */
static void
submit(const char *type, const char *payload, char *id, size_t size)
{
    struct e2e_child r;

    if (payload)
        CLI(&r, "jobs", "submit", type, "--payload", payload);
    else
        CLI(&r, "jobs", "submit", type);
    take_id(&r, id, size);
    e2e_child_release(&r);
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
    struct e2e_child r;

    (void)state;
    CLI(&r, "--help");
    e2e_expect_code(&r, 0);
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        e2e_expect_in(r.out.data, words[i]);
    assert_string_equal(r.err.data, "");
    e2e_child_release(&r);
    CLI(&r, "version");
    e2e_expect_code(&r, 0);
    e2e_expect_in(r.out.data, "durata ");
    e2e_child_release(&r);
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
    struct e2e_child r;

    (void)state;
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (verbs[i][1])
            CLI(&r, verbs[i][0], verbs[i][1], "--help");
        else
            CLI(&r, verbs[i][0], "--help");
        e2e_expect_code(&r, 0);
        snprintf(want, sizeof(want), "usage: durata %s%s%s ", verbs[i][0], verbs[i][1] ? " " : "",
                 verbs[i][1] ? verbs[i][1] : "");
        e2e_expect_in(r.out.data, want);
        e2e_expect_in(r.out.data, "--url URL");
        e2e_expect_in(r.out.data, "Exit codes:");
        e2e_child_release(&r);
    }
    CLI(&r, "wait", "-h");
    e2e_expect_code(&r, 0);
    e2e_expect_in(r.out.data, "--timeout SECONDS");
    e2e_expect_in(r.out.data, "5 timed out");
    e2e_child_release(&r);
    CLI(&r, "jobs", "--help");
    e2e_expect_code(&r, 0);
    e2e_expect_in(r.out.data, "jobs submit");
    e2e_child_release(&r);
}

/* Runs args, expecting exit 2, nothing on stdout and `msg` on stderr. */
static void
expect_usage(const char *msg, const char *const *args)
{
    struct e2e_child r;

    cli_exec(&r, E2E_CHILD_PLAIN, NULL, args);
    e2e_expect_code(&r, 2);
    assert_string_equal(r.out.data, "");
    e2e_expect_in(r.err.data, msg);
    e2e_child_release(&r);
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
    struct e2e_child r;

    (void)state;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
    CLI(&r, "jobs", "list", "--url", url);
    e2e_expect_code(&r, 1);
    assert_string_equal(r.out.data, "");
    e2e_expect_in(r.err.data, "durata jobs list: no answer from ");
    e2e_expect_in(r.err.data, url);
    e2e_child_release(&r);
    CLI(&r, "--url", url, "wait", "some-id", "--timeout", "5");
    e2e_expect_code(&r, 1);
    e2e_expect_in(r.err.data, "durata wait: no answer from ");
    e2e_child_release(&r);
    CLI_ENV(&r, ((const char *const[]){"DURATA_URL=http://127.0.0.1:1", NULL}), "status", "x");
    e2e_expect_code(&r, 1);
    e2e_expect_in(r.err.data, "http://127.0.0.1:1");
    e2e_child_release(&r);
}

/* ------------------------------------------------------------ jobs */

static void
test_jobs_submit_prints_the_id_then_get_list_and_purge(void **state)
{
    char id[128], path[256], customer[64];
    struct e2e_child r;
    json_t *v;

    (void)state;
    snprintf(customer, sizeof(customer), "cust-%d", (int)getpid());
    CLI(&r, "jobs", "submit", "echo", "--customer", customer, "--payload", "{\"hello\":\"world\"}");
    take_id(&r, id, sizeof(id));
    assert_string_equal(r.err.data, "");
    e2e_child_release(&r);
    snprintf(path, sizeof(path), "/api/jobs/%s", id);
    assert_int_equal(http_status("GET", path), 200);
    wait_job_status(id, "completed");

    CLI(&r, "jobs", "get", id);
    e2e_expect_code(&r, 0);
    e2e_expect_in(r.out.data, "status         completed");
    e2e_expect_in(r.out.data, "job_type       echo");
    e2e_expect_in(r.out.data, customer);
    e2e_expect_in(r.out.data, "result         {\"hello\":\"world\"}");
    e2e_child_release(&r);
    CLI(&r, "jobs", "get", id, "--json");
    e2e_expect_code(&r, 0);
    assert_non_null(v = json_loads(r.out.data, 0, NULL));
    assert_string_equal(json_string_value(json_object_get(v, "job_id")), id);
    assert_string_equal(json_string_value(json_object_get(v, "status")), "completed");
    json_decref(v);
    e2e_child_release(&r);

    CLI(&r, "jobs", "list", "--customer", customer, "--type", "echo", "--status", "completed");
    e2e_expect_code(&r, 0);
    e2e_expect_in(r.out.data, "JOB ID");
    e2e_expect_in(r.out.data, id);
    assert_int_equal(count_lines(r.out.data), 2);
    e2e_child_release(&r);

    CLI(&r, "jobs", "purge", id);
    e2e_expect_code(&r, 0);
    e2e_expect_in(r.out.data, id);
    e2e_child_release(&r);
    assert_int_equal(http_status("GET", path), 404);
    CLI(&r, "jobs", "get", id);
    e2e_expect_code(&r, 6);
    assert_string_equal(r.out.data, "");
    e2e_expect_in(r.err.data, "durata jobs get: no job with this id (HTTP 404)");
    e2e_child_release(&r);
}

static void
test_jobs_submit_validation_payload_file_and_idempotency(void **state)
{
    char file[700], arg[710], id1[128], id2[128], key[64];
    struct e2e_child r;
    FILE *f;

    (void)state;
    CLI(&r, "jobs", "submit", "no-such-type");
    e2e_expect_code(&r, 1);
    assert_string_equal(r.out.data, "");
    e2e_expect_in(r.err.data, "(HTTP 422)");
    e2e_expect_in(r.err.data, "job_type");
    e2e_child_release(&r);

    snprintf(file, sizeof(file), "%s/payload.json", srv.dir);
    assert_non_null(f = fopen(file, "w"));
    fputs("{\"from\": \"a file\"}\n", f);
    fclose(f);
    snprintf(arg, sizeof(arg), "@%s", file);
    snprintf(key, sizeof(key), "key-%d", (int)getpid());
    CLI(&r, "jobs", "submit", "echo", "--payload", arg, "--idempotency-key", key);
    take_id(&r, id1, sizeof(id1));
    e2e_child_release(&r);
    CLI(&r, "jobs", "submit", "echo", "--payload", arg, "--idempotency-key", key);
    take_id(&r, id2, sizeof(id2));
    e2e_child_release(&r);
    assert_string_equal(id1, id2);
    CLI(&r, "jobs", "submit", "echo", "--payload", "{\"other\":1}", "--idempotency-key", key);
    e2e_expect_code(&r, 7);
    e2e_expect_in(r.err.data, "(HTTP 409)");
    e2e_child_release(&r);
    wait_job_status(id1, "completed");
    CLI(&r, "jobs", "get", id1);
    e2e_expect_in(r.out.data, "{\"from\":\"a file\"}");
    e2e_child_release(&r);
}

static void
test_jobs_cancel_then_conflicts(void **state)
{
    char id[128];
    struct e2e_child r;

    (void)state;
    submit("sleep", "{\"ms\":60000}", id, sizeof(id));
    wait_job_status(id, "running");
    CLI(&r, "jobs", "purge", id);
    e2e_expect_code(&r, 7);
    e2e_expect_in(r.err.data, "has not ended");
    e2e_child_release(&r);
    CLI(&r, "jobs", "cancel", id, "--reason", "changed my mind");
    e2e_expect_code(&r, 0);
    e2e_expect_in(r.out.data, "cancellation requested: ");
    e2e_expect_in(r.out.data, id);
    e2e_child_release(&r);
    CLI(&r, "wait", id, "--timeout", "30");
    e2e_expect_code(&r, 4);
    e2e_expect_in(r.out.data, "Terminated");
    e2e_child_release(&r);
    CLI(&r, "jobs", "get", id);
    e2e_expect_in(r.out.data, "status         cancelled");
    e2e_expect_in(r.out.data, "changed my mind");
    e2e_child_release(&r);
    CLI(&r, "jobs", "cancel", id);
    e2e_expect_code(&r, 7);
    e2e_expect_in(r.err.data, "the job has already ended (HTTP 409)");
    e2e_child_release(&r);
    CLI(&r, "jobs", "cancel", "no-such-job");
    e2e_expect_code(&r, 6);
    e2e_child_release(&r);
    CLI(&r, "jobs", "purge", "no-such-job");
    e2e_expect_code(&r, 6);
    e2e_child_release(&r);
}

static void
test_jobs_list_all_follows_next_cursor(void **state)
{
    char customer[64], payload[64], ids[5][128];
    struct e2e_child r;
    json_t *v;

    (void)state;
    snprintf(customer, sizeof(customer), "pager-%d", (int)getpid());
    for (int i = 0; i < 5; i++) {
        snprintf(payload, sizeof(payload), "{\"n\":%d}", i);
        CLI(&r, "jobs", "submit", "echo", "--customer", customer, "--payload", payload);
        take_id(&r, ids[i], sizeof(ids[i]));
        e2e_child_release(&r);
    }
    CLI(&r, "jobs", "list", "--customer", customer, "--limit", "2");
    e2e_expect_code(&r, 0);
    assert_int_equal(count_lines(r.out.data), 3); /* heading + 2 */
    e2e_expect_in(r.out.data, ids[0]);
    e2e_expect_in(r.out.data, ids[1]);
    e2e_expect_in(r.err.data, "more jobs follow");
    e2e_child_release(&r);
    CLI(&r, "jobs", "list", "--customer", customer, "--limit", "2", "--all");
    e2e_expect_code(&r, 0);
    assert_int_equal(count_lines(r.out.data), 6);
    for (int i = 0; i < 5; i++)
        e2e_expect_in(r.out.data, ids[i]);
    assert_string_equal(r.err.data, "");
    e2e_child_release(&r);
    CLI(&r, "jobs", "list", "--customer", customer, "--limit", "2", "--all", "--json");
    e2e_expect_code(&r, 0);
    assert_non_null(v = json_loads(r.out.data, 0, NULL));
    assert_int_equal(json_array_size(json_object_get(v, "jobs")), 5);
    assert_true(json_is_null(json_object_get(v, "next_cursor")));
    json_decref(v);
    e2e_child_release(&r);
    CLI(&r, "jobs", "list", "--customer", "nobody-at-all");
    e2e_expect_code(&r, 0);
    assert_string_equal(r.out.data, "");
    e2e_expect_in(r.err.data, "no jobs");
    e2e_child_release(&r);
}

/* ------------------------------------------------------------ instances */

#define SLEEP_INPUT "{\"job_type\":\"sleep\",\"payload\":{\"ms\":60000}}"

/* Runs args and checks the exit code and what stdout and stderr hold
 * (NULL: not checked). */
static void
check(int code, const char *in_out, const char *in_err, const char *const *args)
{
    struct e2e_child r;

    cli_exec(&r, E2E_CHILD_PLAIN, NULL, args);
    e2e_expect_code(&r, code);
    if (in_out)
        e2e_expect_in(r.out.data, in_out);
    if (in_err)
        e2e_expect_in(r.err.data, in_err);
    e2e_child_release(&r);
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
    struct e2e_child r;

    (void)state;
    snprintf(id, sizeof(id), "cli-life-%d", (int)getpid());
    CLI(&r, "start", "durata.Job", "--id", id, "--input", SLEEP_INPUT, "--version", "1.2");
    e2e_expect_code(&r, 0);
    assert_int_equal(strncmp(r.out.data, id, strlen(id)), 0);
    assert_string_equal(r.out.data + strlen(id), "\n");
    e2e_child_release(&r);
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
    struct e2e_child r;

    (void)state;
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        cli_exec(&r, E2E_CHILD_PLAIN, NULL, cmds[i]);
        e2e_expect_code(&r, 6);
        assert_string_equal(r.out.data, "");
        e2e_expect_in(r.err.data, "(HTTP 404)");
        e2e_child_release(&r);
    }
}

static void
test_start_input_file_and_list_filters(void **state)
{
    char prefix[64], id[96], file[700], arg[710];
    struct e2e_child r;
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
        e2e_expect_code(&r, 0);
        e2e_child_release(&r);
        CLI(&r, "wait", id, "--timeout", "30");
        e2e_expect_code(&r, 0);
        e2e_expect_in(r.out.data, "output         {\"x\":1}");
        e2e_child_release(&r);
    }
    CLI(&r, "list", "--prefix", prefix, "--status", "completed,failed", "--name", "durata.Job");
    e2e_expect_code(&r, 0);
    e2e_expect_in(r.out.data, "INSTANCE ID");
    assert_int_equal(count_lines(r.out.data), 4);
    e2e_expect_in(r.out.data, "Completed");
    e2e_child_release(&r);
    CLI(&r, "list", "--prefix", prefix, "--status", "Running");
    e2e_expect_code(&r, 0);
    assert_string_equal(r.out.data, "");
    e2e_expect_in(r.err.data, "no instances");
    e2e_child_release(&r);
    CLI(&r, "list", "--prefix", prefix, "--limit", "1");
    e2e_expect_code(&r, 0);
    assert_int_equal(count_lines(r.out.data), 2);
    e2e_expect_in(r.err.data, "more instances follow");
    e2e_child_release(&r);
    CLI(&r, "list", "--prefix", prefix, "--limit", "1", "--all", "--json");
    e2e_expect_code(&r, 0);
    assert_non_null(v = json_loads(r.out.data, 0, NULL));
    assert_int_equal(json_array_size(v), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(v, 2), "instanceId")), id);
    json_decref(v);
    e2e_child_release(&r);
    CLI(&r, "--url", srv.base, "list", "--prefix", prefix, "--all");
    e2e_expect_code(&r, 0);
    assert_int_equal(count_lines(r.out.data), 4);
    e2e_child_release(&r);
}

static void
test_rewind_a_failed_instance(void **state)
{
    char id[128];
    struct e2e_child r;

    (void)state;
    submit("fail", NULL, id, sizeof(id));
    CLI(&r, "wait", id, "--timeout", "30");
    e2e_expect_code(&r, 3);
    e2e_child_release(&r);
    CLI(&r, "rewind", id, "--reason", "try again");
    e2e_expect_code(&r, 0);
    e2e_expect_in(r.out.data, "rewind requested: ");
    e2e_child_release(&r);
    CLI(&r, "wait", id, "--timeout", "30"); /* the fail type fails again */
    e2e_expect_code(&r, 3);
    e2e_child_release(&r);
    CLI(&r, "status", id, "--history");
    e2e_expect_in(r.out.data, "ExecutionRewound");
    e2e_expect_in(r.out.data, "try again");
    e2e_child_release(&r);
    submit("echo", NULL, id, sizeof(id));
    CLI(&r, "wait", id, "--timeout", "30");
    e2e_expect_code(&r, 0);
    e2e_child_release(&r);
    CLI(&r, "rewind", id);
    e2e_expect_code(&r, 7);
    e2e_child_release(&r);
}

/* ------------------------------------------------------------ wait */

static void
test_wait_exit_codes_follow_the_outcome(void **state)
{
    char id[128];
    struct e2e_child r;
    json_t *v;

    (void)state;
    submit("echo", "{\"done\":true}", id, sizeof(id));
    CLI(&r, "wait", id, "--timeout", "30");
    e2e_expect_code(&r, 0);
    e2e_expect_in(r.out.data, "status         Completed");
    e2e_expect_in(r.out.data, "output         {\"done\":true}");
    e2e_child_release(&r);

    submit("fail", NULL, id, sizeof(id));
    CLI(&r, "wait", id, "--timeout", "30", "--json");
    e2e_expect_code(&r, 3);
    assert_non_null(v = json_loads(r.out.data, 0, NULL));
    assert_string_equal(json_string_value(json_object_get(v, "runtimeStatus")), "Failed");
    json_decref(v);
    e2e_child_release(&r);

    submit("sleep", "{\"ms\":60000}", id, sizeof(id));
    CLI(&r, "wait", id, "--timeout", "0.3");
    e2e_expect_code(&r, 5);
    assert_string_equal(r.out.data, "");
    e2e_expect_in(r.err.data, "durata wait: timed out after ");
    e2e_child_release(&r);
    CLI(&r, "terminate", id, "--reason", "stop");
    e2e_expect_code(&r, 0);
    e2e_child_release(&r);
    CLI(&r, "wait", id, "--timeout", "30");
    e2e_expect_code(&r, 4);
    e2e_expect_in(r.out.data, "Terminated");
    e2e_child_release(&r);
}

/* Without a terminal: one line per status change, no carriage return. */
static void
test_wait_prints_a_line_per_status_change(void **state)
{
    char id[128], want[160];
    struct e2e_child r;

    (void)state;
    submit("sleep", "{\"ms\":1500}", id, sizeof(id));
    CLI(&r, "wait", id, "--timeout", "30");
    e2e_expect_code(&r, 0);
    snprintf(want, sizeof(want), "%s: Running\n", id);
    e2e_expect_in(r.err.data, want);
    assert_null(strstr(strstr(r.err.data, want) + 1, want)); /* once, though polled many times */
    assert_null(strchr(r.err.data, '\r'));
    e2e_expect_in(r.out.data, "status         Completed");
    e2e_child_release(&r);
}

/* On a terminal: one line rewritten with '\r', wiped before the result. */
static void
test_wait_live_line_on_a_terminal(void **state)
{
    char id[128], want[160];
    struct e2e_child r;

    (void)state;
    submit("sleep", "{\"ms\":1500}", id, sizeof(id));
    cli_exec(&r, E2E_CHILD_TTY, NULL, (const char *const[]){"wait", id, "--timeout", "30", NULL});
    e2e_expect_code(&r, 0);
    snprintf(want, sizeof(want), "\r%s  Running  ", id);
    e2e_expect_in(r.err.data, want);
    assert_non_null(strstr(strstr(r.err.data, want) + 1, want)); /* rewritten, not printed once */
    assert_null(strchr(r.err.data, '\n'));                       /* never a new line */
    assert_int_equal(r.err.data[strlen(r.err.data) - 1], '\r');  /* the line wiped at the end */
    e2e_expect_in(r.out.data, "status         Completed");
    e2e_child_release(&r);
}

/* ------------------------------------------------------------ API keys */

static void
test_api_key_from_flag_or_environment(void **state)
{
    static const char *const args[] = {"--api-key", "s3cret", NULL};
    static const char *const env_key[] = {"DURATA_API_KEY=s3cret,other", NULL};
    struct e2e_server keyed;
    struct e2e_child r;

    (void)state;
    memset(&keyed, 0, sizeof(keyed));
    assert_int_equal(e2e_start(&keyed, args), 0);
    CLI(&r, "--url", keyed.base, "list");
    e2e_expect_code(&r, 1);
    e2e_expect_in(r.err.data, "(HTTP 401)");
    e2e_expect_in(r.err.data, "--api-key");
    e2e_child_release(&r);
    CLI(&r, "jobs", "submit", "echo", "--url", keyed.base, "--api-key", "wrong");
    e2e_expect_code(&r, 1);
    e2e_child_release(&r);
    CLI(&r, "jobs", "submit", "echo", "--url", keyed.base, "--api-key", "s3cret");
    e2e_expect_code(&r, 0);
    e2e_child_release(&r);
    CLI_ENV(&r, env_key, "jobs", "list", "--url", keyed.base);
    e2e_expect_code(&r, 0);
    e2e_expect_in(r.out.data, "echo");
    e2e_child_release(&r);
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
