/*
 * test_replay_cost.c — a replay costs O(history), not O(history^2).
 *
 * No timings: the context counts the index slots its lookups visit
 * (dt_orch_probes), and these tests check that count stays within a small
 * constant per call for histories of 10,000 tasks and events; then the
 * same histories go through dt_replay_run end to end.
 */
#include "support_sim.h"

#include "runtime/context.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define N 10000

/* Each call looks up its id twice (scheduling event, completion); with
 * tables at most half full the average chain is short. A quadratic scan
 * would visit ~N^2 / 2 = 5e7 slots. */
#define MAX_PROBES_PER_CALL 8

static enum durata_orch_result
orch_long_sequence(struct durata_orch *o, void *arg)
{
    long long sum = 0;
    char out[32];

    (void)arg;
    for (int i = 0; i < N; i++) {
        struct durata_task *t = durata_call_activity(o, "Step", NULL, NULL);

        if (!durata_await(o, t))
            return DURATA_YIELD;
        sum += strtol(durata_task_result(t), NULL, 10);
    }
    snprintf(out, sizeof(out), "%lld", sum);
    durata_orch_complete(o, out);
    return DURATA_DONE;
}

static void
long_history(struct sim *s)
{
    char result[16];

    sim_init(s, NULL, SIM_T0);
    sim_commit(s);
    for (int i = 0; i < N; i++) {
        struct dt_event *e = sim_past(s, DURATA_EV_TASK_SCHEDULED);

        e->event_id = i;
        assert_non_null(e->name = strdup("Step"));
        e = sim_past(s, DURATA_EV_TASK_COMPLETED);
        e->task_id = i;
        snprintf(result, sizeof(result), "%d", i);
        assert_non_null(e->result = strdup(result));
    }
    sim_begin(s, SIM_T0 + 1000);
}

static struct dt_replay_in
input_of(struct sim *s, durata_orchestrator_fn fn)
{
    struct dt_replay_in in = {
        .instance_id = s->instance_id,
        .execution_id = s->execution_id,
        .past = s->past.items,
        .n_past = s->past.count,
        .fresh = s->fresh.items,
        .n_fresh = s->fresh.count,
        .fn = fn,
        .max_payload_bytes = s->max_payload,
        .max_custom_status_bytes = s->max_status,
    };
    return in;
}

static void
test_replaying_10000_completed_tasks_does_bounded_work_per_call(void **state)
{
    struct durata_orch o;
    struct dt_replay_in in;
    struct sim s;

    (void)state;
    long_history(&s);
    in = input_of(&s, orch_long_sequence);
    assert_int_equal(dt_orch_init(&o, &in), 0);
    assert_int_equal(orch_long_sequence(&o, NULL), DURATA_DONE);
    assert_false(dt_orch_is_stopped(&o));
    assert_true(dt_orch_probes(&o) >= 2 * N);
    assert_true(dt_orch_probes(&o) <= (uint64_t)MAX_PROBES_PER_CALL * N);
    dt_orch_release(&o);

    assert_int_equal(sim_run(&s, orch_long_sequence, NULL), 0);
    assert_int_equal(s.out.completion, DT_COMPLETED);
    assert_string_equal(s.out.output, "49995000");
    sim_release(&s);
}

static enum durata_orch_result
orch_many_waits(struct durata_orch *o, void *arg)
{
    char name[16], out[32];
    long long sum = 0;

    (void)arg;
    for (int i = 0; i < N; i++) {
        struct durata_task *t;

        snprintf(name, sizeof(name), "EV%d", i % 100);
        t = durata_wait_event(o, name, -1);
        if (!durata_await(o, t))
            return DURATA_YIELD;
        sum += strtol(durata_task_result(t), NULL, 10);
    }
    snprintf(out, sizeof(out), "%lld", sum);
    durata_orch_complete(o, out);
    return DURATA_DONE;
}

static void
test_claiming_10000_buffered_events_does_bounded_work_per_wait(void **state)
{
    struct durata_orch o;
    struct dt_replay_in in;
    char name[16], data[16];
    struct sim s;

    (void)state;
    sim_init(&s, NULL, SIM_T0);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "ev%d", i % 100);
        snprintf(data, sizeof(data), "%d", i);
        sim_raise(&s, name, data);
    }
    in = input_of(&s, orch_many_waits);
    assert_int_equal(dt_orch_init(&o, &in), 0);
    assert_int_equal(orch_many_waits(&o, NULL), DURATA_DONE);
    assert_true(dt_orch_probes(&o) <= (uint64_t)MAX_PROBES_PER_CALL * N);
    dt_orch_release(&o);

    assert_int_equal(sim_run(&s, orch_many_waits, NULL), 0);
    assert_int_equal(s.out.completion, DT_COMPLETED);
    assert_string_equal(s.out.output, "49995000");
    sim_release(&s);
}

static enum durata_orch_result
orch_wide_fan(struct durata_orch *o, void *arg)
{
    struct durata_task **tasks = malloc(N * sizeof(*tasks)), *all;
    enum durata_orch_result r = DURATA_YIELD;

    (void)arg;
    assert_non_null(tasks);
    for (int i = 0; i < N; i++)
        tasks[i] = durata_call_activity(o, "Step", NULL, NULL);
    all = durata_when_all(o, tasks, N);
    if (durata_await(o, all)) {
        durata_orch_complete(o, durata_task_result(all));
        r = DURATA_DONE;
    }
    free(tasks);
    return r;
}

static void
test_fan_in_of_10000_completes(void **state)
{
    struct sim s;
    size_t commas = 0;

    (void)state;
    long_history(&s);
    assert_int_equal(sim_run(&s, orch_wide_fan, NULL), 0);
    assert_int_equal(s.out.completion, DT_COMPLETED);
    for (const char *p = s.out.output; *p; p++)
        commas += *p == ',';
    assert_int_equal(commas, N - 1);
    assert_int_equal(strncmp(s.out.output, "[0,1,2,", 7), 0);
    sim_release(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replaying_10000_completed_tasks_does_bounded_work_per_call),
        cmocka_unit_test(test_claiming_10000_buffered_events_does_bounded_work_per_wait),
        cmocka_unit_test(test_fan_in_of_10000_completes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
