/* avx512.c — the AVX-512 kernel table (compiled with -mavx512f -mavx512vl -mavx512bw -mavx2
 * -mfma; gemm is in gemm_avx512.c).
 *
 * The gemm and the main elementwise and optimizer kernels are 16 floats wide with a masked
 * tail (AVX-512 masked loads and stores cost what plain ones do); the rest of the table —
 * BatchNorm, cross-entropy, the sequence kernels, the formula machine — is the AVX2 one,
 * which this CPU also runs (the recurrent cells: the AVX2 per-step passes with these gemms).  Each
 * elementwise kernel does the same IEEE operations in the same order as its AVX2 twin, so the two
 * paths agree bit for bit.
 */
#include <immintrin.h>
#include <pthread.h>
#include <string.h>

#include "kernels/avx512.h"
#include "kernels/avx512_math.h"
#include "kernels/ref.h"
#include "kernels/rnn.h"
#include "kernels/threads.h"

#define INLINE static inline __attribute__((always_inline))

/* Calls FN(args..., i, mask) for the 16-wide strips of [0, n), the last one masked. */
#define STRIPS16(n, FN, ...)                                                                       \
    do {                                                                                           \
        size_t n_ = (size_t)(n), j_ = 0;                                                           \
        for (; j_ + 16 <= n_; j_ += 16)                                                            \
            FN(__VA_ARGS__, j_, (__mmask16)0xFFFF);                                                \
        if (j_ < n_) FN(__VA_ARGS__, j_, (__mmask16)((1u << (n_ - j_)) - 1u));                     \
    } while (0)

INLINE __m512 ld(const float *p, __mmask16 k)
{
    return _mm512_maskz_loadu_ps(k, p);
}

INLINE void st(float *p, __mmask16 k, __m512 v)
{
    _mm512_mask_storeu_ps(p, k, v);
}

INLINE void tanh_strip(const float *x, float *y, size_t i, __mmask16 k)
{
    st(y + i, k, tanh512(ld(x + i, k)));
}

typedef struct {
    const float *a, *b;
    float *c;
    int accumulate;
} ew_args;

static void tanh_fwd_range(void *ctx, size_t lo, size_t hi)
{
    const ew_args *e = ctx;
    STRIPS16(hi - lo, tanh_strip, e->a + lo, e->c + lo);
}

/* Big arrays split over the threads (threads.h): elementwise, so the same bits. */
static void tanh_fwd(size_t n, const float *x, float *y)
{
    ew_args e = {x, NULL, y, 0};
    nn_threads_split(n, tanh_fwd_range, &e);
}

INLINE void tanh_bwd_strip(const float *y, const float *dy, float *dx, int accumulate, size_t i,
                           __mmask16 k)
{
    __m512 yv = ld(y + i, k);
    __m512 g = _mm512_mul_ps(ld(dy + i, k), _mm512_fnmadd_ps(yv, yv, _mm512_set1_ps(1)));
    if (accumulate) g = _mm512_add_ps(ld(dx + i, k), g);
    st(dx + i, k, g);
}

static void tanh_bwd_range(void *ctx, size_t lo, size_t hi)
{
    const ew_args *e = ctx;
    STRIPS16(hi - lo, tanh_bwd_strip, e->a + lo, e->b + lo, e->c + lo, e->accumulate);
}

static void tanh_bwd(size_t n, const float *y, const float *dy, float *dx, int accumulate)
{
    ew_args e = {y, dy, dx, accumulate};
    nn_threads_split(n, tanh_bwd_range, &e);
}

INLINE void relu_strip(const float *x, float *y, size_t i, __mmask16 k)
{
    st(y + i, k, _mm512_max_ps(ld(x + i, k), _mm512_setzero_ps()));
}

static void relu_fwd(size_t n, const float *x, float *y)
{
    STRIPS16(n, relu_strip, x, y);
}

INLINE void relu_bwd_strip(const float *y, const float *dy, float *dx, int accumulate, size_t i,
                           __mmask16 k)
{
    __mmask16 pos = _mm512_cmp_ps_mask(ld(y + i, k), _mm512_setzero_ps(), _CMP_GT_OQ);
    __m512 g = _mm512_maskz_mov_ps(pos, ld(dy + i, k));
    if (accumulate) g = _mm512_add_ps(ld(dx + i, k), g);
    st(dx + i, k, g);
}

static void relu_bwd(size_t n, const float *y, const float *dy, float *dx, int accumulate)
{
    STRIPS16(n, relu_bwd_strip, y, dy, dx, accumulate);
}

INLINE void add_strip(const float *bias, float *y, size_t j, __mmask16 k)
{
    st(y + j, k, _mm512_add_ps(ld(y + j, k), ld(bias + j, k)));
}

static void bias_add(int m, int n, const float *bias, float *y)
{
    for (size_t e = 0; e < (size_t)m * n; e += n)
        STRIPS16(n, add_strip, bias, y + e);
}

/* Σ_i x[i][j..j+16·S) for S strips at once, row by row: each column is still the row-order
 * chain 0 + x0 + x1 + … (then out + Σ when accumulating), but S chains run side by side —
 * one strip at a time, each add waited on the last (latency-bound: 512 rows × 256 columns took
 * 9 µs).  The last strip masked by `k`. */
