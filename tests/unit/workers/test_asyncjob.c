/*
 * test_asyncjob.c — "AsyncJobOrchestrator" (seed 002) and
 * durata_async_job_input(): the input built from the environment, the
 * Queued -> InProgress -> Completed lifecycle on durable timers (with the
 * hub's threads and the real clock, and step by step with a fake clock),
 * and the rejection of bad input.
 */
#include "support_workers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUED_ENV "ASYNC_JOB_QUEUED_DURATION_SEC"
#define INPROGRESS_ENV "ASYNC_JOB_INPROGRESS_DURATION_SEC"

static json_t *
input_from_env(void)
{
    char *text = NULL;
    json_t *v;

    assert_int_equal(durata_async_job_input(&text), 0);
    assert_non_null(text);
    v = json_loads(text, 0, NULL);
    assert_non_null(v);
    free(text);
    return v;
}

static void
assert_uuid_v4(const char *s)
{
    size_t i;

    assert_int_equal(strlen(s), 36);
    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(s[i], '-');
        else
            assert_non_null(strchr("0123456789abcdef", s[i]));
    }
    assert_int_equal(s[14], '4'); /* a random (version 4) UUID */
}

static void
test_input_defaults_when_env_unset(void **state)
{
    json_t *a, *b;

    (void)state;
    unsetenv(QUEUED_ENV);
    unsetenv(INPROGRESS_ENV);
    a = input_from_env();
    b = input_from_env();
    assert_int_equal(json_integer_value(json_object_get(a, "QueuedDuration")), 20);
    assert_int_equal(json_integer_value(json_object_get(a, "InProgressDuration")), 30);
    assert_uuid_v4(json_string_value(json_object_get(a, "ThirdPartyJobId")));
    assert_string_not_equal(json_string_value(json_object_get(a, "ThirdPartyJobId")),
                            json_string_value(json_object_get(b, "ThirdPartyJobId")));
    json_decref(a);
    json_decref(b);
}

static void
test_input_reads_env(void **state)
{
    json_t *v;

    (void)state;
    setenv(QUEUED_ENV, "0", 1);
    setenv(INPROGRESS_ENV, "7", 1);
    v = input_from_env();
    assert_int_equal(json_integer_value(json_object_get(v, "QueuedDuration")), 0);
    assert_int_equal(json_integer_value(json_object_get(v, "InProgressDuration")), 7);
    json_decref(v);
    unsetenv(QUEUED_ENV);
    unsetenv(INPROGRESS_ENV);
}

static void
test_input_rejects_invalid_env(void **state)
{
    static const char *const bad[] = {
        "", "abc", "-1", "1.5", " 5", "5s", "+3", "99999999999999999999", "400000000"};
    char *text;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        text = (char *)"untouched";
        setenv(QUEUED_ENV, bad[i], 1);
        unsetenv(INPROGRESS_ENV);
        assert_int_equal(durata_async_job_input(&text), DURATA_EINVAL);
        assert_null(text);
        unsetenv(QUEUED_ENV);
        setenv(INPROGRESS_ENV, bad[i], 1);
        text = (char *)"untouched";
        assert_int_equal(durata_async_job_input(&text), DURATA_EINVAL);
        assert_null(text);
    }
    unsetenv(INPROGRESS_ENV);
    assert_int_equal(durata_async_job_input(NULL), DURATA_EINVAL);
}

/* Appends the custom status (as a plain string) to seen[] when it changed. */
static void
note_status(const struct durata_instance *inst, char seen[][32], int *n)
{
    json_t *v;

    if (!inst->custom_status)
        return;
    v = json_loads(inst->custom_status, JSON_DECODE_ANY, NULL);
    assert_true(json_is_string(v));
    if (*n == 0 || strcmp(seen[*n - 1], json_string_value(v)) != 0) {
        assert_true(*n < 8);
        snprintf(seen[*n], 32, "%s", json_string_value(v));
        (*n)++;
    }
    json_decref(v);
}

/* Every TimerCreated is followed later by a TimerFired with its id. */
static void
assert_timer_pairs(struct durata_hub *hub, const char *id, size_t pairs)
{
    struct durata_history *h = NULL;
    size_t i, j, created = 0, fired = 0;

    assert_int_equal(durata_get_history(hub, id, &h), 0);
    for (i = 0; i < h->count; i++) {
        bool matched = false;
        if (h->events[i].type == DURATA_EV_TIMER_FIRED)
            fired++;
        if (h->events[i].type != DURATA_EV_TIMER_CREATED)
            continue;
        created++;
        for (j = i + 1; j < h->count; j++) {
            json_t *ev = json_loads(h->events[j].json, 0, NULL);
            json_int_t timer_id = json_integer_value(json_object_get(ev, "TimerId"));
            matched = matched || (h->events[j].type == DURATA_EV_TIMER_FIRED &&
                                  timer_id == h->events[i].event_id);
            json_decref(ev);
        }
        assert_true(matched);
    }
    assert_int_equal(created, pairs);
    assert_int_equal(fired, pairs);
    durata_history_free(h);
}

/* The output names the job of the input and says "Completed". */
static void
assert_completed_output(const struct durata_instance *inst, const char *input)
{
    json_t *in = json_loads(input, 0, NULL);
    char expected[128];

    snprintf(expected, sizeof(expected), "{\"ThirdPartyJobId\":\"%s\",\"status\":\"Completed\"}",
             json_string_value(json_object_get(in, "ThirdPartyJobId")));
    assert_true(wk_json_equal(inst->output, expected));
    json_decref(in);
}

