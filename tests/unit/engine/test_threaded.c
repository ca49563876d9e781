/*
 * test_threaded.c — the hub with its worker threads and the system clock:
 * 500 orchestrations of a 2-activity sequence started from 4 threads at
 * once all complete with the right outputs (durata_wait), and after stop,
 * close and reopen the store still holds all 500 as Completed. Tasks that
 * wait behind long activities keep their leases and run once.
 */
#include "support_engine.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define THREADS 4
#define PER_THREAD 125
#define TOTAL (THREADS * PER_THREAD)

/* Activities run on worker threads: no cmocka asserts there. */
static void
complete_with(struct durata_activity *a, long long n)
{
    char out[32];

    snprintf(out, sizeof(out), "%lld", n);
    durata_activity_complete(a, out);
}

static bool
input_int(struct durata_activity *a, long long *n)
{
    const char *in = durata_activity_input(a);
    char *end;

    if (!in)
        return false;
    *n = strtoll(in, &end, 10);
    return end != in && *end == '\0';
}

static void
act_add_one(struct durata_activity *a, void *arg)
{
    long long n;

    (void)arg;
    if (!input_int(a, &n)) {
        durata_activity_fail(a, "BadInput", "not an integer", NULL, true);
        return;
    }
    complete_with(a, n + 1);
}

static void
act_times_two(struct durata_activity *a, void *arg)
{
    long long n;

    (void)arg;
    if (!input_int(a, &n)) {
        durata_activity_fail(a, "BadInput", "not an integer", NULL, true);
        return;
    }
    complete_with(a, n * 2);
}

/* (input + 1) * 2 through two activities. */
static enum durata_orch_result
orch_pair(struct durata_orch *o, void *arg)
{
    (void)arg;
    struct durata_task *a = durata_call_activity(o, "AddOne", durata_orch_input(o), NULL);
    if (!durata_await(o, a))
        return DURATA_YIELD;
    if (durata_task_is_failed(a)) {
        durata_orch_fail(o, "Unexpected", "AddOne failed", NULL);
        return DURATA_DONE;
    }
    struct durata_task *b = durata_call_activity(o, "TimesTwo", durata_task_result(a), NULL);
    if (!durata_await(o, b))
        return DURATA_YIELD;
    if (durata_task_is_failed(b)) {
        durata_orch_fail(o, "Unexpected", "TimesTwo failed", NULL);
        return DURATA_DONE;
    }
    durata_orch_complete(o, durata_task_result(b));
    return DURATA_DONE;
}

/* Waits for "go"; completes with its data. */
static enum durata_orch_result
orch_wait(struct durata_orch *o, void *arg)
{
    (void)arg;
    struct durata_task *t = durata_wait_event(o, "go", -1);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    durata_orch_complete(o, durata_task_result(t));
    return DURATA_DONE;
}

/* Sleeps 300 ms on a durable timer; output [start, after] (orchestration
 * clock). */
static enum durata_orch_result
orch_nap(struct durata_orch *o, void *arg)
{
    (void)arg;
    int64_t start = durata_orch_now(o);
    struct durata_task *t = durata_create_timer(o, start + 300);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    char out[64];
    snprintf(out, sizeof(out), "[%lld,%lld]", (long long)start, (long long)durata_orch_now(o));
    durata_orch_complete(o, out);
    return DURATA_DONE;
}

static void
register_all(struct eng *e)
{
    eng_act(e, "AddOne", act_add_one, NULL);
    eng_act(e, "TimesTwo", act_times_two, NULL);
    eng_orch(e, "Pair", orch_pair, NULL);
    eng_orch(e, "Wait", orch_wait, NULL);
    eng_orch(e, "Nap", orch_nap, NULL);
}

static int
setup(void **state)
{
    int rc = eng_setup(state);
    struct eng *e = *state;
    struct durata_hub_options o = {.clock = eng_wall_clock};

    if (rc == 0) {
        eng_reopen(e, &o);
        register_all(e);
    }
    return rc;
}

struct starter {
    struct durata_hub *hub;
    int thread;
    int errors;
};

static void *
starter_main(void *arg)
{
    struct starter *s = arg;
    char id[64], in[32], out[257];

    for (int i = 0; i < PER_THREAD; i++) {
        int n = s->thread * PER_THREAD + i;
        snprintf(id, sizeof(id), "th-%04d", n);
        snprintf(in, sizeof(in), "%d", n);
        struct durata_start_options o = {.name = "Pair", .instance_id = id, .input = in};
        if (durata_start(s->hub, &o, out, sizeof(out)) != 0)
            s->errors++;
    }
    return NULL;
}

