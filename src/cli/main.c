/*
 * main.c — `durata`: picks the verb and runs it.
 *
 * Owns: the top-level usage text and the dispatch to verbs (serve.c).
 * Exit codes are those of cli.h: 0 ok, 1 failure, 2 bad usage.
 * Threading: main thread.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static void
usage(FILE *out)
{
    fprintf(out,
            "durata %s - a durable task hub\n"
            "\n"
            "usage: durata <command> [options]\n"
            "\n"
            "commands:\n"
            "  serve     run the HTTP server (job API, Durable Functions API)\n"
            "  version   print the version\n"
            "  help      show this text\n"
            "\n"
            "Run 'durata <command> --help' for the options of a command.\n",
            DT_CLI_VERSION);
}

static bool
is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

int
main(int argc, char **argv)
{
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
    fprintf(stderr, "durata: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return DT_EXIT_USAGE;
}
