/* threads.c — a fixed pool of worker threads for the kernels (see threads.h, kernels.h).
 *
 * Workers are created once, by nn_kernels_set_threads.  A job is one generation number,
 * bumped under the mutex; the caller runs task 0 itself and then waits for the count of
 * finished tasks.  Task t is meant for worker t, but whoever claims it first runs it: the
 * caller, done with its own, takes those no worker has started (a worker asleep or set aside
 * by a busy machine never holds a step up).  A task's work is a pure function of its index,
 * so the bits never depend on which thread ran it.
 *
 * Both sides spin for a while before they sleep: on a virtual machine a condition-variable
 * wake-up costs 50–100 µs (an idle vCPU is halted), more than any kernel a training step
 * splits, while a spinning thread sees the next job in well under a microsecond.  A worker
 * sleeps after NN_SPIN_US without a job, so an idle pool costs nothing.
 */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

#include "kernels/kernels.h"
#include "kernels/threads.h"

enum { MAX_THREADS = 64 };

/* How long a worker waits for the next job, and the caller for its workers, before sleeping:
 * a training step's parallel kernels come microseconds apart, steps tens of microseconds. */
#define NN_SPIN_US 200.0

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    pthread_mutex_t busy;           /* held by the thread whose job is running */
    int nthreads;                   /* workers + 1 */
    atomic_ulong gen;               /* job number; written under mu, read by spinning workers */
    int ntasks;                     /* written under mu before gen; read after gen */
    atomic_int finished;            /* tasks done by workers in this job */
    int sleepers;                   /* workers in pthread_cond_wait (under mu) */
    int caller_asleep;              /* the caller is in pthread_cond_wait on done (under mu) */
    atomic_ulong worker_tasks;      /* tasks run on workers so far (tests: a split happened) */
    atomic_ulong open[MAX_THREADS]; /* task t of job g is unclaimed while open[t] == g */
    void (*fn)(void *, int);
    void *ctx;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER,
          .done = PTHREAD_COND_INITIALIZER,
          .busy = PTHREAD_MUTEX_INITIALIZER,
          .nthreads = 1};

/* The job number when each worker was created: a worker must not mistake a job that ran
 * before it existed for a new one (set_threads holds `busy`, so none runs meanwhile). */
static unsigned long born[MAX_THREADS];

static double mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return 1e6 * (double)t.tv_sec + 1e-3 * (double)t.tv_nsec;
}

/* Spins until gen differs from `seen` or NN_SPIN_US pass; the generation last read.  It
 * yields now and then, so that on a busy machine it gives way to whoever is waiting. */
static unsigned long spin_for_job(unsigned long seen)
{
    double t0 = mono_us();
    for (;;) {
        for (int i = 0; i < 64; i++) {
            unsigned long g = atomic_load_explicit(&pool.gen, memory_order_acquire);
            if (g != seen) return g;
            cpu_relax();
        }
        if (mono_us() - t0 > NN_SPIN_US) return seen;
        sched_yield();
    }
}

/* Claims task t of job g: 1 for the one thread that gets it. */
static int claim(int t, unsigned long g)
{
    unsigned long want = g;
    return atomic_compare_exchange_strong(&pool.open[t], &want, 0UL);
}

/* Counts a claimed task as finished; the last one wakes a sleeping caller. */
static void task_done(int ntasks)
{
    if (atomic_fetch_add_explicit(&pool.finished, 1, memory_order_acq_rel) + 1 == ntasks - 1) {
        pthread_mutex_lock(&pool.mu); /* the caller may be asleep: wake it under mu */
        if (pool.caller_asleep) pthread_cond_signal(&pool.done);
        pthread_mutex_unlock(&pool.mu);
    }
}

static void *worker(void *arg)
{
    int id = (int)(size_t)arg;
    unsigned long seen = born[id];
    for (;;) {
        spin_for_job(seen);
        pthread_mutex_lock(&pool.mu);
        unsigned long g = atomic_load(&pool.gen); /* under mu: the job fn, ctx describe */
        if (g == seen) {
            pool.sleepers++;
            while ((g = atomic_load(&pool.gen)) == seen)
                pthread_cond_wait(&pool.wake, &pool.mu);
            pool.sleepers--;
        }
        seen = g;
        int ntasks = pool.ntasks;
        void (*fn)(void *, int) = pool.fn;
        void *ctx = pool.ctx;
        pthread_mutex_unlock(&pool.mu);
        if (id >= ntasks || !claim(id, g)) continue; /* not needed, or the caller took it */
        fn(ctx, id);
        atomic_fetch_add(&pool.worker_tasks, 1);
        task_done(ntasks);
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
        born[started] = atomic_load(&pool.gen);
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
    return atomic_load(&pool.worker_tasks);
}

/* Set on a thread that must not take the pool (a background evaluation beside training). */
static _Thread_local int serial_here;

void nn_threads_serial_here(void)
{
    serial_here = 1;
}

static atomic_int borrowed, strict;

void nn_threads_strict(int on)
{
    atomic_store(&strict, on);
}

void nn_threads_borrowed(int delta)
{
    atomic_fetch_add(&borrowed, delta);
}

void nn_threads_run(int ntasks, void (*fn)(void *ctx, int t), void *ctx)
{
    if (ntasks <= 1 || serial_here || atomic_load_explicit(&borrowed, memory_order_relaxed) > 0 ||
        pthread_mutex_trylock(&pool.busy) != 0) {
        for (int t = 0; t < ntasks; t++)
            fn(ctx, t);
        return;
    }
    int nt = ntasks < pool.nthreads ? ntasks : pool.nthreads;
    pthread_mutex_lock(&pool.mu);
    pool.fn = fn, pool.ctx = ctx, pool.ntasks = nt;
    atomic_store(&pool.finished, 0);
    unsigned long g = atomic_load(&pool.gen) + 1;
    for (int t = 1; t < nt; t++)
        atomic_store(&pool.open[t], g);
    atomic_store_explicit(&pool.gen, g, memory_order_release);
    if (pool.sleepers) pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    for (int t = 0; t < ntasks; t = t ? t + 1 : nt)
        fn(ctx, t);                   /* task 0, then any excess */
    for (int t = nt - 1; t >= 1 && !atomic_load(&strict); t--) /* tasks no worker started */
        if (claim(t, g)) fn(ctx, t), task_done(nt);
    double t0 = mono_us();
    for (int i = 0; atomic_load_explicit(&pool.finished, memory_order_acquire) < nt - 1; i++) {
        cpu_relax();
        if ((i & 63) == 63 && mono_us() - t0 > NN_SPIN_US) {
            pthread_mutex_lock(&pool.mu);
            pool.caller_asleep = 1;
            while (atomic_load(&pool.finished) < nt - 1)
                pthread_cond_wait(&pool.done, &pool.mu);
            pool.caller_asleep = 0;
            pthread_mutex_unlock(&pool.mu);
            break;
        }
    }
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
