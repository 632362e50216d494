/* seq_avx512.c — GELU (tanh approximation), the causal mean and softmax cross-entropy at
 * 16 lanes (kernels.h).
 *
 * GELU and the causal mean do the IEEE operations of seq_avx2.c in the same order, so the
 * AVX-512 and AVX2 paths agree bit for bit; twice the lanes per instruction and tanh's one
 * division per 16 elements.  The exact (erf) GELU goes to the AVX2 kernel. */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "kernels/avx2.h"
#include "kernels/avx512.h"
#include "kernels/avx512_math.h"
#include "kernels/avx512_transpose.h"
#include "kernels/threads.h"

#define INLINE static inline __attribute__((always_inline))

INLINE __m512 ld(const float *p, __mmask16 k)
{
    return _mm512_maskz_loadu_ps(k, p);
}

typedef struct {
    int accumulate;
    const float *x, *dy;
    float *y, *dx;
} gelu_job;

INLINE void fwd_strip(const gelu_job *j, size_t i, __mmask16 k)
{
    _mm512_mask_storeu_ps(j->y + i, k, gelu_tanh512(ld(j->x + i, k)));
}

static void fwd_range(void *ctx, size_t lo, size_t hi)
{
    const gelu_job *j = ctx;
    size_t i = lo;
    for (; i + 16 <= hi; i += 16)
        fwd_strip(j, i, 0xFFFF);
    if (i < hi) fwd_strip(j, i, (__mmask16)((1u << (hi - i)) - 1u));
}

void nn_avx512_gelu_fwd(size_t n, int approx, const float *x, float *y)
{
    if (!approx) {
        nn_avx2_gelu_fwd(n, approx, x, y);
        return;
    }
    gelu_job j = {0, x, NULL, y, NULL};
    nn_threads_split(n, fwd_range, &j);
}

/* d = 0.5(1 + th) + 0.5·x·(1 − th²)·k·(1 + 3c·x²), as seq_avx2.c's gelu_bwd_strip */
INLINE void bwd_strip(const gelu_job *j, size_t i, __mmask16 k)
{
    __m512 v = ld(j->x + i, k), half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1);
    __m512 th = tanh512(gelu_inner512(v));
    __m512 inner = _mm512_fmadd_ps(_mm512_set1_ps(3 * 0.044715f), _mm512_mul_ps(v, v), one);
    __m512 sech2 = _mm512_fnmadd_ps(th, th, one);
    __m512 d = _mm512_mul_ps(_mm512_mul_ps(half, v), sech2);
    d = _mm512_mul_ps(_mm512_mul_ps(d, _mm512_set1_ps(0.7978845608028654f)), inner);
    d = _mm512_fmadd_ps(half, _mm512_add_ps(one, th), d);
    __m512 g = _mm512_mul_ps(ld(j->dy + i, k), d);
    if (j->accumulate) g = _mm512_add_ps(ld(j->dx + i, k), g);
    _mm512_mask_storeu_ps(j->dx + i, k, g);
}

static void bwd_range(void *ctx, size_t lo, size_t hi)
{
    const gelu_job *j = ctx;
    size_t i = lo;
    for (; i + 16 <= hi; i += 16)
        bwd_strip(j, i, 0xFFFF);
    if (i < hi) bwd_strip(j, i, (__mmask16)((1u << (hi - i)) - 1u));
}

void nn_avx512_gelu_bwd(size_t n, int approx, const float *x, const float *dy, float *dx,
                        int accumulate)
{
    if (!approx) {
        nn_avx2_gelu_bwd(n, approx, x, dy, dx, accumulate);
        return;
    }
    gelu_job j = {accumulate, x, dy, NULL, dx};
    nn_threads_split(n, bwd_range, &j);
}

/* ---- causal mean: seq_avx2.c's running sums, the same operations, without the AVX2
 * masked loads and stores (slow on AMD: a masked store costs about a dozen cycles) -------- */

