/*
 * client.c — requests from `durata` to a server over HTTP with libcurl.
 *
 * Owns: the curl handle of a client (reused, so paging and polling keep
 * one connection), the capped response buffer (DT_CLIENT_MAX_BODY), the
 * x-ms-continuation-token header of list answers, and the wording of a
 * failed request on stderr. Bodies are always JSON; the API key goes in
 * the x-functions-key header, never in a URL that could land in a log.
 * Threading: main thread only (curl_global_init is not thread-safe).
 */
#include "cli/client.h"

#include "cli/output.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A status page or a history can be large, but not without end. */
#define DT_CLIENT_MAX_BODY (64u * 1024 * 1024)
#define DT_CLIENT_CONNECT_TIMEOUT_S 10L
#define DT_CLIENT_TIMEOUT_S 120L
#define DT_CLIENT_MAX_HEADERS 8

#define CONTINUATION_HEADER "x-ms-continuation-token:"

static bool
url_is_http(const char *url)
{
    return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

int
dt_client_open(struct dt_client *c, const char *verb, const char *url, const char *api_key)
{
    size_t n = strlen(url);

    memset(c, 0, sizeof(*c));
    c->verb = verb;
    if (!url_is_http(url) || n <= strlen("http://")) {
        fprintf(stderr, "durata %s: the server URL must start with http:// or https://, not '%s'\n",
                verb, url);
        return DT_EXIT_USAGE;
    }
    if (api_key && !dt_client_header_safe(api_key)) {
        fprintf(stderr, "durata %s: the API key cannot hold control characters\n", verb);
        return DT_EXIT_USAGE;
    }
    while (n > 0 && url[n - 1] == '/')
        n--;
    if (!(c->base = strndup(url, n)))
        goto out_oom;
    if (api_key && *api_key && !(c->key_header = dt_out_printf("x-functions-key: %s", api_key)))
        goto out_oom;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        goto out_curl;
    if (!(c->curl = curl_easy_init())) {
        curl_global_cleanup();
        goto out_curl;
    }
    return DT_EXIT_OK;

out_curl:
    fprintf(stderr, "durata %s: cannot start libcurl\n", verb);
    dt_client_close(c);
    return DT_EXIT_FAIL;

out_oom:
    fprintf(stderr, "durata %s: out of memory\n", verb);
    dt_client_close(c);
    return DT_EXIT_FAIL;
}

void
dt_client_close(struct dt_client *c)
{
    if (c->curl) {
        curl_easy_cleanup(c->curl);
        curl_global_cleanup();
    }
    free(c->base);
    free(c->key_header);
    memset(c, 0, sizeof(*c));
}

/* ------------------------------------------------------------ a request */

/* Where a response lands while curl reads it. */
struct sink {
    struct dt_buf body;
    char *continuation;
    bool oom;
};

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;

    if (dt_buf_append(&s->body, data, size * n) < 0)
        return 0; /* curl stops with CURLE_WRITE_ERROR */
    return size * n;
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
    size_t len = size * n, skip = strlen(CONTINUATION_HEADER);
    struct sink *s = arg;

    if (len <= skip || strncasecmp(data, CONTINUATION_HEADER, skip) != 0)
        return len;
    data += skip;
    len -= skip;
    while (len > 0 && isspace((unsigned char)*data))
        data++, len--;
    while (len > 0 && isspace((unsigned char)data[len - 1]))
        len--;
    free(s->continuation); /* a redirect or 100-continue may repeat it */
    s->continuation = NULL;
    if (len > 0 && !(s->continuation = strndup(data, len)))
        s->oom = true;
    return size * n;
}

