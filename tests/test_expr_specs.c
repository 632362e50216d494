/* test_expr_specs.c — formulas at work: the gradients of a graph with a formula activation
 * (learned parameters) and a formula loss against finite differences of the plan's loss;
 * the lesson specs written with formulas against their built-in twins; learned parameters
 * in a run. */
#include "testutil.h"

#include <jansson.h>
#include <math.h>

#include "ir/build.h"
#include "ir/expr.h"
#include "kernels/kernels.h"
#include "parser/expr_parse.h"
#include "runtime/data/rng.h"
#include "runtime/exec/expr_check.h"
#include "runtime/exec/plan.h"

static char tmp[256];

static const char *const ISAS[] = {"scalar", "avx2", "avx512"};
#define FOR_EACH_ISA(K)                                                                            \
    for (size_t isa_ = 0; isa_ < sizeof ISAS / sizeof *ISAS; isa_++)                               \
        for (const nn_kernels *K = nn_kernels_get(ISAS[isa_]); K; K = NULL)

/* ---- the ops in a graph ------------------------------------------------------------------ */

static double loss_at(const nn_plan *p, const nn_graph *g, int rows)
{
    nn_plan_forward(p, rows);
    return *(const float *)nn_plan_ptr(p, g->loss);
}

/* linear(3→5) → formula activation with two learned params → linear(5→1) → formula loss:
 * every parameter's gradient (weights, biases, the learned params) against central
 * differences of the plan's loss, on the active kernel path. */
static void check_graph_grads(int per_unit, int sum)
{
    static const char *const act_vars[] = {"x", "beta", "gamma", NULL};
    static const char *const loss_vars[] = {"s", "y", "m", NULL};
    char msg[200];
    int pos;
    nn_expr_ast act_ast, loss_ast;
    assert_int_equal(nn_expr_parse("x * sigmoid(beta * x) + gamma * x ^ 2", act_vars, &act_ast,
                                   &pos, msg, sizeof msg),
                     0);
    assert_int_equal(
        nn_expr_parse("(s - y) ^ 2 + relu(m - y * s)", loss_vars, &loss_ast, &pos, msg, sizeof msg),
        0);
    nn_arg act_params[2] = {{.name = "beta", .value = 1.3}, {.name = "gamma", .value = 0.2}};
    nn_arg loss_param = {.name = "m", .value = 1.0};
    int learn[2] = {0, 1};
    nn_init inits[2] = {{.kind = NN_INIT_ONES, .scale = 1.3}, {.kind = NN_INIT_ONES, .scale = 0.2}};
    nn_expr_spec act = {.text = "act",
                        .ast = &act_ast,
                        .ninputs = 1,
                        .params = act_params,
                        .nparams = 2,
                        .learn = learn,
                        .nlearn = 2,
                        .per_unit = per_unit,
                        .learn_init = inits};
    nn_expr_spec loss = {
        .text = "loss", .ast = &loss_ast, .ninputs = 2, .params = &loss_param, .nparams = 1};
    nn_layer layers[3];
    memset(layers, 0, sizeof layers);
    layers[0].kind = NN_LAYER_LINEAR, layers[0].out = 5, layers[0].bias = 1;
    layers[1].kind = NN_LAYER_ACTIVATION, layers[1].expr = &act;
    layers[2].kind = NN_LAYER_LINEAR, layers[2].out = 1, layers[2].bias = 1;
    for (int i = 0; i < 3; i++)
        layers[i].mark = (nn_mark){"model.yaml", 10 + i, 5};
    nn_spec s;
    memset(&s, 0, sizeof s);
    s.path = "model.yaml";
    s.layers = layers;
    s.nlayers = 3;
    s.train.loss = NN_LOSS_EXPR;
    s.train.loss_expr = &loss;
    s.train.loss_sum = sum;
    int rows = 6;
    nn_diag *d = nn_diag_new();
    nn_build_opts o = {rows, 1, 1, 1, 3, 3};
    nn_graph *g = nn_build(&s, &o, d);
    if (!g) {
        nn_diag_print(d, stderr);
        fail();
    }
    assert_int_equal(nn_expr_check_graph(g, d), 0);
    nn_diag_free(d);
    nn_params *P = nn_params_new(g, 0);
    nn_plan *p = nn_plan_lower(g, P, NN_LOWER_FAST);
    assert_non_null(p);
    nn_rng r;
    nn_rng_seed(&r, 0, 5);
    for (int i = 0; i < P->n; i++) {
        nn_param *q = &P->p[i];
        if (strstr(q->name, "beta") || strstr(q->name, "gamma")) { /* near their values */
            for (long k = 0; k < q->numel; k++)
                q->data[k] = (strstr(q->name, "beta") ? 1.3f : 0.2f) + 0.05f * (float)k;
        } else {
            nn_rng_randn(&r, q->data, (size_t)q->numel);
        }
    }
    nn_rng_randn(&r, (float *)nn_plan_ptr(p, g->x), (size_t)rows * 3);
    float *y = nn_plan_ptr(p, g->y);
    for (int i = 0; i < rows; i++)
        y[i] = i % 2 ? 1.0f : -1.0f;
    loss_at(p, g, rows);
    nn_plan_backward(p, rows);
    int learned = 0;
    for (int i = 0; i < P->n; i++) {
        nn_param *q = &P->p[i];
        if (q->role != NN_PARAM) continue;
        learned += strstr(q->name, "beta") || strstr(q->name, "gamma");
        if (strstr(q->name, "beta")) assert_int_equal(q->numel, per_unit ? 5 : 1);
        float *analytic = malloc((size_t)q->numel * sizeof *analytic);
        memcpy(analytic, q->grad, (size_t)q->numel * sizeof *analytic);
        for (long k = 0; k < q->numel; k++) {
            float keep = q->data[k];
            const float h = 1e-2f;
            q->data[k] = keep + h;
            double up = loss_at(p, g, rows);
            q->data[k] = keep - h;
            double down = loss_at(p, g, rows);
            q->data[k] = keep;
            double numeric = (up - down) / (2.0 * h);
            if (!tu_close(analytic[k], numeric, 3e-3, 3e-2))
                fail_msg("per_unit %d sum %d: %s[%ld]: analytic %.6g, numeric %.6g", per_unit, sum,
                         q->name, k, analytic[k], numeric);
        }
        free(analytic);
    }
    assert_int_equal(learned, 2);
    nn_plan_free(p);
    nn_params_free(P);
    nn_graph_free(g);
    nn_expr_ast_free(&act_ast);
    nn_expr_ast_free(&loss_ast);
}

