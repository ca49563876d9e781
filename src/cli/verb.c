/*
 * verb.c — parsing a client verb's command line against its table entry,
 * its --help, and running it with a client of the chosen server.
 *
 * Owns: the server URL and key a verb uses: --url, else DURATA_URL, else
 * DT_CLIENT_DEFAULT_URL; --api-key, else the first key of DURATA_API_KEY
 * (the server reads that variable as a comma-separated list, so one
 * environment serves both). Options may come before or after the
 * positional arguments; "--" ends the options (for an id starting with
 * '-'). A missing, extra or empty argument, an unknown option or a bad
 * value is exit 2 with a hint to --help.
 * Threading: main thread only (getopt's globals).
 */
#include "cli/verb.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define VERB_MAX_JSON_FILE (16u * 1024 * 1024)
#define VERB_HELP_SHOWN (-1)

enum { OPT_URL = 'u', OPT_KEY = 'k', OPT_JSON = 'j', OPT_HELP = 'h', OPT_FIRST = 1000 };

static const struct {
    const char *name;
    bool has_arg;
} opt_specs[DT_OPT_COUNT] = {
    [DT_OPT_CUSTOMER] = {"customer", true},
    [DT_OPT_PAYLOAD] = {"payload", true},
    [DT_OPT_IDEM_KEY] = {"idempotency-key", true},
    [DT_OPT_REASON] = {"reason", true},
    [DT_OPT_STATUS] = {"status", true},
    [DT_OPT_TYPE] = {"type", true},
    [DT_OPT_LIMIT] = {"limit", true},
    [DT_OPT_ALL] = {"all", false},
    [DT_OPT_ID] = {"id", true},
    [DT_OPT_INPUT] = {"input", true},
    [DT_OPT_VERSION] = {"version", true},
    [DT_OPT_HISTORY] = {"history", false},
    [DT_OPT_DATA] = {"data", true},
    [DT_OPT_NAME] = {"name", true},
    [DT_OPT_PREFIX] = {"prefix", true},
    [DT_OPT_TIMEOUT] = {"timeout", true},
    [DT_OPT_UNREACH] = {"unreachable-timeout", true},
};

void
dt_verb_usage(const struct dt_verb *v, FILE *out)
{
    fprintf(out, "usage: durata %s %s\n\n%s\n%s", v->name, v->synopsis, v->summary, v->help);
    fprintf(out,
            "\nCommon options:\n"
            "  --url URL        the server (default $DURATA_URL, else %s)\n"
            "  --api-key KEY    sent as the x-functions-key header (default: the first\n"
            "                   key of $DURATA_API_KEY)\n"
            "  --json           print the server's JSON instead of the summary\n"
            "  -h, --help       show this text\n"
            "\nExit codes: 0 ok, 1 request failed or server error, 2 bad usage, 6 not\n"
            "found (404), 7 conflict with the instance's state (409/410)%s.\n",
            DT_CLIENT_DEFAULT_URL,
            v->opts & DT_OPT_BIT(DT_OPT_TIMEOUT)
                ? ";\n3 the instance failed, 4 it was terminated or canceled, 5 timed out"
                : "");
}

int
dt_verb_bad_usage(const struct dt_verb *v, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "durata %s: ", v->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nRun 'durata %s --help' for usage.\n", v->name);
    return DT_EXIT_USAGE;
}

/* The getopt table of v: the common options and those v accepts. */
static void
build_longopts(const struct dt_verb *v, struct option *longs)
{
    size_t n = 0;

    longs[n++] = (struct option){"url", required_argument, NULL, OPT_URL};
    longs[n++] = (struct option){"api-key", required_argument, NULL, OPT_KEY};
    longs[n++] = (struct option){"json", no_argument, NULL, OPT_JSON};
    longs[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
    for (int i = 0; i < DT_OPT_COUNT; i++)
        if (v->opts & DT_OPT_BIT(i))
            longs[n++] = (struct option){opt_specs[i].name,
                                         opt_specs[i].has_arg ? required_argument : no_argument,
                                         NULL, OPT_FIRST + i};
    longs[n] = (struct option){NULL, 0, NULL, 0};
}

/* The server and key chosen by the options. */
struct verb_target {
    const char *url;
    const char *key;
};

/* Reads the options into a and t; VERB_HELP_SHOWN after --help. */
static int
parse_options(const struct dt_verb *v, int argc, char **argv, struct dt_verb_args *a,
              struct verb_target *t)
{
    struct option longs[DT_OPT_COUNT + 5];
    int c;

    build_longopts(v, longs);
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        if (c == OPT_URL)
            t->url = optarg;
        else if (c == OPT_KEY)
            t->key = optarg;
        else if (c == OPT_JSON)
            a->json = true;
        else if (c == OPT_HELP)
            break;
        else if (c >= OPT_FIRST && c < OPT_FIRST + DT_OPT_COUNT)
            a->opt[c - OPT_FIRST] = optarg ? optarg : "";
        else if (c == ':')
            return dt_verb_bad_usage(v, "option '%s' needs a value", argv[optind - 1]);
        else
            return dt_verb_bad_usage(v, "unknown option '%s'", argv[optind - 1]);
    }
    if (c == OPT_HELP) {
        dt_verb_usage(v, stdout);
        return VERB_HELP_SHOWN;
    }
    return DT_EXIT_OK;
}

