/* ref_seq.c — the scalar reference kernels of the sequence models (kernels.h, "sequence
 * models"): LayerNorm, the multi-head self-attention core, GELU, dropout and the causal
 * running mean.  Plain loops in float, the ground truth of the vector versions and of the
 * finite-difference tests.  Kept apart from ref.c to keep each file one concept.
 */
#include <math.h>
#include <string.h>

#include "kernels/ref.h"

/* ---- LayerNorm ------------------------------------------------------------------------ */

void nn_ref_ln_fwd(int m, int n, const float *x, const float *gamma, const float *beta,
                   float eps, float *mean, float *rstd, float *y)
{
    for (int i = 0; i < m; i++) {
        const float *xi = x + (size_t)i * n;
        float *yi = y + (size_t)i * n;
        float s = 0.0f;
        for (int j = 0; j < n; j++)
            s += xi[j];
        float mu = s / (float)n, v = 0.0f;
        for (int j = 0; j < n; j++)
            v += (xi[j] - mu) * (xi[j] - mu);
        float r = 1.0f / sqrtf(v / (float)n + eps);
        mean[i] = mu;
        rstd[i] = r;
        for (int j = 0; j < n; j++) {
            float h = (xi[j] - mu) * r;
            yi[j] = gamma ? h * gamma[j] + beta[j] : h;
        }
    }
}

void nn_ref_ln_bwd(int m, int n, const float *x, const float *mean, const float *rstd,
                   const float *gamma, const float *dy, float *dx, float *dgamma, float *dbeta,
                   int accumulate)
{
    if (dgamma && !(accumulate & 2)) memset(dgamma, 0, (size_t)n * sizeof *dgamma);
    if (dbeta && !(accumulate & 4)) memset(dbeta, 0, (size_t)n * sizeof *dbeta);
    for (int i = 0; i < m; i++) {
        const float *xi = x + (size_t)i * n, *dyi = dy + (size_t)i * n;
        float mu = mean[i], r = rstd[i], sg = 0.0f, sgh = 0.0f;
        for (int j = 0; j < n; j++) {
            float h = (xi[j] - mu) * r, g = gamma ? dyi[j] * gamma[j] : dyi[j];
            sg += g;
            sgh += g * h;
            if (dgamma) dgamma[j] += dyi[j] * h;
            if (dbeta) dbeta[j] += dyi[j];
        }
        sg /= (float)n;
        sgh /= (float)n;
        if (!dx) continue;
        float *dxi = dx + (size_t)i * n;
        for (int j = 0; j < n; j++) {
            float h = (xi[j] - mu) * r, g = gamma ? dyi[j] * gamma[j] : dyi[j];
            float d = r * (g - sg - h * sgh);
            dxi[j] = (accumulate & 1) ? dxi[j] + d : d;
        }
    }
}

/* ---- attention core ------------------------------------------------------------------- */

