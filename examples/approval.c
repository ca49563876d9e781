/*
 * approval.c — human interaction: an orchestrator asks for approval, then
 * waits for an external event "Approval" with a deadline; if nobody answers
 * in time it escalates.
 *
 * Run:  ./approval [store.db]      (default ./example.db, deleted first)
 * It runs two instances:
 *   "approval-granted": main raises the "Approval" event while the instance
 *                       waits, so it completes with "approved";
 *   "approval-timeout": nobody answers within 300 ms, so it escalates and
 *                       completes with "escalated".
 * Exit: 0 when both end as described.
 *
 * The replay model: the orchestrator is called again from the top at each
 * step, with the history recorded so far. Waiting for the event costs
 * nothing while it waits: the function returns DURATA_YIELD and no thread
 * is held. When the event (or the deadline's timer) is recorded, durata
 * replays the function; this time durata_await() on the wait returns true.
 * durata_orch_is_replaying() tells whether the code is re-running steps
 * already recorded, e.g. to print a line only once.
 */
#include <durata.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Activity: "sends" the approval request (here: prints it). */
static void
request_approval(struct durata_activity *a, void *arg)
{
    (void)arg;
    printf("  [%s] activity RequestApproval(%s): request sent to the approver\n",
           durata_activity_instance_id(a), durata_activity_input(a));
    durata_activity_complete(a, "\"sent\"");
}

/* Activity: escalates an unanswered request (here: prints it). */
static void
escalate(struct durata_activity *a, void *arg)
{
    (void)arg;
    printf("  [%s] activity Escalate(%s): nobody answered, escalating to the manager\n",
           durata_activity_instance_id(a), durata_activity_input(a));
    durata_activity_complete(a, "\"escalated\"");
}

/* Calls an activity and fails the orchestration if it failed. Returns the
 * task when it is done and succeeded, NULL otherwise with *r set. */
static struct durata_task *
call(struct durata_orch *o, const char *name, const char *input, enum durata_orch_result *r)
{
    struct durata_task *t = durata_call_activity(o, name, input, NULL);

    *r = DURATA_YIELD;
    if (!durata_await(o, t))
        return NULL;
    if (durata_task_is_failed(t)) {
        durata_orch_fail(o, "ActivityFailed", durata_task_failure(t)->message, name);
        *r = DURATA_DONE;
        return NULL;
    }
    return t;
}

/* Sets the custom status (what a status query shows while the instance
 * runs); on failure fails the orchestration and returns false. */
static bool
set_status(struct durata_orch *o, const char *json)
{
    if (durata_orch_set_custom_status(o, json) == 0)
        return true;
    durata_orch_fail(o, "CustomStatusError", "could not set the custom status", NULL);
    return false;
}

/* Orchestrator: input {"request": "...", "timeoutMs": N}. */
static enum durata_orch_result
approval_workflow(struct durata_orch *o, void *arg)
{
    json_t *in = json_loads(durata_orch_input(o), 0, NULL);
    const char *request = json_string_value(json_object_get(in, "request"));
    json_int_t timeout_ms = json_integer_value(json_object_get(in, "timeoutMs"));
    enum durata_orch_result r = DURATA_DONE;
    char *request_json = NULL;
    const struct durata_failure *f;
    struct durata_task *ev;

    (void)arg;
    if (!request || timeout_ms <= 0) {
        durata_orch_fail(o, "InvalidInput", "expected {\"request\": ..., \"timeoutMs\": N}", NULL);
        goto out;
    }
    /* The activity's input is JSON text: the request as a JSON string. */
    request_json = json_dumps(json_object_get(in, "request"), JSON_ENCODE_ANY);
    if (!request_json) {
        durata_orch_fail(o, "OutOfMemory", "could not encode the request", NULL);
        goto out;
    }
    if (!call(o, "RequestApproval", request_json, &r))
        goto out;
    if (!set_status(o, "\"WaitingForApproval\""))
        goto out;
    ev = durata_wait_event(o, "Approval", timeout_ms);
    if (!durata_await(o, ev)) {
        r = DURATA_YIELD;
        goto out;
    }
    if (!durata_task_is_failed(ev)) {
        if (!durata_orch_is_replaying(o))
            printf("  [%s] approved by %s\n", durata_orch_instance_id(o),
                   durata_task_result(ev) ? durata_task_result(ev) : "null");
        if (set_status(o, "\"Approved\""))
            durata_orch_complete(o, "\"approved\"");
        goto out;
    }
    /* The wait failed: "TimeoutError" when the deadline passed first. */
    f = durata_task_failure(ev);
    if (!f->error_type || strcmp(f->error_type, "TimeoutError") != 0) {
        durata_orch_fail(o, "WaitFailed", f->message, NULL);
        goto out;
    }
    if (!call(o, "Escalate", request_json, &r))
        goto out;
    if (set_status(o, "\"Escalated\""))
        durata_orch_complete(o, "\"escalated\"");
    r = DURATA_DONE;
out:
    free(request_json);
    json_decref(in);
    return r;
}