static void test_graph_grads(void **state)
{
    (void)state;
    FOR_EACH_ISA(K)
    {
        const nn_kernels *keep = nn_k;
        nn_k = K;
        for (int per = 0; per < 2; per++)
            for (int sum = 0; sum < 2; sum++)
                check_graph_grads(per, sum);
        nn_k = keep;
    }
}

/* ---- specs ------------------------------------------------------------------------------- */

static json_t *run_spec(const char *name, const char *extra)
{
    char args[2048], p[600];
    snprintf(args, sizeof args, "'specs/%s.yaml' %s --out '%s/%s' --force --quiet", name, extra,
             tmp, name);
    if (tu_nnrun(tmp, args) != 0) fail_msg("nnrun %s failed:\n%s", args, tu_captured(tmp, "err"));
    snprintf(p, sizeof p, "%s/%s/summary.json", tmp, name);
    json_error_t e;
    json_t *j = json_load_file(p, 0, &e);
    if (!j) fail_msg("%s: %s", p, e.text);
    return j;
}

static double loss_of(json_t *j, const char *key)
{
    json_t *v = json_object_get(json_object_get(j, "loss"), key);
    if (!json_is_number(v)) fail_msg("summary.json has no number loss.%s", key);
    return json_number_value(v);
}

/* The hinge loss as a formula reaches the built-in hinge's numbers exactly. */
static void test_moons_expr(void **state)
{
    (void)state;
    json_t *a = run_spec("micrograd_moons", ""), *b = run_spec("micrograd_moons_expr", "");
    assert_true(loss_of(a, "step0") == loss_of(b, "step0"));
    assert_true(loss_of(a, "last") == loss_of(b, "last"));
    assert_true(tu_close(loss_of(b, "step0"), 0.8958441028683222, 1e-6, 0));
    json_decref(a);
    json_decref(b);
}

/* Lesson 1's toy MLP with Σ (s − y)² as a formula: 20 steps of lr 0.1 drive the loss down
 * (the lecture's run is unseeded; this one is deterministic). */
