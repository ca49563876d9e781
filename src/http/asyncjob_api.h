/*
 * asyncjob_api.h — the route table of seed 002's HTTP trigger
 * (asyncjob_api.c): GET or POST /api/job-start/{jobName} starts the
 * built-in "AsyncJobOrchestrator" under the instance id jobName.
 *
 * Owns: only the declaration of the table, so the server (cli/serve.c)
 * can list it in dt_app.routes next to the tables http.h declares.
 * Threading: the table is read-only; see asyncjob_api.c for the handler.
 */
#ifndef DT_HTTP_ASYNCJOB_API_H
#define DT_HTTP_ASYNCJOB_API_H

#include "http/http.h"

/* The AsyncJob trigger's routes, ending with a {NULL} entry. */
extern const struct dt_route dt_asyncjob_routes[];

#endif
