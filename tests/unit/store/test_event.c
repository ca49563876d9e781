/*
 * test_event.c — the persisted model: event JSON round trips for every
 * type, the exact stored form, rejection of malformed input, and the value
 * helpers (clone, lists, messages, tasks, instances).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "store/codec.h"
#include "store/event.h"
#include "store/store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS 1714557600123LL /* 2024-05-01T10:00:00.123Z */

static const enum durata_event_type all_types[] = {
    DURATA_EV_EXECUTION_STARTED,
    DURATA_EV_EXECUTION_COMPLETED,
    DURATA_EV_EXECUTION_TERMINATED,
    DURATA_EV_TASK_SCHEDULED,
    DURATA_EV_TASK_COMPLETED,
    DURATA_EV_TASK_FAILED,
    DURATA_EV_SUB_ORCHESTRATION_CREATED,
    DURATA_EV_SUB_ORCHESTRATION_COMPLETED,
    DURATA_EV_SUB_ORCHESTRATION_FAILED,
    DURATA_EV_TIMER_CREATED,
    DURATA_EV_TIMER_FIRED,
    DURATA_EV_ORCHESTRATOR_STARTED,
    DURATA_EV_ORCHESTRATOR_COMPLETED,
    DURATA_EV_EVENT_SENT,
    DURATA_EV_EVENT_RAISED,
    DURATA_EV_CONTINUE_AS_NEW,
    DURATA_EV_GENERIC,
    DURATA_EV_EXECUTION_SUSPENDED,
    DURATA_EV_EXECUTION_RESUMED,
    DURATA_EV_EXECUTION_REWOUND,
};
#define N_TYPES (sizeof(all_types) / sizeof(all_types[0]))

static char *
dup(const char *s)
{
    char *out = strdup(s);

    assert_non_null(out);
    return out;
}

/* An event of type t with every field event.h lists for t set. */
static struct dt_event *
full_event(enum durata_event_type t)
{
    struct dt_event *e = dt_event_new(t, TS);

    assert_non_null(e);
    e->event_id = 7;
    switch (t) {
    case DURATA_EV_EXECUTION_STARTED:
        e->name = dup("Orch");
        e->version = dup("1.0");
        e->input = dup("{\"a\":[1,2]}");
        e->instance_id = dup("inst-1");
        e->execution_id = dup("exec-1");
        e->scheduled_start_ms = TS + 1000;
        e->parent_instance_id = dup("parent");
        e->parent_execution_id = dup("pexec");
        e->parent_name = dup("ParentOrch");
        e->parent_task_id = 4;
        break;
    case DURATA_EV_EXECUTION_COMPLETED:
        e->status = DURATA_FAILED;
        e->result = dup("\"out\"");
        e->failure = dt_failure_new("ValueError", "bad value", "at line 3", true);
        break;
    case DURATA_EV_EXECUTION_TERMINATED:
        e->input = dup("\"reason\"");
        e->recurse = true;
        break;
    case DURATA_EV_TASK_SCHEDULED:
    case DURATA_EV_SUB_ORCHESTRATION_CREATED:
        e->name = dup("Act");
        e->version = dup("2");
        e->input = dup("[true,null]");
        if (t == DURATA_EV_SUB_ORCHESTRATION_CREATED)
            e->instance_id = dup("child");
        break;
    case DURATA_EV_TASK_COMPLETED:
    case DURATA_EV_SUB_ORCHESTRATION_COMPLETED:
        e->task_id = 3;
        e->result = dup("{\"ok\":true}");
        break;
    case DURATA_EV_TASK_FAILED:
    case DURATA_EV_SUB_ORCHESTRATION_FAILED:
        e->task_id = 3;
        e->failure = dt_failure_new("TimeoutError", "late", NULL, false);
        break;
    case DURATA_EV_TIMER_CREATED:
        e->fire_at_ms = TS + 60000;
        break;
    case DURATA_EV_TIMER_FIRED:
        e->fire_at_ms = TS + 60000;
        e->task_id = 5;
        break;
    case DURATA_EV_ORCHESTRATOR_STARTED:
    case DURATA_EV_ORCHESTRATOR_COMPLETED:
        break;
    case DURATA_EV_EVENT_SENT:
        e->instance_id = dup("target");
        e->name = dup("Approval");
        e->input = dup("1");
        break;
    case DURATA_EV_EVENT_RAISED:
        e->name = dup("Approval");
        e->input = dup("\"yes \\\"quoted\\\" \\u00e9\"");
        break;
    case DURATA_EV_CONTINUE_AS_NEW:
    case DURATA_EV_GENERIC:
    case DURATA_EV_EXECUTION_SUSPENDED:
    case DURATA_EV_EXECUTION_RESUMED:
    case DURATA_EV_EXECUTION_REWOUND:
        e->input = dup("{\"why\":\"ops\"}");
        break;
    }
    return e;
}

