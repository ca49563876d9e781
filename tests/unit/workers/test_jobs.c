/*
 * test_jobs.c — the job orchestration "durata.Job" and the demo job types
 * (workers/jobs.h): the handler's input, custom status, the retry loop on
 * durable timers (attempt numbers, backoff, non-retriable failures, the
 * policy timeout), interruptions, bad input, registration checks, and the
 * demo handlers echo / sleep / fail / thumbnail, including a sleep that
 * honours cancellation when the hub stops and runs again after a restart.
 * The hub runs without threads on a fake clock except where a test says.
 */
#include "support_workers.h"
#include "workers/jobs.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A scripted handler: fails the first `failures` calls (retriably unless
 * non_retriable), with error type `error_type`, then returns {"ok":attempt}. */
struct script {
    int failures;
    bool non_retriable;
    const char *error_type;
    int calls;
    int attempts[16]; /* "attempt" of each call */
    char *last_input;
};

static void
script_handler(struct durata_activity *a, void *arg)
{
    struct script *s = arg;
    json_t *in = json_loads(durata_activity_input(a), 0, NULL);
    char out[64];
    int attempt;

    assert_non_null(in);
    attempt = (int)json_integer_value(json_object_get(in, "attempt"));
    if (s->calls < 16)
        s->attempts[s->calls] = attempt;
    free(s->last_input);
    s->last_input = strdup(durata_activity_input(a));
    json_decref(in);
    if (s->calls++ < s->failures) {
        durata_activity_fail(a, s->error_type ? s->error_type : "Boom", "scripted failure",
                             "details", s->non_retriable);
        return;
    }
    snprintf(out, sizeof(out), "{\"ok\":%d}", attempt);
    durata_activity_complete(a, out);
}

/* The fixture's hub running the job types of set (which, like the types,
 * lives in the test's frame, past the hub's last use). */
static struct durata_hub *
jobs_hub(struct wk_fixture *fx, const struct dt_job_set *set)
{
    struct durata_hub *hub = wk_fixture_hub(fx, true);

    assert_int_equal(dt_jobs_register(hub, set), 0);
    return hub;
}

/* The fixture's hub running the demo types, described in *set. */
static struct durata_hub *
demo_hub(struct wk_fixture *fx, struct dt_job_set *set)
{
    set->types = dt_jobs_demo_types(&set->n);
    return jobs_hub(fx, set);
}

static void
start_job(struct durata_hub *hub, const char *input, char id[257])
{
    wk_start(hub, DT_JOB_ORCHESTRATOR, NULL, input, id);
}

/* The integer member `key` of the JSON object text. */
static long long
member_int(const char *json, const char *key)
{
    json_t *v = json_loads(json, 0, NULL);
    long long n;

    assert_non_null(v);
    assert_true(json_is_integer(json_object_get(v, key)));
    n = json_integer_value(json_object_get(v, key));
    json_decref(v);
    return n;
}

static void
test_demo_types_are_the_four(void **state)
{
    static const char *const names[] = {"echo", "sleep", "fail", "thumbnail"};
    const struct dt_job_type *t;
    size_t n, i;

    (void)state;
    t = dt_jobs_demo_types(&n);
    assert_int_equal(n, 4);
    for (i = 0; i < n; i++) {
        assert_string_equal(t[i].name, names[i]);
        assert_non_null(t[i].handler);
    }
}

/* Whether the instance's (one) TaskScheduled event names activity `name`. */
static bool
scheduled_name_is(struct durata_hub *hub, const char *id, const char *name)
{
    struct durata_history *h = NULL;
    char want[128];
    bool found = false;

    snprintf(want, sizeof(want), "\"Name\":\"%s\"", name);
    assert_int_equal(durata_get_history(hub, id, &h), 0);
    for (size_t i = 0; i < h->count; i++)
        if (h->events[i].type == DURATA_EV_TASK_SCHEDULED)
            found = strstr(h->events[i].json, want) != NULL;
    durata_history_free(h);
    return found;
}

