/*
 * jobconfig.h — configured job types and the configuration file
 * (durata.json): reading it into plain values, the --job-type NAME=COMMAND
 * quick form with its shell-like splitting, and the table of job types a
 * server registers (built-in types, overridden or extended by command
 * types).
 *
 * durata.json (every member optional; unknown members are errors):
 *   {"$schema": string (ignored),
 *    "listen": "HOST:PORT", "store": "PATH", "apiKeys": ["KEY", ...],
 *    "threads": n, "logLevel": "debug|info|warn|error|off",
 *    "retention": "7d", "activityLeaseSeconds": x (1 to 86400, fractions
 *    allowed: how long an activity is leased to a worker before another
 *    may run it), "shutdownGraceSeconds": x (0 to 3600: how long a stopping
 *    server lets running handlers finish),
 *    "jobTypes": {"NAME": {"command": ["prog", "arg", ...] or "prog arg ...",
 *                          "timeoutSeconds": x (default 3600; 0 = none),
 *                          "concurrency": n (default: no limit),
 *                          "retry": {"maxAttempts": n (default 1),
 *                                    "firstRetryIntervalMs": n (default 1000),
 *                                    "backoffCoefficient": x (default 2),
 *                                    "maxRetryIntervalMs": n (default 0:
 *                                    no cap)}}}}
 * Job type names are 1 to 64 of [A-Za-z0-9_.-]; a configured type may
 * replace a built-in one of the same name.
 * Messages name the file, the member and the problem, e.g.
 *   "durata.json: jobTypes.resize.timeoutSeconds: must be a number of
 *    seconds from 0 to 2592000".
 * Threading: none; values belong to their owner.
 */
#ifndef DT_WORKERS_JOBCONFIG_H
#define DT_WORKERS_JOBCONFIG_H

#include "durata.h"
#include "workers/command.h"
#include "workers/jobs.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DT_JOB_NAME_MAX 64
#define DT_JOB_DEFAULT_TIMEOUT_MS (3600LL * 1000)
#define DT_CMDLINE_MAX_BYTES 65536
#define DT_CONFIG_MAX_BYTES (4 * 1024 * 1024)

/* The range of an activity lease in seconds: a lease is renewed every
 * third of it while the activity runs, so much shorter would be busy work,
 * and a crashed worker's task waits a whole lease before it runs again. */
#define DT_CONFIG_LEASE_MIN_S 1
#define DT_CONFIG_LEASE_MAX_S 86400
/* The longest grace a stopping server gives running handlers, seconds. */
#define DT_CONFIG_GRACE_MAX_S 3600

/* One command-backed job type as configured. */
struct dt_job_spec {
    char *name;
    char **argv; /* NULL-terminated */
    int64_t timeout_ms;
    unsigned concurrency; /* 0 = no limit */
    struct durata_retry_policy retry;
};

void dt_job_spec_release(struct dt_job_spec *s);

/* The configuration file's values; NULL / 0 = not given. */
struct dt_config {
    char *origin; /* the file's path, for messages; NULL without a file */
    char *listen;
    char *store;
    char *log_level;
    char *retention; /* a duration text ("7d"), checked by dt_duration_parse */
    int threads;
    int64_t activity_lease_ms; /* "activityLeaseSeconds"; 0 = not given */
    int64_t shutdown_grace_ms; /* "shutdownGraceSeconds"; -1 = not given */
    char **api_keys;           /* NULL-terminated when n_api_keys > 0 */
    size_t n_api_keys;
    struct dt_job_spec *job_types;
    size_t n_job_types;
};

void dt_config_init(struct dt_config *c);
void dt_config_release(struct dt_config *c);

/* Parses the configuration text (len bytes) read from `origin` into c
 * (initialised, empty). DURATA_EJSON (syntax, with line and column) or
 * DURATA_EINVAL (a member is wrong) with the message in err; DURATA_ENOMEM. */
DURATA_MUST_CHECK int dt_config_parse(struct dt_config *c, const char *text, size_t len,
                                      const char *origin, char *err, size_t err_size);

/* Adds spec (taken: *spec is left empty) to c's job types, replacing one
 * of the same name (the later layer wins). 0 or DURATA_ENOMEM. */
DURATA_MUST_CHECK int dt_config_put_job_type(struct dt_config *c, struct dt_job_spec *spec);

/* Parses "NAME=COMMAND" (the --job-type quick form) into *s with the
 * defaults: timeout DT_JOB_DEFAULT_TIMEOUT_MS, no concurrency limit, one
 * attempt. DURATA_EINVAL (message in err) or DURATA_ENOMEM. */
DURATA_MUST_CHECK int dt_job_spec_parse_flag(struct dt_job_spec *s, const char *text, char *err,
                                             size_t err_size);

/* true for 1 to DT_JOB_NAME_MAX characters of [A-Za-z0-9_.-]. */
bool dt_job_name_is_valid(const char *name);

/* Splits a command line into words as a POSIX shell would, without
 * running one: blanks separate words; '...' is literal; "..." is literal
 * but for \" \\ \$ \` and backslash-newline; outside quotes a backslash
 * takes the next character literally. What a shell would do more with
 * (unquoted | & ; < > ( ) $ ` * ? [ and newlines, # or ~ starting a word,
 * $ or ` inside double quotes) is refused with a hint to quote it or use
 * sh -c. *argv is NULL-terminated and malloc'd (dt_cmdline_free).
 * DURATA_EINVAL (message in err: what and where) or DURATA_ENOMEM. */
DURATA_MUST_CHECK int dt_cmdline_split(const char *text, char ***argv, char *err, size_t err_size);
void dt_cmdline_free(char **argv);

/* The job types a server registers: the built-ins, in order, with those a
 * spec names replaced by the spec, then the other specs, in order. */
struct dt_job_table {
    struct dt_job_type *types;
    size_t n;
    const char **names;           /* NULL-terminated, for dt_app.job_types */
    struct dt_command **commands; /* per type; NULL for built-ins */
    char **owned_names;           /* per type; NULL for built-ins */
};

/* Builds t (command types watch `hub` for ended jobs; hub may be NULL).
 * 0, DURATA_EINVAL (a bad spec) or DURATA_ENOMEM; on error t is empty. */
DURATA_MUST_CHECK int dt_job_table_build(struct dt_job_table *t, const struct dt_job_type *builtins,
                                         size_t n_builtins, const struct dt_job_spec *specs,
                                         size_t n_specs, struct durata_hub *hub);
/* Frees t's contents (the hub using it must be closed). */
void dt_job_table_release(struct dt_job_table *t);

#endif
