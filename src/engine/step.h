/*
 * step.h — one orchestration step (engine-private).
 *
 * Owns: turning an instance's visible inbox into a step: control messages
 * (terminate, suspend, resume), the replay of the orchestrator over its
 * history, and the translation of the replay's actions and completion into
 * one store write (history events, instance state, consumed messages,
 * outgoing messages, activity tasks, sub-orchestration starts).
 * Threading: dt_step_execute runs on a worker thread with the instance
 * locked by this hub's owner id; dt_step_first on the starting thread
 * before the instance exists; dt_step_deliver on an activity thread and
 * dt_step_run_direct on an activity or orchestration thread, without the
 * lock (their writes check that nothing changed). Nothing shared beyond
 * the hub's thread-safe parts.
 */
#ifndef DT_ENGINE_STEP_H
#define DT_ENGINE_STEP_H

#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

struct durata_hub;

/* Runs one step for a claimed instance and queues its write. */
void dt_step_execute(struct durata_hub *hub, const char *instance_id);

/* Runs the first step of the instance a Create unit (w, with its start
 * message) would make, in the caller's thread, and folds it into w: the
 * instance becomes the step's outcome and the start message its history.
 * On an error w is unchanged (commit it as it is). */
DURATA_MUST_CHECK int dt_step_first(struct durata_hub *hub, struct dt_write *w);

/* Commits a Create unit and waits for it (the history of a first step goes
 * to the history cache). Returns the unit's rc. */
int dt_step_commit_create(struct durata_hub *hub, struct dt_write *w);

/* Queues a Create unit (taken on success) without waiting: done(arg, rc,
 * id) once it is durable or failed (see durata_start_async). Returns 0, or
 * DURATA_EOVERLOAD / DURATA_ENOMEM with nothing queued and w still the
 * caller's. */
DURATA_MUST_CHECK int dt_step_submit_create(struct durata_hub *hub, struct dt_write *w,
                                            durata_started_fn done, void *arg);

/* Writes an activity result (task row task_row_id) together with the step
 * it wakes, when this hub stepped the instance last and nothing holds it
 * (its history is cached here): results that arrive while such a step is
 * built or committed go together with the next one (direct.h). true when
 * it took result (written one way or another, freed later); false when
 * the caller must deliver result as usual. */
bool dt_step_deliver(struct durata_hub *hub, int64_t task_row_id, struct dt_msg *result);

/* Steps instance id with the results waiting for it (direct.h), until none
 * is left or one step is queued (whose completion goes on). */
void dt_step_run_direct(struct durata_hub *hub, const char *id);

#endif
