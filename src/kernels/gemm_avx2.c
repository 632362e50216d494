/* gemm_avx2.c — single-precision gemm with AVX2+FMA (compiled with -mavx2 -mfma).
 *
 * One register-blocked micro-kernel serves all three layouts: it computes an MR×NR = 6×16
 * tile of C in 12 ymm accumulators, broadcasting A(i, p) from any strides (so Aᵀ costs
 * nothing) and reading B(p, j..j+15) as contiguous rows.  Big products pack both operands
 * (BLIS order, MC×KC blocks of A, KC×NC of B); small ones read A in place and B in place
 * too when its rows are contiguous (nn, tn) — packed by 8×8 transposes for nt.  Scratch is
 * static thread-local (1.1 MiB per thread), never malloc'd.  Edge tiles load with masks and
 * store through the stack, so any m, n, k ≥ 1 works; k = 0 gives C = 0 (or leaves it).
 * Products of m·n·k ≥ NN_GEMM_SPLIT_MIN are split over the threads of nn_kernels_set_threads.
 */
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "kernels/avx2.h"
#include "kernels/avx2_transpose.h"
#include "kernels/threads.h"

/* Blocking for Zen 3 (L1d 32 KiB, L2 512 KiB per core): a kc×16 B panel (16 KiB) stays in
 * L1 while it meets every A panel of an MC×KC block (144 KiB, in L2); the KC×NC B block
 * (1 MiB) lives in L2/L3. */
enum { MR = 6, NR = 16, KC = 256, MC = 144, NC = 1024 };

/* The packed B block: panel q (columns q·16 ..) is kc×16 floats at pack_buf + q·16·kc.
 * The packed A block: panel r (rows r·6 ..) is kc×6 floats at apack_buf + r·6·kc. */
static _Thread_local _Alignas(64) float pack_buf[KC * NC];
static _Thread_local _Alignas(64) float apack_buf[MC * KC + 8]; /* + spill of pack_a */

/* A(i, p) = a[i·ai + p·ap];  B(p, j) = b[p·bp + j·bj];  bias (linear_fwd, else NULL): added
 * to each tile of C in registers once its last k block is in. */
typedef struct {
    const float *a;
    ptrdiff_t ai, ap;
    const float *b;
    ptrdiff_t bp, bj;
    float *c;
    ptrdiff_t ldc;
    const float *bias;
} gemm_args;

/* Lane masks: the first r lanes set. */
static __m256i lanes(int r)
{
    static const int32_t src[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(src + 8 - r));
}

/* The micro-kernel.  mr, nv (1 or 2 vectors of columns) and full (no masking) are
 * compile-time constants at every call site, so the loops unroll and the accumulators
 * stay in registers.  B row p is at b + p·bs; m0/m1 mask the two column vectors of the
 * nr ≤ 16 columns. */
static inline __attribute__((always_inline)) void tile(const int mr, const int nv, const int full,
                                                       int kc, const float *a, ptrdiff_t ai,
                                                       ptrdiff_t ap, const float *b, ptrdiff_t bs,
                                                       float *c, ptrdiff_t ldc, int nr, __m256i m0,
                                                       __m256i m1, int add, const float *bias)
{
    const int lo_full = full || nv == 2; /* with two vectors only the second is partial */
    __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++) {
        float *cr = c + r * ldc;
        c0[r] = !add      ? _mm256_setzero_ps()
                : lo_full ? _mm256_loadu_ps(cr)
                          : _mm256_maskload_ps(cr, m0);
        c1[r] = nv == 1 || !add ? _mm256_setzero_ps()
                : full          ? _mm256_loadu_ps(cr + 8)
                                : _mm256_maskload_ps(cr + 8, m1);
    }
