/* test_mean_linear.c — a linear reading x + causal_mean(x) of an embedding's output, run as
 * lookups of table·W (ir/ops/mean_linear.c; makemore's BoW).  The fused plan (NN_LOWER_FAST)
 * against the ops as they are (NN_LOWER_KEEP_ALL) — loss, logits and every parameter
 * gradient — with and without the bias and the position table, with each kernel path, on
 * fewer active rows, with an l2 term (gradients added into) and in an evaluation plan; its
 * gradients against central finite differences; the same bits at one and two threads; and
 * the graphs lowering must leave alone (too few positions, a linear not after the mean). */
#include "plan_model.h"

#include <math.h>

#include "kernels/kernels.h"
#include "kernels/threads.h"
#include "parser/spec.h"

static char tmp[64];

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmp, sizeof tmp, "/tmp/nnrun-meanlin-XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmp);
}

/* The BoW's shape in small: vocabulary 7, context t, width d, the mlp's h; `positions` and
 * `bias` switch the position table and c_fc's bias; `after` puts a tanh between the mean and
 * the linear (then nothing may be fused); `head`: no mlp, the output layer reads the mean
 * (its output the logits, which the loss reads and the runtime keeps). */
typedef struct {
    int t, d, h, b, positions, bias, after, head;
} form;

static const form BOW = {6, 8, 5, 6, 1, 1, 0, 0};
static const form NO_POS = {6, 8, 5, 6, 0, 1, 0, 0};
static const form NO_BIAS = {6, 8, 5, 6, 1, 0, 0, 0};
static const form HEAD = {6, 8, 5, 6, 1, 1, 0, 1};
enum { VOCAB = 7 };

static nn_spec *load(const form *f, double l2)
{
    char text[6144], mlp[128];
    snprintf(mlp, sizeof mlp,
             "  - residual: [{linear: {out: %d, bias: %s}}, tanh, {linear: {out: %d}}]\n", f->h,
             f->bias ? "true" : "false", f->d);
    snprintf(text, sizeof text,
             "name: bow\nseed: 1\n"
             "data: {source: %s, context: %d, examples: sequence}\n"
             "model:\n"
             "  - embedding: {dim: %d%s}\n"
             "  - residual: [causal_mean]\n%s"
             "%s"
             "  - linear\n"
             "train: {steps: 3, batch: 4, l2: %g}\n",
             tu_path("examples/data/names.txt"), f->t, f->d, f->positions ? ", positions: 6" : "",
             f->after ? "  - tanh\n" : "", f->head ? "" : mlp, l2);
    tu_write_bytes(tmp, "bow.yaml", text, strlen(text));
    char p[200];
    snprintf(p, sizeof p, "%s/bow.yaml", tmp);
    nn_diag *d = nn_diag_new();
    nn_spec *s = nn_spec_load(p, NULL, 0, d);
    if (!s) nn_diag_print(d, stderr);
    nn_diag_free(d);
    assert_non_null(s);
    return s;
}

typedef tm_model model;

static void model_open(model *m, const form *f, const nn_spec *s, int batch, int training,
                       int flags)
{
    nn_build_opts o = {batch, training, training, VOCAB, f->t, 0, 1};
    nn_rng r;
    tm_model_open(m, s, &o, flags, &r);
    int32_t *x = nn_plan_ptr(m->p, m->g->x), *y = nn_plan_ptr(m->p, m->g->y);
    for (int i = 0; i < batch * f->t; i++) {
        x[i] = (int32_t)nn_rng_randint(&r, VOCAB);
        y[i] = i % f->t > 3 ? -1 : (int32_t)nn_rng_randint(&r, VOCAB);
    }
}

/* 1 when the plan runs the linear after the mean (and, training, its backward) fused. */
static int fused(const model *m)
{
    int l = -1;
    for (int i = 0; i < m->g->nfwd && l < 0; i++) {
        nn_mean_linear_nodes n;
        if (nn_mean_linear_match(m->g, i, &n)) l = i;
    }
    int seen = 0;
    for (int i = 0; i < m->p->nsteps; i++) {
        const nn_step *s = &m->p->steps[i];
        for (int k = 0; k < (s->sub ? s->nsub : 1); k++) {
            const nn_step *u = s->sub ? &s->sub[k] : s;
            seen += u->run == nn_op_mean_linear.run || u->run == nn_op_mean_linear_grad.run ||
                    u->run == nn_op_mean_linear_embed_grad.run;
        }
    }
    return l >= 0 ? seen : -seen;
}

