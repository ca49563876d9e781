/*
 * command_run.c — one run of a command (dt_command_run): pipes, spawning
 * the program into a new process group, the poll loop that feeds stdin
 * while it reads stdout and stderr, the timeout and kill sequence, and
 * collecting the exit status.
 *
 * Spawning: posix_spawnp (vfork-like, safe in a threaded server) with
 * POSIX_SPAWN_SETPGROUP (pgid = pid), an empty signal mask and default
 * dispositions for the standard signals (the server blocks SIGTERM and
 * ignores SIGPIPE; the program must not inherit either), the three pipes
 * on 0, 1, 2 and every other descriptor closed (closefrom).
 * Loop: stdin is written without blocking as the pipe accepts it (a big
 * payload and a chatty program never deadlock); stdout goes to a capped
 * buffer; stderr keeps its last DT_COMMAND_TAIL_BYTES. The program's exit
 * is seen through a pidfd without reaping it, so its process group id
 * stays reserved while we may still signal the group; without pidfd
 * support, waitid(WNOWAIT) is asked every RUN_EXIT_POLL_MS once the pipes
 * are closed. The loop ends when stdout and stderr are at EOF and the
 * program has exited, or when the kill sequence gives up on the pipes (a
 * process that left the group may hold them).
 * Kill sequence (timeout, too much output, interruption, cancellation):
 * SIGTERM to the group, SIGKILL after kill_grace_ms, then RUN_DRAIN_MS for
 * the pipes to close. Processes left in the group when the program exits
 * get SIGKILL at once; the program is reaped last.
 * Threading: everything here belongs to the calling thread; SIGPIPE is
 * blocked in it during the run and a SIGPIPE raised by our writes is
 * consumed before the mask is restored.
 */
#include "workers/command_impl.h"

#include "base/buf.h"
#include "base/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUN_READ_CHUNK 32768
#define RUN_DRAIN_MS 1000
#define RUN_EXIT_POLL_MS 2

extern char **environ;

enum run_stage {
    RUN_LIVE = 0,
    RUN_TERM_SENT,
    RUN_KILL_SENT,
    RUN_ABANDONED, /* pipes closed by us */
};

struct run {
    struct dt_command *c;
    pid_t pid;
    int pidfd; /* -1 once the exit was seen, or without pidfd support */
    int in_fd, out_fd, err_fd;
    const char *input;
    size_t in_len; /* input and the final newline */
    size_t in_off;
    struct dt_buf out;
    char tail[DT_COMMAND_TAIL_BYTES];
    size_t tail_len;
    bool exited; /* the program has exited (not reaped yet) */
    enum dt_command_cut cut;
    enum run_stage stage;
    int64_t stage_at; /* when the next stage is due */
    int64_t deadline; /* the timeout; 0 = none */
};

static void
fd_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* ------------------------------------------------------------ spawning */

/* fd moved to 3 or above (close-on-exec), so the child's dup2 onto 0..2
 * never overwrites another of its pipe ends; -1 on failure. */
static int
fd_lift(int fd)
{
    int nfd;

    if (fd > 2)
        return fd;
    nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return nfd;
}

static int
pipe_open(int p[2])
{
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    p[0] = fd_lift(p[0]);
    p[1] = fd_lift(p[1]);
    if (p[0] >= 0 && p[1] >= 0)
        return 0;
    fd_close(&p[0]);
    fd_close(&p[1]);
    return -1;
}

struct run_pipes {
    int in[2], out[2], err[2];
};

static void
pipes_close(struct run_pipes *p)
{
    for (int i = 0; i < 2; i++) {
        fd_close(&p->in[i]);
        fd_close(&p->out[i]);
        fd_close(&p->err[i]);
    }
}

static int
pipes_open(struct run_pipes *p)
{
    p->in[0] = p->in[1] = p->out[0] = p->out[1] = p->err[0] = p->err[1] = -1;
    if (pipe_open(p->in) == 0 && pipe_open(p->out) == 0 && pipe_open(p->err) == 0)
        return 0;
    pipes_close(p);
    return -1;
}