#pragma GCC unroll 4
    for (int p = 0; p < kc; p++, a += ap, b += bs) {
        __m256 b0 = lo_full ? _mm256_loadu_ps(b) : _mm256_maskload_ps(b, m0);
        __m256 b1 = nv == 1 ? _mm256_setzero_ps()
                    : full  ? _mm256_loadu_ps(b + 8)
                            : _mm256_maskload_ps(b + 8, m1);
#pragma GCC unroll 6
        for (int r = 0; r < mr; r++) {
            __m256 av = _mm256_broadcast_ss(a + r * ai);
            c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
            if (nv == 2) c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
        }
    }
    if (bias) { /* linear_fwd: C + bias once the sum is complete, as bias_add adds it */
        __m256 b0 = lo_full ? _mm256_loadu_ps(bias) : _mm256_maskload_ps(bias, m0);
        __m256 b1 = nv == 1 ? _mm256_setzero_ps()
                    : full  ? _mm256_loadu_ps(bias + 8)
                            : _mm256_maskload_ps(bias + 8, m1);
#pragma GCC unroll 6
        for (int r = 0; r < mr; r++) {
            c0[r] = _mm256_add_ps(c0[r], b0);
            if (nv == 2) c1[r] = _mm256_add_ps(c1[r], b1);
        }
    }
    if (full) {
#pragma GCC unroll 6
        for (int r = 0; r < mr; r++) {
            _mm256_storeu_ps(c + r * ldc, c0[r]);
            if (nv == 2) _mm256_storeu_ps(c + r * ldc + 8, c1[r]);
        }
        return;
    }
    /* vmaskmovps stores are microcoded on AMD (~20× a plain store): the partial vector
     * goes through the stack, copied in fixed 4-, 2- and 1-float pieces (inlined moves) */
    _Alignas(32) float t[8];
    int j0 = nv == 2 ? 8 : 0, w = nr - j0;
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++) {
        float *cr = c + r * ldc + j0;
        if (nv == 2) _mm256_storeu_ps(cr - 8, c0[r]);
        _mm256_store_ps(t, nv == 2 ? c1[r] : c0[r]);
        int j = 0;
        if (w & 4) memcpy(cr, t, 16), j = 4;
        if (w & 2) memcpy(cr + j, t + j, 8), j += 2;
        if (w & 1) cr[j] = t[j];
    }
}

#define TILE_ROWS(NV, FULL)                                                                        \
    switch (mr) {                                                                                  \
    case 6: tile(6, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, nr, m0, m1, add, bias); break;         \
    case 5: tile(5, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, nr, m0, m1, add, bias); break;         \
    case 4: tile(4, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, nr, m0, m1, add, bias); break;         \
    case 3: tile(3, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, nr, m0, m1, add, bias); break;         \
    case 2: tile(2, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, nr, m0, m1, add, bias); break;         \
    default: tile(1, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, nr, m0, m1, add, bias); break;        \
    }

/* One tile of mr ≤ 6 rows and nr ≤ 16 columns: picks the instantiation. */
static void tile_any(int mr, int nr, int kc, const float *a, ptrdiff_t ai, ptrdiff_t ap,
                     const float *b, ptrdiff_t bs, float *c, ptrdiff_t ldc, int add,
                     const float *bias)
{
    __m256i m0 = lanes(nr < 8 ? nr : 8), m1 = lanes(nr > 8 ? nr - 8 : 0);
    if (nr == 16)
        TILE_ROWS(2, 1)
    else if (nr > 8)
        TILE_ROWS(2, 0)
    else if (nr == 8)
        TILE_ROWS(1, 1)
    else
        TILE_ROWS(1, 0)
}

/* One 16-wide panel from w ≤ 16 rows of Bᵀ (row j at src + j·ld, contiguous in p), 8×8
 * blocks at a time; rows past w become zero columns. */
