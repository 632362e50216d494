/* test_ir.c — shape inference, shape errors, and every op's backward against central
 * finite differences of the loss, through the whole graph → plan → kernels path. */
#include "testutil.h"

#include <math.h>

#include "ir/build.h"
#include "kernels/kernels.h"
#include "runtime/exec/plan.h"

#define V 7
#define T 3

static nn_layer L_embedding(int dim)
{
    nn_layer l = {.kind = NN_LAYER_EMBEDDING, .dim = dim};
    l.mark = (nn_mark){"model.yaml", 10, 5};
    return l;
}
static nn_layer L_simple(nn_layer_kind k, int line)
{
    nn_layer l = {.kind = k};
    l.mark = (nn_mark){"model.yaml", line, 5};
    return l;
}
static nn_layer L_linear(int out, int bias, int line)
{
    nn_layer l = L_simple(NN_LAYER_LINEAR, line);
    l.out = out;
    l.bias = bias;
    return l;
}
static nn_layer L_bn(int unbiased, double eps, int running_std, int line)
{
    nn_layer l = L_simple(NN_LAYER_BATCHNORM, line);
    l.unbiased = unbiased;
    l.eps = eps;
    l.momentum = 0.1;
    l.running_std = running_std;
    return l;
}

static nn_layer L_rnn(int gru, int hidden, int line)
{
    nn_layer l = L_simple(NN_LAYER_RECURRENT, line);
    l.cell = gru ? NN_CELL_GRU : NN_CELL_RNN;
    l.hidden = hidden;
    return l;
}

static nn_spec make_spec(nn_layer *layers, int n, double l2)
{
    nn_spec s;
    memset(&s, 0, sizeof s);
    s.path = "model.yaml";
    s.layers = layers;
    s.nlayers = n;
    s.train.l2 = l2;
    return s;
}

static void test_shapes(void **state)
{
    (void)state;
    nn_layer layers[] = {L_embedding(10),   L_simple(NN_LAYER_FLATTEN, 11), L_linear(200, 0, 12),
                         L_bn(1, 0, 1, 13), L_simple(NN_LAYER_TANH, 14),    L_linear(0, 1, 15)};
    nn_spec s = make_spec(layers, 6, 0);
    nn_diag *d = nn_diag_new();
    nn_build_opts o = {32, 1, 1, 27, 3, 0, 0};
    nn_graph *g = nn_build(&s, &o, d);
    assert_non_null(g);
    assert_int_equal(nn_diag_count(d), 0);
    const nn_tensor *z = &g->t[g->logits];
    assert_int_equal(z->ndim, 2);
    assert_int_equal(z->dim[0], 32);
    assert_int_equal(z->dim[1], 27);
    /* lesson 4's BatchNorm MLP: 27·10 + 30·200 + 2·200 + 200·27 + 27 */
    assert_int_equal(nn_graph_param_count(g), 12097);
    /* the flatten output is a view of the embedding output */
    int flat = g->n[1].out[0];
    assert_int_equal(g->t[flat].alias, g->n[0].out[0]);
    assert_int_equal(g->t[flat].dim[1], 30);
    assert_true(g->nn > g->nfwd); /* backward appended */
    nn_graph_free(g);
    nn_diag_free(d);
}

static void expect_shape_error(nn_layer *layers, int n, int line, const char *needle)
{
    nn_spec s = make_spec(layers, n, 0);
    nn_diag *d = nn_diag_new();
    nn_build_opts o = {4, 1, 1, V, T, 0, 0};
    nn_graph *g = nn_build(&s, &o, d);
    assert_null(g);
    assert_int_equal(nn_diag_count(d), 1);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "model.yaml:%d:5: error: ", line);
    const char *msg = nn_diag_line(d, 0);
    if (strncmp(msg, prefix, strlen(prefix)) != 0 || !strstr(msg, needle))
        fail_msg("got '%s', want '%s...%s'", msg, prefix, needle);
    nn_diag_free(d);
}

static void test_shape_errors(void **state)
{
    (void)state;
    nn_layer no_flatten[] = {L_embedding(4), L_linear(5, 1, 12)};
    /* linear runs over the last axis of [B, T, C]: the logits keep the time axis */
    expect_shape_error(no_flatten, 2, 12, "cross_entropy needs logits [batch, 7] (one per token "
                                          "of the vocabulary), but the model's last layer gives "
                                          "[4, 3, 5]");
    nn_layer no_embedding[] = {L_linear(5, 1, 11)};
    expect_shape_error(no_embedding, 1, 11, "expects float features, but its input is token ids");
    nn_layer wrong_out[] = {L_embedding(4), L_simple(NN_LAYER_FLATTEN, 11), L_linear(5, 1, 12)};
    expect_shape_error(wrong_out, 3, 12, "cross_entropy needs logits [batch, 7]");
    nn_layer late_embedding[] = {L_embedding(4), L_simple(NN_LAYER_FLATTEN, 11), L_embedding(3)};
    late_embedding[2].mark.line = 13;
    expect_shape_error(late_embedding, 3, 13, "layer 2 (embedding) expects token ids");
    nn_layer flat_rnn[] = {L_embedding(4), L_simple(NN_LAYER_FLATTEN, 11), L_rnn(1, 6, 12)};
    expect_shape_error(flat_rnn, 3, 12,
                       "layer 2 (recurrent) expects a sequence [batch, positions, features], but "
                       "layer 1 (flatten) gives [4, 12]");
}

