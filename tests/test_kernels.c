/* test_kernels.c — every kernel of every ISA this machine runs: against values worked out by
 * hand, against the scalar reference on random shapes, and (backward kernels) against central
 * finite differences of the forward kernels. */
#include <math.h>

#include "testutil.h"

#include "kernels/kernels.h"
#include "kernels/ref.h"

static const char *const ISAS[] = {"scalar", "avx2", "avx512"};

/* Runs the body once per ISA whose table this build and CPU provide. */
#define FOR_EACH_ISA(K)                                                                            \
    for (size_t isa_ = 0; isa_ < sizeof ISAS / sizeof *ISAS; isa_++)                               \
        for (const nn_kernels *K = nn_kernels_get(ISAS[isa_]); K; K = NULL)

/* ---- helpers ------------------------------------------------------------------------- */

static uint32_t rng = 2463534242u;

/* Every test starts from the same seed, so its data does not depend on the tests before it. */
static int reseed(void **state)
{
    (void)state;
    rng = 2463534242u;
    return 0;
}

static float urand(float lo, float hi) /* xorshift32: fixed seed, same data every run */
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return lo + (hi - lo) * (float)(rng >> 8) / 16777216.0f;
}

static float *rnd(size_t n, float lo, float hi)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = urand(lo, hi);
    return p;
}

static float *filled(size_t n, float v)
{
    float *p = rnd(n, 0, 0);
    for (size_t i = 0; i < n; i++)
        p[i] = v;
    return p;
}

static float *dup(const float *src, size_t n)
{
    float *p = rnd(n, 0, 0);
    memcpy(p, src, n * sizeof *p);
    return p;
}

static void expect_close(const nn_kernels *K, const char *what, const float *got, const float *want,
                         size_t n, double atol, double rtol)
{
    for (size_t i = 0; i < n; i++)
        if (!tu_close(got[i], want[i], atol, rtol))
            fail_msg("%s: %s[%zu] = %.9g, want %.9g", K->isa, what, i, got[i], want[i]);
}

#define EXPECT(K, what, got, ...)                                                                  \
    do {                                                                                           \
        const float want_[] = {__VA_ARGS__};                                                       \
        expect_close(K, what, got, want_, sizeof want_ / sizeof *want_, 1e-6, 1e-6);               \
    } while (0)

/* ---- gemm ---------------------------------------------------------------------------- */

typedef void (*gemm_fn)(int, int, int, const float *, int, const float *, int, float *, int, int);
enum { NN, NT, TN };
static const char *const LAYOUT[] = {"sgemm_nn", "sgemm_nt", "sgemm_tn"};

static gemm_fn gemm_of(const nn_kernels *K, int layout)
{
    return layout == NN ? K->sgemm_nn : layout == NT ? K->sgemm_nt : K->sgemm_tn;
}

static void t_gemm_hand(void **state)
{
    (void)state;
    /* A = [1 2 3; 4 5 6], B = [7 8; 9 10; 11 12]: A·B = [58 64; 139 154].  Leading
     * dimensions are padded (pad entries 99) and C's pad column must stay untouched. */
    const float a[] = {1, 2, 3, 99, 4, 5, 6, 99}, at[] = {1, 4, 99, 2, 5, 99, 3, 6, 99};
    const float b[] = {7, 8, 99, 9, 10, 99, 11, 12, 99}, bt[] = {7, 9, 11, 99, 8, 10, 12, 99};
    FOR_EACH_ISA(K)
    {
        float c[6];
        for (int layout = NN; layout <= TN; layout++) {
            const float *pa = layout == TN ? at : a, *pb = layout == NT ? bt : b;
            int lda = layout == TN ? 3 : 4, ldb = layout == NT ? 4 : 3;
            for (int i = 0; i < 6; i++)
                c[i] = -1;
            gemm_of(K, layout)(2, 2, 3, pa, lda, pb, ldb, c, 3, 0);
            EXPECT(K, LAYOUT[layout], c, 58, 64, -1, 139, 154, -1);
            gemm_of(K, layout)(2, 2, 3, pa, lda, pb, ldb, c, 3, 1);
            EXPECT(K, LAYOUT[layout], c, 116, 128, -1, 278, 308, -1);
        }
    }
}

/* The exact product in double, for checking the reference itself. */
static void gemm_truth(int layout, int m, int n, int k, const float *a, int lda, const float *b,
                       int ldb, float *c, int ldc, int accumulate)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = accumulate ? c[(size_t)i * ldc + j] : 0.0;
            for (int p = 0; p < k; p++) {
                double x = layout == TN ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                double y = layout == NT ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                s += x * y;
            }
            c[(size_t)i * ldc + j] = (float)s;
        }
}

/* One random case: A, B in [−1, 1], padded leading dimensions, a sentinel in C's padding. */
static void gemm_case(const nn_kernels *K, int layout, int m, int n, int k, int pad, int acc)
{
    int arows = layout == TN ? k : m, acols = layout == TN ? m : k;
    int brows = layout == NT ? n : k, bcols = layout == NT ? k : n;
    int lda = acols + pad, ldb = bcols + pad, ldc = n + pad;
    float *a = rnd((size_t)arows * lda, -1, 1), *b = rnd((size_t)brows * ldb, -1, 1);
    float *c = rnd((size_t)m * ldc, -1, 1), *want = NULL;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < ldc; j++)
            if (j >= n)
                c[(size_t)i * ldc + j] = 12345.0f;
            else if (!acc)
                c[(size_t)i * ldc + j] = NAN; /* must be overwritten, not read */
    want = dup(c, (size_t)m * ldc);
    if (acc == 0)
        for (size_t i = 0; i < (size_t)m * ldc; i++)
            want[i] = want[i] == 12345.0f ? want[i] : 0;
    if (K == &nn_kernels_scalar)
        gemm_truth(layout, m, n, k, a, lda, b, ldb, want, ldc, acc);
    else
        gemm_of(&nn_kernels_scalar, layout)(m, n, k, a, lda, b, ldb, want, ldc, acc);
    gemm_of(K, layout)(m, n, k, a, lda, b, ldb, c, ldc, acc);
    for (size_t i = 0; i < (size_t)m * ldc; i++)
        if (!tu_close(c[i], want[i], 1e-6 * k, 1e-5))
            fail_msg("%s: %s m=%d n=%d k=%d pad=%d acc=%d: C[%zu] = %.9g, want %.9g", K->isa,
                     LAYOUT[layout], m, n, k, pad, acc, i, c[i], want[i]);
    free(a), free(b), free(c), free(want);
}

