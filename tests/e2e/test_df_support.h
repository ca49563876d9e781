/*
 * test_df_support.h — helpers shared by the end-to-end tests of the Durable
 * Functions management API (tests/e2e/test_df_*.c): requests whose JSON
 * body is parsed, starting instances, waiting for a status.
 * Included by each test file (static inline, so unused ones cost nothing);
 * not a test itself (the e2e glob takes test_*.c only).
 * Threading: the test's thread.
 */
#ifndef DT_TEST_DF_SUPPORT_H
#define DT_TEST_DF_SUPPORT_H

#include "harness.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cmocka.h>

#define DF "/runtime/webhooks/durabletask"

/* One request; the body parsed as JSON (NULL when empty or not JSON).
 * Fails the test on a transport error. */
static inline json_t *
df_call(const struct e2e_server *s, const char *method, const char *path, const char *body,
        const char *const *headers, struct e2e_resp *out)
{
    json_error_t err;

    memset(out, 0, sizeof(*out));
    assert_int_equal(e2e_request(s, method, path, body, headers, out), 0);
    if (!out->body || !*out->body)
        return NULL;
    return json_loads(out->body, JSON_DECODE_ANY, &err);
}

/* Same, answering only the status code. */
static inline long
df_status(const struct e2e_server *s, const char *method, const char *path, const char *body,
          const char *const *headers)
{
    struct e2e_resp r;
    json_t *v = df_call(s, method, path, body, headers, &r);
    long status = r.status;

    json_decref(v);
    e2e_resp_release(&r);
    return status;
}

/* snprintf into a static-size buffer the caller provides, asserting fit. */
static inline const char *df_fmt(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline const char *
df_fmt(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < size);
    return buf;
}

/* The string member key of o (fails the test when absent). */
static inline const char *
df_str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    if (!json_is_string(v))
        fail_msg("member \"%s\" is not a string", key);
    return json_string_value(v);
}

/* Starts orchestrator name (with instance id, or a generated one when id is
 * NULL) with the JSON body; asserts 202 and returns the instance id
 * (malloc'd). */
static inline char *
df_start(const struct e2e_server *s, const char *name, const char *id, const char *body)
{
    char path[512];
    struct e2e_resp r;
    json_t *v;
    char *out;

    if (id)
        df_fmt(path, sizeof(path), DF "/orchestrators/%s/%s", name, id);
    else
        df_fmt(path, sizeof(path), DF "/orchestrators/%s", name);
    v = df_call(s, "POST", path, body, NULL, &r);
    if (r.status != 202)
        fail_msg("start %s: %ld %s", name, r.status, r.body);
    out = strdup(df_str(v, "id"));
    json_decref(v);
    e2e_resp_release(&r);
    assert_non_null(out);
    return out;
}

/* Starts a job of the built-in job orchestration. */
static inline char *
df_start_job(const struct e2e_server *s, const char *id, const char *job_type, const char *payload)
{
    char body[512];

    df_fmt(body, sizeof(body), "{\"job_type\":\"%s\",\"payload\":%s}", job_type,
           payload ? payload : "null");
    return df_start(s, "durata.Job", id, body);
}

/* The status path of instance id (no query). */
static inline const char *
df_inst(char *buf, size_t size, const char *id, const char *suffix)
{
    return df_fmt(buf, size, DF "/instances/%s%s", id, suffix ? suffix : "");
}

/* GET status; returns the parsed body and the code in *status. */
static inline json_t *
df_get(const struct e2e_server *s, const char *id, const char *query, long *status)
{
    char path[512];
    struct e2e_resp r;
    json_t *v;

    df_fmt(path, sizeof(path), DF "/instances/%s%s", id, query ? query : "");
    v = df_call(s, "GET", path, NULL, NULL, &r);
    if (status)
        *status = r.status;
    e2e_resp_release(&r);
    return v;
}

/* Waits until the instance's runtimeStatus is want (at most timeout_ms). */
static inline void
df_wait_status(const struct e2e_server *s, const char *id, const char *want, int timeout_ms)
{
    char path[512];

    df_inst(path, sizeof(path), id, NULL);
    if (!e2e_wait_field(s, path, "runtimeStatus", want, timeout_ms)) {
        long st;
        json_t *v = df_get(s, id, NULL, &st);
        char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
        fail_msg("instance %s never reached %s; last: %ld %s", id, want, st, text ? text : "-");
    }
}

/* POST an operation on an instance (terminate, suspend, ...), no body,
 * sent as DF clients send it: application/json with Content-Length 0. */
static inline long
df_op(const struct e2e_server *s, const char *id, const char *op_and_query)
{
    static const char *const hdrs[] = {"Content-Type: application/json", NULL};
    char path[512];

    df_fmt(path, sizeof(path), DF "/instances/%s/%s", id, op_and_query);
    return df_status(s, "POST", path, "", hdrs);
}

/* Raises event name with JSON data. */
static inline long
df_raise(const struct e2e_server *s, const char *id, const char *name, const char *data)
{
    static const char *const hdrs[] = {"Content-Type: application/json", NULL};
    char path[512];

    df_fmt(path, sizeof(path), DF "/instances/%s/raiseEvent/%s", id, name);
    return df_status(s, "POST", path, data, hdrs);
}

/* DELETE instances/{id}; returns the code and instancesDeleted (-1 when
 * the body has none). */
static inline long
df_purge(const struct e2e_server *s, const char *id, long *deleted)
{
    char path[512];
    struct e2e_resp r;
    json_t *v;
    long status;

    v = df_call(s, "DELETE", df_inst(path, sizeof(path), id, NULL), NULL, NULL, &r);
    status = r.status;
    *deleted = json_is_integer(json_object_get(v, "instancesDeleted"))
                   ? (long)json_integer_value(json_object_get(v, "instancesDeleted"))
                   : -1;
    json_decref(v);
    e2e_resp_release(&r);
    return status;
}

/* Does the JSON value equal the JSON text? */
static inline bool
df_json_eq(const json_t *v, const char *text)
{
    json_error_t err;
    json_t *want = json_loads(text, JSON_DECODE_ANY, &err);
    bool eq = want && v && json_equal((json_t *)v, want);

    json_decref(want);
    return eq;
}

/* Stops the server (SIGTERM) and removes its directory; -1 (after
 * printing the server's log) unless it exited with status 0 — under the
 * sanitizers, a leak or error report makes the exit status non-zero. */
static inline int
df_stop_clean(struct e2e_server *s)
{
    int status = e2e_stop(s);

    if (status != 0) {
        FILE *f = fopen(s->log, "r");
        char line[1024];

        fprintf(stderr, "server exit status %d; its log:\n", status);
        while (f && fgets(line, sizeof(line), f))
            fputs(line, stderr);
        if (f)
            fclose(f);
    }
    e2e_cleanup(s);
    return status == 0 ? 0 : -1;
}

/* Wall clock in ms. */
static inline long long
df_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Time ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" (what JavaScript's toISOString
 * sends). */
static inline const char *
df_iso(char *buf, size_t size, long long ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    return df_fmt(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

#endif
