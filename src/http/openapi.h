/*
 * openapi.h — the OpenAPI 3.1 document of the server (openapi.c), served
 * at GET /api/openapi.json from dt_jobs_routes.
 *
 * Owns: generating the document from route tables: one path per route
 * pattern, one operation per method, path parameters from the pattern's
 * captures, the route's summary, and hand-written parameters, bodies and
 * responses for the routes it knows (job API, Durable Functions API,
 * operations); other routes get a generic description.
 * Threading: no state; safe from any thread.
 */
#ifndef DT_HTTP_OPENAPI_H
#define DT_HTTP_OPENAPI_H

#include "http/http.h"

#include <jansson.h>

/* The document for `tables` (a NULL-terminated list of {NULL}-terminated
 * route tables). base_url (may be NULL) becomes the server URL; job_types
 * (NULL-terminated, may be NULL) the enum of job_type; with_keys adds the
 * API-key security schemes as a requirement. NULL on out of memory. */
json_t *dt_openapi_document(const struct dt_route *const *tables, const char *base_url,
                            const char *const *job_types, bool with_keys);

/* GET /api/openapi.json: the document of app's routes. */
int dt_openapi_get(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp);

#endif
