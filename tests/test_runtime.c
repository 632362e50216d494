/* test_runtime.c — the runtime's pieces against hand-computed values: schedules,
 * optimizers, the new layers and losses.  Numeric data, given inits, the counting bigram and
 * micrograd's demo step 0: test_runtime_data.c.  Specs are built in C, so these tests do
 * not depend on the parser. */
#include "runtime_util.h"

/* ---- schedules ----------------------------------------------------------------------- */

static void test_schedules(void **state)
{
    (void)state;
    nn_lr_spec lr = {.kind = NN_LR_CONSTANT, .value = 0.1};
    NEAR(nn_lr_at(&lr, 7, 10), 0.1, 1e-15);
    long b[1] = {100};
    double v[2] = {0.1, 0.01};
    lr = (nn_lr_spec){.kind = NN_LR_STEPS, .boundaries = b, .values = v, .nboundaries = 1};
    NEAR(nn_lr_at(&lr, 99, 200), 0.1, 0);
    NEAR(nn_lr_at(&lr, 100, 200), 0.01, 0);
    lr = (nn_lr_spec){.kind = NN_LR_EXPONENTIAL, .start = 0.1, .gamma = 0.5};
    NEAR(nn_lr_at(&lr, 2, 10), 0.025, 1e-15);
    lr = (nn_lr_spec){.kind = NN_LR_COSINE, .start = 1, .end = 0.1};
    NEAR(nn_lr_at(&lr, 0, 100), 1, 1e-15);
    NEAR(nn_lr_at(&lr, 50, 100), 0.55, 1e-12);
    NEAR(nn_lr_at(&lr, 100, 100), 0.1, 1e-12);
    /* micrograd's demo: learning_rate = 1.0 − 0.9·k/100 */
    lr = (nn_lr_spec){.kind = NN_LR_LINEAR, .start = 1.0, .end = 0.1};
    for (long k = 0; k < 100; k++)
        NEAR(nn_lr_at(&lr, k, 100), 1.0 - 0.9 * k / 100, 1e-12);
    NEAR(nn_lr_at(&lr, 99, 100), 0.109, 1e-12);
    /* lesson 3's finder: 10^linspace(−3, 0, 1000) visits both ends */
    lr = (nn_lr_spec){.kind = NN_LR_FIND, .start = 1e-3, .end = 1};
    NEAR(nn_lr_at(&lr, 0, 1000), 1e-3, 1e-15);
    NEAR(nn_lr_at(&lr, 999, 1000), 1, 1e-12);
    NEAR(nn_lr_at(&lr, 333, 1000), pow(10, -3 + 3.0 * 333 / 999), 1e-12);
    lr = (nn_lr_spec){.kind = NN_LR_CONSTANT, .value = 0.1, .warmup = 10};
    NEAR(nn_lr_at(&lr, 0, 100), 0.01, 1e-15);
    NEAR(nn_lr_at(&lr, 4, 100), 0.05, 1e-15);
    NEAR(nn_lr_at(&lr, 9, 100), 0.1, 1e-15);
    NEAR(nn_lr_at(&lr, 10, 100), 0.1, 1e-15);
}

/* ---- optimizers ---------------------------------------------------------------------- */

typedef struct {
    nn_params P;
    nn_param p;
    float data[2], grad[2], vel[2], sq[2];
} one_param;

static void one_param_init(one_param *o)
{
    memset(o, 0, sizeof *o);
    o->p.numel = 2;
    o->p.role = NN_PARAM;
    o->p.data = o->data, o->p.grad = o->grad, o->p.velocity = o->vel, o->p.sq = o->sq;
    o->data[0] = 1, o->data[1] = 2;
    o->grad[0] = 0.5f, o->grad[1] = -1;
    o->P.p = &o->p;
    o->P.n = 1;
}

