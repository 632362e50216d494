/* test_hooks.c — the trainer's one interface for modules around the step loop
 * (runtime/train/hooks.h): each fixed point is called where and as often as documented, a
 * watching hook sees every watch point of its steps only, hooks never change the numbers a
 * run computes, after_step can save and stop, a failing save or at_end fails the run, and
 * nn_trainer_free frees an owned hook. */
#include "testutil.h"

#include <math.h>

#include "kernels/kernels.h"
#include "parser/spec.h"
#include "runtime/data/data.h"
#include "runtime/train/hooks.h"
#include "runtime/train/train.h"

#define STEPS 30
#define EVERY 10

typedef struct {
    nn_spec *spec;
    nn_dataset *ds;
    nn_trainer *tr;
} experiment;

static void open_mlp_bn(experiment *e)
{
    char steps[64], every[64];
    snprintf(steps, sizeof steps, "train.steps=%d", STEPS);
    snprintf(every, sizeof every, "eval.every=%d", EVERY);
    const char *sets[] = {steps, every, "data.filter=^q[a-z]+$", "sample.count=3"};
    nn_diag *d = nn_diag_new();
    e->spec = nn_spec_load(tu_path("specs/mlp_bn.yaml"), sets, 4, d);
    if (e->spec) e->ds = nn_dataset_load(e->spec, d);
    if (e->ds) e->tr = nn_trainer_new(e->spec, e->ds, d);
    if (!e->tr) {
        nn_diag_print(d, stderr);
        fail();
    }
    nn_diag_free(d);
}

static void close_experiment(experiment *e)
{
    nn_trainer_free(e->tr);
    nn_dataset_free(e->ds);
    nn_spec_free(e->spec);
}

/* A hook that records what it saw, and answers as told. */
typedef struct {
    int start, before, evals, after, saves, end, freed;
    long first_before, last_after;
    long watched[3][STEPS]; /* steps seen at each watch point, in order */
    int nwatched[3];
    long eval_step[8];
    long watch_step;     /* before_step asks to watch this step (−1: none) */
    long stop_at;        /* after_step asks to save and stop after this many steps */
    int save_rc, end_rc; /* what save and at_end return */
    long saved_step;     /* the state save saw */
    double saved_beta_pow;
} recorder;

static void r_start(void *ctx, nn_train_state *st)
{
    recorder *r = ctx;
    r->start++;
    assert_int_equal(st->step, 0);
}

static int r_before(void *ctx, long step)
{
    recorder *r = ctx;
    if (r->before++ == 0) r->first_before = step;
    return step == r->watch_step ? NN_HOOK_WATCH : 0;
}

static void r_watch(void *ctx, nn_watch_point at, long step)
{
    recorder *r = ctx;
    r->watched[at][r->nwatched[at]++] = step;
}

static void r_eval(void *ctx, long step, const double loss[NN_SPLIT_COUNT])
{
    recorder *r = ctx;
    assert_true(isfinite(loss[NN_SPLIT_DEV]));
    if (r->evals < 8) r->eval_step[r->evals] = step;
    r->evals++;
}

static int r_after(void *ctx, long done, long steps)
{
    recorder *r = ctx;
    assert_int_equal(steps, STEPS);
    r->after++;
    r->last_after = done;
    return done == r->stop_at ? NN_HOOK_SAVE | NN_HOOK_STOP : 0;
}

static int r_save(void *ctx, const nn_train_state *st)
{
    recorder *r = ctx;
    r->saves++;
    r->saved_step = st->step;
    r->saved_beta_pow = st->beta_pow;
    return r->save_rc;
}

static int r_end(void *ctx)
{
    recorder *r = ctx;
    r->end++;
    return r->end_rc;
}

static void r_free(void *ctx)
{
    ((recorder *)ctx)->freed++;
}

static const nn_train_hooks recorder_hooks = {r_start, r_before, r_watch, r_eval,
                                              r_after, r_save,   r_end,   NULL};
static const nn_train_hooks owned_hooks = {.free = r_free};

static recorder new_recorder(void)
{
    recorder r;
    memset(&r, 0, sizeof r);
    r.watch_step = r.stop_at = -1;
    return r;
}

static int run(experiment *e, nn_result *res)
{
    nn_run_opts o = {.quiet = 1};
    memset(res, 0, sizeof *res);
    return nn_trainer_run(e->tr, &o, res);
}