static void
test_handler_gets_the_job_and_result_is_the_output(void **state)
{
    struct wk_fixture *fx = *state;
    struct script s = {0};
    const struct dt_job_type types[] = {
        {.name = "render", .handler = script_handler, .handler_arg = &s}};
    struct durata_instance *inst;
    const struct dt_job_set set = {.types = types, .n = 1};
    struct durata_hub *hub = jobs_hub(fx, &set);
    char id[257], want[512];

    start_job(hub,
              "{\"job_type\":\"render\",\"customer_id\":\"cust-1\",\"payload\":{\"a\":[1,2]},"
              "\"request_hash\":\"x\"}",
              id);
    inst = wk_run_and_get(hub, id);
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(wk_json_equal(inst->output, "{\"ok\":1}"));
    assert_string_equal(inst->custom_status,
                        "{\"state\":\"completed\",\"jobType\":\"render\",\"attempt\":1}");
    snprintf(want, sizeof(want),
             "{\"job_id\":\"%s\",\"job_type\":\"render\",\"customer_id\":\"cust-1\","
             "\"payload\":{\"a\":[1,2]},\"attempt\":1}",
             id);
    assert_string_equal(s.last_input, want); /* the very text: replays must write it again */
    assert_int_equal(wk_history_count(hub, id, DURATA_EV_TASK_SCHEDULED), 1);
    assert_true(scheduled_name_is(hub, id, "job:render")); /* shown in DF history */
    durata_instance_free(inst);
    free(s.last_input);
}

static void
test_missing_customer_and_payload_are_null(void **state)
{
    struct wk_fixture *fx = *state;
    struct script s = {0};
    const struct dt_job_type types[] = {
        {.name = "render", .handler = script_handler, .handler_arg = &s}};
    struct durata_instance *inst;
    const struct dt_job_set set = {.types = types, .n = 1};
    struct durata_hub *hub = jobs_hub(fx, &set);
    char id[257], want[512];

    start_job(hub, "{\"job_type\":\"render\"}", id);
    inst = wk_run_and_get(hub, id);
    assert_int_equal(inst->status, DURATA_COMPLETED);
    snprintf(want, sizeof(want),
             "{\"job_id\":\"%s\",\"job_type\":\"render\",\"customer_id\":null,"
             "\"payload\":null,\"attempt\":1}",
             id);
    assert_string_equal(s.last_input, want);
    durata_instance_free(inst);
    free(s.last_input);
}

/* Inputs not written by the job API (started through the Durable Functions
 * API, say): spacing is kept as it was, keys written with escapes are read
 * as jansson reads them, and a repeated key counts once, the last. */
static void
test_input_written_otherwise_reaches_the_handler(void **state)
{
    struct wk_fixture *fx = *state;
    struct script s = {0};
    const struct dt_job_type types[] = {
        {.name = "render", .handler = script_handler, .handler_arg = &s}};
    const struct dt_job_set set = {.types = types, .n = 1};
    struct durata_hub *hub = jobs_hub(fx, &set);
    struct durata_instance *inst;
    char id[257], want[512];

    start_job(hub, " { \"job_type\" : \"render\", \"payload\" : { \"a\" : [1, 2] } } ", id);
    inst = wk_run_and_get(hub, id);
    assert_int_equal(inst->status, DURATA_COMPLETED);
    snprintf(want, sizeof(want),
             "{\"job_id\":\"%s\",\"job_type\":\"render\",\"customer_id\":null,"
             "\"payload\":{ \"a\" : [1, 2] },\"attempt\":1}",
             id);
    assert_string_equal(s.last_input, want);
    durata_instance_free(inst);

    start_job(hub,
              "{\"job\\u005ftype\":\"ren\\u0064er\",\"payload\":1,\"customer_id\":\"c\","
              "\"payload\":{\"b\":\"\\u00e9\"}}",
              id);
    inst = wk_run_and_get(hub, id);
    assert_int_equal(inst->status, DURATA_COMPLETED);
    snprintf(want, sizeof(want),
             "{\"job_id\":\"%s\",\"job_type\":\"render\",\"customer_id\":\"c\","
             "\"payload\":{\"b\":\"\xc3\xa9\"},\"attempt\":1}",
             id);
    assert_string_equal(s.last_input, want);
    durata_instance_free(inst);
    free(s.last_input);
}

