/*
 * sqlite_vfs.c — the store's SQLite VFS: the system's default VFS, with the
 * writes of each commit to the WAL file gathered into one system call.
 *
 * SQLite writes a WAL frame as two pwrite calls (the 24-byte frame header,
 * then the page), so a group commit of 70 pages made 140 system calls;
 * measured here, one pwrite of the same bytes costs a tenth of that (the
 * default VFS takes under 128 KiB a call, so a large commit is written in
 * pieces of DT_SQ_WAL_PIECE).
 * This VFS opens every file through the default one. Frames appended to a
 * WAL file are kept in a buffer while they follow each other, and written
 * together:
 *  - right after the page of a commit frame (a frame header whose
 *    "database size after commit" field is non-zero), so a commit's frames
 *    are in the file before SQLite publishes them to other connections in
 *    the wal-index, and a failed write fails the commit;
 *  - before any other operation on the file (read, sync, truncate, size,
 *    file control, close), and before a write that is not the next append
 *    or would take the buffer past DT_SQ_WAL_BUFFER.
 * Every other write goes straight through, after what is held: the header
 * of a WAL that starts over, and rewrites of earlier frames (a transaction
 * that spilled pages and changed them again overwrites their frames and,
 * at commit, rewrites the checksums of the frames from there on, the commit
 * frame's header included, after that frame's page).
 * In synchronous=FULL mode SQLite also syncs the WAL at each commit, which
 * flushes first. Other files (the database, its journal) use the default
 * VFS's own methods, untouched.
 * Threading: a file object belongs to its connection, which SQLite and the
 * store use from one thread at a time; registration happens once.
 */
#include "store/sqlite_impl.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DT_SQ_WAL_BUFFER (4 * 1024 * 1024)
#define DT_SQ_WAL_PIECE (96 * 1024)
#define WAL_FRAME_HEADER 24

/* A WAL file: our methods, then the default VFS's file object. */
struct wal_file {
    sqlite3_file base;
    sqlite3_file *real; /* right after this struct, in SQLite's allocation */
    unsigned char *buf; /* bytes not yet written, for file offset `at` on */
    size_t len, cap;
    sqlite3_int64 at;
    sqlite3_int64 end;     /* where the WAL's frames end: appends begin here */
    bool commit_page_next; /* the last write was a commit frame's header */
};

static sqlite3_vfs shim_vfs;
static sqlite3_vfs *parent_vfs;

static struct wal_file *
wal_of(sqlite3_file *f)
{
    return (struct wal_file *)f;
}

/* Writes the buffer out, in pieces the default VFS takes (it writes at
 * most 128 KiB - 1 per call). */
static int
wal_flush(struct wal_file *w)
{
    int rc = SQLITE_OK;

    for (size_t done = 0; done < w->len && rc == SQLITE_OK;) {
        size_t n = w->len - done < DT_SQ_WAL_PIECE ? w->len - done : DT_SQ_WAL_PIECE;
        rc = w->real->pMethods->xWrite(w->real, w->buf + done, (int)n, w->at + (sqlite3_int64)done);
        done += n;
    }
    w->len = 0;
    return rc;
}

/* Room for n more bytes in the buffer (which then holds at most
 * DT_SQ_WAL_BUFFER). */
static int
wal_reserve(struct wal_file *w, size_t n)
{
    if (w->len + n <= w->cap)
        return SQLITE_OK;
    size_t cap = w->cap ? w->cap : 64 * 1024;
    while (cap < w->len + n)
        cap *= 2;
    unsigned char *p = realloc(w->buf, cap);
    if (!p)
        return SQLITE_NOMEM;
    w->buf = p;
    w->cap = cap;
    return SQLITE_OK;
}

/* Whether data is a frame header that ends a transaction: bytes 4..7, the
 * database size after a commit, are zero in every other frame. */
static bool
is_commit_header(const void *data, int n)
{
    const unsigned char *p = data;
    return n == WAL_FRAME_HEADER && (p[4] | p[5] | p[6] | p[7]) != 0;
}

static int
wal_write(sqlite3_file *f, const void *data, int n, sqlite3_int64 off)
{
    struct wal_file *w = wal_of(f);
    bool commit_page = w->commit_page_next;
    bool append = off > 0 && off >= w->end;
    bool through = !append || (size_t)n > DT_SQ_WAL_PIECE;
    int rc = SQLITE_OK;

    w->commit_page_next = append && is_commit_header(data, n);
    if (w->len &&
        (through || off != w->at + (sqlite3_int64)w->len || w->len + (size_t)n > DT_SQ_WAL_BUFFER))
        rc = wal_flush(w);
    if (rc == SQLITE_OK && !through && wal_reserve(w, (size_t)n) != SQLITE_OK) {
        rc = wal_flush(w); /* without memory: as it comes, nothing held behind */
        through = true;
    }
    if (rc != SQLITE_OK)
        return rc;
    if (append)
        w->end = off + n;
    else if (off == 0)
        w->end = n; /* the WAL's header: it starts over */
    if (through)
        return w->real->pMethods->xWrite(w->real, data, n, off);
    if (w->len == 0)
        w->at = off;
    memcpy(w->buf + w->len, data, (size_t)n);
    w->len += (size_t)n;
    return commit_page ? wal_flush(w) : SQLITE_OK;
}

static int
wal_close(sqlite3_file *f)
{
    struct wal_file *w = wal_of(f);
    int rc = wal_flush(w);
    int rc_close = w->real->pMethods->xClose(w->real);

    free(w->buf);
    w->buf = NULL;
    return rc != SQLITE_OK ? rc : rc_close;
}

static int
wal_read(sqlite3_file *f, void *data, int n, sqlite3_int64 off)
{
    struct wal_file *w = wal_of(f);
    int rc = wal_flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xRead(w->real, data, n, off);
}

