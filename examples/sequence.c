/*
 * sequence.c — function chaining: an orchestrator calls three activities one
 * after the other and returns their results.
 *
 * Run:  ./sequence [store.db]      (default ./example.db, deleted first)
 * Exit: 0 when the output is ["Hello Tokyo!","Hello Seattle!","Hello London!"].
 *
 * How an orchestrator runs (the replay model). durata does not keep an
 * orchestrator's C stack alive while it waits. Instead every step calls the
 * function again *from the top*, handing it the history recorded so far:
 *
 *   step 1: call_activity(Tokyo) -> no result yet   -> return DURATA_YIELD
 *           (durata records "TaskScheduled" and runs the activity)
 *   step 2: call_activity(Tokyo) -> result replayed from the history
 *           call_activity(Seattle) -> no result yet -> return DURATA_YIELD
 *   ...
 *   step 4: all three results are in the history    -> complete, DURATA_DONE
 *
 * So an orchestrator must be deterministic: the same history must lead to
 * the same calls in the same order. Read time with durata_orch_now() and
 * make ids with durata_orch_new_uuid(), never with time() or rand(), and do
 * real work (I/O, slow computations) in activities, which run once each.
 */
#include <durata.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const cities[] = {"Tokyo", "Seattle", "London"};
#define N_CITIES (sizeof(cities) / sizeof(cities[0]))

/* Activity: "Tokyo" -> "Hello Tokyo!". Input and output are JSON text. */
static void
say_hello(struct durata_activity *a, void *arg)
{
    json_t *in = json_loads(durata_activity_input(a), JSON_DECODE_ANY, NULL);
    char greeting[256];
    json_t *out;
    char *text;

    (void)arg;
    if (!json_is_string(in)) {
        durata_activity_fail(a, "InvalidInput", "expected a city name", NULL, true);
        json_decref(in);
        return;
    }
    snprintf(greeting, sizeof(greeting), "Hello %s!", json_string_value(in));
    printf("  activity SayHello(%s) -> \"%s\"\n", json_string_value(in), greeting);
    out = json_string(greeting);
    text = json_dumps(out, JSON_ENCODE_ANY);
    durata_activity_complete(a, text);
    free(text);
    json_decref(out);
    json_decref(in);
}

/* Orchestrator: greets each city in turn and returns the greetings. */
static enum durata_orch_result
hello_sequence(struct durata_orch *o, void *arg)
{
    const char *results[N_CITIES];
    json_t *out;
    char *text;
    size_t i;

    (void)arg;
    for (i = 0; i < N_CITIES; i++) {
        char input[64];
        struct durata_task *t;

        snprintf(input, sizeof(input), "\"%s\"", cities[i]);
        t = durata_call_activity(o, "SayHello", input, NULL);
        if (!durata_await(o, t))
            return DURATA_YIELD; /* not done yet: durata calls us again later */
        if (durata_task_is_failed(t)) {
            durata_orch_fail(o, "GreetingFailed", durata_task_failure(t)->message, NULL);
            return DURATA_DONE;
        }
        results[i] = durata_task_result(t);
    }
    /* All three results are known: build ["...", "...", "..."]. */
    out = json_array();
    for (i = 0; i < N_CITIES; i++)
        json_array_append_new(out, json_loads(results[i], JSON_DECODE_ANY, NULL));
    text = json_dumps(out, JSON_COMPACT);
    durata_orch_complete(o, text);
    free(text);
    json_decref(out);
    return DURATA_DONE;
}

static void
remove_store(const char *path)
{
    char side[4096];

    unlink(path);
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
}

/* true when JSON texts a and b hold equal values (formatting aside). */
static int
json_text_equal(const char *a, const char *b)
{
    json_t *va = a ? json_loads(a, JSON_DECODE_ANY, NULL) : NULL;
    json_t *vb = b ? json_loads(b, JSON_DECODE_ANY, NULL) : NULL;
    int eq = va && vb && json_equal(va, vb);

    json_decref(va);
    json_decref(vb);
    return eq;
}

static void
print_history(struct durata_hub *hub, const char *id)
{
    struct durata_history *h = NULL;
    size_t i;

    if (durata_get_history(hub, id, &h) < 0) {
        printf("history: unavailable\n");
        return;
    }
    printf("history (%zu events):", h->count);
    for (i = 0; i < h->count; i++)
        printf(" %s", durata_event_type_name(h->events[i].type));
    printf("\n");
    durata_history_free(h);
}

int
main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "./example.db";
    const char *expected = "[\"Hello Tokyo!\",\"Hello Seattle!\",\"Hello London!\"]";
    struct durata_hub_options opts = {.store_path = path};
    struct durata_start_options start = {.name = "HelloSequence"};
    struct durata_instance *inst = NULL;
    struct durata_hub *hub = NULL;
    char id[257];
    int ok = 0, rc;

    setvbuf(stdout, NULL, _IOLBF, 0); /* activities print from other threads */
    remove_store(path);
    rc = durata_hub_open(&hub, &opts);
    if (rc == 0)
        rc = durata_register_orchestrator(hub, "HelloSequence", hello_sequence, NULL);
    if (rc == 0)
        rc = durata_register_activity(hub, "SayHello", say_hello, NULL);
    if (rc == 0)
        rc = durata_hub_start(hub);
    if (rc == 0)
        rc = durata_start(hub, &start, id, sizeof(id));
    if (rc == 0) {
        printf("started instance %s\n", id);
        rc = durata_wait(hub, id, 30000, &inst);
    }
    if (rc < 0) {
        fprintf(stderr, "sequence: %s\n", durata_strerror(rc));
        goto out;
    }
    printf("status: %s\noutput: %s\n", durata_status_name(inst->status),
           inst->output ? inst->output : "null");
    print_history(hub, id);
    ok = inst->status == DURATA_COMPLETED && json_text_equal(inst->output, expected);
    printf("%s\n", ok ? "OK" : "UNEXPECTED RESULT");
out:
    durata_instance_free(inst);
    durata_hub_close(hub);
    return ok ? 0 : 1;
}