/* The header list of one request; NULL after an allocation failure. */
static struct curl_slist *
header_list(const struct dt_client *c, bool has_body, const char *const *extra, bool *oom)
{
    const char *lines[DT_CLIENT_MAX_HEADERS + 4];
    struct curl_slist *list = NULL, *next;
    size_t n = 0;

    lines[n++] = "Accept: application/json";
    lines[n++] = "Expect:"; /* no 100-continue round trip for big bodies */
    if (has_body)
        lines[n++] = "Content-Type: application/json";
    if (c->key_header)
        lines[n++] = c->key_header;
    for (size_t i = 0; extra && extra[i] && i < DT_CLIENT_MAX_HEADERS; i++)
        lines[n++] = extra[i];
    *oom = false;
    for (size_t i = 0; i < n; i++) {
        if (!(next = curl_slist_append(list, lines[i]))) {
            curl_slist_free_all(list);
            *oom = true;
            return NULL;
        }
        list = next;
    }
    return list;
}

/* The method and body of this request; the handle keeps the last ones. */
static void
set_method(CURL *h, const char *method, const char *body)
{
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
        return;
    }
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? strlen(body) : 0));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
        return;
    }
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
}

static void
set_common(struct dt_client *c, struct sink *s, struct curl_slist *headers)
{
    CURL *h = c->curl;

    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, DT_CLIENT_CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, DT_CLIENT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "durata/" DT_CLI_VERSION);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->error);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
}

/* Says why no answer came (unless the caller tells); returns DT_EXIT_FAIL. */
static int
transport_failed(const struct dt_client *c, CURLcode code, const struct sink *s)
{
    const char *why = c->error[0] ? c->error : curl_easy_strerror(code);

    if (c->quiet_transport)
        return DT_EXIT_FAIL;
    if (code == CURLE_WRITE_ERROR && s->body.len + CURL_MAX_WRITE_SIZE > DT_CLIENT_MAX_BODY)
        why = "the answer is larger than 64 MiB";
    fprintf(stderr, "durata %s: no answer from %s: %s\n", c->verb, c->base, why);
    if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
        code == CURLE_OPERATION_TIMEDOUT)
        fprintf(stderr, "Is `durata serve` running there? Set the server with --url URL or "
                        "DURATA_URL.\n");
    return DT_EXIT_FAIL;
}

int
dt_client_call(struct dt_client *c, const char *method, const char *path, const char *body,
               const char *const *headers, struct dt_client_resp *out)
{
    struct sink s = {.continuation = NULL};
    struct curl_slist *list;
    char *url = NULL;
    CURLcode code;
    bool oom;
    int rc = DT_EXIT_FAIL;

    memset(out, 0, sizeof(*out));
    c->transport = CURLE_OK;
    dt_buf_init(&s.body, DT_CLIENT_MAX_BODY);
    list = header_list(c, body != NULL, headers, &oom);
    if (oom || !(url = dt_out_printf("%s%s", c->base, path))) {
        fprintf(stderr, "durata %s: out of memory\n", c->verb);
        goto out_free;
    }
    c->error[0] = '\0';
    set_common(c, &s, list);
    set_method(c->curl, method, body);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    code = curl_easy_perform(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL); /* the list dies below */
    if (code != CURLE_OK) {
        c->transport = code;
        rc = transport_failed(c, code, &s);
        goto out_free;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &out->status);
    out->len = s.body.len;
    if (s.oom || !(out->body = dt_buf_detach(&s.body))) {
        fprintf(stderr, "durata %s: out of memory\n", c->verb);
        goto out_free;
    }
    out->continuation = s.continuation;
    s.continuation = NULL;
    rc = DT_EXIT_OK;
out_free:
    free(s.continuation);
    dt_buf_release(&s.body);
    curl_slist_free_all(list);
    free(url);
    return rc;
}

int
dt_client_expect(struct dt_client *c, const char *method, const char *path, const char *body,
                 const char *const *headers, struct dt_client_resp *out)
{
    int rc = dt_client_call(c, method, path, body, headers, out);

    if (rc == DT_EXIT_OK && (out->status < 200 || out->status > 299))
        rc = dt_client_fail(c, out);
    return rc;
}

