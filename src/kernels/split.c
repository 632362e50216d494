/* split.c — nn_split_range (split.h) on the kernels' worker pool. */
#include "kernels/split.h"

#include "kernels/threads.h"

typedef struct {
    size_t n, align;
    int parts;
    void (*fn)(void *, size_t, size_t);
    void *ctx;
} job;

/* part t of `parts`: [bound(t), bound(t + 1)), bounds multiples of align (the last is n) */
static size_t bound(const job *j, int t)
{
    if (t >= j->parts) return j->n;
    size_t units = (j->n + j->align - 1) / j->align;
    size_t b = units * (size_t)t / (size_t)j->parts * j->align;
    return b < j->n ? b : j->n;
}

static void part(void *ctx, int t)
{
    const job *j = ctx;
    size_t lo = bound(j, t), hi = bound(j, t + 1);
    if (lo < hi) j->fn(j->ctx, lo, hi);
}

void nn_split_range(size_t n, size_t align, double work,
                    void (*fn)(void *ctx, size_t lo, size_t hi), void *ctx)
{
    int parts = nn_threads_count();
    if (align < 1) align = 1;
    if (parts > 1 && (n + align - 1) / align < (size_t)parts)
        parts = (int)((n + align - 1) / align);
    if (parts <= 1 || work < NN_SPLIT_MIN) {
        if (n) fn(ctx, 0, n);
        return;
    }
    job j = {n, align, parts, fn, ctx};
    nn_threads_run(parts, part, &j);
}
