/*
 * support_contract_claim.c — store contract, part 2: instance claims, task
 * leases (renew, release, poison), purge, query paging and next_due.
 * Written against struct dt_store_ops only (see fixtures.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Adds n tasks to instance id (admin step); row ids into rows[]. */
static void
add_tasks(struct dt_store *s, const char *id, size_t n, int64_t visible_ms, int64_t *rows)
{
    struct dt_write *w = dt_write_new(DT_W_STEP);

    w->u.step.instance_id = fx_strdup(id);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(
            dt_task_list_push_take(&w->u.step.tasks, dt_task_new(id, "exec-1", (int32_t)i, "Act",
                                                                 "{\"i\":1}", visible_ms)),
            0);
    fx_commit(s, &w, 1);
    assert_int_equal(w->rc, 0);
    for (size_t i = 0; rows && i < n; i++)
        rows[i] = w->u.step.tasks.items[i]->id;
    dt_write_free(w);
}

static size_t
claim_count(struct dt_store *s, const char *owner, int64_t now_ms, size_t max)
{
    struct dt_write *w = fx_claim(s, owner, now_ms, now_ms + 1000, max);
    size_t n = w->u.claim_instances.n_ids;

    dt_write_free(w);
    return n;
}

static int64_t
next_due(struct dt_store *s, int64_t now_ms)
{
    int64_t due = -1;

    assert_int_equal(s->ops->next_due(s, now_ms, &due), 0);
    return due;
}

/* ------------------------------------------------------- claim instances */

static void
test_claim_waits_for_visibility_and_lock_expiry(void **state)
{
    struct fx *fx = *state;

    assert_int_equal(next_due(fx->s, 0), 0); /* nothing pending */
    assert_int_equal(fx_create(fx->s, "a", "A", 1000), 0);
    assert_int_equal(claim_count(fx->s, "w1", 999, 10), 0);
    assert_int_equal(next_due(fx->s, 999), 1000);
    /* lock until 2000 */
    fx_claim_one(fx->s, "w1", 1000, "a");
    assert_int_equal(claim_count(fx->s, "w2", 1500, 10), 0);
    assert_int_equal(next_due(fx->s, 1500), 61000);
    fx_claim_one(fx->s, "w2", 61000, "a"); /* expired lock: free again */
    assert_int_equal(claim_count(fx->s, "w1", 61001, 10), 0);
}

static void
test_claim_suspended_only_for_resume_or_terminate(void **state)
{
    struct fx *fx = *state;
    struct dt_write *w;

    for (int i = 0; i < 2; i++) {
        const char *id = i == 0 ? "s1" : "s2";

        assert_int_equal(fx_create(fx->s, id, "S", 1000), 0);
        assert_int_equal(fx_set_status(fx->s, id, DURATA_SUSPENDED), 0);
    }
    assert_int_equal(fx_send(fx->s, fx_msg("s1", DURATA_EV_EVENT_RAISED, 1000, "e")), 0);
    assert_int_equal(claim_count(fx->s, "w1", 2000, 10), 0);
    assert_int_equal(fx_send(fx->s, fx_msg("s1", DURATA_EV_EXECUTION_RESUMED, 1000, NULL)), 0);
    assert_int_equal(fx_send(fx->s, fx_msg("s2", DURATA_EV_EXECUTION_TERMINATED, 1000, NULL)), 0);
    w = fx_claim(fx->s, "w1", 2000, 3000, 10);
    assert_int_equal(w->u.claim_instances.n_ids, 2);
    dt_write_free(w);
}

