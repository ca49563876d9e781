/*
 * test_df_list.c — end to end: GET instances (spec 1.3) with its filters
 * and x-ms-continuation-token paging, and purge many (1.11).
 * One server for the whole file; the tests run in order (the purge test
 * last, since it deletes what the list tests made).
 */
#include "test_df_support.h"

static struct e2e_server srv;

#define N_PAGED 7

static int
group_setup(void **state)
{
    (void)state;
    return e2e_start(&srv, NULL);
}

static int
group_teardown(void **state)
{
    (void)state;
    return df_stop_clean(&srv);
}

/* GET path with an optional continuation token; returns the array and the
 * response's token in *next (malloc'd; NULL when the header is absent). */
static json_t *
list_page(const char *path, const char *token, char **next, long *status)
{
    char hdr[600];
    const char *hdrs[] = {hdr, NULL};
    struct e2e_resp r;
    json_t *v;

    df_fmt(hdr, sizeof(hdr), "x-ms-continuation-token: %s", token ? token : "");
    v = df_call(&srv, "GET", path, NULL, token ? hdrs : NULL, &r);
    *status = r.status;
    *next = e2e_header(&r, "x-ms-continuation-token");
    e2e_resp_release(&r);
    return v;
}

/* Follows the token from path until it comes back empty; returns all items
 * and the number of pages. */
static json_t *
list_all(const char *path, int *pages)
{
    json_t *all = json_array();
    char *token = NULL;

    *pages = 0;
    for (;;) {
        char *next;
        long status;
        json_t *page = list_page(path, token, &next, &status);

        assert_int_equal(status, 200);
        assert_true(json_is_array(page));
        assert_non_null(next); /* always present */
        json_array_extend(all, page);
        json_decref(page);
        free(token);
        token = next;
        ++*pages;
        assert_true(*pages < 100);
        if (!*token)
            break;
    }
    free(token);
    return all;
}

static bool
list_has(const json_t *arr, const char *id)
{
    size_t i;
    json_t *e;

    json_array_foreach(arr, i, e) if (!strcmp(df_str(e, "instanceId"), id)) return true;
    return false;
}

static void
test_list_pages_until_empty_token(void **state)
{
    char id[32];
    json_t *all, *e;
    int pages;
    size_t i;

    (void)state;
    for (int k = 0; k < N_PAGED; k++) {
        free(df_start_job(&srv, df_fmt(id, sizeof(id), "page-%d", k), "echo", "{\"k\":1}"));
        df_wait_status(&srv, id, "Completed", 10000);
    }
    free(df_start_job(&srv, "other-1", "echo", NULL));
    df_wait_status(&srv, "other-1", "Completed", 10000);

    all = list_all(DF "/instances?instanceIdPrefix=page-&top=3", &pages);
    assert_int_equal(json_array_size(all), N_PAGED);
    assert_int_equal(pages, 3);
    json_array_foreach(all, i, e)
    {
        df_fmt(id, sizeof(id), "page-%zu", i); /* created in order */
        assert_string_equal(df_str(e, "instanceId"), id);
        assert_string_equal(df_str(e, "runtimeStatus"), "Completed");
        assert_true(df_json_eq(json_object_get(e, "output"), "{\"k\":1}"));
        assert_non_null(json_object_get(e, "input"));
        assert_null(json_object_get(e, "historyEvents"));
    }
    json_decref(all);

    /* Default page size (no top, as the JS client sends) and the slash
     * form: one page, empty token. */
    all = list_all(DF "/instances/", &pages);
    assert_int_equal(pages, 1);
    assert_true(json_array_size(all) >= N_PAGED + 1);
    assert_true(list_has(all, "other-1"));
    json_decref(all);
}

