/* test_kernels_seq.c — the sequence-model kernels (LayerNorm, attention core, GELU, dropout,
 * causal mean) of every ISA this machine runs: hand-worked values, the scalar reference on
 * random shapes, and every backward against central differences of its forward. */
#include <math.h>

#include "testutil.h"

#include "kernels/kernels.h"
#include "kernels/ref.h"

static const char *const ISAS[] = {"scalar", "avx2", "avx512"};

#define FOR_EACH_ISA(K)                                                                            \
    for (size_t isa_ = 0; isa_ < sizeof ISAS / sizeof *ISAS; isa_++)                               \
        for (const nn_kernels *K = nn_kernels_get(ISAS[isa_]); K; K = NULL)

static uint32_t rng = 2463534242u;

static int reseed(void **state)
{
    (void)state;
    rng = 2463534242u;
    return 0;
}

static float urand(float lo, float hi)
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

static float *zeros(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    assert_non_null(p);
    return p;
}

static void expect_close(const char *isa, const char *what, const float *got, const float *want,
                         size_t n, double atol, double rtol)
{
    for (size_t i = 0; i < n; i++)
        if (!tu_close(got[i], want[i], atol, rtol))
            fail_msg("%s: %s[%zu] = %.9g, want %.9g", isa, what, i, got[i], want[i]);
}

static double wsum(size_t n, const float *w, const float *y)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)w[i] * y[i];
    return s;
}

/* ---- hand-worked values ---------------------------------------------------------------- */

static void t_hand(void **state)
{
    (void)state;
    FOR_EACH_ISA(K)
    {
        float x[3] = {1, 2, 3}, y[3], mean, rstd;
        K->ln_fwd(1, 3, x, NULL, NULL, 0.0f, &mean, &rstd, y);
        const float ln[3] = {-1.2247449f, 0, 1.2247449f};
        expect_close(K->isa, "layernorm", y, ln, 3, 1e-6, 1e-6);
        float g[3] = {2, 2, 2}, b[3] = {1, 1, 1};
        K->ln_fwd(1, 3, x, g, b, 0.0f, &mean, &rstd, y);
        const float lna[3] = {-1.4494898f, 1, 3.4494898f};
        expect_close(K->isa, "layernorm affine", y, lna, 3, 1e-6, 1e-6);

        float gx[2] = {1, -1}, gy[2];
        K->gelu_fwd(2, 0, gx, gy);
        const float exact[2] = {0.84134475f, -0.15865525f};
        expect_close(K->isa, "gelu exact", gy, exact, 2, 1e-6, 1e-6);
        K->gelu_fwd(2, 1, gx, gy);
        const float approx[2] = {0.84119199f, -0.15880801f};
        expect_close(K->isa, "gelu tanh", gy, approx, 2, 1e-6, 1e-6);

        float cx[4] = {1, 10, 3, 20}, cy[4]; /* [1, 2, 2]: positions 0, 1 of 2 channels */
        K->causal_mean_fwd(1, 2, 2, cx, cy);
        const float cm[4] = {1, 10, 2, 15};
        expect_close(K->isa, "causal_mean", cy, cm, 4, 1e-6, 1e-6);

        /* one head of size 1, two positions: qkv rows (q, k, v) */
        float qkv[6] = {1, 0, 5, 2, 1, 7}, att[4], out[2];
        K->attn_fwd(1, 2, 1, 1, 1, qkv, att, out);
        /* position 1: scores 2·0, 2·1 → softmax(0, 2) */
        float e = expf(2.0f), p0 = 1 / (1 + e), p1 = e / (1 + e);
        const float wa[4] = {1, 0, p0, p1}, wo[2] = {5, 5 * p0 + 7 * p1};
        expect_close(K->isa, "attention weights", att, wa, 4, 1e-6, 1e-6);
        expect_close(K->isa, "attention out", out, wo, 2, 1e-6, 1e-6);
        K->attn_fwd(1, 2, 1, 1, 0, qkv, att, out); /* not causal: position 0 sees both */
        float f0 = 1 / (1 + expf(1.0f));
        assert_true(tu_close(att[0], f0, 1e-6, 1e-6));
    }
}