static void test_optimizers(void **state)
{
    (void)state;
    static const char *const isas[] = {"scalar", "avx2"};
    for (int k = 0; k < 2; k++) {
        if (nn_kernels_select(isas[k]) != 0) continue;
        one_param o;
        nn_train_spec t = {0};
        one_param_init(&o);
        o.p.velocity = NULL;
        nn_optim_step(&o.P, &t, 0.1f);
        NEAR(o.data[0], 0.95, 1e-6);
        NEAR(o.data[1], 2.1, 1e-6);

        /* momentum 0.9: v = g, then v = 0.9·g + g */
        one_param_init(&o);
        t.momentum = 0.9;
        nn_optim_step(&o.P, &t, 0.1f);
        nn_optim_step(&o.P, &t, 0.1f);
        NEAR(o.vel[0], 0.95, 1e-6);
        NEAR(o.vel[1], -1.9, 1e-6);
        NEAR(o.data[0], 0.855, 1e-6);
        NEAR(o.data[1], 2.29, 1e-6);

        /* Nesterov: p −= lr·(g + mu·v) with v = g on the first step */
        one_param_init(&o);
        t.nesterov = 1;
        nn_optim_step(&o.P, &t, 0.1f);
        NEAR(o.data[0], 0.905, 1e-6);
        NEAR(o.data[1], 2.19, 1e-6);

        /* Adam: the bias-corrected first steps move every element by lr·sign(g) */
        one_param_init(&o);
        t = (nn_train_spec){.optimizer = NN_OPT_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
        nn_optim_step(&o.P, &t, 0.1f);
        NEAR(o.vel[0], 0.05, 1e-7);
        NEAR(o.sq[1], 0.001, 1e-7);
        NEAR(o.data[0], 0.9, 1e-6);
        NEAR(o.data[1], 2.1, 1e-6);
        nn_optim_step(&o.P, &t, 0.1f);
        /* float32 bias corrections: 1 − 0.999² loses digits to cancellation */
        NEAR(o.data[0], 0.8, 1e-5);
        NEAR(o.data[1], 2.2, 1e-5);
        /* a smaller gradient on step 2 shows the moments: m̂ = (0.09·1 + 0.1·0.25)/0.19 */
        one_param_init(&o);
        nn_optim_step(&o.P, &t, 0.1f);
        o.grad[0] = 0.25f;
        nn_optim_step(&o.P, &t, 0.1f);
        double m = (0.9 * 0.05 + 0.1 * 0.25) / 0.19;
        double vv = (0.999 * 0.001 * 0.25 + 0.001 * 0.0625) / (1 - 0.999 * 0.999);
        NEAR(o.data[0], 0.9 - 0.1 * m / (sqrt(vv) + 1e-8), 1e-5);
        /* AdamW: p −= lr·wd·p before the Adam step */
        one_param_init(&o);
        t.weight_decay = 0.01;
        nn_optim_step(&o.P, &t, 0.1f);
        NEAR(o.data[0], 0.899, 1e-6);
        NEAR(o.data[1], 2.098, 1e-6);
    }
    nn_kernels_select("scalar");
}

/* ---- layers and losses --------------------------------------------------------------- */

static void test_relu_sigmoid_kernels(void **state)
{
    (void)state;
    static const char *const isas[] = {"scalar", "avx2"};
    for (int k = 0; k < 2; k++) {
        const nn_kernels *K = nn_kernels_get(isas[k]);
        if (!K) continue;
        const float x[4] = {-2, 0, 0.5f, 3};
        float y[4], dx[4] = {9, 9, 9, 9};
        K->relu_fwd(4, x, y);
        NEAR(y[0], 0, 0);
        NEAR(y[1], 0, 0);
        NEAR(y[2], 0.5, 0);
        NEAR(y[3], 3, 0);
        K->relu_bwd(4, y, (const float[]){1, 2, 3, 4}, dx, 0);
        NEAR(dx[0], 0, 0);
        NEAR(dx[1], 0, 0);
        NEAR(dx[2], 3, 0);
        NEAR(dx[3], 4, 0);
        K->sigmoid_fwd(4, x, y);
        NEAR(y[0], 0.11920292202211755, 1e-7);
        NEAR(y[1], 0.5, 1e-7);
        NEAR(y[2], 0.6224593312018546, 1e-7);
        NEAR(y[3], 0.9525741268224334, 1e-7);
        K->sigmoid_bwd(4, y, (const float[]){1, 1, 1, 2}, dx, 0);
        NEAR(dx[1], 0.25, 1e-7);
        NEAR(dx[3], 2 * 0.9525741268224334 * 0.0474258731775666, 1e-7);
    }
}


static void test_onehot(void **state)
{
    (void)state;
    nn_layer L[3] = {layer(NN_LAYER_ONEHOT, 10), layer(NN_LAYER_FLATTEN, 11),
                     layer(NN_LAYER_LINEAR, 12)};
    nn_spec s = base_spec();
    s.layers = L, s.nlayers = 3;
    net n;
    net_open(&n, &s, 2, 4, 2, 0);
    int32_t *x = nn_plan_ptr(n.p, n.g->x), *y = nn_plan_ptr(n.p, n.g->y);
    x[0] = 1, x[1] = 3, x[2] = 0, x[3] = 0, y[0] = y[1] = 0;
    nn_plan_forward(n.p, 2);
    const nn_tensor *t = &n.g->t[n.g->n[0].out[0]];
    assert_int_equal(t->ndim, 3);
    assert_int_equal(t->dim[2], 4);
    const float *h = nn_plan_ptr(n.p, n.g->n[0].out[0]);
    static const float want[16] = {0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0};
    for (int i = 0; i < 16; i++)
        NEAR(h[i], want[i], 0);
    net_close(&n);
}

/* Scores s = x·[1, 2]ᵀ + 0.5 for x = [1,0], [0,1], [−1,−1]: 1.5, 2.5, −2.5; y = 1, −1, −1. */
static double score_loss(nn_loss_kind loss, int sum, double *row)
{
    static double w[2] = {1, 2}, b[1] = {0.5};
    nn_layer L[1] = {layer(NN_LAYER_LINEAR, 10)};
    L[0].out = 1, L[0].bias = 1;
    L[0].init = (nn_init){.kind = NN_INIT_VALUES, .values = w, .nvalues = 2, .mark = M(10)};
    L[0].bias_init = (nn_init){.kind = NN_INIT_VALUES, .values = b, .nvalues = 1, .mark = M(10)};
    nn_spec s = base_spec();
    s.layers = L, s.nlayers = 1;
    s.train.loss = loss, s.train.loss_sum = sum;
    net n;
    net_open(&n, &s, 3, 1, 0, 2);
    float *x = nn_plan_ptr(n.p, n.g->x), *y = nn_plan_ptr(n.p, n.g->y);
    const float xs[6] = {1, 0, 0, 1, -1, -1}, ys[3] = {1, -1, -1};
    memcpy(x, xs, sizeof xs), memcpy(y, ys, sizeof ys);
    nn_plan_forward(n.p, 3);
    const float *rl = nn_plan_ptr(n.p, n.g->row_loss);
    for (int i = 0; i < 3; i++)
        row[i] = rl[i];
    double l = *(float *)nn_plan_ptr(n.p, n.g->loss);
    net_close(&n);
    return l;
}

static void test_hinge_mse(void **state)
{
    (void)state;
    double row[3];
    NEAR(score_loss(NN_LOSS_HINGE, 0, row), 3.5 / 3, 1e-6);
    NEAR(row[0], 0, 0);
    NEAR(row[1], 3.5, 1e-6);
    NEAR(row[2], 0, 0);
    NEAR(score_loss(NN_LOSS_HINGE, 1, row), 3.5, 1e-6);
    NEAR(score_loss(NN_LOSS_MSE, 1, row), 14.75, 1e-5);
    NEAR(row[0], 0.25, 1e-6);
    NEAR(row[1], 12.25, 1e-6);
    NEAR(row[2], 2.25, 1e-6);
    NEAR(score_loss(NN_LOSS_MSE, 0, row), 14.75 / 3, 1e-5);
}

/* The last layer must give one score per row; the error names both shapes. */
static void test_score_shape_error(void **state)
{
    (void)state;
    nn_layer L[1] = {layer(NN_LAYER_LINEAR, 10)};
    L[0].out = 2;
    nn_spec s = base_spec();
    s.layers = L, s.nlayers = 1;
    s.train.loss = NN_LOSS_HINGE;
    nn_diag *d = nn_diag_new();
    nn_build_opts o = {4, 1, 1, 1, 0, 2};
    assert_null(nn_build(&s, &o, d));
    expect_error(d, "spec.yaml:10:5: error: hinge needs one score per row [batch, 1]", "[4, 2]");
    assert_non_null(strstr(nn_diag_line(d, 0), "targets [4]"));
    nn_diag_free(d);
}

/* ---- data ---------------------------------------------------------------------------- */

int main(void)
{
    nn_kernels_select("scalar");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedules),
        cmocka_unit_test(test_optimizers),
        cmocka_unit_test(test_relu_sigmoid_kernels),
        cmocka_unit_test(test_onehot),
        cmocka_unit_test(test_hinge_mse),
        cmocka_unit_test(test_score_shape_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
