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

/* avx512.c: one core's FMA peak at 16 lanes, GFLOP/s (see nn_kernels_fma_peak). */
double nn_avx512_fma_peak(void);

#endif