void
dt_client_resp_release(struct dt_client_resp *r)
{
    free(r->body);
    free(r->continuation);
    memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------ failures */

int
dt_client_exit_code(long status)
{
    if (status >= 200 && status <= 299)
        return DT_EXIT_OK;
    if (status == 404)
        return DT_EXIT_NOT_FOUND;
    if (status == 409 || status == 410)
        return DT_EXIT_CONFLICT;
    return DT_EXIT_FAIL;
}

/* What to say when the answer carries no message of its own. */
static const char *
status_message(long status)
{
    switch (status) {
    case 400:
        return "bad request";
    case 401:
        return "unauthorized: the server wants an API key";
    case 404:
        return "not found";
    case 409:
        return "conflict with the instance's state";
    case 410:
        return "the instance is in a terminal state";
    case 413:
        return "too large";
    case 429:
    case 503:
        return "the server is busy; try again later";
    default:
        return status >= 500 ? "server error" : "request refused";
    }
}

/* One line per entry of error.fields (validation failures). */
static void
print_fields(json_t *fields)
{
    size_t i;
    json_t *f;

    json_array_foreach(fields, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "field"));
        const char *msg = json_string_value(json_object_get(f, "message"));

        fputs("  ", stderr);
        dt_out_text(stderr, name ? name : "?");
        fputs(": ", stderr);
        dt_out_text(stderr, msg ? msg : "invalid");
        fputc('\n', stderr);
    }
}

int
dt_client_fail(const struct dt_client *c, const struct dt_client_resp *r)
{
    json_t *root = r->body && *r->body ? json_loads(r->body, JSON_DECODE_ANY, NULL) : NULL;
    json_t *err = json_object_get(root, "error");
    const char *msg = json_string_value(json_object_get(err, "message"));
    json_t *fields = json_object_get(err, "fields");

    fprintf(stderr, "durata %s: ", c->verb);
    dt_out_text(stderr, msg && *msg ? msg : status_message(r->status));
    fprintf(stderr, " (HTTP %ld)\n", r->status);
    if (json_array_size(fields) > 0)
        print_fields(fields);
    if (r->status == 401)
        fprintf(stderr, "Pass the server's key with --api-key KEY or DURATA_API_KEY.\n");
    json_decref(root);
    return dt_client_exit_code(r->status);
}

json_t *
dt_client_json(const struct dt_client *c, const struct dt_client_resp *r)
{
    json_error_t e;
    json_t *v = json_loadb(r->body, r->len, JSON_DECODE_ANY, &e);

    if (!v)
        fprintf(stderr, "durata %s: the server's answer is not JSON: %s\n", c->verb, e.text);
    return v;
}

/* ------------------------------------------------------------ URLs */

bool
dt_client_header_safe(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

int
dt_client_id_path(struct dt_buf *b, const char *head, const char *id, const char *suffix)
{
    int rc = dt_buf_appends(b, head);

    if (rc == 0)
        rc = dt_buf_append(b, "/", 1);
    if (rc == 0)
        rc = dt_client_escape(b, id);
    if (rc == 0)
        rc = dt_buf_appends(b, suffix);
    return rc;
}

int
dt_client_escape(struct dt_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++) {
        char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};

        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
            rc = dt_buf_append(b, p, 1);
        else
            rc = dt_buf_append(b, esc, 3);
    }
    return rc;
}

int
dt_client_query(struct dt_buf *b, const char *name, const char *value)
{
    int rc;

    if (!value)
        return 0;
    rc = dt_buf_appends(b, b->data && strchr(b->data, '?') ? "&" : "?");
    if (rc == 0)
        rc = dt_buf_appends(b, name);
    if (rc == 0)
        rc = dt_buf_appends(b, "=");
    if (rc == 0)
        rc = dt_client_escape(b, value);
    return rc;
}
