/*
 * test_cli_restart.c — end to end: the `durata` command across server
 * restarts. `durata wait` follows a job while its server is stopped
 * (SIGTERM) and started again on the same store and port, and ends with
 * the completed job; it gives up with exit 5 once the server has been
 * unreachable longer than --unreachable-timeout, saying so on the
 * terminal. `durata serve --activity-lease` (and DURATA_ACTIVITY_LEASE,
 * "activityLeaseSeconds" in durata.json, each layer over the one before)
 * sets how soon the task of a killed server runs again; bad values exit 2.
 * Each test starts its own server; `durata` runs as a child process whose
 * output is read while the test acts on the server. The teardown after
 * each test stops what a failed test left running.
 * Threading: the test's thread; children are waited for.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#define MAX_ENV 512
#define CHILD_DEADLINE_MS 60000

extern char **environ;

/* ------------------------------------------------------------ a child `durata` */

struct sink {
    char *data;
    size_t len;
};

struct child {
    pid_t pid;  /* 0 once waited for */
    int out_fd; /* stdout pipe; -1 = none */
    int err_fd; /* stderr pipe, or the pseudo-terminal's master; -1 = none */
    int slave;  /* the terminal's slave, held so the master never reads EIO; -1 = none */
    bool out_open;
    bool err_open;
    struct sink out, err;
    int code; /* exit status, or 128 + signal, once finished */
};

/* What the running test uses; the teardown cleans up after a failure. */
static struct e2e_server srv;
static struct child kid = {.out_fd = -1, .err_fd = -1, .slave = -1};
static char lease_dir[512]; /* test_serve_refuses_a_bad_activity_lease's files */

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads what fd holds now; *open becomes false at its end. */
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

/* Our environment without DURATA_* (the child gets --url), then extra. */
static void
child_env(const char *const *extra, const char **envp)
{
    size_t n = 0;

    for (char **e = environ; *e && n < MAX_ENV - 16; e++)
        if (strncmp(*e, "DURATA_", 7) != 0)
            envp[n++] = *e;
    for (size_t i = 0; extra && extra[i] && n < MAX_ENV - 1; i++)
        envp[n++] = extra[i];
    envp[n] = NULL;
}

