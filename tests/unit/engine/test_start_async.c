/*
 * test_start_async.c — durata_start_async: bad options are refused at once
 * with no callback; each accepted start calls back exactly once, after it
 * is durable (the instance is there with its first step, and it runs to
 * completion); a hub whose writer is not running calls back within the
 * call.
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

#define STARTS 200

/* What the callbacks saw; `mu` guards all of it. */
struct seen {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t calls, failures;
    char ids[STARTS][64];
    int calls_per_slot[STARTS];
};

struct slot {
    struct seen *seen;
    size_t index;
};

/* Hub thread: no cmocka asserts here. */
static void
on_started(void *arg, int rc, const char *instance_id)
{
    struct slot *s = arg;
    struct seen *seen = s->seen;

    pthread_mutex_lock(&seen->mu);
    seen->calls++;
    seen->calls_per_slot[s->index]++;
    if (rc == 0)
        snprintf(seen->ids[s->index], sizeof(seen->ids[s->index]), "%s", instance_id);
    else
        seen->failures++;
    pthread_cond_broadcast(&seen->cv);
    pthread_mutex_unlock(&seen->mu);
}

static void
register_all(struct eng *e)
{
    eng_act(e, "Echo", eng_act_echo, NULL);
    eng_orch(e, "One", eng_orch_call_one, "Echo");
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

static struct seen *
seen_new(void)
{
    struct seen *s = calloc(1, sizeof(*s));

    assert_non_null(s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    return s;
}

static void
seen_free(struct seen *s)
{
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

static void
test_bad_options_are_refused_without_a_callback(void **state)
{
    struct eng *e = *state;
    struct seen *seen = seen_new();
    struct slot slot = {seen, 0};
    struct durata_start_options unknown = {.name = "Nope"};
    struct durata_start_options bad_id = {.name = "One", .instance_id = "a/b"};
    struct durata_start_options bad_json = {.name = "One", .input = "{oops"};
    struct durata_start_options ok = {.name = "One"};

    assert_int_equal(durata_hub_start(e->hub), 0);
    assert_int_equal(durata_start_async(e->hub, &unknown, on_started, &slot), DURATA_EUNKNOWN);
    assert_int_equal(durata_start_async(e->hub, &bad_id, on_started, &slot), DURATA_EINVAL);
    assert_int_equal(durata_start_async(e->hub, &bad_json, on_started, &slot), DURATA_EJSON);
    assert_int_equal(durata_start_async(e->hub, &ok, NULL, NULL), DURATA_EINVAL);
    assert_int_equal(durata_start_async(NULL, &ok, on_started, &slot), DURATA_EINVAL);
    durata_hub_stop(e->hub);
    assert_int_equal(seen->calls, 0);
    seen_free(seen);
}

static void
wait_calls(struct seen *seen, size_t n)
{
    pthread_mutex_lock(&seen->mu);
    while (seen->calls < n)
        pthread_cond_wait(&seen->cv, &seen->mu);
    pthread_mutex_unlock(&seen->mu);
}

/* Many starts in flight at once: each calls back once, with the id it was
 * given; the instance exists with its first step when it does, and all run
 * to the end. */
static void
test_each_start_calls_back_once_when_durable(void **state)
{
    struct eng *e = *state;
    struct seen *seen = seen_new();
    struct slot slots[STARTS];
    char ids[STARTS][16];

    assert_int_equal(durata_hub_start(e->hub), 0);
    for (size_t i = 0; i < STARTS; i++) {
        slots[i] = (struct slot){seen, i};
        snprintf(ids[i], sizeof(ids[i]), "a%zu", i);
        struct durata_start_options o = {.name = "One", .instance_id = ids[i], .input = "7"};
        assert_int_equal(durata_start_async(e->hub, &o, on_started, &slots[i]), 0);
    }
    wait_calls(seen, STARTS);
    assert_int_equal(seen->failures, 0);
    for (size_t i = 0; i < STARTS; i++) {
        assert_int_equal(seen->calls_per_slot[i], 1);
        assert_string_equal(seen->ids[i], ids[i]);
        assert_true(eng_history_count(e, ids[i], DURATA_EV_EXECUTION_STARTED) == 1);
    }
    for (size_t i = 0; i < STARTS; i++) {
        struct durata_instance *inst = NULL;
        assert_int_equal(durata_wait(e->hub, ids[i], 60000, &inst), 0);
        assert_int_equal(inst->status, DURATA_COMPLETED);
        assert_string_equal(inst->output, "7");
        durata_instance_free(inst);
    }
    durata_hub_stop(e->hub);
    assert_int_equal(seen->calls, STARTS); /* nothing called back twice */
    seen_free(seen);
}

/* A generated id is reported; a live id is a conflict, reported through
 * the callback (the check happens in the store, atomically). */
static void
test_generated_ids_and_conflicts_are_reported(void **state)
{
    struct eng *e = *state;
    struct seen *seen = seen_new();
    struct slot first = {seen, 0}, second = {seen, 1}, gen = {seen, 2};
    struct durata_start_options o = {.name = "One", .instance_id = "dup", .input = "1"};
    struct durata_start_options g = {.name = "One"};

    eng_start(e, "One", "dup", "1", NULL); /* hub not started: stays Pending */
    assert_int_equal(durata_start_async(e->hub, &o, on_started, &first), 0);
    assert_int_equal(seen->calls, 1); /* no writer thread: called back within the call */
    assert_int_equal(seen->failures, 1);
    assert_int_equal(durata_hub_start(e->hub), 0);
    assert_int_equal(durata_start_async(e->hub, &o, on_started, &second), 0);
    assert_int_equal(durata_start_async(e->hub, &g, on_started, &gen), 0);
    wait_calls(seen, 3);
    /* "dup" may have ended by now (then it is replaced): either way, one
     * call. */
    assert_int_equal(seen->calls_per_slot[1], 1);
    assert_int_equal(seen->calls_per_slot[2], 1);
    assert_int_equal(strlen(seen->ids[2]), 32);
    assert_int_equal(eng_history_count(e, seen->ids[2], DURATA_EV_EXECUTION_STARTED), 1);
    durata_hub_stop(e->hub);
    seen_free(seen);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_options_are_refused_without_a_callback, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_each_start_calls_back_once_when_durable, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_generated_ids_and_conflicts_are_reported, setup,
                                        eng_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
