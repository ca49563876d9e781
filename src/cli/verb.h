/*
 * verb.h — the client verbs as a table: each verb names its positional
 * arguments and the options it accepts, and verb.c parses a command line
 * against that, prints the verb's --help, opens the client and runs it.
 *
 * Owns: the option names every client verb shares (--url, --api-key,
 * --json, --help) and those only some take; the usage text and exit code 2
 * of a bad command line.
 * Threading: main thread only (getopt).
 */
#ifndef DT_CLI_VERB_H
#define DT_CLI_VERB_H

#include "cli/client.h"

#include <stdbool.h>
#include <stdio.h>

/* Options beyond the common ones; a verb accepts a set of them. */
enum dt_opt {
    DT_OPT_CUSTOMER, /* --customer ID */
    DT_OPT_PAYLOAD,  /* --payload JSON|@FILE */
    DT_OPT_IDEM_KEY, /* --idempotency-key K */
    DT_OPT_REASON,   /* --reason R */
    DT_OPT_STATUS,   /* --status S[,S...] */
    DT_OPT_TYPE,     /* --type T */
    DT_OPT_LIMIT,    /* --limit N */
    DT_OPT_ALL,      /* --all */
    DT_OPT_ID,       /* --id ID */
    DT_OPT_INPUT,    /* --input JSON|@FILE */
    DT_OPT_VERSION,  /* --version V */
    DT_OPT_HISTORY,  /* --history */
    DT_OPT_DATA,     /* --data JSON|@FILE */
    DT_OPT_NAME,     /* --name N */
    DT_OPT_PREFIX,   /* --prefix P */
    DT_OPT_TIMEOUT,  /* --timeout SECONDS */
    DT_OPT_UNREACH,  /* --unreachable-timeout SECONDS */
    DT_OPT_COUNT,
};

#define DT_OPT_BIT(o) (1u << (o))
#define DT_VERB_MAX_POS 2

struct dt_verb;

/* A parsed command line. */
struct dt_verb_args {
    const struct dt_verb *verb;
    const char *pos[DT_VERB_MAX_POS];
    const char *opt[DT_OPT_COUNT]; /* value; "" for a flag given; NULL when absent */
    bool json;                     /* --json */
};

struct dt_verb {
    const char *name;                       /* as typed after `durata`: "jobs submit", "wait" */
    const char *synopsis;                   /* what follows the name in the usage line */
    const char *summary;                    /* one line for `durata --help` */
    const char *help;                       /* the verb's own text: options, output, exit codes */
    unsigned n_pos;                         /* positional arguments, all required */
    const char *pos_names[DT_VERB_MAX_POS]; /* their names in messages: "ID" */
    unsigned opts;                          /* DT_OPT_BIT()s of the options it accepts */
    /* Runs the verb; returns the exit code. */
    int (*run)(struct dt_client *c, const struct dt_verb_args *a);
};

/* The tables (each ends with a zeroed entry). */
extern const struct dt_verb dt_jobs_verbs[];     /* verbs_jobs.c: "jobs submit", ... */
extern const struct dt_verb dt_instance_verbs[]; /* verbs_instances.c: "start", ... */
extern const struct dt_verb dt_wait_verbs[];     /* wait.c: "wait" */

/* Runs verb v with its command line (argv[0] is the verb's last word).
 * Returns the exit code. */
int dt_verb_main(const struct dt_verb *v, int argc, char **argv);
/* Prints v's usage and help text. */
void dt_verb_usage(const struct dt_verb *v, FILE *out);
/* Says "durata VERB: MESSAGE" and how to get help on stderr; returns
 * DT_EXIT_USAGE. */
int dt_verb_bad_usage(const struct dt_verb *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* An option's JSON value: the text itself, or the contents of FILE for
 * "@FILE" ("@-" reads stdin). On success *out is a new reference and *text
 * the compact JSON to send (malloc'd). Returns 0 or DT_EXIT_USAGE with a
 * message naming option `name` (not valid JSON, unreadable file). */
int dt_verb_json_arg(const struct dt_verb *v, const char *name, const char *value, json_t **out,
                     char **text);
/* --limit as a number in [1, max]; *n is left alone when absent. Returns 0
 * or DT_EXIT_USAGE. */
int dt_verb_limit(const struct dt_verb_args *a, long max, long *n);
/* Says "durata VERB: out of memory" on stderr; returns DT_EXIT_FAIL. */
int dt_verb_oom(const struct dt_verb_args *a);

/* The path of a Durable Functions management route: DT_VERB_DF +
 * "/instances/" + the percent-encoded id + suffix, into b. */
#define DT_VERB_DF "/runtime/webhooks/durabletask"
DURATA_MUST_CHECK int dt_verb_instance_path(struct dt_buf *b, const char *id, const char *suffix);
/* Prints an instance's status payload (spec 1.2) as a summary, and its
 * historyEvents as a table when it has them (verbs_instances.c). */
void dt_verb_print_instance(const json_t *st);

#endif