static void t_gemm_random(void **state)
{
    (void)state;
    static const int sz[] = {1, 7, 17, 33, 200, 257};
    static const int lesson[][3] = {{32, 200, 30}, {32, 27, 200}, {4096, 200, 30},
                                    {32, 30, 200}, {30, 200, 32}, {200, 27, 32}};
    FOR_EACH_ISA(K)
    {
        for (int layout = NN; layout <= TN; layout++) {
            for (int x = 0; x < 6; x++)
                for (int y = 0; y < 6; y++)
                    for (int z = 0; z < 6; z++) {
                        int r = (int)urand(0, 6); /* padding and accumulate, at random */
                        gemm_case(K, layout, sz[x], sz[y], sz[z], r % 3, r / 3);
                    }
            for (int s = 0; s < 6; s++)
                for (int acc = 0; acc < 2; acc++)
                    gemm_case(K, layout, lesson[s][0], lesson[s][1], lesson[s][2], 0, acc);
        }
    }
}

/* The avx2 gemm has a packed path (big products), a direct one (small), edge tiles and
 * thread splits: lesson shapes, random small shapes and shapes crossing every blocking
 * boundary (MC = 144, KC = 256, NC = 1024), against the reference. */
static void t_gemm_paths(void **state)
{
    (void)state;
    static const int shapes[][3] = {{32, 200, 30}, {32, 27, 200},  {32, 200, 27},  {32, 30, 200},
                                    {30, 200, 32}, {200, 27, 32},  {32, 100, 100}, {150, 131, 300},
                                    {300, 70, 60}, {30, 1100, 40}, {97, 1030, 20}, {145, 67, 513}};
    FOR_EACH_ISA(K)
    {
        for (int layout = NN; layout <= TN; layout++) {
            for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
                for (int acc = 0; acc < 2; acc++)
                    gemm_case(K, layout, shapes[s][0], shapes[s][1], shapes[s][2], acc, acc);
            for (int r = 0; r < 150; r++) {
                int m = 1 + (int)urand(0, 70), n = 1 + (int)urand(0, 70);
                int k = 1 + (int)urand(0, 70), x = (int)urand(0, 6);
                gemm_case(K, layout, m, n, k, x % 3, x / 3);
            }
        }
    }
}

/* Threaded gemm: the same bits as single-threaded, for splits by rows and by columns, with
 * thread counts that do and do not divide the tiles. */
static void t_gemm_threads(void **state)
{
    (void)state;
    static const int shapes[][3] = {
        {512, 512, 1024}, {301, 97, 100}, {200, 300, 70}, {64, 2000, 33}, {512, 1024, 512}};
    FOR_EACH_ISA(K)
    {
        for (int layout = NN; layout <= TN; layout++)
            for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
                int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2], acc = (int)s & 1;
                if (K == &nn_kernels_scalar && (size_t)m * n * k > 1u << 23) continue;
                int lda = layout == TN ? m : k, ldb = layout == NT ? k : n;
                float *a = rnd((size_t)m * k, -1, 1), *b = rnd((size_t)k * n, -1, 1);
                float *c1 = rnd((size_t)m * n, -1, 1), *c2 = dup(c1, (size_t)m * n);
                nn_kernels_set_threads(1);
                gemm_of(K, layout)(m, n, k, a, lda, b, ldb, c1, n, acc);
                for (int t = 2; t <= 3; t++) {
                    float *c = dup(c2, (size_t)m * n);
                    nn_kernels_set_threads(t);
                    gemm_of(K, layout)(m, n, k, a, lda, b, ldb, c, n, acc);
                    if (memcmp(c, c1, (size_t)m * n * sizeof *c) != 0)
                        fail_msg("%s: %s %dx%dx%d: %d threads differ from 1", K->isa,
                                 LAYOUT[layout], m, n, k, t);
                    free(c);
                }
                nn_kernels_set_threads(1);
                free(a), free(b), free(c1), free(c2);
            }
    }
}

/* ---- elementwise, bias, optimisers ----------------------------------------------------- */

static void t_elementwise_hand(void **state)
{
    (void)state;
    FOR_EACH_ISA(K)
    {
        float y[6] = {1, 2, 3, 4, 5, 6}, out[3] = {1, 1, 1};
        K->bias_add(2, 3, (const float[]){10, 20, 30}, y);
        EXPECT(K, "bias_add", y, 11, 22, 33, 14, 25, 36);
        K->col_sum(2, 3, y, out, 1);
        EXPECT(K, "col_sum acc", out, 26, 48, 70);
        K->col_sum(2, 3, y, out, 0);
        EXPECT(K, "col_sum", out, 25, 47, 69);

        const float x[] = {0.5f, -2, 0, 20, 1e-3f, -0.0f};
        float t[6];
        K->tanh_fwd(6, x, t);
        EXPECT(K, "tanh", t, 0.46211715726000974f, -0.9640275800758169f, 0, 1, 0.0009999996666668f,
               0);
        assert_true(signbit(t[5]));
        float dx[2] = {100, 100};
        K->tanh_bwd(2, (const float[]){0.5f, -1}, (const float[]){2, 3}, dx, 0);
        EXPECT(K, "tanh_bwd", dx, 1.5f, 0);
        K->tanh_bwd(2, (const float[]){0.5f, -1}, (const float[]){2, 3}, dx, 1);
        EXPECT(K, "tanh_bwd acc", dx, 3, 0);

        float p[2] = {1, 2}, v[2] = {1, 0}, r[2] = {1, 2};
        K->sgd(2, p, (const float[]){0.5f, -1}, 0.1f);
        EXPECT(K, "sgd", p, 0.95f, 2.1f);
        p[0] = 1, p[1] = 2;
        K->sgd_momentum(2, p, (const float[]){0.5f, -1}, v, 0.1f, 0.9f);
        EXPECT(K, "momentum v", v, 1.4f, -1);
        EXPECT(K, "momentum p", p, 0.86f, 2.1f);
        K->ema(2, r, (const float[]){3, 4}, 0.25f);
        EXPECT(K, "ema", r, 1.5f, 2.5f);
    }
}

