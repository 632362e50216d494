/* avx512_transpose.h — the 16 × 16 float transpose in zmm registers that the attention and
 * cross-entropy kernels use to turn row-wise reductions into vertical ones; internal,
 * include only from files compiled with the AVX-512 flags. */
#ifndef NN_KERNELS_AVX512_TRANSPOSE_H
#define NN_KERNELS_AVX512_TRANSPOSE_H

#include <immintrin.h>

#define NN_PS512(x) _mm512_castpd_ps(x)
#define NN_PD512(x) _mm512_castps_pd(x)

/* r[0..15] (rows) transposed in place: r[c] lane i = old r[i] lane c */
static inline __attribute__((always_inline)) void nn_transpose16(__m512 r[16])
{
    __m512 t[16];
#pragma GCC unroll 8
    for (int k = 0; k < 16; k += 2) {
        t[k] = _mm512_unpacklo_ps(r[k], r[k + 1]);
        t[k + 1] = _mm512_unpackhi_ps(r[k], r[k + 1]);
    }
#pragma GCC unroll 4
    for (int k = 0; k < 16; k += 4) {
        r[k] = NN_PS512(_mm512_unpacklo_pd(NN_PD512(t[k]), NN_PD512(t[k + 2])));
        r[k + 1] = NN_PS512(_mm512_unpackhi_pd(NN_PD512(t[k]), NN_PD512(t[k + 2])));
        r[k + 2] = NN_PS512(_mm512_unpacklo_pd(NN_PD512(t[k + 1]), NN_PD512(t[k + 3])));
        r[k + 3] = NN_PS512(_mm512_unpackhi_pd(NN_PD512(t[k + 1]), NN_PD512(t[k + 3])));
    }
#pragma GCC unroll 2
    for (int h = 0; h < 16; h += 8)
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            t[h + k] = _mm512_shuffle_f32x4(r[h + k], r[h + k + 4], 0x88);
            t[h + k + 4] = _mm512_shuffle_f32x4(r[h + k], r[h + k + 4], 0xdd);
        }
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++) {
        r[k] = _mm512_shuffle_f32x4(t[k], t[k + 8], 0x88);
        r[k + 8] = _mm512_shuffle_f32x4(t[k], t[k + 8], 0xdd);
    }
}

#endif
