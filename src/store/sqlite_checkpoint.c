/*
 * sqlite_checkpoint.c — WAL checkpoints off the commit path.
 *
 * SQLite's automatic checkpoint runs inside the commit that crosses the
 * threshold: that commit copies pages into the database file and fsyncs it
 * while every request of its batch waits. Instead, a wal hook on the writer
 * counts WAL frames after each commit and wakes a background thread, which
 * runs PASSIVE checkpoints on its own connection (they never block the
 * writer nor readers). If the WAL still grows past DT_SQ_WAL_HARD_FRAMES
 * (checkpoints cannot keep up), the writer checkpoints inline, trading
 * latency for a bounded WAL file.
 * Threading: `mu` guards frames/stop; the thread owns `conn`.
 */
#include "base/log.h"
#include "store/sqlite_impl.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DT_SQ_WAL_SOFT_FRAMES 1000  /* wake the checkpointer */
#define DT_SQ_WAL_HARD_FRAMES 32768 /* checkpoint inline (~128 MiB of 4 KiB pages) */

static int
wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct dt_sq_checkpointer *k = arg;
    if (frames >= DT_SQ_WAL_HARD_FRAMES) {
        (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        return SQLITE_OK;
    }
    if (frames >= DT_SQ_WAL_SOFT_FRAMES) {
        pthread_mutex_lock(&k->mu);
        k->frames = frames;
        pthread_cond_signal(&k->cv);
        pthread_mutex_unlock(&k->mu);
    }
    return SQLITE_OK;
}

static void *
checkpointer_main(void *arg)
{
    struct dt_sq_checkpointer *k = arg;
    pthread_setname_np(pthread_self(), "dt-checkpoint");
    pthread_mutex_lock(&k->mu);
    while (!k->stop) {
        if (k->frames < DT_SQ_WAL_SOFT_FRAMES) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1; /* a quiet hub still checkpoints what it wrote */
            pthread_cond_timedwait(&k->cv, &k->mu, &ts);
            if (k->stop)
                break;
        }
        k->frames = 0;
        pthread_mutex_unlock(&k->mu);
        int rc = sqlite3_wal_checkpoint_v2(k->conn.db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
            dt_log(DT_LOG_WARN, "store: checkpoint failed", "sqliteMessage",
                   sqlite3_errmsg(k->conn.db), NULL);
        pthread_mutex_lock(&k->mu);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

int
dt_sq_checkpointer_start(struct dt_sqlite *s)
{
    struct dt_sq_checkpointer *k = &s->checkpointer;
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, NULL);
    k->initialized = true;
    int rc = dt_sq_conn_open(s->path, false, &k->conn);
    if (rc < 0)
        return rc;
    if (pthread_create(&k->thread, NULL, checkpointer_main, k) != 0)
        return DURATA_ESYS;
    k->running = true;
    sqlite3_wal_hook(s->writer.db, wal_hook, k); /* replaces the inline auto-checkpoint */
    return 0;
}

void
dt_sq_checkpointer_stop(struct dt_sqlite *s)
{
    struct dt_sq_checkpointer *k = &s->checkpointer;
    if (!k->initialized)
        return;
    if (k->running) {
        pthread_mutex_lock(&k->mu);
        k->stop = true;
        pthread_cond_signal(&k->cv);
        pthread_mutex_unlock(&k->mu);
        pthread_join(k->thread, NULL);
        k->running = false;
    }
    if (s->writer.db)
        sqlite3_wal_hook(s->writer.db, NULL, NULL);
    dt_sq_conn_close(&k->conn);
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->cv);
    k->initialized = false;
}
