/* avx2_transpose.h — the 8 × 8 float transpose in ymm registers (the gemms' packing of
 * transposed operands, the AVX2 attention and cross-entropy); internal, include only from
 * files compiled with -mavx2. */
#ifndef NN_KERNELS_AVX2_TRANSPOSE_H
#define NN_KERNELS_AVX2_TRANSPOSE_H

#include <immintrin.h>

/* Transposes the 8×8 block held in r[0..7] (row i becomes column i). */
static inline __attribute__((always_inline)) void nn_transpose8(__m256 r[8])
{
    __m256 t[8], u[8]; /* fully unrolled (pragmas), so all of it stays in registers */
#pragma GCC unroll 8
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
#pragma GCC unroll 8
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
#pragma GCC unroll 8
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

#endif
