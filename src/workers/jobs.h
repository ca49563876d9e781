/*
 * jobs.h — job types and the built-in job orchestration behind /api/jobs.
 *
 * Owns: the job orchestration ("durata.Job"): its input is the job
 * {"job_type": string, "customer_id": string|null, "payload": object|null};
 * it sets custom status {"state":"running","jobType":<type>}, calls the job
 * type's handler (activity "job:<type>") with
 * {"job_id","job_type","customer_id","payload","attempt"} under the type's
 * retry policy, and completes with the handler's result (or fails with its
 * failure). Also the built-in demo job types: "echo" (returns the payload),
 * "sleep" (payload {"ms": n}, sleeps n ms, honours cancellation), "fail"
 * (always fails, non-retriable unless payload {"retriable": true}) and
 * "thumbnail" (seed 001: returns {"artifactUrl": "https://example.invalid/jobs/<job_id>.json"}).
 * Command-backed types (a program reading the job on stdin) are built by
 * workers/jobconfig.h into the same struct dt_job_type.
 * State: none in the process. The job types a hub runs live in the
 * caller's struct dt_job_set, which dt_jobs_register hands to the hub as
 * the job orchestration's registration argument, so one process can run
 * several hubs with different job types.
 * Threading: registration before durata_hub_start; the set and its types
 * must outlive the hub and stay unchanged while it runs (orchestration
 * threads read them without a lock).
 */
#ifndef DT_WORKERS_JOBS_H
#define DT_WORKERS_JOBS_H

#include "durata.h"

#include <stddef.h>

#define DT_JOB_ORCHESTRATOR "durata.Job"

struct dt_job_type {
    const char *name;
    durata_activity_fn handler; /* a built-in C handler */
    void *handler_arg;
    struct durata_retry_policy retry; /* max_attempts 0 = no retry */
};

/* The demo types (echo, sleep, fail, thumbnail); static storage. */
const struct dt_job_type *dt_jobs_demo_types(size_t *n);

/* The job types of one hub, as the job orchestration looks them up by
 * name. Caller storage, borrowed by dt_jobs_register (see Threading). */
struct dt_job_set {
    const struct dt_job_type *types;
    size_t n;
};

/* Registers the job orchestration (its argument: set) and one activity
 * "job:<name>" per type of set. Returns 0; DURATA_EINVAL when hub or set
 * is NULL, types is NULL with n > 0, or a type is invalid (no handler, a
 * name empty or over 128 bytes or given twice, a retry policy out of
 * range); DURATA_EBUSY once the hub has started; DURATA_ENOMEM. set must
 * stay valid and unchanged while the hub lives. */
DURATA_MUST_CHECK int dt_jobs_register(struct durata_hub *hub, const struct dt_job_set *set);

#endif
