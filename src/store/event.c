/*
 * event.c — the persisted model's values: events, failures, inbox messages,
 * activity tasks, their growable lists, and the deep copy of an instance.
 *
 * Owns: allocation, deep copy and release of those values. Every string a
 * value points to is its own heap copy. The JSON form lives in event_json.c.
 * Does not own: storage (the backends) or meaning (engine/, runtime/).
 * Threading: plain values; no shared state.
 */
#include "store/event.h"

#include "base/json.h"

#include <stdlib.h>
#include <string.h>

struct dt_event *
dt_event_new(enum durata_event_type type, int64_t timestamp_ms)
{
    struct dt_event *e = calloc(1, sizeof(*e));

    if (!e)
        return NULL;
    e->type = type;
    e->timestamp_ms = timestamp_ms;
    e->event_id = -1;
    e->task_id = -1;
    e->parent_task_id = -1;
    return e;
}

void
dt_event_free(struct dt_event *e)
{
    if (!e)
        return;
    free(e->name);
    free(e->version);
    free(e->input);
    free(e->result);
    free(e->instance_id);
    free(e->execution_id);
    durata_failure_free(e->failure);
    free(e->parent_instance_id);
    free(e->parent_execution_id);
    free(e->parent_name);
    free(e->encoded);
    free(e);
}

/* Copies *src into *dst (NULL stays NULL); false on out of memory. */
static bool
copy_str(char **dst, const char *src)
{
    *dst = dt_strdup_opt(src);
    return !src || *dst;
}

struct dt_event *
dt_event_clone(const struct dt_event *e)
{
    struct dt_event *c;

    if (!e)
        return NULL;
    c = malloc(sizeof(*c));
    if (!c)
        return NULL;
    *c = *e;
    c->name = c->version = c->input = c->result = NULL;
    c->instance_id = c->execution_id = NULL;
    c->parent_instance_id = c->parent_execution_id = c->parent_name = NULL;
    c->encoded = NULL;
    c->failure = dt_failure_clone(e->failure);
    if (e->failure && !c->failure)
        goto out_free;
    if (!copy_str(&c->name, e->name) || !copy_str(&c->version, e->version) ||
        !copy_str(&c->input, e->input) || !copy_str(&c->result, e->result) ||
        !copy_str(&c->instance_id, e->instance_id) ||
        !copy_str(&c->execution_id, e->execution_id) ||
        !copy_str(&c->parent_instance_id, e->parent_instance_id) ||
        !copy_str(&c->parent_execution_id, e->parent_execution_id) ||
        !copy_str(&c->parent_name, e->parent_name))
        goto out_free;
    return c;

out_free:
    dt_event_free(c);
    return NULL;
}

struct durata_failure *
dt_failure_new(const char *type, const char *message, const char *details, bool non_retriable)
{
    struct durata_failure *f = calloc(1, sizeof(*f));

    if (!f)
        return NULL;
    f->non_retriable = non_retriable;
    if (!copy_str(&f->error_type, type) || !copy_str(&f->message, message) ||
        !copy_str(&f->details, details)) {
        durata_failure_free(f);
        return NULL;
    }
    return f;
}

struct durata_failure *
dt_failure_clone(const struct durata_failure *f)
{
    if (!f)
        return NULL;
    return dt_failure_new(f->error_type, f->message, f->details, f->non_retriable);
}

/* Grows a pointer array so one more item fits; false on out of memory. */
static bool
grow(void ***items, size_t count, size_t *cap)
{
    size_t ncap;
    void **n;

    if (count < *cap)
        return true;
    ncap = *cap ? *cap * 2 : 8;
    if (ncap > SIZE_MAX / sizeof(void *))
        return false;
    n = realloc(*items, ncap * sizeof(void *));
    if (!n)
        return false;
    *items = n;
    *cap = ncap;
    return true;
}

int
dt_event_list_push_take(struct dt_event_list *l, struct dt_event *e)
{
    void **items = (void **)l->items;

    if (!e)
        return DURATA_ENOMEM;
    if (!grow(&items, l->count, &l->cap)) {
        dt_event_free(e);
        return DURATA_ENOMEM;
    }
    l->items = (struct dt_event **)items;
    l->items[l->count++] = e;
    return 0;
}

