/* test_kernels_rnn.c — the recurrent cells (kernels.h rnn_fwd / rnn_bwd, makemore.py's RNN
 * and GRU): a hand-worked step, every ISA against the scalar reference on sizes that are not
 * multiples of 8, the accumulate bits, the backward through time against central
 * differences of the forward, and the input as an embedding's lookup against the dense
 * input (test_embed_recurrent.c checks that one against finite differences). */
#include "kernels_util.h"

enum { B = 3, T = 5, E = 7, H = 11 };

typedef struct {
    int gru, G;
    float *x, *start, *w[3], *bias[3], *dy;
} case_t;

static case_t make_case(int gru)
{
    case_t c = {gru, gru ? 3 : 1, NULL, NULL, {NULL, NULL, NULL}, {NULL, NULL, NULL}, NULL};
    c.x = rnd((size_t)B * T * E, -1, 1);
    c.start = rnd(H, -0.5f, 0.5f);
    for (int q = 0; q < c.G; q++) {
        c.w[q] = rnd((size_t)(E + H) * H, -0.4f, 0.4f);
        c.bias[q] = rnd(H, -0.3f, 0.3f);
    }
    c.dy = rnd((size_t)B * T * H, -1, 1);
    return c;
}

static void free_case(case_t *c)
{
    free(c->x), free(c->start), free(c->dy);
    for (int q = 0; q < c->G; q++)
        free(c->w[q]), free(c->bias[q]);
}

static nn_rnn_weights weights_of(const case_t *c)
{
    nn_rnn_weights w = {{c->w[0], c->w[1], c->w[2]}, {c->bias[0], c->bias[1], c->bias[2]}};
    return w;
}

/* y = forward(c) with kernel table K */
static float *forward(const nn_kernels *K, const case_t *c)
{
    float *pack = rnd(nn_rnn_pack_floats(E, H, c->gru), 0, 0);
    float *state = rnd(B * nn_rnn_state_floats(T, E, H, c->gru), 0, 0);
    float *y = rnd((size_t)B * T * H, 0, 0);
    nn_rnn_weights w = weights_of(c);
    nn_rnn_input in = {.x = c->x};
    K->rnn_fwd(B, T, E, H, c->gru, &in, c->start, &w, pack, state, y);
    free(pack), free(state);
    return y;
}

static double loss(const nn_kernels *K, const case_t *c)
{
    float *y = forward(K, c);
    double s = 0;
    for (size_t i = 0; i < (size_t)B * T * H; i++)
        s += (double)c->dy[i] * y[i];
    free(y);
    return s;
}

typedef struct {
    float *dx, *dstart, *dw[3], *db[3];
} grads_t;

/* the gradients of Σ dy·y; with `acc`, added onto grads that hold 1 */
static grads_t backward(const nn_kernels *K, const case_t *c, int acc)
{
    float *pack = rnd(nn_rnn_pack_floats(E, H, c->gru), 0, 0);
    float *state = rnd(B * nn_rnn_state_floats(T, E, H, c->gru), 0, 0);
    float *work = rnd(B * nn_rnn_work_floats(T, E, H, c->gru), 0, 0);
    float *y = rnd((size_t)B * T * H, 0, 0);
    float one = acc ? 1.0f : 0.0f;
    grads_t g = {
        filled((size_t)B * T * E, one), filled(H, one), {NULL, NULL, NULL}, {NULL, NULL, NULL}};
    for (int q = 0; q < c->G; q++) {
        g.dw[q] = filled((size_t)(E + H) * H, one);
        g.db[q] = filled(H, one);
    }
    nn_rnn_weights w = weights_of(c);
    nn_rnn_grads d = {g.dstart, {g.dw[0], g.dw[1], g.dw[2]}, {g.db[0], g.db[1], g.db[2]}};
    nn_rnn_input in = {.x = c->x};
    K->rnn_fwd(B, T, E, H, c->gru, &in, c->start, &w, pack, state, y);
    K->rnn_bwd(B, T, E, H, c->gru, &in, &w, pack, state, y, c->dy, work, g.dx, &d, acc ? 0xff : 0);
    free(pack), free(state), free(work), free(y);
    return g;
}

