/* avx512_math.h — the vector exp, tanh and GELU of avx2_math.h and seq_avx2.c at 16 lanes,
 * the same operations in the same order (so the two paths give the same bits); internal,
 * include only from files compiled with the AVX-512 flags. */
#ifndef NN_KERNELS_AVX512_MATH_H
#define NN_KERNELS_AVX512_MATH_H

#include <immintrin.h>

/* exp256 of avx2_math.h (Cephes expf, x clamped to [−110, 89], 2^k in two exact halves). */
static inline __attribute__((always_inline)) __m512 exp512(__m512 x)
{
    x = _mm512_min_ps(_mm512_set1_ps(89.0f), x);
    x = _mm512_max_ps(_mm512_set1_ps(-110.0f), x);
    __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i ki = _mm512_cvtps_epi32(k), k1 = _mm512_srai_epi32(ki, 1);
    __m512i k2 = _mm512_sub_epi32(ki, k1);
    const __m512i bias = _mm512_set1_epi32(127);
    __m512 s1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(k1, bias), 23));
    __m512 s2 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(k2, bias), 23));
    return _mm512_mul_ps(_mm512_mul_ps(p, s1), s2);
}

/* tanh256 of avx2_math.h: the odd rational x·p(x²)/q(x²), x clamped to ±7.90531. */
static inline __attribute__((always_inline)) __m512 tanh512(__m512 x)
{
    x = _mm512_min_ps(_mm512_set1_ps(7.90531110763549805f), x);
    x = _mm512_max_ps(_mm512_set1_ps(-7.90531110763549805f), x);
    __m512 z = _mm512_mul_ps(x, x);
    __m512 p = _mm512_set1_ps(-2.76076847742355e-16f);
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(2.00018790482477e-13f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-8.60467152213735e-11f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(5.12229709037114e-08f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(1.48572235717979e-05f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(6.37261928875436e-04f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(4.89352455891786e-03f));
    __m512 q = _mm512_set1_ps(1.19825839466702e-06f);
    q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(1.18534705686654e-04f));
    q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(2.26843463243900e-03f));
    q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(4.89352518554385e-03f));
    return _mm512_div_ps(_mm512_mul_ps(p, x), q);
}

/* √(2/π)·(x + 0.044715·x³), as seq_avx2.c's gelu_inner */
static inline __attribute__((always_inline)) __m512 gelu_inner512(__m512 x)
{
    __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
    return _mm512_mul_ps(_mm512_set1_ps(0.7978845608028654f),
                         _mm512_fmadd_ps(_mm512_set1_ps(0.044715f), x3, x));
}

/* makemore's GELU, 0.5·x·(1 + tanh(gelu_inner(x))), as seq_avx2.c's gelu_fwd */
static inline __attribute__((always_inline)) __m512 gelu_tanh512(__m512 x)
{
    __m512 th = tanh512(gelu_inner512(x));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x),
                         _mm512_add_ps(_mm512_set1_ps(1), th));
}

#endif