void
dt_event_list_release(struct dt_event_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        dt_event_free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = l->cap = 0;
}

/* Takes event: it is freed here when the message cannot be made, so a
 * caller never has to guess who owns it after a failure. */
struct dt_msg *
dt_msg_new_take(const char *instance_id, const char *execution_id, int64_t visible_ms,
                struct dt_event *event)
{
    struct dt_msg *m;

    if (!event)
        return NULL;
    m = calloc(1, sizeof(*m));
    if (!m)
        goto out_free_event;
    m->visible_ms = visible_ms;
    if (!copy_str(&m->instance_id, instance_id) || !copy_str(&m->execution_id, execution_id))
        goto out_free_msg;
    m->event = event;
    return m;

out_free_msg:
    free(m->instance_id);
    free(m->execution_id);
    free(m);
out_free_event:
    dt_event_free(event);
    return NULL;
}

void
dt_msg_free(struct dt_msg *m)
{
    if (!m)
        return;
    free(m->instance_id);
    free(m->execution_id);
    dt_event_free(m->event);
    free(m);
}

int
dt_msg_list_push(struct dt_msg_list *l, struct dt_msg *m)
{
    void **items = (void **)l->items;

    if (!grow(&items, l->count, &l->cap))
        return DURATA_ENOMEM;
    l->items = (struct dt_msg **)items;
    l->items[l->count++] = m;
    return 0;
}

int
dt_msg_list_push_take(struct dt_msg_list *l, struct dt_msg *m)
{
    if (!m)
        return DURATA_ENOMEM;
    if (dt_msg_list_push(l, m) < 0) {
        dt_msg_free(m);
        return DURATA_ENOMEM;
    }
    return 0;
}

void
dt_msg_list_release(struct dt_msg_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        dt_msg_free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = l->cap = 0;
}

struct dt_task *
dt_task_new(const char *instance_id, const char *execution_id, int32_t task_id, const char *name,
            const char *input, int64_t visible_ms)
{
    struct dt_task *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->task_id = task_id;
    t->visible_ms = visible_ms;
    if (!copy_str(&t->instance_id, instance_id) || !copy_str(&t->execution_id, execution_id) ||
        !copy_str(&t->name, name) || !copy_str(&t->input, input)) {
        dt_task_free(t);
        return NULL;
    }
    return t;
}

void
dt_task_free(struct dt_task *t)
{
    if (!t)
        return;
    free(t->instance_id);
    free(t->execution_id);
    free(t->name);
    free(t->input);
    free(t->lease_owner);
    free(t);
}

int
dt_task_list_push_take(struct dt_task_list *l, struct dt_task *t)
{
    void **items = (void **)l->items;

    if (!t)
        return DURATA_ENOMEM;
    if (!grow(&items, l->count, &l->cap)) {
        dt_task_free(t);
        return DURATA_ENOMEM;
    }
    l->items = (struct dt_task **)items;
    l->items[l->count++] = t;
    return 0;
}

void
dt_task_list_release(struct dt_task_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        dt_task_free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = l->cap = 0;
}

struct durata_instance *
dt_instance_clone(const struct durata_instance *inst)
{
    struct durata_instance *c;

    if (!inst)
        return NULL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->status = inst->status;
    c->created_ms = inst->created_ms;
    c->updated_ms = inst->updated_ms;
    c->completed_ms = inst->completed_ms;
    c->scheduled_start_ms = inst->scheduled_start_ms;
    c->failure = dt_failure_clone(inst->failure);
    if (inst->failure && !c->failure)
        goto out_free;
    if (!copy_str(&c->id, inst->id) || !copy_str(&c->name, inst->name) ||
        !copy_str(&c->version, inst->version) || !copy_str(&c->execution_id, inst->execution_id) ||
        !copy_str(&c->input, inst->input) || !copy_str(&c->output, inst->output) ||
        !copy_str(&c->custom_status, inst->custom_status) ||
        !copy_str(&c->parent_id, inst->parent_id))
        goto out_free;
    return c;

out_free:
    durata_instance_free(c);
    return NULL;
}
