/*
 * test_args.c — bad arguments: NULL hubs, ids, names and out-pointers
 * return DURATA_EINVAL (never a crash) in every public call of the hub and
 * client; _free functions accept NULL; bad arguments inside an
 * orchestrator fail the task instead of the hub.
 */
#include "support_engine.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static enum durata_orch_result
orch_noop(struct durata_orch *o, void *arg)
{
    (void)arg;
    durata_orch_complete(o, NULL);
    return DURATA_DONE;
}

static void
act_noop(struct durata_activity *a, void *arg)
{
    (void)arg;
    durata_activity_complete(a, NULL);
}

/* Bad calls from orchestrator code: each task fails with a reason. */
static enum durata_orch_result
orch_bad_calls(struct durata_orch *o, void *arg)
{
    (void)arg;
    struct durata_task *t[3];
    t[0] = durata_call_activity(o, NULL, NULL, NULL);
    t[1] = durata_call_activity(o, "Noop", "{not json", NULL);
    struct durata_retry_policy bad = {.max_attempts = 0, .first_interval_ms = 0};
    t[2] = durata_call_activity(o, "Noop", NULL, &bad);
    char out[256];
    size_t len = (size_t)snprintf(out, sizeof(out), "[");
    for (int i = 0; i < 3; i++) {
        if (!durata_await(o, t[i]))
            return DURATA_YIELD;
        len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s", i ? "," : "",
                                durata_task_is_failed(t[i]) ? "true" : "false");
    }
    snprintf(out + len, sizeof(out) - len, "]");
    durata_orch_complete(o, out);
    return DURATA_DONE;
}

/* Waits for "go" forever. */
static enum durata_orch_result
orch_wait(struct durata_orch *o, void *arg)
{
    (void)arg;
    struct durata_task *t = durata_wait_event(o, "go", -1);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    durata_orch_complete(o, NULL);
    return DURATA_DONE;
}

static int
setup(void **state)
{
    int rc = eng_setup(state);
    struct eng *e = *state;

    if (rc == 0) {
        eng_orch(e, "Noop", orch_noop, NULL);
        eng_orch(e, "BadCalls", orch_bad_calls, NULL);
        eng_orch(e, "Wait", orch_wait, NULL);
        eng_act(e, "Noop", act_noop, NULL);
    }
    return rc;
}

static void
test_hub_lifecycle_rejects_null(void **state)
{
    struct eng *e = *state;
    struct durata_hub_options o = {.store_path = e->path};
    struct durata_hub *hub = (struct durata_hub *)1;

    assert_int_equal(durata_hub_open(NULL, &o), DURATA_EINVAL);
    o.activity_lease_ms = -1;
    assert_int_equal(durata_hub_open(&hub, &o), DURATA_EINVAL);
    assert_null(hub);
    o = (struct durata_hub_options){.store_path = e->path, .max_deliveries = -3};
    assert_int_equal(durata_hub_open(&hub, &o), DURATA_EINVAL);
    o = (struct durata_hub_options){.store_path = e->path, .orchestration_threads = -1};
    assert_int_equal(durata_hub_open(&hub, &o), DURATA_EINVAL);
    assert_int_equal(durata_hub_start(NULL), DURATA_EINVAL);
    assert_int_equal(durata_hub_run_pending(NULL, 0), DURATA_EINVAL);
    durata_hub_stop(NULL);
    durata_hub_close(NULL);
}

