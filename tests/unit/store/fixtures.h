/*
 * fixtures.h — helpers for the store tests: a fresh store per test, and
 * short constructors for units, messages and instances.
 *
 * The contract suite (support_contract_*.c) only talks to a store through
 * struct dt_store_ops; which backend it runs against is chosen by the test
 * program through fx_backend (SQLite files today).
 */
#ifndef DT_TEST_STORE_FIXTURES_H
#define DT_TEST_STORE_FIXTURES_H

#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

/* How the suite gets a fresh, empty store target and removes it. */
struct fx_backend {
    const char *name;
    /* Writes a target for dt_store_open into target; 0 or -1. */
    int (*new_target)(char *target, size_t size);
    void (*drop_target)(const char *target);
};

extern const struct fx_backend *fx_backend;
extern const struct fx_backend fx_sqlite_backend;

/* cmocka state of a contract test. */
struct fx {
    struct dt_store *s;
    char target[1024];
};

int fx_setup(void **state);
int fx_teardown(void **state);
/* Closes and opens the store again (durability across close/open). */
void fx_reopen(struct fx *fx);

/* Commits the units as one batch; asserts commit() succeeded. */
void fx_commit(struct dt_store *s, struct dt_write **units, size_t n);
/* Commits one unit, returns its rc and frees it. */
int fx_commit1(struct dt_store *s, struct dt_write *w);

struct dt_event *fx_event(enum durata_event_type type, int64_t ts, const char *name,
                          const char *input);
struct dt_msg *fx_msg(const char *target, enum durata_event_type type, int64_t visible_ms,
                      const char *name);
struct durata_instance *fx_instance(const char *id, const char *name, enum durata_status status,
                                    int64_t created_ms);

/* A Create unit of a Pending instance with its ExecutionStarted message
 * visible at created_ms. */
struct dt_write *fx_create_unit(const char *id, const char *name, int64_t created_ms);
int fx_create(struct dt_store *s, const char *id, const char *name, int64_t created_ms);
/* Adds one task (task_id, visible at visible_ms) to instance id with an
 * admin step; asserts it committed and returns the task's row id. */
int64_t fx_add_task(struct dt_store *s, const char *id, int32_t task_id, int64_t visible_ms);
/* Sends one message (Send unit, no status restriction); returns rc. */
int fx_send(struct dt_store *s, struct dt_msg *m);

/* Claims instances; returns the unit (caller frees) after asserting rc 0. */
struct dt_write *fx_claim(struct dt_store *s, const char *owner, int64_t now_ms, int64_t until_ms,
                          size_t max);
/* Claims one instance by owner and asserts it is `id`. */
void fx_claim_one(struct dt_store *s, const char *owner, int64_t now_ms, const char *id);
struct dt_write *fx_claim_tasks(struct dt_store *s, const char *owner, int64_t now_ms,
                                int64_t until_ms, size_t max, int max_deliveries);

/* An admin Step (lock_owner NULL, expect_statuses 0 = any) that rewrites
 * the instance with another status. Returns rc. */
int fx_set_status(struct dt_store *s, const char *id, enum durata_status status);

/* Reads back through the ops. */
struct durata_instance *fx_get(struct dt_store *s, const char *id); /* NULL when missing */
bool fx_exists(struct dt_store *s, const char *id);
size_t fx_history_len(struct dt_store *s, const char *id);
size_t fx_inbox_len(struct dt_store *s, const char *id, int64_t now_ms);
void fx_counts(struct dt_store *s, int64_t by_status[8], int64_t *inbox, int64_t *tasks);

char *fx_strdup(const char *s);

/* The contract suites (support_contract_*.c), run by each backend's test. */
struct CMUnitTest;
extern const struct CMUnitTest contract_write_tests[];
extern const size_t contract_write_count;
extern const struct CMUnitTest contract_claim_tests[];
extern const size_t contract_claim_count;
extern const struct CMUnitTest contract_step_tests[];
extern const size_t contract_step_count;

#endif
