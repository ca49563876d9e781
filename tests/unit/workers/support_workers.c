/*
 * support_workers.c — see support_workers.h.
 */
#include "support_workers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int64_t
wk_clock_now(void *arg)
{
    struct wk_clock *c = arg;

    return atomic_load(&c->now_ms);
}

int
wk_setup(void **state)
{
    struct wk_fixture *fx = calloc(1, sizeof(*fx));
    const char *base = getenv("DURATA_TEST_TMP");

    if (!fx)
        return -1;
    if (!base || !*base)
        base = "/tmp";
    snprintf(fx->dir, sizeof(fx->dir), "%s/workers-XXXXXX", base);
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof(fx->path), "%s/store.db", fx->dir);
    atomic_store(&fx->clock.now_ms, WK_T0);
    *state = fx;
    return 0;
}

int
wk_teardown(void **state)
{
    static const char *const sides[] = {"", "-wal", "-shm", "-journal"};
    struct wk_fixture *fx = *state;
    char file[700];
    size_t i;

    durata_hub_close(fx->hub);
    for (i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
        snprintf(file, sizeof(file), "%s%s", fx->path, sides[i]);
        unlink(file);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

struct durata_hub *
wk_fixture_hub(struct wk_fixture *fx, bool fake_clock)
{
    struct durata_hub_options o = {.store_path = fx->path};

    assert_null(fx->hub);
    if (fake_clock) {
        o.clock = wk_clock_now;
        o.clock_arg = &fx->clock;
    }
    assert_int_equal(durata_hub_open(&fx->hub, &o), 0);
    assert_int_equal(durata_register_builtins(fx->hub), 0);
    return fx->hub;
}

struct durata_instance *
wk_run_and_get(struct durata_hub *hub, const char *id)
{
    struct durata_instance *inst = NULL;

    assert_true(durata_hub_run_pending(hub, 0) >= 0);
    assert_int_equal(durata_get_status(hub, id, &inst), 0);
    return inst;
}

struct durata_instance *
wk_drive(struct durata_hub *hub, struct wk_clock *clock, const char *id, int64_t step_ms,
         int max_rounds)
{
    struct durata_instance *inst = wk_run_and_get(hub, id);
    int round;

    for (round = 0; round < max_rounds && !durata_status_is_terminal(inst->status); round++) {
        durata_instance_free(inst);
        atomic_fetch_add(&clock->now_ms, step_ms);
        inst = wk_run_and_get(hub, id);
    }
    return inst;
}

void
wk_start(struct durata_hub *hub, const char *name, const char *id, const char *input,
         char id_out[257])
{
    struct durata_start_options o = {.name = name, .instance_id = id, .input = input};

    assert_int_equal(durata_start(hub, &o, id_out, 257), 0);
}

bool
wk_json_is_string(const char *json, const char *s)
{
    json_t *v = json ? json_loads(json, JSON_DECODE_ANY, NULL) : NULL;
    bool eq = json_is_string(v) && strcmp(json_string_value(v), s) == 0;

    json_decref(v);
    return eq;
}

bool
wk_json_equal(const char *a, const char *b)
{
    json_t *va = a ? json_loads(a, JSON_DECODE_ANY, NULL) : NULL;
    json_t *vb = b ? json_loads(b, JSON_DECODE_ANY, NULL) : NULL;
    bool eq = va && vb && json_equal(va, vb);

    json_decref(va);
    json_decref(vb);
    return eq;
}

size_t
wk_history_count(struct durata_hub *hub, const char *id, enum durata_event_type type)
{
    struct durata_history *h = NULL;
    size_t i, n = 0;

    assert_int_equal(durata_get_history(hub, id, &h), 0);
    for (i = 0; i < h->count; i++)
        n += h->events[i].type == type;
    durata_history_free(h);
    return n;
}
