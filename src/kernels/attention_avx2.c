/* attention_avx2.c — the attention core (kernels.h attn_fwd/attn_bwd) for short blocks:
 * t ≤ 16 positions and heads of hs = 8·r ≤ 64 features (makemore: t = 16, hs = 16).
 *
 * One (batch, head) at a time.  A row of scores over the ≤ 16 key positions is two 8-float
 * vectors, built as Σ_d q_i[d]·Kᵀ[d][:] from a transposed copy of the head's keys, so the
 * scaling, the causal mask, the softmax and its backward all run on whole rows in
 * registers; no dot product ends in a horizontal sum.  The backward keeps dS (t × t) in a
 * stack block and forms dK = dSᵀ·Q and dV = Pᵀ·dO one key row at a time with the row's
 * accumulators in registers.  Other shapes go to the general loops of seq_avx2.c.
 * Each (batch, head) is independent, so a split over the batch changes no result. */
#include <math.h>
#include <string.h>

#include "kernels/avx2.h"
#include "kernels/avx2_math.h"
#include "kernels/avx2_strip.h"
#include "kernels/avx2_transpose.h"
#include "kernels/split.h"

enum { TMAX = 16, HMAX = 64, HV = HMAX / 8 };

static int fits(int t, int hs)
{
    return t <= TMAX && hs % 8 == 0 && hs <= HMAX;
}

/* The 8 × 8 block at x (rows ld apart; rows ≥ valid read as 0) transposed into y (rows ldy
 * apart): y[c][r] = x[r][c]. */
static inline __attribute__((always_inline)) void transpose8(const float *x, size_t ld, int valid,
                                                             float *y, size_t ldy)
{
    __m256 r[8];
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++)
        r[k] = k < valid ? _mm256_loadu_ps(x + k * ld) : _mm256_setzero_ps();
    nn_transpose8(r);
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++)
        _mm256_storeu_ps(y + k * ldy, r[k]);
}

/* xt[d][j] = x_j[d] for j < t, 0 for t ≤ j < 16 (x: t rows of cols floats, ld apart) */
static void transpose(int t, int cols, const float *x, size_t ld, float xt[][TMAX])
{
    for (int d = 0; d < cols; d += 8) {
        transpose8(x + d, ld, t, xt[d], TMAX);
        if (t > 8)
            transpose8(x + 8 * ld + d, ld, t - 8, xt[d] + 8, TMAX);
        else
#pragma GCC unroll 8
            for (int k = 0; k < 8; k++)
                _mm256_storeu_ps(xt[d + k] + 8, _mm256_setzero_ps());
    }
}

/* s[0..1] = Σ_d a[d]·xt[d][0..15], four chains so the FMAs do not wait on each other */
static inline __attribute__((always_inline)) void
row_times(int hs, const float *a, const float xt[][TMAX], __m256 *lo, __m256 *hi)
{
    __m256 l0 = _mm256_setzero_ps(), h0 = l0, l1 = l0, h1 = l0;
    for (int d = 0; d < hs; d += 2) {
        __m256 a0 = _mm256_broadcast_ss(a + d), a1 = _mm256_broadcast_ss(a + d + 1);
        l0 = _mm256_fmadd_ps(a0, _mm256_loadu_ps(xt[d]), l0);
        h0 = _mm256_fmadd_ps(a0, _mm256_loadu_ps(xt[d] + 8), h0);
        l1 = _mm256_fmadd_ps(a1, _mm256_loadu_ps(xt[d + 1]), l1);
        h1 = _mm256_fmadd_ps(a1, _mm256_loadu_ps(xt[d + 1] + 8), h1);
    }
    *lo = _mm256_add_ps(l0, l1);
    *hi = _mm256_add_ps(h0, h1);
}

static inline float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float hmax(__m256 v)
{
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* o[0..hs) (+)= Σ_{j<len} w[j]·x_j  (x rows ld apart): all hs/8 feature vectors at once and
 * two positions a pass, so 2·hs/8 independent FMA chains */
static inline __attribute__((always_inline)) void
weighted_rows(int hs, int len, const float *w, const float *x, size_t ld, float *o, int add)
{
    __m256 s0[HV], s1[HV];
#pragma GCC unroll 8
    for (int c = 0; c < HV; c++) /* all of them: the compiler cannot see hs/8 ≤ HV */
        s0[c] = s1[c] = _mm256_setzero_ps();
#pragma GCC unroll 8
    for (int c = 0; c < hs / 8; c++)
        if (add) s0[c] = _mm256_loadu_ps(o + 8 * c);
    int j = 0;
    for (; j + 2 <= len; j += 2) {
        __m256 w0 = _mm256_broadcast_ss(w + j), w1 = _mm256_broadcast_ss(w + j + 1);
        const float *x0 = x + j * ld, *x1 = x0 + ld;
#pragma GCC unroll 8
        for (int c = 0; c < hs / 8; c++) {
            s0[c] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x0 + 8 * c), s0[c]);
            s1[c] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x1 + 8 * c), s1[c]);
        }
    }
    if (j < len) {
        __m256 w0 = _mm256_broadcast_ss(w + j);
#pragma GCC unroll 8
        for (int c = 0; c < hs / 8; c++)
            s0[c] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + j * ld + 8 * c), s0[c]);
    }
