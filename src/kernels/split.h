/* split.h — running a kernel's independent ranges on the pool's threads (internal).
 *
 * For kernels whose parts do not interact (rows of a LayerNorm, (batch, head) blocks of
 * attention, elements of GELU): every index is computed by the same code whichever thread
 * takes it, so the results are bit-identical for every thread count. */
#ifndef NN_KERNELS_SPLIT_H
#define NN_KERNELS_SPLIT_H

#include <stddef.h>

/* fn(ctx, lo, hi) over [0, n): in nn_threads_count() contiguous parts whose bounds are
 * multiples of `align` when `work` (the caller's cost estimate, ~ multiply-adds) is at
 * least NN_SPLIT_MIN, else in one call on this thread. */
enum { NN_SPLIT_MIN = 1 << 17 };
void nn_split_range(size_t n, size_t align, double work,
                    void (*fn)(void *ctx, size_t lo, size_t hi), void *ctx);

#endif