/* Does env hold a variable of the same name as var ("NAME=value")? */
static bool
env_overrides(const char *var, const char *const *env)
{
    size_t len;

    for (; env && *env; env++) {
        len = strcspn(*env, "=");
        if (strncmp(var, *env, len) == 0 && var[len] == '=')
            return true;
    }
    return false;
}

/* environ with env's variables replacing those of the same names; the
 * array is malloc'd, the strings borrowed. */
static char **
env_build(const char *const *env)
{
    size_t n = 0, m = 0, k = 0;
    char **e;

    while (environ && environ[n])
        n++;
    while (env && env[m])
        m++;
    e = malloc((n + m + 1) * sizeof(*e));
    if (!e)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!env_overrides(environ[i], env))
            e[k++] = environ[i];
    for (size_t i = 0; i < m; i++)
        e[k++] = (char *)env[i];
    e[k] = NULL;
    return e;
}

static int
spawn_attr_init(posix_spawnattr_t *at)
{
    sigset_t none, std;
    int rc;

    sigemptyset(&none);
    sigemptyset(&std);
    for (int sig = 1; sig < 32; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaddset(&std, sig);
    rc = posix_spawnattr_init(at);
    if (rc != 0)
        return rc;
    rc = posix_spawnattr_setflags(at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                          POSIX_SPAWN_SETSIGDEF);
    if (rc == 0)
        rc = posix_spawnattr_setpgroup(at, 0);
    if (rc == 0)
        rc = posix_spawnattr_setsigmask(at, &none);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(at, &std);
    if (rc != 0)
        posix_spawnattr_destroy(at);
    return rc;
}

static int
spawn_actions_init(posix_spawn_file_actions_t *fa, const struct run_pipes *p)
{
    int rc = posix_spawn_file_actions_init(fa);

    if (rc != 0)
        return rc;
    rc = posix_spawn_file_actions_adddup2(fa, p->in[0], STDIN_FILENO);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(fa, p->out[1], STDOUT_FILENO);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(fa, p->err[1], STDERR_FILENO);
    if (rc == 0)
        rc = posix_spawn_file_actions_addclosefrom_np(fa, 3);
    if (rc != 0)
        posix_spawn_file_actions_destroy(fa);
    return rc;
}

/* posix_spawnp with our attributes; an errno value (0 on success). */
static int
spawn(struct run *r, const struct run_pipes *p, const char *const *env)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    char **envp = env_build(env);
    int err = ENOMEM;

    if (!envp)
        return ENOMEM;
    if (spawn_attr_init(&at) != 0)
        goto out_env;
    if (spawn_actions_init(&fa, p) != 0)
        goto out_attr;
    err = posix_spawnp(&r->pid, r->c->argv[0], &fa, &at, r->c->argv, envp);
    posix_spawn_file_actions_destroy(&fa);
out_attr:
    posix_spawnattr_destroy(&at);
out_env:
    free(envp);
    return err;
}

/* The failure of a program that could not be started. */
static int
spawn_failure(struct dt_command_outcome *o, const char *prog, int err)
{
    const char *why = strerrordesc_np(err);
    bool missing = err == ENOENT || err == EACCES || err == ENOEXEC || err == ENOTDIR ||
                   err == ELOOP || err == ENAMETOOLONG || err == EISDIR;
    char msg[600];

    snprintf(msg, sizeof(msg), "cannot run '%.400s': %s", prog, why ? why : "unknown error");
    return dt_command_outcome_fail(o, missing ? "CommandNotFound" : "SpawnFailed", msg, NULL,
                                   missing);
}

/* Starts the program. 0: running; 1: it could not start (the failure is
 * in o); DURATA_ESYS (no pipes) or DURATA_ENOMEM. */