static void
test_list_filters(void **state)
{
    char path[400], t[64];
    json_t *all, *e;
    int pages;
    size_t i;

    (void)state;
    free(df_start_job(&srv, "flt-run", "sleep", "{\"ms\":60000}"));
    df_wait_status(&srv, "flt-run", "Running", 10000);
    free(df_start_job(&srv, "flt-fail", "fail", NULL));
    df_wait_status(&srv, "flt-fail", "Failed", 10000);
    free(df_start(&srv, "AsyncJobOrchestrator", "flt-async",
                  "{\"ThirdPartyJobId\":\"t\",\"QueuedDuration\":60,\"InProgressDuration\":1}"));

    all = list_all(DF "/instances?runtimeStatus=Running", &pages);
    assert_true(list_has(all, "flt-run"));
    assert_false(list_has(all, "flt-fail"));
    assert_false(list_has(all, "page-0"));
    json_decref(all);
    /* A comma list, a repeated parameter, unknown names dropped. */
    all = list_all(DF "/instances?runtimeStatus=Failed,Bogus&runtimeStatus=Running", &pages);
    assert_true(list_has(all, "flt-run"));
    assert_true(list_has(all, "flt-fail"));
    assert_false(list_has(all, "page-0"));
    json_decref(all);
    /* The extra name filter. */
    all = list_all(DF "/instances?name=AsyncJobOrchestrator", &pages);
    assert_int_equal(json_array_size(all), 1);
    assert_string_equal(df_str(json_array_get(all, 0), "instanceId"), "flt-async");
    json_decref(all);
    /* Creation-time bounds, as toISOString() sends them. */
    df_fmt(path, sizeof(path), DF "/instances?createdTimeFrom=%s",
           df_iso(t, sizeof(t), df_now_ms() + 60000));
    all = list_all(path, &pages);
    assert_int_equal(json_array_size(all), 0);
    json_decref(all);
    df_fmt(path, sizeof(path), DF "/instances?createdTimeTo=%s&instanceIdPrefix=flt-",
           df_iso(t, sizeof(t), df_now_ms() - 3600 * 1000));
    all = list_all(path, &pages);
    assert_int_equal(json_array_size(all), 0);
    json_decref(all);
    df_fmt(path, sizeof(path),
           DF
           "/instances?createdTimeFrom=%s&createdTimeTo=%s&instanceIdPrefix=flt-&showInput=false",
           "2000-01-01T00:00:00.000Z", df_iso(t, sizeof(t), df_now_ms() + 60000));
    all = list_all(path, &pages);
    assert_int_equal(json_array_size(all), 3);
    json_array_foreach(all, i, e) assert_true(json_is_null(json_object_get(e, "input")));
    json_decref(all);
    /* An unparseable date is ignored, as DF does. */
    all = list_all(DF "/instances?createdTimeFrom=yesterday&instanceIdPrefix=flt-", &pages);
    assert_int_equal(json_array_size(all), 3);
    json_decref(all);
}

static void
test_list_bad_token(void **state)
{
    static const char *const hdrs[] = {"x-ms-continuation-token: bnVsbA==", NULL};

    (void)state;
    assert_int_equal(df_status(&srv, "GET", DF "/instances", NULL, hdrs), 400);
}

static void
test_purge_many(void **state)
{
    struct e2e_resp r;
    json_t *v, *all;
    int pages;

    (void)state;
    /* createdTimeFrom is required (400), as DF. */
    assert_int_equal(df_status(&srv, "DELETE", DF "/instances", NULL, NULL), 400);
    assert_int_equal(df_status(&srv, "DELETE", DF "/instances?createdTimeFrom=never", NULL, NULL),
                     400);

    /* Only Failed ones. */
    v = df_call(&srv, "DELETE",
                DF "/instances?createdTimeFrom=2000-01-01T00:00:00Z&runtimeStatus=Failed", NULL,
                NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(v, "instancesDeleted")), 1);
    json_decref(v);
    e2e_resp_release(&r);
    assert_int_equal(df_status(&srv, "GET", DF "/instances/flt-fail", NULL, NULL), 404);

    /* Everything terminal, through the slash form; live ones stay. */
    v = df_call(&srv, "DELETE", DF "/instances/?createdTimeFrom=2000-01-01T00:00:00.000Z", NULL,
                NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(v, "instancesDeleted")), N_PAGED + 1);
    json_decref(v);
    e2e_resp_release(&r);
    all = list_all(DF "/instances", &pages);
    assert_int_equal(json_array_size(all), 2);
    assert_true(list_has(all, "flt-run"));
    assert_true(list_has(all, "flt-async"));
    json_decref(all);

    /* Nothing left to purge: 404 (clients read it as zero deleted). */
    v = df_call(&srv, "DELETE", DF "/instances?createdTimeFrom=2000-01-01T00:00:00Z", NULL, NULL,
                &r);
    assert_int_equal(r.status, 404);
    assert_int_equal(json_integer_value(json_object_get(v, "instancesDeleted")), 0);
    json_decref(v);
    e2e_resp_release(&r);
    assert_int_equal(df_op(&srv, "flt-run", "terminate"), 202);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_pages_until_empty_token),
        cmocka_unit_test(test_list_filters),
        cmocka_unit_test(test_list_bad_token),
        cmocka_unit_test(test_purge_many),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
