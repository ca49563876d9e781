/*
 * test_sqlite.c — the store contract suite (support_contract_*.c) run
 * against the SQLite backend, plus what is SQLite's own: schema version
 * checks, files that are not databases, several processes sharing one file,
 * and reads from many threads during commits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "fixtures.h"

#include "base/log.h"
#include "store/schema.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------ open rules */

static void
set_user_version(const char *path, int version)
{
    char sql[64];
    sqlite3 *db;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void
test_newer_schema_version_is_refused(void **state)
{
    struct fx *fx = *state;
    struct dt_store *s = NULL;

    assert_int_equal(fx_create(fx->s, "a", "A", 1), 0);
    dt_store_close(fx->s);
    fx->s = NULL;
    set_user_version(fx->target, DT_SCHEMA_VERSION + 1);
    assert_int_equal(dt_store_open(fx->target, &s), DURATA_ECORRUPT);
    assert_null(s);
    set_user_version(fx->target, DT_SCHEMA_VERSION);
    fx_reopen(fx);
    assert_int_equal(fx_inbox_len(fx->s, "a", INT64_MAX), 1);
}

/* Undoes what version 5 added, for the tests that turn a file back into an
 * older version (its tasks table is one an older version reads too). */
#define UNDO_V5 "DROP TABLE id_blocks;"

/* Schema 1 -> 2: a file written by version 1 (one history row per event)
 * opens, keeps its history, and grows with version 2 rows after it. */
static void
test_version_1_file_is_migrated_and_keeps_its_history(void **state)
{
    struct fx *fx = *state;
    struct dt_event *e0 = fx_event(DURATA_EV_ORCHESTRATOR_STARTED, 1, NULL, NULL);
    struct dt_event *e1 = fx_event(DURATA_EV_EXECUTION_STARTED, 1, "A", "{\"n\":1}");
    char *t0 = dt_event_to_json(e0), *t1 = dt_event_to_json(e1);
    sqlite3 *db;

    assert_int_equal(fx_create(fx->s, "old", "A", 1), 0);
    dt_store_close(fx->s);
    fx->s = NULL;
    /* Turn the file back into version 1 and write history as 1 did. */
    assert_int_equal(sqlite3_open(fx->target, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  UNDO_V5 "ALTER TABLE history DROP COLUMN n;"
                                          " PRAGMA user_version = 1",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    for (int i = 0; i < 2; i++) {
        char *q = sqlite3_mprintf("INSERT INTO history (instance_id, seq, event) VALUES"
                                  " ('old', %d, %Q)",
                                  i, i ? t1 : t0);
        assert_int_equal(sqlite3_exec(db, q, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_free(q);
    }
    sqlite3_close(db);
    fx_reopen(fx);
    assert_int_equal(fx_history_len(fx->s, "old"), 2);
    struct dt_write *w = dt_write_new(DT_W_STEP); /* an admin append at 2 */
    w->u.step.instance_id = fx_strdup("old");
    w->u.step.history_base = 2;
    assert_int_equal(
        dt_event_list_push_take(&w->u.step.append, fx_event(DURATA_EV_GENERIC, 2, NULL, NULL)), 0);
    assert_int_equal(fx_commit1(fx->s, w), 0);
    struct dt_event_list l = {0};
    assert_int_equal(fx->s->ops->get_history(fx->s, "old", &l), 0);
    assert_int_equal(l.count, 3);
    assert_int_equal(l.items[1]->type, DURATA_EV_EXECUTION_STARTED);
    assert_string_equal(l.items[1]->input, "{\"n\":1}");
    assert_int_equal(l.items[2]->type, DURATA_EV_GENERIC);
    dt_event_list_release(&l);
    free(t0);
    free(t1);
    dt_event_free(e0);
    dt_event_free(e1);
}

/* The version 2 layout of instances: a rowid table with an index on id. */
static const char *const instances_v2 = UNDO_V5
    "CREATE TABLE v2 (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, version TEXT,"
    " execution_id TEXT, status INTEGER NOT NULL, input TEXT, output TEXT, custom_status TEXT,"
    " failure TEXT, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    " completed_ms INTEGER NOT NULL DEFAULT 0, scheduled_start_ms INTEGER NOT NULL DEFAULT 0,"
    " parent_id TEXT, lock_owner TEXT, lock_until_ms INTEGER NOT NULL DEFAULT 0);"
    "INSERT INTO v2 SELECT * FROM instances; DROP TABLE instances;"
    "ALTER TABLE v2 RENAME TO instances;"
    "CREATE INDEX instances_created ON instances(created_ms, id);"
    "CREATE INDEX instances_status ON instances(status, created_ms);"
    "CREATE INDEX instances_name ON instances(name, created_ms);"
    "CREATE INDEX instances_lock ON instances(lock_until_ms) WHERE lock_owner IS NOT NULL;"
    "PRAGMA user_version = 2;";

static int
count_of(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int n = -1;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Schema 2 -> 3: instances of a version 2 file (rowid table) survive with
 * every column, the table becomes WITHOUT ROWID, and its indexes serve
 * queries again. */
static void
test_version_2_file_is_migrated_and_keeps_its_instances(void **state)
{
    struct fx *fx = *state;
    struct durata_filter f = {.statuses = 1u << DURATA_COMPLETED, .name = "B"};
    struct durata_instance *inst = NULL;
    struct durata_page *page = NULL;
    sqlite3 *db;

    assert_int_equal(fx_create(fx->s, "one", "A", 10), 0);
    assert_int_equal(fx_create(fx->s, "two", "B", 20), 0);
    assert_int_equal(fx_set_status(fx->s, "two", DURATA_COMPLETED), 0);
    dt_store_close(fx->s);
    fx->s = NULL;
    assert_int_equal(sqlite3_open(fx->target, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, instances_v2, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(count_of(db, "SELECT count(*) FROM sqlite_master WHERE name = 'instances'"
                                  " AND sql LIKE '%WITHOUT ROWID%'"),
                     0);
    sqlite3_close(db);
    fx_reopen(fx);
    assert_int_equal(fx->s->ops->get_instance(fx->s, "one", &inst), 0);
    assert_string_equal(inst->name, "A");
    assert_int_equal(inst->created_ms, 10);
    durata_instance_free(inst);
    assert_int_equal(fx->s->ops->query(fx->s, &f, 10, NULL, &page), 0);
    assert_int_equal(page->count, 1);
    assert_string_equal(page->items[0]->id, "two");
    durata_page_free(page);
    assert_int_equal(sqlite3_open(fx->target, &db), SQLITE_OK);
    assert_int_equal(count_of(db, "SELECT count(*) FROM sqlite_master WHERE name = 'instances'"
                                  " AND sql LIKE '%WITHOUT ROWID%'"),
                     1);
    assert_int_equal(count_of(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                  " AND tbl_name = 'instances' AND name LIKE 'instances_%'"),
                     4);
    assert_int_equal(count_of(db, "PRAGMA user_version"), DT_SCHEMA_VERSION);
    sqlite3_close(db);
}

/* An admin append of one event of `type` at position base of id's history;
 * the unit's result. */
static int
append_at(struct dt_store *s, const char *id, size_t base, enum durata_event_type type)
{
    struct dt_write *w = dt_write_new(DT_W_STEP);

    assert_non_null(w);
    w->u.step.instance_id = fx_strdup(id);
    w->u.step.history_base = base;
    assert_int_equal(dt_event_list_push_take(&w->u.step.append, fx_event(type, 5, NULL, NULL)), 0);
    return fx_commit1(s, w);
}

/* The version 3 layout of history: WITHOUT ROWID on (instance_id, seq). */
static const char *const history_v3 =
    UNDO_V5 "CREATE TABLE v3 (instance_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL,"
            " n INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (instance_id, seq)) WITHOUT ROWID;"
            "INSERT INTO v3 SELECT instance_id, seq, event, n FROM history; DROP TABLE history;"
            "ALTER TABLE v3 RENAME TO history; PRAGMA user_version = 3;";

/* Schema 3 -> 4: the history of a version 3 file survives in order, grows
 * at its end, and an append at a taken position still collides. */
static void
test_version_3_file_is_migrated_and_keeps_its_history(void **state)
{
    struct fx *fx = *state;
    struct dt_event_list l = {0};
    sqlite3 *db;

    assert_int_equal(fx_create(fx->s, "h", "A", 1), 0);
    assert_int_equal(fx_create(fx->s, "g", "A", 1), 0);
    assert_int_equal(append_at(fx->s, "h", 0, DURATA_EV_ORCHESTRATOR_STARTED), 0);
    assert_int_equal(append_at(fx->s, "g", 0, DURATA_EV_GENERIC), 0);
    assert_int_equal(append_at(fx->s, "h", 1, DURATA_EV_TIMER_CREATED), 0);
    dt_store_close(fx->s);
    fx->s = NULL;
    assert_int_equal(sqlite3_open(fx->target, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, history_v3, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    fx_reopen(fx);
    assert_int_equal(fx_history_len(fx->s, "h"), 2);
    assert_int_equal(fx_history_len(fx->s, "g"), 1);
    assert_int_equal(append_at(fx->s, "h", 2, DURATA_EV_TIMER_FIRED), 0);
    assert_int_equal(append_at(fx->s, "h", 1, DURATA_EV_GENERIC), DURATA_ECONFLICT);
    assert_int_equal(fx->s->ops->get_history(fx->s, "h", &l), 0);
    assert_int_equal(l.count, 3);
    assert_int_equal(l.items[0]->type, DURATA_EV_ORCHESTRATOR_STARTED);
    assert_int_equal(l.items[1]->type, DURATA_EV_TIMER_CREATED);
    assert_int_equal(l.items[2]->type, DURATA_EV_TIMER_FIRED);
    dt_event_list_release(&l);
    assert_int_equal(sqlite3_open(fx->target, &db), SQLITE_OK);
    assert_int_equal(count_of(db, "SELECT count(*) FROM sqlite_master WHERE name = 'history'"
                                  " AND sql LIKE '%WITHOUT ROWID%'"),
                     0);
    assert_int_equal(count_of(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                  " AND name = 'history_key'"),
                     1);
    assert_int_equal(count_of(db, "PRAGMA user_version"), DT_SCHEMA_VERSION);
    sqlite3_close(db);
}

static void
finish_task(struct dt_store *s, int64_t row)
{
    struct dt_write *w = dt_write_new(DT_W_TASK_DONE);

    w->u.task_done.task_row_id = row;
    assert_int_equal(fx_commit1(s, w), 0);
}

/* A task id is never handed out again, even when the task with the
 * highest id is gone (a late result for it must not finish a new task),
 * across batches, a reopen, and a batch rolled back. */
static void
test_task_ids_are_never_reused(void **state)
{
    struct fx *fx = *state;
    int64_t a, b, c, d;

    assert_int_equal(fx_create(fx->s, "t", "A", 1), 0);
    a = fx_add_task(fx->s, "t", 0, 1000);
    finish_task(fx->s, a);
    b = fx_add_task(fx->s, "t", 0, 1000);
    assert_true(b > a);
    finish_task(fx->s, b);
    fx_reopen(fx);
    c = fx_add_task(fx->s, "t", 0, 1000);
    assert_true(c > b);
    /* A batch whose second unit fails after writing (a task, then a task
     * without a name) is rolled back and run again, unit by unit; the
     * reopen before makes this batch reserve ids, the one after makes the
     * next read what was kept of the reservation. */
    fx_reopen(fx);
    struct dt_write *units[2] = {dt_write_new(DT_W_STEP), dt_write_new(DT_W_STEP)};
    for (int u = 0; u < 2; u++) {
        units[u]->u.step.instance_id = fx_strdup("t");
        for (int k = 0; k < 1 + u; k++)
            assert_int_equal(
                dt_task_list_push_take(&units[u]->u.step.tasks,
                                       dt_task_new("t", "exec-1", 1 + u + k, "Act", NULL, 1000)),
                0);
    }
    free(units[1]->u.step.tasks.items[1]->name);
    units[1]->u.step.tasks.items[1]->name = NULL;
    fx_commit(fx->s, units, 2);
    assert_int_equal(units[0]->rc, 0);
    assert_true(units[1]->rc < 0);
    d = units[0]->u.step.tasks.items[0]->id;
    assert_true(d > c);
    dt_write_free(units[0]);
    dt_write_free(units[1]);
    finish_task(fx->s, d);
    fx_reopen(fx);
    assert_true(fx_add_task(fx->s, "t", 0, 1000) > d);
}

/* Schema 4 -> 5: tasks of a version 4 file (AUTOINCREMENT) survive, and
 * the numbering goes on above every id version 4 handed out. */
static void
test_version_4_file_is_migrated_and_numbers_tasks_after_it(void **state)
{
    static const char *const tasks_v4 =
        "DROP TABLE id_blocks;"
        "CREATE TABLE v4 (id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL,"
        " execution_id TEXT, task_id INTEGER NOT NULL, name TEXT NOT NULL, input TEXT,"
        " visible_ms INTEGER NOT NULL, deliveries INTEGER NOT NULL DEFAULT 0, lease_owner TEXT,"
        " lease_until_ms INTEGER NOT NULL DEFAULT 0);"
        "INSERT INTO v4 SELECT * FROM tasks; DROP TABLE tasks; ALTER TABLE v4 RENAME TO tasks;"
        "CREATE INDEX tasks_visible ON tasks(visible_ms);"
        "CREATE INDEX tasks_instance ON tasks(instance_id);"
        "UPDATE sqlite_sequence SET seq = 1000 WHERE name = 'tasks';"
        "PRAGMA user_version = 4;";
    struct fx *fx = *state;
    int64_t kept;
    int64_t by_status[8], inbox, tasks;
    sqlite3 *db;

    assert_int_equal(fx_create(fx->s, "t", "A", 1), 0);
    kept = fx_add_task(fx->s, "t", 0, 1000);
    dt_store_close(fx->s);
    fx->s = NULL;
    assert_int_equal(sqlite3_open(fx->target, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, tasks_v4, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(count_of(db, "SELECT seq FROM sqlite_sequence WHERE name = 'tasks'"), 1000);
    sqlite3_close(db);
    fx_reopen(fx);
    fx_counts(fx->s, by_status, &inbox, &tasks);
    assert_int_equal(tasks, 1);
    assert_true(fx_add_task(fx->s, "t", 0, 1000) > 1000);
    finish_task(fx->s, kept);
    assert_int_equal(sqlite3_open(fx->target, &db), SQLITE_OK);
    assert_int_equal(count_of(db, "SELECT count(*) FROM sqlite_master WHERE name = 'tasks'"
                                  " AND sql LIKE '%AUTOINCREMENT%'"),
                     0);
    assert_int_equal(count_of(db, "PRAGMA user_version"), DT_SCHEMA_VERSION);
    sqlite3_close(db);
}

/* Under writes that never pause, the WAL still starts over: the writer
 * checkpoints the tail a background pass left, so the file stays near the
 * checkpoint threshold (8,000 frames, ~16 MiB) instead of growing while
 * every commit wakes another pass. ~60 MiB of frames are written here. */
static void
test_wal_starts_over_under_continuous_writes(void **state)
{
    struct fx *fx = *state;
    char wal[1100], id[32], *input = malloc(6001);
    long long largest = 0;
    struct stat st;

    assert_non_null(input);
    input[0] = '"';
    memset(input + 1, 'x', 5998);
    input[5999] = '"';
    input[6000] = '\0';
    snprintf(wal, sizeof(wal), "%s-wal", fx->target);
    for (int i = 0; i < 10000; i++) {
        struct dt_write *w;

        snprintf(id, sizeof(id), "i%06d", i);
        w = fx_create_unit(id, "A", 1000 + i);
        free(w->u.create.inst->input);
        w->u.create.inst->input = fx_strdup(input);
        assert_int_equal(fx_commit1(fx->s, w), 0);
        if (i % 100 == 0 && stat(wal, &st) == 0 && st.st_size > largest)
            largest = st.st_size;
    }
    free(input);
    assert_true(largest > 0);
    assert_true(largest < 40LL * 1024 * 1024);
}

static void
test_not_a_database_is_refused(void **state)
{
    struct fx *fx = *state;
    struct dt_store *s = NULL;
    char path[1100];
    FILE *f;

    snprintf(path, sizeof(path), "%s.txt", fx->target);
    f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("this is not a database. ", f);
    fclose(f);
    assert_int_equal(dt_store_open(path, &s), DURATA_ECORRUPT);
    assert_null(s);
    unlink(path);
}

static void
test_open_arguments(void **state)
{
    struct dt_store *s = NULL;

    (void)state;
    assert_int_equal(dt_store_open(NULL, &s), DURATA_EINVAL);
    assert_int_equal(dt_store_open("", &s), DURATA_EINVAL);
    assert_int_equal(dt_store_open("postgres://u@h/db", &s), DURATA_EINVAL);
    assert_int_equal(dt_store_open("postgresql://u@h/db", &s), DURATA_EINVAL);
    assert_null(s);
    assert_int_equal(dt_store_open("/nonexistent-dir/x/hub.db", &s), DURATA_ESTORE);
    assert_null(s);
    dt_store_close(NULL);
}

static void
test_unencodable_event_fails_its_unit_only(void **state)
{
    struct fx *fx = *state;
    struct dt_write *w[2];

    assert_int_equal(fx_create(fx->s, "a", "A", 1), 0);
    w[0] = dt_write_new(DT_W_SEND);
    w[0]->u.send.msg = fx_msg("a", DURATA_EV_EVENT_RAISED, 1, "bad\xff\xfename");
    w[1] = dt_write_new(DT_W_SEND);
    w[1]->u.send.msg = fx_msg("a", DURATA_EV_EVENT_RAISED, 1, "good");
    fx_commit(fx->s, w, 2);
    assert_int_equal(w[0]->rc, DURATA_EINVAL);
    assert_int_equal(w[1]->rc, 0);
    dt_write_free(w[0]);
    dt_write_free(w[1]);
    assert_int_equal(fx_inbox_len(fx->s, "a", INT64_MAX), 2);
}

/* ----------------------------------------------------- two processes */

#define FORK_TASKS 120

/* Child: claims and completes tasks until none is left, writing each
 * claimed row id to fd. Never returns. */
static void
child_claim_loop(const char *target, const char *owner, int fd)
{
    struct dt_store *s;
    struct dt_write *w, *done;
    int rc = 0;

    if (dt_store_open(target, &s) < 0)
        _exit(2);
    for (;;) {
        if (!(w = dt_write_new(DT_W_CLAIM_TASKS)) || !(w->u.claim_tasks.owner = strdup(owner)))
            _exit(3);
        w->u.claim_tasks.now_ms = 1000;
        w->u.claim_tasks.lease_until_ms = 1000000;
        w->u.claim_tasks.max = 3;
        if (s->ops->commit(s, &w, 1) < 0 || w->rc < 0)
            _exit(4);
        if (w->u.claim_tasks.tasks.count == 0)
            break;
        for (size_t i = 0; i < w->u.claim_tasks.tasks.count && rc == 0; i++) {
            int64_t id = w->u.claim_tasks.tasks.items[i]->id;

            if (write(fd, &id, sizeof(id)) != sizeof(id) || !(done = dt_write_new(DT_W_TASK_DONE)))
                _exit(5);
            done->u.task_done.task_row_id = id;
            rc = s->ops->commit(s, &done, 1) < 0 ? -1 : done->rc;
            dt_write_free(done);
        }
        dt_write_free(w);
        if (rc < 0)
            _exit(6);
    }
    dt_write_free(w);
    dt_store_close(s);
    close(fd);
    _exit(0);
}

static void
add_fork_tasks(struct dt_store *s)
{
    struct dt_write *w = dt_write_new(DT_W_STEP);

    w->u.step.instance_id = fx_strdup("a");
    for (int i = 0; i < FORK_TASKS; i++)
        assert_int_equal(
            dt_task_list_push_take(&w->u.step.tasks, dt_task_new("a", NULL, i, "Act", NULL, 0)), 0);
    assert_int_equal(fx_commit1(s, w), 0);
}

static void
test_two_processes_never_claim_the_same_task(void **state)
{
    struct fx *fx = *state;
    int fds[2][2], status, seen[FORK_TASKS + 1] = {0}, total = 0;
    pid_t pid[2];
    int64_t id;

    assert_int_equal(fx_create(fx->s, "a", "A", 1), 0);
    add_fork_tasks(fx->s);
    dt_store_close(fx->s); /* no connection crosses the fork */
    fx->s = NULL;
    for (int c = 0; c < 2; c++) {
        assert_int_equal(pipe(fds[c]), 0);
        pid[c] = fork();
        assert_true(pid[c] >= 0);
        if (pid[c] == 0) {
            close(fds[c][0]);
            child_claim_loop(fx->target, c == 0 ? "proc-a" : "proc-b", fds[c][1]);
        }
        close(fds[c][1]);
    }
    for (int c = 0; c < 2; c++) {
        while (read(fds[c][0], &id, sizeof(id)) == sizeof(id)) {
            assert_true(id >= 1 && id <= FORK_TASKS);
            seen[id]++;
            total++;
        }
        close(fds[c][0]);
        assert_int_equal(waitpid(pid[c], &status, 0), pid[c]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(total, FORK_TASKS);
    for (int i = 1; i <= FORK_TASKS; i++)
        assert_int_equal(seen[i], 1);
    fx_reopen(fx);
}

/* ------------------------------------------------ readers during commits */

struct reader_arg {
    struct dt_store *s;
    volatile int *stop;
    int failures;
    int reads;
};

static void *
reader_main(void *p)
{
    struct reader_arg *a = p;
    struct durata_instance *inst;
    struct durata_page *page;
    struct dt_event_list h;
    int64_t due;
    int rc;

    while (!*a->stop) {
        rc = a->s->ops->get_instance(a->s, "r-0", &inst);
        if (rc == 0)
            durata_instance_free(inst);
        else if (rc != DURATA_ENOTFOUND)
            a->failures++;
        memset(&h, 0, sizeof(h));
        if (a->s->ops->get_history(a->s, "r-0", &h) < 0)
            a->failures++;
        dt_event_list_release(&h);
        if (a->s->ops->query(a->s, NULL, 10, NULL, &page) < 0) {
            a->failures++;
        } else {
            for (size_t i = 0; i < page->count; i++)
                durata_instance_free(page->items[i]);
            free(page->items);
            free(page->continuation);
            free(page);
        }
        if (a->s->ops->next_due(a->s, 0, &due) < 0)
            a->failures++;
        a->reads++;
    }
    return NULL;
}

static void
test_reads_from_many_threads_during_commits(void **state)
{
    struct fx *fx = *state;
    struct reader_arg args[6];
    pthread_t th[6];
    volatile int stop = 0;
    struct dt_write *w[20];
    char id[32];

    for (int i = 0; i < 6; i++) {
        args[i] = (struct reader_arg){.s = fx->s, .stop = &stop};
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &args[i]), 0);
    }
    for (int batch = 0; batch < 15; batch++) {
        for (int i = 0; i < 20; i++) {
            snprintf(id, sizeof(id), "r-%d", batch * 20 + i);
            w[i] = fx_create_unit(id, "R", batch);
        }
        fx_commit(fx->s, w, 20);
        for (int i = 0; i < 20; i++) {
            assert_int_equal(w[i]->rc, 0);
            dt_write_free(w[i]);
        }
    }
    stop = 1;
    for (int i = 0; i < 6; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(args[i].failures, 0);
        assert_true(args[i].reads > 0);
    }
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

static const struct CMUnitTest sqlite_tests[] = {
    T(test_newer_schema_version_is_refused),
    T(test_version_1_file_is_migrated_and_keeps_its_history),
    T(test_version_2_file_is_migrated_and_keeps_its_instances),
    T(test_version_3_file_is_migrated_and_keeps_its_history),
    T(test_version_4_file_is_migrated_and_numbers_tasks_after_it),
    T(test_task_ids_are_never_reused),
    T(test_wal_starts_over_under_continuous_writes),
    T(test_not_a_database_is_refused),
    cmocka_unit_test(test_open_arguments),
    T(test_unencodable_event_fails_its_unit_only),
    T(test_two_processes_never_claim_the_same_task),
    T(test_reads_from_many_threads_during_commits),
};

int
main(void)
{
    int failed = 0;

    /* The suite provokes errors on purpose; keep their log lines out. */
    dt_log_setup(DT_LOG_OFF, NULL);
    fx_backend = &fx_sqlite_backend;
    failed += _cmocka_run_group_tests("store contract: writes (sqlite)", contract_write_tests,
                                      contract_write_count, NULL, NULL);
    failed += _cmocka_run_group_tests("store contract: claims (sqlite)", contract_claim_tests,
                                      contract_claim_count, NULL, NULL);
    failed += _cmocka_run_group_tests("store contract: step shortcuts (sqlite)",
                                      contract_step_tests, contract_step_count, NULL, NULL);
    failed += cmocka_run_group_tests_name("sqlite backend", sqlite_tests, NULL, NULL);
    return failed;
}
