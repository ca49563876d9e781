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
 * In asynchronous mode (a server's, dt_log_async_start) a line is appended
 * to a pending buffer under the lock instead, and the log thread writes
 * what is pending in one fwrite at most LOG_FLUSH_MS after its first line
 * (at once for warnings and errors, and when the buffer is large): a write
 * per line cost a busy server a system call per request. The thread is
 * woken once per batch. Past LOG_PENDING_MAX a line waits for the thread
 * to catch up rather than growing the buffer.
 * Threading: every function may be called from any thread; the async
 * start and stop from one thread at a time.
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
#include <time.h>

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

#define LOG_FLUSH_MS 5
#define LOG_URGENT_BYTES (64 * 1024)
#define LOG_PENDING_MAX (4 * 1024 * 1024)

static _Atomic int log_level = DT_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_sink; /* guarded by log_lock; NULL = stderr */

/* Asynchronous mode; guarded by log_lock. */
static struct {
    bool on;     /* lines go to `pending` */
    bool stop;   /* the thread writes what is pending and ends */
    bool urgent; /* write now, without waiting for LOG_FLUSH_MS */
    struct dt_buf pending;
    pthread_cond_t wake;    /* the thread's: a first line, urgency or stop */
    pthread_cond_t drained; /* appenders': pending was taken */
    pthread_t thread;
} log_async = {.wake = PTHREAD_COND_INITIALIZER, .drained = PTHREAD_COND_INITIALIZER};

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

/* The sink (log_lock held). */
static FILE *
log_file(void)
{
    return log_sink ? log_sink : stderr;
}

static void
log_out(FILE *out, const char *data, size_t len)
{
    fwrite(data, 1, len, out);
    fflush(out);
}

/* Waits (log_lock held) until LOG_FLUSH_MS after now, or sooner when
 * urgent or stopping. */
static void
log_thread_linger(void)
{
    struct timespec until;

    dt_clock_deadline(CLOCK_MONOTONIC, LOG_FLUSH_MS, &until);
    while (!log_async.urgent && !log_async.stop &&
           pthread_cond_timedwait(&log_async.wake, &log_lock, &until) == 0)
        ;
}

/* The log thread: takes what is pending, writes it outside the lock. The
 * sink is only written here while asynchronous, so batches keep order. */
static void *
log_thread(void *arg)
{
    struct dt_buf batch, swap;
    FILE *out;

    (void)arg;
    dt_buf_init(&batch, SIZE_MAX);
    pthread_mutex_lock(&log_lock);
    for (;;) {
        while (!log_async.stop && log_async.pending.len == 0)
            pthread_cond_wait(&log_async.wake, &log_lock);
        log_thread_linger();
        if (log_async.pending.len == 0 && log_async.stop) {
            log_async.on = false; /* lines from now on are written at once */
            break;
        }
        swap = log_async.pending;
        log_async.pending = batch;
        batch = swap;
        log_async.urgent = false;
        pthread_cond_broadcast(&log_async.drained);
        out = log_file();
        pthread_mutex_unlock(&log_lock);
        log_out(out, batch.data, batch.len);
        dt_buf_reset(&batch);
        pthread_mutex_lock(&log_lock);
    }
    pthread_mutex_unlock(&log_lock);
    dt_buf_release(&batch);
    return NULL;
}

int
dt_log_async_start(void)
{
    int rc;

    pthread_mutex_lock(&log_lock);
    if (log_async.on) {
        pthread_mutex_unlock(&log_lock);
        return 0;
    }
    dt_buf_init(&log_async.pending, SIZE_MAX);
    log_async.stop = log_async.urgent = false;
    /* The linger is timed on the monotonic clock: a wall clock set back
     * must not hold lines for as long. Nobody waits on `wake` now. */
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_destroy(&log_async.wake);
    pthread_cond_init(&log_async.wake, &attr);
    pthread_condattr_destroy(&attr);
    rc = pthread_create(&log_async.thread, NULL, log_thread, NULL);
    log_async.on = rc == 0;
    pthread_mutex_unlock(&log_lock);
    return rc == 0 ? 0 : -1;
}

void
dt_log_async_stop(void)
{
    pthread_mutex_lock(&log_lock);
    if (!log_async.on) {
        pthread_mutex_unlock(&log_lock);
        return;
    }
    log_async.stop = true;
    pthread_cond_signal(&log_async.wake);
    pthread_mutex_unlock(&log_lock);
    pthread_join(log_async.thread, NULL);
    pthread_mutex_lock(&log_lock);
    dt_buf_release(&log_async.pending);
    pthread_cond_broadcast(&log_async.drained);
    pthread_mutex_unlock(&log_lock);
}

/* Hands the line to the log thread (log_lock held); false when it must be
 * written here (out of memory). */
static bool
log_hand_over(const struct dt_buf *line, enum dt_log_level level)
{
    bool first;

    while (log_async.on && log_async.pending.len > LOG_PENDING_MAX)
        pthread_cond_wait(&log_async.drained, &log_lock);
    if (!log_async.on)
        return false;
    first = log_async.pending.len == 0;
    if (dt_buf_append(&log_async.pending, line->data, line->len) < 0)
        return false;
    if (level >= DT_LOG_WARN || log_async.pending.len >= LOG_URGENT_BYTES)
        log_async.urgent = true;
    if (first || log_async.urgent)
        pthread_cond_signal(&log_async.wake);
    return true;
}

/* Writes the line in b (a newline is added): with one fwrite under the
 * lock, or handed to the log thread. */
static void
log_write(struct dt_buf *b, enum dt_log_level level)
{
    if (dt_buf_append(b, "\n", 1) < 0)
        return;
    pthread_mutex_lock(&log_lock);
    if (!log_hand_over(b, level))
        log_out(log_file(), b->data, b->len);
    pthread_mutex_unlock(&log_lock);
}

bool
dt_log_is_on(enum dt_log_level level)
{
    return (int)level >= DT_LOG_DEBUG && level < DT_LOG_OFF &&
           (int)level >= atomic_load(&log_level);
}

void
dt_log(enum dt_log_level level, const char *msg, ...)
{
    char ts[DT_TIME_TEXT_MAX];
    struct dt_buf b;
    va_list ap;
    int rc;

    if (!dt_log_is_on(level))
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
        log_write(&b, level);
    dt_buf_release(&b);
}