static int
parse_positionals(const struct dt_verb *v, int argc, char **argv, struct dt_verb_args *a)
{
    unsigned given = (unsigned)(argc - optind);

    if (given < v->n_pos)
        return dt_verb_bad_usage(v, "missing %s", v->pos_names[given]);
    if (given > v->n_pos)
        return dt_verb_bad_usage(v, "unexpected argument '%s'", argv[optind + v->n_pos]);
    for (unsigned i = 0; i < v->n_pos; i++) {
        a->pos[i] = argv[optind + i];
        if (!*a->pos[i])
            return dt_verb_bad_usage(v, "%s cannot be empty", v->pos_names[i]);
    }
    return DT_EXIT_OK;
}

/* The key of DURATA_API_KEY to use (its first item), malloc'd in *copy. */
static int
env_key(const char **key, char **copy)
{
    const char *env = getenv("DURATA_API_KEY");

    *copy = NULL;
    if (!env || !*env)
        return DT_EXIT_OK;
    if (!(*copy = strndup(env, strcspn(env, ",")))) {
        fprintf(stderr, "durata: out of memory\n");
        return DT_EXIT_FAIL;
    }
    *key = *copy;
    return DT_EXIT_OK;
}

int
dt_verb_main(const struct dt_verb *v, int argc, char **argv)
{
    struct dt_verb_args a = {.verb = v};
    struct verb_target t = {0};
    struct dt_client c = {0};
    char *key_copy = NULL;
    const char *env;
    int rc;

    rc = parse_options(v, argc, argv, &a, &t);
    if (rc == DT_EXIT_OK)
        rc = parse_positionals(v, argc, argv, &a);
    if (rc == DT_EXIT_OK && !t.key)
        rc = env_key(&t.key, &key_copy);
    if (rc != DT_EXIT_OK)
        goto out_key;
    if (!t.url)
        t.url = (env = getenv("DURATA_URL")) && *env ? env : DT_CLIENT_DEFAULT_URL;
    rc = dt_client_open(&c, v->name, t.url, t.key);
    if (rc == DT_EXIT_OK)
        rc = v->run(&c, &a);
    dt_client_close(&c);
    if (fflush(stdout) != 0 && rc == DT_EXIT_OK) {
        fprintf(stderr, "durata %s: cannot write the output\n", v->name);
        rc = DT_EXIT_FAIL;
    }
out_key:
    free(key_copy);
    return rc == VERB_HELP_SHOWN ? DT_EXIT_OK : rc;
}

/* ------------------------------------------------------------ values */

/* The contents of path ("-": stdin) into b; *err = errno on
 * DURATA_ESYS. */
static int
read_file(const char *path, struct dt_buf *b, int *err)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char chunk[8192];
    size_t n;
    int rc = 0;

    *err = errno;
    if (!f)
        return DURATA_ESYS;
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = dt_buf_append(b, chunk, n);
    if (rc == 0 && ferror(f)) {
        *err = errno;
        rc = DURATA_ESYS;
    }
    if (f != stdin)
        fclose(f);
    return rc;
}

int
dt_verb_json_arg(const struct dt_verb *v, const char *name, const char *value, json_t **out,
                 char **text)
{
    struct dt_buf b;
    json_error_t e;
    int rc, err;

    *out = NULL;
    *text = NULL;
    dt_buf_init(&b, VERB_MAX_JSON_FILE);
    if (value[0] == '@') {
        rc = read_file(value + 1, &b, &err);
        if (rc == DURATA_ETOOBIG)
            rc = dt_verb_bad_usage(v, "--%s: %s is larger than 16 MiB", name, value + 1);
        else if (rc < 0)
            rc = dt_verb_bad_usage(v, "--%s: cannot read %s: %s", name, value + 1, strerror(err));
    } else {
        rc = dt_buf_appends(&b, value);
    }
    if (rc == 0 && !(*out = json_loadb(b.data ? b.data : "", b.len, JSON_DECODE_ANY, &e)))
        rc = dt_verb_bad_usage(v, "--%s is not valid JSON: %s (line %d, column %d)", name, e.text,
                               e.line, e.column);
    if (rc == 0 && !(*text = dt_buf_detach(&b))) {
        fprintf(stderr, "durata %s: out of memory\n", v->name);
        rc = DT_EXIT_FAIL;
    }
    if (rc != 0) {
        json_decref(*out);
        *out = NULL;
    }
    dt_buf_release(&b);
    return rc == DURATA_ENOMEM ? DT_EXIT_FAIL : rc;
}

int
dt_verb_limit(const struct dt_verb_args *a, long max, long *n)
{
    const char *s = a->opt[DT_OPT_LIMIT];
    char *end;
    long v;

    if (!s)
        return DT_EXIT_OK;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > max)
        return dt_verb_bad_usage(a->verb, "--limit wants a number from 1 to %ld, not '%s'", max, s);
    *n = v;
    return DT_EXIT_OK;
}

int
dt_verb_oom(const struct dt_verb_args *a)
{
    fprintf(stderr, "durata %s: out of memory\n", a->verb->name);
    return DT_EXIT_FAIL;
}
