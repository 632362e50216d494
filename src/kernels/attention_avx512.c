/* attention_avx512.c — the attention core (kernels.h attn_fwd/attn_bwd) for makemore's
 * shape: t ≤ 16 positions and heads of hs = 16 features, one (batch, head) at a time in
 * zmm registers.  Other shapes go to attention_avx2.c.
 *
 * The scores are formed transposed: Sᵀ[j] (one vector over the query rows i) =
 * Σ_d k_j[d]·Qᵀ[d], so that the softmax's max and sum over the keys j are vertical
 * operations across 16 independent registers, not a horizontal reduction per row (the
 * row-wise form was latency-bound: each row waited on its own reductions).  Products whose
 * other factor is a transposed block (P·V, dSᵀ·Q, dS·K, Pᵀ·dO) read that factor as scalar
 * broadcasts from a 16 × 16 stack block, so only Q, dO and P need an in-register transpose.
 * Each (batch, head) is independent, so a split over the batch changes no result. */
#include <immintrin.h>
#include <math.h>

#include "kernels/avx2.h"
#include "kernels/avx512.h"
#include "kernels/avx512_math.h"
#include "kernels/avx512_transpose.h"
#include "kernels/split.h"

#define INLINE static inline __attribute__((always_inline))

enum { T = 16, HS = 16, AHEAD = 2 /* batches prefetched ahead */ };

static int fits(int t, int hs)
{
    return t <= T && hs == HS;
}

/* r[i] = the 16 floats at x + i·ld for i < t, 0 beyond (`k` masks the columns) */
INLINE void load_rows(int t, const float *x, size_t ld, __mmask16 k, __m512 r[16])
{
#pragma GCC unroll 16
    for (int i = 0; i < T; i++)
        r[i] = i < t ? _mm512_maskz_loadu_ps(k, x + i * ld) : _mm512_setzero_ps();
}

/* the query lanes i that see key j: i < t, and i ≥ j when causal */
INLINE __mmask16 seen_by(int t, int causal, int j)
{
    unsigned m = (1u << t) - 1u;
    if (causal) m &= ~((1u << j) - 1u);
    return (__mmask16)m;
}

/* o[a] = Σ_b w(b, a)·x[b], w(b, a) = w[b·sb + a·sa] read as a broadcast, for the pairs a
 * causal block holds: b ≤ a, or b ≥ a when `upper`; rows a < t stored at out + a·ldo
 * (added when add) */
INLINE void bcast_product(int t, int causal, const float *w, size_t sb, size_t sa,
                          const __m512 x[16], float *out, size_t ldo, int add, int upper)
{
#pragma GCC unroll 16
    for (int a = 0; a < T; a++) {
        if (a >= t) break;
        __m512 s0 = _mm512_setzero_ps(), s1 = s0;
        int b0 = causal && upper ? a : 0, b1 = causal && !upper ? a + 1 : t;
#pragma GCC unroll 16
        for (int b = 0; b < T; b++)
            if (b >= b0 && b < b1) {
                __m512 wb = _mm512_set1_ps(w[b * sb + a * sa]);
                if (b & 1) /* two chains */
                    s1 = _mm512_fmadd_ps(wb, x[b], s1);
                else
                    s0 = _mm512_fmadd_ps(wb, x[b], s0);
            }
        s0 = _mm512_add_ps(s0, s1);
        if (add) s0 = _mm512_add_ps(_mm512_loadu_ps(out + a * ldo), s0);
        _mm512_storeu_ps(out + a * ldo, s0);
    }
}

/* st[j] lane i = Σ_d a_j[d]·bt[d] lane i  (a_j the 16 floats at a + j·ld) for j < t */
INLINE void scores_t(int t, const float *a, size_t ld, const __m512 bt[16], __m512 st[16])
{
#pragma GCC unroll 16
    for (int j = 0; j < T; j++) {
        if (j >= t) {
            st[j] = _mm512_setzero_ps();
            continue;
        }
        __m512 s0 = _mm512_setzero_ps(), s1 = s0;
#pragma GCC unroll 16
        for (int d = 0; d < HS; d += 2) {
            s0 = _mm512_fmadd_ps(_mm512_set1_ps(a[j * ld + d]), bt[d], s0);
            s1 = _mm512_fmadd_ps(_mm512_set1_ps(a[j * ld + d + 1]), bt[d + 1], s1);
        }
        st[j] = _mm512_add_ps(s0, s1);
    }
}

