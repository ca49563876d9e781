/*
 * verbs_jobs.c — `durata jobs submit|get|cancel|purge|list`: the job API
 * (/api/jobs) from the command line.
 *
 * Owns: the requests of these verbs and their default output: submit
 * prints only the job id (id=$(durata jobs submit echo) works), get a
 * summary, cancel and purge one line, list a table (following next_cursor
 * with --all). --json prints the server's body instead; list --all --json
 * prints every page's jobs as one {"jobs":[...],"next_cursor":null}.
 * Threading: main thread only.
 */
#include "cli/verb.h"

#include "cli/output.h"

#include "base/json.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JOBS_PATH "/api/jobs"
#define JOBS_MAX_LIMIT 1000
#define JOBS_ALL_PAGE "1000"
#define JOBS_URL_MAX (64 * 1024)

/* ------------------------------------------------------------ submit */

/* The submission body; *body malloc'd. Returns an exit code. */
static int
submit_body(const struct dt_verb_args *a, char **body)
{
    char *type = dt_json_quote(a->pos[0]), *customer = NULL, *payload = NULL;
    json_t *parsed = NULL;
    int rc = DT_EXIT_OK;

    *body = NULL;
    if (a->opt[DT_OPT_PAYLOAD]) {
        rc = dt_verb_json_arg(a->verb, "payload", a->opt[DT_OPT_PAYLOAD], &parsed, &payload);
        if (rc == DT_EXIT_OK && !json_is_object(parsed) && !json_is_null(parsed))
            rc = dt_verb_bad_usage(a->verb, "--payload must be a JSON object");
    }
    if (a->opt[DT_OPT_CUSTOMER] && !(customer = dt_json_quote(a->opt[DT_OPT_CUSTOMER])))
        rc = dt_verb_oom(a);
    if (rc == DT_EXIT_OK && !type)
        rc = dt_verb_oom(a);
    if (rc == DT_EXIT_OK &&
        !(*body = dt_out_printf("{\"job_type\":%s%s%s%s%s}", type,
                                customer ? ",\"customer_id\":" : "", customer ? customer : "",
                                payload ? ",\"payload\":" : "", payload ? payload : "")))
        rc = dt_verb_oom(a);
    json_decref(parsed);
    free(payload);
    free(customer);
    free(type);
    return rc;
}

static int
jobs_submit(struct dt_client *c, const struct dt_verb_args *a)
{
    const char *key = a->opt[DT_OPT_IDEM_KEY];
    const char *headers[2] = {NULL, NULL};
    struct dt_client_resp r = {0};
    char *body = NULL, *idem = NULL;
    json_t *answer = NULL;
    int rc;

    if (key && (!*key || !dt_client_header_safe(key)))
        return dt_verb_bad_usage(a->verb, "--idempotency-key must be non-empty text without "
                                          "control characters");
    if ((rc = submit_body(a, &body)) != DT_EXIT_OK)
        return rc;
    if (key && !(headers[0] = idem = dt_out_printf("Idempotency-Key: %s", key))) {
        rc = dt_verb_oom(a);
        goto out_free;
    }
    rc = dt_client_expect(c, "POST", JOBS_PATH, body, headers, &r);
    if (rc == DT_EXIT_OK && a->json) {
        dt_out_raw(r.body, r.len);
    } else if (rc == DT_EXIT_OK) {
        if (!(answer = dt_client_json(c, &r)) || !dt_out_str(answer, "job_id"))
            rc = DT_EXIT_FAIL;
        else
            printf("%s\n", dt_out_str(answer, "job_id"));
    }
out_free:
    json_decref(answer);
    dt_client_resp_release(&r);
    free(idem);
    free(body);
    return rc;
}

/* ------------------------------------------------------------ get */

