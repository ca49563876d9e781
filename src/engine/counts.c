/*
 * counts.c — durata_hub_counts: what the store holds now, for metrics.
 *
 * Owns: nothing; forwards to the store's counts op (which borrows a reader
 * connection, so it runs beside the committer and the workers).
 * Threading: callable from any thread, whether the hub's threads run or not.
 */
#include "engine/hub.h"

int
durata_hub_counts(struct durata_hub *hub, int64_t by_status[8], int64_t *inbox, int64_t *tasks)
{
    if (!hub || !by_status || !hub->store)
        return DURATA_EINVAL;
    return hub->store->ops->counts(hub->store, by_status, inbox, tasks);
}