/* ---- every ISA against the reference --------------------------------------------------- */

static void t_random(void **state)
{
    (void)state;
    const int shapes[][4] = {{3, 5, 2, 8},  {2, 16, 4, 16}, {1, 7, 3, 5},   {4, 1, 1, 3},
                             {2, 9, 2, 24}, {1, 12, 1, 32}, {2, 16, 1, 64}, {3, 11, 2, 16},
                             {2, 1, 3, 16}, {2, 16, 2, 16}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int b = shapes[s][0], t = shapes[s][1], nh = shapes[s][2], hs = shapes[s][3], c = nh * hs;
        size_t nq = (size_t)b * t * 3 * c, no = (size_t)b * t * c, na = (size_t)b * nh * t * t;
        float *qkv = rnd(nq, -2, 2), *dout = rnd(no, -1, 1), *x = rnd(no, -3, 3);
        float *g = rnd((size_t)c, 0.5f, 1.5f), *be = rnd((size_t)c, -1, 1);
        float *att0 = zeros(na), *out0 = zeros(no), *dq0 = rnd(nq, -1, 1), *y0 = zeros(no);
        float *m0 = zeros((size_t)b * t), *r0 = zeros((size_t)b * t), *dx0 = rnd(no, -1, 1);
        float *dg0 = rnd((size_t)c, -1, 1), *db0 = rnd((size_t)c, -1, 1);
        for (int causal = 0; causal < 2; causal++) {
            float *dq0c = malloc(nq * sizeof *dq0c);
            memcpy(dq0c, dq0, nq * sizeof *dq0c);
            nn_ref_attn_fwd(b, t, nh, hs, causal, qkv, att0, out0);
            nn_ref_attn_bwd(b, t, nh, hs, causal, qkv, att0, dout, dq0c, 1);
            FOR_EACH_ISA(K)
            {
                float *att = zeros(na), *out = zeros(no), *dq = malloc(nq * sizeof *dq);
                memcpy(dq, dq0, nq * sizeof *dq);
                K->attn_fwd(b, t, nh, hs, causal, qkv, att, out);
                K->attn_bwd(b, t, nh, hs, causal, qkv, att, dout, dq, 1);
                expect_close(K->isa, "attn att", att, att0, na, 1e-6, 1e-5);
                expect_close(K->isa, "attn out", out, out0, no, 1e-5, 1e-5);
                expect_close(K->isa, "attn dqkv", dq, dq0c, nq, 1e-5, 1e-5);
                free(att), free(out), free(dq);
            }
            free(dq0c);
        }
        /* LayerNorm, causal mean and GELU over the same x [b·t, c] */
        nn_ref_ln_fwd(b * t, c, x, g, be, 1e-5f, m0, r0, y0);
        float *dxr = malloc(no * sizeof *dxr), *dgr = malloc((size_t)c * sizeof *dgr);
        float *dbr = malloc((size_t)c * sizeof *dbr);
        memcpy(dxr, dx0, no * sizeof *dxr), memcpy(dgr, dg0, (size_t)c * sizeof *dgr);
        memcpy(dbr, db0, (size_t)c * sizeof *dbr);
        nn_ref_ln_bwd(b * t, c, x, m0, r0, g, dout, dxr, dgr, dbr, 7);
        FOR_EACH_ISA(K)
        {
            float *y = zeros(no), *m = zeros((size_t)b * t), *r = zeros((size_t)b * t);
            float *dx = malloc(no * sizeof *dx), *dg = malloc((size_t)c * sizeof *dg);
            float *db = malloc((size_t)c * sizeof *db);
            memcpy(dx, dx0, no * sizeof *dx), memcpy(dg, dg0, (size_t)c * sizeof *dg);
            memcpy(db, db0, (size_t)c * sizeof *db);
            K->ln_fwd(b * t, c, x, g, be, 1e-5f, m, r, y);
            K->ln_bwd(b * t, c, x, m, r, g, dout, dx, dg, db, 7);
            expect_close(K->isa, "ln y", y, y0, no, 1e-5, 1e-5);
            expect_close(K->isa, "ln dx", dx, dxr, no, 1e-5, 1e-5);
            expect_close(K->isa, "ln dgamma", dg, dgr, (size_t)c, 1e-5, 1e-5);
            expect_close(K->isa, "ln dbeta", db, dbr, (size_t)c, 1e-5, 1e-5);
            K->ln_bwd(b * t, c, x, m, r, g, dout, dx, dg, db, 0); /* overwrite */
            float *ox = zeros(no), *og = zeros((size_t)c), *ob = zeros((size_t)c);
            nn_ref_ln_bwd(b * t, c, x, m0, r0, g, dout, ox, og, ob, 0);
            expect_close(K->isa, "ln dx (overwrite)", dx, ox, no, 1e-5, 1e-5);
            expect_close(K->isa, "ln dgamma (overwrite)", dg, og, (size_t)c, 1e-5, 1e-5);
            expect_close(K->isa, "ln dbeta (overwrite)", db, ob, (size_t)c, 1e-5, 1e-5);
            free(ox), free(og), free(ob);

            float *cy = zeros(no), *cy0 = zeros(no), *cd = zeros(no), *cd0 = zeros(no);
            nn_ref_causal_mean_fwd(b, t, c, x, cy0);
            K->causal_mean_fwd(b, t, c, x, cy);
            expect_close(K->isa, "causal_mean", cy, cy0, no, 1e-5, 1e-5);
            nn_ref_causal_mean_bwd(b, t, c, dout, cd0, 0);
            K->causal_mean_bwd(b, t, c, dout, cd, 0);
            expect_close(K->isa, "causal_mean bwd", cd, cd0, no, 1e-5, 1e-5);

            for (int approx = 0; approx < 2; approx++) {
                nn_ref_gelu_fwd(no, approx, x, cy0);
                K->gelu_fwd(no, approx, x, cy);
                expect_close(K->isa, "gelu", cy, cy0, no, 1e-6, 1e-5);
                memcpy(cd, dx0, no * sizeof *cd), memcpy(cd0, dx0, no * sizeof *cd0);
                nn_ref_gelu_bwd(no, approx, x, dout, cd0, 1);
                K->gelu_bwd(no, approx, x, dout, cd, 1);
                expect_close(K->isa, "gelu bwd", cd, cd0, no, 1e-6, 1e-5);
            }
            free(y), free(m), free(r), free(dx), free(dg), free(db);
            free(cy), free(cy0), free(cd), free(cd0);
        }
        free(dxr), free(dgr), free(dbr);
        free(qkv), free(dout), free(x), free(g), free(be), free(att0), free(out0), free(dq0);
        free(y0), free(m0), free(r0), free(dx0), free(dg0), free(db0);
    }
}

