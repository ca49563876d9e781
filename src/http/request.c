/*
 * request.c — reading a request: query and header lookup, percent-decoding
 * and the base URL the client used (Host, X-Forwarded-Proto/Host).
 *
 * Owns: the decoded strings the server stores in a request (query names
 * and values, path parameters, path, base_url), freed by
 * dt_http_req_release_owned. Header strings belong to libmicrohttpd's
 * connection and the body to the server's connection state.
 * Threading: thread-safe (no shared state); a request belongs to one
 * thread.
 */
#include "http/server_impl.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *
dt_http_query(const struct dt_http_req *r, const char *name)
{
    if (!r || !name)
        return NULL;
    for (size_t i = 0; i < r->n_query; i++)
        if (strcasecmp(r->query[i].key, name) == 0)
            return r->query[i].value;
    return NULL;
}

const char *
dt_http_header(const struct dt_http_req *r, const char *name)
{
    if (!r || !name)
        return NULL;
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].key, name) == 0)
            return r->headers[i].value;
    return NULL;
}

bool
dt_http_query_bool(const struct dt_http_req *r, const char *name, bool dflt)
{
    const char *v = dt_http_query(r, name);

    if (!v)
        return dflt;
    if (strcasecmp(v, "true") == 0)
        return true;
    if (strcasecmp(v, "false") == 0)
        return false;
    return dflt;
}

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
dt_http_pct_decode(const char *in, size_t len, bool plus_space, char **out, size_t *out_len)
{
    char *s = malloc(len + 1);
    size_t n = 0;

    if (!s)
        return DURATA_ENOMEM;
    for (size_t i = 0; i < len; i++) {
        int hi = -1, lo = -1;

        if (in[i] == '%' && len - i >= 3) {
            hi = hex_value(in[i + 1]);
            lo = hex_value(in[i + 2]);
        }
        if (hi >= 0 && lo >= 0) {
            s[n++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (plus_space && in[i] == '+') {
            s[n++] = ' ';
        } else {
            s[n++] = in[i];
        }
    }
    s[n] = '\0';
    if (memchr(s, '\0', n)) {
        free(s);
        return DURATA_EINVAL;
    }
    *out = s;
    if (out_len)
        *out_len = n;
    return 0;
}

/* The first comma-separated item of a header value, spaces trimmed. */
static void
first_item(const char *v, const char **start, size_t *len)
{
    const char *end;

    while (*v == ' ' || *v == '\t')
        v++;
    end = v;
    while (*end && *end != ',')
        end++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *start = v;
    *len = (size_t)(end - v);
}

/* Characters of a host[:port] authority: letters, digits, "-._~" and the
 * ':' '[' ']' of ports and IPv6 literals. Nothing that could end a URL
 * component, start userinfo or break a header line. */
static bool
host_is_valid(const char *h, size_t n)
{
    if (n == 0 || n > DT_HTTP_HOST_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == '[' || c == ']';
        if (!ok)
            return false;
    }
    return true;
}

int
dt_http_base_url(const char *fwd_proto, const char *fwd_host, const char *host,
                 const char *fallback, char **out)
{
    const char *scheme = "http", *h = NULL, *item;
    const char *candidates[] = {fwd_host, host, fallback};
    size_t hlen = 0, n, size;
    char *s;

    if (fwd_proto) {
        first_item(fwd_proto, &item, &n);
        if (n == 5 && strncasecmp(item, "https", 5) == 0)
            scheme = "https";
    }
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]) && !h; i++) {
        if (!candidates[i])
            continue;
        first_item(candidates[i], &item, &n);
        if (host_is_valid(item, n)) {
            h = item;
            hlen = n;
        }
    }
    if (!h) {
        h = "localhost";
        hlen = strlen(h);
    }
    n = strlen(scheme);
    size = n + 3 + hlen + 1;
    s = malloc(size);
    if (!s)
        return DURATA_ENOMEM;
    /* scheme "://" host, without printf: this runs on every request. */
    memcpy(s, scheme, n);
    memcpy(s + n, "://", 3);
    memcpy(s + n + 3, h, hlen);
    s[n + 3 + hlen] = '\0';
    *out = s;
    return 0;
}

int
dt_http_req_add_query(struct dt_http_req *req, const char *key, const char *value)
{
    struct dt_http_kv *q;
    char *k = strdup(key), *v = strdup(value ? value : "");

    if (!k || !v)
        goto out_free;
    q = realloc(req->query, (req->n_query + 1) * sizeof(*q));
    if (!q)
        goto out_free;
    req->query = q;
    q[req->n_query].key = k;
    q[req->n_query].value = v;
    req->n_query++;
    return 0;

out_free:
    free(k);
    free(v);
    return DURATA_ENOMEM;
}

/* Decodes key[0..klen) and value[0..vlen) (value NULL: none) and adds them. */
static int
add_query_encoded(struct dt_http_req *req, const char *key, size_t klen, const char *value,
                  size_t vlen)
{
    char *k = NULL, *v = NULL;
    int rc;

    rc = dt_http_pct_decode(key, klen, true, &k, NULL);
    if (rc == 0 && value)
        rc = dt_http_pct_decode(value, vlen, true, &v, NULL);
    if (rc == 0)
        rc = dt_http_req_add_query(req, k, v ? v : "");
    free(k);
    free(v);
    return rc;
}

int
dt_http_req_add_query_encoded(struct dt_http_req *req, const char *key, const char *value)
{
    return add_query_encoded(req, key, strlen(key), value, value ? strlen(value) : 0);
}

int
dt_http_req_parse_query(struct dt_http_req *req, const char *qs)
{
    while (qs && *qs) {
        const char *amp = strchr(qs, '&');
        size_t len = amp ? (size_t)(amp - qs) : strlen(qs);
        const char *eq = memchr(qs, '=', len);
        int rc;

        if (len > 0) {
            size_t klen = eq ? (size_t)(eq - qs) : len;
            rc = add_query_encoded(req, qs, klen, eq ? eq + 1 : NULL, eq ? len - klen - 1 : 0);
            if (rc < 0)
                return rc;
        }
        qs = amp ? amp + 1 : NULL;
    }
    return 0;
}

void
dt_http_req_release_owned(struct dt_http_req *req)
{
    for (size_t i = 0; i < req->n_query; i++) {
        free(req->query[i].key);
        free(req->query[i].value);
    }
    free(req->query);
    req->query = NULL;
    req->n_query = 0;
    for (size_t i = 0; i < req->n_params; i++)
        free((char *)req->params[i]);
    req->n_params = 0;
    free((char *)req->path);
    req->path = NULL;
    free((char *)req->base_url);
    req->base_url = NULL;
}
