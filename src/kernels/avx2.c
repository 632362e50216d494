/* avx2.c — the AVX2+FMA kernel table (compiled with -mavx2 -mfma; gemm is in gemm_avx2.c).
 *
 * Everything is 8 floats wide with a masked tail, so no size needs to be a multiple of 8 and
 * no access goes past the end of an array (avx2_strip.h).  BatchNorm is in batchnorm_avx2.c,
 * gemm in gemm_avx2.c.
 */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels/avx2.h"
#include "kernels/ref.h"
#include "kernels/rnn.h"
#include "kernels/threads.h"

#include "kernels/avx2_strip.h"

#include "kernels/avx2_math.h"
#include "kernels/avx2_transpose.h"

/* log(x) (Cephes logf): x = m·2^e with m in [√½, √2), log(1 + f), f = m − 1, by a degree-9
 * polynomial, plus e·ln2 in two parts.  Subnormal x are first scaled by 2^23; log(0) = −inf,
 * log(x < 0) = NaN, log(inf) = inf, NaN stays NaN.  Max relative error against
 * double-precision log over [1e-30, 1e30] in 2^24 geometric steps: 8.0e-8 (glibc logf:
 * 7.7e-8; tests/test_kernels.c checks ≤ 2e-7). */
static __m256 log256(__m256 x)
{
    const __m256 tiny = _mm256_set1_ps(1.17549435e-38f);
    __m256 sub = _mm256_cmp_ps(x, tiny, _CMP_LT_OQ);
    __m256 xs = _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(8388608.0f)), sub);
    __m256i xi = _mm256_castps_si256(xs);
    __m256 e =
        _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(xi, 23), _mm256_set1_epi32(127)));
    e = _mm256_sub_ps(e, _mm256_and_ps(sub, _mm256_set1_ps(23.0f)));
    __m256 m = _mm256_castsi256_ps(_mm256_or_si256(
        _mm256_and_si256(xi, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f800000)));
    __m256 big = _mm256_cmp_ps(m, _mm256_set1_ps(1.41421356f), _CMP_GT_OQ);
    m = _mm256_blendv_ps(m, _mm256_mul_ps(m, _mm256_set1_ps(0.5f)), big);
    e = _mm256_add_ps(e, _mm256_and_ps(big, _mm256_set1_ps(1.0f)));
    __m256 f = _mm256_sub_ps(m, _mm256_set1_ps(1.0f)), z = _mm256_mul_ps(f, f);
    __m256 y = _mm256_set1_ps(7.0376836292e-2f);
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(-1.1514610310e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(1.1676998740e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(-1.2420140846e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(1.4249322787e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(-1.6668057665e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(2.0000714765e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(-2.4999993993e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(3.3333331174e-1f));
    y = _mm256_mul_ps(_mm256_mul_ps(y, f), z);
    y = _mm256_fmadd_ps(e, _mm256_set1_ps(-2.12194440e-4f), y);
    y = _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f), y);
    __m256 r = _mm256_add_ps(f, y);
    r = _mm256_fmadd_ps(e, _mm256_set1_ps(0.693359375f), r);
    /* special operands: 0 → −inf, negative → NaN, +inf and NaN → themselves */
    r = _mm256_blendv_ps(r, _mm256_set1_ps(-INFINITY),
                         _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_EQ_OQ));
    r = _mm256_blendv_ps(r, _mm256_set1_ps(NAN), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
    __m256 keep = _mm256_or_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q),
                               _mm256_cmp_ps(x, _mm256_set1_ps(INFINITY), _CMP_EQ_OQ));
    return _mm256_blendv_ps(r, x, keep);
}

/* log256 of one float: the AVX-512 cross-entropy's row loss, the same bits as here */
float nn_avx2_logf(float x)
{
    return _mm256_cvtss_f32(log256(_mm256_set1_ps(x)));
}

/* log256 of 8 floats in place: the AVX-512 cross-entropy's 16-row blocks */
void nn_avx2_log8(float v[8])
{
    _mm256_storeu_ps(v, log256(_mm256_loadu_ps(v)));
}

INLINE void exp_strip(const float *x, float *y, size_t i, __m256i mk, int full)
{
    st(y + i, mk, full, exp256(ld(x + i, mk, full)));
}

static void exp_fwd(size_t n, const float *x, float *y)
{
    STRIPS(n, exp_strip, x, y);
}

INLINE void log_strip(const float *x, float *y, size_t i, __m256i mk, int full)
{
    /* masked-off lanes load 0 and give −inf: harmless, they are not stored */
    st(y + i, mk, full, log256(ld(x + i, mk, full)));
}

static void log_fwd(size_t n, const float *x, float *y)
{
    STRIPS(n, log_strip, x, y);
}

INLINE void tanh_strip(const float *x, float *y, size_t i, __m256i mk, int full)
{
    st(y + i, mk, full, tanh256(ld(x + i, mk, full)));
}

typedef struct {
    const float *a, *b;
    float *c;
    int accumulate;
} ew_args;

static void tanh_fwd_range(void *ctx, size_t lo, size_t hi)
{
    const ew_args *e = ctx;
    STRIPS(hi - lo, tanh_strip, e->a + lo, e->c + lo);
}

/* Big arrays split over the threads (threads.h): elementwise, so the same bits. */
static void tanh_fwd(size_t n, const float *x, float *y)
{
    ew_args e = {x, NULL, y, 0};
    nn_threads_split(n, tanh_fwd_range, &e);
}

INLINE void tanh_bwd_strip(const float *y, const float *dy, float *dx, int accumulate, size_t i,
                           __m256i mk, int full)
{
    __m256 yv = ld(y + i, mk, full);
    __m256 g = _mm256_mul_ps(ld(dy + i, mk, full), _mm256_fnmadd_ps(yv, yv, _mm256_set1_ps(1)));
    if (accumulate) g = _mm256_add_ps(ld(dx + i, mk, full), g);
    st(dx + i, mk, full, g);
}

static void tanh_bwd_range(void *ctx, size_t lo, size_t hi)
{
    const ew_args *e = ctx;
    STRIPS(hi - lo, tanh_bwd_strip, e->a + lo, e->b + lo, e->c + lo, e->accumulate);
}

static void tanh_bwd(size_t n, const float *y, const float *dy, float *dx, int accumulate)
{
    ew_args e = {y, dy, dx, accumulate};
    nn_threads_split(n, tanh_bwd_range, &e);
}

INLINE void relu_strip(const float *x, float *y, size_t i, __m256i mk, int full)
{
    st(y + i, mk, full, _mm256_max_ps(ld(x + i, mk, full), _mm256_setzero_ps()));
}

static void relu_fwd(size_t n, const float *x, float *y)
{
    STRIPS(n, relu_strip, x, y);
}

INLINE void relu_bwd_strip(const float *y, const float *dy, float *dx, int accumulate, size_t i,
                           __m256i mk, int full)
{
    __m256 pos = _mm256_cmp_ps(ld(y + i, mk, full), _mm256_setzero_ps(), _CMP_GT_OQ);
    __m256 g = _mm256_and_ps(pos, ld(dy + i, mk, full));
    if (accumulate) g = _mm256_add_ps(ld(dx + i, mk, full), g);
    st(dx + i, mk, full, g);
}

static void relu_bwd(size_t n, const float *y, const float *dy, float *dx, int accumulate)
{
    STRIPS(n, relu_bwd_strip, y, dy, dx, accumulate);
}

/* 1/(1 + exp(−x)); exp(−x) = inf (x < −88.7) gives 0 and exp(−x) = 0 gives 1, cleanly. */
INLINE void sigmoid_strip(const float *x, float *y, size_t i, __m256i mk, int full)
{
    __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), ld(x + i, mk, full)));
    st(y + i, mk, full, _mm256_div_ps(_mm256_set1_ps(1), _mm256_add_ps(_mm256_set1_ps(1), e)));
}

