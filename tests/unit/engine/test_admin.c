/*
 * test_admin.c — operator reads and deletes: purge of one instance
 * (refused while not terminal), purge-many by filter across several
 * batches, and query with filters (status, name, id prefix, created range)
 * and continuation paging.
 */
#include "support_engine.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum durata_orch_result
orch_echo(struct durata_orch *o, void *arg)
{
    (void)arg;
    durata_orch_complete(o, durata_orch_input(o));
    return DURATA_DONE;
}

static enum durata_orch_result
orch_wait(struct durata_orch *o, void *arg)
{
    (void)arg;
    struct durata_task *t = durata_wait_event(o, "go", -1);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    durata_orch_complete(o, NULL);
    return DURATA_DONE;
}

static int
setup(void **state)
{
    int rc = eng_setup(state);
    struct eng *e = *state;

    if (rc == 0) {
        eng_orch(e, "Echo", orch_echo, NULL);
        eng_orch(e, "Other", orch_echo, NULL);
        eng_orch(e, "Wait", orch_wait, NULL);
    }
    return rc;
}

/* Number of instances a query with f finds (all pages). */
static size_t
count_matching(struct eng *e, const struct durata_filter *f)
{
    size_t n = 0;
    char *cont = NULL;

    do {
        struct durata_page *p = NULL;
        assert_int_equal(durata_query(e->hub, f, 1000, cont, &p), 0);
        free(cont);
        cont = p->continuation ? strdup(p->continuation) : NULL;
        n += p->count;
        durata_page_free(p);
    } while (cont);
    return n;
}

static void
test_purge_of_non_terminal_deletes_nothing(void **state)
{
    struct eng *e = *state;
    char id[257];
    int deleted = -1;

    eng_start(e, "Wait", "alive", NULL, id);
    assert_int_equal(durata_purge(e->hub, "alive", &deleted), 0); /* pending */
    assert_int_equal(deleted, 0);
    eng_run(e);
    deleted = -1;
    assert_int_equal(durata_purge(e->hub, "alive", &deleted), 0); /* running */
    assert_int_equal(deleted, 0);
    assert_int_equal(eng_status(e, "alive"), DURATA_RUNNING);
    assert_int_equal(eng_history_count(e, "alive", DURATA_EV_EXECUTION_STARTED), 1);
    /* It still works afterwards. */
    assert_int_equal(durata_raise_event(e->hub, "alive", "go", NULL), 0);
    eng_run(e);
    assert_int_equal(eng_status(e, "alive"), DURATA_COMPLETED);
}

static void
test_purge_of_terminal_deletes_it(void **state)
{
    struct eng *e = *state;
    char id[257];
    int deleted = -1;
    struct durata_instance *inst = NULL;
    struct durata_history *h = NULL;

    eng_start(e, "Echo", "gone", "1", id);
    eng_run(e);
    assert_int_equal(durata_purge(e->hub, "gone", &deleted), 0);
    assert_int_equal(deleted, 1);
    assert_int_equal(durata_get_status(e->hub, "gone", &inst), DURATA_ENOTFOUND);
    assert_null(inst);
    assert_int_equal(durata_get_history(e->hub, "gone", &h), DURATA_ENOTFOUND);
    assert_null(h);
    assert_int_equal(durata_purge(e->hub, "gone", &deleted), DURATA_ENOTFOUND);
    /* The id is free again. */
    eng_start(e, "Echo", "gone", "2", id);
    eng_run(e);
    assert_int_equal(eng_status(e, "gone"), DURATA_COMPLETED);
}

#define MANY 520

static void
test_purge_many_removes_only_terminal_matches_in_batches(void **state)
{
    struct eng *e = *state;
    char id[257], want[32];
    int64_t deleted = -1;

    for (int i = 0; i < MANY; i++) {
        snprintf(want, sizeof(want), "done-%04d", i);
        eng_start(e, "Echo", want, NULL, id);
    }
    eng_start(e, "Other", "other-1", NULL, id);
    eng_start(e, "Other", "other-2", NULL, id);
    eng_start(e, "Wait", "wait-1", NULL, id);
    eng_start(e, "Wait", "wait-2", NULL, id);
    eng_start(e, "Wait", "wait-3", NULL, id);
    eng_run(e);

    struct durata_filter f = {.statuses = 1u << DURATA_COMPLETED, .name = "Echo"};
    assert_int_equal(durata_purge_many(e->hub, &f, &deleted), 0);
    assert_int_equal(deleted, MANY);
    struct durata_filter any = {0};
    assert_int_equal(count_matching(e, &any), 5);
    struct durata_instance *inst = NULL;
    assert_int_equal(durata_get_status(e->hub, "done-0000", &inst), DURATA_ENOTFOUND);
    assert_int_equal(durata_get_status(e->hub, "done-0519", &inst), DURATA_ENOTFOUND);

    /* A filter that also names a running status still spares it. */
    struct durata_filter mixed = {.statuses = 1u << DURATA_COMPLETED | 1u << DURATA_RUNNING};
    deleted = -1;
    assert_int_equal(durata_purge_many(e->hub, &mixed, &deleted), 0);
    assert_int_equal(deleted, 2);
    assert_int_equal(count_matching(e, &any), 3);
    assert_int_equal(eng_status(e, "wait-1"), DURATA_RUNNING);

    deleted = -1;
    assert_int_equal(durata_purge_many(e->hub, NULL, &deleted), 0);
    assert_int_equal(deleted, 0);
    assert_int_equal(count_matching(e, &any), 3);
}

