/* gemm_avx2.c — single-precision gemm with AVX2+FMA (compiled with -mavx2 -mfma).
 *
 * One register-blocked micro-kernel serves all three layouts: it computes an MR×NR = 6×16
 * tile of C in 12 ymm accumulators, broadcasting A(i, p) from any strides (so Aᵀ costs
 * nothing) and reading B(p, j..j+15) as contiguous rows.  B is read in place when its rows
 * are already contiguous (nn, tn); otherwise (nt, by 8×8 transposes), or when B is large
 * enough for locality to matter, a KC×NC block of it is first packed into 16-wide panels.
 * Widely strided Aᵀ (tn with lda ≥ 256) is copied per 6-row block.  Scratch is static
 * thread-local (262 KiB per thread), never malloc'd.  Edge tiles use masked loads and
 * stores, so any m, n, k ≥ 1 works; k = 0 gives C = 0 (or leaves it, when accumulating).
 */
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "kernels/avx2.h"

enum { MR = 6, NR = 16, KC = 256, NC = 256 };

/* The packed B block: panel q (columns q·16 ..) is kc×16 floats at pack_buf + q·16·kc. */
static _Thread_local _Alignas(32) float pack_buf[KC * NC];

/* A(i, p) = a[i·ai + p·ap];  B(p, j) = b[p·bp + j·bj]. */
typedef struct {
    const float *a;
    ptrdiff_t ai, ap;
    const float *b;
    ptrdiff_t bp, bj;
    float *c;
    ptrdiff_t ldc;
} gemm_args;

/* Lane masks: the first r lanes set. */
static __m256i lanes(int r)
{
    static const int32_t src[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(src + 8 - r));
}

/* The micro-kernel.  mr, nv (1 or 2 vectors of columns) and full (no masking) are
 * compile-time constants at every call site, so the loops unroll and the accumulators
 * stay in registers.  B row p is at b + p·bs; m0/m1 mask the two column vectors. */
static inline __attribute__((always_inline)) void
tile(const int mr, const int nv, const int full, int kc, const float *a, ptrdiff_t ai,
     ptrdiff_t ap, const float *b, ptrdiff_t bs, float *c, ptrdiff_t ldc, __m256i m0,
     __m256i m1, int add)
{
    const int lo_full = full || nv == 2; /* with two vectors only the second is partial */
    __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++) {
        float *cr = c + r * ldc;
        c0[r] = !add ? _mm256_setzero_ps()
                : lo_full ? _mm256_loadu_ps(cr) : _mm256_maskload_ps(cr, m0);
        c1[r] = nv == 1 || !add ? _mm256_setzero_ps()
                : full ? _mm256_loadu_ps(cr + 8) : _mm256_maskload_ps(cr + 8, m1);
    }
    for (int p = 0; p < kc; p++, a += ap, b += bs) {
        __m256 b0 = lo_full ? _mm256_loadu_ps(b) : _mm256_maskload_ps(b, m0);
        __m256 b1 = nv == 1 ? _mm256_setzero_ps()
                    : full  ? _mm256_loadu_ps(b + 8) : _mm256_maskload_ps(b + 8, m1);
#pragma GCC unroll 6
        for (int r = 0; r < mr; r++) {
            __m256 av = _mm256_broadcast_ss(a + r * ai);
            c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
            if (nv == 2) c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++) {
        float *cr = c + r * ldc;
        if (lo_full) _mm256_storeu_ps(cr, c0[r]);
        else _mm256_maskstore_ps(cr, m0, c0[r]);
        if (nv == 2 && full) _mm256_storeu_ps(cr + 8, c1[r]);
        else if (nv == 2) _mm256_maskstore_ps(cr + 8, m1, c1[r]);
    }
}

#define TILE_ROWS(NV, FULL)                                                               \
    switch (mr) {                                                                         \
    case 6: tile(6, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, m0, m1, add); break;          \
    case 5: tile(5, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, m0, m1, add); break;          \
    case 4: tile(4, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, m0, m1, add); break;          \
    case 3: tile(3, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, m0, m1, add); break;          \
    case 2: tile(2, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, m0, m1, add); break;          \
    default: tile(1, NV, FULL, kc, a, ai, ap, b, bs, c, ldc, m0, m1, add); break;         \
    }

/* One tile of mr ≤ 6 rows and nr ≤ 16 columns: picks the instantiation. */
static void tile_any(int mr, int nr, int kc, const float *a, ptrdiff_t ai, ptrdiff_t ap,
                     const float *b, ptrdiff_t bs, float *c, ptrdiff_t ldc, int add)
{
    __m256i m0 = lanes(nr < 8 ? nr : 8), m1 = lanes(nr > 8 ? nr - 8 : 0);
    if (nr == 16) TILE_ROWS(2, 1)
    else if (nr > 8) TILE_ROWS(2, 0)
    else if (nr == 8) TILE_ROWS(1, 1)
    else TILE_ROWS(1, 0)
}

/* Transposes the 8×8 block held in r[0..7] (row i becomes column i). */
static inline __attribute__((always_inline)) void transpose8(__m256 r[8])
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

