/*
 * sqlite_read.c — the point reads of the SQLite backend: one instance, its
 * history, its visible inbox, the next due time and the counters.
 *
 * Owns: turning rows into model values (an instance row, events, messages).
 * Stored JSON that does not decode is reported as DURATA_ECORRUPT, never
 * skipped. On failure an output list is left as it was on entry.
 * Threading: each call borrows a reader connection from the pool
 * (dt_sq_reader_get) for its duration; any number of threads may read while
 * commit() writes (WAL).
 */
#include "store/codec.h"
#include "store/sqlite_impl.h"

#include <stdlib.h>
#include <string.h>

int
dt_sq_read_instance(sqlite3_stmt *st, struct durata_instance **out)
{
    struct durata_instance *inst = calloc(1, sizeof(*inst));
    bool oom = false;
    int rc;

    if (!inst)
        return DURATA_ENOMEM;
    inst->id = dt_sq_column_dup(st, 0, &oom);
    inst->name = dt_sq_column_dup(st, 1, &oom);
    inst->version = dt_sq_column_dup(st, 2, &oom);
    inst->execution_id = dt_sq_column_dup(st, 3, &oom);
    inst->status = (enum durata_status)sqlite3_column_int(st, 4);
    inst->input = dt_sq_column_dup(st, 5, &oom);
    inst->output = dt_sq_column_dup(st, 6, &oom);
    inst->custom_status = dt_sq_column_dup(st, 7, &oom);
    inst->created_ms = sqlite3_column_int64(st, 9);
    inst->updated_ms = sqlite3_column_int64(st, 10);
    inst->completed_ms = sqlite3_column_int64(st, 11);
    inst->scheduled_start_ms = sqlite3_column_int64(st, 12);
    inst->parent_id = dt_sq_column_dup(st, 13, &oom);
    rc = oom ? DURATA_ENOMEM : 0;
    if (rc == 0)
        rc = dt_failure_decode((const char *)sqlite3_column_text(st, 8), &inst->failure);
    if (rc == 0 && (!inst->id || !inst->name || (int)inst->status < DURATA_RUNNING ||
                    (int)inst->status > DURATA_SUSPENDED))
        rc = DURATA_ECORRUPT;
    if (rc < 0) {
        durata_instance_free(inst);
        return rc == DURATA_EJSON ? DURATA_ECORRUPT : rc;
    }
    *out = inst;
    return 0;
}

/* Borrows a reader and its cached statement sid with ?1 = id bound. */
static int
reader_stmt(struct dt_store *store, enum dt_sq_id sid, const char *id, struct dt_sq_reader **r,
            sqlite3_stmt **st)
{
    int rc;

    if ((rc = dt_sq_reader_get(dt_sq_from_store(store), r)) < 0)
        return rc;
    if ((rc = dt_sq_stmt(&(*r)->conn, sid, st)) < 0)
        goto out_put;
    if (id && dt_sq_bind_text(*st, 1, id) != SQLITE_OK) {
        rc = dt_sq_error(&(*r)->conn, sqlite3_errcode((*r)->conn.db), "bind");
        sqlite3_reset(*st);
        goto out_put;
    }
    return 0;

out_put:
    dt_sq_reader_put(*r);
    return rc;
}

/* Maps the code a row loop ended with (SQLITE_DONE = success), resets the
 * statement and returns the reader. */
static int
reader_finish(struct dt_sq_reader *r, sqlite3_stmt *st, int rc, const char *what)
{
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = dt_sq_error(&r->conn, rc, what);
    sqlite3_reset(st);
    dt_sq_reader_put(r);
    return rc;
}

/* The cached statement sid of conn with ?1 = id bound. */
static int
conn_stmt(struct dt_sq_conn *conn, enum dt_sq_id sid, const char *id, sqlite3_stmt **st)
{
    int rc = dt_sq_stmt(conn, sid, st);
    if (rc < 0)
        return rc;
    if (dt_sq_bind_text(*st, 1, id) != SQLITE_OK) {
        rc = dt_sq_error(conn, sqlite3_errcode(conn->db), "bind");
        sqlite3_reset(*st);
        return rc;
    }
    return 0;
}

/* Maps the code a row loop ended with and resets the statement. */
static int
stmt_finish(struct dt_sq_conn *conn, sqlite3_stmt *st, int rc, const char *what)
{
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = dt_sq_error(conn, rc, what);
    sqlite3_reset(st);
    return rc;
}