static void sigmoid_fwd(size_t n, const float *x, float *y)
{
    STRIPS(n, sigmoid_strip, x, y);
}

INLINE void sigmoid_bwd_strip(const float *y, const float *dy, float *dx, int accumulate, size_t i,
                              __m256i mk, int full)
{
    __m256 yv = ld(y + i, mk, full);
    __m256 g = _mm256_mul_ps(_mm256_mul_ps(ld(dy + i, mk, full), yv),
                             _mm256_sub_ps(_mm256_set1_ps(1), yv));
    if (accumulate) g = _mm256_add_ps(ld(dx + i, mk, full), g);
    st(dx + i, mk, full, g);
}

static void sigmoid_bwd(size_t n, const float *y, const float *dy, float *dx, int accumulate)
{
    STRIPS(n, sigmoid_bwd_strip, y, dy, dx, accumulate);
}

INLINE void add_strip(const float *x, float *y, size_t j, __m256i mk, int full)
{
    st(y + j, mk, full, _mm256_add_ps(ld(y + j, mk, full), ld(x + j, mk, full)));
}

/* Row by row, like bn_eval_fwd: y may be a 4096-row eval batch; bias stays in L1. */
static void bias_add(int m, int n, const float *bias, float *y)
{
    for (size_t e = 0; e < (size_t)m * n; e += n)
        STRIPS(n, add_strip, bias, y + e);
}

