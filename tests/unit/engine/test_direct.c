/*
 * test_direct.c — the entries of instances being stepped directly
 * (engine/direct.h): who opens, who joins, what a step takes, and when an
 * entry ends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "engine/direct.h"

#include <stdio.h>
#include <stdlib.h>

static struct dt_msg *
result(const char *id, int task_id)
{
    struct dt_event *e = dt_event_new(DURATA_EV_TASK_COMPLETED, 1000);
    assert_non_null(e);
    e->task_id = task_id;
    struct dt_msg *m = dt_msg_new_take(id, "exec", 1000, e);
    assert_non_null(m);
    return m;
}

static void
test_open_join_take_done(void **state)
{
    struct dt_direct d;
    struct dt_direct_list l = {0};
    struct dt_msg *m;

    (void)state;
    dt_direct_init(&d);
    /* Nobody steps "a": without may_open nothing is taken. */
    m = result("a", 1);
    assert_int_equal(dt_direct_add(&d, "a", 11, m, false), DT_DIRECT_REFUSED);
    assert_int_equal(dt_direct_add(&d, "a", 11, m, true), DT_DIRECT_OPENED);
    assert_int_equal(dt_direct_add(&d, "a", 12, result("a", 2), false), DT_DIRECT_JOINED);
    assert_int_equal(dt_direct_add(&d, "a", 13, result("a", 3), true), DT_DIRECT_JOINED);
    assert_int_equal(dt_direct_add(&d, "b", 21, result("b", 1), true), DT_DIRECT_OPENED);
    dt_direct_take(&d, "a", &l);
    assert_int_equal(l.count, 3);
    assert_int_equal(l.items[0].task_row_id, 11);
    assert_int_equal(l.items[2].task_row_id, 13);
    assert_int_equal(l.items[1].result->event->task_id, 2);
    dt_direct_list_release(&l);
    /* A result that comes while the step commits waits for the next one. */
    assert_int_equal(dt_direct_add(&d, "a", 14, result("a", 4), false), DT_DIRECT_JOINED);
    assert_true(dt_direct_done(&d, "a"));
    dt_direct_take(&d, "a", &l);
    assert_int_equal(l.count, 1);
    assert_int_equal(l.items[0].task_row_id, 14);
    dt_direct_list_release(&l);
    assert_false(dt_direct_done(&d, "a")); /* nothing left: the entry ends */
    m = result("a", 5);
    assert_int_equal(dt_direct_add(&d, "a", 15, m, false), DT_DIRECT_REFUSED);
    dt_msg_free(m);
    dt_direct_take(&d, "nobody", &l);
    assert_int_equal(l.count, 0);
    assert_false(dt_direct_done(&d, "nobody"));
    dt_direct_release(&d); /* frees "b" and its result */
}

static void
test_drop_all_forgets_every_entry(void **state)
{
    struct dt_direct d;
    struct dt_msg *m = result("c", 1);

    (void)state;
    dt_direct_init(&d);
    assert_int_equal(dt_direct_add(&d, "c", 31, result("c", 0), true), DT_DIRECT_OPENED);
    dt_direct_drop_all(&d);
    assert_int_equal(dt_direct_add(&d, "c", 32, m, false), DT_DIRECT_REFUSED);
    dt_msg_free(m);
    dt_direct_release(&d);
}

/* More entries than buckets: every entry is found, and ending one in the
 * middle of a chain leaves the others of the chain in place. */
static void
test_many_entries_share_buckets(void **state)
{
    enum { N = 4 * DT_DIRECT_BUCKETS + 3 };
    struct dt_direct d;
    struct dt_direct_list l = {0};
    char id[32];

    (void)state;
    dt_direct_init(&d);
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "01a21c3c1%05d", i);
        assert_int_equal(dt_direct_add(&d, id, i, result(id, 0), true), DT_DIRECT_OPENED);
    }
    for (int i = 0; i < N; i += 2) { /* a second result for every even entry */
        snprintf(id, sizeof(id), "01a21c3c1%05d", i);
        assert_int_equal(dt_direct_add(&d, id, N + i, result(id, 1), false), DT_DIRECT_JOINED);
    }
    for (int i = 0; i < N; i += 3) { /* every third entry ends */
        snprintf(id, sizeof(id), "01a21c3c1%05d", i);
        dt_direct_take(&d, id, &l);
        assert_int_equal(l.count, i % 2 == 0 ? 2 : 1);
        assert_int_equal(l.items[0].task_row_id, i);
        dt_direct_list_release(&l);
        assert_false(dt_direct_done(&d, id));
    }
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "01a21c3c1%05d", i);
        struct dt_msg *m = result(id, 2);
        int rc = dt_direct_add(&d, id, 2 * N + i, m, false);
        assert_int_equal(rc, i % 3 == 0 ? DT_DIRECT_REFUSED : DT_DIRECT_JOINED);
        if (rc == DT_DIRECT_REFUSED)
            dt_msg_free(m);
    }
    for (int i = 1; i < N; i += 3) {
        snprintf(id, sizeof(id), "01a21c3c1%05d", i);
        dt_direct_take(&d, id, &l);
        assert_int_equal(l.count, i % 2 == 0 ? 3 : 2);
        assert_int_equal(l.items[l.count - 1].task_row_id, 2 * N + i);
        dt_direct_list_release(&l);
    }
    dt_direct_release(&d); /* frees what is left */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_join_take_done),
        cmocka_unit_test(test_drop_all_forgets_every_entry),
        cmocka_unit_test(test_many_entries_share_buckets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
