/*
 * child.c — running the `durata` command as a child process for
 * end-to-end tests (contract in child.h).
 *
 * Owns: the child's process (fork/execve, killed and reaped by PID only),
 * its stdout pipe, its stderr pipe or pseudo-terminal, and the buffers its
 * output is read into. Reading never blocks past the caller's deadline:
 * every read follows a poll() with a short timeout, and the terminal's
 * master is non-blocking. The slave side of the terminal stays open here
 * until the end, so the master reports "nothing yet" rather than EIO
 * between the child's exit and the last read.
 * Threading: the test's thread.
 */
#include "child.h"

#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define E2E_CHILD_MAX_ARGS 64
#define E2E_CHILD_MAX_ENV 512
#define E2E_CHILD_POLL_MS 50

extern char **environ;

/* Reads what fd holds now into s; *open becomes false at its end. */
static void
sink_read(struct e2e_sink *s, int fd, bool *open)
{
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        *open = false;
        return;
    }
    s->data = realloc(s->data, s->len + (size_t)n + 1);
    assert_non_null(s->data);
    memcpy(s->data + s->len, buf, (size_t)n);
    s->len += (size_t)n;
    s->data[s->len] = '\0';
}

static bool
is_dropped(const char *entry, const char *const *drop)
{
    for (size_t i = 0; drop && drop[i]; i++)
        if (strncmp(entry, drop[i], strlen(drop[i])) == 0)
            return true;
    return false;
}

/* envp: our environment without what drop names, then extra. */
static void
child_env(const char *const *drop, const char *const *extra, const char **envp)
{
    size_t n = 0;

    for (char **e = environ; *e && n < E2E_CHILD_MAX_ENV - 16; e++)
        if (!is_dropped(*e, drop))
            envp[n++] = *e;
    for (size_t i = 0; extra && extra[i] && n < E2E_CHILD_MAX_ENV - 1; i++)
        envp[n++] = extra[i];
    envp[n] = NULL;
}

