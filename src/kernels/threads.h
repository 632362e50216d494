/* threads.h — the kernels' worker pool (internal; nn_kernels_set_threads is in kernels.h). */
#ifndef NN_KERNELS_THREADS_H
#define NN_KERNELS_THREADS_H

/* Elementwise and normalisation kernels split over threads only from this many elements
 * (m·n): below it the wake-up costs more than half the work. */
#define NN_ELEMENTWISE_SPLIT_MIN ((double)(1 << 16))

/* Threads the pool runs work on (the caller included): 1 until nn_kernels_set_threads. */
int nn_threads_count(void);

/* Runs fn(ctx, t) for t = 0 .. ntasks−1, task t on thread t (the caller does task 0), and
 * returns when all are done.  ntasks ≤ nn_threads_count().  When the pool is busy (a call
 * from another thread, or from inside a task), runs every task on the calling thread. */
void nn_threads_run(int ntasks, void (*fn)(void *ctx, int t), void *ctx);

/* Tasks the workers (not the calling threads) have run since the start: a test's proof
 * that a job was really split. */
unsigned long nn_threads_worker_tasks(void);

/* Tests: 1 = each task runs on its own thread, the caller never takes a worker's (it does
 * when the worker has not started it: which thread runs a task is otherwise a race). */
void nn_threads_strict(int on);

/* From now on, nn_threads_run called on this thread runs every task on it. */
void nn_threads_serial_here(void);

/* Cores borrowed by threads beside the pool (+1 / −1): while any is, nn_threads_run runs
 * every task on its caller. */
void nn_threads_borrowed(int delta);

/* fn(ctx, lo, hi) over [0, n): one call, or — from NN_ELEMENTWISE_SPLIT_MIN elements with
 * 2+ threads — one contiguous range per thread, split at multiples of 16 (elementwise work,
 * whose every element is computed alike wherever the split falls). */
#include <stddef.h>
void nn_threads_split(size_t n, void (*fn)(void *ctx, size_t lo, size_t hi), void *ctx);

/* The calling thread's CPU seconds (the FMA-peak loops: time other processes hold the
 * core does not count, so a busy machine does not lower the peak). */
double nn_threads_cpu_now(void);

#endif