void nn_avx512_causal_mean_fwd(int b, int t, int c, const float *x, float *y)
{
    for (int bi = 0; bi < b; bi++)
        for (int d = 0; d < c; d += 16) {
            __mmask16 k = (__mmask16)(c - d >= 16 ? 0xFFFF : (1u << (c - d)) - 1u);
            __m512 s = _mm512_setzero_ps();
            for (int i = 0; i < t; i++) {
                size_t o = ((size_t)bi * t + i) * c + d;
                s = _mm512_add_ps(s, ld(x + o, k));
                _mm512_mask_storeu_ps(y + o, k,
                                      _mm512_mul_ps(s, _mm512_set1_ps(1.0f / (float)(i + 1))));
            }
        }
}

void nn_avx512_causal_mean_bwd(int b, int t, int c, const float *dy, float *dx, int accumulate)
{
    for (int bi = 0; bi < b; bi++)
        for (int d = 0; d < c; d += 16) {
            __mmask16 k = (__mmask16)(c - d >= 16 ? 0xFFFF : (1u << (c - d)) - 1u);
            __m512 s = _mm512_setzero_ps();
            for (int i = t - 1; i >= 0; i--) {
                size_t o = ((size_t)bi * t + i) * c + d;
                s = _mm512_fmadd_ps(ld(dy + o, k), _mm512_set1_ps(1.0f / (float)(i + 1)), s);
                __m512 r = accumulate ? _mm512_add_ps(s, ld(dx + o, k)) : s;
                _mm512_mask_storeu_ps(dx + o, k, r);
            }
        }
}

/* ---- softmax cross-entropy (kernels.h xent_fwd/xent_bwd), 16 lanes a strip ------------- */

INLINE __mmask16 tail(int n, int j)
{
    return (__mmask16)(n - j >= 16 ? 0xFFFF : (1u << (n - j)) - 1u);
}

/* prob = exp(l − max)/Σ, loss = log Σ − (l_y − max), as the reference and bit for bit as
 * avx2.c's xent_fwd: Σ is accumulated in 8 lanes in the AVX2 strips' order (low half, then
 * high half of each 16-lane strip; masked lanes add +0) and summed as its hsum does. */
static void xent_rows(int m, int n, const float *logits, const int32_t *y, float *prob,
                      float *row_loss)
{
    for (int i = 0; i < m; i++) {
        const float *l = logits + (size_t)i * n;
        float *p = prob + (size_t)i * n;
        __m512 mx = _mm512_set1_ps(-INFINITY);
        __m256 acc = _mm256_setzero_ps();
        for (int j = 0; j < n; j += 16)
            mx = _mm512_mask_max_ps(mx, tail(n, j), mx, _mm512_maskz_loadu_ps(tail(n, j), l + j));
        float mxs = _mm512_reduce_max_ps(mx);
        mx = _mm512_set1_ps(mxs);
        for (int j = 0; j < n; j += 16) {
            __mmask16 k = tail(n, j);
            __m512 e = _mm512_maskz_mov_ps(k, exp512(_mm512_sub_ps(ld(l + j, k), mx)));
            acc = _mm256_add_ps(acc, _mm512_castps512_ps256(e));
            if (n - j > 8)
                acc = _mm256_add_ps(
                    acc, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1)));
            _mm512_mask_storeu_ps(p + j, k, e);
        }
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        h = _mm_add_ss(h, _mm_movehdup_ps(h));
        float sum = _mm_cvtss_f32(h);
        __m512 sv = _mm512_set1_ps(sum);
        for (int j = 0; j < n; j += 16)
            _mm512_mask_storeu_ps(p + j, tail(n, j), _mm512_div_ps(ld(p + j, tail(n, j)), sv));
        row_loss[i] = nn_avx2_logf(sum) - (l[y[i]] - mxs);
    }
}

enum { XB = 16, XB_COLS = 64 /* widest row the blocked form takes */ };

