/* batchnorm_avx2.c — BatchNorm forward (batch and fixed statistics) and backward, AVX2+FMA.
 *
 * Widths that are a multiple of 8 run row-major passes (reading the batch as it lies in
 * memory); other widths walk 8-column strips down the rows with a masked tail.  Both add in
 * the same row order as the scalar reference.  Big batches split their columns over the
 * threads (each column whole on one thread: the same bits for any thread count).
 */
#include "kernels/avx2.h"
#include "kernels/avx2_strip.h"
#include "kernels/threads.h"

typedef struct {
    int m, n, unbiased;
    float eps;
    const float *x, *gamma, *beta;
    float *mean, *std, *xhat, *y;
} bn_fwd_args;

/* 8 floats as two vectors of 4 doubles, and back: the batch statistics are summed in double
 * (as the scalar reference does), so a mean over many rows keeps float precision. */
INLINE void widen(__m256 v, __m256d *lo, __m256d *hi)
{
    *lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    *hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
}

INLINE __m256 narrow(__m256d lo, __m256d hi)
{
    return _mm256_set_m128(_mm256_cvtpd_ps(hi), _mm256_cvtpd_ps(lo));
}

/* s = sqrt(ss / d + eps) in double, rounded to float */
INLINE __m256 bn_std(__m256d q0, __m256d q1, int m, int unbiased, float eps)
{
    __m256d d = _mm256_set1_pd((double)(m - !!unbiased)), e = _mm256_set1_pd((double)eps);
    q0 = _mm256_sqrt_pd(_mm256_add_pd(_mm256_div_pd(q0, d), e));
    q1 = _mm256_sqrt_pd(_mm256_add_pd(_mm256_div_pd(q1, d), e));
    return narrow(q0, q1);
}

INLINE void bn_train_strip(const bn_fwd_args *a, size_t j, __m256i mk, int full)
{
    int m = a->m, n = a->n;
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd(), l, h;
    for (int i = 0; i < m; i++) {
        widen(ld(a->x + (size_t)i * n + j, mk, full), &l, &h);
        s0 = _mm256_add_pd(s0, l), s1 = _mm256_add_pd(s1, h);
    }
    __m256d dm = _mm256_set1_pd((double)m), mu0, mu1;
    __m256 mu = narrow(_mm256_div_pd(s0, dm), _mm256_div_pd(s1, dm));
    widen(mu, &mu0, &mu1); /* the float mean, as the reference subtracts it */
    s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    for (int i = 0; i < m; i++) {
        widen(ld(a->x + (size_t)i * n + j, mk, full), &l, &h);
        l = _mm256_sub_pd(l, mu0), h = _mm256_sub_pd(h, mu1);
        s0 = _mm256_fmadd_pd(l, l, s0), s1 = _mm256_fmadd_pd(h, h, s1);
    }
    __m256 s = bn_std(s0, s1, m, a->unbiased, a->eps);
    __m256 g = ld(a->gamma + j, mk, full), b = ld(a->beta + j, mk, full);
    for (int i = 0; i < m; i++) {
        size_t e = (size_t)i * n + j;
        __m256 xh = _mm256_div_ps(_mm256_sub_ps(ld(a->x + e, mk, full), mu), s);
        st(a->xhat + e, mk, full, xh);
        st(a->y + e, mk, full, _mm256_fmadd_ps(g, xh, b));
    }
    st(a->mean + j, mk, full, mu);
    st(a->std + j, mk, full, s);
}

/* Row-major passes for widths that are a multiple of 8: the same operations in the same
 * order as the column strips (so the same bits), but reading x as it lies in memory —
 * column strips of a 512 × 1024 batch stride through far more cache lines than fit.  The
 * per-column double accumulators cover 256 columns at a time (stack, L1-resident). */
