/*
 * openapi.c — the OpenAPI 3.1 document (see openapi.h).
 *
 * The paths come from the route tables, so a route can never be served
 * without being documented (tests/e2e/test_jobs_openapi.c checks both
 * directions against the running server). What a table cannot say (query
 * parameters, bodies, responses) is written here, per (method, pattern),
 * as JSON fragments; a route without a fragment is still documented, with
 * its path parameters and a generic answer. Fragments are written with
 * single quotes for readability and turned into JSON by swapping every
 * ' for " (so no text in them may hold an apostrophe).
 * Patterns are compared the way the router matches: literal segments
 * case-insensitively, any capture matching any capture, a trailing slash
 * ignored.
 * Threading: no state.
 */
#include "http/openapi.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* clang-format off */
#define DF "/runtime/webhooks/durabletask"
#define JSON_OF(schema) "{'application/json':{'schema':" schema "}}"
#define REF(name) "{'$ref':'#/components/schemas/" name "'}"
#define RESP(name) "{'$ref':'#/components/responses/" name "'}"
#define PARAM(name) "{'$ref':'#/components/parameters/" name "'}"
#define QUERY(name, type, desc)                                                                    \
    "{'name':'" name "','in':'query','required':false,'schema':{'type':'" type "'},"             \
    "'description':'" desc "'}"
#define DF_COMMON PARAM("taskHub") "," PARAM("connection")
#define REASON QUERY("reason", "string", "Why; recorded in the history")
#define DF_CONTROL                                                                                 \
    "{'parameters':[" REASON "," DF_COMMON "],'responses':{"                                       \
    "'202':{'description':'Accepted (no body)'},'404':" RESP("NotFound") ","                       \
    "'409':" RESP("Conflict") ",'410':" RESP("Gone") "}}"
#define DF_START                                                                                   \
    "{'parameters':[" QUERY("timeout", "number",                                                   \
                            "Seconds to wait for completion (with pollingInterval)") ","           \
    QUERY("pollingInterval", "number", "Seconds between checks while waiting") ","                 \
    QUERY("version", "string", "Orchestration version, stored") ","                               \
    QUERY("scheduledStartTime", "string", "ISO 8601 time before which the instance stays Pending") \
    "," DF_COMMON "],"                                                                             \
    "'requestBody':{'required':false,'description':'The input: any JSON value (empty = null)',"   \
    "'content':" JSON_OF("{}") "},"                                                               \
    "'responses':{'202':" RESP("CheckStatus") ",'200':{'description':'Completed within the "       \
    "wait: the output, or the status payload when it ended otherwise','content':" JSON_OF("{}")    \
    "},'400':" RESP("BadRequest") ",'409':" RESP("Conflict") ",'413':" RESP("TooLarge") "}}"

#define ASYNCJOB_START                                                                             \
    "{'description':'Seed 002 (an Azure Functions HTTP trigger): starts AsyncJobOrchestrator "     \
    "under the instance id jobName with the input {ThirdPartyJobId (a new UUID), QueuedDuration, " \
    "InProgressDuration}, the durations taken from the server environment variables "             \
    "ASYNC_JOB_QUEUED_DURATION_SEC and ASYNC_JOB_INPROGRESS_DURATION_SEC (default 20 and 30 s). "  \
    "A finished job of that name is replaced. No body is read.',"                                  \
    "'responses':{'202':" RESP("CheckStatus") ",'400':" RESP("BadRequest") ","                     \
    "'409':" RESP("Conflict") ",'500':{'description':'The duration variables are not whole "       \
    "seconds','content':" JSON_OF(REF("Error")) "},'503':" RESP("Overloaded") "}}"

