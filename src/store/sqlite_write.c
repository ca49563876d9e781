/*
 * sqlite_write.c — commit(): the batch transaction and the message, create,
 * step and task units of the SQLite backend.
 *
 * Owns: the group commit. A batch is one BEGIN IMMEDIATE ... COMMIT (one
 * fsync of the WAL). A unit that fails (rc < 0) must leave no trace while
 * the batch goes on. Units check their preconditions before they write, so
 * a failing unit almost always fails before any change: the batch first
 * runs without savepoints (they cost a quarter of the writer's time), and
 * only if a unit failed after changing rows (sqlite3_total_changes moved) is
 * the transaction rolled back and the batch run again with each unit inside
 * SAVEPOINT unit, so that unit is rolled back alone. If the
 * transaction itself fails (COMMIT, or SQLite rolling it back on I/O error
 * or disk full), everything is rolled back and every unit gets the error.
 * Two outcomes keep their changes although rc < 0, because the contract
 * says so: a Renew with a lost lease (ECONFLICT; the other leases are
 * renewed) and a Create refused with ECONFLICT whose on_conflict message is
 * delivered.
 * Delivery rules (outbox, task results, on_conflict): a message to an
 * instance that does not exist or is terminal is dropped; so is one whose
 * execution_id names an execution that is no longer the instance's current
 * one (a stale message, see dt_msg). A Send applies the same stale rule
 * after its own checks (ENOTFOUND, EGONE, ECONFLICT).
 * Threading: runs under write_mu on the writer connection only.
 */
#include "store/codec.h"
#include "store/sqlite_impl.h"

#include "base/buf.h"
#include "base/log.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ helpers */

/* Reports a failed bind (bind codes are OR-ed together by the callers). */
static int
bind_failed(struct dt_sq_conn *c, sqlite3_stmt *st)
{
    int rc = dt_sq_error(c, sqlite3_errcode(c->db), "bind");

    sqlite3_reset(st);
    return rc;
}

int
dt_sq_instance_status(struct dt_sq_conn *c, const char *id, const char *execution_id, int *status,
                      bool *exec)
{
    sqlite3_stmt *st;
    const char *row_exec;
    int rc;

    if ((rc = dt_sq_stmt(c, DT_SQ_INST_STATUS, &st)) < 0)
        return rc;
    if (dt_sq_bind_text(st, 1, id) != SQLITE_OK)
        return bind_failed(c, st);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *status = sqlite3_column_int(st, 0);
        row_exec = (const char *)sqlite3_column_text(st, 1);
        if (exec)
            *exec = !execution_id || !row_exec || strcmp(execution_id, row_exec) == 0;
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = DURATA_ENOTFOUND;
    } else {
        rc = dt_sq_error(c, rc, "instance status");
    }
    sqlite3_reset(st);
    return rc;
}

/* Runs a prepared statement and reports how many rows it changed. */
static int
run_changes(struct dt_sq_conn *c, sqlite3_stmt *st, const char *what, int *changes)
{
    int rc = dt_sq_run(c, st, what);

    *changes = rc < 0 ? 0 : sqlite3_changes(c->db);
    return rc;
}

/* Runs the cached statement id with text ?1 = id. */
static int
run_by_id(struct dt_sq_conn *c, enum dt_sq_id sid, const char *id, const char *what)
{
    sqlite3_stmt *st;
    int rc;

    if ((rc = dt_sq_stmt(c, sid, &st)) < 0)
        return rc;
    if (dt_sq_bind_text(st, 1, id) != SQLITE_OK)
        return bind_failed(c, st);
    return dt_sq_run(c, st, what);
}

int
dt_sq_delete_instance(struct dt_sq_conn *c, const char *id)
{
    int rc;

    if ((rc = run_by_id(c, DT_SQ_INST_DELETE, id, "delete instance")) < 0 ||
        (rc = run_by_id(c, DT_SQ_HIST_DELETE_ALL, id, "delete history")) < 0 ||
        (rc = run_by_id(c, DT_SQ_INBOX_DELETE_ALL, id, "delete inbox")) < 0 ||
        (rc = run_by_id(c, DT_SQ_TASKS_DELETE_ALL, id, "delete tasks")) < 0)
        return rc;
    return 0;
}

