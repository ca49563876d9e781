/*
 * test_committer.c — group commit over a fake store that records calls:
 * batching, and pipelined durability (a unit is reported only after the
 * sync that covers it, while the next batch commits during that sync), and
 * a full queue refusing a submission that must not wait.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "engine/committer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

struct fake {
    struct dt_store base;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool pipelined;
    bool hold_sync;   /* sync() blocks while set */
    bool hold_commit; /* commit() blocks while set */
    int commits, syncs, syncing, committing;
    size_t units;
};

static struct fake *
fake_of(struct dt_store *s)
{
    return (struct fake *)s;
}

static int
fake_commit(struct dt_store *s, struct dt_write **units, size_t n)
{
    struct fake *f = fake_of(s);
    for (size_t i = 0; i < n; i++)
        units[i]->rc = 0;
    pthread_mutex_lock(&f->mu);
    f->committing++;
    pthread_cond_broadcast(&f->cv);
    while (f->hold_commit)
        pthread_cond_wait(&f->cv, &f->mu);
    f->commits++;
    f->units += n;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return 0;
}

static int
fake_pipeline(struct dt_store *s)
{
    fake_of(s)->pipelined = true;
    return 0;
}

static int
fake_sync(struct dt_store *s)
{
    struct fake *f = fake_of(s);
    pthread_mutex_lock(&f->mu);
    f->syncing++;
    pthread_cond_broadcast(&f->cv);
    while (f->hold_sync)
        pthread_cond_wait(&f->cv, &f->mu);
    f->syncing--;
    f->syncs++;
    pthread_mutex_unlock(&f->mu);
    return 0;
}

static const struct dt_store_ops fake_ops = {
    .name = "fake", .commit = fake_commit, .pipeline = fake_pipeline, .sync = fake_sync};

struct runner {
    struct dt_committer *c;
    struct dt_write *w;
    pthread_t thread;
    _Atomic bool returned;
};

static void *
runner_main(void *arg)
{
    struct runner *r = arg;
    (void)dt_committer_run(r->c, r->w);
    atomic_store(&r->returned, true);
    return NULL;
}

static void
wait_for(struct fake *f, int *counter, int at_least)
{
    pthread_mutex_lock(&f->mu);
    while (*counter < at_least)
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
}

static void
test_unit_is_reported_only_after_its_sync(void **state)
{
    struct fake f = {.base.ops = &fake_ops, .hold_sync = true};
    struct dt_committer c;
    struct runner a = {.c = &c}, b = {.c = &c};

    (void)state;
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cv, NULL);
    dt_committer_init(&c, &f.base, NULL, NULL);
    assert_int_equal(dt_committer_start(&c), 0);
    assert_true(f.pipelined);
    a.w = dt_write_new(DT_W_RENEW);
    assert_int_equal(pthread_create(&a.thread, NULL, runner_main, &a), 0);
    wait_for(&f, &f.syncing, 1); /* a is committed; its sync is held */
    /* While a's sync is held, b still commits (pipelining). */
    b.w = dt_write_new(DT_W_RENEW);
    assert_int_equal(pthread_create(&b.thread, NULL, runner_main, &b), 0);
    wait_for(&f, &f.commits, 2);
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL); /* give a wrong implementation time to report */
    assert_false(atomic_load(&a.returned));
    assert_false(atomic_load(&b.returned));
    pthread_mutex_lock(&f.mu);
    f.hold_sync = false;
    pthread_cond_broadcast(&f.cv);
    pthread_mutex_unlock(&f.mu);
    pthread_join(a.thread, NULL);
    pthread_join(b.thread, NULL);
    assert_true(atomic_load(&a.returned) && atomic_load(&b.returned));
    assert_true(f.syncs >= 1 && f.syncs <= 2); /* b may share a later sync */
    dt_committer_barrier(&c);                  /* nothing pending: returns at once */
    dt_committer_release(&c);
    dt_write_free(a.w);
    dt_write_free(b.w);
    pthread_mutex_destroy(&f.mu);
    pthread_cond_destroy(&f.cv);
}

static void
test_without_thread_each_submission_commits_and_syncs(void **state)
{
    struct fake f = {.base.ops = &fake_ops};
    struct dt_committer c;
    struct dt_write *w = dt_write_new(DT_W_RENEW);

    (void)state;
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cv, NULL);
    dt_committer_init(&c, &f.base, NULL, NULL);
    assert_int_equal(dt_committer_start(&c), 0); /* makes the store pipelined */
    dt_committer_stop(&c);
    int syncs = f.syncs;
    assert_int_equal(dt_committer_run(&c, w), 0); /* inline after stop */
    assert_int_equal(f.syncs, syncs + 1);
    dt_committer_release(&c);
    dt_write_free(w);
    pthread_mutex_destroy(&f.mu);
    pthread_cond_destroy(&f.cv);
}

static atomic_int reported;

