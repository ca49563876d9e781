/*
 * support_engine.c — see support_engine.h.
 */
#include "support_engine.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t
eng_clock(void *arg)
{
    struct eng *e = arg;

    return atomic_load(&e->now_ms);
}

int64_t
eng_wall_clock(void *arg)
{
    struct timespec ts;

    (void)arg;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
eng_advance(struct eng *e, int64_t ms)
{
    atomic_fetch_add(&e->now_ms, ms);
}

int64_t
eng_now(struct eng *e)
{
    return atomic_load(&e->now_ms);
}

static void
open_hub(struct eng *e, const struct durata_hub_options *o)
{
    struct durata_hub_options opt = {0};
    int rc;

    if (o)
        opt = *o;
    opt.store_path = e->path;
    if (!opt.clock) {
        opt.clock = eng_clock;
        opt.clock_arg = e;
    }
    e->opt = opt;
    rc = durata_hub_open(&e->hub, &opt);
    if (rc != 0)
        fail_msg("durata_hub_open: %s", durata_strerror(rc));
}

int
eng_setup(void **state)
{
    struct eng *e = calloc(1, sizeof(*e));
    const char *base = getenv("DURATA_TEST_TMP");

    if (!e)
        return -1;
    if (!base || !*base)
        base = "/tmp";
    snprintf(e->dir, sizeof(e->dir), "%s/engine-XXXXXX", base);
    if (!mkdtemp(e->dir)) {
        free(e);
        return -1;
    }
    snprintf(e->path, sizeof(e->path), "%s/store.db", e->dir);
    atomic_init(&e->now_ms, ENG_T0);
    open_hub(e, NULL);
    *state = e;
    return 0;
}

static void
remove_store(struct eng *e)
{
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    char p[700];

    for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", e->path, suffix[i]);
        unlink(p);
    }
    rmdir(e->dir);
}

int
eng_teardown(void **state)
{
    struct eng *e = *state;

    if (!e)
        return 0;
    durata_hub_close(e->hub);
    remove_store(e);
    free(e);
    *state = NULL;
    return 0;
}

void
eng_reopen(struct eng *e, const struct durata_hub_options *o)
{
    durata_hub_close(e->hub);
    e->hub = NULL;
    open_hub(e, o);
}

void
eng_orch(struct eng *e, const char *name, durata_orchestrator_fn fn, void *arg)
{
    assert_int_equal(durata_register_orchestrator(e->hub, name, fn, arg), 0);
}

void
eng_act(struct eng *e, const char *name, durata_activity_fn fn, void *arg)
{
    assert_int_equal(durata_register_activity(e->hub, name, fn, arg), 0);
}

int
eng_run(struct eng *e)
{
    int n = durata_hub_run_pending(e->hub, ENG_RUN_CAP);

    if (n < 0)
        fail_msg("durata_hub_run_pending: %s", durata_strerror(n));
    if (n >= ENG_RUN_CAP)
        fail_msg("durata_hub_run_pending never ran dry (%d items): a livelock", n);
    return n;
}

void
eng_start(struct eng *e, const char *name, const char *id, const char *input, char id_out[257])
{
    struct durata_start_options o = {.name = name, .instance_id = id, .input = input};
    int rc = durata_start(e->hub, &o, id_out, 257);

    if (rc != 0)
        fail_msg("durata_start(%s): %s", name, durata_strerror(rc));
}

struct durata_instance *
eng_get(struct eng *e, const char *id)
{
    struct durata_instance *inst = NULL;
    int rc = durata_get_status(e->hub, id, &inst);

    if (rc != 0)
        fail_msg("durata_get_status(%s): %s", id, durata_strerror(rc));
    assert_non_null(inst);
    return inst;
}

enum durata_status
eng_status(struct eng *e, const char *id)
{
    struct durata_instance *inst = eng_get(e, id);
    enum durata_status s = inst->status;

    durata_instance_free(inst);
    return s;
}