static void test_micrograd_toy(void **state)
{
    (void)state;
    json_t *a = run_spec("micrograd_toy", "");
    double first = loss_of(a, "step0"), last = loss_of(a, "last"), train = loss_of(a, "train");
    if (!(first > 1.0 && last < first / 10 && train < last))
        fail_msg("losses: step0 %g, last %g, train %g", first, last, train);
    json_decref(a);
}

/* tanh(x) as a formula trains mlp_bn to the builtin's dev loss (± 0.002) at equal steps. */
static void test_mlp_bn_expr(void **state)
{
    (void)state;
    const char *short_run = "--set train.steps=300 --set eval.every=0 --set sample.count=0 "
                            "--set report.plots=none";
    json_t *a = run_spec("mlp_bn", short_run), *b = run_spec("mlp_bn_expr", short_run);
    double da = loss_of(a, "dev"), db = loss_of(b, "dev");
    if (fabs(da - db) > 0.002) fail_msg("dev loss: builtin %.6f, formula %.6f", da, db);
    json_decref(a);
    json_decref(b);
}

/* The neuron with tanh as (exp(2n) − 1)/(exp(2n) + 1): the lecture's grads. */
static void test_neuron_expr(void **state)
{
    (void)state;
    char args[300];
    snprintf(args, sizeof args, "graph --dot --values specs/neuron_expr.yaml");
    assert_int_equal(tu_nnrun(tmp, args), 0);
    char *out = tu_captured(tmp, "out");
    assert_non_null(strstr(out, "layers.0.weight | param [2, 1] | data -3.0000 1.0000 | grad "
                                "1.0000 0.0000"));
    assert_non_null(strstr(out, "layers.0.out | act [1, 1] | data 0.8814 | grad 0.5000"));
    assert_non_null(strstr(out, "layers.1.out | act [1, 1] | data 0.7071"));
    /* the formula's own DAG, as the lecture draws it: e = exp(2n) with e.grad 0.0429 */
    assert_non_null(strstr(out, "{x | data 0.8814 | grad 0.5000}"));
    assert_non_null(strstr(out, "{exp | data 5.8284 | grad 0.0429}"));
    assert_non_null(strstr(out, "{/ | data 0.7071 | grad 1.0000}"));
    free(out);
}

/* Learned params: one per layer, or one per unit, count as parameters and train. */
static void test_learned_params(void **state)
{
    (void)state;
    char spec[400], args[1024];
    snprintf(spec, sizeof spec, "%s/learn.yaml", tmp);
    for (int per = 0; per < 2; per++) {
        FILE *f = fopen(spec, "w");
        fprintf(f,
                "name: learn\nseed: 1\ndata: {generate: moons, n: 64}\nmodel:\n"
                "  - linear: {out: 8}\n"
                "  - activation: {expr: 'x * sigmoid(beta * x)', params: {beta: 1.0}, "
                "learn: [beta], per: %s}\n"
                "  - linear: {out: 1}\n"
                "train: {steps: 20, batch: full, loss: {expr: 'relu(1 - y * s)'}, lr: 0.5}\n"
                "report: {plots: none}\n",
                per ? "unit" : "layer");
        fclose(f);
        snprintf(args, sizeof args, "check '%s'", spec);
        assert_int_equal(tu_nnrun(tmp, args), 0);
        char *out = tu_captured(tmp, "out"), want[64];
        /* 2·8 + 8 + 8·1 + 1 = 33, plus beta */
        snprintf(want, sizeof want, "(%d parameters", 33 + (per ? 8 : 1));
        if (!strstr(out, want)) fail_msg("check says %s, want %s", out, want);
        free(out);
        snprintf(args, sizeof args, "'%s' --out '%s/learn' --force --quiet", spec, tmp);
        if (tu_nnrun(tmp, args) != 0) fail_msg("%s", tu_captured(tmp, "err"));
    }
}

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmp, sizeof tmp, "/tmp/nnrun-expr-XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_grads),   cmocka_unit_test(test_moons_expr),
        cmocka_unit_test(test_micrograd_toy), cmocka_unit_test(test_mlp_bn_expr),
        cmocka_unit_test(test_neuron_expr),   cmocka_unit_test(test_learned_params),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