static void
assert_str_eq(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void
assert_failure_eq(const struct durata_failure *a, const struct durata_failure *b)
{
    if (!a || !b) {
        assert_ptr_equal(a, b);
        return;
    }
    assert_str_eq(a->error_type, b->error_type);
    assert_str_eq(a->message, b->message);
    assert_str_eq(a->details, b->details);
    assert_int_equal(a->non_retriable, b->non_retriable);
}

static void
assert_event_eq(const struct dt_event *a, const struct dt_event *b)
{
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->event_id, b->event_id);
    assert_int_equal(a->timestamp_ms, b->timestamp_ms);
    assert_str_eq(a->name, b->name);
    assert_str_eq(a->version, b->version);
    assert_str_eq(a->input, b->input);
    assert_str_eq(a->result, b->result);
    assert_str_eq(a->instance_id, b->instance_id);
    assert_str_eq(a->execution_id, b->execution_id);
    assert_int_equal(a->task_id, b->task_id);
    assert_int_equal(a->fire_at_ms, b->fire_at_ms);
    assert_int_equal(a->scheduled_start_ms, b->scheduled_start_ms);
    assert_int_equal(a->status, b->status);
    assert_failure_eq(a->failure, b->failure);
    assert_str_eq(a->parent_instance_id, b->parent_instance_id);
    assert_str_eq(a->parent_execution_id, b->parent_execution_id);
    assert_str_eq(a->parent_name, b->parent_name);
    assert_int_equal(a->parent_task_id, b->parent_task_id);
    assert_int_equal(a->recurse, b->recurse);
}

static void
test_every_type_round_trips(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_TYPES; i++) {
        struct dt_event *e = full_event(all_types[i]), *back = NULL;
        char *json = dt_event_to_json(e);

        assert_non_null(json);
        assert_int_equal(dt_event_from_json(json, &back), 0);
        assert_event_eq(e, back);
        dt_event_free(back);
        free(json);
        dt_event_free(e);
    }
}

static void
test_stored_form_matches_dtfx_names(void **state)
{
    struct dt_event *e = dt_event_new(DURATA_EV_TASK_COMPLETED, TS - 123);
    char *json;

    (void)state;
    e->task_id = 3;
    e->result = dup("{\"ok\":true}");
    json = dt_event_to_json(e);
    assert_string_equal(json, "{\"EventType\":\"TaskCompleted\",\"EventId\":-1,"
                              "\"Timestamp\":\"2024-05-01T10:00:00.0000000Z\","
                              "\"TaskScheduledId\":3,\"Result\":\"{\\\"ok\\\":true}\"}");
    free(json);
    dt_event_free(e);
    e = full_event(DURATA_EV_EXECUTION_COMPLETED);
    json = dt_event_to_json(e);
    assert_non_null(strstr(json, "\"OrchestrationStatus\":\"Failed\""));
    assert_non_null(strstr(json, "\"FailureDetails\":{\"ErrorType\":\"ValueError\","
                                 "\"ErrorMessage\":\"bad value\",\"StackTrace\":\"at line 3\","
                                 "\"IsNonRetriable\":true}"));
    free(json);
    dt_event_free(e);
    e = full_event(DURATA_EV_EXECUTION_STARTED);
    json = dt_event_to_json(e);
    assert_non_null(strstr(json, "\"ScheduledStartTime\":\"2024-05-01T10:00:01.1230000Z\""));
    assert_non_null(strstr(json, "\"ParentInstance\":{\"InstanceId\":\"parent\","
                                 "\"ExecutionId\":\"pexec\",\"Name\":\"ParentOrch\","
                                 "\"TaskScheduledId\":4}"));
    free(json);
    dt_event_free(e);
    e = full_event(DURATA_EV_TIMER_FIRED);
    json = dt_event_to_json(e);
    assert_non_null(strstr(json, "\"TimerId\":5"));
    assert_non_null(strstr(json, "\"FireAt\":\"2024-05-01T10:01:00.1230000Z\""));
    free(json);
    dt_event_free(e);
}

