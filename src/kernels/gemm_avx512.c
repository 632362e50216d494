/* gemm_avx512.c — single-precision gemm with AVX-512F (compiled with -mavx512f -mavx512vl
 * -mavx512bw -mavx2 -mfma).
 *
 * The same design as gemm_avx2.c, 16 floats a vector: one register-blocked micro-kernel for
 * all three layouts computes an MR×NR = 12×32 tile of C in 24 zmm accumulators,
 * broadcasting A(i, p) from any strides and reading B(p, j..j+31) as contiguous rows.  Big
 * products pack both operands (BLIS order), small ones read A in place and B in place when
 * its rows are contiguous (nn, tn), packed by 8×8 transposes for nt.  Edge columns use
 * AVX-512 lane masks (masked loads and stores are cheap here, unlike AVX2's vmaskmovps on
 * AMD).  Every element of C is the same chain of FMAs in p order as in gemm_avx2.c and the
 * reference order, so the split over threads never changes a bit.
 */
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "kernels/avx2_transpose.h"
#include "kernels/avx512.h"
#include "kernels/threads.h"

/* Zen 4/5 (L1d 32/48 KiB, L2 1 MiB): a kc×32 B panel (≤ 32 KiB at KC = 256) is met by
 * every 12-row A panel of an MC×KC block (144 KiB, in L2).  PF: the rows of A and B the
 * micro-kernel (and the tn packing of A) prefetch ahead of the one they read.  In a training
 * step a gemm's operands come cold from L3 or memory (the other layers' tensors evicted
 * them), and a tile reads A with a stride the hardware prefetcher does not follow: without
 * it the small-n products (dW = Xᵀ·dY of 512 rows) ran ~40% slower cold than warm. */
enum { MR = 12, NR = 32, KC = 256, MC = 144, NC = 1024, PF = 32 };

static _Thread_local _Alignas(64) float pack_buf[KC * NC];
static _Thread_local _Alignas(64) float apack_buf[MC * KC + 16];

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

static __mmask16 lanes16(int r)
{
    return r >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (r > 0 ? r : 0)) - 1u);
}

/* The micro-kernel: mr rows, nv (1 or 2) vectors of 16 columns, `full` = no masks; all
 * three are constants at each call site, so the accumulators stay in registers. */
static inline __attribute__((always_inline)) void tile(const int mr, const int nv, const int full,
                                                       int kc, const float *a, ptrdiff_t ai,
                                                       ptrdiff_t ap, const float *b, ptrdiff_t bs,
                                                       float *c, ptrdiff_t ldc, __mmask16 m0,
                                                       __mmask16 m1, int add, const float *bias)
{
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
    for (int r = 0; r < mr; r++) {
        float *cr = c + r * ldc;
        c0[r] = !add   ? _mm512_setzero_ps()
                : full ? _mm512_loadu_ps(cr)
                       : _mm512_maskz_loadu_ps(m0, cr);
        c1[r] = nv == 1 || !add ? _mm512_setzero_ps()
                : full          ? _mm512_loadu_ps(cr + 16)
                                : _mm512_maskz_loadu_ps(m1, cr + 16);
    }
#pragma GCC unroll 2
    for (int p = 0; p < kc; p++, a += ap, b += bs) {
        _mm_prefetch((const char *)(a + PF * ap), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + PF * bs), _MM_HINT_T0);
        if (nv == 2) _mm_prefetch((const char *)(b + PF * bs + 16), _MM_HINT_T0);
        __m512 b0 = full ? _mm512_loadu_ps(b) : _mm512_maskz_loadu_ps(m0, b);
        __m512 b1 = nv == 1 ? _mm512_setzero_ps()
                    : full  ? _mm512_loadu_ps(b + 16)
                            : _mm512_maskz_loadu_ps(m1, b + 16);
#pragma GCC unroll 12
        for (int r = 0; r < mr; r++) {
            __m512 av = _mm512_set1_ps(a[r * ai]);
            c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
            if (nv == 2) c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
        }
    }
    if (bias) { /* linear_fwd: C + bias once the sum is complete, as bias_add adds it */
        __m512 b0 = full ? _mm512_loadu_ps(bias) : _mm512_maskz_loadu_ps(m0, bias);
        __m512 b1 = nv == 1 ? _mm512_setzero_ps()
                    : full  ? _mm512_loadu_ps(bias + 16)
                            : _mm512_maskz_loadu_ps(m1, bias + 16);
#pragma GCC unroll 12
        for (int r = 0; r < mr; r++) {
            c0[r] = _mm512_add_ps(c0[r], b0);
            if (nv == 2) c1[r] = _mm512_add_ps(c1[r], b1);
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < mr; r++) {
        float *cr = c + r * ldc;
        if (full) {
            _mm512_storeu_ps(cr, c0[r]);
            if (nv == 2) _mm512_storeu_ps(cr + 16, c1[r]);
        } else {
            _mm512_mask_storeu_ps(cr, m0, c0[r]);
            if (nv == 2) _mm512_mask_storeu_ps(cr + 16, m1, c1[r]);
        }
    }
}