/* ---- gradient check ------------------------------------------------------------------ */

static int lower_flags = NN_LOWER_FAST; /* gradient checks run the fused, memory-shared plan */

typedef struct {
    nn_graph *g;
    nn_params *P;
    nn_plan *p;
    int rows;
} model;

#define F 3 /* features of the numeric-input models */

/* features > 0: float inputs x [rows, F]; the targets follow the spec's loss (class ids,
 * ±1 for hinge, normal draws for mse). */
static void model_open_f(model *m, nn_spec *s, int rows, int features)
{
    nn_diag *d = nn_diag_new();
    nn_build_opts o = {rows, 1, 1, V, T, features, 0};
    m->g = nn_build(s, &o, d);
    if (!m->g) {
        nn_diag_print(d, stderr);
        fail();
    }
    nn_diag_free(d);
    m->P = nn_params_new(m->g, 0);
    m->p = nn_plan_lower(m->g, m->P, lower_flags);
    assert_non_null(m->p);
    m->rows = rows;
    nn_rng r;
    nn_rng_seed(&r, 0, 7);
    /* every parameter random (ones/zeros would hide errors in gamma/beta gradients) */
    for (int i = 0; i < m->P->n; i++)
        if (m->P->p[i].role == NN_PARAM)
            nn_rng_randn(&r, m->P->p[i].data, (size_t)m->P->p[i].numel);
    int32_t *x = nn_plan_ptr(m->p, m->g->x), *y = nn_plan_ptr(m->p, m->g->y);
    if (features > 0)
        nn_rng_randn(&r, (float *)x, (size_t)rows * (size_t)features);
    else
        for (int i = 0; i < rows * T; i++)
            x[i] = (int32_t)nn_rng_randint(&r, V);
    float *fy = (float *)y;
    for (int i = 0; i < rows; i++) {
        if (s->train.loss == NN_LOSS_CROSS_ENTROPY)
            y[i] = (int32_t)nn_rng_randint(&r, V);
        else if (s->train.loss == NN_LOSS_HINGE)
            fy[i] = nn_rng_randint(&r, 2) ? 1.0f : -1.0f;
        else
            nn_rng_randn(&r, fy + i, 1);
    }
}

static void model_open(model *m, nn_spec *s, int rows)
{
    model_open_f(m, s, rows, 0);
}

static void model_close(model *m)
{
    nn_plan_free(m->p);
    nn_params_free(m->P);
    nn_graph_free(m->g);
}

static double loss_at(model *m)
{
    nn_plan_forward(m->p, m->rows);
    return *(float *)nn_plan_ptr(m->p, m->g->loss);
}

/* Analytic gradient of every parameter element against (L(p+h) − L(p−h)) / 2h. */
static void check_grads_f(nn_spec *s, int rows, int features)
{
    model m;
    model_open_f(&m, s, rows, features);
    nn_plan_forward(m.p, rows);
    nn_plan_backward(m.p, rows);
    int checked = 0;
    for (int i = 0; i < m.P->n; i++) {
        nn_param *p = &m.P->p[i];
        if (p->role != NN_PARAM) continue;
        float *analytic = malloc((size_t)p->numel * sizeof *analytic);
        memcpy(analytic, p->grad, (size_t)p->numel * sizeof *analytic);
        for (long k = 0; k < p->numel; k += 1 + p->numel / 40) {
            float keep = p->data[k];
            const float h = 1e-2f;
            p->data[k] = keep + h;
            double up = loss_at(&m);
            p->data[k] = keep - h;
            double down = loss_at(&m);
            p->data[k] = keep;
            double numeric = (up - down) / (2.0 * h);
            if (!tu_close(analytic[k], numeric, 2e-3, 2e-2))
                fail_msg("%s[%ld]: analytic %.6g, numeric %.6g", p->name, k, analytic[k], numeric);
            checked++;
        }
        free(analytic);
    }
    assert_true(checked > 10);
    model_close(&m);
}

static void check_grads(nn_spec *s, int rows)
{
    check_grads_f(s, rows, 0);
}

