/* avx2_strip.h — the 8-float strip helpers the AVX2 kernel files share (internal; include
 * only from files compiled with -mavx2 -mfma). */
#ifndef NN_KERNELS_AVX2_STRIP_H
#define NN_KERNELS_AVX2_STRIP_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

/* Lane masks: the first r (0..8) lanes set. */
static inline __m256i lanes(size_t r)
{
    static const int32_t src[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(src + 8 - r));
}

/* Loads and stores of one 8-float strip; `full` is a constant at each inlined call, and the
 * masked forms (slow stores on AMD) are used only for the last, partial strip. */
static inline __attribute__((always_inline)) __m256 ld(const float *p, __m256i mk, int full)
{
    return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mk);
}

static inline __attribute__((always_inline)) void st(float *p, __m256i mk, int full, __m256 v)
{
    if (full)
        _mm256_storeu_ps(p, v);
    else
        _mm256_maskstore_ps(p, mk, v);
}

/* Calls FN(args..., j, mask, full) for the 8-wide strips of [0, n): whole strips, then the
 * tail (if any) with its lane mask. */
#define STRIPS(n, FN, ...)                                                                         \
    do {                                                                                           \
        size_t n_ = (size_t)(n), j_ = 0;                                                           \
        for (; j_ + 8 <= n_; j_ += 8)                                                              \
            FN(__VA_ARGS__, j_, _mm256_setzero_si256(), 1);                                        \
        if (j_ < n_) FN(__VA_ARGS__, j_, lanes(n_ - j_), 0);                                       \
    } while (0)

#define INLINE static inline __attribute__((always_inline))

/* Σ over the m rows of the 8-column strip at j, in row order (as the reference adds). */
INLINE __m256 strip_sum(int m, int n, const float *x, size_t j, __m256i mk, int full)
{
    __m256 s = _mm256_setzero_ps();
    for (int i = 0; i < m; i++)
        s = _mm256_add_ps(s, ld(x + (size_t)i * n + j, mk, full));
    return s;
}

#endif