static void
test_retries_follow_the_backoff_with_attempt_numbers(void **state)
{
    struct wk_fixture *fx = *state;
    struct script s = {.failures = 2};
    const struct dt_job_type types[] = {
        {.name = "flaky",
         .handler = script_handler,
         .handler_arg = &s,
         .retry = {.max_attempts = 4, .first_interval_ms = 1000, .backoff_coefficient = 3.0}}};
    struct durata_instance *inst;
    const struct dt_job_set set = {.types = types, .n = 1};
    struct durata_hub *hub = jobs_hub(fx, &set);
    char id[257];

    start_job(hub, "{\"job_type\":\"flaky\"}", id);
    inst = wk_run_and_get(hub, id);
    assert_int_equal(inst->status, DURATA_RUNNING);
    assert_int_equal(s.calls, 1);
    assert_true(wk_json_equal(inst->custom_status,
                              "{\"state\":\"running\",\"jobType\":\"flaky\",\"attempt\":1}"));
    durata_instance_free(inst);
    atomic_fetch_add(&fx->clock.now_ms, 999); /* the first backoff is 1000 ms */
    durata_instance_free(wk_run_and_get(hub, id));
    assert_int_equal(s.calls, 1);
    atomic_fetch_add(&fx->clock.now_ms, 1);
    durata_instance_free(wk_run_and_get(hub, id));
    assert_int_equal(s.calls, 2);
    atomic_fetch_add(&fx->clock.now_ms, 2999); /* then 3000 ms */
    durata_instance_free(wk_run_and_get(hub, id));
    assert_int_equal(s.calls, 2);
    atomic_fetch_add(&fx->clock.now_ms, 1);
    inst = wk_run_and_get(hub, id);
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_int_equal(s.calls, 3);
    assert_int_equal(s.attempts[0], 1);
    assert_int_equal(s.attempts[1], 2);
    assert_int_equal(s.attempts[2], 3);
    assert_true(wk_json_equal(inst->output, "{\"ok\":3}"));
    assert_int_equal(member_int(inst->custom_status, "attempt"), 3);
    assert_int_equal(wk_history_count(hub, id, DURATA_EV_TIMER_FIRED), 2);
    durata_instance_free(inst);
    free(s.last_input);
}

static void
test_exhausted_attempts_fail_with_the_last_failure(void **state)
{
    struct wk_fixture *fx = *state;
    struct script s = {.failures = 100, .error_type = "RenderError"};
    const struct dt_job_type types[] = {{.name = "flaky",
                                         .handler = script_handler,
                                         .handler_arg = &s,
                                         .retry = {.max_attempts = 3,
                                                   .first_interval_ms = 500,
                                                   .backoff_coefficient = 2.0,
                                                   .max_interval_ms = 600}}};
    struct durata_instance *inst;
    const struct dt_job_set set = {.types = types, .n = 1};
    struct durata_hub *hub = jobs_hub(fx, &set);
    char id[257];

    start_job(hub, "{\"job_type\":\"flaky\"}", id);
    inst = wk_drive(hub, &fx->clock, id, 100, 100);
    assert_int_equal(inst->status, DURATA_FAILED);
    assert_int_equal(s.calls, 3);
    assert_string_equal(inst->failure->error_type, "RenderError");
    assert_string_equal(inst->failure->message, "scripted failure");
    assert_string_equal(inst->failure->details, "details");
    assert_true(wk_json_equal(inst->custom_status,
                              "{\"state\":\"failed\",\"jobType\":\"flaky\",\"attempt\":3}"));
    /* 500 ms, then min(1000, 600) ms of backoff */
    assert_int_equal(inst->completed_ms - WK_T0, 1100);
    durata_instance_free(inst);
    free(s.last_input);
}

