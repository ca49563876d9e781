/*
 * command.c — struct dt_command, its concurrency slots, turning a finished
 * run into an outcome, and the activity dt_command_handler (see command.h).
 * Starting the process and the I/O loop live in command_run.c.
 *
 * Slots: a counting semaphore (mu, cv, running). A waiter wakes at least
 * every DT_COMMAND_TICK_MS to ask its watcher whether to give up, and asks
 * it without holding mu (a watcher may read the store).
 * Threading: see command.h.
 */
#include "workers/command_impl.h"

#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define COMMAND_STATUS_CHECK_MS 1000 /* how often a running job's status is read */

/* ------------------------------------------------------------ the command */

static void
argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}

static char **
argv_copy(const char *const *argv)
{
    size_t n = 0;
    char **copy;

    while (argv[n])
        n++;
    if (n == 0 || n > DT_COMMAND_MAX_ARGS || !argv[0][0])
        return NULL;
    copy = calloc(n + 1, sizeof(*copy));
    for (size_t i = 0; copy && i < n; i++) {
        copy[i] = strdup(argv[i]);
        if (!copy[i]) {
            argv_free(copy);
            copy = NULL;
        }
    }
    return copy;
}

static bool
options_are_valid(const struct dt_command_options *o)
{
    return o->timeout_ms >= 0 && o->kill_grace_ms >= 0 &&
           o->concurrency <= DT_COMMAND_MAX_CONCURRENCY;
}

static int
command_sync_init(struct dt_command *c)
{
    pthread_condattr_t ca;
    int rc;

    if (pthread_condattr_init(&ca) != 0)
        return DURATA_ENOMEM;
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return DURATA_ENOMEM;
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        pthread_cond_destroy(&c->cv);
        return DURATA_ENOMEM;
    }
    return 0;
}

int
dt_command_new(struct dt_command **out, const char *const *argv, const struct dt_command_options *o)
{
    static const struct dt_command_options defaults = {0};
    struct dt_command *c;

    *out = NULL;
    if (!o)
        o = &defaults;
    if (!argv || !argv[0] || !argv[0][0] || !options_are_valid(o))
        return DURATA_EINVAL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return DURATA_ENOMEM;
    c->opt = *o;
    if (!c->opt.max_output_bytes)
        c->opt.max_output_bytes = DT_COMMAND_MAX_OUTPUT;
    if (!c->opt.kill_grace_ms)
        c->opt.kill_grace_ms = DT_COMMAND_KILL_GRACE_MS;
    c->argv = argv_copy(argv);
    if (!c->argv)
        goto out_free;
    if (command_sync_init(c) < 0)
        goto out_argv;
    *out = c;
    return 0;
out_argv:
    argv_free(c->argv);
out_free:
    free(c);
    return DURATA_ENOMEM;
}

void
dt_command_free(struct dt_command *c)
{
    if (!c)
        return;
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    argv_free(c->argv);
    free(c);
}

const char *
dt_command_program(const struct dt_command *c)
{
    return c->argv[0];
}

/* ------------------------------------------------------------ slots */

enum dt_command_verdict
dt_command_slot_acquire(struct dt_command *c, dt_command_watch_fn watch, void *arg)
{
    enum dt_command_verdict v;
    struct timespec ts;

    if (!c->opt.concurrency)
        return DT_COMMAND_GO;
    pthread_mutex_lock(&c->mu);
    while (c->running >= c->opt.concurrency) {
        pthread_mutex_unlock(&c->mu);
        v = watch ? watch(arg) : DT_COMMAND_GO;
        if (v != DT_COMMAND_GO)
            return v;
        pthread_mutex_lock(&c->mu);
        if (c->running < c->opt.concurrency)
            break;
        dt_clock_deadline(CLOCK_MONOTONIC, DT_COMMAND_TICK_MS, &ts);
        pthread_cond_timedwait(&c->cv, &c->mu, &ts);
    }
    c->running++;
    pthread_mutex_unlock(&c->mu);
    return DT_COMMAND_GO;
}

void
dt_command_slot_release(struct dt_command *c)
{
    if (!c->opt.concurrency)
        return;
    pthread_mutex_lock(&c->mu);
    c->running--;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* ------------------------------------------------------------ outcomes */

void
dt_command_outcome_release(struct dt_command_outcome *o)
{
    if (!o)
        return;
    free(o->output);
    free(o->failure.error_type);
    free(o->failure.message);
    free(o->failure.details);
    memset(o, 0, sizeof(*o));
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t
utf8_seq_len(const unsigned char *p, size_t n)
{
    size_t len = p[0] < 0x80                    ? 1
                 : p[0] >= 0xC2 && p[0] <= 0xDF ? 2
                 : (p[0] & 0xF0) == 0xE0        ? 3
                 : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4
                                                : 0;

    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if (len == 3 && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0)))
        return 0; /* overlong, or a UTF-16 surrogate */
    if (len == 4 && ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90)))
        return 0; /* overlong, or past U+10FFFF */
    return len;
}

