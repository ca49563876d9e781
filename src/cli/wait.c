/*
 * wait.c — `durata wait ID [--timeout SECONDS]`: follows an instance (or a
 * job: its id is the instance id) until it ends.
 *
 * Owns: the polling of GET .../instances/{id} (every 100 ms at first,
 * slowing to once a second), the live status on stderr, and the exit code
 * of the outcome: 0 Completed, 3 Failed, 4 Terminated or Canceled, 5 when
 * --timeout passes first or the server stays unreachable longer than
 * --unreachable-timeout; 6 when the instance does not exist (or is purged
 * meanwhile), 1 when the server cannot be reached at the first request
 * (most likely a wrong URL). A busy server (429) is asked again at the
 * polling pace; any other refusal ends the wait.
 * Outages: once the server has answered, a refused or reset connection,
 * a connection closed without an answer, or 502/503/504 (a server
 * stopping or restarting, or a proxy in front of one) starts an outage:
 * retries 100 ms apart at first, doubling up to 2 s, until the server
 * answers again, --timeout passes, or the outage has lasted
 * --unreachable-timeout (default 60 s; 0 gives up at the first failure).
 * Live status: when stderr is a terminal, one line "ID  STATUS  12s
 * customStatus" (during an outage "ID  STATUS  12s  server unreachable
 * for 3s, retrying: WHY") rewritten in place with '\r' (cut to the
 * terminal's width so it never wraps) and wiped at the end; otherwise a
 * line "ID: STATUS" each time the status changes, and a line when an
 * outage starts and when it ends. The final state goes to stdout (the
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
#define WAIT_DOWN_FIRST_DELAY_MS 100
#define WAIT_DOWN_MAX_DELAY_MS 2000
#define WAIT_DEFAULT_UNREACHABLE_S 60
#define WAIT_MAX_TIMEOUT_S 1e9
#define WAIT_LINE_MAX 512
#define WAIT_WHY_MAX 128

struct wait_state {
    struct dt_client *c;
    const struct dt_verb_args *a;
    struct dt_buf path;
    bool tty;               /* stderr is a terminal: the live line */
    size_t shown;           /* width of the live line on screen (tty) */
    char last[32];          /* the status last reported (not tty) */
    char known[32];         /* the status last seen; "" before the first */
    int64_t start_ms;       /* monotonic */
    int64_t deadline_ms;    /* monotonic; -1 = none */
    int64_t unreachable_ms; /* --unreachable-timeout */
    bool answered;          /* the server answered once: outages are ridden out */
    int64_t down_since_ms;  /* monotonic start of the outage; -1 = none */
    int64_t down_delay_ms;  /* the pause before the next retry in the outage */
    char why[WAIT_WHY_MAX]; /* what the last failed look got */
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

/* What one look got; exit codes (>= 0) end the wait. */
enum { POLL_OK = 0, POLL_BUSY = -1, POLL_DOWN = -2, WAIT_MORE = -3 };

/* A failure a stopping or restarting server causes: nobody listens
 * (refused), the connection is reset, or it closes before a full answer. */
static bool
transport_is_outage(CURLcode code)
{
    switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return true;
    default:
        return false;
    }
}

/* A look that got no answer, after the server had answered before (the
 * client said nothing): POLL_DOWN for an outage (why in w->why), else
 * DT_EXIT_FAIL after saying why. */
static int
lost(struct wait_state *w)
{
    CURLcode code = w->c->transport;
    long err = 0;

    if (code == CURLE_OK) /* out of memory, already told */
        return DT_EXIT_FAIL;
    if (code == CURLE_COULDNT_CONNECT || code == CURLE_SEND_ERROR || code == CURLE_RECV_ERROR)
        curl_easy_getinfo(w->c->curl, CURLINFO_OS_ERRNO, &err);
    snprintf(w->why, sizeof(w->why), "%s", err ? strerror((int)err) : curl_easy_strerror(code));
    if (transport_is_outage(code))
        return POLL_DOWN;
    live_clear(w);
    fprintf(stderr, "durata wait: no answer from %s: %s\n", w->c->base,
            w->c->error[0] ? w->c->error : w->why);
    return DT_EXIT_FAIL;
}

/* One look at the instance. Returns POLL_OK with *st (the status payload,
 * a new reference) and *status set, POLL_BUSY when the server asks to be
 * asked later (429), POLL_DOWN when it cannot answer now (see lost();
 * 502/503/504), or an exit code (>= 1) after saying what went wrong. No
 * answer to the first request is exit 1, told by the client. */
