/* test_seq.c — activations with a time axis ([B, T, C], lesson 5): shapes and shape errors of
 * flatten_consecutive, linear and batchnorm on rank 3, every backward against central finite
 * differences (both batchnorm reductions), BatchNorm's per-position running buffers
 * (over: batch), and the fused plan against the keep-everything plan (a view of a fused
 * activation once lost its storage). */
#include "plan_model.h"

#include <math.h>

#include "ir/build.h"
#include "kernels/kernels.h"
#include "runtime/exec/plan.h"

#define V 7
#define T 8

static nn_layer L_simple(nn_layer_kind k, int line)
{
    nn_layer l = {.kind = k};
    l.mark = (nn_mark){"model.yaml", line, 5};
    return l;
}
static nn_layer L_embedding(int dim)
{
    nn_layer l = L_simple(NN_LAYER_EMBEDDING, 10);
    l.dim = dim;
    return l;
}
static nn_layer L_fc(int n, int line)
{
    nn_layer l = L_simple(NN_LAYER_FLATTEN_CONSECUTIVE, line);
    l.n = n;
    return l;
}
static nn_layer L_linear(int out, int bias, int line)
{
    nn_layer l = L_simple(NN_LAYER_LINEAR, line);
    l.out = out;
    l.bias = bias;
    return l;
}
static nn_layer L_bn(int over_batch, int line)
{
    nn_layer l = L_simple(NN_LAYER_BATCHNORM, line);
    l.unbiased = 1;
    l.eps = 1e-5;
    l.momentum = 0.1;
    l.over_batch = over_batch;
    return l;
}

static nn_spec make_spec(nn_layer *layers, int n)
{
    nn_spec s;
    memset(&s, 0, sizeof s);
    s.path = "model.yaml";
    s.layers = layers;
    s.nlayers = n;
    return s;
}

/* The WaveNet of lesson 5 in small: [B, 8, 3] → 3 × [groups of 2, linear, bn, act] → V. */
static int wavenet(nn_layer *l, int over_batch, nn_layer_kind act)
{
    int n = 0;
    l[n++] = L_embedding(3);
    for (int k = 0; k < 3; k++) {
        l[n++] = L_fc(2, 11 + 4 * k);
        l[n++] = L_linear(5, 0, 12 + 4 * k);
        l[n++] = L_bn(over_batch, 13 + 4 * k);
        l[n++] = L_simple(k == 1 ? act : NN_LAYER_TANH, 14 + 4 * k);
    }
    l[n++] = L_linear(0, 1, 30);
    return n;
}

static nn_graph *build(nn_spec *s, int rows, int training, nn_diag *d)
{
    nn_build_opts o = {rows, training, training, V, T, 0, 0};
    return nn_build(s, &o, d);
}

static void expect_dims(const nn_tensor *t, int ndim, int d0, int d1, int d2)
{
    int want[3] = {d0, d1, d2};
    assert_int_equal(t->ndim, ndim);
    for (int i = 0; i < ndim; i++)
        assert_int_equal(t->dim[i], want[i]);
}

static void test_shapes(void **state)
{
    (void)state;
    nn_layer l[16];
    nn_spec s = make_spec(l, wavenet(l, 0, NN_LAYER_TANH));
    nn_diag *d = nn_diag_new();
    nn_graph *g = build(&s, 4, 1, d);
    assert_non_null(g);
    expect_dims(&g->t[g->n[0].out[0]], 3, 4, 8, 3);               /* embedding */
    expect_dims(&g->t[g->n[1].out[0]], 3, 4, 4, 6);               /* groups of 2 */
    expect_dims(&g->t[g->n[2].out[0]], 3, 4, 4, 5);               /* linear over the last axis */
    expect_dims(&g->t[g->n[3].out[0]], 3, 4, 4, 5);               /* batchnorm */
    expect_dims(&g->t[g->n[5].out[0]], 3, 4, 2, 10);              /* groups of 2 again */
    expect_dims(&g->t[g->n[9].out[0]], 2, 4, 10, 0);              /* T/n = 1: squeezed */
    assert_int_equal(g->t[g->n[1].out[0]].alias, g->n[0].out[0]); /* a view */
    /* 7·3 + (6·5 + 2·5) + (10·5 + 2·5) + (10·5 + 2·5) + 5·7 + 7 */
    assert_int_equal(nn_graph_param_count(g), 21 + 40 + 60 + 60 + 42);
    nn_graph_free(g);
    /* over: batch keeps running buffers per position [T', C], gamma and beta per channel */
    s = make_spec(l, wavenet(l, 1, NN_LAYER_TANH));
    g = build(&s, 4, 1, d);
    assert_non_null(g);
    const nn_node *bn = &g->n[3];
    expect_dims(&g->t[bn->in[1]], 1, 5, 0, 0);
    expect_dims(&g->t[bn->in[3]], 2, 4, 5, 0);
    expect_dims(&g->t[g->n[7].in[4]], 2, 2, 5, 0);
    expect_dims(&g->t[g->n[11].in[3]], 1, 5, 0, 0); /* a 2-D input: per channel, as ever */
    nn_graph_free(g);
    nn_diag_free(d);
}

