/*
 * http_load.c — bench_http's HTTP/1.1 load generator (see http_load.h).
 *
 * One thread, one epoll set, level-triggered. A slot is a connection with
 * at most one request in flight: the request is written with send() (a
 * few hundred bytes always fit the socket buffer; EPOLLOUT only covers the
 * rare short write), and the answer is complete once its headers and
 * Content-Length bytes have arrived. A connection the server closes is
 * reopened; a request whose connection died before any answer byte came
 * is sent again (a keep-alive race, not a failure).
 * Threading: single-threaded by design: the client must leave the second
 * core to the server.
 */
#include "http_load.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HL_STALL_US (60 * 1000000LL)
#define HL_EVENTS 256

int64_t
hl_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ------------------------------------------------------------ parsing */

struct hl_parse {
    size_t len;      /* bytes received */
    size_t head_len; /* status line + headers + blank line; 0 = not yet */
    size_t body_len; /* Content-Length */
    int status;
    bool close; /* Connection: close */
};

/* Case-insensitive "name:" at the start of line; returns the value. */
static const char *
header_value(const char *line, const char *name)
{
    size_t n = strlen(name);

    if (strncasecmp(line, name, n) != 0 || line[n] != ':')
        return NULL;
    line += n + 1;
    while (*line == ' ' || *line == '\t')
        line++;
    return line;
}

/* Reads the status line and the headers of buf[0..head_len). -1 when
 * malformed or chunked. */
static int
parse_head(const char *buf, struct hl_parse *p)
{
    const char *line, *v, *end = buf + p->head_len;
    bool has_length = false;

    if (p->head_len < 16 || strncmp(buf, "HTTP/1.", 7) != 0)
        return -1;
    p->status = (int)strtol(buf + 9, NULL, 10);
    for (line = strstr(buf, "\r\n") + 2; line < end - 2; line = strstr(line, "\r\n") + 2) {
        if ((v = header_value(line, "Content-Length"))) {
            p->body_len = strtoul(v, NULL, 10);
            has_length = true;
        } else if ((v = header_value(line, "Connection"))) {
            p->close = strncasecmp(v, "close", 5) == 0;
        } else if (header_value(line, "Transfer-Encoding")) {
            return -1;
        }
    }
    return has_length || p->status == 204 || p->status == 304 ? 0 : -1;
}

/* 1 when buf[0..p->len) holds a whole answer, 0 when more is needed, -1
 * when it is malformed. buf is NUL-terminated at p->len. */
static int
parse_response(char *buf, struct hl_parse *p)
{
    if (!p->head_len) {
        char *blank = strstr(buf, "\r\n\r\n");

        if (!blank)
            return p->len >= HL_MAX_RESPONSE ? -1 : 0;
        p->head_len = (size_t)(blank - buf) + 4;
        blank[2] = '\0'; /* parse_head stops at the blank line */
        if (parse_head(buf, p) < 0)
            return -1;
        blank[2] = '\r';
    }
    if (p->head_len + p->body_len > HL_MAX_RESPONSE)
        return -1;
    if (p->len < p->head_len + p->body_len)
        return 0;
    return p->len == p->head_len + p->body_len ? 1 : -1; /* nothing was pipelined */
}

/* ------------------------------------------------------------ sockets */

