/*
 * test_jobconfig.c — configured job types (workers/jobconfig.h): the
 * shell-like command splitter (quotes, backslashes, and every construct a
 * shell would treat specially refused with its position), job type names,
 * the --job-type NAME=COMMAND form, durata.json parsing (every member,
 * defaults, and each kind of error naming the file, the member path and
 * the problem), later layers replacing job types, and the job type table
 * (built-ins kept, replaced in place by a configured type, new types
 * appended).
 */
#include "workers/jobconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits text and asserts the words (NULL-terminated list). */
static void
expect_words(const char *text, ...)
{
    char **argv = NULL, err[400];
    const char *want;
    va_list ap;
    size_t i = 0;
    int rc = dt_cmdline_split(text, &argv, err, sizeof(err));

    if (rc != 0)
        fail_msg("split of [%s] failed: %s", text, err);
    va_start(ap, text);
    while ((want = va_arg(ap, const char *))) {
        if (!argv[i])
            fail_msg("split of [%s]: missing word %zu (%s)", text, i, want);
        assert_string_equal(argv[i], want);
        i++;
    }
    va_end(ap);
    if (argv[i])
        fail_msg("split of [%s]: extra word [%s]", text, argv[i]);
    dt_cmdline_free(argv);
}

/* Asserts the split fails with a message containing `part`. */
static void
expect_split_error(const char *text, const char *part)
{
    char **argv = (char **)1, err[400];

    assert_int_equal(dt_cmdline_split(text, &argv, err, sizeof(err)), DURATA_EINVAL);
    assert_null(argv);
    if (!strstr(err, part))
        fail_msg("split of [%s]: message [%s] lacks [%s]", text, err, part);
}

static void
test_split_words_quotes_and_backslashes(void **state)
{
    (void)state;
    expect_words("convert in.png out.png", "convert", "in.png", "out.png", NULL);
    expect_words("  \tprog   a\t b  ", "prog", "a", "b", NULL);
    expect_words("python3 -c 'print(\"hi $USER\")'", "python3", "-c", "print(\"hi $USER\")", NULL);
    expect_words("echo \"a b\" \"q\\\"x\" \"back\\\\slash\" \"keep\\n\"", "echo", "a b", "q\"x",
                 "back\\slash", "keep\\n", NULL);
    expect_words("echo a\\ b \\$HOME \\| \\'", "echo", "a b", "$HOME", "|", "'", NULL);
    expect_words("prog '' \"\" x", "prog", "", "", "x", NULL);
    expect_words("pre'sin gle'\"dou ble\"post", "presin gledou blepost", NULL);
    expect_words("prog a\\\nb \"c\\\nd\"", "prog", "ab", "cd", NULL);
    expect_words("prog a#b c~ x=~", "prog", "a#b", "c~", "x=~", NULL);
    expect_words("./handler.sh --flag=value", "./handler.sh", "--flag=value", NULL);
}

static void
test_split_refuses_what_only_a_shell_would_do(void **state)
{
    (void)state;
    expect_split_error("grep x | wc -l", "'|' has a special meaning in a shell");
    expect_split_error("grep x | wc -l", "at character 8");
    expect_split_error("prog; rm -rf /", "';'");
    expect_split_error("prog > out.txt", "'>'");
    expect_split_error("prog < in", "'<'");
    expect_split_error("prog && other", "'&'");
    expect_split_error("prog &", "'&'");
    expect_split_error("echo $HOME", "'$'");
    expect_split_error("echo `id`", "'`'");
    expect_split_error("echo $(id)", "'$'");
    expect_split_error("ls *.txt", "'*'");
    expect_split_error("ls file?", "'?'");
    expect_split_error("ls [ab]", "'['");
    expect_split_error("(prog)", "'('");
    expect_split_error("prog #comment", "'#'");
    expect_split_error("ls ~/x", "'~'");
    expect_split_error("echo \"$HOME\"", "inside double quotes");
    expect_split_error("echo \"`id`\"", "inside double quotes");
    expect_split_error("prog\nother", "newline");
    expect_split_error("echo 'open", "unterminated single quote (at character 6)");
    expect_split_error("echo \"open", "unterminated double quote");
    expect_split_error("echo x\\", "lone backslash");
    expect_split_error("", "empty");
    expect_split_error("   \t ", "empty");
    expect_split_error("'' arg", "program name");
}