static float dot(int n, const float *a, const float *b)
{
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

void nn_ref_attn_fwd(int b, int t, int nh, int hs, int causal, const float *qkv, float *att,
                     float *out)
{
    int c = nh * hs;
    size_t ld = 3 * (size_t)c;
    float scale = 1.0f / sqrtf((float)hs);
    for (int bi = 0; bi < b; bi++) {
        const float *base = qkv + (size_t)bi * t * ld;
        for (int h = 0; h < nh; h++) {
            float *a = att + ((size_t)bi * nh + h) * t * t;
            for (int i = 0; i < t; i++) {
                const float *q = base + i * ld + h * hs;
                float *ai = a + (size_t)i * t, mx = -INFINITY, s = 0.0f;
                int last = causal ? i : t - 1;
                for (int j = 0; j <= last; j++) {
                    ai[j] = dot(hs, q, base + j * ld + c + h * hs) * scale;
                    if (ai[j] > mx) mx = ai[j];
                }
                for (int j = 0; j <= last; j++)
                    s += ai[j] = expf(ai[j] - mx);
                for (int j = 0; j <= last; j++)
                    ai[j] /= s;
                for (int j = last + 1; j < t; j++)
                    ai[j] = 0.0f;
                float *o = out + ((size_t)bi * t + i) * c + h * hs;
                for (int d = 0; d < hs; d++)
                    o[d] = 0.0f;
                for (int j = 0; j <= last; j++) {
                    const float *v = base + j * ld + 2 * c + h * hs;
                    for (int d = 0; d < hs; d++)
                        o[d] += ai[j] * v[d];
                }
            }
        }
    }
}

/* Per query row i: datt_j = dout_i·v_j, ds_j = att_ij·(datt_j − Σ_k att_ik·datt_k);
 * dq_i = Σ_j ds_j·k_j·scale, dk_j += ds_j·q_i·scale, dv_j += att_ij·dout_i.  datt is
 * recomputed in the second pass rather than stored: no scratch memory, T·hs more work. */
void nn_ref_attn_bwd(int b, int t, int nh, int hs, int causal, const float *qkv, const float *att,
                     const float *dout, float *dqkv, int accumulate)
{
    int c = nh * hs;
    size_t ld = 3 * (size_t)c;
    float scale = 1.0f / sqrtf((float)hs);
    if (!accumulate) memset(dqkv, 0, (size_t)b * t * ld * sizeof *dqkv);
    for (int bi = 0; bi < b; bi++) {
        const float *base = qkv + (size_t)bi * t * ld;
        float *dbase = dqkv + (size_t)bi * t * ld;
        for (int h = 0; h < nh; h++) {
            const float *a = att + ((size_t)bi * nh + h) * t * t;
            for (int i = 0; i < t; i++) {
                const float *q = base + i * ld + h * hs, *ai = a + (size_t)i * t;
                const float *go = dout + ((size_t)bi * t + i) * c + h * hs;
                float *dq = dbase + i * ld + h * hs;
                int last = causal ? i : t - 1;
                float sum = 0.0f;
                for (int j = 0; j <= last; j++)
                    sum += ai[j] * dot(hs, go, base + j * ld + 2 * c + h * hs);
                for (int j = 0; j <= last; j++) {
                    const float *k = base + j * ld + c + h * hs, *v = k + c;
                    float *dk = dbase + j * ld + c + h * hs, *dv = dk + c;
                    float ds = ai[j] * (dot(hs, go, v) - sum) * scale;
                    for (int d = 0; d < hs; d++) {
                        dq[d] += ds * k[d];
                        dk[d] += ds * q[d];
                        dv[d] += ai[j] * go[d];
                    }
                }
            }
        }
    }
}

/* ---- GELU ----------------------------------------------------------------------------- */

#define GELU_K 0.7978845608028654f /* √(2/π) */
#define GELU_C 0.044715f

void nn_ref_gelu_fwd(size_t n, int approx, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        if (approx)
            y[i] = 0.5f * v * (1.0f + tanhf(GELU_K * (v + GELU_C * v * v * v)));
        else
            y[i] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    }
}

void nn_ref_gelu_bwd(size_t n, int approx, const float *x, const float *dy, float *dx,
                     int accumulate)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i], d;
        if (approx) {
            float th = tanhf(GELU_K * (v + GELU_C * v * v * v));
            d = 0.5f * (1.0f + th) +
                0.5f * v * (1.0f - th * th) * GELU_K * (1.0f + 3.0f * GELU_C * v * v);
        } else {
            d = 0.5f * (1.0f + erff(v * 0.70710678118654752f)) +
                v * 0.39894228040143268f * expf(-0.5f * v * v);
        }
        dx[i] = accumulate ? dx[i] + dy[i] * d : dy[i] * d;
    }
}

/* ---- dropout -------------------------------------------------------------------------- */

/* splitmix64 of (seed, i): a counter-based stream, so the mask of element i does not depend
 * on how the work is split or in which order elements are visited. */
static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void nn_ref_dropout_fwd(size_t n, float p, uint64_t seed, const float *x, float *mask, float *y)
{
    float keep = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    for (size_t i = 0; i < n; i++) {
        float u = (float)(mix(seed + 0x9e3779b97f4a7c15ull * (i + 1)) >> 40) * 0x1p-24f;
        mask[i] = u < p ? 0.0f : keep;
        y[i] = x[i] * mask[i];
    }
}

void nn_ref_mul_bwd(size_t n, const float *mask, const float *dy, float *dx, int accumulate)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = accumulate ? dx[i] + dy[i] * mask[i] : dy[i] * mask[i];
}

/* ---- causal running mean -------------------------------------------------------------- */

void nn_ref_causal_mean_fwd(int b, int t, int c, const float *x, float *y)
{
    for (int bi = 0; bi < b; bi++) {
        const float *xb = x + (size_t)bi * t * c;
        float *yb = y + (size_t)bi * t * c;
        for (int i = 0; i < t; i++) {
            float w = 1.0f / (float)(i + 1);
            for (int d = 0; d < c; d++) {
                float s = 0.0f;
                for (int j = 0; j <= i; j++)
                    s += xb[(size_t)j * c + d];
                yb[(size_t)i * c + d] = s * w;
            }
        }
    }
}

void nn_ref_causal_mean_bwd(int b, int t, int c, const float *dy, float *dx, int accumulate)
{
    for (int bi = 0; bi < b; bi++) {
        const float *gb = dy + (size_t)bi * t * c;
        float *db = dx + (size_t)bi * t * c;
        for (int j = 0; j < t; j++)
            for (int d = 0; d < c; d++) {
                float s = 0.0f;
                for (int i = j; i < t; i++)
                    s += gb[(size_t)i * c + d] / (float)(i + 1);
                db[(size_t)j * c + d] = accumulate ? db[(size_t)j * c + d] + s : s;
            }
    }
}