static int
run_start(struct run *r, const char *const *env, struct dt_command_outcome *o)
{
    struct run_pipes p;
    int err, rc;

    if (pipes_open(&p) < 0)
        return errno == ENOMEM ? DURATA_ENOMEM : DURATA_ESYS;
    err = spawn(r, &p, env);
    fd_close(&p.in[0]);
    fd_close(&p.out[1]);
    fd_close(&p.err[1]);
    if (err != 0) {
        pipes_close(&p);
        rc = spawn_failure(o, r->c->argv[0], err);
        return rc < 0 ? rc : 1;
    }
    r->in_fd = p.in[1];
    r->out_fd = p.out[0];
    r->err_fd = p.err[0];
    fcntl(r->in_fd, F_SETFL, O_NONBLOCK);
    fcntl(r->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(r->err_fd, F_SETFL, O_NONBLOCK);
    r->pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0); /* close-on-exec by itself */
    if (r->c->opt.timeout_ms > 0)
        r->deadline = dt_clock_mono_ms() + r->c->opt.timeout_ms;
    return 0;
}

/* ------------------------------------------------------------ stopping */

/* Signals the whole group (its id is the program's pid). */
static void
run_signal(const struct run *r, int sig)
{
    kill(-r->pid, sig);
}

static void
run_cut(struct run *r, enum dt_command_cut why, int64_t now)
{
    if (r->cut == DT_CUT_NONE)
        r->cut = why;
    if (r->stage != RUN_LIVE)
        return;
    if (why == DT_CUT_STRAYS) { /* the program is done; what is left is not */
        run_signal(r, SIGKILL);
        r->stage = RUN_KILL_SENT;
        r->stage_at = now + RUN_DRAIN_MS;
        return;
    }
    run_signal(r, SIGTERM);
    r->stage = RUN_TERM_SENT;
    r->stage_at = now + r->c->opt.kill_grace_ms;
}

static void
run_escalate(struct run *r, int64_t now)
{
    if (r->stage == RUN_TERM_SENT && now >= r->stage_at) {
        run_signal(r, SIGKILL);
        r->stage = RUN_KILL_SENT;
        r->stage_at = now + RUN_DRAIN_MS;
    } else if (r->stage == RUN_KILL_SENT && now >= r->stage_at) {
        fd_close(&r->in_fd);
        fd_close(&r->out_fd);
        fd_close(&r->err_fd);
        r->stage = RUN_ABANDONED;
    }
}

/* Has the program exited? Leaves it unreaped (WNOWAIT). */
static bool
child_has_exited(pid_t pid)
{
    siginfo_t si;

    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
        return errno == ECHILD;
    return si.si_pid == pid;
}

/* After a poll: the watcher, the timeout, leftovers holding the pipes
 * (only when idle: the pipes may just have unread data), the kill stages. */
static void
run_check(struct run *r, dt_command_watch_fn watch, void *arg, bool idle)
{
    int64_t now = dt_clock_mono_ms();
    enum dt_command_verdict v;

    if (!r->exited && r->pidfd < 0)
        r->exited = child_has_exited(r->pid);
    if (r->cut == DT_CUT_NONE) {
        v = watch ? watch(arg) : DT_COMMAND_GO;
        if (v != DT_COMMAND_GO)
            run_cut(r, v == DT_COMMAND_INTERRUPT ? DT_CUT_INTERRUPT : DT_CUT_CANCEL, now);
        else if (r->deadline && now >= r->deadline)
            run_cut(r, DT_CUT_TIMEOUT, now);
        else if (idle && r->exited && (r->out_fd >= 0 || r->err_fd >= 0))
            run_cut(r, DT_CUT_STRAYS, now);
    }
    run_escalate(r, now);
}

/* ------------------------------------------------------------ I/O */

