/* ref.c — the portable scalar kernels (see ref.h, kernels.h).
 *
 * Plain loops in float, summing in the natural order, so that results are deterministic and
 * easy to reason about.  The only concession to speed is loop order (gemm walks C rows
 * contiguously) and 8-wide blocks that GCC's -O2 SLP vectoriser turns into SSE.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/ref.h"
#include "kernels/rnn.h"

/* y[0..n) += s·x[0..n).  Fixed 8-wide blocks: -O2 vectorises these but not a plain loop. */
static void axpy(int n, float s, const float *restrict x, float *restrict y)
{
    int j = 0;
    for (; j + 8 <= n; j += 8)
        for (int u = 0; u < 8; u++)
            y[j + u] += s * x[j + u];
    for (; j < n; j++)
        y[j] += s * x[j];
}

static void zero_rows(int m, int n, float *c, int ldc)
{
    for (int i = 0; i < m; i++)
        memset(c + (size_t)i * ldc, 0, (size_t)n * sizeof *c);
}

/* i-k-j: each C row is built from B rows scaled by A(i, p). */
void nn_ref_sgemm_nn(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc, int accumulate)
{
    if (!accumulate) zero_rows(m, n, c, ldc);
    for (int i = 0; i < m; i++)
        for (int p = 0; p < k; p++)
            axpy(n, a[(size_t)i * lda + p], b + (size_t)p * ldb, c + (size_t)i * ldc);
}

/* k-i-j: A row p and B row p are both contiguous. */
void nn_ref_sgemm_tn(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc, int accumulate)
{
    if (!accumulate) zero_rows(m, n, c, ldc);
    for (int p = 0; p < k; p++)
        for (int i = 0; i < m; i++)
            axpy(n, a[(size_t)p * lda + i], b + (size_t)p * ldb, c + (size_t)i * ldc);
}

/* Dot products: A row i and B row j are both contiguous in k. */
void nn_ref_sgemm_nt(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc, int accumulate)
{
    for (int i = 0; i < m; i++) {
        const float *ai = a + (size_t)i * lda;
        float *ci = c + (size_t)i * ldc;
        for (int j = 0; j < n; j++) {
            const float *bj = b + (size_t)j * ldb;
            float s = 0.0f;
            for (int p = 0; p < k; p++)
                s += ai[p] * bj[p];
            ci[j] = accumulate ? ci[j] + s : s;
        }
    }
}

void nn_ref_bias_add(int m, int n, const float *bias, float *y)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            y[(size_t)i * n + j] += bias[j];
}

void nn_ref_col_sum(int m, int n, const float *x, float *out, int accumulate)
{
    if (!accumulate) memset(out, 0, (size_t)n * sizeof *out);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            out[j] += x[(size_t)i * n + j];
}

void nn_ref_tanh_fwd(size_t n, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = tanhf(x[i]);
}

void nn_ref_tanh_bwd(size_t n, const float *y, const float *dy, float *dx, int accumulate)
{
    for (size_t i = 0; i < n; i++) {
        float g = dy[i] * (1.0f - y[i] * y[i]);
        dx[i] = accumulate ? dx[i] + g : g;
    }
}

void nn_ref_relu_fwd(size_t n, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void nn_ref_relu_bwd(size_t n, const float *y, const float *dy, float *dx, int accumulate)
{
    for (size_t i = 0; i < n; i++) {
        float g = y[i] > 0.0f ? dy[i] : 0.0f;
        dx[i] = accumulate ? dx[i] + g : g;
    }
}

/* Two branches so that exp never overflows: for x < 0, e^x / (1 + e^x). */
void nn_ref_sigmoid_fwd(size_t n, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++) {
        if (x[i] >= 0.0f) {
            y[i] = 1.0f / (1.0f + expf(-x[i]));
        } else {
            float e = expf(x[i]);
            y[i] = e / (1.0f + e);
        }
    }
}

void nn_ref_sigmoid_bwd(size_t n, const float *y, const float *dy, float *dx, int accumulate)
{
    for (size_t i = 0; i < n; i++) {
        float g = dy[i] * y[i] * (1.0f - y[i]);
        dx[i] = accumulate ? dx[i] + g : g;
    }
}

/* The statistics are summed in double: a float sum of many same-signed rows loses about
 * m·2⁻²⁴ of the mean (1e-5 at 150 rows), where PyTorch's pairwise sums do not. */
void nn_ref_bn_train_fwd(int m, int n, const float *x, const float *gamma, const float *beta,
                         float eps, int unbiased, float *mean, float *std, float *xhat, float *y)
{
    double d = (double)(m - (unbiased ? 1 : 0));
    for (int j = 0; j < n; j++) {
        double s = 0, ss = 0;
        for (int i = 0; i < m; i++)
            s += x[(size_t)i * n + j];
        mean[j] = (float)(s / m);
        for (int i = 0; i < m; i++) {
            double t = (double)x[(size_t)i * n + j] - mean[j];
            ss += t * t;
        }
        std[j] = (float)sqrt(ss / d + eps);
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            size_t e = (size_t)i * n + j;
            xhat[e] = (x[e] - mean[j]) / std[j];
            y[e] = gamma[j] * xhat[e] + beta[j];
        }
}

