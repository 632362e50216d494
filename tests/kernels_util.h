/* kernels_util.h — what the kernel tests share (test_kernels.c, test_kernels_nn.c): the ISA
 * loop, seeded random data and the closeness check. */
#ifndef KERNELS_UTIL_H
#define KERNELS_UTIL_H

#include <math.h>

#include "testutil.h"

#include "kernels/kernels.h"
#include "kernels/ref.h"

static const char *const ISAS[] = {"scalar", "avx2", "avx512"};

/* Runs the body once per ISA whose table this build and CPU provide. */
#define FOR_EACH_ISA(K)                                                                            \
    for (size_t isa_ = 0; isa_ < sizeof ISAS / sizeof *ISAS; isa_++)                               \
        for (const nn_kernels *K = nn_kernels_get(ISAS[isa_]); K; K = NULL)

/* ---- helpers ------------------------------------------------------------------------- */

static uint32_t rng = 2463534242u;

/* Every test starts from the same seed, so its data does not depend on the tests before it. */
static inline int reseed(void **state)
{
    (void)state;
    rng = 2463534242u;
    return 0;
}

static inline float urand(float lo, float hi) /* xorshift32: fixed seed, same data every run */
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return lo + (hi - lo) * (float)(rng >> 8) / 16777216.0f;
}

static inline float *rnd(size_t n, float lo, float hi)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = urand(lo, hi);
    return p;
}

static inline float *filled(size_t n, float v)
{
    float *p = rnd(n, 0, 0);
    for (size_t i = 0; i < n; i++)
        p[i] = v;
    return p;
}

static inline float *dup(const float *src, size_t n)
{
    float *p = rnd(n, 0, 0);
    memcpy(p, src, n * sizeof *p);
    return p;
}

static inline void expect_close(const nn_kernels *K, const char *what, const float *got,
                                const float *want, size_t n, double atol, double rtol)
{
    for (size_t i = 0; i < n; i++)
        if (!tu_close(got[i], want[i], atol, rtol))
            fail_msg("%s: %s[%zu] = %.9g, want %.9g", K->isa, what, i, got[i], want[i]);
}

#define EXPECT(K, what, got, ...)                                                                  \
    do {                                                                                           \
        const float want_[] = {__VA_ARGS__};                                                       \
        expect_close(K, what, got, want_, sizeof want_ / sizeof *want_, 1e-6, 1e-6);               \
    } while (0)

/* ---- gemm ---------------------------------------------------------------------------- */

/* the three sgemm layouts, by index */
typedef void (*gemm_fn)(int, int, int, const float *, int, const float *, int, float *, int, int);
enum { NN, NT, TN };
static const char *const LAYOUT[] = {"sgemm_nn", "sgemm_nt", "sgemm_tn"};

static inline gemm_fn gemm_of(const nn_kernels *K, int layout)
{
    return layout == NN ? K->sgemm_nn : layout == NT ? K->sgemm_nt : K->sgemm_tn;
}

#endif
