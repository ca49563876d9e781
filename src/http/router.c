/*
 * router.c — matching a request's method and path against route tables.
 *
 * Owns: the matching rules of http.h: the path is split on '/' while
 * still percent-encoded (so an encoded "%2F" stays inside its segment),
 * then each segment is decoded; literal pattern segments match
 * case-insensitively, "{name}" captures a whole non-empty segment that is
 * not "." or ".." (so dot-segment tricks never reach a handler); one
 * trailing slash is ignored. A path matching only with another method is
 * reported apart so the server can say so (it still answers 404).
 * Threading: thread-safe; tables are read-only.
 */
#include "http/server_impl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The decoded segments of a request path, stored in one allocation. */
struct path_segs {
    char *store;
    const char *seg[DT_ROUTE_MAX_SEGMENTS];
    size_t len[DT_ROUTE_MAX_SEGMENTS];
    size_t n;
};

/* Splits raw_path into decoded segments. DURATA_ENOTFOUND for a path that
 * cannot match anything (no leading '/', too many segments), DURATA_EINVAL
 * for an encoded NUL, DURATA_ENOMEM. */
static int
path_split(const char *raw_path, struct path_segs *ps)
{
    size_t total = strlen(raw_path), used = 0;
    const char *p;

    ps->n = 0;
    ps->store = NULL;
    if (raw_path[0] != '/')
        return DURATA_ENOTFOUND;
    if (total > 1 && raw_path[total - 1] == '/')
        total--; /* one trailing slash is ignored */
    ps->store = malloc(total + DT_ROUTE_MAX_SEGMENTS + 1);
    if (!ps->store)
        return DURATA_ENOMEM;
    for (p = raw_path + 1; p <= raw_path + total && total > 1;) {
        const char *end = memchr(p, '/', (size_t)(raw_path + total - p));
        size_t len = end ? (size_t)(end - p) : (size_t)(raw_path + total - p);
        char *d;
        int rc;

        if (ps->n == DT_ROUTE_MAX_SEGMENTS)
            return DURATA_ENOTFOUND;
        rc = dt_http_pct_decode(p, len, false, &d, &len);
        if (rc < 0)
            return rc;
        memcpy(ps->store + used, d, len + 1);
        free(d);
        ps->seg[ps->n] = ps->store + used;
        ps->len[ps->n++] = len;
        used += len + 1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

static bool
is_dot_segment(const char *s, size_t len)
{
    return (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.');
}

/* Matches pattern against the segments. On a match returns true with the
 * specificity in *score: bit (63 - i) is set when segment i is literal. */
static bool
pattern_match(const char *pattern, const struct path_segs *ps, uint64_t *score)
{
    const char *p = pattern + 1;
    size_t i = 0;

    *score = 0;
    if (*p == '\0')
        return ps->n == 0;
    for (;; i++) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        if (i >= ps->n)
            return false;
        if (p[0] == '{') {
            if (ps->len[i] == 0 || is_dot_segment(ps->seg[i], ps->len[i]))
                return false;
        } else {
            if (len != ps->len[i] || strncasecmp(p, ps->seg[i], len) != 0)
                return false;
            *score |= UINT64_C(1) << (63 - i);
        }
        if (!end)
            break;
        p = end + 1;
    }
    return i + 1 == ps->n;
}

static bool
method_matches(const char *route_method, const char *method)
{
    if (strcmp(route_method, method) == 0)
        return true;
    return strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0;
}

/* Copies the captures of pattern's segments into req->params. */
static int
capture_params(const char *pattern, const struct path_segs *ps, struct dt_http_req *req)
{
    const char *p = pattern + 1;

    req->n_params = 0;
    for (size_t i = 0; i < ps->n && *p; i++) {
        const char *end = strchr(p, '/');

        if (p[0] == '{') {
            char *v = strdup(ps->seg[i]);
            if (!v)
                return DURATA_ENOMEM;
            req->params[req->n_params++] = v;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

int
dt_route_find(const struct dt_route *const *tables, const char *method, const char *raw_path,
              struct dt_http_req *req, const struct dt_route **out, enum dt_route_miss *miss)
{
    const struct dt_route *best = NULL;
    uint64_t best_score = 0, score;
    bool path_seen = false;
    struct path_segs ps;
    int rc;

    *out = NULL;
    *miss = DT_ROUTE_NO_PATH;
    rc = path_split(raw_path, &ps);
    if (rc < 0)
        goto out_free;
    for (size_t t = 0; tables && tables[t]; t++) {
        for (const struct dt_route *r = tables[t]; r->method; r++) {
            if (!pattern_match(r->pattern, &ps, &score))
                continue;
            path_seen = true;
            if (method_matches(r->method, method) && (!best || score > best_score)) {
                best = r;
                best_score = score;
            }
        }
    }
    if (!best) {
        *miss = path_seen ? DT_ROUTE_NO_METHOD : DT_ROUTE_NO_PATH;
        rc = DURATA_ENOTFOUND;
        goto out_free;
    }
    rc = capture_params(best->pattern, &ps, req);
    if (rc == 0)
        *out = best;

out_free:
    free(ps.store);
    return rc;
}

bool
dt_route_pattern_is_valid(const char *pattern)
{
    size_t segments = 0, captures = 0;
    const char *p;

    if (!pattern || pattern[0] != '/')
        return false;
    if (pattern[1] == '\0')
        return true;
    for (p = pattern + 1;; p++) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        if (len == 0 || ++segments > DT_ROUTE_MAX_SEGMENTS)
            return false;
        if (p[0] == '{') {
            if (len < 3 || p[len - 1] != '}' || ++captures > 4)
                return false;
        } else if (memchr(p, '{', len) || memchr(p, '}', len)) {
            return false;
        }
        if (!end)
            return true;
        p = end;
    }
}