static void free_grads(grads_t *g, int G)
{
    free(g->dx), free(g->dstart);
    for (int q = 0; q < G; q++)
        free(g->dw[q]), free(g->db[q]);
}

/* one step of each cell worked by hand: e = h = 1, x = 1, start = 0.5 */
static void t_hand(void **state)
{
    (void)state;
    FOR_EACH_ISA(K)
    {
        float x = 1, start = 0.5f, w[2] = {0.3f, -0.2f}, b = 0.1f, y, st[8],
              pack[16]; /* ≥ nn_rnn_pack_floats(1, 1, 1) */
        nn_rnn_weights rw = {{w, NULL, NULL}, {&b, NULL, NULL}};
        nn_rnn_input in = {.x = &x};
        K->rnn_fwd(1, 1, 1, 1, 0, &in, &start, &rw, pack, st, &y);
        assert_true(nn_rnn_pack_floats(1, 1, 1) <= sizeof pack / sizeof *pack);
        EXPECT(K, "rnn", &y, tanhf(0.3f - 0.1f + 0.1f));
        float wz[2] = {0.5f, 0.25f}, wr[2] = {-0.5f, 1}, wh[2] = {1, 2}, bz = 0, br = 0.5f, bh = 0;
        nn_rnn_weights gw = {{wz, wr, wh}, {&bz, &br, &bh}};
        K->rnn_fwd(1, 1, 1, 1, 1, &in, &start, &gw, pack, st, &y);
        float z = 1 / (1 + expf(-0.625f)), r = 1 / (1 + expf(-0.5f)), hb = tanhf(1 + 2 * r * 0.5f);
        EXPECT(K, "gru", &y, (1 - z) * 0.5f + z * hb);
    }
}

static void compare_all(const nn_kernels *K, const grads_t *got, const grads_t *want, int G)
{
    if (got->dx) expect_close(K, "dx", got->dx, want->dx, (size_t)B * T * E, 1e-5, 1e-4);
    expect_close(K, "dstart", got->dstart, want->dstart, H, 1e-5, 1e-4);
    for (int q = 0; q < G; q++) {
        expect_close(K, "dweight", got->dw[q], want->dw[q], (size_t)(E + H) * H, 1e-5, 1e-4);
        expect_close(K, "dbias", got->db[q], want->db[q], H, 1e-5, 1e-4);
    }
}

/* every ISA against the scalar reference, forward and backward; accumulate adds */
static void t_vs_ref(void **state)
{
    (void)state;
    for (int gru = 0; gru < 2; gru++) {
        case_t c = make_case(gru);
        float *yref = forward(&nn_kernels_scalar, &c);
        grads_t gref = backward(&nn_kernels_scalar, &c, 0);
        FOR_EACH_ISA(K)
        {
            float *y = forward(K, &c);
            expect_close(K, gru ? "gru y" : "rnn y", y, yref, (size_t)B * T * H, 1e-6, 1e-5);
            free(y);
            grads_t g = backward(K, &c, 0);
            compare_all(K, &g, &gref, c.G);
            free_grads(&g, c.G);
            /* accumulate: every gradient added onto 1 */
            g = backward(K, &c, 1);
            grads_t shifted = backward(&nn_kernels_scalar, &c, 0);
            float *all[8] = {shifted.dx,    shifted.dstart, shifted.dw[0], shifted.db[0],
                             shifted.dw[1], shifted.db[1],  shifted.dw[2], shifted.db[2]};
            size_t len[8] = {(size_t)B * T * E,   H, (size_t)(E + H) * H, H,
                             (size_t)(E + H) * H, H, (size_t)(E + H) * H, H};
            for (int k = 0; k < 2 + 2 * c.G; k++)
                for (size_t i = 0; i < len[k]; i++)
                    all[k][i] += 1.0f;
            compare_all(K, &g, &shifted, c.G);
            free_grads(&g, c.G);
            free_grads(&shifted, c.G);
        }
        free(yref);
        free_grads(&gref, c.G);
        free_case(&c);
    }
}

