/*
 * test_replay_oom.c — every allocation of a replay can fail without a
 * crash, a leak or a wrong answer.
 *
 * The test interposes malloc/calloc/realloc/free (glibc's __libc_* do the
 * work) and, for a replay exercising most of the runtime, makes the k-th
 * allocation fail for k = 0, 1, ... until a run needs fewer than k. Each
 * run must return DURATA_ENOMEM, or 0 with exactly the output of a run
 * without failures, and must free all it allocated. Under AddressSanitizer
 * (which owns malloc) the test is skipped.
 */
#include "support_sim.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#if defined(__SANITIZE_ADDRESS__)
#define OOM_WALK 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OOM_WALK 0
#endif
#endif
#ifndef OOM_WALK
#define OOM_WALK 1
#endif

#define S DT_RETRY_ID_STRIDE

static long alloc_count;  /* allocations since the walk's reset */
static long fail_at = -1; /* that allocation fails; -1 none */
static long live;         /* blocks allocated and not yet freed */

#if OOM_WALK
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static bool
inject(void)
{
    return alloc_count++ == fail_at;
}

void *
malloc(size_t n)
{
    void *p = inject() ? NULL : __libc_malloc(n);

    live += p != NULL;
    return p;
}

void *
calloc(size_t n, size_t size)
{
    void *p = inject() ? NULL : __libc_calloc(n, size);

    live += p != NULL;
    return p;
}

void *
realloc(void *old, size_t n)
{
    void *p;

    if (inject())
        return NULL;
    p = __libc_realloc(old, n);
    if (!old)
        live += p != NULL;
    return p;
}

void
free(void *p)
{
    live -= p != NULL;
    __libc_free(p);
}
#endif

static enum durata_orch_result
orch_mix(struct durata_orch *o, void *arg)
{
    struct durata_retry_policy policy = {.max_attempts = 3, .first_interval_ms = 100};
    struct durata_task *fan[3], *all, *flaky, *sub, *race[2], *any;
    char uuid[37];

    (void)arg;
    durata_orch_new_uuid(o, uuid);
    if (durata_orch_set_custom_status(o, "{\"stage\":\"fan\"}") != 0)
        return DURATA_YIELD;
    for (int i = 0; i < 3; i++)
        fan[i] = durata_call_activity(o, "Work", "1", NULL);
    all = durata_when_all(o, fan, 3);
    if (!durata_await(o, all))
        return DURATA_YIELD;
    flaky = durata_call_activity(o, "Flaky", NULL, &policy);
    if (!durata_await(o, flaky))
        return DURATA_YIELD;
    sub = durata_call_sub_orchestrator(o, "Child", NULL, durata_task_result(all), NULL);
    if (!durata_await(o, sub))
        return DURATA_YIELD;
    race[0] = durata_wait_event(o, "go", 1000);
    race[1] = durata_create_timer(o, durata_orch_now(o) + 5000);
    any = durata_when_any(o, race, 2);
    if (!durata_await(o, any))
        return DURATA_YIELD;
    durata_send_event(o, "peer", "done", durata_task_result(race[0]));
    durata_orch_continue_as_new(o, durata_task_result(sub));
    return DURATA_DONE;
}

/* Drives orch_mix to its end; s then holds the whole history. */
static void
build_history(struct sim *s)
{
    sim_init(s, "{\"n\":3}", SIM_T0);
    assert_int_equal(sim_step(s, orch_mix, NULL), 0);
    sim_begin(s, SIM_T0 + 10);
    for (int i = 0; i < 3; i++)
        sim_task_done(s, i, "[1,{\"a\":\"b\"}]");
    assert_int_equal(sim_step(s, orch_mix, NULL), 0);
    sim_begin(s, SIM_T0 + 20);
    sim_task_failed(s, 3, "flaky", false);
    assert_int_equal(sim_step(s, orch_mix, NULL), 0);
    sim_begin(s, SIM_T0 + 120);
    sim_timer_fired(s, 3 + S);
    assert_int_equal(sim_step(s, orch_mix, NULL), 0);
    sim_begin(s, SIM_T0 + 130);
    sim_task_done(s, 3 + 2 * S, "true");
    assert_int_equal(sim_step(s, orch_mix, NULL), 0);
    sim_begin(s, SIM_T0 + 140);
    sim_sub_done(s, 4, "{\"child\":1}");
    assert_int_equal(sim_step(s, orch_mix, NULL), 0);
    sim_begin(s, SIM_T0 + 150);
    sim_raise(s, "other", "2");
    sim_raise(s, "GO", "\"now\"");
    assert_int_equal(sim_run(s, orch_mix, NULL), 0);
    assert_int_equal(s->out.completion, DT_CONTINUED_AS_NEW);
}

static struct dt_replay_in
input_of(struct sim *s)
{
    struct dt_replay_in in = {
        .instance_id = s->instance_id,
        .execution_id = s->execution_id,
        .past = s->past.items,
        .n_past = s->past.count,
        .fresh = s->fresh.items,
        .n_fresh = s->fresh.count,
        .fn = orch_mix,
        .max_payload_bytes = s->max_payload,
        .max_custom_status_bytes = s->max_status,
    };
    return in;
}

static void
assert_same_out(const struct dt_replay_out *a, const struct dt_replay_out *b)
{
    assert_int_equal(a->completion, b->completion);
    assert_int_equal(a->n_actions, b->n_actions);
    for (size_t i = 0; i < a->n_actions; i++) {
        assert_int_equal(a->actions[i].id, b->actions[i].id);
        assert_int_equal(a->actions[i].kind, b->actions[i].kind);
    }
    if (a->output || b->output)
        assert_string_equal(a->output, b->output);
    assert_int_equal(a->carryover.count, b->carryover.count);
    if (a->custom_status || b->custom_status)
        assert_string_equal(a->custom_status, b->custom_status);
}

/* Walks every allocation of one replay over s's history + fresh. */
static void
walk(struct sim *s)
{
    struct dt_replay_in in = input_of(s);
    struct dt_replay_out ref, out;
    long failed_runs = 0;

    assert_int_equal(dt_replay_run(&in, &ref), 0);
    for (long k = 0;; k++) {
        long before = live;
        int rc;

        alloc_count = 0;
        fail_at = k;
        rc = dt_replay_run(&in, &out);
        fail_at = -1;
        if (alloc_count <= k) { /* nothing failed: the walk is over */
            assert_int_equal(rc, 0);
            assert_same_out(&out, &ref);
            dt_replay_out_release(&out);
            assert_int_equal(live, before);
            break;
        }
        assert_true(rc == 0 || rc == DURATA_ENOMEM);
        if (rc == 0)
            assert_same_out(&out, &ref);
        else
            failed_runs++;
        dt_replay_out_release(&out);
        assert_int_equal(live, before);
    }
    assert_true(failed_runs > 10);
    dt_replay_out_release(&ref);
}

static void
test_every_allocation_failure_gives_enomem_or_the_right_answer(void **state)
{
    struct sim s;

    (void)state;
    if (!OOM_WALK)
        skip();
    sim_init(&s, "{\"n\":3}", SIM_T0);
    walk(&s); /* first step: new actions */
    sim_release(&s);
    build_history(&s);
    walk(&s); /* last step: all matched, continue-as-new with carryover */
    sim_release(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation_failure_gives_enomem_or_the_right_answer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
