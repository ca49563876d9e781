/*
 * builtins.c — durata_register_builtins(): registers the built-in
 * orchestrations and activities on a hub.
 *
 * Registered names and their formats (documented in full at the top of the
 * file named):
 *  - orchestrator "AsyncJobOrchestrator" (asyncjob.c)
 *      in:  {"ThirdPartyJobId": string, "QueuedDuration": s,
 *            "InProgressDuration": s}
 *      out: {"ThirdPartyJobId": string, "status": "Completed"}
 *  - orchestrator "JobMonitor" (monitor.c)
 *      in:  {"jobId": string, "expireAt": ms-epoch, "pollIntervalMs": ms,
 *            "statusActivity": name}
 *      out: {"jobId": string, "status": "Expired" | <final status>}
 *  - activity "GetJobStatus" (monitor.c), bound to this hub
 *      in:  {"jobId": string}
 *      out: "Processing" | "Completed" | "Failed" | "Canceled" |
 *           "Terminated" | "NotFound"
 * Threading: call before durata_hub_start, like any registration.
 */
#include "workers/builtins.h"

int
durata_register_builtins(struct durata_hub *hub)
{
    int rc;

    if (!hub)
        return DURATA_EINVAL;
    rc = durata_register_orchestrator(hub, DT_ASYNCJOB_NAME, dt_asyncjob_orchestrator, NULL);
    if (rc < 0)
        return rc;
    rc = durata_register_orchestrator(hub, DT_MONITOR_NAME, dt_monitor_orchestrator, NULL);
    if (rc < 0)
        return rc;
    return durata_register_activity(hub, DT_GET_JOB_STATUS_NAME, dt_get_job_status_activity, hub);
}
