/*
 * job_accepted.h — the 202 answer to a job submission.
 *
 * Owns: nothing beyond a per-thread template (see job_accepted.c).
 * Threading: thread-safe.
 */
#ifndef DT_HTTP_JOB_ACCEPTED_H
#define DT_HTTP_JOB_ACCEPTED_H

#include "http/http.h"

/*
 * Fills resp with the 202 answer to the submission of job `id`: body
 * {"status":"accepted","job_id","status_url","id", then the Durable
 * Functions management URLs (statusQueryGetUri, ...)}, Location =
 * status_url, Retry-After, and Idempotent-Replayed: true when replayed.
 * status_url is base_url + "/api/jobs/" + id; the management URLs come
 * from df_api.c (dt_df_append_url) with taskHub=durata and
 * connection=Storage (a submission's own taskHub/connection parameters are
 * not echoed); all carry the request's key as `code` when it came in
 * `code` or x-functions-key. 0 or DURATA_ENOMEM.
 */
DURATA_MUST_CHECK int dt_job_accepted(struct dt_http_req *req, struct dt_http_resp *resp,
                                      const char *id, bool replayed);

#endif
