/* dispatch.c — choosing a kernel table by CPUID or by NNRUN_ISA (see kernels.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#ifdef NN_HAVE_AVX2
#include "kernels/avx2.h"
#endif
#ifdef NN_HAVE_AVX512
#include "kernels/avx512.h"
#endif

const nn_kernels *nn_k = &nn_kernels_scalar;

/* The CPU check runs only where the AVX2 file is compiled in, i.e. on x86 with GCC/Clang. */
static int cpu_has_avx2(void)
{
#ifdef NN_HAVE_AVX2
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static int cpu_has_avx512(void)
{
#ifdef NN_HAVE_AVX512
    __builtin_cpu_init();
    return cpu_has_avx2() && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
#else
    return 0;
#endif
}

int nn_kernels_supported(const char *isa)
{
    if (!isa) return 0;
    if (strcmp(isa, "scalar") == 0) return 1;
    if (strcmp(isa, "avx2") == 0) return cpu_has_avx2();
    if (strcmp(isa, "avx512") == 0) return cpu_has_avx512();
    return 0; /* unknown */
}

/* NULL also for tables this CPU cannot run, so that a caller can never pick one by mistake. */
const nn_kernels *nn_kernels_get(const char *isa)
{
    if (!nn_kernels_supported(isa)) return NULL;
    if (strcmp(isa, "scalar") == 0) return &nn_kernels_scalar;
#ifdef NN_HAVE_AVX2
    if (strcmp(isa, "avx2") == 0) return &nn_kernels_avx2;
#endif
#ifdef NN_HAVE_AVX512
    if (strcmp(isa, "avx512") == 0) return nn_kernels_avx512_table();
#endif
    return NULL;
}

int nn_kernels_select(const char *want)
{
    if (!want) want = getenv("NNRUN_ISA");
    if (!want || !*want) {
        static const char *const best_first[] = {"avx512", "avx2", "scalar"};
        for (size_t i = 0; i < sizeof best_first / sizeof *best_first; i++) {
            const nn_kernels *t = nn_kernels_get(best_first[i]);
            if (t) {
                nn_k = t;
                return 0;
            }
        }
        return -1; /* unreachable: scalar is always there */
    }
    const nn_kernels *t = nn_kernels_get(want);
    if (!t) return -1;
    nn_k = t;
    return 0;
}

/* The best of five 20 ms probes: on a shared core the best is the least disturbed. */
static double best_of(double (*probe)(void))
{
    double best = 0;
    for (int i = 0; i < 5; i++) {
        double g = probe();
        best = g > best ? g : best;
    }
    return best;
}

double nn_kernels_fma_peak(const nn_kernels *k)
{
    if (!k) return 0;
#ifdef NN_HAVE_AVX512
    if (strcmp(k->isa, "avx512") == 0) return best_of(nn_avx512_fma_peak);
#endif
#ifdef NN_HAVE_AVX2
    if (strcmp(k->isa, "avx2") == 0) return best_of(nn_avx2_fma_peak);
#endif
    return 0;
}
