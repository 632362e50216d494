/* layernorm_avx2.c — LayerNorm forward and backward (kernels.h ln_fwd/ln_bwd) for rows of
 * n = 8·r ≤ 64 features (makemore: 64), one pass over memory each.
 *
 * A row is loaded once into r vector registers; the mean, the centred variance (two-pass
 * in registers, as the reference), x̂ and the output come from them.  The backward loads x
 * and dy once, gathers Σg and Σg·x̂ and the row's dgamma/dbeta terms, and writes dx; dgamma
 * and dbeta are summed over the rows in row order (in a stack block, stored once), as the
 * reference adds them.  Other widths go to the masked loops of seq_avx2.c. */
#include <math.h>
#include <string.h>

#include "kernels/avx2.h"
#include "kernels/avx2_strip.h"
#include "kernels/split.h"

enum { NV_MAX = 8 };

static inline float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Σ of nv vectors as a tree (short dependency chains; the order is fixed by nv alone) */
INLINE __m256 vsum(int nv, const __m256 *v)
{
    __m256 t[NV_MAX];
#pragma GCC unroll 8
    for (int k = 0; k < nv; k++)
        t[k] = v[k];
#pragma GCC unroll 8
    for (int w = nv; w > 1; w /= 2)
#pragma GCC unroll 8
        for (int k = 0; k < w / 2; k++)
            t[k] = _mm256_add_ps(t[k], t[k + w / 2]);
    return t[0];
}

/* [Σ v[0], …, Σ v[7]]: the eight rows' sums side by side, the same order for every lane */
INLINE __m256 hsum8(const __m256 *v)
{
    __m256 a = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
    __m256 b = _mm256_hadd_ps(_mm256_hadd_ps(v[4], v[5]), _mm256_hadd_ps(v[6], v[7]));
    return _mm256_add_ps(_mm256_permute2f128_ps(a, b, 0x20), _mm256_permute2f128_ps(a, b, 0x31));
}

/* Rows in blocks of eight (the last block's missing rows are zeros, never loaded or
 * stored): the block's means, variances and 1/sqrt come out as one vector each, so the
 * horizontal sums and the sqrt and divide are shared, and no row waits on its own chain.
 * Each row's result depends on its own values only, whatever m or the split. */
INLINE void fwd_rows(int nv, int m, const float *x, const float *gamma, const float *beta,
                     float eps, float *mean, float *rstd, float *y)
{
    int n = 8 * nv;
    __m256 nf = _mm256_set1_ps((float)n), ev = _mm256_set1_ps(eps), one = _mm256_set1_ps(1.0f);
    for (int i0 = 0; i0 < m; i0 += 8) {
        int rows = m - i0 < 8 ? m - i0 : 8;
        __m256 s[8], v[NV_MAX];
        float mu[8], r[8];
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) {
            if (i >= rows) {
                s[i] = _mm256_setzero_ps();
                continue;
            }
#pragma GCC unroll 8
            for (int k = 0; k < nv; k++)
                v[k] = _mm256_loadu_ps(x + (size_t)(i0 + i) * n + 8 * k);
            s[i] = vsum(nv, v);
        }
        _mm256_storeu_ps(mu, _mm256_div_ps(hsum8(s), nf));
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) {
            if (i >= rows) {
                s[i] = _mm256_setzero_ps();
                continue;
            }
            __m256 mv = _mm256_set1_ps(mu[i]);
#pragma GCC unroll 8
            for (int k = 0; k < nv; k++) {
                __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + (size_t)(i0 + i) * n + 8 * k), mv);
                v[k] = _mm256_mul_ps(d, d);
            }
            s[i] = vsum(nv, v);
        }
        __m256 var = _mm256_add_ps(_mm256_div_ps(hsum8(s), nf), ev);
        _mm256_storeu_ps(r, _mm256_div_ps(one, _mm256_sqrt_ps(var)));
        for (int i = 0; i < rows; i++) {
            const float *xi = x + (size_t)(i0 + i) * n;
            float *yi = y + (size_t)(i0 + i) * n;
            __m256 mv = _mm256_set1_ps(mu[i]), rv = _mm256_set1_ps(r[i]);
            mean[i0 + i] = mu[i];
            rstd[i0 + i] = r[i];
#pragma GCC unroll 8
            for (int k = 0; k < nv; k++) {
                __m256 h = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xi + 8 * k), mv), rv);
                if (gamma)
                    h = _mm256_fmadd_ps(h, _mm256_loadu_ps(gamma + 8 * k),
                                        _mm256_loadu_ps(beta + 8 * k));
                _mm256_storeu_ps(yi + 8 * k, h);
            }
        }
    }
}

typedef struct {
    int n;
    const float *x, *gamma, *beta;
    float eps, *mean, *rstd, *y;
} ln_job;