/* Inserts m into target's inbox with statement sid (DT_SQ_INBOX_INSERT,
 * or DT_SQ_INBOX_DELIVER, which may insert nothing); sets m->id to the new
 * row, or 0 when nothing was inserted. */
static int
inbox_write(struct dt_sq_conn *c, enum dt_sq_id sid, const char *target, struct dt_msg *m)
{
    sqlite3_stmt *st;
    char *event;
    int rc, b = 0, changes = 0;

    m->id = 0;
    if ((rc = dt_event_encode(m->event, &event)) < 0)
        return rc;
    if ((rc = dt_sq_stmt(c, sid, &st)) < 0)
        goto out_free;
    b |= dt_sq_bind_text(st, 1, target);
    b |= dt_sq_bind_text(st, 2, m->execution_id);
    b |= sqlite3_bind_int64(st, 3, m->visible_ms);
    b |= sqlite3_bind_int(st, 4, (int)m->event->type);
    b |= dt_sq_bind_text(st, 5, event);
    rc = b ? bind_failed(c, st) : run_changes(c, st, "insert message", &changes);
    if (rc == 0 && changes)
        m->id = sqlite3_last_insert_rowid(c->db);
out_free:
    free(event);
    return rc;
}

static int
inbox_insert(struct dt_sq_conn *c, const char *target, struct dt_msg *m)
{
    return inbox_write(c, DT_SQ_INBOX_INSERT, target, m);
}

/* Pre-claims the instance that m (just delivered when m->id != 0) woke. */
static int
preclaim_apply(struct dt_sq_conn *c, struct dt_preclaim *pc, const struct dt_msg *m)
{
    sqlite3_stmt *st;
    int rc, b = 0, changes;

    pc->claimed = false;
    if (!pc->owner || !m || m->id == 0 || m->visible_ms > pc->now_ms)
        return 0;
    if ((rc = dt_sq_stmt(c, DT_SQ_PRECLAIM, &st)) < 0)
        return rc;
    b |= dt_sq_bind_text(st, 1, m->instance_id);
    b |= dt_sq_bind_text(st, 2, pc->owner);
    b |= sqlite3_bind_int64(st, 3, pc->until_ms);
    b |= sqlite3_bind_int64(st, 4, pc->now_ms);
    b |= sqlite3_bind_int(st, 5, (int)m->event->type);
    if (b)
        return bind_failed(c, st);
    if ((rc = run_changes(c, st, "pre-claim", &changes)) < 0)
        return rc;
    pc->claimed = changes == 1;
    return 0;
}

static bool
msg_valid(const struct dt_msg *m)
{
    return m && m->instance_id && m->event;
}

/* Delivers m unless its target is missing, terminal or on another
 * execution (then it is dropped: m->id stays 0, and 0 is returned). */
static int
deliver_or_drop(struct dt_sq_conn *c, struct dt_msg *m)
{
    if (!msg_valid(m))
        return DURATA_EINVAL;
    return inbox_write(c, DT_SQ_INBOX_DELIVER, m->instance_id, m);
}

static int
send_apply(struct dt_sq_conn *c, struct dt_send *s)
{
    bool current = true;
    int rc, status = 0;

    if (!msg_valid(s->msg))
        return DURATA_EINVAL;
    rc = dt_sq_instance_status(c, s->msg->instance_id, s->msg->execution_id, &status, &current);
    if (rc < 0)
        return rc;
    if (durata_status_is_terminal((enum durata_status)status))
        return DURATA_EGONE;
    if (s->allowed_statuses && !(s->allowed_statuses & (1u << status)))
        return DURATA_ECONFLICT;
    if (!current)
        return 0;
    if ((rc = inbox_insert(c, s->msg->instance_id, s->msg)) < 0)
        return rc;
    return preclaim_apply(c, &s->claim, s->msg);
}

/* ------------------------------------------------------------- create */

/* Binds the 14 instance columns (DT_SQ_INSTANCE_COLUMNS order) from
 * parameter `first` on, skipping id (bound by the caller) when first > 1. */
