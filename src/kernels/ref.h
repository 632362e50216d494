/* ref.h — the portable scalar kernels: plain loops, the ground truth for tests.
 *
 * Semantics are those of kernels.h; nn_kernels_scalar points at these functions, and
 * other ISA tables may point at any of them for entries they do not vectorise.
 */
#ifndef NN_KERNELS_REF_H
#define NN_KERNELS_REF_H

#include "kernels/kernels.h"

void nn_ref_sgemm_nn(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc, int accumulate);
void nn_ref_sgemm_nt(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc, int accumulate);
void nn_ref_sgemm_tn(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc, int accumulate);

void nn_ref_bias_add(int m, int n, const float *bias, float *y);
void nn_ref_col_sum(int m, int n, const float *x, float *out, int accumulate);

void nn_ref_tanh_fwd(size_t n, const float *x, float *y);
void nn_ref_tanh_bwd(size_t n, const float *y, const float *dy, float *dx, int accumulate);

void nn_ref_relu_fwd(size_t n, const float *x, float *y);
void nn_ref_relu_bwd(size_t n, const float *y, const float *dy, float *dx, int accumulate);
void nn_ref_sigmoid_fwd(size_t n, const float *x, float *y);
void nn_ref_sigmoid_bwd(size_t n, const float *y, const float *dy, float *dx, int accumulate);

void nn_ref_bn_train_fwd(int m, int n, const float *x, const float *gamma, const float *beta,
                         float eps, int unbiased, float *mean, float *std, float *xhat, float *y);
void nn_ref_bn_eval_fwd(int m, int n, const float *x, const float *mean, const float *std,
                        const float *gamma, const float *beta, float *y);
void nn_ref_bn_bwd(int m, int n, const float *xhat, const float *std, const float *gamma,
                   const float *dy, int unbiased, float *dx, float *dgamma, float *dbeta,
                   int accumulate);

void nn_ref_exp_fwd(size_t n, const float *x, float *y);
void nn_ref_log_fwd(size_t n, const float *x, float *y);

void nn_ref_xent_fwd(int m, int n, const float *logits, const int32_t *y, float *prob,
                     float *row_loss);
void nn_ref_xent_bwd(int m, int n, const float *prob, const int32_t *y, float scale,
                     float *dlogits);

void nn_ref_embed_gather(int rows, int t_len, int d, const int32_t *idx, const float *table,
                         float *out);
void nn_ref_embed_scatter(int rows, int t_len, int d, const int32_t *idx, const float *dout,
                          float *dtable);
void nn_ref_embed_sum(int count, int d, const int32_t *idx, const float *table, const float *base,
                      float *dst);
void nn_ref_embed_spread(int count, int d, const int32_t *idx, const float *src, float *dtable);

void nn_ref_sgd(size_t n, float *p, const float *g, float lr);
void nn_ref_sgd_momentum(size_t n, float *p, const float *g, float *v, float lr, float mu);
void nn_ref_sgd_nesterov(size_t n, float *p, const float *g, float *v, float lr, float mu);
void nn_ref_adam(size_t n, float *p, const float *g, float *m, float *v, const nn_adam_coef *c);
void nn_ref_ema(size_t n, float *r, const float *x, float m);
void nn_ref_add(size_t n, const float *a, const float *b, float *y);
int nn_ref_all_finite(size_t n, const float *x);

/* ref_seq.c: the sequence-model kernels */
void nn_ref_ln_fwd(int m, int n, const float *x, const float *gamma, const float *beta, float eps,
                   float *mean, float *rstd, float *y);
void nn_ref_ln_bwd(int m, int n, const float *x, const float *mean, const float *rstd,
                   const float *gamma, const float *dy, float *dx, float *dgamma, float *dbeta,
                   int accumulate);
void nn_ref_attn_fwd(int b, int t, int nh, int hs, int causal, const float *qkv, float *att,
                     float *out);
void nn_ref_attn_bwd(int b, int t, int nh, int hs, int causal, const float *qkv, const float *att,
                     const float *dout, float *dqkv, int accumulate);
void nn_ref_gelu_fwd(size_t n, int approx, const float *x, float *y);
void nn_ref_gelu_bwd(size_t n, int approx, const float *x, const float *dy, float *dx,
                     int accumulate);
void nn_ref_dropout_fwd(size_t n, float p, uint64_t seed, const float *x, float *mask, float *y);
void nn_ref_mul_bwd(size_t n, const float *mask, const float *dy, float *dx, int accumulate);
void nn_ref_causal_mean_fwd(int b, int t, int c, const float *x, float *y);
void nn_ref_causal_mean_bwd(int b, int t, int c, const float *dy, float *dx, int accumulate);

#endif
