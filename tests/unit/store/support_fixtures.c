/*
 * support_fixtures.c — see fixtures.h. Linked into every store test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "fixtures.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct fx_backend *fx_backend = &fx_sqlite_backend;

/* ------------------------------------------------------- sqlite backend */

static int
sqlite_new_target(char *target, size_t size)
{
    const char *base = getenv("DURATA_TEST_TMP");
    char dir[900];

    if (!base || !*base)
        base = "/tmp";
    snprintf(dir, sizeof(dir), "%s/store-XXXXXX", base);
    if (!mkdtemp(dir))
        return -1;
    snprintf(target, size, "%s/hub.db", dir);
    return 0;
}

static void
sqlite_drop_target(const char *target)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char path[1100], *slash;

    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", target, suffixes[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s", target);
    slash = strrchr(path, '/');
    if (slash) {
        *slash = '\0';
        rmdir(path);
    }
}

const struct fx_backend fx_sqlite_backend = {
    .name = "sqlite",
    .new_target = sqlite_new_target,
    .drop_target = sqlite_drop_target,
};

/* ------------------------------------------------------------- fixture */

int
fx_setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    assert_int_equal(fx_backend->new_target(fx->target, sizeof(fx->target)), 0);
    assert_int_equal(dt_store_open(fx->target, &fx->s), 0);
    *state = fx;
    return 0;
}

int
fx_teardown(void **state)
{
    struct fx *fx = *state;

    dt_store_close(fx->s);
    fx_backend->drop_target(fx->target);
    free(fx);
    return 0;
}

void
fx_reopen(struct fx *fx)
{
    dt_store_close(fx->s);
    fx->s = NULL;
    assert_int_equal(dt_store_open(fx->target, &fx->s), 0);
}

char *
fx_strdup(const char *s)
{
    char *out;

    if (!s)
        return NULL;
    out = strdup(s);
    assert_non_null(out);
    return out;
}

/* --------------------------------------------------------------- units */

void
fx_commit(struct dt_store *s, struct dt_write **units, size_t n)
{
    assert_int_equal(s->ops->commit(s, units, n), 0);
}

int
fx_commit1(struct dt_store *s, struct dt_write *w)
{
    int rc;

    fx_commit(s, &w, 1);
    rc = w->rc;
    dt_write_free(w);
    return rc;
}

struct dt_event *
fx_event(enum durata_event_type type, int64_t ts, const char *name, const char *input)
{
    struct dt_event *e = dt_event_new(type, ts);

    assert_non_null(e);
    e->name = fx_strdup(name);
    e->input = fx_strdup(input);
    return e;
}

struct dt_msg *
fx_msg(const char *target, enum durata_event_type type, int64_t visible_ms, const char *name)
{
    struct dt_msg *m =
        dt_msg_new_take(target, NULL, visible_ms, fx_event(type, visible_ms, name, "\"payload\""));

    assert_non_null(m);
    return m;
}

struct durata_instance *
fx_instance(const char *id, const char *name, enum durata_status status, int64_t created_ms)
{
    struct durata_instance *inst = calloc(1, sizeof(*inst));

    assert_non_null(inst);
    inst->id = fx_strdup(id);
    inst->name = fx_strdup(name);
    inst->execution_id = fx_strdup("exec-1");
    inst->status = status;
    inst->input = fx_strdup("{\"n\":1}");
    inst->created_ms = created_ms;
    inst->updated_ms = created_ms;
    return inst;
}

struct dt_write *
fx_create_unit(const char *id, const char *name, int64_t created_ms)
{
    struct dt_write *w = dt_write_new(DT_W_CREATE);
    struct dt_event *start;

    assert_non_null(w);
    w->u.create.inst = fx_instance(id, name, DURATA_PENDING, created_ms);
    start = fx_event(DURATA_EV_EXECUTION_STARTED, created_ms, name, "{\"n\":1}");
    start->instance_id = fx_strdup(id);
    start->execution_id = fx_strdup("exec-1");
    w->u.create.start = dt_msg_new_take(id, NULL, created_ms, start);
    assert_non_null(w->u.create.start);
    return w;
}

int
fx_create(struct dt_store *s, const char *id, const char *name, int64_t created_ms)
{
    return fx_commit1(s, fx_create_unit(id, name, created_ms));
}

int
fx_send(struct dt_store *s, struct dt_msg *m)
{
    struct dt_write *w = dt_write_new(DT_W_SEND);

    assert_non_null(w);
    w->u.send.msg = m;
    return fx_commit1(s, w);
}

