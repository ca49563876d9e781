/*
 * cmdline.c — splitting a command line into words the way a POSIX shell
 * does (quotes and backslashes only: no expansion, nothing run), the
 * --job-type NAME=COMMAND quick form, and job type names (jobconfig.h).
 *
 * The splitter refuses, rather than passes through literally, every
 * unquoted character a shell would give another meaning (operators,
 * expansions, globs, comments), so a command means the same here as typed
 * in a shell, or is an error that says to quote it or to use sh -c.
 * Threading: none (pure functions).
 */
#include "workers/jobconfig.h"

#include "base/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct split {
    const char *text;
    struct dt_buf word;
    bool in_word; /* a word has begun (maybe empty: '' is a word) */
    char **argv;
    size_t n;
    size_t cap;
    char *err;
    size_t err_size;
};

static int split_fail(struct split *s, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes the message with the position (1-based) of `at`; EINVAL. */
static int
split_fail(struct split *s, const char *at, const char *fmt, ...)
{
    char what[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(s->err, s->err_size, "%s (at character %zu)", what, (size_t)(at - s->text) + 1);
    return DURATA_EINVAL;
}

static int
split_put(struct split *s, char c)
{
    s->in_word = true;
    return dt_buf_append(&s->word, &c, 1);
}

/* Ends the current word, if one has begun. */
static int
split_end_word(struct split *s, const char *at)
{
    char **grown, *w;

    if (!s->in_word)
        return 0;
    if (s->n + 1 >= DT_COMMAND_MAX_ARGS)
        return split_fail(s, at, "more than %d words", DT_COMMAND_MAX_ARGS - 1);
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        grown = realloc(s->argv, cap * sizeof(*grown));
        if (!grown)
            return DURATA_ENOMEM;
        s->argv = grown;
        s->cap = cap;
    }
    w = dt_buf_detach(&s->word);
    if (!w)
        return DURATA_ENOMEM;
    s->argv[s->n++] = w;
    s->argv[s->n] = NULL;
    s->in_word = false;
    return 0;
}

/* '...': everything literal up to the closing quote. */
static int
split_single(struct split *s, const char **pp)
{
    const char *open = *pp, *p = open + 1, *close = strchr(p, '\'');
    int rc;

    if (!close)
        return split_fail(s, open, "unterminated single quote");
    s->in_word = true;
    rc = dt_buf_append(&s->word, p, (size_t)(close - p));
    *pp = close + 1;
    return rc;
}

/* "...": literal but for backslash before $ ` " \ newline; unescaped $ and
 * ` (expansions in a shell) are refused. */
static int
split_double(struct split *s, const char **pp)
{
    const char *open = *pp, *p = open + 1;
    int rc = 0;

    s->in_word = true;
    for (; *p && *p != '"' && rc == 0; p++) {
        if (*p == '$' || *p == '`')
            return split_fail(s, p,
                              "'%c' inside double quotes would be expanded by a shell, and no "
                              "shell runs here: escape it as \\%c, use single quotes, or run "
                              "sh -c '...'",
                              *p, *p);
        if (*p == '\\' && p[1] == '\n') {
            p++; /* line continuation */
            continue;
        }
        if (*p == '\\' && p[1] && strchr("$`\"\\", p[1]))
            p++;
        rc = split_put(s, *p);
    }
    if (rc == 0 && *p != '"')
        return split_fail(s, open, "unterminated double quote");
    *pp = p + 1;
    return rc;
}

/* \c outside quotes: c literally; backslash-newline joins lines. */
static int
split_backslash(struct split *s, const char **pp)
{
    const char *p = *pp;

    if (p[1] == '\0')
        return split_fail(s, p, "the command ends with a lone backslash");
    *pp = p + 2;
    if (p[1] == '\n')
        return 0;
    return split_put(s, p[1]);
}

/* Would a shell treat the unquoted c specially here? */
static bool
is_shell_special(char c, bool word_start)
{
    if (c == '#' || c == '~')
        return word_start;
    return c != '\0' && strchr("|&;<>()$`*?[\n", c) != NULL;
}

static int
split_special(struct split *s, const char *p)
{
    if (*p == '\n')
        return split_fail(s, p,
                          "a newline would end the command in a shell: use one line, or run "
                          "sh -c '...'");
    return split_fail(s, p,
                      "'%c' has a special meaning in a shell, and no shell runs here: quote or "
                      "escape it, or run the command through sh -c '...'",
                      *p);
}

static int
split_step(struct split *s, const char **pp)
{
    const char *p = *pp;

    if (*p == ' ' || *p == '\t') {
        *pp = p + 1;
        return split_end_word(s, p);
    }
    if (*p == '\'')
        return split_single(s, pp);
    if (*p == '"')
        return split_double(s, pp);
    if (*p == '\\')
        return split_backslash(s, pp);
    if (is_shell_special(*p, !s->in_word))
        return split_special(s, p);
    *pp = p + 1;
    return split_put(s, *p);
}

void
dt_cmdline_free(char **argv)
{
    if (!argv)
        return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}

int
dt_cmdline_split(const char *text, char ***argv, char *err, size_t err_size)
{
    struct split s = {.text = text, .err = err, .err_size = err_size};
    const char *p = text;
    int rc = 0;

    *argv = NULL;
    if (err_size)
        err[0] = '\0';
    if (strlen(text) > DT_CMDLINE_MAX_BYTES) {
        snprintf(err, err_size, "the command is longer than %d bytes", DT_CMDLINE_MAX_BYTES);
        return DURATA_EINVAL;
    }
    dt_buf_init(&s.word, 0);
    while (*p && rc == 0)
        rc = split_step(&s, &p);
    if (rc == 0)
        rc = split_end_word(&s, p);
    if (rc == 0 && s.n == 0) {
        snprintf(err, err_size, "the command is empty");
        rc = DURATA_EINVAL;
    } else if (rc == 0 && s.argv[0][0] == '\0') {
        snprintf(err, err_size, "the program name (the first word) is empty");
        rc = DURATA_EINVAL;
    }
    dt_buf_release(&s.word);
    if (rc < 0) {
        if (rc == DURATA_ENOMEM)
            snprintf(err, err_size, "out of memory");
        dt_cmdline_free(s.argv);
        return rc;
    }
    *argv = s.argv;
    return 0;
}

bool
dt_job_name_is_valid(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > DT_JOB_NAME_MAX)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.' || *p == '-'))
            return false;
    return true;
}