/* A pseudo-terminal 100 columns wide: its master (non-blocking) and slave. */
static void
open_pty(int *master, int *slave)
{
    struct winsize ws = {.ws_row = 24, .ws_col = 100};

    *master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    assert_true(*master >= 0);
    assert_int_equal(grantpt(*master), 0);
    assert_int_equal(unlockpt(*master), 0);
    assert_int_equal(ioctl(*master, TIOCSWINSZ, &ws), 0);
    fcntl(*master, F_SETFL, fcntl(*master, F_GETFL) | O_NONBLOCK);
    *slave = open(ptsname(*master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    assert_true(*slave >= 0);
}

/* In the forked child: wires stdin, stdout and stderr, then execs. */
static void
exec_child(const char **argv, const char **envp, int out_fd, int err_fd)
{
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

    dup2(null, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execve(argv[0], (char *const *)argv, (char *const *)envp);
    fprintf(stderr, "e2e: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

void
e2e_child_start(struct e2e_child *ch, unsigned flags, const char *const *drop,
                const char *const *env, const char *const *args)
{
    const char *bin = getenv("DURATA_BIN"), *argv[E2E_CHILD_MAX_ARGS], *envp[E2E_CHILD_MAX_ENV];
    bool tty = (flags & E2E_CHILD_TTY) != 0;
    int out[2], err[2] = {-1, -1};
    size_t n = 0;

    *ch = (struct e2e_child)E2E_CHILD_INIT;
    assert_non_null(bin);
    argv[n++] = bin;
    for (size_t i = 0; args[i] && n < E2E_CHILD_MAX_ARGS - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    child_env(drop, env, envp);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    if (tty)
        open_pty(&err[0], &ch->slave);
    else
        assert_int_equal(pipe2(err, O_CLOEXEC), 0);
    ch->pid = fork();
    assert_true(ch->pid >= 0);
    if (ch->pid == 0)
        exec_child(argv, envp, out[1], tty ? ch->slave : err[1]);
    close(out[1]);
    if (!tty)
        close(err[1]);
    ch->out_fd = out[0];
    ch->err_fd = err[0];
    ch->out_open = ch->err_open = true;
}

void
e2e_child_pump(struct e2e_child *ch, int timeout_ms)
{
    struct pollfd p[2] = {{.fd = ch->out_open ? ch->out_fd : -1, .events = POLLIN},
                          {.fd = ch->err_open ? ch->err_fd : -1, .events = POLLIN}};

    if (poll(p, 2, timeout_ms) <= 0)
        return;
    if (p[0].revents)
        sink_read(&ch->out, ch->out_fd, &ch->out_open);
    if (p[1].revents)
        sink_read(&ch->err, ch->err_fd, &ch->err_open);
}

void
e2e_child_until(struct e2e_child *ch, const char *want, int deadline_ms)
{
    int64_t end = e2e_now_ms() + deadline_ms;

    while (!(ch->err.data && strstr(ch->err.data, want))) {
        if (e2e_now_ms() > end || (!ch->out_open && !ch->err_open)) {
            fprintf(stderr, "'%s' not seen; stderr so far:\n%s\n", want,
                    ch->err.data ? ch->err.data : "");
            kill(ch->pid, SIGKILL);
            fail();
        }
        e2e_child_pump(ch, E2E_CHILD_POLL_MS);
    }
}

/* Closes fd if open and marks it closed. */
static void
close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* After the exit: reads what the terminal still holds (the master is
 * non-blocking, so this stops at EAGAIN), then closes every descriptor. */
static void
drain_and_close(struct e2e_child *ch)
{
    while (ch->err_open && ch->slave >= 0) {
        size_t before = ch->err.len;

        sink_read(&ch->err, ch->err_fd, &ch->err_open);
        if (ch->err.len == before)
            break;
    }
    close_fd(&ch->out_fd);
    close_fd(&ch->err_fd);
    close_fd(&ch->slave);
    ch->out_open = ch->err_open = false;
}

int
e2e_child_finish(struct e2e_child *ch, int deadline_ms)
{
    int64_t end = e2e_now_ms() + deadline_ms;
    int status;

    /* A terminal's master never reads end-of-file while we hold the slave,
     * so only the stdout pipe (and a stderr pipe) say when output ended. */
    while (ch->out_open || (ch->err_open && ch->slave < 0)) {
        if (e2e_now_ms() > end) {
            kill(ch->pid, SIGKILL);
            fail_msg("durata did not finish within %d ms", deadline_ms);
        }
        e2e_child_pump(ch, E2E_CHILD_POLL_MS);
    }
    assert_int_equal(waitpid(ch->pid, &status, 0), ch->pid);
    ch->pid = 0;
    drain_and_close(ch);
    ch->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (!ch->out.data)
        ch->out.data = strdup("");
    if (!ch->err.data)
        ch->err.data = strdup("");
    assert_non_null(ch->out.data);
    assert_non_null(ch->err.data);
    return ch->code;
}

void
e2e_child_release(struct e2e_child *ch)
{
    if (ch->pid > 0) {
        kill(ch->pid, SIGKILL);
        (void)waitpid(ch->pid, NULL, 0);
    }
    close_fd(&ch->out_fd);
    close_fd(&ch->err_fd);
    close_fd(&ch->slave);
    free(ch->out.data);
    free(ch->err.data);
    *ch = (struct e2e_child)E2E_CHILD_INIT;
}

void
e2e_expect_in(const char *text, const char *want)
{
    if (!strstr(text, want))
        fprintf(stderr, "'%s' not found in:\n%s\n", want, text);
    assert_non_null(strstr(text, want));
}

void
e2e_expect_code(const struct e2e_child *ch, int code)
{
    if (ch->code != code)
        fprintf(stderr, "exit %d (want %d)\n--- stdout:\n%s--- stderr:\n%s---\n", ch->code, code,
                ch->out.data, ch->err.data);
    assert_int_equal(ch->code, code);
}
