/*
 * test_log.c — structured logs (base/log.c): every line is one valid JSON
 * object with ts/level/msg and the given fields, levels filter, and lines
 * from many threads never interleave, also when a log thread writes them
 * (asynchronous mode). Logs go to a tmpfile().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/time.h"

struct lines {
    json_t **v;
    size_t n;
};

static int
open_sink(void **state)
{
    FILE *f = tmpfile();

    if (!f)
        return -1;
    *state = f;
    return 0;
}

static int
close_sink(void **state)
{
    dt_log_setup(DT_LOG_INFO, NULL);
    fclose(*state);
    return 0;
}

/* Reads every line of f, failing the test on one that is not a JSON object. */
static struct lines
read_lines(FILE *f)
{
    struct lines out = {NULL, 0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;

    fflush(f);
    rewind(f);
    while ((len = getline(&line, &cap, f)) > 0) {
        json_error_t err;
        json_t *v;

        assert_int_equal(line[len - 1], '\n');
        v = json_loads(line, 0, &err);
        if (!v || !json_is_object(v))
            fail_msg("not a JSON object line: %s (%s)", line, err.text);
        out.v = realloc(out.v, (out.n + 1) * sizeof(*out.v));
        assert_non_null(out.v);
        out.v[out.n++] = v;
    }
    free(line);
    return out;
}

static void
free_lines(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        json_decref(l->v[i]);
    free(l->v);
}

static const char *
field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    assert_non_null(v);
    return json_string_value(v);
}

static void
test_line_has_ts_level_msg_and_fields(void **state)
{
    FILE *f = *state;
    int64_t before = dt_clock_wall_ms() - 1, after, ts;
    struct lines l;
    const char *key;
    json_t *v;
    size_t i = 0;
    static const char *const order[] = {"ts", "level", "msg", "instanceId", "name", "none"};

    dt_log_setup(DT_LOG_INFO, f);
    dt_log(DT_LOG_INFO, "instance started", "instanceId", "abc", "name", "q\"x\n", "none",
           (const char *)NULL, NULL);
    after = dt_clock_wall_ms() + 1;
    l = read_lines(f);
    assert_int_equal(l.n, 1);
    assert_string_equal(field(l.v[0], "level"), "info");
    assert_string_equal(field(l.v[0], "msg"), "instance started");
    assert_string_equal(field(l.v[0], "instanceId"), "abc");
    assert_string_equal(field(l.v[0], "name"), "q\"x\n");
    assert_true(json_is_null(json_object_get(l.v[0], "none")));
    assert_int_equal(strlen(field(l.v[0], "ts")), 28);
    assert_int_equal(dt_time_parse(field(l.v[0], "ts"), &ts), 0);
    assert_true(ts >= before && ts <= after);
    /* Fields are written in the order given, after the fixed three. */
    json_object_foreach(l.v[0], key, v)
    {
        assert_true(i < 6);
        assert_string_equal(key, order[i]);
        i++;
    }
    assert_int_equal(i, 6);
    free_lines(&l);
}

static void
test_levels_filter_lines(void **state)
{
    FILE *f = *state;
    struct lines l;

    dt_log_setup(DT_LOG_WARN, f);
    dt_log(DT_LOG_DEBUG, "d", NULL);
    dt_log(DT_LOG_INFO, "i", NULL);
    dt_log(DT_LOG_WARN, "w", NULL);
    dt_log(DT_LOG_ERROR, "e", NULL);
    dt_log(DT_LOG_OFF, "never a level of a line", NULL);
    dt_log_setup(DT_LOG_OFF, f);
    dt_log(DT_LOG_ERROR, "muted", NULL);
    dt_log_setup(DT_LOG_DEBUG, f);
    dt_log(DT_LOG_DEBUG, "d2", NULL);
    l = read_lines(f);
    assert_int_equal(l.n, 3);
    assert_string_equal(field(l.v[0], "msg"), "w");
    assert_string_equal(field(l.v[0], "level"), "warn");
    assert_string_equal(field(l.v[1], "msg"), "e");
    assert_string_equal(field(l.v[1], "level"), "error");
    assert_string_equal(field(l.v[2], "msg"), "d2");
    assert_string_equal(field(l.v[2], "level"), "debug");
    free_lines(&l);
}