static int
wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    struct wal_file *w = wal_of(f);
    int rc = wal_flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xTruncate(w->real, size);
}

static int
wal_sync(sqlite3_file *f, int flags)
{
    struct wal_file *w = wal_of(f);
    int rc = wal_flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xSync(w->real, flags);
}

static int
wal_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    struct wal_file *w = wal_of(f);
    int rc = wal_flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xFileSize(w->real, size);
}

static int
wal_lock(sqlite3_file *f, int level)
{
    return wal_of(f)->real->pMethods->xLock(wal_of(f)->real, level);
}

static int
wal_unlock(sqlite3_file *f, int level)
{
    return wal_of(f)->real->pMethods->xUnlock(wal_of(f)->real, level);
}

static int
wal_check_reserved(sqlite3_file *f, int *out)
{
    return wal_of(f)->real->pMethods->xCheckReservedLock(wal_of(f)->real, out);
}

static int
wal_file_control(sqlite3_file *f, int op, void *arg)
{
    struct wal_file *w = wal_of(f);
    int rc = wal_flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xFileControl(w->real, op, arg);
}

static int
wal_sector_size(sqlite3_file *f)
{
    return wal_of(f)->real->pMethods->xSectorSize(wal_of(f)->real);
}

static int
wal_device_characteristics(sqlite3_file *f)
{
    return wal_of(f)->real->pMethods->xDeviceCharacteristics(wal_of(f)->real);
}

/* Version 1: SQLite asks shared memory and memory maps of the database
 * file only, never of its WAL. */
static const sqlite3_io_methods wal_methods = {
    .iVersion = 1,
    .xClose = wal_close,
    .xRead = wal_read,
    .xWrite = wal_write,
    .xTruncate = wal_truncate,
    .xSync = wal_sync,
    .xFileSize = wal_file_size,
    .xLock = wal_lock,
    .xUnlock = wal_unlock,
    .xCheckReservedLock = wal_check_reserved,
    .xFileControl = wal_file_control,
    .xSectorSize = wal_sector_size,
    .xDeviceCharacteristics = wal_device_characteristics,
};

static int
shim_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags, int *out_flags)
{
    (void)vfs;
    if (!(flags & SQLITE_OPEN_WAL))
        return parent_vfs->xOpen(parent_vfs, name, f, flags, out_flags);
    struct wal_file *w = wal_of(f);
    memset(w, 0, sizeof(*w));
    w->real = (sqlite3_file *)(w + 1);
    int rc = parent_vfs->xOpen(parent_vfs, name, w->real, flags, out_flags);
    w->base.pMethods = rc == SQLITE_OK ? &wal_methods : NULL;
    return rc;
}

/* The rest is the default VFS's, called with its own object. */
static int
shim_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    return parent_vfs->xDelete(parent_vfs, name, sync_dir);
}

static int
shim_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return parent_vfs->xAccess(parent_vfs, name, flags, out);
}

static int
shim_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return parent_vfs->xFullPathname(parent_vfs, name, n, out);
}

static int
shim_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return parent_vfs->xRandomness(parent_vfs, n, out);
}

static int
shim_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return parent_vfs->xSleep(parent_vfs, us);
}

static int
shim_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return parent_vfs->xCurrentTime(parent_vfs, out);
}

static int
shim_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return parent_vfs->xGetLastError(parent_vfs, n, out);
}

static int
shim_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    return parent_vfs->xCurrentTimeInt64(parent_vfs, out);
}

static void *
shim_dl_open(sqlite3_vfs *vfs, const char *name)
{
    (void)vfs;
    return parent_vfs->xDlOpen(parent_vfs, name);
}

static void
shim_dl_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    parent_vfs->xDlError(parent_vfs, n, out);
}

static void (*shim_dl_sym(sqlite3_vfs *vfs, void *lib, const char *sym))(void)
{
    (void)vfs;
    return parent_vfs->xDlSym(parent_vfs, lib, sym);
}

static void
shim_dl_close(sqlite3_vfs *vfs, void *lib)
{
    (void)vfs;
    parent_vfs->xDlClose(parent_vfs, lib);
}

static int register_rc = SQLITE_ERROR;
static pthread_once_t register_once = PTHREAD_ONCE_INIT;

static void
register_shim(void)
{
    parent_vfs = sqlite3_vfs_find(NULL);
    /* Version 2 needs xCurrentTimeInt64; the default unix VFS has it. */
    if (!parent_vfs || parent_vfs->iVersion < 2 || !parent_vfs->xCurrentTimeInt64)
        return;
    int size = (int)sizeof(struct wal_file) + parent_vfs->szOsFile;
    shim_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = size > parent_vfs->szOsFile ? size : parent_vfs->szOsFile,
        .mxPathname = parent_vfs->mxPathname,
        .zName = DT_SQ_VFS_NAME,
        .xOpen = shim_open,
        .xDelete = shim_delete,
        .xAccess = shim_access,
        .xFullPathname = shim_full_pathname,
        .xDlOpen = shim_dl_open,
        .xDlError = shim_dl_error,
        .xDlSym = shim_dl_sym,
        .xDlClose = shim_dl_close,
        .xRandomness = shim_randomness,
        .xSleep = shim_sleep,
        .xCurrentTime = shim_current_time,
        .xGetLastError = shim_last_error,
        .xCurrentTimeInt64 = shim_current_time_int64,
    };
    register_rc = sqlite3_vfs_register(&shim_vfs, 0);
}

const char *
dt_sq_vfs(void)
{
    pthread_once(&register_once, register_shim);
    return register_rc == SQLITE_OK ? DT_SQ_VFS_NAME : NULL;
}
