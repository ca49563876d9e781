/*
 * test_retention.c — the background purge (workers/retention.c): on a hub
 * with a fake clock, only terminal instances created before now - retention
 * go (Completed, Failed, Terminated), running and young ones stay with
 * their history; batches stay near the target size; a kick runs another
 * pass that catches instances that aged meanwhile; stop returns promptly
 * even mid-pass; the hub keeps serving while a pass runs on a started hub;
 * bad options are refused.
 */
#include "support_workers.h"
#include "workers/retention.h"

#include "base/clock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define HOUR_MS (60LL * 60 * 1000)
/* Generous bound for a pass on a tiny store, so a slow CI box never flakes;
 * the tests wait on the pass counter, they do not sleep. */
#define PASS_TIMEOUT_MS 30000

static enum durata_orch_result
done_orch(struct durata_orch *o, void *arg)
{
    (void)arg;
    durata_orch_complete(o, "\"done\"");
    return DURATA_DONE;
}

static enum durata_orch_result
fail_orch(struct durata_orch *o, void *arg)
{
    (void)arg;
    durata_orch_fail(o, "Boom", "failed on purpose", NULL);
    return DURATA_DONE;
}

static enum durata_orch_result
wait_orch(struct durata_orch *o, void *arg)
{
    (void)arg;
    if (!durata_await(o, durata_wait_event(o, "go", -1)))
        return DURATA_YIELD;
    durata_orch_complete(o, NULL);
    return DURATA_DONE;
}

static struct durata_hub *
hub_of(struct wk_fixture *fx)
{
    struct durata_hub *hub = wk_fixture_hub(fx, true);

    assert_int_equal(durata_register_orchestrator(hub, "Done", done_orch, NULL), 0);
    assert_int_equal(durata_register_orchestrator(hub, "Fail", fail_orch, NULL), 0);
    assert_int_equal(durata_register_orchestrator(hub, "Wait", wait_orch, NULL), 0);
    return hub;
}

static void
start(struct durata_hub *hub, const char *name, const char *id)
{
    char out[257];

    wk_start(hub, name, id, NULL, out);
}

static bool
exists(struct durata_hub *hub, const char *id)
{
    struct durata_instance *inst = NULL;
    int rc = durata_get_status(hub, id, &inst);

    if (rc == DURATA_ENOTFOUND)
        return false;
    assert_int_equal(rc, 0);
    durata_instance_free(inst);
    return true;
}

static enum durata_status
status_of(struct durata_hub *hub, const char *id)
{
    struct durata_instance *inst = NULL;
    enum durata_status s;

    assert_int_equal(durata_get_status(hub, id, &inst), 0);
    s = inst->status;
    durata_instance_free(inst);
    return s;
}

static void
advance(struct wk_fixture *fx, int64_t ms)
{
    atomic_fetch_add(&fx->clock.now_ms, ms);
}

static struct dt_retention *
retention_start(struct wk_fixture *fx, struct durata_hub *hub, int64_t batch, int64_t pause_ms)
{
    struct dt_retention_options o = {
        .older_than_ms = HOUR_MS,
        .interval_ms = HOUR_MS, /* passes after the first come from kicks */
        .batch = batch,
        .pause_ms = pause_ms,
        .clock = wk_clock_now,
        .clock_arg = &fx->clock,
    };
    struct dt_retention *r = NULL;

    assert_int_equal(dt_retention_start(&r, hub, &o), 0);
    assert_non_null(r);
    return r;
}

/* Old: one of each terminal kind and one still running, at WK_T0; then two
 * hours later a young completed one. */
static void
make_population(struct wk_fixture *fx, struct durata_hub *hub)
{
    start(hub, "Done", "old-done");
    start(hub, "Fail", "old-failed");
    start(hub, "Wait", "old-running");
    start(hub, "Wait", "old-terminated");
    assert_true(durata_hub_run_pending(hub, 0) >= 0);
    assert_int_equal(durata_terminate(hub, "old-terminated", "\"enough\"", false), 0);
    assert_true(durata_hub_run_pending(hub, 0) >= 0);
    advance(fx, 2 * HOUR_MS);
    start(hub, "Done", "young-done");
    assert_true(durata_hub_run_pending(hub, 0) >= 0);
    assert_int_equal(status_of(hub, "old-done"), DURATA_COMPLETED);
    assert_int_equal(status_of(hub, "old-failed"), DURATA_FAILED);
    assert_int_equal(status_of(hub, "old-running"), DURATA_RUNNING);
    assert_int_equal(status_of(hub, "old-terminated"), DURATA_TERMINATED);
    assert_int_equal(status_of(hub, "young-done"), DURATA_COMPLETED);
}

