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

#endif
