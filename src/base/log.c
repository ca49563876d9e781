/*
 * log.c — structured logs: one JSON object per line.
 *
 * Owns: the log sink, the project's only mutable global: the minimum level
 * (an atomic, read without the lock so dropped lines cost nothing) and the
 * FILE * (guarded by log_lock). Each line is built with jansson outside the
 * lock and written with one fwrite under it, so concurrent lines never
 * interleave. Fields keep the order given; "ts", "level" and "msg" come
 * first and cannot be overridden by caller fields.
 * Threading: every function may be called from any thread.
 */
#include "base/log.h"

#include "base/json.h"

#include "base/clock.h"
#include "base/time.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

static _Atomic int log_level = DT_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_sink; /* guarded by log_lock; NULL = stderr */

void
dt_log_setup(enum dt_log_level level, FILE *sink)
{
    pthread_mutex_lock(&log_lock);
    log_sink = sink;
    pthread_mutex_unlock(&log_lock);
    atomic_store(&log_level, (int)level);
}

int
dt_log_level_parse(const char *name)
{
    if (!name)
        return -1;
    for (int i = DT_LOG_DEBUG; i <= DT_LOG_OFF; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

/* Adds the key/value pairs of ap to obj. false on out of memory. */
static bool
log_add_fields(json_t *obj, va_list ap)
{
    const char *key;

    while ((key = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);
        json_t *v = value ? dt_json_string_lossy(value) : json_null();
        if (!v)
            return false;
        /* Reserved and repeated keys keep their first value. A key that is
         * not UTF-8 cannot be a JSON key: json_object_set_new then drops
         * the pair (and releases v itself). */
        if (json_object_get(obj, key))
            json_decref(v);
        else
            (void)json_object_set_new(obj, key, v);
    }
    return true;
}

/* Writes text and a newline as one fwrite under the lock. */
static void
log_write(const char *text)
{
    size_t len = strlen(text);
    char *line = malloc(len + 2);
    FILE *out;

    if (!line)
        return;
    memcpy(line, text, len);
    line[len] = '\n';
    line[len + 1] = '\0';
    pthread_mutex_lock(&log_lock);
    out = log_sink ? log_sink : stderr;
    fwrite(line, 1, len + 1, out);
    fflush(out);
    pthread_mutex_unlock(&log_lock);
    free(line);
}

void
dt_log(enum dt_log_level level, const char *msg, ...)
{
    char ts[DT_TIME_TEXT_MAX];
    json_t *obj;
    char *text;
    va_list ap;
    bool ok;

    if ((int)level < DT_LOG_DEBUG || level >= DT_LOG_OFF || (int)level < atomic_load(&log_level))
        return;
    dt_time_format_7(dt_clock_wall_ms(), ts, sizeof(ts));
    obj = json_object();
    if (!obj)
        return;
    ok = json_object_set_new(obj, "ts", json_string(ts)) == 0 &&
         json_object_set_new(obj, "level", json_string(level_names[level])) == 0 &&
         json_object_set_new(obj, "msg", msg ? dt_json_string_lossy(msg) : json_null()) == 0;
    va_start(ap, msg);
    ok = ok && log_add_fields(obj, ap);
    va_end(ap);
    /* Out of memory drops the line: logging must never take the caller down. */
    text = ok ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (text)
        log_write(text);
    free(text);
}