static void
remove_store(const char *path)
{
    char side[4096];

    unlink(path);
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
}

/* true when JSON text `json` is the JSON string `s`. */
static int
json_is_text(const char *json, const char *s)
{
    json_t *v = json ? json_loads(json, JSON_DECODE_ANY, NULL) : NULL;
    int eq = json_is_string(v) && strcmp(json_string_value(v), s) == 0;

    json_decref(v);
    return eq;
}

static void
print_outcome(struct durata_hub *hub, const struct durata_instance *inst)
{
    struct durata_history *h = NULL;
    size_t i;

    printf("%s: status %s, output %s, custom status %s\n", inst->id,
           durata_status_name(inst->status), inst->output ? inst->output : "null",
           inst->custom_status ? inst->custom_status : "null");
    if (durata_get_history(hub, inst->id, &h) < 0)
        return;
    printf("  history:");
    for (i = 0; i < h->count; i++)
        printf(" %s", durata_event_type_name(h->events[i].type));
    printf("\n");
    durata_history_free(h);
}

/* Polls until the instance's custom status is "WaitingForApproval". */
static int
wait_until_waiting(struct durata_hub *hub, const char *id)
{
    const struct timespec pause = {.tv_nsec = 20 * 1000 * 1000};
    int tries;

    for (tries = 0; tries < 1500; tries++) { /* 30 s */
        struct durata_instance *inst = NULL;
        int rc = durata_get_status(hub, id, &inst);
        int waiting = rc == 0 && json_is_text(inst->custom_status, "WaitingForApproval");

        durata_instance_free(inst);
        if (rc < 0)
            return rc;
        if (waiting)
            return 0;
        nanosleep(&pause, NULL);
    }
    return DURATA_ETIMEDOUT;
}

/* Starts one instance; raises "Approval" once it waits when `approve`. */
static int
run_one(struct durata_hub *hub, const char *id, int64_t timeout_ms, bool approve,
        const char *expected)
{
    char input[128], id_out[257];
    struct durata_start_options start = {
        .name = "ApprovalWorkflow", .instance_id = id, .input = input};
    struct durata_instance *inst = NULL;
    int rc, ok;

    snprintf(input, sizeof(input), "{\"request\":\"buy a laptop\",\"timeoutMs\":%lld}",
             (long long)timeout_ms);
    rc = durata_start(hub, &start, id_out, sizeof(id_out));
    if (rc == 0 && approve) {
        rc = wait_until_waiting(hub, id);
        if (rc == 0) {
            printf("  main: raising event \"Approval\" on %s\n", id);
            rc = durata_raise_event(hub, id, "Approval", "\"alice\"");
        }
    }
    if (rc == 0)
        rc = durata_wait(hub, id, 30000, &inst);
    if (rc < 0) {
        fprintf(stderr, "approval: %s: %s\n", id, durata_strerror(rc));
        return 0;
    }
    print_outcome(hub, inst);
    ok = inst->status == DURATA_COMPLETED && json_is_text(inst->output, expected);
    durata_instance_free(inst);
    return ok;
}

int
main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "./example.db";
    struct durata_hub_options opts = {.store_path = path};
    struct durata_hub *hub = NULL;
    int ok = 0, rc;

    setvbuf(stdout, NULL, _IOLBF, 0); /* activities print from other threads */
    remove_store(path);
    rc = durata_hub_open(&hub, &opts);
    if (rc == 0)
        rc = durata_register_orchestrator(hub, "ApprovalWorkflow", approval_workflow, NULL);
    if (rc == 0)
        rc = durata_register_activity(hub, "RequestApproval", request_approval, NULL);
    if (rc == 0)
        rc = durata_register_activity(hub, "Escalate", escalate, NULL);
    if (rc == 0)
        rc = durata_hub_start(hub);
    if (rc < 0) {
        fprintf(stderr, "approval: %s\n", durata_strerror(rc));
        goto out;
    }
    ok = run_one(hub, "approval-granted", 30000, true, "approved");
    ok = run_one(hub, "approval-timeout", 300, false, "escalated") && ok;
    printf("%s\n", ok ? "OK" : "UNEXPECTED RESULT");
out:
    durata_hub_close(hub);
    return ok ? 0 : 1;
}
