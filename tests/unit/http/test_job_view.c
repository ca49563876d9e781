/*
 * test_job_view.c — the job view written as text (http/job_view.c): each
 * case an instance and the view it must give, compared as JSON values
 * (jansson parses the text; json_equal against the expected value), plus
 * checks that the text is compact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "http/job_view.h"

#define T0 1700000000000LL /* 2023-11-14T22:13:20Z */

/* The view of inst, parsed; the text in *text_out when asked (freed by
 * the caller). */
static json_t *
view_of(const struct durata_instance *inst, char **text_out)
{
    struct dt_buf b;
    json_error_t err;
    json_t *v;

    dt_buf_init(&b, 0);
    assert_int_equal(dt_job_view_append(&b, inst), 0);
    v = json_loads(b.data, 0, &err);
    if (!v)
        fail_msg("not JSON (%s): %s", err.text, b.data);
    if (text_out)
        *text_out = strdup(b.data);
    dt_buf_release(&b);
    return v;
}

/* inst's view equals `want` (taken) with the fields every case shares. */
static void
assert_view(const struct durata_instance *inst, json_t *want)
{
    json_t *got = view_of(inst, NULL);

    assert_non_null(want);
    json_object_set_new(want, "created_at", json_string("2023-11-14T22:13:20Z"));
    json_object_set_new(want, "updated_at", json_string("2023-11-14T22:13:21Z"));
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("view\n  got  %s\n  want %s", g, w);
    }
    json_decref(got);
    json_decref(want);
}

static struct durata_instance
job(enum durata_status status, const char *input, const char *custom, const char *output)
{
    return (struct durata_instance){.id = "j1",
                                    .name = "durata.job",
                                    .status = status,
                                    .input = (char *)input,
                                    .custom_status = (char *)custom,
                                    .output = (char *)output,
                                    .created_ms = T0,
                                    .updated_ms = T0 + 1000};
}

static const char *const input = "{\"job_type\":\"echo\",\"customer_id\":\"c1\",\"payload\":{}}";

static void
test_running_job(void **state)
{
    struct durata_instance i = job(
        DURATA_RUNNING, input, "{\"state\":\"running\",\"jobType\":\"echo\",\"attempt\":2}", NULL);

    (void)state;
    assert_view(&i, json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:i}, s:n, s:n, s:i}", "job_id",
                              "j1", "job_type", "echo", "customer_id", "c1", "status", "running",
                              "custom_status", "state", "running", "jobType", "echo", "attempt", 2,
                              "result", "error", "attempts", 2));
    i.status = DURATA_CONTINUED_AS_NEW;
    i.custom_status = NULL;
    assert_view(&i, json_pack("{s:s, s:s, s:s, s:s, s:n, s:n, s:n, s:i}", "job_id", "j1",
                              "job_type", "echo", "customer_id", "c1", "status", "running",
                              "custom_status", "result", "error", "attempts", 0));
}

/* A result with whitespace between tokens and inside strings; the text
 * keeps the second and drops the first. */
static void
test_completed_result_is_compacted(void **state)
{
    struct durata_instance i = job(DURATA_COMPLETED, input, NULL,
                                   "{\n  \"a\": \"x  y\\n\",\n  \"b\": [1, 2.5, \"\\\" ,\"]\n}");
    char *text;
    json_t *v;

    (void)state;
    assert_view(&i, json_pack("{s:s, s:s, s:s, s:s, s:n, s:{s:s, s:[i, f, s]}, s:n, s:i}", "job_id",
                              "j1", "job_type", "echo", "customer_id", "c1", "status", "completed",
                              "custom_status", "result", "a", "x  y\n", "b", 1, 2.5, "\" ,",
                              "error", "attempts", 0));
    v = view_of(&i, &text);
    assert_null(strchr(text, '\n'));
    assert_non_null(strstr(text, "\"result\":{\"a\":\"x  y\\n\",\"b\":[1,2.5,\"\\\" ,\"]}"));
    free(text);
    json_decref(v);
    /* A result that is not JSON is a string; no result before completion. */
    i.output = "plain words";
    assert_view(&i, json_pack("{s:s, s:s, s:s, s:s, s:n, s:s, s:n, s:i}", "job_id", "j1",
                              "job_type", "echo", "customer_id", "c1", "status", "completed",
                              "custom_status", "result", "plain words", "error", "attempts", 0));
    i.status = DURATA_SUSPENDED;
    assert_view(&i, json_pack("{s:s, s:s, s:s, s:s, s:n, s:n, s:n, s:i}", "job_id", "j1",
                              "job_type", "echo", "customer_id", "c1", "status", "suspended",
                              "custom_status", "result", "error", "attempts", 0));
}