static void
test_purges_only_old_terminal_instances(void **state)
{
    struct wk_fixture *fx = *state;
    struct durata_hub *hub = hub_of(fx);
    struct dt_retention_stats st;
    struct dt_retention *r;

    make_population(fx, hub);
    r = retention_start(fx, hub, 0, 1);
    assert_int_equal(dt_retention_wait_passes(r, 1, PASS_TIMEOUT_MS), 0);
    dt_retention_get_stats(r, &st);
    dt_retention_stop(r);
    assert_int_equal(st.passes, 1);
    assert_int_equal(st.last_error, 0);
    assert_int_equal(st.last_deleted, 3);
    assert_int_equal(st.deleted, 3);
    assert_false(exists(hub, "old-done"));
    assert_false(exists(hub, "old-failed"));
    assert_false(exists(hub, "old-terminated"));
    /* Old but running: kept, history included, and it can still finish. */
    assert_int_equal(status_of(hub, "old-running"), DURATA_RUNNING);
    assert_int_equal(wk_history_count(hub, "old-running", DURATA_EV_EXECUTION_STARTED), 1);
    assert_int_equal(status_of(hub, "young-done"), DURATA_COMPLETED);
    assert_int_equal(durata_raise_event(hub, "old-running", "go", NULL), 0);
    assert_true(durata_hub_run_pending(hub, 0) >= 0);
    assert_int_equal(status_of(hub, "old-running"), DURATA_COMPLETED);
}

static void
test_kick_catches_instances_that_aged(void **state)
{
    struct wk_fixture *fx = *state;
    struct durata_hub *hub = hub_of(fx);
    struct dt_retention_stats st;
    struct dt_retention *r;

    make_population(fx, hub);
    r = retention_start(fx, hub, 0, 1);
    assert_int_equal(dt_retention_wait_passes(r, 1, PASS_TIMEOUT_MS), 0);
    assert_true(exists(hub, "young-done"));
    /* The old running one ends now; it was created long ago, so the next
     * pass takes it at once (age counts from creation, see retention.h). */
    assert_int_equal(durata_raise_event(hub, "old-running", "go", NULL), 0);
    assert_true(durata_hub_run_pending(hub, 0) >= 0);
    advance(fx, 2 * HOUR_MS); /* young-done is now old too */
    dt_retention_kick(r);
    assert_int_equal(dt_retention_wait_passes(r, 2, PASS_TIMEOUT_MS), 0);
    dt_retention_get_stats(r, &st);
    dt_retention_stop(r);
    assert_int_equal(st.last_deleted, 2);
    assert_int_equal(st.deleted, 5);
    assert_false(exists(hub, "young-done"));
    assert_false(exists(hub, "old-running"));
}

static void
test_batches_stay_near_the_target(void **state)
{
    struct wk_fixture *fx = *state;
    struct durata_hub *hub = hub_of(fx);
    struct dt_retention_stats st;
    struct dt_retention *r;
    char id[32];
    int64_t n;

    for (int i = 0; i < 40; i++) {
        snprintf(id, sizeof(id), "spread-%02d", i);
        start(hub, "Done", id);
        advance(fx, 10); /* one instance every 10 ms */
    }
    assert_true(durata_hub_run_pending(hub, 0) >= 0);
    advance(fx, 2 * HOUR_MS);
    start(hub, "Done", "young");
    assert_true(durata_hub_run_pending(hub, 0) >= 0);
    r = retention_start(fx, hub, 4, 1);
    assert_int_equal(dt_retention_wait_passes(r, 1, PASS_TIMEOUT_MS), 0);
    dt_retention_get_stats(r, &st);
    dt_retention_stop(r);
    assert_int_equal(st.last_error, 0);
    assert_int_equal(st.deleted, 40);
    assert_true(st.batches >= 10);      /* 40 instances, at most 8 per batch */
    assert_true(st.largest_batch <= 8); /* twice the target at worst */
    assert_true(exists(hub, "young"));
    n = 0;
    for (int i = 0; i < 40; i++) {
        snprintf(id, sizeof(id), "spread-%02d", i);
        n += exists(hub, id);
    }
    assert_int_equal(n, 0);
}

static void
test_stop_is_prompt_mid_pass(void **state)
{
    struct wk_fixture *fx = *state;
    struct durata_hub *hub = hub_of(fx);
    struct dt_retention_stats st = {0};
    struct dt_retention *r;
    int64_t t, deadline;
    char id[32];

    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof(id), "slow-%02d", i);
        start(hub, "Done", id);
        advance(fx, 1000); /* far apart: the 1 ms first slice takes one */
    }
    assert_true(durata_hub_run_pending(hub, 0) >= 0);
    advance(fx, 2 * HOUR_MS);
    /* A 60 s pause between batches: the pass is asleep after its first
     * batch when stop comes. */
    r = retention_start(fx, hub, 0, 60000);
    deadline = dt_clock_mono_ms() + PASS_TIMEOUT_MS;
    while (st.batches == 0 && dt_clock_mono_ms() < deadline) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        dt_retention_get_stats(r, &st);
    }
    assert_int_equal(st.batches, 1);
    t = dt_clock_mono_ms();
    dt_retention_stop(r);
    assert_true(dt_clock_mono_ms() - t < 5000);
    assert_false(exists(hub, "slow-00"));
    assert_true(exists(hub, "slow-19")); /* the pass was cut short */
}

