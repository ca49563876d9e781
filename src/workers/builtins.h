/*
 * builtins.h — the built-in orchestrations and activities of the workers
 * module, as functions durata_register_builtins() (builtins.c) registers.
 *
 * Owns: the names under which the built-ins are registered and the entry
 * points of asyncjob.c and monitor.c. The input and output formats are
 * documented at the top of those files.
 * Threading: orchestrators run on the hub's orchestration threads, the
 * activity on its activity threads; none of them keeps state between calls.
 */
#ifndef DT_WORKERS_BUILTINS_H
#define DT_WORKERS_BUILTINS_H

#include "durata.h"

#define DT_ASYNCJOB_NAME "AsyncJobOrchestrator"
#define DT_MONITOR_NAME "JobMonitor"
#define DT_GET_JOB_STATUS_NAME "GetJobStatus"

/* Seed 002: Queued -> InProgress -> Completed through two durable timers.
 * arg is unused. */
enum durata_orch_result dt_asyncjob_orchestrator(struct durata_orch *o, void *arg);

/* Seed 003: polls a status activity on a durable timer, continuing as new
 * after each poll, until the status leaves "Processing" or expireAt passes.
 * arg is unused. */
enum durata_orch_result dt_monitor_orchestrator(struct durata_orch *o, void *arg);

/* The default status activity of the monitor: the status of the durata
 * instance named by the job id. arg is the struct durata_hub * to query. */
void dt_get_job_status_activity(struct durata_activity *a, void *arg);

#endif
