/*
 * command_impl.h — what command.c (the command, slots, outcomes, the
 * activity) and command_run.c (the process and its I/O) share. Private to
 * src/workers/command*.c.
 *
 * Threading: see command.h; struct dt_command's `running` is guarded by
 * `mu`, everything else is read-only after dt_command_new.
 */
#ifndef DT_WORKERS_COMMAND_IMPL_H
#define DT_WORKERS_COMMAND_IMPL_H

#include "workers/command.h"

#include <pthread.h>
#include <sys/types.h>

/* Longest wait between two questions to the watcher. */
#define DT_COMMAND_TICK_MS 50

struct dt_command {
    char **argv; /* NULL-terminated, owned */
    struct dt_command_options opt;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a slot was released; CLOCK_MONOTONIC */
    unsigned running;  /* runs holding a slot; guarded by mu */
};

/* Why a run was cut short (the first reason wins). */
enum dt_command_cut {
    DT_CUT_NONE = 0,
    DT_CUT_TIMEOUT,
    DT_CUT_OVERFLOW,  /* stdout over the cap */
    DT_CUT_NOMEM,     /* no memory for stdout */
    DT_CUT_INTERRUPT, /* the watcher said DT_COMMAND_INTERRUPT */
    DT_CUT_CANCEL,    /* the watcher said DT_COMMAND_CANCEL */
    DT_CUT_STRAYS,    /* the program exited; its group's leftovers were killed */
};

/* How a process ended, for dt_command_outcome_build (all borrowed). */
struct dt_command_ending {
    enum dt_command_cut cut;
    bool status_known; /* false when waitpid could not report it */
    int wstatus;
    const char *out; /* stdout */
    size_t out_len;
    const char *tail; /* the last DT_COMMAND_TAIL_BYTES of stderr */
    size_t tail_len;
};

/* Takes a slot (no-op without a limit); gives up with the watcher's
 * verdict when it says to stop while waiting. */
enum dt_command_verdict dt_command_slot_acquire(struct dt_command *c, dt_command_watch_fn watch,
                                                void *arg);
void dt_command_slot_release(struct dt_command *c);

/* Fills o from e: the failure of a cut run, a bad exit, bad JSON, or the
 * result. 0 or DURATA_ENOMEM. */
DURATA_MUST_CHECK int dt_command_outcome_build(struct dt_command_outcome *o,
                                               const struct dt_command *c,
                                               const struct dt_command_ending *e);
/* Sets o to a failure (strings copied; empty details become NULL).
 * 0 or DURATA_ENOMEM. */
DURATA_MUST_CHECK int dt_command_outcome_fail(struct dt_command_outcome *o, const char *type,
                                              const char *message, const char *details,
                                              bool non_retriable);
/* n bytes of process output as valid UTF-8 text without NULs (bad bytes
 * become '?', a leading partial character is dropped); malloc'd, NULL on
 * out of memory. */
char *dt_command_text_clean(const char *text, size_t n);

#endif
