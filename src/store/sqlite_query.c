/*
 * sqlite_query.c — filtered reads of the instances table: query() pages and
 * the selection of purge_many.
 *
 * Owns: the filter SQL and the continuation token.
 * Filter SQL: one statement per combination of filter parts present (the
 * bits below), prepared once per connection, so SQLite's planner sees plain
 * predicates and can use the (created_ms, id), (status) and (name) indexes.
 * Parameters keep fixed numbers in every variant: ?1..?8 statuses (unused
 * slots bound to -1; a single status is "status = ?1"), ?9 created from, ?10 created to, ?11 name,
 * ?12 id prefix, ?13/?14 the position after which a page starts, ?15 the limit. Continuation token:
 * "c1.<created_ms>.<id as lowercase hex>", the last row of the page; hex keeps any id safe in an
 * HTTP header. Anything else is rejected with DURATA_EINVAL. Threading: query() borrows a reader
 * connection; the purge selection runs on the writer inside commit().
 */
#include "store/sqlite_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUERY_DEFAULT_LIMIT 100

enum {
    QF_STATUS = 1 << 0,
    QF_FROM = 1 << 1,
    QF_TO = 1 << 2,
    QF_NAME = 1 << 3,
    QF_PREFIX = 1 << 4,
    QF_AFTER = 1 << 5,
    QF_STATUS1 = 1 << 6, /* exactly one status: "=" keeps the index order */
};

static unsigned
status_mask(unsigned statuses)
{
    statuses &= 0xffu;
    if (!statuses)
        return 0;
    return (statuses & (statuses - 1)) ? QF_STATUS : QF_STATUS1;
}

static unsigned
filter_mask(const struct durata_filter *f, const char *after_id)
{
    return status_mask(f->statuses) | (f->created_from_ms ? QF_FROM : 0) |
           (f->created_to_ms ? QF_TO : 0) | (f->name ? QF_NAME : 0) |
           (f->id_prefix ? QF_PREFIX : 0) | (after_id ? QF_AFTER : 0);
}

static void
build_sql(enum dt_sq_filter_kind kind, unsigned mask, char *sql, size_t size)
{
    snprintf(sql, size, "SELECT %s FROM instances WHERE 1%s%s%s%s%s%s%s%s LIMIT ?15",
             kind == DT_SQF_QUERY ? DT_SQ_INSTANCE_COLUMNS : "id",
             mask & QF_STATUS ? " AND status IN (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)" : "",
             mask & QF_STATUS1 ? " AND status = ?1" : "",
             mask & QF_FROM ? " AND created_ms >= ?9" : "",
             mask & QF_TO ? " AND created_ms < ?10" : "", mask & QF_NAME ? " AND name = ?11" : "",
             mask & QF_PREFIX ? " AND substr(id, 1, length(?12)) = ?12" : "",
             mask & QF_AFTER ? " AND (created_ms, id) > (?13, ?14)" : "",
             kind == DT_SQF_QUERY ? " ORDER BY created_ms, id" : "");
}

static int
bind_filter(sqlite3_stmt *st, const struct durata_filter *f, unsigned mask, int64_t after_created,
            const char *after_id, int64_t limit)
{
    int b = 0, slot = 1;

    if (mask & (QF_STATUS | QF_STATUS1)) {
        for (int s = 0; s < 8; s++)
            if (f->statuses & (1u << s))
                b |= sqlite3_bind_int(st, slot++, s);
        while ((mask & QF_STATUS) && slot <= 8)
            b |= sqlite3_bind_int(st, slot++, -1);
    }
    if (mask & QF_FROM)
        b |= sqlite3_bind_int64(st, 9, f->created_from_ms);
    if (mask & QF_TO)
        b |= sqlite3_bind_int64(st, 10, f->created_to_ms);
    if (mask & QF_NAME)
        b |= dt_sq_bind_text(st, 11, f->name);
    if (mask & QF_PREFIX)
        b |= dt_sq_bind_text(st, 12, f->id_prefix);
    if (mask & QF_AFTER) {
        b |= sqlite3_bind_int64(st, 13, after_created);
        b |= dt_sq_bind_text(st, 14, after_id);
    }
    b |= sqlite3_bind_int64(st, 15, limit);
    return b;
}

