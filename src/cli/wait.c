/*
 * wait.c — `durata wait ID [--timeout SECONDS]`: follows an instance (or a
 * job: its id is the instance id) until it ends.
 *
 * Owns: the polling of GET .../instances/{id} (every 100 ms at first,
 * slowing to once a second), the live status on stderr, and the exit code
 * of the outcome: 0 Completed, 3 Failed, 4 Terminated or Canceled, 5 when
 * --timeout passes first; 6 when the instance does not exist (or is
 * purged meanwhile), 1 when the server cannot be reached. A busy server
 * (429/503) is asked again; any other refusal ends the wait.
 * Live status: when stderr is a terminal, one line "ID  STATUS  12s
 * customStatus" rewritten in place with '\r' (cut to the terminal's width
 * so it never wraps) and wiped at the end; otherwise a line "ID: STATUS"
 * each time the status changes. The final state goes to stdout (the
 * summary of `durata status`, or the server's JSON with --json).
 * Threading: main thread only.
 */
#include "cli/verb.h"

#include "cli/output.h"

#include "base/clock.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define WAIT_URL_MAX (64 * 1024)
#define WAIT_FIRST_DELAY_MS 100
#define WAIT_MAX_DELAY_MS 1000
#define WAIT_MAX_TIMEOUT_S 1e9
#define WAIT_LINE_MAX 512

struct wait_state {
    struct dt_client *c;
    const struct dt_verb_args *a;
    struct dt_buf path;
    bool tty;            /* stderr is a terminal: the live line */
    size_t shown;        /* width of the live line on screen (tty) */
    char last[32];       /* the status last reported (not tty) */
    int64_t start_ms;    /* monotonic */
    int64_t deadline_ms; /* monotonic; -1 = none */
};

static size_t
terminal_width(void)
{
    struct winsize ws;

    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
        return ws.ws_col;
    return 80;
}

/* Cuts text after `width` code points; returns the code points kept. */
static size_t
cut_to_width(char *text, size_t width)
{
    size_t cells = 0, i;

    for (i = 0; text[i]; i++) {
        if (((unsigned char)text[i] & 0xc0) == 0x80)
            continue;
        if (cells == width)
            break;
        cells++;
    }
    text[i] = '\0';
    return cells;
}

/* Rewrites the live line with text, blanking what is left of the last. */
static void
live_show(struct wait_state *w, char *text)
{
    size_t cells = cut_to_width(text, terminal_width() - 1);

    fputc('\r', stderr);
    dt_out_text(stderr, text);
    if (cells < w->shown)
        fprintf(stderr, "%*s", (int)(w->shown - cells), "");
    fflush(stderr);
    w->shown = cells;
}

/* Wipes the live line, so what follows starts on a clean line. */
static void
live_clear(struct wait_state *w)
{
    if (!w->tty || w->shown == 0)
        return;
    fprintf(stderr, "\r%*s\r", (int)w->shown, "");
    fflush(stderr);
    w->shown = 0;
}

/* Tells the status in st: the live line, or a line when it changed. */
static void
report(struct wait_state *w, const json_t *st, const char *status)
{
    char line[WAIT_LINE_MAX], *custom = NULL;
    const json_t *cs = json_object_get(st, "customStatus");
    long long secs = (dt_clock_mono_ms() - w->start_ms) / 1000;

    if (!w->tty) {
        if (strcmp(w->last, status) == 0)
            return;
        snprintf(w->last, sizeof(w->last), "%s", status);
        dt_out_text(stderr, w->a->pos[0]);
        fprintf(stderr, ": %s\n", w->last);
        return;
    }
    if (cs && !json_is_null(cs))
        custom = dt_out_json_text(cs);
    snprintf(line, sizeof(line), "%s  %s  %llds%s%s", w->a->pos[0], status, secs,
             custom ? "  " : "", custom ? custom : "");
    free(custom);
    live_show(w, line);
}

/* ------------------------------------------------------------ polling */

static void
sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

    while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

enum { POLL_OK = 0, POLL_BUSY = -1 };

/* One look at the instance. Returns POLL_OK with *st (the status payload,
 * a new reference) and *status set, POLL_BUSY when the server asks to be
 * asked later (429/503), or an exit code (>= 1) after saying what went
 * wrong. */
static int
poll_once(struct wait_state *w, struct dt_client_resp *r, json_t **st, const char **status)
{
    int rc;

    *st = NULL;
    dt_client_resp_release(r);
    if ((rc = dt_client_call(w->c, "GET", w->path.data, NULL, NULL, r)) != DT_EXIT_OK)
        return rc;
    if (r->status == 429 || r->status == 503)
        return POLL_BUSY;
    if (r->status < 200 || r->status > 299) {
        live_clear(w);
        return dt_client_fail(w->c, r);
    }
    if (!(*st = dt_client_json(w->c, r)) || !(*status = dt_out_str(*st, "runtimeStatus")) ||
        durata_status_parse(*status) < 0) {
        live_clear(w);
        fprintf(stderr, "durata wait: the server's answer has no runtimeStatus\n");
        json_decref(*st);
        *st = NULL;
        return DT_EXIT_FAIL;
    }
    return POLL_OK;
}