/* ---- backward against central differences of the forward (reference kernels) ---------- */

enum { B = 2, T = 5, NH = 2, HS = 3, C = NH * HS };

/* L = Σ w·forward(x) for the kernel `which` on input x (n floats) */
static double loss_of(int which, const float *x, const float *w, const float *g, const float *be)
{
    float y[B * T * C], att[B * NH * T * T], m[B * T], r[B * T];
    switch (which) {
    case 0: nn_ref_attn_fwd(B, T, NH, HS, 1, x, att, y); break;
    case 1: nn_ref_ln_fwd(B * T, C, x, g, be, 1e-5f, m, r, y); break;
    case 2: nn_ref_causal_mean_fwd(B, T, C, x, y); break;
    case 3: nn_ref_gelu_fwd(B * T * C, 0, x, y); break;
    default: nn_ref_gelu_fwd(B * T * C, 1, x, y); break;
    }
    return wsum(B * T * C, w, y);
}

static void t_grad_fd(void **state)
{
    (void)state;
    const char *names[] = {"attention", "layernorm", "causal_mean", "gelu exact", "gelu tanh"};
    for (int which = 0; which < 5; which++) {
        size_t n = which == 0 ? B * T * 3 * C : B * T * C;
        float *x = rnd(n, -1.5f, 1.5f), *w = rnd(B * T * C, -1, 1), *dx = zeros(n);
        float *g = rnd(C, 0.5f, 1.5f), *be = rnd(C, -1, 1), dg[C], db[C];
        float y[B * T * C], att[B * NH * T * T], m[B * T], r[B * T];
        switch (which) {
        case 0:
            nn_ref_attn_fwd(B, T, NH, HS, 1, x, att, y);
            nn_ref_attn_bwd(B, T, NH, HS, 1, x, att, w, dx, 0);
            break;
        case 1:
            nn_ref_ln_fwd(B * T, C, x, g, be, 1e-5f, m, r, y);
            nn_ref_ln_bwd(B * T, C, x, m, r, g, w, dx, dg, db, 0);
            break;
        case 2: nn_ref_causal_mean_bwd(B, T, C, w, dx, 0); break;
        default: nn_ref_gelu_bwd(n, which == 4, x, w, dx, 0); break;
        }
        for (size_t i = 0; i < n; i++) {
            float keep = x[i], h = 1e-2f;
            x[i] = keep + h;
            double lp = loss_of(which, x, w, g, be);
            x[i] = keep - h;
            double lm = loss_of(which, x, w, g, be);
            x[i] = keep;
            double num = (lp - lm) / (2.0 * h);
            if (!tu_close(dx[i], num, 2e-3, 2e-2))
                fail_msg("%s: dx[%zu] = %.7g, finite differences %.7g", names[which], i, dx[i],
                         num);
        }
        if (which == 1) { /* dgamma, dbeta of LayerNorm */
            for (int j = 0; j < C; j++) {
                float keep = g[j];
                g[j] = keep + 1e-2f;
                double lp = loss_of(1, x, w, g, be);
                g[j] = keep - 1e-2f;
                double lm = loss_of(1, x, w, g, be);
                g[j] = keep;
                assert_true(tu_close(dg[j], (lp - lm) / 2e-2, 2e-3, 2e-2));
                keep = be[j];
                be[j] = keep + 1e-2f;
                lp = loss_of(1, x, w, g, be);
                be[j] = keep - 1e-2f;
                lm = loss_of(1, x, w, g, be);
                be[j] = keep;
                assert_true(tu_close(db[j], (lp - lm) / 2e-2, 2e-3, 2e-2));
            }
        }
        free(x), free(w), free(dx), free(g), free(be);
    }
}