/* Σ_i x[i][j..j+8), in row order. */

INLINE void col_sum_strip(int m, int n, const float *x, float *out, int accumulate, size_t j,
                          __m256i mk, int full)
{
    __m256 s = strip_sum(m, n, x, j, mk, full);
    if (accumulate) s = _mm256_add_ps(ld(out + j, mk, full), s);
    st(out + j, mk, full, s);
}

/* Σ_i x[i][j..j+8·S) for S whole strips side by side, row by row: each column the same
 * row-order chain as col_sum_strip's, but S chains at once instead of one latency-bound
 * chain per strip after another. */
INLINE void col_sum_group(const int S, int m, int n, const float *x, float *out, int accumulate)
{
    __m256 s[8];
#pragma GCC unroll 8
    for (int q = 0; q < S; q++)
        s[q] = _mm256_setzero_ps();
    for (int i = 0; i < m; i++)
#pragma GCC unroll 8
        for (int q = 0; q < S; q++)
            s[q] = _mm256_add_ps(s[q], _mm256_loadu_ps(x + (size_t)i * n + 8 * q));
#pragma GCC unroll 8
    for (int q = 0; q < S; q++) {
        if (accumulate) s[q] = _mm256_add_ps(_mm256_loadu_ps(out + 8 * q), s[q]);
        _mm256_storeu_ps(out + 8 * q, s[q]);
    }
}

static void col_sum(int m, int n, const float *x, float *out, int accumulate)
{
    int whole = n / 8 * 8, j = 0;
    for (; j + 64 <= whole; j += 64)
        col_sum_group(8, m, n, x + j, out + j, accumulate);
    switch ((whole - j) / 8) {
    case 7: col_sum_group(7, m, n, x + j, out + j, accumulate); break;
    case 6: col_sum_group(6, m, n, x + j, out + j, accumulate); break;
    case 5: col_sum_group(5, m, n, x + j, out + j, accumulate); break;
    case 4: col_sum_group(4, m, n, x + j, out + j, accumulate); break;
    case 3: col_sum_group(3, m, n, x + j, out + j, accumulate); break;
    case 2: col_sum_group(2, m, n, x + j, out + j, accumulate); break;
    case 1: col_sum_group(1, m, n, x + j, out + j, accumulate); break;
    default: break;
    }
    if (whole < n) col_sum_strip(m, n, x, out, accumulate, (size_t)whole, lanes(n - whole), 0);
}

