/* test_expr.c — formulas (the expressions issue): malformed formulas give an error at the
 * exact column and exit 2; the formula machine on every ISA against the scalar reference;
 * the gradient of every function and operator against finite differences, edges included
 * (relu at 0, log near 0, pow with a negative base).  Formulas in a graph and the lesson
 * specs: test_expr_specs.c. */
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir/build.h"
#include "ir/expr.h"
#include "kernels/kernels.h"
#include "parser/expr_parse.h"
#include "runtime/exec/expr_check.h"
#include "runtime/exec/gradcheck_fd.h"
#include "runtime/exec/plan.h"
#include "runtime/data/rng.h"

static char tmp[256];

static const char *const ISAS[] = {"scalar", "avx2", "avx512"};
#define FOR_EACH_ISA(K)                                                                            \
    for (size_t isa_ = 0; isa_ < sizeof ISAS / sizeof *ISAS; isa_++)                               \
        for (const nn_kernels *K = nn_kernels_get(ISAS[isa_]); K; K = NULL)

/* ---- malformed formulas ------------------------------------------------------------------ */

/* A spec whose line 10 is `  - activation: {expr: 'F'}`: F's first character is column 25. */
static void write_spec(const char *path, const char *formula, const char *params)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "name: bad\n"
            "data:\n"
            "  inline:\n"
            "    x: [[2.0, 0.0], [1.0, 1.0]]\n"
            "    y: [1.0, -1.0]\n"
            "train: {steps: 1, batch: full, loss: hinge}\n"
            "report: {plots: none}\n"
            "model:\n"
            "  - linear: {out: 1}\n"
            "  - activation: {expr: '%s'%s}\n",
            formula, params);
    fclose(f);
}

typedef struct {
    const char *formula, *params;
    int pos; /* 0-based offset of the blamed character */
    const char *msg;
} bad_case;

static void check_bad(const bad_case *c)
{
    char spec[400], args[1024], want[64];
    snprintf(spec, sizeof spec, "%s/bad.yaml", tmp);
    write_spec(spec, c->formula, c->params);
    snprintf(args, sizeof args, "check '%s'", spec);
    int rc = tu_nnrun(tmp, args);
    char *err = tu_captured(tmp, "err");
    snprintf(want, sizeof want, "bad.yaml:10:%d: error: ", 25 + c->pos);
    if (rc != 2 || !strstr(err, want) || !strstr(err, c->msg))
        fail_msg("formula '%.40s': exit %d, want 2 and '%s' ... '%s'; stderr:\n%.600s", c->formula,
                 rc, want, c->msg, err);
    free(err);
}

static void test_bad_formulas(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"tanh(x", "", 4, "'(' is never closed"},
        {"(x + 1", "", 0, "'(' is never closed"},
        {"x + 1)", "", 5, "')' without '('"},
        {"tanhh(x)", "", 0, "unknown function 'tanhh' (did you mean 'tanh'?)"},
        {"x * z", "", 4, "unknown variable 'z'"},
        {"betta * x", ", params: {beta: 1.0}", 0, "(did you mean 'beta'?)"},
        {"x ^", "", 2, "'^' needs an exponent"},
        {"", "", 0, "the formula is empty"},
        {"x +* 2", "", 3, "expected a number, a variable"},
        {"2 ** x", "", 3, "'**' is not an operator"},
        {"max(x)", "", 5, "max() takes 2 arguments, got 1"},
        {"exp(x, 1)", "", 5, "exp() takes 1 argument"},
        {"x $ 2", "", 2, "unexpected character '$'"},
        {"sigmoid", "", 0, "'sigmoid' is a function"},
        {"x x", "", 2, "expected an operator, got 'x'"},
        {"()", "", 1, "expected a number, a variable"},
        {"tanh(x) +", "", 8, "'+' needs an operand"},
        {"relu(x))", "", 7, "')' without '('"},
        {"2 × x", "", 2, "unexpected character '×'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_bad(&cases[i]);
}