static void test_grad_embedding_linear(void **state)
{
    (void)state;
    nn_layer layers[] = {L_embedding(4), L_simple(NN_LAYER_FLATTEN, 11), L_linear(0, 1, 12)};
    nn_spec s = make_spec(layers, 3, 0);
    check_grads(&s, 8);
}

/* backpropagation through time over T positions, both cells; with l2 the weights'
 * gradients are added onto the l2 term's (the accumulate bits) */
static void test_grad_recurrent(void **state)
{
    (void)state;
    for (int gru = 0; gru < 2; gru++)
        for (int l2 = 0; l2 < 2; l2++) {
            nn_layer layers[] = {L_embedding(4), L_rnn(gru, 5, 11), L_simple(NN_LAYER_FLATTEN, 12),
                                 L_linear(0, 1, 13)};
            nn_spec s = make_spec(layers, 4, l2 ? 0.1 : 0);
            check_grads(&s, 8);
        }
}

static void test_grad_tanh_mlp(void **state)
{
    (void)state;
    nn_layer layers[] = {L_embedding(4), L_simple(NN_LAYER_FLATTEN, 11), L_linear(9, 1, 12),
                         L_simple(NN_LAYER_TANH, 13), L_linear(0, 0, 14)};
    nn_spec s = make_spec(layers, 5, 0);
    check_grads(&s, 8);
}

static void test_grad_batchnorm_unbiased_std(void **state)
{
    (void)state;
    nn_layer layers[] = {L_embedding(4),    L_simple(NN_LAYER_FLATTEN, 11), L_linear(9, 0, 12),
                         L_bn(1, 0, 1, 13), L_simple(NN_LAYER_TANH, 14),    L_linear(0, 1, 15)};
    nn_spec s = make_spec(layers, 6, 0);
    check_grads(&s, 8);
}

static void test_grad_batchnorm_biased_eps(void **state)
{
    (void)state;
    nn_layer layers[] = {L_embedding(4),       L_simple(NN_LAYER_FLATTEN, 11), L_linear(9, 0, 12),
                         L_bn(0, 1e-5, 0, 13), L_simple(NN_LAYER_TANH, 14),    L_linear(0, 0, 15),
                         L_bn(0, 1e-5, 0, 16)};
    nn_spec s = make_spec(layers, 7, 0);
    check_grads(&s, 8);
}

static void test_grad_l2(void **state)
{
    (void)state;
    nn_layer layers[] = {L_embedding(4), L_simple(NN_LAYER_FLATTEN, 11), L_linear(0, 1, 12)};
    nn_spec s = make_spec(layers, 3, 0.5);
    check_grads(&s, 8);
}

static void test_grad_relu_sigmoid(void **state)
{
    (void)state;
    nn_layer relu[] = {L_embedding(4), L_simple(NN_LAYER_FLATTEN, 11), L_linear(9, 1, 12),
                       L_simple(NN_LAYER_RELU, 13), L_linear(0, 1, 14)};
    nn_spec s = make_spec(relu, 5, 0);
    check_grads(&s, 8);
    nn_layer sigmoid[] = {L_embedding(4), L_simple(NN_LAYER_FLATTEN, 11), L_linear(9, 1, 12),
                          L_simple(NN_LAYER_SIGMOID, 13), L_linear(0, 1, 14)};
    s = make_spec(sigmoid, 5, 0);
    check_grads(&s, 8);
}

/* onehot → flatten → linear: the weight's gradient is the scatter of dlogits */
static void test_grad_onehot_linear(void **state)
{
    (void)state;
    nn_layer layers[] = {L_simple(NN_LAYER_ONEHOT, 10), L_simple(NN_LAYER_FLATTEN, 11),
                         L_linear(0, 1, 12)};
    nn_spec s = make_spec(layers, 3, 0);
    check_grads(&s, 8);
}

static void test_grad_hinge_mse(void **state)
{
    (void)state;
    nn_layer layers[] = {L_linear(5, 1, 12), L_simple(NN_LAYER_TANH, 13), L_linear(1, 1, 14)};
    nn_spec s = make_spec(layers, 3, 0);
    for (int sum = 0; sum < 2; sum++) {
        s.train.loss_sum = sum;
        s.train.loss = NN_LOSS_HINGE;
        check_grads_f(&s, 8, F);
        s.train.loss = NN_LOSS_MSE;
        check_grads_f(&s, 8, F);
    }
}

