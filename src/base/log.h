/*
 * log.h — structured logs as JSON lines.
 *
 * Owns: the log sink (the only mutable global of the project: a level and
 * a FILE*, stderr by default) and formatting one JSON object per line:
 *   {"ts":"2024-05-01T10:00:03.1230000Z","level":"info","msg":"...","k":"v",...}
 * Threading: dt_log may be called from any thread; each line is written
 * with one fwrite under a lock, so lines never interleave.
 */
#ifndef DT_BASE_LOG_H
#define DT_BASE_LOG_H

#include <stdio.h>

enum dt_log_level { DT_LOG_DEBUG, DT_LOG_INFO, DT_LOG_WARN, DT_LOG_ERROR, DT_LOG_OFF };

/* Lines below `level` are dropped; sink NULL = stderr. */
void dt_log_setup(enum dt_log_level level, FILE *sink);
/* Parses "debug", "info", "warn", "error", "off"; -1 otherwise. */
int dt_log_level_parse(const char *name);

/* Logs msg with string fields given as key, value pairs ending with NULL;
 * a NULL value is written as JSON null. Example:
 *   dt_log(DT_LOG_INFO, "instance started", "instanceId", id, "name", n, NULL);
 */
void dt_log(enum dt_log_level level, const char *msg, ...) __attribute__((sentinel));

#endif