/* The exit code of a terminal status. */
static int
outcome(enum durata_status s)
{
    switch (s) {
    case DURATA_COMPLETED:
        return DT_EXIT_OK;
    case DURATA_FAILED:
        return DT_EXIT_FAILED;
    case DURATA_TERMINATED:
    case DURATA_CANCELED:
        return DT_EXIT_TERMINATED;
    case DURATA_RUNNING:
    case DURATA_CONTINUED_AS_NEW:
    case DURATA_PENDING:
    case DURATA_SUSPENDED:
        break;
    }
    return DT_EXIT_FAIL;
}

/* Prints the final state and returns its exit code. */
static int
finish(struct wait_state *w, const struct dt_client_resp *r, const json_t *st, int status)
{
    live_clear(w);
    if (w->a->json)
        dt_out_raw(r->body, r->len);
    else
        dt_verb_print_instance(st);
    return outcome((enum durata_status)status);
}

static int
timed_out(struct wait_state *w, const char *status)
{
    double secs = (double)(dt_clock_mono_ms() - w->start_ms) / 1000.0;

    live_clear(w);
    fprintf(stderr, "durata wait: timed out after %.1f s; ", secs);
    dt_out_text(stderr, w->a->pos[0]);
    fprintf(stderr, " is %s\n", status ? status : "not answering");
    return DT_EXIT_TIMEOUT;
}

/* Polls until the instance ends or the deadline passes. */
static int
wait_loop(struct wait_state *w)
{
    struct dt_client_resp r = {0};
    int64_t delay = WAIT_FIRST_DELAY_MS, left;
    char last[32] = "";
    json_t *st = NULL;
    const char *status = NULL;
    int rc, s;

    for (;;) {
        json_decref(st);
        rc = poll_once(w, &r, &st, &status);
        if (rc != POLL_OK && rc != POLL_BUSY)
            break;
        if (rc == POLL_OK) {
            snprintf(last, sizeof(last), "%s", status);
            s = durata_status_parse(status);
            if (durata_status_is_terminal((enum durata_status)s)) {
                rc = finish(w, &r, st, s);
                break;
            }
            report(w, st, status);
        }
        left = w->deadline_ms < 0 ? delay : w->deadline_ms - dt_clock_mono_ms();
        if (left <= 0) {
            rc = timed_out(w, last[0] ? last : NULL);
            break;
        }
        sleep_ms(left < delay ? left : delay);
        delay = delay * 3 / 2 > WAIT_MAX_DELAY_MS ? WAIT_MAX_DELAY_MS : delay * 3 / 2;
    }
    json_decref(st);
    dt_client_resp_release(&r);
    return rc;
}

/* --timeout in milliseconds into *ms (-1 when absent). */
static int
timeout_ms(const struct dt_verb_args *a, int64_t *ms)
{
    const char *s = a->opt[DT_OPT_TIMEOUT];
    char *end;
    double v;

    *ms = -1;
    if (!s)
        return DT_EXIT_OK;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < 0 || v > WAIT_MAX_TIMEOUT_S)
        return dt_verb_bad_usage(a->verb, "--timeout wants seconds (a number >= 0), not '%s'", s);
    *ms = (int64_t)llround(v * 1000.0);
    return DT_EXIT_OK;
}

static int
wait_run(struct dt_client *c, const struct dt_verb_args *a)
{
    struct wait_state w = {.c = c, .a = a, .tty = isatty(STDERR_FILENO) == 1};
    int64_t timeout;
    int rc;

    if ((rc = timeout_ms(a, &timeout)) != DT_EXIT_OK)
        return rc;
    dt_buf_init(&w.path, WAIT_URL_MAX);
    if (dt_verb_instance_path(&w.path, a->pos[0], "") < 0) {
        rc = dt_verb_oom(a);
        goto out_path;
    }
    w.start_ms = dt_clock_mono_ms();
    w.deadline_ms = timeout < 0 ? -1 : w.start_ms + timeout;
    rc = wait_loop(&w);
out_path:
    dt_buf_release(&w.path);
    return rc;
}

const struct dt_verb dt_wait_verbs[] = {
    {"wait",
     "ID [--timeout SECONDS]",
     "Wait for an instance or a job to end.",
     "\n"
     "  --timeout SECONDS   give up after this long (fractions allowed; default:\n"
     "                      wait as long as it takes)\n"
     "\n"
     "Shows the status while waiting: on a terminal one line, rewritten in place;\n"
     "otherwise a line on stderr each time the status changes. Then prints the\n"
     "final state like `durata status` (the server's JSON with --json).\n"
     "Exit 0 when the instance completed, 3 when it failed, 4 when it was\n"
     "terminated or canceled, 5 when --timeout passed first.\n",
     1,
     {"ID"},
     DT_OPT_BIT(DT_OPT_TIMEOUT),
     wait_run},
    {NULL, NULL, NULL, NULL, 0, {NULL}, 0, NULL},
};