INLINE void col_sum_group(const int S, int m, int n, const float *x, float *out, int accumulate,
                          __mmask16 k)
{
    __m512 s[8];
#pragma GCC unroll 8
    for (int q = 0; q < S; q++)
        s[q] = _mm512_setzero_ps();
    for (int i = 0; i < m; i++) {
        const float *row = x + (size_t)i * n;
#pragma GCC unroll 8
        for (int q = 0; q < S; q++)
            s[q] = _mm512_add_ps(s[q], ld(row + 16 * q, q == S - 1 ? k : (__mmask16)0xFFFF));
    }
#pragma GCC unroll 8
    for (int q = 0; q < S; q++) {
        __mmask16 kq = q == S - 1 ? k : (__mmask16)0xFFFF;
        if (accumulate) s[q] = _mm512_add_ps(ld(out + 16 * q, kq), s[q]);
        st(out + 16 * q, kq, s[q]);
    }
}

static void col_sum(int m, int n, const float *x, float *out, int accumulate)
{
    for (int j = 0; j < n; j += 128) {
        int w = n - j < 128 ? n - j : 128, strips = (w + 15) / 16;
        __mmask16 k = (__mmask16)(w % 16 ? (1u << (w % 16)) - 1u : 0xFFFFu);
        switch (strips) {
        case 8: col_sum_group(8, m, n, x + j, out + j, accumulate, k); break;
        case 7: col_sum_group(7, m, n, x + j, out + j, accumulate, k); break;
        case 6: col_sum_group(6, m, n, x + j, out + j, accumulate, k); break;
        case 5: col_sum_group(5, m, n, x + j, out + j, accumulate, k); break;
        case 4: col_sum_group(4, m, n, x + j, out + j, accumulate, k); break;
        case 3: col_sum_group(3, m, n, x + j, out + j, accumulate, k); break;
        case 2: col_sum_group(2, m, n, x + j, out + j, accumulate, k); break;
        default: col_sum_group(1, m, n, x + j, out + j, accumulate, k); break;
        }
    }
}

INLINE void sgd_strip(float *p, const float *g, __m512 lr, size_t i, __mmask16 k)
{
    st(p + i, k, _mm512_fnmadd_ps(lr, ld(g + i, k), ld(p + i, k)));
}

/* The optimizers split big parameters over the threads (elementwise: the same bits). */
typedef struct {
    float *p, *v, *s;
    const float *g;
    float lr, mu;
    const nn_adam_coef *c;
} opt_args;

static void sgd_range(void *ctx, size_t lo, size_t hi)
{
    const opt_args *o = ctx;
    STRIPS16(hi - lo, sgd_strip, o->p + lo, o->g + lo, _mm512_set1_ps(o->lr));
}

static void sgd(size_t n, float *p, const float *g, float lr)
{
    opt_args o = {p, NULL, NULL, g, lr, 0, NULL};
    nn_threads_split(n, sgd_range, &o);
}

INLINE void momentum_strip(float *p, const float *g, float *v, __m512 lr, __m512 mu, size_t i,
                           __mmask16 k)
{
    __m512 vv = _mm512_fmadd_ps(mu, ld(v + i, k), ld(g + i, k));
    st(v + i, k, vv);
    st(p + i, k, _mm512_fnmadd_ps(lr, vv, ld(p + i, k)));
}

static void momentum_range(void *ctx, size_t lo, size_t hi)
{
    const opt_args *o = ctx;
    STRIPS16(hi - lo, momentum_strip, o->p + lo, o->g + lo, o->v + lo, _mm512_set1_ps(o->lr),
             _mm512_set1_ps(o->mu));
}

static void sgd_momentum(size_t n, float *p, const float *g, float *v, float lr, float mu)
{
    opt_args o = {p, v, NULL, g, lr, mu, NULL};
    nn_threads_split(n, momentum_range, &o);
}

/* Adam: the reference's operations one by one (no FMA contraction), so the result is the
 * scalar kernel's to the last bit. */
INLINE void adam_strip(float *p, const float *g, float *m, float *v, const nn_adam_coef *c,
                       size_t i, __mmask16 k)
{
    __m512 gv = ld(g + i, k), pv = ld(p + i, k);
    if (c->decay != 1.0f) pv = _mm512_mul_ps(pv, _mm512_set1_ps(c->decay));
    __m512 mv = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(c->b1), ld(m + i, k)),
                              _mm512_mul_ps(_mm512_set1_ps(c->c1), gv));
    __m512 vv = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(c->b2), ld(v + i, k)),
                              _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(c->c2), gv), gv));
    __m512 den = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vv), _mm512_set1_ps(c->root_bc2)),
                               _mm512_set1_ps(c->eps));
    pv = _mm512_sub_ps(pv, _mm512_div_ps(_mm512_mul_ps(_mm512_set1_ps(c->step), mv), den));
    st(m + i, k, mv);
    st(v + i, k, vv);
    st(p + i, k, pv);
}