static void t_tanh_sweep(void **state)
{
    (void)state;
    size_t n = (size_t)24 * 16384 + 1; /* [−12, 12] in steps of 2^-14 */
    float *x = filled(n, 0), *y = filled(n, 0);
    for (size_t i = 0; i < n; i++)
        x[i] = -12.0f + (float)i / 16384.0f;
    FOR_EACH_ISA(K)
    {
        K->tanh_fwd(n, x, y);
        double worst = 0;
        for (size_t i = 0; i < n; i++)
            worst = fmax(worst, fabs((double)y[i] - tanhf(x[i])));
        if (worst > 1e-6) fail_msg("%s: tanh max abs error %.3g > 1e-6", K->isa, worst);
        /* odd to the bit and never beyond ±1 (the backward's 1 − y² stays ≥ 0) */
        for (size_t i = 0; i < n; i++) {
            float neg = y[n - 1 - i];
            if (x[n - 1 - i] != -x[i] || -neg != y[i] || fabsf(y[i]) > 1)
                fail_msg("%s: tanh(%g) = %.9g, tanh(%g) = %.9g", K->isa, x[i], y[i],
                         x[n - 1 - i], neg);
        }
        /* relative accuracy near 0, where an absolute bound says little */
        float small[64], ys[64];
        for (int i = 0; i < 64; i++)
            small[i] = ldexpf(1.37f, -i);
        K->tanh_fwd(64, small, ys);
        for (int i = 0; i < 64; i++)
            if (fabs((double)ys[i] - tanhf(small[i])) > 1e-6 * tanhf(small[i]))
                fail_msg("%s: tanh(%g) = %.9g, tanhf %.9g", K->isa, small[i], ys[i], tanhf(small[i]));
        const float sp[] = {NAN, INFINITY, -INFINITY, 1e-30f, -1e-10f, 100, -100};
        float t[7];
        K->tanh_fwd(7, sp, t);
        assert_true(isnan(t[0]));
        EXPECT(K, "tanh special", t + 1, 1, -1, 1e-30f, -1e-10f, 1, -1);
    }
    free(x), free(y);
}

/* exp on [−87, 88] and log on [1e-30, 1e30], 2^22 points each, against double precision:
 * relative error ≤ 2e-7 (the AVX2 polynomials measure 1.2e-7 and 8e-8), and the special
 * operands. */
static void t_exp_log(void **state)
{
    (void)state;
    size_t n = (size_t)1 << 22;
    float *x = filled(n, 0), *y = filled(n, 0), *lx = filled(n, 0);
    for (size_t i = 0; i < n; i++) {
        x[i] = -87.0f + 175.0f * (float)((double)i / (double)(n - 1));
        lx[i] = (float)(1e-30 * pow(1e60, (double)i / (double)(n - 1)));
    }
    FOR_EACH_ISA(K)
    {
        K->exp_fwd(n, x, y);
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            double t = exp((double)x[i]);
            worst = fmax(worst, fabs(y[i] - t) / t);
        }
        if (worst > 2e-7) fail_msg("%s: exp max rel error %.3g > 2e-7", K->isa, worst);
        K->log_fwd(n, lx, y);
        worst = 0;
        for (size_t i = 0; i < n; i++) {
            double t = log((double)lx[i]);
            if (t != 0) worst = fmax(worst, fabs(y[i] - t) / fabs(t));
        }
        if (worst > 2e-7) fail_msg("%s: log max rel error %.3g > 2e-7", K->isa, worst);
        const float sp[] = {0, -1, INFINITY, NAN, 1e-40f, 1, -INFINITY, 100, -120};
        float t[9];
        K->log_fwd(9, sp, t);
        assert_true(isinf(t[0]) && t[0] < 0);
        assert_true(isnan(t[1]) && isnan(t[3]) && isnan(t[6]));
        assert_true(isinf(t[2]) && t[2] > 0);
        EXPECT(K, "log subnormal, 1", t + 4, -92.1034037f, 0);
        K->exp_fwd(9, sp, t);
        EXPECT(K, "exp 0, -1", t, 1, 0.36787944f);
        assert_true(isinf(t[2]) && isnan(t[3]) && t[6] == 0 && isinf(t[7]) && t[8] == 0);
    }
    free(x), free(y), free(lx);
}

/* Sizes around the vector width, odd offsets (unaligned pointers), compared with scalar.
 * Every array has 8 spare floats past the end, compared too: a stray tail write shows. */