/* What the route tables cannot say, per route. */
static const struct {
    const char *method;
    const char *pattern;
    const char *tag;
    const char *fragment; /* single-quoted JSON: parameters, requestBody, responses */
} op_docs[] = {
    {"POST", "/api/jobs", "jobs",
     "{'parameters':[{'name':'Idempotency-Key','in':'header','required':false,"
     "'schema':{'type':'string','minLength':1,'maxLength':256},'description':'Retries with the "
     "same key and body return the same job; another body with the key is a 409'}],"
     "'requestBody':{'required':true,'content':" JSON_OF(REF("JobCreateRequest")) "},"
     "'responses':{'202':{'description':'Accepted; poll status_url (also in Location)',"
     "'headers':{'Location':{'schema':{'type':'string'}},'Retry-After':{'schema':{'type':"
     "'integer'}},'Idempotent-Replayed':{'schema':{'type':'string'},'description':'true when an "
     "Idempotency-Key returned an existing job'}},'content':" JSON_OF(REF("JobAccepted")) "},"
     "'400':" RESP("BadRequest") ",'409':" RESP("Conflict") ",'413':" RESP("TooLarge") ","
     "'415':" RESP("UnsupportedMediaType") ",'422':" RESP("Invalid") ",'503':" RESP("Overloaded")
     "}}"},
    {"GET", "/api/jobs", "jobs",
     "{'parameters':[" QUERY("status", "string", "Comma-separated: pending, running, completed, "
                             "failed, cancelled, suspended") ","
     QUERY("job_type", "string", "Only jobs of this type (matched on the rows read)") ","
     QUERY("customer_id", "string", "Only jobs of this customer (matched on the rows read)") ","
     "{'name':'limit','in':'query','required':false,'schema':{'type':'integer','minimum':1,"
     "'maximum':1000,'default':50},'description':'Most jobs per page'},"
     QUERY("cursor", "string", "next_cursor of the previous page") "],"
     "'responses':{'200':{'description':'A page; follow next_cursor until it is null (a "
     "filtered page may hold fewer jobs than limit)','content':" JSON_OF(REF("JobList")) "},"
     "'422':" RESP("Invalid") "}}"},
    {"GET", "/api/jobs/{id}", "jobs",
     "{'responses':{'200':{'description':'The job','content':" JSON_OF(REF("Job")) "},"
     "'400':" RESP("BadRequest") ",'404':" RESP("NotFound") "}}"},
    {"DELETE", "/api/jobs/{id}", "jobs",
     "{'parameters':[" REASON "],'responses':{'202':{'description':'Cancellation requested; the "
     "job shows cancelled once it lands','content':" JSON_OF(REF("JobActionAccepted")) "},"
     "'400':" RESP("BadRequest") ",'404':" RESP("NotFound") ",'409':" RESP("Conflict") ","
     "'422':" RESP("Invalid") "}}"},
    {"DELETE", "/api/jobs/{id}/history", "jobs",
     "{'responses':{'202':{'description':'History purged','content':"
     JSON_OF(REF("JobActionAccepted")) "},'400':" RESP("BadRequest") ","
     "'404':" RESP("NotFound") ",'409':" RESP("Conflict") "}}"},
    {"GET", "/api/job-start/{jobName}", "async-job", ASYNCJOB_START},
    {"POST", "/api/job-start/{jobName}", "async-job", ASYNCJOB_START},
    {"GET", "/api/openapi.json", "meta",
     "{'responses':{'200':{'description':'This document','content':" JSON_OF("{'type':'object'}")
     "}}}"},
    {"GET", "/healthz", "operations",
     "{'security':[],'responses':{'200':{'description':'The process answers','content':"
     JSON_OF(REF("Health")) "}}}"},
    {"GET", "/readyz", "operations",
     "{'security':[],'responses':{'200':{'description':'Serving','content':" JSON_OF(REF("Health"))
     "},'503':{'description':'Not ready (starting or draining)','content':" JSON_OF(REF("Health"))
     "}}}"},
    {"POST", DF "/orchestrators/{name}", "durable-functions", DF_START},
    {"POST", DF "/orchestrators/{name}/{id}", "durable-functions", DF_START},
    {"GET", DF "/instances", "durable-functions",
     "{'parameters':[" QUERY("runtimeStatus", "string", "Comma-separated runtime statuses") ","
     QUERY("createdTimeFrom", "string", "ISO 8601, inclusive") ","
     QUERY("createdTimeTo", "string", "ISO 8601, inclusive") ","
     QUERY("instanceIdPrefix", "string", "Only ids starting with this") ","
     QUERY("name", "string", "Only this orchestrator (durata extension)") ","
     QUERY("top", "integer", "Page size (default 100)") ","
     QUERY("showInput", "boolean", "Include inputs (default true)") ","
     "{'name':'x-ms-continuation-token','in':'header','required':false,'schema':{'type':"
     "'string'},'description':'The token of the previous page'}," DF_COMMON "],"
     "'responses':{'200':{'description':'A page of status payloads; the continuation header is "
     "empty on the last page','headers':{'x-ms-continuation-token':{'schema':{'type':"
     "'string'}}},'content':" JSON_OF("{'type':'array','items':" REF("InstanceStatus") "}") "},"
     "'400':" RESP("BadRequest") "}}"},
    {"DELETE", DF "/instances", "durable-functions",
     "{'parameters':[{'name':'createdTimeFrom','in':'query','required':true,'schema':{'type':"
     "'string'},'description':'ISO 8601, inclusive'},"
     QUERY("createdTimeTo", "string", "ISO 8601 (default now)") ","
     QUERY("runtimeStatus", "string", "Comma-separated terminal statuses") "," DF_COMMON "],"
     "'responses':{'200':" RESP("Purged") ",'400':" RESP("BadRequest") ","
     "'404':{'description':'Nothing matched'}}}"},
    {"GET", DF "/instances/{id}", "durable-functions",
     "{'parameters':[" QUERY("showHistory", "boolean", "Include historyEvents") ","
     QUERY("showHistoryOutput", "boolean", "Include outputs in historyEvents") ","
     QUERY("showInput", "boolean", "Include the input (default true)") ","
     QUERY("returnInternalServerErrorOnFailure", "boolean", "Answer 500 for Failed") ","
     DF_COMMON "],'responses':{"
     "'200':{'description':'Terminal','content':" JSON_OF(REF("InstanceStatus")) "},"
     "'202':{'description':'Not terminal yet; poll Location','headers':{'Location':{'schema':"
     "{'type':'string'}},'Retry-After':{'schema':{'type':'integer'}}},'content':"
     JSON_OF(REF("InstanceStatus")) "},'400':" RESP("BadRequest") ","
     "'404':{'description':'No such instance (no body)'},"
     "'500':{'description':'Failed, with returnInternalServerErrorOnFailure','content':"
     JSON_OF(REF("InstanceStatus")) "}}}"},
    {"DELETE", DF "/instances/{id}", "durable-functions",
     "{'parameters':[" DF_COMMON "],'responses':{'200':" RESP("Purged") ","
     "'400':" RESP("BadRequest") ",'404':{'description':'No such instance (no body)'}}}"},
    {"POST", DF "/instances/{id}/raiseEvent/{event}", "durable-functions",
     "{'parameters':[" DF_COMMON "],'requestBody':{'required':true,'description':'The event "
     "data (Content-Type application/json)','content':" JSON_OF("{}") "},"
     "'responses':{'202':{'description':'Accepted (no body)'},'400':" RESP("BadRequest") ","
     "'404':" RESP("NotFound") ",'410':" RESP("Gone") ",'413':" RESP("TooLarge") "}}"},
    {"POST", DF "/instances/{id}/terminate", "durable-functions", DF_CONTROL},
    {"POST", DF "/instances/{id}/suspend", "durable-functions", DF_CONTROL},
    {"POST", DF "/instances/{id}/resume", "durable-functions", DF_CONTROL},
    {"POST", DF "/instances/{id}/rewind", "durable-functions", DF_CONTROL},
    {"POST", DF "/instances/{id}/restart", "durable-functions",
     "{'parameters':[" QUERY("restartWithNewInstanceId", "boolean", "A new id (default true)") ","
     QUERY("timeout", "number", "Seconds to wait for completion (with pollingInterval)") ","
     QUERY("pollingInterval", "number", "Seconds between checks while waiting") "," DF_COMMON "],"
     "'responses':{'202':" RESP("CheckStatus") ",'200':{'description':'Completed within the "
     "wait','content':" JSON_OF("{}") "},'400':" RESP("BadRequest") ","
     "'409':" RESP("Conflict") "}}"},
};