static void
test_fields_not_of_the_type_are_not_written(void **state)
{
    struct dt_event *e = dt_event_new(DURATA_EV_TIMER_CREATED, TS), *back;
    char *json;

    (void)state;
    e->name = dup("ignored");
    e->result = dup("1");
    e->task_id = 9;
    e->fire_at_ms = TS;
    json = dt_event_to_json(e);
    assert_null(strstr(json, "Name"));
    assert_null(strstr(json, "Result"));
    assert_null(strstr(json, "TaskScheduledId"));
    assert_null(strstr(json, "Input"));
    assert_int_equal(dt_event_from_json(json, &back), 0);
    assert_null(back->name);
    assert_int_equal(back->task_id, -1);
    assert_int_equal(back->fire_at_ms, TS);
    dt_event_free(back);
    free(json);
    dt_event_free(e);
}

static void
test_absent_fields_decode_as_defaults(void **state)
{
    struct dt_event *e;

    (void)state;
    assert_int_equal(dt_event_from_json("{\"EventType\":\"TaskFailed\"}", &e), 0);
    assert_int_equal(e->type, DURATA_EV_TASK_FAILED);
    assert_int_equal(e->event_id, -1);
    assert_int_equal(e->task_id, -1);
    assert_int_equal(e->timestamp_ms, 0);
    assert_null(e->failure);
    dt_event_free(e);
    assert_int_equal(dt_event_from_json("{\"EventType\":\"EventRaised\",\"Name\":null,"
                                        "\"Unknown\":{\"x\":1}}",
                                        &e),
                     0);
    assert_null(e->name);
    dt_event_free(e);
}

static void
test_malformed_json_is_rejected(void **state)
{
    static const char *const not_json[] = {
        "", "{", "{\"EventType\":", "nope", "{'a':1}", "{\"EventType\":\"TaskCompleted\",}"};
    static const char *const wrong_shape[] = {
        "[]",
        "42",
        "\"TaskCompleted\"",
        "null",
        "{}",
        "{\"EventType\":\"NoSuchEvent\"}",
        "{\"EventType\":5}",
        "{\"EventType\":\"taskcompleted\"}",
        "{\"EventType\":\"TaskCompleted\",\"EventId\":\"1\"}",
        "{\"EventType\":\"TaskCompleted\",\"EventId\":4294967296}",
        "{\"EventType\":\"TaskCompleted\",\"EventId\":1.5}",
        "{\"EventType\":\"TaskCompleted\",\"TaskScheduledId\":-2147483649}",
        "{\"EventType\":\"TaskCompleted\",\"Timestamp\":\"yesterday\"}",
        "{\"EventType\":\"TaskCompleted\",\"Timestamp\":12}",
        "{\"EventType\":\"TaskCompleted\",\"Result\":{\"ok\":true}}",
        "{\"EventType\":\"TaskFailed\",\"FailureDetails\":\"boom\"}",
        "{\"EventType\":\"TaskFailed\",\"FailureDetails\":{\"IsNonRetriable\":\"yes\"}}",
        "{\"EventType\":\"ExecutionCompleted\",\"OrchestrationStatus\":\"Sleeping\"}",
        "{\"EventType\":\"ExecutionStarted\",\"ParentInstance\":[1]}",
        "{\"EventType\":\"ExecutionStarted\",\"ParentInstance\":{\"TaskScheduledId\":\"x\"}}",
        "{\"EventType\":\"ExecutionTerminated\",\"Recurse\":1}",
        "{\"EventType\":\"TimerCreated\",\"FireAt\":\"2024-13-01T00:00:00Z\"}",
    };
    struct dt_event *e = NULL;

    (void)state;
    assert_int_equal(dt_event_from_json(NULL, &e), DURATA_EJSON);
    for (size_t i = 0; i < sizeof(not_json) / sizeof(not_json[0]); i++)
        assert_int_equal(dt_event_from_json(not_json[i], &e), DURATA_EJSON);
    for (size_t i = 0; i < sizeof(wrong_shape) / sizeof(wrong_shape[0]); i++)
        assert_int_equal(dt_event_from_json(wrong_shape[i], &e), DURATA_ECORRUPT);
    assert_null(e);
}

