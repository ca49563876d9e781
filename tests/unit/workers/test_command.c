/*
 * test_command.c — command-backed job handlers (workers/command.h): real
 * /bin/sh scripts written into a temporary directory run through
 * dt_command_run: the JSON result, stdin and the job's environment, every
 * failure (exit code with the stderr tail, signal, bad JSON, too much
 * output, a missing program), the timeout killing a whole process group
 * (a grandchild that ignores SIGTERM included), big payloads both ways
 * without deadlock, a program that never reads stdin, leftovers of a
 * finished program, interruption while running and while waiting for a
 * concurrency slot, the concurrency limit itself, and the activity
 * dt_command_handler behind the job orchestration (result, environment,
 * retries with the failure's details).
 */
#include "support_workers.h"
#include "workers/command.h"
#include "workers/jobconfig.h"
#include "workers/jobs.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char tmp[512];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int
group_setup(void **state)
{
    const char *base = getenv("DURATA_TEST_TMP");

    (void)state;
    snprintf(tmp, sizeof(tmp), "%s/command-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmp) ? 0 : -1;
}

static int
group_teardown(void **state)
{
    (void)state;
    return nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes body to <tmp>/<name> and returns its path (static storage, one
 * per call site is enough: names differ). */
static const char *
script(const char *name, const char *body)
{
    static char paths[32][600];
    static int next;
    char *path = paths[next++ % 32];
    FILE *f;

    snprintf(path, 600, "%s/%s", tmp, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(body, f) >= 0);
    assert_int_equal(fclose(f), 0);
    return path;
}

/* Runs `sh <script>` with options o and input, into *out. */
static void
run_sh(const char *path, const struct dt_command_options *o, const char *input,
       const char *const *env, dt_command_watch_fn watch, void *arg, struct dt_command_outcome *out)
{
    const char *argv[] = {"/bin/sh", path, NULL};
    struct dt_command *c;

    assert_int_equal(dt_command_new(&c, argv, o), 0);
    assert_int_equal(dt_command_run(c, input, input ? strlen(input) : 0, env, watch, arg, out), 0);
    dt_command_free(c);
}

static void
expect_failure(const struct dt_command_outcome *o, const char *type)
{
    if (!o->failed)
        fail_msg("expected %s, got success %s", type, o->output ? o->output : "null");
    if (strcmp(o->failure.error_type, type) != 0)
        fail_msg("expected %s, got %s: %s", type, o->failure.error_type, o->failure.message);
}

static bool
json_text_eq(const char *a, const char *b)
{
    json_t *x = json_loads(a, JSON_DECODE_ANY, NULL), *y = json_loads(b, JSON_DECODE_ANY, NULL);
    bool eq = x && y && json_equal(x, y);

    json_decref(x);
    json_decref(y);
    return eq;
}

/* Is the process gone (no such pid, or a zombie waiting for its reaper)? */
static bool
process_is_gone(pid_t pid)
{
    char path[64], buf[256], *paren;
    FILE *f;
    size_t n;

    if (kill(pid, 0) < 0 && errno == ESRCH)
        return true;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return true;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
}

static bool
wait_gone(pid_t pid, int timeout_ms)
{
    const struct timespec pause = {.tv_nsec = 10 * 1000 * 1000};
    int64_t end = now_ms() + timeout_ms;

    while (!process_is_gone(pid)) {
        if (now_ms() > end)
            return false;
        nanosleep(&pause, NULL);
    }
    return true;
}

static pid_t
read_pid(const char *name)
{
    char path[600], buf[32] = {0};
    FILE *f;
    int64_t end = now_ms() + 5000;

    snprintf(path, sizeof(path), "%s/%s", tmp, name);
    while (!(f = fopen(path, "r")) && now_ms() < end)
        usleep(10000);
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    return (pid_t)strtol(buf, NULL, 10);
}

/* ------------------------------------------------------------ results */

static void
test_stdout_json_is_the_result(void **state)
{
    struct dt_command_outcome o;

    (void)state;
    run_sh(script("ok.sh", "cat >/dev/null\nprintf '{\"ok\": true,\\n \"n\": [1, 2]}\\n'\n"), NULL,
           "{}", NULL, NULL, NULL, &o);
    assert_false(o.failed);
    assert_true(json_text_eq(o.output, "{\"ok\":true,\"n\":[1,2]}"));
    dt_command_outcome_release(&o);
}

static void
test_stdin_carries_the_input_and_a_newline(void **state)
{
    struct dt_command_outcome o;
    const char *in = "{\"job_id\":\"j1\",\"payload\":{\"x\":\"caf\xc3\xa9\"}}";

    (void)state;
    run_sh(script("cat.sh", "exec cat\n"), NULL, in, NULL, NULL, NULL, &o);
    assert_false(o.failed);
    assert_true(json_text_eq(o.output, in));
    dt_command_outcome_release(&o);
    run_sh(script("lines.sh", "n=$(wc -l)\necho \"$n\"\n"), NULL, in, NULL, NULL, NULL, &o);
    assert_false(o.failed);
    assert_string_equal(o.output, "1"); /* read line by line: one complete line */
    dt_command_outcome_release(&o);
}

static void
test_environment_gets_the_job_variables(void **state)
{
    const char *env[] = {"DURATA_JOB_ID=job-42", "DURATA_ATTEMPT=3", "DURATA_JOB_TYPE=resize",
                         NULL};
    struct dt_command_outcome o;

    (void)state;
    assert_int_equal(setenv("DURATA_JOB_ID", "stale", 1), 0);
    assert_int_equal(setenv("CMD_TEST_KEEP", "kept", 1), 0);
    run_sh(script("env.sh", "printf '{\"id\":\"%s\",\"attempt\":%s,\"type\":\"%s\",\"keep\":\"%s\","
                            "\"n\":%s}' \"$DURATA_JOB_ID\" \"$DURATA_ATTEMPT\" "
                            "\"$DURATA_JOB_TYPE\" \"$CMD_TEST_KEEP\" "
                            "\"$(env | grep -c '^DURATA_JOB_ID=')\"\n"),
           NULL, "{}", env, NULL, NULL, &o);
    unsetenv("DURATA_JOB_ID");
    unsetenv("CMD_TEST_KEEP");
    assert_false(o.failed);
    assert_true(json_text_eq(
        o.output,
        "{\"id\":\"job-42\",\"attempt\":3,\"type\":\"resize\",\"keep\":\"kept\",\"n\":1}"));
    dt_command_outcome_release(&o);
}

static void
test_no_output_is_a_null_result(void **state)
{
    struct dt_command_outcome o;

    (void)state;
    run_sh(script("quiet.sh", "echo progress >&2\necho\n"), NULL, "{}", NULL, NULL, NULL, &o);
    assert_false(o.failed);
    assert_null(o.output);
    dt_command_outcome_release(&o);
}

/* ------------------------------------------------------------ failures */

static void
test_nonzero_exit_fails_with_the_stderr_tail(void **state)
{
    struct dt_command_outcome o;
    size_t len;

    (void)state;
    run_sh(script("exit3.sh", "i=0\nwhile [ $i -lt 300 ]; do\n"
                              "  echo \"noise line $i noise noise noise noise\" >&2\n"
                              "  i=$((i+1))\ndone\necho '{\"partial\":1}'\n"
                              "echo 'LAST: disk full' >&2\nexit 3\n"),
           NULL, "{}", NULL, NULL, NULL, &o);
    expect_failure(&o, "CommandFailed");
    assert_non_null(strstr(o.failure.message, "exited with code 3"));
    assert_false(o.failure.non_retriable);
    assert_non_null(o.failure.details);
    len = strlen(o.failure.details);
    assert_true(len <= 4096 && len > 4000);
    assert_string_equal(o.failure.details + len - strlen("LAST: disk full\n"), "LAST: disk full\n");
    assert_null(strstr(o.failure.details, "noise line 0 ")); /* only the tail */
    assert_null(o.output);
    dt_command_outcome_release(&o);
}

static void
test_signal_fails_with_its_name(void **state)
{
    struct dt_command_outcome o;

    (void)state;
    run_sh(script("usr1.sh", "echo 'about to die' >&2\nkill -USR1 $$\n"), NULL, "{}", NULL, NULL,
           NULL, &o);
    expect_failure(&o, "CommandKilled");
    assert_non_null(strstr(o.failure.message, "SIGUSR1"));
    assert_string_equal(o.failure.details, "about to die\n");
    dt_command_outcome_release(&o);
}

static void
test_invalid_json_output_fails(void **state)
{
    struct dt_command_outcome o;

    (void)state;
    run_sh(script("bad.sh", "echo 'done: 3 files'\necho warn >&2\n"), NULL, "{}", NULL, NULL, NULL,
           &o);
    expect_failure(&o, "InvalidOutput");
    assert_non_null(strstr(o.failure.message, "not JSON"));
    assert_string_equal(o.failure.details, "warn\n");
    dt_command_outcome_release(&o);
    run_sh(script("two.sh", "echo '{}'\necho '{}'\n"), NULL, "{}", NULL, NULL, NULL, &o);
    expect_failure(&o, "InvalidOutput"); /* one value only */
    dt_command_outcome_release(&o);
}

static void
test_output_over_the_cap_fails(void **state)
{
    struct dt_command_options opt = {.max_output_bytes = 1000};
    struct dt_command_outcome o;
    int64_t t0 = now_ms();

    (void)state;
    run_sh(script("big.sh", "while :; do echo '\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"'; done\n"), &opt,
           "{}", NULL, NULL, NULL, &o);
    expect_failure(&o, "OutputTooLarge");
    assert_non_null(strstr(o.failure.message, "1000 bytes"));
    assert_true(now_ms() - t0 < 5000);
    dt_command_outcome_release(&o);
}

static void
test_missing_program_is_not_retriable(void **state)
{
    const char *argv[] = {"/nonexistent/durata-handler", "x", NULL};
    const char *argv2[] = {"durata-no-such-program-in-path", NULL};
    struct dt_command_outcome o;
    struct dt_command *c;

    (void)state;
    assert_int_equal(dt_command_new(&c, argv, NULL), 0);
    assert_int_equal(dt_command_run(c, "{}", 2, NULL, NULL, NULL, &o), 0);
    expect_failure(&o, "CommandNotFound");
    assert_true(o.failure.non_retriable);
    assert_non_null(strstr(o.failure.message, "/nonexistent/durata-handler"));
    assert_non_null(strstr(o.failure.message, "No such file"));
    dt_command_outcome_release(&o);
    dt_command_free(c);
    assert_int_equal(dt_command_new(&c, argv2, NULL), 0);
    assert_int_equal(dt_command_run(c, "{}", 2, NULL, NULL, NULL, &o), 0);
    expect_failure(&o, "CommandNotFound");
    dt_command_outcome_release(&o);
    dt_command_free(c);
}

static void
test_bad_arguments_are_refused(void **state)
{
    const char *empty[] = {NULL};
    const char *blank[] = {"", NULL};
    const char *ok[] = {"/bin/true", NULL};
    struct dt_command_options neg = {.timeout_ms = -1};
    struct dt_command *c = (struct dt_command *)1;

    (void)state;
    assert_int_equal(dt_command_new(&c, empty, NULL), DURATA_EINVAL);
    assert_null(c);
    assert_int_equal(dt_command_new(&c, blank, NULL), DURATA_EINVAL);
    assert_int_equal(dt_command_new(&c, NULL, NULL), DURATA_EINVAL);
    assert_int_equal(dt_command_new(&c, ok, &neg), DURATA_EINVAL);
    dt_command_free(NULL);
}

/* ------------------------------------------------------------ the process group */

static void
test_timeout_kills_the_whole_group(void **state)
{
    struct dt_command_options opt = {.timeout_ms = 300, .kill_grace_ms = 300};
    struct dt_command_outcome o;
    char body[2048];
    pid_t child, grandchild;
    int64_t t0, took;

    (void)state;
    /* The script starts a child shell, which starts a grandchild that
     * ignores SIGTERM (so only the SIGKILL after the grace ends it). */
    snprintf(body, sizeof(body),
             "echo started >&2\n"
             "sh -c 'trap \"\" TERM; sleep 300 & echo $! > %s/grandchild.pid; wait' &\n"
             "echo $! > %s/child.pid\n"
             "wait\n",
             tmp, tmp);
    t0 = now_ms();
    run_sh(script("slow.sh", body), &opt, "{}", NULL, NULL, NULL, &o);
    took = now_ms() - t0;
    expect_failure(&o, "CommandTimedOut");
    assert_non_null(strstr(o.failure.message, "300 ms"));
    assert_string_equal(o.failure.details, "started\n");
    assert_true(took >= 300 && took < 4000);
    child = read_pid("child.pid");
    grandchild = read_pid("grandchild.pid");
    assert_true(child > 1 && grandchild > 1);
    assert_true(wait_gone(child, 3000));
    assert_true(wait_gone(grandchild, 3000));
    dt_command_outcome_release(&o);
}

static void
test_leftovers_of_a_finished_program_are_killed(void **state)
{
    struct dt_command_outcome o;
    char body[2048];
    int64_t t0 = now_ms();

    (void)state;
    /* The background sleep keeps stdout open after the script exits. */
    snprintf(body, sizeof(body), "sleep 300 &\necho $! > %s/stray.pid\necho '{\"done\":1}'\n", tmp);
    run_sh(script("stray.sh", body), NULL, "{}", NULL, NULL, NULL, &o);
    assert_false(o.failed);
    assert_true(json_text_eq(o.output, "{\"done\":1}"));
    assert_true(now_ms() - t0 < 3000);
    assert_true(wait_gone(read_pid("stray.pid"), 3000));
    dt_command_outcome_release(&o);
}

/* ------------------------------------------------------------ big data */

static char *
big_input(size_t n)
{
    char *in = malloc(n + 1);

    assert_non_null(in);
    memset(in, 'a', n);
    in[0] = '"';
    in[n - 1] = '"';
    in[n] = '\0';
    return in;
}

static void
test_big_payloads_both_ways_do_not_deadlock(void **state)
{
    struct dt_command_options opt = {.timeout_ms = 20000};
    struct dt_command_outcome o;
    char *in = big_input(4 * 1024 * 1024);

    (void)state;
    /* Counts stdin (4 MiB and the newline). */
    run_sh(script("count.sh", "n=$(wc -c)\necho \"{\\\"bytes\\\": $n}\"\n"), &opt, in, NULL, NULL,
           NULL, &o);
    assert_false(o.failed);
    assert_true(json_text_eq(o.output, "{\"bytes\":4194305}"));
    dt_command_outcome_release(&o);
    /* Writes 600 KB of stdout and 300 KB of stderr before reading stdin. */
    run_sh(script("chatty.sh", "head -c 600000 /dev/zero | tr '\\0' ' '\n"
                               "head -c 300000 /dev/zero | tr '\\0' 'e' >&2\n"
                               "n=$(wc -c)\necho \"$n\"\n"),
           &opt, in, NULL, NULL, NULL, &o);
    assert_false(o.failed);
    assert_string_equal(o.output, "4194305");
    dt_command_outcome_release(&o);
    /* Never reads stdin and exits: no SIGPIPE for us, a null result. */
    run_sh(script("deaf.sh", "exit 0\n"), &opt, in, NULL, NULL, NULL, &o);
    assert_false(o.failed);
    assert_null(o.output);
    dt_command_outcome_release(&o);
    free(in);
}

static void
test_binary_stderr_becomes_valid_text(void **state)
{
    struct dt_command_outcome o;
    json_t *s;

    (void)state;
    run_sh(script("bin.sh", "printf 'a\\377b\\000c\\303' >&2\nexit 1\n"), NULL, "{}", NULL, NULL,
           NULL, &o);
    expect_failure(&o, "CommandFailed");
    assert_string_equal(o.failure.details, "a?b?c?");
    s = json_string(o.failure.details);
    assert_non_null(s);
    json_decref(s);
    dt_command_outcome_release(&o);
}

/* ------------------------------------------------------------ watch, slots */

struct stop_after {
    int64_t at_ms;
    enum dt_command_verdict verdict;
    int calls;
};

static enum dt_command_verdict
stop_after_fn(void *arg)
{
    struct stop_after *s = arg;

    s->calls++;
    return now_ms() >= s->at_ms ? s->verdict : DT_COMMAND_GO;
}

static void
test_interruption_stops_the_program(void **state)
{
    struct stop_after st = {.at_ms = now_ms() + 150, .verdict = DT_COMMAND_INTERRUPT};
    struct dt_command_outcome o;
    char body[2048];
    int64_t t0 = now_ms();

    (void)state;
    snprintf(body, sizeof(body), "echo $$ > %s/int.pid\nsleep 300\n", tmp);
    run_sh(script("int.sh", body), NULL, "{}", NULL, stop_after_fn, &st, &o);
    expect_failure(&o, "Interrupted");
    assert_false(o.failure.non_retriable);
    assert_true(now_ms() - t0 < 3000);
    assert_true(st.calls > 1);
    assert_true(wait_gone(read_pid("int.pid"), 3000));
    dt_command_outcome_release(&o);
    st.at_ms = now_ms() + 100;
    st.verdict = DT_COMMAND_CANCEL;
    run_sh(script("cancel.sh", "sleep 300\n"), NULL, "{}", NULL, stop_after_fn, &st, &o);
    expect_failure(&o, "Cancelled");
    dt_command_outcome_release(&o);
}

struct slot_run {
    struct dt_command *c;
    struct dt_command_outcome o;
    struct stop_after stop;
    bool watch;
};

static void *
slot_thread(void *arg)
{
    struct slot_run *r = arg;

    if (dt_command_run(r->c, "{}", 2, NULL, r->watch ? stop_after_fn : NULL, &r->stop, &r->o) < 0)
        r->o.failed = true;
    return NULL;
}

static void
test_concurrency_limit_holds_and_waiting_respects_interruption(void **state)
{
    struct dt_command_options opt = {.concurrency = 1};
    struct slot_run runs[3];
    pthread_t th[3];
    const char *argv[3] = {"/bin/sh", NULL, NULL};
    char body[2048];

    (void)state;
    /* mkdir is atomic: a second run inside the critical part would fail it. */
    snprintf(body, sizeof(body),
             "if mkdir %s/slot 2>/dev/null; then sleep 0.3; rmdir %s/slot; echo '\"alone\"';"
             " else echo '\"overlap\"'; fi\n",
             tmp, tmp);
    argv[1] = script("slot.sh", body);
    memset(runs, 0, sizeof(runs));
    assert_int_equal(dt_command_new(&runs[0].c, argv, &opt), 0);
    for (int i = 0; i < 3; i++)
        runs[i].c = runs[0].c;
    assert_int_equal(pthread_create(&th[0], NULL, slot_thread, &runs[0]), 0);
    snprintf(body, sizeof(body), "%s/slot", tmp);
    for (int64_t end = now_ms() + 5000; access(body, F_OK) != 0 && now_ms() < end;)
        usleep(5000);     /* the first run holds the slot */
    runs[2].watch = true; /* the third gives up while waiting */
    runs[2].stop = (struct stop_after){.at_ms = now_ms() + 100, .verdict = DT_COMMAND_INTERRUPT};
    for (int i = 1; i < 3; i++)
        assert_int_equal(pthread_create(&th[i], NULL, slot_thread, &runs[i]), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 2; i++) {
        assert_false(runs[i].o.failed);
        assert_string_equal(runs[i].o.output, "\"alone\"");
    }
    expect_failure(&runs[2].o, "Interrupted");
    for (int i = 0; i < 3; i++)
        dt_command_outcome_release(&runs[i].o);
    dt_command_free(runs[0].c);
}

/* ------------------------------------------------------------ as a job */

static void
test_handler_runs_a_job_with_its_input_and_environment(void **state)
{
    struct wk_fixture *fx = *state;
    struct dt_job_spec spec = {.timeout_ms = 10000, .retry = {.max_attempts = 1}};
    char *argv[] = {"/bin/sh", NULL, NULL};
    struct durata_instance *inst;
    struct dt_job_table t;
    struct dt_job_set set;
    struct durata_hub *hub;
    char id[257], want[512];

    argv[1] = (char *)script("job.sh", "in=$(cat)\nprintf '{\"in\":%s,\"id\":\"%s\",\"attempt\":%s,"
                                       "\"type\":\"%s\"}' \"$in\" \"$DURATA_JOB_ID\" "
                                       "\"$DURATA_ATTEMPT\" \"$DURATA_JOB_TYPE\"\n");
    spec.name = "resize";
    spec.argv = argv;
    hub = wk_fixture_hub(fx, true);
    assert_int_equal(dt_job_table_build(&t, NULL, 0, &spec, 1, hub), 0);
    set = (struct dt_job_set){.types = t.types, .n = t.n};
    assert_int_equal(dt_jobs_register(hub, &set), 0);
    wk_start(hub, DT_JOB_ORCHESTRATOR, "job-cmd-1",
             "{\"job_type\":\"resize\",\"customer_id\":\"c1\",\"payload\":{\"w\":64}}", id);
    inst = wk_drive(hub, &fx->clock, id, 1000, 20);
    assert_int_equal(inst->status, DURATA_COMPLETED);
    snprintf(want, sizeof(want),
             "{\"in\":{\"job_id\":\"job-cmd-1\",\"job_type\":\"resize\",\"customer_id\":\"c1\","
             "\"payload\":{\"w\":64},\"attempt\":1},\"id\":\"job-cmd-1\",\"attempt\":1,"
             "\"type\":\"resize\"}");
    assert_true(json_text_eq(inst->output, want));
    durata_instance_free(inst);
    durata_hub_close(hub);
    fx->hub = NULL;
    dt_job_table_release(&t);
}

static void
test_failing_job_retries_then_fails_with_the_stderr_tail(void **state)
{
    struct wk_fixture *fx = *state;
    struct dt_job_spec spec = {
        .timeout_ms = 10000,
        .retry = {.max_attempts = 3, .first_interval_ms = 1000, .backoff_coefficient = 2}};
    char *argv[] = {"/bin/sh", NULL, NULL};
    struct durata_instance *inst;
    struct dt_job_table t;
    struct dt_job_set set;
    struct durata_hub *hub;
    char id[257];

    argv[1] = (char *)script("flaky.sh", "echo \"attempt $DURATA_ATTEMPT: upstream 503\" >&2\n"
                                         "exit 75\n");
    spec.name = "flaky";
    spec.argv = argv;
    hub = wk_fixture_hub(fx, true);
    assert_int_equal(dt_job_table_build(&t, NULL, 0, &spec, 1, hub), 0);
    set = (struct dt_job_set){.types = t.types, .n = t.n};
    assert_int_equal(dt_jobs_register(hub, &set), 0);
    wk_start(hub, DT_JOB_ORCHESTRATOR, NULL, "{\"job_type\":\"flaky\"}", id);
    inst = wk_drive(hub, &fx->clock, id, 1000, 50);
    assert_int_equal(inst->status, DURATA_FAILED);
    assert_non_null(inst->failure);
    assert_string_equal(inst->failure->error_type, "CommandFailed");
    assert_string_equal(inst->failure->message, "the command exited with code 75");
    assert_string_equal(inst->failure->details, "attempt 3: upstream 503\n");
    assert_non_null(strstr(inst->custom_status, "\"attempt\":3"));
    durata_instance_free(inst);
    durata_hub_close(hub);
    fx->hub = NULL;
    dt_job_table_release(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stdout_json_is_the_result),
        cmocka_unit_test(test_stdin_carries_the_input_and_a_newline),
        cmocka_unit_test(test_environment_gets_the_job_variables),
        cmocka_unit_test(test_no_output_is_a_null_result),
        cmocka_unit_test(test_nonzero_exit_fails_with_the_stderr_tail),
        cmocka_unit_test(test_signal_fails_with_its_name),
        cmocka_unit_test(test_invalid_json_output_fails),
        cmocka_unit_test(test_output_over_the_cap_fails),
        cmocka_unit_test(test_missing_program_is_not_retriable),
        cmocka_unit_test(test_bad_arguments_are_refused),
        cmocka_unit_test(test_timeout_kills_the_whole_group),
        cmocka_unit_test(test_leftovers_of_a_finished_program_are_killed),
        cmocka_unit_test(test_big_payloads_both_ways_do_not_deadlock),
        cmocka_unit_test(test_binary_stderr_becomes_valid_text),
        cmocka_unit_test(test_interruption_stops_the_program),
        cmocka_unit_test(test_concurrency_limit_holds_and_waiting_respects_interruption),
        WK_TEST(test_handler_runs_a_job_with_its_input_and_environment),
        WK_TEST(test_failing_job_retries_then_fails_with_the_stderr_tail),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