static int
bind_state(sqlite3_stmt *st, int first, const struct durata_instance *inst, const char *failure)
{
    int b = 0, i = first;

    b |= dt_sq_bind_text(st, i++, inst->name);
    b |= dt_sq_bind_text(st, i++, inst->version);
    b |= dt_sq_bind_text(st, i++, inst->execution_id);
    b |= sqlite3_bind_int(st, i++, (int)inst->status);
    b |= dt_sq_bind_text(st, i++, inst->input);
    b |= dt_sq_bind_text(st, i++, inst->output);
    b |= dt_sq_bind_text(st, i++, inst->custom_status);
    b |= dt_sq_bind_text(st, i++, failure);
    b |= sqlite3_bind_int64(st, i++, inst->created_ms);
    b |= sqlite3_bind_int64(st, i++, inst->updated_ms);
    b |= sqlite3_bind_int64(st, i++, inst->completed_ms);
    b |= sqlite3_bind_int64(st, i++, inst->scheduled_start_ms);
    b |= dt_sq_bind_text(st, i++, inst->parent_id);
    return b;
}

static bool
status_valid(enum durata_status s)
{
    return (int)s >= DURATA_RUNNING && (int)s <= DURATA_SUSPENDED;
}

static int
insert_instance(struct dt_sq_conn *c, const struct durata_instance *inst, bool *inserted)
{
    sqlite3_stmt *st;
    char *failure;
    int rc, changes = 0;

    if ((rc = dt_failure_encode(inst->failure, &failure)) < 0)
        return rc;
    if ((rc = dt_sq_stmt(c, DT_SQ_INST_INSERT, &st)) < 0)
        goto out_free;
    if (dt_sq_bind_text(st, 1, inst->id) | bind_state(st, 2, inst, failure))
        rc = bind_failed(c, st);
    else
        rc = run_changes(c, st, "insert instance", &changes);
    *inserted = changes > 0;
out_free:
    free(failure);
    return rc;
}

static int step_apply_rest(struct dt_sq_conn *c, struct dt_step *s);

/* Applies a Create. On DURATA_ECONFLICT nothing was changed; the caller
 * decides what to do with on_conflict. */
static int
create_apply(struct dt_sq_conn *c, struct dt_create *cr)
{
    const struct durata_instance *inst = cr->inst;
    struct dt_msg *start = cr->start;
    bool inserted;
    int rc, status = 0;

    if (!inst || !inst->id || !inst->name || !status_valid(inst->status))
        return DURATA_EINVAL;
    if (start && (!start->event || (start->instance_id && strcmp(start->instance_id, inst->id))))
        return DURATA_EINVAL;
    if (cr->first && (start || cr->first->kind != DT_W_STEP || !cr->first->u.step.instance_id ||
                      strcmp(cr->first->u.step.instance_id, inst->id)))
        return DURATA_EINVAL;
    if ((rc = insert_instance(c, inst, &inserted)) < 0)
        return rc;
    if (!inserted) {
        if ((rc = dt_sq_instance_status(c, inst->id, NULL, &status, NULL)) < 0)
            return rc;
        if (!cr->replace_terminal || !durata_status_is_terminal((enum durata_status)status))
            return DURATA_ECONFLICT;
        if ((rc = dt_sq_delete_instance(c, inst->id)) < 0 ||
            (rc = insert_instance(c, inst, &inserted)) < 0)
            return rc;
        if (!inserted)
            return DURATA_ESTORE;
    }
    if (cr->first)
        return step_apply_rest(c, &cr->first->u.step);
    if (!start)
        return 0;
    if ((rc = inbox_insert(c, inst->id, start)) < 0)
        return rc;
    return preclaim_apply(c, &cr->claim, start);
}

/* --------------------------------------------------------------- step */

/* The first statement of a step: the UPDATE that checks the lock (or the
 * admin status rule, or the optimistic rule), writes the state and releases
 * the lock. */
static enum dt_sq_id
step_state_stmt(const struct dt_step *s)
{
    if (s->optimistic)
        return DT_SQ_STEP_FREE_STATE;
    if (!s->lock_owner)
        return s->state ? DT_SQ_STEP_ADMIN_STATE : DT_SQ_STEP_ADMIN_UNLOCK;
    return s->state ? DT_SQ_STEP_LOCKED_STATE : DT_SQ_STEP_LOCKED_UNLOCK;
}