/* Every prefix and many single-byte corruptions of valid texts: never a
 * crash or leak (run under ASan), and a prefix is never accepted. */
static void
test_truncated_and_mutated_input_never_crashes(void **state)
{
    struct dt_event *e;
    char *json, *copy;
    size_t n;
    int rc;

    (void)state;
    for (size_t t = 0; t < N_TYPES; t++) {
        e = full_event(all_types[t]);
        json = dt_event_to_json(e);
        dt_event_free(e);
        n = strlen(json);
        copy = malloc(n + 1);
        for (size_t cut = 0; cut < n; cut++) {
            memcpy(copy, json, cut);
            copy[cut] = '\0';
            assert_true(dt_event_from_json(copy, &e) < 0);
        }
        for (size_t pos = 0; pos < n; pos++) {
            memcpy(copy, json, n + 1);
            copy[pos] = (char)(copy[pos] ^ (0x5a + (int)pos));
            if (copy[pos] == '\0')
                copy[pos] = '"';
            rc = dt_event_from_json(copy, &e);
            if (rc == 0)
                dt_event_free(e);
            else
                assert_true(rc == DURATA_EJSON || rc == DURATA_ECORRUPT);
        }
        free(copy);
        free(json);
    }
}

static void
test_invalid_utf8_cannot_be_encoded(void **state)
{
    struct dt_event *e = dt_event_new(DURATA_EV_EVENT_RAISED, TS);
    char *out = (char *)1;

    (void)state;
    e->name = dup("caf\xc3");
    assert_null(dt_event_to_json(e));
    assert_int_equal(dt_event_encode(e, &out), DURATA_EINVAL);
    assert_null(out);
    free(e->name);
    e->name = dup("caf\xc3\xa9 \xf0\x9f\x98\x80");
    assert_int_equal(dt_event_encode(e, &out), 0);
    free(out);
    dt_event_free(e);
    e = dt_event_new((enum durata_event_type)2, TS); /* ExecutionFailed: unused */
    assert_int_equal(dt_event_encode(e, &out), DURATA_EINVAL);
    dt_event_free(e);
}

/* Every byte class a string may hold: quote, backslash, each control
 * character, slash, DEL and multi-byte UTF-8. */
static char *
tricky_text(void)
{
    char *t = malloc(128), *p = t;

    assert_non_null(t);
    for (int c = 1; c < 0x20; c++)
        *p++ = (char)c;
    snprintf(p, 64, "%s",
             "a\"b\\c/\x7f"
             " caf\xc3\xa9 \xf0\x9f\x98\x80");
    return t;
}

/* The encoder writes what jansson's compact dump of the same object would. */
static void
test_encoding_matches_jansson(void **state)
{
    struct dt_event *e = dt_event_new(DURATA_EV_TASK_FAILED, TS);
    char *text = tricky_text(), *ours, *theirs;
    json_t *o = json_object(), *f = json_object();

    (void)state;
    e->event_id = -1;
    e->task_id = 2147483647;
    e->failure = dt_failure_new(text, text, "at x\n  at y", true);
    assert_int_equal(dt_event_encode(e, &ours), 0);
    json_object_set_new(o, "EventType", json_string("TaskFailed"));
    json_object_set_new(o, "EventId", json_integer(-1));
    json_object_set_new(o, "Timestamp", json_string("2024-05-01T10:00:00.1230000Z"));
    json_object_set_new(o, "TaskScheduledId", json_integer(2147483647));
    json_object_set_new(f, "ErrorType", json_string(text));
    json_object_set_new(f, "ErrorMessage", json_string(text));
    json_object_set_new(f, "StackTrace", json_string("at x\n  at y"));
    json_object_set_new(f, "IsNonRetriable", json_true());
    json_object_set_new(o, "FailureDetails", f);
    theirs = json_dumps(o, JSON_COMPACT);
    assert_string_equal(ours, theirs);
    free(ours);
    free(theirs);
    json_decref(o);
    free(text);
    dt_event_free(e);
}

