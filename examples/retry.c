/*
 * retry.c — automatic retries: a flaky activity fails its first two
 * attempts; a retry policy (first interval 100 ms, doubling) calls it again
 * until it succeeds.
 *
 * Run:  ./retry [store.db]         (default ./example.db, deleted first)
 * Exit: 0 when the instance completes after exactly 3 attempts.
 *
 * The replay model: the orchestrator is called again from the top at each
 * step, with the history recorded so far. It makes one call,
 * durata_call_activity(..., &policy), and awaits one task; behind that task
 * the runtime records each failed attempt, a durable timer for the pause
 * (100 ms, then 200 ms), and the next attempt. The orchestrator only sees
 * the final outcome: the first success, or the last failure once the policy
 * gives up. Since the pauses are durable timers, a retry survives a restart
 * of the process.
 *
 * The activity counts its attempts per instance in state passed as its
 * `arg` at registration. Activities run on several threads at once, so
 * that state is guarded by a mutex.
 */
#include <durata.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FAILURES_BEFORE_SUCCESS 2
#define MAX_TRACKED 16

/* Attempts per instance id, shared by the activity's threads. */
struct attempts {
    pthread_mutex_t lock; /* guards the fields below */
    struct {
        char id[257];
        int count;
    } slot[MAX_TRACKED];
    int used;
    struct timespec t0; /* when main started, for printing */
};

/* Counts one more attempt for instance `id`; returns the new count, or -1
 * when the table is full. */
static int
attempts_bump(struct attempts *at, const char *id)
{
    int i, n = -1;

    pthread_mutex_lock(&at->lock);
    for (i = 0; i < at->used && strcmp(at->slot[i].id, id) != 0; i++)
        ;
    if (i == at->used && at->used < MAX_TRACKED) {
        snprintf(at->slot[i].id, sizeof(at->slot[i].id), "%s", id);
        at->slot[i].count = 0;
        at->used++;
    }
    if (i < at->used)
        n = ++at->slot[i].count;
    pthread_mutex_unlock(&at->lock);
    return n;
}

static int
attempts_get(struct attempts *at, const char *id)
{
    int i, n = 0;

    pthread_mutex_lock(&at->lock);
    for (i = 0; i < at->used; i++) {
        if (strcmp(at->slot[i].id, id) == 0)
            n = at->slot[i].count;
    }
    pthread_mutex_unlock(&at->lock);
    return n;
}

static long
elapsed_ms(const struct timespec *t0)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t0->tv_sec) * 1000L + (now.tv_nsec - t0->tv_nsec) / 1000000L;
}

/* Activity: fails the first FAILURES_BEFORE_SUCCESS attempts of each
 * instance, then succeeds. */
static void
flaky_charge(struct durata_activity *a, void *arg)
{
    struct attempts *at = arg;
    int n = attempts_bump(at, durata_activity_instance_id(a));

    if (n < 0) {
        durata_activity_fail(a, "TooManyInstances", "attempt table full", NULL, true);
        return;
    }
    if (n <= FAILURES_BEFORE_SUCCESS) {
        printf("  attempt %d at +%ld ms: payment gateway timed out -> fail (retriable)\n", n,
               elapsed_ms(&at->t0));
        durata_activity_fail(a, "GatewayTimeout", "the payment gateway did not answer", NULL,
                             false);
        return;
    }
    printf("  attempt %d at +%ld ms: charged -> success\n", n, elapsed_ms(&at->t0));
    durata_activity_complete(a, "\"charged\"");
}

/* Orchestrator: one call, retried by policy. */
static enum durata_orch_result
charge_with_retry(struct durata_orch *o, void *arg)
{
    const struct durata_retry_policy policy = {
        .max_attempts = 5,          /* the first try counts */
        .first_interval_ms = 100,   /* wait 100 ms before attempt 2 */
        .backoff_coefficient = 2.0, /* then 200 ms before attempt 3, ... */
    };
    struct durata_task *t;

    (void)arg;
    t = durata_call_activity(o, "FlakyCharge", durata_orch_input(o), &policy);
    if (!durata_await(o, t))
        return DURATA_YIELD;
    if (durata_task_is_failed(t)) {
        const struct durata_failure *f = durata_task_failure(t);
        durata_orch_fail(o, f->error_type, f->message, "gave up after 5 attempts");
        return DURATA_DONE;
    }
    durata_orch_complete(o, durata_task_result(t));
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
    struct durata_hub_options opts = {.store_path = path};
    struct durata_start_options start = {.name = "ChargeWithRetry", .input = "{\"amount\":42}"};
    struct attempts at = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct durata_instance *inst = NULL;
    struct durata_hub *hub = NULL;
    int ok = 0, rc, n = 0;
    char id[257];

    setvbuf(stdout, NULL, _IOLBF, 0);
    clock_gettime(CLOCK_MONOTONIC, &at.t0);
    remove_store(path);
    rc = durata_hub_open(&hub, &opts);
    if (rc == 0)
        rc = durata_register_orchestrator(hub, "ChargeWithRetry", charge_with_retry, NULL);
    if (rc == 0)
        rc = durata_register_activity(hub, "FlakyCharge", flaky_charge, &at);
    if (rc == 0)
        rc = durata_hub_start(hub);
    if (rc == 0)
        rc = durata_start(hub, &start, id, sizeof(id));
    if (rc == 0) {
        printf("started instance %s\n", id);
        rc = durata_wait(hub, id, 30000, &inst);
    }
    if (rc < 0) {
        fprintf(stderr, "retry: %s\n", durata_strerror(rc));
        goto out;
    }
    n = attempts_get(&at, id);
    printf("status: %s, output: %s, attempts: %d\n", durata_status_name(inst->status),
           inst->output ? inst->output : "null", n);
    print_history(hub, id);
    ok = inst->status == DURATA_COMPLETED && inst->output &&
         strcmp(inst->output, "\"charged\"") == 0 && n == FAILURES_BEFORE_SUCCESS + 1;
    printf("%s\n", ok ? "OK" : "UNEXPECTED RESULT");
out:
    durata_instance_free(inst);
    durata_hub_close(hub);
    pthread_mutex_destroy(&at.lock);
    return ok ? 0 : 1;
}
