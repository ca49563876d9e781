/*
 * response.c — building responses: JSON and text bodies, extra headers and
 * the error body of DESIGN.md ({"error":{"code","message","field"?}}).
 *
 * Owns: a response's malloc'd body, content type and headers until
 * dt_http_resp_release (the server hands the body to libmicrohttpd). Each
 * setter replaces what an earlier one set, so a handler may build a reply
 * and then turn it into an error.
 * Threading: a response belongs to the thread handling its request.
 */
#include "http/http.h"

#include "base/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Replaces the body and content type with body (taken) and a copy of
 * ctype (NULL = JSON). */
static int
resp_set(struct dt_http_resp *resp, int status, const char *ctype, char *body, size_t len)
{
    char *ct = NULL;

    if (ctype) {
        ct = strdup(ctype);
        if (!ct) {
            free(body);
            return DURATA_ENOMEM;
        }
    }
    free(resp->body);
    free(resp->content_type);
    resp->status = status;
    resp->content_type = ct;
    resp->body = body;
    resp->body_len = len;
    return 0;
}

int
dt_http_json(struct dt_http_resp *resp, int status, json_t *v)
{
    char *text;

    if (!v)
        return DURATA_ENOMEM; /* a json_* constructor failed */
    text = dt_json_text(v);
    json_decref(v);
    if (!text)
        return DURATA_ENOMEM;
    return resp_set(resp, status, NULL, text, strlen(text));
}

int
dt_http_text(struct dt_http_resp *resp, int status, const char *ctype, const char *text, size_t len)
{
    char *body = malloc(len + 1);

    if (!body)
        return DURATA_ENOMEM;
    if (len)
        memcpy(body, text, len);
    body[len] = '\0';
    return resp_set(resp, status, ctype, body, len);
}

int
dt_http_take_buf(struct dt_http_resp *resp, int status, const char *ctype, struct dt_buf *b)
{
    size_t len = b->len;
    char *body = dt_buf_detach(b);

    if (!body)
        return DURATA_ENOMEM;
    return resp_set(resp, status, ctype, body, len);
}

int
dt_http_error(struct dt_http_resp *resp, int status, const char *code, const char *message,
              const char *field)
{
    json_t *err = json_object(), *root = json_object();
    int rc = DURATA_ENOMEM;

    if (!err || !root)
        goto out_free;
    if (json_object_set_new(err, "code", dt_json_string_lossy(code ? code : "error")) ||
        json_object_set_new(err, "message", dt_json_string_lossy(message ? message : "")))
        goto out_free;
    if (field && json_object_set_new(err, "field", dt_json_string_lossy(field)))
        goto out_free;
    if (json_object_set_new(root, "error", err)) {
        err = NULL; /* set_new released it */
        goto out_free;
    }
    return dt_http_json(resp, status, root);

out_free:
    json_decref(err);
    json_decref(root);
    return rc;
}

int
dt_http_add_header(struct dt_http_resp *resp, const char *key, const char *value)
{
    size_t kl = strlen(key), vl = value ? strlen(value) : 0;
    char *k;

    if (resp->n_headers % 4 == 0) { /* room for four more: a response has two or three */
        struct dt_http_kv *h = realloc(resp->headers, (resp->n_headers + 4) * sizeof(*h));
        if (!h)
            return DURATA_ENOMEM;
        resp->headers = h;
    }
    if (!(k = malloc(kl + vl + 2))) /* the key, then the value in the same block */
        return DURATA_ENOMEM;
    memcpy(k, key, kl + 1);
    memcpy(k + kl + 1, value ? value : "", vl + 1);
    resp->headers[resp->n_headers].key = k;
    resp->headers[resp->n_headers].value = k + kl + 1;
    resp->n_headers++;
    return 0;
}

void
dt_http_resp_release(struct dt_http_resp *resp)
{
    if (!resp)
        return;
    for (size_t i = 0; i < resp->n_headers; i++)
        free(resp->headers[i].key); /* the value's block too */
    free(resp->headers);
    free(resp->body);
    free(resp->content_type);
    memset(resp, 0, sizeof(*resp));
}

struct error_map {
    int code;
    int status;
    const char *name;
};

static const struct error_map error_maps[] = {
    {DURATA_EINVAL, 400, "invalid_argument"}, {DURATA_EJSON, 400, "invalid_json"},
    {DURATA_ENOTFOUND, 404, "not_found"},     {DURATA_ECONFLICT, 409, "conflict"},
    {DURATA_ETOOBIG, 413, "too_large"},       {DURATA_EGONE, 410, "gone"},
    {DURATA_EUNKNOWN, 400, "unknown_name"},   {DURATA_EOVERLOAD, 503, "overloaded"},
};

int
dt_http_error_from(struct dt_http_resp *resp, int code, const char *message)
{
    const char *msg = message ? message : durata_strerror(code);
    int rc;

    for (size_t i = 0; i < sizeof(error_maps) / sizeof(error_maps[0]); i++) {
        if (error_maps[i].code != code)
            continue;
        rc = dt_http_error(resp, error_maps[i].status, error_maps[i].name, msg, NULL);
        if (rc == 0 && code == DURATA_EOVERLOAD)
            rc = dt_http_add_header(resp, "Retry-After", "1");
        return rc;
    }
    return dt_http_error(resp, 500, "internal", msg, NULL);
}
