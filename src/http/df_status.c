/*
 * df_status.c — the read side of the DF management API and purge many:
 * GET instances/{id} (spec 1.2), GET instances (1.3), DELETE instances
 * (1.11).
 *
 * Owns: the status payload (field order and null fields as DF emits them,
 * second-precision times, input/output/customStatus as real JSON values),
 * the list filters (runtimeStatus as a comma list and/or repeated,
 * createdTimeFrom/To inclusive, instanceIdPrefix, the extra `name`, top,
 * x-ms-continuation-token in and out — the header is always sent, empty on
 * the last page) and the purge-many filters.
 * Unparseable dates and unknown runtimeStatus items are ignored, as DF does;
 * purge many alone requires a parseable createdTimeFrom (400). Purge many
 * answers 404 with {"instancesDeleted":0} when nothing matched, as DF does
 * (clients read 404 as "nothing deleted").
 * Threading: runs on the request's thread; hub calls are thread-safe.
 */
#include "http/df.h"

#include "base/json.h"
#include "base/log.h"
#include "base/time.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DF_LIST_DEFAULT_TOP 100
#define DF_LIST_MAX_TOP 1000

json_t *
dt_df_string(const char *s)
{
    json_t *v = json_string(s);
    char *copy;

    if (v || !s)
        return v;
    /* Not UTF-8 (or out of memory): bytes >= 0x80 become '?'. */
    if (!(copy = strdup(s)))
        return NULL;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    v = json_string(copy);
    free(copy);
    return v;
}

json_t *
dt_df_value(const char *text)
{
    json_error_t err;
    json_t *v;

    if (!text)
        return json_null();
    v = json_loads(text, JSON_DECODE_ANY, &err);
    if (v)
        return v;
    return dt_df_string(text);
}

/* DF shows a failed instance's failure as text in `output`. */
static int
append_output(struct dt_buf *b, const struct durata_instance *inst)
{
    const struct durata_failure *f = inst->failure;
    struct dt_buf text;
    int rc;

    if (inst->output || !f)
        return dt_json_append_stored(b, inst->output);
    dt_buf_init(&text, 0);
    rc = dt_buf_appendf(&text, "%s: %s", f->error_type ? f->error_type : "Error",
                        f->message ? f->message : "");
    if (rc == 0)
        rc = dt_json_append_str(b, text.data);
    dt_buf_release(&text);
    return rc;
}

int
dt_df_status_append(struct dt_buf *b, const struct durata_instance *inst, bool show_input,
                    const json_t *history)
{
    char created[DT_TIME_TEXT_MAX], updated[DT_TIME_TEXT_MAX];
    char *events;
    int rc;

    dt_time_format_s(inst->created_ms, created, sizeof(created));
    dt_time_format_s(inst->updated_ms, updated, sizeof(updated));
    if ((rc = dt_buf_appends(b, "{\"name\":")) < 0 ||
        (rc = dt_json_append_str(b, inst->name)) < 0 ||
        (rc = dt_buf_appends(b, ",\"instanceId\":")) < 0 ||
        (rc = dt_json_append_str(b, inst->id)) < 0 ||
        (rc = dt_buf_appends(b, ",\"runtimeStatus\":\"")) < 0 ||
        (rc = dt_buf_appends(b, durata_status_name(inst->status))) < 0 ||
        (rc = dt_buf_appends(b, "\",\"input\":")) < 0 ||
        (rc = dt_json_append_stored(b, show_input ? inst->input : NULL)) < 0 ||
        (rc = dt_buf_appends(b, ",\"customStatus\":")) < 0 ||
        (rc = dt_json_append_stored(b, inst->custom_status)) < 0 ||
        (rc = dt_buf_appends(b, ",\"output\":")) < 0 || (rc = append_output(b, inst)) < 0 ||
        (rc = dt_buf_appends(b, ",\"createdTime\":\"")) < 0 ||
        (rc = dt_buf_appends(b, created)) < 0 ||
        (rc = dt_buf_appends(b, "\",\"lastUpdatedTime\":\"")) < 0 ||
        (rc = dt_buf_appends(b, updated)) < 0 || (rc = dt_buf_append(b, "\"", 1)) < 0)
        return rc;
    if (inst->version && ((rc = dt_buf_appends(b, ",\"version\":")) < 0 ||
                          (rc = dt_json_append_str(b, inst->version)) < 0))
        return rc;
    if (history) {
        if (!(events = dt_json_text(history)))
            return DURATA_ENOMEM;
        if ((rc = dt_buf_appends(b, ",\"historyEvents\":")) == 0)
            rc = dt_buf_appends(b, events);
        free(events);
        if (rc < 0)
            return rc;
    }
    return dt_buf_append(b, "}", 1);
}