static void
test_odd_input_still_gives_valid_lines(void **state)
{
    FILE *f = *state;
    struct lines l;

    dt_log_setup(DT_LOG_INFO, f);
    /* Not UTF-8, a caller field named like a fixed one, a NULL message. */
    dt_log(DT_LOG_INFO, "bad \xff bytes", "v", "x\xfey", "msg", "override", "level", "debug", NULL);
    dt_log(DT_LOG_ERROR, NULL, "k", "v", NULL);
    l = read_lines(f);
    assert_int_equal(l.n, 2);
    assert_string_equal(field(l.v[0], "msg"), "bad ? bytes");
    assert_string_equal(field(l.v[0], "v"), "x?y");
    assert_string_equal(field(l.v[0], "level"), "info");
    assert_true(json_is_null(json_object_get(l.v[1], "msg")));
    assert_string_equal(field(l.v[1], "k"), "v");
    free_lines(&l);
}

/* A line is byte for byte jansson's compact dump of the same object. */
static void
test_line_is_what_jansson_would_write(void **state)
{
    FILE *f = *state;
    char line[1024], ts[64];
    json_t *ref;
    char *want;

    dt_log_setup(DT_LOG_INFO, f);
    dt_log(DT_LOG_WARN, "a \"quoted\"\tmessage", "instanceId", "caf\xc3\xa9", "reason", NULL, "x",
           "ctl\x01\n", "instanceId", "again", NULL);
    fflush(f);
    rewind(f);
    assert_non_null(fgets(line, sizeof(line), f));
    assert_int_equal(sscanf(line, "{\"ts\":\"%63[^\"]\"", ts), 1);
    ref =
        json_pack("{s:s, s:s, s:s, s:s, s:n, s:s}", "ts", ts, "level", "warn", "msg",
                  "a \"quoted\"\tmessage", "instanceId", "caf\xc3\xa9", "reason", "x", "ctl\x01\n");
    assert_non_null(ref);
    want = json_dumps(ref, JSON_COMPACT);
    line[strcspn(line, "\n")] = '\0';
    assert_string_equal(line, want);
    free(want);
    json_decref(ref);
}

enum { THREADS = 4, PER_THREAD = 300 };

static void *
log_many(void *arg)
{
    char idx[16], pad[400];

    memset(pad, 'p', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    for (int i = 0; i < PER_THREAD; i++) {
        snprintf(idx, sizeof(idx), "%d", i);
        dt_log(DT_LOG_INFO, "tick", "thread", (const char *)arg, "i", idx, "pad", pad, NULL);
    }
    return NULL;
}

/* THREADS threads log PER_THREAD lines each at once. */
static void
log_from_threads(void)
{
    static const char *const names[THREADS] = {"t0", "t1", "t2", "t3"};
    pthread_t th[THREADS];

    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, log_many, (void *)names[t]), 0);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);
}

/* f holds every line of log_from_threads, each whole and in its thread's
 * order. */
static void
check_lines_from_threads(FILE *f)
{
    int next[THREADS] = {0};
    struct lines l = read_lines(f);

    assert_int_equal(l.n, THREADS * PER_THREAD);
    /* Per thread, its lines appear complete and in its own order. */
    for (size_t i = 0; i < l.n; i++) {
        const char *name = field(l.v[i], "thread");
        int t = name[1] - '0';
        assert_true(t >= 0 && t < THREADS);
        assert_int_equal(strtol(field(l.v[i], "i"), NULL, 10), next[t]);
        next[t]++;
    }
    free_lines(&l);
}