#pragma GCC unroll 8
    for (int c = 0; c < hs / 8; c++)
        _mm256_storeu_ps(o + 8 * c, _mm256_add_ps(s0[c], s1[c]));
}

/* the key positions row i may see: j < t, and j ≤ i when causal */
static inline void row_mask(int t, int i, int causal, __m256 *lo, __m256 *hi)
{
    int lim = causal && i + 1 < t ? i + 1 : t;
    __m256i n = _mm256_set1_epi32(lim), j0 = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i j1 = _mm256_add_epi32(j0, _mm256_set1_epi32(8));
    *lo = _mm256_castsi256_ps(_mm256_cmpgt_epi32(n, j0));
    *hi = _mm256_castsi256_ps(_mm256_cmpgt_epi32(n, j1));
}

static inline __attribute__((always_inline)) void head_fwd(int t, int hs, int causal, float scale,
                                                           const float *q0, size_t ld, float *a,
                                                           float *out, size_t ldo)
{
    float kt[HMAX][TMAX], p[TMAX];
    const float *k0 = q0 + ld / 3, *v0 = k0 + ld / 3;
    transpose(t, hs, k0, ld, kt);
    __m256 sc = _mm256_set1_ps(scale), lowest = _mm256_set1_ps(-INFINITY);
    for (int i = 0; i < t; i++) {
        __m256 lo, hi, mlo, mhi;
        row_times(hs, q0 + i * ld, kt, &lo, &hi);
        row_mask(t, i, causal, &mlo, &mhi);
        lo = _mm256_blendv_ps(lowest, _mm256_mul_ps(lo, sc), mlo);
        hi = _mm256_blendv_ps(lowest, _mm256_mul_ps(hi, sc), mhi);
        __m256 mx = _mm256_set1_ps(hmax(_mm256_max_ps(lo, hi)));
        lo = _mm256_and_ps(exp256(_mm256_sub_ps(lo, mx)), mlo);
        if (t > 8 && (!causal || i >= 8)) /* else every key of the upper half is masked */
            hi = _mm256_and_ps(exp256(_mm256_sub_ps(hi, mx)), mhi);
        else
            hi = _mm256_setzero_ps();
        __m256 inv = _mm256_set1_ps(1.0f / hsum(_mm256_add_ps(lo, hi)));
        _mm256_storeu_ps(p, _mm256_mul_ps(lo, inv));
        _mm256_storeu_ps(p + 8, _mm256_mul_ps(hi, inv));
        if (t == TMAX) {
            _mm256_storeu_ps(a + (size_t)i * t, _mm256_loadu_ps(p));
            _mm256_storeu_ps(a + (size_t)i * t + 8, _mm256_loadu_ps(p + 8));
        } else
            memcpy(a + (size_t)i * t, p, (size_t)t * sizeof *p);
        weighted_rows(hs, causal ? i + 1 : t, p, v0, ld, out + (size_t)i * ldo, 0);
    }
}

typedef struct {
    int t, nh, hs, causal, accumulate;
    const float *qkv, *att, *dout;
    float *att_out, *out, *dqkv;
} attn_job;

/* the heads of batches [lo, hi); inlined per head size below, so every loop over the
 * features has a constant count and its accumulators stay in registers */
static inline __attribute__((always_inline)) void fwd_heads(const attn_job *j, size_t lo, size_t hi,
                                                            int hs)
{
    int t = j->t, nh = j->nh, c = nh * hs;
    size_t ld = 3 * (size_t)c;
    float scale = 1.0f / sqrtf((float)hs);
    for (size_t bi = lo; bi < hi; bi++)
        for (int h = 0; h < nh; h++)
            head_fwd(t, hs, j->causal, scale, j->qkv + bi * t * ld + h * hs, ld,
                     j->att_out + (bi * nh + h) * t * t, j->out + bi * t * c + h * hs, (size_t)c);
}

static void fwd_batches(void *ctx, size_t lo, size_t hi)
{
    const attn_job *j = ctx;
    switch (j->hs) {
    case 8: fwd_heads(j, lo, hi, 8); break;
    case 16: fwd_heads(j, lo, hi, 16); break;
    case 32: fwd_heads(j, lo, hi, 32); break;
    default: fwd_heads(j, lo, hi, j->hs); break;
    }
}

void nn_avx2_attn_fwd_short(int b, int t, int nh, int hs, int causal, const float *qkv, float *att,
                            float *out)
{
    if (!fits(t, hs)) {
        nn_avx2_attn_fwd(b, t, nh, hs, causal, qkv, att, out);
        return;
    }
    attn_job j = {t, nh, hs, causal, 0, qkv, NULL, NULL, att, out, NULL};
    nn_split_range((size_t)b, 1, 2.0 * b * nh * t * t * hs, fwd_batches, &j);
}

