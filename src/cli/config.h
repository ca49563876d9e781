/*
 * config.h — finding and reading the configuration file (durata.json) for
 * `durata serve`.
 *
 * Owns: where the file comes from (--config FILE, else $DURATA_CONFIG,
 * else ./durata.json when it exists; no file at all is fine), reading it
 * with a size cap, and printing what is wrong with it. What the file may
 * hold and how it is parsed: workers/jobconfig.h.
 * Threading: main thread.
 */
#ifndef DT_CLI_CONFIG_H
#define DT_CLI_CONFIG_H

#include "workers/jobconfig.h"

#include <stdint.h>

#define DT_CLI_CONFIG_DEFAULT "./durata.json"

/* The range of --activity-lease and DURATA_ACTIVITY_LEASE (the file's
 * "activityLeaseSeconds" has the same, see jobconfig.h). */
#define DT_CLI_LEASE_MIN_MS (DT_CONFIG_LEASE_MIN_S * 1000LL)
#define DT_CLI_LEASE_MAX_MS (DT_CONFIG_LEASE_MAX_S * 1000LL)

/* Loads the configuration into cfg (initialised, empty): from path when non-NULL (the --config
 * flag), else from $DURATA_CONFIG when set, else from ./durata.json when that file exists. A file
 * named by the flag or the variable must be readable. Problems are printed to stderr as "durata
 * serve: <file>: <what>". Returns DT_EXIT_OK (also when there is no file: cfg stays empty),
 * DT_EXIT_USAGE for a missing or bad file, or DT_EXIT_FAIL (out of memory). */
int dt_cli_config_load(struct dt_config *cfg, const char *path);

#endif