static void
test_failed_job(void **state)
{
    struct durata_failure f = {.error_type = "CommandFailed", .message = "exit 3", .details = NULL};
    struct durata_instance i = job(DURATA_FAILED, input, "{\"attempt\":3}", NULL);

    (void)state;
    i.failure = &f;
    assert_view(&i, json_pack("{s:s, s:s, s:s, s:s, s:{s:i}, s:n, s:{s:s, s:s, s:n}, s:i}",
                              "job_id", "j1", "job_type", "echo", "customer_id", "c1", "status",
                              "failed", "custom_status", "attempt", 3, "result", "error", "type",
                              "CommandFailed", "message", "exit 3", "details", "attempts", 3));
    f.error_type = NULL;
    assert_view(&i, json_pack("{s:s, s:s, s:s, s:s, s:{s:i}, s:n, s:{s:n, s:s, s:n}, s:i}",
                              "job_id", "j1", "job_type", "echo", "customer_id", "c1", "status",
                              "failed", "custom_status", "attempt", 3, "result", "error", "type",
                              "message", "exit 3", "details", "attempts", 3));
    i.failure = NULL;
    assert_view(&i, json_pack("{s:s, s:s, s:s, s:s, s:{s:i}, s:n, s:{s:s, s:n, s:n}, s:i}",
                              "job_id", "j1", "job_type", "echo", "customer_id", "c1", "status",
                              "failed", "custom_status", "attempt", 3, "result", "error", "type",
                              "Failed", "message", "details", "attempts", 3));
}

/* The reason of a cancelled job: a JSON string, a text that is not JSON,
 * or the default for anything else. */
static void
test_cancelled_job(void **state)
{
    static const struct {
        const char *output;
        const char *message;
    } cases[] = {
        {"\"by the customer\"", "by the customer"},
        {" \"spaced\" ", "spaced"},
        {"not json at all", "not json at all"},
        {"{\"why\":1}", "the job was cancelled"},
        {"42", "the job was cancelled"},
        {NULL, "the job was cancelled"},
    };

    (void)state;
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct durata_instance i =
            job(k % 2 ? DURATA_CANCELED : DURATA_TERMINATED, input, NULL, cases[k].output);
        assert_view(&i, json_pack("{s:s, s:s, s:s, s:s, s:n, s:n, s:{s:s, s:s}, s:i}", "job_id",
                                  "j1", "job_type", "echo", "customer_id", "c1", "status",
                                  "cancelled", "custom_status", "result", "error", "type",
                                  "Cancelled", "message", cases[k].message, "attempts", 0));
    }
}

/* Inputs the plain scanner cannot read (keys with escapes, JSON deeper
 * than 64 levels), members that are not strings, and attempts that are
 * not integers. */
static void
test_odd_stored_texts(void **state)
{
    char deep[400];
    size_t n = 0;
    struct durata_instance i = job(DURATA_PENDING, "{\"job\\u005ftype\":\"esc\",\"customer_id\":7}",
                                   "{\"attempt\":2.5}", NULL);

    (void)state;
    assert_view(&i, json_pack("{s:s, s:s, s:n, s:s, s:{s:f}, s:n, s:n, s:i}", "job_id", "j1",
                              "job_type", "esc", "customer_id", "status", "pending",
                              "custom_status", "attempt", 2.5, "result", "error", "attempts", 0));
    /* 70 levels: past dt_json_check, within jansson. */
    n +=
        (size_t)snprintf(deep + n, sizeof(deep) - n, "{\"attempt\":4,\"job_type\":\"deep\",\"x\":");
    for (int d = 0; d < 70; d++)
        deep[n++] = '[';
    for (int d = 0; d < 70; d++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    i.input = deep;
    i.custom_status = deep;
    json_t *got = view_of(&i, NULL);
    assert_string_equal(json_string_value(json_object_get(got, "job_type")), "deep");
    assert_int_equal(json_integer_value(json_object_get(got, "attempts")), 4);
    assert_true(json_is_object(json_object_get(got, "custom_status")));
    json_decref(got);
    /* Not JSON at all; an attempt that is a string or negative. */
    i.input = "job_type=echo";
    i.custom_status = "{\"attempt\":\"3\"}";
    assert_view(&i, json_pack("{s:s, s:n, s:n, s:s, s:{s:s}, s:n, s:n, s:i}", "job_id", "j1",
                              "job_type", "customer_id", "status", "pending", "custom_status",
                              "attempt", "3", "result", "error", "attempts", 0));
    i.custom_status = "{\"attempt\":-1}";
    i.input = NULL;
    assert_view(&i, json_pack("{s:s, s:n, s:n, s:s, s:{s:i}, s:n, s:n, s:i}", "job_id", "j1",
                              "job_type", "customer_id", "status", "pending", "custom_status",
                              "attempt", -1, "result", "error", "attempts", -1));
    i.custom_status = "still running";
    i.id = "bad\xff";
    assert_view(&i, json_pack("{s:s, s:n, s:n, s:s, s:s, s:n, s:n, s:i}", "job_id", "bad?",
                              "job_type", "customer_id", "status", "pending", "custom_status",
                              "still running", "result", "error", "attempts", 0));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_running_job),
        cmocka_unit_test(test_completed_result_is_compacted),
        cmocka_unit_test(test_failed_job),
        cmocka_unit_test(test_cancelled_job),
        cmocka_unit_test(test_odd_stored_texts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
