/*
 * http_proc.c — the server process for bench_http (see http_proc.h):
 * /proc readings (per-thread utime+stime, VmHWM, /proc/stat), fork/exec
 * of `durata serve`, its "listening on" line, SIGTERM by PID.
 * Threading: the calling thread only.
 */
#include "http_proc.h"

#include "http_load.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TMPFS_MAGIC_NUMBER 0x01021994
#define START_TIMEOUT_MS 30000
#define STOP_TIMEOUT_MS 30000

static void
pause_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ------------------------------------------------------------ CPU */

static double
client_cpu_s(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) < 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Name and utime+stime (seconds) of one /proc/PID/task/TID/stat (tid
 * NULL: of /proc/PID/stat, the whole process). */
static int
read_thread_stat(pid_t pid, const char *tid, char *name, size_t name_size, double *cpu_s)
{
    char path[128], line[1024], *open_p, *close_p;
    unsigned long ut = 0, stm = 0;
    long cut = 0, cst = 0;
    FILE *f;

    if (tid)
        snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, tid);
    else
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    if (!fgets(line, sizeof(line), f)) {
        fclose(f);
        return -1;
    }
    fclose(f);
    open_p = strchr(line, '(');
    close_p = strrchr(line, ')');
    if (!open_p || !close_p || close_p < open_p)
        return -1;
    snprintf(name, name_size, "%.*s", (int)(close_p - open_p - 1), open_p + 1);
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime stime cutime cstime. The process's line counts
     * its reaped children (the command handlers) in cutime and cstime. */
    if (sscanf(close_p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %ld %ld", &ut,
               &stm, &cut, &cst) != 4)
        return -1;
    if (tid)
        cut = cst = 0;
    *cpu_s = (double)(ut + stm + (unsigned long)(cut + cst)) / (double)sysconf(_SC_CLK_TCK);
    return 0;
}

static void
snap_add(struct hp_cpu *s, const char *name, double cpu)
{
    size_t i;

    for (i = 0; i < s->n_names; i++)
        if (strcmp(s->names[i], name) == 0)
            break;
    if (i == s->n_names) {
        if (s->n_names == HP_MAX_THREAD_NAMES)
            return;
        snprintf(s->names[i], sizeof(s->names[i]), "%s", name);
        s->n_names++;
    }
    s->name_s[i] += cpu;
    s->name_threads[i]++;
}

/* Busy CPU seconds of the whole machine (all but idle and iowait). */
static double
machine_cpu_s(void)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    int n;

    if (!f)
        return 0;
    /* cpu user nice system idle iowait irq softirq steal */
    n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
               &v[5], &v[6], &v[7]);
    fclose(f);
    if (n != 8)
        return 0;
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

/* utime + stime of the whole process, ended threads and reaped children
 * included. */
static double
process_cpu_s(pid_t pid)
{
    char name[20];
    double cpu = 0;

    return read_thread_stat(pid, NULL, name, sizeof(name), &cpu) == 0 ? cpu : 0;
}

void
hp_cpu_snapshot(pid_t pid, struct hp_cpu *s)
{
    char path[64], name[20];
    struct dirent *de;
    double cpu;
    DIR *d;

    memset(s, 0, sizeof(*s));
    s->machine_s = machine_cpu_s();
    s->client_s = client_cpu_s();
    s->server_s = process_cpu_s(pid);
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    if (!(d = opendir(path)))
        return;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.' &&
            read_thread_stat(pid, de->d_name, name, sizeof(name), &cpu) == 0)
            snap_add(s, name, cpu);
    closedir(d);
}

/* One line of CPU use over a phase of `wall` seconds; per thread name
 * with --cpu (threads that ended during the phase are missing there, not
 * from the total). */
void
hp_cpu_report(const char *phase, const struct hp_cpu *a, const struct hp_cpu *b, double wall,
              size_t requests, bool per_thread)
{
    if (wall <= 0)
        return;
    double server = b->server_s - a->server_s, client = b->client_s - a->client_s;
    double other = b->machine_s - a->machine_s - server - client;

    fprintf(stderr,
            "bench_http: %s: server %.2f cores, client %.2f cores, other processes %.2f cores "
            "over %.2f s\n",
            phase, server / wall, client / wall, other > 0 ? other / wall : 0.0, wall);
    fprintf(stderr, "bench_http: %s: CPU per request: server %.1f us, client %.1f us\n", phase,
            1e6 * server / (double)requests, 1e6 * client / (double)requests);
    for (size_t i = 0; per_thread && i < b->n_names; i++) {
        double before = 0;

        for (size_t j = 0; j < a->n_names; j++)
            if (strcmp(a->names[j], b->names[i]) == 0)
                before = a->name_s[j];
        fprintf(stderr, "bench_http:   %-16s x%-3d %5.1f%% of a core\n", b->names[i],
                b->name_threads[i], 100.0 * (b->name_s[i] - before) / wall);
    }
}

