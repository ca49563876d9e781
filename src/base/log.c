/*
 * log.c — structured logs: one JSON object per line.
 *
 * Owns: the log sink, the project's only mutable global: the minimum level
 * (an atomic, read without the lock so dropped lines cost nothing) and the
 * FILE * (guarded by log_lock). Each line is written as text straight into a
 * buffer outside the lock (the same bytes as jansson's compact dump of the
 * object; see dt_json_append_str) and written with one fwrite under it,
 * so concurrent lines never interleave. Fields keep the order given; "ts",
 * "level" and "msg" come first and cannot be overridden by caller fields.
 * Threading: every function may be called from any thread.
 */
#include "base/log.h"

#include "base/buf.h"
#include "base/json.h"

#include "base/clock.h"
#include "base/time.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
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

#define LOG_MAX_FIELDS 32 /* more pairs than this in one call are dropped */

/* Whether key may be written: a JSON key (UTF-8), not reserved, not given
 * before in this line (keys[0..n)). */
static bool
log_key_is_new(const char *key, const char *const *keys, size_t n)
{
    static const char *const reserved[] = {"ts", "level", "msg"};

    if (!dt_utf8_is_valid(key))
        return false;
    for (size_t i = 0; i < 3; i++)
        if (strcmp(key, reserved[i]) == 0)
            return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(key, keys[i]) == 0)
            return false;
    return true;
}

/* Appends the key/value pairs of ap as members. 0 or DURATA_ENOMEM. */
static int
log_add_fields(struct dt_buf *b, va_list ap)
{
    const char *keys[LOG_MAX_FIELDS];
    const char *key;
    size_t n = 0;
    int rc = 0;

    while ((key = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);

        /* Reserved and repeated keys keep their first value; a key that is
         * not UTF-8 cannot be a JSON key and drops its pair. */
        if (rc < 0 || n == LOG_MAX_FIELDS || !log_key_is_new(key, keys, n))
            continue;
        keys[n++] = key;
        rc = dt_buf_append(b, ",", 1);
        if (rc == 0)
            rc = dt_json_append_str(b, key);
        if (rc == 0)
            rc = dt_buf_append(b, ":", 1);
        if (rc == 0)
            rc = dt_json_append_str(b, value);
    }
    return rc;
}

/* Writes the line in b (a newline is added) with one fwrite under the
 * lock. */
static void
log_write(struct dt_buf *b)
{
    FILE *out;

    if (dt_buf_append(b, "\n", 1) < 0)
        return;
    pthread_mutex_lock(&log_lock);
    out = log_sink ? log_sink : stderr;
    fwrite(b->data, 1, b->len, out);
    fflush(out);
    pthread_mutex_unlock(&log_lock);
}

void
dt_log(enum dt_log_level level, const char *msg, ...)
{
    char ts[DT_TIME_TEXT_MAX];
    struct dt_buf b;
    va_list ap;
    int rc;

    if ((int)level < DT_LOG_DEBUG || level >= DT_LOG_OFF || (int)level < atomic_load(&log_level))
        return;
    dt_time_format_7(dt_clock_wall_ms(), ts, sizeof(ts));
    dt_buf_init(&b, SIZE_MAX);
    rc = dt_buf_reserve(&b, 256); /* most lines fit */
    if (rc == 0)
        rc = dt_buf_appends(&b, "{\"ts\":\"");
    if (rc == 0 && (rc = dt_buf_appends(&b, ts)) == 0 &&
        (rc = dt_buf_appends(&b, "\",\"level\":\"")) == 0 &&
        (rc = dt_buf_appends(&b, level_names[level])) == 0 &&
        (rc = dt_buf_appends(&b, "\",\"msg\":")) == 0)
        rc = dt_json_append_str(&b, msg);
    va_start(ap, msg);
    if (rc == 0)
        rc = log_add_fields(&b, ap);
    va_end(ap);
    /* Out of memory drops the line: logging must never take the caller down. */
    if (rc == 0 && dt_buf_append(&b, "}", 1) == 0)
        log_write(&b);
    dt_buf_release(&b);
}
