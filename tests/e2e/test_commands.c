/*
 * test_commands.c — end to end: command-backed job types (issue 3 §3, §5)
 * on the real server. One server gets its types from --job-type flags
 * (`cat` as a handler, a failing script); another from a durata.json given
 * with --config (retries until a later attempt succeeds, retries
 * exhausted and listed as failed, a timeout that kills the program's
 * process group, a configured type replacing the demo "echo", a running
 * command stopped when its job is cancelled, a command interrupted by
 * SIGTERM and run again after a restart). The layers: DURATA_* variables
 * over the file, flags over both. Bad configuration files (from --config or
 * DURATA_CONFIG) and bad --job-type values make `durata serve` exit 2
 * naming the problem.
 * Scripts are written by the test into a temporary directory.
 */
#include "test_jobs_support.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[512];
static struct e2e_server flags_srv, conf_srv;
static char conf[700];
/* No shutdown grace: a stop interrupts running commands at once. */
static const char *conf_args[] = {"--config", conf, "--shutdown-grace", "0s", NULL};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* <dir>/<name> into out. */
static const char *
in_dir(char *out, size_t size, const char *name)
{
    return jb_fmt(out, size, "%s/%s", dir, name);
}

static void
write_file(const char *name, const char *text)
{
    char path[700];
    FILE *f = fopen(in_dir(path, sizeof(path), name), "w");

    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

/* Reads the pid a script wrote into <dir>/<name> (waiting for it). */
static pid_t
read_pid(const char *name)
{
    char path[700], buf[32] = {0};
    int64_t end = e2e_now_ms() + 10000;
    FILE *f;

    bool got = false;

    in_dir(path, sizeof(path), name);
    /* The script may have created the file but not written it yet. */
    while (!got && e2e_now_ms() < end) {
        if ((f = fopen(path, "r"))) {
            got = fgets(buf, sizeof(buf), f) && strchr(buf, '\n');
            fclose(f);
        }
        if (!got)
            usleep(10000);
    }
    assert_true(got);
    return (pid_t)strtol(buf, NULL, 10);
}

/* Gone: no such process, or a zombie waiting for its reaper. */
static bool
process_is_gone(pid_t pid)
{
    char path[64], buf[256], *paren;
    size_t n;
    FILE *f;

    if (kill(pid, 0) < 0 && errno == ESRCH)
        return true;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (!(f = fopen(path, "r")))
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
    int64_t end = e2e_now_ms() + timeout_ms;

    while (!process_is_gone(pid)) {
        if (e2e_now_ms() > end)
            return false;
        usleep(20000);
    }
    return true;
}

static void
write_scripts(void)
{
    char text[2048];

    write_file("fails.sh", "echo 'resizing...' >&2\necho 'error: cannot open input.png' >&2\n"
                           "exit 3\n");
    /* Fails on attempts 1 and 2, succeeds on 3. */
    write_file("third.sh", "cat >/dev/null\nif [ \"$DURATA_ATTEMPT\" -lt 3 ]; then\n"
                           "  echo \"attempt $DURATA_ATTEMPT: upstream 503\" >&2; exit 1\nfi\n"
                           "echo \"{\\\"attempt\\\": $DURATA_ATTEMPT, \\\"type\\\": "
                           "\\\"$DURATA_JOB_TYPE\\\"}\"\n");
    write_file("never.sh", "echo \"attempt $DURATA_ATTEMPT of $DURATA_JOB_ID failed\" >&2\n"
                           "exit 7\n");
    jb_fmt(text, sizeof(text),
           "echo 'starting a long job' >&2\nsleep 300 &\necho $! > %s/slow.pid\nwait\n", dir);
    write_file("slow.sh", text);
    jb_fmt(text, sizeof(text), "sleep 300 &\necho $! > %s/long.pid\nwait\n", dir);
    write_file("long.sh", text);
    write_file("echo.sh", "cat >/dev/null\necho '{\"overridden\": true}'\n");
}

static void
write_config(void)
{
    char text[4096];

    jb_fmt(text, sizeof(text),
           "{\"logLevel\": \"warn\",\n"
           " \"jobTypes\": {\n"
           "  \"third\": {\"command\": [\"/bin/sh\", \"%s/third.sh\"],\n"
           "            \"retry\": {\"maxAttempts\": 3, \"firstRetryIntervalMs\": 100,\n"
           "                      \"backoffCoefficient\": 1}},\n"
           "  \"never\": {\"command\": \"/bin/sh '%s/never.sh'\",\n"
           "            \"retry\": {\"maxAttempts\": 2, \"firstRetryIntervalMs\": 100}},\n"
           "  \"slow\": {\"command\": [\"/bin/sh\", \"%s/slow.sh\"], \"timeoutSeconds\": 0.5},\n"
           "  \"long\": {\"command\": [\"/bin/sh\", \"%s/long.sh\"], \"concurrency\": 1},\n"
           "  \"echo\": {\"command\": [\"/bin/sh\", \"%s/echo.sh\"]}}}\n",
           dir, dir, dir, dir, dir);
    write_file("durata.json", text);
}

static int
group_setup(void **state)
{
    const char *base = getenv("DURATA_TEST_TMP");
    char fails[700], arg_fails[800];
    const char *flag_args[] = {"--job-type", "cat=cat",        "--job-type", arg_fails,
                               "--job-type", "line=head -n 1", NULL};

    (void)state;
    snprintf(dir, sizeof(dir), "%s/commands-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    write_scripts();
    write_config();
    snprintf(arg_fails, sizeof(arg_fails), "fails=/bin/sh '%s'",
             in_dir(fails, sizeof(fails), "fails.sh"));
    in_dir(conf, sizeof(conf), "durata.json");
    if (e2e_start(&flags_srv, flag_args) != 0)
        return -1;
    return e2e_start(&conf_srv, conf_args);
}

static int
group_teardown(void **state)
{
    (void)state;
    e2e_cleanup(&flags_srv);
    e2e_cleanup(&conf_srv);
    return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ------------------------------------------------------------ --job-type */

static void
test_cat_handler_returns_the_job_it_was_given(void **state)
{
    char want[512], *id;
    json_t *job;

    (void)state;
    id = jb_submit(&flags_srv, "{\"job_type\":\"cat\",\"customer_id\":\"cust-7\","
                               "\"payload\":{\"image\":\"a.png\",\"sizes\":[64,128]}}");
    jb_wait_status(&flags_srv, id, "completed", 10000);
    job = jb_get(&flags_srv, id, NULL);
    jb_fmt(want, sizeof(want),
           "{\"job_id\":\"%s\",\"job_type\":\"cat\",\"customer_id\":\"cust-7\","
           "\"payload\":{\"image\":\"a.png\",\"sizes\":[64,128]},\"attempt\":1}",
           id);
    if (!jb_json_eq(json_object_get(job, "result"), want))
        fail_msg("result: %s", json_dumps(json_object_get(job, "result"), JSON_COMPACT));
    assert_int_equal(json_integer_value(json_object_get(job, "attempts")), 1);
    assert_true(json_is_null(json_object_get(job, "error")));
    json_decref(job);
    free(id);
}

/* The job is one line of stdin, however the client spread its payload
 * over lines: a handler reading a line gets all of it. */
static void
test_the_job_is_one_line_of_stdin(void **state)
{
    char *id;
    json_t *job;

    (void)state;
    id = jb_submit(&flags_srv,
                   "{\"job_type\":\"line\",\n\"payload\":{\n  \"image\":\r\n\"a.png\"\n}}");
    jb_wait_status(&flags_srv, id, "completed", 10000);
    job = jb_get(&flags_srv, id, NULL);
    assert_true(jb_json_eq(jb_at(job, "result", "payload", NULL), "{\"image\":\"a.png\"}"));
    json_decref(job);
    free(id);
}

static void
test_failing_command_fails_the_job_with_its_stderr(void **state)
{
    const json_t *err;
    json_t *job;
    char *id;

    (void)state;
    id = jb_submit(&flags_srv, "{\"job_type\":\"fails\"}");
    jb_wait_status(&flags_srv, id, "failed", 10000);
    job = jb_get(&flags_srv, id, NULL);
    err = json_object_get(job, "error");
    assert_string_equal(jb_str(err, "type"), "CommandFailed");
    assert_string_equal(jb_str(err, "message"), "the command exited with code 3");
    assert_string_equal(jb_str(err, "details"), "resizing...\nerror: cannot open input.png\n");
    assert_int_equal(json_integer_value(json_object_get(job, "attempts")), 1);
    json_decref(job);
    free(id);
}

static void
test_demo_types_stay_beside_flag_types(void **state)
{
    struct jb_answer a;
    json_t *job;
    char *id;

    (void)state;
    id = jb_submit(&flags_srv, "{\"job_type\":\"echo\",\"payload\":{\"k\":1}}");
    jb_wait_status(&flags_srv, id, "completed", 10000);
    job = jb_get(&flags_srv, id, NULL);
    assert_true(jb_json_eq(json_object_get(job, "result"), "{\"k\":1}"));
    json_decref(job);
    free(id);
    jb_call(&flags_srv, "POST", "/api/jobs", "{\"job_type\":\"third\"}", NULL, &a);
    jb_expect(&a, 422); /* configured on the other server only */
    assert_true(jb_error_names(&a, "job_type"));
    jb_answer_release(&a);
}

/* ------------------------------------------------------------ --config */

static void
test_retries_until_a_later_attempt_succeeds(void **state)
{
    json_t *job;
    char *id;

    (void)state;
    id = jb_submit(&conf_srv, "{\"job_type\":\"third\",\"payload\":{}}");
    jb_wait_status(&conf_srv, id, "completed", 15000);
    job = jb_get(&conf_srv, id, NULL);
    assert_true(jb_json_eq(json_object_get(job, "result"), "{\"attempt\":3,\"type\":\"third\"}"));
    assert_int_equal(json_integer_value(json_object_get(job, "attempts")), 3);
    json_decref(job);
    free(id);
}

static void
test_exhausted_retries_fail_and_are_listed(void **state)
{
    char want[300], path[300];
    struct jb_answer a;
    const json_t *err, *jobs;
    bool listed = false;
    json_t *job;
    char *id;

    (void)state;
    id = jb_submit(&conf_srv, "{\"job_type\":\"never\",\"customer_id\":\"cust-n\"}");
    jb_wait_status(&conf_srv, id, "failed", 15000);
    job = jb_get(&conf_srv, id, NULL);
    err = json_object_get(job, "error");
    assert_string_equal(jb_str(err, "type"), "CommandFailed");
    assert_string_equal(jb_str(err, "message"), "the command exited with code 7");
    jb_fmt(want, sizeof(want), "attempt 2 of %s failed\n", id);
    assert_string_equal(jb_str(err, "details"), want);
    assert_int_equal(json_integer_value(json_object_get(job, "attempts")), 2);
    json_decref(job);
    jb_call(&conf_srv, "GET",
            jb_fmt(path, sizeof(path), "/api/jobs?status=failed&job_type=never&limit=100"), NULL,
            NULL, &a);
    jb_expect(&a, 200);
    jobs = json_object_get(a.json, "jobs");
    for (size_t i = 0; i < json_array_size(jobs); i++)
        if (strcmp(jb_str(json_array_get(jobs, i), "job_id"), id) == 0)
            listed = true;
    assert_true(listed);
    jb_answer_release(&a);
    free(id);
}

static void
test_timeout_fails_the_job_and_kills_the_group(void **state)
{
    const json_t *err;
    int64_t t0 = e2e_now_ms();
    json_t *job;
    char *id;

    (void)state;
    id = jb_submit(&conf_srv, "{\"job_type\":\"slow\"}");
    jb_wait_status(&conf_srv, id, "failed", 15000);
    assert_true(e2e_now_ms() - t0 < 10000);
    job = jb_get(&conf_srv, id, NULL);
    err = json_object_get(job, "error");
    assert_string_equal(jb_str(err, "type"), "CommandTimedOut");
    assert_string_equal(jb_str(err, "message"),
                        "the command timed out after 500 ms; its process group was killed");
    assert_string_equal(jb_str(err, "details"), "starting a long job\n");
    assert_true(wait_gone(read_pid("slow.pid"), 5000));
    json_decref(job);
    free(id);
}

static void
test_config_replaces_a_demo_type(void **state)
{
    json_t *job;
    char *id;

    (void)state;
    id = jb_submit(&conf_srv, "{\"job_type\":\"echo\",\"payload\":{\"k\":1}}");
    jb_wait_status(&conf_srv, id, "completed", 10000);
    job = jb_get(&conf_srv, id, NULL);
    assert_true(jb_json_eq(json_object_get(job, "result"), "{\"overridden\":true}"));
    json_decref(job);
    free(id);
    id = jb_submit(&conf_srv, "{\"job_type\":\"thumbnail\",\"payload\":{\"render_ms\":0}}");
    jb_wait_status(&conf_srv, id, "completed", 10000); /* the other demo types stay */
    free(id);
}

static void
test_cancelling_a_job_stops_its_command(void **state)
{
    struct jb_answer a;
    char path[700], *id;
    pid_t pid;

    (void)state;
    id = jb_submit(&conf_srv, "{\"job_type\":\"long\"}");
    jb_wait_status(&conf_srv, id, "running", 10000);
    pid = read_pid("long.pid");
    assert_int_equal(unlink(in_dir(path, sizeof(path), "long.pid")), 0);
    assert_false(process_is_gone(pid));
    jb_call(&conf_srv, "DELETE", jb_fmt(path, sizeof(path), "/api/jobs/%s?reason=stop", id), NULL,
            NULL, &a);
    jb_expect(&a, 202);
    jb_answer_release(&a);
    jb_wait_status(&conf_srv, id, "cancelled", 10000);
    assert_true(wait_gone(pid, 8000));
    jb_expect_healthy(&conf_srv);
    free(id);
}

static void
test_stopping_the_server_interrupts_and_a_restart_reruns(void **state)
{
    char path[700], *id;
    struct jb_answer a;
    pid_t first, second;
    int st;

    (void)state;
    id = jb_submit(&conf_srv, "{\"job_type\":\"long\"}");
    jb_wait_status(&conf_srv, id, "running", 10000);
    first = read_pid("long.pid");
    assert_int_equal(unlink(in_dir(path, sizeof(path), "long.pid")), 0);
    st = e2e_stop(&conf_srv); /* SIGTERM: the command is stopped, the job kept */
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_true(wait_gone(first, 5000));
    assert_int_equal(e2e_restart(&conf_srv, conf_args), 0);
    second = read_pid("long.pid"); /* the same attempt runs again */
    assert_true(second != first);
    jb_wait_status(&conf_srv, id, "running", 10000);
    jb_call(&conf_srv, "GET", jb_fmt(path, sizeof(path), "/api/jobs/%s", id), NULL, NULL, &a);
    assert_int_equal(json_integer_value(json_object_get(a.json, "attempts")), 1);
    jb_answer_release(&a);
    jb_call(&conf_srv, "DELETE", jb_fmt(path, sizeof(path), "/api/jobs/%s", id), NULL, NULL, &a);
    jb_expect(&a, 202);
    jb_answer_release(&a);
    assert_true(wait_gone(second, 8000));
    free(id);
}

/* ------------------------------------------------------------ layers */

static long
status_with_key(const struct e2e_server *s, const char *key)
{
    char header[200];
    const char *headers[] = {jb_fmt(header, sizeof(header), "x-functions-key: %s", key), NULL};
    struct jb_answer a;
    long status;

    jb_call(s, "GET", "/api/jobs?limit=1", NULL, headers, &a);
    status = a.status;
    jb_answer_release(&a);
    return status;
}

static void
test_environment_overrides_the_file_and_flags_override_both(void **state)
{
    char text[1200], path[700], file_store[700];
    const char *args[] = {"--config", path, NULL};
    struct e2e_server srv;

    (void)state;
    in_dir(file_store, sizeof(file_store), "from-file.db");
    write_file("layers.json",
               jb_fmt(text, sizeof(text),
                      "{\"apiKeys\": [\"file-key\"], \"store\": \"%s\", \"logLevel\": \"off\","
                      " \"listen\": \"127.0.0.1:1\"}",
                      file_store));
    in_dir(path, sizeof(path), "layers.json");
    assert_int_equal(setenv("DURATA_API_KEY", "env-key-1,env-key-2", 1), 0);
    /* The harness passes --listen and --store: they beat the file's. */
    assert_int_equal(e2e_start(&srv, args), 0);
    unsetenv("DURATA_API_KEY");
    assert_int_equal(status_with_key(&srv, "env-key-2"), 200);
    assert_int_equal(status_with_key(&srv, "file-key"), 401);
    assert_int_equal(access(file_store, F_OK), -1);
    e2e_cleanup(&srv);
}

/* ------------------------------------------------------------ bad input */

/* Runs `durata serve args...` expecting it to exit with `code` and to say
 * `part` on stderr. */
static void
expect_serve_refuses(const char *const *args, int code, const char *part)
{
    char errpath[700], text[4096] = {0}, store[700];
    const char *argv[16] = {
        getenv("DURATA_BIN"), "serve",   "--listen",
        "127.0.0.1:0",        "--store", in_dir(store, sizeof(store), "refused.db")};
    size_t n = 6;
    int st, fd;
    pid_t pid;
    FILE *f;

    assert_non_null(argv[0]);
    for (; *args && n < 15; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    in_dir(errpath, sizeof(errpath), "refused.err");
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 2) < 0)
            _exit(99);
        execv(argv[0], (char *const *)argv);
        _exit(98);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    f = fopen(errpath, "r");
    assert_non_null(f);
    if (fread(text, 1, sizeof(text) - 1, f) == 0 && ferror(f))
        fail_msg("cannot read %s", errpath);
    fclose(f);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != code || !strstr(text, part))
        fail_msg("expected exit %d with '%s'; got status %d: %s", code, part, st, text);
}

static void
test_bad_configuration_is_refused_with_exit_2(void **state)
{
    char bad[700], missing[700];
    const char *a1[] = {"--config", bad, NULL};
    const char *a2[] = {"--config", missing, NULL};
    const char *a3[] = {"--job-type", "x=convert *.png", NULL};
    const char *a4[] = {"--job-type", "no-command", NULL};
    const char *none[] = {NULL};

    (void)state;
    write_file("bad.json", "{\"jobTypes\": {\"resize\": {\"command\": [\"convert\"],\n"
                           "  \"concurrency\": 0}}}\n");
    in_dir(bad, sizeof(bad), "bad.json");
    expect_serve_refuses(a1, 2, "bad.json: jobTypes.resize.concurrency: must be an integer");
    write_file("bad.json", "{\"jobTypes\": {\"resize\": {\"command\": [\"convert\"],}}}\n");
    expect_serve_refuses(a1, 2, "bad.json:1:");
    in_dir(missing, sizeof(missing), "missing.json");
    expect_serve_refuses(a2, 2, "missing.json: No such file or directory");
    assert_int_equal(setenv("DURATA_CONFIG", bad, 1), 0); /* the variable names the file */
    expect_serve_refuses(none, 2, "bad.json:1:");
    unsetenv("DURATA_CONFIG");
    expect_serve_refuses(a3, 2, "'*' has a special meaning in a shell");
    expect_serve_refuses(a4, 2, "'no-command' is not NAME=COMMAND");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cat_handler_returns_the_job_it_was_given),
        cmocka_unit_test(test_the_job_is_one_line_of_stdin),
        cmocka_unit_test(test_failing_command_fails_the_job_with_its_stderr),
        cmocka_unit_test(test_demo_types_stay_beside_flag_types),
        cmocka_unit_test(test_retries_until_a_later_attempt_succeeds),
        cmocka_unit_test(test_exhausted_retries_fail_and_are_listed),
        cmocka_unit_test(test_timeout_fails_the_job_and_kills_the_group),
        cmocka_unit_test(test_config_replaces_a_demo_type),
        cmocka_unit_test(test_cancelling_a_job_stops_its_command),
        cmocka_unit_test(test_stopping_the_server_interrupts_and_a_restart_reruns),
        cmocka_unit_test(test_environment_overrides_the_file_and_flags_override_both),
        cmocka_unit_test(test_bad_configuration_is_refused_with_exit_2),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
