/* threads.h — the kernels' worker pool (internal; nn_kernels_set_threads is in kernels.h). */
#ifndef NN_KERNELS_THREADS_H
#define NN_KERNELS_THREADS_H

/* Threads the pool runs work on (the caller included): 1 until nn_kernels_set_threads. */
int nn_threads_count(void);

/* Runs fn(ctx, t) for t = 0 .. ntasks−1, task t on thread t (the caller does task 0), and
 * returns when all are done.  ntasks ≤ nn_threads_count().  When the pool is busy (a call
 * from another thread, or from inside a task), runs every task on the calling thread. */
void nn_threads_run(int ntasks, void (*fn)(void *ctx, int t), void *ctx);

/* Tasks the workers (not the calling threads) have run since the start: a test's proof
 * that a job was really split. */
unsigned long nn_threads_worker_tasks(void);

/* From now on, nn_threads_run called on this thread runs every task on it. */
void nn_threads_serial_here(void);

/* The calling thread's CPU seconds (the FMA-peak loops: time other processes hold the
 * core does not count, so a busy machine does not lower the peak). */
double nn_threads_cpu_now(void);

#endif
