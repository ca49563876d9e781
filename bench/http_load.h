/*
 * http_load.h — the load generator of bench_http: HTTP/1.1 over raw
 * sockets with epoll, many keep-alive connections driven by one thread,
 * plus a blocking single connection for sequential requests.
 *
 * Owns: the sockets and buffers of a run (closed before hl_run returns)
 * and of a struct hl_conn (until hl_conn_close).
 * Does not: pipeline (one request in flight per connection, as browsers
 * and most HTTP clients do), speak TLS, or decode chunked bodies (the
 * durata server always sends Content-Length; a chunked answer is an error).
 * Threading: a run and a connection belong to the calling thread.
 */
#ifndef BENCH_HTTP_LOAD_H
#define BENCH_HTTP_LOAD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest response (status line, headers and body) a connection accepts. */
#define HL_MAX_RESPONSE (256 * 1024)

/* One closed-loop run: `total` copies of one request spread over
 * `connections` keep-alive connections, each sending its next request as
 * soon as the previous answer is complete. */
struct hl_run {
    /* in */
    struct sockaddr_in addr;
    size_t connections;
    size_t total;
    const char *request; /* the whole request: request line, headers, body */
    size_t request_len;
    int expect_status; /* an answer with another status counts as bad */
    int64_t *lat_us;   /* NULL or `total` slots: send-to-answer per request */
    /* out */
    size_t ok;
    size_t bad;
    int first_bad_status;
    size_t reconnects; /* connections the server closed and we reopened */
    double seconds;    /* first send to last answer */
    int64_t start_us;  /* CLOCK_MONOTONIC of the first send */
    int64_t end_us;    /* and of the last answer */
};

/* Runs r. 0, or -1 (a socket error or no progress for 60 s; the reason
 * printed on stderr). Bad statuses do not stop the run. */
int hl_run(struct hl_run *r);

/* A blocking keep-alive connection for sequential requests. */
struct hl_conn {
    struct sockaddr_in addr;
    int fd;
    char *buf; /* HL_MAX_RESPONSE + 1 bytes */
};

int hl_conn_open(struct hl_conn *c, const struct sockaddr_in *addr);
/* Sends request[0..len) and reads the answer: *status and the body
 * (NUL-terminated, inside c's buffer, valid until the next request).
 * Reconnects once when the server had closed the connection. 0 or -1. */
int hl_conn_request(struct hl_conn *c, const char *request, size_t len, int *status,
                    const char **body, size_t *body_len);
void hl_conn_close(struct hl_conn *c);

int64_t hl_mono_us(void);

#endif
