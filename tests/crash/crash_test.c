/*
 * crash_test.c — crash safety under SIGKILL (ctest: crash_sigkill).
 *
 * The parent forks a child (crash_child.c) that opens a hub on one SQLite
 * file and runs N instances of a 3-step sequence plus a 5-way fan-out. It
 * SIGKILLs the child after a random 50-400 ms, several times, each new child
 * reopening the same file; then a last child runs until every instance is
 * finished. The parent then opens the store itself (no worker threads) and
 * checks that:
 *  - every instance acknowledged as started exists and is Completed with
 *    exactly the expected output (nothing lost), and so is every other one;
 *  - each history has one ExecutionStarted, one ExecutionCompleted, no
 *    duplicated TaskScheduled event id, and exactly one TaskCompleted per
 *    scheduled task (no step applied twice);
 *  - every scheduled task of every instance is in the journal at least once
 *    (ran at least once), and the journal names no unknown task.
 * It prints one summary line, with the redeliveries seen (journal lines
 * beyond one per task). Children die with the parent (PR_SET_PDEATHSIG) and
 * are killed by PID when they overrun their time.
 *
 * Usage: crash_test [rounds [instances]]  (defaults 7 and 300; the seed is
 * random, or CRASH_SEED=<n> to replay one).
 * Threading: the parent is single-threaded (it forks).
 */
#include "crash.h"

#include "durata.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_ROUNDS 7
#define DEFAULT_INSTANCES 300
#define KILL_MIN_MS 50
#define KILL_MAX_MS 400
#define KILL_EARLY_MS 120
#define FINAL_WAIT_MS 100000 /* the last child's budget to finish everything */
#define FINAL_KILL_MS 120000 /* the parent kills the last child after this */
#define MAX_TASK_ID 64       /* task ids are event ids of a short history */

struct tally {
    int instances;
    bool *acked;               /* [instances] */
    int (*sched)[CRASH_TASKS]; /* [instances]: scheduled task ids */
    int (*runs)[CRASH_TASKS];  /* [instances]: journal lines per task */
    int n_acked, unacked_found, journal_lines, bad_journal_lines;
    int failures;
};

/* ---------------------------------------------------------------- helpers */

