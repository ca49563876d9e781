/*
 * command.h — command-backed job handlers: a job type whose handler is a
 * program, run without a shell.
 *
 * Owns: running one command per job attempt. The program (argv[0], looked
 * up in PATH when it has no '/') runs in its own process group with the
 * job's JSON on stdin ({"job_id","job_type","customer_id","payload",
 * "attempt"} followed by a newline) and DURATA_JOB_ID, DURATA_ATTEMPT and
 * DURATA_JOB_TYPE added to the server's environment. Its stdout (at most
 * max_output_bytes) is the result: one JSON value, or nothing (whitespace
 * only), which is the result null. Everything else is a failure whose
 * details are the last DT_COMMAND_TAIL_BYTES of stderr:
 *   CommandFailed    the program exited with a non-zero code
 *   CommandKilled    a signal ended it
 *   CommandTimedOut  it ran past the type's timeout
 *   InvalidOutput    stdout is not one JSON value (or nests too deep)
 *   OutputTooLarge   stdout went over max_output_bytes
 *   CommandNotFound  it could not be started (missing, not executable;
 *                    non-retriable), SpawnFailed for other reasons
 *   Interrupted      the worker is stopping (the job runs the attempt again)
 *   Cancelled        the job was terminated meanwhile (its result is moot)
 * Whenever the run is cut short (timeout, too much output, interruption,
 * cancellation) the whole process group gets SIGTERM, then SIGKILL after
 * kill_grace_ms; processes left in the group once the program has exited
 * get SIGKILL at once. The program's exit is always collected (no
 * zombies) and it inherits no descriptor of the server but its three
 * pipes, an empty signal mask and default signal dispositions.
 * Concurrency: at most `concurrency` runs of one command at once; further
 * attempts wait for a slot (and stop waiting when interrupted).
 * Threading: a struct dt_command is shared by all activity threads running
 * its type (the slot count is guarded by its mutex; the rest is read-only
 * after dt_command_new). A run blocks SIGPIPE in the calling thread while
 * it writes stdin and restores the mask before returning.
 */
#ifndef DT_WORKERS_COMMAND_H
#define DT_WORKERS_COMMAND_H

#include "durata.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DT_COMMAND_MAX_OUTPUT (1024 * 1024) /* default stdout cap */
#define DT_COMMAND_TAIL_BYTES 4096          /* stderr kept for failure details */
#define DT_COMMAND_KILL_GRACE_MS 2000       /* SIGTERM to SIGKILL */
#define DT_COMMAND_MAX_ARGS 4096
#define DT_COMMAND_MAX_CONCURRENCY 4096

struct dt_command_options {
    int64_t timeout_ms;      /* per attempt, from the start; 0 = none */
    unsigned concurrency;    /* runs at once; 0 = no limit */
    size_t max_output_bytes; /* stdout cap; 0 = DT_COMMAND_MAX_OUTPUT */
    int64_t kill_grace_ms;   /* 0 = DT_COMMAND_KILL_GRACE_MS */
    /* Optional: the hub whose jobs run the command. When set, a running
     * command whose instance has ended (terminated, purged) is stopped. */
    struct durata_hub *hub;
};

struct dt_command;

/* A command running argv (NULL-terminated, at least the program; copied)
 * with options o (NULL = defaults). DURATA_EINVAL for an empty argv or
 * bad options, DURATA_ENOMEM. */
DURATA_MUST_CHECK int dt_command_new(struct dt_command **out, const char *const *argv,
                                     const struct dt_command_options *o);
/* Frees c (NULL ok); no run may be in progress. */
void dt_command_free(struct dt_command *c);
/* The program (argv[0]); owned by c. */
const char *dt_command_program(const struct dt_command *c);

/* What a running command asks its watcher between reads (at least every
 * 50 ms). */
enum dt_command_verdict {
    DT_COMMAND_GO = 0,
    DT_COMMAND_INTERRUPT, /* the worker stops: fail as "Interrupted" */
    DT_COMMAND_CANCEL,    /* the job ended: fail as "Cancelled" */
};
typedef enum dt_command_verdict (*dt_command_watch_fn)(void *arg);

/* How a run ended: output (JSON text, NULL for null) when !failed, else
 * failure (error_type, message, details may be NULL). */
struct dt_command_outcome {
    bool failed;
    char *output;
    struct durata_failure failure;
};

void dt_command_outcome_release(struct dt_command_outcome *o);

/* Runs c once: stdin gets input (len bytes) and then a newline, the
 * environment gets env (NULL-terminated "NAME=value" strings replacing
 * variables of the same names; NULL = none). watch (NULL = never stop) is
 * asked while it waits for a slot and while the program runs. Fills *out
 * (released by the caller) and returns 0, or DURATA_ENOMEM /
 * DURATA_ESYS (pipes could not be made) with *out empty. */
DURATA_MUST_CHECK int dt_command_run(struct dt_command *c, const char *input, size_t len,
                                     const char *const *env, dt_command_watch_fn watch,
                                     void *watch_arg, struct dt_command_outcome *out);

/* The activity (durata_activity_fn) behind a command job type; arg is the
 * struct dt_command. Reads job_id, attempt and job_type from the input for
 * the environment, stops on durata_activity_is_cancelled, and completes or
 * fails the activity with the outcome. */
void dt_command_handler(struct durata_activity *a, void *arg);

#endif
