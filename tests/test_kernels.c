/* test_kernels.c — every kernel of every ISA this machine runs: the products (sgemm in its
 * three layouts, every path and thread count), the elementwise kernels and activations,
 * the optimizer updates, and the dispatch; against values worked out by hand and against
 * the scalar reference on random shapes.  BatchNorm, cross-entropy, embedding and the
 * backward kernels' finite differences: test_kernels_nn.c. */
#include "kernels/threads.h"
#include "kernels_util.h"

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
 * thread counts that do and do not divide the tiles, on every vector path this CPU runs
 * (avx2, avx512; the scalar one is the single-threaded reference): the pool's workers must
 * have run part of each product, or the comparison would compare a path with itself. */
static void gemm_threads_on(const nn_kernels *K)
{
    static const int shapes[][3] = {
        {512, 512, 1024}, {301, 97, 100}, {200, 300, 70}, {64, 2000, 33}, {512, 1024, 512}};
    for (int layout = NN; layout <= TN; layout++)
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
            int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2], acc = (int)s & 1;
            int lda = layout == TN ? m : k, ldb = layout == NT ? k : n;
            float *a = rnd((size_t)m * k, -1, 1), *b = rnd((size_t)k * n, -1, 1);
            float *c1 = rnd((size_t)m * n, -1, 1), *c2 = dup(c1, (size_t)m * n);
            nn_kernels_set_threads(1);
            gemm_of(K, layout)(m, n, k, a, lda, b, ldb, c1, n, acc);
            for (int t = 2; t <= 3; t++) {
                float *c = dup(c2, (size_t)m * n);
                nn_kernels_set_threads(t);
                unsigned long before = nn_threads_worker_tasks();
                gemm_of(K, layout)(m, n, k, a, lda, b, ldb, c, n, acc);
                if (nn_threads_worker_tasks() < before + 1)
                    fail_msg("%s %s %dx%dx%d on %d threads: no worker ran a part", K->isa,
                             LAYOUT[layout], m, n, k, t);
                if (memcmp(c, c1, (size_t)m * n * sizeof *c) != 0)
                    fail_msg("%s: %s %dx%dx%d: %d threads differ from 1", K->isa, LAYOUT[layout], m,
                             n, k, t);
                free(c);
            }
            nn_kernels_set_threads(1);
            free(a), free(b), free(c1), free(c2);
        }
}

static void t_gemm_threads(void **state)
{
    (void)state;
    const nn_kernels *K = nn_kernels_get("avx2");
    if (tu_cpu_has_avx2()) assert_non_null(K); /* a CPU with AVX2 must get the avx2 path */
    if (!K) tu_cannot_run("no kernel path with a threaded gemm on this CPU (AVX2 needed)\n");
    gemm_threads_on(K);
    const nn_kernels *K5 = nn_kernels_get("avx512");
    if (tu_cpu_has_avx512()) assert_non_null(K5); /* and one with AVX-512 the avx512 path */
    if (K5)
        gemm_threads_on(K5);
    else
        print_message("avx512 gemm threads: skipped, this CPU (or build) has no AVX-512\n");
}

/* The two vector paths compute every element of C as the same FMA chain: bit-identical. */
static void t_gemm_avx2_avx512_same(void **state)
{
    (void)state;
    const nn_kernels *K2 = nn_kernels_get("avx2"), *K5 = nn_kernels_get("avx512");
    if (!K2 || !K5) tu_cannot_run("avx2 and avx512 paths needed (this CPU lacks AVX-512)\n");
    static const int shapes[][3] = {{32, 200, 30}, {145, 67, 513}, {512, 300, 256}, {7, 1100, 9}};
    for (int layout = NN; layout <= TN; layout++)
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
            int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
            int lda = layout == TN ? m : k, ldb = layout == NT ? k : n;
            float *a = rnd((size_t)m * k, -1, 1), *b = rnd((size_t)k * n, -1, 1);
            float *c1 = rnd((size_t)m * n, -1, 1), *c2 = dup(c1, (size_t)m * n);
            gemm_of(K2, layout)(m, n, k, a, lda, b, ldb, c1, n, 1);
            gemm_of(K5, layout)(m, n, k, a, lda, b, ldb, c2, n, 1);
            if (memcmp(c1, c2, (size_t)m * n * sizeof *c1) != 0)
                fail_msg("%s %dx%dx%d: avx512 differs from avx2", LAYOUT[layout], m, n, k);
            free(a), free(b), free(c1), free(c2);
        }
}

/* BatchNorm, tanh and the optimizers split big arrays over the threads (columns, ranges):
 * on every vector path, 2 and 3 threads give 1 thread's bits, and a worker did run a part. */