static void head_fwd(int t, int causal, const float *q0, size_t ld, float *att, float *out,
                     size_t ldo)
{
    const float *k0 = q0 + ld / 3, *v0 = k0 + ld / 3;
    __m512 r[16], s[16];
    __mmask16 all = 0xFFFF;
    load_rows(t, q0, ld, all, r);
    nn_transpose16(r); /* r[d] lane i = q_i[d] */
    scores_t(t, k0, ld, r, s);
    __m512 sc = _mm512_set1_ps(0.25f), mx = _mm512_set1_ps(-INFINITY);
#pragma GCC unroll 16
    for (int j = 0; j < T; j++) {
        if (j >= t) break;
        s[j] = _mm512_mask_blend_ps(seen_by(t, causal, j), mx, _mm512_mul_ps(s[j], sc));
    }
    __m512 m = s[0];
#pragma GCC unroll 16
    for (int j = 1; j < T; j++)
        if (j < t) m = _mm512_max_ps(m, s[j]);
    __m512 sum = _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int j = 0; j < T; j++) {
        if (j < t) {
            s[j] = _mm512_maskz_mov_ps(seen_by(t, causal, j), exp512(_mm512_sub_ps(s[j], m)));
            sum = _mm512_add_ps(sum, s[j]);
        }
    }
    __m512 inv = _mm512_maskz_div_ps((__mmask16)((1u << t) - 1u), _mm512_set1_ps(1), sum);
    float pt[T][T];
#pragma GCC unroll 16
    for (int j = 0; j < T; j++) {
        s[j] = _mm512_mul_ps(s[j], inv);
        _mm512_storeu_ps(pt[j], s[j]);
    }
    load_rows(t, v0, ld, all, r);
    bcast_product(t, causal, pt[0], T, 1, r, out, ldo, 0, 0); /* O_i = Σ_j P[i][j]·v_j */
    nn_transpose16(s);                                        /* s[i] = row i of P */
    __mmask16 tk = (__mmask16)((1u << t) - 1u);
#pragma GCC unroll 16
    for (int i = 0; i < T; i++)
        if (i < t) _mm512_mask_storeu_ps(att + i * t, tk, s[i]);
}

static void head_bwd(int t, int causal, const float *q0, size_t ld, const float *att,
                     const float *dout, size_t ldo, float *dq0, int add)
{
    const float *k0 = q0 + ld / 3, *v0 = k0 + ld / 3;
    float *dk0 = dq0 + ld / 3, *dv0 = dk0 + ld / 3;
    __mmask16 all = 0xFFFF, tk = (__mmask16)((1u << t) - 1u);
    __m512 r[16], p[16], dp[16];
    float dst[T][T];
    load_rows(t, att, (size_t)t, tk, p);
    nn_transpose16(p); /* p[j] lane i = P[i][j] */
    load_rows(t, dout, ldo, all, r);
    nn_transpose16(r);          /* r[d] lane i = dO_i[d] */
    scores_t(t, v0, ld, r, dp); /* dp[j] lane i = dO_i·v_j */
    __m512 sum = _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int j = 0; j < T; j++)
        if (j < t) sum = _mm512_fmadd_ps(p[j], dp[j], sum);
    __m512 sc = _mm512_set1_ps(0.25f);
#pragma GCC unroll 16
    for (int j = 0; j < T; j++) {
        _mm512_storeu_ps(dst[j], _mm512_mul_ps(_mm512_mul_ps(p[j], _mm512_sub_ps(dp[j], sum)), sc));
    }
    load_rows(t, dout, ldo, all, r); /* dV_j = Σ_i P[i][j]·dO_i (i ≥ j) */
    bcast_product(t, causal, att, (size_t)t, 1, r, dv0, ld, add, 1);
    load_rows(t, q0, ld, all, r); /* dK_j = Σ_i dS[i][j]·q_i, dS[i][j] = dst[j][i] */
    bcast_product(t, causal, dst[0], 1, T, r, dk0, ld, add, 1);
    load_rows(t, k0, ld, all, r); /* dQ_i = Σ_j dS[i][j]·k_j */
    bcast_product(t, causal, dst[0], T, 1, r, dq0, ld, add, 0);
}

