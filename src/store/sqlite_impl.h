/*
 * sqlite_impl.h — internals shared by the files of the SQLite backend
 * (sqlite.c, sqlite_write.c, sqlite_claim.c, sqlite_read.c, sqlite_query.c).
 *
 * Owns: struct dt_sqlite (the backend's store object), struct dt_sq_conn (one
 * SQLite connection with its cache of prepared statements), the statement
 * catalogue (enum dt_sq_id; the SQL text is in sqlite.c), error mapping and
 * small bind/column helpers.
 *
 * Locking: the writer connection is used only under write_mu, by commit().
 * Each reader connection is used only under its reader's mu. SQLite itself
 * runs in multi-thread mode (SQLITE_OPEN_NOMUTEX): these mutexes are the
 * only guard, so a connection must never be touched without its lock.
 */
#ifndef DT_STORE_SQLITE_IMPL_H
#define DT_STORE_SQLITE_IMPL_H

#include "store/store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Cached statements; see sq_sql[] in sqlite.c for the text of each. */
enum dt_sq_id {
    DT_SQ_BEGIN,
    DT_SQ_BEGIN_READ,
    DT_SQ_COMMIT,
    DT_SQ_ROLLBACK,
    DT_SQ_SAVEPOINT,
    DT_SQ_RELEASE,
    DT_SQ_ROLLBACK_TO,
    DT_SQ_INST_INSERT,
    DT_SQ_INST_STATUS,
    DT_SQ_INST_DELETE,
    DT_SQ_HIST_DELETE_ALL,
    DT_SQ_INBOX_DELETE_ALL,
    DT_SQ_TASKS_DELETE_ALL,
    DT_SQ_INBOX_INSERT,
    DT_SQ_INBOX_DELIVER,
    DT_SQ_INBOX_DELETE,
    DT_SQ_HIST_INSERT,
    DT_SQ_STEP_LOCKED_STATE,
    DT_SQ_STEP_LOCKED_UNLOCK,
    DT_SQ_STEP_ADMIN_STATE,
    DT_SQ_STEP_ADMIN_UNLOCK,
    DT_SQ_STEP_FREE_STATE,
    DT_SQ_TASK_INSERT,
    DT_SQ_TASK_INSERT_LEASED,
    DT_SQ_TASK_IDS_RESERVE,
    DT_SQ_PRECLAIM,
    DT_SQ_TASK_DELETE,
    DT_SQ_TASK_RELEASE,
    DT_SQ_TASK_RENEW,
    DT_SQ_CLAIM_INST_SELECT,
    DT_SQ_CLAIM_INST_LOCK,
    DT_SQ_CLAIM_TASKS,
    DT_SQ_GET_INSTANCE,
    DT_SQ_GET_HISTORY,
    DT_SQ_HISTORY_LEN,
    DT_SQ_GET_INBOX,
    DT_SQ_NEXT_DUE,
    DT_SQ_COUNT_STATUS,
    DT_SQ_COUNT_INBOX,
    DT_SQ_COUNT_TASKS,
    DT_SQ_COUNT_, /* number of statements */
};

/* The VFS every connection opens its file with (sqlite_vfs.c: the default
 * one, with each commit's WAL writes gathered into one system call);
 * registered on first use. NULL when it cannot be (then use the default). */
#define DT_SQ_VFS_NAME "durata"
const char *dt_sq_vfs(void);

/* Installs the page cache of sqlite_pcache.c (SQLite's default one,
 * without the whole-cache scan at each commit) for the process; only
 * possible before SQLite is first used. false when it could not be (the
 * default cache stays). Not thread-safe: call once (dt_sqlite_open does). */
bool dt_sq_pcache_install(void);
/* Truncates of the page cache forwarded to SQLite's cache and skipped
 * since the process started (for tests). */
void dt_sq_pcache_counts(uint64_t *forwarded, uint64_t *skipped);

/* Filtered statements (query, purge_many) are built per combination of
 * filter parts present, so the planner sees plain predicates it can index;
 * each combination is prepared once per connection. */