static void
print_job(const json_t *job)
{
    const json_t *err = json_object_get(job, "error");
    char attempts[32];

    snprintf(attempts, sizeof(attempts), "%lld",
             (long long)json_integer_value(json_object_get(job, "attempts")));
    dt_out_field("job_id", dt_out_str(job, "job_id"));
    dt_out_field("job_type", dt_out_str(job, "job_type"));
    dt_out_field("customer_id", dt_out_str(job, "customer_id"));
    dt_out_field("status", dt_out_str(job, "status"));
    dt_out_field("attempts", attempts);
    dt_out_field("created_at", dt_out_str(job, "created_at"));
    dt_out_field("updated_at", dt_out_str(job, "updated_at"));
    dt_out_field_json("custom_status", json_object_get(job, "custom_status"));
    dt_out_field_json("result", json_object_get(job, "result"));
    if (json_is_object(err)) {
        char *line =
            dt_out_printf("%s: %s", dt_out_str(err, "type") ? dt_out_str(err, "type") : "Error",
                          dt_out_str(err, "message") ? dt_out_str(err, "message") : "");
        dt_out_field("error", line ? line : dt_out_str(err, "message"));
        free(line);
        if (dt_out_str(err, "details"))
            dt_out_field("details", dt_out_str(err, "details"));
    } else {
        dt_out_field("error", NULL);
    }
}

static int
jobs_get(struct dt_client *c, const struct dt_verb_args *a)
{
    struct dt_client_resp r = {0};
    json_t *job = NULL;
    struct dt_buf path;
    int rc;

    dt_buf_init(&path, JOBS_URL_MAX);
    if (dt_client_id_path(&path, JOBS_PATH, a->pos[0], "") < 0) {
        rc = dt_verb_oom(a);
        goto out_free;
    }
    rc = dt_client_expect(c, "GET", path.data, NULL, NULL, &r);
    if (rc == DT_EXIT_OK && a->json)
        dt_out_raw(r.body, r.len);
    else if (rc == DT_EXIT_OK && !(job = dt_client_json(c, &r)))
        rc = DT_EXIT_FAIL;
    else if (rc == DT_EXIT_OK)
        print_job(job);
out_free:
    json_decref(job);
    dt_client_resp_release(&r);
    dt_buf_release(&path);
    return rc;
}

/* ------------------------------------------------------------ cancel, purge */

/* DELETE path; prints `done` and the id, or the body with --json. */
static int
jobs_delete(struct dt_client *c, const struct dt_verb_args *a, const char *suffix, const char *done)
{
    struct dt_client_resp r = {0};
    struct dt_buf path;
    int rc;

    dt_buf_init(&path, JOBS_URL_MAX);
    if (dt_client_id_path(&path, JOBS_PATH, a->pos[0], suffix) < 0 ||
        dt_client_query(&path, "reason", a->opt[DT_OPT_REASON]) < 0) {
        rc = dt_verb_oom(a);
        goto out_free;
    }
    rc = dt_client_expect(c, "DELETE", path.data, NULL, NULL, &r);
    if (rc == DT_EXIT_OK && a->json) {
        dt_out_raw(r.body, r.len);
    } else if (rc == DT_EXIT_OK) {
        fputs(done, stdout);
        dt_out_text(stdout, a->pos[0]);
        fputc('\n', stdout);
    }
out_free:
    dt_client_resp_release(&r);
    dt_buf_release(&path);
    return rc;
}

static int
jobs_cancel(struct dt_client *c, const struct dt_verb_args *a)
{
    return jobs_delete(c, a, "", "cancellation requested: ");
}

static int
jobs_purge(struct dt_client *c, const struct dt_verb_args *a)
{
    return jobs_delete(c, a, "/history", "purged: ");
}

/* ------------------------------------------------------------ list */

/* true when every item of the comma list s is a job state (any case). */
static bool
job_states_ok(const char *s)
{
    static const char *const states[] = {"pending",   "running",  "completed", "failed",
                                         "cancelled", "canceled", "suspended"};

    for (;;) {
        size_t n = strcspn(s, ",");
        bool known = false;

        for (size_t i = 0; i < sizeof(states) / sizeof(states[0]) && !known; i++)
            known = strlen(states[i]) == n && strncasecmp(states[i], s, n) == 0;
        if (!known)
            return false;
        if (!s[n])
            return true;
        s += n + 1;
    }
}