/* central difference of Σ dy·y in one value p[i] */
static double numeric(const nn_kernels *K, case_t *c, float *p, size_t i)
{
    const float eps = 1e-2f, keep = p[i];
    p[i] = keep + eps;
    double up = loss(K, c);
    p[i] = keep - eps;
    double down = loss(K, c);
    p[i] = keep;
    return (up - down) / (2.0 * eps);
}

static void check_fd(const nn_kernels *K, case_t *c, const char *what, float *p, const float *g,
                     size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double num = numeric(K, c, p, i);
        if (fabs(num - g[i]) > 2e-3 * fmax(1.0, fabs(num)))
            fail_msg("%s %s: %s[%zu] analytic %.7g, numeric %.7g", K->isa, c->gru ? "gru" : "rnn",
                     what, i, g[i], num);
    }
}

/* backward through time against central differences, every value of every input */
static void t_finite_differences(void **state)
{
    (void)state;
    FOR_EACH_ISA(K)
    {
        for (int gru = 0; gru < 2; gru++) {
            reseed(NULL);
            case_t c = make_case(gru);
            grads_t g = backward(K, &c, 0);
            check_fd(K, &c, "dx", c.x, g.dx, (size_t)B * T * E);
            check_fd(K, &c, "dstart", c.start, g.dstart, H);
            for (int q = 0; q < c.G; q++) {
                check_fd(K, &c, "dweight", c.w[q], g.dw[q], (size_t)(E + H) * H);
                check_fd(K, &c, "dbias", c.bias[q], g.db[q], H);
            }
            free_grads(&g, c.G);
            free_case(&c);
        }
    }
}

/* The AVX-512 table runs the AVX2 passes with its own gemms: the same bits. */
static void t_avx512_bits(void **state)
{
    (void)state;
    const nn_kernels *K2 = nn_kernels_get("avx2"), *K5 = nn_kernels_get("avx512");
    if (!K2 || !K5) skip();
    for (int gru = 0; gru < 2; gru++) {
        case_t c = make_case(gru);
        float *y2 = forward(K2, &c), *y5 = forward(K5, &c);
        assert_memory_equal(y2, y5, (size_t)B * T * H * sizeof *y2);
        grads_t a = backward(K2, &c, 0), b = backward(K5, &c, 0);
        assert_memory_equal(a.dx, b.dx, (size_t)B * T * E * sizeof *a.dx);
        assert_memory_equal(a.dstart, b.dstart, H * sizeof *a.dx);
        for (int q = 0; q < c.G; q++) {
            assert_memory_equal(a.dw[q], b.dw[q], (size_t)(E + H) * H * sizeof *a.dx);
            assert_memory_equal(a.db[q], b.db[q], H * sizeof *a.dx);
        }
        free(y2), free(y5);
        free_grads(&a, c.G), free_grads(&b, c.G);
        free_case(&c);
    }
}

enum { V = 4 }; /* table rows of the lookup tests */

/* The input as an embedding's lookup (nn_rnn_input's table): the forward gives the dense
 * forward's bits on x = table[ids] with every ISA; the backward's ∂L/∂table is the dense dx
 * summed by token, and the other gradients are the dense ones. */