#define ERROR_RESP(desc) "{'description':'" desc "','content':" JSON_OF(REF("Error")) "}"
#define URI "{'type':'string','format':'uri'}"
#define NULLABLE_ANY "{'description':'Any JSON value or null'}"

/* The components object, in pieces (C17 caps a literal at 4095 chars):
 * each is a member `name` of section `section`. */
static const struct {
    const char *section;
    const char *name;
    const char *text;
} component_parts[] = {
    {"schemas", "FieldError",
     "{'type':'object','required':['field','message'],'properties':{"
     "'field':{'type':'string'},'message':{'type':'string'}}}"},
    {"schemas", "Error",
     "{'type':'object','required':['error'],'properties':{'error':{'type':'object',"
     "'required':['code','message'],'properties':{'code':{'type':'string'},"
     "'message':{'type':'string'},'field':{'type':'string'},"
     "'fields':{'type':'array','items':" REF("FieldError") "}}}}}"},
    {"schemas", "JobCreateRequest",
     "{'type':'object','required':['job_type'],'additionalProperties':false,"
     "'properties':{'job_type':{'type':'string','description':'A configured job type'},"
     "'customer_id':{'type':['string','null'],'maxLength':256},"
     "'payload':{'type':['object','null'],'description':'Handed to the job handler; at most "
     "262144 bytes as compact JSON and 62 levels deep'}}}"},
    {"schemas", "JobAccepted",
     "{'type':'object','required':['status','job_id','status_url'],'properties':{"
     "'status':{'const':'accepted'},'job_id':{'type':'string'},'status_url':" URI ","
     "'id':{'type':'string'},'statusQueryGetUri':" URI ",'sendEventPostUri':{'type':'string'},"
     "'terminatePostUri':{'type':'string'},'purgeHistoryDeleteUri':" URI ","
     "'restartPostUri':" URI ",'suspendPostUri':{'type':'string'},"
     "'resumePostUri':{'type':'string'}}}"},
    {"schemas", "JobError",
     "{'type':'object','properties':{'type':{'type':'string'},"
     "'message':{'type':['string','null']},'details':{'type':['string','null']}}}"},
    {"schemas", "Job",
     "{'type':'object','required':['job_id','job_type','customer_id','status',"
     "'custom_status','result','error','attempts','created_at','updated_at'],'properties':{"
     "'job_id':{'type':'string'},'job_type':{'type':['string','null']},"
     "'customer_id':{'type':['string','null']},'status':{'type':'string','enum':['pending',"
     "'running','completed','failed','cancelled','suspended']},'custom_status':" NULLABLE_ANY ","
     "'result':" NULLABLE_ANY ",'error':{'oneOf':[" REF("JobError") ",{'type':'null'}]},"
     "'attempts':{'type':'integer','minimum':0},"
     "'created_at':{'type':'string','format':'date-time'},"
     "'updated_at':{'type':'string','format':'date-time'}}}"},
    {"schemas", "JobList",
     "{'type':'object','required':['jobs','next_cursor'],'properties':{"
     "'jobs':{'type':'array','items':" REF("Job") "},'next_cursor':{'type':['string','null']}}}"},
    {"schemas", "JobActionAccepted",
     "{'type':'object','required':['status','job_id'],'properties':{"
     "'status':{'type':'string','enum':['cancellation-requested','purge-requested']},"
     "'job_id':{'type':'string'}}}"},
    {"schemas", "CheckStatus",
     "{'type':'object','required':['id','statusQueryGetUri'],'properties':{"
     "'id':{'type':'string'},'statusQueryGetUri':" URI ",'sendEventPostUri':{'type':'string'},"
     "'terminatePostUri':{'type':'string'},'purgeHistoryDeleteUri':" URI ","
     "'restartPostUri':" URI ",'suspendPostUri':{'type':'string'},"
     "'resumePostUri':{'type':'string'}}}"},
    {"schemas", "InstanceStatus",
     "{'type':'object','required':['name','instanceId','runtimeStatus','input',"
     "'customStatus','output','createdTime','lastUpdatedTime'],'properties':{"
     "'name':{'type':'string'},'instanceId':{'type':'string'},'runtimeStatus':{'type':'string',"
     "'enum':['Running','Completed','ContinuedAsNew','Failed','Canceled','Terminated','Pending',"
     "'Suspended']},'input':" NULLABLE_ANY ",'customStatus':" NULLABLE_ANY ","
     "'output':" NULLABLE_ANY ",'createdTime':{'type':'string','format':'date-time'},"
     "'lastUpdatedTime':{'type':'string','format':'date-time'},"
     "'historyEvents':{'type':'array','items':{'type':'object'}}}}"},
    {"schemas", "PurgeResult",
     "{'type':'object','required':['instancesDeleted'],'properties':{"
     "'instancesDeleted':{'type':'integer','minimum':0}}}"},
    {"schemas", "Health",
     "{'type':'object','required':['status'],'properties':{'status':{'type':'string'}}}"},
    {"responses", "BadRequest", ERROR_RESP("Malformed request (JSON, id, parameter)")},
    {"responses", "NotFound", ERROR_RESP("No such resource")},
    {"responses", "Conflict", ERROR_RESP("Conflicts with the current state")},
    {"responses", "Gone", "{'description':'The instance has ended (Durable Functions semantics)'}"},
    {"responses", "TooLarge", ERROR_RESP("Over a size limit")},
    {"responses", "UnsupportedMediaType", ERROR_RESP("The body is not JSON")},
    {"responses", "Invalid", ERROR_RESP("Invalid values; error.fields names every bad field")},
    {"responses", "Overloaded", ERROR_RESP("Overloaded; retry after Retry-After")},
    {"responses", "CheckStatus",
     "{'description':'Accepted: the management URLs; Location is statusQueryGetUri',"
     "'headers':{'Location':{'schema':{'type':'string'}},'Retry-After':"
     "{'schema':{'type':'integer'}}},'content':" JSON_OF(REF("CheckStatus")) "}"},
    {"responses", "Purged", "{'description':'Deleted','content':" JSON_OF(REF("PurgeResult")) "}"},
    {"responses", "Error", ERROR_RESP("An error")},
    {"parameters", "taskHub",
     "{'name':'taskHub','in':'query','required':false,'schema':{'type':'string'},"
     "'description':'Accepted for compatibility; durata serves one hub'}"},
    {"parameters", "connection",
     "{'name':'connection','in':'query','required':false,'schema':{'type':'string'},"
     "'description':'Accepted for compatibility'}"},
    {"securitySchemes", "functionsKey", "{'type':'apiKey','in':'header','name':'x-functions-key'}"},
    {"securitySchemes", "code", "{'type':'apiKey','in':'query','name':'code'}"},
    {"securitySchemes", "bearer", "{'type':'http','scheme':'bearer'}"},
};

