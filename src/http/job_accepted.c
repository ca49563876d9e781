/*
 * job_accepted.c — the 202 answer to a job submission (see
 * job_accepted.h), from a template kept by each thread.
 *
 * The answer is the same text for every job a client submits to one base
 * URL with one key, but for the job's id, which it holds ten times (job_id,
 * status_url, id and the seven management URLs). Building it piece by piece
 * (URL encoding, the key looked up, a score of appends) cost more than the
 * rest of answering. So each thread keeps the answer it built last with a
 * marker in place of the id, and the offsets of the marker: for the next
 * submission with the same base URL and key, the answer is the template's
 * pieces and the id between them. An id with characters that would be
 * escaped in JSON or in a URL is written the long way, and so is every
 * answer when the marker shows up anywhere else (in the host name, in the
 * key): the template is then not kept.
 *
 * Owns: each thread's template (freed when the thread ends).
 * Threading: a template belongs to its thread; nothing is shared.
 */
#include "http/job_accepted.h"

#include "http/df.h"

#include "base/json.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define ACCEPTED_URL_MAX (64 * 1024)
/* What a 202 body usually takes (ten URLs of ~150 bytes): reserved at once. */
#define ACCEPTED_GUESS 2048
#define ACCEPTED_RETRY_AFTER "2"
/* Where the id goes in a body: job_id, status_url, id, the seven URLs. */
#define ACCEPTED_ID_SLOTS (3 + DT_DF_URL_COUNT)
/* The id a template is built with: characters no encoding changes. */
#define ACCEPTED_MARKER "0durata0id0marker0"

/* The job's own URL: base_url + "/api/jobs/" + id percent-encoded, plus
 * "?code=<key>" when the request carried its key where the management URLs
 * take it from (dt_df_request_key). Like them it needs no JSON escaping. */
static int
status_url(struct dt_buf *b, const struct dt_http_req *req, const char *key, const char *id)
{
    int rc = dt_buf_appends(b, req->base_url ? req->base_url : "");

    if (rc == 0 && (rc = dt_buf_appends(b, "/api/jobs/")) == 0)
        rc = dt_df_append_encoded(b, id, false);
    if (rc == 0 && key && (rc = dt_buf_appends(b, "?code=")) == 0)
        rc = dt_df_append_encoded(b, key, false);
    return rc;
}

/* The body of the 202 answer, written straight into b (no JSON tree):
 * status, job_id, status_url, and the Durable Functions check-status
 * payload (id and the management URLs). */
static int
accepted_body(struct dt_buf *b, const struct dt_http_req *req, const char *id, const char *url)
{
    struct dt_df_urls u;
    int rc = dt_df_urls_init(&u, req, id, false);

    if (rc < 0)
        return rc;
    rc = dt_buf_appends(b, "{\"status\":\"accepted\",\"job_id\":");
    if (rc == 0 && (rc = dt_json_append_str(b, id)) == 0 &&
        (rc = dt_buf_appends(b, ",\"status_url\":\"")) == 0 && (rc = dt_buf_appends(b, url)) == 0)
        rc = dt_buf_appends(b, "\",\"id\":");
    if (rc == 0)
        rc = dt_json_append_str(b, id);
    for (size_t i = 0; rc == 0 && i < DT_DF_URL_COUNT; i++) {
        if ((rc = dt_buf_appends(b, ",\"")) == 0 &&
            (rc = dt_buf_appends(b, dt_df_url_field(i))) == 0)
            rc = dt_buf_appends(b, "\":\"");
        if (rc == 0)
            rc = dt_df_append_url(b, &u, i);
        if (rc == 0)
            rc = dt_buf_append(b, "\"", 1);
    }
    dt_df_urls_release(&u);
    return rc == 0 ? dt_buf_append(b, "}", 1) : rc;
}

/* A text with ACCEPTED_MARKER in place of the id, and where it is. */
struct marked {
    struct dt_buf text;
    size_t cut[ACCEPTED_ID_SLOTS];
    size_t n_cuts;
};

/* The answer a thread built last: for base_url and key (NULL: none). */
struct accepted_template {
    char *base_url;
    char *key;
    bool usable; /* the marker is only where the id goes */
    struct marked body;
    struct marked url;
};

static pthread_key_t template_key;
static pthread_once_t template_once = PTHREAD_ONCE_INIT;
static bool template_key_ok;
static _Thread_local struct accepted_template template;

static void
template_clear(struct accepted_template *t)
{
    free(t->base_url);
    free(t->key);
    dt_buf_release(&t->body.text);
    dt_buf_release(&t->url.text);
    *t = (struct accepted_template){.usable = false};
}

static void
template_free_at_exit(void *arg)
{
    template_clear(arg);
}

static void
template_key_create(void)
{
    template_key_ok = pthread_key_create(&template_key, template_free_at_exit) == 0;
}