void
dt_job_spec_release(struct dt_job_spec *s)
{
    if (!s)
        return;
    free(s->name);
    dt_cmdline_free(s->argv);
    memset(s, 0, sizeof(*s));
}

int
dt_job_spec_parse_flag(struct dt_job_spec *s, const char *text, char *err, size_t err_size)
{
    const char *eq = strchr(text, '=');
    char cmd_err[400];
    size_t len = eq ? (size_t)(eq - text) : 0;
    int rc;

    memset(s, 0, sizeof(*s));
    if (!eq || len == 0) {
        snprintf(err, err_size, "'%.200s' is not NAME=COMMAND", text);
        return DURATA_EINVAL;
    }
    s->name = strndup(text, len);
    if (!s->name)
        return DURATA_ENOMEM;
    if (!dt_job_name_is_valid(s->name)) {
        snprintf(err, err_size,
                 "'%.100s' is not a valid job type name (1 to %d of A-Z a-z 0-9 _ . -)", s->name,
                 DT_JOB_NAME_MAX);
        dt_job_spec_release(s);
        return DURATA_EINVAL;
    }
    rc = dt_cmdline_split(eq + 1, &s->argv, cmd_err, sizeof(cmd_err));
    if (rc < 0) {
        snprintf(err, err_size, "job type %s: %s", s->name, cmd_err);
        dt_job_spec_release(s);
        return rc;
    }
    s->timeout_ms = DT_JOB_DEFAULT_TIMEOUT_MS;
    return 0;
}
