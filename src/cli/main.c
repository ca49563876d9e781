/*
 * main.c — `durata`: picks the verb and runs it.
 *
 * Owns: the top-level usage text (every command, the client options, the
 * exit codes scripts rely on) and the dispatch: `serve` and `version`
 * here and in serve.c; `jobs VERB`, the instance verbs and `wait` through
 * the verb tables of verb.h. The client options --url, --api-key and
 * --json may also come before the command (`durata --url URL list`): they
 * are moved behind the verb's name, where the verb reads them.
 * Threading: main thread.
 */
#include "cli/cli.h"
#include "cli/verb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
list_verbs(FILE *out, const struct dt_verb *verbs)
{
    for (const struct dt_verb *v = verbs; v->name; v++)
        fprintf(out, "  %-13s %s\n", v->name, v->summary);
}

static void
usage(FILE *out)
{
    fprintf(out,
            "durata %s - a durable task hub\n"
            "\n"
            "usage: durata <command> [options]\n"
            "\n"
            "Server:\n"
            "  serve         run the HTTP server (job API, Durable Functions API)\n"
            "  version       print the version\n"
            "  help          show this text\n"
            "\n"
            "Jobs (/api/jobs):\n",
            DT_CLI_VERSION);
    list_verbs(out, dt_jobs_verbs);
    fprintf(out, "\nOrchestration instances (Durable Functions API):\n");
    list_verbs(out, dt_instance_verbs);
    list_verbs(out, dt_wait_verbs);
    fprintf(out,
            "\n"
            "Client commands talk to a server: --url URL (default $DURATA_URL, else\n"
            "%s), --api-key KEY (default $DURATA_API_KEY, sent as\n"
            "x-functions-key), --json to print the server's JSON instead of a summary.\n"
            "Errors go to stderr, with the server's message.\n"
            "\n"
            "Exit codes:\n"
            "  0  ok\n"
            "  1  the request failed (server unreachable, server error) or the command\n"
            "     failed (serve: store or address unusable)\n"
            "  2  bad usage (unknown command or option, malformed value)\n"
            "  3  wait: the instance failed\n"
            "  4  wait: the instance was terminated or canceled\n"
            "  5  wait: timed out\n"
            "  6  not found (404)\n"
            "  7  conflict with the instance's state (409, 410)\n"
            "\n"
            "Run 'durata <command> --help' for the options of a command.\n",
            DT_CLIENT_DEFAULT_URL);
}

static bool
is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

static const struct dt_verb *
find_verb(const struct dt_verb *verbs, const char *name)
{
    for (const struct dt_verb *v = verbs; v->name; v++)
        if (strcmp(v->name, name) == 0)
            return v;
    return NULL;
}

static void
jobs_usage(FILE *out)
{
    fprintf(out, "usage: durata jobs <verb> [options]\n\nVerbs:\n");
    list_verbs(out, dt_jobs_verbs);
    fprintf(out, "\nRun 'durata jobs <verb> --help' for the options of a verb.\n");
}

/* `durata jobs VERB ...`; argv[0] is "jobs". */
static int
jobs_main(int argc, char **argv)
{
    const struct dt_verb *v;
    char name[64];

    if (argc < 2) {
        jobs_usage(stderr);
        return DT_EXIT_USAGE;
    }
    if (is_help(argv[1])) {
        jobs_usage(stdout);
        return DT_EXIT_OK;
    }
    snprintf(name, sizeof(name), "jobs %s", argv[1]);
    if (!(v = find_verb(dt_jobs_verbs, name))) {
        fprintf(stderr, "durata jobs: unknown verb '%s'\nRun 'durata jobs --help' for the verbs.\n",
                argv[1]);
        return DT_EXIT_USAGE;
    }
    return dt_verb_main(v, argc - 1, argv + 1);
}

/* How many leading arguments are client options (with their values). */
static int
leading_client_options(int argc, char **argv)
{
    int i = 1;

    while (i < argc) {
        if (strcmp(argv[i], "--json") == 0 || strncmp(argv[i], "--url=", 6) == 0 ||
            strncmp(argv[i], "--api-key=", 10) == 0)
            i++;
        else if ((strcmp(argv[i], "--url") == 0 || strcmp(argv[i], "--api-key") == 0) &&
                 i + 1 < argc)
            i += 2;
        else
            break;
    }
    return i - 1;
}

/* argv with the n leading client options moved behind the command's name
 * (one word, or two for `jobs VERB`); NULL on out of memory. */
static char **
hoist_options(int argc, char **argv, int n)
{
    char **out = calloc((size_t)argc + 1, sizeof(*out));
    int words = 1, k = 0;

    if (!out)
        return NULL;
    if (n + 2 < argc && strcmp(argv[n + 1], "jobs") == 0)
        words = 2;
    out[k++] = argv[0];
    for (int i = 0; i < words && n + 1 + i < argc; i++)
        out[k++] = argv[n + 1 + i];
    for (int i = 0; i < n; i++)
        out[k++] = argv[1 + i];
    for (int i = n + 1 + words; i < argc; i++)
        out[k++] = argv[i];
    return out;
}

static int
dispatch(int argc, char **argv)
{
    const struct dt_verb *v;

    if (argc < 2) {
        usage(stderr);
        return DT_EXIT_USAGE;
    }
    if (is_help(argv[1])) {
        usage(stdout);
        return DT_EXIT_OK;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        if (argc > 2 && is_help(argv[2])) {
            printf("usage: durata version\n\nPrints the version of durata.\n");
            return DT_EXIT_OK;
        }
        printf("durata %s\n", DT_CLI_VERSION);
        return DT_EXIT_OK;
    }
    if (strcmp(argv[1], "serve") == 0)
        return dt_cli_serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "jobs") == 0)
        return jobs_main(argc - 1, argv + 1);
    if ((v = find_verb(dt_instance_verbs, argv[1])) || (v = find_verb(dt_wait_verbs, argv[1])))
        return dt_verb_main(v, argc - 1, argv + 1);
    fprintf(stderr, "durata: unknown command '%s'\nRun 'durata --help' for the commands.\n",
            argv[1]);
    return DT_EXIT_USAGE;
}

int
main(int argc, char **argv)
{
    int n = leading_client_options(argc, argv), rc;
    char **moved;

    if (n == 0)
        return dispatch(argc, argv);
    if (n + 1 >= argc) {
        fprintf(stderr, "durata: missing command after the options\n"
                        "Run 'durata --help' for the commands.\n");
        return DT_EXIT_USAGE;
    }
    if (!(moved = hoist_options(argc, argv, n))) {
        fprintf(stderr, "durata: out of memory\n");
        return DT_EXIT_FAIL;
    }
    rc = dispatch(argc, moved);
    free(moved);
    return rc;
}