int
dt_sq_filter_stmt(struct dt_sq_conn *c, enum dt_sq_filter_kind kind, const struct durata_filter *f,
                  int64_t after_created, const char *after_id, int64_t limit, sqlite3_stmt **out)
{
    unsigned mask = filter_mask(f, after_id);
    sqlite3_stmt **slot = &c->filter[kind][mask];
    char sql[1024];
    int rc;

    if (!*slot) {
        build_sql(kind, mask, sql, sizeof(sql));
        if ((rc = dt_sq_prepare_into(c, sql, slot)) < 0)
            return rc;
    }
    if (bind_filter(*slot, f, mask, after_created, after_id, limit) != SQLITE_OK) {
        rc = dt_sq_error(c, sqlite3_errcode(c->db), "bind");
        sqlite3_reset(*slot);
        return rc;
    }
    *out = *slot;
    return 0;
}

/* --------------------------------------------------------- continuation */

static char *
token_encode(int64_t created_ms, const char *id)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(id), head;
    char *out;

    out = malloc(32 + 2 * n + 1);
    if (!out)
        return NULL;
    head = (size_t)snprintf(out, 32, "c1.%lld.", (long long)created_ms);
    for (size_t i = 0; i < n; i++) {
        out[head + 2 * i] = hex[(unsigned char)id[i] >> 4];
        out[head + 2 * i + 1] = hex[(unsigned char)id[i] & 0xf];
    }
    out[head + 2 * n] = '\0';
    return out;
}

static int
hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* Decodes a token into *created_ms and a malloc'd *id. */
static int
token_decode(const char *token, int64_t *created_ms, char **id)
{
    const char *p;
    char *end, *out;
    long long ms;
    size_t n;

    if (strncmp(token, "c1.", 3) != 0)
        return DURATA_EINVAL;
    errno = 0;
    ms = strtoll(token + 3, &end, 10);
    if (errno || end == token + 3 || *end != '.')
        return DURATA_EINVAL;
    p = end + 1;
    n = strlen(p);
    if (n == 0 || n % 2)
        return DURATA_EINVAL;
    if (!(out = malloc(n / 2 + 1)))
        return DURATA_ENOMEM;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_value(p[2 * i]), lo = hex_value(p[2 * i + 1]);

        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(out);
            return DURATA_EINVAL;
        }
        out[i] = (char)(hi << 4 | lo);
    }
    out[n / 2] = '\0';
    *created_ms = ms;
    *id = out;
    return 0;
}

/* ---------------------------------------------------------------- query */

static int
page_push(struct durata_page *p, size_t *cap, struct durata_instance *inst)
{
    if (p->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct durata_instance **n = realloc(p->items, ncap * sizeof(*n));

        if (!n) {
            durata_instance_free(inst);
            return DURATA_ENOMEM;
        }
        p->items = n;
        *cap = ncap;
    }
    p->items[p->count++] = inst;
    return 0;
}

/* Reads up to limit rows into p; one row more means another page. */
static int
read_page(struct dt_sq_conn *c, sqlite3_stmt *st, size_t limit, struct durata_page *p)
{
    struct durata_instance *inst, *last;
    size_t cap = 0;
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (p->count == limit) {
            last = p->items[p->count - 1];
            rc = (p->continuation = token_encode(last->created_ms, last->id)) ? 0 : DURATA_ENOMEM;
            break;
        }
        if ((rc = dt_sq_read_instance(st, &inst)) < 0 || (rc = page_push(p, &cap, inst)) < 0)
            break;
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = dt_sq_error(c, rc, "query");
    sqlite3_reset(st);
    return rc;
}

int
dt_sq_query(struct dt_store *store, const struct durata_filter *f, size_t limit, const char *after,
            struct durata_page **out)
{
    static const struct durata_filter any = {0};
    struct durata_page *page = NULL;
    struct dt_sq_reader *r;
    int64_t after_created = 0;
    char *after_id = NULL;
    sqlite3_stmt *st;
    int rc;

    if (!out)
        return DURATA_EINVAL;
    *out = NULL;
    if (!f)
        f = &any;
    if (limit == 0)
        limit = QUERY_DEFAULT_LIMIT;
    if (limit > (size_t)INT32_MAX)
        limit = INT32_MAX;
    if (after && (rc = token_decode(after, &after_created, &after_id)) < 0)
        return rc;
    rc = DURATA_ENOMEM;
    if (!(page = calloc(1, sizeof(*page))))
        goto out_free_id;
    if ((rc = dt_sq_reader_get(dt_sq_from_store(store), &r)) < 0)
        goto out_free_id;
    rc = dt_sq_filter_stmt(&r->conn, DT_SQF_QUERY, f, after_created, after_id, (int64_t)limit + 1,
                           &st);
    if (rc == 0)
        rc = read_page(&r->conn, st, limit, page);
    dt_sq_reader_put(r);
out_free_id:
    free(after_id);
    if (rc < 0) {
        durata_page_free(page);
        return rc;
    }
    *out = page;
    return 0;
}
