/* test_window_linear.c — an embedding read by a linear as lookups of per-slot products
 * (ir/ops/window_linear.c), in both forms: embedding {window} → linear, and groups of
 * consecutive tokens — the lessons' embedding → flatten → linear (with and without bias) and
 * lesson 5's embedding → flatten_consecutive {n} → linear.  The fused plan (NN_LOWER_FAST)
 * against the ops as they are (NN_LOWER_KEEP_ALL) — loss, logits and every parameter
 * gradient, with the scalar reference and the vector kernels, with an l2 term (gradients
 * added into), on fewer active rows, and in an evaluation plan — its gradients against
 * central finite differences, the same bits at one and two threads on a shape whose backward
 * splits, and the cases lowering must leave alone (too few rows, the embedding's output read
 * by another layer, a position table). */
#include "plan_model.h"

#include <math.h>

#include "kernels/kernels.h"
#include "kernels/threads.h"

/* A model: vocabulary v, t tokens per row, embedding width d, hidden h, rows b.  window > 0:
 * embedding {window} (a table of v + 1 rows, the blank) → linear h, predicting each of the t
 * positions; window 0: embedding → flatten → linear h, predicting one token per row; group
 * n: embedding → flatten_consecutive {n} → linear h → tanh → flatten, one token per row.
 * Then tanh → linear v (bias).  The first linear has a bias when `bias`. */
typedef struct {
    int v, t, d, h, b, window, bias, group;
} form;

/* 80 positions ≥ 2·(v + 1); 16 rows ≥ 2·v */
static const form WINDOW = {6, 8, 4, 7, 10, 5, 1, 0};
static const form FLAT = {6, 8, 4, 7, 16, 0, 1, 0};
static const form FLAT_NO_BIAS = {6, 8, 4, 7, 16, 0, 0, 0};
static const form GROUP = {6, 8, 4, 7, 16, 0, 1, 2}; /* 64 positions ≥ 2·v */

static nn_spec make_spec(const form *f, nn_layer *l, double l2)
{
    int n = 0;
    l[n] = tm_layer(NN_LAYER_EMBEDDING, 10);
    l[n].dim = f->d, l[n++].window = f->window;
    if (f->group) {
        l[n] = tm_layer(NN_LAYER_FLATTEN_CONSECUTIVE, 11);
        l[n++].n = f->group;
    } else if (!f->window) {
        l[n++] = tm_layer(NN_LAYER_FLATTEN, 11);
    }
    l[n] = tm_layer(NN_LAYER_LINEAR, 12);
    l[n].out = f->h, l[n++].bias = f->bias;
    l[n++] = tm_layer(NN_LAYER_TANH, 13);
    if (f->group) l[n++] = tm_layer(NN_LAYER_FLATTEN, 13);
    l[n] = tm_layer(NN_LAYER_LINEAR, 14);
    l[n++].bias = 1;
    nn_spec s;
    memset(&s, 0, sizeof s);
    s.path = "model.yaml";
    s.layers = l;
    s.nlayers = n;
    s.train.l2 = l2;
    s.train.l2_all = 1;
    return s;
}

/* the plan's step names: forward, backward */
static const char *fwd_name(const form *f)
{
    return f->window ? "embedding_window+linear+tanh" : "embedding+linear+tanh";
}

static const char *bwd_name(const form *f)
{
    return f->window ? "tanh_grad+linear_grad+embedding_window_grad"
                     : "tanh_grad+linear_grad+embedding_grad";
}

typedef tm_model model;

/* Built for `batch` rows, parameters and data from a fixed seed (the same for every plan). */
static void model_open(model *m, const form *f, const nn_spec *s, int batch, int training,
                       int flags)
{
    nn_build_opts o = {batch, training, training, f->v, f->t, 0, f->window > 0};
    nn_rng r;
    tm_model_open(m, s, &o, flags, &r);
    int32_t *x = nn_plan_ptr(m->p, m->g->x), *y = nn_plan_ptr(m->p, m->g->y);
    for (int i = 0; i < batch * f->t; i++)
        x[i] = (int32_t)nn_rng_randint(&r, f->v);
    for (int i = 0; i < batch * (f->window ? f->t : 1); i++) /* some positions ignored */
        y[i] = f->window && i % f->t > 5 ? -1 : (int32_t)nn_rng_randint(&r, f->v);
}

/* The fused plan against the plain one: loss, logits, every gradient. */
static void expect_same(const form *fm, const nn_spec *s, int training, int rows)
{
    model f, k;
    model_open(&f, fm, s, fm->b, training, NN_LOWER_FAST);
    model_open(&k, fm, s, fm->b, training, NN_LOWER_KEEP_ALL);
    assert_true(tm_has_step(f.p, fwd_name(fm)));
    if (training) assert_true(tm_has_step(f.p, bwd_name(fm)));
    tm_expect_same_runs(&f, &k, rows, (long)rows * (fm->window ? fm->t : 1) * fm->v, training);
    tm_model_close(&f);
    tm_model_close(&k);
}