static void
test_claim_pending_only_for_start_or_control(void **state)
{
    struct fx *fx = *state;
    struct dt_write *w = fx_create_unit("p", "P", 1000);

    w->u.create.start->visible_ms = 5000; /* a scheduled start */
    assert_int_equal(fx_commit1(fx->s, w), 0);
    /* An event raised before the start waits without making p claimable. */
    assert_int_equal(fx_send(fx->s, fx_msg("p", DURATA_EV_EVENT_RAISED, 1000, "e")), 0);
    assert_int_equal(claim_count(fx->s, "w1", 2000, 10), 0);
    fx_claim_one(fx->s, "w1", 5000, "p"); /* the start is visible */
    assert_int_equal(fx_create(fx->s, "q", "P", 1000), 0);
    fx_claim_one(fx->s, "w1", 1000, "q");
}

static void
preclaim_for(struct dt_preclaim *pc, const char *owner, int64_t now_ms)
{
    pc->owner = fx_strdup(owner);
    pc->now_ms = now_ms;
    pc->until_ms = now_ms + 5000;
}

static void
test_preclaim_locks_what_a_unit_makes_visible(void **state)
{
    struct fx *fx = *state;
    struct dt_write *w = fx_create_unit("p", "P", 1000);

    preclaim_for(&w->u.create.claim, "w1", 1000);
    fx_commit(fx->s, &w, 1);
    assert_int_equal(w->rc, 0);
    assert_true(w->u.create.claim.claimed);
    dt_write_free(w);
    assert_int_equal(claim_count(fx->s, "w2", 1000, 10), 0); /* held by w1 */
    /* A send to a locked instance delivers but cannot claim it. */
    w = dt_write_new(DT_W_SEND);
    w->u.send.msg = fx_msg("p", DURATA_EV_EVENT_RAISED, 1000, "e");
    preclaim_for(&w->u.send.claim, "w2", 1000);
    fx_commit(fx->s, &w, 1);
    assert_int_equal(w->rc, 0);
    assert_false(w->u.send.claim.claimed);
    dt_write_free(w);
    /* After the lock expires, a send claims it. */
    w = dt_write_new(DT_W_SEND);
    w->u.send.msg = fx_msg("p", DURATA_EV_EXECUTION_TERMINATED, 7000, NULL);
    preclaim_for(&w->u.send.claim, "w2", 7000);
    fx_commit(fx->s, &w, 1);
    assert_true(w->u.send.claim.claimed);
    dt_write_free(w);
    assert_int_equal(claim_count(fx->s, "w1", 7000, 10), 0);
}

static void
test_preclaim_leases_a_steps_tasks(void **state)
{
    struct fx *fx = *state;
    struct dt_write *w = dt_write_new(DT_W_STEP), *c;

    assert_int_equal(fx_create(fx->s, "t", "T", 1000), 0);
    w->u.step.instance_id = fx_strdup("t");
    assert_int_equal(
        dt_task_list_push_take(&w->u.step.tasks, dt_task_new("t", "exec-1", 0, "Act", NULL, 1000)),
        0);
    preclaim_for(&w->u.step.task_claim, "w1", 1000);
    fx_commit(fx->s, &w, 1);
    assert_int_equal(w->rc, 0);
    assert_true(w->u.step.task_claim.claimed);
    assert_int_equal(w->u.step.tasks.items[0]->deliveries, 1);
    assert_string_equal(w->u.step.tasks.items[0]->lease_owner, "w1");
    dt_write_free(w);
    c = fx_claim_tasks(fx->s, "w2", 2000, 9000, 10, 10);
    assert_int_equal(c->u.claim_tasks.tasks.count, 0); /* leased to w1 */
    dt_write_free(c);
    c = fx_claim_tasks(fx->s, "w2", 6000, 9000, 10, 10);
    assert_int_equal(c->u.claim_tasks.tasks.count, 1); /* the lease ran out */
    assert_int_equal(c->u.claim_tasks.tasks.items[0]->deliveries, 2);
    dt_write_free(c);
}

