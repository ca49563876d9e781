/*
 * test_shortcuts.c — the two ways a running hub skips the inbox (step.h):
 * a start writes the instance's first step with it, and an activity result
 * is written with the step it wakes. Checks what each must show: the
 * first step is there when durata_start returns; a sequence's results all
 * go direct; a fan-out's results share direct steps; and results racing
 * with external events are each applied exactly once, whichever way they
 * went.
 */
#include "support_engine.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUNDS 10
#define FAN 10
#define FANS 20

static atomic_bool gate_open;

/* Returns its input once the test opens the gate. Activity thread: no
 * cmocka asserts here. */
static void
act_gated(struct durata_activity *a, void *arg)
{
    (void)arg;
    while (!atomic_load(&gate_open) && !durata_activity_is_cancelled(a)) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    durata_activity_complete(a, durata_activity_input(a));
}

static atomic_int slow_running;

/* Echo after ~30 ms, whether or not the hub is stopping. */
static void
act_slow_echo(struct durata_activity *a, void *arg)
{
    struct timespec ts = {0, 30000000};

    (void)arg;
    atomic_fetch_add(&slow_running, 1);
    nanosleep(&ts, NULL);
    durata_activity_complete(a, durata_activity_input(a));
}

/* FAN activities at once (arg names the activity, Echo of 1..FAN);
 * completes with their sum. */
static enum durata_orch_result
orch_fan(struct durata_orch *o, void *arg)
{
    struct durata_task *tasks[FAN];
    long long sum = 0;
    char in[16];

    for (int i = 0; i < FAN; i++) {
        snprintf(in, sizeof(in), "%d", i + 1);
        tasks[i] = durata_call_activity(o, (const char *)arg, in, NULL);
    }
    struct durata_task *all = durata_when_all(o, tasks, FAN);
    if (!durata_await(o, all))
        return DURATA_YIELD;
    for (int i = 0; i < FAN; i++)
        sum += strtoll(durata_task_result(tasks[i]), NULL, 10);
    snprintf(in, sizeof(in), "%lld", sum);
    durata_orch_complete(o, in);
    return DURATA_DONE;
}

/* ROUNDS activities one after the other, then waits for "done". */
static enum durata_orch_result
orch_rounds(struct durata_orch *o, void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        char in[16];
        snprintf(in, sizeof(in), "%d", i);
        struct durata_task *t = durata_call_activity(o, "Echo", in, NULL);
        if (!durata_await(o, t))
            return DURATA_YIELD;
    }
    struct durata_task *d = durata_wait_event(o, "done", -1);
    if (!durata_await(o, d))
        return DURATA_YIELD;
    durata_orch_complete(o, "\"ok\"");
    return DURATA_DONE;
}

static int
setup(void **state)
{
    int rc = eng_setup(state);
    struct eng *e = *state;
    struct durata_hub_options o = {.clock = eng_wall_clock};

    if (rc == 0) {
        eng_reopen(e, &o);
        eng_act(e, "Gated", act_gated, NULL);
        eng_act(e, "Echo", eng_act_echo, NULL);
        eng_orch(e, "Gated", eng_orch_call_one, "Gated");
        eng_orch(e, "Rounds", orch_rounds, NULL);
        eng_orch(e, "Fan", orch_fan, "Echo");
        eng_orch(e, "SlowFan", orch_fan, "SlowEcho");
        eng_act(e, "SlowEcho", act_slow_echo, NULL);
        assert_int_equal(durata_hub_start(e->hub), 0);
    }
    atomic_store(&gate_open, false);
    atomic_store(&slow_running, 0);
    return rc;
}

static void
wait_completed(struct eng *e, const char *id)
{
    struct durata_instance *inst = NULL;
    assert_int_equal(durata_wait(e->hub, id, 60000, &inst), 0);
    assert_int_equal(inst->status, DURATA_COMPLETED);
    durata_instance_free(inst);
}

static void
test_start_returns_with_the_first_step_written(void **state)
{
    struct eng *e = *state;
    char id[257];

    eng_start(e, "Gated", "g1", "\"x\"", id);
    /* The activity cannot finish yet, so this is the start's own doing. */
    assert_int_equal(eng_status(e, "g1"), DURATA_RUNNING);
    assert_int_equal(eng_history_count(e, "g1", DURATA_EV_EXECUTION_STARTED), 1);
    assert_int_equal(eng_history_count(e, "g1", DURATA_EV_TASK_SCHEDULED), 1);
    atomic_store(&gate_open, true);
    wait_completed(e, "g1");
    struct durata_instance *inst = eng_get(e, "g1");
    assert_string_equal(inst->output, "\"x\"");
    durata_instance_free(inst);
    assert_int_equal(eng_history_count(e, "g1", DURATA_EV_TASK_COMPLETED), 1);
}

/* One orchestration at a time, so nothing races: the start carries the
 * first step and every result the step it wakes; the event goes through
 * the inbox. Fewer units than the inbox way (2 + 2 * ROUNDS + 2 without the
 * dispatcher's claims). */
