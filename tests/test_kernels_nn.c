/* test_kernels_nn.c — the network kernels of every ISA this machine runs: BatchNorm,
 * softmax cross-entropy and embedding against hand values and the scalar reference, every
 * backward kernel against central finite differences of its forward kernel, and the
 * accumulate flag of the kernels that add into gradients. */
#include "kernels_util.h"

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

/* embed_sum and embed_spread (window_linear.c's lookups): hand values, then the reference
 * on widths around the vector width, bit for bit (the same additions in the same order). */
static void t_embed_sum_spread(void **state)
{
    (void)state;
    const float table[] = {0, 1, 10, 11, 20, 21, 30, 31}; /* 4 × 2 */
    const int32_t idx[] = {3, 1, 3};
    FOR_EACH_ISA(K)
    {
        float out[2], base[2] = {0.5f, -1}, dt[8] = {1, 1, 1, 1, 1, 1, 1, 1};
        K->embed_sum(3, 2, idx, table, base, out);
        EXPECT(K, "embed_sum", out, 70.5f, 72);
        K->embed_sum(3, 2, idx, table, NULL, out);
        EXPECT(K, "embed_sum", out, 70, 73);
        K->embed_spread(3, 2, idx, (const float[]){2, 3}, dt);
        EXPECT(K, "embed_spread", dt, 1, 1, 3, 4, 1, 1, 5, 7);
        for (int d = 1; d <= 33; d += 8) { /* 1, 9, 17, 25, 33 */
            float *tab = rnd(40 * (size_t)d, -1, 1), *src = rnd((size_t)d, -1, 1);
            float *o1 = rnd((size_t)d, -1, 1), *o2 = dup(o1, (size_t)d);
            float *t1 = dup(tab, 40 * (size_t)d), *t2 = dup(tab, 40 * (size_t)d);
            int32_t ix[16];
            for (int i = 0; i < 16; i++)
                ix[i] = (int32_t)(urand(0, 40)) % 40;
            K->embed_sum(16, d, ix, tab, o1, o1); /* base = dst */
            nn_kernels_scalar.embed_sum(16, d, ix, tab, o2, o2);
            expect_close(K, "embed_sum", o1, o2, (size_t)d, 0, 0);
            K->embed_spread(16, d, ix, src, t1);
            nn_kernels_scalar.embed_spread(16, d, ix, src, t2);
            expect_close(K, "embed_spread", t1, t2, 40 * (size_t)d, 0, 0);
            free(tab), free(src), free(o1), free(o2), free(t1), free(t2);
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

/* linear_fwd (the product and its bias in one call) equals sgemm_nn then bias_add bit for
 * bit on every path, with and without bias, over shapes that take the direct and the packed
 * product, a k past one block (256) and edge tiles, with 1 and 2 threads (the split must not
 * change a bit); and the scalar reference within float rounding. */
static void t_linear_fwd(void **state)
{
    (void)state;
    /* split over 2 threads by columns (n ≥ m) and by rows (m > n), direct and packed, k
     * within and past one block */
    static const int shapes[][3] = {{1, 1, 1},       {5, 7, 3},       {32, 27, 64},
                                    {512, 64, 64},   {37, 130, 257},  {200, 300, 70},
                                    {300, 512, 600}, {600, 200, 300}, {1000, 33, 300}};
    FOR_EACH_ISA(K)
    {
        for (size_t sh = 0; sh < sizeof shapes / sizeof *shapes; sh++)
            for (int v = 0; v < 4; v++) {
                int m = shapes[sh][0], n = shapes[sh][1], k = shapes[sh][2];
                int with_bias = v & 1, threads = 1 + (v >> 1);
                size_t e = (size_t)m * n;
                float *x = rnd((size_t)m * k, -1, 1), *w = rnd((size_t)k * n, -1, 1);
                float *bias = with_bias ? rnd((size_t)n, -1, 1) : NULL;
                float *y1 = filled(e, 7), *y2 = filled(e, 0), *y3 = filled(e, 0);
                nn_kernels_set_threads(threads);
                K->linear_fwd(m, n, k, x, w, bias, y1);
                nn_kernels_set_threads(1);
                K->sgemm_nn(m, n, k, x, k, w, n, y2, n, 0);
                if (bias) K->bias_add(m, n, bias, y2);
                if (memcmp(y1, y2, e * sizeof *y1) != 0)
                    fail_msg("%s linear_fwd %dx%dx%d bias %d, %d threads: not sgemm_nn + bias_add",
                             K->isa, m, n, k, with_bias, threads);
                nn_kernels_scalar.linear_fwd(m, n, k, x, w, bias, y3);
                expect_close(K, "linear_fwd", y1, y3, e, 1e-4, 1e-4);
                free(x), free(w), free(bias), free(y1), free(y2), free(y3);
            }
    }
}

/* all_finite: 1 on finite data (huge, tiny and subnormal values too), 0 with one NaN or
 * ±inf at any position — the vector body, its tail, or a masked last strip. */
static void t_all_finite(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 130};
    const float bad[] = {INFINITY, -INFINITY, NAN};
    FOR_EACH_ISA(K)
    {
        for (size_t l = 0; l < sizeof lens / sizeof *lens; l++) {
            size_t n = lens[l];
            float *x = rnd(n + 1, -1, 1);
            if (n > 0) x[0] = 3.0e38f, x[n - 1] = -1e-42f; /* subnormal */
            if (!K->all_finite(n, x))
                fail_msg("%s all_finite(%zu): finite data refused", K->isa, n);
            x[n] = NAN; /* past the end: not read */
            if (!K->all_finite(n, x)) fail_msg("%s all_finite(%zu) read past n", K->isa, n);
            for (size_t at = 0; at < n; at++)
                for (size_t b = 0; b < 3; b++) {
                    float keep = x[at];
                    x[at] = bad[b];
                    if (K->all_finite(n, x))
                        fail_msg("%s all_finite(%zu): %g at %zu not seen", K->isa, n,
                                 (double)bad[b], at);
                    x[at] = keep;
                }
            free(x);
        }
    }
}

/* col_sum (the bias gradient) on the vector paths: each column the chain 0 + x0 + x1 + …
 * in row order (then out + Σ when adding to out), whatever strips run side by side — at
 * widths around the 8- and 16-lane strips and the 64- and 128-column groups; nothing past
 * n is written. */
static void t_col_sum_order(void **state)
{
    (void)state;
    static const int widths[] = {1, 7, 8, 9, 15, 16, 17, 27, 63, 64, 65, 127, 128, 129, 192, 300};
    enum { M = 70, N = 300 };
    float *x = rnd(M * N, -1, 1), *init = rnd(N + 16, -1, 1), *want = dup(init, N + 16);
    FOR_EACH_ISA(K)
    {
        if (strcmp(K->isa, "scalar") == 0) continue; /* the reference adds onto out */
        for (size_t w = 0; w < sizeof widths / sizeof *widths; w++)
            for (int acc = 0; acc < 2; acc++) {
                int n = widths[w], m = acc ? M : 33;
                float *got = dup(init, N + 16);
                memcpy(want, init, (N + 16) * sizeof *want);
                for (int j = 0; j < n; j++) {
                    float sum = 0.0f;
                    for (int i = 0; i < m; i++)
                        sum += x[(size_t)i * n + j];
                    want[j] = acc ? init[j] + sum : sum;
                }
                K->col_sum(m, n, x, got, acc);
                if (memcmp(got, want, (N + 16) * sizeof *got) != 0)
                    fail_msg("%s col_sum m %d n %d accumulate %d: not the row-order sums", K->isa,
                             m, n, acc);
                free(got);
            }
    }
    free(x), free(init), free(want);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(t_bn_hand, reseed),
        cmocka_unit_test_setup(t_xent_hand, reseed),
        cmocka_unit_test_setup(t_embed, reseed),
        cmocka_unit_test_setup(t_embed_sum_spread, reseed),
        cmocka_unit_test_setup(t_bn_random, reseed),
        cmocka_unit_test_setup(t_xent_random, reseed),
        cmocka_unit_test_setup(t_tanh_grad_fd, reseed),
        cmocka_unit_test_setup(t_bn_grad_fd, reseed),
        cmocka_unit_test_setup(t_xent_grad_fd, reseed),
        cmocka_unit_test_setup(t_linear_grad_fd, reseed),
        cmocka_unit_test_setup(t_linear_fwd, reseed),
        cmocka_unit_test_setup(t_all_finite, reseed),
        cmocka_unit_test_setup(t_col_sum_order, reseed),
        cmocka_unit_test_setup(t_accumulate, reseed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