static void
test_split_limits(void **state)
{
    char *text = malloc(DT_CMDLINE_MAX_BYTES + 2);

    (void)state;
    assert_non_null(text);
    memset(text, 'a', DT_CMDLINE_MAX_BYTES + 1);
    text[DT_CMDLINE_MAX_BYTES + 1] = '\0';
    expect_split_error(text, "longer than");
    for (size_t i = 0; i < DT_CMDLINE_MAX_BYTES; i += 2) { /* 32768 one-letter words */
        text[i] = 'a';
        text[i + 1] = ' ';
    }
    text[DT_CMDLINE_MAX_BYTES] = '\0';
    expect_split_error(text, "more than");
    free(text);
}

static void
test_job_names(void **state)
{
    char name[80];

    (void)state;
    assert_true(dt_job_name_is_valid("resize"));
    assert_true(dt_job_name_is_valid("img.resize-v2_B"));
    assert_false(dt_job_name_is_valid(""));
    assert_false(dt_job_name_is_valid("has space"));
    assert_false(dt_job_name_is_valid("slash/x"));
    assert_false(dt_job_name_is_valid("caf\xc3\xa9"));
    memset(name, 'n', 64);
    name[64] = '\0';
    assert_true(dt_job_name_is_valid(name));
    name[64] = 'n';
    name[65] = '\0';
    assert_false(dt_job_name_is_valid(name));
}

static void
test_job_type_flag(void **state)
{
    struct dt_job_spec s;
    char err[400];

    (void)state;
    assert_int_equal(
        dt_job_spec_parse_flag(&s, "resize=convert 'in file.png' -resize 50%", err, sizeof(err)),
        0);
    assert_string_equal(s.name, "resize");
    assert_string_equal(s.argv[0], "convert");
    assert_string_equal(s.argv[1], "in file.png");
    assert_string_equal(s.argv[3], "50%");
    assert_null(s.argv[4]);
    assert_int_equal(s.timeout_ms, DT_JOB_DEFAULT_TIMEOUT_MS);
    assert_int_equal(s.concurrency, 0);
    assert_int_equal(s.retry.max_attempts, 0);
    dt_job_spec_release(&s);
    assert_int_equal(dt_job_spec_parse_flag(&s, "x=a=b", err, sizeof(err)), 0);
    assert_string_equal(s.argv[0], "a=b");
    dt_job_spec_release(&s);
    assert_int_equal(dt_job_spec_parse_flag(&s, "resize", err, sizeof(err)), DURATA_EINVAL);
    assert_non_null(strstr(err, "is not NAME=COMMAND"));
    assert_int_equal(dt_job_spec_parse_flag(&s, "=prog", err, sizeof(err)), DURATA_EINVAL);
    assert_int_equal(dt_job_spec_parse_flag(&s, "bad name=prog", err, sizeof(err)), DURATA_EINVAL);
    assert_non_null(strstr(err, "'bad name' is not a valid job type name"));
    assert_int_equal(dt_job_spec_parse_flag(&s, "x=", err, sizeof(err)), DURATA_EINVAL);
    assert_string_equal(err, "job type x: the command is empty");
    assert_int_equal(dt_job_spec_parse_flag(&s, "x=a | b", err, sizeof(err)), DURATA_EINVAL);
    assert_non_null(strstr(err, "job type x: '|'"));
    assert_null(s.name);
}

/* ------------------------------------------------------------ durata.json */

static int
parse(struct dt_config *c, const char *text, char *err, size_t size)
{
    dt_config_init(c);
    return dt_config_parse(c, text, strlen(text), "conf/durata.json", err, size);
}