static void
test_non_retriable_failure_stops_at_once(void **state)
{
    struct wk_fixture *fx = *state;
    struct script s = {.failures = 100, .non_retriable = true};
    const struct dt_job_type types[] = {{.name = "flaky",
                                         .handler = script_handler,
                                         .handler_arg = &s,
                                         .retry = {.max_attempts = 5, .first_interval_ms = 10}}};
    struct durata_instance *inst;
    const struct dt_job_set set = {.types = types, .n = 1};
    struct durata_hub *hub = jobs_hub(fx, &set);
    char id[257];

    start_job(hub, "{\"job_type\":\"flaky\"}", id);
    inst = wk_drive(hub, &fx->clock, id, 10, 50);
    assert_int_equal(inst->status, DURATA_FAILED);
    assert_int_equal(s.calls, 1);
    assert_int_equal(wk_history_count(hub, id, DURATA_EV_TIMER_CREATED), 0);
    durata_instance_free(inst);
    free(s.last_input);
}

static void
test_retry_timeout_ends_the_attempts(void **state)
{
    struct wk_fixture *fx = *state;
    struct script s = {.failures = 100};
    const struct dt_job_type types[] = {
        {.name = "flaky",
         .handler = script_handler,
         .handler_arg = &s,
         .retry = {.max_attempts = 50, .first_interval_ms = 1000, .timeout_ms = 2500}}};
    struct durata_instance *inst;
    const struct dt_job_set set = {.types = types, .n = 1};
    struct durata_hub *hub = jobs_hub(fx, &set);
    char id[257];

    start_job(hub, "{\"job_type\":\"flaky\"}", id);
    inst = wk_drive(hub, &fx->clock, id, 250, 100);
    assert_int_equal(inst->status, DURATA_FAILED);
    /* attempts at 0, 1000 and 2000 ms; a fourth at 3000 would pass 2500 */
    assert_int_equal(s.calls, 3);
    durata_instance_free(inst);
    free(s.last_input);
}

static void
test_interruption_reruns_the_same_attempt(void **state)
{
    struct wk_fixture *fx = *state;
    struct script s = {.failures = 2, .error_type = "Interrupted"};
    const struct dt_job_type types[] = {
        {.name = "long", .handler = script_handler, .handler_arg = &s}};
    struct durata_instance *inst;
    const struct dt_job_set set = {.types = types, .n = 1};
    struct durata_hub *hub = jobs_hub(fx, &set);
    char id[257];

    start_job(hub, "{\"job_type\":\"long\"}", id);
    inst = wk_run_and_get(hub, id);
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_int_equal(s.calls, 3);
    assert_int_equal(s.attempts[2], 1);
    assert_true(wk_json_equal(inst->output, "{\"ok\":1}"));
    assert_int_equal(wk_history_count(hub, id, DURATA_EV_TIMER_CREATED), 0);
    durata_instance_free(inst);
    free(s.last_input);
}

static void
test_bad_input_and_unknown_type_fail_clearly(void **state)
{
    static const struct {
        const char *input;
        const char *error_type;
    } cases[] = {
        {"{\"job_type\":\"nope\"}", "UnknownJobType"},
        {"{\"customer_id\":\"c\"}", "InvalidInput"},
        {"{\"job_type\":7}", "InvalidInput"},
        {"{\"job_type\":\"echo\",\"customer_id\":5}", "InvalidInput"},
        {"[1,2]", "InvalidInput"},
        {NULL, "InvalidInput"},
    };
    struct wk_fixture *fx = *state;
    struct dt_job_set set;
    struct durata_hub *hub = demo_hub(fx, &set);
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct durata_instance *inst;
        char id[257];

        start_job(hub, cases[i].input, id);
        inst = wk_run_and_get(hub, id);
        assert_int_equal(inst->status, DURATA_FAILED);
        assert_string_equal(inst->failure->error_type, cases[i].error_type);
        assert_int_equal(wk_history_count(hub, id, DURATA_EV_TASK_SCHEDULED), 0);
        durata_instance_free(inst);
    }
}

static void
dummy_handler(struct durata_activity *a, void *arg)
{
    (void)arg;
    durata_activity_complete(a, NULL);
}

