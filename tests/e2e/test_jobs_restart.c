/*
 * test_jobs_restart.c — end to end: jobs survive a server restart. With no
 * shutdown grace, a sleep job whose handler is running when the server
 * gets SIGTERM is interrupted (the server drains promptly instead of
 * waiting out the sleep) and runs again after the restart, completing as
 * attempt 1; jobs that finished before the stop keep their results; a job
 * in its retry backoff resumes its attempts after the restart. With the
 * default grace, a handler that ends within it finishes before the server
 * exits, and the job is complete when the server comes back.
 */
#include "test_jobs_support.h"

#include <sys/wait.h>

static const char *const no_grace[] = {"--shutdown-grace", "0s", NULL};

static void
test_interrupted_sleep_resumes_after_restart(void **state)
{
    struct e2e_server s;
    struct timespec t0, t1;
    char *done, *slow, *retrying;
    json_t *job;
    int status;

    (void)state;
    assert_int_equal(e2e_start(&s, no_grace), 0);
    done = jb_submit(&s, "{\"job_type\":\"echo\",\"payload\":{\"kept\":true}}");
    jb_wait_status(&s, done, "completed", 10000);
    slow = jb_submit(&s, "{\"job_type\":\"sleep\",\"payload\":{\"ms\":4000}}");
    retrying = jb_submit(&s, "{\"job_type\":\"fail\",\"payload\":{\"retriable\":true}}");
    jb_wait_status(&s, slow, "running", 10000);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    status = e2e_stop(&s);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(t1.tv_sec - t0.tv_sec < 3); /* the 4 s sleep did not hold the stop */
    assert_int_equal(e2e_restart(&s, NULL), 0);
    job = jb_get(&s, done, NULL);
    assert_true(jb_json_eq(json_object_get(job, "result"), "{\"kept\":true}"));
    json_decref(job);
    jb_wait_status(&s, slow, "completed", 20000);
    job = jb_get(&s, slow, NULL);
    assert_true(jb_json_eq(json_object_get(job, "result"), "{\"slept_ms\":4000}"));
    assert_int_equal(json_integer_value(json_object_get(job, "attempts")), 1);
    json_decref(job);
    jb_wait_status(&s, retrying, "failed", 20000);
    job = jb_get(&s, retrying, NULL);
    assert_int_equal(json_integer_value(json_object_get(job, "attempts")), 3);
    json_decref(job);
    free(done);
    free(slow);
    free(retrying);
    e2e_cleanup(&s);
}

static void
test_running_sleep_finishes_within_the_grace(void **state)
{
    struct e2e_server s;
    char *slow;
    json_t *job;
    int status;

    (void)state;
    assert_int_equal(e2e_start(&s, NULL), 0);
    slow = jb_submit(&s, "{\"job_type\":\"sleep\",\"payload\":{\"ms\":1500}}");
    jb_wait_status(&s, slow, "running", 10000);
    status = e2e_stop(&s); /* waits for the handler (default grace 10 s) */
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(e2e_restart(&s, NULL), 0);
    job = jb_get(&s, slow, NULL); /* done before the stop ended: no rerun */
    assert_string_equal(json_string_value(json_object_get(job, "status")), "completed");
    assert_true(jb_json_eq(json_object_get(job, "result"), "{\"slept_ms\":1500}"));
    assert_int_equal(json_integer_value(json_object_get(job, "attempts")), 1);
    json_decref(job);
    free(slow);
    e2e_cleanup(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interrupted_sleep_resumes_after_restart),
        cmocka_unit_test(test_running_sleep_finishes_within_the_grace),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