char *
dt_command_text_clean(const char *text, size_t n)
{
    const unsigned char *p = (const unsigned char *)text;
    char *out = malloc(n + 1);
    size_t i = 0, o = 0, len;

    if (!out)
        return NULL;
    while (i < n && (p[i] & 0xC0) == 0x80) /* a tail may start mid-character */
        i++;
    while (i < n) {
        len = p[i] ? utf8_seq_len(p + i, n - i) : 0;
        if (len == 0) {
            out[o++] = '?';
            i++;
            continue;
        }
        memcpy(out + o, p + i, len);
        o += len;
        i += len;
    }
    out[o] = '\0';
    return out;
}

int
dt_command_outcome_fail(struct dt_command_outcome *o, const char *type, const char *message,
                        const char *details, bool non_retriable)
{
    o->failed = true;
    o->failure.non_retriable = non_retriable;
    o->failure.error_type = strdup(type);
    o->failure.message = strdup(message);
    o->failure.details = details && *details ? strdup(details) : NULL;
    if (!o->failure.error_type || !o->failure.message ||
        (details && *details && !o->failure.details))
        return DURATA_ENOMEM;
    return 0;
}

/* The failure when the process ended badly, per its wait status; 1 when
 * it exited with 0 (not a failure). */
static int
outcome_from_status(struct dt_command_outcome *o, const struct dt_command_ending *e,
                    const char *details)
{
    char msg[160];
    const char *abbrev;

    if (!e->status_known)
        return dt_command_outcome_fail(o, "CommandFailed",
                                       "the command's exit status was lost (reaped elsewhere)",
                                       details, false);
    if (WIFSIGNALED(e->wstatus)) {
        abbrev = sigabbrev_np(WTERMSIG(e->wstatus));
        snprintf(msg, sizeof(msg), "the command was killed by signal %d (SIG%s)",
                 WTERMSIG(e->wstatus), abbrev ? abbrev : "?");
        return dt_command_outcome_fail(o, "CommandKilled", msg, details, false);
    }
    if (WIFEXITED(e->wstatus) && WEXITSTATUS(e->wstatus) != 0) {
        snprintf(msg, sizeof(msg), "the command exited with code %d", WEXITSTATUS(e->wstatus));
        return dt_command_outcome_fail(o, "CommandFailed", msg, details, false);
    }
    return 1;
}

/* The failure for a run cut short, if it was; 1 when it was not. */
static int
outcome_from_cut(struct dt_command_outcome *o, const struct dt_command_ending *e,
                 const struct dt_command *c, const char *details)
{
    char msg[200];

    switch (e->cut) {
    case DT_CUT_NONE:
    case DT_CUT_STRAYS:
        return 1;
    case DT_CUT_INTERRUPT:
        return dt_command_outcome_fail(
            o, "Interrupted", "the worker stopped before the job finished; it will run again",
            details, false);
    case DT_CUT_CANCEL:
        return dt_command_outcome_fail(o, "Cancelled",
                                       "the job ended while its command ran; the command was "
                                       "stopped",
                                       details, true);
    case DT_CUT_TIMEOUT:
        snprintf(msg, sizeof(msg),
                 "the command timed out after %lld ms; its process group was killed",
                 (long long)c->opt.timeout_ms);
        return dt_command_outcome_fail(o, "CommandTimedOut", msg, details, false);
    case DT_CUT_OVERFLOW:
        snprintf(msg, sizeof(msg), "the command wrote more than %zu bytes on stdout",
                 c->opt.max_output_bytes);
        return dt_command_outcome_fail(o, "OutputTooLarge", msg, details, false);
    case DT_CUT_NOMEM:
        return dt_command_outcome_fail(
            o, "OutOfMemory", "out of memory reading the command's output", details, false);
    }
    return 1;
}

static bool
is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return false;
    return true;
}

/* Success with stdout as the result, or InvalidOutput. */
static int
outcome_from_stdout(struct dt_command_outcome *o, const char *out, size_t len, const char *details)
{
    char msg[300];
    json_error_t err;
    json_t *v;

    if (is_blank(out, len))
        return 0; /* no output: the result is null */
    v = json_loadb(out, len, JSON_DECODE_ANY, &err);
    if (!v) {
        snprintf(msg, sizeof(msg), "the command's stdout is not JSON: %s (line %d, column %d)",
                 err.text, err.line, err.column);
        return dt_command_outcome_fail(o, "InvalidOutput", msg, details, false);
    }
    o->output = dt_json_text(v);
    json_decref(v);
    if (!o->output)
        return DURATA_ENOMEM;
    if (dt_json_check(o->output, 0) < 0) {
        free(o->output);
        o->output = NULL;
        snprintf(msg, sizeof(msg), "the command's stdout nests deeper than %d levels",
                 DT_JSON_MAX_DEPTH);
        return dt_command_outcome_fail(o, "InvalidOutput", msg, details, false);
    }
    return 0;
}