static int
instance_on(struct dt_sq_conn *conn, const char *id, struct durata_instance **out)
{
    sqlite3_stmt *st;
    int rc = conn_stmt(conn, DT_SQ_GET_INSTANCE, id, &st);
    if (rc < 0)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        rc = dt_sq_read_instance(st, out);
    else if (rc == SQLITE_DONE)
        rc = DURATA_ENOTFOUND;
    return stmt_finish(conn, st, rc, "get instance");
}

int
dt_sq_get_instance(struct dt_store *store, const char *id, struct durata_instance **out)
{
    struct dt_sq_reader *r;
    int rc;

    if (!id || !out)
        return DURATA_EINVAL;
    *out = NULL;
    if ((rc = dt_sq_reader_get(dt_sq_from_store(store), &r)) < 0)
        return rc;
    rc = instance_on(&r->conn, id, out);
    dt_sq_reader_put(r);
    return rc;
}

/* Appends the events of one history row: one event object (version 1
 * rows) or an array of them. */
static int
decode_history_row(const char *text, struct dt_event_list *out)
{
    struct dt_event *e;
    int rc;

    if (!text)
        return DURATA_ECORRUPT;
    if (text[0] != '[') {
        rc = dt_event_from_json(text, &e);
        if (rc == 0)
            rc = dt_event_list_push_take(out, e);
        return rc == DURATA_EJSON ? DURATA_ECORRUPT : rc;
    }
    json_t *a = json_loads(text, 0, NULL);
    if (!json_is_array(a)) {
        json_decref(a);
        return DURATA_ECORRUPT;
    }
    size_t i;
    json_t *v;
    rc = 0;
    json_array_foreach(a, i, v)
    {
        if ((rc = dt_event_from_value(v, &e)) < 0 || (rc = dt_event_list_push_take(out, e)) < 0)
            break;
    }
    json_decref(a);
    return rc;
}

int
dt_sq_get_history(struct dt_store *store, const char *id, struct dt_event_list *out)
{
    size_t start = out ? out->count : 0;
    struct dt_sq_reader *r;
    sqlite3_stmt *st;
    int rc;

    if (!id || !out)
        return DURATA_EINVAL;
    if ((rc = reader_stmt(store, DT_SQ_GET_HISTORY, id, &r, &st)) < 0)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((rc = decode_history_row((const char *)sqlite3_column_text(st, 0), out)) < 0)
            break;
    rc = reader_finish(r, st, rc, "get history");
    while (rc < 0 && out->count > start)
        dt_event_free(out->items[--out->count]);
    return rc;
}

static int
history_len_on(struct dt_sq_conn *conn, const char *id, size_t *out)
{
    sqlite3_stmt *st;
    int rc = conn_stmt(conn, DT_SQ_HISTORY_LEN, id, &st);
    if (rc < 0)
        return rc;
    *out = 0; /* no row: no history */
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = (size_t)sqlite3_column_int64(st, 0);
        rc = SQLITE_DONE;
    }
    return stmt_finish(conn, st, rc, "history length");
}

int
dt_sq_history_len(struct dt_store *store, const char *id, size_t *out)
{
    struct dt_sq_reader *r;
    int rc;

    if (!id || !out)
        return DURATA_EINVAL;
    if ((rc = dt_sq_reader_get(dt_sq_from_store(store), &r)) < 0)
        return rc;
    rc = history_len_on(&r->conn, id, out);
    dt_sq_reader_put(r);
    return rc;
}

/* A message from a row (id, execution_id, visible_ms, event). */
static int
read_msg(sqlite3_stmt *st, const char *instance_id, struct dt_msg **out)
{
    struct dt_event *e;
    struct dt_msg *m;
    bool oom = false;
    char *exec;
    int rc;

    rc = dt_event_from_json((const char *)sqlite3_column_text(st, 3), &e);
    if (rc < 0)
        return rc == DURATA_EJSON ? DURATA_ECORRUPT : rc;
    exec = dt_sq_column_dup(st, 1, &oom);
    m = oom ? NULL : dt_msg_new_take(instance_id, exec, sqlite3_column_int64(st, 2), e);
    free(exec);
    if (!m) {
        if (oom)
            dt_event_free(e);
        return DURATA_ENOMEM;
    }
    m->id = sqlite3_column_int64(st, 0);
    *out = m;
    return 0;
}