static void
test_registration_rejects_bad_arguments(void **state)
{
    struct eng *e = *state;
    char long_name[300];

    assert_int_equal(durata_register_orchestrator(e->hub, NULL, orch_noop, NULL), DURATA_EINVAL);
    assert_int_equal(durata_register_orchestrator(e->hub, "", orch_noop, NULL), DURATA_EINVAL);
    assert_int_equal(durata_register_orchestrator(e->hub, "X", NULL, NULL), DURATA_EINVAL);
    assert_int_equal(durata_register_activity(e->hub, NULL, act_noop, NULL), DURATA_EINVAL);
    assert_int_equal(durata_register_activity(e->hub, "", act_noop, NULL), DURATA_EINVAL);
    assert_int_equal(durata_register_activity(e->hub, "X", NULL, NULL), DURATA_EINVAL);
    memset(long_name, 'n', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_int_equal(durata_register_activity(e->hub, long_name, act_noop, NULL), DURATA_EINVAL);
}

static void
test_register_orchestrator_with_null_hub_is_einval(void **state)
{
    (void)state;
    assert_int_equal(durata_register_orchestrator(NULL, "X", orch_noop, NULL), DURATA_EINVAL);
}

static void
test_register_activity_with_null_hub_is_einval(void **state)
{
    (void)state;
    assert_int_equal(durata_register_activity(NULL, "X", act_noop, NULL), DURATA_EINVAL);
}

static void
test_start_rejects_bad_arguments(void **state)
{
    struct eng *e = *state;
    struct durata_start_options o = {.name = "Noop", .instance_id = "abc"};
    struct durata_start_options unnamed = {.instance_id = "abc"};
    char out[257], tiny[3];

    assert_int_equal(durata_start(NULL, &o, out, sizeof(out)), DURATA_EINVAL);
    assert_int_equal(durata_start(e->hub, NULL, out, sizeof(out)), DURATA_EINVAL);
    assert_int_equal(durata_start(e->hub, &unnamed, out, sizeof(out)), DURATA_EINVAL);
    unnamed.name = "";
    assert_int_equal(durata_start(e->hub, &unnamed, out, sizeof(out)), DURATA_EINVAL);
    /* id_out too small for the id. */
    assert_int_equal(durata_start(e->hub, &o, tiny, sizeof(tiny)), DURATA_EINVAL);
    struct durata_instance *inst = NULL;
    assert_int_equal(durata_get_status(e->hub, "abc", &inst), DURATA_ENOTFOUND);
    /* id_out may be NULL when the caller chose the id. */
    assert_int_equal(durata_start(e->hub, &o, NULL, 0), 0);
    assert_int_equal(eng_status(e, "abc"), DURATA_PENDING);
}

static void
test_client_calls_reject_null_hub_and_id(void **state)
{
    struct eng *e = *state;
    char out[257];
    int deleted;
    int64_t many;
    struct durata_instance *inst = NULL;
    struct durata_history *h = NULL;
    struct durata_page *p = NULL;

    eng_start(e, "Noop", "real", NULL, out);
    assert_int_equal(durata_raise_event(NULL, "real", "n", NULL), DURATA_EINVAL);
    assert_int_equal(durata_raise_event(e->hub, NULL, "n", NULL), DURATA_EINVAL);
    assert_int_equal(durata_raise_event(e->hub, "real", NULL, NULL), DURATA_EINVAL);
    assert_int_equal(durata_terminate(NULL, "real", NULL, false), DURATA_EINVAL);
    assert_int_equal(durata_terminate(e->hub, NULL, NULL, true), DURATA_EINVAL);
    assert_int_equal(durata_suspend(NULL, "real", NULL), DURATA_EINVAL);
    assert_int_equal(durata_suspend(e->hub, NULL, NULL), DURATA_EINVAL);
    assert_int_equal(durata_resume(NULL, "real", NULL), DURATA_EINVAL);
    assert_int_equal(durata_resume(e->hub, NULL, NULL), DURATA_EINVAL);
    assert_int_equal(durata_rewind(NULL, "real", NULL), DURATA_EINVAL);
    assert_int_equal(durata_rewind(e->hub, NULL, NULL), DURATA_EINVAL);
    assert_int_equal(durata_restart(NULL, "real", false, out, sizeof(out)), DURATA_EINVAL);
    assert_int_equal(durata_restart(e->hub, NULL, true, out, sizeof(out)), DURATA_EINVAL);
    assert_int_equal(durata_purge(NULL, "real", &deleted), DURATA_EINVAL);
    assert_int_equal(durata_purge(e->hub, NULL, &deleted), DURATA_EINVAL);
    assert_int_equal(durata_purge_many(NULL, NULL, &many), DURATA_EINVAL);
    assert_int_equal(durata_get_status(NULL, "real", &inst), DURATA_EINVAL);
    assert_int_equal(durata_get_status(e->hub, NULL, &inst), DURATA_EINVAL);
    assert_int_equal(durata_get_status(e->hub, "real", NULL), DURATA_EINVAL);
    assert_int_equal(durata_get_history(NULL, "real", &h), DURATA_EINVAL);
    assert_int_equal(durata_get_history(e->hub, NULL, &h), DURATA_EINVAL);
    assert_int_equal(durata_get_history(e->hub, "real", NULL), DURATA_EINVAL);
    assert_int_equal(durata_query(NULL, NULL, 0, NULL, &p), DURATA_EINVAL);
    assert_int_equal(durata_query(e->hub, NULL, 0, NULL, NULL), DURATA_EINVAL);
    assert_int_equal(durata_wait(e->hub, NULL, 0, &inst), DURATA_EINVAL);
    assert_int_equal(durata_wait(e->hub, "real", 0, NULL), DURATA_EINVAL);
    assert_null(inst);
    assert_null(h);
    assert_null(p);
    /* Nothing above touched the instance. */
    eng_run(e);
    assert_int_equal(eng_status(e, "real"), DURATA_COMPLETED);
}

static void
test_hub_open_on_unusable_path_fails_cleanly(void **state)
{
    struct eng *e = *state;
    struct durata_hub_options o = {.store_path = "/nonexistent-dir/deeper/store.db"};
    struct durata_hub *hub = (struct durata_hub *)1;
    char dir_as_file[700];

    assert_true(durata_hub_open(&hub, &o) < 0);
    assert_null(hub);
    /* A directory is not a database file. */
    snprintf(dir_as_file, sizeof(dir_as_file), "%s", e->dir);
    o.store_path = dir_as_file;
    hub = (struct durata_hub *)1;
    assert_true(durata_hub_open(&hub, &o) < 0);
    assert_null(hub);
}

/* In a child process (so a hang can be ended): a hub on the same store
 * waits with negative timeouts for a running instance. Exit status 0:
 * every call returned ETIMEDOUT or EINVAL. */
static void
negative_wait_child(const char *path, const char *id)
{
    struct durata_hub_options o = {.store_path = path};
    struct durata_hub *hub = NULL;
    struct durata_instance *inst = NULL;

    if (durata_hub_open(&hub, &o) != 0)
        _exit(2);
    /* Whether these hang depends on the sub-second part of the wall clock
     * (a negative tv_nsec in the deadline); these two almost always do. */
    static const int64_t timeouts[] = {-999, -1999, -1};
    for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
        int rc = durata_wait(hub, id, timeouts[i], &inst);
        if (rc != DURATA_ETIMEDOUT && rc != DURATA_EINVAL)
            _exit(1);
    }
    _exit(0);
}