static void
test_config_full_document(void **state)
{
    const char *text =
        "{\"$schema\": \"https://example.invalid/durata.schema.json\",\n"
        " \"listen\": \"0.0.0.0:9000\", \"store\": \"/var/lib/durata.db\",\n"
        " \"apiKeys\": [\"k1\", \"k2\"], \"threads\": 32, \"logLevel\": \"warn\", \"retention\": "
        "\"7d\",\n"
        " \"activityLeaseSeconds\": 2.5, \"shutdownGraceSeconds\": 0,\n"
        " \"jobTypes\": {\n"
        "   \"resize\": {\"command\": [\"convert\", \"-resize\", \"50%\"],\n"
        "              \"timeoutSeconds\": 2.5, \"concurrency\": 4,\n"
        "              \"retry\": {\"maxAttempts\": 5, \"firstRetryIntervalMs\": 200,\n"
        "                        \"backoffCoefficient\": 1.5, \"maxRetryIntervalMs\": 5000}},\n"
        "   \"echo\": {\"command\": \"cat -\"},\n"
        "   \"slow\": {\"command\": [\"sleep\", \"9\"], \"timeoutSeconds\": 0}}}";
    struct dt_config c;
    char err[400];
    const struct dt_job_spec *s;

    (void)state;
    assert_int_equal(parse(&c, text, err, sizeof(err)), 0);
    assert_string_equal(c.origin, "conf/durata.json");
    assert_string_equal(c.listen, "0.0.0.0:9000");
    assert_string_equal(c.store, "/var/lib/durata.db");
    assert_int_equal(c.n_api_keys, 2);
    assert_string_equal(c.api_keys[1], "k2");
    assert_null(c.api_keys[2]);
    assert_int_equal(c.threads, 32);
    assert_string_equal(c.log_level, "warn");
    assert_string_equal(c.retention, "7d");
    assert_int_equal(c.activity_lease_ms, 2500);
    assert_int_equal(c.shutdown_grace_ms, 0);
    assert_int_equal(c.n_job_types, 3);
    s = &c.job_types[0];
    assert_string_equal(s->name, "resize");
    assert_string_equal(s->argv[2], "50%");
    assert_int_equal(s->timeout_ms, 2500);
    assert_int_equal(s->concurrency, 4);
    assert_int_equal(s->retry.max_attempts, 5);
    assert_int_equal(s->retry.first_interval_ms, 200);
    assert_true(s->retry.backoff_coefficient == 1.5);
    assert_int_equal(s->retry.max_interval_ms, 5000);
    s = &c.job_types[1]; /* a string command, defaults */
    assert_string_equal(s->argv[0], "cat");
    assert_string_equal(s->argv[1], "-");
    assert_int_equal(s->timeout_ms, DT_JOB_DEFAULT_TIMEOUT_MS);
    assert_int_equal(s->concurrency, 0);
    assert_int_equal(s->retry.max_attempts, 1);
    assert_int_equal(s->retry.first_interval_ms, 1000);
    assert_int_equal(c.job_types[2].timeout_ms, 0);
    dt_config_release(&c);
    assert_null(c.listen);
    dt_config_release(&c); /* twice is harmless */
}

static void
test_config_empty_object(void **state)
{
    struct dt_config c;
    char err[400];

    (void)state;
    assert_int_equal(parse(&c, " {} ", err, sizeof(err)), 0);
    assert_null(c.listen);
    assert_int_equal(c.n_job_types, 0);
    assert_int_equal(c.n_api_keys, 0);
    dt_config_release(&c);
}

/* Asserts that text fails with rc and exactly the message want. */
static void
expect_config_error(const char *text, int rc, const char *want)
{
    struct dt_config c;
    char err[400];

    assert_int_equal(parse(&c, text, err, sizeof(err)), rc);
    if (strcmp(err, want) != 0)
        fail_msg("for %s\n got: %s\nwant: %s", text, err, want);
    dt_config_release(&c);
}

