/*
 * test_ops.c — operations of `durata serve` end to end: Prometheus metrics
 * at /metrics and background retention (--retention).
 */
#include "test_jobs_support.h"

/* Submits an echo job and waits until it is completed; its id into id. */
static void
completed_echo_job(const struct e2e_server *s, char *id, size_t size)
{
    struct e2e_resp r = {0};
    assert_int_equal(
        e2e_request(s, "POST", "/api/jobs", "{\"job_type\":\"echo\",\"payload\":{}}", NULL, &r), 0);
    assert_int_equal(r.status, 202);
    json_t *v = json_loads(r.body, 0, NULL);
    assert_non_null(v);
    snprintf(id, size, "%s", json_string_value(json_object_get(v, "job_id")));
    json_decref(v);
    e2e_resp_release(&r);
    char path[300];
    snprintf(path, sizeof(path), "/api/jobs/%s", id);
    assert_true(e2e_wait_field(s, path, "status", "completed", 10000));
}

static void
test_metrics_count_requests_and_instances(void **state)
{
    struct e2e_server s = {0};
    struct e2e_resp r = {0};
    char id[128];

    (void)state;
    assert_int_equal(e2e_start(&s, NULL), 0);
    completed_echo_job(&s, id, sizeof(id));
    assert_int_equal(e2e_request(&s, "GET", "/metrics", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    char *ctype = e2e_header(&r, "Content-Type");
    assert_non_null(ctype);
    assert_non_null(strstr(ctype, "text/plain; version=0.0.4"));
    free(ctype);
    /* the job submitted above, by method, route pattern and status */
    assert_non_null(strstr(r.body, "durata_http_requests_total{method=\"POST\",route=\"/api/jobs\","
                                   "code=\"202\"} 1"));
    assert_non_null(strstr(r.body, "durata_instances{status=\"Completed\"} 1"));
    assert_non_null(strstr(r.body, "durata_store_commits_total"));
    e2e_resp_release(&r);
    e2e_cleanup(&s);
}

static void
test_retention_purges_finished_jobs_in_the_background(void **state)
{
    const char *args[] = {"--retention", "1s", NULL};
    struct e2e_server s = {0};
    struct e2e_resp r = {0};
    char id[128], path[300];

    (void)state;
    assert_int_equal(e2e_start(&s, args), 0);
    completed_echo_job(&s, id, sizeof(id));
    snprintf(path, sizeof(path), "/api/jobs/%s", id);
    long status = 200;
    for (int i = 0; i < 200 && status == 200; i++) { /* passes run every second */
        struct timespec pause = {0, 50 * 1000 * 1000};
        nanosleep(&pause, NULL);
        assert_int_equal(e2e_request(&s, "GET", path, NULL, NULL, &r), 0);
        status = r.status;
        e2e_resp_release(&r);
    }
    assert_int_equal(status, 404);
    e2e_cleanup(&s);
}

static void
test_bad_retention_is_a_usage_error(void **state)
{
    const char *args[] = {"--retention", "30", NULL}; /* no unit: refused */
    struct e2e_server s = {0};

    (void)state;
    assert_int_not_equal(e2e_start(&s, args), 0);
    e2e_cleanup(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_count_requests_and_instances),
        cmocka_unit_test(test_retention_purges_finished_jobs_in_the_background),
        cmocka_unit_test(test_bad_retention_is_a_usage_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
