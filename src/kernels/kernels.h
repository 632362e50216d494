/* kernels.h — pure numeric functions on float arrays.
 *
 * Nothing here knows about specs, graphs or plans: every function takes plain
 * pointers and sizes.  All matrices are row-major.  One table of function
 * pointers per instruction set; nn_kernels_select() fills `nn_k` from CPUID
 * at start-up (or from NNRUN_ISA=scalar|avx2|avx512).
 *
 * Conventions
 *   m = rows (batch), n = columns (features).
 *   `accumulate` = 0: the output is overwritten; 1: the result is added to it.
 */
#ifndef NN_KERNELS_H
#define NN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/expr_vm.h"

/* Adam's coefficients for one step t ≥ 1, computed in double and rounded to float once, as
 * PyTorch rounds its Python-side scalars (1 − beta2 from a float beta2 would be 1.3e-5 off
 * for beta2 = 0.999). */
typedef struct {
    float b1, c1;   /* beta1 and 1 − beta1 */
    float b2, c2;   /* beta2 and 1 − beta2 */
    float eps;      /* added to sqrt(v) / root_bc2 */
    float decay;    /* 1 − lr·weight_decay (decoupled weight decay; 1: none) */
    float step;     /* lr / (1 − beta1^t) */
    float root_bc2; /* sqrt(1 − beta2^t) */
} nn_adam_coef;

/* The recurrent cell's parameters: gate g's weight [e+h, h] and bias [h] (rnn: gate 0;
 * gru: 0 = z, 1 = r, 2 = h̄, makemore.py's construction order). */
typedef struct {
    const float *w[3], *bias[3];
} nn_rnn_weights;
typedef struct {
    float *start, *w[3], *bias[3];
} nn_rnn_grads;
/* The recurrent layer's input: the sequence x [b, t, e], or (table set) an embedding fused in:
 * the rows of table [v, e] at the token ids [b, t].  Then the x half of each gate's product
 * is a row of lut = table·W_x (lut: scratch [v, G·h], G = 1 rnn, 3 gru, which the forward
 * fills and the backward reuses for the per-token sums of the gate gradients). */
typedef struct {
    const float *x;
    const int32_t *ids;
    const float *table;
    int v;
    float *lut;
} nn_rnn_input;

/* Scratch sizes of the recurrent kernels, in floats: per batch row (state, work), and once
 * (pack). */
size_t nn_rnn_state_floats(int t, int e, int h, int gru);
size_t nn_rnn_work_floats(int t, int e, int h, int gru);
size_t nn_rnn_pack_floats(int e, int h, int gru);
/* For the reports, after rnn_bwd on b rows: [t][b][h], slot s = ∂L/∂h_{s−1} through the
 * cells at positions s … t−1 (so ∂L/∂h_s in all = slot s+1 + dy_s; slot t is not stored:
 * 0).  After a GRU's rnn_fwd: its gates [t][b][3h], z, r, h̄ side by side. */
const float *nn_rnn_work_dh(const float *work, int b, int t, int e, int h, int gru);
const float *nn_rnn_state_gates(const float *state, int b, int t, int e, int h);
/* The FLOPs (2·m·n·k per product) of rnn_fwd, or of rnn_bwd when `backward`, on b rows; v:
 * the table rows of a lookup input (nn_rnn_input's table), 0 for a dense x.  For `nnrun
 * bench --profile`, whose counting table does not see the products inside the cells. */
double nn_rnn_flops(int b, int t, int e, int h, int gru, int v, int backward);