/* clang-format on */

/* Parses single-quoted JSON text (see the file comment). */
static json_t *
squoted_parse(const char *text)
{
    char *copy = strdup(text);
    json_t *v = NULL;

    if (!copy)
        return NULL;
    for (char *p = copy; *p; p++)
        if (*p == '\'')
            *p = '"';
    v = json_loads(copy, 0, NULL);
    free(copy);
    return v;
}

/* ------------------------------------------------------------ patterns */

/* Length of the pattern without one trailing slash. */
static size_t
pattern_len(const char *p)
{
    size_t n = strlen(p);

    return n > 1 && p[n - 1] == '/' ? n - 1 : n;
}

/* Length of the segment at p, at most max. */
static size_t
segment_len(const char *p, size_t max)
{
    size_t n = strcspn(p, "/");

    return n < max ? n : max;
}

/* true when patterns a and b match the same paths (see the file comment). */
static bool
patterns_agree(const char *a, const char *b)
{
    size_t na = pattern_len(a), nb = pattern_len(b), i = 0, j = 0;

    for (;;) {
        size_t la = segment_len(a + i, na - i), lb = segment_len(b + j, nb - j);
        bool captures = la > 0 && lb > 0 && a[i] == '{' && b[j] == '{';

        if (!captures && (la != lb || strncasecmp(a + i, b + j, la) != 0))
            return false;
        i += la;
        j += lb;
        if (i >= na || j >= nb)
            return i >= na && j >= nb;
        i++; /* the '/' */
        j++;
    }
}

