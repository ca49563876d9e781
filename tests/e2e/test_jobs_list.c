/*
 * test_jobs_list.c — end to end: GET /api/jobs: cursor paging that returns
 * every job exactly once in creation order, the status filter (one or
 * several states), the job_type and customer_id filters (matched on the
 * rows read) with paging that still neither skips nor repeats, empty
 * results, and instances that are not jobs left out. One server and one
 * set of jobs for the whole file.
 */
#include "test_jobs_support.h"

#define N_ECHO 7
#define N_FAIL 5
#define N_SLEEP 3
#define N_ALL (N_ECHO + N_FAIL + N_SLEEP)

static struct e2e_server srv;
/* The jobs in the server's order (creation time, then id): types and
 * customers follow. Submitted in this pattern. */
static const char *const pattern[N_ALL] = {"echo", "fail",  "sleep", "echo", "fail",
                                           "echo", "sleep", "fail",  "echo", "echo",
                                           "fail", "sleep", "echo",  "fail", "echo"};
static char *ids[N_ALL];
static const char *types[N_ALL];
static const char *customers[N_ALL];

static size_t list_all(const char *query, size_t limit, char **got, size_t max);

static void
submit_all(char **submitted)
{
    char body[256];

    for (int i = 0; i < N_ALL; i++) {
        jb_fmt(body, sizeof(body), "{\"job_type\":\"%s\",\"customer_id\":\"%s\"%s}", pattern[i],
               strcmp(pattern[i], "fail") == 0 ? "cust-b" : "cust-a",
               strcmp(pattern[i], "sleep") == 0 ? ",\"payload\":{\"ms\":600000}" : "");
        submitted[i] = jb_submit(&srv, body);
    }
}

/* Orders ids/types/customers as the server lists them (two jobs created in
 * the same millisecond are ordered by id, not by submission). */
static void
adopt_server_order(char **submitted)
{
    char *order[N_ALL + 8];
    size_t n = list_all("limit=1000", 1000, order, N_ALL + 8);

    assert_int_equal(n, N_ALL);
    for (size_t k = 0; k < n; k++) {
        int i;
        for (i = 0; i < N_ALL && (!submitted[i] || strcmp(submitted[i], order[k]) != 0); i++)
            ;
        assert_true(i < N_ALL); /* every listed job is one we submitted, once */
        ids[k] = submitted[i];
        submitted[i] = NULL;
        types[k] = pattern[i];
        customers[k] = strcmp(pattern[i], "fail") == 0 ? "cust-b" : "cust-a";
        free(order[k]);
    }
}

static int
group_setup(void **state)
{
    char *submitted[N_ALL];
    struct jb_answer a;

    (void)state;
    if (e2e_start(&srv, NULL) != 0)
        return -1;
    submit_all(submitted);
    /* an instance that is not a job */
    jb_call(&srv, "POST", "/runtime/webhooks/durabletask/orchestrators/AsyncJobOrchestrator",
            "{\"ThirdPartyJobId\":\"t\",\"QueuedDuration\":0,\"InProgressDuration\":0}", NULL, &a);
    jb_expect(&a, 202);
    jb_answer_release(&a);
    for (int i = 0; i < N_ALL; i++)
        jb_wait_status(&srv, submitted[i],
                       strcmp(pattern[i], "echo") == 0   ? "completed"
                       : strcmp(pattern[i], "fail") == 0 ? "failed"
                                                         : "running",
                       10000);
    adopt_server_order(submitted);
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < N_ALL; i++)
        free(ids[i]);
    e2e_cleanup(&srv);
    return 0;
}

/* Follows next_cursor from `query` (which must leave room for "&cursor=");
 * fills got[] with the ids in order; returns how many. Every page holds at
 * most `limit` jobs. */
static size_t
list_all(const char *query, size_t limit, char **got, size_t max)
{
    char path[2048], *cursor = NULL;
    size_t n = 0, pages = 0;
    struct jb_answer a;
    json_t *jobs;

    do {
        if (cursor)
            jb_fmt(path, sizeof(path), "/api/jobs?%s&cursor=%s", query, cursor);
        else
            jb_fmt(path, sizeof(path), "/api/jobs?%s", query);
        free(cursor);
        cursor = NULL;
        jb_call(&srv, "GET", path, NULL, NULL, &a);
        jb_expect(&a, 200);
        jobs = json_object_get(a.json, "jobs");
        assert_true(json_is_array(jobs));
        assert_true(json_array_size(jobs) <= limit);
        for (size_t i = 0; i < json_array_size(jobs); i++) {
            assert_true(n < max);
            got[n++] = strdup(jb_str(json_array_get(jobs, i), "job_id"));
        }
        if (json_is_string(json_object_get(a.json, "next_cursor")))
            cursor = strdup(jb_str(a.json, "next_cursor"));
        else
            assert_true(json_is_null(json_object_get(a.json, "next_cursor")));
        jb_answer_release(&a);
        assert_true(++pages < 100);
    } while (cursor);
    return n;
}