void nn_ref_bn_eval_fwd(int m, int n, const float *x, const float *mean, const float *std,
                        const float *gamma, const float *beta, float *y)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            size_t e = (size_t)i * n + j;
            y[e] = gamma[j] * (x[e] - mean[j]) / std[j] + beta[j];
        }
}

/* Σ_i g = gamma·Σ dy and Σ_i g·xhat = gamma·Σ dy·xhat, so the two column sums serve both the
 * parameter gradients and dx.  Column by column: the sums stay in locals, so dgamma and dbeta
 * can be added to (an l2 term wrote them first) without changing dx. */
void nn_ref_bn_bwd(int m, int n, const float *xhat, const float *std, const float *gamma,
                   const float *dy, int unbiased, float *dx, float *dgamma, float *dbeta,
                   int accumulate)
{
    float d = (float)(m - (unbiased ? 1 : 0));
    for (int j = 0; j < n; j++) {
        float sb = 0, sg = 0;
        for (int i = 0; i < m; i++) {
            size_t e = (size_t)i * n + j;
            sb += dy[e];
            sg += dy[e] * xhat[e];
        }
        float mean_g = gamma[j] * sb / (float)m, pj = gamma[j] * sg / d;
        for (int i = 0; i < m; i++) {
            size_t e = (size_t)i * n + j;
            float v = (dy[e] * gamma[j] - mean_g - xhat[e] * pj) / std[j];
            dx[e] = accumulate & 1 ? dx[e] + v : v;
        }
        dgamma[j] = accumulate & 2 ? dgamma[j] + sg : sg;
        dbeta[j] = accumulate & 4 ? dbeta[j] + sb : sb;
    }
}

void nn_ref_exp_fwd(size_t n, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = expf(x[i]);
}

void nn_ref_log_fwd(size_t n, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = logf(x[i]);
}

/* loss = log Σ exp(l − max) − (l_y − max): the max cancels without loss of precision. */
void nn_ref_xent_fwd(int m, int n, const float *logits, const int32_t *y, float *prob,
                     float *row_loss)
{
    for (int i = 0; i < m; i++) {
        const float *l = logits + (size_t)i * n;
        float *p = prob + (size_t)i * n;
        float mx = l[0];
        for (int j = 1; j < n; j++)
            mx = l[j] > mx ? l[j] : mx;
        float sum = 0.0f;
        for (int j = 0; j < n; j++) {
            p[j] = expf(l[j] - mx);
            sum += p[j];
        }
        for (int j = 0; j < n; j++)
            p[j] /= sum;
        row_loss[i] = logf(sum) - (l[y[i]] - mx);
    }
}

void nn_ref_xent_bwd(int m, int n, const float *prob, const int32_t *y, float scale, float *dlogits)
{
    for (int i = 0; i < m; i++) {
        const float *p = prob + (size_t)i * n;
        float *d = dlogits + (size_t)i * n;
        for (int j = 0; j < n; j++)
            d[j] = (p[j] - (j == y[i] ? 1.0f : 0.0f)) * scale;
    }
}

void nn_ref_embed_gather(int rows, int t_len, int d, const int32_t *idx, const float *table,
                         float *out)
{
    size_t lookups = (size_t)rows * t_len;
    for (size_t l = 0; l < lookups; l++)
        memcpy(out + l * d, table + (size_t)idx[l] * d, (size_t)d * sizeof *out);
}

void nn_ref_embed_scatter(int rows, int t_len, int d, const int32_t *idx, const float *dout,
                          float *dtable)
{
    size_t lookups = (size_t)rows * t_len;
    for (size_t l = 0; l < lookups; l++) {
        float *t = dtable + (size_t)idx[l] * d;
        for (int j = 0; j < d; j++)
            t[j] += dout[l * d + j];
    }
}

void nn_ref_embed_sum(int count, int d, const int32_t *idx, const float *table, const float *base,
                      float *dst)
{
    for (int j = 0; j < d; j++) {
        float s = base ? base[j] : 0.0f;
        for (int k = 0; k < count; k++)
            s += table[(size_t)idx[k] * d + j];
        dst[j] = s;
    }
}

void nn_ref_embed_spread(int count, int d, const int32_t *idx, const float *src, float *dtable)
{
    for (int k = 0; k < count; k++) {
        float *t = dtable + (size_t)idx[k] * d;
        for (int j = 0; j < d; j++)
            t[j] += src[j];
    }
}

