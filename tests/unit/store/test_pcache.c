/*
 * test_pcache.c — the store's page cache (sqlite_pcache.c) skips the
 * truncate at commit when no cached page lies past the database, also after
 * b-tree balancing parked pages at the locking page, and still forwards
 * every truncate that has pages to drop: a connection that sees another
 * one's commit drops its whole cache and reads the new rows.
 */
#include "store/sqlite_impl.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMMITS 400
#define ROWS_PER_COMMIT 25

struct fx {
    char dir[512];
    char path[600];
    sqlite3 *a;
    sqlite3 *b;
};

static void
exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
}

static long long
scalar(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    long long v;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static sqlite3 *
open_db(const char *path)
{
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                     SQLITE_OK);
    exec(db, "PRAGMA cache_size = -4096;");
    return db;
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    const char *base = getenv("DURATA_TEST_TMP");

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "%s/pcache-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
    f->a = open_db(f->path);
    exec(f->a, "PRAGMA page_size = 1024; PRAGMA journal_mode = WAL;"
               "CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;"
               "CREATE INDEX t_v ON t(v);");
    f->b = open_db(f->path);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char p[700];

    sqlite3_close(f->a);
    sqlite3_close(f->b);
    unlink(f->path);
    snprintf(p, sizeof(p), "%s-wal", f->path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", f->path);
    unlink(p);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Random keys and values split pages all over both b-trees, so balancing
 * renumbers pages through the locking page in many commits; each of those
 * commits' truncates has nothing to drop and is skipped. */
static void
test_commits_skip_the_truncate(void **state)
{
    struct fx *f = *state;
    uint64_t fwd0, skip0, fwd1, skip1;
    sqlite3_stmt *ins;
    char key[32];
    unsigned seed = 7;
    long long sum = 0;

    dt_sq_pcache_counts(&fwd0, &skip0);
    assert_int_equal(
        sqlite3_prepare_v2(f->a, "INSERT INTO t (k, v) VALUES (?1, ?2)", -1, &ins, NULL),
        SQLITE_OK);
    for (int c = 0; c < COMMITS; c++) {
        exec(f->a, "BEGIN");
        for (int i = 0; i < ROWS_PER_COMMIT; i++) {
            int v = rand_r(&seed) % 1000000;
            snprintf(key, sizeof(key), "%08x-%d-%d", (unsigned)rand_r(&seed), c, i);
            sqlite3_bind_text(ins, 1, key, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int(ins, 2, v);
            assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
            sqlite3_reset(ins);
            sum += v;
        }
        exec(f->a, "COMMIT");
    }
    sqlite3_finalize(ins);
    dt_sq_pcache_counts(&fwd1, &skip1);
    /* Nearly every commit skipped: the page cache is ours. */
    assert_true(skip1 - skip0 >= COMMITS / 2);
    assert_int_equal(scalar(f->a, "SELECT count(*) FROM t"), COMMITS * ROWS_PER_COMMIT);
    assert_int_equal(scalar(f->a, "SELECT sum(v) FROM t"), sum);
    assert_int_equal(scalar(f->b, "SELECT sum(v) FROM t"), sum);
    exec(f->a, "PRAGMA integrity_check");
    assert_int_equal(scalar(f->a, "SELECT count(*) FROM pragma_integrity_check WHERE "
                                  "integrity_check != 'ok'"),
                     0);
}

/* A connection that finds another's commit in the WAL empties its cache
 * (a truncate to nothing): it must be forwarded, or the old pages would be
 * read as current. Rolled-back growth leaves nothing behind either. */
static void
test_other_connections_changes_are_seen(void **state)
{
    struct fx *f = *state;
    uint64_t fwd0, skip0, fwd1, skip1;

    exec(f->a, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
               "INSERT INTO t (k, v) SELECT printf('k%05d', i), i FROM n");
    assert_int_equal(scalar(f->b, "SELECT v FROM t WHERE k = 'k01234'"), 1234);
    assert_int_equal(scalar(f->b, "SELECT sum(v) FROM t"), 3000LL * 3001 / 2);
    dt_sq_pcache_counts(&fwd0, &skip0);
    exec(f->a, "UPDATE t SET v = v + 1000000");
    assert_int_equal(scalar(f->b, "SELECT v FROM t WHERE k = 'k01234'"), 1001234);
    assert_int_equal(scalar(f->b, "SELECT sum(v) FROM t"), 3000LL * 3001 / 2 + 3000LL * 1000000);
    dt_sq_pcache_counts(&fwd1, &skip1);
    assert_true(fwd1 > fwd0);

    exec(f->a, "BEGIN;"
               "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
               "INSERT INTO t (k, v) SELECT printf('r%05d', i), i FROM n;"
               "ROLLBACK;");
    assert_int_equal(scalar(f->a, "SELECT count(*) FROM t WHERE k >= 'r'"), 0);
    exec(f->a, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) "
               "INSERT INTO t (k, v) SELECT printf('s%05d', i), 7 FROM n");
    assert_int_equal(scalar(f->b, "SELECT count(*) FROM t WHERE k >= 's'"), 500);
    assert_int_equal(scalar(f->a, "SELECT count(*) FROM pragma_integrity_check WHERE "
                                  "integrity_check != 'ok'"),
                     0);
}

int
main(void)
{
    /* Before anything initialises SQLite, as dt_sqlite_open does. */
    if (!dt_sq_pcache_install()) {
        fprintf(stderr, "test_pcache: the page cache could not be installed\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commits_skip_the_truncate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_connections_changes_are_seen, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