static void t_elementwise_random(void **state)
{
    (void)state;
    static const size_t ns[] = {1, 7, 8, 9, 15, 16, 17, 33, 200, 6400, 6401};
    FOR_EACH_ISA(K)
    {
        const nn_kernels *R = &nn_kernels_scalar;
        for (size_t t = 0; t < sizeof ns / sizeof *ns; t++) {
            size_t n = ns[t], o = t % 3, len = n + o + 8;
            float *x = rnd(len, -5, 5), *g = rnd(len, -1, 1), *v = rnd(len, -1, 1);
            float *y1 = rnd(len, -1, 1), *y2 = dup(y1, len), *v2 = dup(v, len);
            K->tanh_fwd(n, x + o, y1 + o), R->tanh_fwd(n, x + o, y2 + o);
            expect_close(K, "tanh_fwd", y1, y2, len, 1e-6, 0);
            K->tanh_bwd(n, y2 + o, g + o, v + o, t % 2);
            R->tanh_bwd(n, y2 + o, g + o, v2 + o, t % 2);
            expect_close(K, "tanh_bwd", v, v2, len, 1e-6, 1e-6);
            memcpy(v, v2, len * sizeof *v);
            memcpy(y1, y2, len * sizeof *y1);
            K->sgd(n, y1 + o, g + o, 0.3f), R->sgd(n, y2 + o, g + o, 0.3f);
            expect_close(K, "sgd", y1, y2, len, 1e-6, 1e-6);
            K->sgd_momentum(n, y1 + o, g + o, v + o, 0.1f, 0.9f);
            R->sgd_momentum(n, y2 + o, g + o, v2 + o, 0.1f, 0.9f);
            expect_close(K, "momentum v", v, v2, len, 1e-6, 1e-6);
            expect_close(K, "momentum p", y1, y2, len, 1e-6, 1e-6);
            K->ema(n, y1 + o, g + o, 0.1f), R->ema(n, y2 + o, g + o, 0.1f);
            expect_close(K, "ema", y1, y2, len, 1e-6, 1e-6);
            K->exp_fwd(n, x + o, y1 + o), R->exp_fwd(n, x + o, y2 + o);
            expect_close(K, "exp_fwd", y1, y2, len, 0, 3e-7);
            memcpy(y1, y2, len * sizeof *y1);
            K->log_fwd(n, y2 + o, y1 + o), R->log_fwd(n, y2 + o, y2 + o); /* in place too */
            expect_close(K, "log_fwd", y1, y2, len, 3e-7, 3e-7);
            free(x), free(g), free(v), free(v2), free(y1), free(y2);
        }
        static const int mn[][2] = {{1, 1}, {7, 17}, {32, 200}, {33, 257}, {4096, 27}};
        for (int t = 0; t < 5; t++) {
            int m = mn[t][0], n = mn[t][1];
            size_t e = (size_t)m * n + 8;
            float *x = rnd(e, -1, 1), *x2 = dup(x, e);
            float *b = rnd(n, -1, 1), *s1 = rnd(n + 8, -1, 1), *s2 = dup(s1, n + 8);
            K->bias_add(m, n, b, x), R->bias_add(m, n, b, x2);
            expect_close(K, "bias_add", x, x2, e, 1e-6, 1e-6);
            K->col_sum(m, n, x, s1, t % 2), R->col_sum(m, n, x, s2, t % 2);
            expect_close(K, "col_sum", s1, s2, n + 8, 1e-6 * m, 1e-5);
            free(x), free(x2), free(b), free(s1), free(s2);
        }
    }
}

/* relu, sigmoid, Nesterov and Adam: hand values, then every ISA against the reference on
 * sizes around the vector width (with 8 spare floats compared, as above). */
static void t_activations_optimizers(void **state)
{
    (void)state;
    FOR_EACH_ISA(K)
    {
        const float x[] = {-2, 0, 0.5f, 3, -0.0f, 100, -100};
        float y[7], dx[4] = {9, 9, 9, 9};
        K->relu_fwd(7, x, y);
        EXPECT(K, "relu", y, 0, 0, 0.5f, 3, 0, 100, 0);
        K->relu_bwd(4, y, (const float[]){1, 2, 3, 4}, dx, 1);
        EXPECT(K, "relu_bwd acc", dx, 9, 9, 12, 13);
        K->sigmoid_fwd(7, x, y);
        EXPECT(K, "sigmoid", y, 0.11920292202211755f, 0.5f, 0.6224593312018546f,
               0.9525741268224334f, 0.5f, 1, 0);
        K->sigmoid_bwd(2, (const float[]){0.5f, 0.25f}, (const float[]){2, 4}, dx, 0);
        EXPECT(K, "sigmoid_bwd", dx, 0.5f, 0.75f);

        float p[2] = {1, 2}, v[2] = {0, 0}, m[2] = {0, 0};
        K->sgd_nesterov(2, p, (const float[]){0.5f, -1}, v, 0.1f, 0.9f);
        EXPECT(K, "nesterov v", v, 0.5f, -1);
        EXPECT(K, "nesterov p", p, 0.905f, 2.19f);
        p[0] = 1, p[1] = 2, v[0] = v[1] = 0;
        /* lr 0.1, weight_decay 0.01, bias corrections 0.1 and 0.001 */
        nn_adam_coef c = {0.9f, 0.1f, 0.999f, 0.001f, 1e-8f, 0.999f, 1.0f, sqrtf(0.001f)};
        K->adam(2, p, (const float[]){0.5f, -1}, m, v, &c);
        EXPECT(K, "adam m", m, 0.05f, -0.1f);
        EXPECT(K, "adam v", v, 0.00025f, 0.001f);
        EXPECT(K, "adam p", p, 0.899f, 2.098f);
    }
    static const size_t ns[] = {1, 7, 8, 9, 17, 33, 6401};
    FOR_EACH_ISA(K)
    {
        const nn_kernels *R = &nn_kernels_scalar;
        for (size_t t = 0; t < sizeof ns / sizeof *ns; t++) {
            size_t n = ns[t], o = t % 3, len = n + o + 8;
            float *x = rnd(len, -12, 12), *g = rnd(len, -1, 1), *v = rnd(len, -1, 1);
            float *y1 = rnd(len, -1, 1), *y2 = dup(y1, len), *v2 = dup(v, len);
            float *s1 = rnd(len, 0, 1), *s2 = dup(s1, len);
            K->relu_fwd(n, x + o, y1 + o), R->relu_fwd(n, x + o, y2 + o);
            expect_close(K, "relu_fwd", y1, y2, len, 0, 0);
            K->relu_bwd(n, y2 + o, g + o, v + o, t % 2);
            R->relu_bwd(n, y2 + o, g + o, v2 + o, t % 2);
            expect_close(K, "relu_bwd", v, v2, len, 1e-6, 1e-6);
            K->sigmoid_fwd(n, x + o, y1 + o), R->sigmoid_fwd(n, x + o, y2 + o);
            expect_close(K, "sigmoid_fwd", y1, y2, len, 1e-6, 1e-6);
            K->sigmoid_bwd(n, y2 + o, g + o, v + o, t % 2);
            R->sigmoid_bwd(n, y2 + o, g + o, v2 + o, t % 2);
            expect_close(K, "sigmoid_bwd", v, v2, len, 1e-6, 1e-6);
            memcpy(y1, y2, len * sizeof *y1);
            memcpy(v, v2, len * sizeof *v);
            K->sgd_nesterov(n, y1 + o, g + o, v + o, 0.1f, 0.9f);
            R->sgd_nesterov(n, y2 + o, g + o, v2 + o, 0.1f, 0.9f);
            expect_close(K, "nesterov v", v, v2, len, 1e-6, 1e-6);
            expect_close(K, "nesterov p", y1, y2, len, 1e-6, 1e-6);
            nn_adam_coef c = {0.9f, 0.1f, 0.999f, 0.001f, 1e-8f, 0.99999f, 2e-3f, sqrtf(0.1f)};
            K->adam(n, y1 + o, g + o, v + o, s1 + o, &c);
            R->adam(n, y2 + o, g + o, v2 + o, s2 + o, &c);
            expect_close(K, "adam p", y1, y2, len, 1e-6, 1e-6);
            expect_close(K, "adam m", v, v2, len, 1e-6, 1e-6);
            expect_close(K, "adam v", s1, s2, len, 1e-6, 1e-6);
            free(x), free(g), free(v), free(v2), free(y1), free(y2), free(s1), free(s2);
        }
    }
}

