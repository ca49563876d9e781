/*
 * jobconfig.c — reading durata.json into struct dt_config, and building
 * the job type table a server registers (jobconfig.h).
 *
 * Every member is checked where it is read; the first problem stops the
 * parse with "<file>: <path>: <problem>", the path in dotted form
 * (jobTypes.resize.retry.maxAttempts, jobTypes.resize.command[2]).
 * Threading: none.
 */
#include "workers/jobconfig.h"

#include "base/duration.h"

#include "base/log.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_MAX_SECONDS 2592000.0 /* 30 days */
#define CFG_MAX_MS (2592000LL * 1000)
#define CFG_MAX_API_KEYS 16
#define CFG_PATH_MAX 200

struct cfg_ctx {
    const char *origin;
    char *err;
    size_t err_size;
};

static int cfg_fail(struct cfg_ctx *x, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
cfg_fail(struct cfg_ctx *x, const char *path, const char *fmt, ...)
{
    char what[300];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(x->err, x->err_size, "%s: %s: %s", x->origin, path, what);
    return DURATA_EINVAL;
}

void
dt_config_init(struct dt_config *c)
{
    memset(c, 0, sizeof(*c));
    c->shutdown_grace_ms = -1;
}

void
dt_config_release(struct dt_config *c)
{
    if (!c)
        return;
    free(c->origin);
    free(c->listen);
    free(c->store);
    free(c->log_level);
    free(c->retention);
    dt_cmdline_free(c->api_keys);
    for (size_t i = 0; i < c->n_job_types; i++)
        dt_job_spec_release(&c->job_types[i]);
    free(c->job_types);
    dt_config_init(c);
}

int
dt_config_put_job_type(struct dt_config *c, struct dt_job_spec *spec)
{
    struct dt_job_spec *grown;

    for (size_t i = 0; i < c->n_job_types; i++) {
        if (strcmp(c->job_types[i].name, spec->name) == 0) {
            dt_job_spec_release(&c->job_types[i]);
            c->job_types[i] = *spec;
            memset(spec, 0, sizeof(*spec));
            return 0;
        }
    }
    grown = realloc(c->job_types, (c->n_job_types + 1) * sizeof(*grown));
    if (!grown)
        return DURATA_ENOMEM;
    c->job_types = grown;
    c->job_types[c->n_job_types++] = *spec;
    memset(spec, 0, sizeof(*spec));
    return 0;
}

/* ------------------------------------------------------------ values */

/* A non-empty string without NUL into *out (malloc'd). */
static int
cfg_string(struct cfg_ctx *x, const json_t *v, const char *path, char **out)
{
    if (!json_is_string(v) || json_string_length(v) == 0)
        return cfg_fail(x, path, "must be a non-empty string");
    free(*out);
    *out = strdup(json_string_value(v));
    return *out ? 0 : DURATA_ENOMEM;
}

/* An integer in [min, max]. */
static int
cfg_int(struct cfg_ctx *x, const json_t *v, const char *path, long long min, long long max,
        long long *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return cfg_fail(x, path, "must be an integer from %lld to %lld", min, max);
    *out = (long long)json_integer_value(v);
    return 0;
}

/* A number (integer or real) in [min, max]. */
static int
cfg_number(struct cfg_ctx *x, const json_t *v, const char *path, double min, double max,
           const char *what, double *out)
{
    double d = json_number_value(v);

    if (!json_is_number(v) || !isfinite(d) || d < min || d > max)
        return cfg_fail(x, path, "must be %s from %.10g to %.10g", what, min, max);
    *out = d;
    return 0;
}

/* A label for error messages; a label longer than out is cut. */
static void
path_join(char *out, size_t size, const char *base, const char *key)
{
    if (snprintf(out, size, "%s.%s", base, key) < 0)
        out[0] = '\0';
}

static int
cfg_api_keys(struct cfg_ctx *x, const json_t *v, struct dt_config *c)
{
    char path[CFG_PATH_MAX];
    size_t n = json_array_size(v);

    if (!json_is_array(v) || n > CFG_MAX_API_KEYS)
        return cfg_fail(x, "apiKeys", "must be an array of at most %d strings", CFG_MAX_API_KEYS);
    dt_cmdline_free(c->api_keys);
    c->n_api_keys = 0;
    c->api_keys = calloc(n + 1, sizeof(*c->api_keys));
    if (!c->api_keys)
        return DURATA_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "apiKeys[%zu]", i);
        int rc = cfg_string(x, json_array_get(v, i), path, &c->api_keys[i]);
        if (rc < 0)
            return rc;
        c->n_api_keys++;
    }
    return 0;
}