/* ------------------------------------------------------------ server */

int
hp_workdir_make(const char *parent, struct hp_server *s)
{
    struct statfs fs;

    snprintf(s->dir, sizeof(s->dir), "%s/durata-hbench-XXXXXX", parent);
    if (!mkdtemp(s->dir)) {
        fprintf(stderr, "bench_http: mkdtemp %s: %s\n", s->dir, strerror(errno));
        return -1;
    }
    if (statfs(s->dir, &fs) == 0 && fs.f_type == TMPFS_MAGIC_NUMBER)
        fprintf(stderr,
                "bench_http: warning: %s is tmpfs; fsync costs nothing there, "
                "use --dir on a disk for real figures\n",
                s->dir);
    snprintf(s->db, sizeof(s->db), "%s/bench.db", s->dir);
    snprintf(s->log, sizeof(s->log), "%s/server.log", s->dir);
    return 0;
}

void
hp_workdir_remove(const struct hp_server *s)
{
    const char *sides[] = {"", "-wal", "-shm", "-journal"};
    char p[1200];

    for (size_t i = 0; i < sizeof(sides) / sizeof(*sides); i++) {
        snprintf(p, sizeof(p), "%s%s", s->db, sides[i]);
        unlink(p);
    }
    unlink(s->log);
    rmdir(s->dir);
}

/* In the child: stdout to the pipe, stderr to the log, then exec. */
static void
exec_server(const struct hp_server *s, const char *bin, const char *const *args, size_t n_args,
            int out_fd)
{
    const char *argv[HP_MAX_SERVER_ARGS + 8];
    size_t n = 0;
    int log_fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (log_fd < 0 || dup2(out_fd, STDOUT_FILENO) < 0 || dup2(log_fd, STDERR_FILENO) < 0)
        _exit(127);
    argv[n++] = bin;
    argv[n++] = "serve";
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--store";
    argv[n++] = s->db;
    for (size_t i = 0; i < n_args && i < HP_MAX_SERVER_ARGS; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    execv(bin, (char *const *)argv);
    fprintf(stderr, "bench_http: exec %s: %s\n", bin, strerror(errno));
    _exit(127);
}

/* Reads the server's stdout until "listening on http://HOST:PORT". */
static int
await_listening(struct hp_server *s, int fd)
{
    char buf[1024];
    size_t len = 0;
    int64_t deadline = hl_mono_us() + START_TIMEOUT_MS * 1000LL;
    const char *p;
    int port;

    while (len < sizeof(buf) - 1 && hl_mono_us() < deadline) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t n;

        if (poll(&pfd, 1, 100) <= 0)
            continue;
        n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        if ((p = strstr(buf, "listening on http://127.0.0.1:")) && strchr(p, '\n')) {
            port = (int)strtol(p + strlen("listening on http://127.0.0.1:"), NULL, 10);
            s->addr.sin_family = AF_INET;
            s->addr.sin_port = htons((uint16_t)port);
            s->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            snprintf(s->host, sizeof(s->host), "127.0.0.1:%d", port);
            return port > 0 ? 0 : -1;
        }
    }
    fprintf(stderr, "bench_http: the server did not say it was listening (see %s)\n", s->log);
    return -1;
}

int
hp_server_start(struct hp_server *s, const char *bin, const char *const *args, size_t n_args)
{
    int pipefd[2], rc;

    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -1;
    s->pid = fork();
    if (s->pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    if (s->pid == 0)
        exec_server(s, bin, args, n_args, pipefd[1]);
    close(pipefd[1]);
    rc = await_listening(s, pipefd[0]);
    close(pipefd[0]); /* the server writes nothing more to stdout */
    return rc;
}

/* Peak and current RSS of the server from /proc/PID/status. */
void
hp_server_memory(const struct hp_server *s, long *hwm_kb, long *rss_kb)
{
    char path[64], line[256];
    FILE *f;

    *hwm_kb = *rss_kb = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)s->pid);
    if (!(f = fopen(path, "r")))
        return;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "VmHWM:", 6) == 0)
            *hwm_kb = strtol(line + 6, NULL, 10);
        else if (strncmp(line, "VmRSS:", 6) == 0)
            *rss_kb = strtol(line + 6, NULL, 10);
    }
    fclose(f);
}

/* SIGTERM, then SIGKILL after STOP_TIMEOUT_MS. The exit status, or -1. */
int
hp_server_stop(struct hp_server *s)
{
    int64_t deadline = hl_mono_us() + STOP_TIMEOUT_MS * 1000LL;
    int status = 0;
    pid_t r;

    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    while ((r = waitpid(s->pid, &status, WNOHANG)) == 0 && hl_mono_us() < deadline)
        pause_us(5000);
    if (r == 0) {
        fprintf(stderr, "bench_http: the server ignored SIGTERM; killing it\n");
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &status, 0);
    }
    s->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