static void
test_a_sequence_takes_one_write_per_activity(void **state)
{
    struct eng *e = *state;
    struct durata_hub_stats before, after;
    char id[257];

    durata_hub_get_stats(e->hub, &before);
    eng_start(e, "Rounds", "r1", NULL, id);
    for (int i = 0; i < 2000 && eng_history_count(e, "r1", DURATA_EV_TASK_COMPLETED) < ROUNDS;
         i++) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(eng_history_count(e, "r1", DURATA_EV_TASK_COMPLETED), ROUNDS);
    assert_int_equal(durata_raise_event(e->hub, "r1", "done", NULL), 0);
    wait_completed(e, "r1");
    durata_hub_get_stats(e->hub, &after);
    assert_int_equal(after.direct_starts - before.direct_starts, 1);
    assert_int_equal(after.direct_results - before.direct_results, ROUNDS);
    assert_int_equal(after.activities - before.activities, ROUNDS);
    assert_int_equal(after.steps - before.steps, 1 + ROUNDS + 1);
}

/* Results of a fan-out arrive together: they join the direct step under
 * way and share the next one, each applied exactly once. Through the inbox
 * none of them (but a last one) would be direct. */
static void
test_fan_out_results_share_direct_steps(void **state)
{
    struct eng *e = *state;
    struct durata_hub_stats before, after;
    char id[257], name[32];

    durata_hub_get_stats(e->hub, &before);
    for (int n = 0; n < FANS; n++) {
        snprintf(name, sizeof(name), "fan-%d", n);
        eng_start(e, "Fan", name, NULL, id);
    }
    for (int n = 0; n < FANS; n++) {
        snprintf(name, sizeof(name), "fan-%d", n);
        wait_completed(e, name);
        struct durata_instance *inst = eng_get(e, name);
        assert_string_equal(inst->output, "55");
        durata_instance_free(inst);
        assert_int_equal(eng_history_count(e, name, DURATA_EV_TASK_SCHEDULED), FAN);
        assert_int_equal(eng_history_count(e, name, DURATA_EV_TASK_COMPLETED), FAN);
    }
    durata_hub_get_stats(e->hub, &after);
    assert_int_equal(after.activities - before.activities, FANS * FAN);
    assert_true(after.direct_results - before.direct_results >= FANS * FAN / 2);
    assert_true(after.steps - before.steps < (uint64_t)FANS * (1 + FAN));
}

/* Results that arrive while the hub stops are written before it has
 * stopped (none waits on a thread that is gone): after a restart every
 * fan-out completes long before the 30 s lease of a lost task would let
 * it run again. */
static void
test_results_during_stop_are_not_stranded(void **state)
{
    struct eng *e = *state;
    struct durata_hub_options o = {.clock = eng_wall_clock};
    char id[257], name[32];

    for (int n = 0; n < 4; n++) {
        snprintf(name, sizeof(name), "stop-%d", n);
        eng_start(e, "SlowFan", name, NULL, id);
    }
    for (int i = 0; i < 5000 && atomic_load(&slow_running) < 4; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    durata_hub_stop(e->hub); /* activities in flight finish meanwhile */
    eng_reopen(e, &o);
    eng_act(e, "SlowEcho", act_slow_echo, NULL);
    eng_orch(e, "SlowFan", orch_fan, "SlowEcho");
    assert_int_equal(durata_hub_start(e->hub), 0);
    for (int n = 0; n < 4; n++) {
        struct durata_instance *inst = NULL;
        snprintf(name, sizeof(name), "stop-%d", n);
        assert_int_equal(durata_wait(e->hub, name, 10000, &inst), 0);
        assert_int_equal(inst->status, DURATA_COMPLETED);
        assert_string_equal(inst->output, "55");
        durata_instance_free(inst);
        assert_int_equal(eng_history_count(e, name, DURATA_EV_TASK_COMPLETED), FAN);
    }
}

struct raiser {
    struct durata_hub *hub;
    const char *id;
    int errors;
};

static void *
raiser_main(void *arg)
{
    struct raiser *r = arg;
    for (int i = 0; i < ROUNDS; i++) {
        char data[16];
        snprintf(data, sizeof(data), "%d", i);
        if (durata_raise_event(r->hub, r->id, "noise", data) != 0)
            r->errors++;
        struct timespec ts = {0, 300000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void
test_results_racing_events_apply_once(void **state)
{
    struct eng *e = *state;
    char id[257];

    for (int n = 0; n < 20; n++) {
        char name[32];
        snprintf(name, sizeof(name), "race-%d", n);
        eng_start(e, "Rounds", name, NULL, id);
        struct raiser r = {.hub = e->hub, .id = name};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, raiser_main, &r), 0);
        pthread_join(th, NULL);
        assert_int_equal(r.errors, 0);
        for (int i = 0; i < 2000 && eng_history_count(e, name, DURATA_EV_TASK_COMPLETED) < ROUNDS;
             i++) {
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
        }
        assert_int_equal(durata_raise_event(e->hub, name, "done", NULL), 0);
        wait_completed(e, name);
        assert_int_equal(eng_history_count(e, name, DURATA_EV_TASK_SCHEDULED), ROUNDS);
        assert_int_equal(eng_history_count(e, name, DURATA_EV_TASK_COMPLETED), ROUNDS);
        assert_int_equal(eng_history_count(e, name, DURATA_EV_EVENT_RAISED), ROUNDS + 1);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_start_returns_with_the_first_step_written, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_a_sequence_takes_one_write_per_activity, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_results_racing_events_apply_once, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_fan_out_results_share_direct_steps, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_results_during_stop_are_not_stranded, setup,
                                        eng_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