static void
test_lifecycle_with_threads(void **state)
{
    const struct timespec pause = {.tv_nsec = 5 * 1000 * 1000};
    struct durata_instance *inst = NULL;
    struct wk_fixture *fx = *state;
    struct durata_hub *hub;
    char id[257], seen[8][32], *input = NULL;
    int n = 0, polls;

    setenv(QUEUED_ENV, "1", 1);
    setenv(INPROGRESS_ENV, "1", 1);
    assert_int_equal(durata_async_job_input(&input), 0);
    hub = wk_fixture_hub(fx, false);
    assert_int_equal(durata_hub_start(hub), 0);
    wk_start(hub, "AsyncJobOrchestrator", "job-gb4711", input, id);
    assert_string_equal(id, "job-gb4711");
    for (polls = 0; polls < 2000; polls++) { /* 10 s at most */
        assert_int_equal(durata_get_status(hub, id, &inst), 0);
        note_status(inst, seen, &n);
        if (durata_status_is_terminal(inst->status))
            break;
        durata_instance_free(inst);
        inst = NULL;
        nanosleep(&pause, NULL);
    }
    assert_non_null(inst);
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_int_equal(n, 3);
    assert_string_equal(seen[0], "Queued");
    assert_string_equal(seen[1], "InProgress");
    assert_string_equal(seen[2], "Completed");
    assert_true(inst->completed_ms - inst->created_ms >= 2000);
    assert_true(wk_json_equal(inst->input, input));
    assert_completed_output(inst, input);
    assert_timer_pairs(hub, id, 2);
    durata_instance_free(inst);
    free(input);
    unsetenv(QUEUED_ENV);
    unsetenv(INPROGRESS_ENV);
}

static void
assert_phase(struct durata_hub *hub, const char *id, enum durata_status status, const char *custom)
{
    struct durata_instance *inst = wk_run_and_get(hub, id);

    assert_int_equal(inst->status, status);
    assert_true(wk_json_is_string(inst->custom_status, custom));
    durata_instance_free(inst);
}

static void
test_lifecycle_follows_the_clock(void **state)
{
    struct wk_fixture *fx = *state;
    struct durata_hub *hub;
    char id[257];

    hub = wk_fixture_hub(fx, true);
    wk_start(hub, "AsyncJobOrchestrator", NULL,
             "{\"ThirdPartyJobId\":\"tp-1\",\"QueuedDuration\":20,\"InProgressDuration\":30}", id);
    assert_phase(hub, id, DURATA_RUNNING, "Queued");
    atomic_fetch_add(&fx->clock.now_ms, 19999);
    assert_phase(hub, id, DURATA_RUNNING, "Queued");
    atomic_fetch_add(&fx->clock.now_ms, 1);
    assert_phase(hub, id, DURATA_RUNNING, "InProgress");
    atomic_fetch_add(&fx->clock.now_ms, 29999);
    assert_phase(hub, id, DURATA_RUNNING, "InProgress");
    atomic_fetch_add(&fx->clock.now_ms, 1);
    assert_phase(hub, id, DURATA_COMPLETED, "Completed");
    assert_timer_pairs(hub, id, 2);
}

static void
test_invalid_input_fails_clearly(void **state)
{
    static const struct {
        const char *input, *field;
    } cases[] = {
        {NULL, "ThirdPartyJobId"},
        {"[1,2]", "ThirdPartyJobId"},
        {"{\"QueuedDuration\":1,\"InProgressDuration\":1}", "ThirdPartyJobId"},
        {"{\"ThirdPartyJobId\":5,\"QueuedDuration\":1,\"InProgressDuration\":1}",
         "ThirdPartyJobId"},
        {"{\"ThirdPartyJobId\":\"\",\"QueuedDuration\":1,\"InProgressDuration\":1}",
         "ThirdPartyJobId"},
        {"{\"ThirdPartyJobId\":\"x\",\"QueuedDuration\":-1,\"InProgressDuration\":1}",
         "QueuedDuration"},
        {"{\"ThirdPartyJobId\":\"x\",\"QueuedDuration\":\"5\",\"InProgressDuration\":1}",
         "QueuedDuration"},
        {"{\"ThirdPartyJobId\":\"x\",\"QueuedDuration\":1}", "InProgressDuration"},
        {"{\"ThirdPartyJobId\":\"x\",\"QueuedDuration\":1,\"InProgressDuration\":1e12}",
         "InProgressDuration"},
    };
    struct wk_fixture *fx = *state;
    struct durata_hub *hub;
    size_t i;

    hub = wk_fixture_hub(fx, true);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct durata_instance *inst;
        char id[257];

        wk_start(hub, "AsyncJobOrchestrator", NULL, cases[i].input, id);
        inst = wk_run_and_get(hub, id);
        assert_int_equal(inst->status, DURATA_FAILED);
        assert_non_null(inst->failure);
        assert_string_equal(inst->failure->error_type, "InvalidInput");
        assert_non_null(strstr(inst->failure->message, cases[i].field));
        assert_int_equal(wk_history_count(hub, id, DURATA_EV_TIMER_CREATED), 0);
        durata_instance_free(inst);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_input_defaults_when_env_unset),
        cmocka_unit_test(test_input_reads_env),
        cmocka_unit_test(test_input_rejects_invalid_env),
        WK_TEST(test_lifecycle_with_threads),
        WK_TEST(test_lifecycle_follows_the_clock),
        WK_TEST(test_invalid_input_fails_clearly),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
