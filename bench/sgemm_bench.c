/* sgemm_bench.c — GFLOP/s of the best vector gemm path here (avx512 or avx2; NNRUN_ISA
 * picks another) against OpenBLAS (not part of `make check`).
 *
 * Build from the top of the tree after ./configure and `make`:
 *   gcc -std=c11 -O2 -D_DEFAULT_SOURCE -I. -Isrc bench/sgemm_bench.c .libs/libnnrun_core.a \
 *       /usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0 -pthread -lm -lyaml -lpcre2-8 -lffi -ljansson -ldl \
 *       -o bench/sgemm_bench
 * Run it with OpenBLAS on its own CPU detection (these machines set two variables for old
 * OpenBLAS builds; unset them in the benchmark command only):
 *   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 ./sgemm_bench [T] [s]
 * T = threads for both libraries (default 1); a second argument "s" adds the scalar column
 * ("-" leaves it out); a third, N, times only the first N shapes.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"

/* OpenBLAS's own entries (the netlib cblas.h the system may resolve lacks them) */
void openblas_set_num_threads(int num_threads);
char *openblas_get_corename(void);

typedef void (*gemm_fn)(int, int, int, const float *, int, const float *, int, float *, int, int);

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cur_layout; /* the OpenBLAS wrapper below needs the layout */
static int threads = 1;

static void blas(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c,
                 int ldc, int accumulate)
{
    enum CBLAS_TRANSPOSE ta = cur_layout == 2 ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE tb = cur_layout == 1 ? CblasTrans : CblasNoTrans;
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, c,
                ldc);
}

/* Best-of-15 GFLOP/s of C = op(A)·op(B) (m×n×k) for each of nf functions, each timing
 * ≥ 20 ms, the functions interleaved so that machine drift hits all of them alike: the best
 * run is the least disturbed by other processes.  With threads, OpenBLAS's workers keep
 * spinning after a call and would take a core from the next timing: it gets a pause. */
static void gflops(int nf, gemm_fn *f, int layout, int m, int n, int k, double *best)
{
    int lda = layout == 2 ? m : k, ldb = layout == 1 ? k : n;
    size_t na = (size_t)m * k, nb = (size_t)k * n;
    float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b);
    float *c = calloc((size_t)m * n, sizeof *c);
    for (size_t i = 0; i < na; i++)
        a[i] = (float)(i % 17) / 17.0f - 0.5f;
    for (size_t i = 0; i < nb; i++)
        b[i] = (float)(i % 13) / 13.0f - 0.5f;
    double flop = 2.0 * m * n * k;
    cur_layout = layout;
    for (int i = 0; i < nf; i++)
        best[i] = 0;
    for (int rep = 0; rep < 15; rep++)
        for (int i = 0; i < nf; i++) {
            int iters = 0;
            double t0 = now(), t;
            do {
                f[i](m, n, k, a, lda, b, ldb, c, n, 0);
                iters++;
            } while ((t = now() - t0) < 0.02);
            double g = flop * iters / t * 1e-9;
            best[i] = g > best[i] ? g : best[i];
            if (threads > 1 && f[i] == blas) /* its workers spin ~0.1 s after a call */
                nanosleep(&(struct timespec){0, 200000000}, NULL);
        }
    free(a), free(b), free(c);
}

int main(int argc, char **argv)
{
    /* 512×512×1024 and the "large" net's 512×1024×512; the lesson-4 MLP's six per-step
     * shapes (each in its own layout below, and the others for comparison); the deep net's
     * 32×100×100; a full-batch eval shape. */
    static const int shapes[][3] = {
        {512, 512, 1024}, {512, 1024, 512}, {32, 200, 30}, {32, 27, 200},  {32, 200, 27},
        {32, 30, 200},    {30, 200, 32},    {200, 27, 32}, {32, 100, 100}, {4096, 200, 30}};
    static const char *const names[] = {"nn", "nt", "tn"};
    threads = argc > 1 ? atoi(argv[1]) : 1;
    int scalar = argc > 2 && strcmp(argv[2], "s") == 0;
    int nshapes = argc > 3 ? atoi(argv[3]) : (int)(sizeof shapes / sizeof *shapes);
    nn_kernels_select(NULL); /* the best path here, or NNRUN_ISA's */
    const nn_kernels *sc = nn_kernels_get("scalar"), *av = nn_k;
    if (av == sc) {
        fprintf(stderr, "no vector path here\n");
        return 1;
    }
    nn_kernels_set_threads(threads);
    openblas_set_num_threads(threads);
    printf("threads %d, nnrun %s, OpenBLAS core %s\n", threads, av->isa, openblas_get_corename());
    printf("%-16s %-6s %10s %10s %7s%s   (GFLOP/s, best of 15)\n", "m x n x k", "layout", "nnrun",
           "openblas", "ratio", scalar ? "     scalar" : "");
    for (int s = 0; s < nshapes && s < (int)(sizeof shapes / sizeof *shapes); s++)
        for (int layout = 0; layout < 3; layout++) {
            int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
            gemm_fn f[3] = {layout == 0   ? av->sgemm_nn
                            : layout == 1 ? av->sgemm_nt
                                          : av->sgemm_tn,
                            blas,
                            layout == 0   ? sc->sgemm_nn
                            : layout == 1 ? sc->sgemm_nt
                                          : sc->sgemm_tn};
            double g[3];
            gflops(scalar ? 3 : 2, f, layout, m, n, k, g);
            char dims[32];
            snprintf(dims, sizeof dims, "%dx%dx%d", m, n, k);
            printf("%-16s %-6s %10.2f %10.2f %7.2f", dims, names[layout], g[0], g[1], g[0] / g[1]);
            if (scalar) printf(" %10.2f", g[2]);
            printf("\n");
            fflush(stdout);
        }
    return 0;
}