/* Asserts that the listing of `query` is exactly the submitted jobs for
 * which want(i) holds, in order. */
static void
expect_listing(const char *query, size_t limit, bool (*want)(int i, const void *arg),
               const void *arg)
{
    char *got[N_ALL + 8];
    size_t n = list_all(query, limit, got, N_ALL + 8), k = 0;

    for (int i = 0; i < N_ALL; i++) {
        if (!want(i, arg))
            continue;
        if (k >= n)
            fail_msg("%s: job %d (%s) missing", query, i, ids[i]);
        assert_string_equal(got[k], ids[i]);
        k++;
    }
    assert_int_equal(k, n);
    for (size_t i = 0; i < n; i++)
        free(got[i]);
}

static bool
all(int i, const void *arg)
{
    (void)i;
    (void)arg;
    return true;
}

static bool
of_type(int i, const void *arg)
{
    return strcmp(types[i], arg) == 0;
}

static bool
of_customer(int i, const void *arg)
{
    return strcmp(customers[i], arg) == 0;
}

static bool
none(int i, const void *arg)
{
    (void)i;
    (void)arg;
    return false;
}

static bool
echo_or_fail(int i, const void *arg)
{
    (void)arg;
    return strcmp(types[i], "sleep") != 0;
}

static void
test_paging_returns_every_job_once_in_order(void **state)
{
    (void)state;
    expect_listing("limit=4", 4, all, NULL);
    expect_listing("limit=1", 1, all, NULL);
    expect_listing("limit=1000", 1000, all, NULL);
    expect_listing("x=1", 50, all, NULL); /* default limit */
}

static void
test_status_filter(void **state)
{
    (void)state;
    expect_listing("status=completed&limit=3", 3, of_type, "echo");
    expect_listing("status=failed&limit=2", 2, of_type, "fail");
    expect_listing("status=running", 50, of_type, "sleep");
    expect_listing("status=Completed,FAILED&limit=5", 5, echo_or_fail, NULL);
    expect_listing("status=pending", 50, none, NULL);
    expect_listing("status=cancelled", 50, none, NULL);
}

static void
test_job_type_and_customer_filters_page_correctly(void **state)
{
    (void)state;
    expect_listing("job_type=echo&limit=2", 2, of_type, "echo");
    expect_listing("job_type=fail&limit=1", 1, of_type, "fail");
    expect_listing("customer_id=cust-a&limit=3", 3, of_customer, "cust-a");
    expect_listing("customer_id=cust-b&job_type=fail&limit=4", 4, of_type, "fail");
    expect_listing("customer_id=nobody", 50, none, NULL);
    expect_listing("job_type=sleep&status=running&limit=2", 2, of_type, "sleep");
}

static void
test_cancelled_jobs_list_as_cancelled(void **state)
{
    char path[512];
    struct jb_answer a;

    (void)state;
    for (int i = 0; i < N_ALL; i++) {
        if (strcmp(types[i], "sleep") != 0)
            continue;
        jb_call(&srv, "DELETE", jb_fmt(path, sizeof(path), "/api/jobs/%s?reason=done", ids[i]),
                NULL, NULL, &a);
        jb_expect(&a, 202);
        jb_answer_release(&a);
        jb_wait_status(&srv, ids[i], "cancelled", 10000);
    }
    expect_listing("status=cancelled&limit=2", 2, of_type, "sleep");
    expect_listing("status=running", 50, none, NULL);
}

/* A filter matching only the last rows makes a request read several
 * batches; paging still finds each match once. */
static void
test_sparse_matches_across_batches(void **state)
{
    char *rare[3], *got[8];
    size_t n;
    int i;

    (void)state;
    for (i = 0; i < 250; i++)
        free(jb_submit(&srv, "{\"job_type\":\"echo\",\"customer_id\":\"bulk\"}"));
    for (i = 0; i < 3; i++)
        rare[i] = jb_submit(&srv, "{\"job_type\":\"echo\",\"customer_id\":\"rare\"}");
    n = list_all("customer_id=rare&limit=2", 2, got, 8);
    assert_int_equal(n, 3);
    for (i = 0; i < 3; i++) {
        bool found = false;
        for (size_t k = 0; k < n; k++)
            found = found || strcmp(got[k], rare[i]) == 0;
        assert_true(found);
    }
    for (size_t k = 0; k < n; k++)
        free(got[k]);
    for (i = 0; i < 3; i++)
        free(rare[i]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paging_returns_every_job_once_in_order),
        cmocka_unit_test(test_status_filter),
        cmocka_unit_test(test_job_type_and_customer_filters_page_correctly),
        cmocka_unit_test(test_cancelled_jobs_list_as_cancelled),
        cmocka_unit_test(test_sparse_matches_across_batches),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
