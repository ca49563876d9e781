/*
 * crash_child.c — the process that the crash test kills: it opens a hub on
 * the shared SQLite file with short leases, registers the workload, starts
 * the instances not started yet (from 4 threads, recording each durable
 * start in the acked file) and waits for every instance to finish. It may
 * be SIGKILLed at any instruction; the next child reopens the same file.
 *
 * Owns: the hub of this process, the journal and acked descriptors.
 * Threading: activities run on the hub's threads and only append to the
 * journal (O_APPEND, one write per line, fsync'd); starter threads share the
 * read-only `acked` array and append to the acked file the same way.
 */
#include "crash.h"

#include "durata.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define STARTERS 4
#define START_TRIES 50
#define CHILD_ALARM_S 170 /* the child ends itself if the parent forgot it */
#define ACTIVITY_SLEEP_US 10000

struct child {
    const struct crash_child_config *cfg;
    struct durata_hub *hub;
    int journal_fd;
    int acked_fd;
    bool *acked; /* ids acknowledged by an earlier child; read-only here */
    atomic_int failures;
};

struct starter {
    struct child *c;
    int index;
    pthread_t thread;
};

/* ------------------------------------------------------------ activities */

static void
journal_or_die(struct child *c, struct durata_activity *a)
{
    char line[CRASH_ID_SIZE + 32];
    int len = snprintf(line, sizeof(line), "%s %d\n", durata_activity_instance_id(a),
                       durata_activity_task_id(a));

    if (len <= 0 || (size_t)len >= sizeof(line) ||
        crash_append_sync(c->journal_fd, line, (size_t)len) < 0) {
        fprintf(stderr, "crash child: journal append failed: %s\n", strerror(errno));
        _exit(3); /* the parent reports a child that exits non-zero */
    }
}

static void
run_activity(struct durata_activity *a, struct child *c, long long (*fn)(long long))
{
    long long v;
    char out[32];

    if (!crash_json_integer(durata_activity_input(a), &v)) {
        durata_activity_fail(a, "BadInput", "expected an integer", NULL, true);
        return;
    }
    snprintf(out, sizeof(out), "%lld", fn(v));
    /* Some work time, so that kills find activities in flight and the
     * workload outlasts the killed rounds. */
    usleep(ACTIVITY_SLEEP_US);
    /* Recorded before the result exists anywhere: a crash after this line
     * may run the activity again, never leave a completed task unjournaled. */
    journal_or_die(c, a);
    durata_activity_complete(a, out);
}

static void
act_mix(struct durata_activity *a, void *arg)
{
    run_activity(a, arg, crash_mix);
}

static void
act_square(struct durata_activity *a, void *arg)
{
    run_activity(a, arg, crash_square);
}

/* ----------------------------------------------------------- orchestrator */

/* Reads a finished task's integer result; false after failing o. */
static bool
task_integer(struct durata_orch *o, struct durata_task *t, long long *v)
{
    if (durata_task_is_failed(t)) {
        const struct durata_failure *f = durata_task_failure(t);
        durata_orch_fail(o, "TaskFailed", f && f->message ? f->message : "?", NULL);
        return false;
    }
    if (!crash_json_integer(durata_task_result(t), v)) {
        durata_orch_fail(o, "BadResult", "an activity returned a non-integer", NULL);
        return false;
    }
    return true;
}

/* Fans out CRASH_FAN squares of v..v+4 and completes with their sum. */
static enum durata_orch_result
fan_out(struct durata_orch *o, long long k, long long v)
{
    struct durata_task *tasks[CRASH_FAN], *all;
    long long sum = 0, r;
    char text[96];

    for (int i = 0; i < CRASH_FAN; i++) {
        snprintf(text, sizeof(text), "%lld", v + i);
        tasks[i] = durata_call_activity(o, "Square", text, NULL);
    }
    all = durata_when_all(o, tasks, CRASH_FAN);
    if (!durata_await(o, all))
        return DURATA_YIELD;
    for (int i = 0; i < CRASH_FAN; i++) {
        if (!task_integer(o, tasks[i], &r))
            return DURATA_DONE;
        sum += r;
    }
    snprintf(text, sizeof(text), "{\"k\":%lld,\"seq\":%lld,\"sum\":%lld}", k, v, sum);
    durata_orch_complete(o, text);
    return DURATA_DONE;
}

static enum durata_orch_result
orch_seq_fan(struct durata_orch *o, void *arg)
{
    long long k, v;
    char text[32];

    (void)arg;
    if (!crash_json_integer(durata_orch_input(o), &k)) {
        durata_orch_fail(o, "BadInput", "expected an integer", NULL);
        return DURATA_DONE;
    }
    v = k;
    for (int i = 0; i < CRASH_SEQ; i++) {
        snprintf(text, sizeof(text), "%lld", v);
        struct durata_task *t = durata_call_activity(o, "Mix", text, NULL);
        if (!durata_await(o, t))
            return DURATA_YIELD;
        if (!task_integer(o, t, &v))
            return DURATA_DONE;
    }
    return fan_out(o, k, v);
}

/* --------------------------------------------------------------- starting */

static void
note_acked(char *line, void *arg)
{
    struct child *c = arg;
    int k = crash_parse_instance_id(line);

    if (k >= 0 && k < c->cfg->instances)
        c->acked[k] = true;
}