/* ---- batchnorm ----------------------------------------------------------------------- */

static void t_bn_hand(void **state)
{
    (void)state;
    /* x = [1 2; 3 6; 5 10]: means 3, 6; Σ(x − mean)² = 8, 32.  Unbiased var 4, 16 (std 2, 4);
     * biased var 8/3, 32/3.  gamma = (2, 0.5), beta = (1, −1). */
    const float x[] = {1, 2, 3, 6, 5, 10}, gamma[] = {2, 0.5f}, beta[] = {1, -1};
    const float h = 1.2247448713915890f; /* 2/sqrt(8/3) = 4/sqrt(32/3) */
    FOR_EACH_ISA(K)
    {
        float mean[2], std[2], xhat[6], y[6], dx[6], dg[2], db[2];
        K->bn_train_fwd(3, 2, x, gamma, beta, 0, 1, mean, std, xhat, y);
        EXPECT(K, "bn mean", mean, 3, 6);
        EXPECT(K, "bn std unbiased", std, 2, 4);
        EXPECT(K, "bn xhat unbiased", xhat, -1, -1, 0, 0, 1, 1);
        EXPECT(K, "bn y unbiased", y, -1, -1.5f, 1, -1, 3, -0.5f);
        /* dy = [1 0; 0 1; 2 3].  Column 0: g = (2, 0, 4), mean g = 2, Σ g·xhat / 2 = 1,
         * dx = ((2,0,4) − 2 − (−1,0,1))/2.  Column 1: g = (0, .5, 1.5), mean 2/3,
         * Σ g·xhat / 2 = 0.75, dx = (1/12, −1/6, 1/12)/4. */
        const float dy[] = {1, 0, 0, 1, 2, 3};
        K->bn_bwd(3, 2, xhat, std, gamma, dy, 1, dx, dg, db, 0);
        EXPECT(K, "bn dx", dx, 0.5f, 1.0f / 48, -1, -1.0f / 24, 0.5f, 1.0f / 48);
        EXPECT(K, "bn dgamma", dg, 1, 3);
        EXPECT(K, "bn dbeta", db, 3, 4);
        K->bn_train_fwd(3, 2, x, gamma, beta, 0, 0, mean, std, xhat, y);
        EXPECT(K, "bn std biased", std, 1.6329931618554521f, 3.265986323710904f);
        EXPECT(K, "bn xhat biased", xhat, -h, -h, 0, 0, h, h);
        EXPECT(K, "bn y biased", y, 1 - 2 * h, -1 - h / 2, 1, -1, 1 + 2 * h, -1 + h / 2);
        K->bn_train_fwd(3, 2, x, gamma, beta, 1, 1, mean, std, xhat, y); /* eps = 1 */
        EXPECT(K, "bn std eps", std, 2.2360679774997897f, 4.123105625617661f);
        K->bn_eval_fwd(3, 2, x, (const float[]){1, 2}, (const float[]){2, 4}, gamma, beta, y);
        EXPECT(K, "bn_eval", y, 1, -1, 3, -0.5f, 5, 0);
    }
}

static void t_bn_random(void **state)
{
    (void)state;
    static const int mn[][2] = {{2, 1}, {3, 7}, {32, 200}, {33, 257}, {4096, 200}};
    FOR_EACH_ISA(K)
    {
        const nn_kernels *R = &nn_kernels_scalar;
        for (int t = 0; t < 5; t++) {
            int m = mn[t][0], n = mn[t][1], unb = t % 2, acc = t % 2;
            size_t e = (size_t)m * n;
            float *x = rnd(e, -3, 5), *dy = rnd(e, -1, 1), *ga = rnd(n, 0.5f, 2);
            float *be = rnd(n, -1, 1), *st = rnd(8 * (size_t)n, -1, 1), *buf = rnd(6 * e, -1, 1);
            /* per column: [mean, std] of K then of R, then [dgamma, dbeta] of K then of R */
            float *ms1 = st, *ms2 = st + 2 * n, *gb1 = st + 4 * n, *gb2 = st + 6 * n;
            float *xh1 = buf, *xh2 = buf + e, *y1 = buf + 2 * e, *y2 = buf + 3 * e;
            float *dx1 = buf + 4 * e, *dx2 = buf + 5 * e;
            memcpy(dx2, dx1, e * sizeof *dx1);
            K->bn_train_fwd(m, n, x, ga, be, 1e-5f, unb, ms1, ms1 + n, xh1, y1);
            R->bn_train_fwd(m, n, x, ga, be, 1e-5f, unb, ms2, ms2 + n, xh2, y2);
            expect_close(K, "bn mean, std", ms1, ms2, 2 * (size_t)n, 1e-5, 1e-5);
            expect_close(K, "bn xhat", xh1, xh2, e, 1e-5, 1e-5);
            expect_close(K, "bn y", y1, y2, e, 1e-5, 1e-5);
            K->bn_eval_fwd(m, n, x, ms2, ms2 + n, ga, be, y1);
            expect_close(K, "bn_eval", y1, y2, e, 1e-5, 1e-5);
            K->bn_bwd(m, n, xh2, ms2 + n, ga, dy, unb, dx1, gb1, gb1 + n, acc);
            R->bn_bwd(m, n, xh2, ms2 + n, ga, dy, unb, dx2, gb2, gb2 + n, acc);
            expect_close(K, "bn dgamma, dbeta", gb1, gb2, 2 * (size_t)n, 1e-6 * m, 1e-5);
            expect_close(K, "bn dx", dx1, dx2, e, 1e-5, 1e-4);
            free(x), free(dy), free(ga), free(be), free(st), free(buf);
        }
    }
}

