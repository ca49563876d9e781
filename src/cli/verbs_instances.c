/*
 * verbs_instances.c — `durata start|status|raise|terminate|suspend|resume|
 * rewind|purge|list`: the Durable Functions management API
 * (/runtime/webhooks/durabletask) from the command line.
 *
 * Owns: the requests of these verbs and their default output: start prints
 * only the instance id, status a summary (and the history with --history),
 * the control verbs one line, list a table (following
 * x-ms-continuation-token with --all). --json prints the server's body;
 * list --json prints one JSON array of every page read.
 * purge of an instance that has not ended deletes nothing (the server says
 * {"instancesDeleted":0}): that is exit 7, like any state conflict.
 * list checks --status names itself, because the server ignores unknown
 * ones (as Durable Functions does) and would list everything.
 * Threading: main thread only.
 */
#include "cli/verb.h"

#include "cli/output.h"

#include <stdlib.h>
#include <string.h>

#define INST_URL_MAX (64 * 1024)
#define INST_MAX_TOP 1000
#define INST_ALL_PAGE "1000"
#define INST_DETAIL_MAX 160

int
dt_verb_instance_path(struct dt_buf *b, const char *id, const char *suffix)
{
    return dt_client_id_path(b, DT_VERB_DF "/instances", id, suffix);
}

/* ------------------------------------------------------------ status output */

/* Appends " KEY=VALUE" (compact JSON, strings bare) for a member of ev. */
static int
detail_add(struct dt_buf *b, const json_t *ev, const char *key)
{
    const json_t *v = json_object_get(ev, key);
    char *text;
    int rc;

    if (!v || json_is_null(v))
        return 0;
    text = json_is_string(v) ? strdup(json_string_value(v)) : dt_out_json_text(v);
    if (!text)
        return DURATA_ENOMEM;
    rc = dt_buf_appendf(b, "%s%s=%s", b->len ? " " : "", key, text);
    free(text);
    return rc;
}

/* Cuts b to INST_DETAIL_MAX bytes (on a UTF-8 boundary) plus "...". */
static int
detail_cut(struct dt_buf *b)
{
    size_t n = INST_DETAIL_MAX;

    if (b->len <= INST_DETAIL_MAX)
        return 0;
    while (n > 0 && ((unsigned char)b->data[n] & 0xc0) == 0x80)
        n--;
    b->len = n;
    return dt_buf_appends(b, "...");
}

/* The DETAIL column of a history event: its function or event name, then
 * the members that say what happened. NULL on out of memory. */
static char *
event_detail(const json_t *ev)
{
    static const char *const keys[] = {"OrchestrationStatus", "FireAt", "Reason", "Result"};
    const char *type = dt_out_str(ev, "EventType");
    const char *name = dt_out_str(ev, "FunctionName");
    struct dt_buf b;
    int rc = 0;

    dt_buf_init(&b, 0);
    if (!name)
        name = dt_out_str(ev, "Name");
    if (name)
        rc = dt_buf_appends(&b, name);
    for (size_t i = 0; rc == 0 && i < sizeof(keys) / sizeof(keys[0]); i++)
        rc = detail_add(&b, ev, keys[i]);
    if (rc == 0 && type && (!strcmp(type, "EventRaised") || !strcmp(type, "ExecutionTerminated")))
        rc = detail_add(&b, ev, "Input");
    if (rc == 0)
        rc = detail_cut(&b);
    if (rc < 0) {
        dt_buf_release(&b);
        return NULL;
    }
    return dt_buf_detach(&b);
}

