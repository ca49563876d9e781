/*
 * schema.c — the on-disk format of a hub's SQLite file, and its migrations.
 *
 * Owns: the table definitions below (the authoritative description of the
 * format), the version number in PRAGMA user_version, and the migration
 * list that brings an older file up to date.
 * Threading: dt_schema_migrate needs exclusive use of its connection; files
 * shared by processes are safe because it works in a write transaction.
 *
 * ---------------------------------------------------------------- format
 * Version 5 (version 1 had one history row per event; version 2 kept
 * instances in a rowid table with a separate index on id; version 3 kept
 * history WITHOUT ROWID, clustered by instance; version 4 numbered tasks
 * with AUTOINCREMENT). Times are int64
 * milliseconds since the Unix epoch (UTC); JSON values are stored as text
 * exactly as received.
 *
 * instances — one row per orchestration instance (its current execution),
 *   WITHOUT ROWID: the rows are the b-tree on id, so a start writes one
 *   b-tree less and an update by id needs one lookup.
 *   id TEXT PRIMARY KEY, name, version (NULL ok), execution_id,
 *   status INT (enum durata_status), input, output, custom_status (JSON
 *   text or NULL), failure (the failure object as JSON text, see codec.h, or
 *   NULL), created_ms, updated_ms, completed_ms (0 while not terminal),
 *   scheduled_start_ms (0 = at once), parent_id (NULL for top level),
 *   lock_owner / lock_until_ms: the claim of an orchestration worker (NULL
 *   and 0 when unlocked; an expired lock is free to claim).
 *   Indexes: (created_ms, id) for query order and paging; (status,
 *   created_ms) and (name, created_ms) for query filters, so a filtered page
 *   is read in creation order instead of sorting every match; a partial
 *   index on lock_until_ms of locked rows only (next_due), which costs
 *   nothing for unlocked rows.
 *
 * history — the events of each instance's current execution, one row per
 *   append (a step's events together).
 *   A rowid table, so appends go to its end (cheap page splits; its rows
 *   are a few hundred bytes and up), with UNIQUE index history_key on
 *   (instance_id, seq) for an instance's rows and for collisions; seq is
 *   the 0-based position of the row's first event,
 *   n (version 2) how many events the row holds, so rows cover
 *   [seq, seq + n) without gaps; event is the JSON of one event
 *   (event_json.c) when the row was written by version 1 (n = 1), or a JSON
 *   array of events. Writers append at the position where the history they
 *   read ends, so two writers that read the same history collide on
 *   (instance_id, seq): that is how a concurrent writer is detected.
 *
 * inbox — messages waiting for an instance.
 *   id INTEGER PRIMARY KEY AUTOINCREMENT (arrival order; never reused, so a
 *   consumed id cannot name a newer message), instance_id, execution_id
 *   (NULL = any), visible_ms, type INT (the event's enum durata_event_type,
 *   so a claim can tell Resumed/Terminated apart without parsing), event
 *   (JSON). Indexes: (visible_ms) for claims and next_due, (instance_id, id)
 *   for an instance's messages.
 *
 * tasks — activity tasks.
 *   id INTEGER PRIMARY KEY, never reused (a late result for a deleted task
 *   must not complete a new one): the writer numbers tasks from blocks it
 *   reserves in id_blocks, in the transaction that inserts them (version 4
 *   used AUTOINCREMENT, which rewrote sqlite_sequence at every insert),
 *   instance_id, execution_id,
 *   task_id (the TaskScheduled event id), name, input, visible_ms,
 *   deliveries, lease_owner, lease_until_ms.
 *   Invariant: while a task is leased, visible_ms = lease_until_ms. A task is
 *   therefore claimable exactly when visible_ms <= now (never leased, or its
 *   lease expired), and one index on (visible_ms) serves claims and
 *   next_due without scanning running tasks. (instance_id) index for
 *   clear_tasks and purge.
 *
 * id_blocks — the next unreserved id of a numbering (name 'tasks'), WITHOUT
 *   ROWID. A writer reserves [next, next + k) by raising next in the
 *   transaction that uses the ids, so no committed id is handed out again.
 *
 * ------------------------------------------------- changing the format
 *  1. Never edit a migration that has shipped: files in the field ran it.
 *  2. Bump DT_SCHEMA_VERSION in schema.h.
 *  3. Append a migration to `migrations` below whose SQL turns version N-1
 *     into N (ALTER TABLE / CREATE INDEX / data rewrite); it runs inside the
 *     same transaction as the version bump, so it applies fully or not at
 *     all.
 *  4. Update the format description above and the statements in sqlite.c.
 *  5. Add a test in tests/unit/store/test_sqlite.c that creates a file at
 *     version N-1 (with this migration's predecessor SQL), opens it, and
 *     checks the data survived; run the whole store suite.
 *  6. Older builds refuse the new file (DURATA_ECORRUPT, logged): say so in
 *     the release notes.
 */