static void
run_write(struct run *r)
{
    const char *p = "\n";
    size_t n = 1;
    ssize_t w;

    if (r->in_off + 1 < r->in_len) {
        p = r->input + r->in_off;
        n = r->in_len - 1 - r->in_off;
    }
    w = write(r->in_fd, p, n);
    if (w < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (w > 0)
        r->in_off += (size_t)w;
    if (w <= 0 || r->in_off == r->in_len) /* EPIPE: it does not read stdin */
        fd_close(&r->in_fd);
}

static void
run_read_out(struct run *r, char *buf)
{
    ssize_t n = read(r->out_fd, buf, RUN_READ_CHUNK);
    int rc;

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        fd_close(&r->out_fd);
        return;
    }
    rc = dt_buf_append(&r->out, buf, (size_t)n);
    if (rc < 0) {
        run_cut(r, rc == DURATA_ETOOBIG ? DT_CUT_OVERFLOW : DT_CUT_NOMEM, dt_clock_mono_ms());
        fd_close(&r->out_fd);
    }
}

static void
tail_append(struct run *r, const char *p, size_t n)
{
    size_t keep;

    if (n >= DT_COMMAND_TAIL_BYTES) {
        memcpy(r->tail, p + n - DT_COMMAND_TAIL_BYTES, DT_COMMAND_TAIL_BYTES);
        r->tail_len = DT_COMMAND_TAIL_BYTES;
        return;
    }
    if (r->tail_len + n > DT_COMMAND_TAIL_BYTES) {
        keep = DT_COMMAND_TAIL_BYTES - n;
        memmove(r->tail, r->tail + r->tail_len - keep, keep);
        r->tail_len = keep;
    }
    memcpy(r->tail + r->tail_len, p, n);
    r->tail_len += n;
}

static void
run_read_err(struct run *r, char *buf)
{
    ssize_t n = read(r->err_fd, buf, RUN_READ_CHUNK);

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0)
        fd_close(&r->err_fd);
    else
        tail_append(r, buf, (size_t)n);
}

/* How long the next poll may wait. */
static int
run_poll_ms(const struct run *r)
{
    int64_t now = dt_clock_mono_ms(), t = DT_COMMAND_TICK_MS;

    if (r->pidfd < 0 && !r->exited && r->out_fd < 0 && r->err_fd < 0)
        t = RUN_EXIT_POLL_MS;
    if (r->deadline && r->cut == DT_CUT_NONE && r->deadline - now < t)
        t = r->deadline - now;
    if ((r->stage == RUN_TERM_SENT || r->stage == RUN_KILL_SENT) && r->stage_at - now < t)
        t = r->stage_at - now;
    return t < 0 ? 0 : (int)t;
}

enum run_fd_role { ROLE_IN, ROLE_OUT, ROLE_ERR, ROLE_PID };

struct run_fds {
    struct pollfd fds[4];
    enum run_fd_role role[4];
    int n;
};

static void
run_fds_add(struct run_fds *p, int fd, short events, enum run_fd_role role)
{
    if (fd < 0)
        return;
    p->fds[p->n].fd = fd;
    p->fds[p->n].events = events;
    p->fds[p->n].revents = 0;
    p->role[p->n++] = role;
}

/* One poll and the I/O it allows; true when nothing was ready. */
static bool
run_poll(struct run *r, char *buf)
{
    struct run_fds p = {.n = 0};
    int ready;

    run_fds_add(&p, r->in_fd, POLLOUT, ROLE_IN);
    run_fds_add(&p, r->out_fd, POLLIN, ROLE_OUT);
    run_fds_add(&p, r->err_fd, POLLIN, ROLE_ERR);
    run_fds_add(&p, r->pidfd, POLLIN, ROLE_PID);
    ready = poll(p.fds, (nfds_t)p.n, run_poll_ms(r));
    for (int i = 0; ready > 0 && i < p.n; i++) {
        if (!p.fds[i].revents)
            continue;
        if (p.role[i] == ROLE_IN)
            run_write(r);
        else if (p.role[i] == ROLE_OUT)
            run_read_out(r, buf);
        else if (p.role[i] == ROLE_ERR)
            run_read_err(r, buf);
        else {
            r->exited = true;
            fd_close(&r->pidfd);
        }
    }
    return ready == 0;
}