/* Every ISA's attention backward against central differences of its own forward, at the
 * head size the AVX-512 kernel specialises (16) with a full and a short block. */
static double attn_loss(const nn_kernels *K, int b, int t, int nh, int causal, const float *x,
                        const float *w, float *att, float *y)
{
    K->attn_fwd(b, t, nh, 16, causal, x, att, y);
    return wsum((size_t)b * t * nh * 16, w, y);
}

static void t_attn_isa_fd(void **state)
{
    (void)state;
    const int shapes[][3] = {{1, 16, 2}, {2, 7, 1}};
    for (size_t s = 0; s < 2; s++) {
        int b = shapes[s][0], t = shapes[s][1], nh = shapes[s][2];
        size_t n = (size_t)b * t * 3 * nh * 16, no = (size_t)b * t * nh * 16;
        float *x = rnd(n, -1, 1), *w = rnd(no, -1, 1), *y = zeros(no);
        float *att = zeros((size_t)b * nh * t * t), *dx = zeros(n);
        for (int causal = 0; causal < 2; causal++)
            FOR_EACH_ISA(K)
            {
                attn_loss(K, b, t, nh, causal, x, w, att, y);
                K->attn_bwd(b, t, nh, 16, causal, x, att, w, dx, 0);
                for (size_t i = 0; i < n; i += 7) {
                    float keep = x[i], h = 1e-2f;
                    x[i] = keep + h;
                    double lp = attn_loss(K, b, t, nh, causal, x, w, att, y);
                    x[i] = keep - h;
                    double lm = attn_loss(K, b, t, nh, causal, x, w, att, y);
                    x[i] = keep;
                    double num = (lp - lm) / (2.0 * h);
                    if (!tu_close(dx[i], num, 2e-3, 2e-2))
                        fail_msg("%s attention: dx[%zu] = %.7g, finite differences %.7g", K->isa, i,
                                 dx[i], num);
                }
            }
        free(x), free(w), free(y), free(att), free(dx);
    }
}