struct dt_write *
fx_claim(struct dt_store *s, const char *owner, int64_t now_ms, int64_t until_ms, size_t max)
{
    struct dt_write *w = dt_write_new(DT_W_CLAIM_INSTANCES);

    assert_non_null(w);
    w->u.claim_instances.owner = fx_strdup(owner);
    w->u.claim_instances.now_ms = now_ms;
    w->u.claim_instances.lock_until_ms = until_ms;
    w->u.claim_instances.max = max;
    fx_commit(s, &w, 1);
    assert_int_equal(w->rc, 0);
    return w;
}

void
fx_claim_one(struct dt_store *s, const char *owner, int64_t now_ms, const char *id)
{
    struct dt_write *w = fx_claim(s, owner, now_ms, now_ms + 60000, 1);

    assert_int_equal(w->u.claim_instances.n_ids, 1);
    assert_string_equal(w->u.claim_instances.ids[0], id);
    dt_write_free(w);
}

struct dt_write *
fx_claim_tasks(struct dt_store *s, const char *owner, int64_t now_ms, int64_t until_ms, size_t max,
               int max_deliveries)
{
    struct dt_write *w = dt_write_new(DT_W_CLAIM_TASKS);

    assert_non_null(w);
    w->u.claim_tasks.owner = fx_strdup(owner);
    w->u.claim_tasks.now_ms = now_ms;
    w->u.claim_tasks.lease_until_ms = until_ms;
    w->u.claim_tasks.max = max;
    w->u.claim_tasks.max_deliveries = max_deliveries;
    fx_commit(s, &w, 1);
    assert_int_equal(w->rc, 0);
    return w;
}

int
fx_set_status(struct dt_store *s, const char *id, enum durata_status status)
{
    struct dt_write *w = dt_write_new(DT_W_STEP);
    struct durata_instance *inst = fx_get(s, id);

    assert_non_null(w);
    assert_non_null(inst);
    inst->status = status;
    if (durata_status_is_terminal(status))
        inst->completed_ms = inst->updated_ms + 1;
    w->u.step.instance_id = fx_strdup(id);
    w->u.step.state = inst;
    return fx_commit1(s, w);
}

/* --------------------------------------------------------------- reads */

struct durata_instance *
fx_get(struct dt_store *s, const char *id)
{
    struct durata_instance *inst = NULL;
    int rc = s->ops->get_instance(s, id, &inst);

    if (rc == DURATA_ENOTFOUND) {
        assert_null(inst);
        return NULL;
    }
    assert_int_equal(rc, 0);
    return inst;
}

bool
fx_exists(struct dt_store *s, const char *id)
{
    struct durata_instance *inst = fx_get(s, id);

    durata_instance_free(inst);
    return inst != NULL;
}

size_t
fx_history_len(struct dt_store *s, const char *id)
{
    struct dt_event_list l = {0};
    size_t n, counted = 99;

    assert_int_equal(s->ops->get_history(s, id, &l), 0);
    n = l.count;
    dt_event_list_release(&l);
    /* history_len must agree with what get_history returns */
    assert_int_equal(s->ops->history_len(s, id, &counted), 0);
    assert_int_equal(counted, n);
    return n;
}

size_t
fx_inbox_len(struct dt_store *s, const char *id, int64_t now_ms)
{
    struct dt_msg_list l = {0};
    size_t n;

    assert_int_equal(s->ops->get_inbox(s, id, now_ms, &l), 0);
    n = l.count;
    dt_msg_list_release(&l);
    return n;
}

void
fx_counts(struct dt_store *s, int64_t by_status[8], int64_t *inbox, int64_t *tasks)
{
    assert_int_equal(s->ops->counts(s, by_status, inbox, tasks), 0);
}

int64_t
fx_add_task(struct dt_store *s, const char *id, int32_t task_id, int64_t visible_ms)
{
    struct dt_write *w = dt_write_new(DT_W_STEP);
    int64_t row;

    assert_non_null(w);
    w->u.step.instance_id = fx_strdup(id);
    assert_int_equal(dt_task_list_push_take(&w->u.step.tasks, dt_task_new(id, "exec-1", task_id,
                                                                          "Act", NULL, visible_ms)),
                     0);
    fx_commit(s, &w, 1);
    assert_int_equal(w->rc, 0);
    row = w->u.step.tasks.items[0]->id;
    dt_write_free(w);
    return row;
}