/* Reports a failed check about instance id (the first 20 are printed). */
static int __attribute__((format(printf, 3, 4)))
fail(struct tally *t, const char *id, const char *fmt, ...)
{
    va_list ap;

    if (t->failures++ < 20) {
        fprintf(stderr, "crash_sigkill: FAIL %s: ", id);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    return -1;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int
setup_paths(struct crash_paths *p)
{
    const char *base = getenv("DURATA_TEST_TMP");

    if (!base || !*base)
        base = "/tmp";
    snprintf(p->dir, sizeof(p->dir), "%s/crash-XXXXXX", base);
    if (!mkdtemp(p->dir)) {
        fprintf(stderr, "crash_sigkill: mkdtemp %s: %s\n", p->dir, strerror(errno));
        return -1;
    }
    snprintf(p->db, sizeof(p->db), "%s/store.db", p->dir);
    snprintf(p->journal, sizeof(p->journal), "%s/journal.txt", p->dir);
    snprintf(p->acked, sizeof(p->acked), "%s/acked.txt", p->dir);
    return 0;
}

static void
remove_paths(const struct crash_paths *p)
{
    const char *sides[] = {"", "-wal", "-shm", "-journal"};
    char path[700];

    for (size_t i = 0; i < sizeof(sides) / sizeof(*sides); i++) {
        snprintf(path, sizeof(path), "%s%s", p->db, sides[i]);
        unlink(path);
    }
    unlink(p->journal);
    unlink(p->acked);
    rmdir(p->dir);
}

/* ---------------------------------------------------------------- children */

static pid_t
spawn_child(const struct crash_child_config *cfg)
{
    fflush(NULL); /* buffered output must not be written twice */
    pid_t pid = fork();
    if (pid == 0) /* exit, not _exit: a leak checker runs at exit in the child too */
        exit(crash_child_main(cfg));
    if (pid < 0)
        fprintf(stderr, "crash_sigkill: fork: %s\n", strerror(errno));
    return pid;
}

/* Waits up to ms for pid to exit; then kills it by PID. Returns the wait
 * status, with *killed telling whether the kill was needed. */
static int
reap_after(pid_t pid, long ms, bool *killed)
{
    long long deadline = crash_mono_ms() + ms;
    int status = 0;

    *killed = false;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        if (crash_mono_ms() >= deadline)
            break;
        sleep_ms(2);
    }
    kill(pid, SIGKILL);
    *killed = true;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

static bool
exited_ok(int status)
{
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void
count_line(char *line, void *arg)
{
    (void)line;
    (*(int *)arg)++;
}

static int
count_lines(const char *path)
{
    int n = 0;

    return crash_for_each_line(path, count_line, &n) == 0 ? n : -1;
}

/* The killed rounds; returns the number of kills, or -1 on a child error. */
static int
kill_rounds(const struct crash_child_config *cfg, int rounds)
{
    int kills = 0;

    for (int r = 1; r <= rounds; r++) {
        /* The first kill lands early (50-120 ms), while instances are still
         * being started; the others anywhere in 50-400 ms. */
        long span = r == 1 ? KILL_EARLY_MS - KILL_MIN_MS : KILL_MAX_MS - KILL_MIN_MS;
        long delay = KILL_MIN_MS + rand() % (span + 1);
        bool killed;
        pid_t pid = spawn_child(cfg);
        if (pid < 0)
            return -1;
        int status = reap_after(pid, delay, &killed);
        if (killed) {
            kills++;
            printf("crash_sigkill: round %d: SIGKILL after %ld ms (%d acked starts, %d "
                   "activity runs so far)\n",
                   r, delay, count_lines(cfg->paths->acked), count_lines(cfg->paths->journal));
        } else if (exited_ok(status)) {
            printf("crash_sigkill: round %d: child finished before its kill at %ld ms\n", r, delay);
        } else {
            fprintf(stderr, "crash_sigkill: round %d: child failed (status 0x%x)\n", r, status);
            return -1;
        }
    }
    return kills;
}

static int
final_round(const struct crash_child_config *cfg)
{
    bool killed;
    long long t0 = crash_mono_ms();
    pid_t pid = spawn_child(cfg);

    if (pid < 0)
        return -1;
    int status = reap_after(pid, FINAL_KILL_MS, &killed);
    if (killed || !exited_ok(status)) {
        fprintf(stderr, "crash_sigkill: final child %s (status 0x%x)\n",
                killed ? "overran its time and was killed" : "failed", status);
        return -1;
    }
    printf("crash_sigkill: final child finished everything in %lld ms\n", crash_mono_ms() - t0);
    return 0;
}

/* ------------------------------------------------------------ verification */

static void
note_acked(char *line, void *arg)
{
    struct tally *t = arg;
    int k = crash_parse_instance_id(line);

    if (k >= 0 && k < t->instances && !t->acked[k]) {
        t->acked[k] = true;
        t->n_acked++;
    }
}

/* Checks status and output of instance k; DURATA_ENOTFOUND when missing. */
static int
check_state(struct durata_hub *hub, struct tally *t, int k, const char *id)
{
    struct durata_instance *inst = NULL;
    char expected[128];
    int rc = durata_get_status(hub, id, &inst), ret = -1;

    if (rc == DURATA_ENOTFOUND) {
        fail(t, id, "%s", t->acked[k] ? "LOST: acknowledged start, no instance" : "never started");
        return DURATA_ENOTFOUND;
    }
    if (rc < 0)
        return fail(t, id, "get_status: %s", durata_strerror(rc));
    if (!t->acked[k])
        t->unacked_found++;
    crash_expected_output(k, expected, sizeof(expected));
    json_t *want = json_loads(expected, 0, NULL);
    json_t *got = inst->output ? json_loads(inst->output, JSON_DECODE_ANY, NULL) : NULL;
    if (inst->status != DURATA_COMPLETED)
        fail(t, id, "status %s, want Completed", durata_status_name(inst->status));
    else if (!json_equal(want, got))
        fail(t, id, "output %s, want %s", inst->output ? inst->output : "null", expected);
    else
        ret = 0;
    json_decref(want);
    json_decref(got);
    durata_instance_free(inst);
    return ret;
}

/* Index of task id in the instance's scheduled list, or -1. */
static int
sched_index(const struct tally *t, int k, int task_id, int n)
{
    for (int i = 0; i < n; i++)
        if (t->sched[k][i] == task_id)
            return i;
    return -1;
}

static int
completed_task_id(const struct durata_event *e)
{
    json_t *o = json_loads(e->json, 0, NULL);
    json_t *v = json_object_get(o, "TaskScheduledId");
    int id = json_is_integer(v) ? (int)json_integer_value(v) : -1;

    json_decref(o);
    return id;
}

/* Checks one event of instance k; n counts scheduled tasks so far, and
 * done[] TaskCompleted per scheduled index. */
static int
check_event(struct tally *t, int k, const char *id, const struct durata_event *e, int *n,
            int done[CRASH_TASKS])
{
    int i;

    switch (e->type) {
    case DURATA_EV_TASK_SCHEDULED:
        if (sched_index(t, k, e->event_id, *n) >= 0)
            return fail(t, id, "TaskScheduled event id %d appears twice", e->event_id);
        if (*n == CRASH_TASKS)
            return fail(t, id, "more than %d TaskScheduled events", CRASH_TASKS);
        t->sched[k][(*n)++] = e->event_id;
        return 0;
    case DURATA_EV_TASK_COMPLETED:
        i = sched_index(t, k, completed_task_id(e), *n);
        if (i < 0)
            return fail(t, id, "TaskCompleted for an unscheduled task: %s", e->json);
        if (++done[i] > 1)
            return fail(t, id, "TaskCompleted applied twice: %s", e->json);
        return 0;
    case DURATA_EV_TASK_FAILED:
        return fail(t, id, "TaskFailed: %s", e->json);
    default:
        return 0;
    }
}

/* Checks the history of instance k and records its scheduled task ids. */
static int
check_history(struct durata_hub *hub, struct tally *t, int k, const char *id)
{
    struct durata_history *h = NULL;
    int n = 0, done[CRASH_TASKS] = {0}, started = 0, finished = 0, bad = 0;
    int rc = durata_get_history(hub, id, &h);

    if (rc < 0)
        return fail(t, id, "get_history: %s", durata_strerror(rc));
    for (size_t i = 0; i < h->count; i++) {
        started += h->events[i].type == DURATA_EV_EXECUTION_STARTED;
        finished += h->events[i].type == DURATA_EV_EXECUTION_COMPLETED;
        bad |= check_event(t, k, id, &h->events[i], &n, done);
    }
    durata_history_free(h);
    if (bad)
        return -1;
    if (started != 1 || finished != 1)
        return fail(t, id, "%d ExecutionStarted and %d ExecutionCompleted, want 1 and 1", started,
                    finished);
    if (n != CRASH_TASKS)
        return fail(t, id, "history schedules %d tasks, want %d", n, CRASH_TASKS);
    for (int i = 0; i < CRASH_TASKS; i++)
        if (done[i] != 1)
            return fail(t, id, "task %d has %d TaskCompleted, want 1", t->sched[k][i], done[i]);
    return 0;
}

static void
note_journal(char *line, void *arg)
{
    struct tally *t = arg;
    char *space = strchr(line, ' '), *end;
    int k, i;
    long task;

    t->journal_lines++;
    if (!space)
        goto out_bad;
    *space = '\0';
    k = crash_parse_instance_id(line);
    errno = 0;
    task = strtol(space + 1, &end, 10);
    if (k < 0 || k >= t->instances || errno || *end || task < 0 || task > MAX_TASK_ID)
        goto out_bad;
    i = sched_index(t, k, (int)task, CRASH_TASKS);
    if (i < 0)
        goto out_bad;
    t->runs[k][i]++;
    return;
out_bad:
    if (t->bad_journal_lines++ < 5)
        fprintf(stderr, "crash_sigkill: FAIL journal line names no scheduled task: %s\n", line);
}

/* Every scheduled task ran at least once; returns the executions total. */
static int
check_journal(struct tally *t, const struct crash_paths *p)
{
    char id[CRASH_ID_SIZE];

    if (crash_for_each_line(p->journal, note_journal, t) < 0) {
        fprintf(stderr, "crash_sigkill: cannot read %s\n", p->journal);
        return -1;
    }
    if (t->bad_journal_lines)
        t->failures++;
    for (int k = 0; k < t->instances; k++) {
        crash_instance_id(k, id, sizeof(id));
        for (int i = 0; i < CRASH_TASKS; i++)
            if (t->sched[k][i] >= 0 && t->runs[k][i] == 0)
                fail(t, id, "task %d never ran (not in the journal)", t->sched[k][i]);
    }
    return 0;
}

static int
verify(const struct crash_paths *p, struct tally *t)
{
    struct durata_hub_options o = {.store_path = p->db};
    struct durata_hub *hub = NULL;
    char id[CRASH_ID_SIZE];
    int rc = durata_hub_open(&hub, &o);

    if (rc < 0) {
        fprintf(stderr, "crash_sigkill: reopen for checks: %s\n", durata_strerror(rc));
        return -1;
    }
    if (crash_for_each_line(p->acked, note_acked, t) < 0)
        t->failures++;
    for (int k = 0; k < t->instances; k++) {
        crash_instance_id(k, id, sizeof(id));
        if (check_state(hub, t, k, id) != DURATA_ENOTFOUND)
            (void)check_history(hub, t, k, id);
    }
    durata_hub_close(hub);
    check_journal(t, p);
    return t->failures ? -1 : 0;
}

/* -------------------------------------------------------------------- main */

static int
parse_arg(const char *s, int lo, int hi, int dflt)
{
    char *end;
    long v;

    if (!s)
        return dflt;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi)
        return -1;
    return (int)v;
}

static int
tally_init(struct tally *t, int instances)
{
    *t = (struct tally){.instances = instances};
    t->acked = calloc((size_t)instances, sizeof(*t->acked));
    t->sched = calloc((size_t)instances, sizeof(*t->sched));
    t->runs = calloc((size_t)instances, sizeof(*t->runs));
    if (!t->acked || !t->sched || !t->runs)
        return -1;
    for (int k = 0; k < instances; k++)
        for (int i = 0; i < CRASH_TASKS; i++)
            t->sched[k][i] = -1;
    return 0;
}

static void
tally_release(struct tally *t)
{
    free(t->acked);
    free(t->sched);
    free(t->runs);
}

static unsigned
pick_seed(void)
{
    const char *s = getenv("CRASH_SEED");
    char *end;

    if (s && *s) {
        unsigned long v = strtoul(s, &end, 10);
        if (*end == '\0')
            return (unsigned)v;
    }
    return (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
}

static void
print_summary(const struct tally *t, unsigned seed, int rounds, int kills, long long ms)
{
    int tasks = t->instances * CRASH_TASKS, runs = 0;

    for (int k = 0; k < t->instances; k++)
        for (int i = 0; i < CRASH_TASKS; i++)
            runs += t->runs[k][i];
    printf("crash_sigkill: %s seed=%u rounds=%d kills=%d instances=%d acked=%d "
           "started-unacked=%d tasks=%d executions=%d redeliveries=%d elapsed=%.1fs\n",
           t->failures ? "FAIL" : "PASS", seed, rounds, kills, t->instances, t->n_acked,
           t->unacked_found, tasks, runs, runs - tasks, (double)ms / 1000.0);
}

int
main(int argc, char **argv)
{
    int rounds = parse_arg(argc > 1 ? argv[1] : NULL, 0, 100, DEFAULT_ROUNDS);
    int instances = parse_arg(argc > 2 ? argv[2] : NULL, 1, 100000, DEFAULT_INSTANCES);
    long long t0 = crash_mono_ms();
    unsigned seed = pick_seed();
    struct crash_paths paths;
    struct tally t;
    int kills = 0, ok = 0;

    if (rounds < 0 || instances < 0) {
        fprintf(stderr, "usage: crash_test [rounds 0..100 [instances 1..100000]]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    srand(seed);
    if (tally_init(&t, instances) < 0 || setup_paths(&paths) < 0)
        goto out_release;
    printf("crash_sigkill: seed=%u store=%s\n", seed, paths.db);
    struct crash_child_config cfg = {&paths, instances, FINAL_WAIT_MS};
    /* Whatever went wrong, no child runs past this point: check the store
     * anyway, its state explains most failures. */
    if ((kills = kill_rounds(&cfg, rounds)) < 0 || final_round(&cfg) < 0) {
        kills = kills < 0 ? 0 : kills;
        t.failures++;
    }
    if (verify(&paths, &t) == 0)
        ok = 1;
    print_summary(&t, seed, rounds, kills, crash_mono_ms() - t0);
    if (ok)
        remove_paths(&paths);
    else
        fprintf(stderr, "crash_sigkill: files kept in %s\n", paths.dir);
out_release:
    tally_release(&t);
    return ok ? 0 : 1;
}