/* The path of one page of the list. */
static int
list_path(const struct dt_verb_args *a, const char *cursor, struct dt_buf *b)
{
    const char *limit = a->opt[DT_OPT_LIMIT];
    int rc;

    if (!limit && a->opt[DT_OPT_ALL])
        limit = JOBS_ALL_PAGE;
    dt_buf_reset(b);
    if ((rc = dt_buf_appends(b, JOBS_PATH)) < 0 ||
        (rc = dt_client_query(b, "status", a->opt[DT_OPT_STATUS])) < 0 ||
        (rc = dt_client_query(b, "job_type", a->opt[DT_OPT_TYPE])) < 0 ||
        (rc = dt_client_query(b, "customer_id", a->opt[DT_OPT_CUSTOMER])) < 0 ||
        (rc = dt_client_query(b, "limit", limit)) < 0)
        return rc;
    return dt_client_query(b, "cursor", cursor);
}

/* Reads pages into jobs (one page, or every page with --all); *next is
 * the cursor of the first page left unread (malloc'd), or NULL. Returns an
 * exit code. */
static int
list_pages(struct dt_client *c, const struct dt_verb_args *a, json_t *jobs, char **next)
{
    struct dt_client_resp r = {0};
    json_t *page = NULL;
    char *cursor = NULL;
    struct dt_buf path;
    int rc;

    dt_buf_init(&path, JOBS_URL_MAX);
    do {
        if (list_path(a, cursor, &path) < 0) {
            rc = dt_verb_oom(a);
            break;
        }
        dt_client_resp_release(&r);
        json_decref(page);
        page = NULL;
        if ((rc = dt_client_expect(c, "GET", path.data, NULL, NULL, &r)) != DT_EXIT_OK)
            break;
        if (!(page = dt_client_json(c, &r)) || !json_is_array(json_object_get(page, "jobs"))) {
            fprintf(stderr, "durata %s: the server's answer has no jobs array\n", a->verb->name);
            rc = DT_EXIT_FAIL;
            break;
        }
        json_array_extend(jobs, json_object_get(page, "jobs"));
        free(cursor);
        cursor = dt_strdup_opt(dt_out_str(page, "next_cursor"));
    } while (cursor && a->opt[DT_OPT_ALL]);
    *next = cursor;
    json_decref(page);
    dt_client_resp_release(&r);
    dt_buf_release(&path);
    return rc;
}

static int
print_jobs_table(const struct dt_verb_args *a, const json_t *jobs)
{
    static const char *const heading[] = {"JOB ID",   "STATUS",   "TYPE",
                                          "CUSTOMER", "ATTEMPTS", "CREATED"};
    struct dt_table t;
    size_t i;
    json_t *j;
    int rc = dt_table_init(&t, 6, heading);

    json_array_foreach(jobs, i, j)
    {
        char attempts[32];
        const char *row[6] = {dt_out_str(j, "job_id"),
                              dt_out_str(j, "status"),
                              dt_out_str(j, "job_type"),
                              dt_out_str(j, "customer_id"),
                              attempts,
                              dt_out_str(j, "created_at")};

        snprintf(attempts, sizeof(attempts), "%lld",
                 (long long)json_integer_value(json_object_get(j, "attempts")));
        if (rc == 0)
            rc = dt_table_add(&t, row);
    }
    if (rc == 0 && dt_table_rows(&t) > 0)
        dt_table_print(&t, stdout);
    else if (rc == 0)
        fprintf(stderr, "no jobs\n");
    dt_table_release(&t);
    return rc == 0 ? DT_EXIT_OK : dt_verb_oom(a);
}