static void expect_error(nn_layer *l, int n, const char *want)
{
    nn_spec s = make_spec(l, n);
    nn_diag *d = nn_diag_new();
    assert_null(build(&s, 4, 1, d));
    assert_int_equal(nn_diag_count(d), 1);
    const char *msg = nn_diag_line(d, 0);
    if (!strstr(msg, want)) fail_msg("got '%s', want '%s'", msg, want);
    nn_diag_free(d);
}

static void test_shape_errors(void **state)
{
    (void)state;
    nn_layer three[] = {L_embedding(3), L_fc(3, 11)};
    expect_error(three, 2,
                 "model.yaml:11:5: error: layer 1 (flatten_consecutive) groups n = 3 consecutive "
                 "positions, but layer 0 (embedding) gives [4, 8, 3]: 8 positions do not split "
                 "into groups of 3, so there is no [4, 8/3, 3·3]");
    nn_layer flat[] = {L_embedding(3), L_simple(NN_LAYER_FLATTEN, 11), L_fc(2, 12)};
    expect_error(flat, 3,
                 "model.yaml:12:5: error: layer 2 (flatten_consecutive) expects a float "
                 "input [batch, time, channels], but layer 1 (flatten) gives [4, 24]");
    nn_layer ids[] = {L_fc(2, 11)};
    expect_error(ids, 1, "but the data gives token ids [4, 8]");
    nn_layer rank3_logits[] = {L_embedding(3), L_linear(0, 1, 12)};
    expect_error(rank3_logits, 2, "[4, 8, 7]");
}

/* ---- gradients and plans ------------------------------------------------------------- */

typedef struct {
    nn_graph *g;
    nn_params *P;
    nn_plan *p;
} model;

static void model_open(model *m, nn_spec *s, int rows, int flags)
{
    nn_diag *d = nn_diag_new();
    m->g = build(s, rows, 1, d);
    if (!m->g) {
        nn_diag_print(d, stderr);
        fail();
    }
    nn_diag_free(d);
    m->P = nn_params_new(m->g, 0);
    m->p = nn_plan_lower(m->g, m->P, flags);
    assert_non_null(m->p);
    nn_rng r;
    nn_rng_seed(&r, 0, 11);
    for (int i = 0; i < m->P->n; i++)
        if (m->P->p[i].role == NN_PARAM)
            nn_rng_randn(&r, m->P->p[i].data, (size_t)m->P->p[i].numel);
    int32_t *x = nn_plan_ptr(m->p, m->g->x), *y = nn_plan_ptr(m->p, m->g->y);
    for (int i = 0; i < rows * T; i++)
        x[i] = (int32_t)nn_rng_randint(&r, V);
    for (int i = 0; i < rows; i++)
        y[i] = (int32_t)nn_rng_randint(&r, V);
}

static void model_close(model *m)
{
    nn_plan_free(m->p);
    nn_params_free(m->P);
    nn_graph_free(m->g);
}

/* The loss of a forward pass; BatchNorm's running buffers are put back (they move). */
static double loss_at(model *m, int rows)
{
    nn_plan_forward(m->p, rows);
    return *(float *)nn_plan_ptr(m->p, m->g->loss);
}

static void check_grads(nn_spec *s, int rows)
{
    model m;
    model_open(&m, s, rows, NN_LOWER_FAST);
    nn_plan_forward(m.p, rows);
    nn_plan_backward(m.p, rows);
    int checked = 0;
    for (int i = 0; i < m.P->n; i++) {
        nn_param *p = &m.P->p[i];
        if (p->role != NN_PARAM) continue;
        float *analytic = malloc((size_t)p->numel * sizeof *analytic);
        memcpy(analytic, p->grad, (size_t)p->numel * sizeof *analytic);
        for (long k = 0; k < p->numel; k += 1 + p->numel / 30) {
            float keep = p->data[k];
            const float h = 1e-2f;
            p->data[k] = keep + h;
            double up = loss_at(&m, rows);
            p->data[k] = keep - h;
            double down = loss_at(&m, rows);
            p->data[k] = keep;
            double numeric = (up - down) / (2.0 * h);
            if (!tu_close(analytic[k], numeric, 2e-3, 2e-2))
                fail_msg("%s[%ld]: analytic %.6g, numeric %.6g", p->name, k, analytic[k], numeric);
            checked++;
        }
        free(analytic);
    }
    assert_true(checked > 40);
    model_close(&m);
}

static void test_grad_over_all(void **state)
{
    (void)state;
    nn_layer l[16];
    nn_spec s = make_spec(l, wavenet(l, 0, NN_LAYER_RELU));
    check_grads(&s, 6);
}

static void test_grad_over_batch(void **state)
{
    (void)state;
    nn_layer l[16];
    nn_spec s = make_spec(l, wavenet(l, 1, NN_LAYER_SIGMOID));
    check_grads(&s, 6);
}