static void
test_register_rejects_bad_tables(void **state)
{
    struct wk_fixture *fx = *state;
    const struct dt_job_type dup[] = {{.name = "a", .handler = dummy_handler},
                                      {.name = "a", .handler = dummy_handler}};
    const struct dt_job_type no_handler[] = {{.name = "a"}};
    const struct dt_job_type no_name[] = {{.name = "", .handler = dummy_handler}};
    const struct dt_job_type bad_coef[] = {
        {.name = "a",
         .handler = dummy_handler,
         .retry = {.max_attempts = 2, .first_interval_ms = 10, .backoff_coefficient = 0.5}}};
    const struct dt_job_type no_interval[] = {
        {.name = "a", .handler = dummy_handler, .retry = {.max_attempts = 2}}};
    const struct dt_job_type too_many[] = {
        {.name = "a",
         .handler = dummy_handler,
         .retry = {.max_attempts = DURATA_MAX_RETRY_ATTEMPTS + 1, .first_interval_ms = 1}}};
    const struct dt_job_set bad[] = {
        {.types = NULL, .n = 1},     {.types = dup, .n = 2},      {.types = no_handler, .n = 1},
        {.types = no_name, .n = 1},  {.types = bad_coef, .n = 1}, {.types = no_interval, .n = 1},
        {.types = too_many, .n = 1},
    };
    const struct dt_job_set good = {.types = dup, .n = 1}, empty = {0};
    struct durata_hub *hub = wk_fixture_hub(fx, true);

    assert_int_equal(dt_jobs_register(NULL, &good), DURATA_EINVAL);
    assert_int_equal(dt_jobs_register(hub, NULL), DURATA_EINVAL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(dt_jobs_register(hub, &bad[i]), DURATA_EINVAL);
    assert_int_equal(dt_jobs_register(hub, &empty), 0);
    assert_int_equal(dt_jobs_register(hub, &good), 0);
}

/* A second hub on its own store in the fixture's directory (fake clock). */
static struct durata_hub *
second_hub(struct wk_fixture *fx, char path[700])
{
    struct durata_hub_options o = {
        .store_path = path, .clock = wk_clock_now, .clock_arg = &fx->clock};
    struct durata_hub *hub;

    snprintf(path, 700, "%s/second.db", fx->dir);
    assert_int_equal(durata_hub_open(&hub, &o), 0);
    return hub;
}

static void
second_hub_close(struct durata_hub *hub, const char *path)
{
    static const char *const sides[] = {"", "-wal", "-shm", "-journal"};
    char file[800];

    durata_hub_close(hub);
    for (size_t i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
        snprintf(file, sizeof(file), "%s%s", path, sides[i]);
        unlink(file);
    }
}

static void
test_each_hub_runs_its_own_job_types(void **state)
{
    struct wk_fixture *fx = *state;
    struct script sa = {0}, sb = {.failures = 100, .non_retriable = true};
    const struct dt_job_type ta[] = {
        {.name = "render", .handler = script_handler, .handler_arg = &sa}};
    const struct dt_job_type tb[] = {
        {.name = "render", .handler = script_handler, .handler_arg = &sb}};
    const struct dt_job_set set_a = {.types = ta, .n = 1}, set_b = {.types = tb, .n = 1};
    struct durata_hub *a = jobs_hub(fx, &set_a), *b;
    struct durata_instance *inst;
    char path[700], ida[257], idb[257];

    b = second_hub(fx, path);
    assert_int_equal(dt_jobs_register(b, &set_b), 0);
    start_job(a, "{\"job_type\":\"render\"}", ida);
    start_job(b, "{\"job_type\":\"render\"}", idb);
    inst = wk_run_and_get(a, ida);
    assert_int_equal(inst->status, DURATA_COMPLETED);
    durata_instance_free(inst);
    inst = wk_run_and_get(b, idb);
    assert_int_equal(inst->status, DURATA_FAILED);
    assert_string_equal(inst->failure->message, "scripted failure");
    durata_instance_free(inst);
    assert_int_equal(sa.calls, 1);
    assert_int_equal(sb.calls, 1);
    second_hub_close(b, path);
    free(sa.last_input);
    free(sb.last_input);
}

/* Registration keeps nothing in the process, so there is no limit on how
 * many different sets a process registers (one per hub, or again on one
 * hub, where the last registration wins). */
static void
test_many_job_sets_register_and_the_last_one_runs(void **state)
{
    enum { N = 100 };
    struct wk_fixture *fx = *state;
    struct script s = {0};
    char names[N][8];
    struct dt_job_type types[N];
    struct dt_job_set sets[N];
    struct durata_hub *hub = wk_fixture_hub(fx, true);
    struct durata_instance *inst;
    char id[257];

    for (size_t i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "t%zu", i);
        types[i] =
            (struct dt_job_type){.name = names[i], .handler = script_handler, .handler_arg = &s};
        sets[i] = (struct dt_job_set){.types = types, .n = i + 1};
        assert_int_equal(dt_jobs_register(hub, &sets[i]), 0);
    }
    start_job(hub, "{\"job_type\":\"t99\"}", id);
    inst = wk_run_and_get(hub, id);
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_int_equal(s.calls, 1);
    durata_instance_free(inst);
    free(s.last_input);
}

