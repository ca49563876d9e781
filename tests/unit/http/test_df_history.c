/*
 * test_df_history.c — the showHistory reshaping of the DF API (spec 3.2),
 * dt_df_history_json(), on hand-built histories in the stored event form
 * (src/store/event_json.c field names).
 */
#include "http/df.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct ev {
    enum durata_event_type type;
    int32_t id;
    const char *json;
};

#define T(n) "\"Timestamp\":\"2024-05-01T10:00:0" #n ".0000000Z\""

static const struct ev chain[] = {
    {DURATA_EV_ORCHESTRATOR_STARTED, -1,
     "{\"EventType\":\"OrchestratorStarted\",\"EventId\":-1," T(0) "}"},
    {DURATA_EV_EXECUTION_STARTED, -1,
     "{\"EventType\":\"ExecutionStarted\",\"EventId\":-1," T(
         0) ",\"Name\":\"Flow\","
            "\"Version\":\"1\",\"Input\":\"{\\\"o\\\":7}\",\"InstanceId\":\"i1\",\"ExecutionId\":"
            "\"e1\","
            "\"ParentInstance\":{\"InstanceId\":\"p\",\"ExecutionId\":\"pe\",\"Name\":\"P\","
            "\"TaskScheduledId\":3}}"},
    {DURATA_EV_TASK_SCHEDULED, 0,
     "{\"EventType\":\"TaskScheduled\",\"EventId\":0," T(
         1) ",\"Name\":\"Charge\",\"Input\":\"7\"}"},
    {DURATA_EV_SUB_ORCHESTRATION_CREATED, 0, /* same EventId, other kind: not merged with it */
     "{\"EventType\":\"SubOrchestrationInstanceCreated\",\"EventId\":0," T(
         1) ",\"Name\":\"Child\","
            "\"Version\":\"2\",\"InstanceId\":\"c1\",\"Input\":\"null\"}"},
    {DURATA_EV_ORCHESTRATOR_COMPLETED, -1,
     "{\"EventType\":\"OrchestratorCompleted\",\"EventId\":-1," T(1) "}"},
    {DURATA_EV_TASK_COMPLETED, -1,
     "{\"EventType\":\"TaskCompleted\",\"EventId\":-1," T(2) ",\"TaskScheduledId\":0,"
                                                             "\"Result\":\"{\\\"ok\\\":true}\"}"},
    {DURATA_EV_TASK_SCHEDULED, 1,
     "{\"EventType\":\"TaskScheduled\",\"EventId\":1," T(3) ",\"Name\":\"Ship\",\"Version\":\"v\","
                                                            "\"Input\":\"8\"}"},
    {DURATA_EV_TASK_FAILED, -1,
     "{\"EventType\":\"TaskFailed\",\"EventId\":-1," T(
         4) ",\"TaskScheduledId\":1,"
            "\"FailureDetails\":{\"ErrorType\":\"E\",\"ErrorMessage\":\"boom\",\"StackTrace\":\"at "
            "x\","
            "\"IsNonRetriable\":false}}"},
    {DURATA_EV_TIMER_CREATED, 2,
     "{\"EventType\":\"TimerCreated\",\"EventId\":2," T(
         5) ",\"FireAt\":\"2024-05-01T11:00:00.0000000Z\"}"},
    {DURATA_EV_TIMER_FIRED, -1,
     "{\"EventType\":\"TimerFired\",\"EventId\":-1," T(
         6) ",\"FireAt\":\"2024-05-01T11:00:00.0000000Z\","
            "\"TimerId\":2}"},
    {DURATA_EV_EVENT_RAISED, -1,
     "{\"EventType\":\"EventRaised\",\"EventId\":-1," T(
         7) ",\"Name\":\"Approval\",\"Input\":\"true\"}"},
    {DURATA_EV_EXECUTION_SUSPENDED, -1,
     "{\"EventType\":\"ExecutionSuspended\",\"EventId\":-1," T(
         7) ",\"Reason\":\"\\\"hold on\\\"\"}"},
    {DURATA_EV_TASK_SCHEDULED, 3,
     "{\"EventType\":\"TaskScheduled\",\"EventId\":3," T(
         8) ",\"Name\":\"Pending\",\"Version\":\"v\","
            "\"Input\":\"1\"}"},
    {DURATA_EV_EXECUTION_COMPLETED, -1,
     "{\"EventType\":\"ExecutionCompleted\",\"EventId\":-1," T(
         9) ",\"OrchestrationStatus\":\"Completed\","
            "\"Result\":\"\\\"done\\\"\"}"},
};

