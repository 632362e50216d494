/* avx2_math.h — the vector exp and tanh of the AVX2 kernels, inlined where they are used
 * (avx2.c, seq_avx2.c, attention_avx2.c, rnn_avx2.c; internal, include only from files
 * compiled with -mavx2 -mfma). */
#ifndef NN_KERNELS_AVX2_MATH_H
#define NN_KERNELS_AVX2_MATH_H

#include <immintrin.h>

/* exp(x) (Cephes expf): x = k·ln2 + r with |r| ≤ ln2/2, exp(r) by a degree-7 polynomial,
 * then scaled by 2^k in two exact halves (2^⌊k/2⌋·2^(k−⌊k/2⌋)), so that overflow gives +inf
 * and small results degrade into subnormals and 0 as in libm.  x is clamped to [−110, 89]
 * (beyond, the result is 0 or inf anyway); NaN stays NaN (min/max return their second
 * operand, x, when it is NaN).  Max relative error against double-precision exp over
 * [−87, 88] in 2^24 even steps: 1.19e-7 (tests/test_kernels.c checks ≤ 2e-7). */
static inline __attribute__((always_inline)) __m256 exp256(__m256 x)
{
    x = _mm256_min_ps(_mm256_set1_ps(89.0f), x);
    x = _mm256_max_ps(_mm256_set1_ps(-110.0f), x);
    __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    /* ln2 in two parts, so k·ln2 is subtracted exactly */
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i ki = _mm256_cvtps_epi32(k), k1 = _mm256_srai_epi32(ki, 1);
    __m256i k2 = _mm256_sub_epi32(ki, k1); /* both in [−80, 64]: normal powers of two */
    const __m256i bias = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k1, bias), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

/* tanh(x): an odd rational minimax x·p(x²)/q(x²) of degrees 13/6 (the approximation Eigen
 * and XLA use), with x clamped to ±7.90531 where tanh rounds to ±1 in float.  One division
 * and ten FMAs, about half the cost of 1 − 2/(exp(2x) + 1).  Odd exactly (tanh(−x) =
 * −tanh(x) bit for bit), relative accuracy kept near 0, |tanh| ≤ 1 − 2^-24 < 1.  Measured
 * over [−12, 12] in steps of 2^-17 against double-precision tanh: max abs error 2.7e-7
 * (max relative 2.7e-7; glibc tanhf differs from it by at most 3.0e-7; tests/test_kernels.c
 * checks ≤ 1e-6 against tanhf).  NaN stays NaN (min/max return x, their second operand). */
static inline __attribute__((always_inline)) __m256 tanh256(__m256 x)
{
    const __m256 lim = _mm256_set1_ps(7.90531110763549805f);
    x = _mm256_min_ps(lim, x);
    x = _mm256_max_ps(_mm256_set1_ps(-7.90531110763549805f), x);
    __m256 z = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(-2.76076847742355e-16f);
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.00018790482477e-13f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-8.60467152213735e-11f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(5.12229709037114e-08f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.48572235717979e-05f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(6.37261928875436e-04f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(4.89352455891786e-03f));
    __m256 q = _mm256_set1_ps(1.19825839466702e-06f);
    q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(1.18534705686654e-04f));
    q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(2.26843463243900e-03f));
    q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(4.89352518554385e-03f));
    return _mm256_div_ps(_mm256_mul_ps(p, x), q);
}

#endif