static void t_lookup(void **state)
{
    (void)state;
    for (int gru = 0; gru < 2; gru++) {
        case_t c = make_case(gru);
        float *table = rnd((size_t)V * E, -1, 1);
        int32_t ids[B * T];
        for (int i = 0; i < B * T; i++) {
            ids[i] = (int32_t)((i * 7 + 3) % V);
            memcpy(c.x + (size_t)i * E, table + (size_t)ids[i] * E, E * sizeof *table);
        }
        FOR_EACH_ISA(K)
        {
            float *ydense = forward(K, &c);
            grads_t dense = backward(K, &c, 0);
            float *want_dt = filled((size_t)V * E, 0);
            for (int i = 0; i < B * T; i++)
                for (int k = 0; k < E; k++)
                    want_dt[ids[i] * E + k] += dense.dx[(size_t)i * E + k];
            for (int acc = 0; acc < 2; acc++) {
                float *lut = rnd((size_t)V * 3 * H, 0, 0),
                      *pack = rnd(nn_rnn_pack_floats(E, H, gru), 0, 0);
                float *st = rnd(B * nn_rnn_state_floats(T, E, H, gru), 0, 0);
                float *work = rnd(B * nn_rnn_work_floats(T, E, H, gru), 0, 0);
                float *y = rnd((size_t)B * T * H, 0, 0), one = acc ? 1.0f : 0.0f;
                float *dt = filled((size_t)V * E, one);
                grads_t g = {NULL, filled(H, one), {NULL, NULL, NULL}, {NULL, NULL, NULL}};
                for (int q = 0; q < c.G; q++) {
                    g.dw[q] = filled((size_t)(E + H) * H, one);
                    g.db[q] = filled(H, one);
                }
                nn_rnn_weights w = weights_of(&c);
                nn_rnn_grads d = {
                    g.dstart, {g.dw[0], g.dw[1], g.dw[2]}, {g.db[0], g.db[1], g.db[2]}};
                nn_rnn_input in = {NULL, ids, table, V, lut};
                K->rnn_fwd(B, T, E, H, gru, &in, c.start, &w, pack, st, y);
                if (memcmp(y, ydense, (size_t)B * T * H * sizeof *y) != 0)
                    fail_msg("%s %s: the lookup's forward differs from the dense one", K->isa,
                             gru ? "gru" : "rnn");
                K->rnn_bwd(B, T, E, H, gru, &in, &w, pack, st, y, c.dy, work, dt, &d,
                           acc ? 0xff : 0);
                float *all[8] = {dt,      g.dstart, g.dw[0], g.db[0],
                                 g.dw[1], g.db[1],  g.dw[2], g.db[2]};
                for (size_t i = 0; acc && i < (size_t)V * E; i++)
                    dt[i] -= 1.0f;
                for (int k = 1; acc && k < 2 + 2 * c.G; k++)
                    for (size_t i = 0; i < (k % 2 ? (size_t)H : (size_t)(E + H) * H); i++)
                        all[k][i] -= 1.0f;
                expect_close(K, "dtable", dt, want_dt, (size_t)V * E, 1e-5, 1e-4);
                g.dx = dense.dx, dense.dx = NULL;
                compare_all(
                    K,
                    &(grads_t){
                        NULL, g.dstart, {g.dw[0], g.dw[1], g.dw[2]}, {g.db[0], g.db[1], g.db[2]}},
                    &(grads_t){NULL,
                               dense.dstart,
                               {dense.dw[0], dense.dw[1], dense.dw[2]},
                               {dense.db[0], dense.db[1], dense.db[2]}},
                    c.G);
                dense.dx = g.dx, g.dx = NULL;
                free_grads(&g, c.G);
                free(lut), free(pack), free(st), free(work), free(y), free(dt);
            }
            free(want_dt), free(ydense);
            free_grads(&dense, c.G);
        }
        free(table);
        free_case(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(t_hand, reseed),
        cmocka_unit_test_setup(t_vs_ref, reseed),
        cmocka_unit_test_setup(t_finite_differences, reseed),
        cmocka_unit_test_setup(t_lookup, reseed),
        cmocka_unit_test_setup(t_avx512_bits, reseed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