static void
count_done(struct dt_commit_req *req, int rc)
{
    (void)req;
    if (rc == 0)
        atomic_fetch_add(&reported, 1);
}

static void
test_try_submit_refuses_when_the_queue_is_full(void **state)
{
    struct fake f = {.base.ops = &fake_ops, .hold_commit = true};
    struct dt_committer c;
    struct dt_commit_req reqs[4] = {0};

    (void)state;
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cv, NULL);
    dt_committer_init(&c, &f.base, NULL, NULL);
    c.max_queue = 2;
    assert_int_equal(dt_committer_start(&c), 0);
    for (size_t i = 0; i < 4; i++)
        reqs[i] = (struct dt_commit_req){.unit = dt_write_new(DT_W_RENEW), .done = count_done};
    assert_int_equal(dt_committer_try_submit(&c, &reqs[0]), 0);
    wait_for(&f, &f.committing, 1); /* the writer holds reqs[0]; the queue is empty */
    assert_int_equal(dt_committer_try_submit(&c, &reqs[1]), 0);
    assert_int_equal(dt_committer_try_submit(&c, &reqs[2]), 0);
    assert_int_equal(dt_committer_try_submit(&c, &reqs[3]), DURATA_EOVERLOAD);
    pthread_mutex_lock(&f.mu);
    f.hold_commit = false;
    pthread_cond_broadcast(&f.cv);
    pthread_mutex_unlock(&f.mu);
    dt_committer_stop(&c);
    assert_int_equal(atomic_load(&reported), 3); /* the refused one never ran */
    assert_int_equal(f.units, 3);
    dt_committer_release(&c);
    for (size_t i = 0; i < 4; i++)
        dt_write_free(reqs[i].unit);
    pthread_mutex_destroy(&f.mu);
    pthread_cond_destroy(&f.cv);
}

/* What happened to the requests of test_releases_follow_every_report,
 * in order: 'd' reported, 'r' released, then the request's index. */
static char order[16];
static atomic_int n_order;

static void
note(struct dt_commit_req *req, char what)
{
    int i = atomic_fetch_add(&n_order, 2);

    order[i] = what;
    order[i + 1] = (char)('0' + (int)(intptr_t)req->arg);
}

static void
note_done(struct dt_commit_req *req, int rc)
{
    (void)rc;
    note(req, 'd');
}

static void
note_release(struct dt_commit_req *req)
{
    note(req, 'r');
}

/* Where event `what` ("d1") is in order; fails when absent. */
static int
at(const char *log, const char *what)
{
    for (int i = 0; i < 12; i += 2)
        if (log[i] == what[0] && log[i + 1] == what[1])
            return i;
    fail_msg("no %s in %.12s", what, log);
    return -1;
}

/* A batch's requests are all reported before any is released, so a report
 * (an HTTP answer resumed, say) never waits behind another's frees. */
static void
test_releases_follow_every_report(void **state)
{
    struct fake f = {.base.ops = &fake_ops, .hold_commit = true};
    struct dt_committer c;
    struct dt_commit_req reqs[3] = {0};

    (void)state;
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cv, NULL);
    dt_committer_init(&c, &f.base, NULL, NULL);
    assert_int_equal(dt_committer_start(&c), 0);
    for (size_t i = 0; i < 3; i++)
        reqs[i] = (struct dt_commit_req){.unit = dt_write_new(DT_W_RENEW),
                                         .done = note_done,
                                         .release = note_release,
                                         .arg = (void *)(intptr_t)i};
    assert_int_equal(dt_committer_try_submit(&c, &reqs[0]), 0);
    wait_for(&f, &f.committing, 1); /* reqs 1 and 2 queue up as one batch */
    assert_int_equal(dt_committer_try_submit(&c, &reqs[1]), 0);
    assert_int_equal(dt_committer_try_submit(&c, &reqs[2]), 0);
    pthread_mutex_lock(&f.mu);
    f.hold_commit = false;
    pthread_cond_broadcast(&f.cv);
    pthread_mutex_unlock(&f.mu);
    dt_committer_stop(&c);
    assert_int_equal(atomic_load(&n_order), 12);
    /* 1 and 2 share a batch (0 may too, when one flush covers both) */
    assert_true(at(order, "d1") < at(order, "r1") && at(order, "d1") < at(order, "r2"));
    assert_true(at(order, "d2") < at(order, "r1") && at(order, "d2") < at(order, "r2"));
    assert_true(at(order, "d0") < at(order, "r0"));
    dt_committer_release(&c);
    for (size_t i = 0; i < 3; i++)
        dt_write_free(reqs[i].unit);
    pthread_mutex_destroy(&f.mu);
    pthread_cond_destroy(&f.cv);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unit_is_reported_only_after_its_sync),
        cmocka_unit_test(test_without_thread_each_submission_commits_and_syncs),
        cmocka_unit_test(test_try_submit_refuses_when_the_queue_is_full),
        cmocka_unit_test(test_releases_follow_every_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
