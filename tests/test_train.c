/* test_train.c — the whole experiment in process: data split, torch-compatible streams,
 * the lecture's step-0 loss, a 2000-step run, and bit-identical repeats. */
#include "testutil.h"

#include <math.h>
#include <unistd.h>

#include "kernels/kernels.h"
#include "kernels/threads.h"
#include "parser/spec.h"
#include "runtime/data/data.h"
#include "runtime/data/rng.h"
#include "runtime/train/train.h"

typedef struct {
    nn_spec *spec;
    nn_dataset *ds;
    nn_trainer *tr;
} experiment;

/* specs/mlp_bn.yaml with train.steps, five samples, and one more --set (NULL: none). */
static void open_mlp_bn_set(experiment *e, const char *steps, const char *extra)
{
    char set_steps[64];
    snprintf(set_steps, sizeof set_steps, "train.steps=%s", steps);
    const char *sets[] = {set_steps, "sample.count=5", extra};
    nn_diag *d = nn_diag_new();
    e->spec = nn_spec_load(tu_path("specs/mlp_bn.yaml"), sets, extra ? 3 : 2, d);
    if (e->spec) e->ds = nn_dataset_load(e->spec, d);
    if (e->ds) e->tr = nn_trainer_new(e->spec, e->ds, d);
    if (!e->tr) {
        nn_diag_print(d, stderr);
        fail();
    }
    nn_diag_free(d);
}

static void open_mlp_bn(experiment *e, const char *steps)
{
    open_mlp_bn_set(e, steps, NULL);
}

static void close_experiment(experiment *e)
{
    nn_trainer_free(e->tr);
    nn_dataset_free(e->ds);
    nn_spec_free(e->spec);
}

/* Python: random.seed(42); random.shuffle(words) → yuheng, diondre, ...; 80/10/10 split. */
static void test_split_matches_python(void **state)
{
    (void)state;
    experiment e;
    open_mlp_bn(&e, "1");
    const nn_dataset *ds = e.ds;
    assert_int_equal(ds->vocab, 27);
    assert_int_equal(ds->lines, 32033); /* the last name has no newline and still counts */
    assert_int_equal(ds->split[NN_SPLIT_TRAIN].n, 182625);
    assert_int_equal(ds->split[NN_SPLIT_DEV].n, 22655);
    assert_int_equal(ds->split[NN_SPLIT_TEST].n, 22866);
    assert_int_equal(ds->split[NN_SPLIT_TRAIN].words, 25626);
    const char *first = "yuheng.diondre.";
    for (int i = 0; first[i]; i++) {
        char buf[8];
        nn_dataset_token_utf8(ds, ds->split[0].y[i], buf);
        assert_int_equal(buf[0], first[i]);
    }
    /* contexts are padded with '.' (id 0) and slide */
    assert_int_equal(ds->split[0].x[0], 0);
    assert_int_equal(ds->split[0].x[3 * 3 + 2], ds->split[0].y[2]);
    close_experiment(&e);
}

/* torch.Generator().manual_seed(2147483647): torch.rand(3) is [0.7081, 0.3542, 0.1054]
 * (makemore part 1), and torch's float uniform is 24 bits of one u32. */
static void test_torch_streams(void **state)
{
    (void)state;
    nn_rng r;
    nn_rng_seed(&r, 1, 2147483647);
    const double want[3] = {0.7081, 0.3542, 0.1054};
    for (int i = 0; i < 3; i++)
        assert_true(tu_close((nn_rng_u32(&r) & 0xffffff) * 0x1p-24, want[i], 5e-5, 0));
    /* torch.randint(0, n) is u32 % n; MT19937's first output for seed 5489 is known */
    nn_mt19937 mt;
    nn_mt_init_genrand(&mt, 5489);
    assert_int_equal(nn_mt_next(&mt), 3499211612u);
}

static void test_step0_loss_and_short_run(void **state)
{
    (void)state;
    experiment e;
    open_mlp_bn(&e, "2000");
    nn_run_opts o = {.quiet = 1};
    nn_result r;
    memset(&r, 0, sizeof r);
    assert_int_equal(nn_trainer_run(e.tr, &o, &r), 0);
    /* lesson 4, cell 7: "0/200000: 3.3239" */
    if (!tu_close(r.step0, 3.3239, 5e-5, 0)) fail_msg("step-0 loss %.6f, want 3.3239", r.step0);
    assert_true(r.have_split[NN_SPLIT_DEV]);
    if (!(r.split[NN_SPLIT_DEV] < 2.6)) fail_msg("dev loss %.4f after 2000 steps", r.split[1]);
    assert_true(r.split[NN_SPLIT_DEV] > 2.0);
    assert_int_equal(r.nsamples, 5);
    for (int i = 0; i < r.nsamples; i++) {
        size_t n = strlen(r.samples[i]);
        assert_true(n >= 1);
        assert_int_equal(r.samples[i][n - 1], '.');
    }
    double dev = r.split[NN_SPLIT_DEV], last = r.last;
    nn_result_free(&r);
    close_experiment(&e);

    /* the same spec and seed again: the same numbers to the last bit */
    open_mlp_bn(&e, "2000");
    memset(&r, 0, sizeof r);
    assert_int_equal(nn_trainer_run(e.tr, &o, &r), 0);
    assert_memory_equal(&dev, &r.split[NN_SPLIT_DEV], sizeof dev);
    assert_memory_equal(&last, &r.last, sizeof last);
    nn_result_free(&r);
    close_experiment(&e);
}

