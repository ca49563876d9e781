/*
 * sqlite.c — the SQLite backend's object: connections, the statement cache,
 * error mapping, the reader pool, open and close.
 *
 * Owns: struct dt_sqlite (see sqlite_impl.h for its locking), the text of
 * every fixed statement (sq_sql), connection settings, and the ops table.
 * Connections: one writer, used by commit() under write_mu, and up to
 * DT_SQ_READERS reader connections opened on demand, each under its own
 * mutex. In WAL mode readers see the last committed state and never block
 * the writer nor each other. Statements are prepared once per connection
 * (SQLITE_PREPARE_PERSISTENT) and reset after each use, so the hot path never
 * parses SQL.
 * Settings per connection: WAL, synchronous=FULL (a commit is on disk when
 * it returns, even across power loss; pipelined, the writer switches to
 * NORMAL and sync() flushes), 2 KiB pages (a write that touches a random
 * index page costs half the WAL bytes), busy_timeout so processes sharing the
 * file wait for each other, temp_store=MEMORY for savepoint journals.
 */
#include "store/sqlite.h"

#include "base/json.h"
#include "base/log.h"
#include "store/schema.h"
#include "store/sqlite_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SQ_BUSY_TIMEOUT_MS 5000

/* State columns of an instance, bound as ?3..?15 by the step statements. */
/* The name and creation time (?3, ?11) are the instance's for good: not
 * assigning them keeps SQLite from rewriting the entries of the indexes on
 * them (instances_created, instances_name) at every step. */
#define SQ_SET_STATE                                                                               \
    "version = ?4, execution_id = ?5, status = ?6, input = ?7, output = ?8, "                      \
    "custom_status = ?9, failure = ?10, updated_ms = ?12, completed_ms = ?13, "                    \
    "scheduled_start_ms = ?14, parent_id = ?15, lock_owner = NULL, lock_until_ms = 0"
/* Admin rewrites match on the status bit set ?2 (0 = any status). */
#define SQ_ADMIN_MATCH "id = ?1 AND (?2 = 0 OR ((1 << status) & ?2) != 0)"