enum dt_sq_filter_kind { DT_SQF_QUERY, DT_SQF_PURGE, DT_SQF_KINDS_ };
#define DT_SQF_VARIANTS 128 /* 7 optional parts, see sqlite_query.c */

struct dt_sq_conn {
    sqlite3 *db;
    sqlite3_stmt *stmt[DT_SQ_COUNT_];
    sqlite3_stmt *filter[DT_SQF_KINDS_][DT_SQF_VARIANTS];
    /* The writer's task ids not yet handed out, [next, end), reserved in
     * id_blocks; forgotten (next = end) whenever a transaction or a part of
     * one is rolled back, since the reservation may be undone with it
     * (sqlite_write.c). */
    int64_t task_id_next, task_id_end;
};

#define DT_SQ_READERS 4

struct dt_sq_reader {
    pthread_mutex_t mu;
    struct dt_sq_conn conn; /* guarded by mu; db is NULL until first use */
};

/* The background checkpointer (sqlite_checkpoint.c). */
struct dt_sq_checkpointer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* guarded by mu: frames the thread's last pass left checkpointed in the
     * current WAL (0 before one, or once the WAL started over), and whether
     * a pass is under way */
    int backfilled;
    bool busy;
    bool requested;  /* guarded by mu: the writer asked for a pass not yet begun */
    int last_frames; /* the writer's (wal hook's) own: frames at its previous commit */
    bool stop;       /* guarded by mu */
    bool running;
    bool initialized;
    struct dt_sq_conn conn; /* owned by the thread */
};

struct dt_sqlite {
    struct dt_store base;
    char *path;
    pthread_mutex_t write_mu;
    struct dt_sq_conn writer; /* guarded by write_mu */
    struct dt_sq_reader readers[DT_SQ_READERS];
    atomic_uint next_reader;
    struct dt_sq_checkpointer checkpointer;
    int wal_fd; /* -1, or the WAL file opened for sync() once pipelined */
};

/* The columns of an instance row, in the order dt_sq_read_instance reads. */
#define DT_SQ_INSTANCE_COLUMNS                                                                     \
    "id, name, version, execution_id, status, input, output, custom_status, failure, "             \
    "created_ms, updated_ms, completed_ms, scheduled_start_ms, parent_id"

/* ---------------------------------------------------------------- sqlite.c */

DURATA_MUST_CHECK int dt_sq_conn_open(const char *path, bool writer, struct dt_sq_conn *c);
void dt_sq_conn_close(struct dt_sq_conn *c);

/* ----------------------------------------------------- sqlite_checkpoint.c */

/* Starts checkpointing in the background (s->writer and s->path set). */
DURATA_MUST_CHECK int dt_sq_checkpointer_start(struct dt_sqlite *s);
/* Stops the thread; the writer's inline auto-checkpoint is not restored. */
void dt_sq_checkpointer_stop(struct dt_sqlite *s);

/* Maps an SQLite result code to a DURATA_E* code and logs the connection's
 * message with `what` (the operation). */
int dt_sq_error(struct dt_sq_conn *c, int rc, const char *what);

/* The cached statement id of c, prepared on first use (reset, ready to
 * bind). */
DURATA_MUST_CHECK int dt_sq_stmt(struct dt_sq_conn *c, enum dt_sq_id id, sqlite3_stmt **out);

/* Prepares sql once per connection into *slot (persistent). */
DURATA_MUST_CHECK int dt_sq_prepare_into(struct dt_sq_conn *c, const char *sql,
                                         sqlite3_stmt **slot);

/* Steps st to completion (no rows expected) and resets it: 0 or a mapped
 * error. */
DURATA_MUST_CHECK int dt_sq_run(struct dt_sq_conn *c, sqlite3_stmt *st, const char *what);

/* Runs the parameterless cached statement id. */
DURATA_MUST_CHECK int dt_sq_exec(struct dt_sq_conn *c, enum dt_sq_id id);

