/* parallel.c — the public face of the kernels' worker pool (threads.c). */
#include "kernels/parallel.h"

#include "kernels/threads.h"

int nn_parallel_threads(void)
{
    return nn_threads_count();
}

void nn_parallel_run(int ntasks, void (*fn)(void *ctx, int t), void *ctx)
{
    nn_threads_run(ntasks, fn, ctx);
}

void nn_parallel_serial_here(void)
{
    nn_threads_serial_here();
}

void nn_parallel_borrow_core(void)
{
    nn_threads_borrowed(1);
}

void nn_parallel_return_core(void)
{
    nn_threads_borrowed(-1);
}