static const char *const sq_sql[DT_SQ_COUNT_] = {
    [DT_SQ_BEGIN] = "BEGIN IMMEDIATE",
    [DT_SQ_BEGIN_READ] = "BEGIN",
    [DT_SQ_COMMIT] = "COMMIT",
    [DT_SQ_ROLLBACK] = "ROLLBACK",
    [DT_SQ_SAVEPOINT] = "SAVEPOINT unit",
    [DT_SQ_RELEASE] = "RELEASE unit",
    [DT_SQ_ROLLBACK_TO] = "ROLLBACK TO unit",
    [DT_SQ_INST_INSERT] = "INSERT INTO instances (" DT_SQ_INSTANCE_COLUMNS ") VALUES "
                          "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
                          "ON CONFLICT (id) DO NOTHING",
    [DT_SQ_INST_STATUS] = "SELECT status, execution_id FROM instances WHERE id = ?1",
    [DT_SQ_INST_DELETE] = "DELETE FROM instances WHERE id = ?1",
    [DT_SQ_HIST_DELETE_ALL] = "DELETE FROM history WHERE instance_id = ?1",
    [DT_SQ_INBOX_DELETE_ALL] = "DELETE FROM inbox WHERE instance_id = ?1",
    [DT_SQ_TASKS_DELETE_ALL] = "DELETE FROM tasks WHERE instance_id = ?1",
    [DT_SQ_INBOX_INSERT] = "INSERT INTO inbox (instance_id, execution_id, visible_ms, type, event)"
                           " VALUES (?1, ?2, ?3, ?4, ?5)",
    /* Delivery in one statement: inserted only when the target exists, is
     * not terminal (1 Completed, 3 Failed, 4 Canceled, 5 Terminated) and the
     * message is not for another execution. */
    [DT_SQ_INBOX_DELIVER] = "INSERT INTO inbox (instance_id, execution_id, visible_ms, type, event)"
                            " SELECT ?1, ?2, ?3, ?4, ?5 FROM instances WHERE id = ?1"
                            " AND status NOT IN (1, 3, 4, 5)"
                            " AND (?2 IS NULL OR execution_id IS NULL OR execution_id = ?2)",
    [DT_SQ_INBOX_DELETE] = "DELETE FROM inbox WHERE id = ?1 AND instance_id = ?2",
    [DT_SQ_HIST_INSERT] =
        "INSERT INTO history (instance_id, seq, n, event) VALUES (?1, ?2, ?3, ?4)",
    [DT_SQ_STEP_LOCKED_STATE] =
        "UPDATE instances SET " SQ_SET_STATE " WHERE id = ?1 AND lock_owner = ?2",
    [DT_SQ_STEP_LOCKED_UNLOCK] = "UPDATE instances SET lock_owner = NULL, lock_until_ms = 0"
                                 " WHERE id = ?1 AND lock_owner = ?2",
    [DT_SQ_STEP_ADMIN_STATE] = "UPDATE instances SET " SQ_SET_STATE " WHERE " SQ_ADMIN_MATCH,
    [DT_SQ_STEP_ADMIN_UNLOCK] = "UPDATE instances SET lock_owner = NULL, lock_until_ms = 0"
                                " WHERE " SQ_ADMIN_MATCH,
    /* An optimistic step: the lock is free at ?2 and the row unchanged. */
    [DT_SQ_STEP_FREE_STATE] = "UPDATE instances SET " SQ_SET_STATE " WHERE id = ?1"
                              " AND (lock_owner IS NULL OR lock_until_ms <= ?2)"
                              " AND updated_ms = ?16 AND execution_id = ?17"
                              " AND NOT EXISTS (SELECT 1 FROM inbox WHERE instance_id = ?1"
                              " AND visible_ms <= ?2)",
    [DT_SQ_TASK_INSERT] = "INSERT INTO tasks (instance_id, execution_id, task_id, name, input,"
                          " visible_ms, id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?9)",
    /* A task leased at insert: while leased, visible_ms = lease_until_ms. */
    [DT_SQ_TASK_INSERT_LEASED] = "INSERT INTO tasks (instance_id, execution_id, task_id, name,"
                                 " input, visible_ms, deliveries, lease_owner, lease_until_ms, id)"
                                 " VALUES (?1, ?2, ?3, ?4, ?5, ?7, 1, ?8, ?7, ?9)",
    /* Reserves task ids [next - ?1, next) (see id_blocks in schema.c). */
    [DT_SQ_TASK_IDS_RESERVE] = "UPDATE id_blocks SET next = next + ?1 WHERE name = 'tasks'"
                               " RETURNING next",
    /* A pre-claim: the claim rules of DT_SQ_CLAIM_INST_SELECT for one
     * instance and the type ?5 of the message just delivered. */
    [DT_SQ_PRECLAIM] = "UPDATE instances SET lock_owner = ?2, lock_until_ms = ?3"
                       " WHERE id = ?1 AND (lock_owner IS NULL OR lock_until_ms <= ?4)"
                       " AND (status != 7 OR ?5 IN (3, 20))"
                       " AND (status != 6 OR ?5 IN (0, 3, 19, 20))",
    [DT_SQ_TASK_DELETE] = "DELETE FROM tasks WHERE id = ?1",
    [DT_SQ_TASK_RELEASE] = "UPDATE tasks SET lease_owner = NULL, lease_until_ms = 0,"
                           " visible_ms = ?3 WHERE id = ?1 AND lease_owner = ?2",
    [DT_SQ_TASK_RENEW] = "UPDATE tasks SET lease_until_ms = ?3, visible_ms = ?3"
                         " WHERE id = ?1 AND lease_owner = ?2",
    /* Streams claimable messages oldest-visible first along inbox_visible;
     * the caller stops reading once it has enough distinct instances, so a
     * claim costs O(rows up to the last one taken), never O(backlog). */
    [DT_SQ_CLAIM_INST_SELECT] =
        "SELECT m.instance_id FROM inbox AS m INDEXED BY inbox_visible"
        " CROSS JOIN instances AS i ON i.id = m.instance_id"
        " WHERE m.visible_ms <= ?1 AND (i.lock_owner IS NULL OR i.lock_until_ms <= ?1)"
        " AND (i.status != 7 OR m.type IN (3, 20))"
        " AND (i.status != 6 OR m.type IN (0, 3, 19, 20))"
        " ORDER BY m.visible_ms, m.id",
    [DT_SQ_CLAIM_INST_LOCK] = "UPDATE instances SET lock_owner = ?2, lock_until_ms = ?3"
                              " WHERE id = ?1",
    [DT_SQ_CLAIM_TASKS] =
        "UPDATE tasks SET lease_owner = ?1, lease_until_ms = ?2, visible_ms = ?2,"
        " deliveries = deliveries + 1 WHERE id IN (SELECT id FROM tasks WHERE visible_ms <= ?3"
        " ORDER BY visible_ms, id LIMIT ?4)"
        " RETURNING id, instance_id, execution_id, task_id, name, input, deliveries",
    [DT_SQ_GET_INSTANCE] = "SELECT " DT_SQ_INSTANCE_COLUMNS " FROM instances WHERE id = ?1",
    [DT_SQ_GET_HISTORY] = "SELECT event FROM history WHERE instance_id = ?1 ORDER BY seq",
    /* Rows cover positions from 0 without gaps: the last row's end. */
    [DT_SQ_HISTORY_LEN] = "SELECT seq + n FROM history WHERE instance_id = ?1"
                          " ORDER BY seq DESC LIMIT 1",
    [DT_SQ_GET_INBOX] = "SELECT id, execution_id, visible_ms, event FROM inbox"
                        " WHERE instance_id = ?1 AND visible_ms <= ?2 ORDER BY id",
    [DT_SQ_NEXT_DUE] = "SELECT MIN(t) FROM ("
                       " SELECT MIN(visible_ms) AS t FROM inbox WHERE visible_ms > ?1"
                       " UNION ALL SELECT MIN(visible_ms) FROM tasks WHERE visible_ms > ?1"
                       " UNION ALL SELECT MIN(lock_until_ms) FROM instances"
                       "  WHERE lock_owner IS NOT NULL AND lock_until_ms > ?1)",
    [DT_SQ_COUNT_STATUS] = "SELECT status, COUNT(*) FROM instances GROUP BY status",
    [DT_SQ_COUNT_INBOX] = "SELECT COUNT(*) FROM inbox",
    [DT_SQ_COUNT_TASKS] = "SELECT COUNT(*) FROM tasks",
};