static void fwd_part(void *ctx, size_t lo, size_t hi)
{
    const ln_job *j = ctx;
    int m = (int)(hi - lo), n = j->n;
    const float *x = j->x + lo * n;
    float *mean = j->mean + lo, *rstd = j->rstd + lo, *y = j->y + lo * n;
    switch (n) {
    case 8: fwd_rows(1, m, x, j->gamma, j->beta, j->eps, mean, rstd, y); return;
    case 16: fwd_rows(2, m, x, j->gamma, j->beta, j->eps, mean, rstd, y); return;
    case 32: fwd_rows(4, m, x, j->gamma, j->beta, j->eps, mean, rstd, y); return;
    case 64: fwd_rows(8, m, x, j->gamma, j->beta, j->eps, mean, rstd, y); return;
    default: nn_avx2_ln_fwd(m, n, x, j->gamma, j->beta, j->eps, mean, rstd, y); return;
    }
}

/* rows are independent: split over the pool's threads when large */
void nn_avx2_ln_fwd_rows(int m, int n, const float *x, const float *gamma, const float *beta,
                         float eps, float *mean, float *rstd, float *y)
{
    ln_job j = {n, x, gamma, beta, eps, mean, rstd, y};
    nn_split_range((size_t)m, 1, 4.0 * m * n, fwd_part, &j);
}

INLINE void bwd_rows(int nv, int m, const float *x, const float *mean, const float *rstd,
                     const float *gamma, const float *dy, float *dx, float *dgamma, float *dbeta,
                     int accumulate)
{
    int n = 8 * nv;
    float dg[8 * NV_MAX], db[8 * NV_MAX];
    memset(dg, 0, sizeof dg);
    memset(db, 0, sizeof db);
    if (dgamma && (accumulate & 2)) memcpy(dg, dgamma, (size_t)n * sizeof *dg);
    if (dbeta && (accumulate & 4)) memcpy(db, dbeta, (size_t)n * sizeof *db);
    for (int i = 0; i < m; i++) {
        const float *xi = x + (size_t)i * n, *dyi = dy + (size_t)i * n;
        __m256 mv = _mm256_set1_ps(mean[i]), rv = _mm256_set1_ps(rstd[i]);
        __m256 h[NV_MAX], g[NV_MAX], gh[NV_MAX];
#pragma GCC unroll 8
        for (int k = 0; k < nv; k++) {
            __m256 d = _mm256_loadu_ps(dyi + 8 * k);
            h[k] = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xi + 8 * k), mv), rv);
            g[k] = gamma ? _mm256_mul_ps(d, _mm256_loadu_ps(gamma + 8 * k)) : d;
            gh[k] = _mm256_mul_ps(g[k], h[k]);
            _mm256_storeu_ps(dg + 8 * k, _mm256_fmadd_ps(d, h[k], _mm256_loadu_ps(dg + 8 * k)));
            _mm256_storeu_ps(db + 8 * k, _mm256_add_ps(d, _mm256_loadu_ps(db + 8 * k)));
        }
        if (!dx) continue;
        __m256 a = _mm256_set1_ps(hsum(vsum(nv, g)) / (float)n);
        __m256 b = _mm256_set1_ps(hsum(vsum(nv, gh)) / (float)n);
        float *dxi = dx + (size_t)i * n;
#pragma GCC unroll 8
        for (int k = 0; k < nv; k++) {
            __m256 r = _mm256_mul_ps(rv, _mm256_fnmadd_ps(h[k], b, _mm256_sub_ps(g[k], a)));
            if (accumulate & 1) r = _mm256_add_ps(r, _mm256_loadu_ps(dxi + 8 * k));
            _mm256_storeu_ps(dxi + 8 * k, r);
        }
    }
    if (dgamma) memcpy(dgamma, dg, (size_t)n * sizeof *dg);
    if (dbeta) memcpy(dbeta, db, (size_t)n * sizeof *db);
}

void nn_avx2_ln_bwd_rows(int m, int n, const float *x, const float *mean, const float *rstd,
                         const float *gamma, const float *dy, float *dx, float *dgamma,
                         float *dbeta, int accumulate)
{
    switch (n) {
    case 8: bwd_rows(1, m, x, mean, rstd, gamma, dy, dx, dgamma, dbeta, accumulate); return;
    case 16: bwd_rows(2, m, x, mean, rstd, gamma, dy, dx, dgamma, dbeta, accumulate); return;
    case 32: bwd_rows(4, m, x, mean, rstd, gamma, dy, dx, dgamma, dbeta, accumulate); return;
    case 64: bwd_rows(8, m, x, mean, rstd, gamma, dy, dx, dgamma, dbeta, accumulate); return;
    default: nn_avx2_ln_bwd(m, n, x, mean, rstd, gamma, dy, dx, dgamma, dbeta, accumulate); return;
    }
}