static void pack_cols(const float *src, ptrdiff_t ld, int kc, int w, float *dst)
{
    for (int h = 0; h < NR; h += 8) {
        int p = 0;
        if (w >= h + 8) /* the common case, free of per-row conditions */
            for (; p + 8 <= kc; p += 8) {
                __m256 r[8];
#pragma GCC unroll 8
                for (int j = 0; j < 8; j++)
                    r[j] = _mm256_loadu_ps(src + (h + j) * ld + p);
                nn_transpose8(r);
#pragma GCC unroll 8
                for (int i = 0; i < 8; i++)
                    _mm256_storeu_ps(dst + (p + i) * NR + h, r[i]);
            }
        for (; p < kc; p += 8) {
            int pw = kc - p < 8 ? kc - p : 8;
            __m256i mk = lanes(pw);
            __m256 r[8];
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) {
                const float *row = src + (h + j) * ld + p;
                r[j] = h + j >= w ? _mm256_setzero_ps()
                       : pw == 8  ? _mm256_loadu_ps(row)
                                  : _mm256_maskload_ps(row, mk);
            }
            nn_transpose8(r);
            float *out = dst + p * NR + h;
            if (pw == 8) {
#pragma GCC unroll 8
                for (int i = 0; i < 8; i++)
                    _mm256_storeu_ps(out + i * NR, r[i]);
            } else {
#pragma GCC unroll 8
                for (int i = 0; i < 8; i++)
                    if (i < pw) _mm256_storeu_ps(out + i * NR, r[i]);
            }
        }
    }
}

/* Copies B(p0.., j0..) (kc×nc) into 16-wide panels, zero-padding the last one. */
static void pack_b(const gemm_args *g, int p0, int kc, int j0, int nc)
{
    for (int q = 0; q < nc; q += NR) {
        float *dst = pack_buf + (size_t)q * kc;
        int w = nc - q < NR ? nc - q : NR;
        const float *src = g->b + p0 * g->bp + (j0 + q) * g->bj;
        if (g->bj != 1) { /* nt: B(p, j) = b[j·ldb + p] */
            pack_cols(src, g->bj, kc, w, dst);
            continue;
        }
        /* masked loads read zeros into the padding */
        __m256i m0 = lanes(w < 8 ? w : 8), m1 = lanes(w > 8 ? w - 8 : 0);
        for (int p = 0; p < kc; p++, dst += NR) {
            const float *row = src + p * g->bp;
            _mm256_storeu_ps(dst, w == NR ? _mm256_loadu_ps(row) : _mm256_maskload_ps(row, m0));
            _mm256_storeu_ps(dst + 8,
                             w == NR ? _mm256_loadu_ps(row + 8) : _mm256_maskload_ps(row + 8, m1));
        }
    }
}

/* Copies A(i0.., p0..) (mc×kc) into 6-row panels [p][6]; rows past mc are not read. */
static void pack_a(const gemm_args *g, int i0, int mc, int p0, int kc)
{
    for (int ir = 0; ir < mc; ir += MR) {
        int mr = mc - ir < MR ? mc - ir : MR;
        const float *src = g->a + (i0 + ir) * g->ai + p0 * g->ap;
        float *dst = apack_buf + (size_t)ir * kc;
        if (g->ai == 1 && mr == MR) /* tn: six contiguous floats per p */
            for (int p = 0; p < kc; p++, dst += MR, src += g->ap)
                memcpy(dst, src, MR * 4);
        else if (g->ai == 1)
            for (int p = 0; p < kc; p++, dst += MR, src += g->ap)
                for (int r = 0; r < mr; r++)
                    dst[r] = src[r];
        else if (mr == MR) { /* nn: 6×8 blocks, transposed; each 8-float store spills 2
                              * floats into the next slot, which the next store rewrites */
            int p = 0;
            for (; p + 8 <= kc; p += 8) {
                __m256 r[8];
#pragma GCC unroll 8
                for (int i = 0; i < 8; i++)
                    r[i] = i < MR ? _mm256_loadu_ps(src + i * g->ai + p) : _mm256_setzero_ps();
                nn_transpose8(r);
#pragma GCC unroll 8
                for (int i = 0; i < 8; i++)
                    _mm256_storeu_ps(dst + (p + i) * MR, r[i]);
            }
            for (; p < kc; p++)
                for (int r = 0; r < MR; r++)
                    dst[p * MR + r] = src[r * g->ai + p];
        } else
            for (int p = 0; p < kc; p++, dst += MR)
                for (int r = 0; r < mr; r++)
                    dst[r] = src[r * g->ai + p];
    }
}

/* Both operands packed (BLIS order): for big products, where every packed element is
 * reused by many tiles. */
