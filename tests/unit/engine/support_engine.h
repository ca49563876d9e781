/*
 * support_engine.h — helpers shared by the engine tests: a hub over a fresh
 * SQLite file with a fake clock, driven without threads; readers of
 * instance state and history; small JSON helpers.
 *
 * Each test gets its own struct eng (cmocka state) from eng_setup and loses
 * it in eng_teardown, which closes the hub and deletes the store files.
 * Threading: the fake clock may be read from any thread; the rest is for
 * the test's own thread.
 */
#ifndef ENG_SUPPORT_ENGINE_H
#define ENG_SUPPORT_ENGINE_H

#include "durata.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the fake clock starts (2023-11-14T22:13:20Z). */
#define ENG_T0 1700000000000LL

/* How many items one eng_run may process before the test calls it a
 * livelock (run_pending never running dry). */
#define ENG_RUN_CAP 100000

struct eng {
    char dir[512];
    char path[600];
    _Atomic int64_t now_ms;
    struct durata_hub_options opt; /* used by eng_reopen */
    struct durata_hub *hub;
};

/* cmocka setup/teardown: a fresh store and a hub with the fake clock at
 * ENG_T0 and default options. */
int eng_setup(void **state);
int eng_teardown(void **state);

/* Closes the hub and opens a new one on the same file with options o
 * (store_path and clock are filled in; NULL = defaults). Registrations are
 * lost: register again after. */
void eng_reopen(struct eng *e, const struct durata_hub_options *o);

/* The fake clock (a durata_clock_fn; arg is the struct eng). */
int64_t eng_clock(void *arg);
/* The system's wall clock (a durata_clock_fn), for tests of a started hub. */
int64_t eng_wall_clock(void *arg);
void eng_advance(struct eng *e, int64_t ms);
int64_t eng_now(struct eng *e);

/* Registration that fails the test on an error. */
void eng_orch(struct eng *e, const char *name, durata_orchestrator_fn fn, void *arg);
void eng_act(struct eng *e, const char *name, durata_activity_fn fn, void *arg);

/* An activity that completes with its input. */
void eng_act_echo(struct durata_activity *a, void *arg);
/* An orchestrator that calls the activity named arg (a string) with its
 * input and completes with the result. */
enum durata_orch_result eng_orch_call_one(struct durata_orch *o, void *arg);

/* Processes everything visible now; fails the test on an error or when the
 * hub never runs dry (ENG_RUN_CAP items). Returns the count processed. */
int eng_run(struct eng *e);

/* Starts name with input under id (NULL = generated) into id_out. */
void eng_start(struct eng *e, const char *name, const char *id, const char *input,
               char id_out[257]);

/* The instance (fails the test when it cannot be read); caller frees. */
struct durata_instance *eng_get(struct eng *e, const char *id);
/* Its status. */
enum durata_status eng_status(struct eng *e, const char *id);

/* Number of history events of `type`. */
size_t eng_history_count(struct eng *e, const char *id, enum durata_event_type type);
/* The history's event types in order, leaving out OrchestratorStarted and
 * OrchestratorCompleted; returns how many (at most max are written). */
size_t eng_history_types(struct eng *e, const char *id, enum durata_event_type *types, size_t max);
/* JSON text of the n-th (0-based) history event of `type`; malloc'd, NULL
 * when there is none. */
char *eng_history_event(struct eng *e, const char *id, enum durata_event_type type, size_t n);

/* true when JSON texts a and b hold equal values (NULL is JSON null). */
bool eng_json_equal(const char *a, const char *b);
/* Integer value of JSON text (fails the test when it is not one). */
long long eng_json_int(const char *json);
/* Integer member `key` of a JSON object text (fails the test otherwise). */
long long eng_json_member_int(const char *json, const char *key);
/* String member `key` of a JSON object text, malloc'd (NULL if absent). */
char *eng_json_member_str(const char *json, const char *key);

/* JSON text of a number / string; malloc'd. */
char *eng_json_of_int(long long n);
char *eng_json_of_str(const char *s);

#endif
