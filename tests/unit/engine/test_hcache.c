/*
 * test_hcache.c — the history cache: its own rules (match, staleness, LRU
 * bounds) and, through two hubs sharing one file, that a step never replays
 * a cached history another writer has moved past.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "engine/hcache.h"
#include "support_engine.h"

#include <stdio.h>
#include <string.h>

static struct dt_event_list
history_of(size_t n)
{
    struct dt_event_list l = {0};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(dt_event_list_push_take(&l, dt_event_new(DURATA_EV_GENERIC, (int64_t)i)),
                         0);
    return l;
}

static void
test_take_returns_a_matching_entry_once(void **state)
{
    struct dt_hcache c;
    struct dt_event_list l = history_of(3), out = {0};
    size_t count = 0;

    (void)state;
    dt_hcache_init(&c, 16, 100);
    dt_hcache_put(&c, "a", "exec-1", 42, &l, NULL);
    assert_int_equal(l.count, 0); /* taken */
    assert_true(dt_hcache_take(&c, "a", "exec-1", 42, &out, &count));
    assert_int_equal(count, 3);
    assert_int_equal(out.count, 3);
    dt_event_list_release(&out);
    assert_false(dt_hcache_take(&c, "a", "exec-1", 42, &out, &count)); /* taken out */
    dt_hcache_release(&c);
}

/* An entry stored with the instance's state gives both to take_state
 * (unchecked, once); one stored without stays for the checked take. */
static void
test_take_state_needs_a_stored_state(void **state)
{
    struct dt_hcache c;
    struct dt_event_list l = history_of(2), out = {0};
    struct durata_instance inst = {.id = "a",
                                   .name = "A",
                                   .execution_id = "exec-1",
                                   .status = DURATA_RUNNING,
                                   .updated_ms = 42};
    struct durata_instance *got = NULL;
    size_t count = 0;

    (void)state;
    dt_hcache_init(&c, 16, 100);
    dt_hcache_put(&c, "a", "exec-1", 42, &l, dt_instance_clone(&inst));
    assert_true(dt_hcache_take_state(&c, "a", &got, &out, &count));
    assert_int_equal(count, 2);
    assert_int_equal(out.count, 2);
    assert_string_equal(got->execution_id, "exec-1");
    assert_int_equal(got->updated_ms, 42);
    durata_instance_free(got);
    dt_event_list_release(&out);
    assert_false(dt_hcache_take_state(&c, "a", &got, &out, &count)); /* taken out */
    l = history_of(1);
    dt_hcache_put(&c, "b", "exec-1", 7, &l, NULL);
    assert_false(dt_hcache_take_state(&c, "b", &got, &out, &count));
    assert_true(dt_hcache_take(&c, "b", "exec-1", 7, &out, &count)); /* still there */
    dt_event_list_release(&out);
    dt_hcache_release(&c);
}

static void
test_stale_entry_is_dropped(void **state)
{
    struct dt_hcache c;
    struct dt_event_list l = history_of(2), out = {0};
    size_t count;

    (void)state;
    dt_hcache_init(&c, 16, 100);
    dt_hcache_put(&c, "a", "exec-1", 42, &l, NULL);
    assert_false(dt_hcache_take(&c, "a", "exec-1", 43, &out, &count)); /* updated since */
    l = history_of(2);
    dt_hcache_put(&c, "a", "exec-1", 42, &l, NULL);
    assert_false(dt_hcache_take(&c, "a", "exec-2", 42, &out, &count)); /* new execution */
    assert_false(dt_hcache_take(&c, "a", "exec-1", 42, &out, &count)); /* and it is gone */
    assert_int_equal(out.count, 0);
    dt_hcache_release(&c);
}

static void
test_least_recently_used_go_first(void **state)
{
    struct dt_hcache c;
    struct dt_event_list out = {0};
    size_t count;
    char id[8];

    (void)state;
    dt_hcache_init(&c, 3, 10);
    for (int i = 0; i < 4; i++) { /* a0 falls out: at most 3 entries */
        struct dt_event_list l = history_of(2);
        snprintf(id, sizeof(id), "a%d", i);
        dt_hcache_put(&c, id, "x", 1, &l, NULL);
    }
    assert_false(dt_hcache_take(&c, "a0", "x", 1, &out, &count));
    struct dt_event_list big = history_of(6); /* 2+2+6 = 10 events: a1 falls out */
    dt_hcache_put(&c, "big", "x", 1, &big, NULL);
    assert_false(dt_hcache_take(&c, "a1", "x", 1, &out, &count));
    assert_true(dt_hcache_take(&c, "a2", "x", 1, &out, &count));
    dt_event_list_release(&out);
    struct dt_event_list huge = history_of(11); /* over the bound: not kept */
    dt_hcache_put(&c, "huge", "x", 1, &huge, NULL);
    assert_false(dt_hcache_take(&c, "huge", "x", 1, &out, &count));
    assert_int_equal(c.entries, 2);
    assert_int_equal(c.events, 8);
    dt_hcache_release(&c);
}