/* A pseudo-terminal 100 columns wide: its master (non-blocking) and slave. */
static void
open_pty(int *master, int *slave)
{
    struct winsize ws = {.ws_row = 24, .ws_col = 100};

    *master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    assert_true(*master >= 0);
    assert_int_equal(grantpt(*master), 0);
    assert_int_equal(unlockpt(*master), 0);
    assert_int_equal(ioctl(*master, TIOCSWINSZ, &ws), 0);
    fcntl(*master, F_SETFL, fcntl(*master, F_GETFL) | O_NONBLOCK);
    *slave = open(ptsname(*master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    assert_true(*slave >= 0);
}

/* Starts DURATA_BIN args... with stdin from /dev/null, stdout to a pipe and
 * stderr to a pipe or (tty) a pseudo-terminal; env: extra "NAME=value"
 * entries or NULL. */
static void
child_start(struct child *ch, bool tty, const char *const *env, const char *const *args)
{
    const char *bin = getenv("DURATA_BIN"), *argv[32], *envp[MAX_ENV];
    int out[2], err[2] = {-1, -1};
    size_t n = 0;

    memset(ch, 0, sizeof(*ch));
    ch->out_fd = ch->err_fd = ch->slave = -1;
    assert_non_null(bin);
    argv[n++] = bin;
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    child_env(env, envp);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    if (tty)
        open_pty(&err[0], &ch->slave);
    else
        assert_int_equal(pipe2(err, O_CLOEXEC), 0);
    ch->pid = fork();
    assert_true(ch->pid >= 0);
    if (ch->pid == 0) {
        int null = open("/dev/null", O_RDONLY);

        dup2(null, STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        dup2(tty ? ch->slave : err[1], STDERR_FILENO);
        execve(argv[0], (char *const *)argv, (char *const *)envp);
        _exit(127);
    }
    close(out[1]);
    if (!tty)
        close(err[1]);
    ch->out_fd = out[0];
    ch->err_fd = err[0];
    ch->out_open = ch->err_open = true;
}

/* Reads what the child wrote within timeout_ms. */
static void
child_pump(struct child *ch, int timeout_ms)
{
    struct pollfd p[2] = {{.fd = ch->out_open ? ch->out_fd : -1, .events = POLLIN},
                          {.fd = ch->err_open ? ch->err_fd : -1, .events = POLLIN}};

    if (poll(p, 2, timeout_ms) <= 0)
        return;
    if (p[0].revents)
        sink_read(&ch->out, ch->out_fd, &ch->out_open);
    if (p[1].revents)
        sink_read(&ch->err, ch->err_fd, &ch->err_open);
}

/* Reads the child's stderr until it holds want (fails after deadline_ms). */
static void
child_until(struct child *ch, const char *want, int deadline_ms)
{
    long long end = now_ms() + deadline_ms;

    while (!(ch->err.data && strstr(ch->err.data, want))) {
        if (now_ms() > end || (!ch->out_open && !ch->err_open)) {
            fprintf(stderr, "'%s' not seen; stderr so far:\n%s\n", want,
                    ch->err.data ? ch->err.data : "");
            kill(ch->pid, SIGKILL);
            fail();
        }
        child_pump(ch, 50);
    }
}

/* Reads everything until the child exits (killing it after deadline_ms)
 * and returns its exit code. */
static int
child_finish(struct child *ch, int deadline_ms)
{
    long long end = now_ms() + deadline_ms;
    int status;

    while (ch->out_open || (ch->err_open && ch->slave < 0)) {
        if (now_ms() > end) {
            kill(ch->pid, SIGKILL);
            fail_msg("durata did not finish within %d ms", deadline_ms);
        }
        child_pump(ch, 50);
    }
    assert_int_equal(waitpid(ch->pid, &status, 0), ch->pid);
    ch->pid = 0;
    while (ch->err_open && ch->slave >= 0) { /* what the terminal still holds */
        size_t before = ch->err.len;
        sink_read(&ch->err, ch->err_fd, &ch->err_open);
        if (ch->err.len == before)
            break;
    }
    ch->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (!ch->out.data)
        ch->out.data = strdup("");
    if (!ch->err.data)
        ch->err.data = strdup("");
    assert_non_null(ch->out.data);
    assert_non_null(ch->err.data);
    return ch->code;
}

/* Kills the child if it still runs, and frees what it holds. */
static void
child_release(struct child *ch)
{
    if (ch->pid > 0) {
        kill(ch->pid, SIGKILL);
        (void)waitpid(ch->pid, NULL, 0);
    }
    if (ch->out_fd >= 0)
        close(ch->out_fd);
    if (ch->err_fd >= 0)
        close(ch->err_fd);
    if (ch->slave >= 0)
        close(ch->slave);
    free(ch->out.data);
    free(ch->err.data);
    memset(ch, 0, sizeof(*ch));
    ch->out_fd = ch->err_fd = ch->slave = -1;
}

static void
expect_in(const char *text, const char *want)
{
    if (!strstr(text, want))
        fprintf(stderr, "'%s' not found in:\n%s\n", want, text);
    assert_non_null(strstr(text, want));
}

static void
expect_code(const struct child *ch, int code)
{
    if (ch->code != code)
        fprintf(stderr, "exit %d (want %d)\n--- stdout:\n%s--- stderr:\n%s---\n", ch->code, code,
                ch->out.data, ch->err.data);
    assert_int_equal(ch->code, code);
}

/* ------------------------------------------------------------ jobs */

/* Submits a sleep job of ms milliseconds; its id into id. */
static void
submit_sleep(const struct e2e_server *s, int ms, char *id, size_t size)
{
    struct e2e_resp r;
    char body[64];
    json_t *v;

    snprintf(body, sizeof(body), "{\"job_type\":\"sleep\",\"payload\":{\"ms\":%d}}", ms);
    assert_int_equal(e2e_request(s, "POST", "/api/jobs", body,
                                 (const char *const[]){"Content-Type: application/json", NULL}, &r),
                     0);
    assert_int_equal(r.status, 202);
    assert_non_null(v = json_loads(r.body, 0, NULL));
    assert_non_null(json_string_value(json_object_get(v, "job_id")));
    snprintf(id, size, "%s", json_string_value(json_object_get(v, "job_id")));
    json_decref(v);
    e2e_resp_release(&r);
}

static void
job_path(char *path, size_t size, const char *id)
{
    snprintf(path, size, "/api/jobs/%s", id);
}

/* ------------------------------------------------------------ wait */

/* The server is stopped while wait follows a job, then started again on
 * the same store and port: wait rides it out and ends with the result. */
static void
test_wait_rides_out_a_server_restart(void **state)
{
    static const char *const lease[] = {"--activity-lease", "1s", NULL};
    char id[128], want[192], base[128], listen[64];
    int port;

    (void)state;
    assert_int_equal(e2e_start(&srv, lease), 0);
    port = srv.port;
    snprintf(base, sizeof(base), "%s", srv.base);
    submit_sleep(&srv, 1500, id, sizeof(id));
    child_start(&kid, false, NULL,
                (const char *const[]){"wait", id, "--url", base, "--timeout", "60", NULL});
    snprintf(want, sizeof(want), "%s: Running\n", id);
    child_until(&kid, want, 20000);

    assert_int_equal(e2e_stop(&srv), 0); /* SIGTERM: the server drains and exits 0 */
    child_until(&kid, "durata wait: cannot reach the server at ", 20000);
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    assert_int_equal(e2e_restart(&srv, (const char *const[]){"--listen", listen, "--activity-lease",
                                                             "1s", NULL}),
                     0);
    assert_int_equal(srv.port, port);

    child_finish(&kid, CHILD_DEADLINE_MS);
    expect_code(&kid, 0);
    expect_in(kid.out.data, "status         Completed");
    expect_in(kid.out.data, "\"slept_ms\":1500");
    expect_in(kid.err.data, "durata wait: the server answers again after ");
    child_release(&kid);
    e2e_cleanup(&srv);
}

/* On a terminal the live line says the server is unreachable; past
 * --unreachable-timeout wait gives up with exit 5. */
static void
test_wait_gives_up_when_the_server_stays_away(void **state)
{
    char id[128], want[192], base[128];

    (void)state;
    assert_int_equal(e2e_start(&srv, NULL), 0);
    snprintf(base, sizeof(base), "%s", srv.base);
    submit_sleep(&srv, 60000, id, sizeof(id));
    child_start(
        &kid, true, NULL,
        (const char *const[]){"wait", id, "--url", base, "--unreachable-timeout", "1.5", NULL});
    snprintf(want, sizeof(want), "\r%s  Running  ", id);
    child_until(&kid, want, 20000);
    assert_int_equal(e2e_stop(&srv), 0);

    child_finish(&kid, CHILD_DEADLINE_MS);
    expect_code(&kid, 5);
    assert_string_equal(kid.out.data, "");
    expect_in(kid.err.data, "s  server unreachable for ");
    expect_in(kid.err.data, ", retrying: ");
    expect_in(kid.err.data, "durata wait: gave up: the server at ");
    expect_in(kid.err.data, " has been unreachable for 1.");
    expect_in(kid.err.data, " may still be running (wait again)"); /* the tty writes \r\n */
    child_release(&kid);
    e2e_cleanup(&srv);
}

/* A server never reached is a wrong URL: exit 1 at once, as before. A bad
 * --unreachable-timeout is bad usage. */
static void
test_wait_without_any_server_and_bad_values(void **state)
{
    static const char *const bad[] = {"soon", "-1", "", "1e99"};

    (void)state;
    child_start(&kid, false, NULL,
                (const char *const[]){"wait", "x", "--url", "http://127.0.0.1:1",
                                      "--unreachable-timeout", "30", NULL});
    child_finish(&kid, 5000); /* not 30 s */
    expect_code(&kid, 1);
    expect_in(kid.err.data, "durata wait: no answer from http://127.0.0.1:1");
    child_release(&kid);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        child_start(&kid, false, NULL,
                    (const char *const[]){"wait", "x", "--unreachable-timeout", bad[i], NULL});
        child_finish(&kid, 5000);
        expect_code(&kid, 2);
        expect_in(kid.err.data, "--unreachable-timeout wants seconds");
        child_release(&kid);
    }
    child_start(&kid, false, NULL, (const char *const[]){"wait", "--help", NULL});
    child_finish(&kid, 5000);
    expect_code(&kid, 0);
    expect_in(kid.out.data, "--unreachable-timeout SECONDS");
    child_release(&kid);
}

/* ------------------------------------------------------------ --activity-lease */

static void
write_file(const char *path, const char *text)
{
    FILE *f;

    assert_non_null(f = fopen(path, "w"));
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

/* `durata serve` with a bad lease exits 2 at once, naming the source. */
static void
test_serve_refuses_a_bad_activity_lease(void **state)
{
    static const struct {
        const char *flag, *env, *file, *message;
    } cases[] = {
        {"0s", NULL, NULL, "--activity-lease wants a duration from 1s to 1d"},
        {"2d", NULL, NULL, "--activity-lease wants a duration from 1s to 1d"},
        {"999ms", NULL, NULL, "not '999ms'"},
        {"30", NULL, NULL, "not '30'"},
        {"", NULL, NULL, "--activity-lease wants a duration"},
        {NULL, "DURATA_ACTIVITY_LEASE=soon", NULL, "DURATA_ACTIVITY_LEASE wants a duration"},
        {NULL, NULL, "{\"activityLeaseSeconds\": 0.5}",
         "activityLeaseSeconds: must be a number of seconds from 1 to 86400"},
        {NULL, NULL, "{\"activityLeaseSeconds\": \"30s\"}", "activityLeaseSeconds: must be"},
        {NULL, NULL, "{\"activityLeaseSeconds\": 86401}", "activityLeaseSeconds: must be"},
    };
    const char *root = getenv("DURATA_TEST_TMP");
    char store[600], config[600];

    (void)state;
    snprintf(lease_dir, sizeof(lease_dir), "%s/durata-lease-XXXXXX", root && *root ? root : "/tmp");
    assert_non_null(mkdtemp(lease_dir));
    snprintf(store, sizeof(store), "%s/durata.db", lease_dir);
    snprintf(config, sizeof(config), "%s/durata.json", lease_dir);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *args[12] = {"serve", "--listen", "127.0.0.1:0", "--store", store};
        const char *env[2] = {cases[i].env, NULL};
        size_t n = 5;

        if (cases[i].flag) {
            args[n++] = "--activity-lease";
            args[n++] = cases[i].flag;
        }
        if (cases[i].file) {
            write_file(config, cases[i].file);
            args[n++] = "--config";
            args[n++] = config;
        }
        args[n] = NULL;
        child_start(&kid, false, env, args);
        child_finish(&kid, 10000);
        expect_code(&kid, 2);
        expect_in(kid.err.data, cases[i].message);
        assert_string_equal(kid.out.data, ""); /* never "listening on" */
        child_release(&kid);
    }
    unlink(config);
    assert_int_equal(rmdir(lease_dir), 0); /* no store was created */
    lease_dir[0] = '\0';
}

/* Sets (value) or clears (NULL) DURATA_ACTIVITY_LEASE for the servers the
 * harness starts (they inherit our environment). */
static void
server_env(const char *value)
{
    if (value)
        assert_int_equal(setenv("DURATA_ACTIVITY_LEASE", value, 1), 0);
    else
        assert_int_equal(unsetenv("DURATA_ACTIVITY_LEASE"), 0);
}

/* A server killed while a job's handler runs leaves the task leased; the
 * restarted server runs it again once that lease expires. With the default
 * (30 s) the job could not be done within 12 s; with the lease set to 1s
 * by the layer that wins, it is. */
static void
lease_case(const char *file, const char *env, const char *flag)
{
    char id[128], path[256], config[700];
    const char *args[5] = {NULL};
    size_t n = 0;

    server_env(env);
    assert_int_equal(e2e_start(&srv, NULL), 0); /* for the directory; restarted below */
    if (file) {
        snprintf(config, sizeof(config), "%s/lease.json", srv.dir);
        write_file(config, file);
        args[n++] = "--config";
        args[n++] = config;
    }
    if (flag) {
        args[n++] = "--activity-lease";
        args[n++] = flag;
    }
    assert_int_equal(e2e_restart(&srv, args), 0);
    submit_sleep(&srv, 1000, id, sizeof(id));
    job_path(path, sizeof(path), id);
    /* "running" is committed with the task's lease already taken. */
    assert_true(e2e_wait_field(&srv, path, "status", "running", 10000));
    e2e_kill(&srv);
    assert_int_equal(e2e_restart(&srv, args), 0);
    server_env(NULL);
    if (!e2e_wait_field(&srv, path, "status", "completed", 12000))
        fail_msg("file %s, env %s, flag %s: the job did not complete within 12 s",
                 file ? file : "-", env ? env : "-", flag ? flag : "-");
    e2e_cleanup(&srv);
}

static void
test_activity_lease_layers_set_the_redelivery_time(void **state)
{
    (void)state;
    lease_case(NULL, NULL, "1s");
    lease_case("{\"activityLeaseSeconds\": 1}", NULL, NULL);
    lease_case("{\"activityLeaseSeconds\": 3600}", "1s", NULL); /* env over file */
    lease_case(NULL, "1h", "1s");                               /* flag over env */
}

/* Stops what a failed test left: the child, the server, the environment
 * and the files of the bad-lease test. */
static int
teardown(void **state)
{
    char path[600];

    (void)state;
    child_release(&kid);
    e2e_cleanup(&srv);
    unsetenv("DURATA_ACTIVITY_LEASE");
    if (lease_dir[0]) {
        snprintf(path, sizeof(path), "%s/durata.json", lease_dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/durata.db", lease_dir);
        unlink(path);
        rmdir(lease_dir);
        lease_dir[0] = '\0';
    }
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_wait_rides_out_a_server_restart, teardown),
        cmocka_unit_test_teardown(test_wait_gives_up_when_the_server_stays_away, teardown),
        cmocka_unit_test_teardown(test_wait_without_any_server_and_bad_values, teardown),
        cmocka_unit_test_teardown(test_serve_refuses_a_bad_activity_lease, teardown),
        cmocka_unit_test_teardown(test_activity_lease_layers_set_the_redelivery_time, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