static void
print_history(const json_t *events)
{
    static const char *const heading[] = {"TIME", "EVENT", "DETAIL"};
    struct dt_table t;
    size_t i;
    json_t *ev;
    int rc = dt_table_init(&t, 3, heading);

    json_array_foreach(events, i, ev)
    {
        char *detail = event_detail(ev);
        const char *row[3] = {dt_out_str(ev, "Timestamp"), dt_out_str(ev, "EventType"), detail};

        if (rc == 0 && !detail)
            rc = DURATA_ENOMEM;
        if (rc == 0)
            rc = dt_table_add(&t, row);
        free(detail);
    }
    printf("\nhistory:\n");
    if (rc == 0)
        dt_table_print(&t, stdout);
    else
        fprintf(stderr, "durata: out of memory printing the history\n");
    dt_table_release(&t);
}

void
dt_verb_print_instance(const json_t *st)
{
    const json_t *history = json_object_get(st, "historyEvents");

    dt_out_field("instance", dt_out_str(st, "instanceId"));
    dt_out_field("name", dt_out_str(st, "name"));
    if (dt_out_str(st, "version"))
        dt_out_field("version", dt_out_str(st, "version"));
    dt_out_field("status", dt_out_str(st, "runtimeStatus"));
    dt_out_field("created", dt_out_str(st, "createdTime"));
    dt_out_field("updated", dt_out_str(st, "lastUpdatedTime"));
    dt_out_field_json("input", json_object_get(st, "input"));
    dt_out_field_json("custom status", json_object_get(st, "customStatus"));
    dt_out_field_json("output", json_object_get(st, "output"));
    if (json_is_array(history))
        print_history(history);
}

/* ------------------------------------------------------------ start */

/* POST .../orchestrators/NAME[/ID][?version=V] into b. */
static int
start_path(const struct dt_verb_args *a, struct dt_buf *b)
{
    int rc = dt_buf_appends(b, DT_VERB_DF "/orchestrators/");

    if (rc == 0)
        rc = dt_client_escape(b, a->pos[0]);
    if (rc == 0 && a->opt[DT_OPT_ID] && (rc = dt_buf_appends(b, "/")) == 0)
        rc = dt_client_escape(b, a->opt[DT_OPT_ID]);
    if (rc == 0)
        rc = dt_client_query(b, "version", a->opt[DT_OPT_VERSION]);
    return rc;
}

static int
inst_start(struct dt_client *c, const struct dt_verb_args *a)
{
    struct dt_client_resp r = {0};
    json_t *input = NULL, *answer = NULL;
    char *body = NULL;
    struct dt_buf path;
    int rc = DT_EXIT_OK;

    dt_buf_init(&path, INST_URL_MAX);
    if (a->opt[DT_OPT_ID] && !*a->opt[DT_OPT_ID])
        rc = dt_verb_bad_usage(a->verb, "--id cannot be empty");
    if (rc == DT_EXIT_OK && a->opt[DT_OPT_INPUT])
        rc = dt_verb_json_arg(a->verb, "input", a->opt[DT_OPT_INPUT], &input, &body);
    if (rc == DT_EXIT_OK && start_path(a, &path) < 0)
        rc = dt_verb_oom(a);
    if (rc == DT_EXIT_OK)
        rc = dt_client_expect(c, "POST", path.data, body, NULL, &r);
    if (rc == DT_EXIT_OK && a->json) {
        dt_out_raw(r.body, r.len);
    } else if (rc == DT_EXIT_OK) {
        if (!(answer = dt_client_json(c, &r)) || !dt_out_str(answer, "id"))
            rc = DT_EXIT_FAIL;
        else
            printf("%s\n", dt_out_str(answer, "id"));
    }
    json_decref(answer);
    json_decref(input);
    free(body);
    dt_client_resp_release(&r);
    dt_buf_release(&path);
    return rc;
}

/* ------------------------------------------------------------ status */