/* ------------------------------------------------------------- helpers */

int
dt_sq_error(struct dt_sq_conn *c, int rc, const char *what)
{
    int code = rc & 0xff, out;
    char num[16];

    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        out = DURATA_EBUSY;
    else if (code == SQLITE_NOMEM)
        out = DURATA_ENOMEM;
    else if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
        out = DURATA_ECORRUPT;
    else
        out = DURATA_ESTORE;
    snprintf(num, sizeof(num), "%d", rc);
    dt_log(out == DURATA_EBUSY ? DT_LOG_WARN : DT_LOG_ERROR, "store: sqlite error", "op", what,
           "sqliteCode", num, "sqliteMessage", c && c->db ? sqlite3_errmsg(c->db) : NULL, "error",
           durata_strerror(out), NULL);
    return out;
}

int
dt_sq_prepare_into(struct dt_sq_conn *c, const char *sql, sqlite3_stmt **slot)
{
    int rc;

    if (*slot)
        return 0;
    rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
    if (rc != SQLITE_OK) {
        *slot = NULL;
        return dt_sq_error(c, rc, "prepare");
    }
    return 0;
}

int
dt_sq_stmt(struct dt_sq_conn *c, enum dt_sq_id id, sqlite3_stmt **out)
{
    int rc = dt_sq_prepare_into(c, sq_sql[id], &c->stmt[id]);

    *out = c->stmt[id];
    return rc;
}

