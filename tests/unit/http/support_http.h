/*
 * support_http.h — helpers shared by the http unit tests: a small libcurl
 * client and a server started in-process on port 0.
 *
 * Threading: ht_request may be called from several threads at once (one
 * easy handle per call); the server fixture belongs to the test's thread.
 */
#ifndef HT_SUPPORT_HTTP_H
#define HT_SUPPORT_HTTP_H

#include "http/http.h"

#include <stdbool.h>
#include <stddef.h>

struct ht_reply {
    long status;
    char *body; /* NUL-terminated, "" when empty */
    size_t body_len;
    char *headers; /* raw header block of the final response */
};

/* One request. body NULL: none; body_len ignored then. headers:
 * NULL-terminated "Name: value" strings or NULL. chunked: send the body
 * with Transfer-Encoding: chunked (no Content-Length). 0, or -1 on a
 * transport error. */
int ht_request(const char *method, const char *url, const char *body, size_t body_len,
               const char *const *headers, bool chunked, struct ht_reply *out);
void ht_reply_release(struct ht_reply *r);
/* Value of a response header (case-insensitive) copied into out; false
 * when absent. */
bool ht_header(const struct ht_reply *r, const char *name, char *out, size_t size);
/* The string at JSON path key (top-level) of the body, copied; false when
 * absent or not a string. */
bool ht_json_str(const struct ht_reply *r, const char *key, char *out, size_t size);

/* cmocka group setup/teardown: libcurl's global state for the group. */
int ht_curl_setup(void **state);
int ht_curl_teardown(void **state);

/* A server on 127.0.0.1 port 0 with the given route tables. */
struct ht_server {
    struct dt_http_config cfg;
    struct dt_app app;
    struct dt_http_server *srv;
    char base[64]; /* "http://127.0.0.1:PORT" */
    char url[600]; /* ht_url's answer */
};

/* Starts s (cfg and routes already filled by the caller; host and port
 * are set here). 0 or the start error. */
int ht_server_start(struct ht_server *s);
/* base + path, in s->url (valid until the next call). */
const char *ht_url(struct ht_server *s, const char *path);
void ht_server_stop(struct ht_server *s);

#endif
