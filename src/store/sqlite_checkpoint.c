/*
 * sqlite_checkpoint.c — WAL checkpoints off the commit path.
 *
 * SQLite's automatic checkpoint runs inside the commit that crosses the
 * threshold: that commit copies pages into the database file and fsyncs it
 * while every request of its batch waits. Instead, a wal hook on the writer
 * counts WAL frames after each commit and wakes a background thread, which
 * runs PASSIVE checkpoints on its own connection (they never block the
 * writer nor readers).
 * The WAL starts over from its beginning only when a write begins with
 * every frame checkpointed, which a background pass never achieves while
 * the writer keeps committing: the WAL would grow without end and every
 * commit past the threshold would wake another pass (each with its own
 * fsyncs). So once a pass has checkpointed all but a tail of at most
 * DT_SQ_WAL_TAIL_FRAMES, the writer checkpoints that tail itself, in the
 * hook, and its next transaction restarts the WAL: one cycle per
 * DT_SQ_WAL_SOFT_FRAMES or so. If the WAL still grows past
 * DT_SQ_WAL_HARD_FRAMES (checkpoints cannot keep up, or readers hold old
 * snapshots), the writer checkpoints inline, trading latency for a bounded
 * WAL file.
 * Threading: `mu` guards the fields the hook and the thread share (see
 * struct dt_sq_checkpointer); the thread owns `conn`.
 *
 * Pipelined durability lives here too, since it is about the WAL file:
 * once pipelined, the writer runs with synchronous=NORMAL (a commit writes
 * its frames but does not flush them) and dt_sq_sync flushes the WAL file
 * with fdatasync on a descriptor of its own, from any thread. WAL frames
 * are appended in commit order with chained checksums, so a crash keeps a
 * prefix of the commits; SQLite itself still flushes the WAL before each
 * checkpoint and the database file after it.
 */
#include "base/log.h"
#include "store/sqlite_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DT_SQ_WAL_SOFT_FRAMES 8000  /* wake the checkpointer */
#define DT_SQ_WAL_TAIL_FRAMES 1024  /* what the writer checkpoints itself */
#define DT_SQ_WAL_HARD_FRAMES 32768 /* checkpoint inline (64 MiB of 2 KiB pages) */

/* After each commit of the writer, on its thread: frames is the WAL's
 * length. */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct dt_sq_checkpointer *k = arg;
    bool catch_up = false;

    pthread_mutex_lock(&k->mu);
    if (frames < k->last_frames) /* the WAL started over */
        k->backfilled = 0;
    k->last_frames = frames;
    if (frames >= DT_SQ_WAL_SOFT_FRAMES && !k->busy && !k->requested) {
        /* One pass at a time, asked for once: a pass per commit would
         * sync the database file per commit. */
        catch_up = k->backfilled > 0 && frames - k->backfilled <= DT_SQ_WAL_TAIL_FRAMES;
        if (!catch_up) {
            k->requested = true;
            pthread_cond_signal(&k->cv);
        }
    }
    pthread_mutex_unlock(&k->mu);
    if (catch_up || frames >= DT_SQ_WAL_HARD_FRAMES)
        (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

static void *
checkpointer_main(void *arg)
{
    struct dt_sq_checkpointer *k = arg;
    pthread_setname_np(pthread_self(), "dt-checkpoint");
    pthread_mutex_lock(&k->mu);
    while (!k->stop) {
        if (!k->requested) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1; /* a quiet hub still checkpoints what it wrote */
            pthread_cond_timedwait(&k->cv, &k->mu, &ts);
            if (k->stop)
                break;
        }
        k->requested = false;
        k->busy = true;
        pthread_mutex_unlock(&k->mu);
        int log = 0, done = 0;
        int rc =
            sqlite3_wal_checkpoint_v2(k->conn.db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
            dt_log(DT_LOG_WARN, "store: checkpoint failed", "sqliteMessage",
                   sqlite3_errmsg(k->conn.db), NULL);
        pthread_mutex_lock(&k->mu);
        k->busy = false;
        /* A pass that saw more frames than the writer's last commit left
         * read a WAL that has started over since: its count is of no use
         * (a wrong one would only make the writer's catch-up longer). */
        k->backfilled = rc == SQLITE_OK && log <= k->last_frames ? done : 0;
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

int
dt_sq_pipeline(struct dt_store *store)
{
    struct dt_sqlite *s = dt_sq_from_store(store);
    char wal[4096];
    if (s->wal_fd >= 0)
        return 0;
    if (snprintf(wal, sizeof(wal), "%s-wal", s->path) >= (int)sizeof(wal))
        return DURATA_EINVAL;
    pthread_mutex_lock(&s->write_mu);
    int fd = open(wal, O_RDONLY | O_CLOEXEC);
    int rc = fd < 0 ? DURATA_ESYS : 0;
    if (rc == 0 &&
        sqlite3_exec(s->writer.db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
        rc = dt_sq_error(&s->writer, sqlite3_errcode(s->writer.db), "synchronous");
        close(fd);
    }
    if (rc == 0)
        s->wal_fd = fd;
    pthread_mutex_unlock(&s->write_mu);
    if (rc < 0)
        dt_log(DT_LOG_WARN, "store: pipelined commits unavailable; each commit syncs", "path", wal,
               NULL);
    return rc;
}

int
dt_sq_sync(struct dt_store *store)
{
    struct dt_sqlite *s = dt_sq_from_store(store);
    if (s->wal_fd < 0)
        return 0; /* not pipelined: every commit was already durable */
    while (fdatasync(s->wal_fd) != 0) {
        if (errno == EINTR)
            continue;
        dt_log(DT_LOG_ERROR, "store: fdatasync of the WAL failed", "error", strerror(errno), NULL);
        return DURATA_ESTORE;
    }
    return 0;
}