/* A history row's text: the events' own texts in a JSON array, whether
 * they were precoded or not; an empty list is []. */
static void
test_list_encoding_joins_the_events(void **state)
{
    struct dt_event_list l = {0};
    char *one, *two, *all, want[4096];

    (void)state;
    assert_int_equal(dt_event_list_encode(&l, &all), 0);
    assert_string_equal(all, "[]");
    free(all);
    struct dt_event *a = dt_event_new(DURATA_EV_TIMER_FIRED, TS);
    struct dt_event *b = dt_event_new(DURATA_EV_TASK_FAILED, TS);
    char *text = tricky_text();
    b->failure = dt_failure_new(text, text, "at x", false);
    assert_int_equal(dt_event_encode(a, &one), 0);
    assert_int_equal(dt_event_encode(b, &two), 0);
    dt_event_precode(b); /* one precoded, one not */
    assert_int_equal(dt_event_list_push_take(&l, a), 0);
    assert_int_equal(dt_event_list_push_take(&l, b), 0);
    assert_int_equal(dt_event_list_encode(&l, &all), 0);
    snprintf(want, sizeof(want), "[%s,%s]", one, two);
    assert_string_equal(all, want);
    free(all);
    free(one);
    free(two);
    free(text);
    dt_event_list_release(&l);
}

/* Integers as jansson writes them, the extremes included. */
static void
test_integers_match_jansson(void **state)
{
    static const int32_t values[] = {0, 1, -1, 9, 10, -10, 123456789, INT32_MAX, INT32_MIN};
    char want[128], *ours;

    (void)state;
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct dt_event *e = dt_event_new(DURATA_EV_TIMER_FIRED, TS);
        json_t *n = json_integer((json_int_t)values[i]);
        char *num = json_dumps(n, JSON_ENCODE_ANY);

        e->event_id = values[i];
        assert_int_equal(dt_event_encode(e, &ours), 0);
        snprintf(want, sizeof(want), "\"EventId\":%s,", num);
        if (!strstr(ours, want))
            fail_msg("%s has no %s", ours, want);
        free(ours);
        free(num);
        json_decref(n);
        dt_event_free(e);
    }
}

static void
test_failure_codec(void **state)
{
    struct durata_failure *f = dt_failure_new("E", NULL, "d", false), *back;
    char *text;

    (void)state;
    assert_int_equal(dt_failure_encode(f, &text), 0);
    assert_string_equal(text,
                        "{\"ErrorType\":\"E\",\"StackTrace\":\"d\",\"IsNonRetriable\":false}");
    assert_int_equal(dt_failure_decode(text, &back), 0);
    assert_failure_eq(f, back);
    durata_failure_free(back);
    free(text);
    durata_failure_free(f);
    assert_int_equal(dt_failure_encode(NULL, &text), 0);
    assert_null(text);
    assert_int_equal(dt_failure_decode(NULL, &back), 0);
    assert_null(back);
    assert_int_equal(dt_failure_decode("[", &back), DURATA_EJSON);
    assert_int_equal(dt_failure_decode("[1]", &back), DURATA_ECORRUPT);
    assert_int_equal(dt_failure_decode("{\"ErrorType\":1}", &back), DURATA_ECORRUPT);
}

/* ---------------------------------------------------------------- values */

static void
test_clone_is_deep(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_TYPES; i++) {
        struct dt_event *e = full_event(all_types[i]);
        struct dt_event *c = dt_event_clone(e);

        assert_non_null(c);
        assert_event_eq(e, c);
        if (e->name)
            assert_ptr_not_equal(e->name, c->name);
        if (e->failure)
            assert_ptr_not_equal(e->failure, c->failure);
        dt_event_free(e);
        dt_event_free(c); /* a shared pointer would be a double free */
    }
    assert_null(dt_event_clone(NULL));
    assert_null(dt_failure_clone(NULL));
    dt_event_free(NULL);
}

