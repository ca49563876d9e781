/*
 * df.h — internals shared by the files of the Durable Functions management
 * API (df_api.c, df_control.c, df_status.c, df_history.c), and the
 * management-URL builder, which jobs_api.c uses as well (a job's 202
 * carries the same URLs). Not for other modules: they see only
 * dt_df_routes (http.h).
 *
 * Owns: the handlers the route table in df_api.c points at, the
 * management-URL builder, and the JSON shapes of spec sections 1.2 and 3.2
 * (status payload, reshaped history).
 * Threading: plain functions; everything here runs on the request's thread.
 */
#ifndef DT_HTTP_DF_H
#define DT_HTTP_DF_H

#include "base/buf.h"
#include "http/http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The webhook base path every DF route lives under. */
#define DT_DF_BASE "/runtime/webhooks/durabletask"

/* Longest instance id the API accepts (spec 2.1; the hub's default). */
#define DT_DF_MAX_ID 256

/* ------------------------------------------------------------ df_api.c */

/* The management URLs of the check-status payload (spec 1.14), in the
 * order Durable Functions emits them: statusQueryGetUri, sendEventPostUri,
 * terminatePostUri, purgeHistoryDeleteUri, restartPostUri, suspendPostUri,
 * resumePostUri. */
#define DT_DF_URL_COUNT 7

/* The JSON field name of management URL i; NULL when i >= DT_DF_URL_COUNT. */
const char *dt_df_url_field(size_t i);
/* What the management URLs of one instance share, built once for all of
 * them (dt_df_urls_init; release with dt_df_urls_release):
 *   instance: req->base_url + DT_DF_BASE "/instances/" + id percent-encoded
 *   query:    "taskHub=H&connection=C" + "&code=<key>" when
 *             dt_df_request_key finds one.
 * H and C are the request's taskHub and connection query parameters when
 * hub_from_query and they are non-empty, else "durata" and "Storage"; every
 * value is percent-encoded. The text needs no JSON escaping: base_url holds
 * only authority characters (the server builds it), the rest is constant
 * or percent-encoded. Returns 0, DURATA_EINVAL (id NULL), DURATA_ENOMEM or
 * DURATA_ETOOBIG (past DF_URL_MAX). */
struct dt_df_urls {
    struct dt_buf instance;
    struct dt_buf query;
};
DURATA_MUST_CHECK int dt_df_urls_init(struct dt_df_urls *u, const struct dt_http_req *req,
                                      const char *id, bool hub_from_query);
void dt_df_urls_release(struct dt_df_urls *u);
/* Appends management URL i (< DT_DF_URL_COUNT) to b: u's instance + the
 * URL's path ("/raiseEvent/{eventName}", "/terminate", ... or "") + "?" +
 * "reason={text}&" (terminate, suspend, resume) + u's query. Returns 0,
 * DURATA_EINVAL (i out of range), DURATA_ENOMEM, or DURATA_ETOOBIG at b's
 * cap (b may then hold part of it). */
DURATA_MUST_CHECK int dt_df_append_url(struct dt_buf *b, const struct dt_df_urls *u, size_t i);
/* Appends s percent-encoded: every byte but RFC 3986's unreserved
 * characters (and '/' when keep_slash) as %XX. 0, DURATA_ENOMEM or
 * DURATA_ETOOBIG. */
DURATA_MUST_CHECK int dt_df_append_encoded(struct dt_buf *b, const char *s, bool keep_slash);
/* The API key the request carried where Durable Functions takes it from
 * for generated URLs (query parameter `code`, else header
 * x-functions-key), or NULL when neither is there and non-empty. */
const char *dt_df_request_key(const struct dt_http_req *req);

/* The 202 check-status response of spec 1.14 for instance id: body with
 * the management URLs, Location = statusQueryGetUri, Retry-After: 10;
 * hub_from_query as for dt_df_urls_init. */
DURATA_MUST_CHECK int dt_df_accepted(const struct dt_http_req *req, struct dt_http_resp *resp,
                                     const char *id, bool hub_from_query);
/* The URL the request was made to (base_url + encoded path + query), for
 * the Location header of a 202 status answer. NULL on out of memory. */
char *dt_df_request_url(const struct dt_http_req *req);
/* Checks the instance id in req->params[0]; on a bad id fills resp with a
 * 400 and returns false, with *rc = what building that response returned
 * (the handler's return value). *rc = 0 when the id is fine. */
bool dt_df_id_ok(const struct dt_http_req *req, struct dt_http_resp *resp, int *rc);

/* ------------------------------------------------------------ df_status.c */

/* A JSON string of s; bytes of text that is not UTF-8 become '?'. NULL
 * when s is NULL or on out of memory. */
json_t *dt_df_string(const char *s);
/* A stored JSON text as a value: NULL -> null; text that is not JSON ->
 * a JSON string of it (spec 1.2). NULL only on out of memory. */
json_t *dt_df_value(const char *text);
/* Appends the status payload of spec 1.2 as text: name, instanceId,
 * runtimeStatus, input (null when show_input is false), customStatus,
 * output (a failed instance's failure as "Type: message" when it has no
 * output), createdTime, lastUpdatedTime, version (when set), then
 * historyEvents when history is not NULL. Stored texts are spliced in as
 * dt_json_append_stored writes them. 0, DURATA_ENOMEM or DURATA_ETOOBIG. */
DURATA_MUST_CHECK int dt_df_status_append(struct dt_buf *b, const struct durata_instance *inst,
                                          bool show_input, const json_t *history);
/* Fills resp with the status payload of inst and status code `status`. */
DURATA_MUST_CHECK int dt_df_status_resp(struct dt_http_resp *resp, int status,
                                        const struct durata_instance *inst, bool show_input);

int dt_df_get_status(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp);
int dt_df_list(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp);
int dt_df_purge_many(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp);

/* ------------------------------------------------------------ df_history.c */

/* Reshapes a history as Durable Functions returns it with showHistory=true
 * (spec 3.2) into a new JSON array in *out. Returns 0, DURATA_ENOMEM, or
 * DURATA_ECORRUPT when an event's JSON cannot be read. */
DURATA_MUST_CHECK int dt_df_history_json(const struct durata_history *h, bool show_input,
                                         bool show_output, json_t **out);

/* ------------------------------------------------------------ df_control.c */

int dt_df_raise_event(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp);
int dt_df_terminate(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp);
int dt_df_suspend(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp);
int dt_df_resume(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp);
int dt_df_rewind(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp);
int dt_df_purge_one(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp);

#endif