static int
inst_status(struct dt_client *c, const struct dt_verb_args *a)
{
    struct dt_client_resp r = {0};
    json_t *st = NULL;
    struct dt_buf path;
    int rc = DT_EXIT_OK;

    dt_buf_init(&path, INST_URL_MAX);
    if (dt_verb_instance_path(&path, a->pos[0], "") < 0 ||
        (a->opt[DT_OPT_HISTORY] && (dt_client_query(&path, "showHistory", "true") < 0 ||
                                    dt_client_query(&path, "showHistoryOutput", "true") < 0)))
        rc = dt_verb_oom(a);
    if (rc == DT_EXIT_OK)
        rc = dt_client_expect(c, "GET", path.data, NULL, NULL, &r);
    if (rc == DT_EXIT_OK && a->json)
        dt_out_raw(r.body, r.len);
    else if (rc == DT_EXIT_OK && !(st = dt_client_json(c, &r)))
        rc = DT_EXIT_FAIL;
    else if (rc == DT_EXIT_OK)
        dt_verb_print_instance(st);
    json_decref(st);
    dt_client_resp_release(&r);
    dt_buf_release(&path);
    return rc;
}

/* ------------------------------------------------------------ control */

/* POST .../instances/ID<suffix>[?reason=R] with body; on success prints
 * done + the id (or the server's body with --json). */
static int
inst_post(struct dt_client *c, const struct dt_verb_args *a, const char *suffix, const char *body,
          const char *done)
{
    struct dt_client_resp r = {0};
    struct dt_buf path;
    int rc = DT_EXIT_OK;

    dt_buf_init(&path, INST_URL_MAX);
    if (dt_verb_instance_path(&path, a->pos[0], suffix) < 0 ||
        dt_client_query(&path, "reason", a->opt[DT_OPT_REASON]) < 0)
        rc = dt_verb_oom(a);
    if (rc == DT_EXIT_OK)
        rc = dt_client_expect(c, "POST", path.data, body, NULL, &r);
    if (rc == DT_EXIT_OK && a->json) {
        dt_out_raw(r.body, r.len);
    } else if (rc == DT_EXIT_OK) {
        fputs(done, stdout);
        dt_out_text(stdout, a->pos[0]);
        fputc('\n', stdout);
    }
    dt_client_resp_release(&r);
    dt_buf_release(&path);
    return rc;
}

static int
inst_raise(struct dt_client *c, const struct dt_verb_args *a)
{
    json_t *data = NULL;
    char *text = NULL, *suffix = NULL, *done = NULL;
    struct dt_buf event;
    int rc = DT_EXIT_OK;

    dt_buf_init(&event, INST_URL_MAX);
    if (a->opt[DT_OPT_DATA])
        rc = dt_verb_json_arg(a->verb, "data", a->opt[DT_OPT_DATA], &data, &text);
    if (rc == DT_EXIT_OK && (dt_client_escape(&event, a->pos[1]) < 0 ||
                             !(suffix = dt_out_printf("/raiseEvent/%s", event.data)) ||
                             !(done = dt_out_printf("event %s raised: ", a->pos[1]))))
        rc = dt_verb_oom(a);
    /* The body is JSON even when empty (empty means null), and the API
     * wants the JSON content type either way. */
    if (rc == DT_EXIT_OK)
        rc = inst_post(c, a, suffix, text ? text : "", done);
    json_decref(data);
    free(text);
    free(suffix);
    free(done);
    dt_buf_release(&event);
    return rc;
}

static int
inst_terminate(struct dt_client *c, const struct dt_verb_args *a)
{
    return inst_post(c, a, "/terminate", NULL, "termination requested: ");
}

static int
inst_suspend(struct dt_client *c, const struct dt_verb_args *a)
{
    return inst_post(c, a, "/suspend", NULL, "suspend requested: ");
}

static int
inst_resume(struct dt_client *c, const struct dt_verb_args *a)
{
    return inst_post(c, a, "/resume", NULL, "resume requested: ");
}

static int
inst_rewind(struct dt_client *c, const struct dt_verb_args *a)
{
    return inst_post(c, a, "/rewind", NULL, "rewind requested: ");
}

/* ------------------------------------------------------------ purge */