/* dK row j (+)= Σ_i wt[j][i]·x_i over the rows i that see j (x rows ld apart; wt = wᵀ) */
static inline __attribute__((always_inline)) void column_rows(int t, int hs, int causal, int j,
                                                              const float wt[][TMAX],
                                                              const float *x, size_t ld, float *o,
                                                              int add)
{
    int i0 = causal ? j : 0;
    weighted_rows(hs, t - i0, wt[j] + i0, x + (size_t)i0 * ld, ld, o, add);
}

static inline __attribute__((always_inline)) void head_bwd(int t, int hs, int causal, float scale,
                                                           const float *q0, size_t ld,
                                                           const float *a, const float *dout,
                                                           size_t ldo, float *dq0, int add)
{
    float vt[HMAX][TMAX], ds[TMAX][TMAX], dst[TMAX][TMAX], pt[TMAX][TMAX];
    const float *k0 = q0 + ld / 3, *v0 = k0 + ld / 3;
    float *dk0 = dq0 + ld / 3, *dv0 = dk0 + ld / 3;
    transpose(t, hs, v0, ld, vt);
    if (t == TMAX)
        transpose(t, TMAX, a, TMAX, pt);
    else { /* rows of t < 16: padded first, so that no load reads past the block */
        float p[TMAX][TMAX] = {{0}};
        for (int i = 0; i < t; i++)
            memcpy(p[i], a + (size_t)i * t, (size_t)t * sizeof **p);
        transpose(t, TMAX, p[0], TMAX, pt);
    }
    __m256 sc = _mm256_set1_ps(scale);
    for (int i = 0; i < t; i++) {
        /* dP_i[j] = dO_i·v_j;  dS_i = P_i ⊙ (dP_i − P_i·dP_i)·scale */
        __m256 lo, hi, plo, phi;
        if (t == TMAX) {
            plo = _mm256_loadu_ps(a + (size_t)i * t), phi = _mm256_loadu_ps(a + (size_t)i * t + 8);
        } else {
            plo = _mm256_maskload_ps(a + (size_t)i * t, lanes((size_t)(t < 8 ? t : 8)));
            phi = _mm256_maskload_ps(a + (size_t)i * t + 8, lanes((size_t)(t > 8 ? t - 8 : 0)));
        }
        row_times(hs, dout + (size_t)i * ldo, vt, &lo, &hi);
        __m256 sum = _mm256_set1_ps(hsum(_mm256_fmadd_ps(plo, lo, _mm256_mul_ps(phi, hi))));
        _mm256_storeu_ps(ds[i], _mm256_mul_ps(_mm256_mul_ps(plo, _mm256_sub_ps(lo, sum)), sc));
        _mm256_storeu_ps(ds[i] + 8, _mm256_mul_ps(_mm256_mul_ps(phi, _mm256_sub_ps(hi, sum)), sc));
        weighted_rows(hs, causal ? i + 1 : t, ds[i], k0, ld, dq0 + i * ld, add);
    }
    transpose(t, TMAX, ds[0], TMAX, dst);
    for (int j = 0; j < t; j++) {
        column_rows(t, hs, causal, j, (const float(*)[TMAX])dst, q0, ld, dk0 + j * ld, add);
        column_rows(t, hs, causal, j, (const float(*)[TMAX])pt, dout, ldo, dv0 + j * ld, add);
    }
}

static inline __attribute__((always_inline)) void bwd_heads(const attn_job *j, size_t lo, size_t hi,
                                                            int hs)
{
    int t = j->t, nh = j->nh, c = nh * hs;
    size_t ld = 3 * (size_t)c;
    float scale = 1.0f / sqrtf((float)hs);
    for (size_t bi = lo; bi < hi; bi++)
        for (int h = 0; h < nh; h++) {
            size_t o = bi * t * ld + h * hs;
            head_bwd(t, hs, j->causal, scale, j->qkv + o, ld, j->att + (bi * nh + h) * t * t,
                     j->dout + bi * t * c + h * hs, (size_t)c, j->dqkv + o, j->accumulate);
        }
}

static void bwd_batches(void *ctx, size_t lo, size_t hi)
{
    const attn_job *j = ctx;
    switch (j->hs) {
    case 8: bwd_heads(j, lo, hi, 8); break;
    case 16: bwd_heads(j, lo, hi, 16); break;
    case 32: bwd_heads(j, lo, hi, 32); break;
    default: bwd_heads(j, lo, hi, j->hs); break;
    }
}

void nn_avx2_attn_bwd_short(int b, int t, int nh, int hs, int causal, const float *qkv,
                            const float *att, const float *dout, float *dqkv, int accumulate)
{
    if (!fits(t, hs)) {
        nn_avx2_attn_bwd(b, t, nh, hs, causal, qkv, att, dout, dqkv, accumulate);
        return;
    }
    attn_job j = {t, nh, hs, causal, accumulate, qkv, att, dout, NULL, NULL, dqkv};
    nn_split_range((size_t)b, 1, 4.0 * b * nh * t * t * hs, bwd_batches, &j);
}