static void
test_demo_echo_thumbnail_and_sleep(void **state)
{
    struct wk_fixture *fx = *state;
    struct dt_job_set set;
    struct durata_hub *hub = demo_hub(fx, &set);
    struct durata_instance *inst;
    char echo[257], thumb[257], slp[257], url[400];

    start_job(hub, "{\"job_type\":\"echo\",\"payload\":{\"x\":[true,null]}}", echo);
    start_job(hub,
              "{\"job_type\":\"thumbnail\",\"customer_id\":\"cust-123\",\"payload\":"
              "{\"asset_url\":\"https://example.invalid/image.png\",\"render_ms\":0}}",
              thumb);
    start_job(hub, "{\"job_type\":\"sleep\",\"payload\":{\"ms\":30}}", slp);
    assert_true(durata_hub_run_pending(hub, 0) >= 0);
    inst = wk_run_and_get(hub, echo);
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(wk_json_equal(inst->output, "{\"x\":[true,null]}"));
    durata_instance_free(inst);
    inst = wk_run_and_get(hub, thumb);
    assert_int_equal(inst->status, DURATA_COMPLETED);
    snprintf(url, sizeof(url), "{\"artifactUrl\":\"https://example.invalid/jobs/%s.json\"}", thumb);
    assert_true(wk_json_equal(inst->output, url));
    durata_instance_free(inst);
    inst = wk_run_and_get(hub, slp);
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(wk_json_equal(inst->output, "{\"slept_ms\":30}"));
    durata_instance_free(inst);
}

static void
test_demo_bad_payloads_fail_without_retry(void **state)
{
    static const char *const inputs[] = {
        "{\"job_type\":\"sleep\"}",
        "{\"job_type\":\"sleep\",\"payload\":{\"ms\":-1}}",
        "{\"job_type\":\"sleep\",\"payload\":{\"ms\":\"10\"}}",
        "{\"job_type\":\"sleep\",\"payload\":{\"ms\":3600001}}",
        "{\"job_type\":\"thumbnail\",\"payload\":{\"render_ms\":1.5}}",
    };
    struct wk_fixture *fx = *state;
    struct dt_job_set set;
    struct durata_hub *hub = demo_hub(fx, &set);
    size_t i;

    for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        struct durata_instance *inst;
        char id[257];

        start_job(hub, inputs[i], id);
        inst = wk_run_and_get(hub, id);
        assert_int_equal(inst->status, DURATA_FAILED);
        assert_string_equal(inst->failure->error_type, "InvalidPayload");
        assert_int_equal(wk_history_count(hub, id, DURATA_EV_TASK_SCHEDULED), 1);
        durata_instance_free(inst);
    }
}

static void
test_demo_fail_is_retried_only_when_asked(void **state)
{
    struct wk_fixture *fx = *state;
    struct dt_job_set set;
    struct durata_hub *hub = demo_hub(fx, &set);
    struct durata_instance *inst;
    char once[257], thrice[257];

    start_job(hub, "{\"job_type\":\"fail\"}", once);
    start_job(hub, "{\"job_type\":\"fail\",\"payload\":{\"retriable\":true,\"message\":\"nope\"}}",
              thrice);
    inst = wk_drive(hub, &fx->clock, once, 500, 20);
    assert_int_equal(inst->status, DURATA_FAILED);
    assert_string_equal(inst->failure->error_type, "JobFailed");
    assert_string_equal(inst->failure->message, "the fail job type always fails");
    assert_int_equal(member_int(inst->custom_status, "attempt"), 1);
    durata_instance_free(inst);
    inst = wk_drive(hub, &fx->clock, thrice, 500, 20);
    assert_int_equal(inst->status, DURATA_FAILED);
    assert_string_equal(inst->failure->message, "nope");
    assert_string_equal(inst->failure->details, "attempt 3");
    assert_int_equal(member_int(inst->custom_status, "attempt"), 3);
    assert_int_equal(wk_history_count(hub, thrice, DURATA_EV_TASK_FAILED), 3);
    durata_instance_free(inst);
}

