/*
 * start.c — a start answered once it is durable, without holding the
 * server's thread meanwhile (dt_http_start, see http.h).
 *
 * Owns: one struct start_wait per deferred start, from the handler's call
 * until the answer is built. On a libmicrohttpd thread the request is
 * deferred (dt_http_defer) and the instance started with
 * durata_start_async, whose callback (a hub thread) resumes it; elsewhere
 * (a worker thread, a test calling the handler, a stopping server) the
 * start simply waits in durata_start.
 * Threading: a start_wait is touched by the handler's thread, then by the
 * hub's callback, then by the thread that builds the answer, one at a
 * time (the resume orders them).
 */
#include "http/http.h"

#include <stdlib.h>
#include <string.h>

struct start_wait {
    struct dt_http_defer *defer;
    dt_http_started_fn answer;
    void *arg;
    char id[257];
};

/* The hub's report: the start is durable, or failed. Hub thread. */
static void
on_started(void *p, int rc, const char *instance_id)
{
    struct start_wait *w = p;

    if (rc == 0) { /* the server's hub keeps ids to 256 bytes (max_id_bytes) */
        size_t n = strnlen(instance_id, sizeof(w->id) - 1);
        memcpy(w->id, instance_id, n);
        w->id[n] = '\0';
    }
    dt_http_resume(w->defer, rc);
}

/* Builds the answer (dt_http_finish_fn; also the waiting path's end). */
static int
on_answer(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp, void *p, int rc)
{
    struct start_wait *w = p;

    (void)app;
    rc = w->answer(req, resp, rc, rc == 0 ? w->id : NULL, w->arg);
    free(w);
    return rc;
}

int
dt_http_start(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp,
              const struct durata_start_options *o, dt_http_started_fn answer, void *arg)
{
    struct start_wait *w = calloc(1, sizeof(*w));
    int rc;

    if (!w)
        return answer(req, resp, DURATA_ENOMEM, NULL, arg);
    w->answer = answer;
    w->arg = arg;
    w->defer = dt_http_defer(req, on_answer, w);
    if (!w->defer) {
        rc = durata_start(app->hub, o, w->id, sizeof(w->id));
        return on_answer(app, req, resp, w, rc);
    }
    rc = durata_start_async(app->hub, o, on_started, w);
    if (rc < 0)
        dt_http_resume(w->defer, rc);
    return DT_HTTP_DEFERRED;
}
