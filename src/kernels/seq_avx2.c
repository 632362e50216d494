/* seq_avx2.c — AVX2+FMA versions of the sequence-model kernels (kernels.h; reference in
 * ref_seq.c): LayerNorm, the attention core, GELU (tanh form) and the causal mean.
 *
 * The attention core works one (batch, head) block at a time: its q, k and v rows (T ≤ 16
 * positions of hs floats, at most 3 KiB with hs = 16) stay in L1 while every score, the
 * softmax and the weighted sum of v are done; vectors run over the head's hs features.
 */
#include <math.h>
#include <string.h>

#include "kernels/avx2.h"
#include "kernels/avx2_math.h"
#include "kernels/avx2_strip.h"
#include "kernels/ref.h"
#include "kernels/split.h"

static inline float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Σ a·b over n floats */
static inline float vdot(int n, const float *a, const float *b)
{
    __m256 s = _mm256_setzero_ps();
    int j = 0;
    for (; j + 8 <= n; j += 8)
        s = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), s);
    if (j < n) {
        __m256i mk = lanes((size_t)(n - j));
        s = _mm256_fmadd_ps(_mm256_maskload_ps(a + j, mk), _mm256_maskload_ps(b + j, mk), s);
    }
    return hsum(s);
}

/* y += s·x over n floats */
static inline void vaxpy(int n, float s, const float *x, float *y)
{
    __m256 sv = _mm256_set1_ps(s);
    int j = 0;
    for (; j + 8 <= n; j += 8)
        _mm256_storeu_ps(y + j,
                         _mm256_fmadd_ps(sv, _mm256_loadu_ps(x + j), _mm256_loadu_ps(y + j)));
    if (j < n) {
        __m256i mk = lanes((size_t)(n - j));
        __m256 r =
            _mm256_fmadd_ps(sv, _mm256_maskload_ps(x + j, mk), _mm256_maskload_ps(y + j, mk));
        _mm256_maskstore_ps(y + j, mk, r);
    }
}

/* ---- LayerNorm ------------------------------------------------------------------------ */

void nn_avx2_ln_fwd(int m, int n, const float *x, const float *gamma, const float *beta, float eps,
                    float *mean, float *rstd, float *y)
{
    for (int i = 0; i < m; i++) {
        const float *xi = x + (size_t)i * n;
        float *yi = y + (size_t)i * n;
        __m256 s = _mm256_setzero_ps();
        for (int j = 0; j < n; j += 8) {
            __m256i mk = lanes((size_t)(n - j < 8 ? n - j : 8));
            s = _mm256_add_ps(s, _mm256_maskload_ps(xi + j, mk));
        }
        float mu = hsum(s) / (float)n;
        __m256 mv = _mm256_set1_ps(mu), v = _mm256_setzero_ps();
        for (int j = 0; j < n; j += 8) {
            __m256i mk = lanes((size_t)(n - j < 8 ? n - j : 8));
            __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(xi + j, mk), mv),
                                     _mm256_castsi256_ps(mk));
            v = _mm256_fmadd_ps(d, d, v);
        }
        float r = 1.0f / sqrtf(hsum(v) / (float)n + eps);
        mean[i] = mu;
        rstd[i] = r;
        __m256 rv = _mm256_set1_ps(r);
        for (int j = 0; j < n; j += 8) {
            __m256i mk = lanes((size_t)(n - j < 8 ? n - j : 8));
            __m256 h = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(xi + j, mk), mv), rv);
            if (gamma)
                h = _mm256_fmadd_ps(h, _mm256_maskload_ps(gamma + j, mk),
                                    _mm256_maskload_ps(beta + j, mk));
            _mm256_maskstore_ps(yi + j, mk, h);
        }
    }
}

