/*
 * job_view.h — the job view: what GET /api/jobs/{id} answers and the list
 * holds for each job.
 *
 * Owns: nothing; writes into the caller's buffer.
 * Threading: thread-safe (no state).
 */
#ifndef DT_HTTP_JOB_VIEW_H
#define DT_HTTP_JOB_VIEW_H

#include "durata.h"

#include "base/buf.h"

/*
 * Appends {"job_id","job_type","customer_id","status","custom_status",
 * "result","error","attempts","created_at","updated_at"} for inst, an
 * instance of the job orchestration:
 *   job_type, customer_id: the input's members when they are strings, else
 *     null;
 *   status: pending, running (Running, ContinuedAsNew), completed, failed,
 *     cancelled (Terminated, Canceled) or suspended;
 *   custom_status, result (completed jobs only, else null): the stored text
 *     as a value when it is JSON, as a string when not, null when absent;
 *   error: {"type","message","details"} of the failure for a failed job
 *     (type "Failed" without one); {"type":"Cancelled","message"} for a
 *     cancelled one, with the reason when it was a string (or a text that
 *     is not JSON), else "the job was cancelled"; null otherwise;
 *   attempts: the custom status's "attempt" when it is an integer, else 0;
 *   created_at, updated_at: UTC, seconds ("YYYY-MM-DDTHH:MM:SSZ").
 * Strings that are not UTF-8 are written with '?' for their bytes past
 * ASCII. 0, DURATA_ENOMEM or DURATA_ETOOBIG (b's cap).
 */
DURATA_MUST_CHECK int dt_job_view_append(struct dt_buf *b, const struct durata_instance *inst);

#endif
