/*
 * support_http.c — the libcurl client and in-process server of the http
 * unit tests (see support_http.h).
 */
#include "support_http.h"
#include "support/curl_capture.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct source {
    const char *data;
    size_t len;
    size_t off;
};

static size_t
on_read(char *p, size_t size, size_t n, void *arg)
{
    struct source *src = arg;
    size_t want = size * n, left = src->len - src->off;

    if (want > left)
        want = left;
    if (want > 1000)
        want = 1000; /* several chunks */
    memcpy(p, src->data + src->off, want);
    src->off += want;
    return want;
}

int
ht_request(const char *method, const char *url, const char *body, size_t body_len,
           const char *const *headers, bool chunked, struct ht_reply *out)
{
    struct tc_capture b = {0}, h = {0};
    struct source src = {body, body_len, 0};
    struct curl_slist *list = NULL;
    CURL *c = curl_easy_init();
    CURLcode rc;

    memset(out, 0, sizeof(*out));
    if (!c)
        return -1;
    list = curl_slist_append(list, "Expect:");
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body && chunked) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &src);
        list = curl_slist_append(list, "Transfer-Encoding: chunked");
    } else if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tc_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, tc_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L); /* send "/../" as written */
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(list);
    curl_easy_cleanup(c);
    out->body = b.data ? b.data : strdup("");
    out->body_len = b.len;
    out->headers = h.data ? h.data : strdup("");
    if (rc != CURLE_OK)
        fprintf(stderr, "curl %s %s: %s\n", method, url, curl_easy_strerror(rc));
    return rc == CURLE_OK ? 0 : -1;
}

void
ht_reply_release(struct ht_reply *r)
{
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof(*r));
}

bool
ht_header(const struct ht_reply *r, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);

    for (const char *line = r->headers; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);

        if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            len -= (size_t)(v - line);
            while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == ' '))
                len--;
            snprintf(out, size, "%.*s", (int)len, v);
            return true;
        }
        line = end ? end + 1 : NULL;
    }
    return false;
}

bool
ht_json_str(const struct ht_reply *r, const char *key, char *out, size_t size)
{
    json_t *root = json_loads(r->body, 0, NULL);
    json_t *v = root ? json_object_get(root, key) : NULL;
    bool ok = v && json_is_string(v);

    if (ok)
        snprintf(out, size, "%s", json_string_value(v));
    json_decref(root);
    return ok;
}

int
ht_server_start(struct ht_server *s)
{
    int rc;

    s->cfg.host = "127.0.0.1";
    s->cfg.port = 0;
    s->app.config = &s->cfg;
    rc = dt_http_server_start(&s->srv, &s->app, &s->cfg);
    if (rc < 0)
        return rc;
    snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", dt_http_server_port(s->srv));
    return 0;
}

void
ht_server_stop(struct ht_server *s)
{
    dt_http_server_stop(s->srv);
    s->srv = NULL;
}

int
ht_curl_setup(void **state)
{
    (void)state;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

int
ht_curl_teardown(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

const char *
ht_url(struct ht_server *s, const char *path)
{
    snprintf(s->url, sizeof(s->url), "%s%s", s->base, path);
    return s->url;
}