static nn_result run_steps_set(const char *steps, const char *extra)
{
    experiment e;
    open_mlp_bn_set(&e, steps, extra);
    nn_run_opts o = {.quiet = 1};
    nn_result r;
    memset(&r, 0, sizeof r);
    assert_int_equal(nn_trainer_run(e.tr, &o, &r), 0);
    close_experiment(&e);
    return r;
}

static nn_result run_steps(const char *steps)
{
    return run_steps_set(steps, NULL);
}

/* The thread count never changes a result: split work is reduced in a fixed order.  Batch
 * 32 splits nothing but evaluation; batch 64 runs each linear's dX and dW side by side
 * (linear.c); batch 512 splits the gemms themselves.  Checked at 2 and 3 threads. */
static void test_threads_bit_identical(void **state)
{
    (void)state;
    static const char *const batch[] = {NULL, "train.batch=64", "train.batch=512"};
    for (size_t b = 0; b < sizeof batch / sizeof *batch; b++) {
        nn_kernels_set_threads(1);
        nn_result one = run_steps_set(b ? "60" : "300", batch[b]);
        for (int t = 2; t <= 3; t++) {
            nn_kernels_set_threads(t);
            unsigned long before = nn_threads_worker_tasks();
            nn_result two = run_steps_set(b ? "60" : "300", batch[b]);
            if (nn_threads_worker_tasks() == before) fail_msg("%d threads: no worker ran", t);
            if (memcmp(&one.last, &two.last, sizeof one.last) ||
                memcmp(one.split, two.split, sizeof one.split))
                fail_msg("%s: %d threads give other losses than 1 (last %.9g vs %.9g)",
                         batch[b] ? batch[b] : "batch 32", t, one.last, two.last);
            for (int i = 0; i < one.nsamples; i++)
                assert_string_equal(one.samples[i], two.samples[i]);
            nn_result_free(&two);
        }
        nn_kernels_set_threads(1);
        nn_result_free(&one);
    }
}

/* Kernel paths differ in summation order and in their exp/tanh approximations; after 300
 * steps the losses of every path agree within 2e-3 (the stated tolerance: docs).  At least
 * two paths are compared (scalar and avx2 where the CPU has AVX2): one alone checks nothing. */
static void test_isa_paths_agree(void **state)
{
    (void)state;
    static const char *isas[] = {"scalar", "avx2", "avx512"};
    const nn_kernels *keep = nn_k;
    double ref[NN_SPLIT_COUNT] = {0};
    int have = 0;
    for (int i = 0; i < 3; i++) {
        if (!nn_kernels_supported(isas[i])) continue;
        assert_int_equal(nn_kernels_select(isas[i]), 0);
        nn_result r = run_steps("300");
        for (int s = 0; s < NN_SPLIT_COUNT; s++) {
            if (have && !tu_close(r.split[s], ref[s], 2e-3, 0))
                fail_msg("%s: split %d loss %.6f, scalar %.6f", isas[i], s, r.split[s], ref[s]);
            if (!have) ref[s] = r.split[s];
        }
        have++;
        nn_result_free(&r);
    }
    nn_k = keep;
    if (tu_cpu_has_avx2()) assert_true(nn_kernels_supported("avx2"));
    if (have < 2) tu_cannot_run("only %d kernel path on this CPU: nothing to compare\n", have);
}

/* An expression loss reports a sign accuracy (as hinge does) only when every target is ±1:
 * a regression written as a formula is no classifier (DESIGN: accuracy, classifiers only). */
static void test_expr_loss_accuracy(void **state)
{
    (void)state;
    const char *ys[] = {"[1, -1, -1, 1]", "[0.5, -0.25, 2, 1]"};
    for (int k = 0; k < 2; k++) {
        char path[] = "/tmp/nn_acc_XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        FILE *f = fdopen(fd, "w");
        fprintf(f,
                "name: acc\n"
                "data: {inline: {x: [[2, 3], [3, -1], [0.5, 1], [1, -1]], y: %s}}\n"
                "model: [{linear: {out: 4}}, tanh, {linear: {out: 1}}]\n"
                "train: {steps: 3, batch: full, loss: {expr: '(s - y)^2'}, lr: 0.05}\n"
                "report: {plots: none}\n",
                ys[k]);
        fclose(f);
        experiment e;
        nn_diag *d = nn_diag_new();
        e.spec = nn_spec_load(path, NULL, 0, d);
        e.ds = e.spec ? nn_dataset_load(e.spec, d) : NULL;
        e.tr = e.ds ? nn_trainer_new(e.spec, e.ds, d) : NULL;
        if (!e.tr) nn_diag_print(d, stderr);
        assert_non_null(e.tr);
        nn_run_opts o;
        memset(&o, 0, sizeof o);
        o.quiet = 1;
        nn_result r;
        memset(&r, 0, sizeof r);
        assert_int_equal(nn_trainer_run(e.tr, &o, &r), 0);
        assert_int_equal(r.have_accuracy, k == 0);
        nn_result_free(&r);
        close_experiment(&e);
        nn_diag_free(d);
        unlink(path);
    }
}

int main(void)
{
    nn_threads_strict(1); /* a worker runs each worker's task: the split is proven */
    if (nn_kernels_select(NULL) != 0) nn_kernels_select("scalar");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_matches_python),
        cmocka_unit_test(test_torch_streams),
        cmocka_unit_test(test_step0_loss_and_short_run),
        cmocka_unit_test(test_threads_bit_identical),
        cmocka_unit_test(test_isa_paths_agree),
        cmocka_unit_test(test_expr_loss_accuracy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
