/*
 * df.h — internals shared by the files of the Durable Functions management
 * API (df_api.c, df_control.c, df_status.c, df_history.c). Not for other
 * modules: they see only dt_df_routes (http.h).
 *
 * Owns: the handlers the route table in df_api.c points at, the
 * management-URL builder, and the JSON shapes of spec sections 1.2 and 3.2
 * (status payload, reshaped history).
 * Threading: plain functions; everything here runs on the request's thread.
 */
#ifndef DT_HTTP_DF_H
#define DT_HTTP_DF_H

#include "http/http.h"

#include <jansson.h>
#include <stdbool.h>

/* The webhook base path every DF route lives under. */
#define DT_DF_BASE "/runtime/webhooks/durabletask"

/* Longest instance id the API accepts (spec 2.1; the hub's default). */
#define DT_DF_MAX_ID 256

/* ------------------------------------------------------------ df_api.c */

/* The 202 check-status response of spec 1.14 for instance id: body with
 * the management URLs, Location = statusQueryGetUri, Retry-After: 10. */
DURATA_MUST_CHECK int dt_df_accepted(struct dt_http_req *req, struct dt_http_resp *resp,
                                     const char *id);
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
/* The status payload of spec 1.2 (without historyEvents); input is null
 * when show_input is false. NULL on out of memory. */
json_t *dt_df_status_json(const struct durata_instance *inst, bool show_input);
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
