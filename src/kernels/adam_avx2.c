/* adam_avx2.c — Adam/AdamW on 8 floats a pass (kernels.h `adam`).  The same operations in
 * the same order as nn_ref_adam, with no FMA contraction (the reference is built with
 * -std=c11, i.e. -ffp-contract=off; sqrt and divide are IEEE in both), so the parameters
 * are bit-identical to the scalar path's. */
#include "kernels/avx2.h"
#include "kernels/avx2_strip.h"

typedef struct {
    __m256 b1, c1, b2, c2, eps, decay, step, root;
    int decayed;
} adam_vec;

INLINE void adam_strip(float *p, const float *g, float *m, float *v, const adam_vec *k, size_t i,
                       __m256i mk, int full)
{
    __m256 gi = ld(g + i, mk, full), pi = ld(p + i, mk, full);
    if (k->decayed) pi = _mm256_mul_ps(pi, k->decay);
    __m256 mi = _mm256_add_ps(_mm256_mul_ps(k->b1, ld(m + i, mk, full)), _mm256_mul_ps(k->c1, gi));
    __m256 vi = _mm256_add_ps(_mm256_mul_ps(k->b2, ld(v + i, mk, full)),
                              _mm256_mul_ps(_mm256_mul_ps(k->c2, gi), gi));
    __m256 den = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), k->root), k->eps);
    pi = _mm256_sub_ps(pi, _mm256_div_ps(_mm256_mul_ps(k->step, mi), den));
    st(m + i, mk, full, mi);
    st(v + i, mk, full, vi);
    st(p + i, mk, full, pi);
}

void nn_avx2_adam(size_t n, float *p, const float *g, float *m, float *v, const nn_adam_coef *c)
{
    adam_vec k = {_mm256_set1_ps(c->b1),   _mm256_set1_ps(c->c1),       _mm256_set1_ps(c->b2),
                  _mm256_set1_ps(c->c2),   _mm256_set1_ps(c->eps),      _mm256_set1_ps(c->decay),
                  _mm256_set1_ps(c->step), _mm256_set1_ps(c->root_bc2), c->decay != 1.0f};
    STRIPS(n, adam_strip, p, g, m, v, &k);
}