/* ---- cross-entropy, embedding -------------------------------------------------------- */

static void t_xent_hand(void **state)
{
    (void)state;
    /* Row 0: logits (1, 2, 3), y = 2: Σ e^(l−3) = 1 + e^−1 + e^−2 = 1.503214724,
     * prob = e^(l−3)/Σ, loss = log Σ = 0.407605964.  Row 1: (0, 0, 0), y = 1: 1/3, log 3. */
    const float l[] = {1, 2, 3, 0, 0, 0};
    const int32_t y[] = {2, 1};
    FOR_EACH_ISA(K)
    {
        float p[6], loss[2], d[6];
        K->xent_fwd(2, 3, l, y, p, loss);
        EXPECT(K, "xent prob", p, 0.0900305732f, 0.2447284711f, 0.6652409558f, 1 / 3.f, 1 / 3.f,
               1 / 3.f);
        EXPECT(K, "xent loss", loss, 0.4076059644f, 1.0986122887f);
        K->xent_bwd(2, 3, p, y, 0.5f, d);
        EXPECT(K, "xent_bwd", d, 0.0450152866f, 0.1223642356f, -0.1673795221f, 1 / 6.f, -1 / 3.f,
               1 / 6.f);
        K->xent_bwd(2, 3, p, y, 0.5f, p); /* in place */
        EXPECT(K, "xent_bwd in place", p, 0.0450152866f, 0.1223642356f, -0.1673795221f, 1 / 6.f,
               -1 / 3.f, 1 / 6.f);
    }
}

static void t_xent_random(void **state)
{
    (void)state;
    static const int mn[][2] = {{1, 1}, {5, 7}, {32, 27}, {3, 257}, {4096, 27}};
    FOR_EACH_ISA(K)
    {
        for (int t = 0; t < 5; t++) {
            int m = mn[t][0], n = mn[t][1];
            size_t e = (size_t)m * n;
            float *l = rnd(e, -8, 8), *buf = rnd(4 * e + 2 * (size_t)m, 0, 0);
            int32_t *y = malloc((size_t)m * sizeof *y);
            for (int i = 0; i < m; i++)
                y[i] = (int32_t)(urand(0, 1) * n) % n;
            for (int j = 0; j < n; j++)
                l[j] += 1000; /* max-subtraction must cope */
            float *p1 = buf, *p2 = buf + e, *d1 = buf + 2 * e, *d2 = buf + 3 * e;
            float *r1 = buf + 4 * e, *r2 = r1 + m;
            K->xent_fwd(m, n, l, y, p1, r1), nn_kernels_scalar.xent_fwd(m, n, l, y, p2, r2);
            expect_close(K, "xent prob", p1, p2, e, 1e-6, 1e-5);
            expect_close(K, "xent loss", r1, r2, (size_t)m, 1e-5, 1e-5);
            K->xent_bwd(m, n, p2, y, 1.0f / m, d1);
            nn_kernels_scalar.xent_bwd(m, n, p2, y, 1.0f / m, d2);
            expect_close(K, "xent_bwd", d1, d2, e, 1e-7, 1e-6);
            free(l), free(buf), free(y);
        }
    }
}

static void t_embed(void **state)
{
    (void)state;
    const float table[] = {0, 1, 10, 11, 20, 21, 30, 31}; /* 4 × 2 */
    const int32_t idx[] = {3, 1, 3, 0};                   /* rows 2 × t_len 2 */
    FOR_EACH_ISA(K)
    {
        float out[8], dt[8] = {1, 1, 1, 1, 1, 1, 1, 1};
        K->embed_gather(2, 2, 2, idx, table, out);
        EXPECT(K, "embed_gather", out, 30, 31, 10, 11, 30, 31, 0, 1);
        K->embed_scatter(2, 2, 2, idx, (const float[]){1, 2, 3, 4, 5, 6, 7, 8}, dt);
        EXPECT(K, "embed_scatter", dt, 8, 9, 4, 5, 1, 1, 7, 9);
        for (int d = 1; d <= 17; d += 8) { /* 1, 9, 17: around the vector width */
            float *tab = rnd(27 * (size_t)d, -1, 1), *g = rnd(96 * (size_t)d, -1, 1);
            float *o1 = rnd(96 * (size_t)d, 0, 0), *o2 = dup(o1, 96 * (size_t)d);
            float *t1 = dup(tab, 27 * (size_t)d), *t2 = dup(tab, 27 * (size_t)d);
            int32_t ix[96];
            for (int i = 0; i < 96; i++)
                ix[i] = (int32_t)(urand(0, 27)) % 27;
            K->embed_gather(32, 3, d, ix, tab, o1);
            nn_kernels_scalar.embed_gather(32, 3, d, ix, tab, o2);
            expect_close(K, "embed_gather", o1, o2, 96 * (size_t)d, 0, 0);
            K->embed_scatter(32, 3, d, ix, g, t1);
            nn_kernels_scalar.embed_scatter(32, 3, d, ix, g, t2);
            expect_close(K, "embed_scatter", t1, t2, 27 * (size_t)d, 1e-6, 1e-6);
            free(tab), free(g), free(o1), free(o2), free(t1), free(t2);
        }
    }
}

/* ---- backward kernels against finite differences of the forward ones ---------------- */

/* A scalar loss of the current inputs, evaluated in double from the float outputs. */
typedef double (*loss_fn)(const nn_kernels *K, void *ctx);