static int
inbox_on(struct dt_sq_conn *conn, const char *id, int64_t now_ms, struct dt_msg_list *out)
{
    size_t start = out->count;
    struct dt_msg *m;
    sqlite3_stmt *st;
    int rc = conn_stmt(conn, DT_SQ_GET_INBOX, id, &st);

    if (rc < 0)
        return rc;
    if (sqlite3_bind_int64(st, 2, now_ms) != SQLITE_OK)
        return stmt_finish(conn, st, sqlite3_errcode(conn->db), "bind");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((rc = read_msg(st, id, &m)) < 0 || (rc = dt_msg_list_push_take(out, m)) < 0)
            break;
    rc = stmt_finish(conn, st, rc, "get inbox");
    while (rc < 0 && out->count > start)
        dt_msg_free(out->items[--out->count]);
    return rc;
}

int
dt_sq_get_inbox(struct dt_store *store, const char *id, int64_t now_ms, struct dt_msg_list *out)
{
    struct dt_sq_reader *r;
    int rc;

    if (!id || !out)
        return DURATA_EINVAL;
    if ((rc = dt_sq_reader_get(dt_sq_from_store(store), &r)) < 0)
        return rc;
    rc = inbox_on(&r->conn, id, now_ms, out);
    dt_sq_reader_put(r);
    return rc;
}

int
dt_sq_load_step(struct dt_store *store, const char *id, int64_t now_ms,
                struct durata_instance **inst, struct dt_msg_list *inbox, size_t *history_len)
{
    struct dt_sq_reader *r;
    int rc;

    if (!id || !inst || !inbox || !history_len)
        return DURATA_EINVAL;
    *inst = NULL;
    if ((rc = dt_sq_reader_get(dt_sq_from_store(store), &r)) < 0)
        return rc;
    if ((rc = dt_sq_exec(&r->conn, DT_SQ_BEGIN_READ)) < 0)
        goto out_put;
    rc = instance_on(&r->conn, id, inst);
    if (rc == 0)
        rc = inbox_on(&r->conn, id, now_ms, inbox);
    if (rc == 0)
        rc = history_len_on(&r->conn, id, history_len);
    /* A read transaction: ending it cannot lose anything. */
    if (dt_sq_exec(&r->conn, DT_SQ_COMMIT) < 0 && rc == 0)
        rc = DURATA_ESTORE;
    if (rc < 0) {
        durata_instance_free(*inst);
        *inst = NULL;
    }
out_put:
    dt_sq_reader_put(r);
    return rc;
}

int
dt_sq_next_due(struct dt_store *store, int64_t now_ms, int64_t *out_ms)
{
    struct dt_sq_reader *r;
    sqlite3_stmt *st;
    int rc;

    if (!out_ms)
        return DURATA_EINVAL;
    *out_ms = 0;
    if ((rc = reader_stmt(store, DT_SQ_NEXT_DUE, NULL, &r, &st)) < 0)
        return rc;
    if (sqlite3_bind_int64(st, 1, now_ms) != SQLITE_OK)
        return reader_finish(r, st, sqlite3_errcode(r->conn.db), "bind");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) != SQLITE_NULL)
            *out_ms = sqlite3_column_int64(st, 0);
        rc = SQLITE_DONE;
    }
    return reader_finish(r, st, rc, "next due");
}

/* One COUNT(*) statement into *out (skipped when out is NULL). */
static int
count_one(struct dt_sq_reader *r, enum dt_sq_id sid, int64_t *out)
{
    sqlite3_stmt *st;
    int rc;

    if (!out)
        return 0;
    if ((rc = dt_sq_stmt(&r->conn, sid, &st)) < 0)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = 0;
    } else {
        rc = dt_sq_error(&r->conn, rc, "count");
    }
    sqlite3_reset(st);
    return rc;
}

int
dt_sq_counts(struct dt_store *store, int64_t by_status[8], int64_t *inbox, int64_t *tasks)
{
    struct dt_sq_reader *r;
    sqlite3_stmt *st;
    int rc, status;

    if (!by_status)
        return DURATA_EINVAL;
    memset(by_status, 0, 8 * sizeof(by_status[0]));
    if ((rc = reader_stmt(store, DT_SQ_COUNT_STATUS, NULL, &r, &st)) < 0)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        status = sqlite3_column_int(st, 0);
        if (status >= 0 && status < 8)
            by_status[status] = sqlite3_column_int64(st, 1);
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else
        rc = dt_sq_error(&r->conn, rc, "count instances");
    sqlite3_reset(st);
    if (rc == 0)
        rc = count_one(r, DT_SQ_COUNT_INBOX, inbox);
    if (rc == 0)
        rc = count_one(r, DT_SQ_COUNT_TASKS, tasks);
    dt_sq_reader_put(r);
    return rc;
}