/* Every fixed point, as often as hooks.h says, with the watch points of one step only. */
static void test_fixed_points(void **state)
{
    (void)state;
    experiment e;
    open_mlp_bn(&e);
    recorder r = new_recorder();
    r.watch_step = 7;
    assert_int_equal(nn_trainer_attach(e.tr, &recorder_hooks, &r), 0);
    assert_ptr_equal(nn_trainer_hook_ctx(e.tr, &recorder_hooks), &r);
    nn_result res;
    assert_int_equal(run(&e, &res), 0);
    assert_int_equal(r.start, 1);
    assert_int_equal(r.before, STEPS);
    assert_int_equal(r.first_before, 0);
    assert_int_equal(r.after, STEPS);
    assert_int_equal(r.last_after, STEPS);
    assert_int_equal(r.saves, 0); /* never asked */
    assert_int_equal(r.end, 1);
    /* evaluation points at 10 and 20 (not at the last step), then the final evaluation */
    assert_int_equal(r.evals, 3);
    assert_int_equal(r.eval_step[0], 10);
    assert_int_equal(r.eval_step[1], 20);
    assert_int_equal(r.eval_step[2], STEPS);
    for (int at = 0; at < 3; at++) {
        assert_int_equal(r.nwatched[at], 1);
        assert_int_equal(r.watched[at][0], 7);
    }
    nn_result_free(&res);
    nn_trainer_detach(e.tr, &r);
    assert_null(nn_trainer_hook_ctx(e.tr, &recorder_hooks));
    close_experiment(&e);
}

/* A hook that watches every step changes nothing the run computes. */
static void test_hooks_change_nothing(void **state)
{
    (void)state;
    experiment a, b;
    open_mlp_bn(&a);
    open_mlp_bn(&b);
    recorder r = new_recorder();
    r.watch_step = 3;
    assert_int_equal(nn_trainer_attach(b.tr, &recorder_hooks, &r), 0);
    nn_result ra, rb;
    assert_int_equal(run(&a, &ra), 0);
    assert_int_equal(run(&b, &rb), 0);
    assert_memory_equal(&ra.last, &rb.last, sizeof ra.last);
    assert_memory_equal(ra.split, rb.split, sizeof ra.split);
    const nn_params *P = nn_trainer_params(a.tr), *Q = nn_trainer_params(b.tr);
    assert_int_equal(P->n, Q->n);
    for (int i = 0; i < P->n; i++)
        assert_memory_equal(P->p[i].data, Q->p[i].data, (size_t)P->p[i].numel * sizeof(float));
    assert_int_equal(ra.nsamples, rb.nsamples);
    for (int i = 0; i < ra.nsamples; i++)
        assert_string_equal(ra.samples[i], rb.samples[i]);
    nn_result_free(&ra);
    nn_result_free(&rb);
    close_experiment(&a);
    close_experiment(&b);
}

/* after_step's SAVE | STOP: save sees the state after that step, the run returns 1 there,
 * with no final evaluation and no at_end. */
static void test_save_and_stop(void **state)
{
    (void)state;
    experiment e;
    open_mlp_bn(&e);
    recorder r = new_recorder();
    r.stop_at = 12;
    assert_int_equal(nn_trainer_attach(e.tr, &recorder_hooks, &r), 0);
    nn_result res;
    assert_int_equal(run(&e, &res), 1);
    assert_int_equal(res.steps, 12);
    assert_int_equal(r.saves, 1);
    assert_int_equal(r.saved_step, 12);
    assert_true(r.saved_beta_pow > 0 && r.saved_beta_pow < 1); /* 0.99^12 */
    assert_int_equal(r.evals, 1);                              /* step 10 only */
    assert_int_equal(r.end, 0);
    nn_result_free(&res);
    close_experiment(&e);
}

/* A failing save stops the run with −2; a failing at_end fails a finished run with −2. */
static void test_failures(void **state)
{
    (void)state;
    experiment e;
    open_mlp_bn(&e);
    recorder r = new_recorder();
    r.stop_at = 5;
    r.save_rc = -1;
    assert_int_equal(nn_trainer_attach(e.tr, &recorder_hooks, &r), 0);
    nn_result res;
    assert_int_equal(run(&e, &res), -2);
    assert_int_equal(res.steps, 5);
    nn_result_free(&res);
    close_experiment(&e);

    open_mlp_bn(&e);
    r = new_recorder();
    r.end_rc = -1;
    assert_int_equal(nn_trainer_attach(e.tr, &recorder_hooks, &r), 0);
    assert_int_equal(run(&e, &res), -2);
    assert_int_equal(r.end, 1);
    nn_result_free(&res);
    close_experiment(&e);
}

/* Attach refuses a hook past NN_MAX_HOOKS; nn_trainer_free frees the owned ones. */
static void test_attach_limit_and_free(void **state)
{
    (void)state;
    experiment e;
    open_mlp_bn(&e);
    recorder r[NN_MAX_HOOKS + 1];
    for (int k = 0; k < NN_MAX_HOOKS; k++) {
        r[k] = new_recorder();
        assert_int_equal(nn_trainer_attach(e.tr, &owned_hooks, &r[k]), 0);
    }
    r[NN_MAX_HOOKS] = new_recorder();
    assert_int_equal(nn_trainer_attach(e.tr, &owned_hooks, &r[NN_MAX_HOOKS]), -1);
    close_experiment(&e);
    for (int k = 0; k < NN_MAX_HOOKS; k++)
        assert_int_equal(r[k].freed, 1);
    assert_int_equal(r[NN_MAX_HOOKS].freed, 0);
}

int main(void)
{
    nn_kernels_select(NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_points),          cmocka_unit_test(test_hooks_change_nothing),
        cmocka_unit_test(test_save_and_stop),         cmocka_unit_test(test_failures),
        cmocka_unit_test(test_attach_limit_and_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
