/*
 * index.h — lookup tables one replay builds over its history, once.
 *
 * Owns: an open-addressing map from action id to the history positions of
 * the action's scheduling event and of its completion (dt_id_index), and
 * the EventRaised positions grouped by case-insensitive name, each group in
 * history order with a FIFO head (dt_name_index).
 * Does not own: the events (borrowed from the replay's input for the
 * index's whole life).
 * Invariants: both tables are sized from the history length when built and
 * never grow, so building is O(history) and a lookup is O(1) on average;
 * `probes` counts the slots visited by lookups, which lets a test check
 * that a replay does a bounded number of probes per call.
 * Threading: none; one replay owns its indexes.
 */
#ifndef DT_RUNTIME_INDEX_H
#define DT_RUNTIME_INDEX_H

#include "store/event.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One action id seen in the history. Positions index past+fresh; -1 when
 * the history has no such event. The first event of each role wins. */
struct dt_id_slot {
    int32_t id;
    bool used;
    int64_t sched; /* TaskScheduled, TimerCreated, SubOrchestrationInstanceCreated, EventSent */
    int64_t done;  /* Task*, SubOrchestrationInstance* (by TaskScheduledId), TimerFired */
};

struct dt_id_index {
    struct dt_id_slot *slots; /* NULL when the history has no action event */
    size_t mask;
    uint64_t probes;
};

/* Builds the index over ev[0..n). DURATA_ENOMEM; x is caller storage. */
DURATA_MUST_CHECK int dt_id_index_build(struct dt_id_index *x, struct dt_event *const *ev,
                                        size_t n);
void dt_id_index_release(struct dt_id_index *x);
/* The slot of id, or NULL when the history never mentions it. */
const struct dt_id_slot *dt_id_index_find(struct dt_id_index *x, int32_t id);

/* The EventRaised events of one name. Waits claim them in FIFO order and
 * a wait either claims the oldest unclaimed event or none, so the claimed
 * events are always a prefix: `head` of them. */
struct dt_name_group {
    const char *name; /* the first event's spelling (borrowed) */
    size_t first;     /* offset of this group's positions in pos[] */
    size_t count;
    size_t head;
};

struct dt_name_index {
    struct dt_name_group *groups;
    size_t n_groups;
    size_t *pos;   /* history positions, grouped, each group ascending */
    size_t *slots; /* hash slot -> group index + 1; 0 = empty */
    size_t mask;
    uint64_t probes;
};

/* Groups the EventRaised events of ev[0..n) that have a name (ASCII
 * case-insensitive). DURATA_ENOMEM; x is caller storage. */
DURATA_MUST_CHECK int dt_name_index_build(struct dt_name_index *x, struct dt_event *const *ev,
                                          size_t n);
void dt_name_index_release(struct dt_name_index *x);
/* The group of name (any case), or NULL when no event has that name. */
struct dt_name_group *dt_name_index_find(struct dt_name_index *x, const char *name);

/* ASCII case-insensitive equality, independent of the locale. */
bool dt_name_equal_ci(const char *a, const char *b);

#endif