static void
test_claim_oldest_first_up_to_max(void **state)
{
    struct fx *fx = *state;
    struct dt_write *w;

    assert_int_equal(fx_create(fx->s, "c", "X", 1000), 0);
    assert_int_equal(fx_create(fx->s, "a", "X", 1000), 0);
    assert_int_equal(fx_create(fx->s, "b", "X", 1000), 0);
    w = fx_claim(fx->s, "w1", 1000, 2000, 2);
    assert_int_equal(w->u.claim_instances.n_ids, 2);
    assert_string_equal(w->u.claim_instances.ids[0], "c");
    assert_string_equal(w->u.claim_instances.ids[1], "a");
    dt_write_free(w);
    fx_claim_one(fx->s, "w1", 1000, "b");
}

static void
test_claim_two_owners_never_share(void **state)
{
    struct fx *fx = *state;
    struct dt_write *w1, *w2;
    char id[32];

    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof(id), "i%02d", i);
        assert_int_equal(fx_create(fx->s, id, "X", 1000), 0);
    }
    w1 = fx_claim(fx->s, "w1", 1000, 9000, 12);
    w2 = fx_claim(fx->s, "w2", 1000, 9000, 12);
    assert_int_equal(w1->u.claim_instances.n_ids, 12);
    assert_int_equal(w2->u.claim_instances.n_ids, 8);
    for (size_t i = 0; i < w1->u.claim_instances.n_ids; i++)
        for (size_t j = 0; j < w2->u.claim_instances.n_ids; j++)
            assert_string_not_equal(w1->u.claim_instances.ids[i], w2->u.claim_instances.ids[j]);
    dt_write_free(w1);
    dt_write_free(w2);
}

/* ------------------------------------------------------------ task leases */

static void
test_claim_tasks_leases_and_expiry(void **state)
{
    struct fx *fx = *state;
    struct dt_write *w;
    struct dt_task *t;
    int64_t rows[2];

    assert_int_equal(fx_create(fx->s, "a", "A", 1000), 0);
    add_tasks(fx->s, "a", 1, 1000, rows);
    add_tasks(fx->s, "a", 1, 5000, rows + 1);
    w = fx_claim_tasks(fx->s, "w1", 999, 2000, 10, 0);
    assert_int_equal(w->u.claim_tasks.tasks.count, 0);
    dt_write_free(w);
    w = fx_claim_tasks(fx->s, "w1", 1000, 2000, 10, 0);
    assert_int_equal(w->u.claim_tasks.tasks.count, 1);
    t = w->u.claim_tasks.tasks.items[0];
    assert_int_equal(t->id, rows[0]);
    assert_string_equal(t->instance_id, "a");
    assert_string_equal(t->execution_id, "exec-1");
    assert_string_equal(t->name, "Act");
    assert_string_equal(t->input, "{\"i\":1}");
    assert_int_equal(t->deliveries, 1);
    assert_string_equal(t->lease_owner, "w1");
    assert_int_equal(t->lease_until_ms, 2000);
    dt_write_free(w);
    w = fx_claim_tasks(fx->s, "w2", 1999, 3000, 10, 0);
    assert_int_equal(w->u.claim_tasks.tasks.count, 0); /* leased */
    dt_write_free(w);
    assert_int_equal(next_due(fx->s, 1999), 2000);
    w = fx_claim_tasks(fx->s, "w2", 2000, 9000, 10, 0);
    assert_int_equal(w->u.claim_tasks.tasks.count, 1); /* lease expired */
    assert_int_equal(w->u.claim_tasks.tasks.items[0]->deliveries, 2);
    dt_write_free(w);
    w = fx_claim_tasks(fx->s, "w2", 5000, 9000, 10, 0);
    assert_int_equal(w->u.claim_tasks.tasks.count, 1);
    assert_int_equal(w->u.claim_tasks.tasks.items[0]->id, rows[1]);
    dt_write_free(w);
}