static int
find_doc(const struct dt_route *r)
{
    for (size_t i = 0; i < sizeof(op_docs) / sizeof(op_docs[0]); i++)
        if (strcmp(op_docs[i].method, r->method) == 0 &&
            patterns_agree(op_docs[i].pattern, r->pattern))
            return (int)i;
    return -1;
}

/* The OpenAPI path of a pattern: the pattern without a trailing slash. */
static char *
openapi_path(const char *pattern)
{
    return strndup(pattern, pattern_len(pattern));
}

static const char *
param_description(const char *name, size_t len)
{
    if (len == 2 && strncmp(name, "id", 2) == 0)
        return "Instance id (a job id is one)";
    if (len == 4 && strncmp(name, "name", 4) == 0)
        return "Orchestrator name";
    if (len == 5 && strncmp(name, "event", 5) == 0)
        return "Event name";
    if (len == 7 && strncmp(name, "jobName", 7) == 0)
        return "Job name: the instance id (instance id rules apply)";
    return "Path segment";
}

/* Path parameters of pattern, in order, prepended to params (an array). */
static int
add_path_params(const char *pattern, json_t *params)
{
    size_t at = 0;

    for (const char *p = strchr(pattern, '{'); p; p = strchr(p + 1, '{')) {
        const char *end = strchr(p, '}');
        json_t *prm;

        if (!end)
            break;
        prm = json_pack("{s:s#, s:s, s:b, s:{s:s}, s:s}", "name", p + 1, (int)(end - p - 1), "in",
                        "path", "required", 1, "schema", "type", "string", "description",
                        param_description(p + 1, (size_t)(end - p - 1)));
        if (!prm || json_array_insert_new(params, at++, prm) < 0)
            return DURATA_ENOMEM;
    }
    return 0;
}

