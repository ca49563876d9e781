/*
 * sqlite_pcache.c — SQLite's own page cache, without the scan of the whole
 * cache that every commit made.
 *
 * At the end of each write transaction the pager truncates its page cache
 * to the database size (pcache xTruncate(dbSize + 1)). SQLite's cache
 * (pcache1) then drops every page with a greater number; it scans only a
 * few hash slots when its largest key is near the limit, and the whole
 * hash table otherwise. B-tree balancing renumbers pages through a
 * temporary key, the page of the locking byte (1 GiB / page size + 1,
 * never part of a database), so after any transaction that split or merged
 * a b-tree page the cache's largest key is that page and the truncate at
 * commit walks every slot and every cached page: with the writer's 16 MiB
 * cache, 8,192 slots and as many pages per commit, measured at ~14 % of
 * the writer thread's time (SQLite 3.40, Debian 12).
 * This wrapper forwards every call to the default cache and keeps, per
 * cache, the largest key a page has been created or renumbered to, leaving
 * out the pages parked at the locking page (counted apart; balancing moves
 * them on at once). A truncate is forwarded only when a page may exist at
 * or above the limit; otherwise it has nothing to drop, and skipping it
 * only leaves the default cache's own largest key too high, which concerns
 * nothing but its next forwarded truncate.
 * Installed once for the process before SQLite initialises
 * (dt_sq_pcache_install); an embedder that used SQLite first keeps the
 * default cache.
 * Threading: SQLite calls a cache's methods from one connection, one
 * thread at a time; the counters are atomics.
 */
#include "store/sqlite_impl.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

/* SQLite's PENDING_BYTE: the page holding it is never a database page. */
#define DT_SQ_LOCK_BYTE 0x40000000u

struct wrapped_cache {
    sqlite3_pcache *inner;
    unsigned max_key;   /* no page outside lock_page has a greater key */
    unsigned lock_page; /* the key balancing parks pages at */
    unsigned parked;    /* pages now at lock_page */
};

static sqlite3_pcache_methods2 base;
static atomic_ullong truncates_forwarded, truncates_skipped;
static bool installed;

static int
pc_init(void *arg)
{
    (void)arg;
    return base.xInit ? base.xInit(base.pArg) : SQLITE_OK;
}

static void
pc_shutdown(void *arg)
{
    (void)arg;
    if (base.xShutdown)
        base.xShutdown(base.pArg);
}

static sqlite3_pcache *
pc_create(int page_size, int extra, int purgeable)
{
    struct wrapped_cache *w = malloc(sizeof(*w));

    if (!w)
        return NULL;
    w->inner = base.xCreate(page_size, extra, purgeable);
    if (!w->inner) {
        free(w);
        return NULL;
    }
    w->max_key = 0;
    w->lock_page = page_size > 0 ? DT_SQ_LOCK_BYTE / (unsigned)page_size + 1 : 0;
    w->parked = 0;
    return (sqlite3_pcache *)w;
}

static void
pc_cachesize(sqlite3_pcache *p, int n)
{
    base.xCachesize(((struct wrapped_cache *)p)->inner, n);
}

static int
pc_pagecount(sqlite3_pcache *p)
{
    return base.xPagecount(((struct wrapped_cache *)p)->inner);
}

static sqlite3_pcache_page *
pc_fetch(sqlite3_pcache *p, unsigned key, int create)
{
    struct wrapped_cache *w = (struct wrapped_cache *)p;
    sqlite3_pcache_page *page = base.xFetch(w->inner, key, create);

    if (page && key > w->max_key)
        w->max_key = key;
    return page;
}

static void
pc_unpin(sqlite3_pcache *p, sqlite3_pcache_page *page, int discard)
{
    base.xUnpin(((struct wrapped_cache *)p)->inner, page, discard);
}

static void
pc_rekey(sqlite3_pcache *p, sqlite3_pcache_page *page, unsigned old_key, unsigned new_key)
{
    struct wrapped_cache *w = (struct wrapped_cache *)p;

    base.xRekey(w->inner, page, old_key, new_key);
    if (old_key == w->lock_page && w->parked > 0)
        w->parked--;
    if (new_key == w->lock_page)
        w->parked++;
    else if (new_key > w->max_key)
        w->max_key = new_key;
}

static void
pc_truncate(sqlite3_pcache *p, unsigned limit)
{
    struct wrapped_cache *w = (struct wrapped_cache *)p;

    if (limit > w->max_key && w->parked == 0) {
        atomic_fetch_add_explicit(&truncates_skipped, 1, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(&truncates_forwarded, 1, memory_order_relaxed);
    base.xTruncate(w->inner, limit);
    if (limit <= w->max_key)
        w->max_key = limit > 0 ? limit - 1 : 0;
    if (limit <= w->lock_page)
        w->parked = 0;
}

static void
pc_destroy(sqlite3_pcache *p)
{
    struct wrapped_cache *w = (struct wrapped_cache *)p;

    base.xDestroy(w->inner);
    free(w);
}

static void
pc_shrink(sqlite3_pcache *p)
{
    base.xShrink(((struct wrapped_cache *)p)->inner);
}

bool
dt_sq_pcache_install(void)
{
    static sqlite3_pcache_methods2 wrapper;

    if (installed)
        return true;
    if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &base) != SQLITE_OK || !base.xCreate ||
        !base.xFetch || !base.xUnpin || !base.xRekey || !base.xTruncate || !base.xDestroy ||
        !base.xCachesize || !base.xPagecount || !base.xShrink)
        return false;
    wrapper = (sqlite3_pcache_methods2){
        .iVersion = 1,
        .xInit = pc_init,
        .xShutdown = pc_shutdown,
        .xCreate = pc_create,
        .xCachesize = pc_cachesize,
        .xPagecount = pc_pagecount,
        .xFetch = pc_fetch,
        .xUnpin = pc_unpin,
        .xRekey = pc_rekey,
        .xTruncate = pc_truncate,
        .xDestroy = pc_destroy,
        .xShrink = pc_shrink,
    };
    if (sqlite3_config(SQLITE_CONFIG_PCACHE2, &wrapper) != SQLITE_OK)
        return false;
    installed = true;
    return true;
}

void
dt_sq_pcache_counts(uint64_t *forwarded, uint64_t *skipped)
{
    *forwarded = atomic_load_explicit(&truncates_forwarded, memory_order_relaxed);
    *skipped = atomic_load_explicit(&truncates_skipped, memory_order_relaxed);
}