#define TILE_ROWS(NV, FULL)                                                                        \
    switch (mr) {                                                                                  \
    case 12: tile(12, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, m0, m1, add, bias); break;           \
    case 11: tile(11, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, m0, m1, add, bias); break;           \
    case 10: tile(10, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, m0, m1, add, bias); break;           \
    case 9: tile(9, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, m0, m1, add, bias); break;             \
    case 8: tile(8, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, m0, m1, add, bias); break;             \
    case 7: tile(7, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, m0, m1, add, bias); break;             \
    case 6: tile(6, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, m0, m1, add, bias); break;             \
    case 5: tile(5, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, m0, m1, add, bias); break;             \
    case 4: tile(4, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, m0, m1, add, bias); break;             \
    case 3: tile(3, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, m0, m1, add, bias); break;             \
    case 2: tile(2, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, m0, m1, add, bias); break;             \
    default: tile(1, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, m0, m1, add, bias); break;            \
    }

/* One tile of mr ≤ 12 rows and nr ≤ 32 columns: picks the instantiation. */
static void tile_any(int mr, int nr, int kc, const float *a, ptrdiff_t ai, ptrdiff_t ap,
                     const float *b, ptrdiff_t bs, float *c, ptrdiff_t ldc, int add,
                     const float *bias)
{
    __mmask16 m0 = lanes16(nr), m1 = lanes16(nr - 16);
    if (nr == 32)
        TILE_ROWS(2, 1)
    else if (nr > 16)
        TILE_ROWS(2, 0)
    else if (nr == 16)
        TILE_ROWS(1, 1)
    else
        TILE_ROWS(1, 0)
}

/* One 32-wide panel from w ≤ 32 rows of Bᵀ (row j at src + j·ld, contiguous in p), 8×8
 * blocks at a time; rows past w become zero columns. */
static void pack_cols(const float *src, ptrdiff_t ld, int kc, int w, float *dst)
{
    for (int h = 0; h < NR; h += 8) {
        for (int p = 0; p < kc; p += 8) {
            int pw = kc - p < 8 ? kc - p : 8;
            __mmask8 mk = (__mmask8)((1u << pw) - 1u);
            __m256 r[8];
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++)
                r[j] = h + j >= w ? _mm256_setzero_ps()
                                  : _mm256_maskz_loadu_ps(mk, src + (h + j) * ld + p);
            nn_transpose8(r);
            float *out = dst + p * NR + h;
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++)
                if (i < pw) _mm256_storeu_ps(out + i * NR, r[i]);
        }
    }
}

/* Copies B(p0.., j0..) (kc×nc) into 32-wide panels, zero-padding the last one. */
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
        __mmask16 m0 = lanes16(w), m1 = lanes16(w - 16);
        for (int p = 0; p < kc; p++, dst += NR) {
            const float *row = src + p * g->bp;
            _mm512_storeu_ps(dst, _mm512_maskz_loadu_ps(m0, row));
            _mm512_storeu_ps(dst + 16, _mm512_maskz_loadu_ps(m1, row + 16));
        }
    }
}