void nn_avx2_ln_bwd(int m, int n, const float *x, const float *mean, const float *rstd,
                    const float *gamma, const float *dy, float *dx, float *dgamma, float *dbeta,
                    int accumulate)
{
    if (dgamma && !(accumulate & 2)) memset(dgamma, 0, (size_t)n * sizeof *dgamma);
    if (dbeta && !(accumulate & 4)) memset(dbeta, 0, (size_t)n * sizeof *dbeta);
    for (int i = 0; i < m; i++) {
        const float *xi = x + (size_t)i * n, *dyi = dy + (size_t)i * n;
        __m256 mv = _mm256_set1_ps(mean[i]), rv = _mm256_set1_ps(rstd[i]);
        __m256 sg = _mm256_setzero_ps(), sgh = _mm256_setzero_ps();
        for (int j = 0; j < n; j += 8) {
            __m256i mk = lanes((size_t)(n - j < 8 ? n - j : 8));
            __m256 h = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(xi + j, mk), mv), rv);
            __m256 d = _mm256_maskload_ps(dyi + j, mk);
            __m256 g = gamma ? _mm256_mul_ps(d, _mm256_maskload_ps(gamma + j, mk)) : d;
            sg = _mm256_add_ps(sg, g);
            sgh = _mm256_fmadd_ps(g, h, sgh);
            if (dgamma)
                _mm256_maskstore_ps(dgamma + j, mk,
                                    _mm256_fmadd_ps(d, h, _mm256_maskload_ps(dgamma + j, mk)));
            if (dbeta)
                _mm256_maskstore_ps(dbeta + j, mk,
                                    _mm256_add_ps(d, _mm256_maskload_ps(dbeta + j, mk)));
        }
        if (!dx) continue;
        __m256 a = _mm256_set1_ps(hsum(sg) / (float)n), b = _mm256_set1_ps(hsum(sgh) / (float)n);
        float *dxi = dx + (size_t)i * n;
        for (int j = 0; j < n; j += 8) {
            __m256i mk = lanes((size_t)(n - j < 8 ? n - j : 8));
            __m256 h = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(xi + j, mk), mv), rv);
            __m256 d = _mm256_maskload_ps(dyi + j, mk);
            __m256 g = gamma ? _mm256_mul_ps(d, _mm256_maskload_ps(gamma + j, mk)) : d;
            __m256 r = _mm256_mul_ps(rv, _mm256_sub_ps(_mm256_sub_ps(g, a), _mm256_mul_ps(h, b)));
            if (accumulate & 1) r = _mm256_add_ps(r, _mm256_maskload_ps(dxi + j, mk));
            _mm256_maskstore_ps(dxi + j, mk, r);
        }
    }
}

/* ---- attention core ------------------------------------------------------------------- */

/* softmax of a[0..len) in place (len ≥ 1), exp by the vector exp of avx2.c */
static void softmax_row(int len, float *a)
{
    float mx = a[0];
    for (int j = 1; j < len; j++)
        mx = a[j] > mx ? a[j] : mx;
    __m256 m = _mm256_set1_ps(mx), s = _mm256_setzero_ps();
    for (int j = 0; j < len; j += 8) {
        __m256i mk = lanes((size_t)(len - j < 8 ? len - j : 8));
        __m256 e = nn_avx2_exp(_mm256_sub_ps(_mm256_maskload_ps(a + j, mk), m));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(mk));
        s = _mm256_add_ps(s, e);
        _mm256_maskstore_ps(a + j, mk, e);
    }
    __m256 inv = _mm256_set1_ps(1.0f / hsum(s));
    for (int j = 0; j < len; j += 8) {
        __m256i mk = lanes((size_t)(len - j < 8 ? len - j : 8));
        _mm256_maskstore_ps(a + j, mk, _mm256_mul_ps(_mm256_maskload_ps(a + j, mk), inv));
    }
}

