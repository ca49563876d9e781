/*
 * harness.h — end-to-end tests drive the real `durata` binary over HTTP.
 *
 * Owns: starting `durata serve` on 127.0.0.1 port 0 with a fresh SQLite
 * file in a temporary directory, reading the "listening on http://HOST:PORT"
 * line it prints, waiting for GET /readyz to answer 200 (never sleeping a
 * fixed time), making HTTP requests with libcurl, and stopping the server by
 * PID (SIGTERM, then SIGKILL after a grace period). Teardown removes the
 * directory. The binary's path comes from the DURATA_BIN environment
 * variable (set by ctest). Also the monotonic clock the e2e support files
 * share for deadlines. Running `durata` client commands is child.h's.
 * Threading: one server per test; requests from the test's thread (or
 * several threads, each with its own calls — libcurl easy handles are not
 * shared).
 */
#ifndef DT_E2E_HARNESS_H
#define DT_E2E_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct e2e_server {
    pid_t pid;
    char dir[512];   /* temporary directory (store file lives here) */
    char store[600]; /* the SQLite path passed with --store */
    char base[128];  /* "http://127.0.0.1:PORT" */
    int port;
    char log[600]; /* the server's stdout+stderr are written here */
};

/* Starts `durata serve --listen 127.0.0.1:0 --store <dir>/durata.db` plus
 * extra_args (NULL-terminated, may be NULL) and waits until /readyz is 200
 * (at most 20 s). 0 on success; on failure the server is stopped and the
 * log is printed to stderr. */
int e2e_start(struct e2e_server *s, const char *const *extra_args);
/* Restarts the server on the same store (new port), e.g. after a kill. */
int e2e_restart(struct e2e_server *s, const char *const *extra_args);
/* SIGTERM, wait up to 10 s, then SIGKILL. Returns the exit status as
 * waitpid reports it, or -1. */
int e2e_stop(struct e2e_server *s);
/* SIGKILL at once (crash simulation); the store is kept. */
void e2e_kill(struct e2e_server *s);
/* Stops if running and removes the directory. */
void e2e_cleanup(struct e2e_server *s);

struct e2e_resp {
    long status;
    char *body; /* NUL-terminated, malloc'd ("" when empty) */
    size_t body_len;
    char *headers; /* raw response header block, malloc'd */
};

/* One request to s->base + path (path starts with '/', may carry a
 * query). body may be NULL (no body); extra_headers NULL-terminated
 * "Name: value" strings or NULL. Returns 0, or -1 on a transport error. */
int e2e_request(const struct e2e_server *s, const char *method, const char *path, const char *body,
                const char *const *extra_headers, struct e2e_resp *out);
/* Same, to an absolute URL (e.g. a statusQueryGetUri from a response). */
int e2e_request_url(const char *method, const char *url, const char *body,
                    const char *const *extra_headers, struct e2e_resp *out);
/* Value of a response header (case-insensitive), malloc'd, or NULL. */
char *e2e_header(const struct e2e_resp *r, const char *name);
void e2e_resp_release(struct e2e_resp *r);

/* Polls GET path every 20 ms until the JSON body's string field `field`
 * equals `want` or timeout_ms passes; returns true when it did. */
bool e2e_wait_field(const struct e2e_server *s, const char *path, const char *field,
                    const char *want, int timeout_ms);

/* Milliseconds on the monotonic clock, for deadlines. */
int64_t e2e_now_ms(void);

#endif