/* 16 rows at once, transposed: col[c] lane i = logit (i, c), so the max, the exponentials, Σ
 * and the division are vertical operations over 16 rows instead of a latency-bound chain of
 * horizontal reductions per row (makemore's 27 classes ran ~35 ns a row).  Σ is added in
 * xent_rows' order: 8 partial sums acc[q] = Σ_s e(8s + q) in column order, then
 * (acc0+acc4 + acc2+acc6) + (acc1+acc5 + acc3+acc7) as its horizontal sum does; every other
 * operation is elementwise, so the bits are the row form's. */
static void xent_block16(int n, const float *l, const int32_t *y, float *p, float *row_loss)
{
    __m512 col[XB_COLS], r[XB];
    for (int j = 0; j < n; j += XB) {
        __mmask16 k = tail(n, j);
#pragma GCC unroll 16
        for (int i = 0; i < XB; i++)
            r[i] = ld(l + (size_t)i * n + j, k);
        nn_transpose16(r);
        for (int c = 0; c < XB && j + c < n; c++)
            col[j + c] = r[c];
    }
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (int c = 0; c < n; c++)
        mx = _mm512_max_ps(mx, col[c]);
    __m512 acc[8];
    for (int q = 0; q < 8; q++)
        acc[q] = _mm512_setzero_ps();
    for (int c = 0; c < n; c++) {
        col[c] = exp512(_mm512_sub_ps(col[c], mx));
        acc[c & 7] = _mm512_add_ps(acc[c & 7], col[c]);
    }
    __m512 h0 = _mm512_add_ps(acc[0], acc[4]), h1 = _mm512_add_ps(acc[1], acc[5]);
    __m512 h2 = _mm512_add_ps(acc[2], acc[6]), h3 = _mm512_add_ps(acc[3], acc[7]);
    __m512 sum = _mm512_add_ps(_mm512_add_ps(h0, h2), _mm512_add_ps(h1, h3));
    for (int j = 0; j < n; j += XB) {
        __mmask16 k = tail(n, j);
#pragma GCC unroll 16
        for (int c = 0; c < XB; c++)
            r[c] = j + c < n ? _mm512_div_ps(col[j + c], sum) : _mm512_setzero_ps();
        nn_transpose16(r);
#pragma GCC unroll 16
        for (int i = 0; i < XB; i++)
            _mm512_mask_storeu_ps(p + (size_t)i * n + j, k, r[i]);
    }
    float mxs[XB], sums[XB];
    _mm512_storeu_ps(mxs, mx);
    _mm512_storeu_ps(sums, sum);
    nn_avx2_log8(sums), nn_avx2_log8(sums + 8);
    for (int i = 0; i < XB; i++)
        row_loss[i] = sums[i] - (l[(size_t)i * n + y[i]] - mxs[i]);
}

void nn_avx512_xent_fwd(int m, int n, const float *logits, const int32_t *y, float *prob,
                        float *row_loss)
{
    int i = 0;
    if (n <= XB_COLS)
        for (; i + XB <= m; i += XB)
            xent_block16(n, logits + (size_t)i * n, y + i, prob + (size_t)i * n, row_loss + i);
    xent_rows(m - i, n, logits + (size_t)i * n, y + i, prob + (size_t)i * n, row_loss + i);
}

void nn_avx512_xent_bwd(int m, int n, const float *prob, const int32_t *y, float scale,
                        float *dlogits)
{
    __m512 sc = _mm512_set1_ps(scale);
    for (int i = 0; i < m; i++) {
        const float *p = prob + (size_t)i * n;
        float *d = dlogits + (size_t)i * n;
        float hit = (p[y[i]] - 1.0f) * scale; /* read first: dlogits may alias prob */
        for (int j = 0; j < n; j += 16)
            _mm512_mask_storeu_ps(d + j, tail(n, j), _mm512_mul_ps(ld(p + j, tail(n, j)), sc));
        d[y[i]] = hit;
    }
}
