/*
 * child.h — end-to-end tests run the `durata` command as a child process
 * and read what it prints.
 *
 * Owns: starting DURATA_BIN with the test's arguments and an environment
 * derived from ours (stdin from /dev/null, stdout to a pipe, stderr to a
 * pipe or to a pseudo-terminal 100 columns wide), reading both outputs
 * into growing buffers while the test acts elsewhere, waiting for a text on
 * stderr or for the exit under a deadline (the child is killed and the test
 * fails when it passes), and the assertions on exit code and output that
 * print what the child said when they fail. Starting `durata serve` and
 * talking HTTP to it is harness.h's.
 * Failures are cmocka assertions (the test stops), so the functions return
 * no error codes; e2e_child_release() cleans up after a stopped test.
 * Threading: the test's thread; one struct e2e_child per child.
 */
#ifndef DT_E2E_CHILD_H
#define DT_E2E_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* How long a child may run before e2e_child_finish() gives up, when the
 * test has no tighter bound of its own. */
#define E2E_CHILD_DEADLINE_MS 60000

/* What a child wrote on one stream: data is NUL-terminated and malloc'd
 * (NULL until the first byte, "" after e2e_child_finish()). */
struct e2e_sink {
    char *data;
    size_t len;
};

struct e2e_child {
    pid_t pid;  /* 0 once waited for */
    int out_fd; /* stdout pipe; -1 = none */
    int err_fd; /* stderr pipe, or the pseudo-terminal's master; -1 = none */
    int slave;  /* the terminal's slave, held so the master never reads EIO; -1 = none */
    bool out_open;
    bool err_open;
    struct e2e_sink out, err; /* with E2E_CHILD_TTY, err is what the terminal showed */
    int code;                 /* exit status, or 128 + signal, once finished */
};

/* A struct e2e_child that holds nothing (safe to e2e_child_release). */
#define E2E_CHILD_INIT                                                                             \
    {                                                                                              \
        .out_fd = -1, .err_fd = -1, .slave = -1                                                    \
    }

enum {
    E2E_CHILD_PLAIN = 0,
    E2E_CHILD_TTY = 1 << 0, /* stderr is a pseudo-terminal, not a pipe */
};

/* Starts DURATA_BIN args... (args NULL-terminated, at most 62). The
 * child's environment is ours without every "NAME=value" entry that starts
 * with one of the prefixes in drop (e.g. "DURATA_URL=" for one variable,
 * "DURATA_" for all of them), then the "NAME=value" entries of env; drop
 * and env are NULL-terminated or NULL. Whatever ch held is forgotten, so
 * release it first. */
void e2e_child_start(struct e2e_child *ch, unsigned flags, const char *const *drop,
                     const char *const *env, const char *const *args);
/* Reads what the child writes within timeout_ms (returns after the first
 * read or the timeout). */
void e2e_child_pump(struct e2e_child *ch, int timeout_ms);
/* Reads until the child's stderr holds want; after deadline_ms, or when
 * the child closed its outputs without writing it, prints stderr, kills
 * the child and fails the test. */
void e2e_child_until(struct e2e_child *ch, const char *want, int deadline_ms);
/* Reads everything until the child closes its outputs and exits, then
 * closes the pipes (and terminal); out.data and err.data are non-NULL
 * afterwards. After deadline_ms the child is killed and the test fails.
 * Returns (and sets) ch->code. */
int e2e_child_finish(struct e2e_child *ch, int deadline_ms);
/* Kills the child if it still runs, reaps it, closes what is open and
 * frees the outputs; ch is then as E2E_CHILD_INIT. */
void e2e_child_release(struct e2e_child *ch);

/* Asserts that text holds want, printing text when it does not. */
void e2e_expect_in(const char *text, const char *want);
/* Asserts a finished child's exit code, printing its stdout and stderr
 * when it differs. */
void e2e_expect_code(const struct e2e_child *ch, int code);

#endif
