/*
 * fanout.c — fan-out/fan-in: an orchestrator starts N activities at once,
 * waits for all of them with durata_when_all, and sums their results.
 *
 * Run:  ./fanout [store.db] [N]    (default ./example.db and N = 20)
 * Exit: 0 when the sum is 1^2 + 2^2 + ... + N^2 = N(N+1)(2N+1)/6.
 *
 * The replay model in one paragraph: durata calls the orchestrator again
 * from the top at every step, with the results recorded so far. Scheduling
 * N activities without awaiting each one lets them all run in parallel on
 * the hub's activity threads; durata_await on the when_all task returns
 * false (we return DURATA_YIELD) until every result is recorded. Because the
 * function is replayed, it must make the same calls in the same order every
 * time: it reads N from its input, never from a global that could change.
 */
#include <durata.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define FANOUT_MAX 10000

/* Activity: x -> x * x (JSON integers). */
static void
square(struct durata_activity *a, void *arg)
{
    json_t *in = json_loads(durata_activity_input(a), JSON_DECODE_ANY, NULL);
    char out[32];

    (void)arg;
    if (!json_is_integer(in)) {
        durata_activity_fail(a, "InvalidInput", "expected an integer", NULL, true);
    } else {
        json_int_t x = json_integer_value(in);
        snprintf(out, sizeof(out), "%" JSON_INTEGER_FORMAT, x * x);
        durata_activity_complete(a, out);
    }
    json_decref(in);
}

/* Sums the results of the n finished tasks; -1 if one is not an integer. */
static long long
sum_results(struct durata_task **tasks, long n)
{
    long long sum = 0;
    long i;

    for (i = 0; i < n; i++) {
        json_t *v = json_loads(durata_task_result(tasks[i]), JSON_DECODE_ANY, NULL);
        if (!json_is_integer(v)) {
            json_decref(v);
            return -1;
        }
        sum += json_integer_value(v);
        json_decref(v);
    }
    return sum;
}

/* Orchestrator: input N; output the sum of the squares of 1..N. */
static enum durata_orch_result
sum_of_squares(struct durata_orch *o, void *arg)
{
    const char *input = durata_orch_input(o);
    long n = input ? strtol(input, NULL, 10) : 0;
    enum durata_orch_result r = DURATA_DONE;
    struct durata_task **tasks, *all;
    char text[32];
    long i;

    (void)arg;
    if (n < 1 || n > FANOUT_MAX) {
        durata_orch_fail(o, "InvalidInput", "N must be in [1, 10000]", input);
        return DURATA_DONE;
    }
    tasks = calloc((size_t)n, sizeof(*tasks));
    if (!tasks) {
        durata_orch_fail(o, "OutOfMemory", "no memory for the task list", NULL);
        return DURATA_DONE;
    }
    /* Fan out: schedule every call before waiting for any. */
    for (i = 0; i < n; i++) {
        snprintf(text, sizeof(text), "%ld", i + 1);
        tasks[i] = durata_call_activity(o, "Square", text, NULL);
    }
    /* Fan in: one task that is done when all are. */
    all = durata_when_all(o, tasks, (size_t)n);
    if (!durata_await(o, all)) {
        r = DURATA_YIELD;
    } else if (durata_task_is_failed(all)) {
        durata_orch_fail(o, "SquareFailed", durata_task_failure(all)->message, NULL);
    } else if (sum_results(tasks, n) < 0) {
        durata_orch_fail(o, "BadResult", "an activity returned a non-integer", NULL);
    } else {
        snprintf(text, sizeof(text), "%lld", sum_results(tasks, n));
        durata_orch_complete(o, text);
    }
    free(tasks); /* the tasks themselves belong to the context */
    return r;
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

/* Counts the history's events by kind and prints the totals. */
static void
print_history(struct durata_hub *hub, const char *id)
{
    struct durata_history *h = NULL;
    size_t i, scheduled = 0, completed = 0;

    if (durata_get_history(hub, id, &h) < 0) {
        printf("history: unavailable\n");
        return;
    }
    for (i = 0; i < h->count; i++) {
        scheduled += h->events[i].type == DURATA_EV_TASK_SCHEDULED;
        completed += h->events[i].type == DURATA_EV_TASK_COMPLETED;
    }
    printf("history: %zu events, %zu TaskScheduled, %zu TaskCompleted; first: %s, last: %s\n",
           h->count, scheduled, completed,
           h->count ? durata_event_type_name(h->events[0].type) : "-",
           h->count ? durata_event_type_name(h->events[h->count - 1].type) : "-");
    durata_history_free(h);
}

static long
parse_n(const char *s)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || n < 1 || n > FANOUT_MAX)
        return -1;
    return n;
}

int
main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "./example.db";
    long n = argc > 2 ? parse_n(argv[2]) : 20;
    struct durata_hub_options opts = {.store_path = path};
    struct durata_start_options start = {.name = "SumOfSquares"};
    struct durata_instance *inst = NULL;
    struct durata_hub *hub = NULL;
    long long expected;
    char id[257], input[32];
    int ok = 0, rc;

    if (n < 0) {
        fprintf(stderr, "usage: fanout [store.db] [N in 1..%d]\n", FANOUT_MAX);
        return 2;
    }
    expected = (long long)n * (n + 1) * (2 * n + 1) / 6;
    snprintf(input, sizeof(input), "%ld", n);
    start.input = input;
    setvbuf(stdout, NULL, _IOLBF, 0); /* activities print from other threads */
    remove_store(path);
    rc = durata_hub_open(&hub, &opts);
    if (rc == 0)
        rc = durata_register_orchestrator(hub, "SumOfSquares", sum_of_squares, NULL);
    if (rc == 0)
        rc = durata_register_activity(hub, "Square", square, NULL);
    if (rc == 0)
        rc = durata_hub_start(hub);
    if (rc == 0)
        rc = durata_start(hub, &start, id, sizeof(id));
    if (rc == 0) {
        printf("started instance %s: sum of squares of 1..%ld over %ld activities\n", id, n, n);
        rc = durata_wait(hub, id, 60000, &inst);
    }
    if (rc < 0) {
        fprintf(stderr, "fanout: %s\n", durata_strerror(rc));
        goto out;
    }
    printf("status: %s\noutput: %s (expected %lld)\n", durata_status_name(inst->status),
           inst->output ? inst->output : "null", expected);
    print_history(hub, id);
    ok = inst->status == DURATA_COMPLETED && inst->output &&
         strtoll(inst->output, NULL, 10) == expected;
    printf("%s\n", ok ? "OK" : "UNEXPECTED RESULT");
out:
    durata_instance_free(inst);
    durata_hub_close(hub);
    return ok ? 0 : 1;
}
