/*
 * ops.c — operations routes: GET /healthz (the process answers) and
 * GET /readyz (the server accepts work: app->ready is set once serving
 * starts and cleared when draining).
 *
 * Owns: nothing; reads app->ready, which another thread sets, with an
 * atomic load. Both routes are exempt from API keys (server.c), so load
 * balancers and orchestrators can probe them.
 * Threading: handlers run on the server's threads.
 */
#include "http/http.h"

static int
ops_healthz(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    (void)app;
    (void)req;
    return dt_http_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

static int
ops_readyz(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    int rc;

    (void)req;
    if (__atomic_load_n(&app->ready, __ATOMIC_ACQUIRE))
        return dt_http_json(resp, 200, json_pack("{s:s}", "status", "ready"));
    rc = dt_http_json(resp, 503, json_pack("{s:s}", "status", "not ready"));
    if (rc == 0)
        rc = dt_http_add_header(resp, "Retry-After", "1");
    return rc;
}

const struct dt_route dt_ops_routes[] = {
    {"GET", "/healthz", ops_healthz, "Liveness: 200 {\"status\":\"ok\"} while the process runs",
     false},
    {"GET", "/readyz", ops_readyz,
     "Readiness: 200 {\"status\":\"ready\"} when serving, else 503 with Retry-After", false},
    {NULL, NULL, NULL, NULL, false},
};