void nn_avx2_attn_fwd(int b, int t, int nh, int hs, int causal, const float *qkv, float *att,
                      float *out)
{
    int c = nh * hs;
    size_t ld = 3 * (size_t)c;
    float scale = 1.0f / sqrtf((float)hs);
    for (int bi = 0; bi < b; bi++) {
        const float *base = qkv + (size_t)bi * t * ld;
        for (int h = 0; h < nh; h++) {
            float *a = att + ((size_t)bi * nh + h) * t * t;
            const float *q0 = base + h * hs, *k0 = q0 + c, *v0 = k0 + c;
            for (int i = 0; i < t; i++) {
                float *ai = a + (size_t)i * t;
                int len = causal ? i + 1 : t;
                for (int j = 0; j < len; j++)
                    ai[j] = vdot(hs, q0 + i * ld, k0 + j * ld) * scale;
                softmax_row(len, ai);
                for (int j = len; j < t; j++)
                    ai[j] = 0.0f;
                float *o = out + ((size_t)bi * t + i) * c + h * hs;
                memset(o, 0, (size_t)hs * sizeof *o);
                for (int j = 0; j < len; j++)
                    vaxpy(hs, ai[j], v0 + j * ld, o);
            }
        }
    }
}

void nn_avx2_attn_bwd(int b, int t, int nh, int hs, int causal, const float *qkv, const float *att,
                      const float *dout, float *dqkv, int accumulate)
{
    int c = nh * hs;
    size_t ld = 3 * (size_t)c;
    float scale = 1.0f / sqrtf((float)hs), datt[64];
    if (t > 64) { /* the stack row below holds 64 positions */
        nn_ref_attn_bwd(b, t, nh, hs, causal, qkv, att, dout, dqkv, accumulate);
        return;
    }
    if (!accumulate) memset(dqkv, 0, (size_t)b * t * ld * sizeof *dqkv);
    for (int bi = 0; bi < b; bi++) {
        const float *base = qkv + (size_t)bi * t * ld;
        float *dbase = dqkv + (size_t)bi * t * ld;
        for (int h = 0; h < nh; h++) {
            const float *a = att + ((size_t)bi * nh + h) * t * t;
            const float *q0 = base + h * hs, *k0 = q0 + c, *v0 = k0 + c;
            float *dq0 = dbase + h * hs, *dk0 = dq0 + c, *dv0 = dk0 + c;
            for (int i = 0; i < t; i++) {
                const float *ai = a + (size_t)i * t;
                const float *go = dout + ((size_t)bi * t + i) * c + h * hs;
                int len = causal ? i + 1 : t;
                float sum = 0.0f;
                for (int j = 0; j < len; j++) {
                    datt[j] = vdot(hs, go, v0 + j * ld);
                    sum += ai[j] * datt[j];
                    vaxpy(hs, ai[j], go, dv0 + j * ld);
                }
                for (int j = 0; j < len; j++) {
                    float ds = ai[j] * (datt[j] - sum) * scale;
                    vaxpy(hs, ds, k0 + j * ld, dq0 + i * ld);
                    vaxpy(hs, ds, q0 + i * ld, dk0 + j * ld);
                }
            }
        }
    }
}

/* ---- GELU (the tanh form; the exact one uses the reference's erff) ---------------------- */

INLINE __m256 gelu_inner(__m256 x)
{
    __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    return _mm256_mul_ps(_mm256_set1_ps(0.7978845608028654f),
                         _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x));
}

INLINE void gelu_strip(const float *x, float *y, size_t i, __m256i mk, int full)
{
    __m256 v = ld(x + i, mk, full), half = _mm256_set1_ps(0.5f);
    __m256 th = tanh256(gelu_inner(v));
    st(y + i, mk, full,
       _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(_mm256_set1_ps(1), th)));
}

typedef struct {
    int approx, accumulate;
    const float *x, *dy;
    float *y, *dx;
} gelu_job;

static void gelu_part(void *ctx, size_t lo, size_t hi)
{
    const gelu_job *j = ctx;
    if (!j->approx)
        nn_ref_gelu_fwd(hi - lo, 0, j->x + lo, j->y + lo);
    else
        STRIPS(hi - lo, gelu_strip, j->x + lo, j->y + lo);
}

/* elementwise: split over the pool's threads when large (8-float aligned parts) */
void nn_avx2_gelu_fwd(size_t n, int approx, const float *x, float *y)
{
    gelu_job j = {approx, 0, x, NULL, y, NULL};
    nn_split_range(n, 8, 16.0 * (double)n, gelu_part, &j);
}