/* ------------------------------------------------------------ job types */

static int
cfg_command(struct cfg_ctx *x, const json_t *v, const char *path, struct dt_job_spec *s)
{
    char elem[CFG_PATH_MAX], why[400];
    size_t n = json_array_size(v);
    int rc;

    if (json_is_string(v)) {
        rc = dt_cmdline_split(json_string_value(v), &s->argv, why, sizeof(why));
        return rc == DURATA_EINVAL ? cfg_fail(x, path, "%s", why) : rc;
    }
    if (!json_is_array(v) || n == 0 || n >= DT_COMMAND_MAX_ARGS)
        return cfg_fail(x, path,
                        "must be a non-empty array of strings: [\"program\", \"arg\", ...]");
    s->argv = calloc(n + 1, sizeof(*s->argv));
    if (!s->argv)
        return DURATA_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const json_t *a = json_array_get(v, i);
        if (snprintf(elem, sizeof(elem), "%s[%zu]", path, i) < 0) /* a cut label is fine */
            elem[0] = '\0';
        if (!json_is_string(a) || (i == 0 && json_string_length(a) == 0))
            return cfg_fail(x, elem,
                            i == 0 ? "the program must be a non-empty string" : "must be a string");
        s->argv[i] = strdup(json_string_value(a));
        if (!s->argv[i])
            return DURATA_ENOMEM;
    }
    return 0;
}

static int
cfg_retry_member(struct cfg_ctx *x, const char *key, const json_t *v, const char *path,
                 struct durata_retry_policy *p)
{
    long long i = 0;
    int rc;

    if (strcmp(key, "maxAttempts") == 0) {
        rc = cfg_int(x, v, path, 1, DURATA_MAX_RETRY_ATTEMPTS, &i);
        p->max_attempts = (int)i;
    } else if (strcmp(key, "firstRetryIntervalMs") == 0) {
        rc = cfg_int(x, v, path, 1, CFG_MAX_MS, &i);
        p->first_interval_ms = i;
    } else if (strcmp(key, "backoffCoefficient") == 0) {
        rc = cfg_number(x, v, path, 1.0, 1000.0, "a number", &p->backoff_coefficient);
    } else if (strcmp(key, "maxRetryIntervalMs") == 0) {
        rc = cfg_int(x, v, path, 0, CFG_MAX_MS, &i);
        p->max_interval_ms = i;
    } else {
        rc = cfg_fail(x, path,
                      "unknown member (known: maxAttempts, firstRetryIntervalMs, "
                      "backoffCoefficient, maxRetryIntervalMs)");
    }
    return rc;
}

static int
cfg_retry(struct cfg_ctx *x, const json_t *v, const char *path, struct durata_retry_policy *p)
{
    char sub[CFG_PATH_MAX];
    const char *key;
    const json_t *m;
    int rc = 0;

    if (!json_is_object(v))
        return cfg_fail(x, path, "must be an object, e.g. {\"maxAttempts\": 3}");
    json_object_foreach((json_t *)v, key, m)
    {
        path_join(sub, sizeof(sub), path, key);
        rc = cfg_retry_member(x, key, m, sub, p);
        if (rc < 0)
            break;
    }
    return rc;
}

static int
cfg_job_member(struct cfg_ctx *x, const char *key, const json_t *v, const char *path,
               struct dt_job_spec *s)
{
    long long n = 0;
    double secs = 0;
    int rc;

    if (strcmp(key, "command") == 0)
        return cfg_command(x, v, path, s);
    if (strcmp(key, "retry") == 0)
        return cfg_retry(x, v, path, &s->retry);
    if (strcmp(key, "concurrency") == 0) {
        rc = cfg_int(x, v, path, 1, DT_COMMAND_MAX_CONCURRENCY, &n);
        s->concurrency = (unsigned)n;
        return rc;
    }
    if (strcmp(key, "timeoutSeconds") == 0) {
        rc = cfg_number(x, v, path, 0, CFG_MAX_SECONDS, "a number of seconds", &secs);
        if (rc == 0 && secs > 0 && secs < 0.001)
            rc = cfg_fail(x, path, "must be 0 (no timeout) or at least 0.001");
        s->timeout_ms = (int64_t)llround(secs * 1000.0);
        return rc;
    }
    return cfg_fail(x, path, "unknown member (known: command, timeoutSeconds, concurrency, retry)");
}