static float hmax(__m256 v)
{
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

static float hsum(__m256 v)
{
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

/* Per-row state of the softmax passes (vectors, so that one strip function serves all). */
typedef struct {
    const float *l;
    float *p;
    __m256 acc, c;
} xent_row_st;

INLINE void row_max_strip(xent_row_st *r, size_t j, __m256i mk, int full)
{
    __m256 v = ld(r->l + j, mk, full);
    if (!full) v = _mm256_blendv_ps(r->c, v, _mm256_castsi256_ps(mk)); /* c = −inf */
    r->acc = _mm256_max_ps(r->acc, v);
}

INLINE void row_exp_strip(xent_row_st *r, size_t j, __m256i mk, int full)
{
    __m256 e = exp256(_mm256_sub_ps(ld(r->l + j, mk, full), r->c)); /* c = max */
    if (!full) e = _mm256_and_ps(e, _mm256_castsi256_ps(mk));       /* drop exp(−max) lanes */
    r->acc = _mm256_add_ps(r->acc, e);
    st(r->p + j, mk, full, e);
}

INLINE void row_scale_strip(xent_row_st *r, size_t j, __m256i mk, int full)
{
    st(r->p + j, mk, full, _mm256_div_ps(ld(r->p + j, mk, full), r->c)); /* c = Σ */
}

/* prob = exp(l − max)/Σ, loss = log Σ − (l_y − max), as in the reference: row by row. */
static void xent_rows(int m, int n, const float *logits, const int32_t *y, float *prob,
                      float *row_loss)
{
    for (int i = 0; i < m; i++) {
        xent_row_st r = {logits + (size_t)i * n, prob + (size_t)i * n, _mm256_set1_ps(-INFINITY),
                         _mm256_set1_ps(-INFINITY)};
        STRIPS(n, row_max_strip, &r);
        float mx = hmax(r.acc);
        r.acc = _mm256_setzero_ps();
        r.c = _mm256_set1_ps(mx);
        STRIPS(n, row_exp_strip, &r);
        float sum = hsum(r.acc);
        r.c = _mm256_set1_ps(sum);
        STRIPS(n, row_scale_strip, &r);
        row_loss[i] = _mm256_cvtss_f32(log256(_mm256_set1_ps(sum))) - (r.l[y[i]] - mx);
    }
}

enum { XB_COLS = 64 /* widest row the blocked form takes */ };

/* 8 rows at once, transposed: col[c] lane i = logit (i, c), so the max, the exponentials, Σ,
 * the division and the log are vertical operations over 8 rows instead of a latency-bound
 * chain of horizontal reductions per row.  Σ is added in xent_rows' order: acc[q] =
 * Σ_s e(8s + q) in column order, then (acc0+acc4 + acc2+acc6) + (acc1+acc5 + acc3+acc7) as
 * hsum does; every other operation is elementwise, so the bits are the row form's. */
static void xent_block8(int n, const float *l, const int32_t *y, float *p, float *row_loss)
{
    __m256 col[XB_COLS], r[8];
    for (int j = 0; j < n; j += 8) {
        int w = n - j < 8 ? n - j : 8;
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            r[i] = ld(l + (size_t)i * n + j, lanes((size_t)w), w == 8);
        nn_transpose8(r);
        for (int c = 0; c < w; c++)
            col[j + c] = r[c];
    }
    __m256 mx = _mm256_set1_ps(-INFINITY), acc[8];
    for (int c = 0; c < n; c++)
        mx = _mm256_max_ps(mx, col[c]);
    for (int q = 0; q < 8; q++)
        acc[q] = _mm256_setzero_ps();
    for (int c = 0; c < n; c++) {
        col[c] = exp256(_mm256_sub_ps(col[c], mx));
        acc[c & 7] = _mm256_add_ps(acc[c & 7], col[c]);
    }
    __m256 h0 = _mm256_add_ps(acc[0], acc[4]), h1 = _mm256_add_ps(acc[1], acc[5]);
    __m256 h2 = _mm256_add_ps(acc[2], acc[6]), h3 = _mm256_add_ps(acc[3], acc[7]);
    __m256 sum = _mm256_add_ps(_mm256_add_ps(h0, h2), _mm256_add_ps(h1, h3));
    for (int j = 0; j < n; j += 8) {
        int w = n - j < 8 ? n - j : 8;
#pragma GCC unroll 8
        for (int c = 0; c < 8; c++)
            r[c] = c < w ? _mm256_div_ps(col[j + c], sum) : _mm256_setzero_ps();
        nn_transpose8(r);
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            st(p + (size_t)i * n + j, lanes((size_t)w), w == 8, r[i]);
    }
    float mxs[8], lg[8];
    _mm256_storeu_ps(mxs, mx);
    _mm256_storeu_ps(lg, log256(sum));
    for (int i = 0; i < 8; i++)
        row_loss[i] = lg[i] - (l[(size_t)i * n + y[i]] - mxs[i]);
}

static void xent_fwd(int m, int n, const float *logits, const int32_t *y, float *prob,
                     float *row_loss)
{
    int i = 0;
    if (n <= XB_COLS)
        for (; i + 8 <= m; i += 8)
            xent_block8(n, logits + (size_t)i * n, y + i, prob + (size_t)i * n, row_loss + i);
    xent_rows(m - i, n, logits + (size_t)i * n, y + i, prob + (size_t)i * n, row_loss + i);
}

INLINE void scale_strip(const float *p, float *d, __m256 sc, size_t j, __m256i mk, int full)
{
    st(d + j, mk, full, _mm256_mul_ps(ld(p + j, mk, full), sc));
}

static void xent_bwd(int m, int n, const float *prob, const int32_t *y, float scale, float *dlogits)
{
    for (int i = 0; i < m; i++) {
        const float *p = prob + (size_t)i * n;
        float *d = dlogits + (size_t)i * n;
        float hit = (p[y[i]] - 1.0f) * scale; /* read first: dlogits may alias prob */
        STRIPS(n, scale_strip, p, d, _mm256_set1_ps(scale));
        d[y[i]] = hit;
    }
}

static void embed_scatter(int rows, int t_len, int d, const int32_t *idx, const float *dout,
                          float *dtable)
{
    size_t lookups = (size_t)rows * t_len;
    for (size_t l = 0; l < lookups; l++)
        STRIPS(d, add_strip, dout + l * d, dtable + (size_t)idx[l] * d);
}

/* The strip at j of base + Σ_k table[idx[k]], added in k order as the reference does. */
INLINE void sum_strip(int count, int d, const int32_t *idx, const float *table, const float *base,
                      float *dst, size_t j, __m256i mk, int full)
{
    __m256 s = base ? ld(base + j, mk, full) : _mm256_setzero_ps();
    for (int k = 0; k < count; k++)
        s = _mm256_add_ps(s, ld(table + (size_t)idx[k] * d + j, mk, full));
    st(dst + j, mk, full, s);
}

static void embed_sum(int count, int d, const int32_t *idx, const float *table, const float *base,
                      float *dst)
{
    STRIPS(d, sum_strip, count, d, idx, table, base, dst);
}

static void embed_spread(int count, int d, const int32_t *idx, const float *src, float *dtable)
{
    for (int k = 0; k < count; k++)
        STRIPS(d, add_strip, src, dtable + (size_t)idx[k] * d);
}

INLINE void sgd_strip(float *p, const float *g, __m256 lr, size_t i, __m256i mk, int full)
{
    st(p + i, mk, full, _mm256_fnmadd_ps(lr, ld(g + i, mk, full), ld(p + i, mk, full)));
}

static void sgd(size_t n, float *p, const float *g, float lr)
{
    STRIPS(n, sgd_strip, p, g, _mm256_set1_ps(lr));
}

INLINE void momentum_strip(float *p, const float *g, float *v, __m256 lr, __m256 mu, size_t i,
                           __m256i mk, int full)
{
    __m256 vv = _mm256_fmadd_ps(mu, ld(v + i, mk, full), ld(g + i, mk, full));
    st(v + i, mk, full, vv);
    st(p + i, mk, full, _mm256_fnmadd_ps(lr, vv, ld(p + i, mk, full)));
}

static void sgd_momentum(size_t n, float *p, const float *g, float *v, float lr, float mu)
{
    STRIPS(n, momentum_strip, p, g, v, _mm256_set1_ps(lr), _mm256_set1_ps(mu));
}

INLINE void nesterov_strip(float *p, const float *g, float *v, __m256 lr, __m256 mu, size_t i,
                           __m256i mk, int full)
{
    __m256 gv = ld(g + i, mk, full);
    __m256 vv = _mm256_fmadd_ps(mu, ld(v + i, mk, full), gv);
    st(v + i, mk, full, vv);
    st(p + i, mk, full, _mm256_fnmadd_ps(lr, _mm256_fmadd_ps(mu, vv, gv), ld(p + i, mk, full)));
}

static void sgd_nesterov(size_t n, float *p, const float *g, float *v, float lr, float mu)
{
    STRIPS(n, nesterov_strip, p, g, v, _mm256_set1_ps(lr), _mm256_set1_ps(mu));
}

INLINE void ema_strip(float *r, const float *x, __m256 keep, __m256 m, size_t i, __m256i mk,
                      int full)
{
    __m256 t = _mm256_mul_ps(m, ld(x + i, mk, full));
    st(r + i, mk, full, _mm256_fmadd_ps(keep, ld(r + i, mk, full), t));
}

static void ema(size_t n, float *r, const float *x, float m)
{
    STRIPS(n, ema_strip, r, x, _mm256_set1_ps(1.0f - m), _mm256_set1_ps(m));
}

INLINE void vadd_strip(const float *a, const float *b, float *y, size_t i, __m256i mk, int full)
{
    st(y + i, mk, full, _mm256_add_ps(ld(a + i, mk, full), ld(b + i, mk, full)));
}

static void vadd(size_t n, const float *a, const float *b, float *y)
{
    STRIPS(n, vadd_strip, a, b, y);
}

/* Adam: the reference's operations one by one (no FMA contraction), so the result is the
 * scalar kernel's to the last bit. */
INLINE void adam_strip(float *p, const float *g, float *m, float *v, const nn_adam_coef *c,
                       size_t i, __m256i mk, int full)
{
    __m256 gv = ld(g + i, mk, full), pv = ld(p + i, mk, full);
    if (c->decay != 1.0f) pv = _mm256_mul_ps(pv, _mm256_set1_ps(c->decay));
    __m256 mv = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(c->b1), ld(m + i, mk, full)),
                              _mm256_mul_ps(_mm256_set1_ps(c->c1), gv));
    __m256 vv = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(c->b2), ld(v + i, mk, full)),
                              _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(c->c2), gv), gv));
    __m256 den = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vv), _mm256_set1_ps(c->root_bc2)),
                               _mm256_set1_ps(c->eps));
    pv = _mm256_sub_ps(pv, _mm256_div_ps(_mm256_mul_ps(_mm256_set1_ps(c->step), mv), den));
    st(m + i, mk, full, mv);
    st(v + i, mk, full, vv);
    st(p + i, mk, full, pv);
}