/* One 16-wide panel from w ≤ 16 rows of Bᵀ (row j at src + j·ld, contiguous in p), 8×8
 * blocks at a time; rows past w become zero columns. */
static void pack_cols(const float *src, ptrdiff_t ld, int kc, int w, float *dst)
{
    for (int h = 0; h < NR; h += 8)
        for (int p = 0; p < kc; p += 8) {
            int pw = kc - p < 8 ? kc - p : 8;
            __m256i mk = lanes(pw);
            __m256 r[8];
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) {
                const float *row = src + (h + j) * ld + p;
                r[j] = h + j >= w ? _mm256_setzero_ps()
                       : pw == 8  ? _mm256_loadu_ps(row) : _mm256_maskload_ps(row, mk);
            }
            transpose8(r);
            float *out = dst + p * NR + h;
            if (pw == 8) {
#pragma GCC unroll 8
                for (int i = 0; i < 8; i++) _mm256_storeu_ps(out + i * NR, r[i]);
            } else {
#pragma GCC unroll 8
                for (int i = 0; i < 8; i++)
                    if (i < pw) _mm256_storeu_ps(out + i * NR, r[i]);
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
            _mm256_storeu_ps(dst + 8, w == NR ? _mm256_loadu_ps(row + 8)
                                              : _mm256_maskload_ps(row + 8, m1));
        }
    }
}

/* When Aᵀ rows (tn) lie ≥ 1 KiB apart, the kc lines a tile reads map to few L1 sets and
 * evict each other (at lda = 4096 all to one).  Then the mr×kc A block is first copied to
 * [p][MR] order; the copy is reused by every panel of the row. */
static _Thread_local _Alignas(32) float apack_buf[KC * MR];

static const float *pack_a(const float *a, ptrdiff_t ai, ptrdiff_t ap, int mr, int kc)
{
    for (int p = 0; p < kc; p++)
        for (int r = 0; r < mr; r++) apack_buf[p * MR + r] = a[r * ai + p * ap];
    return apack_buf;
}

/* C(:, j0..j0+nc) (+)= A(:, p0..p0+kc) · B-block, with B read from `b` rows of stride bs
 * (panel q at b + q·qs). */
static void block(const gemm_args *g, int m, int p0, int kc, int j0, int nc, const float *b,
                  ptrdiff_t bs, ptrdiff_t qs, int add)
{
    int repack_a = g->ap >= 256 && nc > 2 * NR;
    for (int i0 = 0; i0 < m; i0 += MR) {
        int mr = m - i0 < MR ? m - i0 : MR;
        const float *a = g->a + i0 * g->ai + p0 * g->ap;
        ptrdiff_t ai = g->ai, ap = g->ap;
        if (repack_a) a = pack_a(a, ai, ap, mr, kc), ai = 1, ap = MR;
        float *c = g->c + i0 * g->ldc + j0;
        for (int q = 0; q < nc; q += NR) {
            int nr = nc - q < NR ? nc - q : NR;
            tile_any(mr, nr, kc, a, ai, ap, b + q / NR * qs, bs, c + q, g->ldc, add);
        }
    }
}

/* Packing costs O(k·n) copies to save strided B reads over O(m·n·k) work: it pays when B
 * cannot be read as rows (nt), or when many row tiles reuse a B block too big for L1. */
static int want_pack(const gemm_args *g, int m, int kc, int nc)
{
    if (g->bj != 1) return 1;
    return m > 4 * MR && (size_t)kc * nc * sizeof(float) > 32 * 1024;
}

static void gemm(const gemm_args *g, int m, int n, int k, int accumulate)
{
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (int i = 0; i < m && !accumulate; i++)
            memset(g->c + i * g->ldc, 0, (size_t)n * sizeof(float));
        return;
    }
    for (int j0 = 0; j0 < n; j0 += NC) {
        int nc = n - j0 < NC ? n - j0 : NC;
        for (int p0 = 0; p0 < k; p0 += KC) {
            int kc = k - p0 < KC ? k - p0 : KC;
            int add = accumulate || p0 > 0;
            if (want_pack(g, m, kc, nc)) {
                pack_b(g, p0, kc, j0, nc);
                block(g, m, p0, kc, j0, nc, pack_buf, NR, (ptrdiff_t)NR * kc, add);
            } else {
                const float *b = g->b + p0 * g->bp + j0;
                block(g, m, p0, kc, j0, nc, b, g->bp, NR, add);
            }
        }
    }
}

void nn_avx2_sgemm_nn(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                      float *c, int ldc, int accumulate)
{
    gemm_args g = {a, lda, 1, b, ldb, 1, c, ldc};
    gemm(&g, m, n, k, accumulate);
}

void nn_avx2_sgemm_nt(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                      float *c, int ldc, int accumulate)
{
    gemm_args g = {a, lda, 1, b, 1, ldb, c, ldc};
    gemm(&g, m, n, k, accumulate);
}

void nn_avx2_sgemm_tn(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                      float *c, int ldc, int accumulate)
{
    gemm_args g = {a, 1, lda, b, ldb, 1, c, ldc};
    gemm(&g, m, n, k, accumulate);
}
