/* rnn_avx2.c — the recurrent cells' per-step passes in AVX2+FMA (rnn.h), 8 floats wide with
 * a masked tail; the schedule and the gemms are rnn_seq.c's with the AVX2 gemms (the AVX-512
 * table runs these passes with its own gemms: avx512.c).  Each pass reads a step's gate
 * pre-activations once and writes the gates, the state update and the next step's input in
 * the same sweep; exp and tanh are avx2_math.h's, inlined. */
#include <immintrin.h>
#include <string.h>

#include "kernels/avx2.h"
#include "kernels/avx2_math.h"
#include "kernels/rnn.h"

#include "kernels/avx2_strip.h"

INLINE __m256 sigm(__m256 x)
{
    __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(_mm256_set1_ps(1), _mm256_add_ps(_mm256_set1_ps(1), e));
}

INLINE void act_strip(const float *bias, float *a, float *next, size_t j, __m256i mk, int full)
{
    __m256 v = tanh256(_mm256_add_ps(ld(a + j, mk, full), ld(bias + j, mk, full)));
    st(a + j, mk, full, v);
    if (next) st(next + j, mk, full, v);
}

static void rnn_act(int b, int e, int h, const float *bias, float *a, int lda, float *next)
{
    for (int i = 0; i < b; i++)
        STRIPS(h, act_strip, bias, a + (size_t)i * lda, next ? next + (size_t)i * (e + h) : NULL);
}

INLINE void gates_strip(int h, const float *bz, const float *br, float *z, const float *hp,
                        float *o, size_t j, __m256i mk, int full)
{
    __m256 zv = sigm(_mm256_add_ps(ld(z + j, mk, full), ld(bz + j, mk, full)));
    __m256 rv = sigm(_mm256_add_ps(ld(z + h + j, mk, full), ld(br + j, mk, full)));
    st(z + j, mk, full, zv);
    st(z + h + j, mk, full, rv);
    st(o + j, mk, full, _mm256_mul_ps(rv, ld(hp + j, mk, full)));
}

static void gru_gates(int b, int e, int h, const float *bz, const float *br, float *g,
                      const float *xh, float *xhr)
{
    size_t n = (size_t)(e + h);
    for (int i = 0; i < b; i++) {
        memcpy(xhr + i * n, xh + i * n, (size_t)e * sizeof *xhr);
        STRIPS(h, gates_strip, h, bz, br, g + (size_t)i * 3 * h, xh + i * n + e, xhr + i * n + e);
    }
}

INLINE void update_strip(int h, const float *bh, float *z, const float *hp, float *y, float *next,
                         size_t j, __m256i mk, int full)
{
    __m256 hb = tanh256(_mm256_add_ps(ld(z + 2 * h + j, mk, full), ld(bh + j, mk, full)));
    __m256 zv = ld(z + j, mk, full);
    st(z + 2 * h + j, mk, full, hb);
    /* (1 − z)·hprev + z·h̄, the products rounded separately as torch does */
    __m256 a = _mm256_mul_ps(_mm256_sub_ps(_mm256_set1_ps(1), zv), ld(hp + j, mk, full));
    __m256 v = _mm256_add_ps(a, _mm256_mul_ps(zv, hb));
    st(y + j, mk, full, v);
    if (next) st(next + j, mk, full, v);
}

static void gru_update(int b, int e, int h, const float *bh, float *g, const float *xh, float *y,
                       int ldy, float *next)
{
    size_t n = (size_t)(e + h);
    for (int i = 0; i < b; i++)
        STRIPS(h, update_strip, h, bh, g + (size_t)i * 3 * h, xh + i * n + e, y + (size_t)i * ldy,
               next ? next + i * n : NULL);
}

INLINE void dact_strip(const float *dh, const float *dy, const float *y, float *o, size_t j,
                       __m256i mk, int full)
{
    __m256 gs = ld(dy + j, mk, full), yv = ld(y + j, mk, full);
    if (dh) gs = _mm256_add_ps(ld(dh + j, mk, full), gs);
    st(o + j, mk, full, _mm256_mul_ps(gs, _mm256_fnmadd_ps(yv, yv, _mm256_set1_ps(1))));
}

static void rnn_dact(int b, int h, const float *dh, const float *dy, const float *y, int ldy,
                     float *dpre)
{
    for (int i = 0; i < b; i++)
        STRIPS(h, dact_strip, dh ? dh + (size_t)i * h : NULL, dy + (size_t)i * ldy,
               y + (size_t)i * ldy, dpre + (size_t)i * h);
}

INLINE void copy_strip(const float *src, float *d, int acc, size_t j, __m256i mk, int full)
{
    __m256 v = ld(src + j, mk, full);
    if (acc) v = _mm256_add_ps(ld(d + j, mk, full), v);
    st(d + j, mk, full, v);
}

INLINE void base_strip(const float *src, const float *base, float *d, size_t j, __m256i mk,
                       int full)
{
    __m256 v = ld(src + j, mk, full);
    if (base) v = _mm256_add_ps(ld(base + j, mk, full), v);
    st(d + j, mk, full, v);
}

