/*
 * metrics.h — the server's Prometheus metrics: a registry of HTTP request
 * counters and latency histograms, plus the hub's state read at scrape
 * time, rendered in the text exposition format 0.0.4 by GET /metrics.
 *
 * Owns: struct dt_metrics (one per server, no globals: it hangs off
 * dt_app.metrics). HTTP series are keyed by (method, route pattern); the
 * route label is the route table's pattern ("/api/jobs/{id}"), never the
 * raw path, so label cardinality is bounded by the route tables. Methods
 * outside GET HEAD POST PUT DELETE PATCH OPTIONS are counted as "other"
 * (a client can send any token as a method).
 * Threading: dt_metrics_observe and dt_metrics_render may run on any
 * number of threads at once. Observation is lock-free once a series
 * exists (atomic counters); creating a series takes a mutex once.
 */
#ifndef DT_HTTP_METRICS_H
#define DT_HTTP_METRICS_H

#include "http/http.h"

#include <stddef.h>

/* The Content-Type of the exposition format (what Prometheus sends in its
 * Accept header and its client libraries answer). */
#define DT_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Most (method, route) series kept. Past it, observations are counted in
 * one series {method="other",route="overflow"} so a misuse (raw paths as
 * routes) cannot grow memory. The server's tables have about 40 routes. */
#define DT_METRICS_MAX_SERIES 256

struct dt_metrics;

/* Creates an empty registry. DURATA_ENOMEM. */
DURATA_MUST_CHECK int dt_metrics_new(struct dt_metrics **out);
/* Frees the registry; NULL is a no-op. No observe/render may run. */
void dt_metrics_free(struct dt_metrics *m);

/* Records one answered request: method is the request's method, route the
 * matched route's pattern (borrowed, copied on first use) or NULL for a
 * request that matched no route or was rejected before routing (label
 * "unmatched"); status is the answer's status (100..599; others are
 * ignored); seconds the time from the request's arrival to its answer
 * (negative or NaN counts as 0). m NULL is a no-op. */
void dt_metrics_observe(struct dt_metrics *m, const char *method, const char *route, int status,
                        double seconds);

/* Latency buckets of durata_http_request_duration_seconds, upper bounds in
 * seconds: 0.0005 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5
 * 10, then +Inf. */
#define DT_METRICS_BUCKETS 14

/*
 * Renders the exposition text into *out (malloc'd, NUL-terminated; the
 * caller frees it) and its length into *len. Families, in this order:
 *   durata_http_requests_total{method,route,code}          counter
 *   durata_http_request_duration_seconds{method,route}     histogram
 * and when hub is non-NULL:
 *   durata_store_up                        gauge: 1 when the counts below
 *                                          could be read, else 0
 *   durata_instances{status}               gauge, all 8 statuses
 *   durata_inbox_messages                  gauge (timers not yet due included)
 *   durata_activity_tasks                  gauge (queued or leased)
 *   durata_store_commits_total             counter (group commits)
 *   durata_store_commit_units_total        counter (write units committed)
 *   durata_store_commit_batch_max          gauge (most units in one commit)
 *   durata_orchestration_steps_total       counter
 *   durata_activity_executions_total       counter
 * HTTP series are sorted by route then method, codes ascending. m NULL
 * renders the hub families only. DURATA_ENOMEM.
 */
DURATA_MUST_CHECK int dt_metrics_render(struct dt_metrics *m, struct durata_hub *hub, char **out,
                                        size_t *len);

/* GET /metrics: renders app->metrics and app->hub. */
extern const struct dt_route dt_metrics_routes[];

#endif
