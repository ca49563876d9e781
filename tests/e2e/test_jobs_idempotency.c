/*
 * test_jobs_idempotency.c — end to end: the Idempotency-Key header of
 * POST /api/jobs: the same key with the same body returns the same job
 * (also with members reordered or null fields spelled out), a different
 * body is a 409, keys are independent, concurrent retries start one job,
 * and all of it still holds after the server restarts (and after a crash).
 * Each test starts its own server, since some restart it.
 */
#include "test_jobs_support.h"

#include <pthread.h>

static int
setup(void **state)
{
    struct e2e_server *s = calloc(1, sizeof(*s));

    if (!s || e2e_start(s, NULL) != 0) {
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

static int
teardown(void **state)
{
    e2e_cleanup(*state);
    free(*state);
    return 0;
}

#define KEYED(name, value) const char *const name[] = {"Idempotency-Key: " value, NULL}

/* POSTs body with headers; asserts status; returns job_id (or NULL). */
static char *
post(const struct e2e_server *s, const char *body, const char *const *headers, long status,
     bool *replayed)
{
    struct jb_answer a;
    char *id = NULL, *flag;

    jb_call(s, "POST", "/api/jobs", body, headers, &a);
    jb_expect(&a, status);
    if (status == 202)
        id = strdup(jb_str(a.json, "job_id"));
    else
        jb_expect_error(&a, status, "idempotency_conflict");
    flag = e2e_header(&a.raw, "Idempotent-Replayed");
    if (replayed)
        *replayed = flag && strcmp(flag, "true") == 0;
    free(flag);
    jb_answer_release(&a);
    return id;
}

static void
test_same_key_same_body_is_the_same_job(void **state)
{
    const struct e2e_server *s = *state;
    KEYED(k1, "order-42");
    char *a, *b, *c;
    bool replayed;

    a = post(s, "{\"job_type\":\"echo\",\"customer_id\":\"c1\",\"payload\":{\"x\":1,\"y\":2}}", k1,
             202, &replayed);
    assert_false(replayed);
    b = post(s,
             "{ \"payload\": {\"y\":2, \"x\":1}, \"customer_id\":\"c1\", \"job_type\":\"echo\" }",
             k1, 202, &replayed);
    assert_true(replayed);
    assert_string_equal(a, b);
    jb_wait_status(s, a, "completed", 10000);
    c = post(s, "{\"job_type\":\"echo\",\"customer_id\":\"c1\",\"payload\":{\"x\":1,\"y\":2}}", k1,
             202, &replayed); /* a finished job is still the key's job */
    assert_true(replayed);
    assert_string_equal(a, c);
    free(a);
    free(b);
    free(c);
}

static void
test_null_and_absent_fields_are_the_same_body(void **state)
{
    const struct e2e_server *s = *state;
    KEYED(k, "nulls");
    char *a, *b;

    a = post(s, "{\"job_type\":\"echo\"}", k, 202, NULL);
    b = post(s, "{\"job_type\":\"echo\",\"customer_id\":null,\"payload\":null}", k, 202, NULL);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

static void
test_same_key_other_body_is_409(void **state)
{
    const struct e2e_server *s = *state;
    KEYED(k, "order-43");
    KEYED(other, "order-44");
    char *a, *b;

    a = post(s, "{\"job_type\":\"echo\",\"payload\":{\"x\":1}}", k, 202, NULL);
    assert_null(post(s, "{\"job_type\":\"echo\",\"payload\":{\"x\":2}}", k, 409, NULL));
    assert_null(post(s, "{\"job_type\":\"sleep\",\"payload\":{\"x\":1}}", k, 409, NULL));
    assert_null(post(s, "{\"job_type\":\"echo\",\"customer_id\":\"c\",\"payload\":{\"x\":1}}", k,
                     409, NULL));
    b = post(s, "{\"job_type\":\"echo\",\"payload\":{\"x\":2}}", other, 202, NULL);
    assert_string_not_equal(a, b);
    free(a);
    free(b);
}

static void
test_without_a_key_every_post_is_a_new_job(void **state)
{
    const struct e2e_server *s = *state;
    char *a = jb_submit(s, "{\"job_type\":\"echo\"}"), *b = jb_submit(s, "{\"job_type\":\"echo\"}");

    assert_string_not_equal(a, b);
    free(a);
    free(b);
}

static void
test_key_survives_restart_and_crash(void **state)
{
    struct e2e_server *s = *state;
    KEYED(k, "restart-me");
    char *a, *b, *c;

    a = post(s, "{\"job_type\":\"echo\",\"payload\":{\"v\":\"before\"}}", k, 202, NULL);
    assert_int_equal(e2e_stop(s) >= 0, 1);
    assert_int_equal(e2e_restart(s, NULL), 0);
    b = post(s, "{\"job_type\":\"echo\",\"payload\":{\"v\":\"before\"}}", k, 202, NULL);
    assert_string_equal(a, b);
    assert_null(post(s, "{\"job_type\":\"echo\",\"payload\":{\"v\":\"after\"}}", k, 409, NULL));
    e2e_kill(s);
    assert_int_equal(e2e_restart(s, NULL), 0);
    c = post(s, "{\"job_type\":\"echo\",\"payload\":{\"v\":\"before\"}}", k, 202, NULL);
    assert_string_equal(a, c);
    jb_wait_status(s, a, "completed", 10000);
    free(a);
    free(b);
    free(c);
}

static void
test_purge_frees_the_key(void **state)
{
    const struct e2e_server *s = *state;
    KEYED(k, "purge-me");
    struct jb_answer r;
    char path[256], *a, *b;

    a = post(s, "{\"job_type\":\"echo\"}", k, 202, NULL);
    jb_wait_status(s, a, "completed", 10000);
    jb_call(s, "DELETE", jb_fmt(path, sizeof(path), "/api/jobs/%s/history", a), NULL, NULL, &r);
    jb_expect(&r, 202);
    jb_answer_release(&r);
    b = post(s, "{\"job_type\":\"sleep\",\"payload\":{\"ms\":1}}", k, 202, NULL);
    assert_string_equal(a, b); /* the id derives from the key; the job is new */
    jb_wait_status(s, b, "completed", 10000);
    free(a);
    free(b);
}

struct racer {
    const struct e2e_server *s;
    char id[128];
    long status;
};

static void *
race(void *arg)
{
    static const char *const k[] = {"Idempotency-Key: racing", NULL};
    struct racer *r = arg;
    struct e2e_resp resp;
    json_t *v;

    if (e2e_request(r->s, "POST", "/api/jobs", "{\"job_type\":\"echo\",\"payload\":{\"r\":1}}", k,
                    &resp) == 0) {
        r->status = resp.status;
        v = json_loads(resp.body, 0, NULL);
        if (json_is_string(json_object_get(v, "job_id")))
            snprintf(r->id, sizeof(r->id), "%s", json_string_value(json_object_get(v, "job_id")));
        json_decref(v);
    }
    e2e_resp_release(&resp);
    return NULL;
}

static void
test_concurrent_retries_start_one_job(void **state)
{
    struct racer racers[8];
    pthread_t threads[8];
    struct jb_answer a;
    int i;

    for (i = 0; i < 8; i++) {
        racers[i] = (struct racer){.s = *state};
        assert_int_equal(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
    }
    for (i = 0; i < 8; i++)
        pthread_join(threads[i], NULL);
    for (i = 0; i < 8; i++) {
        assert_int_equal(racers[i].status, 202);
        assert_string_equal(racers[i].id, racers[0].id);
    }
    jb_wait_status(*state, racers[0].id, "completed", 10000);
    jb_call(*state, "GET", "/runtime/webhooks/durabletask/instances?instanceIdPrefix=idem-", NULL,
            NULL, &a);
    jb_expect(&a, 200);
    assert_int_equal(json_array_size(a.json), 1); /* one job, one execution */
    jb_answer_release(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_key_same_body_is_the_same_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_and_absent_fields_are_the_same_body, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_same_key_other_body_is_409, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_a_key_every_post_is_a_new_job, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_key_survives_restart_and_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_frees_the_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_retries_start_one_job, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