static void t_fused_equals_plain(void **state)
{
    (void)state;
    static const form *const forms[] = {&WINDOW, &FLAT, &FLAT_NO_BIAS, &GROUP};
    static const char *const isas[] = {"scalar", "avx2", "avx512"};
    nn_layer l[6];
    for (size_t i = 0; i < sizeof isas / sizeof *isas; i++) {
        if (nn_kernels_select(isas[i]) != 0) continue;
        for (size_t k = 0; k < sizeof forms / sizeof *forms; k++) {
            const form *f = forms[k];
            nn_spec s = make_spec(f, l, 0);
            expect_same(f, &s, 1, f->b);
            expect_same(f, &s, 1, f->b - 3); /* fewer active rows than the plan's */
            expect_same(f, &s, 0, f->b);     /* an evaluation plan: the forward alone */
            s = make_spec(f, l, 0.1);        /* l2 writes the gradients first: the backward adds */
            expect_same(f, &s, 1, f->b);
        }
    }
    nn_kernels_select("scalar");
}

/* the parameters of layers up to *(const int *)ctx: the table, the first linear's */
static int up_to_layer(const nn_param *p, const void *ctx)
{
    return p->layer <= *(const int *)ctx;
}

/* The fused plan's gradients against central differences of its own loss: the table, the
 * first linear's weight and bias. */
static void expect_fd(const form *f)
{
    nn_layer l[6];
    nn_spec s = make_spec(f, l, 0);
    model m;
    model_open(&m, f, &s, f->b, 1, NN_LOWER_FAST);
    assert_true(tm_has_step(m.p, fwd_name(f)) && tm_has_step(m.p, bwd_name(f)));
    int first_linear = f->window ? 1 : 2;
    int checked = tm_check_fd(&m, f->b, up_to_layer, &first_linear, 40, fwd_name(f));
    /* window: 28 table, 35 weight, 7 bias elements; flat: 24 table, 38 weight (+ 7 bias);
     * group: 24 table, 28 weight, 7 bias */
    assert_true(checked >= 59);
    tm_model_close(&m);
}

static void t_fused_grad_fd(void **state)
{
    (void)state;
    expect_fd(&WINDOW);
    expect_fd(&FLAT);
    expect_fd(&FLAT_NO_BIAS);
    expect_fd(&GROUP);
}

/* The `large` benchmark's first layers (context 8 × 64, 27 tokens, out 1024, no bias) at 64
 * rows: the backward's two products run on two threads; the loss and every gradient are the
 * same bits as at one thread. */
static void t_threads_same_bits(void **state)
{
    (void)state;
    static const form big = {27, 8, 64, 1024, 64, 0, 0, 0};
    nn_layer l[6];
    nn_spec s = make_spec(&big, l, 0);
    nn_kernels_select(NULL);
    model m[2];
    for (int k = 0; k < 2; k++) {
        nn_kernels_set_threads(k + 1);
        unsigned long before = nn_threads_worker_tasks();
        model_open(&m[k], &big, &s, big.b, 1, NN_LOWER_FAST);
        assert_true(tm_has_step(m[k].p, bwd_name(&big)));
        nn_plan_forward(m[k].p, big.b);
        nn_plan_backward(m[k].p, big.b);
        if (k && nn_threads_worker_tasks() == before) fail_msg("2 threads: no worker ran");
    }
    nn_kernels_set_threads(1);
    tm_expect_same_bits(&m[0], &m[1]);
    tm_model_close(&m[0]);
    tm_model_close(&m[1]);
    nn_kernels_select("scalar");
}

/* Too few positions for the products to pay (window, one row: 8 < 2·(v + 1); flat, 11 rows
 * < 2·v): the plan runs the ops.  An embedding output another node reads is not fused, nor
 * an embedding with a position table. */
static void t_left_alone(void **state)
{
    (void)state;
    static const form *const forms[] = {&WINDOW, &FLAT};
    nn_layer l[6];
    for (int k = 0; k < 2; k++) {
        const form *f = forms[k];
        nn_spec s = make_spec(f, l, 0);
        model m;
        model_open(&m, f, &s, f->window ? 1 : 11, 1, NN_LOWER_FAST);
        assert_false(tm_has_step(m.p, fwd_name(f)));
        assert_true(tm_has_step(m.p, f->window ? "embedding_window" : "embedding"));
        tm_model_close(&m);
        model_open(&m, f, &s, f->b, 1, NN_LOWER_FAST);
        int bwd[2], lin = f->window ? 1 : 2;
        assert_int_equal(nn_window_linear_match(m.g, 0, bwd), lin);
        assert_true(bwd[0] > 0 && bwd[1] == bwd[0] + 1);
        m.g->n[lin + 1].in[0] = m.g->n[0].out[0]; /* the tanh now reads the embedding too */
        assert_int_equal(nn_window_linear_match(m.g, 0, bwd), 0);
        tm_model_close(&m);
    }
    nn_spec s = make_spec(&FLAT, l, 0);
    l[0].positions = FLAT.t;
    model m;
    model_open(&m, &FLAT, &s, FLAT.b, 1, NN_LOWER_FAST);
    assert_false(tm_has_step(m.p, fwd_name(&FLAT)));
    tm_model_close(&m);
}

int main(void)
{
    nn_threads_strict(1); /* a worker runs each worker's task: the split is proven */
    nn_kernels_select("scalar");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_fused_equals_plain),
        cmocka_unit_test(t_fused_grad_fd),
        cmocka_unit_test(t_threads_same_bits),
        cmocka_unit_test(t_left_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