static void split(int b, int e, int h, const float *dxh, float *dx, int ldx, int accx,
                  const float *base, float *dh)
{
    size_t n = (size_t)(e + h);
    for (int i = 0; i < b; i++) {
        if (dx) STRIPS(e, copy_strip, dxh + i * n, dx + (size_t)i * ldx, accx);
        STRIPS(h, base_strip, dxh + i * n + e, base ? base + (size_t)i * h : NULL,
               dh + (size_t)i * h);
    }
}

INLINE void da_strip(int h, const float *dh, const float *dy, const float *z, const float *hp,
                     float *dz, float *dhp, size_t j, __m256i mk, int full)
{
    __m256 one = _mm256_set1_ps(1), gs = ld(dy + j, mk, full);
    if (dh) gs = _mm256_add_ps(ld(dh + j, mk, full), gs);
    __m256 zv = ld(z + j, mk, full), hb = ld(z + 2 * h + j, mk, full), hv = ld(hp + j, mk, full);
    __m256 omz = _mm256_sub_ps(one, zv);
    __m256 gz = _mm256_mul_ps(_mm256_mul_ps(gs, _mm256_sub_ps(hb, hv)), _mm256_mul_ps(zv, omz));
    st(dz + j, mk, full, gz);
    st(dz + 2 * h + j, mk, full,
       _mm256_mul_ps(_mm256_mul_ps(gs, zv), _mm256_fnmadd_ps(hb, hb, one)));
    st(dhp + j, mk, full, _mm256_mul_ps(gs, omz));
}

static void gru_da(int b, int e, int h, const float *dh, const float *dy, int ldy, const float *g,
                   const float *xh, float *dg, float *dhp)
{
    size_t n = (size_t)(e + h);
    for (int i = 0; i < b; i++)
        STRIPS(h, da_strip, h, dh ? dh + (size_t)i * h : NULL, dy + (size_t)i * ldy,
               g + (size_t)i * 3 * h, xh + i * n + e, dg + (size_t)i * 3 * h, dhp + (size_t)i * h);
}

INLINE void db_strip(const float *drh, const float *r, const float *hp, float *dr, float *dhp,
                     size_t j, __m256i mk, int full)
{
    __m256 d = ld(drh + j, mk, full), rv = ld(r + j, mk, full);
    __m256 rr = _mm256_mul_ps(rv, _mm256_sub_ps(_mm256_set1_ps(1), rv));
    st(dr + j, mk, full, _mm256_mul_ps(_mm256_mul_ps(d, ld(hp + j, mk, full)), rr));
    st(dhp + j, mk, full, _mm256_fmadd_ps(d, rv, ld(dhp + j, mk, full)));
}

static void gru_db(int b, int e, int h, const float *dxhr, const float *g, const float *xh,
                   float *dg, float *dhp, float *dx, int ldx, int accx)
{
    size_t n = (size_t)(e + h);
    for (int i = 0; i < b; i++) {
        if (dx) STRIPS(e, copy_strip, dxhr + i * n, dx + (size_t)i * ldx, accx);
        STRIPS(h, db_strip, dxhr + i * n + e, g + (size_t)i * 3 * h + h, xh + i * n + e,
               dg + (size_t)i * 3 * h + h, dhp + (size_t)i * h);
    }
}

/* avx2.c's col_sum is static there; its rows-in-order sum is this */
INLINE void colsum_strip(int m, int n, const float *x, float *out, int acc, size_t j, __m256i mk,
                         int full)
{
    __m256 s = strip_sum(m, n, x, j, mk, full);
    if (acc) s = _mm256_add_ps(ld(out + j, mk, full), s);
    st(out + j, mk, full, s);
}

static void col_sum(int m, int n, const float *x, float *out, int accumulate)
{
    STRIPS(n, colsum_strip, m, n, x, out, accumulate);
}

static void scatter(int b, int t, int n, const int32_t *ids, const float *dg, float *S)
{
    for (int s = 0; s < t; s++)
        for (int i = 0; i < b; i++)
            STRIPS(n, copy_strip, dg + ((size_t)s * b + i) * n,
                   S + (size_t)ids[(size_t)i * t + s] * n, 1);
}

const nn_rnn_prims nn_avx2_rnn_prims = {
    .sgemm_nn = nn_avx2_sgemm_nn,
    .sgemm_nt = nn_avx2_sgemm_nt,
    .sgemm_tn = nn_avx2_sgemm_tn,
    .col_sum = col_sum,
    .rnn_act = rnn_act,
    .gru_gates = gru_gates,
    .gru_update = gru_update,
    .rnn_dact = rnn_dact,
    .split = split,
    .gru_da = gru_da,
    .gru_db = gru_db,
    .scatter = scatter,
};

void nn_avx2_rnn_fwd(int b, int t, int e, int h, int gru, const nn_rnn_input *in,
                     const float *start, const nn_rnn_weights *w, float *pack, float *state,
                     float *y)
{
    nn_rnn_seq_fwd(&nn_avx2_rnn_prims, b, t, e, h, gru, in, start, w, pack, state, y);
}

void nn_avx2_rnn_bwd(int b, int t, int e, int h, int gru, const nn_rnn_input *in,
                     const nn_rnn_weights *w, const float *pack, const float *state, const float *y,
                     const float *dy, float *work, float *dx, const nn_rnn_grads *d, int accumulate)
{
    nn_rnn_seq_bwd(&nn_avx2_rnn_prims, b, t, e, h, gru, in, w, pack, state, y, dy, work, dx, d,
                   accumulate);
}