static int
inst_purge(struct dt_client *c, const struct dt_verb_args *a)
{
    struct dt_client_resp r = {0};
    json_t *answer = NULL;
    struct dt_buf path;
    int rc = DT_EXIT_OK;

    dt_buf_init(&path, INST_URL_MAX);
    if (dt_verb_instance_path(&path, a->pos[0], "") < 0)
        rc = dt_verb_oom(a);
    if (rc == DT_EXIT_OK)
        rc = dt_client_expect(c, "DELETE", path.data, NULL, NULL, &r);
    if (rc == DT_EXIT_OK && !(answer = dt_client_json(c, &r)))
        rc = DT_EXIT_FAIL;
    if (rc == DT_EXIT_OK && a->json)
        dt_out_raw(r.body, r.len);
    if (rc == DT_EXIT_OK && json_integer_value(json_object_get(answer, "instancesDeleted")) < 1) {
        fprintf(stderr, "durata purge: ");
        dt_out_text(stderr, a->pos[0]);
        fprintf(stderr, " has not ended, so nothing was deleted (terminate it or wait first)\n");
        rc = DT_EXIT_CONFLICT;
    } else if (rc == DT_EXIT_OK && !a->json) {
        fputs("purged: ", stdout);
        dt_out_text(stdout, a->pos[0]);
        fputc('\n', stdout);
    }
    json_decref(answer);
    dt_client_resp_release(&r);
    dt_buf_release(&path);
    return rc;
}

/* ------------------------------------------------------------ list */

/* One --status item (n bytes at s) as a status, or -1 when unknown. */
static int
status_item(const char *s, size_t n)
{
    char item[32];

    if (n >= sizeof(item))
        return -1;
    memcpy(item, s, n);
    item[n] = '\0';
    return durata_status_parse(item);
}

/* --status as canonical names ("Running,Failed") in *out (malloc'd). */
static int
list_statuses(const struct dt_verb_args *a, char **out)
{
    const char *s = a->opt[DT_OPT_STATUS];
    struct dt_buf b;
    int rc = 0, st;

    *out = NULL;
    if (!s)
        return DT_EXIT_OK;
    dt_buf_init(&b, 0);
    for (;;) {
        size_t n = strcspn(s, ",");

        if ((st = status_item(s, n)) < 0) {
            dt_buf_release(&b);
            return dt_verb_bad_usage(a->verb,
                                     "unknown status '%.*s' in --status (use Pending, Running, "
                                     "Suspended, Completed, Failed, Terminated, Canceled or "
                                     "ContinuedAsNew)",
                                     (int)(n < 64 ? n : 64), s);
        }
        rc = dt_buf_appendf(&b, "%s%s", b.len ? "," : "",
                            durata_status_name((enum durata_status)st));
        if (rc < 0 || !s[n])
            break;
        s += n + 1;
    }
    if (rc < 0 || !(*out = dt_buf_detach(&b))) {
        dt_buf_release(&b);
        return dt_verb_oom(a);
    }
    return DT_EXIT_OK;
}

/* One page's path: filters and top. */
static int
list_path(const struct dt_verb_args *a, const char *statuses, struct dt_buf *b)
{
    const char *top = a->opt[DT_OPT_LIMIT];
    int rc;

    if (!top && a->opt[DT_OPT_ALL])
        top = INST_ALL_PAGE;
    if ((rc = dt_buf_appends(b, DT_VERB_DF "/instances")) < 0 ||
        (rc = dt_client_query(b, "runtimeStatus", statuses)) < 0 ||
        (rc = dt_client_query(b, "name", a->opt[DT_OPT_NAME])) < 0 ||
        (rc = dt_client_query(b, "instanceIdPrefix", a->opt[DT_OPT_PREFIX])) < 0)
        return rc;
    return dt_client_query(b, "top", top);
}