static void adam_range(void *ctx, size_t lo, size_t hi)
{
    const opt_args *o = ctx;
    STRIPS16(hi - lo, adam_strip, o->p + lo, o->g + lo, o->v + lo, o->s + lo, o->c);
}

static void adam(size_t n, float *p, const float *g, float *m, float *v, const nn_adam_coef *c)
{
    opt_args o = {p, m, v, g, 0, 0, c};
    nn_threads_split(n, adam_range, &o);
}

INLINE void vadd_strip(const float *a, const float *b, float *y, size_t i, __mmask16 k)
{
    st(y + i, k, _mm512_add_ps(ld(a + i, k), ld(b + i, k)));
}

static void vadd(size_t n, const float *a, const float *b, float *y)
{
    STRIPS16(n, vadd_strip, a, b, y);
}

/* The recurrent cells: the AVX2 per-step passes with these gemms (rnn.h) — the small
 * per-step products and the weight gradients' one over all positions run unpacked here. */
static nn_rnn_prims rnn_prims;

static void rnn_fwd(int b, int t, int e, int h, int gru, const nn_rnn_input *in, const float *start,
                    const nn_rnn_weights *w, float *pack, float *state, float *y)
{
    nn_rnn_seq_fwd(&rnn_prims, b, t, e, h, gru, in, start, w, pack, state, y);
}

static void rnn_bwd(int b, int t, int e, int h, int gru, const nn_rnn_input *in,
                    const nn_rnn_weights *w, const float *pack, const float *state, const float *y,
                    const float *dy, float *work, float *dx, const nn_rnn_grads *d, int accumulate)
{
    nn_rnn_seq_bwd(&rnn_prims, b, t, e, h, gru, in, w, pack, state, y, dy, work, dx, d, accumulate);
}

/* x·0 is NaN exactly when x is NaN or ±inf, and NaN survives every later add: one FMA per
 * 16 floats, four chains, the tail masked (masked-off lanes load +0). */
static int all_finite(size_t n, const float *x)
{
    __m512 z = _mm512_setzero_ps(), a0 = z, a1 = z, a2 = z, a3 = z;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), z, a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), z, a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 32), z, a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 48), z, a3);
    }
    for (; i < n; i += 16)
        a0 = _mm512_fmadd_ps(
            ld(x + i, n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u)), z, a0);
    __m512 a = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
    return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q) == 0;
}

static nn_kernels table;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
    table = nn_kernels_avx2;
    table.isa = "avx512";
    table.sgemm_nn = nn_avx512_sgemm_nn;
    table.sgemm_nt = nn_avx512_sgemm_nt;
    table.sgemm_tn = nn_avx512_sgemm_tn;
    table.linear_fwd = nn_avx512_linear_fwd;
    table.all_finite = all_finite;
    rnn_prims = nn_avx2_rnn_prims;
    rnn_prims.sgemm_nn = nn_avx512_sgemm_nn;
    rnn_prims.sgemm_nt = nn_avx512_sgemm_nt;
    rnn_prims.sgemm_tn = nn_avx512_sgemm_tn;
    table.rnn_fwd = rnn_fwd;
    table.rnn_bwd = rnn_bwd;
    table.bias_add = bias_add;
    table.col_sum = col_sum;
    table.tanh_fwd = tanh_fwd;
    table.tanh_bwd = tanh_bwd;
    table.relu_fwd = relu_fwd;
    table.relu_bwd = relu_bwd;
    table.sgd = sgd;
    table.sgd_momentum = sgd_momentum;
    table.adam = adam;
    table.add = vadd;
    table.xent_fwd = nn_avx512_xent_fwd;
    table.xent_bwd = nn_avx512_xent_bwd;
    table.causal_mean_fwd = nn_avx512_causal_mean_fwd;
    table.causal_mean_bwd = nn_avx512_causal_mean_bwd;
    table.gelu_fwd = nn_avx512_gelu_fwd;
    table.gelu_bwd = nn_avx512_gelu_bwd;
    table.attn_fwd = nn_avx512_attn_fwd;
    table.attn_bwd = nn_avx512_attn_bwd;
}

const nn_kernels *nn_kernels_avx512_table(void)
{
    pthread_once(&table_once, table_init);
    return &table;
}

/* One core's FMA peak at 16 lanes (as nn_avx2_fma_peak). */
double nn_avx512_fma_peak(void)
{
    __m512 acc[12], x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++)
        acc[i] = _mm512_set1_ps((float)i);
    long iters = 0;
    double t0 = nn_threads_cpu_now(), t;
    do {
        for (int r = 0; r < 4096; r++) {
#pragma GCC unroll 12
            for (int i = 0; i < 12; i++)
                acc[i] = _mm512_fmadd_ps(acc[i], x, y);
        }
        iters += 4096;
    } while ((t = nn_threads_cpu_now() - t0) < 0.02);
    float sink = 0;
    for (int i = 0; i < 12; i++)
        sink += _mm512_cvtss_f32(acc[i]);
    __asm__ volatile("" ::"x"(sink));
    return (double)iters * 12 * 16 * 2 / t * 1e-9;
}