#include "store/schema.h"

#include "base/log.h"

#include <stdio.h>

/* migrations[i] turns version i into version i + 1. */
static const char *const migrations[DT_SCHEMA_VERSION] = {
    /* 0 -> 1: the initial schema. */
    "CREATE TABLE instances ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " name TEXT NOT NULL,"
    " version TEXT,"
    " execution_id TEXT,"
    " status INTEGER NOT NULL,"
    " input TEXT,"
    " output TEXT,"
    " custom_status TEXT,"
    " failure TEXT,"
    " created_ms INTEGER NOT NULL,"
    " updated_ms INTEGER NOT NULL,"
    " completed_ms INTEGER NOT NULL DEFAULT 0,"
    " scheduled_start_ms INTEGER NOT NULL DEFAULT 0,"
    " parent_id TEXT,"
    " lock_owner TEXT,"
    " lock_until_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX instances_created ON instances(created_ms, id);"
    "CREATE INDEX instances_status ON instances(status, created_ms);"
    "CREATE INDEX instances_name ON instances(name, created_ms);"
    "CREATE INDEX instances_lock ON instances(lock_until_ms) WHERE lock_owner IS NOT NULL;"
    "CREATE TABLE history ("
    " instance_id TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " event TEXT NOT NULL,"
    " PRIMARY KEY (instance_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE inbox ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " instance_id TEXT NOT NULL,"
    " execution_id TEXT,"
    " visible_ms INTEGER NOT NULL,"
    " type INTEGER NOT NULL,"
    " event TEXT NOT NULL);"
    "CREATE INDEX inbox_visible ON inbox(visible_ms);"
    "CREATE INDEX inbox_instance ON inbox(instance_id, id);"
    "CREATE TABLE tasks ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " instance_id TEXT NOT NULL,"
    " execution_id TEXT,"
    " task_id INTEGER NOT NULL,"
    " name TEXT NOT NULL,"
    " input TEXT,"
    " visible_ms INTEGER NOT NULL,"
    " deliveries INTEGER NOT NULL DEFAULT 0,"
    " lease_owner TEXT,"
    " lease_until_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX tasks_visible ON tasks(visible_ms);"
    "CREATE INDEX tasks_instance ON tasks(instance_id);",
    /* 1 -> 2: history rows hold a step's events together (n of them). */
    "ALTER TABLE history ADD COLUMN n INTEGER NOT NULL DEFAULT 1;",
    /* 2 -> 3: instances clustered by id (WITHOUT ROWID): one b-tree less to
     * write per start, one lookup less per update. */
    "CREATE TABLE instances_v3 ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " name TEXT NOT NULL,"
    " version TEXT,"
    " execution_id TEXT,"
    " status INTEGER NOT NULL,"
    " input TEXT,"
    " output TEXT,"
    " custom_status TEXT,"
    " failure TEXT,"
    " created_ms INTEGER NOT NULL,"
    " updated_ms INTEGER NOT NULL,"
    " completed_ms INTEGER NOT NULL DEFAULT 0,"
    " scheduled_start_ms INTEGER NOT NULL DEFAULT 0,"
    " parent_id TEXT,"
    " lock_owner TEXT,"
    " lock_until_ms INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "INSERT INTO instances_v3 SELECT id, name, version, execution_id, status, input, output,"
    " custom_status, failure, created_ms, updated_ms, completed_ms, scheduled_start_ms,"
    " parent_id, lock_owner, lock_until_ms FROM instances;"
    "DROP TABLE instances;"
    "ALTER TABLE instances_v3 RENAME TO instances;"
    "CREATE INDEX instances_created ON instances(created_ms, id);"
    "CREATE INDEX instances_status ON instances(status, created_ms);"
    "CREATE INDEX instances_name ON instances(name, created_ms);"
    "CREATE INDEX instances_lock ON instances(lock_until_ms) WHERE lock_owner IS NOT NULL;",
    /* 3 -> 4: history in a rowid table, appended at its end (SQLite splits
     * a full last leaf of a rowid table by starting a new page; a WITHOUT
     * ROWID b-tree rebalances three siblings at every split, and rows of
     * a few hundred bytes filled a 2 KiB leaf every few appends), with a
     * unique index on (instance_id, seq) for lookups and collisions. */
    "CREATE TABLE history_v4 ("
    " instance_id TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " event TEXT NOT NULL,"
    " n INTEGER NOT NULL DEFAULT 1);"
    "INSERT INTO history_v4 (instance_id, seq, event, n)"
    " SELECT instance_id, seq, event, n FROM history ORDER BY instance_id, seq;"
    "DROP TABLE history;"
    "ALTER TABLE history_v4 RENAME TO history;"
    "CREATE UNIQUE INDEX history_key ON history(instance_id, seq);",
    /* 4 -> 5: tasks numbered from reserved blocks instead of AUTOINCREMENT
     * (whose sqlite_sequence row was rewritten at every insert); the
     * numbering goes on above every id AUTOINCREMENT handed out. */
    "CREATE TABLE id_blocks (name TEXT PRIMARY KEY NOT NULL, next INTEGER NOT NULL)"
    " WITHOUT ROWID;"
    "INSERT INTO id_blocks (name, next) SELECT 'tasks', max("
    " coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'tasks'), 0),"
    " coalesce((SELECT max(id) FROM tasks), 0)) + 1;"
    "CREATE TABLE tasks_v5 ("
    " id INTEGER PRIMARY KEY,"
    " instance_id TEXT NOT NULL,"
    " execution_id TEXT,"
    " task_id INTEGER NOT NULL,"
    " name TEXT NOT NULL,"
    " input TEXT,"
    " visible_ms INTEGER NOT NULL,"
    " deliveries INTEGER NOT NULL DEFAULT 0,"
    " lease_owner TEXT,"
    " lease_until_ms INTEGER NOT NULL DEFAULT 0);"
    "INSERT INTO tasks_v5 SELECT id, instance_id, execution_id, task_id, name, input,"
    " visible_ms, deliveries, lease_owner, lease_until_ms FROM tasks;"
    "DROP TABLE tasks;"
    "ALTER TABLE tasks_v5 RENAME TO tasks;"
    "CREATE INDEX tasks_visible ON tasks(visible_ms);"
    "CREATE INDEX tasks_instance ON tasks(instance_id);",
};

