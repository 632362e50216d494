/* threads.c — a fixed pool of worker threads for the kernels (see threads.h, kernels.h).
 *
 * Workers are created once, by nn_kernels_set_threads, and sleep on a condition variable
 * between jobs: a job is one generation number, bumped under the mutex.  The caller runs
 * task 0 itself and then waits for the count of finished tasks.  Tasks are assigned to
 * threads by index, never stolen, so a job's split is a pure function of its size.
 */
#include "config.h"

#include <pthread.h>
#include <time.h>

#include "kernels/kernels.h"
#include "kernels/threads.h"

enum { MAX_THREADS = 64 };

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    pthread_mutex_t busy; /* held by the thread whose job is running */
    int nthreads;         /* workers + 1 */
    unsigned long gen;    /* job number */
    int ntasks, finished;
    unsigned long worker_tasks; /* tasks run on workers so far (tests: a split happened) */
    void (*fn)(void *, int);
    void *ctx;
} pool = {PTHREAD_MUTEX_INITIALIZER,
          PTHREAD_COND_INITIALIZER,
          PTHREAD_COND_INITIALIZER,
          PTHREAD_MUTEX_INITIALIZER,
          1,
          0,
          0,
          0,
          0,
          NULL,
          NULL};

/* The job number when each worker was created: a worker must not mistake a job that ran
 * before it existed for a new one (set_threads holds `busy`, so none runs meanwhile). */
static unsigned long born[MAX_THREADS];

static void *worker(void *arg)
{
    int id = (int)(size_t)arg;
    pthread_mutex_lock(&pool.mu);
    unsigned long seen = born[id];
    for (;;) {
        while (pool.gen == seen)
            pthread_cond_wait(&pool.wake, &pool.mu);
        seen = pool.gen;
        if (id >= pool.ntasks) continue; /* not needed for this job */
        void (*fn)(void *, int) = pool.fn;
        void *ctx = pool.ctx;
        pthread_mutex_unlock(&pool.mu);
        fn(ctx, id);
        pthread_mutex_lock(&pool.mu);
        pool.worker_tasks++;
        if (++pool.finished == pool.ntasks - 1) pthread_cond_signal(&pool.done);
    }
    return NULL;
}

/* Growing only: workers are never torn down, and a smaller n just leaves some idle. */
void nn_kernels_set_threads(int n)
{
    if (n < 1) n = 1;
    if (n > MAX_THREADS) n = MAX_THREADS;
    pthread_mutex_lock(&pool.busy);
    static int started = 1;
    for (; started < n; started++) {
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        born[started] = pool.gen;
        int err = pthread_create(&t, &at, worker, (void *)(size_t)started);
        pthread_attr_destroy(&at);
        if (err) break; /* run with the threads we have */
    }
    pool.nthreads = n < started ? n : started;
    pthread_mutex_unlock(&pool.busy);
}

int nn_threads_count(void)
{
    return pool.nthreads;
}

unsigned long nn_threads_worker_tasks(void)
{
    pthread_mutex_lock(&pool.mu);
    unsigned long n = pool.worker_tasks;
    pthread_mutex_unlock(&pool.mu);
    return n;
}

/* Set on a thread that must not take the pool (a background evaluation beside training). */
static _Thread_local int serial_here;

void nn_threads_serial_here(void)
{
    serial_here = 1;
}

void nn_threads_run(int ntasks, void (*fn)(void *ctx, int t), void *ctx)
{
    if (ntasks <= 1 || serial_here || pthread_mutex_trylock(&pool.busy) != 0) {
        for (int t = 0; t < ntasks; t++)
            fn(ctx, t);
        return;
    }
    int nt = ntasks < pool.nthreads ? ntasks : pool.nthreads;
    pthread_mutex_lock(&pool.mu);
    pool.fn = fn, pool.ctx = ctx, pool.ntasks = nt, pool.finished = 0;
    pool.gen++;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    for (int t = 0; t < ntasks; t = t ? t + 1 : nt)
        fn(ctx, t); /* task 0, then any excess */
    pthread_mutex_lock(&pool.mu);
    while (pool.finished < nt - 1)
        pthread_cond_wait(&pool.done, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
    pthread_mutex_unlock(&pool.busy);
}

double nn_threads_cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct {
    size_t n, per;
    void (*fn)(void *, size_t, size_t);
    void *ctx;
} range_job;

static void range_task(void *ctx, int t)
{
    const range_job *j = ctx;
    size_t lo = (size_t)t * j->per, hi = lo + j->per < j->n ? lo + j->per : j->n;
    if (lo < hi) j->fn(j->ctx, lo, hi);
}

void nn_threads_split(size_t n, void (*fn)(void *ctx, size_t lo, size_t hi), void *ctx)
{
    int nt = pool.nthreads;
    if (nt <= 1 || (double)n < NN_ELEMENTWISE_SPLIT_MIN) {
        fn(ctx, 0, n);
        return;
    }
    size_t per = ((n + (size_t)nt - 1) / (size_t)nt + 15) & ~(size_t)15; /* whole 16-float strips */
    range_job j = {n, per, fn, ctx};
    nn_threads_run(nt, range_task, &j);
}