int
dt_df_status_resp(struct dt_http_resp *resp, int status, const struct durata_instance *inst,
                  bool show_input)
{
    struct dt_buf b;
    int rc;

    dt_buf_init(&b, 0);
    if ((rc = dt_df_status_append(&b, inst, show_input, NULL)) == 0)
        rc = dt_http_take_buf(resp, status, NULL, &b);
    dt_buf_release(&b);
    return rc;
}

/* ------------------------------------------------------------ GET status */

/* The historyEvents of inst in *out (NULL for a Pending instance: DF
 * shows none). */
static int
read_history(struct dt_app *app, struct dt_http_req *req, const struct durata_instance *inst,
             json_t **out)
{
    bool show_input = dt_http_query_bool(req, "showInput", true);
    bool show_output = dt_http_query_bool(req, "showHistoryOutput", false);
    struct durata_history *h;
    int rc;

    *out = NULL;
    if (inst->status == DURATA_PENDING)
        return 0;
    if ((rc = durata_get_history(app->hub, inst->id, &h)) < 0)
        return rc;
    rc = dt_df_history_json(h, show_input, show_output, out);
    durata_history_free(h);
    return rc;
}

/* 202 with Location (the request's own URL) and Retry-After: 5. */
static int
running_headers(struct dt_http_req *req, struct dt_http_resp *resp)
{
    char *url = dt_df_request_url(req);
    int rc;

    if (!url)
        return DURATA_ENOMEM;
    rc = dt_http_add_header(resp, "Location", url);
    free(url);
    if (rc == 0)
        rc = dt_http_add_header(resp, "Retry-After", "5");
    return rc;
}

static int
status_code(struct dt_http_req *req, const struct durata_instance *inst)
{
    if (!durata_status_is_terminal(inst->status))
        return 202;
    if (inst->status == DURATA_FAILED &&
        dt_http_query_bool(req, "returnInternalServerErrorOnFailure", false))
        return 500;
    return 200;
}

int
dt_df_get_status(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    struct durata_instance *inst = NULL;
    json_t *history = NULL;
    struct dt_buf b;
    int rc, status;

    if (!dt_df_id_ok(req, resp, &rc))
        return rc;
    rc = durata_get_status(app->hub, req->params[0], &inst);
    if (rc < 0)
        return dt_http_error_from(resp, rc, rc == DURATA_ENOTFOUND ? "no such instance" : NULL);
    if (dt_http_query_bool(req, "showHistory", false) &&
        (rc = read_history(app, req, inst, &history)) < 0) {
        rc = dt_http_error_from(resp, rc, rc == DURATA_ENOTFOUND ? "no such instance" : NULL);
        goto out;
    }
    status = status_code(req, inst);
    dt_buf_init(&b, 0);
    rc = dt_df_status_append(&b, inst, dt_http_query_bool(req, "showInput", true), history);
    if (rc == 0)
        rc = dt_http_take_buf(resp, status, NULL, &b);
    dt_buf_release(&b);
    if (rc == 0 && status == 202)
        rc = running_headers(req, resp);
out:
    json_decref(history);
    durata_instance_free(inst);
    return rc;
}

/* ------------------------------------------------------------ filters */

/* Adds the statuses named in one runtimeStatus value (a comma list;
 * unknown items are dropped, as DF does). */
static void
add_statuses(unsigned *set, const char *value)
{
    const char *p = value;

    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char item[32];

        while (n && isspace((unsigned char)*p))
            p++, n--;
        while (n && isspace((unsigned char)p[n - 1]))
            n--;
        if (n && n < sizeof(item)) {
            int s;
            memcpy(item, p, n);
            item[n] = '\0';
            if ((s = durata_status_parse(item)) >= 0)
                *set |= 1u << s;
        }
        if (!end)
            break;
        p = end + 1;
    }
}

static unsigned
status_filter(const struct dt_http_req *req)
{
    unsigned set = 0;

    for (size_t i = 0; i < req->n_query; i++)
        if (!strcasecmp(req->query[i].key, "runtimeStatus") && req->query[i].value)
            add_statuses(&set, req->query[i].value);
    return set;
}