/* Binds s (SQLITE_STATIC: s must outlive the step), or NULL when s is NULL. */
int dt_sq_bind_text(sqlite3_stmt *st, int i, const char *s);

/* A heap copy of column i (NULL for SQL NULL). *oom is set when memory ran
 * out; it is never cleared, so one check after many calls suffices. */
char *dt_sq_column_dup(sqlite3_stmt *st, int i, bool *oom);

/* Borrows a reader connection (opening it on first use); release with
 * dt_sq_reader_put. */
DURATA_MUST_CHECK int dt_sq_reader_get(struct dt_sqlite *s, struct dt_sq_reader **out);
void dt_sq_reader_put(struct dt_sq_reader *r);

static inline struct dt_sqlite *
dt_sq_from_store(struct dt_store *store)
{
    return (struct dt_sqlite *)store;
}

/* ------------------------------------------------------- sqlite_write.c */

int dt_sq_commit(struct dt_store *store, struct dt_write **units, size_t n);

/* Deletes an instance with its history, inbox and tasks. */
DURATA_MUST_CHECK int dt_sq_delete_instance(struct dt_sq_conn *c, const char *id);

/* The status of instance id: 0, or DURATA_ENOTFOUND, or an error. *exec
 * (may be NULL) is set to whether execution_id matches the row's execution
 * (true when execution_id is NULL). */
DURATA_MUST_CHECK int dt_sq_instance_status(struct dt_sq_conn *c, const char *id,
                                            const char *execution_id, int *status, bool *exec);

/* ------------------------------------------------------- sqlite_claim.c */

DURATA_MUST_CHECK int dt_sq_claim_instances(struct dt_sq_conn *c, struct dt_claim_instances *ci);
DURATA_MUST_CHECK int dt_sq_claim_tasks(struct dt_sq_conn *c, struct dt_claim_tasks *ct);
DURATA_MUST_CHECK int dt_sq_purge(struct dt_sq_conn *c, struct dt_purge *p);
DURATA_MUST_CHECK int dt_sq_purge_many(struct dt_sq_conn *c, struct dt_purge_many *p);

/* -------------------------------------------------------- sqlite_read.c */

/* Reads an instance from a row of DT_SQ_INSTANCE_COLUMNS starting at col 0. */
DURATA_MUST_CHECK int dt_sq_read_instance(sqlite3_stmt *st, struct durata_instance **out);

int dt_sq_get_instance(struct dt_store *store, const char *id, struct durata_instance **out);
int dt_sq_get_history(struct dt_store *store, const char *id, struct dt_event_list *out);
int dt_sq_history_len(struct dt_store *store, const char *id, size_t *out);
int dt_sq_load_step(struct dt_store *store, const char *id, int64_t now_ms,
                    struct durata_instance **inst, struct dt_msg_list *inbox, size_t *history_len);

/* ------------------------------------------------------ sqlite_checkpoint.c */

int dt_sq_pipeline(struct dt_store *store);
int dt_sq_sync(struct dt_store *store);
int dt_sq_get_inbox(struct dt_store *store, const char *id, int64_t now_ms,
                    struct dt_msg_list *out);
int dt_sq_next_due(struct dt_store *store, int64_t now_ms, int64_t *out_ms);
int dt_sq_counts(struct dt_store *store, int64_t by_status[8], int64_t *inbox, int64_t *tasks);

/* ------------------------------------------------------- sqlite_query.c */

int dt_sq_query(struct dt_store *store, const struct durata_filter *f, size_t limit,
                const char *after, struct durata_page **out);

/* Prepares (once) and binds the filtered statement of kind for f, with the
 * position `after` (query only; NULL = none) and the row limit. */
DURATA_MUST_CHECK int dt_sq_filter_stmt(struct dt_sq_conn *c, enum dt_sq_filter_kind kind,
                                        const struct durata_filter *f, int64_t after_created,
                                        const char *after_id, int64_t limit, sqlite3_stmt **out);

#endif
