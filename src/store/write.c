/*
 * write.c — allocation and release of write units (struct dt_write).
 *
 * Owns: the rule that a unit owns everything it points to, inputs and
 * results alike, so dt_write_free() is the one way to drop a unit whatever
 * commit() did with it.
 * Threading: plain values; no shared state.
 */
#include "store/store.h"

#include <stdlib.h>

struct dt_write *
dt_write_new(enum dt_write_kind kind)
{
    struct dt_write *w = calloc(1, sizeof(*w));

    if (w)
        w->kind = kind;
    return w;
}

void
dt_create_release(struct dt_create *c)
{
    if (!c)
        return;
    durata_instance_free(c->inst);
    dt_msg_free(c->start);
    dt_msg_free(c->on_conflict);
    free(c->claim.owner);
    dt_write_free(c->first);
    c->inst = NULL;
    c->start = NULL;
    c->on_conflict = NULL;
    c->first = NULL;
}

static void
step_release(struct dt_step *s)
{
    free(s->instance_id);
    free(s->lock_owner);
    dt_event_list_release(&s->append);
    free(s->append_text);
    durata_instance_free(s->state);
    free(s->consumed);
    dt_msg_list_release(&s->outbox);
    dt_task_list_release(&s->tasks);
    for (size_t i = 0; s->creates && i < s->n_creates; i++)
        dt_create_release(&s->creates[i]);
    free(s->creates);
    free(s->task_claim.owner);
    free(s->expect_execution_id);
    free(s->done_tasks);
}

static void
claim_instances_release(struct dt_claim_instances *c)
{
    free(c->owner);
    for (size_t i = 0; c->ids && i < c->n_ids; i++)
        free(c->ids[i]);
    free(c->ids);
}

void
dt_write_free(struct dt_write *w)
{
    if (!w)
        return;
    switch (w->kind) {
    case DT_W_CREATE:
        dt_create_release(&w->u.create);
        break;
    case DT_W_SEND:
        dt_msg_free(w->u.send.msg);
        free(w->u.send.claim.owner);
        break;
    case DT_W_STEP:
        step_release(&w->u.step);
        break;
    case DT_W_TASK_DONE:
        dt_msg_free(w->u.task_done.result);
        free(w->u.task_done.claim.owner);
        break;
    case DT_W_TASK_RELEASE:
        free(w->u.task_release.lease_owner);
        break;
    case DT_W_RENEW:
        free(w->u.renew.ids);
        free(w->u.renew.lost);
        free(w->u.renew.owner);
        break;
    case DT_W_CLAIM_INSTANCES:
        claim_instances_release(&w->u.claim_instances);
        break;
    case DT_W_CLAIM_TASKS:
        free(w->u.claim_tasks.owner);
        dt_task_list_release(&w->u.claim_tasks.tasks);
        dt_task_list_release(&w->u.claim_tasks.poisoned);
        break;
    case DT_W_PURGE:
        free(w->u.purge.instance_id);
        break;
    case DT_W_PURGE_MANY:
        free((void *)w->u.purge_many.filter.name);
        free((void *)w->u.purge_many.filter.id_prefix);
        break;
    }
    free(w);
}

static void
precode_msg(struct dt_msg *m)
{
    if (m)
        dt_event_precode(m->event);
}

/* The step's history row as text, built here rather than in the one
 * writer; the events keep no text of their own after it (the cache holds
 * them decoded). Left to the writer when an event does not encode. */
static void
precode_append(struct dt_step *s)
{
    if (s->append.count && !s->append_text &&
        dt_event_list_encode(&s->append, &s->append_text) == 0) {
        for (size_t i = 0; i < s->append.count; i++) {
            free(s->append.items[i]->encoded);
            s->append.items[i]->encoded = NULL;
        }
    }
}

static void
precode_create(struct dt_create *c)
{
    precode_msg(c->start);
    precode_msg(c->on_conflict);
    if (c->first)
        dt_write_precode(c->first);
}

void
dt_write_precode(struct dt_write *w)
{
    switch (w->kind) {
    case DT_W_CREATE:
        precode_create(&w->u.create);
        return;
    case DT_W_SEND:
        precode_msg(w->u.send.msg);
        return;
    case DT_W_STEP:
        precode_append(&w->u.step);
        for (size_t i = 0; i < w->u.step.outbox.count; i++)
            precode_msg(w->u.step.outbox.items[i]);
        for (size_t i = 0; i < w->u.step.n_creates; i++)
            precode_create(&w->u.step.creates[i]);
        return;
    case DT_W_TASK_DONE:
        precode_msg(w->u.task_done.result);
        return;
    case DT_W_TASK_RELEASE:
    case DT_W_RENEW:
    case DT_W_CLAIM_INSTANCES:
    case DT_W_CLAIM_TASKS:
    case DT_W_PURGE:
    case DT_W_PURGE_MANY:
        return;
    }
}