static void
test_claim_tasks_poisons_after_max_deliveries(void **state)
{
    struct fx *fx = *state;
    struct dt_write *w;

    assert_int_equal(fx_create(fx->s, "a", "A", 1000), 0);
    add_tasks(fx->s, "a", 1, 0, NULL);
    for (int64_t now = 1000; now <= 3000; now += 1000) {
        w = fx_claim_tasks(fx->s, "w1", now, now + 500, 10, 2);
        if (now < 3000) {
            assert_int_equal(w->u.claim_tasks.tasks.count, 1);
            assert_int_equal(w->u.claim_tasks.poisoned.count, 0);
        } else {
            assert_int_equal(w->u.claim_tasks.tasks.count, 0);
            assert_int_equal(w->u.claim_tasks.poisoned.count, 1);
            assert_int_equal(w->u.claim_tasks.poisoned.items[0]->deliveries, 3);
        }
        dt_write_free(w);
    }
}

static void
test_claim_tasks_two_owners_never_share(void **state)
{
    struct fx *fx = *state;
    struct dt_write *w1, *w2;

    assert_int_equal(fx_create(fx->s, "a", "A", 1000), 0);
    add_tasks(fx->s, "a", 10, 0, NULL);
    w1 = fx_claim_tasks(fx->s, "w1", 1000, 9000, 6, 0);
    w2 = fx_claim_tasks(fx->s, "w2", 1000, 9000, 6, 0);
    assert_int_equal(w1->u.claim_tasks.tasks.count, 6);
    assert_int_equal(w2->u.claim_tasks.tasks.count, 4);
    for (size_t i = 0; i < 6; i++)
        for (size_t j = 0; j < 4; j++)
            assert_true(w1->u.claim_tasks.tasks.items[i]->id !=
                        w2->u.claim_tasks.tasks.items[j]->id);
    for (size_t i = 1; i < 6; i++) /* oldest first */
        assert_true(w1->u.claim_tasks.tasks.items[i]->id >
                    w1->u.claim_tasks.tasks.items[i - 1]->id);
    dt_write_free(w1);
    dt_write_free(w2);
}

static int
renew(struct dt_store *s, const char *owner, const int64_t *ids, size_t n, int64_t until,
      bool *lost_out)
{
    struct dt_write *w = dt_write_new(DT_W_RENEW);
    int rc;

    w->u.renew.owner = fx_strdup(owner);
    w->u.renew.ids = malloc(n * sizeof(int64_t));
    memcpy(w->u.renew.ids, ids, n * sizeof(int64_t));
    w->u.renew.n = n;
    w->u.renew.lease_until_ms = until;
    fx_commit(s, &w, 1);
    rc = w->rc;
    assert_non_null(w->u.renew.lost);
    memcpy(lost_out, w->u.renew.lost, n * sizeof(bool));
    dt_write_free(w);
    return rc;
}

static void
test_renew_extends_and_reports_lost_leases(void **state)
{
    struct fx *fx = *state;
    struct dt_write *w;
    int64_t rows[2];
    bool lost[2];

    assert_int_equal(fx_create(fx->s, "a", "A", 1000), 0);
    add_tasks(fx->s, "a", 2, 0, rows);
    w = fx_claim_tasks(fx->s, "w1", 1000, 2000, 1, 0); /* w1 holds rows[0] */
    dt_write_free(w);
    w = fx_claim_tasks(fx->s, "w2", 1000, 2000, 1, 0); /* w2 holds rows[1] */
    dt_write_free(w);
    assert_int_equal(renew(fx->s, "w1", rows, 1, 10000, lost), 0);
    assert_false(lost[0]);
    w = fx_claim_tasks(fx->s, "w3", 5000, 6000, 10, 0); /* only w2's expired */
    assert_int_equal(w->u.claim_tasks.tasks.count, 1);
    assert_int_equal(w->u.claim_tasks.tasks.items[0]->id, rows[1]);
    dt_write_free(w);
    /* w1 renews both: it holds rows[0] but rows[1] is w3's */
    assert_int_equal(renew(fx->s, "w1", rows, 2, 20000, lost), DURATA_ECONFLICT);
    assert_false(lost[0]);
    assert_true(lost[1]);
    /* the lease that was held is renewed although the unit reports ECONFLICT:
     * at 15000 only rows[1] (w3's lease ended at 6000) is free */
    w = fx_claim_tasks(fx->s, "w4", 15000, 16000, 10, 0);
    assert_int_equal(w->u.claim_tasks.tasks.count, 1);
    assert_int_equal(w->u.claim_tasks.tasks.items[0]->id, rows[1]);
    dt_write_free(w);
}

