/* test_embed_recurrent.c — an embedding followed by a recurrent layer, the x half of the
 * cell's products as row lookups (ir/ops/embed_recurrent.c): the fused plan (NN_LOWER_FAST)
 * against the ops as they are (NN_LOWER_KEEP_ALL) — loss, logits and every parameter
 * gradient, for the rnn and the gru, with the scalar reference and the vector kernels, with
 * an l2 term (gradients added into), on fewer active rows, and in an evaluation plan — its
 * gradients against central finite differences, and the cases lowering must leave alone
 * (too few positions, an embedding with positions, an output read by another layer). */
#include "plan_model.h"

#include <math.h>

#include "kernels/kernels.h"

#define V 6  /* vocabulary: table rows */
#define T 8  /* positions per row */
#define D 4  /* embedding width */
#define H 5  /* hidden */
#define B 10 /* rows: 80 positions ≥ 2·V */

/* embedding {dim D} → recurrent {cell, hidden H} → linear V (bias) */
static nn_spec make_spec(nn_layer *l, int cell, double l2)
{
    l[0] = tm_layer(NN_LAYER_EMBEDDING, 10);
    l[0].dim = D;
    l[1] = tm_layer(NN_LAYER_RECURRENT, 11);
    l[1].cell = cell, l[1].hidden = H;
    l[2] = tm_layer(NN_LAYER_LINEAR, 12);
    l[2].bias = 1;
    nn_spec s;
    memset(&s, 0, sizeof s);
    s.path = "model.yaml";
    s.layers = l;
    s.nlayers = 3;
    s.train.l2 = l2;
    s.train.l2_all = 1;
    return s;
}

typedef tm_model model;

/* Built for `batch` rows, parameters and data from a fixed seed (the same for every plan). */
static void model_open(model *m, const nn_spec *s, int batch, int training, int flags)
{
    nn_build_opts o = {batch, training, training, V, T, 0, 1};
    nn_rng r;
    tm_model_open(m, s, &o, flags, &r);
    int32_t *x = nn_plan_ptr(m->p, m->g->x), *y = nn_plan_ptr(m->p, m->g->y);
    for (int i = 0; i < batch * T; i++) {
        x[i] = (int32_t)nn_rng_randint(&r, V);
        y[i] = i % T > 5 ? -1 : (int32_t)nn_rng_randint(&r, V); /* some positions ignored */
    }
}

/* The fused plan against the plain one: loss, logits, every gradient. */
static void expect_same(const nn_spec *s, int training, int rows)
{
    model f, k;
    model_open(&f, s, B, training, NN_LOWER_FAST);
    model_open(&k, s, B, training, NN_LOWER_KEEP_ALL);
    assert_true(tm_has_step(f.p, "embedding+recurrent"));
    if (training) assert_true(tm_has_step(f.p, "recurrent_grad+embedding_grad"));
    tm_expect_same_runs(&f, &k, rows, (long)rows * T * V, training);
    tm_model_close(&f);
    tm_model_close(&k);
}

static void t_fused_equals_plain(void **state)
{
    (void)state;
    nn_layer l[3];
    static const char *const isas[] = {"scalar", "avx2", "avx512"};
    for (size_t i = 0; i < sizeof isas / sizeof *isas; i++) {
        if (nn_kernels_select(isas[i]) != 0) continue;
        for (int cell = NN_CELL_RNN; cell <= NN_CELL_GRU; cell++) {
            nn_spec s = make_spec(l, cell, 0);
            expect_same(&s, 1, B);
            expect_same(&s, 1, B - 3);   /* fewer active rows than the plan's */
            expect_same(&s, 0, B);       /* an evaluation plan: the forward alone */
            s = make_spec(l, cell, 0.1); /* l2 writes the gradients first: the backward adds */
            expect_same(&s, 1, B);
        }
    }
    nn_kernels_select("scalar");
}

/* the parameters of layers 0 and 1: the table, the start state, the cell's */
static int first_two_layers(const nn_param *p, const void *ctx)
{
    (void)ctx;
    return p->layer <= 1;
}

/* The fused plan's gradients against central differences of its own loss (every element of
 * the table, the start state, the cell's weights and biases). */
static void fd_check(int cell)
{
    nn_layer l[3];
    nn_spec s = make_spec(l, cell, 0);
    model m;
    model_open(&m, &s, B, 1, NN_LOWER_FAST);
    assert_true(tm_has_step(m.p, "embedding+recurrent"));
    int checked = tm_check_fd(&m, B, first_two_layers, NULL, 0, cell ? "gru" : "rnn");
    int G = cell == NN_CELL_GRU ? 3 : 1;
    assert_int_equal(checked, V * D + H + G * ((D + H) * H + H));
    tm_model_close(&m);
}

static void t_fused_grad_fd(void **state)
{
    (void)state;
    static const char *const isas[] = {"scalar", "avx2", "avx512"};
    for (size_t i = 0; i < sizeof isas / sizeof *isas; i++) {
        if (nn_kernels_select(isas[i]) != 0) continue;
        fd_check(NN_CELL_RNN);
        fd_check(NN_CELL_GRU);
    }
    nn_kernels_select("scalar");
}

/* Too few positions for the products to pay (one row: 8 < 2·V): the plan runs the ops.  An
 * embedding with positions, or whose output another node reads, is not fused either. */
static void t_left_alone(void **state)
{
    (void)state;
    nn_layer l[3];
    nn_spec s = make_spec(l, NN_CELL_RNN, 0);
    model m;
    model_open(&m, &s, 1, 1, NN_LOWER_FAST);
    assert_false(tm_has_step(m.p, "embedding+recurrent"));
    assert_true(tm_has_step(m.p, "embedding"));
    tm_model_close(&m);
    l[0].positions = T;
    model_open(&m, &s, B, 1, NN_LOWER_FAST);
    assert_false(tm_has_step(m.p, "embedding+recurrent"));
    tm_model_close(&m);
    l[0].positions = 0;
    model_open(&m, &s, B, 1, NN_LOWER_FAST);
    int bwd[2];
    assert_true(nn_embed_recurrent_match(m.g, 0, bwd));
    assert_true(bwd[0] > 0 && bwd[1] == bwd[0] + 1);
    m.g->n[2].in[0] = m.g->n[0].out[0]; /* the linear now reads the embedding too */
    assert_false(nn_embed_recurrent_match(m.g, 0, bwd));
    tm_model_close(&m);
}

int main(void)
{
    nn_kernels_select("scalar");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_fused_equals_plain),
        cmocka_unit_test(t_fused_grad_fd),
        cmocka_unit_test(t_left_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