static struct durata_history *
history_of(const struct ev *evs, size_t n)
{
    struct durata_history *h = calloc(1, sizeof(*h));

    assert_non_null(h);
    h->events = calloc(n ? n : 1, sizeof(*h->events));
    assert_non_null(h->events);
    for (size_t i = 0; i < n; i++) {
        h->events[i].type = evs[i].type;
        h->events[i].event_id = evs[i].id;
        h->events[i].json = strdup(evs[i].json);
        assert_non_null(h->events[i].json);
        h->count++;
    }
    return h;
}

static json_t *
reshape(bool show_input, bool show_output)
{
    struct durata_history *h = history_of(chain, sizeof(chain) / sizeof(chain[0]));
    json_t *out = NULL;

    assert_int_equal(dt_df_history_json(h, show_input, show_output, &out), 0);
    durata_history_free(h);
    assert_true(json_is_array(out));
    return out;
}

static const char *
str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    if (!json_is_string(v))
        fail_msg("%s is not a string", key);
    return json_string_value(v);
}

static void
test_history_drops_and_folds(void **state)
{
    static const char *const types[] = {
        "ExecutionStarted", "SubOrchestrationInstanceCreated",
        "TaskCompleted",    "TaskFailed",
        "TimerCreated",     "TimerFired",
        "EventRaised",      "ExecutionSuspended",
        "TaskScheduled",    "ExecutionCompleted",
    };
    json_t *h = reshape(true, false), *e;
    size_t i;

    (void)state;
    assert_int_equal(json_array_size(h), sizeof(types) / sizeof(types[0]));
    json_array_foreach(h, i, e)
    {
        assert_string_equal(str(e, "EventType"), types[i]);
        assert_null(json_object_get(e, "EventId"));
        assert_non_null(json_object_get(e, "Timestamp"));
        /* EventType first. */
        assert_string_equal(json_object_iter_key(json_object_iter(e)), "EventType");
    }
    e = json_array_get(h, 0);
    assert_string_equal(str(e, "FunctionName"), "Flow");
    assert_string_equal(str(e, "Input"), "{\"o\":7}");
    assert_null(json_object_get(e, "Name"));
    assert_null(json_object_get(e, "Version"));
    assert_null(json_object_get(e, "InstanceId"));
    assert_null(json_object_get(e, "ExecutionId"));
    assert_null(json_object_get(e, "ParentInstance"));
    e = json_array_get(h, 1); /* unmatched sub-orchestration: stays, minus Version */
    assert_string_equal(str(e, "Name"), "Child");
    assert_string_equal(str(e, "InstanceId"), "c1");
    assert_null(json_object_get(e, "Version"));
    e = json_array_get(h, 2);
    assert_string_equal(str(e, "FunctionName"), "Charge");
    assert_string_equal(str(e, "Input"), "7");
    assert_string_equal(str(e, "ScheduledTime"), "2024-05-01T10:00:01.0000000Z");
    assert_string_equal(str(e, "Timestamp"), "2024-05-01T10:00:02.0000000Z");
    assert_null(json_object_get(e, "TaskScheduledId"));
    assert_null(json_object_get(e, "Result"));
    e = json_array_get(h, 3);
    assert_string_equal(str(e, "FunctionName"), "Ship");
    assert_string_equal(str(e, "Reason"), "boom");
    assert_string_equal(str(e, "Details"), "at x");
    assert_string_equal(str(json_object_get(e, "FailureDetails"), "ErrorType"), "E");
    assert_null(json_object_get(e, "Version"));
    e = json_array_get(h, 5);
    assert_null(json_object_get(e, "TimerId"));
    assert_non_null(json_object_get(e, "FireAt"));
    e = json_array_get(h, 7);
    assert_string_equal(str(e, "Reason"), "hold on"); /* stored as JSON, shown as text */
    e = json_array_get(h, 8);                         /* still running: stays, minus Version */
    assert_string_equal(str(e, "Name"), "Pending");
    assert_null(json_object_get(e, "Version"));
    e = json_array_get(h, 9);
    assert_string_equal(str(e, "OrchestrationStatus"), "Completed");
    assert_null(json_object_get(e, "Result"));
    /* Timestamp is each event's last member. */
    json_array_foreach(h, i, e)
    {
        const char *last = NULL;
        for (void *it = json_object_iter(e); it; it = json_object_iter_next(e, it))
            last = json_object_iter_key(it);
        assert_string_equal(last, "Timestamp");
    }
    json_decref(h);
}

