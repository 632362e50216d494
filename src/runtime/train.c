/* train.c — the training loop and split evaluation.
 *
 * The step loop only copies a minibatch into the plan's inputs, runs the plan's steps,
 * and updates the parameters: no allocation, no graph walk.  Per-step losses collect in a
 * fixed buffer that is written to metrics.csv at evaluation points.
 */
#include "runtime/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"

#define LOSS_BUFFER 4096

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

nn_trainer *nn_trainer_new(const nn_spec *spec, const nn_dataset *ds, nn_diag *d)
{
    nn_trainer *tr = calloc(1, sizeof *tr);
    if (!tr) return NULL;
    tr->spec = spec;
    tr->ds = ds;
    nn_build_opts to = {spec->train.batch, 1, 1, ds->vocab, ds->context};
    nn_build_opts eo = {NN_EVAL_ROWS, 0, 0, ds->vocab, ds->context};
    if (!(tr->train_g = nn_build(spec, &to, d)) || !(tr->eval_g = nn_build(spec, &eo, d)))
        goto fail;
    if (!(tr->P = nn_params_new(tr->train_g, spec->train.momentum != 0))) goto fail;
    if (!(tr->train_p = nn_plan_lower(tr->train_g, tr->P))) goto fail;
    if (!(tr->eval_p = nn_plan_lower(tr->eval_g, tr->P))) goto fail;
    nn_rng_seed(&tr->rng, spec->rng == NN_RNG_TORCH, spec->seed);
    nn_params_init(tr->P, &tr->rng);
    return tr;
fail:
    if (nn_diag_count(d) == 0) nn_diag_error(d, spec->layers[0].mark, "out of memory building the model");
    nn_trainer_free(tr);
    return NULL;
}

void nn_trainer_free(nn_trainer *tr)
{
    if (!tr) return;
    nn_plan_free(tr->train_p);
    nn_plan_free(tr->eval_p);
    nn_graph_free(tr->train_g);
    nn_graph_free(tr->eval_g);
    nn_params_free(tr->P);
    free(tr);
}

double nn_trainer_eval(nn_trainer *tr, nn_split_id s)
{
    const nn_split *sp = &tr->ds->split[s];
    const nn_plan *p = tr->eval_p;
    int T = tr->ds->context;
    int32_t *x = nn_plan_ptr(p, p->g->x), *y = nn_plan_ptr(p, p->g->y);
    const float *row_loss = nn_plan_ptr(p, p->g->row_loss);
    double sum = 0;
    for (long at = 0; at < sp->n; at += NN_EVAL_ROWS) {
        int rows = (int)(sp->n - at < NN_EVAL_ROWS ? sp->n - at : NN_EVAL_ROWS);
        memcpy(x, sp->x + at * T, (size_t)rows * (size_t)T * sizeof *x);
        memcpy(y, sp->y + at, (size_t)rows * sizeof *y);
        nn_plan_forward(p, rows);
        for (int i = 0; i < rows; i++) sum += row_loss[i];
    }
    return sp->n ? sum / (double)sp->n : NAN;
}

/* Draws a minibatch of the training split into the plan's inputs (torch.randint order). */
static void load_batch(nn_trainer *tr)
{
    const nn_split *sp = &tr->ds->split[NN_SPLIT_TRAIN];
    const nn_plan *p = tr->train_p;
    int B = tr->spec->train.batch, T = tr->ds->context;
    int32_t *x = nn_plan_ptr(p, p->g->x), *y = nn_plan_ptr(p, p->g->y);
    for (int i = 0; i < B; i++) {
        long ix = (long)nn_rng_randint(&tr->rng, (uint32_t)sp->n);
        memcpy(x + i * T, sp->x + ix * T, (size_t)T * sizeof *x);
        y[i] = sp->y[ix];
    }
}

typedef struct {
    float loss[LOSS_BUFFER], lr[LOSS_BUFFER];
    long first; /* step of loss[0] */
    int n;
} loss_log;

static void flush_losses(loss_log *log, FILE *csv)
{
    if (csv)
        for (int i = 0; i < log->n; i++)
            fprintf(csv, "%ld,%.9g,%.9g,,,,\n", log->first + i, log->lr[i], log->loss[i]);
    log->first += log->n;
    log->n = 0;
}