/* micrograd's regulariser: λ·Σ p² over every parameter; and Σ over the weights only */
static void test_grad_l2_sum_all(void **state)
{
    (void)state;
    nn_layer layers[] = {L_embedding(4), L_simple(NN_LAYER_FLATTEN, 11), L_linear(0, 1, 12)};
    nn_spec s = make_spec(layers, 3, 0.05);
    s.train.l2_reduce = NN_L2_SUM;
    s.train.l2_all = 1;
    check_grads(&s, 8);
    s.train.l2_all = 0;
    check_grads(&s, 8);
    s.train.l2_reduce = NN_L2_MEAN;
    s.train.l2_all = 1;
    check_grads(&s, 8);
}

/* Eval mode uses the running statistics the training forward keeps. */
static void test_batchnorm_running_stats(void **state)
{
    (void)state;
    nn_layer layers[] = {L_embedding(4), L_simple(NN_LAYER_FLATTEN, 11), L_linear(0, 0, 12),
                         L_bn(1, 0, 1, 13)};
    layers[3].momentum = 1.0; /* running = the last batch's statistics */
    nn_spec s = make_spec(layers, 4, 0);
    model m;
    lower_flags = NN_LOWER_KEEP_ALL; /* the test reads an intermediate activation */
    model_open(&m, &s, 8);
    lower_flags = NN_LOWER_FAST;
    nn_plan_forward(m.p, 8);
    nn_param *rstd = nn_params_find(m.P, "layers.3.running_std");
    nn_param *rmean = nn_params_find(m.P, "layers.3.running_mean");
    assert_non_null(rstd);
    assert_non_null(rmean);
    const float *h = nn_plan_ptr(m.p, m.g->n[2].out[0]);
    for (int j = 0; j < V; j++) {
        double mean = 0, var = 0;
        for (int i = 0; i < 8; i++)
            mean += h[i * V + j] / 8.0;
        for (int i = 0; i < 8; i++)
            var += (h[i * V + j] - mean) * (h[i * V + j] - mean) / 7.0;
        assert_true(tu_close(rmean->data[j], mean, 1e-5, 1e-4));
        assert_true(tu_close(rstd->data[j], sqrt(var), 1e-5, 1e-4));
    }
    model_close(&m);
}

/* Fusion and arena sharing change where tensors live, never what is computed. */
static void test_plan_fusion_and_reuse(void **state)
{
    (void)state;
    nn_layer layers[] = {L_embedding(4),
                         L_simple(NN_LAYER_FLATTEN, 11),
                         L_linear(9, 1, 12),
                         L_simple(NN_LAYER_TANH, 13),
                         L_linear(16, 0, 14),
                         L_bn(1, 0, 1, 15),
                         L_simple(NN_LAYER_TANH, 16),
                         L_linear(0, 1, 17)};
    nn_spec s = make_spec(layers, 8, 0);
    model fast, keep;
    model_open(&fast, &s, 8);
    lower_flags = NN_LOWER_KEEP_ALL;
    model_open(&keep, &s, 8);
    lower_flags = NN_LOWER_FAST;
    /* linear+tanh, batchnorm+tanh, cross-entropy+grad, and two fused backward pairs */
    int fused = 0;
    for (int i = 0; i < fast.p->nsteps; i++)
        fused += fast.p->steps[i].nsub > 0;
    assert_int_equal(fused, 5);
    assert_true(fast.p->nsteps < keep.p->nsteps);
    assert_true(fast.p->arena_bytes < keep.p->arena_bytes);
    nn_plan_forward(fast.p, 8);
    nn_plan_backward(fast.p, 8);
    float lf = *(float *)nn_plan_ptr(fast.p, fast.g->loss);
    nn_plan_forward(keep.p, 8);
    nn_plan_backward(keep.p, 8);
    float lk = *(float *)nn_plan_ptr(keep.p, keep.g->loss);
    assert_memory_equal(&lf, &lk, sizeof lf);
    for (int i = 0; i < fast.P->n; i++)
        if (fast.P->p[i].grad)
            assert_memory_equal(fast.P->p[i].grad, keep.P->p[i].grad,
                                (size_t)fast.P->p[i].numel * sizeof(float));
    model_close(&fast);
    model_close(&keep);
}

int main(void)
{
    nn_kernels_select("scalar");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_shape_errors),
        cmocka_unit_test(test_grad_recurrent),
        cmocka_unit_test(test_grad_embedding_linear),
        cmocka_unit_test(test_grad_tanh_mlp),
        cmocka_unit_test(test_grad_batchnorm_unbiased_std),
        cmocka_unit_test(test_grad_batchnorm_biased_eps),
        cmocka_unit_test(test_grad_l2),
        cmocka_unit_test(test_batchnorm_running_stats),
        cmocka_unit_test(test_plan_fusion_and_reuse),
        cmocka_unit_test(test_grad_relu_sigmoid),
        cmocka_unit_test(test_grad_onehot_linear),
        cmocka_unit_test(test_grad_hinge_mse),
        cmocka_unit_test(test_grad_l2_sum_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