static int
poll_once(struct wait_state *w, struct dt_client_resp *r, json_t **st, const char **status)
{
    int rc;

    *st = NULL;
    dt_client_resp_release(r);
    w->c->quiet_transport = w->answered;
    if ((rc = dt_client_call(w->c, "GET", w->path.data, NULL, NULL, r)) != DT_EXIT_OK)
        return w->answered ? lost(w) : rc;
    w->answered = true;
    if (r->status == 502 || r->status == 503 || r->status == 504) {
        snprintf(w->why, sizeof(w->why), "HTTP %ld", r->status);
        return POLL_DOWN;
    }
    if (r->status == 429)
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

/* The status in st was seen: the exit code when it is terminal, else
 * WAIT_MORE after telling it. */
static int
seen(struct wait_state *w, const struct dt_client_resp *r, const json_t *st, const char *status)
{
    int s = durata_status_parse(status);

    snprintf(w->known, sizeof(w->known), "%s", status);
    if (durata_status_is_terminal((enum durata_status)s))
        return finish(w, r, st, s);
    report(w, st, status);
    return WAIT_MORE;
}

static int
timed_out(struct wait_state *w)
{
    double secs = (double)(dt_clock_mono_ms() - w->start_ms) / 1000.0;

    live_clear(w);
    fprintf(stderr, "durata wait: timed out after %.1f s; ", secs);
    dt_out_text(stderr, w->a->pos[0]);
    if (w->down_since_ms >= 0)
        fprintf(stderr, " was %s when the server became unreachable (%s)\n",
                w->known[0] ? w->known : "not seen", w->why);
    else
        fprintf(stderr, " is %s\n", w->known[0] ? w->known : "not answering");
    return DT_EXIT_TIMEOUT;
}

/* ------------------------------------------------------------ outages */

static int
gave_up(struct wait_state *w, int64_t now)
{
    live_clear(w);
    fprintf(stderr, "durata wait: gave up: the server at %s has been unreachable for %.1f s (%s); ",
            w->c->base, (double)(now - w->down_since_ms) / 1000.0, w->why);
    dt_out_text(stderr, w->a->pos[0]);
    fprintf(stderr, " may still be running (wait again)\n");
    return DT_EXIT_TIMEOUT;
}

/* The server did not answer (or answered 502/503/504): starts or goes on
 * with the outage. WAIT_MORE with *pause_ms until the next retry, or
 * DT_EXIT_TIMEOUT once it has lasted --unreachable-timeout. */
static int
outage(struct wait_state *w, int64_t *pause_ms)
{
    int64_t now = dt_clock_mono_ms(), left;
    char line[WAIT_LINE_MAX];
    bool first = w->down_since_ms < 0;

    if (first) {
        w->down_since_ms = now;
        w->down_delay_ms = WAIT_DOWN_FIRST_DELAY_MS;
    }
    left = w->down_since_ms + w->unreachable_ms - now;
    if (left <= 0)
        return gave_up(w, now);
    if (w->tty) {
        snprintf(line, sizeof(line), "%s  %s  %llds  server unreachable for %llds, retrying: %s",
                 w->a->pos[0], w->known[0] ? w->known : "?",
                 (long long)((now - w->start_ms) / 1000),
                 (long long)((now - w->down_since_ms) / 1000), w->why);
        live_show(w, line);
    } else if (first) {
        fprintf(stderr,
                "durata wait: cannot reach the server at %s (%s); retrying for up to %g s\n",
                w->c->base, w->why, (double)w->unreachable_ms / 1000.0);
    }
    *pause_ms = w->down_delay_ms < left ? w->down_delay_ms : left;
    w->down_delay_ms = w->down_delay_ms * 2 > WAIT_DOWN_MAX_DELAY_MS ? WAIT_DOWN_MAX_DELAY_MS
                                                                     : w->down_delay_ms * 2;
    return WAIT_MORE;
}

/* The server answered: ends an outage, if one was going on. */
static void
came_back(struct wait_state *w)
{
    if (w->down_since_ms < 0)
        return;
    if (!w->tty)
        fprintf(stderr, "durata wait: the server answers again after %.1f s\n",
                (double)(dt_clock_mono_ms() - w->down_since_ms) / 1000.0);
    w->down_since_ms = -1;
    w->last[0] = '\0'; /* tell the status again */
}

/* ------------------------------------------------------------ the loop */

/* Sleeps pause_ms, or until --timeout: WAIT_MORE, or DT_EXIT_TIMEOUT when
 * the deadline has passed. */
static int
pause_for(struct wait_state *w, int64_t pause_ms)
{
    int64_t left = w->deadline_ms < 0 ? pause_ms : w->deadline_ms - dt_clock_mono_ms();

    if (left <= 0)
        return timed_out(w);
    sleep_ms(left < pause_ms ? left : pause_ms);
    return WAIT_MORE;
}

/* Polls until the instance ends, the deadline passes or an outage lasts
 * too long. */
static int
wait_loop(struct wait_state *w)
{
    struct dt_client_resp r = {0};
    int64_t delay = WAIT_FIRST_DELAY_MS, pause = 0;
    json_t *st = NULL;
    const char *status = NULL;
    int rc;

    do {
        json_decref(st);
        rc = poll_once(w, &r, &st, &status);
        if (rc == POLL_DOWN) {
            rc = outage(w, &pause);
        } else if (rc == POLL_OK || rc == POLL_BUSY) {
            came_back(w);
            pause = delay;
            delay = delay * 3 / 2 > WAIT_MAX_DELAY_MS ? WAIT_MAX_DELAY_MS : delay * 3 / 2;
            rc = rc == POLL_OK ? seen(w, &r, st, status) : WAIT_MORE;
        }
        if (rc == WAIT_MORE)
            rc = pause_for(w, pause);
    } while (rc == WAIT_MORE);
    json_decref(st);
    dt_client_resp_release(&r);
    return rc;
}

/* Option opt (seconds) in milliseconds into *ms; dflt when absent. */
static int
seconds_opt(const struct dt_verb_args *a, enum dt_opt opt, const char *name, int64_t dflt,
            int64_t *ms)
{
    const char *s = a->opt[opt];
    char *end;
    double v;

    *ms = dflt;
    if (!s)
        return DT_EXIT_OK;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < 0 || v > WAIT_MAX_TIMEOUT_S)
        return dt_verb_bad_usage(a->verb, "%s wants seconds (a number >= 0), not '%s'", name, s);
    *ms = (int64_t)llround(v * 1000.0);
    return DT_EXIT_OK;
}

