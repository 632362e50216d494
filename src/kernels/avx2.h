/* avx2.h — entry points shared between the AVX2+FMA kernel files (internal). */
#ifndef NN_KERNELS_AVX2_H
#define NN_KERNELS_AVX2_H

#include "kernels/kernels.h"

/* gemm_avx2.c: the three gemm layouts of kernels.h. */
void nn_avx2_sgemm_nn(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                      float *c, int ldc, int accumulate);
void nn_avx2_sgemm_nt(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                      float *c, int ldc, int accumulate);
void nn_avx2_sgemm_tn(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                      float *c, int ldc, int accumulate);
/* kernels.h linear_fwd: the bias added to each tile in registers */
void nn_avx2_linear_fwd(int m, int n, int k, const float *x, const float *w, const float *bias,
                        float *y);

/* gemm_avx2.c: one core's FMA peak at 8 lanes, GFLOP/s (see nn_kernels_fma_peak). */
double nn_avx2_fma_peak(void);

/* batchnorm_avx2.c: the BatchNorm entries of kernels.h. */
void nn_avx2_bn_train_fwd(int m, int n, const float *x, const float *gamma, const float *beta,
                          float eps, int unbiased, float *mean, float *std, float *xhat, float *y);
void nn_avx2_bn_eval_fwd(int m, int n, const float *x, const float *mean, const float *std,
                         const float *gamma, const float *beta, float *y);
void nn_avx2_bn_bwd(int m, int n, const float *xhat, const float *std, const float *gamma,
                    const float *dy, int unbiased, float *dx, float *dgamma, float *dbeta,
                    int accumulate);

/* seq_avx2.c: the sequence-model entries of kernels.h (dropout uses the reference). */
void nn_avx2_ln_fwd(int m, int n, const float *x, const float *gamma, const float *beta, float eps,
                    float *mean, float *rstd, float *y);
void nn_avx2_ln_bwd(int m, int n, const float *x, const float *mean, const float *rstd,
                    const float *gamma, const float *dy, float *dx, float *dgamma, float *dbeta,
                    int accumulate);
void nn_avx2_attn_fwd(int b, int t, int nh, int hs, int causal, const float *qkv, float *att,
                      float *out);
void nn_avx2_attn_bwd(int b, int t, int nh, int hs, int causal, const float *qkv, const float *att,
                      const float *dout, float *dqkv, int accumulate);
float nn_avx2_logf(float x);
void nn_avx2_log8(float v[8]);
void nn_avx2_gelu_fwd(size_t n, int approx, const float *x, float *y);
void nn_avx2_gelu_bwd(size_t n, int approx, const float *x, const float *dy, float *dx,
                      int accumulate);
/* layernorm_avx2.c: rows of 8, 16, 32 or 64 features in registers; others go to the above */
void nn_avx2_ln_fwd_rows(int m, int n, const float *x, const float *gamma, const float *beta,
                         float eps, float *mean, float *rstd, float *y);
void nn_avx2_ln_bwd_rows(int m, int n, const float *x, const float *mean, const float *rstd,
                         const float *gamma, const float *dy, float *dx, float *dgamma,
                         float *dbeta, int accumulate);
/* attention_avx2.c: t ≤ 16, hs = 8·r ≤ 64 in registers; other shapes fall back to the above */
void nn_avx2_attn_fwd_short(int b, int t, int nh, int hs, int causal, const float *qkv, float *att,
                            float *out);
void nn_avx2_attn_bwd_short(int b, int t, int nh, int hs, int causal, const float *qkv,
                            const float *att, const float *dout, float *dqkv, int accumulate);
void nn_avx2_causal_mean_fwd(int b, int t, int c, const float *x, float *y);
void nn_avx2_causal_mean_bwd(int b, int t, int c, const float *dy, float *dx, int accumulate);

/* avx2.c: the vector exp/log/tanh, for expr_vm_avx2.c (the formula machine). */
#ifdef __AVX2__
#include <immintrin.h>
__m256 nn_avx2_exp(__m256 x);
__m256 nn_avx2_log(__m256 x);
__m256 nn_avx2_tanh(__m256 x);
#endif
/* expr_vm_avx2.c: the formula machine (expr_vm.h). */
void nn_avx2_expr_run(const nn_vm_prog *p, int rows, int cols, const nn_vm_in *in,
                      const nn_vm_out *out);

#endif