static void
test_task_release_makes_visible_at(void **state)
{
    struct fx *fx = *state;
    struct dt_write *w;
    int64_t row;

    assert_int_equal(fx_create(fx->s, "a", "A", 1000), 0);
    add_tasks(fx->s, "a", 1, 0, &row);
    dt_write_free(fx_claim_tasks(fx->s, "w1", 1000, 100000, 10, 0));
    w = dt_write_new(DT_W_TASK_RELEASE);
    w->u.task_release.task_row_id = row;
    w->u.task_release.lease_owner = fx_strdup("w2");
    w->u.task_release.visible_ms = 1500;
    assert_int_equal(fx_commit1(fx->s, w), DURATA_ECONFLICT); /* not w2's lease */
    w = dt_write_new(DT_W_TASK_RELEASE);
    w->u.task_release.task_row_id = row;
    w->u.task_release.lease_owner = fx_strdup("w1");
    w->u.task_release.visible_ms = 1500;
    assert_int_equal(fx_commit1(fx->s, w), 0);
    w = fx_claim_tasks(fx->s, "w2", 1499, 3000, 10, 0);
    assert_int_equal(w->u.claim_tasks.tasks.count, 0);
    dt_write_free(w);
    assert_int_equal(next_due(fx->s, 1499), 1500);
    w = fx_claim_tasks(fx->s, "w2", 1500, 3000, 10, 0);
    assert_int_equal(w->u.claim_tasks.tasks.count, 1);
    dt_write_free(w);
}

/* ----------------------------------------------------------------- purge */

static int
purge(struct dt_store *s, const char *id, int *deleted)
{
    struct dt_write *w = dt_write_new(DT_W_PURGE);
    int rc;

    w->u.purge.instance_id = fx_strdup(id);
    w->u.purge.deleted = -1;
    fx_commit(s, &w, 1);
    rc = w->rc;
    *deleted = w->u.purge.deleted;
    dt_write_free(w);
    return rc;
}

static void
test_purge_only_terminal(void **state)
{
    struct fx *fx = *state;
    int64_t by[8], n_inbox, n_tasks;
    int deleted;

    assert_int_equal(purge(fx->s, "ghost", &deleted), DURATA_ENOTFOUND);
    assert_int_equal(fx_create(fx->s, "a", "A", 1000), 0);
    add_tasks(fx->s, "a", 2, 0, NULL);
    assert_int_equal(purge(fx->s, "a", &deleted), 0);
    assert_int_equal(deleted, 0);
    assert_true(fx_exists(fx->s, "a"));
    assert_int_equal(fx_set_status(fx->s, "a", DURATA_COMPLETED), 0);
    assert_int_equal(purge(fx->s, "a", &deleted), 0);
    assert_int_equal(deleted, 1);
    assert_false(fx_exists(fx->s, "a"));
    fx_counts(fx->s, by, &n_inbox, &n_tasks);
    assert_int_equal(n_inbox, 0);
    assert_int_equal(n_tasks, 0);
    assert_int_equal(fx_history_len(fx->s, "a"), 0);
}

static int64_t
purge_many(struct dt_store *s, unsigned statuses, const char *name, size_t max)
{
    struct dt_write *w = dt_write_new(DT_W_PURGE_MANY);
    int64_t deleted;

    w->u.purge_many.filter.statuses = statuses;
    w->u.purge_many.filter.name = fx_strdup(name);
    w->u.purge_many.max = max;
    fx_commit(s, &w, 1);
    assert_int_equal(w->rc, 0);
    deleted = w->u.purge_many.deleted;
    dt_write_free(w);
    return deleted;
}

