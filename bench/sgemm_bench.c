/* sgemm_bench.c — GFLOP/s of the gemm kernels, scalar vs avx2 (not part of `make check`).
 *
 * Build and run from the top of the tree after ./configure (config.h) and `make`:
 *   gcc -std=c11 -O2 -D_DEFAULT_SOURCE -I. -Isrc bench/sgemm_bench.c libnnrun.a \
 *       libkern_avx2.a -lm -o sgemm_bench && ./sgemm_bench
 * or without the libraries (the scalar files must not get -mavx2, or "scalar" is not scalar):
 *   gcc -std=c11 -O2 -I. -Isrc -mavx2 -mfma -c src/kernels/avx2.c -o avx2.o
 *   gcc -std=c11 -O2 -I. -Isrc -mavx2 -mfma -c src/kernels/gemm_avx2.c -o gemm_avx2.o
 *   gcc -std=c11 -O2 -D_DEFAULT_SOURCE -I. -Isrc bench/sgemm_bench.c src/kernels/ref.c \
 *       src/kernels/dispatch.c avx2.o gemm_avx2.o -lm -o sgemm_bench && ./sgemm_bench
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kernels/kernels.h"

typedef void (*gemm_fn)(int, int, int, const float *, int, const float *, int, float *, int,
                        int);

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Best-of-15 GFLOP/s of C = op(A)·op(B) (m×n×k), each timing ≥ 20 ms: the best run is the
 * least disturbed by other processes. */
static double gflops(gemm_fn f, int layout, int m, int n, int k)
{
    int lda = layout == 2 ? m : k, ldb = layout == 1 ? k : n;
    size_t na = (size_t)m * k, nb = (size_t)k * n;
    float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b);
    float *c = calloc((size_t)m * n, sizeof *c);
    for (size_t i = 0; i < na; i++) a[i] = (float)(i % 17) / 17.0f - 0.5f;
    for (size_t i = 0; i < nb; i++) b[i] = (float)(i % 13) / 13.0f - 0.5f;
    double best = 0, flop = 2.0 * m * n * k;
    for (int rep = 0; rep < 15; rep++) {
        int iters = 0;
        double t0 = now(), t;
        do {
            f(m, n, k, a, lda, b, ldb, c, n, 0);
            iters++;
        } while ((t = now() - t0) < 0.02);
        double g = flop * iters / t * 1e-9;
        best = g > best ? g : best;
    }
    free(a), free(b), free(c);
    return best;
}

int main(void)
{
    static const int shapes[][3] = {{512, 512, 1024}, {32, 200, 30}, {32, 27, 200},
                                    {4096, 200, 30}, {32, 30, 200},  {30, 200, 32},
                                    {200, 27, 32}};
    static const char *const names[] = {"nn", "nt", "tn"};
    const nn_kernels *sc = nn_kernels_get("scalar"), *av = nn_kernels_get("avx2");
    printf("%-16s %-6s %10s %10s   (GFLOP/s)\n", "m x n x k", "layout", "scalar", "avx2");
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int layout = 0; layout < 3; layout++) {
            int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
            gemm_fn fs = layout == 0 ? sc->sgemm_nn : layout == 1 ? sc->sgemm_nt : sc->sgemm_tn;
            char dims[32];
            snprintf(dims, sizeof dims, "%dx%dx%d", m, n, k);
            printf("%-16s %-6s %10.2f", dims, names[layout], gflops(fs, layout, m, n, k));
            if (av) {
                gemm_fn fa = layout == 0 ? av->sgemm_nn : layout == 1 ? av->sgemm_nt : av->sgemm_tn;
                printf(" %10.2f", gflops(fa, layout, m, n, k));
            }
            printf("\n");
        }
    return 0;
}