int
dt_sq_run(struct dt_sq_conn *c, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
        sqlite3_reset(st);
        return 0;
    }
    rc = dt_sq_error(c, rc, what);
    sqlite3_reset(st);
    return rc;
}

int
dt_sq_exec(struct dt_sq_conn *c, enum dt_sq_id id)
{
    sqlite3_stmt *st;
    int rc = dt_sq_stmt(c, id, &st);

    if (rc < 0)
        return rc;
    return dt_sq_run(c, st, sq_sql[id]);
}

int
dt_sq_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (!s)
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

char *
dt_sq_column_dup(sqlite3_stmt *st, int i, bool *oom)
{
    const unsigned char *text = sqlite3_column_text(st, i);
    char *out;
    int n;

    if (!text) {
        if (sqlite3_column_type(st, i) != SQLITE_NULL)
            *oom = true;
        return NULL;
    }
    n = sqlite3_column_bytes(st, i);
    out = malloc((size_t)n + 1);
    if (!out) {
        *oom = true;
        return NULL;
    }
    memcpy(out, text, (size_t)n);
    out[n] = '\0';
    return out;
}

/* --------------------------------------------------------- connections */

void
dt_sq_conn_close(struct dt_sq_conn *c)
{
    for (int i = 0; i < DT_SQ_COUNT_; i++)
        sqlite3_finalize(c->stmt[i]);
    for (int k = 0; k < DT_SQF_KINDS_; k++)
        for (int v = 0; v < DT_SQF_VARIANTS; v++)
            sqlite3_finalize(c->filter[k][v]);
    sqlite3_close(c->db);
    memset(c, 0, sizeof(*c));
}

/* Applies the per-connection settings (see the file header). */
static int
conn_configure(struct dt_sq_conn *c, bool writer)
{
    const char *common = "PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY;";
    const char *role = writer ? "PRAGMA page_size = 2048; PRAGMA cache_size = -16384; PRAGMA "
                                "journal_size_limit = 67108864;"
                              : "PRAGMA cache_size = -4096; PRAGMA query_only = 1;";
    int rc;

    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, SQ_BUSY_TIMEOUT_MS);
    rc = sqlite3_exec(c->db, common, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(c->db, role, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return dt_sq_error(c, rc, "configure");
    return 0;
}

/* Switches the file to WAL (a persistent property of the file). */
static int
conn_enable_wal(struct dt_sq_conn *c, const char *path)
{
    const char *mode;
    sqlite3_stmt *st;
    int rc;

    rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return dt_sq_error(c, rc, "journal_mode");
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        rc = dt_sq_error(c, rc, "journal_mode");
        sqlite3_finalize(st);
        return rc;
    }
    mode = (const char *)sqlite3_column_text(st, 0);
    if (!mode || strcmp(mode, "wal") != 0)
        dt_log(DT_LOG_WARN, "store: WAL mode unavailable; readers will block the writer", "path",
               path, "journalMode", mode, NULL);
    sqlite3_finalize(st);
    return 0;
}

int
dt_sq_conn_open(const char *path, bool writer, struct dt_sq_conn *c)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);
    int rc;

    memset(c, 0, sizeof(*c));
    rc = sqlite3_open_v2(path, &c->db, flags, dt_sq_vfs());
    if (rc != SQLITE_OK) {
        rc = c->db ? dt_sq_error(c, rc, "open") : DURATA_ENOMEM;
        goto out_close;
    }
    rc = conn_configure(c, writer);
    if (rc == 0 && writer)
        rc = conn_enable_wal(c, path);
    if (rc < 0)
        goto out_close;
    return 0;

out_close:
    if (rc == DURATA_ENOMEM && !c->db)
        dt_log(DT_LOG_ERROR, "store: out of memory opening sqlite", "path", path, NULL);
    dt_sq_conn_close(c);
    return rc;
}

