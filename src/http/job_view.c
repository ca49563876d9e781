/*
 * job_view.c — the job view of GET /api/jobs/{id} and of the list, written
 * as text (see job_view.h).
 *
 * Owns: the mapping from an instance of the job orchestration to the view.
 * Values the view takes from stored JSON texts (input, custom status,
 * output) are spliced in without their whitespace when they are JSON (a
 * status poll then parses nothing); jansson is used only for what the
 * plain scanner cannot read (keys written with escapes, JSON nested deeper
 * than dt_json_check takes), so the view is what a jansson tree of the
 * same texts would give.
 * Threading: none (pure functions).
 */
#include "http/job_view.h"

#include "base/json.h"
#include "base/time.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char *
job_status_name(enum durata_status s)
{
    switch (s) {
    case DURATA_PENDING:
        return "pending";
    case DURATA_RUNNING:
    case DURATA_CONTINUED_AS_NEW:
        return "running";
    case DURATA_COMPLETED:
        return "completed";
    case DURATA_FAILED:
        return "failed";
    case DURATA_CANCELED:
    case DURATA_TERMINATED:
        return "cancelled";
    case DURATA_SUSPENDED:
        return "suspended";
    }
    return "unknown";
}

/* Members keys[0..n) of the object in JSON text `text`: raw[i] their
 * texts ({NULL, 0} when absent). When the plain scanner cannot read the
 * text (keys with escapes, JSON nested deeper than dt_json_check takes,
 * not an object), *tree is jansson's parse of it instead (NULL when it is
 * not JSON; the caller decrefs it) and raw is all absent. */
static void
members(const char *text, const char *const *keys, size_t n, struct dt_json_span *raw,
        json_t **tree)
{
    *tree = NULL;
    if (text && dt_json_check(text, 0) == 0 && dt_json_members(text, keys, n, raw) >= 0)
        return;
    for (size_t i = 0; i < n; i++)
        raw[i] = (struct dt_json_span){NULL, 0};
    if (text)
        *tree = dt_json_parse(text);
}

/* Appends member keys[i] as members() found it, when it is a string (its
 * literal), else null. */
static int
append_string_member(struct dt_buf *b, const struct dt_json_span *raw, const json_t *tree,
                     const char *key)
{
    const json_t *m = json_object_get(tree, key);

    if (tree)
        return json_is_string(m) ? dt_json_append_str(b, json_string_value(m))
                                 : dt_buf_append(b, "null", 4);
    if (raw->text && raw->text[0] == '"')
        return dt_buf_append(b, raw->text, raw->len);
    return dt_buf_append(b, "null", 4);
}

/* "attempts" of the job view: the custom status's "attempt" when it is an
 * integer, else 0. */
static long long
job_attempts(const char *custom_status)
{
    static const char *const key = "attempt";
    struct dt_json_span v;
    json_t *tree, *a;
    long long n = 0;
    char *end;

    members(custom_status, &key, 1, &v, &tree);
    if (tree) {
        a = json_object_get(tree, key);
        n = json_is_integer(a) ? (long long)json_integer_value(a) : 0;
        json_decref(tree);
        return n;
    }
    if (!v.text)
        return 0;
    n = strtoll(v.text, &end, 10);
    /* An integer is a number that ends without a fraction or exponent. */
    return end == v.text + v.len ? n : 0;
}

/* "error" of the job view: the failure, or why it was cancelled. */
static int
append_job_error(struct dt_buf *b, const struct durata_instance *inst)
{
    const struct durata_failure *f = inst->failure;
    int rc;

    if (inst->status == DURATA_FAILED) {
        if ((rc = dt_buf_appends(b, "{\"type\":")) < 0 ||
            (rc = dt_json_append_str(b, f ? f->error_type : "Failed")) < 0 ||
            (rc = dt_buf_appends(b, ",\"message\":")) < 0 ||
            (rc = dt_json_append_str(b, f ? f->message : NULL)) < 0 ||
            (rc = dt_buf_appends(b, ",\"details\":")) < 0 ||
            (rc = dt_json_append_str(b, f ? f->details : NULL)) < 0)
            return rc;
        return dt_buf_append(b, "}", 1);
    }
    if (inst->status != DURATA_TERMINATED && inst->status != DURATA_CANCELED)
        return dt_buf_append(b, "null", 4);
    if ((rc = dt_buf_appends(b, "{\"type\":\"Cancelled\",\"message\":")) < 0)
        return rc;
    /* The reason given, unless there is none or it is JSON but no string. */
    const char *reason = inst->output;
    if (!reason || (reason[strspn(reason, " \t\n\r")] != '"' && dt_json_is_value(reason)))
        rc = dt_buf_appends(b, "\"the job was cancelled\"");
    else
        rc = dt_json_append_stored(b, reason);
    return rc < 0 ? rc : dt_buf_append(b, "}", 1);
}

int
dt_job_view_append(struct dt_buf *b, const struct durata_instance *inst)
{
    static const char *const input_keys[] = {"job_type", "customer_id"};
    char created[DT_TIME_TEXT_MAX], updated[DT_TIME_TEXT_MAX];
    struct dt_json_span in[2];
    json_t *tree;
    int rc;

    dt_time_format_s(inst->created_ms, created, sizeof(created));
    dt_time_format_s(inst->updated_ms, updated, sizeof(updated));
    members(inst->input, input_keys, 2, in, &tree);
    rc = dt_buf_appends(b, "{\"job_id\":");
    if (rc == 0 && (rc = dt_json_append_str(b, inst->id)) == 0 &&
        (rc = dt_buf_appends(b, ",\"job_type\":")) == 0 &&
        (rc = append_string_member(b, &in[0], tree, input_keys[0])) == 0 &&
        (rc = dt_buf_appends(b, ",\"customer_id\":")) == 0)
        rc = append_string_member(b, &in[1], tree, input_keys[1]);
    json_decref(tree);
    if (rc < 0 || (rc = dt_buf_appends(b, ",\"status\":\"")) < 0 ||
        (rc = dt_buf_appends(b, job_status_name(inst->status))) < 0 ||
        (rc = dt_buf_appends(b, "\",\"custom_status\":")) < 0 ||
        (rc = dt_json_append_stored(b, inst->custom_status)) < 0 ||
        (rc = dt_buf_appends(b, ",\"result\":")) < 0 ||
        (rc = dt_json_append_stored(b, inst->status == DURATA_COMPLETED ? inst->output : NULL)) <
            0 ||
        (rc = dt_buf_appends(b, ",\"error\":")) < 0 || (rc = append_job_error(b, inst)) < 0)
        return rc;
    if ((rc = dt_buf_appends(b, ",\"attempts\":")) < 0 ||
        (rc = dt_buf_append_int(b, job_attempts(inst->custom_status))) < 0 ||
        (rc = dt_buf_appends(b, ",\"created_at\":\"")) < 0 ||
        (rc = dt_buf_appends(b, created)) < 0 ||
        (rc = dt_buf_appends(b, "\",\"updated_at\":\"")) < 0 ||
        (rc = dt_buf_appends(b, updated)) < 0)
        return rc;
    return dt_buf_append(b, "\"}", 2);
}
