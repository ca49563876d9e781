/*
 * log.h — structured logs as JSON lines.
 *
 * Owns: the log sink (the only mutable global of the project: a level and
 * a FILE*, stderr by default) and formatting one JSON object per line:
 *   {"ts":"2024-05-01T10:00:03.1230000Z","level":"info","msg":"...","k":"v",...}
 * Threading: dt_log may be called from any thread; each line is written
 * with one fwrite under a lock, so lines never interleave, or, between
 * dt_log_async_start and dt_log_async_stop, handed to a log thread that
 * writes them in batches.
 */
#ifndef DT_BASE_LOG_H
#define DT_BASE_LOG_H

#include <stdbool.h>
#include <stdio.h>

enum dt_log_level { DT_LOG_DEBUG, DT_LOG_INFO, DT_LOG_WARN, DT_LOG_ERROR, DT_LOG_OFF };

/* Lines below `level` are dropped; sink NULL = stderr. */
void dt_log_setup(enum dt_log_level level, FILE *sink);
/* From now on lines are written by a log thread, in batches at most a few
 * milliseconds after they are logged (warnings and errors at once), rather
 * than by each caller: a server's way, where a write per request costs. A
 * crash loses those milliseconds of lines. 0, or -1 when the thread could
 * not start (lines stay synchronous). */
int dt_log_async_start(void);
/* Writes what is pending and stops the log thread: synchronous again. Call
 * before changing the sink with dt_log_setup. */
void dt_log_async_stop(void);
/* Parses "debug", "info", "warn", "error", "off"; -1 otherwise. */
int dt_log_level_parse(const char *name);

/* Whether a line at `level` would be written: lets a caller skip
 * formatting fields nobody reads. */
bool dt_log_is_on(enum dt_log_level level);

/* Logs msg with string fields given as key, value pairs ending with NULL;
 * a NULL value is written as JSON null. Example:
 *   dt_log(DT_LOG_INFO, "instance started", "instanceId", id, "name", n, NULL);
 */
void dt_log(enum dt_log_level level, const char *msg, ...) __attribute__((sentinel));

#endif