void nn_ref_sgd(size_t n, float *p, const float *g, float lr)
{
    for (size_t i = 0; i < n; i++)
        p[i] -= lr * g[i];
}

void nn_ref_sgd_momentum(size_t n, float *p, const float *g, float *v, float lr, float mu)
{
    for (size_t i = 0; i < n; i++) {
        v[i] = mu * v[i] + g[i];
        p[i] -= lr * v[i];
    }
}

void nn_ref_sgd_nesterov(size_t n, float *p, const float *g, float *v, float lr, float mu)
{
    for (size_t i = 0; i < n; i++) {
        v[i] = mu * v[i] + g[i];
        p[i] -= lr * (g[i] + mu * v[i]);
    }
}

void nn_ref_adam(size_t n, float *p, const float *g, float *m, float *v, const nn_adam_coef *c)
{
    for (size_t i = 0; i < n; i++) {
        if (c->decay != 1.0f) p[i] *= c->decay;
        m[i] = c->b1 * m[i] + c->c1 * g[i];
        v[i] = c->b2 * v[i] + c->c2 * g[i] * g[i];
        p[i] -= c->step * m[i] / (sqrtf(v[i]) / c->root_bc2 + c->eps);
    }
}

void nn_ref_ema(size_t n, float *r, const float *x, float m)
{
    for (size_t i = 0; i < n; i++)
        r[i] = (1.0f - m) * r[i] + m * x[i];
}

void nn_ref_add(size_t n, const float *a, const float *b, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

/* A float is NaN or ±inf when its exponent bits are all ones: then adding one to the
 * exponent field carries into the sign bit, and only then.  Branch-free. */
int nn_ref_all_finite(size_t n, const float *x)
{
    const uint32_t EXP = 0x7f800000u, ONE = 0x00800000u;
    uint32_t acc = 0, u;
    for (size_t i = 0; i < n; i++) {
        memcpy(&u, x + i, sizeof u);
        acc |= (u & EXP) + ONE;
    }
    return !(acc & 0x80000000u);
}

static void linear_fwd(int m, int n, int k, const float *x, const float *w, const float *bias,
                       float *y)
{
    nn_ref_sgemm_nn(m, n, k, x, k, w, n, y, n, 0);
    if (bias) nn_ref_bias_add(m, n, bias, y);
}

const nn_kernels nn_kernels_scalar = {
    .isa = "scalar",
    .sgemm_nn = nn_ref_sgemm_nn,
    .sgemm_nt = nn_ref_sgemm_nt,
    .sgemm_tn = nn_ref_sgemm_tn,
    .linear_fwd = linear_fwd,
    .all_finite = nn_ref_all_finite,
    .bias_add = nn_ref_bias_add,
    .col_sum = nn_ref_col_sum,
    .tanh_fwd = nn_ref_tanh_fwd,
    .tanh_bwd = nn_ref_tanh_bwd,
    .relu_fwd = nn_ref_relu_fwd,
    .relu_bwd = nn_ref_relu_bwd,
    .sigmoid_fwd = nn_ref_sigmoid_fwd,
    .sigmoid_bwd = nn_ref_sigmoid_bwd,
    .bn_train_fwd = nn_ref_bn_train_fwd,
    .bn_eval_fwd = nn_ref_bn_eval_fwd,
    .bn_bwd = nn_ref_bn_bwd,
    .exp_fwd = nn_ref_exp_fwd,
    .log_fwd = nn_ref_log_fwd,
    .xent_fwd = nn_ref_xent_fwd,
    .xent_bwd = nn_ref_xent_bwd,
    .embed_gather = nn_ref_embed_gather,
    .embed_scatter = nn_ref_embed_scatter,
    .embed_sum = nn_ref_embed_sum,
    .embed_spread = nn_ref_embed_spread,
    .sgd = nn_ref_sgd,
    .sgd_momentum = nn_ref_sgd_momentum,
    .sgd_nesterov = nn_ref_sgd_nesterov,
    .adam = nn_ref_adam,
    .expr_run = nn_ref_expr_run,
    .ema = nn_ref_ema,
    .add = nn_ref_add,
    .ln_fwd = nn_ref_ln_fwd,
    .ln_bwd = nn_ref_ln_bwd,
    .attn_fwd = nn_ref_attn_fwd,
    .attn_bwd = nn_ref_attn_bwd,
    .gelu_fwd = nn_ref_gelu_fwd,
    .gelu_bwd = nn_ref_gelu_bwd,
    .dropout_fwd = nn_ref_dropout_fwd,
    .mul_bwd = nn_ref_mul_bwd,
    .causal_mean_fwd = nn_ref_causal_mean_fwd,
    .causal_mean_bwd = nn_ref_causal_mean_bwd,
    .rnn_fwd = nn_ref_rnn_fwd,
    .rnn_bwd = nn_ref_rnn_bwd,
};