static void adam(size_t n, float *p, const float *g, float *m, float *v, const nn_adam_coef *c)
{
    STRIPS(n, adam_strip, p, g, m, v, c);
}

/* x·0 is NaN exactly when x is NaN or ±inf, and NaN survives every later add: one FMA per
 * 8 floats, four chains. */
static int all_finite(size_t n, const float *x)
{
    __m256 z = _mm256_setzero_ps(), a0 = z, a1 = z, a2 = z, a3 = z;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), z, a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), z, a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), z, a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), z, a3);
    }
    __m256 a = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    if (_mm256_movemask_ps(_mm256_cmp_ps(a, a, _CMP_UNORD_Q))) return 0;
    return nn_ref_all_finite(n - i, x + i);
}

const nn_kernels nn_kernels_avx2 = {
    .isa = "avx2",
    .sgemm_nn = nn_avx2_sgemm_nn,
    .sgemm_nt = nn_avx2_sgemm_nt,
    .sgemm_tn = nn_avx2_sgemm_tn,
    .linear_fwd = nn_avx2_linear_fwd,
    .all_finite = all_finite,
    .bias_add = bias_add,
    .col_sum = col_sum,
    .tanh_fwd = tanh_fwd,
    .tanh_bwd = tanh_bwd,
    .relu_fwd = relu_fwd,
    .relu_bwd = relu_bwd,
    .sigmoid_fwd = sigmoid_fwd,
    .sigmoid_bwd = sigmoid_bwd,
    .bn_train_fwd = nn_avx2_bn_train_fwd,
    .bn_eval_fwd = nn_avx2_bn_eval_fwd,
    .bn_bwd = nn_avx2_bn_bwd,
    .exp_fwd = exp_fwd,
    .log_fwd = log_fwd,
    .xent_fwd = xent_fwd,
    .xent_bwd = xent_bwd,
    .embed_gather = nn_ref_embed_gather, /* memcpy per row: libc already vectorises it */
    .embed_scatter = embed_scatter,
    .embed_sum = embed_sum,
    .embed_spread = embed_spread,
    .sgd = sgd,
    .sgd_momentum = sgd_momentum,
    .sgd_nesterov = sgd_nesterov,
    .adam = adam,
    .ema = ema,
    .add = vadd,
    .expr_run = nn_avx2_expr_run,
    .ln_fwd = nn_avx2_ln_fwd_rows,
    .ln_bwd = nn_avx2_ln_bwd_rows,
    .attn_fwd = nn_avx2_attn_fwd_short,
    .attn_bwd = nn_avx2_attn_bwd_short,
    .gelu_fwd = nn_avx2_gelu_fwd,
    .gelu_bwd = nn_avx2_gelu_bwd,
    .dropout_fwd = nn_ref_dropout_fwd, /* once per dropout layer: the hash dominates */
    .mul_bwd = nn_ref_mul_bwd,
    .causal_mean_fwd = nn_avx2_causal_mean_fwd,
    .causal_mean_bwd = nn_avx2_causal_mean_bwd,
    .rnn_fwd = nn_avx2_rnn_fwd,
    .rnn_bwd = nn_avx2_rnn_bwd,
};

/* The vector functions, for the formula machine (expr_vm_avx2.c). */
__m256 nn_avx2_exp(__m256 x)
{
    return exp256(x);
}
__m256 nn_avx2_log(__m256 x)
{
    return log256(x);
}
__m256 nn_avx2_tanh(__m256 x)
{
    return tanh256(x);
}
