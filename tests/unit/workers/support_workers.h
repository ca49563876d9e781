/*
 * support_workers.h — helpers shared by the workers tests: a temporary
 * store, a fake clock, a hub driven without threads, and small readers of
 * instance state and history.
 *
 * Threading: the fake clock may be read from any thread; everything else is
 * for the test's own thread.
 */
#ifndef WK_SUPPORT_WORKERS_H
#define WK_SUPPORT_WORKERS_H

#include "durata.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A clock the test moves by hand (ms since the epoch). */
struct wk_clock {
    _Atomic int64_t now_ms;
};

int64_t wk_clock_now(void *arg);

/* The fake clock's start (2023-11-14T22:13:20Z). */
#define WK_T0 1700000000000LL

/* Per-test state: a store in a fresh temporary directory, a fake clock at
 * WK_T0 and the hub, all released by wk_teardown even when the test
 * fails half-way. */
struct wk_fixture {
    char dir[512];
    char path[600];
    struct wk_clock clock;
    struct durata_hub *hub;
};

/* cmocka setup/teardown making and releasing a struct wk_fixture. */
int wk_setup(void **state);
int wk_teardown(void **state);
#define WK_TEST(f) cmocka_unit_test_setup_teardown(f, wk_setup, wk_teardown)

/* Opens the fixture's hub (at most once per test) on its store, with the
 * fake clock when fake_clock, and registers the built-ins. */
struct durata_hub *wk_fixture_hub(struct wk_fixture *fx, bool fake_clock);

/* Runs every pending item, then reads the instance. Fails the test on an
 * error. The caller frees the instance. */
struct durata_instance *wk_run_and_get(struct durata_hub *hub, const char *id);

/* Drives an unthreaded hub: run pending work, and while the instance is not
 * terminal move the clock by step_ms, at most max_rounds times. Returns the
 * final instance (terminal unless the rounds ran out). */
struct durata_instance *wk_drive(struct durata_hub *hub, struct wk_clock *clock, const char *id,
                                 int64_t step_ms, int max_rounds);

/* Starts `name` with `input` under `id` (NULL = generated) into id_out. */
void wk_start(struct durata_hub *hub, const char *name, const char *id, const char *input,
              char id_out[257]);

/* true when JSON text `json` is the JSON string `s`. */
bool wk_json_is_string(const char *json, const char *s);
/* true when JSON texts a and b hold equal values. */
bool wk_json_equal(const char *a, const char *b);

/* Number of history events of `type` of the instance's current execution. */
size_t wk_history_count(struct durata_hub *hub, const char *id, enum durata_event_type type);

#endif