static void
test_threads_never_interleave_lines(void **state)
{
    dt_log_setup(DT_LOG_INFO, *state);
    log_from_threads();
    check_lines_from_threads(*state);
}

/* The asynchronous mode loses, splits and reorders nothing: lines far
 * over a batch's urgent size, then everything pending written at stop. */
static void
test_async_lines_arrive_whole_and_in_order(void **state)
{
    dt_log_setup(DT_LOG_INFO, *state);
    assert_int_equal(dt_log_async_start(), 0);
    log_from_threads();
    dt_log_async_stop();
    check_lines_from_threads(*state);
}

/* Whether f's file holds at least `lines` lines, read with pread (the log
 * thread may be writing through f meanwhile), waiting up to 20 s. */
static bool
file_reaches(FILE *f, size_t lines)
{
    char buf[4096];

    for (int tries = 0; tries < 2000; tries++) {
        ssize_t n = pread(fileno(f), buf, sizeof(buf), 0);
        size_t seen = 0;

        for (ssize_t i = 0; i < n; i++)
            seen += buf[i] == '\n';
        if (seen >= lines)
            return true;
        usleep(10000);
    }
    return false;
}

/* Lines are written without a stop (an idle server's last lines are not
 * held back), warnings as info lines, and synchronously once stopped. */
static void
test_async_lines_are_written_while_running(void **state)
{
    FILE *f = *state;
    struct lines l;

    dt_log_setup(DT_LOG_INFO, f);
    assert_int_equal(dt_log_async_start(), 0);
    assert_int_equal(dt_log_async_start(), 0); /* already on: no second thread */
    dt_log(DT_LOG_INFO, "first", NULL);
    assert_true(file_reaches(f, 1));
    dt_log(DT_LOG_WARN, "second", NULL);
    assert_true(file_reaches(f, 2));
    dt_log_async_stop();
    dt_log_async_stop(); /* already off */
    dt_log(DT_LOG_INFO, "third", NULL);
    l = read_lines(f);
    assert_int_equal(l.n, 3);
    assert_string_equal(field(l.v[0], "msg"), "first");
    assert_string_equal(field(l.v[1], "msg"), "second");
    assert_string_equal(field(l.v[2], "msg"), "third");
    free_lines(&l);
}

static void
test_level_parse(void **state)
{
    (void)state;
    assert_int_equal(dt_log_level_parse("debug"), DT_LOG_DEBUG);
    assert_int_equal(dt_log_level_parse("info"), DT_LOG_INFO);
    assert_int_equal(dt_log_level_parse("warn"), DT_LOG_WARN);
    assert_int_equal(dt_log_level_parse("error"), DT_LOG_ERROR);
    assert_int_equal(dt_log_level_parse("off"), DT_LOG_OFF);
    assert_int_equal(dt_log_level_parse("INFO"), DT_LOG_INFO);
    assert_int_equal(dt_log_level_parse("verbose"), -1);
    assert_int_equal(dt_log_level_parse(""), -1);
    assert_int_equal(dt_log_level_parse("info "), -1);
    assert_int_equal(dt_log_level_parse(NULL), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_line_has_ts_level_msg_and_fields, open_sink,
                                        close_sink),
        cmocka_unit_test_setup_teardown(test_levels_filter_lines, open_sink, close_sink),
        cmocka_unit_test_setup_teardown(test_line_is_what_jansson_would_write, open_sink,
                                        close_sink),
        cmocka_unit_test_setup_teardown(test_odd_input_still_gives_valid_lines, open_sink,
                                        close_sink),
        cmocka_unit_test_setup_teardown(test_threads_never_interleave_lines, open_sink, close_sink),
        cmocka_unit_test_setup_teardown(test_async_lines_arrive_whole_and_in_order, open_sink,
                                        close_sink),
        cmocka_unit_test_setup_teardown(test_async_lines_are_written_while_running, open_sink,
                                        close_sink),
        cmocka_unit_test(test_level_parse),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