static void gemm_packed(const gemm_args *g, int m, int n, int k, int accumulate)
{
    for (int j0 = 0; j0 < n; j0 += NC) {
        int nc = n - j0 < NC ? n - j0 : NC;
        for (int p0 = 0; p0 < k; p0 += KC) {
            int kc = k - p0 < KC ? k - p0 : KC;
            int add = accumulate || p0 > 0, last = p0 + kc == k;
            pack_b(g, p0, kc, j0, nc);
            for (int i0 = 0; i0 < m; i0 += MC) {
                int mc = m - i0 < MC ? m - i0 : MC;
                pack_a(g, i0, mc, p0, kc);
                for (int q = 0; q < nc; q += NR) {
                    int nr = nc - q < NR ? nc - q : NR;
                    const float *b = pack_buf + (size_t)q * kc;
                    float *c = g->c + i0 * g->ldc + j0 + q;
                    const float *bias = last && g->bias ? g->bias + j0 + q : NULL;
                    for (int ir = 0; ir < mc; ir += MR) {
                        int mr = mc - ir < MR ? mc - ir : MR;
                        const float *a = apack_buf + (size_t)ir * kc;
                        for (int r = 0; r < mr; r++) /* C is touched only after the kc loop */
                            _mm_prefetch((const char *)(c + (ir + r) * g->ldc), _MM_HINT_T0),
                                _mm_prefetch((const char *)(c + (ir + r) * g->ldc + 15),
                                             _MM_HINT_T0);
                        if (mr == MR && nr == NR)
                            tile(MR, 2, 1, kc, a, 1, MR, b, NR, c + ir * g->ldc, g->ldc, NR,
                                 _mm256_setzero_si256(), _mm256_setzero_si256(), add, bias);
                        else
                            tile_any(mr, nr, kc, a, 1, MR, b, NR, c + ir * g->ldc, g->ldc, add,
                                     bias);
                    }
                }
            }
        }
    }
}

/* A read in place (broadcasts from any strides), B in place when its rows are contiguous
 * (nn, tn) and packed otherwise (nt): for small products, where packing costs as much as
 * it saves.  Column panels are the outer loop, so one B panel stays in L1 for all row
 * tiles, and rows are split into tiles of 5–6 (never a thin 1–2 row remainder, whose few
 * accumulators would leave the FMA pipes waiting on latency). */
static void gemm_direct(const gemm_args *g, int m, int n, int k, int accumulate)
{
    int tiles = (m + MR - 1) / MR, base = m / tiles, extra = m % tiles;
    for (int j0 = 0; j0 < n; j0 += NC) {
        int nc = n - j0 < NC ? n - j0 : NC;
        for (int p0 = 0; p0 < k; p0 += KC) {
            int kc = k - p0 < KC ? k - p0 : KC;
            int add = accumulate || p0 > 0, last = p0 + kc == k;
            const float *b = g->b + p0 * g->bp + j0;
            ptrdiff_t bs = g->bp, qs = NR;
            if (g->bj != 1) {
                pack_b(g, p0, kc, j0, nc);
                b = pack_buf, bs = NR, qs = (ptrdiff_t)NR * kc;
            }
            for (int q = 0; q < nc; q += NR) {
                int nr = nc - q < NR ? nc - q : NR;
                const float *bq = b + q / NR * qs;
                float *c = g->c + j0 + q;
                const float *bias = last && g->bias ? g->bias + j0 + q : NULL;
                const float *a = g->a + p0 * g->ap;
                for (int t = 0, i0 = 0; t < tiles; t++) {
                    int mr = base + (t < extra);
                    tile_any(mr, nr, kc, a + i0 * g->ai, g->ai, g->ap, bq, bs, c + i0 * g->ldc,
                             g->ldc, add, bias);
                    i0 += mr;
                }
            }
        }
    }
}

/* Packing A and B costs O(m·k + k·n) copies; it pays once each is reused enough. */
static int want_packed(int m, int n, int k)
{
    return m >= 4 * MR && n >= 4 * NR && (double)m * n * k >= 1 << 20;
}

/* One thread's share of a product: a block of rows or of columns of C. */
typedef struct {
    gemm_args g;
    int m, n, k, accumulate, packed, by_cols, chunk;
} gemm_job;