/* Reads pages into all (one page, or every page with --all); *more is set
 * when a page was left unread. Returns an exit code. */
static int
list_pages(struct dt_client *c, const struct dt_verb_args *a, const char *path, json_t *all,
           bool *more)
{
    struct dt_client_resp r = {0};
    char *token = NULL, *header = NULL;
    const char *headers[2] = {NULL, NULL};
    json_t *page = NULL;
    int rc;

    do {
        free(header);
        headers[0] = header = token ? dt_out_printf("x-ms-continuation-token: %s", token) : NULL;
        if (token && !header) {
            rc = dt_verb_oom(a);
            break;
        }
        dt_client_resp_release(&r);
        json_decref(page);
        page = NULL;
        if ((rc = dt_client_expect(c, "GET", path, NULL, headers, &r)) != DT_EXIT_OK)
            break;
        if (!(page = dt_client_json(c, &r)) || !json_is_array(page)) {
            fprintf(stderr, "durata %s: the server's answer is not a JSON array\n", a->verb->name);
            rc = DT_EXIT_FAIL;
            break;
        }
        json_array_extend(all, page);
        free(token);
        token = r.continuation; /* NULL on the last page */
        r.continuation = NULL;
    } while (token && a->opt[DT_OPT_ALL]);
    *more = token != NULL;
    free(token);
    free(header);
    json_decref(page);
    dt_client_resp_release(&r);
    return rc;
}

static int
print_instances_table(const struct dt_verb_args *a, const json_t *all)
{
    static const char *const heading[] = {"INSTANCE ID", "NAME", "STATUS", "CREATED", "UPDATED"};
    struct dt_table t;
    size_t i;
    json_t *st;
    int rc = dt_table_init(&t, 5, heading);

    json_array_foreach(all, i, st)
    {
        const char *row[5] = {dt_out_str(st, "instanceId"), dt_out_str(st, "name"),
                              dt_out_str(st, "runtimeStatus"), dt_out_str(st, "createdTime"),
                              dt_out_str(st, "lastUpdatedTime")};

        if (rc == 0)
            rc = dt_table_add(&t, row);
    }
    if (rc == 0 && dt_table_rows(&t) > 0)
        dt_table_print(&t, stdout);
    else if (rc == 0)
        fprintf(stderr, "no instances\n");
    dt_table_release(&t);
    return rc == 0 ? DT_EXIT_OK : dt_verb_oom(a);
}

static int
inst_list(struct dt_client *c, const struct dt_verb_args *a)
{
    json_t *all = json_array();
    char *statuses = NULL, *text;
    struct dt_buf path;
    long top = 0;
    bool more = false;
    int rc;

    dt_buf_init(&path, INST_URL_MAX);
    if ((rc = dt_verb_limit(a, INST_MAX_TOP, &top)) != DT_EXIT_OK ||
        (rc = list_statuses(a, &statuses)) != DT_EXIT_OK)
        goto out_free;
    if (!all || list_path(a, statuses, &path) < 0) {
        rc = dt_verb_oom(a);
        goto out_free;
    }
    if ((rc = list_pages(c, a, path.data, all, &more)) != DT_EXIT_OK)
        goto out_free;
    if (a->json && (text = json_dumps(all, JSON_COMPACT))) {
        printf("%s\n", text);
        free(text);
    } else if (a->json) {
        rc = dt_verb_oom(a);
    } else {
        rc = print_instances_table(a, all);
    }
    if (more)
        fprintf(stderr, "(more instances follow: --all lists every page)\n");
out_free:
    free(statuses);
    json_decref(all);
    dt_buf_release(&path);
    return rc;
}

/* ------------------------------------------------------------ the table */

#define REASON_HELP "\n  --reason R    why, recorded in the instance's history\n"