/* A handler that runs the demo "sleep" while `slow`, else completes at once. */
struct sleepy {
    atomic_int started;
    atomic_bool slow;
};

static void
sleepy_handler(struct durata_activity *a, void *arg)
{
    struct sleepy *s = arg;
    size_t n;
    const struct dt_job_type *demo = dt_jobs_demo_types(&n);

    atomic_fetch_add(&s->started, 1);
    if (atomic_load(&s->slow))
        demo[1].handler(a, demo[1].handler_arg); /* "sleep" */
    else
        durata_activity_complete(a, "\"quick\"");
}

static void
test_sleep_honours_cancellation_and_resumes_after_restart(void **state)
{
    const struct timespec pause = {.tv_nsec = 2 * 1000 * 1000};
    struct wk_fixture *fx = *state;
    struct sleepy s = {0};
    const struct dt_job_type types[] = {
        {.name = "sleepy", .handler = sleepy_handler, .handler_arg = &s}};
    const struct dt_job_set set = {.types = types, .n = 1};
    struct durata_instance *inst;
    struct timespec t0, t1;
    int i;
    char id[257];

    atomic_store(&s.slow, true);
    (void)wk_fixture_hub(fx, false); /* the real clock, with threads */
    assert_int_equal(dt_jobs_register(fx->hub, &set), 0);
    assert_int_equal(durata_hub_start(fx->hub), 0);
    start_job(fx->hub, "{\"job_type\":\"sleepy\",\"payload\":{\"ms\":600000}}", id);
    for (i = 0; i < 5000 && atomic_load(&s.started) == 0; i++)
        nanosleep(&pause, NULL);
    assert_int_equal(atomic_load(&s.started), 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    durata_hub_stop(fx->hub); /* cancels the running sleep */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 5);
    durata_hub_close(fx->hub);
    fx->hub = NULL;
    atomic_store(&s.slow, false);
    (void)wk_fixture_hub(fx, false); /* the messages carry real times */
    assert_int_equal(dt_jobs_register(fx->hub, &set), 0);
    inst = wk_run_and_get(fx->hub, id);
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(wk_json_equal(inst->output, "\"quick\""));
    assert_int_equal(member_int(inst->custom_status, "attempt"), 1);
    assert_int_equal(atomic_load(&s.started), 2);
    assert_int_equal(wk_history_count(fx->hub, id, DURATA_EV_TASK_SCHEDULED), 2);
    durata_instance_free(inst);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_types_are_the_four),
        WK_TEST(test_handler_gets_the_job_and_result_is_the_output),
        WK_TEST(test_missing_customer_and_payload_are_null),
        WK_TEST(test_input_written_otherwise_reaches_the_handler),
        WK_TEST(test_retries_follow_the_backoff_with_attempt_numbers),
        WK_TEST(test_exhausted_attempts_fail_with_the_last_failure),
        WK_TEST(test_non_retriable_failure_stops_at_once),
        WK_TEST(test_retry_timeout_ends_the_attempts),
        WK_TEST(test_interruption_reruns_the_same_attempt),
        WK_TEST(test_bad_input_and_unknown_type_fail_clearly),
        WK_TEST(test_register_rejects_bad_tables),
        WK_TEST(test_each_hub_runs_its_own_job_types),
        WK_TEST(test_many_job_sets_register_and_the_last_one_runs),
        WK_TEST(test_demo_echo_thumbnail_and_sleep),
        WK_TEST(test_demo_bad_payloads_fail_without_retry),
        WK_TEST(test_demo_fail_is_retried_only_when_asked),
        WK_TEST(test_sleep_honours_cancellation_and_resumes_after_restart),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