static void
test_history_output_and_input_flags(void **state)
{
    json_t *h = reshape(false, true), *e;
    size_t i;

    (void)state;
    json_array_foreach(h, i, e) assert_null(json_object_get(e, "Input"));
    e = json_array_get(h, 2);
    assert_true(json_is_object(json_object_get(e, "Result"))); /* parsed */
    assert_true(json_is_true(json_object_get(json_object_get(e, "Result"), "ok")));
    e = json_array_get(h, 9);
    assert_string_equal(str(e, "Result"), "done");
    json_decref(h);
}

static void
test_history_empty_and_corrupt(void **state)
{
    static const struct ev bad[] = {{DURATA_EV_EVENT_RAISED, -1, "{not json"}};
    struct durata_history *h = history_of(NULL, 0);
    json_t *out;

    (void)state;
    assert_int_equal(dt_df_history_json(h, true, true, &out), 0);
    assert_int_equal(json_array_size(out), 0);
    json_decref(out);
    durata_history_free(h);
    h = history_of(bad, 1);
    assert_int_equal(dt_df_history_json(h, true, true, &out), DURATA_ECORRUPT);
    assert_null(out);
    durata_history_free(h);
}

/* A retried task: each TaskScheduled pairs with its own completion. */
static void
test_history_pairs_by_event_id(void **state)
{
    static const struct ev retry[] = {
        {DURATA_EV_TASK_SCHEDULED, 0,
         "{\"EventType\":\"TaskScheduled\",\"EventId\":0," T(0) ",\"Name\":\"A\"}"},
        {DURATA_EV_TASK_SCHEDULED, 1,
         "{\"EventType\":\"TaskScheduled\",\"EventId\":1," T(1) ",\"Name\":\"B\"}"},
        {DURATA_EV_TASK_COMPLETED, -1,
         "{\"EventType\":\"TaskCompleted\",\"EventId\":-1," T(2) ",\"TaskScheduledId\":1}"},
        {DURATA_EV_TASK_COMPLETED, -1,
         "{\"EventType\":\"TaskCompleted\",\"EventId\":-1," T(3) ",\"TaskScheduledId\":0}"},
        {DURATA_EV_TASK_COMPLETED, -1, /* no such task: passes through */
         "{\"EventType\":\"TaskCompleted\",\"EventId\":-1," T(4) ",\"TaskScheduledId\":9}"},
    };
    struct durata_history *h = history_of(retry, 5);
    json_t *out;

    (void)state;
    assert_int_equal(dt_df_history_json(h, true, false, &out), 0);
    assert_int_equal(json_array_size(out), 3);
    assert_string_equal(str(json_array_get(out, 0), "FunctionName"), "B");
    assert_string_equal(str(json_array_get(out, 1), "FunctionName"), "A");
    assert_null(json_object_get(json_array_get(out, 2), "FunctionName"));
    json_decref(out);
    durata_history_free(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_drops_and_folds),
        cmocka_unit_test(test_history_output_and_input_flags),
        cmocka_unit_test(test_history_empty_and_corrupt),
        cmocka_unit_test(test_history_pairs_by_event_id),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