/* 10^5 nested parentheses / minus signs: an error at the first past the depth limit. */
static void test_deep_nesting(void **state)
{
    (void)state;
    enum { N = 100000 };
    char *f = malloc(2 * N + 2);
    assert_non_null(f);
    memset(f, '(', N);
    f[N] = 'x';
    memset(f + N + 1, ')', N);
    f[2 * N + 1] = 0;
    bad_case c = {f, "", NN_EXPR_MAX_DEPTH, "nests deeper than"};
    check_bad(&c);
    memset(f, '-', N);
    f[N] = 'x';
    f[N + 1] = 0;
    check_bad(&c);
    free(f);
}

/* A whole spec: `nnrun check` exits 2 with `want` (FILE:LINE:COL: error: ...) and msg. */
static void check_spec_error(const char *text, const char *want, const char *msg)
{
    char spec[400], args[1024];
    snprintf(spec, sizeof spec, "%s/bad2.yaml", tmp);
    FILE *f = fopen(spec, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    snprintf(args, sizeof args, "check '%s'", spec);
    int rc = tu_nnrun(tmp, args);
    char *err = tu_captured(tmp, "err");
    if (rc != 2 || !strstr(err, want) || !strstr(err, msg))
        fail_msg("exit %d, want 2 and '%s' ... '%s'; stderr:\n%.600s", rc, want, msg, err);
    free(err);
}

#define HEAD                                                                                       \
    "name: bad\ndata:\n  inline:\n    x: [[2.0, 0.0], [1.0, 1.0]]\n    y: [1.0, -1.0]\n"           \
    "report: {plots: none}\n"

/* The keys around formulas: loss formulas, double quotes, params, learn, per. */
static void test_bad_formula_keys(void **state)
{
    (void)state;
    /* line 7: the loss formula in a flow map; 'q' is not s or y */
    check_spec_error(HEAD "model: [{linear: {out: 1}}]\n"
                          "train: {steps: 1, loss: {expr: 'relu(1 - q * s)'}}\n",
                     "bad2.yaml:8:42: error: ", "unknown variable 'q'");
    /* double-quoted formula without escapes: columns still exact */
    check_spec_error(HEAD
                     "model:\n  - linear: {out: 1}\n  - activation: {expr: \"tanh(x) + foo(x)\"}\n"
                     "train: {steps: 1, loss: hinge}\n",
                     "bad2.yaml:9:35: error: ", "unknown function 'foo'");
    /* plain (unquoted) block scalar */
    check_spec_error(HEAD "model:\n  - linear: {out: 1}\n  - activation:\n      expr: x * (x + 1\n"
                          "train: {steps: 1, loss: hinge}\n",
                     "bad2.yaml:10:17: error: ", "'(' is never closed");
    check_spec_error(HEAD
                     "model:\n  - linear: {out: 1}\n"
                     "  - activation: {expr: 'x * beta', params: {beta: 1.0}, learn: [gamma]}\n"
                     "train: {steps: 1, loss: hinge}\n",
                     "bad2.yaml:9:65: error: ", "'gamma' in 'model.1.activation.learn' is not one");
    check_spec_error(HEAD "model:\n  - linear: {out: 1}\n"
                          "  - activation: {expr: 'x', params: {x: 1.0}}\n"
                          "train: {steps: 1, loss: hinge}\n",
                     "bad2.yaml:9:38: error: ", "must be an identifier other than");
    check_spec_error(HEAD "model:\n  - linear: {out: 1}\n"
                          "  - activation: {expr: 'x', per: neuron}\n"
                          "train: {steps: 1, loss: hinge}\n",
                     "bad2.yaml:9:34: error: ", "'neuron'");
    check_spec_error(HEAD "model:\n  - linear: {out: 1}\n"
                          "  - activation: {expr: 'x', lern: [beta]}\n"
                          "train: {steps: 1, loss: hinge}\n",
                     "bad2.yaml:9:29: error: ", "(did you mean 'learn'?)");
    check_spec_error(HEAD "model:\n  - linear: {out: 1}\n"
                          "  - activation: {expr: [x]}\n"
                          "train: {steps: 1, loss: hinge}\n",
                     "bad2.yaml:9:24: error: ", "expected a formula (a string)");
    check_spec_error(HEAD "model: [{linear: {out: 1}}]\n"
                          "train: {steps: 1, loss: {expr: 's', reduce: all}}\n",
                     "bad2.yaml:8:45: error: ", "'all'");
    /* text data: a formula loss needs numeric targets */
    char text[4400];
    snprintf(text, sizeof text,
             "name: bad\ndata: {source: '%s'}\n"
             "model: [{embedding: {dim: 2}}, flatten, {linear: {}}]\n"
             "train: {steps: 1, loss: {expr: '(s - y)^2'}}\n",
             tu_path("examples/data/names.txt"));
    check_spec_error(text, "bad2.yaml:4:", "a formula loss needs numeric targets");
}

/* The reusable check catches a wrong derivative, and tolerates a kink. */
static int wrong_grad(void *ctx, const double *x, double *value, double *grad)
{
    (void)ctx;
    *value = x[0] * x[0] + 3 * x[1];
    if (grad) grad[0] = 2 * x[0], grad[1] = 2.0; /* should be 3 */
    return 0;
}

static int kink(void *ctx, const double *x, double *value, double *grad)
{
    (void)ctx;
    *value = x[0] > 0 ? x[0] : 0;
    if (grad) grad[0] = x[0] > 0;
    return 0;
}

static void test_gradcheck_fd(void **state)
{
    (void)state;
    nn_fd_fail f;
    double p[2] = {0.7, -1.2}, z = 0;
    assert_int_equal(nn_gradcheck_fd(wrong_grad, NULL, 2, p, 1e-6, 1e-5, &f), 1);
    assert_int_equal(f.index, 1);
    assert_true(tu_close(f.numeric, 3.0, 1e-6, 0));
    assert_int_equal(nn_gradcheck_fd(kink, NULL, 1, &z, 1e-6, 1e-5, &f), 0);
}

/* ---- the DAG, its derivative and the machine ---------------------------------------------- */

typedef struct {
    nn_expr_spec spec;
    nn_expr_ast ast;
    nn_arg param;
    int learn;
    nn_init init;
    nn_expr *x;
} formula;

/* An activation formula over x (and beta = 1.5, learned when `learn`). */
static void formula_new(formula *f, const char *text, int learn)
{
    memset(f, 0, sizeof *f);
    static const char *const vars[] = {"x", "beta", NULL};
    char msg[200];
    int pos;
    if (nn_expr_parse(text, vars, &f->ast, &pos, msg, sizeof msg) != 0)
        fail_msg("'%s': %s at %d", text, msg, pos);
    f->spec.text = (char *)text;
    f->spec.ast = &f->ast;
    f->spec.ninputs = 1;
    f->param = (nn_arg){.name = "beta", .value = 1.5};
    f->spec.params = &f->param;
    f->spec.nparams = 1;
    f->learn = 0;
    if (learn) {
        f->spec.learn = &f->learn;
        f->spec.nlearn = 1;
        f->spec.learn_init = &f->init;
    }
    f->x = nn_expr_build(&f->spec, 1, msg, sizeof msg);
    if (!f->x) fail_msg("'%s': %s", text, msg);
}

static void formula_free(formula *f)
{
    nn_expr_free(f->x);
    nn_expr_ast_free(&f->ast);
}

static int eval_fd(void *ctx, const double *p, double *value, double *grad)
{
    const nn_expr *x = ctx;
    double slots[NN_VM_MAX_IO] = {0}, *v = malloc((size_t)x->nn * sizeof *v);
    for (int k = 0; k < x->nwrt; k++)
        slots[x->wrt_slot[k]] = p[k];
    slots[x->seed] = 1;
    nn_expr_eval(x, slots, v);
    *value = v[x->root];
    for (int k = 0; grad && k < x->nwrt; k++)
        grad[k] = v[x->grad[k]];
    free(v);
    return 0;
}

/* The analytic gradient at (x, beta) in double. */
static double grad_at(const nn_expr *x, double at, int k)
{
    double p[2] = {at, 1.5}, v, g[2];
    eval_fd((void *)x, p, &v, g);
    return g[k];
}

static void test_grad_every_function(void **state)
{
    (void)state;
    static const struct {
        const char *f;
        double lo, hi; /* sample range */
    } fs[] = {
        {"x + 2", -3, 3},
        {"3 - x", -3, 3},
        {"x * x", -3, 3},
        {"1 / x", 0.2, 3},
        {"-1 / x", -3, -0.2},
        {"x ^ 3", -3, 3},
        {"x ^ -2", -3, -0.3},
        {"2 ^ x", -3, 3},
        {"x ^ x", 0.2, 3},
        {"x ^ 0.5", 0.1, 3},
        {"exp(x)", -3, 3},
        {"log(x)", 1e-3, 3},
        {"tanh(x)", -3, 3},
        {"sigmoid(x)", -6, 6},
        {"relu(x)", -3, 3},
        {"abs(x)", -3, 3},
        {"sqrt(x)", 1e-2, 3},
        {"min(x, 0.5)", -3, 3},
        {"max(x, 0.5)", -3, 3},
        {"-x", -3, 3},
        {"(exp(2*x) - 1) / (exp(2*x) + 1)", -3, 3},
        {"x * sigmoid(beta * x)", -3, 3},
        {"beta ^ x + log(beta * x * x)", 0.1, 2},
        {"relu(1 - x * beta)", -3, 3},
    };
    for (size_t i = 0; i < sizeof fs / sizeof *fs; i++) {
        for (int learn = 0; learn < 2; learn++) {
            formula f;
            formula_new(&f, fs[i].f, learn);
            for (int s = 0; s <= 40; s++) {
                double p[2] = {fs[i].lo + (fs[i].hi - fs[i].lo) * (s + 0.37) / 41.0, 1.5};
                nn_fd_fail bad;
                if (nn_gradcheck_fd(eval_fd, f.x, f.x->nwrt, p, 1e-6, 1e-5, &bad))
                    fail_msg("'%s' at %g: d/d%s = %.9g, finite difference %.9g", fs[i].f, p[0],
                             bad.index ? "beta" : "x", bad.analytic, bad.numeric);
            }
            formula_free(&f);
        }
    }
}

static void test_grad_edges(void **state)
{
    (void)state;
    formula f;
    formula_new(&f, "relu(x)", 0); /* 0 at the kink, as PyTorch */
    assert_true(grad_at(f.x, 0.0, 0) == 0.0);
    assert_true(grad_at(f.x, 1e-30, 0) == 1.0);
    formula_free(&f);
    formula_new(&f, "abs(x)", 0);
    assert_true(grad_at(f.x, 0.0, 0) == 0.0);
    formula_free(&f);
    formula_new(&f, "log(x)", 0); /* near 0: 1/x, large but exact */
    assert_true(tu_close(grad_at(f.x, 1e-6, 0), 1e6, 0, 1e-12));
    formula_free(&f);
    formula_new(&f, "x ^ 3", 0); /* negative base: 3x² */
    assert_true(tu_close(grad_at(f.x, -1.5, 0), 6.75, 0, 1e-12));
    formula_free(&f);
    formula_new(&f, "x ^ beta", 1); /* non-integral power of a negative base: NaN, not a crash */
    assert_true(isnan(grad_at(f.x, -1.5, 0)));
    formula_free(&f);
    formula_new(&f, "min(x, 0.5) + max(x, 0.5)", 0); /* ties: the first argument takes it */
    assert_true(grad_at(f.x, 0.5, 0) == 2.0);
    formula_free(&f);
}

/* Shared subexpressions are one node: exp(2x) appears twice in the tanh formula. */
static void test_dag_shares(void **state)
{
    (void)state;
    formula f;
    formula_new(&f, "(exp(2*x) - 1) / (exp(2*x) + 1)", 0);
    int nexp = 0;
    for (int i = 0; i < f.x->nfwd; i++)
        nexp += f.x->n[i].op == NN_VM_EXP;
    assert_int_equal(nexp, 1);
    formula_free(&f);
}

/* Forward and backward programs on every ISA against the scalar reference and the DAG,
 * over 37 × 13 blocks (partial strips), per layer and per unit. */
static void test_machine_every_isa(void **state)
{
    (void)state;
    static const char *const fs[] = {"x * sigmoid(beta * x)",
                                     "tanh(x)",
                                     "(exp(2*x) - 1) / (exp(2*x) + 1)",
                                     "relu(x) + abs(x) - min(x, beta) * max(x, 0.25)",
                                     "x ^ 3 - x ^ -2 + sqrt(abs(x))",
                                     "log(abs(x) + 1e-3) + beta ^ x",
                                     "x ^ beta"};
    enum { R = 37, C = 13, N = R * C };
    static float xs[N], dy[N], beta[C], fy[N], y[NN_VM_MAX_IO][N], want[NN_VM_MAX_IO][N];
    for (int i = 0; i < N; i++) {
        xs[i] = (float)(-3.0 + 6.0 * ((i * 7919) % N) / N);
        dy[i] = (float)(0.5 - ((i * 104729) % 97) / 97.0);
    }
    for (int j = 0; j < C; j++)
        beta[j] = 1.0f + 0.1f * (float)j;
    for (size_t t = 0; t < sizeof fs / sizeof *fs; t++) {
        for (int per = 0; per < 2; per++) {
            formula f;
            formula_new(&f, fs[t], 1);
            /* slot 3: the forward output, for a backward that reads it (tanh) */
            nn_vm_in in[4] = {{xs, NN_VM_ARRAY},
                              {beta, per ? NN_VM_COLUMN : NN_VM_SCALAR},
                              {dy, NN_VM_ARRAY},
                              {fy, NN_VM_ARRAY}};
            int rows = per ? R : 1, cols = per ? C : N;
            nn_vm_out fo = {fy, NN_VM_WRITE};
            nn_kernels_scalar.expr_run(&f.x->fwd, rows, cols, in, &fo);
            for (int dir = 0; dir < 2; dir++) {
                FOR_EACH_ISA(K)
                { /* scalar first: the reference */
                    const nn_vm_prog *p = dir ? &f.x->bwd : &f.x->fwd;
                    nn_vm_out out[NN_VM_MAX_IO];
                    float(*dst)[N] = K == &nn_kernels_scalar ? want : y;
                    for (int k = 0; k < p->nout; k++) {
                        memset(dst[k], 0, sizeof dst[k]);
                        out[k] = (nn_vm_out){dst[k], k == 0 ? NN_VM_WRITE
                                                     : per  ? NN_VM_COLSUM
                                                            : NN_VM_SUM};
                    }
                    K->expr_run(p, rows, cols, in, out);
                    if (K == &nn_kernels_scalar) continue;
                    for (int k = 0; k < p->nout; k++) {
                        int n = k == 0 ? N : per ? C : 1;
                        double tol = k == 0 ? 2e-5 : 2e-4 * (per ? R : N);
                        for (int i = 0; i < n; i++) {
                            double a = y[k][i], b = want[k][i];
                            if (isnan(a) && isnan(b)) continue;
                            if (!tu_close(a, b, tol * 1e-2, tol))
                                fail_msg("%s '%s' %s out %d [%d]: %.9g, reference %.9g", K->isa,
                                         fs[t], dir ? "backward" : "forward", k, i, a, b);
                        }
                    }
                }
            }
            /* the reference's forward at a few points against the DAG in double */
            nn_vm_out o = {want[0], NN_VM_WRITE};
            nn_kernels_scalar.expr_run(&f.x->fwd, rows, cols, in, &o);
            double *v = malloc((size_t)f.x->nn * sizeof *v);
            for (int i = 0; i < N; i += 17) {
                double slots[NN_VM_MAX_IO] = {xs[i], beta[per ? i % C : 0], 1};
                nn_expr_eval(f.x, slots, v);
                double w = v[f.x->root];
                if (isfinite(w) && !tu_close(want[0][i], w, 1e-5, 1e-5))
                    fail_msg("'%s' at %g: reference %.9g, DAG %.9g", fs[t], xs[i], want[0][i], w);
            }
            free(v);
            formula_free(&f);
        }
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
        cmocka_unit_test(test_bad_formulas),        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_bad_formula_keys),    cmocka_unit_test(test_gradcheck_fd),
        cmocka_unit_test(test_grad_every_function), cmocka_unit_test(test_grad_edges),
        cmocka_unit_test(test_dag_shares),          cmocka_unit_test(test_machine_every_isa),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
