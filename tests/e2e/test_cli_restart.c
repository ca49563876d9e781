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
#include "child.h"
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

/* The children's environment: ours without DURATA_* (they get --url). */
static const char *const no_durata[] = {"DURATA_", NULL};

/* What the running test uses; the teardown cleans up after a failure. */
static struct e2e_server srv;
static struct e2e_child kid = E2E_CHILD_INIT;
static char lease_dir[512]; /* test_serve_refuses_a_bad_activity_lease's files */

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
    e2e_child_start(&kid, E2E_CHILD_PLAIN, no_durata, NULL,
                    (const char *const[]){"wait", id, "--url", base, "--timeout", "60", NULL});
    snprintf(want, sizeof(want), "%s: Running\n", id);
    e2e_child_until(&kid, want, 20000);

    assert_int_equal(e2e_stop(&srv), 0); /* SIGTERM: the server drains and exits 0 */
    e2e_child_until(&kid, "durata wait: cannot reach the server at ", 20000);
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    assert_int_equal(e2e_restart(&srv, (const char *const[]){"--listen", listen, "--activity-lease",
                                                             "1s", NULL}),
                     0);
    assert_int_equal(srv.port, port);

    e2e_child_finish(&kid, E2E_CHILD_DEADLINE_MS);
    e2e_expect_code(&kid, 0);
    e2e_expect_in(kid.out.data, "status         Completed");
    e2e_expect_in(kid.out.data, "\"slept_ms\":1500");
    e2e_expect_in(kid.err.data, "durata wait: the server answers again after ");
    e2e_child_release(&kid);
    e2e_cleanup(&srv);
}

/* On a terminal the live line says the server is unreachable; past
 * --unreachable-timeout wait gives up with exit 5. */
static void
test_wait_gives_up_when_the_server_stays_away(void **state)
{
    char id[128], want[192], base[128];

    (void)state;
    /* No shutdown grace: the stop must not wait for the minute-long job. */
    assert_int_equal(e2e_start(&srv, (const char *const[]){"--shutdown-grace", "0s", NULL}), 0);
    snprintf(base, sizeof(base), "%s", srv.base);
    submit_sleep(&srv, 60000, id, sizeof(id));
    e2e_child_start(
        &kid, E2E_CHILD_TTY, no_durata, NULL,
        (const char *const[]){"wait", id, "--url", base, "--unreachable-timeout", "1.5", NULL});
    snprintf(want, sizeof(want), "\r%s  Running  ", id);
    e2e_child_until(&kid, want, 20000);
    assert_int_equal(e2e_stop(&srv), 0);

    e2e_child_finish(&kid, E2E_CHILD_DEADLINE_MS);
    e2e_expect_code(&kid, 5);
    assert_string_equal(kid.out.data, "");
    e2e_expect_in(kid.err.data, "s  server unreachable for ");
    e2e_expect_in(kid.err.data, ", retrying: ");
    e2e_expect_in(kid.err.data, "durata wait: gave up: the server at ");
    e2e_expect_in(kid.err.data, " has been unreachable for 1.");
    e2e_expect_in(kid.err.data, " may still be running (wait again)"); /* the tty writes \r\n */
    e2e_child_release(&kid);
    e2e_cleanup(&srv);
}

/* A server never reached is a wrong URL: exit 1 at once, as before. A bad
 * --unreachable-timeout is bad usage. */
static void
test_wait_without_any_server_and_bad_values(void **state)
{
    static const char *const bad[] = {"soon", "-1", "", "1e99"};

    (void)state;
    e2e_child_start(&kid, E2E_CHILD_PLAIN, no_durata, NULL,
                    (const char *const[]){"wait", "x", "--url", "http://127.0.0.1:1",
                                          "--unreachable-timeout", "30", NULL});
    e2e_child_finish(&kid, 5000); /* not 30 s */
    e2e_expect_code(&kid, 1);
    e2e_expect_in(kid.err.data, "durata wait: no answer from http://127.0.0.1:1");
    e2e_child_release(&kid);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        e2e_child_start(&kid, E2E_CHILD_PLAIN, no_durata, NULL,
                        (const char *const[]){"wait", "x", "--unreachable-timeout", bad[i], NULL});
        e2e_child_finish(&kid, 5000);
        e2e_expect_code(&kid, 2);
        e2e_expect_in(kid.err.data, "--unreachable-timeout wants seconds");
        e2e_child_release(&kid);
    }
    e2e_child_start(&kid, E2E_CHILD_PLAIN, no_durata, NULL,
                    (const char *const[]){"wait", "--help", NULL});
    e2e_child_finish(&kid, 5000);
    e2e_expect_code(&kid, 0);
    e2e_expect_in(kid.out.data, "--unreachable-timeout SECONDS");
    e2e_child_release(&kid);
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
        e2e_child_start(&kid, E2E_CHILD_PLAIN, no_durata, env, args);
        e2e_child_finish(&kid, 10000);
        e2e_expect_code(&kid, 2);
        e2e_expect_in(kid.err.data, cases[i].message);
        assert_string_equal(kid.out.data, ""); /* never "listening on" */
        e2e_child_release(&kid);
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
    e2e_child_release(&kid);
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