/* A put leaves what it evicts or replaces to dt_hcache_reap (other
 * threads), and frees it itself only past DT_HCACHE_DEAD_MAX. */
static void
test_evicted_entries_wait_for_a_reaper(void **state)
{
    struct dt_hcache c;
    char id[16];

    (void)state;
    dt_hcache_init(&c, 2, 100);
    for (int i = 0; i < 3; i++) {
        struct dt_event_list l = history_of(1);
        snprintf(id, sizeof(id), "a%d", i);
        dt_hcache_put(&c, id, "x", 1, &l, NULL);
    }
    assert_int_equal(c.n_dead, 1); /* a0 */
    struct dt_event_list again = history_of(1);
    dt_hcache_put(&c, "a2", "x", 2, &again, NULL); /* replaces a2 */
    assert_int_equal(c.n_dead, 2);
    dt_hcache_reap(&c);
    assert_int_equal(c.n_dead, 0);
    assert_null(c.dead);
    for (int i = 0; i < DT_HCACHE_DEAD_MAX + 10; i++) { /* nobody reaps */
        struct dt_event_list l = history_of(1);
        snprintf(id, sizeof(id), "b%d", i);
        dt_hcache_put(&c, id, "x", 1, &l, NULL);
        assert_true(c.n_dead <= DT_HCACHE_DEAD_MAX);
    }
    assert_int_equal(c.entries, 2);
    dt_hcache_release(&c); /* frees what is left (the sanitizers check) */
}

/* ------------------------------------------- two hubs, one store file */

static void
act_echo(struct durata_activity *a, void *arg)
{
    (void)arg;
    durata_activity_complete(a, durata_activity_input(a));
}

static enum durata_orch_result
orch_three(struct durata_orch *o, void *arg)
{
    const char *names[3] = {"\"a\"", "\"b\"", "\"c\""};
    struct durata_task *t[3];
    (void)arg;
    for (int i = 0; i < 3; i++) {
        t[i] = durata_call_activity(o, "Echo", names[i], NULL);
        if (!durata_await(o, t[i]))
            return DURATA_YIELD;
    }
    durata_orch_complete(o, durata_task_result(t[2]));
    return DURATA_DONE;
}

static void
register_on(struct durata_hub *hub)
{
    assert_int_equal(durata_register_activity(hub, "Echo", act_echo, NULL), 0);
    assert_int_equal(durata_register_orchestrator(hub, "Three", orch_three, NULL), 0);
}

static void
test_steps_alternating_between_hubs_never_use_a_stale_history(void **state)
{
    struct eng *e = *state;
    struct durata_hub_options o = e->opt;
    struct durata_hub *other = NULL;
    char id[257];

    o.store_path = e->path;
    o.clock = eng_clock;
    o.clock_arg = e;
    assert_int_equal(durata_hub_open(&other, &o), 0);
    register_on(e->hub);
    register_on(other);
    eng_start(e, "Three", "alt", NULL, id);
    /* One item at a time (a step, then its activity), each pair on the other
     * hub: every step follows a step of the other hub, so each hub's cached
     * history is one step behind the store when it steps again. */
    for (int round = 0; round < 40 && eng_status(e, id) != DURATA_COMPLETED; round++) {
        struct durata_hub *h = (round / 2) % 2 ? other : e->hub;
        assert_true(durata_hub_run_pending(h, 1) >= 0);
    }
    assert_int_equal(eng_status(e, id), DURATA_COMPLETED);
    struct durata_instance *inst = eng_get(e, id);
    assert_true(eng_json_equal(inst->output, "\"c\""));
    durata_instance_free(inst);
    assert_int_equal(eng_history_count(e, id, DURATA_EV_TASK_SCHEDULED), 3);
    assert_int_equal(eng_history_count(e, id, DURATA_EV_TASK_COMPLETED), 3);
    assert_int_equal(eng_history_count(e, id, DURATA_EV_EXECUTION_COMPLETED), 1);
    durata_hub_close(other);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_take_returns_a_matching_entry_once),
        cmocka_unit_test(test_take_state_needs_a_stored_state),
        cmocka_unit_test(test_stale_entry_is_dropped),
        cmocka_unit_test(test_least_recently_used_go_first),
        cmocka_unit_test(test_evicted_entries_wait_for_a_reaper),
        cmocka_unit_test_setup_teardown(
            test_steps_alternating_between_hubs_never_use_a_stale_history, eng_setup, eng_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
