/*
 * test_job_accepted.c — the 202 answer to a submission (http/job_accepted.c):
 * answers made from a thread's template are the answers built piece by
 * piece, whatever the sequence of hosts, keys and ids; and the answer has
 * the documented fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "http/job_accepted.h"

struct answer {
    char *body;
    char *location;
};

static const char *
header_of(const struct dt_http_resp *resp, const char *key)
{
    for (size_t i = 0; i < resp->n_headers; i++)
        if (strcmp(resp->headers[i].key, key) == 0)
            return resp->headers[i].value;
    return NULL;
}

/* The answer for id on base_url, the key in `code` and/or the header. */
static struct answer
answer(const char *base_url, const char *code, const char *header_key, const char *id)
{
    struct dt_http_kv query = {"code", (char *)code};
    struct dt_http_kv header = {"x-functions-key", (char *)header_key};
    struct dt_http_req req = {.method = "POST",
                              .path = "/api/jobs",
                              .base_url = base_url,
                              .query = code ? &query : NULL,
                              .n_query = code ? 1 : 0,
                              .headers = header_key ? &header : NULL,
                              .n_headers = header_key ? 1 : 0,
                              .body = ""};
    struct dt_http_resp resp = {0};
    struct answer a;

    assert_int_equal(dt_job_accepted(&req, &resp, id, false), 0);
    assert_int_equal(resp.status, 202);
    assert_string_equal(header_of(&resp, "Retry-After"), "2");
    a.body = strndup(resp.body, resp.body_len);
    a.location = strdup(header_of(&resp, "Location"));
    dt_http_resp_release(&resp);
    return a;
}

static void
answer_free(struct answer *a)
{
    free(a->body);
    free(a->location);
}

/* What the answer must hold for id on base_url with key (NULL: none). */
static void
assert_answer(const struct answer *a, const char *base_url, const char *key, const char *id,
              const char *encoded_id)
{
    char want[1024];
    json_error_t err;
    json_t *v = json_loads(a->body, 0, &err);

    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "status")), "accepted");
    assert_string_equal(json_string_value(json_object_get(v, "job_id")), id);
    assert_string_equal(json_string_value(json_object_get(v, "id")), id);
    snprintf(want, sizeof(want), "%s/api/jobs/%s%s%s", base_url, encoded_id, key ? "?code=" : "",
             key ? key : "");
    assert_string_equal(json_string_value(json_object_get(v, "status_url")), want);
    assert_string_equal(a->location, want);
    snprintf(want, sizeof(want),
             "%s/runtime/webhooks/durabletask/instances/%s/terminate?reason={text}&taskHub=durata"
             "&connection=Storage%s%s",
             base_url, encoded_id, key ? "&code=" : "", key ? key : "");
    assert_string_equal(json_string_value(json_object_get(v, "terminatePostUri")), want);
    assert_int_equal(json_object_size(v), 4 + 7);
    json_decref(v);
}

/* The same answers whether this thread's template fits, was built for
 * another host or key, or cannot be used; each checked in full. */
static void
test_answers_from_the_template_are_the_built_ones(void **state)
{
    static const struct {
        const char *base, *code, *header, *key, *id, *encoded;
    } seq[] = {
        {"http://127.0.0.1:8080", NULL, NULL, NULL, "018bcfe568001b5e", "018bcfe568001b5e"},
        {"http://127.0.0.1:8080", NULL, NULL, NULL, "abc", "abc"},
        {"http://127.0.0.1:8080", "k1", NULL, "k1", "abc", "abc"},
        {"http://127.0.0.1:8080", NULL, "k2", "k2", "abc", "abc"},
        {"https://jobs.example", NULL, NULL, NULL, "Z-9._~", "Z-9._~"},
        {"http://127.0.0.1:8080", NULL, NULL, NULL, "id with space", "id%20with%20space"},
        {"http://127.0.0.1:8080", NULL, NULL, NULL, "caf\xc3\xa9", "caf%C3%A9"},
        {"http://127.0.0.1:8080", "k&1", NULL, "k%261", "abc", "abc"},
        /* The marker in the host: the template cannot be kept. */
        {"http://0durata0id0marker0.example", NULL, NULL, NULL, "abc", "abc"},
        {"http://0durata0id0marker0.example", NULL, NULL, NULL, "def", "def"},
        {"http://127.0.0.1:8080", NULL, NULL, NULL, "018bcfe568001b5e", "018bcfe568001b5e"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        /* Twice: once maybe building the template, once from it. */
        struct answer a = answer(seq[i].base, seq[i].code, seq[i].header, seq[i].id);
        struct answer b = answer(seq[i].base, seq[i].code, seq[i].header, seq[i].id);
        assert_string_equal(a.body, b.body);
        assert_string_equal(a.location, b.location);
        assert_answer(&a, seq[i].base, seq[i].key, seq[i].id, seq[i].encoded);
        answer_free(&a);
        answer_free(&b);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers_from_the_template_are_the_built_ones),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