INLINE void gelu_bwd_strip(const float *x, const float *dy, float *dx, int accumulate, size_t i,
                           __m256i mk, int full)
{
    __m256 v = ld(x + i, mk, full), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1);
    __m256 th = tanh256(gelu_inner(v));
    /* d = 0.5(1 + th) + 0.5·x·(1 − th²)·k·(1 + 3c·x²) */
    __m256 inner = _mm256_fmadd_ps(_mm256_set1_ps(3 * 0.044715f), _mm256_mul_ps(v, v), one);
    __m256 sech2 = _mm256_fnmadd_ps(th, th, one);
    __m256 d = _mm256_mul_ps(_mm256_mul_ps(half, v), sech2);
    d = _mm256_mul_ps(_mm256_mul_ps(d, _mm256_set1_ps(0.7978845608028654f)), inner);
    d = _mm256_fmadd_ps(half, _mm256_add_ps(one, th), d);
    __m256 g = _mm256_mul_ps(ld(dy + i, mk, full), d);
    if (accumulate) g = _mm256_add_ps(ld(dx + i, mk, full), g);
    st(dx + i, mk, full, g);
}

static void gelu_bwd_part(void *ctx, size_t lo, size_t hi)
{
    const gelu_job *j = ctx;
    if (!j->approx)
        nn_ref_gelu_bwd(hi - lo, 0, j->x + lo, j->dy + lo, j->dx + lo, j->accumulate);
    else
        STRIPS(hi - lo, gelu_bwd_strip, j->x + lo, j->dy + lo, j->dx + lo, j->accumulate);
}

void nn_avx2_gelu_bwd(size_t n, int approx, const float *x, const float *dy, float *dx,
                      int accumulate)
{
    gelu_job j = {approx, accumulate, x, dy, NULL, dx};
    nn_split_range(n, 8, 20.0 * (double)n, gelu_bwd_part, &j);
}

/* ---- causal mean: running sums, O(T) per channel instead of the reference's O(T²) -------- */

/* One 8-channel strip of one row: y_i = (x_0 + … + x_i)·(1/(i + 1)).  Unmasked loads and
 * stores but for the last, partial strip (a masked store costs about a dozen cycles on AMD). */
INLINE void cmean_fwd_strip(const float *x, float *y, int t, int c, size_t d, __m256i mk, int full)
{
    __m256 s = _mm256_setzero_ps();
    for (int i = 0; i < t; i++) {
        size_t o = (size_t)i * c + d;
        s = _mm256_add_ps(s, ld(x + o, mk, full));
        st(y + o, mk, full, _mm256_mul_ps(s, _mm256_set1_ps(1.0f / (float)(i + 1))));
    }
}

void nn_avx2_causal_mean_fwd(int b, int t, int c, const float *x, float *y)
{
    for (int bi = 0; bi < b; bi++)
        STRIPS(c, cmean_fwd_strip, x + (size_t)bi * t * c, y + (size_t)bi * t * c, t, c);
}

/* dx_j (+)= Σ_{i ≥ j} dy_i·(1/(i + 1)), a running sum from the last position back. */
INLINE void cmean_bwd_strip(const float *dy, float *dx, int t, int c, int accumulate, size_t d,
                            __m256i mk, int full)
{
    __m256 s = _mm256_setzero_ps();
    for (int i = t - 1; i >= 0; i--) {
        size_t o = (size_t)i * c + d;
        s = _mm256_fmadd_ps(ld(dy + o, mk, full), _mm256_set1_ps(1.0f / (float)(i + 1)), s);
        st(dx + o, mk, full, accumulate ? _mm256_add_ps(s, ld(dx + o, mk, full)) : s);
    }
}

void nn_avx2_causal_mean_bwd(int b, int t, int c, const float *dy, float *dx, int accumulate)
{
    for (int bi = 0; bi < b; bi++)
        STRIPS(c, cmean_bwd_strip, dy + (size_t)bi * t * c, dx + (size_t)bi * t * c, t, c,
               accumulate);
}
