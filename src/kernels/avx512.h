/* avx512.h — entry points shared between the AVX-512 kernel files (internal). */
#ifndef NN_KERNELS_AVX512_H
#define NN_KERNELS_AVX512_H

#include "kernels/kernels.h"

/* gemm_avx512.c: the three gemm layouts of kernels.h. */
void nn_avx512_sgemm_nn(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                        float *c, int ldc, int accumulate);
void nn_avx512_sgemm_nt(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                        float *c, int ldc, int accumulate);
void nn_avx512_sgemm_tn(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                        float *c, int ldc, int accumulate);

/* gemm_avx512.c: kernels.h linear_fwd, the bias added to each tile in registers. */
void nn_avx512_linear_fwd(int m, int n, int k, const float *x, const float *w, const float *bias,
                          float *y);

/* seq_avx512.c: GELU, causal mean, cross-entropy; attention_avx512.c: the attention core
 * (kernels.h). */
void nn_avx512_gelu_fwd(size_t n, int approx, const float *x, float *y);
void nn_avx512_gelu_bwd(size_t n, int approx, const float *x, const float *dy, float *dx,
                        int accumulate);
void nn_avx512_causal_mean_fwd(int b, int t, int c, const float *x, float *y);
void nn_avx512_causal_mean_bwd(int b, int t, int c, const float *dy, float *dx, int accumulate);
void nn_avx512_xent_fwd(int m, int n, const float *logits, const int32_t *y, float *prob,
                        float *row_loss);
void nn_avx512_xent_bwd(int m, int n, const float *prob, const int32_t *y, float scale,
                        float *dlogits);
void nn_avx512_attn_fwd(int b, int t, int nh, int hs, int causal, const float *qkv, float *att,
                        float *out);
void nn_avx512_attn_bwd(int b, int t, int nh, int hs, int causal, const float *qkv,
                        const float *att, const float *dout, float *dqkv, int accumulate);

/* avx512.c: one core's FMA peak at 16 lanes, GFLOP/s (see nn_kernels_fma_peak). */
double nn_avx512_fma_peak(void);

#endif