static int
step_lock_and_state(struct dt_sq_conn *c, struct dt_step *s)
{
    enum dt_sq_id sid = step_state_stmt(s);
    bool admin = sid == DT_SQ_STEP_ADMIN_STATE || sid == DT_SQ_STEP_ADMIN_UNLOCK;
    sqlite3_stmt *st;
    char *failure = NULL;
    int rc, b = 0, changes = 0, status = 0;

    if (s->optimistic && (!s->state || !s->expect_execution_id))
        return DURATA_EINVAL;
    if (s->state && (!s->state->name || !status_valid(s->state->status)))
        return DURATA_EINVAL;
    if (s->state && (rc = dt_failure_encode(s->state->failure, &failure)) < 0)
        return rc;
    if ((rc = dt_sq_stmt(c, sid, &st)) < 0)
        goto out_free;
    b |= dt_sq_bind_text(st, 1, s->instance_id);
    if (s->optimistic)
        b |= sqlite3_bind_int64(st, 2, s->now_ms) |
             sqlite3_bind_int64(st, 16, s->expect_updated_ms) |
             dt_sq_bind_text(st, 17, s->expect_execution_id);
    else if (admin)
        b |= sqlite3_bind_int64(st, 2, s->expect_statuses);
    else
        b |= dt_sq_bind_text(st, 2, s->lock_owner);
    if (s->state)
        b |= bind_state(st, 3, s->state, failure);
    rc = b ? bind_failed(c, st) : run_changes(c, st, "step state", &changes);
    if (rc == 0 && changes == 0) {
        rc = DURATA_ECONFLICT;
        if (admin &&
            dt_sq_instance_status(c, s->instance_id, NULL, &status, NULL) == DURATA_ENOTFOUND)
            rc = DURATA_ENOTFOUND;
    }
out_free:
    free(failure);
    return rc;
}

/* Appends the step's events as one row at history_base; a row already
 * there means another writer appended first. */
static int
step_append(struct dt_sq_conn *c, struct dt_step *s)
{
    sqlite3_stmt *st;
    char *own = NULL;
    const char *text = s->append_text;
    int rc, b;

    if (s->append.count == 0)
        return 0;
    if (!text && (rc = dt_event_list_encode(&s->append, &own)) < 0)
        return rc;
    if (!text)
        text = own;
    if ((rc = dt_sq_stmt(c, DT_SQ_HIST_INSERT, &st)) < 0)
        goto out_free;
    b = dt_sq_bind_text(st, 1, s->instance_id);
    b |= sqlite3_bind_int64(st, 2, (sqlite3_int64)s->history_base);
    b |= sqlite3_bind_int64(st, 3, (sqlite3_int64)s->append.count);
    b |= dt_sq_bind_text(st, 4, text);
    if (b) {
        rc = bind_failed(c, st);
        goto out_free;
    }
    rc = sqlite3_step(st);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        rc = DURATA_ECONFLICT;
    else if (rc != SQLITE_DONE)
        rc = dt_sq_error(c, rc, "append history");
    else
        rc = 0;
    sqlite3_reset(st);
out_free:
    free(own);
    return rc;
}

static int
step_consume(struct dt_sq_conn *c, struct dt_step *s)
{
    sqlite3_stmt *st;
    int rc;

    if (s->clear_inbox) {
        rc = run_by_id(c, DT_SQ_INBOX_DELETE_ALL, s->instance_id, "clear inbox");
    } else if (s->n_consumed) {
        if (!s->consumed)
            return DURATA_EINVAL;
        if ((rc = dt_sq_stmt(c, DT_SQ_INBOX_DELETE, &st)) < 0)
            return rc;
        for (size_t i = 0; i < s->n_consumed && rc == 0; i++) {
            if ((sqlite3_bind_int64(st, 1, s->consumed[i]) |
                 dt_sq_bind_text(st, 2, s->instance_id)) != SQLITE_OK)
                return bind_failed(c, st);
            rc = dt_sq_run(c, st, "consume message");
        }
    } else {
        rc = 0;
    }
    if (rc == 0 && s->clear_tasks)
        rc = run_by_id(c, DT_SQ_TASKS_DELETE_ALL, s->instance_id, "clear tasks");
    return rc;
}