static void
test_config_errors_name_file_member_and_problem(void **state)
{
    (void)state;
    expect_config_error("{\"listen\": \"x\",\n \"store\": }", DURATA_EJSON,
                        "conf/durata.json:2:11: unexpected token near '}'");
    expect_config_error("[1]", DURATA_EINVAL,
                        "conf/durata.json: the configuration must be a JSON object");
    expect_config_error("{\"listen\": \"a\", \"listen\": \"b\"}", DURATA_EJSON,
                        "conf/durata.json:1:24: duplicate object key near '\"listen\"'");
    expect_config_error(
        "{\"port\": 80}", DURATA_EINVAL,
        "conf/durata.json: port: unknown member (known: listen, store, apiKeys, threads, "
        "logLevel, retention, activityLeaseSeconds, shutdownGraceSeconds, jobTypes)");
    expect_config_error("{\"shutdownGraceSeconds\": 3601}", DURATA_EINVAL,
                        "conf/durata.json: shutdownGraceSeconds: must be a number of seconds "
                        "from 0 to 3600");
    expect_config_error("{\"activityLeaseSeconds\": 0.5}", DURATA_EINVAL,
                        "conf/durata.json: activityLeaseSeconds: must be a number of seconds "
                        "from 1 to 86400");
    expect_config_error("{\"retention\": \"30\"}", DURATA_EINVAL,
                        "conf/durata.json: retention: must be a duration such as \"30s\", "
                        "\"15m\", \"24h\", \"7d\"");
    expect_config_error("{\"store\": 3}", DURATA_EINVAL,
                        "conf/durata.json: store: must be a non-empty string");
    expect_config_error("{\"apiKeys\": \"k\"}", DURATA_EINVAL,
                        "conf/durata.json: apiKeys: must be an array of at most 16 strings");
    expect_config_error("{\"apiKeys\": [\"k\", \"\"]}", DURATA_EINVAL,
                        "conf/durata.json: apiKeys[1]: must be a non-empty string");
    expect_config_error("{\"threads\": 0}", DURATA_EINVAL,
                        "conf/durata.json: threads: must be an integer from 1 to 1024");
    expect_config_error("{\"logLevel\": \"loud\"}", DURATA_EINVAL,
                        "conf/durata.json: logLevel: must be one of \"debug\", \"info\", "
                        "\"warn\", \"error\", \"off\"");
    expect_config_error("{\"jobTypes\": []}", DURATA_EINVAL,
                        "conf/durata.json: jobTypes: must be an object of job types by name");
    expect_config_error("{\"jobTypes\": {\"a b\": {}}}", DURATA_EINVAL,
                        "conf/durata.json: jobTypes: 'a b' is not a valid job type name (1 to "
                        "64 of A-Z a-z 0-9 _ . -)");
    expect_config_error("{\"jobTypes\": {\"x\": [\"prog\"]}}", DURATA_EINVAL,
                        "conf/durata.json: jobTypes.x: must be an object, e.g. {\"command\": "
                        "[\"prog\", \"arg\"]}");
    expect_config_error("{\"jobTypes\": {\"x\": {\"timeoutSeconds\": 5}}}", DURATA_EINVAL,
                        "conf/durata.json: jobTypes.x: needs a \"command\": [\"program\", "
                        "\"arg\", ...]");
}