typedef struct nn_kernels {
    const char *isa; /* "scalar", "avx2", "avx512" */

    /* C[m×n] (+)= A·B        A: m×k (lda), B: k×n (ldb)  — forward X·W   */
    void (*sgemm_nn)(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc, int accumulate);
    /* C[m×n] (+)= A·Bᵀ       A: m×k (lda), B: n×k (ldb)  — input grad dY·Wᵀ */
    void (*sgemm_nt)(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc, int accumulate);
    /* C[m×n] (+)= Aᵀ·B       A: k×m (lda), B: k×n (ldb)  — weight grad Xᵀ·dY */
    void (*sgemm_tn)(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc, int accumulate);

    /* y = x·w (+ bias)   x: m×k, w: k×n, y: m×n, row-major; bias may be NULL.  linear's
     * forward: bit for bit sgemm_nn then bias_add (the vector paths add the bias to each
     * tile of the product in registers, saving a pass over it; the reference makes the two
     * calls). */
    void (*linear_fwd)(int m, int n, int k, const float *x, const float *w, const float *bias,
                       float *y);

    /* y[i][j] += bias[j] */
    void (*bias_add)(int m, int n, const float *bias, float *y);
    /* out[j] (+)= Σ_i x[i][j]   (bias gradient) */
    void (*col_sum)(int m, int n, const float *x, float *out, int accumulate);

    /* y = tanh(x) */
    void (*tanh_fwd)(size_t n, const float *x, float *y);
    /* dx (+)= dy · (1 − y²) */
    void (*tanh_bwd)(size_t n, const float *y, const float *dy, float *dx, int accumulate);

    /* y = max(x, 0) */
    void (*relu_fwd)(size_t n, const float *x, float *y);
    /* dx (+)= dy · [y > 0]   (y is the forward output: y > 0 exactly where x > 0) */
    void (*relu_bwd)(size_t n, const float *y, const float *dy, float *dx, int accumulate);
    /* y = 1 / (1 + exp(−x)) */
    void (*sigmoid_fwd)(size_t n, const float *x, float *y);
    /* dx (+)= dy · y · (1 − y) */
    void (*sigmoid_bwd)(size_t n, const float *y, const float *dy, float *dx, int accumulate);

    /* BatchNorm, training mode, per column j over the m rows:
     *   mean_j = Σ x / m,  var_j = Σ (x − mean)² / (m − unbiased),  s_j = sqrt(var_j + eps)
     *   (the sums and s in double, then rounded: mean and s as exact as one float allows)
     *   xhat = (x − mean)/s,  y = gamma·xhat + beta
     * Writes mean[n], std[n] (= s), xhat[m×n] and y[m×n]. */
    void (*bn_train_fwd)(int m, int n, const float *x, const float *gamma, const float *beta,
                         float eps, int unbiased, float *mean, float *std, float *xhat, float *y);
    /* BatchNorm with fixed statistics: y = gamma·(x − mean)/std + beta */
    void (*bn_eval_fwd)(int m, int n, const float *x, const float *mean, const float *std,
                        const float *gamma, const float *beta, float *y);
    /* BatchNorm backward through the batch statistics (D = m − unbiased):
     *   g = dy·gamma
     *   dx = (g − mean_i(g) − xhat·Σ_i(g·xhat)/D) / std       (dx overwritten, or added)
     *   dgamma = Σ_i dy·xhat,  dbeta = Σ_i dy
     * `accumulate` is a bit mask: bit 0 adds into dx, bit 1 into dgamma, bit 2 into dbeta
     * (where an l2 term wrote the parameter gradient first); clear bits overwrite. */
    void (*bn_bwd)(int m, int n, const float *xhat, const float *std, const float *gamma,
                   const float *dy, int unbiased, float *dx, float *dgamma, float *dbeta,
                   int accumulate);

    /* y = exp(x), y = log(x)   (vector versions: error bounds in avx2.c) */
    void (*exp_fwd)(size_t n, const float *x, float *y);
    void (*log_fwd)(size_t n, const float *x, float *y);

    /* Softmax cross-entropy, forward: prob[m×n] = softmax(logits) per row (max-subtracted),
     * row_loss[i] = logsumexp(logits_i) − logits_i[y_i]. */
    void (*xent_fwd)(int m, int n, const float *logits, const int32_t *y, float *prob,
                     float *row_loss);
    /* dlogits = (prob − onehot(y)) · scale      (scale = 1/m for a mean loss) */
    void (*xent_bwd)(int m, int n, const float *prob, const int32_t *y, float scale,
                     float *dlogits);

    /* Embedding: out[r][t][:] = table[idx[r·t_len + t]][:]  (rows·t_len lookups of d floats) */
    void (*embed_gather)(int rows, int t_len, int d, const int32_t *idx, const float *table,
                         float *out);
    /* Embedding backward: dtable[idx][:] += dout[r][t][:]  (dtable is NOT cleared here) */
    void (*embed_scatter)(int rows, int t_len, int d, const int32_t *idx, const float *dout,
                          float *dtable);
    /* Sum of table rows: dst[:] = base[:] + Σ_k table[idx[k]][:] for k < count, added in
     * k order (base NULL: from 0; base may be dst).  With embed_spread, embedding {window} +
     * linear as lookups of per-slot products (ir/ops/window_linear.c). */
    void (*embed_sum)(int count, int d, const int32_t *idx, const float *table, const float *base,
                      float *dst);
    /* One row spread to count table rows: dtable[idx[k]][:] += src[:] for k < count, in k
     * order (dtable is NOT cleared here). */
    void (*embed_spread)(int count, int d, const int32_t *idx, const float *src, float *dtable);

    /* p −= lr · g */
    void (*sgd)(size_t n, float *p, const float *g, float lr);
    /* SGD with momentum (PyTorch convention): v = mu·v + g;  p −= lr · v */
    void (*sgd_momentum)(size_t n, float *p, const float *g, float *v, float lr, float mu);
    /* SGD with Nesterov momentum (PyTorch): v = mu·v + g;  p −= lr · (g + mu·v) */
    void (*sgd_nesterov)(size_t n, float *p, const float *g, float *v, float lr, float mu);
    /* Adam with decoupled weight decay (AdamW, PyTorch's order), coefficients in `c`:
     *   p = p·decay;  m = b1·m + c1·g;  v = b2·v + c2·g²
     *   p −= step · m / (sqrt(v) / root_bc2 + eps) */
    void (*adam)(size_t n, float *p, const float *g, float *m, float *v, const nn_adam_coef *c);
    /* exponential moving average: r = (1 − m)·r + m·x */
    void (*ema)(size_t n, float *r, const float *x, float m);
    /* y = a + b   (y may be a or b: a residual's x + f(x), or a gradient added in place) */
    void (*add)(size_t n, const float *a, const float *b, float *y);
    /* 1 when no x[i] is NaN or ±inf: the training step's check of every gradient before the
     * update (runtime/train/nancheck.c) */
    int (*all_finite)(size_t n, const float *x);

    /* ---- sequence models (ref_seq.c) ---- */
    /* LayerNorm over each row of x[m×n] (biased variance):
     *   mean_i, rstd_i = 1/sqrt(var_i + eps), y = (x − mean)·rstd·gamma + beta
     * gamma and beta NULL: no affine.  Writes mean[m] and rstd[m] for the backward. */
    void (*ln_fwd)(int m, int n, const float *x, const float *gamma, const float *beta, float eps,
                   float *mean, float *rstd, float *y);
    /* xhat = (x − mean)·rstd, g = dy·gamma:  dx = rstd·(g − mean_j g − xhat·mean_j(g·xhat)),
     * dgamma = Σ_i dy·xhat, dbeta = Σ_i dy.  accumulate: bit 0 adds into dx, bit 1 into
     * dgamma, bit 2 into dbeta (else overwritten); dx, dgamma, dbeta may be NULL. */
    void (*ln_bwd)(int m, int n, const float *x, const float *mean, const float *rstd,
                   const float *gamma, const float *dy, float *dx, float *dgamma, float *dbeta,
                   int accumulate);
    /* Multi-head self-attention core.  qkv[b][t][3c]: q, k, v side by side (torch's
     * c_attn(x).split(c)), head h in columns h·hs … h·hs + hs − 1 of each, c = nh·hs.
     *   att[b][h][i][j] = softmax_j(q_i·k_j / √hs) over j ≤ i (causal) or all j; 0 elsewhere
     *   out[b][i][h·hs + d] = Σ_j att[b][h][i][j]·v_j[h·hs + d]
     * att [b, nh, t, t] is kept for the backward. */
    void (*attn_fwd)(int b, int t, int nh, int hs, int causal, const float *qkv, float *att,
                     float *out);
    /* dqkv (+)= the gradient of the core through att (softmax) and v. */
    void (*attn_bwd)(int b, int t, int nh, int hs, int causal, const float *qkv, const float *att,
                     const float *dout, float *dqkv, int accumulate);
    /* GELU: approx 0 exact 0.5·x·(1 + erf(x/√2)); 1 tanh approximation
     * 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).  The backward reads x. */
    void (*gelu_fwd)(size_t n, int approx, const float *x, float *y);
    void (*gelu_bwd)(size_t n, int approx, const float *x, const float *dy, float *dx,
                     int accumulate);
    /* Inverted dropout: element i is dropped when u_i < p, u_i = splitmix64(seed, i) in [0, 1)
     * (counter-based: the same mask whatever the split); mask = 0 or 1/(1 − p), y = x·mask. */
    void (*dropout_fwd)(size_t n, float p, uint64_t seed, const float *x, float *mask, float *y);
    /* dx (+)= dy·mask   (dropout's backward) */
    void (*mul_bwd)(size_t n, const float *mask, const float *dy, float *dx, int accumulate);
    /* Causal running mean over positions: y[b][i][:] = Σ_{j ≤ i} x[b][j][:] / (i + 1);
     * backward dx[b][j][:] (+)= Σ_{i ≥ j} dy[b][i][:] / (i + 1). */
    void (*causal_mean_fwd)(int b, int t, int c, const float *x, float *y);
    void (*causal_mean_bwd)(int b, int t, int c, const float *dy, float *dx, int accumulate);

    /* ---- recurrent cells (rnn_seq.c; makemore.py's RNNCell and GRUCell) ---- */
    /* Forward over all t positions of b rows: x [b, t, e] (in: nn_rnn_input) → y [b, t, h]
     * (y_t = h_t), from the start state h_{−1} = start [h] (every row).  The cell's input
     * is [x_t, h_{t−1}]:
     *   rnn  h_t = tanh([x_t, h_{t−1}]·W + b)                            (w[0]: W [e+h, h])
     *   gru  z = σ([x, h]·Wz + bz), r = σ([x, h]·Wr + br),
     *        h̄ = tanh([x, r⊙h]·Wh + bh), h_t = (1 − z)⊙h + z⊙h̄     (w[0..2]: z, r, h̄)
     * Weights are stored [in, out] as linear's.  `state` (nn_rnn_state_floats per row,
     * laid out for `b` rows) keeps what the backward reads; `pack` (nn_rnn_pack_floats) holds
     * the GRU's [Wz | Wr] side by side so that both gates are one gemm per step, and the
     * transposed weights the backward's per-step products read. */
    void (*rnn_fwd)(int b, int t, int e, int h, int gru, const nn_rnn_input *in, const float *start,
                    const nn_rnn_weights *w, float *pack, float *state, float *y);
    /* Backward through time: dx (+)= ∂L/∂x (NULL: not needed; with in->table, ∂L/∂table
     * [v, e] instead, and in->lut is scratch), the parameter gradients in
     * `d` written or added: accumulate bit 0 dx, bit 1 start, bit 2 + 2q w[q], 3 + 2q bias[q];
     * `work` is scratch (nn_rnn_work_floats per row).  Reads fwd's pack and state. */
    void (*rnn_bwd)(int b, int t, int e, int h, int gru, const nn_rnn_input *in,
                    const nn_rnn_weights *w, const float *pack, const float *state, const float *y,
                    const float *dy, float *work, float *dx, const nn_rnn_grads *d, int accumulate);

    /* A formula program (expr_vm.h) over a rows × cols block, 8 lanes per pass. */
    void (*expr_run)(const nn_vm_prog *p, int rows, int cols, const nn_vm_in *in,
                     const nn_vm_out *out);
} nn_kernels;