const struct dt_verb dt_instance_verbs[] = {
    {"start",
     "NAME [--id ID] [--input JSON|@FILE] [--version V]",
     "Start an orchestration; prints its instance id.",
     "\n"
     "  --id ID                the instance id (default: a new one)\n"
     "  --input JSON|@FILE     the orchestration's input, any JSON value (@FILE reads\n"
     "                         a file, @- stdin)\n"
     "  --version V            the orchestration version to record\n"
     "\n"
     "An id already used by an instance that has not ended is a conflict (7).\n",
     1,
     {"NAME"},
     DT_OPT_BIT(DT_OPT_ID) | DT_OPT_BIT(DT_OPT_INPUT) | DT_OPT_BIT(DT_OPT_VERSION),
     inst_start},
    {"status",
     "ID [--history]",
     "Show an instance's status, input, output.",
     "\n"
     "  --history     also print its history events (with their results)\n"
     "\n"
     "The instance's own outcome does not change the exit code (use `durata\n"
     "wait` for that).\n",
     1,
     {"ID"},
     DT_OPT_BIT(DT_OPT_HISTORY),
     inst_status},
    {"raise",
     "ID EVENT [--data JSON|@FILE]",
     "Send event EVENT to a running instance.",
     "\n"
     "  --data JSON|@FILE   the event's data (default null)\n"
     "\n"
     "An instance that has ended is a conflict (7).\n",
     2,
     {"ID", "EVENT"},
     DT_OPT_BIT(DT_OPT_DATA),
     inst_raise},
    {"terminate",
     "ID [--reason R]",
     "Terminate an instance that has not ended.",
     REASON_HELP "\nAn instance that has ended is a conflict (7).\n",
     1,
     {"ID"},
     DT_OPT_BIT(DT_OPT_REASON),
     inst_terminate},
    {"suspend",
     "ID [--reason R]",
     "Suspend a running instance.",
     REASON_HELP "\nAn instance already suspended, or ended, is a conflict (7).\n",
     1,
     {"ID"},
     DT_OPT_BIT(DT_OPT_REASON),
     inst_suspend},
    {"resume",
     "ID [--reason R]",
     "Resume a suspended instance.",
     REASON_HELP "\nAn instance that is not suspended is a conflict (7).\n",
     1,
     {"ID"},
     DT_OPT_BIT(DT_OPT_REASON),
     inst_resume},
    {"rewind",
     "ID [--reason R]",
     "Run a failed instance again from its failure.",
     REASON_HELP "\nAn instance that has not failed is a conflict (7).\n",
     1,
     {"ID"},
     DT_OPT_BIT(DT_OPT_REASON),
     inst_rewind},
    {"purge",
     "ID",
     "Delete the history of an instance that has ended.",
     "\nAn instance that has not ended keeps its history: that is a conflict (7).\n",
     1,
     {"ID"},
     0,
     inst_purge},
    {"list",
     "[--status S,...] [--name N] [--prefix P] [--limit N] [--all]",
     "List instances, oldest first.",
     "\n"
     "  --status S,...  Pending, Running, Suspended, Completed, Failed, Terminated,\n"
     "                  Canceled or ContinuedAsNew (any case; several separated by\n"
     "                  commas)\n"
     "  --name N        only instances of orchestration N\n"
     "  --prefix P      only instance ids starting with P\n"
     "  --limit N       instances per page, 1 to 1000 (default 100)\n"
     "  --all           follow the continuation token through every page\n"
     "\n"
     "Without --all, prints one page and says on stderr when more follow. --json\n"
     "prints one JSON array of the status payloads read.\n",
     0,
     {NULL},
     DT_OPT_BIT(DT_OPT_STATUS) | DT_OPT_BIT(DT_OPT_NAME) | DT_OPT_BIT(DT_OPT_PREFIX) |
         DT_OPT_BIT(DT_OPT_LIMIT) | DT_OPT_BIT(DT_OPT_ALL),
     inst_list},
    {NULL, NULL, NULL, NULL, 0, {NULL}, 0, NULL},
};