static void
test_500_concurrent_starts_all_complete_and_survive_reopen(void **state)
{
    struct eng *e = *state;
    pthread_t threads[THREADS];
    struct starter st[THREADS];
    char id[64];

    assert_int_equal(durata_hub_start(e->hub), 0);
    for (int t = 0; t < THREADS; t++) {
        st[t] = (struct starter){.hub = e->hub, .thread = t};
        assert_int_equal(pthread_create(&threads[t], NULL, starter_main, &st[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        assert_int_equal(st[t].errors, 0);
    }
    for (int n = 0; n < TOTAL; n++) {
        struct durata_instance *inst = NULL;
        snprintf(id, sizeof(id), "th-%04d", n);
        int rc = durata_wait(e->hub, id, 120000, &inst);
        if (rc != 0)
            fail_msg("durata_wait(%s): %s", id, durata_strerror(rc));
        assert_int_equal(inst->status, DURATA_COMPLETED);
        assert_int_equal(eng_json_int(inst->output), (n + 1) * 2);
        durata_instance_free(inst);
    }
    durata_hub_stop(e->hub);
    durata_hub_stop(e->hub); /* idempotent */

    struct durata_hub_options o = {.clock = eng_wall_clock};
    eng_reopen(e, &o);
    struct durata_filter f = {.statuses = 1u << DURATA_COMPLETED, .id_prefix = "th-"};
    size_t found = 0;
    char *cont = NULL;
    do {
        struct durata_page *p = NULL;
        assert_int_equal(durata_query(e->hub, &f, 100, cont, &p), 0);
        free(cont);
        for (size_t i = 0; i < p->count; i++) {
            int n = (int)strtol(p->items[i]->id + 3, NULL, 10);
            assert_int_equal(eng_json_int(p->items[i]->output), (n + 1) * 2);
        }
        found += p->count;
        cont = p->continuation ? strdup(p->continuation) : NULL;
        durata_page_free(p);
    } while (cont);
    assert_int_equal(found, TOTAL);
    struct durata_filter any = {.id_prefix = "th-"};
    struct durata_page *p = NULL;
    assert_int_equal(durata_query(e->hub, &any, 1000, NULL, &p), 0);
    assert_int_equal(p->count, TOTAL);
    durata_page_free(p);
}

static void
test_wait_times_out_then_sees_completion(void **state)
{
    struct eng *e = *state;
    struct durata_instance *inst = (struct durata_instance *)1;
    char id[257];

    assert_int_equal(durata_hub_start(e->hub), 0);
    assert_int_equal(durata_hub_start(e->hub), 0); /* idempotent */
    /* Registration and inline running are refused while threads run. */
    assert_int_equal(durata_register_orchestrator(e->hub, "Late", orch_wait, NULL), DURATA_EBUSY);
    assert_int_equal(durata_hub_run_pending(e->hub, 0), DURATA_EBUSY);
    eng_start(e, "Wait", "waiter", NULL, id);
    assert_int_equal(durata_wait(e->hub, "nobody", 10, &inst), DURATA_ENOTFOUND);
    assert_int_equal(durata_wait(e->hub, "waiter", 200, &inst), DURATA_ETIMEDOUT);
    assert_null(inst);
    assert_int_equal(durata_raise_event(e->hub, "waiter", "go", "\"went\""), 0);
    assert_int_equal(durata_wait(e->hub, "waiter", 60000, &inst), 0);
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(eng_json_equal(inst->output, "\"went\""));
    durata_instance_free(inst);
    /* A bad input fails the activity, and so the orchestration. */
    eng_start(e, "Pair", "bad-input", "\"not a number\"", id);
    assert_int_equal(durata_wait(e->hub, "bad-input", 60000, &inst), 0);
    assert_int_equal(inst->status, DURATA_FAILED);
    durata_instance_free(inst);
}

static void
wait_completed(struct eng *e, const char *id, long long want)
{
    struct durata_instance *inst = NULL;
    int rc = durata_wait(e->hub, id, 60000, &inst);

    if (rc != 0)
        fail_msg("durata_wait(%s): %s", id, durata_strerror(rc));
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_int_equal(eng_json_int(inst->output), want);
    durata_instance_free(inst);
}

static void
test_hub_runs_again_after_stop(void **state)
{
    struct eng *e = *state;
    char id[257];

    assert_int_equal(durata_hub_start(e->hub), 0);
    eng_start(e, "Pair", "r1", "1", id);
    wait_completed(e, "r1", 4);
    durata_hub_stop(e->hub);

    /* Stopped: requests still commit, and the caller's thread can run work. */
    eng_start(e, "Pair", "r2", "2", id);
    eng_run(e);
    assert_int_equal(eng_status(e, "r2"), DURATA_COMPLETED);

    eng_start(e, "Pair", "r3", "3", id);
    assert_int_equal(durata_hub_start(e->hub), 0);
    wait_completed(e, "r3", 8);
    eng_start(e, "Pair", "r4", "4", id);
    wait_completed(e, "r4", 10);
}

static void
test_durable_timer_fires_with_threads(void **state)
{
    struct eng *e = *state;
    struct durata_instance *inst = NULL;
    char id[257];

    assert_int_equal(durata_hub_start(e->hub), 0);
    int64_t before = eng_wall_clock(NULL);
    eng_start(e, "Nap", "nap", NULL, id);
    assert_int_equal(durata_wait(e->hub, "nap", 60000, &inst), 0);
    assert_int_equal(inst->status, DURATA_COMPLETED);
    assert_true(eng_wall_clock(NULL) - before >= 300); /* not before its time */
    long long t0 = 0, t1 = 0;
    assert_int_equal(sscanf(inst->output, "[%lld,%lld]", &t0, &t1), 2);
    assert_true(t1 - t0 >= 300);
    durata_instance_free(inst);
}

/* ------------------------------------------------ leases while queued */

#define SLOW_LEASE_MS 900
#define SLOW_RUN_MS 1200
#define SLOW_JOBS 3

static atomic_int slow_runs;

static void
act_slow(struct durata_activity *a, void *arg)
{
    struct timespec ts = {.tv_sec = SLOW_RUN_MS / 1000, .tv_nsec = (SLOW_RUN_MS % 1000) * 1000000L};

    (void)arg;
    atomic_fetch_add(&slow_runs, 1);
    while (nanosleep(&ts, &ts) != 0)
        ;
    complete_with(a, durata_activity_delivery(a));
}

static enum durata_orch_result
orch_slow(struct durata_orch *o, void *arg)
{
    struct durata_task *t = durata_call_activity(o, "Slow", NULL, NULL);

    (void)arg;
    if (!durata_await(o, t))
        return DURATA_YIELD;
    durata_orch_complete(o, durata_task_result(t));
    return DURATA_DONE;
}

/* One activity thread, a lease shorter than each activity: the second and
 * third tasks wait longer than a lease in the queue. */
static int
setup_slow(void **state)
{
    int rc = eng_setup(state);
    struct eng *e = *state;
    struct durata_hub_options o = {.clock = eng_wall_clock,
                                   .activity_threads = 1,
                                   .activity_lease_ms = SLOW_LEASE_MS,
                                   .sweep_interval_ms = 50};

    if (rc == 0) {
        eng_reopen(e, &o);
        eng_act(e, "Slow", act_slow, NULL);
        eng_orch(e, "SlowOne", orch_slow, NULL);
    }
    atomic_store(&slow_runs, 0);
    return rc;
}

static void
test_queued_tasks_keep_their_leases(void **state)
{
    struct eng *e = *state;
    char id[257], name[32];

    assert_int_equal(durata_hub_start(e->hub), 0);
    for (int i = 0; i < SLOW_JOBS; i++) {
        snprintf(name, sizeof(name), "slow-%d", i);
        eng_start(e, "SlowOne", name, NULL, id);
    }
    for (int i = 0; i < SLOW_JOBS; i++) {
        snprintf(name, sizeof(name), "slow-%d", i);
        wait_completed(e, name, 1); /* delivered once */
    }
    assert_int_equal(atomic_load(&slow_runs), SLOW_JOBS);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_500_concurrent_starts_all_complete_and_survive_reopen,
                                        setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_hub_runs_again_after_stop, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_durable_timer_fires_with_threads, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_queued_tasks_keep_their_leases, setup_slow,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_wait_times_out_then_sees_completion, setup,
                                        eng_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