static void
test_config_job_type_member_errors(void **state)
{
    (void)state;
    expect_config_error("{\"jobTypes\": {\"x\": {\"command\": []}}}", DURATA_EINVAL,
                        "conf/durata.json: jobTypes.x.command: must be a non-empty array of "
                        "strings: [\"program\", \"arg\", ...]");
    expect_config_error("{\"jobTypes\": {\"x\": {\"command\": [\"p\", 3]}}}", DURATA_EINVAL,
                        "conf/durata.json: jobTypes.x.command[1]: must be a string");
    expect_config_error("{\"jobTypes\": {\"x\": {\"command\": [\"\"]}}}", DURATA_EINVAL,
                        "conf/durata.json: jobTypes.x.command[0]: the program must be a "
                        "non-empty string");
    expect_config_error("{\"jobTypes\": {\"x\": {\"command\": \"a | b\"}}}", DURATA_EINVAL,
                        "conf/durata.json: jobTypes.x.command: '|' has a special meaning in a "
                        "shell, and no shell runs here: quote or escape it, or run the command "
                        "through sh -c '...' (at character 3)");
    expect_config_error("{\"jobTypes\": {\"x\": {\"command\": [\"p\"], \"timeout\": 5}}}",
                        DURATA_EINVAL,
                        "conf/durata.json: jobTypes.x.timeout: unknown member (known: command, "
                        "timeoutSeconds, concurrency, retry)");
    expect_config_error("{\"jobTypes\": {\"x\": {\"command\": [\"p\"], \"timeoutSeconds\": -1}}}",
                        DURATA_EINVAL,
                        "conf/durata.json: jobTypes.x.timeoutSeconds: must be a number of "
                        "seconds from 0 to 2592000");
    expect_config_error("{\"jobTypes\": {\"x\": {\"command\": [\"p\"], \"timeoutSeconds\": "
                        "\"5\"}}}",
                        DURATA_EINVAL,
                        "conf/durata.json: jobTypes.x.timeoutSeconds: must be a number of "
                        "seconds from 0 to 2592000");
    expect_config_error("{\"jobTypes\": {\"x\": {\"command\": [\"p\"], \"concurrency\": 0}}}",
                        DURATA_EINVAL,
                        "conf/durata.json: jobTypes.x.concurrency: must be an integer from 1 to "
                        "4096");
    expect_config_error("{\"jobTypes\": {\"x\": {\"command\": [\"p\"], \"concurrency\": 1.5}}}",
                        DURATA_EINVAL,
                        "conf/durata.json: jobTypes.x.concurrency: must be an integer from 1 to "
                        "4096");
}

static void
test_config_retry_errors(void **state)
{
    (void)state;
    expect_config_error("{\"jobTypes\": {\"x\": {\"command\": [\"p\"], \"retry\": 3}}}",
                        DURATA_EINVAL,
                        "conf/durata.json: jobTypes.x.retry: must be an object, e.g. "
                        "{\"maxAttempts\": 3}");
    expect_config_error("{\"jobTypes\": {\"x\": {\"command\": [\"p\"], \"retry\": "
                        "{\"maxAttempts\": 501}}}}",
                        DURATA_EINVAL,
                        "conf/durata.json: jobTypes.x.retry.maxAttempts: must be an integer from "
                        "1 to 500");
    expect_config_error("{\"jobTypes\": {\"x\": {\"command\": [\"p\"], \"retry\": "
                        "{\"firstRetryIntervalMs\": 0}}}}",
                        DURATA_EINVAL,
                        "conf/durata.json: jobTypes.x.retry.firstRetryIntervalMs: must be an "
                        "integer from 1 to 2592000000");
    expect_config_error("{\"jobTypes\": {\"x\": {\"command\": [\"p\"], \"retry\": "
                        "{\"backoffCoefficient\": 0.5}}}}",
                        DURATA_EINVAL,
                        "conf/durata.json: jobTypes.x.retry.backoffCoefficient: must be a number "
                        "from 1 to 1000");
    expect_config_error("{\"jobTypes\": {\"x\": {\"command\": [\"p\"], \"retry\": "
                        "{\"maxRetryIntervalMs\": -5}}}}",
                        DURATA_EINVAL,
                        "conf/durata.json: jobTypes.x.retry.maxRetryIntervalMs: must be an "
                        "integer from 0 to 2592000000");
    expect_config_error("{\"jobTypes\": {\"x\": {\"command\": [\"p\"], \"retry\": "
                        "{\"attempts\": 2}}}}",
                        DURATA_EINVAL,
                        "conf/durata.json: jobTypes.x.retry.attempts: unknown member (known: "
                        "maxAttempts, firstRetryIntervalMs, backoffCoefficient, "
                        "maxRetryIntervalMs)");
}