static int
jobs_list(struct dt_client *c, const struct dt_verb_args *a)
{
    json_t *jobs = json_array(), *all = NULL;
    char *text, *next = NULL;
    long limit = 0;
    int rc;

    if ((rc = dt_verb_limit(a, JOBS_MAX_LIMIT, &limit)) != DT_EXIT_OK)
        goto out_free;
    if (a->opt[DT_OPT_STATUS] && !job_states_ok(a->opt[DT_OPT_STATUS])) {
        rc = dt_verb_bad_usage(a->verb,
                               "--status wants pending, running, completed, failed, cancelled or "
                               "suspended (comma-separated), not '%s'",
                               a->opt[DT_OPT_STATUS]);
        goto out_free;
    }
    if (!jobs) {
        rc = dt_verb_oom(a);
        goto out_free;
    }
    if ((rc = list_pages(c, a, jobs, &next)) != DT_EXIT_OK)
        goto out_free;
    if (a->json) {
        all = json_pack("{s:O, s:s?}", "jobs", jobs, "next_cursor", next);
        if (!all || !(text = json_dumps(all, JSON_COMPACT))) {
            rc = dt_verb_oom(a);
            goto out_free;
        }
        printf("%s\n", text);
        free(text);
    } else {
        rc = print_jobs_table(a, jobs);
    }
    if (next && !a->json)
        fprintf(stderr, "(more jobs follow: --all lists every page)\n");
out_free:
    free(next);
    json_decref(all);
    json_decref(jobs);
    return rc;
}

/* ------------------------------------------------------------ the table */

const struct dt_verb dt_jobs_verbs[] = {
    {"jobs submit",
     "TYPE [--customer ID] [--payload JSON|@FILE] [--idempotency-key K]",
     "Submit a job of type TYPE; prints its id.",
     "\n"
     "  --customer ID          the customer the job is for (customer_id)\n"
     "  --payload JSON|@FILE   the job's payload, a JSON object (@FILE reads a file,\n"
     "                         @- stdin)\n"
     "  --idempotency-key K    retrying with the same key and body returns the same\n"
     "                         job; the same key with another body is a conflict (7)\n"
     "\n"
     "Prints the job id on stdout, so scripts can capture it:\n"
     "  id=$(durata jobs submit echo --payload '{\"hello\":\"world\"}')\n",
     1,
     {"TYPE"},
     DT_OPT_BIT(DT_OPT_CUSTOMER) | DT_OPT_BIT(DT_OPT_PAYLOAD) | DT_OPT_BIT(DT_OPT_IDEM_KEY),
     jobs_submit},
    {"jobs get",
     "ID",
     "Show a job: status, attempts, result or error.",
     "\n"
     "Prints one line per field; the job's own outcome does not change the exit\n"
     "code (use `durata wait` for that).\n",
     1,
     {"ID"},
     0,
     jobs_get},
    {"jobs cancel",
     "ID [--reason R]",
     "Cancel a job that has not ended.",
     "\n"
     "  --reason R    why, kept as the job's error message\n"
     "\n"
     "The job shows \"cancelled\" once the cancellation lands. A job that has\n"
     "already ended is a conflict (exit 7).\n",
     1,
     {"ID"},
     DT_OPT_BIT(DT_OPT_REASON),
     jobs_cancel},
    {"jobs purge",
     "ID",
     "Delete the history of a job that has ended.",
     "\n"
     "A job that has not ended is a conflict (exit 7): cancel it or wait first.\n",
     1,
     {"ID"},
     0,
     jobs_purge},
    {"jobs list",
     "[--status S] [--type T] [--customer C] [--limit N] [--all]",
     "List jobs, oldest first.",
     "\n"
     "  --status S     pending, running, completed, failed, cancelled or suspended\n"
     "                 (several separated by commas)\n"
     "  --type T       only jobs of this type\n"
     "  --customer C   only jobs of this customer\n"
     "  --limit N      jobs per page, 1 to 1000 (default 50)\n"
     "  --all          follow next_cursor through every page\n"
     "\n"
     "Without --all, prints one page and says on stderr when more follow. With\n"
     "--json, prints {\"jobs\":[...],\"next_cursor\":...} as the server does (every\n"
     "page's jobs with --all, next_cursor then null).\n",
     0,
     {NULL},
     DT_OPT_BIT(DT_OPT_STATUS) | DT_OPT_BIT(DT_OPT_TYPE) | DT_OPT_BIT(DT_OPT_CUSTOMER) |
         DT_OPT_BIT(DT_OPT_LIMIT) | DT_OPT_BIT(DT_OPT_ALL),
     jobs_list},
    {NULL, NULL, NULL, NULL, 0, {NULL}, 0, NULL},
};