/* Starts instance k unless it exists; 0, or a negative DURATA_E* code. */
static int
start_one(struct child *c, int k)
{
    struct durata_start_options so = {.name = CRASH_ORCH};
    struct durata_instance *inst = NULL;
    char id[CRASH_ID_SIZE], input[16], out_id[257], line[CRASH_ID_SIZE + 2];
    int rc;

    crash_instance_id(k, id, sizeof(id));
    /* A terminal instance would be replaced by a start: never start twice. */
    rc = durata_get_status(c->hub, id, &inst);
    durata_instance_free(inst);
    if (rc != DURATA_ENOTFOUND)
        return rc;
    snprintf(input, sizeof(input), "%d", k);
    so.instance_id = id;
    so.input = input;
    rc = durata_start(c->hub, &so, out_id, sizeof(out_id));
    if (rc == DURATA_ECONFLICT)
        return 0; /* exists and runs: started by an earlier child */
    if (rc < 0)
        return rc;
    int len = snprintf(line, sizeof(line), "%s\n", id);
    if (crash_append_sync(c->acked_fd, line, (size_t)len) < 0) {
        fprintf(stderr, "crash child: acked append failed: %s\n", strerror(errno));
        _exit(3);
    }
    return 0;
}

static void *
starter_main(void *arg)
{
    struct starter *s = arg;
    struct child *c = s->c;

    for (int k = s->index; k < c->cfg->instances; k += STARTERS) {
        int rc = 0;
        if (c->acked[k])
            continue;
        for (int tries = 0; tries < START_TRIES; tries++) {
            rc = start_one(c, k);
            if (rc != DURATA_EBUSY && rc != DURATA_EOVERLOAD)
                break;
            usleep(20000);
        }
        if (rc < 0) {
            fprintf(stderr, "crash child: start %d: %s\n", k, durata_strerror(rc));
            atomic_fetch_add(&c->failures, 1);
        }
    }
    return NULL;
}

static int
start_all(struct child *c)
{
    struct starter s[STARTERS];
    int n = 0;

    for (; n < STARTERS; n++) {
        s[n] = (struct starter){.c = c, .index = n};
        if (pthread_create(&s[n].thread, NULL, starter_main, &s[n]) != 0)
            break;
    }
    for (int i = 0; i < n; i++)
        pthread_join(s[i].thread, NULL);
    return n == STARTERS && atomic_load(&c->failures) == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- running */

/* Waits for every instance to be terminal within the configured limit. */
static int
wait_all(struct child *c)
{
    long long deadline = crash_mono_ms() + c->cfg->wait_limit_ms;
    char id[CRASH_ID_SIZE];
    int bad = 0;

    for (int k = 0; k < c->cfg->instances; k++) {
        struct durata_instance *inst = NULL;
        long long left = deadline - crash_mono_ms();
        crash_instance_id(k, id, sizeof(id));
        int rc = durata_wait(c->hub, id, left > 0 ? left : 1, &inst);
        if (rc == DURATA_ENOTFOUND) {
            /* Lost, or never started: the parent's checks say which. */
            fprintf(stderr, "crash child: wait %s: %s\n", id, durata_strerror(rc));
        } else if (rc < 0) {
            fprintf(stderr, "crash child: wait %s: %s\n", id, durata_strerror(rc));
            bad++;
        }
        durata_instance_free(inst);
    }
    return bad ? -1 : 0;
}

static int
open_hub(struct child *c)
{
    struct durata_hub_options o = {
        .store_path = c->cfg->paths->db,
        .activity_lease_ms = 1000,
        .orchestration_lock_ms = 1000,
        .sweep_interval_ms = 200,
    };
    int rc = durata_hub_open(&c->hub, &o);

    if (rc == 0)
        rc = durata_register_orchestrator(c->hub, CRASH_ORCH, orch_seq_fan, c);
    if (rc == 0)
        rc = durata_register_activity(c->hub, "Mix", act_mix, c);
    if (rc == 0)
        rc = durata_register_activity(c->hub, "Square", act_square, c);
    if (rc == 0)
        rc = durata_hub_start(c->hub);
    if (rc < 0)
        fprintf(stderr, "crash child: hub: %s\n", durata_strerror(rc));
    return rc;
}

static int
open_files(struct child *c)
{
    const struct crash_paths *p = c->cfg->paths;

    c->acked = calloc((size_t)c->cfg->instances, sizeof(*c->acked));
    c->journal_fd = open(p->journal, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    c->acked_fd = open(p->acked, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (!c->acked || c->journal_fd < 0 || c->acked_fd < 0 ||
        crash_for_each_line(p->acked, note_acked, c) < 0) {
        fprintf(stderr, "crash child: cannot open the record files: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

int
crash_child_main(const struct crash_child_config *cfg)
{
    struct child c = {.cfg = cfg, .journal_fd = -1, .acked_fd = -1};
    int status = 1;

    /* Never outlive the parent, nor run forever on a hang. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        return 1;
    alarm(CHILD_ALARM_S);
    if (open_files(&c) < 0)
        goto out_close;
    if (open_hub(&c) < 0)
        goto out_close;
    if (start_all(&c) < 0)
        goto out_close;
    if (wait_all(&c) == 0)
        status = 0;
out_close:
    durata_hub_close(c.hub);
    if (c.journal_fd >= 0)
        close(c.journal_fd);
    if (c.acked_fd >= 0)
        close(c.acked_fd);
    free(c.acked);
    return status;
}