static int
connect_to(const struct sockaddr_in *addr, bool nonblocking)
{
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0) {
        fprintf(stderr, "bench_http: connect: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (nonblocking)
        (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* ------------------------------------------------------------ the run */

struct hl_slot {
    int fd;
    bool busy;       /* a request is in flight */
    bool want_out;   /* EPOLLOUT armed for a short write */
    size_t sent;     /* bytes of the request written */
    size_t idx;      /* the request's number */
    int64_t sent_us; /* when its first byte was written */
    struct hl_parse p;
    char *buf; /* HL_MAX_RESPONSE + 1 */
};

struct hl_state {
    struct hl_run *r;
    int ep;
    struct hl_slot *slots;
    size_t issued, answered;
    int64_t last_progress_us;
};

static int
slot_arm(struct hl_state *st, struct hl_slot *s, int op)
{
    struct epoll_event ev = {.events = EPOLLIN | (s->want_out ? EPOLLOUT : 0), .data.ptr = s};

    if (epoll_ctl(st->ep, op, s->fd, &ev) < 0) {
        fprintf(stderr, "bench_http: epoll_ctl: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* Writes what is left of the request; arms EPOLLOUT when the socket is
 * full. */
static int
slot_write(struct hl_state *st, struct hl_slot *s)
{
    const struct hl_run *r = st->r;
    bool want;

    while (s->sent < r->request_len) {
        ssize_t n = send(s->fd, r->request + s->sent, r->request_len - s->sent, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN) {
            fprintf(stderr, "bench_http: send: %s\n", strerror(errno));
            return -1;
        }
        if (n < 0)
            break;
        s->sent += (size_t)n;
    }
    want = s->sent < r->request_len;
    if (want == s->want_out)
        return 0;
    s->want_out = want;
    return slot_arm(st, s, EPOLL_CTL_MOD);
}

/* Sends the request again from its start (a new one when !again). */
static int
slot_send(struct hl_state *st, struct hl_slot *s, bool again)
{
    if (!again) {
        s->idx = st->issued++;
        s->sent_us = hl_mono_us();
    }
    s->busy = true;
    s->sent = 0;
    memset(&s->p, 0, sizeof(s->p));
    return slot_write(st, s);
}

/* Replaces a connection the server closed. */
static int
slot_reconnect(struct hl_state *st, struct hl_slot *s)
{
    close(s->fd);
    s->want_out = false;
    s->fd = connect_to(&st->r->addr, true);
    if (s->fd < 0)
        return -1;
    st->r->reconnects++;
    return slot_arm(st, s, EPOLL_CTL_ADD);
}

/* The answer in s is complete: account for it, send the next request. */
static int
slot_answered(struct hl_state *st, struct hl_slot *s)
{
    struct hl_run *r = st->r;
    int64_t now = hl_mono_us();

    if (r->lat_us)
        r->lat_us[s->idx] = now - s->sent_us;
    if (s->p.status == r->expect_status) {
        r->ok++;
    } else {
        if (!r->bad)
            r->first_bad_status = s->p.status;
        r->bad++;
    }
    st->answered++;
    r->end_us = now;
    st->last_progress_us = now;
    s->busy = false;
    if (s->p.close && slot_reconnect(st, s) < 0)
        return -1;
    return st->issued < r->total ? slot_send(st, s, false) : 0;
}

/* The server closed s: resend when no answer byte had come, else fail. */
static int
slot_closed(struct hl_state *st, struct hl_slot *s)
{
    if (!s->busy || s->p.len > 0) {
        fprintf(stderr, "bench_http: the server closed a connection mid-answer\n");
        return -1;
    }
    if (slot_reconnect(st, s) < 0)
        return -1;
    return slot_send(st, s, true);
}

static int
slot_read(struct hl_state *st, struct hl_slot *s)
{
    ssize_t n = recv(s->fd, s->buf + s->p.len, HL_MAX_RESPONSE - s->p.len, 0);
    int done;

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n < 0 && errno != ECONNRESET) {
        fprintf(stderr, "bench_http: recv: %s\n", strerror(errno));
        return -1;
    }
    if (n <= 0)
        return slot_closed(st, s);
    s->p.len += (size_t)n;
    s->buf[s->p.len] = '\0';
    done = parse_response(s->buf, &s->p);
    if (done < 0) {
        fprintf(stderr, "bench_http: malformed or unexpected answer:\n%.300s\n", s->buf);
        return -1;
    }
    return done ? slot_answered(st, s) : 0;
}

static int
slot_event(struct hl_state *st, struct hl_slot *s, uint32_t events)
{
    if ((events & EPOLLOUT) && s->busy && slot_write(st, s) < 0)
        return -1;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        return slot_read(st, s);
    return 0;
}

static int
run_open(struct hl_state *st)
{
    struct hl_run *r = st->r;

    st->ep = epoll_create1(EPOLL_CLOEXEC);
    st->slots = calloc(r->connections, sizeof(*st->slots));
    if (st->ep < 0 || !st->slots)
        return -1;
    for (size_t i = 0; i < r->connections; i++) {
        struct hl_slot *s = &st->slots[i];

        s->fd = -1;
        s->buf = malloc(HL_MAX_RESPONSE + 1);
        if (!s->buf || (s->fd = connect_to(&r->addr, true)) < 0 ||
            slot_arm(st, s, EPOLL_CTL_ADD) < 0)
            return -1;
    }
    return 0;
}

static void
run_close(struct hl_state *st)
{
    for (size_t i = 0; st->slots && i < st->r->connections; i++) {
        if (st->slots[i].fd >= 0)
            close(st->slots[i].fd);
        free(st->slots[i].buf);
    }
    free(st->slots);
    if (st->ep >= 0)
        close(st->ep);
}

static int
run_loop(struct hl_state *st)
{
    struct epoll_event ev[HL_EVENTS];
    struct hl_run *r = st->r;

    r->start_us = st->last_progress_us = hl_mono_us();
    for (size_t i = 0; i < r->connections && st->issued < r->total; i++)
        if (slot_send(st, &st->slots[i], false) < 0)
            return -1;
    while (st->answered < r->total) {
        int n = epoll_wait(st->ep, ev, HL_EVENTS, 1000);

        if (n < 0 && errno != EINTR)
            return -1;
        for (int i = 0; i < n; i++)
            if (slot_event(st, ev[i].data.ptr, ev[i].events) < 0)
                return -1;
        if (hl_mono_us() - st->last_progress_us > HL_STALL_US) {
            fprintf(stderr, "bench_http: no answer for 60 s (%zu of %zu answered)\n", st->answered,
                    r->total);
            return -1;
        }
    }
    r->seconds = (double)(r->end_us - r->start_us) / 1e6;
    return 0;
}

int
hl_run(struct hl_run *r)
{
    struct hl_state st = {.r = r, .ep = -1};
    int rc;

    r->ok = r->bad = r->reconnects = 0;
    r->first_bad_status = 0;
    if (r->connections > r->total)
        r->connections = r->total;
    rc = run_open(&st);
    if (rc == 0 && r->total)
        rc = run_loop(&st);
    run_close(&st);
    return rc;
}

/* ------------------------------------------------------------ one connection */

int
hl_conn_open(struct hl_conn *c, const struct sockaddr_in *addr)
{
    c->addr = *addr;
    c->buf = malloc(HL_MAX_RESPONSE + 1);
    c->fd = c->buf ? connect_to(addr, false) : -1;
    return c->fd < 0 ? -1 : 0;
}

static int
send_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One exchange; 1 when the connection was found closed before any answer. */
static int
exchange(struct hl_conn *c, const char *request, size_t len, struct hl_parse *p)
{
    int done = 0;

    memset(p, 0, sizeof(*p));
    if (send_all(c->fd, request, len) < 0)
        return errno == EPIPE || errno == ECONNRESET ? 1 : -1;
    while (!done) {
        ssize_t n = recv(c->fd, c->buf + p->len, HL_MAX_RESPONSE - p->len, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return p->len == 0 && (n == 0 || errno == ECONNRESET) ? 1 : -1;
        p->len += (size_t)n;
        c->buf[p->len] = '\0';
        done = parse_response(c->buf, p);
        if (done < 0)
            return -1;
    }
    return 0;
}

int
hl_conn_request(struct hl_conn *c, const char *request, size_t len, int *status, const char **body,
                size_t *body_len)
{
    struct hl_parse p;
    int rc = exchange(c, request, len, &p);

    if (rc == 1) {
        close(c->fd);
        c->fd = connect_to(&c->addr, false);
        rc = c->fd < 0 ? -1 : exchange(c, request, len, &p);
    }
    if (rc != 0) {
        fprintf(stderr, "bench_http: request failed\n");
        return -1;
    }
    *status = p.status;
    *body = c->buf + p.head_len;
    *body_len = p.body_len;
    if (p.close) {
        close(c->fd);
        c->fd = connect_to(&c->addr, false);
    }
    return 0;
}

void
hl_conn_close(struct hl_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
}