/* linear with a bias on [B, T, C] */
static void test_grad_linear_bias_rank3(void **state)
{
    (void)state;
    nn_layer l[] = {L_embedding(3),     L_fc(4, 11),
                    L_linear(5, 1, 12), L_simple(NN_LAYER_TANH, 13),
                    L_fc(2, 14),        L_linear(0, 1, 15)};
    nn_spec s = make_spec(l, 6);
    check_grads(&s, 5);
}

/* over: batch normalises each (position, channel) over the rows; over: all each channel over
 * rows and positions.  Momentum 1: the running buffers are the batch statistics. */
static void test_batchnorm_reductions(void **state)
{
    (void)state;
    enum { B = 6, TP = 4, C = 5 };
    for (int over_batch = 0; over_batch < 2; over_batch++) {
        nn_layer l[] = {L_embedding(3),       L_fc(2, 11), L_linear(C, 1, 12),
                        L_bn(over_batch, 13), L_fc(4, 14), L_linear(0, 1, 15)};
        l[3].momentum = 1.0;
        nn_spec s = make_spec(l, 6);
        model m;
        model_open(&m, &s, B, NN_LOWER_KEEP_ALL);
        nn_plan_forward(m.p, B);
        const float *h = nn_plan_ptr(m.p, m.g->n[2].out[0]); /* [B, TP, C] */
        nn_param *rmean = nn_params_find(m.P, "layers.3.running_mean");
        nn_param *rvar = nn_params_find(m.P, "layers.3.running_var");
        assert_int_equal(rmean->numel, over_batch ? TP * C : C);
        for (int t = 0; t < (over_batch ? TP : 1); t++)
            for (int c = 0; c < C; c++) {
                double mean = 0, var = 0;
                int n = over_batch ? B : B * TP;
                for (int k = 0; k < n; k++) /* row k: batch row (and position) */
                    mean += h[(over_batch ? k * TP + t : k) * C + c] / n;
                for (int k = 0; k < n; k++) {
                    double e = h[(over_batch ? k * TP + t : k) * C + c] - mean;
                    var += e * e / (n - 1);
                }
                assert_true(tu_close(rmean->data[t * C + c], mean, 1e-5, 1e-4));
                assert_true(tu_close(rvar->data[t * C + c], var, 1e-5, 1e-4));
            }
        model_close(&m);
    }
}

/* The fused plan against the plain one on `rows` rows: the loss and every gradient, the same
 * bits (exact) or within float rounding. */
static void expect_fast_equals_keep_all(nn_spec *s, int rows, int exact)
{
    model fast, keep;
    model_open(&fast, s, rows, NN_LOWER_FAST);
    model_open(&keep, s, rows, NN_LOWER_KEEP_ALL);
    /* the embedding and the first linear as lookups of per-slot products (window_linear.c)
     * once the positions are at least twice the table's rows */
    assert_int_equal(tm_has_step(fast.p, "embedding+linear"), rows * T / 2 >= 2 * V);
    nn_plan_forward(fast.p, rows);
    nn_plan_backward(fast.p, rows);
    nn_plan_forward(keep.p, rows);
    nn_plan_backward(keep.p, rows);
    float lf = *(float *)nn_plan_ptr(fast.p, fast.g->loss);
    float lk = *(float *)nn_plan_ptr(keep.p, keep.g->loss);
    if (exact)
        assert_memory_equal(&lf, &lk, sizeof lf);
    else
        assert_true(tu_close(lf, lk, 1e-6, 1e-6));
    for (int i = 0; i < fast.P->n; i++) {
        const nn_param *a = &fast.P->p[i], *b = &keep.P->p[i];
        if (!a->grad) continue;
        if (exact) assert_memory_equal(a->grad, b->grad, (size_t)a->numel * sizeof(float));
        for (long e = 0; !exact && e < a->numel; e++)
            if (!tu_close(a->grad[e], b->grad[e], 1e-6, 1e-5))
                fail_msg("%s[%ld]: fused %.8g, plain %.8g", a->name, e, a->grad[e], b->grad[e]);
    }
    model_close(&fast);
    model_close(&keep);
}

/* In-place fusion and arena sharing never change what is computed, views of fused tanh
 * included (3 rows: too few positions for the cross-layer fusion, which sums in another
 * order: 8 rows, to float rounding). */
static void test_fused_plan_equals_keep_all(void **state)
{
    (void)state;
    nn_layer l[16];
    for (int over_batch = 0; over_batch < 2; over_batch++) {
        nn_spec s = make_spec(l, wavenet(l, over_batch, NN_LAYER_TANH));
        expect_fast_equals_keep_all(&s, 3, 1);
        expect_fast_equals_keep_all(&s, 8, 0);
    }
}

int main(void)
{
    nn_kernels_select("scalar");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_shape_errors),
        cmocka_unit_test(test_grad_over_all),
        cmocka_unit_test(test_grad_over_batch),
        cmocka_unit_test(test_grad_linear_bias_rank3),
        cmocka_unit_test(test_batchnorm_reductions),
        cmocka_unit_test(test_fused_plan_equals_keep_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
