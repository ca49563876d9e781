/*
 * replay.c — one step of a C orchestrator: dt_replay_run and its output.
 *
 * Owns: building the context, calling the orchestrator function once, and
 * turning what the code did into struct dt_replay_out:
 *  - the replay stopped (NonDeterminismError, limits, send_event argument
 *    errors): DT_FAILED with that failure and no new actions;
 *  - the code called an ending: that completion; actions taken before it
 *    are kept (a send before complete must go out); continue-as-new also
 *    carries over clones of the EventRaised events no wait claimed;
 *  - DURATA_DONE without an ending: DT_COMPLETED with NULL output;
 *  - DURATA_YIELD: DT_PENDING with the new actions;
 *  - any other return value: DT_FAILED (ArgumentError).
 * Out of memory anywhere gives DURATA_ENOMEM and an empty out.
 * Threading: one replay runs on one thread; nothing is shared, nothing
 * survives the call but `out`.
 */
#include "runtime/context.h"

#include <stdlib.h>
#include <string.h>

static int
carry_over(struct durata_orch *o, struct dt_event_list *l)
{
    for (size_t i = 0; i < o->n_ev; i++) {
        struct dt_event *copy;

        if (o->ev[i]->type != DURATA_EV_EVENT_RAISED || o->claimed[i])
            continue;
        copy = dt_event_clone(o->ev[i]);
        if (!copy || dt_event_list_push_take(l, copy) != 0)
            return DURATA_ENOMEM;
    }
    return 0;
}

static int
take_ending(struct durata_orch *o, struct dt_replay_out *out)
{
    out->completion = o->completion;
    out->output = o->output;
    o->output = NULL;
    out->failure = o->failure;
    o->failure = NULL;
    if (o->completion == DT_CONTINUED_AS_NEW)
        return carry_over(o, &out->carryover);
    return 0;
}

static void
take_actions(struct durata_orch *o, struct dt_replay_out *out)
{
    out->actions = o->actions;
    out->n_actions = o->n_actions;
    o->actions = NULL;
    o->n_actions = 0;
    o->cap_actions = 0;
}

static int
finish(struct durata_orch *o, enum durata_orch_result r, struct dt_replay_out *out)
{
    int rc = 0;

    if (!o->ended && r != DURATA_YIELD && r != DURATA_DONE)
        dt_orch_stop(o, "ArgumentError",
                     "the orchestrator returned %d, neither DURATA_YIELD nor DURATA_DONE", (int)r);
    if (o->oom)
        return DURATA_ENOMEM;
    out->custom_status_set = o->custom_status_set;
    out->custom_status = o->custom_status;
    o->custom_status = NULL;
    if (o->fatal) {
        out->completion = DT_FAILED;
        out->failure = o->fatal;
        o->fatal = NULL;
        return 0;
    }
    take_actions(o, out);
    if (o->ended)
        rc = take_ending(o, out);
    else
        out->completion = r == DURATA_DONE ? DT_COMPLETED : DT_PENDING;
    return rc;
}

int
dt_replay_run(const struct dt_replay_in *in, struct dt_replay_out *out)
{
    struct durata_orch *o;
    enum durata_orch_result r;
    int rc;

    if (!out)
        return DURATA_EINVAL;
    memset(out, 0, sizeof(*out));
    if (!in)
        return DURATA_EINVAL;
    o = malloc(sizeof(*o));
    if (!o)
        return DURATA_ENOMEM;
    rc = dt_orch_init(o, in);
    if (rc)
        goto out_free;
    r = in->fn(o, in->arg);
    rc = finish(o, r, out);
    dt_orch_release(o);
    if (rc)
        dt_replay_out_release(out);
out_free:
    free(o);
    return rc;
}

void
dt_replay_out_release(struct dt_replay_out *out)
{
    if (!out)
        return;
    for (size_t i = 0; i < out->n_actions; i++) {
        free(out->actions[i].name);
        free(out->actions[i].version);
        free(out->actions[i].instance_id);
        free(out->actions[i].input);
    }
    free(out->actions);
    free(out->output);
    durata_failure_free(out->failure);
    dt_event_list_release(&out->carryover);
    free(out->custom_status);
    memset(out, 0, sizeof(*out));
}