/* Checks grad[i] against the central difference of loss in param[i], for all i < n. */
static void expect_grad(const nn_kernels *K, const char *what, loss_fn loss, void *ctx,
                        float *param, const float *grad, size_t n, float h, double tol)
{
    for (size_t i = 0; i < n; i++) {
        float v = param[i], hi = v + h, lo = v - h;
        param[i] = hi;
        double lp = loss(K, ctx);
        param[i] = lo;
        double lm = loss(K, ctx);
        param[i] = v;
        double fd = (lp - lm) / ((double)hi - (double)lo);
        if (!tu_close(grad[i], fd, tol, tol))
            fail_msg("%s: %s[%zu] = %.7g, finite difference %.7g", K->isa, what, i, grad[i], fd);
    }
}

static double dot(size_t n, const float *c, const float *y)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)c[i] * y[i];
    return s;
}

typedef struct {
    size_t n;
    float *x, *c, *y;
} tanh_ctx;

static double tanh_loss(const nn_kernels *K, void *ctx)
{
    tanh_ctx *t = ctx;
    K->tanh_fwd(t->n, t->x, t->y);
    return dot(t->n, t->c, t->y);
}

static void t_tanh_grad_fd(void **state)
{
    (void)state;
    FOR_EACH_ISA(K)
    {
        tanh_ctx t = {13, rnd(13, -3, 3), rnd(13, -1, 1), rnd(13, 0, 0)};
        float *dx = rnd(13, 0, 0);
        tanh_loss(K, &t);
        K->tanh_bwd(13, t.y, t.c, dx, 0);
        expect_grad(K, "tanh_bwd", tanh_loss, &t, t.x, dx, 13, 1e-2f, 1e-3);
        free(t.x), free(t.c), free(t.y), free(dx);
    }
}

typedef struct {
    int m, n, unbiased;
    float eps;
    float *x, *gamma, *beta, *c, *mean, *std, *xhat, *y;
} bn_ctx;

static double bn_loss(const nn_kernels *K, void *ctx)
{
    bn_ctx *b = ctx;
    K->bn_train_fwd(b->m, b->n, b->x, b->gamma, b->beta, b->eps, b->unbiased, b->mean, b->std,
                    b->xhat, b->y);
    return dot((size_t)b->m * b->n, b->c, b->y);
}

static void t_bn_grad_fd(void **state)
{
    (void)state;
    enum { M = 5, N = 9, E = M * N };
    FOR_EACH_ISA(K)
    {
        for (int mode = 0; mode < 4; mode++) {
            bn_ctx b = {M,
                        N,
                        mode & 1,
                        mode & 2 ? 1e-5f : 0.0f,
                        rnd(E, -2, 2),
                        rnd(N, 0.5f, 2),
                        rnd(N, -1, 1),
                        rnd(E, -1, 1),
                        rnd(N, 0, 0),
                        rnd(N, 0, 0),
                        rnd(E, 0, 0),
                        rnd(E, 0, 0)};
            float *dx = rnd(E, 0, 0), *dg = rnd(N, 0, 0), *db = rnd(N, 0, 0);
            bn_loss(K, &b);
            K->bn_bwd(M, N, b.xhat, b.std, b.gamma, b.c, b.unbiased, dx, dg, db, 0);
            expect_grad(K, "bn dx", bn_loss, &b, b.x, dx, E, 1e-2f, 2e-3);
            expect_grad(K, "bn dgamma", bn_loss, &b, b.gamma, dg, N, 1e-2f, 2e-3);
            expect_grad(K, "bn dbeta", bn_loss, &b, b.beta, db, N, 1e-2f, 2e-3);
            free(b.x), free(b.gamma), free(b.beta), free(b.c), free(b.mean), free(b.std);
            free(b.xhat), free(b.y), free(dx), free(dg), free(db);
        }
    }
}

typedef struct {
    int m, n;
    float *l;
    const int32_t *y;
    float *p, *loss;
} xent_ctx;

static double xent_loss(const nn_kernels *K, void *ctx)
{
    xent_ctx *x = ctx;
    K->xent_fwd(x->m, x->n, x->l, x->y, x->p, x->loss);
    double s = 0;
    for (int i = 0; i < x->m; i++)
        s += x->loss[i];
    return s / x->m;
}

static void t_xent_grad_fd(void **state)
{
    (void)state;
    enum { M = 4, N = 11 };
    static const int32_t y[M] = {0, 10, 3, 3};
    FOR_EACH_ISA(K)
    {
        xent_ctx x = {M, N, rnd(M * N, -2, 2), y, rnd(M * N, 0, 0), rnd(M, 0, 0)};
        float *d = rnd(M * N, 0, 0);
        xent_loss(K, &x);
        K->xent_bwd(M, N, x.p, y, 1.0f / M, d);
        expect_grad(K, "xent_bwd", xent_loss, &x, x.l, d, M * N, 1e-2f, 1e-3);
        free(x.l), free(x.p), free(x.loss), free(d);
    }
}

/* Y = X·W (X: m×in, W: in×out), L = Σ c·Y:  dX = c·Wᵀ (sgemm_nt), dW = Xᵀ·c (sgemm_tn). */
typedef struct {
    int m, in, out;
    float *x, *w, *c, *y;
} lin_ctx;

static double lin_loss(const nn_kernels *K, void *ctx)
{
    lin_ctx *l = ctx;
    K->sgemm_nn(l->m, l->out, l->in, l->x, l->in, l->w, l->out, l->y, l->out, 0);
    return dot((size_t)l->m * l->out, l->c, l->y);
}

static void t_linear_grad_fd(void **state)
{
    (void)state;
    enum { M = 6, IN = 9, OUT = 17 };
    FOR_EACH_ISA(K)
    {
        lin_ctx l = {M,
                     IN,
                     OUT,
                     rnd(M * IN, -1, 1),
                     rnd(IN * OUT, -1, 1),
                     rnd(M * OUT, -1, 1),
                     rnd(M * OUT, 0, 0)};
        float *dx = rnd(M * IN, 0, 0), *dw = rnd(IN * OUT, 0, 0);
        K->sgemm_nt(M, IN, OUT, l.c, OUT, l.w, OUT, dx, IN, 0);
        K->sgemm_tn(IN, OUT, M, l.x, IN, l.c, OUT, dw, OUT, 0);
        expect_grad(K, "linear dX", lin_loss, &l, l.x, dx, M * IN, 1e-2f, 1e-4);
        expect_grad(K, "linear dW", lin_loss, &l, l.w, dw, IN * OUT, 1e-2f, 1e-4);
        free(l.x), free(l.w), free(l.c), free(l.y), free(dx), free(dw);
    }
}

