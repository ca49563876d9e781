/*
 * test_jobs_openapi.c — end to end: GET /api/openapi.json and the router
 * agree both ways.
 *  - Every documented operation is routed: each (method, path) of the
 *    document, with its {captures} filled in, reaches a handler (anything
 *    but the router's own 404, whose message is "no such route" or "this
 *    path does not take this method").
 *  - Every routed operation is documented: on each documented path, every
 *    method the router takes is in the document; and every route the
 *    issue asks for (the catalogue below) is both documented and routed.
 * Also: the document's shape (OpenAPI 3.1, components, the job types of
 * the server as the enum of job_type, $refs that resolve).
 * One server for the file.
 */
#include "test_jobs_support.h"

#define DF "/runtime/webhooks/durabletask"

static struct e2e_server srv;
static json_t *doc;

static int
group_setup(void **state)
{
    struct jb_answer a;

    (void)state;
    if (e2e_start(&srv, NULL) != 0)
        return -1;
    jb_call(&srv, "GET", "/api/openapi.json", NULL, NULL, &a);
    if (a.status != 200 || !json_is_object(a.json)) {
        jb_answer_release(&a);
        return -1;
    }
    doc = json_incref(a.json);
    jb_answer_release(&a);
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    json_decref(doc);
    e2e_cleanup(&srv);
    return 0;
}

/* The routes issue 3, seed 002 and the spec (section 5) ask for. */
static const char *const catalogue[][2] = {
    {"GET", "/api/job-start/{jobName}"},
    {"POST", "/api/job-start/{jobName}"},
    {"POST", "/api/jobs"},
    {"GET", "/api/jobs"},
    {"GET", "/api/jobs/{id}"},
    {"DELETE", "/api/jobs/{id}"},
    {"DELETE", "/api/jobs/{id}/history"},
    {"GET", "/api/openapi.json"},
    {"GET", "/healthz"},
    {"GET", "/readyz"},
    {"POST", DF "/orchestrators/{name}"},
    {"POST", DF "/orchestrators/{name}/{id}"},
    {"GET", DF "/instances"},
    {"DELETE", DF "/instances"},
    {"GET", DF "/instances/{id}"},
    {"DELETE", DF "/instances/{id}"},
    {"POST", DF "/instances/{id}/raiseEvent/{event}"},
    {"POST", DF "/instances/{id}/terminate"},
    {"POST", DF "/instances/{id}/suspend"},
    {"POST", DF "/instances/{id}/resume"},
    {"POST", DF "/instances/{id}/rewind"},
    {"POST", DF "/instances/{id}/restart"},
};

static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};

/* A fresh job to aim a probe at (probes may terminate or purge it). */
static char *
probe_job(void)
{
    return jb_submit(&srv, "{\"job_type\":\"sleep\",\"payload\":{\"ms\":60000}}");
}

/* path with each {capture} replaced: {name} by the job orchestrator,
 * {event} by "ping", anything else (ids) by job_id. */
static const char *
fill(char *buf, size_t size, const char *path, const char *job_id)
{
    size_t o = 0;

    for (const char *p = path; *p;) {
        const char *end = *p == '{' ? strchr(p, '}') : NULL;
        const char *value;

        if (!end) {
            assert_true(o + 1 < size);
            buf[o++] = *p++;
            continue;
        }
        if (strncmp(p, "{name}", 6) == 0)
            value = "durata.Job";
        else if (strncmp(p, "{event}", 7) == 0)
            value = "ping";
        else
            value = job_id;
        assert_true(o + strlen(value) < size);
        memcpy(buf + o, value, strlen(value));
        o += strlen(value);
        p = end + 1;
    }
    buf[o] = '\0';
    return buf;
}

/* true when method + path (captures filled) reaches a handler. */
static bool
is_routed(const char *method, const char *path)
{
    static const char *const json[] = {"Content-Type: application/json", NULL};
    char url[1024], *id = probe_job();
    const char *msg;
    struct jb_answer a;
    bool routed;

    jb_call(&srv, method, fill(url, sizeof(url), path, id),
            strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ? "{}" : NULL, json, &a);
    msg = json_string_value(jb_at(a.json, "error", "message", NULL));
    routed = !(a.status == 404 && msg &&
               (strcmp(msg, "no such route") == 0 ||
                strcmp(msg, "this path does not take this method") == 0));
    jb_answer_release(&a);
    free(id);
    return routed;
}

static bool
is_documented(const char *method, const char *path)
{
    char lower[16];
    size_t i;

    for (i = 0; method[i] && i + 1 < sizeof(lower); i++)
        lower[i] = (char)(method[i] | 0x20);
    lower[i] = '\0';
    return jb_at(doc, "paths", path, lower, NULL) != NULL;
}