static struct durata_history *
history(struct eng *e, const char *id)
{
    struct durata_history *h = NULL;
    int rc = durata_get_history(e->hub, id, &h);

    if (rc != 0)
        fail_msg("durata_get_history(%s): %s", id, durata_strerror(rc));
    assert_non_null(h);
    return h;
}

size_t
eng_history_count(struct eng *e, const char *id, enum durata_event_type type)
{
    struct durata_history *h = history(e, id);
    size_t n = 0;

    for (size_t i = 0; i < h->count; i++)
        n += h->events[i].type == type;
    durata_history_free(h);
    return n;
}

size_t
eng_history_types(struct eng *e, const char *id, enum durata_event_type *types, size_t max)
{
    struct durata_history *h = history(e, id);
    size_t n = 0;

    for (size_t i = 0; i < h->count; i++) {
        enum durata_event_type t = h->events[i].type;
        if (t == DURATA_EV_ORCHESTRATOR_STARTED || t == DURATA_EV_ORCHESTRATOR_COMPLETED)
            continue;
        if (n < max)
            types[n] = t;
        n++;
    }
    durata_history_free(h);
    return n;
}

char *
eng_history_event(struct eng *e, const char *id, enum durata_event_type type, size_t n)
{
    struct durata_history *h = history(e, id);
    char *json = NULL;

    for (size_t i = 0; i < h->count && !json; i++) {
        if (h->events[i].type != type)
            continue;
        if (n-- == 0) {
            json = strdup(h->events[i].json);
            assert_non_null(json);
        }
    }
    durata_history_free(h);
    return json;
}

static json_t *
parse(const char *text)
{
    if (!text)
        return json_null();
    return json_loads(text, JSON_DECODE_ANY, NULL);
}

bool
eng_json_equal(const char *a, const char *b)
{
    json_t *va = parse(a), *vb = parse(b);
    bool eq = va && vb && json_equal(va, vb);

    json_decref(va);
    json_decref(vb);
    return eq;
}

long long
eng_json_int(const char *json)
{
    json_t *v = json ? json_loads(json, JSON_DECODE_ANY, NULL) : NULL;
    long long n;

    if (!json_is_integer(v))
        fail_msg("not a JSON integer: %s", json ? json : "(null)");
    n = json_integer_value(v);
    json_decref(v);
    return n;
}

long long
eng_json_member_int(const char *json, const char *key)
{
    json_t *v = json ? json_loads(json, 0, NULL) : NULL;
    json_t *m = json_object_get(v, key);
    long long n;

    if (!json_is_integer(m))
        fail_msg("no integer member \"%s\" in %s", key, json ? json : "(null)");
    n = json_integer_value(m);
    json_decref(v);
    return n;
}

char *
eng_json_member_str(const char *json, const char *key)
{
    json_t *v = json ? json_loads(json, 0, NULL) : NULL;
    json_t *m = json_object_get(v, key);
    char *s = json_is_string(m) ? strdup(json_string_value(m)) : NULL;

    json_decref(v);
    return s;
}

char *
eng_json_of_int(long long n)
{
    json_t *v = json_integer(n);
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

    json_decref(v);
    assert_non_null(s);
    return s;
}

char *
eng_json_of_str(const char *str)
{
    json_t *v = json_string(str);
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

    json_decref(v);
    assert_non_null(s);
    return s;
}

void
eng_act_echo(struct durata_activity *a, void *arg)
{
    (void)arg;
    durata_activity_complete(a, durata_activity_input(a));
}

enum durata_orch_result
eng_orch_call_one(struct durata_orch *o, void *arg)
{
    struct durata_task *t = durata_call_activity(o, (const char *)arg, durata_orch_input(o), NULL);

    if (!durata_await(o, t))
        return DURATA_YIELD;
    durata_orch_complete(o, durata_task_result(t));
    return DURATA_DONE;
}
