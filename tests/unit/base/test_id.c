/*
 * test_id.c — identifiers (base/id.c): random ids, UUID v5 against values
 * computed independently (Python's uuid.uuid5 in durata's namespace), and
 * every instance-id rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/id.h"

static void
test_random_id_is_32_lowercase_hex(void **state)
{
    char id[DT_ID_RANDOM_SIZE];

    (void)state;
    memset(id, 'x', sizeof(id));
    assert_int_equal(dt_id_random(id), 0);
    assert_int_equal(strlen(id), 32);
    for (size_t i = 0; i < 32; i++)
        assert_non_null(strchr("0123456789abcdef", id[i]));
    assert_int_equal(dt_id_check(id, 256, NULL), 0);
}

static void
test_ordered_ids_sort_by_time_and_differ(void **state)
{
    char a[DT_ID_RANDOM_SIZE], b[DT_ID_RANDOM_SIZE], c[DT_ID_RANDOM_SIZE];

    (void)state;
    assert_int_equal(dt_id_ordered(1700000000000, a), 0);
    assert_int_equal(dt_id_ordered(1700000000001, b), 0);
    assert_int_equal(dt_id_ordered(1700000000001, c), 0);
    assert_int_equal(strlen(a), 32);
    assert_memory_equal(a, "018bcfe56800", 12); /* 1700000000000 in hex */
    assert_true(strcmp(a, b) < 0);
    assert_string_not_equal(b, c); /* same millisecond: the random part differs */
    assert_memory_equal(b, c, 12);
    for (size_t i = 0; i < 32; i++)
        assert_non_null(strchr("0123456789abcdef", a[i]));
}

static void
test_random_ids_differ(void **state)
{
    enum { N = 200 };
    char(*ids)[DT_ID_RANDOM_SIZE] = calloc(N, sizeof(*ids));
    unsigned seen[16] = {0};

    (void)state;
    assert_non_null(ids);
    for (int i = 0; i < N; i++) {
        assert_int_equal(dt_id_random(ids[i]), 0);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(ids[i], ids[j]);
        for (int k = 0; k < 32; k++)
            seen[strchr("0123456789abcdef", ids[i][k]) - "0123456789abcdef"]++;
    }
    /* 6400 hex digits: every digit value shows up (a stuck source would not). */
    for (int d = 0; d < 16; d++)
        assert_true(seen[d] > 0);
    free(ids);
}

/* Random bytes are pooled a thread: a forked child must not hand out the
 * ids its parent will (the pool is copied by fork). */
static void
test_forked_child_and_parent_make_different_ids(void **state)
{
    char first[DT_ID_RANDOM_SIZE], parent[DT_ID_RANDOM_SIZE], child[DT_ID_RANDOM_SIZE] = {0};
    int fds[2], status;
    pid_t pid;

    (void)state;
    assert_int_equal(dt_id_random(first), 0); /* the pool is filled now */
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char id[DT_ID_RANDOM_SIZE];
        int ok = dt_id_random(id) == 0 && write(fds[1], id, sizeof(id)) == (ssize_t)sizeof(id);
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], child, sizeof(child)), (ssize_t)sizeof(child));
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(dt_id_random(parent), 0);
    assert_int_equal(strlen(child), 32);
    assert_string_not_equal(child, parent);
    assert_string_not_equal(child, first);
}

static void
test_uuid_v5_matches_reference_values(void **state)
{
    char out[37];

    (void)state;
    dt_uuid_v5("hello", 5, out);
    assert_string_equal(out, "60a0c904-4816-5565-bc64-88c289247030");
    dt_uuid_v5("instance-1:0", 12, out);
    assert_string_equal(out, "0edd6a7e-6eff-536a-95be-bda6b0348a73");
    dt_uuid_v5("", 0, out);
    assert_string_equal(out, "4656b14e-40c6-584f-802f-49c0f4432fc0");
    dt_uuid_v5(NULL, 0, out);
    assert_string_equal(out, "4656b14e-40c6-584f-802f-49c0f4432fc0");
}