static int
map_rc(sqlite3 *db, int rc, const char *path, const char *what)
{
    int code = rc & 0xff;

    dt_log(DT_LOG_ERROR, "store schema: sqlite error", "path", path, "op", what, "error",
           sqlite3_errmsg(db), NULL);
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        return DURATA_EBUSY;
    if (code == SQLITE_NOMEM)
        return DURATA_ENOMEM;
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
        return DURATA_ECORRUPT;
    return DURATA_ESTORE;
}

static int
read_version(sqlite3 *db, int *version)
{
    sqlite3_stmt *st;
    int rc;

    rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *version = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Runs migrations from `from` up; the caller holds the transaction. */
static int
apply_migrations(sqlite3 *db, int from)
{
    char sql[64];
    int rc;

    for (int v = from; v < DT_SCHEMA_VERSION; v++) {
        rc = sqlite3_exec(db, migrations[v], NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            return rc;
    }
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", DT_SCHEMA_VERSION);
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

int
dt_schema_migrate(sqlite3 *db, const char *path)
{
    char found[16], known[16];
    int rc, version = 0;

    rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return map_rc(db, rc, path, "begin");
    rc = read_version(db, &version);
    if (rc != SQLITE_OK)
        goto out_rollback;
    if (version > DT_SCHEMA_VERSION) {
        snprintf(found, sizeof(found), "%d", version);
        snprintf(known, sizeof(known), "%d", DT_SCHEMA_VERSION);
        dt_log(DT_LOG_ERROR,
               "store file has a newer schema version than this build knows; "
               "refusing to open it (upgrade durata)",
               "path", path, "fileVersion", found, "knownVersion", known, NULL);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return DURATA_ECORRUPT;
    }
    if (version < DT_SCHEMA_VERSION) {
        rc = apply_migrations(db, version);
        if (rc != SQLITE_OK)
            goto out_rollback;
    }
    rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        goto out_rollback;
    return 0;

out_rollback:
    rc = map_rc(db, rc, path, "migrate");
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}