static void
test_purge_many_terminal_only_and_capped(void **state)
{
    struct fx *fx = *state;
    static const enum durata_status cycle[] = {DURATA_RUNNING, DURATA_COMPLETED, DURATA_FAILED,
                                               DURATA_PENDING, DURATA_TERMINATED};
    int64_t by[8], n_inbox, n_tasks;
    char id[32];

    for (int i = 0; i < 100; i++) { /* 20 of each status: 60 terminal */
        snprintf(id, sizeof(id), "i%03d", i);
        assert_int_equal(fx_create(fx->s, id, i % 2 ? "Odd" : "Even", 1000 + i), 0);
        if (cycle[i % 5] != DURATA_PENDING)
            assert_int_equal(fx_set_status(fx->s, id, cycle[i % 5]), 0);
    }
    assert_int_equal(purge_many(fx->s, 1u << DURATA_RUNNING, NULL, 0), 0);
    assert_int_equal(purge_many(fx->s, 1u << DURATA_COMPLETED, "Odd", 0), 10);
    assert_int_equal(purge_many(fx->s, 0, NULL, 30), 30);
    assert_int_equal(purge_many(fx->s, 0, NULL, 0), 20);
    assert_int_equal(purge_many(fx->s, 0, NULL, 0), 0);
    fx_counts(fx->s, by, &n_inbox, &n_tasks);
    assert_int_equal(by[DURATA_RUNNING], 20);
    assert_int_equal(by[DURATA_PENDING], 20);
    assert_int_equal(by[DURATA_COMPLETED] + by[DURATA_FAILED] + by[DURATA_TERMINATED], 0);
    assert_int_equal(n_inbox, 40);
}

/* ----------------------------------------------------------------- query */

static void
make_query_data(struct dt_store *s)
{
    char id[32];

    /* 25 instances, created in pairs sharing a time, ids not in time order */
    for (int i = 0; i < 25; i++) {
        snprintf(id, sizeof(id), "%c-%02d", i % 3 == 0 ? 'x' : 'y', 24 - i);
        assert_int_equal(fx_create(s, id, i % 2 ? "Odd" : "Even", 1000 + i / 2), 0);
        if (i % 4 == 0)
            assert_int_equal(fx_set_status(s, id, DURATA_COMPLETED), 0);
    }
}

/* Walks all pages of f with page size limit; checks order; returns count. */
static size_t
walk_pages(struct dt_store *s, const struct durata_filter *f, size_t limit, size_t *pages)
{
    struct durata_instance prev = {0};
    char *after = NULL, prev_id[32] = "";
    struct durata_page *p;
    size_t total = 0, cap = limit ? limit : 100;

    *pages = 0;
    do {
        assert_int_equal(s->ops->query(s, f, limit, after, &p), 0);
        free(after);
        (*pages)++;
        assert_true(p->count <= cap);
        for (size_t i = 0; i < p->count; i++) {
            struct durata_instance *it = p->items[i];

            if (total > 0)
                assert_true(it->created_ms > prev.created_ms ||
                            (it->created_ms == prev.created_ms && strcmp(it->id, prev_id) > 0));
            prev.created_ms = it->created_ms;
            snprintf(prev_id, sizeof(prev_id), "%s", it->id);
            total++;
        }
        if (p->continuation)
            assert_int_equal(p->count, cap);
        after = fx_strdup(p->continuation);
        for (size_t i = 0; i < p->count; i++)
            durata_instance_free(p->items[i]);
        free(p->items);
        free(p->continuation);
        free(p);
    } while (after);
    return total;
}