static void
test_later_layer_replaces_a_job_type(void **state)
{
    struct dt_config c;
    struct dt_job_spec s;
    char err[400];

    (void)state;
    assert_int_equal(parse(&c,
                           "{\"jobTypes\": {\"a\": {\"command\": [\"one\"], \"concurrency\": 2},"
                           " \"b\": {\"command\": [\"two\"]}}}",
                           err, sizeof(err)),
                     0);
    assert_int_equal(dt_job_spec_parse_flag(&s, "a=uno dos", err, sizeof(err)), 0);
    assert_int_equal(dt_config_put_job_type(&c, &s), 0);
    assert_null(s.name); /* taken */
    assert_int_equal(dt_job_spec_parse_flag(&s, "c=three", err, sizeof(err)), 0);
    assert_int_equal(dt_config_put_job_type(&c, &s), 0);
    assert_int_equal(c.n_job_types, 3);
    assert_string_equal(c.job_types[0].name, "a");
    assert_string_equal(c.job_types[0].argv[0], "uno");
    assert_int_equal(c.job_types[0].concurrency, 0); /* the whole type is replaced */
    assert_string_equal(c.job_types[2].argv[0], "three");
    dt_config_release(&c);
}

/* ------------------------------------------------------------ the table */

static void
demo_handler(struct durata_activity *a, void *arg)
{
    (void)arg;
    durata_activity_complete(a, "null");
}

static void
test_table_keeps_replaces_and_appends(void **state)
{
    const struct dt_job_type builtins[] = {
        {.name = "echo", .handler = demo_handler},
        {.name = "sleep", .handler = demo_handler},
    };
    char *argv[] = {"cat", NULL};
    struct dt_job_spec specs[] = {
        {.name = "resize",
         .argv = argv,
         .timeout_ms = 1000,
         .retry = {.max_attempts = 2, .first_interval_ms = 10}},
        {.name = "echo", .argv = argv, .concurrency = 3},
    };
    struct dt_job_spec bad = {.name = "x y", .argv = argv};
    struct dt_job_table t;

    (void)state;
    assert_int_equal(dt_job_table_build(&t, builtins, 2, specs, 2, NULL), 0);
    assert_int_equal(t.n, 3);
    assert_string_equal(t.names[0], "echo");
    assert_string_equal(t.names[1], "sleep");
    assert_string_equal(t.names[2], "resize");
    assert_null(t.names[3]);
    assert_true(t.types[0].handler == dt_command_handler);
    assert_non_null(t.commands[0]);
    assert_string_equal(dt_command_program(t.commands[0]), "cat");
    assert_true(t.types[1].handler == demo_handler);
    assert_null(t.commands[1]);
    assert_int_equal(t.types[2].retry.max_attempts, 2);
    assert_true(t.types[2].handler_arg == t.commands[2]);
    dt_job_table_release(&t);
    assert_null(t.types);
    assert_int_equal(dt_job_table_build(&t, builtins, 2, &bad, 1, NULL), DURATA_EINVAL);
    assert_null(t.types);
    assert_int_equal(dt_job_table_build(&t, NULL, 0, NULL, 0, NULL), 0);
    assert_int_equal(t.n, 0);
    assert_null(t.names[0]);
    dt_job_table_release(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_words_quotes_and_backslashes),
        cmocka_unit_test(test_split_refuses_what_only_a_shell_would_do),
        cmocka_unit_test(test_split_limits),
        cmocka_unit_test(test_job_names),
        cmocka_unit_test(test_job_type_flag),
        cmocka_unit_test(test_config_full_document),
        cmocka_unit_test(test_config_empty_object),
        cmocka_unit_test(test_config_errors_name_file_member_and_problem),
        cmocka_unit_test(test_config_job_type_member_errors),
        cmocka_unit_test(test_config_retry_errors),
        cmocka_unit_test(test_later_layer_replaces_a_job_type),
        cmocka_unit_test(test_table_keeps_replaces_and_appends),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