static void
test_hub_keeps_serving_during_a_pass(void **state)
{
    struct wk_fixture *fx = *state;
    struct durata_hub *hub = hub_of(fx);
    struct dt_retention_stats st;
    struct durata_instance *inst = NULL;
    struct dt_retention *r;
    char id[32];

    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof(id), "bulk-%03d", i);
        start(hub, "Done", id);
        advance(fx, 1);
    }
    assert_true(durata_hub_run_pending(hub, 0) >= 0);
    advance(fx, 2 * HOUR_MS);
    assert_int_equal(durata_hub_start(hub), 0);
    r = retention_start(fx, hub, 20, 1);
    /* While it purges, new work is started and completes on the hub's
     * threads. */
    for (int i = 0; i < 30; i++) {
        snprintf(id, sizeof(id), "live-%02d", i);
        start(hub, "Done", id);
    }
    for (int i = 0; i < 30; i++) {
        snprintf(id, sizeof(id), "live-%02d", i);
        assert_int_equal(durata_wait(hub, id, PASS_TIMEOUT_MS, &inst), 0);
        assert_int_equal(inst->status, DURATA_COMPLETED);
        durata_instance_free(inst);
        inst = NULL;
    }
    assert_int_equal(dt_retention_wait_passes(r, 1, PASS_TIMEOUT_MS), 0);
    dt_retention_get_stats(r, &st);
    dt_retention_stop(r);
    durata_hub_stop(hub);
    assert_int_equal(st.last_error, 0);
    assert_int_equal(st.deleted, 300);
    assert_true(st.batches >= 300 / 40);
    for (int i = 0; i < 30; i++) {
        snprintf(id, sizeof(id), "live-%02d", i);
        assert_true(exists(hub, id));
    }
}

static void
test_bad_options_are_refused(void **state)
{
    struct wk_fixture *fx = *state;
    struct durata_hub *hub = hub_of(fx);
    struct dt_retention_options o = {.older_than_ms = HOUR_MS};
    struct dt_retention *r = (struct dt_retention *)&o; /* must be reset to NULL */

    assert_int_equal(dt_retention_start(&r, NULL, &o), DURATA_EINVAL);
    assert_int_equal(dt_retention_start(&r, hub, NULL), DURATA_EINVAL);
    assert_int_equal(dt_retention_start(NULL, hub, &o), DURATA_EINVAL);
    o.older_than_ms = 0;
    assert_int_equal(dt_retention_start(&r, hub, &o), DURATA_EINVAL);
    assert_null(r);
    o.older_than_ms = -5;
    assert_int_equal(dt_retention_start(&r, hub, &o), DURATA_EINVAL);
    o = (struct dt_retention_options){.older_than_ms = HOUR_MS, .interval_ms = -1};
    assert_int_equal(dt_retention_start(&r, hub, &o), DURATA_EINVAL);
    o = (struct dt_retention_options){.older_than_ms = HOUR_MS, .batch = -1};
    assert_int_equal(dt_retention_start(&r, hub, &o), DURATA_EINVAL);
    o = (struct dt_retention_options){.older_than_ms = HOUR_MS, .pause_ms = -1};
    assert_int_equal(dt_retention_start(&r, hub, &o), DURATA_EINVAL);
    assert_int_equal(dt_retention_wait_passes(NULL, 1, 0), DURATA_EINVAL);
    dt_retention_stop(NULL);
    dt_retention_kick(NULL);
}

static void
test_wait_times_out_and_nothing_young_goes(void **state)
{
    struct wk_fixture *fx = *state;
    struct durata_hub *hub = hub_of(fx);
    struct dt_retention_stats st;
    struct dt_retention *r;

    start(hub, "Done", "fresh");
    assert_true(durata_hub_run_pending(hub, 0) >= 0);
    r = retention_start(fx, hub, 0, 1);
    assert_int_equal(dt_retention_wait_passes(r, 1, PASS_TIMEOUT_MS), 0);
    /* The interval is an hour: no second pass comes by itself. */
    assert_int_equal(dt_retention_wait_passes(r, 2, 50), DURATA_ETIMEDOUT);
    dt_retention_get_stats(r, &st);
    dt_retention_stop(r);
    assert_int_equal(st.passes, 1);
    assert_int_equal(st.deleted, 0);
    assert_int_equal(st.batches, 0);
    assert_true(exists(hub, "fresh"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        WK_TEST(test_purges_only_old_terminal_instances),
        WK_TEST(test_kick_catches_instances_that_aged),
        WK_TEST(test_batches_stay_near_the_target),
        WK_TEST(test_stop_is_prompt_mid_pass),
        WK_TEST(test_hub_keeps_serving_during_a_pass),
        WK_TEST(test_bad_options_are_refused),
        WK_TEST(test_wait_times_out_and_nothing_young_goes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