/* A date parameter; false when absent or unparseable. */
static bool
query_time(const struct dt_http_req *req, const char *name, int64_t *ms)
{
    const char *v = dt_http_query(req, name);

    return v && *v && dt_time_parse(v, ms) == 0;
}

/* createdTimeFrom/To (both inclusive, as DF) into f. */
static void
time_filter(const struct dt_http_req *req, struct durata_filter *f)
{
    int64_t ms;

    if (query_time(req, "createdTimeFrom", &ms) && ms > 0)
        f->created_from_ms = ms;
    if (query_time(req, "createdTimeTo", &ms))
        f->created_to_ms = ms >= 0 && ms < INT64_MAX ? ms + 1 : 1; /* filter's bound: exclusive */
}

static size_t
top_param(const struct dt_http_req *req)
{
    const char *v = dt_http_query(req, "top");
    char *end;
    long n;

    if (!v)
        return DF_LIST_DEFAULT_TOP;
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || end == v || *end || n <= 0)
        return DF_LIST_DEFAULT_TOP;
    return n > DF_LIST_MAX_TOP ? DF_LIST_MAX_TOP : (size_t)n;
}

/* ------------------------------------------------------------ list */

/* The list's body: a JSON array of the page's status payloads. */
static int
list_body(const struct durata_page *p, bool show_input, struct dt_http_resp *resp)
{
    struct dt_buf b;
    int rc;

    dt_buf_init(&b, 0);
    rc = dt_buf_append(&b, "[", 1);
    for (size_t i = 0; i < p->count && rc == 0; i++)
        if (!i || (rc = dt_buf_append(&b, ",", 1)) == 0)
            rc = dt_df_status_append(&b, p->items[i], show_input, NULL);
    if (rc == 0 && (rc = dt_buf_append(&b, "]", 1)) == 0)
        rc = dt_http_take_buf(resp, 200, NULL, &b);
    dt_buf_release(&b);
    return rc;
}

int
dt_df_list(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    struct durata_filter f = {0};
    struct durata_page *page;
    const char *token = dt_http_header(req, "x-ms-continuation-token");
    int rc;

    while (token && isspace((unsigned char)*token))
        token++;
    f.statuses = status_filter(req);
    time_filter(req, &f);
    f.id_prefix = dt_http_query(req, "instanceIdPrefix");
    f.name = dt_http_query(req, "name");
    if (f.id_prefix && !*f.id_prefix)
        f.id_prefix = NULL;
    if (f.name && !*f.name)
        f.name = NULL;
    rc = durata_query(app->hub, &f, top_param(req), token && *token ? token : NULL, &page);
    if (rc == DURATA_EINVAL)
        return dt_http_error(resp, 400, "invalid_continuation_token",
                             "the continuation token is not one this server issued",
                             "x-ms-continuation-token");
    if (rc < 0)
        return dt_http_error_from(resp, rc, NULL);
    rc = list_body(page, dt_http_query_bool(req, "showInput", true), resp);
    /* The header is sent on every page, empty on the last one. libmicrohttpd
     * refuses an empty header value, so "empty" goes out as one space, which
     * HTTP parsers strip as optional whitespace (RFC 9110 5.5): clients read
     * "". */
    if (rc == 0)
        rc = dt_http_add_header(resp, "x-ms-continuation-token",
                                page->continuation ? page->continuation : " ");
    durata_page_free(page);
    return rc;
}

/* ------------------------------------------------------------ purge many */

static int
deleted_body(struct dt_http_resp *resp, int status, int64_t n)
{
    json_t *o = json_pack("{sI}", "instancesDeleted", (json_int_t)n);

    if (!o)
        return DURATA_ENOMEM;
    return dt_http_json(resp, status, o);
}

int
dt_df_purge_many(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    struct durata_filter f = {0};
    int64_t from, deleted = 0;
    int rc;

    if (!query_time(req, "createdTimeFrom", &from))
        return dt_http_error(resp, 400, "missing_created_time_from",
                             "purging many instances needs a createdTimeFrom date",
                             "createdTimeFrom");
    f.statuses = status_filter(req);
    time_filter(req, &f);
    rc = durata_purge_many(app->hub, &f, &deleted);
    if (rc < 0)
        return dt_http_error_from(resp, rc, NULL);
    if (deleted > 0) {
        char count[24];
        snprintf(count, sizeof(count), "%lld", (long long)deleted);
        dt_log(DT_LOG_INFO, "instances purged", "count", count, NULL);
    }
    return deleted_body(resp, deleted > 0 ? 200 : 404, deleted);
}