static void
test_query_pages_through_everything_in_order(void **state)
{
    struct fx *fx = *state;
    struct durata_filter all = {0};
    size_t pages;

    make_query_data(fx->s);
    assert_int_equal(walk_pages(fx->s, &all, 7, &pages), 25);
    assert_int_equal(pages, 4);
    assert_int_equal(walk_pages(fx->s, &all, 5, &pages), 25);
    assert_int_equal(pages, 5); /* no empty page after an exact fit */
    assert_int_equal(walk_pages(fx->s, &all, 1, &pages), 25);
    assert_int_equal(walk_pages(fx->s, NULL, 0, &pages), 25);
    assert_int_equal(pages, 1);
}

static void
test_query_filters(void **state)
{
    struct fx *fx = *state;
    struct durata_filter f = {0};
    size_t pages;

    make_query_data(fx->s);
    f.statuses = 1u << DURATA_COMPLETED;
    assert_int_equal(walk_pages(fx->s, &f, 3, &pages), 7);
    f.statuses = (1u << DURATA_COMPLETED) | (1u << DURATA_PENDING);
    assert_int_equal(walk_pages(fx->s, &f, 3, &pages), 25);
    f.statuses = 1u << DURATA_RUNNING;
    assert_int_equal(walk_pages(fx->s, &f, 3, &pages), 0);
    f.statuses = 0;
    f.created_from_ms = 1002; /* i >= 4 */
    f.created_to_ms = 1005;   /* i < 10 */
    assert_int_equal(walk_pages(fx->s, &f, 4, &pages), 6);
    f.created_from_ms = f.created_to_ms = 0;
    f.name = "Odd";
    assert_int_equal(walk_pages(fx->s, &f, 4, &pages), 12);
    f.name = NULL;
    f.id_prefix = "x-";
    assert_int_equal(walk_pages(fx->s, &f, 4, &pages), 9);
    f.id_prefix = "x-2";
    assert_int_equal(walk_pages(fx->s, &f, 4, &pages), 2); /* x-24, x-21 */
    f.name = "Even";
    f.statuses = 1u << DURATA_COMPLETED;
    f.id_prefix = "x";
    /* i % 12 == 0: i = 0, 12, 24 */
    assert_int_equal(walk_pages(fx->s, &f, 2, &pages), 3);
}

static void
test_query_rejects_bad_continuation(void **state)
{
    struct fx *fx = *state;
    static const char *const bad[] = {"",         "garbage",    "bnVsbA==", "c1.",
                                      "c1.12",    "c1.12.",     "c1.x.61",  "c1.12.6",
                                      "c1.12.zz", "c1.12.0061", "c2.1.61"};
    struct durata_page *p = NULL;

    make_query_data(fx->s);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(fx->s->ops->query(fx->s, NULL, 5, bad[i], &p), DURATA_EINVAL);
        assert_null(p);
    }
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

const struct CMUnitTest contract_claim_tests[] = {
    T(test_claim_waits_for_visibility_and_lock_expiry),
    T(test_claim_suspended_only_for_resume_or_terminate),
    T(test_claim_pending_only_for_start_or_control),
    T(test_preclaim_locks_what_a_unit_makes_visible),
    T(test_preclaim_leases_a_steps_tasks),
    T(test_claim_oldest_first_up_to_max),
    T(test_claim_two_owners_never_share),
    T(test_claim_tasks_leases_and_expiry),
    T(test_claim_tasks_poisons_after_max_deliveries),
    T(test_claim_tasks_two_owners_never_share),
    T(test_renew_extends_and_reports_lost_leases),
    T(test_task_release_makes_visible_at),
    T(test_purge_only_terminal),
    T(test_purge_many_terminal_only_and_capped),
    T(test_query_pages_through_everything_in_order),
    T(test_query_filters),
    T(test_query_rejects_bad_continuation),
};
const size_t contract_claim_count = sizeof(contract_claim_tests) / sizeof(contract_claim_tests[0]);
