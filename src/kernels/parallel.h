/* parallel.h — the kernels' thread pool, for callers that split their own work (split
 * evaluation runs one plan per thread).  The pool is the one nn_kernels_set_threads made. */
#ifndef NN_PARALLEL_H
#define NN_PARALLEL_H

/* Threads available (the caller included): 1 unless nn_kernels_set_threads gave more. */
int nn_parallel_threads(void);
/* Runs fn(ctx, t) for t = 0 .. ntasks−1 (ntasks ≤ nn_parallel_threads()), task t on thread t,
 * and returns when all are done.  Kernels called inside a task run single-threaded. */
void nn_parallel_run(int ntasks, void (*fn)(void *ctx, int t), void *ctx);

/* The calling thread never uses the pool from now on (kernels called on it run
 * single-threaded): for a thread that works beside the one that owns the pool. */
void nn_parallel_serial_here(void);

/* A thread working beside the pool's owner (a background evaluation) borrows a core: until it
 * returns it, every job runs on its caller alone, so that the owner never waits at a barrier
 * for a worker the scheduler has set aside.  Results are the same bits either way. */
void nn_parallel_borrow_core(void);
void nn_parallel_return_core(void);

#endif
