/* profile.c — timing each part of a training step (profile.h). */
#include "runtime/train/profile.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/parallel.h"
#include "runtime/train/nancheck.h"
#include "runtime/train/progress.h"
#include "runtime/train/trainer_int.h"

/* ---- FLOPs: a table that counts 2·m·n·k per gemm and calls the real one -------------- */

static const nn_kernels *inner;
/* atomic: with 2+ threads a linear's dX and dW gemms run side by side (ir/ops/linear.c) */
static _Atomic long long counted;

static void count_nn(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc, int acc)
{
    atomic_fetch_add(&counted, 2LL * m * n * k);
    inner->sgemm_nn(m, n, k, a, lda, b, ldb, c, ldc, acc);
}

static void count_nt(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc, int acc)
{
    atomic_fetch_add(&counted, 2LL * m * n * k);
    inner->sgemm_nt(m, n, k, a, lda, b, ldb, c, ldc, acc);
}

static void count_tn(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc, int acc)
{
    atomic_fetch_add(&counted, 2LL * m * n * k);
    inner->sgemm_tn(m, n, k, a, lda, b, ldb, c, ldc, acc);
}

static void count_linear(int m, int n, int k, const float *x, const float *w, const float *bias,
                         float *y)
{
    atomic_fetch_add(&counted, 2LL * m * n * k);
    inner->linear_fwd(m, n, k, x, w, bias, y);
}

/* the recurrent cells' products are inside their kernels: counted by their formula */
static void count_rnn_fwd(int b, int t, int e, int h, int gru, const nn_rnn_input *in,
                          const float *start, const nn_rnn_weights *w, float *pack, float *state,
                          float *y)
{
    atomic_fetch_add(&counted, (long long)nn_rnn_flops(b, t, e, h, gru, in->table ? in->v : 0, 0));
    inner->rnn_fwd(b, t, e, h, gru, in, start, w, pack, state, y);
}

static void count_rnn_bwd(int b, int t, int e, int h, int gru, const nn_rnn_input *in,
                          const nn_rnn_weights *w, const float *pack, const float *state,
                          const float *y, const float *dy, float *work, float *dx,
                          const nn_rnn_grads *d, int accumulate)
{
    atomic_fetch_add(&counted, (long long)nn_rnn_flops(b, t, e, h, gru, in->table ? in->v : 0, 1));
    inner->rnn_bwd(b, t, e, h, gru, in, w, pack, state, y, dy, work, dx, d, accumulate);
}

/* One training step with the counting table: the gemm FLOPs of each plan step. */
static void count_flops(nn_trainer *tr, double *flops)
{
    const nn_plan *p = tr->train_p;
    nn_kernels counting = *nn_k;
    inner = nn_k;
    counting.sgemm_nn = count_nn, counting.sgemm_nt = count_nt, counting.sgemm_tn = count_tn;
    counting.linear_fwd = count_linear;
    counting.rnn_fwd = count_rnn_fwd, counting.rnn_bwd = count_rnn_bwd;
    nn_k = &counting;
    nn_load_batch(tr);
    for (int i = 0; i < p->nsteps; i++) {
        atomic_store(&counted, 0);
        p->steps[i].run(&p->steps[i], tr->batch);
        flops[i] = (double)atomic_load(&counted);
    }
    nn_k = inner;
}

/* ---- timing ------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of column j of the steps × cols matrix t (sorted in place, column by column). */
static double median_col(double *t, long steps, int cols, int j, double *scratch)
{
    for (long s = 0; s < steps; s++)
        scratch[s] = t[s * cols + j];
    qsort(scratch, (size_t)steps, sizeof *scratch, cmp_double);
    return scratch[steps / 2];
}

/* Columns of the timing matrix: 0 batch, 1..nsteps plan steps, then check, update, whole. */
static void timed_step(nn_trainer *tr, float lr, double *t)
{
    const nn_plan *p = tr->train_p;
    int n = p->nsteps;
    double t0 = nn_now_seconds(), a = t0, b;
    nn_load_batch(tr);
    t[0] = (b = nn_now_seconds()) - a, a = b;
    for (int i = 0; i < n; i++) {
        p->steps[i].run(&p->steps[i], tr->batch);
        t[1 + i] = (b = nn_now_seconds()) - a, a = b;
    }
    float loss = *(const float *)nn_plan_ptr(p, p->g->loss);
    tr->nonfinite = nn_step_nonfinite(tr->P, loss, tr->grad_check);
    t[1 + n] = (b = nn_now_seconds()) - a, a = b;
    if (!tr->nonfinite) nn_optim_step(tr->P, &tr->spec->train, lr);
    t[2 + n] = (b = nn_now_seconds()) - a;
    t[3 + n] = b - t0;
}

