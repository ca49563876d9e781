/*
 * index.c — the action-id map and the EventRaised name groups of a replay.
 *
 * Owns: building both tables in one or two passes over the history and
 * looking entries up. Open addressing with linear probing; the tables hold
 * at least twice as many slots as they can ever have entries, so probe
 * chains stay short and no table is ever resized. Ids are spread with a
 * multiplicative (Fibonacci) hash because action ids are mostly small
 * consecutive numbers; names use FNV-1a over their lower-cased bytes.
 * Threading: none.
 */
#include "runtime/index.h"

#include <stdlib.h>
#include <string.h>

static size_t
table_size(size_t entries)
{
    size_t n = 8;

    while (n < entries * 2)
        n *= 2;
    return n;
}

static size_t
id_hash(int32_t id)
{
    return (size_t)(((uint64_t)(uint32_t)id * 0x9E3779B97F4A7C15ull) >> 32);
}

static bool
is_sched_event(enum durata_event_type t)
{
    return t == DURATA_EV_TASK_SCHEDULED || t == DURATA_EV_TIMER_CREATED ||
           t == DURATA_EV_SUB_ORCHESTRATION_CREATED || t == DURATA_EV_EVENT_SENT;
}

static bool
is_done_event(enum durata_event_type t)
{
    return t == DURATA_EV_TASK_COMPLETED || t == DURATA_EV_TASK_FAILED ||
           t == DURATA_EV_SUB_ORCHESTRATION_COMPLETED || t == DURATA_EV_SUB_ORCHESTRATION_FAILED ||
           t == DURATA_EV_TIMER_FIRED;
}

/* The slot for id: its own, or the empty one where it belongs. */
static struct dt_id_slot *
id_slot(struct dt_id_index *x, int32_t id)
{
    size_t i = id_hash(id) & x->mask;

    for (;;) {
        struct dt_id_slot *s = &x->slots[i];

        x->probes++;
        if (!s->used || s->id == id)
            return s;
        i = (i + 1) & x->mask;
    }
}

static void
id_note(struct dt_id_index *x, int32_t id, bool sched, int64_t pos)
{
    struct dt_id_slot *s = id_slot(x, id);

    if (!s->used) {
        s->used = true;
        s->id = id;
        s->sched = -1;
        s->done = -1;
    }
    if (sched && s->sched < 0)
        s->sched = pos;
    else if (!sched && s->done < 0)
        s->done = pos;
}

int
dt_id_index_build(struct dt_id_index *x, struct dt_event *const *ev, size_t n)
{
    size_t entries = 0;

    memset(x, 0, sizeof(*x));
    for (size_t i = 0; i < n; i++)
        if (is_sched_event(ev[i]->type) || is_done_event(ev[i]->type))
            entries++;
    if (entries == 0)
        return 0;
    x->mask = table_size(entries) - 1;
    x->slots = calloc(x->mask + 1, sizeof(*x->slots));
    if (!x->slots)
        return DURATA_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct dt_event *e = ev[i];

        if (is_sched_event(e->type) && e->event_id >= 0)
            id_note(x, e->event_id, true, (int64_t)i);
        else if (is_done_event(e->type) && e->task_id >= 0)
            id_note(x, e->task_id, false, (int64_t)i);
    }
    x->probes = 0;
    return 0;
}

void
dt_id_index_release(struct dt_id_index *x)
{
    free(x->slots);
    memset(x, 0, sizeof(*x));
}

const struct dt_id_slot *
dt_id_index_find(struct dt_id_index *x, int32_t id)
{
    const struct dt_id_slot *s;

    if (!x->slots)
        return NULL;
    s = id_slot(x, id);
    return s->used ? s : NULL;
}

static unsigned char
lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

bool
dt_name_equal_ci(const char *a, const char *b)
{
    const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;

    for (; *p && *q; p++, q++)
        if (lower(*p) != lower(*q))
            return false;
    return *p == *q;
}

static size_t
name_hash(const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ lower(*p)) * 0x100000001b3ull;
    return (size_t)(h ^ (h >> 32));
}

/* The hash slot holding name's group, or the empty slot where it goes. */
static size_t *
name_slot(struct dt_name_index *x, const char *name)
{
    size_t i = name_hash(name) & x->mask;

    for (;;) {
        size_t *s = &x->slots[i];

        x->probes++;
        if (*s == 0 || dt_name_equal_ci(x->groups[*s - 1].name, name))
            return s;
        i = (i + 1) & x->mask;
    }
}

static bool
is_named_raise(const struct dt_event *e)
{
    return e->type == DURATA_EV_EVENT_RAISED && e->name;
}

/* Pass 1: a group per distinct name, with its count; gid[i] = the group of
 * event i. Pass 2 (the caller's): positions laid out group by group. */
static void
name_group_events(struct dt_name_index *x, struct dt_event *const *ev, size_t n, size_t *gid)
{
    for (size_t i = 0; i < n; i++) {
        size_t *s;

        if (!is_named_raise(ev[i]))
            continue;
        s = name_slot(x, ev[i]->name);
        if (*s == 0) {
            x->groups[x->n_groups].name = ev[i]->name;
            *s = ++x->n_groups;
        }
        gid[i] = *s - 1;
        x->groups[gid[i]].count++;
    }
}

int
dt_name_index_build(struct dt_name_index *x, struct dt_event *const *ev, size_t n)
{
    size_t raised = 0, off = 0, *gid = NULL;

    memset(x, 0, sizeof(*x));
    for (size_t i = 0; i < n; i++)
        raised += is_named_raise(ev[i]);
    if (raised == 0)
        return 0;
    x->mask = table_size(raised) - 1;
    x->slots = calloc(x->mask + 1, sizeof(*x->slots));
    x->groups = calloc(raised, sizeof(*x->groups));
    x->pos = calloc(raised, sizeof(*x->pos));
    gid = calloc(n, sizeof(*gid));
    if (!x->slots || !x->groups || !x->pos || !gid)
        goto out_free;
    name_group_events(x, ev, n, gid);
    for (size_t g = 0; g < x->n_groups; g++) {
        x->groups[g].first = off;
        off += x->groups[g].count;
        x->groups[g].count = 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (is_named_raise(ev[i])) {
            struct dt_name_group *g = &x->groups[gid[i]];

            x->pos[g->first + g->count++] = i;
        }
    }
    free(gid);
    x->probes = 0;
    return 0;

out_free:
    free(gid);
    dt_name_index_release(x);
    return DURATA_ENOMEM;
}

void
dt_name_index_release(struct dt_name_index *x)
{
    free(x->slots);
    free(x->groups);
    free(x->pos);
    memset(x, 0, sizeof(*x));
}

struct dt_name_group *
dt_name_index_find(struct dt_name_index *x, const char *name)
{
    size_t *s;

    if (!x->slots || !name)
        return NULL;
    s = name_slot(x, name);
    return *s ? &x->groups[*s - 1] : NULL;
}
