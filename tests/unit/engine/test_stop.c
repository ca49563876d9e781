/*
 * test_stop.c — durata_hub_stop with a grace period (stop_grace_ms): a
 * running activity that ends within it finishes normally and its result is
 * kept; one that does not is cancelled when the grace is over.
 */
#include "support_engine.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static atomic_bool running;
static atomic_bool saw_cancel;

/* Works for its input's number of milliseconds in 5 ms slices, stopping
 * early when cancelled. Activity thread: no cmocka asserts. */
static void
act_work(struct durata_activity *a, void *arg)
{
    long ms = strtol(durata_activity_input(a), NULL, 10);

    (void)arg;
    atomic_store(&running, true);
    for (long done = 0; done < ms; done += 5) {
        if (durata_activity_is_cancelled(a)) {
            atomic_store(&saw_cancel, true);
            durata_activity_fail(a, "Interrupted", "stopped", NULL, false);
            return;
        }
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    durata_activity_complete(a, "\"done\"");
}

static enum durata_orch_result
orch_work(struct durata_orch *o, void *arg)
{
    (void)arg;
    struct durata_task *t = durata_call_activity(o, "Work", durata_orch_input(o), NULL);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    if (durata_task_is_failed(t))
        durata_orch_fail(o, "Failed", durata_task_failure(t)->message, NULL);
    else
        durata_orch_complete(o, durata_task_result(t));
    return DURATA_DONE;
}

/* A started hub with grace_ms; clears the flags. */
static void
open_with_grace(struct eng *e, int64_t grace_ms)
{
    struct durata_hub_options o = {.clock = eng_wall_clock, .stop_grace_ms = grace_ms};

    eng_reopen(e, &o);
    eng_act(e, "Work", act_work, NULL);
    eng_orch(e, "Work", orch_work, NULL);
    assert_int_equal(durata_hub_start(e->hub), 0);
    atomic_store(&running, false);
    atomic_store(&saw_cancel, false);
}

/* Starts Work(ms) as id and returns once its activity runs. */
static void
start_running(struct eng *e, const char *id, const char *ms)
{
    char out[257];

    eng_start(e, "Work", id, ms, out);
    for (int i = 0; i < 10000 && !atomic_load(&running); i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_true(atomic_load(&running));
}

static void
test_activity_within_the_grace_finishes(void **state)
{
    struct eng *e = *state;

    open_with_grace(e, 10000);
    start_running(e, "w1", "150");
    durata_hub_stop(e->hub);
    assert_false(atomic_load(&saw_cancel));
    /* Its result was written before the hub stopped: the instance is done
     * without running the activity again. */
    open_with_grace(e, 0);
    struct durata_instance *inst = NULL;
    assert_int_equal(durata_wait(e->hub, "w1", 10000, &inst), 0);
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_string_equal(inst->output, "\"done\"");
    durata_instance_free(inst);
    assert_false(atomic_load(&running));
    assert_int_equal(eng_history_count(e, "w1", DURATA_EV_TASK_COMPLETED), 1);
}

static void
test_activity_past_the_grace_is_cancelled(void **state)
{
    struct eng *e = *state;

    open_with_grace(e, 50);
    start_running(e, "w2", "60000");
    durata_hub_stop(e->hub);
    assert_true(atomic_load(&saw_cancel));
}

static void
test_negative_grace_is_refused(void **state)
{
    struct eng *e = *state;
    struct durata_hub *hub = NULL;
    struct durata_hub_options o = {.store_path = e->path, .stop_grace_ms = -1};

    durata_hub_close(e->hub);
    e->hub = NULL;
    assert_int_equal(durata_hub_open(&hub, &o), DURATA_EINVAL);
    assert_null(hub);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_activity_within_the_grace_finishes, eng_setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_activity_past_the_grace_is_cancelled, eng_setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_negative_grace_is_refused, eng_setup, eng_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
