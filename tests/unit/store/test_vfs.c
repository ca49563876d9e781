/*
 * test_vfs.c — the store's VFS (sqlite_vfs.c) gathers a commit's WAL
 * writes, yet what it holds back never outlives the commit: when COMMIT
 * returns, every frame the wal hook counts is in the WAL file, and another
 * connection (on the default VFS) reads the data at once. Large
 * transactions (buffer flushed on the way, pages spilled before the
 * commit), rollbacks and checkpoints keep the file consistent.
 */
#include "store/sqlite_impl.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 2048
#define FRAME (24 + PAGE)
#define WAL_HEADER 32

struct fx {
    char dir[512];
    char path[600];
    char wal[620];
    sqlite3 *db;     /* through the store's VFS */
    sqlite3 *reader; /* through the default VFS */
    int frames;      /* what the wal hook last reported */
};

static int
on_wal(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    ((struct fx *)arg)->frames = frames;
    return SQLITE_OK;
}

static void
exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    const char *base = getenv("DURATA_TEST_TMP");

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "%s/vfs-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
    snprintf(f->wal, sizeof(f->wal), "%s-wal", f->path);
    assert_non_null(dt_sq_vfs());
    assert_int_equal(
        sqlite3_open_v2(f->path, &f->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, dt_sq_vfs()),
        SQLITE_OK);
    /* As the pipelined writer runs: no sync at commit, no auto-checkpoint. */
    exec(f->db, "PRAGMA page_size = 2048; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                "PRAGMA wal_autocheckpoint = 0;"
                "CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB);");
    sqlite3_wal_hook(f->db, on_wal, f);
    assert_int_equal(sqlite3_open_v2(f->path, &f->reader, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char cmd[700];

    sqlite3_close(f->reader);
    sqlite3_close(f->db);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", f->dir);
    free(f);
    return 0;
}

static long long
file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Inserts rows [from, from + n) of `bytes` each in one transaction. */
static void
insert_rows(sqlite3 *db, int from, int n, int bytes)
{
    sqlite3_stmt *st;

    exec(db, "BEGIN");
    assert_int_equal(
        sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?1, randomblob(?2))", -1, &st, NULL),
        SQLITE_OK);
    for (int i = from; i < from + n; i++) {
        sqlite3_bind_int(st, 1, i);
        sqlite3_bind_int(st, 2, bytes);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    exec(db, "COMMIT");
}

static long long
count_rows(sqlite3 *db)
{
    sqlite3_stmt *st;
    long long n = -1;

    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT count(*), sum(length(v)) FROM t", -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Each commit is in the file when COMMIT returns: its size covers every
 * frame the wal hook counted, and the other connection sees every row. */
static void
test_each_commit_is_in_the_file_when_it_returns(void **state)
{
    struct fx *f = *state;

    for (int round = 0; round < 20; round++) {
        insert_rows(f->db, round * 30, 30, 300);
        assert_true(f->frames > 0);
        assert_true(file_size(f->wal) >= WAL_HEADER + (long long)f->frames * FRAME);
        assert_int_equal(count_rows(f->reader), (round + 1) * 30);
    }
}

/* A transaction larger than the buffer (and than the page cache, so pages
 * are spilled to the WAL before the commit), then one rolled back after a
 * spill, then a checkpoint and more commits that restart the WAL. */
static void
test_large_and_rolled_back_transactions(void **state)
{
    struct fx *f = *state;

    exec(f->db, "PRAGMA cache_size = 64");
    insert_rows(f->db, 0, 3000, 2000); /* ~6 MB: over the 4 MiB buffer */
    assert_true(file_size(f->wal) >= WAL_HEADER + (long long)f->frames * FRAME);
    assert_int_equal(count_rows(f->reader), 3000);
    exec(f->db, "BEGIN");
    exec(f->db, "INSERT INTO t SELECT k + 100000, randomblob(2000) FROM t");
    exec(f->db, "ROLLBACK");
    assert_int_equal(count_rows(f->reader), 3000);
    assert_int_equal(count_rows(f->db), 3000);
    assert_int_equal(sqlite3_wal_checkpoint_v2(f->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL),
                     SQLITE_OK);
    insert_rows(f->db, 5000, 10, 100);
    assert_true(file_size(f->wal) >= WAL_HEADER + (long long)f->frames * FRAME);
    assert_int_equal(count_rows(f->reader), 3010);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(f->reader, "PRAGMA integrity_check", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
}

/* Copies file `from` to `to` as the kernel has it now (what a process
 * killed at this moment would leave). */
static void
copy_file(const char *from, const char *to)
{
    char buf[65536];
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    size_t n;

    assert_non_null(in);
    assert_non_null(out);
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

/* A transaction that spills pages and changes them again makes SQLite
 * overwrite their frames and rewrite the checksums of every later frame at
 * commit, the commit frame's included. A copy of the files taken right
 * after COMMIT (a crash at that moment) must recover the whole
 * transaction: WAL recovery stops at the first frame whose checksum does
 * not match. */
static void
test_a_copy_taken_after_commit_recovers_it(void **state)
{
    struct fx *f = *state;
    char copy[700], copy_wal[720];
    sqlite3 *db;

    snprintf(copy, sizeof(copy), "%s/copy.db", f->dir);
    snprintf(copy_wal, sizeof(copy_wal), "%s-wal", copy);
    exec(f->db, "PRAGMA cache_size = 10");
    insert_rows(f->db, 0, 50, 100); /* a first commit: the WAL has frames */
    exec(f->db, "BEGIN");
    exec(f->db, "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 400)"
                " INSERT INTO t SELECT x + 1000, randomblob(1500) FROM s");
    exec(f->db, "UPDATE t SET v = randomblob(120) WHERE k < 50 OR k > 1350");
    exec(f->db, "COMMIT");
    copy_file(f->path, copy);
    copy_file(f->wal, copy_wal);
    assert_int_equal(sqlite3_open_v2(copy, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(count_rows(db), 450);
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT count(*) FROM t WHERE length(v) = 120", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 100);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_each_commit_is_in_the_file_when_it_returns, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_large_and_rolled_back_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_copy_taken_after_commit_recovers_it, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
