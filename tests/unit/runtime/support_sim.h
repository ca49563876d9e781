/*
 * support_sim.h — a tiny stand-in for the engine, for runtime tests.
 *
 * Owns: a history (past), the events of the next step (fresh), and the
 * output of the last replay. sim_step runs the replay and commits like the
 * engine would: fresh moves into past, followed by the scheduling event of
 * each new action (TaskScheduled, TimerCreated, ...). Tests then feed the
 * next step's events (OrchestratorStarted first) with the sim_* helpers.
 * Any allocation failure aborts the test (cmocka assertions).
 */
#ifndef SUPPORT_SIM_H
#define SUPPORT_SIM_H

#include "runtime/replay.h"

#include <stdbool.h>
#include <stdint.h>

#define SIM_T0 1714557600000LL /* 2024-05-01T10:00:00Z */

struct sim {
    struct dt_event_list past;
    struct dt_event_list fresh;
    int64_t now;
    const char *instance_id;
    const char *execution_id;
    size_t max_payload;
    size_t max_status;
    struct dt_replay_out out;
};

/* fresh = OrchestratorStarted(t0), ExecutionStarted(input). */
void sim_init(struct sim *s, const char *input, int64_t t0);
void sim_release(struct sim *s);

/* Runs one replay over past+fresh into s->out (the previous out is
 * released); does not change the history. Returns dt_replay_run's code. */
int sim_run(struct sim *s, durata_orchestrator_fn fn, void *arg);
/* Moves fresh into past and records s->out's actions as history. */
void sim_commit(struct sim *s);
/* sim_run then sim_commit; returns the code of sim_run. */
int sim_step(struct sim *s, durata_orchestrator_fn fn, void *arg);

/* Starts the next step: fresh += OrchestratorStarted(now). */
void sim_begin(struct sim *s, int64_t now);
void sim_task_done(struct sim *s, int32_t id, const char *result);
void sim_task_failed(struct sim *s, int32_t id, const char *message, bool non_retriable);
void sim_sub_done(struct sim *s, int32_t id, const char *result);
void sim_sub_failed(struct sim *s, int32_t id, const char *message);
void sim_timer_fired(struct sim *s, int32_t id);
void sim_raise(struct sim *s, const char *name, const char *input);
/* Appends any event to past directly (hand-made histories). */
struct dt_event *sim_past(struct sim *s, enum durata_event_type type);

/* The i-th new action of the last run (asserts it exists). */
const struct dt_action *sim_action(const struct sim *s, size_t i);

#endif
