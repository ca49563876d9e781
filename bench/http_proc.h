/*
 * http_proc.h — bench_http's view of the server process: its temporary
 * directory, starting `durata serve` and reading its port, its memory and
 * CPU from /proc, and stopping it with SIGTERM by PID.
 *
 * Owns: the directory (store, WAL, the server's log) until
 * hp_workdir_remove, and the child process until hp_server_stop.
 * Threading: the calling thread only.
 */
#ifndef BENCH_HTTP_PROC_H
#define BENCH_HTTP_PROC_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define HP_MAX_SERVER_ARGS 32
#define HP_MAX_THREAD_NAMES 64

struct hp_server {
    pid_t pid;
    struct sockaddr_in addr;
    char host[64]; /* "127.0.0.1:port", the Host header */
    char dir[1024];
    char db[1100];
    char log[1100];
};

/* CPU seconds spent so far, per server thread name and in total. */
struct hp_cpu {
    double machine_s; /* busy time of every CPU (/proc/stat) */
    double client_s;
    double server_s;
    size_t n_names;
    char names[HP_MAX_THREAD_NAMES][20];
    double name_s[HP_MAX_THREAD_NAMES];
    int name_threads[HP_MAX_THREAD_NAMES];
};

/* A fresh "durata-hbench-XXXXXX" under parent (warns on tmpfs); fills the
 * paths of s. 0 or -1. */
int hp_workdir_make(const char *parent, struct hp_server *s);
/* Removes the store files, the log and the directory. */
void hp_workdir_remove(const struct hp_server *s);

/* Runs `bin serve --listen 127.0.0.1:0 --store DB args...` with stderr to
 * the log and waits (30 s at most) for its "listening on" line: s->pid,
 * s->addr and s->host are then set. 0 or -1. */
int hp_server_start(struct hp_server *s, const char *bin, const char *const *args, size_t n_args);
/* VmHWM and VmRSS of the server in KiB (-1 when unknown). */
void hp_server_memory(const struct hp_server *s, long *hwm_kb, long *rss_kb);
/* SIGTERM, then SIGKILL after 30 s; the exit status, or -1. */
int hp_server_stop(struct hp_server *s);

/* The CPU used so far by the machine, this process and the server. */
void hp_cpu_snapshot(pid_t pid, struct hp_cpu *s);
/* Prints the CPU use between a and b over `wall` seconds, per request, and
 * per server thread name when per_thread. */
void hp_cpu_report(const char *phase, const struct hp_cpu *a, const struct hp_cpu *b, double wall,
                   size_t requests, bool per_thread);

#endif