static void run(const gemm_args *g, int m, int n, int k, int accumulate, int packed)
{
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (int i = 0; i < m && !accumulate; i++)
            memset(g->c + i * g->ldc, 0, (size_t)n * sizeof(float));
        for (int i = 0; g->bias && i < m; i++)
            for (int j = 0; j < n; j++)
                g->c[i * g->ldc + j] += g->bias[j];
        return;
    }
    if (packed)
        gemm_packed(g, m, n, k, accumulate);
    else
        gemm_direct(g, m, n, k, accumulate);
}

static void job_task(void *ctx, int t)
{
    const gemm_job *j = ctx;
    gemm_args g = j->g;
    int lo = t * j->chunk, len = j->by_cols ? j->n : j->m;
    int cnt = len - lo < j->chunk ? len - lo : j->chunk;
    if (cnt <= 0) return;
    if (j->by_cols) {
        g.b += lo * g.bj, g.c += lo;
        if (g.bias) g.bias += lo;
        run(&g, j->m, cnt, j->k, j->accumulate, j->packed);
    } else {
        g.a += lo * g.ai, g.c += lo * g.ldc;
        run(&g, cnt, j->n, j->k, j->accumulate, j->packed);
    }
}

/* Every element of C is computed by one thread, as the same chain of FMAs in p order from
 * 0 (or from C) whichever path and split computes it, so results do not depend on the
 * thread count.  Chunks are whole tiles, so no thread gets an extra edge tile. */
static void gemm(const gemm_args *g, int m, int n, int k, int accumulate)
{
    int packed = want_packed(m, n, k), nt = nn_threads_count();
    if (nt <= 1 || (double)m * n * k < NN_GEMM_SPLIT_MIN) {
        run(g, m, n, k, accumulate, packed);
        return;
    }
    gemm_job j = {*g, m, n, k, accumulate, packed, n >= m, 0};
    int unit = j.by_cols ? NR : MR, units = ((j.by_cols ? n : m) + unit - 1) / unit;
    if (units < nt) nt = units;
    j.chunk = (units + nt - 1) / nt * unit;
    nn_threads_run(nt, job_task, &j);
}

void nn_avx2_sgemm_nn(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                      float *c, int ldc, int accumulate)
{
    gemm_args g = {a, lda, 1, b, ldb, 1, c, ldc, NULL};
    gemm(&g, m, n, k, accumulate);
}

void nn_avx2_sgemm_nt(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                      float *c, int ldc, int accumulate)
{
    gemm_args g = {a, lda, 1, b, 1, ldb, c, ldc, NULL};
    gemm(&g, m, n, k, accumulate);
}

void nn_avx2_sgemm_tn(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                      float *c, int ldc, int accumulate)
{
    gemm_args g = {a, 1, lda, b, ldb, 1, c, ldc, NULL};
    gemm(&g, m, n, k, accumulate);
}

/* One core's FMA peak at 8 lanes: 12 independent accumulator chains (enough to cover the
 * FMA latency on two pipes), timed over ≥ 20 ms; GFLOP/s at 2 flops per lane per FMA. */
double nn_avx2_fma_peak(void)
{
    __m256 acc[12], x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++)
        acc[i] = _mm256_set1_ps((float)i);
    long iters = 0;
    double t0 = nn_threads_cpu_now(), t;
    do {
        for (int r = 0; r < 4096; r++) {
#pragma GCC unroll 12
            for (int i = 0; i < 12; i++)
                acc[i] = _mm256_fmadd_ps(acc[i], x, y);
        }
        iters += 4096;
    } while ((t = nn_threads_cpu_now() - t0) < 0.02);
    float sink = 0;
    for (int i = 0; i < 12; i++)
        sink += _mm256_cvtss_f32(acc[i]);
    __asm__ volatile("" ::"x"(sink)); /* keep the chains */
    return (double)iters * 12 * 8 * 2 / t * 1e-9;
}

void nn_avx2_linear_fwd(int m, int n, int k, const float *x, const float *w, const float *bias,
                        float *y)
{
    gemm_args g = {x, k, 1, w, n, 1, y, n, bias};
    gemm(&g, m, n, k, 0);
}