static void t_split_threads(void **state)
{
    (void)state;
    enum { M = 300, N = 520 }; /* 156,000 elements: above the split threshold */
    const size_t E = (size_t)M * N;
    float *x = rnd(E, -2, 2), *dy = rnd(E, -1, 1), *gam = rnd(N, 0.5f, 1.5f);
    float *bet = rnd(N, -1, 1), *out[4][6];
    int paths = 0;
    FOR_EACH_ISA(K)
    {
        if (strcmp(K->isa, "scalar") == 0) continue;
        paths++;
        for (int t = 1; t <= 3; t++) {
            nn_kernels_set_threads(t);
            unsigned long before = nn_threads_worker_tasks();
            float *mean = rnd(N, 0, 0), *sd = rnd(N, 0, 0), *xh = rnd(E, 0, 0), *y = rnd(E, 0, 0);
            float *dx = rnd(E, 0, 0), *dg = rnd(N, 0, 0), *db = rnd(N, 0, 0), *th = rnd(E, 0, 0);
            float *p = dup(x, E), *v = dup(dy, E), *s2 = filled(E, 0.01f);
            K->bn_train_fwd(M, N, x, gam, bet, 1e-5f, 1, mean, sd, xh, y);
            K->bn_bwd(M, N, xh, sd, gam, dy, 1, dx, dg, db, 0);
            K->tanh_fwd(E, y, th);
            K->tanh_bwd(E, th, dy, dx, 1);
            K->sgd_momentum(E, p, dy, v, 0.1f, 0.9f);
            nn_adam_coef c = {0.9f, 0.1f, 0.999f, 0.001f, 1e-8f, 0.999f, 1e-3f, 0.5f};
            K->adam(E, p, dy, v, s2, &c);
            if (t > 1 && nn_threads_worker_tasks() == before)
                fail_msg("%s: %d threads, no worker ran a part", K->isa, t);
            float *got[6] = {y, dx, dg, th, p, s2};
            for (int k = 0; k < 6; k++) {
                out[t][k] = got[k];
                size_t len = k == 2 ? N : E;
                if (t > 1 && memcmp(out[1][k], got[k], len * sizeof(float)) != 0)
                    fail_msg("%s: output %d differs at %d threads from 1", K->isa, k, t);
            }
            free(mean), free(sd), free(xh), free(v), free(db);
        }
        nn_kernels_set_threads(1);
        for (int t = 1; t <= 3; t++)
            for (int k = 0; k < 6; k++)
                free(out[t][k]);
    }
    free(x), free(dy), free(gam), free(bet);
    if (!paths) tu_cannot_run("no vector kernel path on this CPU: nothing splits\n");
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
                fail_msg("%s: tanh(%g) = %.9g, tanh(%g) = %.9g", K->isa, x[i], y[i], x[n - 1 - i],
                         neg);
        }
        /* relative accuracy near 0, where an absolute bound says little */
        float small[64], ys[64];
        for (int i = 0; i < 64; i++)
            small[i] = ldexpf(1.37f, -i);
        K->tanh_fwd(64, small, ys);
        for (int i = 0; i < 64; i++)
            if (fabs((double)ys[i] - tanhf(small[i])) > 1e-6 * tanhf(small[i]))
                fail_msg("%s: tanh(%g) = %.9g, tanhf %.9g", K->isa, small[i], ys[i],
                         tanhf(small[i]));
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
            memcpy(y1, y2, len * sizeof *y1);
            K->add(n, y1 + o, g + o, y1 + o), R->add(n, y2 + o, g + o, y2 + o); /* in place */
            assert_memory_equal(y1, y2, len * sizeof *y1); /* one rounding: exact */
            K->add(n, g + o, x + o, y1 + o), R->add(n, g + o, x + o, y2 + o);
            assert_memory_equal(y1, y2, len * sizeof *y1);
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
            memcpy(y1, y2, len * sizeof *y1), memcpy(v, v2, len * sizeof *v);
            memcpy(s1, s2, len * sizeof *s1);
            K->adam(n, y1 + o, g + o, v + o, s1 + o, &c);
            R->adam(n, y2 + o, g + o, v2 + o, s2 + o, &c);
            expect_close(K, "adam p", y1, y2, len, 1e-6, 1e-6);
            expect_close(K, "adam m", v, v2, len, 1e-6, 1e-6);
            expect_close(K, "adam v", s1, s2, len, 1e-6, 1e-6);
            /* the vector Adams do the reference's operations in its order: the same bits */
            if (memcmp(y1, y2, len * sizeof *y1) || memcmp(v, v2, len * sizeof *v) ||
                memcmp(s1, s2, len * sizeof *s1))
                fail_msg("%s: adam differs from the reference in some bit", K->isa);
            free(x), free(g), free(v), free(v2), free(y1), free(y2), free(s1), free(s2);
        }
    }
}

/* ---- batchnorm ----------------------------------------------------------------------- */

static void t_dispatch(void **state)
{
    (void)state;
    const char *best = NULL;
    for (size_t i = 0; i < sizeof ISAS / sizeof *ISAS; i++) {
        const nn_kernels *t = nn_kernels_get(ISAS[i]);
        assert_int_equal(nn_kernels_supported(ISAS[i]), t != NULL);
        if (t) assert_string_equal(t->isa, ISAS[i]), best = ISAS[i];
        if (!t) /* every FOR_EACH_ISA test skips this path: say so once */
            print_message("%s kernels: not tested here (this CPU or build lacks them)\n", ISAS[i]);
        assert_int_equal(nn_kernels_select(ISAS[i]), t ? 0 : -1);
        if (t) assert_ptr_equal(nn_k, t);
    }
    print_message("kernel ISAs run here: scalar .. %s\n", best);
    if (tu_cpu_has_avx512()) assert_string_equal(best, "avx512"); /* AVX-512 CPU: its path */
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
    nn_threads_strict(1); /* a worker runs each worker's task: the split is proven */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(t_dispatch, reseed),
        cmocka_unit_test_setup(t_gemm_hand, reseed),
        cmocka_unit_test_setup(t_elementwise_hand, reseed),
        cmocka_unit_test_setup(t_gemm_random, reseed),
        cmocka_unit_test_setup(t_gemm_paths, reseed),
        cmocka_unit_test_setup(t_gemm_threads, reseed),
        cmocka_unit_test_setup(t_gemm_avx2_avx512_same, reseed),
        cmocka_unit_test_setup(t_split_threads, reseed),
        cmocka_unit_test_setup(t_exp_log, reseed),
        cmocka_unit_test_setup(t_tanh_sweep, reseed),
        cmocka_unit_test_setup(t_elementwise_random, reseed),
        cmocka_unit_test_setup(t_activations_optimizers, reseed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