/* Finds every marker in m->text; whether there are exactly `want`. */
static bool
find_cuts(struct marked *m, size_t want)
{
    const size_t mlen = sizeof(ACCEPTED_MARKER) - 1;
    const char *at = m->text.data;

    m->n_cuts = 0;
    while ((at = strstr(at, ACCEPTED_MARKER)) != NULL) {
        if (m->n_cuts == want)
            return false;
        m->cut[m->n_cuts++] = (size_t)(at - m->text.data);
        at += mlen;
    }
    return m->n_cuts == want;
}

/* Builds this thread's template for req's base URL and key. 0 (usable or
 * not) or DURATA_ENOMEM. */
static int
template_build(struct accepted_template *t, const struct dt_http_req *req, const char *key)
{
    const char *base = req->base_url ? req->base_url : "";
    int rc;

    template_clear(t);
    pthread_once(&template_once, template_key_create);
    if (!template_key_ok || pthread_setspecific(template_key, t) != 0)
        return 0; /* nothing to free it with: no template */
    t->base_url = strdup(base);
    t->key = key ? strdup(key) : NULL;
    dt_buf_init(&t->url.text, ACCEPTED_URL_MAX);
    dt_buf_init(&t->body.text, (DT_DF_URL_COUNT + 2) * ACCEPTED_URL_MAX);
    if (!t->base_url || (key && !t->key))
        rc = DURATA_ENOMEM;
    else if ((rc = status_url(&t->url.text, req, key, ACCEPTED_MARKER)) == 0)
        rc = accepted_body(&t->body.text, req, ACCEPTED_MARKER, t->url.text.data);
    if (rc < 0) {
        template_clear(t);
        return rc == DURATA_ENOMEM ? rc : 0;
    }
    t->usable = find_cuts(&t->url, 1) && find_cuts(&t->body, ACCEPTED_ID_SLOTS);
    return 0;
}

static bool
same_opt(const char *a, const char *b)
{
    return a && b ? strcmp(a, b) == 0 : a == b;
}

/* Whether id is written as it is both in JSON and in a URL. */
static bool
id_is_plain(const char *id)
{
    for (const char *p = id; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '.' || c == '_' || c == '~'))
            return false;
    }
    return *id != '\0';
}

/* Appends m's text with id in place of each marker. */
static int
fill(struct dt_buf *b, const struct marked *m, const char *id)
{
    const size_t mlen = sizeof(ACCEPTED_MARKER) - 1, idlen = strlen(id);
    size_t from = 0;
    char *out;
    int rc;

    if ((rc = dt_buf_extend(b, m->text.len - m->n_cuts * mlen + m->n_cuts * idlen, &out)) != 0)
        return rc;
    for (size_t i = 0; i < m->n_cuts; i++) {
        memcpy(out, m->text.data + from, m->cut[i] - from);
        out += m->cut[i] - from;
        memcpy(out, id, idlen);
        out += idlen;
        from = m->cut[i] + mlen;
    }
    memcpy(out, m->text.data + from, m->text.len - from);
    return 0;
}

/* The body and status_url of job id, from this thread's template when it
 * fits, else built the long way. */
static int
accepted_texts(const struct dt_http_req *req, const char *id, struct dt_buf *body,
               struct dt_buf *url)
{
    struct accepted_template *t = &template;
    const char *key = dt_df_request_key(req);
    int rc;

    if (id_is_plain(id)) {
        if (!t->base_url || strcmp(t->base_url, req->base_url ? req->base_url : "") != 0 ||
            !same_opt(t->key, key)) {
            if ((rc = template_build(t, req, key)) < 0)
                return rc;
        }
        if (t->usable) {
            if ((rc = fill(url, &t->url, id)) < 0)
                return rc;
            return fill(body, &t->body, id);
        }
    }
    if ((rc = status_url(url, req, key, id)) < 0)
        return rc;
    return accepted_body(body, req, id, url->data);
}

int
dt_job_accepted(struct dt_http_req *req, struct dt_http_resp *resp, const char *id, bool replayed)
{
    struct dt_buf body, url;
    int rc;

    dt_buf_init(&url, ACCEPTED_URL_MAX);
    dt_buf_init(&body, (DT_DF_URL_COUNT + 2) * ACCEPTED_URL_MAX);
    rc = dt_buf_reserve(&body, ACCEPTED_GUESS);
    if (rc == 0)
        rc = accepted_texts(req, id, &body, &url);
    if (rc == 0)
        rc = dt_http_take_buf(resp, 202, NULL, &body);
    if (rc == 0)
        rc = dt_http_add_header(resp, "Location", url.data);
    if (rc == 0)
        rc = dt_http_add_header(resp, "Retry-After", ACCEPTED_RETRY_AFTER);
    if (rc == 0 && replayed)
        rc = dt_http_add_header(resp, "Idempotent-Replayed", "true");
    dt_buf_release(&body);
    dt_buf_release(&url);
    return rc < 0 ? DURATA_ENOMEM : 0;
}
