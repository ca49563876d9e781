/*
 * client.h — the client side of `durata`: requests to a running server
 * over HTTP (libcurl), for every verb but `serve` and `version`.
 *
 * Owns: the exit codes of the client verbs (beyond cli.h's 0, 1 and 2),
 * the connection to one server (its base URL and API key, sent as
 * x-functions-key), one request at a time and its response, how a failed
 * request is told to the user (one line on stderr carrying the server's
 * error message) and which exit code it becomes.
 * Does not own: what a verb asks or prints (verbs_*.c, wait.c).
 * Threading: main thread only; a client makes one request at a time.
 */
#ifndef DT_CLI_CLIENT_H
#define DT_CLI_CLIENT_H

#include "cli/cli.h"

#include "base/buf.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Exit codes scripts rely on, after cli.h's 0 ok, 1 request failed (no
 * answer, or a server error) and 2 bad usage. */
enum dt_client_exit {
    DT_EXIT_FAILED = 3,     /* wait: the instance ended Failed */
    DT_EXIT_TERMINATED = 4, /* wait: the instance ended Terminated or Canceled */
    DT_EXIT_TIMEOUT = 5,    /* wait: --timeout passed first */
    DT_EXIT_NOT_FOUND = 6,  /* the server answered 404 */
    DT_EXIT_CONFLICT = 7,   /* 409 or 410: the instance's state forbids it */
};

/* The URL used without --url and DURATA_URL. */
#define DT_CLIENT_DEFAULT_URL "http://127.0.0.1:8080"

struct dt_client {
    CURL *curl;
    char *base;       /* server URL without a trailing '/' (owned) */
    char *key_header; /* "x-functions-key: KEY" or NULL (owned) */
    const char *verb; /* e.g. "jobs get", the prefix of messages (borrowed) */
    char error[CURL_ERROR_SIZE];
    /* Set by the caller: a request that gets no answer is not told on
     * stderr; the caller reads transport and error and tells (wait.c
     * retries while a server restarts). */
    bool quiet_transport;
    CURLcode transport; /* why the last request got no answer; CURLE_OK when it got one */
};

struct dt_client_resp {
    long status;        /* the HTTP status */
    char *body;         /* NUL-terminated, "" when empty (owned) */
    size_t len;         /* bytes in body */
    char *continuation; /* x-ms-continuation-token; NULL when absent or blank */
};

/* Prepares a client of the server at url ("http://host:port", a trailing
 * '/' ignored) sending api_key (NULL or "" for none). verb must outlive
 * the client. Returns 0, or DT_EXIT_USAGE when url is not http(s) or the
 * key holds a control character, and DT_EXIT_FAIL when libcurl cannot
 * start (each with a message). */
int dt_client_open(struct dt_client *c, const char *verb, const char *url, const char *api_key);
/* Releases what open took; safe on a zeroed or closed client. */
void dt_client_close(struct dt_client *c);

/* Makes one request. path starts with '/' and is already percent-encoded
 * (it may carry a query); body is NULL for none, else JSON text sent as
 * application/json; headers are extra "Name: value" lines (NULL-terminated
 * array, or NULL). Returns 0 with *out filled whatever the HTTP status, or
 * DT_EXIT_FAIL after telling on stderr why no answer came (unless
 * c->quiet_transport; c->transport is then not CURLE_OK) or that memory
 * ran out (out is then empty). Release *out either way. */
int dt_client_call(struct dt_client *c, const char *method, const char *path, const char *body,
                   const char *const *headers, struct dt_client_resp *out);
/* dt_client_call, then a non-2xx answer is reported (dt_client_fail):
 * returns 0 only for a 2xx answer, else the exit code. */
int dt_client_expect(struct dt_client *c, const char *method, const char *path, const char *body,
                     const char *const *headers, struct dt_client_resp *out);
void dt_client_resp_release(struct dt_client_resp *r);

/* The exit code of an HTTP status: 0 for 2xx, 6 for 404, 7 for 409 and
 * 410, 1 for anything else. */
int dt_client_exit_code(long status);
/* Tells on stderr why the server refused r ("durata VERB: MESSAGE (HTTP
 * 404)", the message from its JSON error body, one more line per bad
 * field) and returns dt_client_exit_code(r->status). */
int dt_client_fail(const struct dt_client *c, const struct dt_client_resp *r);
/* r's body parsed as JSON (new reference), or NULL after saying on stderr
 * that the server's answer was not JSON. */
json_t *dt_client_json(const struct dt_client *c, const struct dt_client_resp *r);

/* false when s holds a control character (it would break a header). */
bool dt_client_header_safe(const char *s);

/* Appends s percent-encoded (everything but RFC 3986's unreserved
 * characters), for a path segment or a query value. */
DURATA_MUST_CHECK int dt_client_escape(struct dt_buf *b, const char *s);
/* Appends "<head>/<id percent-encoded><suffix>", the path of one resource. */
DURATA_MUST_CHECK int dt_client_id_path(struct dt_buf *b, const char *head, const char *id,
                                        const char *suffix);
/* Appends "?name=value" (or "&name=value" when b already holds a '?'),
 * value percent-encoded; nothing when value is NULL. */
DURATA_MUST_CHECK int dt_client_query(struct dt_buf *b, const char *name, const char *value);

#endif