/* Task ids reserved at once: one id_blocks update serves this many
 * inserts. */
#define SQ_TASK_ID_BLOCK 64

/* The next task id, reserving a block in the open transaction when none is
 * left: the reservation commits with the rows that use it, or is undone
 * with them (and then forgotten). */
static int
task_id_take(struct dt_sq_conn *c, int64_t *id)
{
    sqlite3_stmt *st;
    int rc;

    if (c->task_id_next == c->task_id_end) {
        if ((rc = dt_sq_stmt(c, DT_SQ_TASK_IDS_RESERVE, &st)) < 0)
            return rc;
        if (sqlite3_bind_int64(st, 1, SQ_TASK_ID_BLOCK) != SQLITE_OK)
            return bind_failed(c, st);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            c->task_id_end = sqlite3_column_int64(st, 0);
            c->task_id_next = c->task_id_end - SQ_TASK_ID_BLOCK;
            rc = sqlite3_step(st);
        }
        rc = rc == SQLITE_DONE && c->task_id_next < c->task_id_end
                 ? 0
                 : dt_sq_error(c, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc, "reserve task ids");
        sqlite3_reset(st);
        if (rc < 0) {
            c->task_id_next = c->task_id_end = 0;
            return rc;
        }
    }
    *id = c->task_id_next++;
    return 0;
}

/* Forgets the reserved task ids: a transaction, or a unit's savepoint,
 * was rolled back, maybe with the reservation. */
static void
task_ids_forget(struct dt_sq_conn *c)
{
    c->task_id_next = c->task_id_end = 0;
}

/* Inserts t, leased to pc->owner when one is set (pc->claimed then). */
static int
task_insert(struct dt_sq_conn *c, const char *instance_id, struct dt_task *t,
            struct dt_preclaim *pc)
{
    sqlite3_stmt *st;
    int64_t id = 0;
    int rc, b = 0;

    if (!t || !t->name)
        return DURATA_EINVAL;
    if ((rc = task_id_take(c, &id)) < 0)
        return rc;
    if ((rc = dt_sq_stmt(c, pc->owner ? DT_SQ_TASK_INSERT_LEASED : DT_SQ_TASK_INSERT, &st)) < 0)
        return rc;
    b |= sqlite3_bind_int64(st, 9, id);
    if (pc->owner) {
        b |= sqlite3_bind_int64(st, 7, pc->until_ms);
        b |= dt_sq_bind_text(st, 8, pc->owner);
    }
    b |= dt_sq_bind_text(st, 1, t->instance_id ? t->instance_id : instance_id);
    b |= dt_sq_bind_text(st, 2, t->execution_id);
    b |= sqlite3_bind_int(st, 3, t->task_id);
    b |= dt_sq_bind_text(st, 4, t->name);
    b |= dt_sq_bind_text(st, 5, t->input);
    b |= sqlite3_bind_int64(st, 6, t->visible_ms);
    rc = b ? bind_failed(c, st) : dt_sq_run(c, st, "insert task");
    if (rc == 0) {
        t->id = id;
        if (pc->owner) {
            t->deliveries = 1;
            t->visible_ms = t->lease_until_ms = pc->until_ms;
            free(t->lease_owner);
            if (!(t->lease_owner = strdup(pc->owner)))
                return DURATA_ENOMEM;
            pc->claimed = true;
        }
    }
    return rc;
}