static void
test_lists_messages_and_tasks(void **state)
{
    struct dt_event_list el = {0};
    struct dt_msg_list ml = {0};
    struct dt_task_list tl = {0};
    struct dt_msg *m;
    struct dt_task *t;

    (void)state;
    for (int i = 0; i < 100; i++) {
        assert_int_equal(dt_event_list_push_take(&el, full_event(DURATA_EV_TASK_COMPLETED)), 0);
        m = dt_msg_new_take("a", i % 2 ? "x" : NULL, i, full_event(DURATA_EV_EVENT_RAISED));
        assert_non_null(m);
        assert_int_equal(m->id, 0);
        assert_int_equal(dt_msg_list_push_take(&ml, m), 0);
        t = dt_task_new("a", NULL, i, "Act", i % 2 ? "1" : NULL, i);
        assert_non_null(t);
        assert_null(t->lease_owner);
        assert_int_equal(dt_task_list_push_take(&tl, t), 0);
    }
    assert_int_equal(el.count, 100);
    assert_string_equal(ml.items[51]->execution_id, "x");
    assert_null(ml.items[50]->execution_id);
    assert_int_equal(tl.items[99]->task_id, 99);
    assert_string_equal(tl.items[99]->input, "1");
    assert_int_equal(dt_event_list_push_take(&el, NULL), DURATA_ENOMEM);
    assert_null(dt_msg_new_take("a", NULL, 0, NULL));
    dt_event_list_release(&el);
    dt_msg_list_release(&ml);
    dt_task_list_release(&tl);
    assert_int_equal(el.count + ml.count + tl.count, 0);
    dt_event_list_release(&el); /* released twice: still fine */
    dt_msg_free(NULL);
    dt_task_free(NULL);
}

static void
test_instance_clone_and_write_units(void **state)
{
    struct durata_instance src = {
        .id = "i",
        .name = "N",
        .execution_id = "e",
        .status = DURATA_FAILED,
        .output = "1",
        .created_ms = 5,
        .completed_ms = 9,
        .parent_id = "p",
    };
    struct durata_instance *c;
    struct dt_write *w;

    (void)state;
    src.failure = dt_failure_new("T", "M", NULL, false);
    c = dt_instance_clone(&src);
    assert_string_equal(c->id, "i");
    assert_string_equal(c->parent_id, "p");
    assert_null(c->version);
    assert_int_equal(c->completed_ms, 9);
    assert_string_equal(c->failure->message, "M");
    assert_ptr_not_equal(c->failure, src.failure);
    assert_null(dt_instance_clone(NULL));
    /* units own their content: freeing each kind releases everything */
    for (int k = DT_W_CREATE; k <= DT_W_PURGE_MANY; k++) {
        w = dt_write_new((enum dt_write_kind)k);
        assert_int_equal(w->kind, k);
        assert_int_equal(w->rc, 0);
        if (k == DT_W_CREATE) {
            w->u.create.inst = c;
            w->u.create.start = dt_msg_new_take("i", NULL, 0, full_event(DURATA_EV_GENERIC));
        } else if (k == DT_W_STEP) {
            w->u.step.instance_id = dup("i");
            w->u.step.creates = calloc(1, sizeof(struct dt_create));
            w->u.step.n_creates = 1;
            w->u.step.creates[0].inst = dt_instance_clone(&src);
            assert_int_equal(
                dt_event_list_push_take(&w->u.step.append, full_event(DURATA_EV_TIMER_FIRED)), 0);
        } else if (k == DT_W_PURGE_MANY) {
            w->u.purge_many.filter.name = dup("n");
        }
        dt_write_free(w);
    }
    dt_write_free(NULL);
    durata_failure_free(src.failure);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type_round_trips),
        cmocka_unit_test(test_stored_form_matches_dtfx_names),
        cmocka_unit_test(test_fields_not_of_the_type_are_not_written),
        cmocka_unit_test(test_absent_fields_decode_as_defaults),
        cmocka_unit_test(test_malformed_json_is_rejected),
        cmocka_unit_test(test_truncated_and_mutated_input_never_crashes),
        cmocka_unit_test(test_invalid_utf8_cannot_be_encoded),
        cmocka_unit_test(test_encoding_matches_jansson),
        cmocka_unit_test(test_integers_match_jansson),
        cmocka_unit_test(test_list_encoding_joins_the_events),
        cmocka_unit_test(test_failure_codec),
        cmocka_unit_test(test_clone_is_deep),
        cmocka_unit_test(test_lists_messages_and_tasks),
        cmocka_unit_test(test_instance_clone_and_write_units),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
