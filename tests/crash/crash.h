/*
 * crash.h — shared pieces of the SIGKILL crash-safety test: the workload
 * (an orchestration of 3 sequential activities then a 5-way fan-out, whose
 * output is a pure function of its input), the file layout, and small
 * helpers for the fsync'd append-only record files.
 *
 * The test is two processes: crash_test.c (the parent: forks, kills,
 * verifies) and crash_child.c (a hub that starts and runs the workload
 * until it is killed or everything completed). They talk only through the
 * store and two files:
 *  - the journal: one line "<instance id> <task id>" per activity
 *    execution, appended and fsync'd before the activity returns its result;
 *  - the acked file: one line "<instance id>" per durata_start that returned
 *    0, appended and fsync'd right after it returned.
 * Only the public API (include/durata.h) is used.
 * Threading: the helpers are thread-safe (no shared state).
 */
#ifndef CRASH_H
#define CRASH_H

#include <stdbool.h>
#include <stddef.h>

#define CRASH_SEQ 3                         /* sequential activities */
#define CRASH_FAN 5                         /* fanned-out activities */
#define CRASH_TASKS (CRASH_SEQ + CRASH_FAN) /* tasks per instance */
#define CRASH_ORCH "CrashSeqFan"
#define CRASH_ID_SIZE 32

struct crash_paths {
    char dir[512];
    char db[600];
    char journal[600];
    char acked[600];
};

/* What a child does. */
struct crash_child_config {
    const struct crash_paths *paths;
    int instances;      /* ids crash-000000 .. instances-1 */
    long wait_limit_ms; /* total time the child waits for completion */
};

/* The activities' pure functions (inputs and outputs are small integers). */
long long crash_mix(long long v);
long long crash_square(long long v);

/* The output instance k must complete with, as JSON text. */
void crash_expected_output(int k, char *buf, size_t size);

/* "crash-000042" for k = 42. */
void crash_instance_id(int k, char *buf, size_t size);
/* The k of an instance id, or -1 when it is not one of ours. */
int crash_parse_instance_id(const char *id);

/* Parses JSON text holding an integer into *v; false otherwise. */
bool crash_json_integer(const char *text, long long *v);

/* Appends line (with its '\n') in one write and fsyncs; 0 or -1 (errno). */
int crash_append_sync(int fd, const char *line, size_t len);

/* Calls fn for every complete line of the file at path (a torn last line
 * without '\n' is skipped); the line is NUL-terminated without its '\n'.
 * A missing file has no lines. 0, or -1 when the file cannot be read. */
int crash_for_each_line(const char *path, void (*fn)(char *line, void *arg), void *arg);

/* Milliseconds of CLOCK_MONOTONIC. */
long long crash_mono_ms(void);

/* The child process body; returns its exit status. */
int crash_child_main(const struct crash_child_config *cfg);

#endif