static void expect_same(const form *fm, const nn_spec *s, int training, int rows)
{
    model f, k;
    model_open(&f, fm, s, fm->b, training, NN_LOWER_FAST);
    model_open(&k, fm, s, fm->b, training, NN_LOWER_KEEP_ALL);
    assert_int_equal(fused(&f), training ? 3 : 1);
    assert_int_equal(fused(&k), 0);
    tm_expect_same_runs(&f, &k, rows, (long)rows * fm->t * VOCAB, training);
    tm_model_close(&f);
    tm_model_close(&k);
}

static void t_fused_equals_plain(void **state)
{
    (void)state;
    static const form *const forms[] = {&BOW, &NO_POS, &NO_BIAS, &HEAD};
    static const char *const isas[] = {"scalar", "avx2", "avx512"};
    for (size_t i = 0; i < sizeof isas / sizeof *isas; i++) {
        if (nn_kernels_select(isas[i]) != 0) continue;
        for (size_t k = 0; k < sizeof forms / sizeof *forms; k++) {
            const form *f = forms[k];
            nn_spec *s = load(f, 0);
            expect_same(f, s, 1, f->b);
            expect_same(f, s, 1, f->b - 2); /* fewer active rows than the plan's */
            expect_same(f, s, 0, f->b);     /* an evaluation plan: the forward alone */
            nn_spec_free(s);
            s = load(f, 0.1); /* l2 writes the gradients first: the backward adds */
            expect_same(f, s, 1, f->b);
            nn_spec_free(s);
        }
    }
    nn_kernels_select("scalar");
}

/* the embedding's tables and c_fc's weight and bias */
static int tables_and_c_fc(const nn_param *p, const void *ctx)
{
    (void)ctx;
    return !strncmp(p->name, "layers.0.", 9) || !strncmp(p->name, "layers.2.linear.", 16);
}

/* The fused plan's gradients against central differences of its own loss. */
static void t_fused_grad_fd(void **state)
{
    (void)state;
    nn_spec *s = load(&BOW, 0);
    model m;
    model_open(&m, &BOW, s, BOW.b, 1, NN_LOWER_FAST);
    assert_int_equal(fused(&m), 3);
    /* `nnrun graph --plan` and `bench --profile` name the parts so */
    assert_true(tm_has_step(m.p, "linear(lookups)+tanh"));
    assert_true(tm_has_step(m.p, "tanh_grad+linear_grad(lookups)"));
    assert_true(tm_has_step(m.p, "embedding_grad(lookups)"));
    int checked = tm_check_fd(&m, BOW.b, tables_and_c_fc, NULL, 30, "bow");
    assert_true(checked >= 70); /* tables 28 + 24, weight 20, bias 5 */
    tm_model_close(&m);
    nn_spec_free(s);
}

/* One and two threads: the loss and every gradient the same bits. */
static void t_threads_same_bits(void **state)
{
    (void)state;
    nn_spec *s = load(&BOW, 0);
    nn_kernels_select(NULL);
    model m[2];
    for (int k = 0; k < 2; k++) {
        nn_kernels_set_threads(k + 1);
        model_open(&m[k], &BOW, s, BOW.b, 1, NN_LOWER_FAST);
        assert_int_equal(fused(&m[k]), 3);
        nn_plan_forward(m[k].p, BOW.b);
        nn_plan_backward(m[k].p, BOW.b);
    }
    nn_kernels_set_threads(1);
    tm_expect_same_bits(&m[0], &m[1]);
    tm_model_close(&m[0]);
    tm_model_close(&m[1]);
    nn_spec_free(s);
    nn_kernels_select("scalar");
}

/* Too few positions to pay (one row: 6 < 2·(7 + 6)), or a tanh between the mean and the
 * linear: the plan runs the ops. */
static void t_left_alone(void **state)
{
    (void)state;
    nn_spec *s = load(&BOW, 0);
    model m;
    model_open(&m, &BOW, s, 1, 1, NN_LOWER_FAST);
    assert_int_equal(fused(&m), 0);
    tm_model_close(&m);
    nn_spec_free(s);
    form after = BOW;
    after.after = 1;
    s = load(&after, 0);
    model_open(&m, &after, s, after.b, 1, NN_LOWER_FAST);
    assert_int_equal(fused(&m), 0);
    tm_model_close(&m);
    nn_spec_free(s);
}

int main(void)
{
    nn_kernels_select("scalar");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_fused_equals_plain),
        cmocka_unit_test(t_fused_grad_fd),
        cmocka_unit_test(t_threads_same_bits),
        cmocka_unit_test(t_left_alone),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