static void
test_uuid_v5_is_deterministic_and_differs_per_name(void **state)
{
    char a[37], b[37], c[37], name[32];

    (void)state;
    dt_uuid_v5("order-42", 8, a);
    dt_uuid_v5("order-42", 8, b);
    assert_string_equal(a, b);
    dt_uuid_v5("order-43", 8, c);
    assert_string_not_equal(a, c);
    /* Only len bytes of the name count. */
    dt_uuid_v5("order-42-and-more", 8, c);
    assert_string_equal(a, c);
    for (int i = 0; i < 100; i++) {
        int n = snprintf(name, sizeof(name), "n%d", i);
        dt_uuid_v5(name, (size_t)n, c);
        assert_int_equal(strlen(c), 36);
        assert_int_equal(c[8], '-');
        assert_int_equal(c[13], '-');
        assert_int_equal(c[18], '-');
        assert_int_equal(c[23], '-');
        assert_int_equal(c[14], '5');           /* version 5 */
        assert_non_null(strchr("89ab", c[19])); /* RFC 4122 variant */
        for (int k = 0; k < 36; k++)
            assert_true(c[k] == '-' || strchr("0123456789abcdef", c[k]) != NULL);
        assert_string_not_equal(a, c);
    }
}

static void
expect_reject(const char *id, size_t max_len, int code)
{
    const char *why = NULL;
    int rc = dt_id_check(id, max_len, &why);

    if (rc != code)
        fail_msg("id \"%s\": got %d, want %d", id ? id : "(null)", rc, code);
    assert_non_null(why);
    assert_true(strlen(why) > 0);
}

static void
test_id_check_accepts_valid_ids(void **state)
{
    const char *why = "unchanged";

    (void)state;
    assert_int_equal(dt_id_check("a", 256, &why), 0);
    assert_string_equal(why, "unchanged");
    assert_int_equal(dt_id_check("order-42:1.x_y z", 256, NULL), 0);
    assert_int_equal(dt_id_check("a@b", 256, NULL), 0); /* '@' only banned first */
    assert_int_equal(dt_id_check("caf\xc3\xa9", 256, NULL), 0);
    assert_int_equal(dt_id_check("\xff\xfe", 256, NULL), 0); /* UTF-8 not required */
    assert_int_equal(dt_id_check("~!$%^&*()[]{}'\"<>|;=+", 256, NULL), 0);
}

static void
test_id_check_rejects_each_forbidden_char(void **state)
{
    static const char forbidden[] = {'/', '\\', '#', '?', 0x01, '\t', '\n', 0x1f, 0x7f};
    char id[8];

    (void)state;
    for (size_t i = 0; i < sizeof(forbidden); i++) {
        /* At the start, in the middle and at the end. */
        snprintf(id, sizeof(id), "%cab", forbidden[i]);
        expect_reject(id, 256, DURATA_EINVAL);
        snprintf(id, sizeof(id), "a%cb", forbidden[i]);
        expect_reject(id, 256, DURATA_EINVAL);
        snprintf(id, sizeof(id), "ab%c", forbidden[i]);
        expect_reject(id, 256, DURATA_EINVAL);
    }
    expect_reject("@entity", 256, DURATA_EINVAL);
    expect_reject("@", 256, DURATA_EINVAL);
}

static void
test_id_check_length_rules(void **state)
{
    char id[300];

    (void)state;
    expect_reject("", 256, DURATA_EINVAL);
    expect_reject(NULL, 256, DURATA_EINVAL);
    memset(id, 'a', sizeof(id));
    id[256] = '\0';
    assert_int_equal(dt_id_check(id, 256, NULL), 0);
    id[256] = 'a';
    id[257] = '\0';
    expect_reject(id, 256, DURATA_ETOOBIG);
    assert_int_equal(dt_id_check("abc", 3, NULL), 0);
    expect_reject("abcd", 3, DURATA_ETOOBIG);
    expect_reject("a", 0, DURATA_ETOOBIG);
    /* Too long wins over a forbidden char past the limit, and the scan
     * stops at max_len + 1 bytes. */
    expect_reject("abcd/", 3, DURATA_ETOOBIG);
    assert_int_equal(dt_id_check("x", SIZE_MAX, NULL), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_id_is_32_lowercase_hex),
        cmocka_unit_test(test_random_ids_differ),
        cmocka_unit_test(test_ordered_ids_sort_by_time_and_differ),
        cmocka_unit_test(test_forked_child_and_parent_make_different_ids),
        cmocka_unit_test(test_uuid_v5_matches_reference_values),
        cmocka_unit_test(test_uuid_v5_is_deterministic_and_differs_per_name),
        cmocka_unit_test(test_id_check_accepts_valid_ids),
        cmocka_unit_test(test_id_check_rejects_each_forbidden_char),
        cmocka_unit_test(test_id_check_length_rules),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