/* The active table; valid after nn_kernels_select(). */
extern const nn_kernels *nn_k;

/* Tables that exist in this build (avx2/avx512 may be NULL when not compiled in). */
extern const nn_kernels nn_kernels_scalar;
extern const nn_kernels nn_kernels_avx2;
/* The avx512 table (built on first call from the avx2 one with the AVX-512 entries). */
const nn_kernels *nn_kernels_avx512_table(void);

/* Picks the best table this CPU supports, or the one named by `want` (or, when want
 * is NULL, by the NNRUN_ISA environment variable).  Returns 0, or −1 when the named
 * ISA is unknown or not supported here (nn_k is then left unchanged). */
int nn_kernels_select(const char *want);
/* 1 when this CPU (and build) can run the named ISA. */
int nn_kernels_supported(const char *isa);
/* Table for a named ISA, or NULL. */
const nn_kernels *nn_kernels_get(const char *isa);

/* Threads the gemm entries may use (1 = the calling thread only, the default).  Worker
 * threads are created here, once, never per call; call it at start-up.  Only gemms big
 * enough to pay (m·n·k ≥ NN_GEMM_SPLIT_MIN) are split, over disjoint blocks of C, so results are
 * bit-identical for every thread count. */
void nn_kernels_set_threads(int n);

/* The gemms split over threads only from this many multiply-adds (m·n·k): below it, waking
 * a worker costs more than half the product saves.  Public, so that an op running products
 * side by side (linear's dX and dW) can leave the big ones to the gemm's own split. */
#define NN_GEMM_SPLIT_MIN ((double)(1 << 21))

/* The FMA peak of one core with this table's vector width, GFLOP/s (2 flops per lane per
 * FMA): the best of five loops of independent FMAs, 20 ms of thread CPU time each; 0 for
 * scalar. */
double nn_kernels_fma_peak(const nn_kernels *k);

#endif
