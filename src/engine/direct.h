/*
 * direct.h — activity results on their way into the step they wake
 * (engine-private; see dt_step_deliver in step.h).
 *
 * Owns: per instance, the results waiting for the one thread that steps
 * that instance directly (without the inbox). An entry exists from the
 * moment a thread takes that role until its step committed and no result
 * is left; results that arrive meanwhile join the entry and go with the
 * next step, so the results of a fan-out share steps instead of each
 * taking an inbox row and a unit of its own.
 * Threading: every call locks `mu`; an entry's results belong to whoever
 * took them.
 */
#ifndef DT_ENGINE_DIRECT_H
#define DT_ENGINE_DIRECT_H

#include "store/event.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dt_direct_item {
    int64_t task_row_id;
    struct dt_msg *result; /* owned */
};

struct dt_direct_list {
    struct dt_direct_item *items;
    size_t count;
    size_t cap;
};

void dt_direct_list_release(struct dt_direct_list *l);

struct dt_dentry;

/* One entry per instance being stepped directly: as many as steps are
 * between their build and their commit, dozens under end-to-end load (the
 * list walked before cost 0.6-0.8 % of the machine), so found by hash. */
#define DT_DIRECT_BUCKETS 256

struct dt_direct {
    pthread_mutex_t mu;
    struct dt_dentry *buckets[DT_DIRECT_BUCKETS];
};

void dt_direct_init(struct dt_direct *d);
/* Forgets every entry and the results in it, for a hub whose threads have
 * stopped (those tasks run again once their leases expire). */
void dt_direct_drop_all(struct dt_direct *d);
void dt_direct_release(struct dt_direct *d);

enum dt_direct_add {
    DT_DIRECT_REFUSED = 0, /* no entry and may_open false: nothing taken */
    DT_DIRECT_JOINED = 1,  /* a step of the instance is under way: it takes the result */
    DT_DIRECT_OPENED = 2,  /* the caller now steps the instance (dt_direct_take, _done) */
};

/* Adds the result (taken unless refused or out of memory) of task row
 * task_row_id for id: joins the entry of id when there is one, else opens
 * it when may_open. DURATA_ENOMEM: nothing taken. */
int dt_direct_add(struct dt_direct *d, const char *id, int64_t task_row_id, struct dt_msg *result,
                  bool may_open);

/* Moves the results waiting for id into *out (empty before). */
void dt_direct_take(struct dt_direct *d, const char *id, struct dt_direct_list *out);

/* The step of id has been written (or given up): true when results came
 * meanwhile (the entry stays; the caller must step again), else the entry
 * is removed. */
bool dt_direct_done(struct dt_direct *d, const char *id);

#endif
