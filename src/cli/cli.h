/*
 * cli.h — the `durata` command line: its verbs and shared helpers.
 *
 * Owns: the exit codes scripts rely on and the verbs' entry points.
 * Threading: main thread only.
 */
#ifndef DT_CLI_CLI_H
#define DT_CLI_CLI_H

#include <stdbool.h>

/* Keep in step with project(durata VERSION ...) in CMakeLists.txt. */
#define DT_CLI_VERSION "0.1.0"

/* Exit codes: 0 success, 1 the command failed (store, bind, ...), 2 bad
 * usage (unknown verb or option, malformed value). */
enum dt_cli_exit {
    DT_EXIT_OK = 0,
    DT_EXIT_FAIL = 1,
    DT_EXIT_USAGE = 2,
};

/* `durata serve [options]`; argv[0] is "serve". Returns an exit code. */
int dt_cli_serve(int argc, char **argv);

/* Splits "HOST:PORT" or "[V6]:PORT" into host (copied into host, size
 * bytes) and port. false when malformed (message in *why). */
bool dt_cli_parse_listen(const char *text, char *host, unsigned size, int *port, const char **why);

/* true for 127.0.0.0/8, ::1 and "localhost". */
bool dt_cli_host_is_loopback(const char *host);

#endif