int
dt_command_outcome_build(struct dt_command_outcome *o, const struct dt_command *c,
                         const struct dt_command_ending *e)
{
    char *details = dt_command_text_clean(e->tail, e->tail_len);
    int rc;

    if (!details)
        return DURATA_ENOMEM;
    rc = outcome_from_cut(o, e, c, details);
    if (rc == 1)
        rc = outcome_from_status(o, e, details);
    if (rc == 1)
        rc = outcome_from_stdout(o, e->out, e->out_len, details);
    free(details);
    return rc;
}

/* ------------------------------------------------------------ the activity */

struct act_watch {
    struct durata_activity *a;
    struct durata_hub *hub;
    int64_t next_check_ms;
};

/* Interrupted when the hub stops (or the lease is lost); cancelled when
 * the job's instance has ended or is gone (read at most once a second). */
static enum dt_command_verdict
act_watch_fn(void *arg)
{
    struct act_watch *w = arg;
    struct durata_instance *inst = NULL;
    int64_t now;
    int rc;

    if (durata_activity_is_cancelled(w->a))
        return DT_COMMAND_INTERRUPT;
    if (!w->hub)
        return DT_COMMAND_GO;
    now = dt_clock_mono_ms();
    if (now < w->next_check_ms)
        return DT_COMMAND_GO;
    w->next_check_ms = now + COMMAND_STATUS_CHECK_MS;
    rc = durata_get_status(w->hub, durata_activity_instance_id(w->a), &inst);
    if (rc == DURATA_ENOTFOUND || (rc == 0 && durata_status_is_terminal(inst->status))) {
        durata_instance_free(inst);
        return DT_COMMAND_CANCEL;
    }
    durata_instance_free(inst);
    return DT_COMMAND_GO;
}

/* The job's environment, from the handler's input (job_id, attempt,
 * job_type) with the activity's own facts as fallbacks. */
struct act_env {
    char id[320];
    char attempt[48];
    char type[200];
    const char *vars[4];
};

static void
act_env_init(struct act_env *env, struct durata_activity *a)
{
    const char *text = durata_activity_input(a);
    json_t *in = text ? json_loads(text, 0, NULL) : NULL;
    const json_t *id = json_object_get(in, "job_id");
    const json_t *k = json_object_get(in, "attempt");
    const json_t *t = json_object_get(in, "job_type");
    const char *name = durata_activity_name(a);

    if (strncmp(name, "job:", 4) == 0)
        name += 4;
    snprintf(env->id, sizeof(env->id), "DURATA_JOB_ID=%s",
             json_is_string(id) ? json_string_value(id) : durata_activity_instance_id(a));
    snprintf(env->attempt, sizeof(env->attempt), "DURATA_ATTEMPT=%lld",
             json_is_integer(k) ? (long long)json_integer_value(k)
                                : (long long)durata_activity_delivery(a));
    snprintf(env->type, sizeof(env->type), "DURATA_JOB_TYPE=%s",
             json_is_string(t) ? json_string_value(t) : name);
    env->vars[0] = env->id;
    env->vars[1] = env->attempt;
    env->vars[2] = env->type;
    env->vars[3] = NULL;
    json_decref(in);
}

static void
act_report(struct durata_activity *a, const struct act_env *env, const struct dt_command_outcome *o)
{
    const struct durata_failure *f = &o->failure;
    bool quiet =
        strcmp(f->error_type, "Interrupted") == 0 || strcmp(f->error_type, "Cancelled") == 0;

    dt_log(quiet ? DT_LOG_INFO : DT_LOG_WARN, "job command failed", "instanceId",
           durata_activity_instance_id(a), "job_type", env->type + strlen("DURATA_JOB_TYPE="),
           "errorType", f->error_type, "reason", f->message, NULL);
    durata_activity_fail(a, f->error_type, f->message, f->details, f->non_retriable);
}

void
dt_command_handler(struct durata_activity *a, void *arg)
{
    struct dt_command *c = arg;
    struct act_watch w = {.a = a, .hub = c->opt.hub};
    struct dt_command_outcome o;
    const char *input = durata_activity_input(a);
    struct act_env env;
    int rc;

    if (!input)
        input = "null";
    act_env_init(&env, a);
    w.next_check_ms = dt_clock_mono_ms() + COMMAND_STATUS_CHECK_MS;
    rc = dt_command_run(c, input, strlen(input), env.vars, act_watch_fn, &w, &o);
    if (rc < 0) {
        durata_activity_fail(a, rc == DURATA_ENOMEM ? "OutOfMemory" : "SpawnFailed",
                             rc == DURATA_ENOMEM ? "out of memory starting the command"
                                                 : "could not make pipes for the command",
                             dt_command_program(c), false);
        return;
    }
    if (o.failed)
        act_report(a, &env, &o);
    else
        durata_activity_complete(a, o.output);
    dt_command_outcome_release(&o);
}
