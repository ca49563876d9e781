/*
 * test_errors.c — the base part of the public API (base/errors.c): error
 * messages, status names and parsing, terminal statuses, event type names,
 * and freeing the public structs (leaks show under the sanitizer build).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/json.h"
#include "durata.h"

static void
test_strerror_covers_every_code(void **state)
{
    static const int codes[] = {
#define X_CODE(name, value, msg) DURATA_##name,
        DURATA_ERRORS(X_CODE)
#undef X_CODE
    };
    const size_t n = sizeof(codes) / sizeof(codes[0]);

    (void)state;
    assert_int_equal(n, 15);
    for (size_t i = 0; i < n; i++) {
        const char *m = durata_strerror(codes[i]);
        assert_non_null(m);
        assert_string_not_equal(m, "unknown error");
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(m, durata_strerror(codes[j]));
    }
    assert_string_equal(durata_strerror(DURATA_ENOTFOUND), "not found");
    assert_string_equal(durata_strerror(DURATA_ETOOBIG), "value too large");
    assert_string_equal(durata_strerror(0), "success");
    assert_string_equal(durata_strerror(-16), "unknown error");
    assert_string_equal(durata_strerror(1), "unknown error");
    assert_string_equal(durata_strerror(-1000000), "unknown error");
}

static void
test_status_names_and_parse(void **state)
{
    static const char *const names[] = {"Running",  "Completed",  "ContinuedAsNew", "Failed",
                                        "Canceled", "Terminated", "Pending",        "Suspended"};

    (void)state;
    for (int s = 0; s < 8; s++) {
        char num[4];
        assert_string_equal(durata_status_name((enum durata_status)s), names[s]);
        assert_int_equal(durata_status_parse(names[s]), s);
        snprintf(num, sizeof(num), "%d", s);
        assert_int_equal(durata_status_parse(num), s);
    }
    assert_string_equal(durata_status_name((enum durata_status)8), "Unknown");
    assert_int_equal(durata_status_parse("completed"), DURATA_COMPLETED);
    assert_int_equal(durata_status_parse("TERMINATED"), DURATA_TERMINATED);
    assert_int_equal(durata_status_parse("continuedasnew"), DURATA_CONTINUED_AS_NEW);
    assert_int_equal(durata_status_parse("Cancelled"), -1);
    assert_int_equal(durata_status_parse("Run"), -1);
    assert_int_equal(durata_status_parse("8"), -1);
    assert_int_equal(durata_status_parse("-1"), -1);
    assert_int_equal(durata_status_parse("3x"), -1);
    assert_int_equal(durata_status_parse(" 3"), -1);
    assert_int_equal(durata_status_parse("99999999999999999999"), -1);
    assert_int_equal(durata_status_parse(""), -1);
    assert_int_equal(durata_status_parse(NULL), -1);
}

static void
test_terminal_statuses(void **state)
{
    (void)state;
    assert_true(durata_status_is_terminal(DURATA_COMPLETED));
    assert_true(durata_status_is_terminal(DURATA_FAILED));
    assert_true(durata_status_is_terminal(DURATA_CANCELED));
    assert_true(durata_status_is_terminal(DURATA_TERMINATED));
    assert_false(durata_status_is_terminal(DURATA_RUNNING));
    assert_false(durata_status_is_terminal(DURATA_CONTINUED_AS_NEW));
    assert_false(durata_status_is_terminal(DURATA_PENDING));
    assert_false(durata_status_is_terminal(DURATA_SUSPENDED));
    assert_false(durata_status_is_terminal((enum durata_status)42));
}

static void
test_event_type_names(void **state)
{
    static const struct {
        enum durata_event_type t;
        const char *name;
    } cases[] = {
        {DURATA_EV_EXECUTION_STARTED, "ExecutionStarted"},
        {DURATA_EV_EXECUTION_COMPLETED, "ExecutionCompleted"},
        {DURATA_EV_EXECUTION_TERMINATED, "ExecutionTerminated"},
        {DURATA_EV_TASK_SCHEDULED, "TaskScheduled"},
        {DURATA_EV_TASK_COMPLETED, "TaskCompleted"},
        {DURATA_EV_TASK_FAILED, "TaskFailed"},
        {DURATA_EV_SUB_ORCHESTRATION_CREATED, "SubOrchestrationInstanceCreated"},
        {DURATA_EV_SUB_ORCHESTRATION_COMPLETED, "SubOrchestrationInstanceCompleted"},
        {DURATA_EV_SUB_ORCHESTRATION_FAILED, "SubOrchestrationInstanceFailed"},
        {DURATA_EV_TIMER_CREATED, "TimerCreated"},
        {DURATA_EV_TIMER_FIRED, "TimerFired"},
        {DURATA_EV_ORCHESTRATOR_STARTED, "OrchestratorStarted"},
        {DURATA_EV_ORCHESTRATOR_COMPLETED, "OrchestratorCompleted"},
        {DURATA_EV_EVENT_SENT, "EventSent"},
        {DURATA_EV_EVENT_RAISED, "EventRaised"},
        {DURATA_EV_CONTINUE_AS_NEW, "ContinueAsNew"},
        {DURATA_EV_GENERIC, "GenericEvent"},
        {DURATA_EV_EXECUTION_SUSPENDED, "ExecutionSuspended"},
        {DURATA_EV_EXECUTION_RESUMED, "ExecutionResumed"},
        {DURATA_EV_EXECUTION_REWOUND, "ExecutionRewound"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(durata_event_type_name(cases[i].t), cases[i].name);
    /* Gaps in the protocol's numbering (2, 18) and past the end. */
    assert_string_equal(durata_event_type_name((enum durata_event_type)2), "Unknown");
    assert_string_equal(durata_event_type_name((enum durata_event_type)18), "Unknown");
    assert_string_equal(durata_event_type_name((enum durata_event_type)22), "Unknown");
    assert_string_equal(durata_event_type_name((enum durata_event_type) - 1), "Unknown");
}

static struct durata_failure *
new_failure(void)
{
    struct durata_failure *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->error_type = dt_strdup_opt("ValueError");
    f->message = dt_strdup_opt("bad value");
    f->details = dt_strdup_opt("at line 3");
    return f;
}

static void
test_free_releases_every_field(void **state)
{
    struct durata_instance *inst = calloc(1, sizeof(*inst));
    struct durata_failure *bare = calloc(1, sizeof(*bare));

    (void)state;
    assert_non_null(inst);
    inst->id = dt_strdup_opt("id-1");
    inst->name = dt_strdup_opt("Flow");
    inst->version = dt_strdup_opt("1.0");
    inst->execution_id = dt_strdup_opt("exec");
    inst->input = dt_strdup_opt("{\"a\":1}");
    inst->output = dt_strdup_opt("\"done\"");
    inst->custom_status = dt_strdup_opt("{}");
    inst->failure = new_failure();
    inst->parent_id = dt_strdup_opt("parent");
    durata_instance_free(inst);
    /* Optional fields left NULL are fine too. */
    assert_non_null(bare);
    durata_failure_free(bare);
    inst = calloc(1, sizeof(*inst));
    assert_non_null(inst);
    durata_instance_free(inst);
    durata_failure_free(new_failure());
    durata_instance_free(NULL);
    durata_failure_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror_covers_every_code),
        cmocka_unit_test(test_status_names_and_parse),
        cmocka_unit_test(test_terminal_statuses),
        cmocka_unit_test(test_event_type_names),
        cmocka_unit_test(test_free_releases_every_field),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
