/*
 * sqlite_claim.c — the claim and purge units of the SQLite backend.
 *
 * Owns: claiming instances (locks) and tasks (leases), and deleting terminal
 * instances. Claims run inside commit()'s write transaction, so two claimers
 * — threads or processes sharing the file — are serialized by SQLite's write
 * lock and can never take the same instance or task.
 * "Oldest waiting first" for instances means: by the visible time of their
 * earliest claimable message, then arrival order; the scan streams messages
 * along the (visible_ms) index and stops at max distinct instances.
 * Task leases keep the invariant of schema.c: a leased task's visible_ms is
 * its lease_until_ms, so "visible and not leased, or lease expired" is the
 * single indexed predicate visible_ms <= now.
 * Threading: runs under write_mu on the writer connection only.
 */
#include "store/sqlite_impl.h"

#include <stdlib.h>
#include <string.h>

#define PURGE_CHUNK 256

static const unsigned terminal_statuses = (1u << DURATA_COMPLETED) | (1u << DURATA_FAILED) |
                                          (1u << DURATA_CANCELED) | (1u << DURATA_TERMINATED);

/* size_t counts as an SQL LIMIT. */
static sqlite3_int64
sql_limit(size_t n)
{
    return n > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)n;
}

/* A growable array of owned strings. */
struct id_list {
    char **ids;
    size_t count;
    size_t cap;
};

static int
id_list_push_copy(struct id_list *l, sqlite3_stmt *st, int col)
{
    bool oom = false;
    char *id;

    if (l->count == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        char **n = realloc(l->ids, ncap * sizeof(*n));

        if (!n)
            return DURATA_ENOMEM;
        l->ids = n;
        l->cap = ncap;
    }
    id = dt_sq_column_dup(st, col, &oom);
    if (oom || !id)
        return DURATA_ENOMEM;
    l->ids[l->count++] = id;
    return 0;
}

static void
id_list_release(struct id_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->ids[i]);
    free(l->ids);
    memset(l, 0, sizeof(*l));
}

/* Collects column 0 of every row of a bound statement, then resets it. */
static int
collect_ids(struct dt_sq_conn *c, sqlite3_stmt *st, struct id_list *out, const char *what)
{
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((rc = id_list_push_copy(out, st, 0)) < 0)
            break;
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = dt_sq_error(c, rc, what);
    sqlite3_reset(st);
    return rc;
}

/* ------------------------------------------------------------ instances */

static int
lock_instances(struct dt_sq_conn *c, struct dt_claim_instances *ci, const struct id_list *l)
{
    sqlite3_stmt *st;
    int rc;

    if ((rc = dt_sq_stmt(c, DT_SQ_CLAIM_INST_LOCK, &st)) < 0)
        return rc;
    for (size_t i = 0; i < l->count; i++) {
        if ((dt_sq_bind_text(st, 1, l->ids[i]) | dt_sq_bind_text(st, 2, ci->owner) |
             sqlite3_bind_int64(st, 3, ci->lock_until_ms)) != SQLITE_OK) {
            sqlite3_reset(st);
            return dt_sq_error(c, sqlite3_errcode(c->db), "bind");
        }
        if ((rc = dt_sq_run(c, st, "lock instance")) < 0)
            return rc;
    }
    return 0;
}

static bool
id_list_has(const struct id_list *l, const char *id)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->ids[i], id) == 0)
            return true;
    return false;
}

/* Reads claimable messages until max distinct instances are found. */
static int
collect_instances(struct dt_sq_conn *c, sqlite3_stmt *st, size_t max, struct id_list *out)
{
    const char *id;
    int rc = SQLITE_DONE;

    while (out->count < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        id = (const char *)sqlite3_column_text(st, 0);
        if (id && !id_list_has(out, id) && (rc = id_list_push_copy(out, st, 0)) < 0)
            break;
    }
    if (out->count == max || rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = dt_sq_error(c, rc, "claim instances");
    sqlite3_reset(st);
    return rc;
}

int
dt_sq_claim_instances(struct dt_sq_conn *c, struct dt_claim_instances *ci)
{
    struct id_list l = {0};
    sqlite3_stmt *st;
    int rc;

    for (size_t i = 0; i < ci->n_ids; i++)
        free(ci->ids[i]);
    free(ci->ids);
    ci->ids = NULL;
    ci->n_ids = 0;
    if (!ci->owner)
        return DURATA_EINVAL;
    if (ci->max == 0)
        return 0;
    if ((rc = dt_sq_stmt(c, DT_SQ_CLAIM_INST_SELECT, &st)) < 0)
        return rc;
    if (sqlite3_bind_int64(st, 1, ci->now_ms) != SQLITE_OK) {
        sqlite3_reset(st);
        return dt_sq_error(c, sqlite3_errcode(c->db), "bind");
    }
    if ((rc = collect_instances(c, st, ci->max, &l)) < 0 || (rc = lock_instances(c, ci, &l)) < 0) {
        id_list_release(&l);
        return rc;
    }
    ci->ids = l.ids;
    ci->n_ids = l.count;
    return 0;
}

/* ---------------------------------------------------------------- tasks */

/* A task from a row of the claim's RETURNING clause. */
static struct dt_task *
claimed_task(sqlite3_stmt *st, const struct dt_claim_tasks *ct)
{
    struct dt_task *t = calloc(1, sizeof(*t));
    bool oom = false;

    if (!t)
        return NULL;
    t->id = sqlite3_column_int64(st, 0);
    t->instance_id = dt_sq_column_dup(st, 1, &oom);
    t->execution_id = dt_sq_column_dup(st, 2, &oom);
    t->task_id = sqlite3_column_int(st, 3);
    t->name = dt_sq_column_dup(st, 4, &oom);
    t->input = dt_sq_column_dup(st, 5, &oom);
    t->deliveries = sqlite3_column_int(st, 6);
    t->visible_ms = ct->lease_until_ms;
    t->lease_until_ms = ct->lease_until_ms;
    t->lease_owner = malloc(strlen(ct->owner) + 1);
    if (oom || !t->lease_owner) {
        dt_task_free(t);
        return NULL;
    }
    memcpy(t->lease_owner, ct->owner, strlen(ct->owner) + 1);
    return t;
}

static int
task_cmp(const void *a, const void *b)
{
    const struct dt_task *x = *(const struct dt_task *const *)a;
    const struct dt_task *y = *(const struct dt_task *const *)b;

    return (x->id > y->id) - (x->id < y->id);
}

static void
sort_tasks(struct dt_task_list *l)
{
    if (l->count > 1)
        qsort(l->items, l->count, sizeof(l->items[0]), task_cmp);
}

/* Reads the claimed rows into the unit's lists. */
static int
read_claimed(struct dt_sq_conn *c, sqlite3_stmt *st, struct dt_claim_tasks *ct)
{
    struct dt_task *t;
    bool poison;
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!(t = claimed_task(st, ct))) {
            rc = DURATA_ENOMEM;
            break;
        }
        poison = ct->max_deliveries > 0 && t->deliveries > ct->max_deliveries;
        rc = dt_task_list_push_take(poison ? &ct->poisoned : &ct->tasks, t);
        if (rc < 0)
            break;
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = dt_sq_error(c, rc, "claim tasks");
    sqlite3_reset(st);
    return rc;
}