/* One member of "jobTypes" into s (s->name already set). */
static int
cfg_job_type(struct cfg_ctx *x, const json_t *v, struct dt_job_spec *s)
{
    char path[CFG_PATH_MAX], sub[CFG_PATH_MAX];
    const char *key;
    const json_t *m;
    int rc = 0;

    snprintf(path, sizeof(path), "jobTypes.%s", s->name);
    if (!json_is_object(v))
        return cfg_fail(x, path, "must be an object, e.g. {\"command\": [\"prog\", \"arg\"]}");
    s->timeout_ms = DT_JOB_DEFAULT_TIMEOUT_MS;
    s->retry.max_attempts = 1;
    s->retry.first_interval_ms = 1000;
    s->retry.backoff_coefficient = 2.0;
    json_object_foreach((json_t *)v, key, m)
    {
        path_join(sub, sizeof(sub), path, key);
        rc = cfg_job_member(x, key, m, sub, s);
        if (rc < 0)
            return rc;
    }
    if (!s->argv)
        return cfg_fail(x, path, "needs a \"command\": [\"program\", \"arg\", ...]");
    return 0;
}

static int
cfg_job_types(struct cfg_ctx *x, const json_t *v, struct dt_config *c)
{
    struct dt_job_spec s;
    const char *name;
    const json_t *m;
    int rc = 0;

    if (!json_is_object(v))
        return cfg_fail(x, "jobTypes", "must be an object of job types by name");
    json_object_foreach((json_t *)v, name, m)
    {
        memset(&s, 0, sizeof(s));
        if (!dt_job_name_is_valid(name))
            return cfg_fail(x, "jobTypes",
                            "'%.100s' is not a valid job type name (1 to %d of A-Z a-z 0-9 _ . -)",
                            name, DT_JOB_NAME_MAX);
        s.name = strdup(name);
        rc = s.name ? cfg_job_type(x, m, &s) : DURATA_ENOMEM;
        if (rc == 0)
            rc = dt_config_put_job_type(c, &s);
        dt_job_spec_release(&s);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------ the file */

static int
cfg_member(struct cfg_ctx *x, const char *key, const json_t *v, struct dt_config *c)
{
    long long n = 0;
    int rc;

    if (strcmp(key, "$schema") == 0)
        return 0;
    if (strcmp(key, "listen") == 0)
        return cfg_string(x, v, key, &c->listen);
    if (strcmp(key, "store") == 0)
        return cfg_string(x, v, key, &c->store);
    if (strcmp(key, "apiKeys") == 0)
        return cfg_api_keys(x, v, c);
    if (strcmp(key, "jobTypes") == 0)
        return cfg_job_types(x, v, c);
    if (strcmp(key, "threads") == 0) {
        rc = cfg_int(x, v, key, 1, 1024, &n);
        c->threads = (int)n;
        return rc;
    }
    if (strcmp(key, "logLevel") == 0) {
        if (!json_is_string(v) || dt_log_level_parse(json_string_value(v)) < 0)
            return cfg_fail(x, key,
                            "must be one of \"debug\", \"info\", \"warn\", \"error\", "
                            "\"off\"");
        return cfg_string(x, v, key, &c->log_level);
    }
    if (strcmp(key, "activityLeaseSeconds") == 0) {
        double s = 0;
        rc = cfg_number(x, v, key, DT_CONFIG_LEASE_MIN_S, DT_CONFIG_LEASE_MAX_S,
                        "a number of seconds", &s);
        c->activity_lease_ms = (int64_t)llround(s * 1000.0);
        return rc;
    }
    if (strcmp(key, "shutdownGraceSeconds") == 0) {
        double s = 0;
        rc = cfg_number(x, v, key, 0, DT_CONFIG_GRACE_MAX_S, "a number of seconds", &s);
        c->shutdown_grace_ms = (int64_t)llround(s * 1000.0);
        return rc;
    }
    if (strcmp(key, "retention") == 0) {
        int64_t ms;
        if (!json_is_string(v) || dt_duration_parse(json_string_value(v), &ms) < 0 || ms <= 0)
            return cfg_fail(x, key, "must be a duration such as \"30s\", \"15m\", \"24h\", \"7d\"");
        return cfg_string(x, v, key, &c->retention);
    }
    return cfg_fail(x, key,
                    "unknown member (known: listen, store, apiKeys, threads, logLevel, "
                    "retention, activityLeaseSeconds, shutdownGraceSeconds, jobTypes)");
}

int
dt_config_parse(struct dt_config *c, const char *text, size_t len, const char *origin, char *err,
                size_t err_size)
{
    struct cfg_ctx x = {
        .origin = origin ? origin : "configuration", .err = err, .err_size = err_size};
    json_error_t je;
    const char *key;
    const json_t *v;
    json_t *root;
    int rc = 0;

    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, err_size, "%s:%d:%d: %s", x.origin, je.line, je.column, je.text);
        return DURATA_EJSON;
    }
    if (!json_is_object(root)) {
        snprintf(err, err_size, "%s: the configuration must be a JSON object", x.origin);
        rc = DURATA_EINVAL;
    }
    json_object_foreach(root, key, v)
    {
        rc = cfg_member(&x, key, v, c);
        if (rc < 0)
            break;
    }
    json_decref(root);
    if (rc == 0 && origin) {
        c->origin = strdup(origin);
        rc = c->origin ? 0 : DURATA_ENOMEM;
    }
    if (rc == DURATA_ENOMEM)
        snprintf(err, err_size, "%s: out of memory", x.origin);
    return rc;
}