static int
wait_run(struct dt_client *c, const struct dt_verb_args *a)
{
    struct wait_state w = {.c = c, .a = a, .tty = isatty(STDERR_FILENO) == 1, .down_since_ms = -1};
    int64_t timeout;
    int rc;

    rc = seconds_opt(a, DT_OPT_TIMEOUT, "--timeout", -1, &timeout);
    if (rc == DT_EXIT_OK)
        rc = seconds_opt(a, DT_OPT_UNREACH, "--unreachable-timeout",
                         WAIT_DEFAULT_UNREACHABLE_S * 1000, &w.unreachable_ms);
    if (rc != DT_EXIT_OK)
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
     "ID [--timeout SECONDS] [--unreachable-timeout SECONDS]",
     "Wait for an instance or a job to end.",
     "\n"
     "  --timeout SECONDS   give up after this long (fractions allowed; default:\n"
     "                      wait as long as it takes)\n"
     "  --unreachable-timeout SECONDS\n"
     "                      ride out a server restart for up to this long: once\n"
     "                      the server has answered, a refused or dropped\n"
     "                      connection or a 502/503/504 answer is retried (100 ms\n"
     "                      apart at first, up to 2 s apart) until it answers again\n"
     "                      (default 60; 0 gives up at the first failure)\n"
     "\n"
     "Shows the status while waiting: on a terminal one line, rewritten in place\n"
     "(saying so while the server is unreachable); otherwise a line on stderr\n"
     "each time the status changes, when the server becomes unreachable and when\n"
     "it answers again. Then prints the final state like `durata status` (the\n"
     "server's JSON with --json).\n"
     "Exit 0 when the instance completed, 3 when it failed, 4 when it was\n"
     "terminated or canceled, 5 when --timeout passed first or the server stayed\n"
     "unreachable longer than --unreachable-timeout (the instance may still be\n"
     "running: wait again), 1 when the server cannot be reached at all (no answer\n"
     "to the first request: check --url).\n",
     1,
     {"ID"},
     DT_OPT_BIT(DT_OPT_TIMEOUT) | DT_OPT_BIT(DT_OPT_UNREACH),
     wait_run},
    {NULL, NULL, NULL, NULL, 0, {NULL}, 0, NULL},
};