static void bn_train_rows(const bn_fwd_args *a, int ja, int jb)
{
    int m = a->m, n = a->n, unbiased = a->unbiased;
    float eps = a->eps, *mean = a->mean, *std = a->std, *xhat = a->xhat, *y = a->y;
    const float *x = a->x, *gamma = a->gamma, *beta = a->beta;
    double acc[256] __attribute__((aligned(32)));
    __m256d dm = _mm256_set1_pd((double)m), l, h;
    for (int j0 = ja; j0 < jb; j0 += 256) {
        int nb = jb - j0 < 256 ? jb - j0 : 256;
        for (int j = 0; j < nb; j += 4)
            _mm256_store_pd(acc + j, _mm256_setzero_pd());
        for (int i = 0; i < m; i++)
            for (int j = 0; j < nb; j += 8) {
                widen(_mm256_loadu_ps(x + (size_t)i * n + j0 + j), &l, &h);
                _mm256_store_pd(acc + j, _mm256_add_pd(_mm256_load_pd(acc + j), l));
                _mm256_store_pd(acc + j + 4, _mm256_add_pd(_mm256_load_pd(acc + j + 4), h));
            }
        for (int j = 0; j < nb; j += 8) {
            _mm256_storeu_ps(mean + j0 + j, narrow(_mm256_div_pd(_mm256_load_pd(acc + j), dm),
                                                   _mm256_div_pd(_mm256_load_pd(acc + j + 4), dm)));
            _mm256_store_pd(acc + j, _mm256_setzero_pd());
            _mm256_store_pd(acc + j + 4, _mm256_setzero_pd());
        }
        for (int i = 0; i < m; i++)
            for (int j = 0; j < nb; j += 8) {
                __m256d m0, m1;
                widen(_mm256_loadu_ps(mean + j0 + j), &m0, &m1);
                widen(_mm256_loadu_ps(x + (size_t)i * n + j0 + j), &l, &h);
                l = _mm256_sub_pd(l, m0), h = _mm256_sub_pd(h, m1);
                _mm256_store_pd(acc + j, _mm256_fmadd_pd(l, l, _mm256_load_pd(acc + j)));
                _mm256_store_pd(acc + j + 4, _mm256_fmadd_pd(h, h, _mm256_load_pd(acc + j + 4)));
            }
        for (int j = 0; j < nb; j += 8)
            _mm256_storeu_ps(std + j0 + j, bn_std(_mm256_load_pd(acc + j),
                                                  _mm256_load_pd(acc + j + 4), m, unbiased, eps));
    }
    for (int i = 0; i < m; i++)
        for (int j = ja; j < jb; j += 8) {
            size_t k = (size_t)i * n + j;
            __m256 xh =
                _mm256_div_ps(_mm256_sub_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(mean + j)),
                              _mm256_loadu_ps(std + j));
            _mm256_storeu_ps(xhat + k, xh);
            _mm256_storeu_ps(
                y + k, _mm256_fmadd_ps(_mm256_loadu_ps(gamma + j), xh, _mm256_loadu_ps(beta + j)));
        }
}

/* Columns are independent: a big batch splits them over the threads (whole 8-column
 * groups), each column computed as one thread would, so the bits never depend on the split. */
static int col_tasks(int m, int n)
{
    int nt = nn_threads_count();
    if (nt <= 1 || (double)m * n < NN_ELEMENTWISE_SPLIT_MIN) return 1;
    return nt < n / 8 ? nt : n / 8;
}

static void col_range(int n, int tasks, int t, int *ja, int *jb)
{
    int groups = n / 8, per = (groups + tasks - 1) / tasks;
    *ja = t * per * 8 < n ? t * per * 8 : n;
    *jb = (t + 1) * per * 8 < n ? (t + 1) * per * 8 : n;
}

typedef struct {
    const bn_fwd_args *a;
    int tasks;
} fwd_job;

static void fwd_task(void *ctx, int t)
{
    const fwd_job *j = ctx;
    int ja, jb;
    col_range(j->a->n, j->tasks, t, &ja, &jb);
    if (ja < jb) bn_train_rows(j->a, ja, jb);
}