int nn_trainer_profile(nn_trainer *tr, long steps, nn_profile *out)
{
    memset(out, 0, sizeof *out);
    if (!tr->train_p || steps <= 0) return -1;
    const nn_plan *p = tr->train_p;
    int n = p->nsteps, cols = n + 4;
    double *t = malloc((size_t)steps * cols * sizeof *t), *scratch = malloc(steps * sizeof *t);
    double *flops = calloc((size_t)n + 1, sizeof *flops);
    out->row = calloc((size_t)n + 3, sizeof *out->row);
    if (!t || !scratch || !flops || !out->row) {
        free(t), free(scratch), free(flops), nn_profile_free(out);
        return -1;
    }
    out->peak_gflops = nn_kernels_fma_peak(nn_k);
    out->threads = nn_parallel_threads();
    out->steps = steps;
    count_flops(tr, flops); /* also the first warm-up step (no update: the loss is kept) */
    long warm = steps / 10 < 20 ? steps / 10 : 20;
    for (long s = 0; s < warm; s++)
        timed_step(tr, (float)nn_lr_at(&tr->spec->train.lr, s, steps), t);
    for (long s = 0; s < steps; s++)
        timed_step(tr, (float)nn_lr_at(&tr->spec->train.lr, s, steps), t + s * cols);
    nn_profile_row *r = out->row;
    r[0] = (nn_profile_row){-1, NN_PROF_BATCH, "minibatch copy",
                            median_col(t, steps, cols, 0, scratch), 0};
    for (int i = 0; i < n; i++) {
        nn_profile_row *w = &r[1 + i];
        w->step = i, w->phase = i < p->nfwd ? NN_PROF_FORWARD : NN_PROF_BACKWARD;
        nn_plan_step_name(p, i, w->name, sizeof w->name);
        w->us = median_col(t, steps, cols, 1 + i, scratch) * 1e6;
        w->flops = flops[i];
    }
    r[0].us *= 1e6;
    r[1 + n] = (nn_profile_row){-1, NN_PROF_UPDATE, "finite check (loss, gradients, buffers)",
                                median_col(t, steps, cols, 1 + n, scratch) * 1e6, 0};
    r[2 + n] = (nn_profile_row){-1, NN_PROF_UPDATE, "optimizer update",
                                median_col(t, steps, cols, 2 + n, scratch) * 1e6, 0};
    out->nrows = n + 3;
    out->step_us = median_col(t, steps, cols, 3 + n, scratch) * 1e6;
    free(t), free(scratch), free(flops);
    return 0;
}

void nn_profile_free(nn_profile *p)
{
    free(p->row);
    memset(p, 0, sizeof *p);
}

/* ---- the table ---------------------------------------------------------------------- */

static const char *const PHASE[] = {"batch", "forward", "backward", "update"};

/* GFLOP/s and its share of the machine's peak (one core's peak × threads). */
static void rate(const nn_profile *p, double flops, double us, double *gflops, double *share)
{
    *gflops = us > 0 ? flops / us * 1e-3 : 0;
    double peak = p->peak_gflops * p->threads;
    *share = peak > 0 ? *gflops / peak : 0;
}

static int by_time(const void *a, const void *b)
{
    const nn_profile_row *x = *(const nn_profile_row *const *)a;
    const nn_profile_row *y = *(const nn_profile_row *const *)b;
    return (x->us < y->us) - (x->us > y->us);
}

void nn_profile_print(const nn_profile *p, int top, FILE *out)
{
    double sum = 0, g, s;
    for (int i = 0; i < p->nrows; i++)
        sum += p->row[i].us;
    fprintf(out,
            "isa %s, %d thread%s, %ld steps: median step %.1f us (parts' medians add to %.1f)\n"
            "FMA peak %.1f GFLOP/s per core (measured now), %.1f for %d thread%s\n\n",
            nn_k->isa, p->threads, p->threads == 1 ? "" : "s", p->steps, p->step_us, sum,
            p->peak_gflops, p->peak_gflops * p->threads, p->threads, p->threads == 1 ? "" : "s");
    fprintf(out, "%-10s %10s %6s %10s %8s %6s\n", "phase", "us/step", "share", "MFLOP", "GFLOP/s",
            "peak");
    for (int ph = NN_PROF_BATCH; ph <= NN_PROF_UPDATE; ph++) {
        double us = 0, fl = 0;
        for (int i = 0; i < p->nrows; i++)
            if (p->row[i].phase == (nn_prof_phase)ph) us += p->row[i].us, fl += p->row[i].flops;
        rate(p, fl, us, &g, &s);
        fprintf(out, "%-10s %10.1f %5.1f%% %10.2f %8.1f %5.1f%%\n", PHASE[ph], us,
                sum > 0 ? 100 * us / sum : 0, fl * 1e-6, g, 100 * s);
    }
    const nn_profile_row **order = malloc((size_t)p->nrows * sizeof *order);
    if (!order) return;
    for (int i = 0; i < p->nrows; i++)
        order[i] = &p->row[i];
    qsort(order, (size_t)p->nrows, sizeof *order, by_time);
    fprintf(out, "\ntop %d parts\n%-4s %-5s %-9s %-44s %9s %6s %9s %8s %6s\n", top, "rank", "step",
            "phase", "part", "us/step", "share", "MFLOP", "GFLOP/s", "peak");
    for (int i = 0; i < top && i < p->nrows; i++) {
        const nn_profile_row *r = order[i];
        char step[16] = "-";
        if (r->step >= 0) snprintf(step, sizeof step, "%d", r->step);
        rate(p, r->flops, r->us, &g, &s);
        fprintf(out, "%-4d %-5s %-9s %-44.44s %9.1f %5.1f%% %9.2f %8.1f %5.1f%%\n", i + 1, step,
                PHASE[r->phase], r->name, r->us, sum > 0 ? 100 * r->us / sum : 0, r->flops * 1e-6,
                g, 100 * s);
    }
    free(order);
}