/* Part `h` of `parts` of the `bytes` at p prefetched: the next batch's block, spread over the
 * current batch's heads.  In a training step these tensors come cold from L3 (each layer
 * evicts the last one's), and the strided rows of a head defeat the hardware prefetcher:
 * without it the kernels ran 3–4× slower than on warm data. */
static inline void prefetch_part(const void *p, size_t bytes, int h, int parts)
{
    size_t lines = (bytes + 63) / 64, lo = lines * h / parts, hi = lines * (h + 1) / parts;
    for (size_t l = lo; l < hi; l++)
        _mm_prefetch((const char *)p + 64 * l, _MM_HINT_T0);
}

typedef struct {
    int t, nh, causal, accumulate;
    const float *qkv, *att, *dout;
    float *att_out, *out, *dqkv;
} attn_job;

static void fwd_batches(void *ctx, size_t lo, size_t hi)
{
    const attn_job *j = ctx;
    int t = j->t, nh = j->nh, c = nh * HS;
    size_t ld = 3 * (size_t)c;
    size_t tt = (size_t)t * t;
    for (size_t bi = lo; bi < hi; bi++)
        for (int h = 0; h < nh; h++) {
            if (bi + AHEAD < hi) {
                prefetch_part(j->qkv + (bi + AHEAD) * t * ld, t * ld * 4, h, nh);
                prefetch_part(j->att_out + (bi + AHEAD) * nh * tt, nh * tt * 4, h, nh);
                prefetch_part(j->out + (bi + AHEAD) * t * c, (size_t)t * c * 4, h, nh);
            }
            head_fwd(t, j->causal, j->qkv + bi * t * ld + h * HS, ld,
                     j->att_out + (bi * nh + h) * t * t, j->out + bi * t * c + h * HS, (size_t)c);
        }
}

void nn_avx512_attn_fwd(int b, int t, int nh, int hs, int causal, const float *qkv, float *att,
                        float *out)
{
    if (!fits(t, hs)) {
        nn_avx2_attn_fwd_short(b, t, nh, hs, causal, qkv, att, out);
        return;
    }
    attn_job j = {t, nh, causal, 0, qkv, NULL, NULL, att, out, NULL};
    nn_split_range((size_t)b, 1, 2.0 * b * nh * t * t * hs, fwd_batches, &j);
}

static void bwd_batches(void *ctx, size_t lo, size_t hi)
{
    const attn_job *j = ctx;
    int t = j->t, nh = j->nh, c = nh * HS;
    size_t ld = 3 * (size_t)c;
    size_t tt = (size_t)t * t;
    for (size_t bi = lo; bi < hi; bi++)
        for (int h = 0; h < nh; h++) {
            if (bi + AHEAD < hi) {
                prefetch_part(j->qkv + (bi + AHEAD) * t * ld, t * ld * 4, h, nh);
                prefetch_part(j->dqkv + (bi + AHEAD) * t * ld, t * ld * 4, h, nh);
                prefetch_part(j->att + (bi + AHEAD) * nh * tt, nh * tt * 4, h, nh);
                prefetch_part(j->dout + (bi + AHEAD) * t * c, (size_t)t * c * 4, h, nh);
            }
            size_t o = bi * t * ld + h * HS;
            head_bwd(t, j->causal, j->qkv + o, ld, j->att + (bi * nh + h) * t * t,
                     j->dout + bi * t * c + h * HS, (size_t)c, j->dqkv + o, j->accumulate);
        }
}

void nn_avx512_attn_bwd(int b, int t, int nh, int hs, int causal, const float *qkv,
                        const float *att, const float *dout, float *dqkv, int accumulate)
{
    if (!fits(t, hs)) {
        nn_avx2_attn_bwd_short(b, t, nh, hs, causal, qkv, att, dout, dqkv, accumulate);
        return;
    }
    attn_job j = {t, nh, causal, accumulate, qkv, att, dout, NULL, NULL, dqkv};
    nn_split_range((size_t)b, 1, 4.0 * b * nh * t * t * hs, bwd_batches, &j);
}