/* ------------------------------------------------------------ the table */

void
dt_job_table_release(struct dt_job_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        dt_command_free(t->commands ? t->commands[i] : NULL);
        free(t->owned_names ? t->owned_names[i] : NULL);
    }
    free(t->types);
    free(t->names);
    free(t->commands);
    free(t->owned_names);
    memset(t, 0, sizeof(*t));
}

/* Index of the type named name in t, or t->n. */
static size_t
table_find(const struct dt_job_table *t, const char *name)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        if (strcmp(t->types[i].name, name) == 0)
            break;
    return i;
}

/* Puts spec s into slot i of t (a new slot when i == t->n). */
static int
table_put_spec(struct dt_job_table *t, size_t i, const struct dt_job_spec *s,
               struct durata_hub *hub)
{
    struct dt_command_options o = {
        .timeout_ms = s->timeout_ms, .concurrency = s->concurrency, .hub = hub};
    struct dt_command *cmd;
    char *name;
    int rc;

    if (!s->name || !dt_job_name_is_valid(s->name) || !s->argv)
        return DURATA_EINVAL;
    rc = dt_command_new(&cmd, (const char *const *)s->argv, &o);
    if (rc < 0)
        return rc;
    name = strdup(s->name);
    if (!name) {
        dt_command_free(cmd);
        return DURATA_ENOMEM;
    }
    if (i == t->n)
        t->n++;
    dt_command_free(t->commands[i]);
    free(t->owned_names[i]);
    t->commands[i] = cmd;
    t->owned_names[i] = name;
    t->types[i] = (struct dt_job_type){
        .name = name, .handler = dt_command_handler, .handler_arg = cmd, .retry = s->retry};
    return 0;
}

int
dt_job_table_build(struct dt_job_table *t, const struct dt_job_type *builtins, size_t n_builtins,
                   const struct dt_job_spec *specs, size_t n_specs, struct durata_hub *hub)
{
    size_t cap = n_builtins + n_specs;
    int rc = 0;

    memset(t, 0, sizeof(*t));
    t->types = calloc(cap + 1, sizeof(*t->types));
    t->names = calloc(cap + 1, sizeof(*t->names));
    t->commands = calloc(cap + 1, sizeof(*t->commands));
    t->owned_names = calloc(cap + 1, sizeof(*t->owned_names));
    if (!t->types || !t->names || !t->commands || !t->owned_names)
        rc = DURATA_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n_builtins; i++)
        if (table_find(t, builtins[i].name) == t->n)
            t->types[t->n++] = builtins[i];
    for (size_t i = 0; rc == 0 && i < n_specs; i++)
        rc = table_put_spec(t, table_find(t, specs[i].name ? specs[i].name : ""), &specs[i], hub);
    if (rc < 0) {
        dt_job_table_release(t);
        return rc;
    }
    for (size_t i = 0; i < t->n; i++)
        t->names[i] = t->types[i].name;
    return 0;
}