/* Evaluation point: the splits of spec->eval, one metrics row, one progress line. */
static void eval_point(nn_trainer *tr, const nn_run_opts *o, long step, double lr, double t0,
                       loss_log *log)
{
    double loss[NN_SPLIT_COUNT];
    int mask = tr->spec->eval.splits;
    for (int s = 0; s < NN_SPLIT_COUNT; s++)
        loss[s] = mask & (1 << s) ? nn_trainer_eval(tr, (nn_split_id)s) : NAN;
    double elapsed = now_seconds() - t0;
    flush_losses(log, o->metrics_csv);
    if (o->metrics_csv) {
        fprintf(o->metrics_csv, "%ld,%.9g,", step, lr);
        for (int s = 0; s < NN_SPLIT_COUNT; s++)
            fprintf(o->metrics_csv, isnan(loss[s]) ? "," : "%.9g,", loss[s]);
        fprintf(o->metrics_csv, "%.3f\n", elapsed);
        fflush(o->metrics_csv);
    }
    if (o->quiet || !o->progress) return;
    fprintf(o->progress, "%7ld/%7ld  eval", step, tr->spec->train.steps);
    static const char *names[] = {"train", "dev", "test"};
    for (int s = 0; s < NN_SPLIT_COUNT; s++)
        if (!isnan(loss[s])) fprintf(o->progress, "  %s %.4f", names[s], loss[s]);
    fprintf(o->progress, "  lr %g  %.0f steps/s\n", lr, elapsed > 0 ? (double)step / elapsed : 0);
    fflush(o->progress);
}

int nn_trainer_run(nn_trainer *tr, const nn_run_opts *o, nn_result *res)
{
    const nn_spec *spec = tr->spec;
    const nn_plan *p = tr->train_p;
    const float *loss = nn_plan_ptr(p, p->g->loss);
    long steps = spec->train.steps, every = spec->eval.every;
    int B = spec->train.batch;
    long print_every = every > 0 ? every : (steps >= 10 ? steps / 10 : 1);
    loss_log *log = calloc(1, sizeof *log);
    if (!log) return -1;
    if (o->metrics_csv) fprintf(o->metrics_csv, "step,lr,loss,train_loss,dev_loss,test_loss,elapsed_s\n");
    double t0 = now_seconds();
    int status = 0;
    long i;
    for (i = 0; i < steps; i++) {
        load_batch(tr);
        nn_plan_forward(p, B);
        nn_plan_backward(p, B);
        double lr = nn_lr_at(&spec->train.lr, i);
        float l = *loss;
        if (i == 0) res->step0 = l;
        res->last = l;
        if (!isfinite(l)) {
            status = -1;
            break;
        }
        nn_optim_step(tr->P, &spec->train, (float)lr);
        log->loss[log->n] = l;
        log->lr[log->n++] = (float)lr;
        if (log->n == LOSS_BUFFER) flush_losses(log, o->metrics_csv);
        if (i % print_every == 0 && !o->quiet && o->progress) {
            fprintf(o->progress, "%7ld/%7ld: %.4f\n", i, steps, l);
            fflush(o->progress);
        }
        if (every > 0 && (i + 1) % every == 0 && i + 1 < steps)
            eval_point(tr, o, i + 1, nn_lr_at(&spec->train.lr, i + 1), t0, log);
    }
    res->steps = status == 0 ? steps : i;
    res->train_seconds = now_seconds() - t0;
    flush_losses(log, o->metrics_csv);
    free(log);
    if (status != 0) return status;
    for (int s = 0; s < NN_SPLIT_COUNT; s++) {
        res->have_split[s] = tr->ds->split[s].n > 0;
        res->split[s] = res->have_split[s] ? nn_trainer_eval(tr, (nn_split_id)s) : NAN;
    }
    if (o->metrics_csv) {
        fprintf(o->metrics_csv, "%ld,%.9g,", steps, nn_lr_at(&spec->train.lr, steps));
        for (int s = 0; s < NN_SPLIT_COUNT; s++)
            fprintf(o->metrics_csv, res->have_split[s] ? "%.9g," : ",", res->split[s]);
        fprintf(o->metrics_csv, "%.3f\n", now_seconds() - t0);
        fflush(o->metrics_csv);
    }
    const nn_sample_spec *ss = &spec->sample;
    if (ss->count > 0) {
        res->samples = nn_trainer_sample(tr, ss->count, ss->seed, ss->temperature, ss->max_len);
        res->nsamples = res->samples ? ss->count : 0;
    }
    res->wall_seconds = now_seconds() - t0;
    return 0;
}

void nn_result_free(nn_result *r)
{
    for (int i = 0; i < r->nsamples; i++) free(r->samples[i]);
    free(r->samples);
    r->samples = NULL;
    r->nsamples = 0;
}