/* ---- accumulate = 1 adds what accumulate = 0 writes ---------------------------------- */

/* out was P before an accumulating call; G is what an overwriting call produced. */
static void expect_sum(const nn_kernels *K, const char *what, const float *out, const float *p,
                       const float *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!tu_close(out[i], (double)p[i] + g[i], 1e-5, 1e-5))
            fail_msg("%s: %s accumulate: [%zu] = %.9g, want %.9g + %.9g", K->isa, what, i, out[i],
                     p[i], g[i]);
}

static void t_accumulate(void **state)
{
    (void)state;
    enum { M = 9, N = 19, KK = 11, E = M * N };
    FOR_EACH_ISA(K)
    {
        float *a = rnd(M * KK, -1, 1), *b = rnd(KK * N, -1, 1), *p = rnd(E, -1, 1);
        float *g = rnd(E, 0, 0), *out = rnd(E, 0, 0), *x = rnd(E, -1, 1), *s = rnd(N, 1, 2);
        for (int layout = NN; layout <= TN; layout++) {
            int lda = layout == TN ? M : KK, ldb = layout == NT ? KK : N;
            for (int i = 0; i < E; i++)
                g[i] = NAN, out[i] = p[i];
            gemm_of(K, layout)(M, N, KK, a, lda, b, ldb, g, N, 0);
            gemm_of(K, layout)(M, N, KK, a, lda, b, ldb, out, N, 1);
            expect_sum(K, LAYOUT[layout], out, p, g, E);
        }
        memcpy(out, p, sizeof(float) * N);
        K->col_sum(M, N, x, g, 0), K->col_sum(M, N, x, out, 1);
        expect_sum(K, "col_sum", out, p, g, N);
        memcpy(out, p, sizeof(float) * E);
        K->tanh_bwd(E, x, b, g, 0), K->tanh_bwd(E, x, b, out, 1);
        expect_sum(K, "tanh_bwd", out, p, g, E);
        float dg[N], db[N];
        memcpy(out, p, sizeof(float) * E);
        K->bn_bwd(M, N, x, s, s, b, 1, g, dg, db, 0);
        K->bn_bwd(M, N, x, s, s, b, 1, out, dg, db, 1);
        expect_sum(K, "bn_bwd", out, p, g, E);
        free(a), free(b), free(p), free(g), free(out), free(x), free(s);
    }
}

/* ---- dispatch ------------------------------------------------------------------------ */

static void t_dispatch(void **state)
{
    (void)state;
    const char *best = NULL;
    for (size_t i = 0; i < sizeof ISAS / sizeof *ISAS; i++) {
        const nn_kernels *t = nn_kernels_get(ISAS[i]);
        assert_int_equal(nn_kernels_supported(ISAS[i]), t != NULL);
        if (t) assert_string_equal(t->isa, ISAS[i]), best = ISAS[i];
        assert_int_equal(nn_kernels_select(ISAS[i]), t ? 0 : -1);
        if (t) assert_ptr_equal(nn_k, t);
    }
    print_message("kernel ISAs run here: scalar .. %s\n", best);
    assert_ptr_equal(nn_kernels_get("scalar"), &nn_kernels_scalar);
    assert_false(nn_kernels_supported("sse9"));
    assert_null(nn_kernels_get(NULL));

    const nn_kernels *before = nn_k;
    assert_int_equal(nn_kernels_select("sse9"), -1);
    assert_ptr_equal(nn_k, before);

    setenv("NNRUN_ISA", "scalar", 1);
    assert_int_equal(nn_kernels_select(NULL), 0);
    assert_ptr_equal(nn_k, &nn_kernels_scalar);
    setenv("NNRUN_ISA", "sse9", 1);
    assert_int_equal(nn_kernels_select(NULL), -1);
    assert_ptr_equal(nn_k, &nn_kernels_scalar);
    setenv("NNRUN_ISA", "", 1); /* empty: as if unset */
    assert_int_equal(nn_kernels_select(NULL), 0);
    assert_string_equal(nn_k->isa, best);
    unsetenv("NNRUN_ISA");
    assert_int_equal(nn_kernels_select("scalar"), 0);
    assert_int_equal(nn_kernels_select(NULL), 0);
    assert_string_equal(nn_k->isa, best);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(t_dispatch, reseed),
        cmocka_unit_test_setup(t_gemm_hand, reseed),
        cmocka_unit_test_setup(t_elementwise_hand, reseed),
        cmocka_unit_test_setup(t_bn_hand, reseed),
        cmocka_unit_test_setup(t_xent_hand, reseed),
        cmocka_unit_test_setup(t_embed, reseed),
        cmocka_unit_test_setup(t_gemm_random, reseed),
        cmocka_unit_test_setup(t_gemm_paths, reseed),
        cmocka_unit_test_setup(t_gemm_threads, reseed),
        cmocka_unit_test_setup(t_exp_log, reseed),
        cmocka_unit_test_setup(t_tanh_sweep, reseed),
        cmocka_unit_test_setup(t_elementwise_random, reseed),
        cmocka_unit_test_setup(t_activations_optimizers, reseed),
        cmocka_unit_test_setup(t_bn_random, reseed),
        cmocka_unit_test_setup(t_xent_random, reseed),
        cmocka_unit_test_setup(t_tanh_grad_fd, reseed),
        cmocka_unit_test_setup(t_bn_grad_fd, reseed),
        cmocka_unit_test_setup(t_xent_grad_fd, reseed),
        cmocka_unit_test_setup(t_linear_grad_fd, reseed),
        cmocka_unit_test_setup(t_accumulate, reseed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
