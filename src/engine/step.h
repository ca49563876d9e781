/*
 * step.h — one orchestration step (engine-private).
 *
 * Owns: turning an instance's visible inbox into a step: control messages
 * (terminate, suspend, resume), the replay of the orchestrator over its
 * history, and the translation of the replay's actions and completion into
 * one store write (history events, instance state, consumed messages,
 * outgoing messages, activity tasks, sub-orchestration starts).
 * Threading: called on a worker thread with the instance locked by this
 * hub's owner id; nothing shared beyond the hub's thread-safe parts.
 */
#ifndef DT_ENGINE_STEP_H
#define DT_ENGINE_STEP_H

struct durata_hub;

/* Runs one step for a claimed instance and queues its write. */
void dt_step_execute(struct durata_hub *hub, const char *instance_id);

#endif