void nn_avx2_bn_train_fwd(int m, int n, const float *x, const float *gamma, const float *beta,
                          float eps, int unbiased, float *mean, float *std, float *xhat, float *y)
{
    bn_fwd_args a = {m, n, unbiased, eps, x, gamma, beta, mean, std, xhat, y};
    if (n % 8 == 0) {
        fwd_job j = {&a, col_tasks(m, n)};
        if (j.tasks > 1)
            nn_threads_run(j.tasks, fwd_task, &j);
        else
            bn_train_rows(&a, 0, n);
        return;
    }
    STRIPS(n, bn_train_strip, &a);
}

INLINE void bn_eval_strip(const float *x, const float *mean, const float *std, const float *gamma,
                          const float *beta, float *y, size_t j, __m256i mk, int full)
{
    __m256 t = _mm256_sub_ps(ld(x + j, mk, full), ld(mean + j, mk, full));
    t = _mm256_div_ps(_mm256_mul_ps(ld(gamma + j, mk, full), t), ld(std + j, mk, full));
    st(y + j, mk, full, _mm256_add_ps(t, ld(beta + j, mk, full)));
}

/* Row by row: at eval time m is large, and the per-column vectors stay in L1. */
void nn_avx2_bn_eval_fwd(int m, int n, const float *x, const float *mean, const float *std,
                         const float *gamma, const float *beta, float *y)
{
    for (size_t e = 0; e < (size_t)m * n; e += n)
        STRIPS(n, bn_eval_strip, x + e, mean, std, gamma, beta, y + e);
}

typedef struct {
    int m, n, unbiased, accumulate;
    const float *xhat, *std, *gamma, *dy;
    float *dx, *dgamma, *dbeta;
} bn_bwd_args;

INLINE void bn_bwd_strip(const bn_bwd_args *a, size_t j, __m256i mk, int full)
{
    int m = a->m, n = a->n;
    __m256 sb = _mm256_setzero_ps(), sg = _mm256_setzero_ps();
    for (int i = 0; i < m; i++) {
        size_t e = (size_t)i * n + j;
        __m256 g = ld(a->dy + e, mk, full);
        sb = _mm256_add_ps(sb, g);
        sg = _mm256_fmadd_ps(g, ld(a->xhat + e, mk, full), sg);
    }
    /* with g = dy·gamma:  Σ g = gamma·dbeta,  Σ g·xhat = gamma·dgamma */
    __m256 ga = ld(a->gamma + j, mk, full), s = ld(a->std + j, mk, full);
    __m256 mean_g = _mm256_div_ps(_mm256_mul_ps(ga, sb), _mm256_set1_ps((float)m));
    __m256 proj = _mm256_div_ps(_mm256_mul_ps(ga, sg), _mm256_set1_ps((float)(m - !!a->unbiased)));
    for (int i = 0; i < m; i++) {
        size_t e = (size_t)i * n + j;
        __m256 v = _mm256_sub_ps(_mm256_mul_ps(ld(a->dy + e, mk, full), ga), mean_g);
        v = _mm256_div_ps(_mm256_fnmadd_ps(ld(a->xhat + e, mk, full), proj, v), s);
        if (a->accumulate & 1) v = _mm256_add_ps(ld(a->dx + e, mk, full), v);
        st(a->dx + e, mk, full, v);
    }
    /* after dx, which needs the sums alone: an l2 term may have written dgamma/dbeta first */
    if (a->accumulate & 2) sg = _mm256_add_ps(ld(a->dgamma + j, mk, full), sg);
    if (a->accumulate & 4) sb = _mm256_add_ps(ld(a->dbeta + j, mk, full), sb);
    st(a->dgamma + j, mk, full, sg);
    st(a->dbeta + j, mk, full, sb);
}

/* Row-major version of bn_bwd_strip for widths that are a multiple of 8 (same operations,
 * same order, same bits), in blocks of 256 columns: the column sums of a block collect in
 * sb/sg (registers' reach), then its dx rows, then the sums go to dgamma/dbeta — written,
 * or added where an l2 term wrote them first (accumulate bits 1 and 2). */
