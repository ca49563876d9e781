/*
 * test_jobs_support.h — helpers shared by the end-to-end tests of the job
 * API (tests/e2e/test_jobs_*.c): requests with parsed JSON answers,
 * submitting jobs, reading a job, waiting for a job status, and checking
 * error bodies.
 * Included by each test file (static inline, so unused ones cost nothing);
 * not a test itself (the e2e glob takes test_*.c only).
 * Threading: the test's thread.
 */
#ifndef DT_TEST_JOBS_SUPPORT_H
#define DT_TEST_JOBS_SUPPORT_H

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

/* An answer: status, parsed JSON body (NULL when empty or not JSON) and
 * the raw response (for headers). */
struct jb_answer {
    long status;
    json_t *json;
    struct e2e_resp raw;
};

static inline void
jb_answer_release(struct jb_answer *a)
{
    json_decref(a->json);
    e2e_resp_release(&a->raw);
    memset(a, 0, sizeof(*a));
}

/* One request to the server; fails the test on a transport error. */
static inline void
jb_call(const struct e2e_server *s, const char *method, const char *path, const char *body,
        const char *const *headers, struct jb_answer *out)
{
    memset(out, 0, sizeof(*out));
    assert_int_equal(e2e_request(s, method, path, body, headers, &out->raw), 0);
    out->status = out->raw.status;
    out->json = out->raw.body && *out->raw.body ? json_loads(out->raw.body, 0, NULL) : NULL;
}

/* Same to an absolute URL. */
static inline void
jb_call_url(const char *method, const char *url, const char *body, struct jb_answer *out)
{
    memset(out, 0, sizeof(*out));
    assert_int_equal(e2e_request_url(method, url, body, NULL, &out->raw), 0);
    out->status = out->raw.status;
    out->json = out->raw.body && *out->raw.body ? json_loads(out->raw.body, 0, NULL) : NULL;
}

/* snprintf into the caller's buffer, asserting fit. */
static inline const char *jb_fmt(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline const char *
jb_fmt(char *buf, size_t size, const char *fmt, ...)
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
jb_str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    if (!json_is_string(v))
        fail_msg("member \"%s\" is not a string", key);
    return json_string_value(v);
}

/* The member of v at the path of keys given, ending with NULL (NULL when
 * any step is missing). */
static inline json_t *
jb_at(const json_t *v, ...)
{
    va_list ap;
    const char *key;

    va_start(ap, v);
    while (v && (key = va_arg(ap, const char *)))
        v = json_object_get(v, key);
    va_end(ap);
    return (json_t *)v;
}

/* Does the JSON value equal the JSON text? */
static inline bool
jb_json_eq(const json_t *v, const char *text)
{
    json_t *want = json_loads(text, JSON_DECODE_ANY, NULL);
    bool eq = want && v && json_equal((json_t *)v, want);

    json_decref(want);
    return eq;
}

/* Asserts the answer's status (printing the body when it differs). */
static inline void
jb_expect(const struct jb_answer *a, long status)
{
    if (a->status != status)
        fail_msg("expected %ld, got %ld: %s", status, a->status, a->raw.body);
}

/* Asserts an error body {"error":{"code":code,...}}. */
static inline void
jb_expect_error(const struct jb_answer *a, long status, const char *code)
{
    const json_t *err = json_object_get(a->json, "error");

    jb_expect(a, status);
    if (!json_is_object(err) || !json_is_string(json_object_get(err, "message")))
        fail_msg("no error body: %s", a->raw.body);
    assert_string_equal(jb_str(err, "code"), code);
}

/* true when error.fields names field. */
static inline bool
jb_error_names(const struct jb_answer *a, const char *field)
{
    const json_t *fields = json_object_get(json_object_get(a->json, "error"), "fields");

    for (size_t i = 0; i < json_array_size(fields); i++) {
        const char *f = json_string_value(json_object_get(json_array_get(fields, i), "field"));
        if (f && strcmp(f, field) == 0)
            return true;
    }
    return false;
}

/* POSTs body to /api/jobs (with extra headers), asserting 202; returns the
 * job id (malloc'd). */
static inline char *
jb_submit_h(const struct e2e_server *s, const char *body, const char *const *headers)
{
    struct jb_answer a;
    char *id;

    jb_call(s, "POST", "/api/jobs", body, headers, &a);
    jb_expect(&a, 202);
    id = strdup(jb_str(a.json, "job_id"));
    assert_non_null(id);
    jb_answer_release(&a);
    return id;
}

static inline char *
jb_submit(const struct e2e_server *s, const char *body)
{
    return jb_submit_h(s, body, NULL);
}

/* GET /api/jobs/{id}: the job view (caller decrefs), code in *status. */
static inline json_t *
jb_get(const struct e2e_server *s, const char *id, long *status)
{
    char path[512];
    struct jb_answer a;
    json_t *v;

    jb_call(s, "GET", jb_fmt(path, sizeof(path), "/api/jobs/%s", id), NULL, NULL, &a);
    if (status)
        *status = a.status;
    v = json_incref(a.json);
    jb_answer_release(&a);
    return v;
}

/* Waits until the job's status is want (at most timeout_ms). */
static inline void
jb_wait_status(const struct e2e_server *s, const char *id, const char *want, int timeout_ms)
{
    char path[512];

    jb_fmt(path, sizeof(path), "/api/jobs/%s", id);
    if (!e2e_wait_field(s, path, "status", want, timeout_ms)) {
        long st;
        json_t *v = jb_get(s, id, &st);
        char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
        fail_msg("job %s never became %s; last: %ld %s", id, want, st, text ? text : "-");
    }
}

/* The server still answers /healthz. */
static inline void
jb_expect_healthy(const struct e2e_server *s)
{
    struct jb_answer a;

    jb_call(s, "GET", "/healthz", NULL, NULL, &a);
    jb_expect(&a, 200);
    jb_answer_release(&a);
}

#endif