int
dt_sq_reader_get(struct dt_sqlite *s, struct dt_sq_reader **out)
{
    unsigned start = atomic_fetch_add(&s->next_reader, 1u);
    struct dt_sq_reader *r = NULL;
    int rc;

    for (unsigned i = 0; i < DT_SQ_READERS && !r; i++) {
        struct dt_sq_reader *cand = &s->readers[(start + i) % DT_SQ_READERS];

        if (pthread_mutex_trylock(&cand->mu) == 0)
            r = cand;
    }
    if (!r) { /* all busy: queue on one, spread by the counter */
        r = &s->readers[start % DT_SQ_READERS];
        pthread_mutex_lock(&r->mu);
    }
    if (!r->conn.db) {
        rc = dt_sq_conn_open(s->path, false, &r->conn);
        if (rc < 0) {
            pthread_mutex_unlock(&r->mu);
            return rc;
        }
    }
    *out = r;
    return 0;
}

void
dt_sq_reader_put(struct dt_sq_reader *r)
{
    pthread_mutex_unlock(&r->mu);
}

/* -------------------------------------------------------- open / close */

static void
sq_close(struct dt_store *store)
{
    struct dt_sqlite *s = dt_sq_from_store(store);

    if (!s)
        return;
    dt_sq_checkpointer_stop(s);
    if (s->wal_fd >= 0)
        close(s->wal_fd);
    dt_sq_conn_close(&s->writer);
    for (int i = 0; i < DT_SQ_READERS; i++) {
        dt_sq_conn_close(&s->readers[i].conn);
        pthread_mutex_destroy(&s->readers[i].mu);
    }
    pthread_mutex_destroy(&s->write_mu);
    free(s->path);
    free(s);
}

static const struct dt_store_ops sq_ops = {
    .name = "sqlite",
    .commit = dt_sq_commit,
    .get_instance = dt_sq_get_instance,
    .get_history = dt_sq_get_history,
    .history_len = dt_sq_history_len,
    .load_step = dt_sq_load_step,
    .get_inbox = dt_sq_get_inbox,
    .query = dt_sq_query,
    .next_due = dt_sq_next_due,
    .counts = dt_sq_counts,
    .pipeline = dt_sq_pipeline,
    .sync = dt_sq_sync,
    .close = sq_close,
};

/* SQLite counts every allocation under one global mutex unless told not
 * to; nothing here reads those statistics. The page cache is SQLite's own
 * without a scan at every commit (sqlite_pcache.c). Both only possible
 * before SQLite is first used in the process (an embedder that did so
 * keeps its settings). */
static void
configure_library(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (!dt_sq_pcache_install())
        dt_log(DT_LOG_DEBUG, "store: SQLite was in use already; default page cache kept", NULL);
}

int
dt_sqlite_open(const char *path, struct dt_store **out)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    struct dt_sqlite *s;
    int rc;

    pthread_once(&once, configure_library);
    if (!out || !path || !*path)
        return DURATA_EINVAL;
    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return DURATA_ENOMEM;
    s->base.ops = &sq_ops;
    s->wal_fd = -1;
    pthread_mutex_init(&s->write_mu, NULL);
    for (int i = 0; i < DT_SQ_READERS; i++)
        pthread_mutex_init(&s->readers[i].mu, NULL);
    atomic_init(&s->next_reader, 0u);
    rc = DURATA_ENOMEM;
    s->path = dt_strdup_opt(path);
    if (!s->path)
        goto out_close;
    rc = dt_sq_conn_open(path, true, &s->writer);
    if (rc < 0)
        goto out_close;
    rc = dt_schema_migrate(s->writer.db, path);
    if (rc < 0)
        goto out_close;
    if ((rc = dt_sq_checkpointer_start(s)) < 0)
        goto out_close;
    *out = &s->base;
    return 0;

out_close:
    sq_close(&s->base);
    return rc;
}
