/*
 * direct.c — the entries of instances being stepped directly (see
 * direct.h): a chained hash table of a fixed size, since only the
 * instances whose step is being built or committed right now have one.
 */
#include "engine/direct.h"

#include "base/hash.h"

#include <stdlib.h>
#include <string.h>

struct dt_dentry {
    struct dt_dentry *next;
    struct dt_direct_list waiting;
    char id[];
};

void
dt_direct_list_release(struct dt_direct_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        dt_msg_free(l->items[i].result);
    free(l->items);
    *l = (struct dt_direct_list){0};
}

static int
list_push(struct dt_direct_list *l, int64_t task_row_id, struct dt_msg *result)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        void *p = realloc(l->items, cap * sizeof(*l->items));
        if (!p)
            return DURATA_ENOMEM;
        l->items = p;
        l->cap = cap;
    }
    l->items[l->count++] = (struct dt_direct_item){task_row_id, result};
    return 0;
}

void
dt_direct_init(struct dt_direct *d)
{
    pthread_mutex_init(&d->mu, NULL);
    for (size_t i = 0; i < DT_DIRECT_BUCKETS; i++)
        d->buckets[i] = NULL;
}

void
dt_direct_drop_all(struct dt_direct *d)
{
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < DT_DIRECT_BUCKETS; i++) {
        while (d->buckets[i]) {
            struct dt_dentry *e = d->buckets[i];
            d->buckets[i] = e->next;
            dt_direct_list_release(&e->waiting);
            free(e);
        }
    }
    pthread_mutex_unlock(&d->mu);
}

void
dt_direct_release(struct dt_direct *d)
{
    dt_direct_drop_all(d);
    pthread_mutex_destroy(&d->mu);
}

/* The entry of id and the link that points at it (the end of id's chain
 * when there is none); d->mu held. */
static struct dt_dentry **
find(struct dt_direct *d, const char *id)
{
    struct dt_dentry **link = &d->buckets[dt_hash_str(id) % DT_DIRECT_BUCKETS];
    while (*link && strcmp((*link)->id, id) != 0)
        link = &(*link)->next;
    return link;
}

int
dt_direct_add(struct dt_direct *d, const char *id, int64_t task_row_id, struct dt_msg *result,
              bool may_open)
{
    int rc = DT_DIRECT_REFUSED;
    pthread_mutex_lock(&d->mu);
    struct dt_dentry **link = find(d, id);
    if (*link) {
        rc = list_push(&(*link)->waiting, task_row_id, result) < 0 ? DURATA_ENOMEM
                                                                   : DT_DIRECT_JOINED;
    } else if (may_open) {
        size_t len = strlen(id);
        struct dt_dentry *e = calloc(1, sizeof(*e) + len + 1);
        if (!e || list_push(&e->waiting, task_row_id, result) < 0) {
            free(e);
            rc = DURATA_ENOMEM;
        } else {
            memcpy(e->id, id, len + 1);
            *link = e;
            rc = DT_DIRECT_OPENED;
        }
    }
    pthread_mutex_unlock(&d->mu);
    return rc;
}

void
dt_direct_take(struct dt_direct *d, const char *id, struct dt_direct_list *out)
{
    pthread_mutex_lock(&d->mu);
    struct dt_dentry *e = *find(d, id);
    if (e) {
        *out = e->waiting;
        e->waiting = (struct dt_direct_list){0};
    }
    pthread_mutex_unlock(&d->mu);
}

bool
dt_direct_done(struct dt_direct *d, const char *id)
{
    pthread_mutex_lock(&d->mu);
    struct dt_dentry **link = find(d, id), *e = *link;
    bool more = e && e->waiting.count > 0;
    if (e && !more) {
        *link = e->next;
        dt_direct_list_release(&e->waiting);
        free(e);
    }
    pthread_mutex_unlock(&d->mu);
    return more;
}