/* Starts id (Echo or Wait) at time t. */
static void
start_at(struct eng *e, int64_t t, const char *name, const char *id)
{
    char out[257];

    atomic_store(&e->now_ms, t);
    eng_start(e, name, id, NULL, out);
}

static void
test_query_filters(void **state)
{
    struct eng *e = *state;
    char id[32];

    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof(id), "alpha-%d", i);
        start_at(e, ENG_T0, "Echo", id);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof(id), "beta-%d", i);
        start_at(e, ENG_T0 + 1000, "Wait", id);
    }
    eng_run(e);
    start_at(e, ENG_T0 + 2000, "Echo", "late-0");
    start_at(e, ENG_T0 + 2000, "Echo", "late-1");

    struct durata_filter f = {.statuses = 1u << DURATA_COMPLETED};
    assert_int_equal(count_matching(e, &f), 5);
    f = (struct durata_filter){.statuses = 1u << DURATA_RUNNING | 1u << DURATA_PENDING};
    assert_int_equal(count_matching(e, &f), 5);
    f = (struct durata_filter){.statuses = 1u << DURATA_FAILED};
    assert_int_equal(count_matching(e, &f), 0);
    f = (struct durata_filter){.name = "Wait"};
    assert_int_equal(count_matching(e, &f), 3);
    f = (struct durata_filter){.id_prefix = "alpha-"};
    assert_int_equal(count_matching(e, &f), 5);
    f = (struct durata_filter){.id_prefix = "late"};
    assert_int_equal(count_matching(e, &f), 2);
    f = (struct durata_filter){.created_from_ms = ENG_T0 + 1000};
    assert_int_equal(count_matching(e, &f), 5);
    f = (struct durata_filter){.created_to_ms = ENG_T0 + 1000};
    assert_int_equal(count_matching(e, &f), 5);
    f = (struct durata_filter){.created_from_ms = ENG_T0 + 1000, .created_to_ms = ENG_T0 + 2000};
    assert_int_equal(count_matching(e, &f), 3);
    f = (struct durata_filter){.name = "Echo", .statuses = 1u << DURATA_PENDING};
    assert_int_equal(count_matching(e, &f), 2);

    struct durata_page *p = NULL;
    f = (struct durata_filter){.name = "Echo", .statuses = 1u << DURATA_PENDING};
    assert_int_equal(durata_query(e->hub, &f, 10, NULL, &p), 0);
    assert_int_equal(p->count, 2);
    assert_string_equal(p->items[0]->id, "late-0");
    assert_string_equal(p->items[1]->id, "late-1");
    assert_int_equal(p->items[0]->created_ms, ENG_T0 + 2000);
    assert_null(p->continuation);
    durata_page_free(p);
}

#define PAGED 250

static void
test_query_pages_through_all_instances_once(void **state)
{
    struct eng *e = *state;
    char id[32];
    unsigned char seen[PAGED] = {0};

    /* Creation times repeat (10 per ms) and do not follow the ids. */
    for (int i = 0; i < PAGED; i++) {
        int k = (i * 37) % PAGED;
        snprintf(id, sizeof(id), "q-%03d", k);
        start_at(e, ENG_T0 + (PAGED - 1 - i) / 10, "Echo", id);
    }
    char *cont = NULL;
    int pages = 0;
    size_t total = 0;
    int64_t last_created = 0;
    char last_id[32] = "";
    do {
        struct durata_page *p = NULL;
        assert_int_equal(durata_query(e->hub, NULL, 100, cont, &p), 0);
        free(cont);
        pages++;
        assert_int_equal(p->count, pages < 3 ? 100 : 50);
        for (size_t i = 0; i < p->count; i++) {
            const struct durata_instance *inst = p->items[i];
            int k = (int)strtol(inst->id + 2, NULL, 10);
            assert_true(k >= 0 && k < PAGED);
            assert_int_equal(seen[k], 0);
            seen[k] = 1;
            /* Ordered by creation time, then id. */
            assert_true(inst->created_ms > last_created ||
                        (inst->created_ms == last_created && strcmp(inst->id, last_id) > 0));
            last_created = inst->created_ms;
            snprintf(last_id, sizeof(last_id), "%s", inst->id);
        }
        total += p->count;
        cont = p->continuation ? strdup(p->continuation) : NULL;
        if (pages == 3)
            assert_null(p->continuation);
        durata_page_free(p);
    } while (cont && pages < 10);
    assert_int_equal(pages, 3);
    assert_int_equal(total, PAGED);
}

static void
test_query_with_bad_continuation_is_refused(void **state)
{
    struct eng *e = *state;
    struct durata_page *p = NULL;
    char id[257];

    eng_start(e, "Echo", "one", NULL, id);
    int rc = durata_query(e->hub, NULL, 10, "this is not a token", &p);
    assert_true(rc < 0);
    assert_null(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_purge_of_non_terminal_deletes_nothing, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_purge_of_terminal_deletes_it, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_purge_many_removes_only_terminal_matches_in_batches,
                                        setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_query_filters, setup, eng_teardown),
        cmocka_unit_test_setup_teardown(test_query_pages_through_all_instances_once, setup,
                                        eng_teardown),
        cmocka_unit_test_setup_teardown(test_query_with_bad_continuation_is_refused, setup,
                                        eng_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