/* The causal mean: AVX2 (unmasked full strips, a masked tail) and AVX-512 do the same
 * operations, so the same bits, forward and backward (written and added into), at widths
 * around the strips; both close to the reference. */
static void t_causal_mean_isas_agree(void **state)
{
    (void)state;
    const nn_kernels *a = nn_kernels_get("avx2"), *z = nn_kernels_get("avx512");
    if (!a) skip();
    enum { B2 = 3, T2 = 7 };
    static const int widths[] = {1, 5, 8, 13, 16, 24, 33, 64, 67};
    for (size_t w = 0; w < sizeof widths / sizeof *widths; w++) {
        int c = widths[w];
        size_t n = (size_t)B2 * T2 * c;
        float *x = rnd(n, -2, 2), *ya = zeros(n), *yz = zeros(n), *yr = zeros(n);
        float *da = rnd(n, -1, 1), *dz = malloc(n * sizeof *dz), *dr = malloc(n * sizeof *dr);
        memcpy(dz, da, n * sizeof *dz), memcpy(dr, da, n * sizeof *dr);
        a->causal_mean_fwd(B2, T2, c, x, ya);
        nn_ref_causal_mean_fwd(B2, T2, c, x, yr);
        expect_close("avx2", "causal_mean", ya, yr, n, 1e-5, 1e-5);
        a->causal_mean_bwd(B2, T2, c, x, da, 1); /* added into */
        nn_ref_causal_mean_bwd(B2, T2, c, x, dr, 1);
        expect_close("avx2", "causal_mean bwd (+=)", da, dr, n, 1e-5, 1e-5);
        if (z) {
            z->causal_mean_fwd(B2, T2, c, x, yz);
            z->causal_mean_bwd(B2, T2, c, x, dz, 1);
            assert_memory_equal(ya, yz, n * sizeof *ya);
            assert_memory_equal(da, dz, n * sizeof *da);
            a->causal_mean_bwd(B2, T2, c, x, da, 0); /* written */
            z->causal_mean_bwd(B2, T2, c, x, dz, 0);
            assert_memory_equal(da, dz, n * sizeof *da);
        }
        free(x), free(ya), free(yz), free(yr), free(da), free(dz), free(dr);
    }
}

/* The AVX-512 GELU and cross-entropy do the AVX2 ones' operations: the same bits. */
static void t_gelu_isas_agree(void **state)
{
    (void)state;
    const nn_kernels *a = nn_kernels_get("avx2"), *z = nn_kernels_get("avx512");
    if (!a || !z) skip();
    enum { N = 1000 };
    float *x = rnd(N, -6, 6), *dy = rnd(N, -1, 1), *ya = zeros(N), *yz = zeros(N);
    float *da = zeros(N), *dz = zeros(N);
    a->gelu_fwd(N, 1, x, ya), z->gelu_fwd(N, 1, x, yz);
    a->gelu_bwd(N, 1, x, dy, da, 0), z->gelu_bwd(N, 1, x, dy, dz, 0);
    assert_memory_equal(ya, yz, N * sizeof *ya);
    assert_memory_equal(da, dz, N * sizeof *da);
    /* cross-entropy too (its sum in the AVX2 order), over widths around the strips */
    int32_t lab[40];
    float la[40], lz[40];
    for (int n = 1; n <= 40; n += 3) {
        for (int i = 0; i < 40; i++)
            lab[i] = i % n;
        a->xent_fwd(40 / n, n, x, lab, ya, la), z->xent_fwd(40 / n, n, x, lab, yz, lz);
        assert_memory_equal(ya, yz, (size_t)(40 / n) * n * sizeof *ya);
        assert_memory_equal(la, lz, (size_t)(40 / n) * sizeof *la);
    }
    free(x), free(dy), free(ya), free(yz), free(da), free(dz);
}