/* Outbox, tasks and creates: everything a step sends elsewhere. */
static int
step_emit(struct dt_sq_conn *c, struct dt_step *s)
{
    int rc;

    for (size_t i = 0; i < s->outbox.count; i++)
        if ((rc = deliver_or_drop(c, s->outbox.items[i])) < 0)
            return rc;
    for (size_t i = 0; i < s->tasks.count; i++)
        if ((rc = task_insert(c, s->instance_id, s->tasks.items[i], &s->task_claim)) < 0)
            return rc;
    if (s->n_creates && !s->creates)
        return DURATA_EINVAL;
    for (size_t i = 0; i < s->n_creates; i++) {
        rc = create_apply(c, &s->creates[i]);
        if (rc == DURATA_ECONFLICT && s->creates[i].on_conflict)
            rc = deliver_or_drop(c, s->creates[i].on_conflict);
        else if (rc == DURATA_ECONFLICT)
            rc = 0;
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Deletes task row id; DURATA_ENOTFOUND when it is already gone. */
static int
task_delete(struct dt_sq_conn *c, int64_t id)
{
    sqlite3_stmt *st;
    int rc, changes;

    if ((rc = dt_sq_stmt(c, DT_SQ_TASK_DELETE, &st)) < 0)
        return rc;
    if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK)
        return bind_failed(c, st);
    if ((rc = run_changes(c, st, "delete task", &changes)) < 0)
        return rc;
    return changes ? 0 : DURATA_ENOTFOUND;
}

/* What a step writes besides the instance row: history, consumed
 * messages, and everything it sends. */
static int
step_apply_rest(struct dt_sq_conn *c, struct dt_step *s)
{
    int rc;

    if (s->replace_history &&
        (rc = run_by_id(c, DT_SQ_HIST_DELETE_ALL, s->instance_id, "replace history")) < 0)
        return rc;
    if ((rc = step_append(c, s)) < 0 || (rc = step_consume(c, s)) < 0)
        return rc;
    return step_emit(c, s);
}

/* The state UPDATE comes first (it checks the lock, and fails before any
 * change when the step lost a race), then the steps of store.h in order. */
static int
step_apply(struct dt_sq_conn *c, struct dt_step *s)
{
    int rc;

    if (!s->instance_id)
        return DURATA_EINVAL;
    if ((rc = step_lock_and_state(c, s)) < 0)
        return rc;
    if (s->n_done_tasks && !s->done_tasks)
        return DURATA_EINVAL;
    for (size_t i = 0; i < s->n_done_tasks; i++)
        if ((rc = task_delete(c, s->done_tasks[i])) < 0)
            return rc;
    return step_apply_rest(c, s);
}

/* --------------------------------------------------------------- tasks */

static int
task_done_apply(struct dt_sq_conn *c, struct dt_task_done *d)
{
    int rc;

    if ((rc = task_delete(c, d->task_row_id)) < 0)
        return rc;
    if (!d->result)
        return 0;
    if ((rc = deliver_or_drop(c, d->result)) < 0)
        return rc;
    return preclaim_apply(c, &d->claim, d->result);
}

static int
task_release_apply(struct dt_sq_conn *c, struct dt_task_release *r)
{
    sqlite3_stmt *st;
    int rc, changes;

    if (!r->lease_owner)
        return DURATA_EINVAL;
    if ((rc = dt_sq_stmt(c, DT_SQ_TASK_RELEASE, &st)) < 0)
        return rc;
    if ((sqlite3_bind_int64(st, 1, r->task_row_id) | dt_sq_bind_text(st, 2, r->lease_owner) |
         sqlite3_bind_int64(st, 3, r->visible_ms)) != SQLITE_OK)
        return bind_failed(c, st);
    if ((rc = run_changes(c, st, "release task", &changes)) < 0)
        return rc;
    return changes ? 0 : DURATA_ECONFLICT;
}

static int
renew_apply(struct dt_sq_conn *c, struct dt_renew *r)
{
    sqlite3_stmt *st;
    int rc, changes, out = 0;

    if (!r->owner || (r->n && !r->ids))
        return DURATA_EINVAL;
    if (!r->lost && r->n && !(r->lost = calloc(r->n, sizeof(*r->lost))))
        return DURATA_ENOMEM;
    if ((rc = dt_sq_stmt(c, DT_SQ_TASK_RENEW, &st)) < 0)
        return rc;
    for (size_t i = 0; i < r->n; i++) {
        if ((sqlite3_bind_int64(st, 1, r->ids[i]) | dt_sq_bind_text(st, 2, r->owner) |
             sqlite3_bind_int64(st, 3, r->lease_until_ms)) != SQLITE_OK)
            return bind_failed(c, st);
        if ((rc = run_changes(c, st, "renew lease", &changes)) < 0)
            return rc;
        r->lost[i] = changes == 0;
        if (changes == 0)
            out = DURATA_ECONFLICT;
    }
    return out;
}

/* -------------------------------------------------------------- commit */

static int
unit_apply(struct dt_sq_conn *c, struct dt_write *w)
{
    switch (w->kind) {
    case DT_W_CREATE:
        return create_apply(c, &w->u.create);
    case DT_W_SEND:
        return send_apply(c, &w->u.send);
    case DT_W_STEP:
        return step_apply(c, &w->u.step);
    case DT_W_TASK_DONE:
        return task_done_apply(c, &w->u.task_done);
    case DT_W_TASK_RELEASE:
        return task_release_apply(c, &w->u.task_release);
    case DT_W_RENEW:
        return renew_apply(c, &w->u.renew);
    case DT_W_CLAIM_INSTANCES:
        return dt_sq_claim_instances(c, &w->u.claim_instances);
    case DT_W_CLAIM_TASKS:
        return dt_sq_claim_tasks(c, &w->u.claim_tasks);
    case DT_W_PURGE:
        return dt_sq_purge(c, &w->u.purge);
    case DT_W_PURGE_MANY:
        return dt_sq_purge_many(c, &w->u.purge_many);
    }
    return DURATA_EINVAL;
}

/* Drops results a unit holds, for a unit whose changes did not apply. */
static void
unit_clear_results(struct dt_write *w)
{
    switch (w->kind) {
    case DT_W_CLAIM_INSTANCES:
        for (size_t i = 0; i < w->u.claim_instances.n_ids; i++)
            free(w->u.claim_instances.ids[i]);
        free(w->u.claim_instances.ids);
        w->u.claim_instances.ids = NULL;
        w->u.claim_instances.n_ids = 0;
        break;
    case DT_W_CLAIM_TASKS:
        dt_task_list_release(&w->u.claim_tasks.tasks);
        dt_task_list_release(&w->u.claim_tasks.poisoned);
        break;
    case DT_W_PURGE:
        w->u.purge.deleted = 0;
        break;
    case DT_W_PURGE_MANY:
        w->u.purge_many.deleted = 0;
        break;
    case DT_W_CREATE:
    case DT_W_SEND:
    case DT_W_STEP:
    case DT_W_TASK_DONE:
    case DT_W_TASK_RELEASE:
    case DT_W_RENEW:
        break;
    }
}

/* Runs one unit in its savepoint. *fatal is set when the transaction
 * itself is lost (the batch must be abandoned). */
static int
unit_run(struct dt_sq_conn *c, struct dt_write *w, bool *fatal)
{
    bool keep;
    int rc, r2;

    if ((rc = dt_sq_exec(c, DT_SQ_SAVEPOINT)) < 0)
        goto out_fatal;
    rc = unit_apply(c, w);
    keep = rc == 0 || (w->kind == DT_W_RENEW && rc == DURATA_ECONFLICT);
    if (!keep && sqlite3_get_autocommit(c->db))
        goto out_fatal; /* SQLite rolled the transaction back itself */
    if (!keep && (r2 = dt_sq_exec(c, DT_SQ_ROLLBACK_TO)) < 0) {
        rc = r2;
        goto out_fatal;
    }
    if (!keep) {
        task_ids_forget(c); /* a reservation in the unit is undone */
        unit_clear_results(w);
    }
    if (w->kind == DT_W_CREATE && rc == DURATA_ECONFLICT && w->u.create.on_conflict &&
        (r2 = deliver_or_drop(c, w->u.create.on_conflict)) < 0) {
        rc = r2;
        task_ids_forget(c);
        if ((r2 = dt_sq_exec(c, DT_SQ_ROLLBACK_TO)) < 0 || sqlite3_get_autocommit(c->db))
            goto out_fatal;
    }
    if ((r2 = dt_sq_exec(c, DT_SQ_RELEASE)) < 0) {
        rc = r2;
        goto out_fatal;
    }
    return rc;

out_fatal:
    *fatal = true;
    return rc < 0 ? rc : DURATA_ESTORE;
}

static void
fail_all(struct dt_write **units, size_t n, int rc)
{
    for (size_t i = 0; i < n; i++) {
        if (!units[i])
            continue;
        units[i]->rc = rc;
        unit_clear_results(units[i]);
    }
}

/* Runs a unit with no savepoint. Sets *redo when it failed after changing
 * rows (only a savepoint could undo that), *fatal when the transaction is
 * gone. */
static int
unit_run_fast(struct dt_sq_conn *c, struct dt_write *w, bool *fatal, bool *redo)
{
    sqlite3_int64 before = sqlite3_total_changes64(c->db);
    int rc = unit_apply(c, w), r2;
    bool keep = rc == 0 || (w->kind == DT_W_RENEW && rc == DURATA_ECONFLICT);
    if (!keep && sqlite3_get_autocommit(c->db)) {
        *fatal = true;
        return rc < 0 ? rc : DURATA_ESTORE;
    }
    if (!keep && sqlite3_total_changes64(c->db) != before) {
        *redo = true;
        return rc;
    }
    if (!keep)
        unit_clear_results(w);
    if (w->kind == DT_W_CREATE && rc == DURATA_ECONFLICT && w->u.create.on_conflict &&
        (r2 = deliver_or_drop(c, w->u.create.on_conflict)) < 0) {
        *redo = true; /* the savepoint path reports it */
        return r2;
    }
    return rc;
}

/* Runs every unit of the batch inside the open transaction; with
 * savepoints (safe) or without (fast, may ask for a redo). */
static int
run_units(struct dt_sq_conn *c, struct dt_write **units, size_t n, bool safe, bool *fatal,
          bool *redo)
{
    int rc = 0;
    for (size_t i = 0; i < n && !*fatal && !*redo; i++) {
        if (!units[i])
            continue;
        if (safe)
            rc = units[i]->rc = unit_run(c, units[i], fatal);
        else
            rc = units[i]->rc = unit_run_fast(c, units[i], fatal, redo);
    }
    return rc;
}

int
dt_sq_commit(struct dt_store *store, struct dt_write **units, size_t n)
{
    struct dt_sqlite *s = dt_sq_from_store(store);
    struct dt_sq_conn *c = &s->writer;
    bool fatal = false, redo = false;
    int rc;

    if (n == 0)
        return 0;
    if (!units)
        return DURATA_EINVAL;
    pthread_mutex_lock(&s->write_mu);
    /* A transaction left open by a failed ROLLBACK would make BEGIN fail
     * forever; close it first. */
    if (!sqlite3_get_autocommit(c->db) && (rc = dt_sq_exec(c, DT_SQ_ROLLBACK)) < 0)
        goto out_fail;
    if ((rc = dt_sq_exec(c, DT_SQ_BEGIN)) < 0)
        goto out_fail;
    rc = run_units(c, units, n, false, &fatal, &redo);
    if (redo && !fatal) {
        /* A unit failed half-way: start over, each unit in a savepoint. */
        task_ids_forget(c);
        if ((rc = dt_sq_exec(c, DT_SQ_ROLLBACK)) < 0 || (rc = dt_sq_exec(c, DT_SQ_BEGIN)) < 0)
            goto out_rollback;
        for (size_t i = 0; i < n; i++)
            if (units[i])
                unit_clear_results(units[i]);
        redo = false;
        rc = run_units(c, units, n, true, &fatal, &redo);
    }
    if (fatal || (rc = dt_sq_exec(c, DT_SQ_COMMIT)) < 0)
        goto out_rollback;
    pthread_mutex_unlock(&s->write_mu);
    return 0;

out_rollback:
    /* A failed ROLLBACK is logged; the next commit() retries it. */
    if (!sqlite3_get_autocommit(c->db) && dt_sq_exec(c, DT_SQ_ROLLBACK) < 0)
        dt_log(DT_LOG_ERROR, "store: rollback failed", NULL);
out_fail:
    task_ids_forget(c);
    fail_all(units, n, rc);
    pthread_mutex_unlock(&s->write_mu);
    return rc;
}
