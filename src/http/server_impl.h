/*
 * server_impl.h — private pieces of the HTTP core shared by server.c and
 * its unit tests: percent-decoding, the base URL of a request, request
 * storage, the router and the API-key check.
 *
 * Owns: nothing at run time; declarations only. API modules (df_api.c,
 * jobs_api.c, ops.c) use http.h and never this header.
 * Threading: every function here is thread-safe (no shared state).
 */
#ifndef DT_HTTP_SERVER_IMPL_H
#define DT_HTTP_SERVER_IMPL_H

#include "http/http.h"

#include <stdbool.h>
#include <stddef.h>

/* Most path segments a request or a pattern may have. */
#define DT_ROUTE_MAX_SEGMENTS 32
/* Longest Host / X-Forwarded-Host value used for base_url. */
#define DT_HTTP_HOST_MAX 255

/* ------------------------------------------------------------ request.c */

/* Decodes %XX escapes of in[0..len) into a malloc'd NUL-terminated string
 * (*out, length in *out_len, may be NULL). plus_space turns '+' into ' '
 * (query strings). An escape that is not two hex digits is kept as is, as
 * Durable Functions (.NET) does. DURATA_EINVAL when the result would hold a
 * NUL byte (it could not be a C string); DURATA_ENOMEM. */
DURATA_MUST_CHECK int dt_http_pct_decode(const char *in, size_t len, bool plus_space, char **out,
                                         size_t *out_len);

/* "scheme://host" as the client reached us, malloc'd into *out. The scheme
 * is the first item of X-Forwarded-Proto when it is http or https (else
 * "http"); the host is the first item of X-Forwarded-Host, else Host, else
 * fallback (the listen address). A host with characters that do not belong
 * in an authority (spaces, '/', '@', CR/LF, ...) is ignored for the next
 * candidate, so a hostile header cannot inject text into generated URLs.
 * Any argument but out may be NULL. DURATA_ENOMEM. */
DURATA_MUST_CHECK int dt_http_base_url(const char *fwd_proto, const char *fwd_host,
                                       const char *host, const char *fallback, char **out);

/* Appends a query parameter (copies of key and value) to req, which owns
 * req->query. DURATA_ENOMEM. */
DURATA_MUST_CHECK int dt_http_req_add_query(struct dt_http_req *req, const char *key,
                                            const char *value);
/* Same with a still-encoded key and value (value NULL = none, kept as
 * ""); '+' is a space. DURATA_EINVAL when an escape decodes to a NUL byte;
 * DURATA_ENOMEM. */
DURATA_MUST_CHECK int dt_http_req_add_query_encoded(struct dt_http_req *req, const char *key,
                                                    const char *value);
/* Parses a raw query string "a=1&b=%20x" (no leading '?') into req->query,
 * decoding names and values ('+' is a space). DURATA_EINVAL when an escape
 * decodes to a NUL byte; DURATA_ENOMEM. */
DURATA_MUST_CHECK int dt_http_req_parse_query(struct dt_http_req *req, const char *qs);
/* Frees what the server allocated in req (query, params, path, base_url);
 * headers and body belong to the server's connection state. */
void dt_http_req_release_owned(struct dt_http_req *req);

/* ------------------------------------------------------------ router.c */

/* Why dt_route_find found nothing. */
enum dt_route_miss {
    DT_ROUTE_NO_PATH,   /* no pattern matches the path */
    DT_ROUTE_NO_METHOD, /* a pattern matches, with another method */
};

/* Finds the route of `tables` (NULL-terminated list of {NULL}-terminated
 * tables) for method and raw_path (still percent-encoded, starting with
 * '/', no query). On a match returns 0, sets *out and fills req->params
 * (malloc'd, decoded; free with dt_http_req_release_owned). A HEAD request
 * matches GET routes. When several patterns match, the one whose first
 * differing segment is a literal wins (so "/instances/purge" beats
 * "/instances/{id}"), then table order.
 * Returns DURATA_ENOTFOUND with *miss set when nothing matches,
 * DURATA_EINVAL when a segment decodes to a NUL byte, DURATA_ENOMEM. */
DURATA_MUST_CHECK int dt_route_find(const struct dt_route *const *tables, const char *method,
                                    const char *raw_path, struct dt_http_req *req,
                                    const struct dt_route **out, enum dt_route_miss *miss);

/* true when pattern is well formed: starts with '/', non-empty segments,
 * captures "{name}" spanning a whole segment, at most 4 captures and
 * DT_ROUTE_MAX_SEGMENTS segments. The server checks every table at start. */
bool dt_route_pattern_is_valid(const char *pattern);

/* ------------------------------------------------------------ server.c */

/* true when one of keys (NULL-terminated) equals the key the request
 * carries: header x-functions-key, query parameter `code` or header
 * "Authorization: Bearer <key>". Keys are compared in constant time. */
bool dt_http_key_is_valid(const struct dt_http_req *req, const char *const *keys);

#endif