/* The cross-entropy's transposed row blocks (AVX-512: 16 rows, AVX2: 8), the rows past the
 * last whole block and widths past the blocked forms' 64: the AVX-512 and AVX2 kernels give
 * the same bits, and each row is what the row form (a single-row call) gives. */
static void t_xent_blocks_agree(void **state)
{
    (void)state;
    const nn_kernels *a = nn_kernels_get("avx2"), *z = nn_kernels_get("avx512");
    if (!a) skip();
    static const int widths[] = {1, 2, 7, 8, 9, 15, 16, 17, 27, 32, 33, 48, 64, 65, 100};
    static const int heights[] = {8, 16, 19, 32, 35};
    enum { M = 35, N = 100 };
    float *l = rnd(M * N, -12, 12), *pa = zeros(M * N), *pz = zeros(M * N);
    float la[M], lz[M];
    int32_t y[M];
    for (size_t w = 0; w < sizeof widths / sizeof *widths; w++)
        for (size_t h = 0; h < sizeof heights / sizeof *heights; h++) {
            int n = widths[w], m = heights[h];
            for (int i = 0; i < m; i++)
                y[i] = (i * 7 + 3) % n;
            l[5 * n] = 90.0f; /* one row whose max is far from the rest */
            a->xent_fwd(m, n, l, y, pa, la);
            for (int i = 0; i < m; i++) { /* one row alone takes the row form */
                float pr[N], lr;
                a->xent_fwd(1, n, l + (size_t)i * n, y + i, pr, &lr);
                assert_memory_equal(pr, pa + (size_t)i * n, (size_t)n * sizeof *pr);
                assert_memory_equal(&lr, la + i, sizeof lr);
            }
            if (!z) continue;
            z->xent_fwd(m, n, l, y, pz, lz);
            assert_memory_equal(pa, pz, (size_t)m * n * sizeof *pa);
            assert_memory_equal(la, lz, (size_t)m * sizeof *la);
        }
    free(l), free(pa), free(pz);
}

/* ---- dropout ------------------------------------------------------------------------------ */

static void t_dropout(void **state)
{
    (void)state;
    enum { N = 20000 };
    float *x = rnd(N, -1, 1), *mask = zeros(N), *y = zeros(N), *mask2 = zeros(N), *dx = zeros(N);
    FOR_EACH_ISA(K)
    {
        K->dropout_fwd(N, 0.25f, 42, x, mask, y);
        int dropped = 0;
        for (int i = 0; i < N; i++) {
            assert_true(mask[i] == 0.0f || mask[i] == 1.0f / 0.75f);
            assert_true(y[i] == x[i] * mask[i]);
            dropped += mask[i] == 0.0f;
        }
        /* 25% ± 5 standard deviations (σ ≈ 61) */
        assert_in_range(dropped, 5000 - 310, 5000 + 310);
        K->dropout_fwd(N, 0.25f, 42, x, mask2, y); /* same seed, same mask */
        assert_memory_equal(mask, mask2, N * sizeof *mask);
        K->dropout_fwd(N, 0.25f, 43, x, mask2, y); /* another seed, another mask */
        assert_true(memcmp(mask, mask2, N * sizeof *mask) != 0);
        K->mul_bwd(N, mask, x, dx, 0);
        for (int i = 0; i < N; i++)
            assert_true(dx[i] == x[i] * mask[i]);
        K->dropout_fwd(N, 0.0f, 42, x, mask2, y); /* p = 0 keeps everything */
        assert_memory_equal(y, x, N * sizeof *x);
    }
    free(x), free(mask), free(y), free(mask2), free(dx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(t_hand, reseed),
        cmocka_unit_test_setup(t_random, reseed),
        cmocka_unit_test_setup(t_grad_fd, reseed),
        cmocka_unit_test_setup(t_attn_isa_fd, reseed),
        cmocka_unit_test_setup(t_gelu_isas_agree, reseed),
        cmocka_unit_test_setup(t_causal_mean_isas_agree, reseed),
        cmocka_unit_test_setup(t_xent_blocks_agree, reseed),
        cmocka_unit_test_setup(t_dropout, reseed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