int
dt_sq_claim_tasks(struct dt_sq_conn *c, struct dt_claim_tasks *ct)
{
    sqlite3_stmt *st;
    int rc;

    dt_task_list_release(&ct->tasks);
    dt_task_list_release(&ct->poisoned);
    if (!ct->owner)
        return DURATA_EINVAL;
    if (ct->max == 0)
        return 0;
    if ((rc = dt_sq_stmt(c, DT_SQ_CLAIM_TASKS, &st)) < 0)
        return rc;
    if ((dt_sq_bind_text(st, 1, ct->owner) | sqlite3_bind_int64(st, 2, ct->lease_until_ms) |
         sqlite3_bind_int64(st, 3, ct->now_ms) | sqlite3_bind_int64(st, 4, sql_limit(ct->max))) !=
        SQLITE_OK) {
        sqlite3_reset(st);
        return dt_sq_error(c, sqlite3_errcode(c->db), "bind");
    }
    if ((rc = read_claimed(c, st, ct)) < 0)
        return rc;
    /* RETURNING order is unspecified; hand tasks out oldest first. */
    sort_tasks(&ct->tasks);
    sort_tasks(&ct->poisoned);
    return 0;
}

/* ---------------------------------------------------------------- purge */

int
dt_sq_purge(struct dt_sq_conn *c, struct dt_purge *p)
{
    int rc, status = 0;

    p->deleted = 0;
    if (!p->instance_id)
        return DURATA_EINVAL;
    if ((rc = dt_sq_instance_status(c, p->instance_id, NULL, &status, NULL)) < 0)
        return rc;
    if (!durata_status_is_terminal((enum durata_status)status))
        return 0;
    if ((rc = dt_sq_delete_instance(c, p->instance_id)) < 0)
        return rc;
    p->deleted = 1;
    return 0;
}

/* Deletes up to `chunk` matching instances; *got = how many. */
static int
purge_chunk(struct dt_sq_conn *c, const struct durata_filter *f, size_t chunk, size_t *got)
{
    struct id_list l = {0};
    sqlite3_stmt *st;
    int rc;

    *got = 0;
    rc = dt_sq_filter_stmt(c, DT_SQF_PURGE, f, 0, NULL, sql_limit(chunk), &st);
    if (rc < 0)
        return rc;
    if ((rc = collect_ids(c, st, &l, "purge select")) < 0)
        goto out_release;
    for (size_t i = 0; i < l.count; i++)
        if ((rc = dt_sq_delete_instance(c, l.ids[i])) < 0)
            goto out_release;
    *got = l.count;
out_release:
    id_list_release(&l);
    return rc;
}

int
dt_sq_purge_many(struct dt_sq_conn *c, struct dt_purge_many *p)
{
    struct durata_filter f = p->filter;
    size_t left = p->max ? p->max : SIZE_MAX, chunk, got;
    int rc;

    p->deleted = 0;
    f.statuses = f.statuses ? f.statuses & terminal_statuses : terminal_statuses;
    if (!f.statuses)
        return 0; /* only non-terminal statuses asked: nothing may go */
    while (left > 0) {
        chunk = left < PURGE_CHUNK ? left : PURGE_CHUNK;
        if ((rc = purge_chunk(c, &f, chunk, &got)) < 0)
            return rc;
        p->deleted += (int64_t)got;
        left -= got;
        if (got < chunk)
            break;
    }
    return 0;
}