static bool
run_is_done(const struct run *r)
{
    if (r->out_fd >= 0 || r->err_fd >= 0)
        return false;
    return r->exited || r->stage == RUN_ABANDONED;
}

static void
run_loop(struct run *r, dt_command_watch_fn watch, void *arg)
{
    char *buf = malloc(RUN_READ_CHUNK);
    bool idle;

    if (!buf) {
        run_cut(r, DT_CUT_NOMEM, dt_clock_mono_ms());
        fd_close(&r->out_fd);
        fd_close(&r->err_fd);
        return;
    }
    while (!run_is_done(r)) {
        idle = run_poll(r, buf);
        run_check(r, watch, arg, idle);
    }
    free(buf);
}

/* Closes the pipes, kills what is left of the group and reaps the
 * program; fills e. */
static void
run_finish(struct run *r, struct dt_command_ending *e)
{
    pid_t w;
    int st = 0;

    fd_close(&r->in_fd);
    fd_close(&r->out_fd);
    fd_close(&r->err_fd);
    fd_close(&r->pidfd);
    run_signal(r, SIGKILL); /* the unreaped program keeps the group id ours */
    while ((w = waitpid(r->pid, &st, 0)) < 0 && errno == EINTR)
        ;
    memset(e, 0, sizeof(*e));
    e->cut = r->cut;
    e->status_known = w == r->pid;
    e->wstatus = st;
    e->out = r->out.data ? r->out.data : "";
    e->out_len = r->out.len;
    e->tail = r->tail;
    e->tail_len = r->tail_len;
}

/* ------------------------------------------------------------ the run */

struct sigpipe_guard {
    sigset_t old;
    bool was_pending;
};

static void
sigpipe_block(struct sigpipe_guard *g)
{
    sigset_t set, pending;

    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigemptyset(&pending);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void
sigpipe_restore(struct sigpipe_guard *g)
{
    const struct timespec zero = {0};
    sigset_t set, pending;

    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigemptyset(&pending);
    sigpending(&pending);
    if (!g->was_pending && sigismember(&pending, SIGPIPE) == 1)
        sigtimedwait(&set, NULL, &zero); /* ours, from writing to a closed stdin */
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* A run stopped before it started (while waiting for a slot). */
static int
run_refused(struct dt_command *c, enum dt_command_verdict v, struct dt_command_outcome *out)
{
    struct dt_command_ending e = {
        .cut = v == DT_COMMAND_INTERRUPT ? DT_CUT_INTERRUPT : DT_CUT_CANCEL,
        .out = "",
        .tail = "",
    };

    return dt_command_outcome_build(out, c, &e);
}

int
dt_command_run(struct dt_command *c, const char *input, size_t len, const char *const *env,
               dt_command_watch_fn watch, void *watch_arg, struct dt_command_outcome *out)
{
    struct run r = {.c = c, .pidfd = -1, .in_fd = -1, .out_fd = -1, .err_fd = -1};
    struct dt_command_ending e;
    struct sigpipe_guard g;
    enum dt_command_verdict v;
    int rc;

    memset(out, 0, sizeof(*out));
    v = dt_command_slot_acquire(c, watch, watch_arg);
    if (v != DT_COMMAND_GO) {
        rc = run_refused(c, v, out);
        if (rc < 0)
            dt_command_outcome_release(out);
        return rc;
    }
    r.input = input ? input : "";
    r.in_len = (input ? len : 0) + 1;
    dt_buf_init(&r.out, c->opt.max_output_bytes);
    sigpipe_block(&g);
    rc = run_start(&r, env, out);
    if (rc == 0) {
        run_loop(&r, watch, watch_arg);
        run_finish(&r, &e);
        rc = dt_command_outcome_build(out, c, &e);
    } else if (rc == 1) {
        rc = 0; /* could not start: out says why */
    }
    sigpipe_restore(&g);
    dt_buf_release(&r.out);
    dt_command_slot_release(c);
    if (rc < 0)
        dt_command_outcome_release(out);
    return rc;
}