/* ------------------------------------------------------------ document */

/* operationId: the method and the pattern's words, e.g.
 * "delete_api_jobs_id_history". */
static char *
operation_id(const struct dt_route *r)
{
    size_t n = strlen(r->method) + strlen(r->pattern) + 2, o = 0;
    char *id = malloc(n);

    if (!id)
        return NULL;
    for (const char *p = r->method; *p; p++)
        id[o++] = (char)tolower((unsigned char)*p);
    for (const char *p = r->pattern; *p; p++) {
        if (isalnum((unsigned char)*p))
            id[o++] = *p;
        else if (o > 0 && id[o - 1] != '_' && *p != '}')
            id[o++] = '_';
    }
    while (o > 0 && id[o - 1] == '_')
        o--;
    id[o] = '\0';
    return id;
}

static const char *
route_tag(const struct dt_route *r, int doc)
{
    if (doc >= 0)
        return op_docs[doc].tag;
    if (strncasecmp(r->pattern, DF "/", strlen(DF "/")) == 0)
        return "durable-functions";
    if (strncasecmp(r->pattern, "/api/", 5) == 0)
        return "jobs";
    return "operations";
}

/* The operation object of route r. */
static json_t *
operation(const struct dt_route *r)
{
    int doc = find_doc(r);
    json_t *op = doc >= 0 ? squoted_parse(op_docs[doc].fragment)
                          : squoted_parse("{'responses':{'default':" RESP("Error") "}}");
    json_t *params = json_object_get(op, "parameters");
    char *id = operation_id(r);
    bool ok = op && id;

    if (ok && !params) {
        params = json_array();
        ok = params && json_object_set_new(op, "parameters", params) == 0;
    }
    ok = ok && add_path_params(r->pattern, params) == 0 &&
         json_object_set_new(op, "operationId", json_string(id)) == 0 &&
         json_object_set_new(op, "summary", json_string(r->summary ? r->summary : "")) == 0 &&
         json_object_set_new(op, "tags", json_pack("[s]", route_tag(r, doc))) == 0;
    free(id);
    if (ok && json_array_size(params) == 0)
        json_object_del(op, "parameters");
    if (!ok) {
        json_decref(op);
        return NULL;
    }
    return op;
}

/* Adds route r to paths (the first route of a method and path wins, as
 * the router's table order does). */