static void
test_probe_tells_routed_from_unrouted(void **state)
{
    (void)state;
    /* the probe can fail: these are not routes */
    assert_false(is_routed("GET", "/api/no-such-thing"));
    assert_false(is_routed("PUT", "/api/jobs"));
    assert_false(is_routed("POST", "/api/jobs/{id}/history"));
    assert_true(is_routed("GET", "/api/jobs/{id}"));
    assert_false(is_documented("PUT", "/api/jobs"));
}

static void
test_every_documented_operation_is_routed(void **state)
{
    json_t *paths = json_object_get(doc, "paths"), *item;
    size_t n = 0;

    (void)state;
    for (void *p = json_object_iter(paths); p; p = json_object_iter_next(paths, p)) {
        item = json_object_iter_value(p);
        for (void *m = json_object_iter(item); m; m = json_object_iter_next(item, m)) {
            const char *method = json_object_iter_key(m);
            char upper[16];
            size_t i;

            for (i = 0; method[i] && i + 1 < sizeof(upper); i++)
                upper[i] = (char)(method[i] & ~0x20);
            upper[i] = '\0';
            if (!is_routed(upper, json_object_iter_key(p)))
                fail_msg("documented but not routed: %s %s", upper, json_object_iter_key(p));
            n++;
        }
    }
    assert_true(n >= sizeof(catalogue) / sizeof(catalogue[0]));
}

static void
test_every_routed_method_is_documented(void **state)
{
    json_t *paths = json_object_get(doc, "paths");

    (void)state;
    for (void *p = json_object_iter(paths); p; p = json_object_iter_next(paths, p)) {
        const char *path = json_object_iter_key(p);

        for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
            bool routed = is_routed(methods[m], path);
            if (routed != is_documented(methods[m], path))
                fail_msg("%s %s: routed %d, documented %d", methods[m], path, routed, !routed);
        }
    }
}

static void
test_the_catalogue_is_documented_and_routed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(catalogue) / sizeof(catalogue[0]); i++) {
        if (!is_documented(catalogue[i][0], catalogue[i][1]))
            fail_msg("not documented: %s %s", catalogue[i][0], catalogue[i][1]);
        if (!is_routed(catalogue[i][0], catalogue[i][1]))
            fail_msg("not routed: %s %s", catalogue[i][0], catalogue[i][1]);
    }
}

/* Asserts every "$ref" under v names an existing component. */
static void
check_refs(const json_t *v)
{
    char section[64], name[128];

    for (size_t i = 0; i < json_array_size(v); i++)
        check_refs(json_array_get(v, i));
    for (void *it = json_object_iter((json_t *)v); it;
         it = json_object_iter_next((json_t *)v, it)) {
        const json_t *x = json_object_iter_value(it);

        if (strcmp(json_object_iter_key(it), "$ref") != 0) {
            check_refs(x);
            continue;
        }
        if (sscanf(json_string_value(x), "#/components/%63[^/]/%127s", section, name) != 2)
            fail_msg("malformed $ref %s", json_string_value(x));
        if (!jb_at(doc, "components", section, name, NULL))
            fail_msg("dangling $ref %s", json_string_value(x));
    }
}

static void
test_document_shape(void **state)
{
    const json_t *op, *jt, *params;
    bool has_id = false;

    (void)state;
    assert_string_equal(jb_str(doc, "openapi"), "3.1.0");
    assert_string_equal(jb_str(json_object_get(doc, "info"), "title"), "durata");
    check_refs(doc);
    op = jb_at(doc, "paths", "/api/jobs", "post", NULL);
    assert_non_null(jb_at(op, "responses", "202", NULL));
    assert_non_null(jb_at(op, "responses", "422", NULL));
    assert_non_null(json_object_get(op, "requestBody"));
    jt = jb_at(doc, "components", "schemas", "JobCreateRequest", "properties", "job_type", "enum",
               NULL);
    assert_true(jb_json_eq(jt, "[\"echo\",\"sleep\",\"fail\",\"thumbnail\"]"));
    params = jb_at(doc, "paths", "/api/jobs/{id}", "get", "parameters", NULL);
    for (size_t i = 0; i < json_array_size(params); i++) {
        const json_t *p = json_array_get(params, i);

        if (strcmp(jb_str(p, "name"), "id") == 0 && strcmp(jb_str(p, "in"), "path") == 0)
            has_id = json_is_true(json_object_get(p, "required"));
    }
    assert_true(has_id);
    assert_string_equal(jb_str(json_array_get(json_object_get(doc, "servers"), 0), "url"),
                        srv.base);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_tells_routed_from_unrouted),
        cmocka_unit_test(test_every_documented_operation_is_routed),
        cmocka_unit_test(test_every_routed_method_is_documented),
        cmocka_unit_test(test_the_catalogue_is_documented_and_routed),
        cmocka_unit_test(test_document_shape),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