/* Copies A(i0.., p0..) (mc×kc) into 12-row panels [p][12]; rows past mc are not read. */
static void pack_a(const gemm_args *g, int i0, int mc, int p0, int kc)
{
    for (int ir = 0; ir < mc; ir += MR) {
        int mr = mc - ir < MR ? mc - ir : MR;
        const float *src = g->a + (i0 + ir) * g->ai + p0 * g->ap;
        float *dst = apack_buf + (size_t)ir * kc;
        if (g->ai == 1) { /* tn: mr contiguous floats per p */
            __mmask16 mk = lanes16(mr);
            for (int p = 0; p < kc; p++, dst += MR, src += g->ap) {
                _mm_prefetch((const char *)(src + PF * g->ap), _MM_HINT_T0);
                _mm512_mask_storeu_ps(dst, mk, _mm512_maskz_loadu_ps(mk, src));
            }
        } else if (mr == MR) { /* nn: two 8-row halves (4 rows of the second are spill),
                                * 8×8 transposes; the spill is rewritten by the next store */
            int p = 0;
            for (; p + 8 <= kc; p += 8) {
                __m256 r[8], s[8];
#pragma GCC unroll 8
                for (int i = 0; i < 8; i++) {
                    r[i] = _mm256_loadu_ps(src + i * g->ai + p);
                    s[i] = i < MR - 8 ? _mm256_loadu_ps(src + (8 + i) * g->ai + p)
                                      : _mm256_setzero_ps();
                }
                nn_transpose8(r);
                nn_transpose8(s);
#pragma GCC unroll 8
                for (int i = 0; i < 8; i++) {
                    _mm256_storeu_ps(dst + (p + i) * MR, r[i]);
                    _mm_storeu_ps(dst + (p + i) * MR + 8, _mm256_castps256_ps128(s[i]));
                }
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

/* Both operands packed (BLIS order): for big products. */
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
                                _mm_prefetch((const char *)(c + (ir + r) * g->ldc + 31),
                                             _MM_HINT_T0);
                        if (mr == MR && nr == NR)
                            tile(MR, 2, 1, kc, a, 1, MR, b, NR, c + ir * g->ldc, g->ldc, 0xFFFF,
                                 0xFFFF, add, bias);
                        else
                            tile_any(mr, nr, kc, a, 1, MR, b, NR, c + ir * g->ldc, g->ldc, add,
                                     bias);
                    }
                }
            }
        }
    }
}

/* A read in place, B in place when its rows are contiguous (nn, tn) and packed otherwise
 * (nt): for small products.  Rows are split into near-equal tiles of ≤ 12. */
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

static int want_packed(int m, int n, int k)
{
    return m >= 4 * MR && n >= 4 * NR && (double)m * n * k >= 1 << 20;
}

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

/* Split over threads by whole tiles of C (as gemm_avx2.c): bit-identical for any count. */
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

void nn_avx512_sgemm_nn(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                        float *c, int ldc, int accumulate)
{
    gemm_args g = {a, lda, 1, b, ldb, 1, c, ldc, NULL};
    gemm(&g, m, n, k, accumulate);
}

void nn_avx512_sgemm_nt(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                        float *c, int ldc, int accumulate)
{
    gemm_args g = {a, lda, 1, b, 1, ldb, c, ldc, NULL};
    gemm(&g, m, n, k, accumulate);
}

void nn_avx512_sgemm_tn(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                        float *c, int ldc, int accumulate)
{
    gemm_args g = {a, 1, lda, b, ldb, 1, c, ldc, NULL};
    gemm(&g, m, n, k, accumulate);
}

void nn_avx512_linear_fwd(int m, int n, int k, const float *x, const float *w, const float *bias,
                          float *y)
{
    gemm_args g = {x, k, 1, w, n, 1, y, n, bias};
    gemm(&g, m, n, k, 0);
}