static int
add_route(json_t *paths, const struct dt_route *r)
{
    char *path = openapi_path(r->pattern), method[16];
    json_t *item, *op;
    size_t i;
    int rc = DURATA_ENOMEM;

    if (!path)
        return DURATA_ENOMEM;
    for (i = 0; r->method[i] && i + 1 < sizeof(method); i++)
        method[i] = (char)tolower((unsigned char)r->method[i]);
    method[i] = '\0';
    item = json_object_get(paths, path);
    if (!item && (!(item = json_object()) || json_object_set_new(paths, path, item) < 0))
        goto out_free_path;
    rc = 0;
    if (json_object_get(item, method))
        goto out_free_path;
    rc = DURATA_ENOMEM;
    if ((op = operation(r)) && json_object_set_new(item, method, op) == 0)
        rc = 0;
out_free_path:
    free(path);
    return rc;
}

/* Adds the enum of the app's job types to JobCreateRequest.job_type. */
static bool
add_job_type_enum(json_t *c, const char *const *job_types)
{
    json_t *req = json_object_get(json_object_get(c, "schemas"), "JobCreateRequest");
    json_t *jt = json_object_get(json_object_get(req, "properties"), "job_type");
    json_t *names;
    bool ok;

    if (!jt)
        return false;
    if (!job_types || !job_types[0])
        return true;
    names = json_array();
    ok = names && json_object_set_new(jt, "enum", names) == 0;
    for (const char *const *t = job_types; ok && *t; t++)
        ok = json_array_append_new(names, json_string(*t)) == 0;
    return ok;
}

/* The components object. */
static json_t *
components(const char *const *job_types)
{
    json_t *c = json_object(), *section, *v;
    bool ok = c != NULL;

    for (size_t i = 0; ok && i < sizeof(component_parts) / sizeof(component_parts[0]); i++) {
        section = json_object_get(c, component_parts[i].section);
        if (!section && (!(section = json_object()) ||
                         json_object_set_new(c, component_parts[i].section, section) < 0)) {
            ok = false;
            break;
        }
        v = squoted_parse(component_parts[i].text);
        ok = v && json_object_set_new(section, component_parts[i].name, v) == 0;
    }
    if (!ok || !add_job_type_enum(c, job_types)) {
        json_decref(c);
        return NULL;
    }
    return c;
}

static json_t *
document_head(const char *base_url, const char *const *job_types, bool with_keys)
{
    json_t *doc = json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:o, "
        "s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}",
        "openapi", "3.1.0", "info", "title", "durata", "version", "0.1.0", "description",
        "A durable task hub: the Durable Functions HTTP management API and a job API. Errors are "
        "{\"error\":{\"code\",\"message\",\"field\"?}}.",
        "components", components(job_types), "tags", "name", "jobs", "description",
        "The job API (seeds 000, 001)", "name", "durable-functions", "description",
        "Durable Functions management API", "name", "async-job", "description",
        "The HTTP trigger of seed 002 (AsyncJob)", "name", "operations", "description",
        "Health and readiness", "name", "meta", "description", "This document");

    if (doc && base_url && *base_url &&
        json_object_set_new(doc, "servers", json_pack("[{s:s}]", "url", base_url)) < 0) {
        json_decref(doc);
        return NULL;
    }
    if (doc && with_keys &&
        json_object_set_new(
            doc, "security",
            json_pack("[{s:[]}, {s:[]}, {s:[]}]", "functionsKey", "code", "bearer")) < 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

json_t *
dt_openapi_document(const struct dt_route *const *tables, const char *base_url,
                    const char *const *job_types, bool with_keys)
{
    json_t *doc = document_head(base_url, job_types, with_keys), *paths = json_object();

    if (!doc || !paths || json_object_set(doc, "paths", paths) < 0)
        goto out_fail;
    for (size_t t = 0; tables && tables[t]; t++)
        for (const struct dt_route *r = tables[t]; r->method; r++)
            if (add_route(paths, r) < 0)
                goto out_fail;
    json_decref(paths);
    return doc;
out_fail:
    json_decref(paths);
    json_decref(doc);
    return NULL;
}

int
dt_openapi_get(struct dt_app *app, struct dt_http_req *req, struct dt_http_resp *resp)
{
    bool keys = app->config && app->config->api_keys && app->config->api_keys[0];
    json_t *doc = dt_openapi_document(app->routes, req->base_url, app->job_types, keys);

    return doc ? dt_http_json(resp, 200, doc) : DURATA_ENOMEM;
}