static void bn_bwd_rows(const bn_bwd_args *a, int ja, int jb)
{
    int m = a->m, n = a->n, unbiased = a->unbiased, accumulate = a->accumulate;
    const float *xhat = a->xhat, *std = a->std, *gamma = a->gamma, *dy = a->dy;
    float *dx = a->dx, *dgamma = a->dgamma, *dbeta = a->dbeta;
    __m256 fm = _mm256_set1_ps((float)m), fd = _mm256_set1_ps((float)(m - !!unbiased));
    float sb[256] __attribute__((aligned(32))), sg[256] __attribute__((aligned(32)));
    float mg[256] __attribute__((aligned(32))), pj[256] __attribute__((aligned(32)));
    for (int j0 = ja; j0 < jb; j0 += 256) {
        int nb = jb - j0 < 256 ? jb - j0 : 256;
        for (int j = 0; j < nb; j += 8) {
            _mm256_store_ps(sb + j, _mm256_setzero_ps());
            _mm256_store_ps(sg + j, _mm256_setzero_ps());
        }
        for (int i = 0; i < m; i++)
            for (int j = 0; j < nb; j += 8) {
                size_t e = (size_t)i * n + j0 + j;
                __m256 g = _mm256_loadu_ps(dy + e);
                _mm256_store_ps(sb + j, _mm256_add_ps(_mm256_load_ps(sb + j), g));
                _mm256_store_ps(
                    sg + j, _mm256_fmadd_ps(g, _mm256_loadu_ps(xhat + e), _mm256_load_ps(sg + j)));
            }
        for (int j = 0; j < nb; j += 8) {
            __m256 ga = _mm256_loadu_ps(gamma + j0 + j);
            _mm256_store_ps(mg + j, _mm256_div_ps(_mm256_mul_ps(ga, _mm256_load_ps(sb + j)), fm));
            _mm256_store_ps(pj + j, _mm256_div_ps(_mm256_mul_ps(ga, _mm256_load_ps(sg + j)), fd));
        }
        for (int i = 0; i < m; i++)
            for (int j = 0; j < nb; j += 8) {
                size_t e = (size_t)i * n + j0 + j;
                __m256 ga = _mm256_loadu_ps(gamma + j0 + j), s = _mm256_loadu_ps(std + j0 + j);
                __m256 v = _mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(dy + e), ga),
                                         _mm256_load_ps(mg + j));
                v = _mm256_div_ps(
                    _mm256_fnmadd_ps(_mm256_loadu_ps(xhat + e), _mm256_load_ps(pj + j), v), s);
                if (accumulate & 1) v = _mm256_add_ps(_mm256_loadu_ps(dx + e), v);
                _mm256_storeu_ps(dx + e, v);
            }
        for (int j = 0; j < nb; j += 8) {
            __m256 g = _mm256_load_ps(sg + j), b = _mm256_load_ps(sb + j);
            if (accumulate & 2) g = _mm256_add_ps(_mm256_loadu_ps(dgamma + j0 + j), g);
            if (accumulate & 4) b = _mm256_add_ps(_mm256_loadu_ps(dbeta + j0 + j), b);
            _mm256_storeu_ps(dgamma + j0 + j, g);
            _mm256_storeu_ps(dbeta + j0 + j, b);
        }
    }
}

typedef struct {
    const bn_bwd_args *a;
    int tasks;
} bwd_job;

static void bwd_task(void *ctx, int t)
{
    const bwd_job *j = ctx;
    int ja, jb;
    col_range(j->a->n, j->tasks, t, &ja, &jb);
    if (ja < jb) bn_bwd_rows(j->a, ja, jb);
}

void nn_avx2_bn_bwd(int m, int n, const float *xhat, const float *std, const float *gamma,
                    const float *dy, int unbiased, float *dx, float *dgamma, float *dbeta,
                    int accumulate)
{
    bn_bwd_args a = {m, n, unbiased, accumulate, xhat, std, gamma, dy, dx, dgamma, dbeta};
    if (n % 8 == 0) {
        bwd_job j = {&a, col_tasks(m, n)};
        if (j.tasks > 1)
            nn_threads_run(j.tasks, bwd_task, &j);
        else
            bn_bwd_rows(&a, 0, n);
        return;
    }
    STRIPS(n, bn_bwd_strip, &a);
}