static void
test_wait_with_negative_timeout_returns(void **state)
{
    struct eng *e = *state;
    char id[257];
    int status = 0;
    pid_t done = 0;

    eng_start(e, "Wait", "neg", NULL, id);
    eng_run(e);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        negative_wait_child(e->path, "neg");
    for (int i = 0; i < 100 && done == 0; i++) { /* up to 5 s */
        struct timespec ts = {0, 50 * 1000000L};
        done = waitpid(pid, &status, WNOHANG);
        if (done == 0)
            nanosleep(&ts, NULL);
    }
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("durata_wait with a negative timeout did not return within 5 s");
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_wait_with_null_hub_is_einval(void **state)
{
    struct durata_instance *inst = NULL;

    (void)state;
    assert_int_equal(durata_wait(NULL, "real", 0, &inst), DURATA_EINVAL);
    assert_null(inst);
}

static void
test_free_functions_accept_null(void **state)
{
    (void)state;
    durata_instance_free(NULL);
    durata_failure_free(NULL);
    durata_history_free(NULL);
    durata_page_free(NULL);
    assert_non_null(durata_strerror(12345));
    assert_non_null(durata_strerror(DURATA_EINVAL));
    assert_string_equal(durata_status_name(DURATA_SUSPENDED), "Suspended");
    assert_int_equal(durata_status_parse("completed"), DURATA_COMPLETED);
    assert_int_equal(durata_status_parse("nonsense"), -1);
    assert_string_equal(durata_event_type_name(DURATA_EV_TASK_COMPLETED), "TaskCompleted");
}

static void
test_bad_calls_in_orchestrator_fail_their_tasks(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "BadCalls", "bad", NULL, id);
    eng_run(e);
    struct durata_instance *inst = eng_get(e, "bad");
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(eng_json_equal(inst->output, "[true,true,true]"));
    durata_instance_free(inst);
    assert_int_equal(eng_history_count(e, "bad", DURATA_EV_TASK_SCHEDULED), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hub_lifecycle_rejects_null, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_registration_rejects_bad_arguments, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_start_rejects_bad_arguments, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_client_calls_reject_null_hub_and_id, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_free_functions_accept_null, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_bad_calls_in_orchestrator_fail_their_tasks, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_hub_open_on_unusable_path_fails_cleanly, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_wait_with_negative_timeout_returns, setup,
                                        eng_teardown),
        /* Last: these crash the engine as written, and the sanitizer build
         * stops at the first of them. */
        cmocka_unit_test_setup_teardown(test_wait_with_null_hub_is_einval, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_register_orchestrator_with_null_hub_is_einval, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_register_activity_with_null_hub_is_einval, setup,
                                        eng_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
