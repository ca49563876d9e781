/*
 * hcache.c — the history cache (see hcache.h): a chained hash table of
 * entries threaded on an LRU list.
 */
#include "engine/hcache.h"

#include "base/hash.h"

#include <stdlib.h>
#include <string.h>

struct dt_hentry {
    struct dt_hentry *next; /* hash chain */
    struct dt_hentry *lru_prev, *lru_next;
    char *id;
    char *execution_id;
    int64_t updated_ms;
    struct dt_event_list events;
    struct durata_instance *state; /* as committed; NULL: not kept */
};

void
dt_hcache_init(struct dt_hcache *c, size_t max_entries, size_t max_events)
{
    *c = (struct dt_hcache){.max_entries = max_entries, .max_events = max_events};
    pthread_mutex_init(&c->mu, NULL);
    c->n_buckets = 1024;
    while (c->n_buckets < max_entries)
        c->n_buckets *= 2;
    c->buckets = calloc(c->n_buckets, sizeof(*c->buckets));
    if (!c->buckets)
        c->n_buckets = 0; /* no memory: the cache stays empty, steps read the store */
}

static void
entry_free(struct dt_hentry *e)
{
    free(e->id);
    free(e->execution_id);
    dt_event_list_release(&e->events);
    durata_instance_free(e->state);
    free(e);
}

/* Unlinks e from its chain and the LRU list; c->mu held. */
static void
unlink_entry(struct dt_hcache *c, struct dt_hentry *e)
{
    struct dt_hentry **p = &c->buckets[dt_hash_str(e->id) & (c->n_buckets - 1)];
    while (*p != e)
        p = &(*p)->next;
    *p = e->next;
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        c->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        c->lru_tail = e->lru_prev;
    c->entries--;
    c->events -= e->events.count;
}

static struct dt_hentry *
find(struct dt_hcache *c, const char *id)
{
    if (!c->n_buckets)
        return NULL;
    struct dt_hentry *e = c->buckets[dt_hash_str(id) & (c->n_buckets - 1)];
    while (e && strcmp(e->id, id) != 0)
        e = e->next;
    return e;
}

bool
dt_hcache_has(struct dt_hcache *c, const char *id)
{
    pthread_mutex_lock(&c->mu);
    bool found = find(c, id) != NULL;
    pthread_mutex_unlock(&c->mu);
    return found;
}

bool
dt_hcache_take(struct dt_hcache *c, const char *id, const char *execution_id, int64_t updated_ms,
               struct dt_event_list *out, size_t *count)
{
    pthread_mutex_lock(&c->mu);
    struct dt_hentry *e = find(c, id);
    if (e)
        unlink_entry(c, e);
    bool hit = e && e->updated_ms == updated_ms && execution_id &&
               strcmp(e->execution_id, execution_id) == 0;
    if (hit)
        c->hits++;
    else
        c->misses++;
    pthread_mutex_unlock(&c->mu);
    dt_hcache_reap(c);
    if (!e)
        return false;
    if (hit) {
        *out = e->events;
        *count = e->events.count;
        e->events = (struct dt_event_list){0};
    }
    entry_free(e);
    return hit;
}

bool
dt_hcache_take_state(struct dt_hcache *c, const char *id, struct durata_instance **state,
                     struct dt_event_list *out, size_t *count)
{
    pthread_mutex_lock(&c->mu);
    struct dt_hentry *e = find(c, id);
    if (e && e->state) {
        unlink_entry(c, e);
        c->hits++;
    }
    pthread_mutex_unlock(&c->mu);
    dt_hcache_reap(c);
    if (!e || !e->state)
        return false;
    *state = e->state;
    e->state = NULL;
    *out = e->events;
    *count = e->events.count;
    e->events = (struct dt_event_list){0};
    entry_free(e);
    return true;
}

/* Leaves e (unlinked) for dt_hcache_reap; c->mu held. */
static void
bury(struct dt_hcache *c, struct dt_hentry *e)
{
    e->next = c->dead;
    c->dead = e;
    atomic_fetch_add_explicit(&c->n_dead, 1, memory_order_relaxed);
}

/* Evicts least recently used entries until one more of `events` fits. */
static void
make_room(struct dt_hcache *c, size_t events)
{
    while (c->lru_tail && (c->entries + 1 > c->max_entries || c->events + events > c->max_events)) {
        struct dt_hentry *victim = c->lru_tail;
        unlink_entry(c, victim);
        bury(c, victim);
    }
}

void
dt_hcache_reap(struct dt_hcache *c)
{
    struct dt_hentry *e;

    if (!atomic_load_explicit(&c->n_dead, memory_order_relaxed))
        return;
    pthread_mutex_lock(&c->mu);
    e = c->dead;
    c->dead = NULL;
    atomic_store_explicit(&c->n_dead, 0, memory_order_relaxed);
    pthread_mutex_unlock(&c->mu);
    while (e) {
        struct dt_hentry *next = e->next;
        entry_free(e);
        e = next;
    }
}

void
dt_hcache_put(struct dt_hcache *c, const char *id, const char *execution_id, int64_t updated_ms,
              struct dt_event_list *l, struct durata_instance *state)
{
    struct dt_hentry *e = calloc(1, sizeof(*e));
    if (!e || !c->n_buckets || l->count > c->max_events || !(e->id = strdup(id)) ||
        !(e->execution_id = strdup(execution_id))) {
        if (e)
            entry_free(e);
        dt_event_list_release(l);
        durata_instance_free(state);
        return;
    }
    e->state = state;
    e->updated_ms = updated_ms;
    e->events = *l;
    *l = (struct dt_event_list){0};
    pthread_mutex_lock(&c->mu);
    struct dt_hentry *old = find(c, id);
    if (old) {
        unlink_entry(c, old);
        bury(c, old);
    }
    make_room(c, e->events.count);
    size_t b = dt_hash_str(id) & (c->n_buckets - 1);
    e->next = c->buckets[b];
    c->buckets[b] = e;
    e->lru_next = c->lru_head;
    if (c->lru_head)
        c->lru_head->lru_prev = e;
    c->lru_head = e;
    if (!c->lru_tail)
        c->lru_tail = e;
    c->entries++;
    c->events += e->events.count;
    pthread_mutex_unlock(&c->mu);
    if (atomic_load_explicit(&c->n_dead, memory_order_relaxed) > DT_HCACHE_DEAD_MAX)
        dt_hcache_reap(c); /* nobody else reaps */
}

void
dt_hcache_drop(struct dt_hcache *c, const char *id)
{
    pthread_mutex_lock(&c->mu);
    struct dt_hentry *e = find(c, id);
    if (e)
        unlink_entry(c, e);
    pthread_mutex_unlock(&c->mu);
    if (e)
        entry_free(e);
}

void
dt_hcache_release(struct dt_hcache *c)
{
    dt_hcache_reap(c);
    while (c->lru_head) {
        struct dt_hentry *e = c->lru_head;
        c->lru_head = e->lru_next;
        entry_free(e);
    }
    free(c->buckets);
    pthread_mutex_destroy(&c->mu);
    *c = (struct dt_hcache){0};
}
