/* train.c — the training loop and split evaluation.
 *
 * The step loop only copies a minibatch into the plan's inputs, runs the plan's steps,
 * and updates the parameters: no allocation, no graph walk.  Per-step losses collect in a
 * fixed buffer that is written to metrics.csv at evaluation points.
 */
#include "runtime/train/train.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kernels/kernels.h"
#include "kernels/parallel.h"
#include "runtime/plugin/plugin.h"
#include "runtime/exec/expr_check.h"
#include "runtime/store/checkpoint.h"
#include "runtime/train/eval_bg.h"
#include "runtime/train/metrics_fmt.h"
#include "runtime/train/runctl.h"
#include "runtime/exec/limits.h"
#include "runtime/train/nancheck.h"
#include "runtime/report/stats.h"

#define LOSS_BUFFER  16384 /* > the steps a background evaluation takes, so none waits */
#define NN_MAX_BATCH (1 << 24) /* rows per step: int offsets in the kernels stay in range */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* sample.prefix as token ids, checked against the vocabulary before any training. */
static int encode_prefix(nn_trainer *tr, nn_diag *d)
{
    const nn_spec *spec = tr->spec;
    const char *text = spec->sample.prefix;
    if (!text || !*text || spec->sample.count == 0) return 0;
    nn_mark at = spec->sample.prefix_mark;
    if (tr->ds->kind != NN_DATASET_TEXT) {
        nn_diag_error(d, at, "sample.prefix needs text data");
        return -1;
    }
    int max = (int)strlen(text) + 1, bad = 0;
    if (!(tr->prefix = malloc((size_t)max * sizeof *tr->prefix))) return -1;
    tr->nprefix = nn_dataset_encode(tr->ds, spec, text, tr->prefix, max, &bad);
    if (tr->nprefix < 0) {
        nn_diag_error(d, at, "sample.prefix '%s': '%.*s' at byte %d is not in the vocabulary", text,
                      text[bad] & 0x80 ? 4 : 1, text + bad, bad + 1);
        nn_diag_note(d, "the vocabulary is the characters of the training data");
        return -1;
    }
    return 0;
}

nn_trainer *nn_trainer_new(const nn_spec *spec, const nn_dataset *ds, nn_diag *d)
{
    nn_trainer *tr = calloc(1, sizeof *tr);
    if (!tr) return NULL;
    tr->spec = spec;
    tr->ds = ds;
    tr->grad_check = 1;
    int errors = nn_diag_count(d);
    if (spec->nlayers == 1 && spec->layers[0].kind == NN_LAYER_NGRAM) {
        /* an empty parameter set (count 0), so callers that report tr->P need no case */
        tr->P = calloc(1, sizeof *tr->P);
        if (!tr->P || !(tr->ngram = nn_ngram_new(spec, ds, d)) || encode_prefix(tr, d) != 0)
            goto fail;
        if (nn_stats_wanted(spec) && !(tr->stats = nn_stats_new(tr))) goto fail;
        return tr;
    }
    if (ds->kind == NN_DATASET_TEXT && spec->train.loss != NN_LOSS_CROSS_ENTROPY) {
        nn_diag_error(d, spec->train.loss_mark,
                      "%s needs numeric targets, but text data gives "
                      "next-token ids",
                      spec->train.loss == NN_LOSS_HINGE  ? "hinge"
                      : spec->train.loss == NN_LOSS_EXPR ? "a formula loss"
                                                         : "mse");
        nn_diag_note(d, "use 'loss: cross_entropy' with text data");
        goto fail;
    }
    long rows = spec->train.full_batch ? ds->split[NN_SPLIT_TRAIN].n : spec->train.batch;
    if (rows > NN_MAX_BATCH) {
        nn_diag_error(d, spec->data.split_mark,
                      "batch: full would run %ld rows per step; the "
                      "most is %d",
                      rows, NN_MAX_BATCH);
        goto fail;
    }
    tr->batch = (int)rows;
    /* plugins load (and run their checks) before any graph is built */
    if (nn_plugins_load(spec, &tr->plugins, d) != 0) goto fail;
    const nn_callable *const *fns = nn_plugins_layer_fns(tr->plugins);
    nn_build_opts to = {tr->batch, 1, 1, ds->vocab, ds->context, ds->features};
    nn_build_opts eo = {NN_EVAL_ROWS, 0, 0, ds->vocab, ds->context, ds->features};
    if (!(tr->train_g = nn_build_fns(spec, &to, fns, d)) ||
        !(tr->eval_g = nn_build_fns(spec, &eo, fns, d)) ||
        nn_expr_check_graph(tr->train_g, d) != 0) /* formulas: FD check at load */
        goto fail;
    int nev = nn_parallel_threads() < NN_MAX_THREADS ? nn_parallel_threads() : NN_MAX_THREADS;
    /* every allocation of the run, those made later too (as nn_eval_bg_new decides) */
    nn_limits_extra extra = {nn_stats_wanted(spec),
                             spec->eval.every > 0 && nev >= 2 && !tr->plugins &&
                                 !spec->checkpoint.keep_best,
                             nn_limits_dump_expected()};
    if (nn_limits_check(tr->train_g, tr->eval_g, nev, nn_optim_state_arrays(&spec->train), &extra,
                        spec->layers[0].mark, d) != 0)
        goto fail; /* before any of it is allocated */
    if (!(tr->P = nn_params_new(tr->train_g, nn_optim_state_arrays(&spec->train)))) goto fail;
    if (!(tr->train_p = nn_plan_lower(tr->train_g, tr->P, NN_LOWER_FAST))) goto fail;
    if (!(tr->eval_p = nn_plan_lower(tr->eval_g, tr->P, NN_LOWER_FAST))) goto fail;
    tr->neval = nn_parallel_threads() < NN_MAX_THREADS ? nn_parallel_threads() : NN_MAX_THREADS;
    for (int t = 1; t < tr->neval; t++)
        if (!(tr->eval_more[t - 1] = nn_plan_lower(tr->eval_g, tr->P, NN_LOWER_FAST))) goto fail;
    nn_rng_seed(&tr->rng, spec->rng == NN_RNG_TORCH, spec->seed);
    if (nn_params_init(tr->P, &tr->rng, d) != 0 || nn_ckpt_init_from(tr->P, spec, ds, d) != 0 ||
        encode_prefix(tr, d) != 0)
        goto fail;
    /* everything collection needs is allocated here: the step loop never allocates */
    if (nn_stats_wanted(spec) && !(tr->stats = nn_stats_new(tr))) goto fail;
    return tr;
fail:
    if (nn_diag_count(d) == errors) {
        nn_mark m = spec->nlayers > 0 ? spec->layers[0].mark : (nn_mark){spec->path, 1, 1};
        nn_diag_error(d, m, "out of memory building the model");
    }
    nn_trainer_free(tr);
    return NULL;
}

void nn_trainer_free(nn_trainer *tr)
{
    if (!tr) return;
    nn_stats_free(tr->stats);
    nn_plan_free(tr->train_p);
    nn_plan_free(tr->eval_p);
    for (int t = 0; t < NN_MAX_THREADS - 1; t++)
        nn_plan_free(tr->eval_more[t]);
    nn_graph_free(tr->train_g);
    nn_graph_free(tr->eval_g);
    nn_params_free(tr->P);
    nn_ngram_free(tr->ngram);
    free(tr->prefix);
    nn_plugins_free(tr->plugins); /* after the graphs and plans that call into them */
    free(tr);
}

/* Copies examples [at, at + rows) of a split into rows [dst, dst + rows) of a plan's inputs
 * x and y (token ids or features; class ids or float targets).  Plain loops: minibatch
 * rows are a few ints, where a memcpy call costs more than the copy. */
static void load_rows(const nn_dataset *ds, const nn_split *sp, const nn_plan *p, long at, int rows,
                      int dst)
{
    const nn_graph *g = p->g;
    if (ds->kind == NN_DATASET_TABLE) {
        size_t F = (size_t)ds->features;
        float *x = (float *)nn_plan_ptr(p, g->x) + (size_t)dst * F;
        const float *src = sp->fx + (size_t)at * F;
        for (size_t i = 0; i < (size_t)rows * F; i++)
            x[i] = src[i];
    } else {
        size_t T = (size_t)ds->context;
        int32_t *x = (int32_t *)nn_plan_ptr(p, g->x) + (size_t)dst * T;
        const int32_t *src = sp->x + (size_t)at * T;
        for (size_t i = 0; i < (size_t)rows * T; i++)
            x[i] = src[i];
    }
    if (g->t[g->y].dtype == NN_F32) {
        float *y = (float *)nn_plan_ptr(p, g->y) + dst;
        for (int i = 0; i < rows; i++)
            y[i] = sp->fy[at + i];
    } else {
        int32_t *y = (int32_t *)nn_plan_ptr(p, g->y) + dst;
        for (int i = 0; i < rows; i++)
            y[i] = sp->y[at + i];
    }
}

int nn_trainer_probe(nn_trainer *tr, int rows, nn_plan **plan)
{
    const nn_split *sp = &tr->ds->split[NN_SPLIT_TRAIN];
    *plan = NULL;
    if (!tr->train_g) return 0;
    /* a plan that keeps every tensor: the training plan shares memory between them */
    nn_plan *p = nn_plan_lower(tr->train_g, tr->P, NN_LOWER_KEEP_ALL);
    if (!p) return -1;
    if (rows > p->g->batch) rows = p->g->batch;
    if (rows > sp->n) rows = (int)sp->n;
    load_rows(tr->ds, sp, p, 0, rows, 0);
    nn_plan_forward(p, rows);
    nn_plan_backward(p, rows);
    *plan = p;
    return rows;
}

/* Right answers among the plan's `rows` rows: sign agreement for hinge ((y > 0) == (s > 0),
 * as micrograd counts), argmax == y for cross_entropy on table data; −1 for neither. */
static long count_right(const nn_trainer *tr, const nn_plan *p, int rows)
{
    const nn_graph *g = p->g;
    const float *z = nn_plan_ptr(p, g->logits);
    if (tr->spec->train.loss == NN_LOSS_HINGE || tr->spec->train.loss == NN_LOSS_EXPR) {
        const float *y = nn_plan_ptr(p, g->y);
        long right = 0;
        for (int i = 0; i < rows; i++) {
            if (tr->spec->train.loss == NN_LOSS_EXPR && y[i] != 1 && y[i] != -1)
                return -1; /* a formula's regression: no classes */
            right += (y[i] > 0) == (z[i] > 0);
        }
        return right;
    }
    if (tr->spec->train.loss != NN_LOSS_CROSS_ENTROPY || tr->ds->kind != NN_DATASET_TABLE)
        return -1;
    const int32_t *y = nn_plan_ptr(p, g->y);
    int V = g->t[g->logits].dim[1];
    long right = 0;
    for (int i = 0; i < rows; i++) {
        int best = 0;
        for (int j = 1; j < V; j++)
            if (z[i * V + j] > z[i * V + best]) best = j;
        right += best == y[i];
    }
    return right;
}

/* Split evaluation in chunks of NN_EVAL_ROWS rows, chunk c on thread c mod T with that
 * thread's own plan; per-chunk sums are added in chunk order afterwards, so the result does
 * not depend on the thread count. */
typedef struct {
    nn_trainer *tr;
    nn_plan *const *plans; /* one per task */
    const nn_split *sp;
    double *sum;
    long *right;
    long nchunks;
    int ntasks;
} eval_job;

static void eval_chunks(void *ctx, int t)
{
    eval_job *j = ctx;
    const nn_plan *p = j->plans[t];
    const float *row_loss = nn_plan_ptr(p, p->g->row_loss);
    for (long c = t; c < j->nchunks; c += j->ntasks) {
        long at = c * NN_EVAL_ROWS;
        int rows = (int)(j->sp->n - at < NN_EVAL_ROWS ? j->sp->n - at : NN_EVAL_ROWS);
        load_rows(j->tr->ds, j->sp, p, at, rows, 0);
        nn_plan_forward(p, rows);
        double sum = 0;
        for (int i = 0; i < rows; i++)
            sum += row_loss[i];
        j->sum[c] = sum;
        j->right[c] = count_right(j->tr, p, rows);
    }
}

double nn_trainer_eval_acc(nn_trainer *tr, nn_split_id s, double *acc)
{
    nn_plan *plans[NN_MAX_THREADS] = {tr->eval_p};
    for (int t = 1; t < tr->neval; t++)
        plans[t] = tr->eval_more[t - 1];
    return nn_trainer_eval_plans(tr, plans, tr->neval, s, acc);
}

double nn_trainer_eval_plans(nn_trainer *tr, nn_plan *const *plans, int nplans, nn_split_id s,
                             double *acc)
{
    const nn_split *sp = &tr->ds->split[s];
    *acc = NAN;
    if (tr->ngram) return nn_ngram_eval(tr->ngram, tr->ds, s);
    if (!sp->n) return NAN;
    eval_job j = {tr, plans, sp, NULL, NULL, (sp->n + NN_EVAL_ROWS - 1) / NN_EVAL_ROWS, nplans};
    j.sum = malloc((size_t)j.nchunks * sizeof *j.sum);
    j.right = malloc((size_t)j.nchunks * sizeof *j.right);
    if (!j.sum || !j.right) {
        free(j.sum), free(j.right);
        return NAN;
    }
    if (j.ntasks > j.nchunks) j.ntasks = (int)j.nchunks;
    if (j.ntasks > 1)
        nn_parallel_run(j.ntasks, eval_chunks, &j);
    else
        eval_chunks(&j, 0);
    double sum = 0;
    long right = 0;
    for (long c = 0; c < j.nchunks; c++) {
        sum += j.sum[c];
        right = j.right[c] < 0 || right < 0 ? -1 : right + j.right[c];
    }
    free(j.sum), free(j.right);
    if (right >= 0) *acc = (double)right / (double)sp->n;
    return sum / (double)sp->n;
}

double nn_trainer_eval(nn_trainer *tr, nn_split_id s)
{
    double acc;
    return nn_trainer_eval_acc(tr, s, &acc);
}

/* Draws a minibatch of the training split into the plan's inputs (torch.randint order);
 * with batch: full, the whole split in order, and no draw. */
static void load_batch(nn_trainer *tr)
{
    const nn_dataset *ds = tr->ds;
    const nn_split *sp = &ds->split[NN_SPLIT_TRAIN];
    const nn_plan *p = tr->train_p;
    if (tr->spec->train.full_batch) {
        load_rows(ds, sp, p, 0, tr->batch, 0);
        return;
    }
    /* draw a group of indices first and prefetch their rows: the rows are random reads
     * from arrays far larger than the cache, and waiting for each in turn dominates */
    enum { GROUP = 64 };
    long ix[GROUP];
    size_t xw = ds->kind == NN_DATASET_TABLE ? (size_t)ds->features : (size_t)ds->context;
    const nn_graph *g = p->g;
    int text_ids = ds->kind == NN_DATASET_TEXT && g->t[g->y].dtype != NN_F32;
    int32_t *tx = text_ids ? nn_plan_ptr(p, g->x) : NULL, *ty = text_ids ? nn_plan_ptr(p, g->y) : NULL;
    for (int at = 0; at < tr->batch; at += GROUP) {
        int n = tr->batch - at < GROUP ? tr->batch - at : GROUP;
        for (int i = 0; i < n; i++) {
            ix[i] = (long)nn_rng_randint(&tr->rng, (uint32_t)sp->n);
            __builtin_prefetch(ds->kind == NN_DATASET_TABLE ? (const void *)(sp->fx + ix[i] * xw)
                                                            : (const void *)(sp->x + ix[i] * xw));
            __builtin_prefetch(sp->fy ? (const void *)(sp->fy + ix[i])
                                      : (const void *)(sp->y + ix[i]));
        }
        if (text_ids) { /* the lessons' case, without load_rows' general dispatch per row */
            for (int i = 0; i < n; i++) {
                const int32_t *src = sp->x + ix[i] * (long)xw;
                for (size_t c = 0; c < xw; c++)
                    tx[(size_t)(at + i) * xw + c] = src[c];
                ty[at + i] = sp->y[ix[i]];
            }
            continue;
        }
        for (int i = 0; i < n; i++)
            load_rows(ds, sp, p, ix[i], 1, at + i);
    }
}

void nn_trainer_load_batch(nn_trainer *tr)
{
    load_batch(tr);
}

/* One training step: a minibatch, forward, backward, and — when the objective is finite —
 * the update.  Returns the objective on the batch before the update. */
static float train_step(nn_trainer *tr, float lr)
{
    const nn_plan *p = tr->train_p;
    load_batch(tr);
    nn_plan_forward(p, tr->batch);
    nn_plan_backward(p, tr->batch);
    float l = *(const float *)nn_plan_ptr(p, p->g->loss);
    if (nn_step_finite(tr, l)) nn_optim_step(tr->P, &tr->spec->train, lr);
    return l;
}

/* train_step on a collection step (tr->stats->next == step): the statistics pass runs on
 * the same minibatch before the training pass, the weights are saved before the update and
 * compared after it.  The training itself is exactly train_step's. */
static float train_step_collect(nn_trainer *tr, float lr, long step)
{
    const nn_plan *p = tr->train_p;
    load_batch(tr);
    nn_stats_probe(tr->stats, step);
    nn_plan_forward(p, tr->batch);
    nn_plan_backward(p, tr->batch);
    float l = *(const float *)nn_plan_ptr(p, p->g->loss);
    if (nn_step_finite(tr, l)) {
        nn_stats_before_update(tr->stats, step);
        nn_optim_step(tr->P, &tr->spec->train, lr);
        nn_stats_after_update(tr->stats, step);
    }
    return l;
}

const struct nn_stats *nn_trainer_stats(const nn_trainer *tr)
{
    return tr->stats;
}

double nn_trainer_bench(nn_trainer *tr, long steps)
{
    if (!tr->train_p) return 0;
    long warm = steps / 10 < 50 ? steps / 10 : 50;
    for (long i = 0; i < warm; i++)
        train_step(tr, (float)nn_lr_at(&tr->spec->train.lr, i, steps));
    double t0 = now_seconds();
    for (long i = 0; i < steps; i++)
        train_step(tr, (float)nn_lr_at(&tr->spec->train.lr, i, steps));
    return now_seconds() - t0;
}

typedef struct {
    float loss[LOSS_BUFFER], lr[LOSS_BUFFER], smooth[LOSS_BUFFER];
    long first; /* step of loss[0] */
    long start; /* the step this invocation began at (rates count from there) */
    int n;
    double ema;      /* exponential moving average of the loss */
    double beta_pow; /* SMOOTH_BETA^(losses so far): the EMA's bias correction */
} loss_log;

#define SMOOTH_BETA 0.99 /* the smoothed loss averages over about the last 100 steps */

/* One row of metrics.csv and metrics.jsonl; NaN (or a step < 0) where a cell is empty. */
typedef struct {
    long step;
    double lr, loss, smooth, split[NN_SPLIT_COUNT], elapsed, rate;
} metrics_row;

static const char metrics_header[] =
    "step,lr,loss,train_loss,dev_loss,test_loss,elapsed_s,smooth_loss,steps_per_s\n";

/* Writes the row to metrics.csv (empty cells for NaN) and metrics.jsonl (null for NaN,
 * 9 significant digits as the CSV's %.9g, so float values round-trip).  Called outside the
 * step body only.  Each number is printed once for both files, and the JSON line is the
 * text json_dumpf(JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9)) writes
 * (metrics_fmt.h), without an object per row: a lesson-4 run writes 200,000 rows. */
static _Atomic int metrics_errno; /* written by one thread at a time (eval_bg.h) */

static void metrics_write(const nn_run_opts *o, const metrics_row *r)
{
    static const char *keys[8] = {",\"lr\":",        ",\"loss\":",      ",\"train_loss\":",
                                  ",\"dev_loss\":",  ",\"test_loss\":", ",\"elapsed_s\":",
                                  ",\"smooth_loss\":", ",\"steps_per_s\":"};
    double v[8] = {r->lr,       r->loss,    r->split[0], r->split[1],
                   r->split[2], r->elapsed, r->smooth,   r->rate};
    char csv[320], json[512], num[40];
    int nc = snprintf(csv, sizeof csv, "%ld", r->step);
    int nj = snprintf(json, sizeof json, "{\"step\":%ld", r->step);
    for (int k = 0; k < 8; k++) { /* appends: at most 8 × (40 + 16) bytes */
        size_t kl = strlen(keys[k]);
        memcpy(json + nj, keys[k], kl);
        nj += (int)kl;
        if (!isfinite(v[k])) {
            csv[nc++] = ',';
            memcpy(json + nj, "null", 4);
            nj += 4;
            continue;
        }
        /* the learning rate repeats row after row: its text is kept (main thread only) */
        static double last_lr = NAN;
        static char lr_text[40];
        static int lr_len;
        int n;
        if (k == 0 && memcmp(&v[0], &last_lr, sizeof last_lr) == 0) {
            memcpy(num, lr_text, (size_t)lr_len + 1);
            n = lr_len;
        } else {
            n = nn_fmt_g9(num, v[k]);
            if (k == 0) last_lr = v[0], lr_len = n, memcpy(lr_text, num, (size_t)n + 1);
        }
        if (k == 5 || k == 7) {
            nc += snprintf(csv + nc, sizeof csv - (size_t)nc, k == 5 ? ",%.3f" : ",%.1f", v[k]);
        } else {
            csv[nc++] = ',';
            memcpy(csv + nc, num, (size_t)n);
            nc += n;
        }
        n = nn_fmt_json_real(num, n);
        memcpy(json + nj, num, (size_t)n);
        nj += n;
    }
    csv[nc++] = '\n';
    json[nj++] = '}', json[nj++] = '\n';
    /* the first failed write's errno: a later flush of a stream in error has none */
    errno = 0;
    if ((o->metrics_csv && fwrite(csv, 1, (size_t)nc, o->metrics_csv) != (size_t)nc) ||
        (o->metrics_jsonl && fwrite(json, 1, (size_t)nj, o->metrics_jsonl) != (size_t)nj))
        if (!metrics_errno) metrics_errno = errno;
}

static metrics_row empty_row(long step)
{
    metrics_row r = {step, NAN, NAN, NAN, {NAN, NAN, NAN}, NAN, NAN};
    return r;
}

static void log_loss(loss_log *log, float loss, float lr)
{
    log->ema = SMOOTH_BETA * log->ema + (1 - SMOOTH_BETA) * loss;
    log->beta_pow *= SMOOTH_BETA;
    log->loss[log->n] = loss;
    log->lr[log->n] = lr;
    log->smooth[log->n++] = (float)(log->ema / (1 - log->beta_pow));
}

static void flush_losses(loss_log *log, const nn_run_opts *o)
{
    for (int i = 0; i < log->n; i++) {
        metrics_row r = empty_row(log->first + i);
        r.lr = log->lr[i];
        r.loss = log->loss[i];
        r.smooth = log->smooth[i];
        metrics_write(o, &r);
    }
    log->first += log->n;
    log->n = 0;
}

static void eval_row(nn_trainer *tr, const nn_run_opts *o, long step, double lr, double t0,
                     long start, const double *loss);

/* Evaluation point: the splits of spec->eval, one metrics row, one progress line. */
static void eval_point(nn_trainer *tr, const nn_run_opts *o, long step, double lr, double t0,
                       loss_log *log)
{
    double loss[NN_SPLIT_COUNT];
    int mask = tr->spec->eval.splits;
    for (int s = 0; s < NN_SPLIT_COUNT; s++)
        loss[s] = mask & (1 << s) && tr->ds->split[s].n ? nn_trainer_eval(tr, (nn_split_id)s) : NAN;
    flush_losses(log, o);
    eval_row(tr, o, step, lr, t0, log->start, loss);
}

/* The evaluation's metrics row (after the loss rows of the steps before it), the best-model
 * hook and the progress line. */
static void eval_row(nn_trainer *tr, const nn_run_opts *o, long step, double lr, double t0,
                     long start, const double *loss)
{
    double elapsed = now_seconds() - t0;
    /* evaluation rows carry the split losses; the minibatch loss cell is empty */
    metrics_row r = empty_row(step);
    r.lr = lr;
    memcpy(r.split, loss, sizeof r.split);
    r.elapsed = elapsed;
    r.rate = elapsed > 0 ? (double)(step - start) / elapsed : NAN; /* this invocation's */
    metrics_write(o, &r);
    if (o->metrics_csv) fflush(o->metrics_csv);
    if (o->metrics_jsonl) fflush(o->metrics_jsonl);
    if (o->ctl) nn_runctl_eval(o->ctl, step, loss[NN_SPLIT_DEV]);
    if (o->quiet || !o->progress) return;
    fprintf(o->progress, "%7ld/%7ld  eval", step, tr->spec->train.steps);
    static const char *names[] = {"train", "dev", "test"};
    for (int s = 0; s < NN_SPLIT_COUNT; s++)
        if (!isnan(loss[s])) fprintf(o->progress, "  %s %.4f", names[s], loss[s]);
    fprintf(o->progress, "  lr %g  %.0f steps/s\n", lr,
            elapsed > 0 ? (double)(step - start) / elapsed : 0);
    fflush(o->progress);
}

/* After training (or counting): every split's loss and accuracy, the final metrics row. */
static void final_eval(nn_trainer *tr, const nn_run_opts *o, nn_result *res, double t0)
{
    long steps = res->steps;
    res->have_accuracy = 0;
    for (int s = 0; s < NN_SPLIT_COUNT; s++) {
        res->have_split[s] = tr->ds->split[s].n > 0;
        res->split[s] = res->accuracy[s] = NAN;
        if (res->have_split[s])
            res->split[s] = nn_trainer_eval_acc(tr, (nn_split_id)s, &res->accuracy[s]);
        if (!isnan(res->accuracy[s])) res->have_accuracy = 1;
    }
    /* the final row follows the last step: no step, so no learning rate, runs there */
    metrics_row m = empty_row(steps);
    for (int s = 0; s < NN_SPLIT_COUNT; s++)
        if (res->have_split[s]) m.split[s] = res->split[s];
    m.elapsed = now_seconds() - t0;
    if (steps > res->first_step && res->train_seconds > 0)
        m.rate = (double)(steps - res->first_step) / res->train_seconds;
    metrics_write(o, &m);
    if (o->metrics_csv) fflush(o->metrics_csv);
    if (o->metrics_jsonl) fflush(o->metrics_jsonl);
    if (o->ctl) nn_runctl_eval(o->ctl, steps, res->split[NN_SPLIT_DEV]);
}

static void draw_samples(nn_trainer *tr, nn_result *res)
{
    const nn_sample_spec *ss = &tr->spec->sample;
    if (ss->count > 0 && tr->ds->kind == NN_DATASET_TEXT) {
        res->samples = nn_trainer_sample(tr, ss->count, ss->seed, ss->temperature, ss->max_len);
        res->nsamples = res->samples ? ss->count : 0;
    }
}

/* The counting model: no steps, only the final evaluation and the samples. */
static int run_ngram(nn_trainer *tr, const nn_run_opts *o, nn_result *res)
{
    double t0 = now_seconds();
    res->step0 = res->last = NAN;
    res->steps = 0;
    if (o->metrics_csv) fputs(metrics_header, o->metrics_csv);
    res->train_seconds = now_seconds() - t0;
    final_eval(tr, o, res, t0);
    if (o->ctl && nn_runctl_save_model(o->ctl) != 0) return -2;
    draw_samples(tr, res);
    res->wall_seconds = now_seconds() - t0;
    return 0;
}

/* The live progress line on a terminal: redrawn in place at most five times a second; the
 * clock is read every 256 steps only, so the step loop pays nothing measurable. */
typedef struct {
    int on;
    double shown;
    long start; /* the step this invocation began at */
} live_line;

static void live_show(live_line *lv, FILE *f, long i, long steps, float loss, double lr, double t0)
{
    double now = now_seconds(), rate = now > t0 ? (double)(i - lv->start) / (now - t0) : 0;
    if (now - lv->shown < 0.2) return;
    lv->shown = now;
    double eta = rate > 0 ? (double)(steps - i) / rate : 0;
    fprintf(f, "\r\033[K%7ld/%ld %5.1f%%  %.0f steps/s  loss %.4f  lr %g  ETA %.0fs", i, steps,
            100.0 * (double)i / (double)steps, rate, loss, lr, eta);
    fflush(f);
}

/* Erases the live line before a line that stays. */
static void live_clear(const live_line *lv, FILE *f)
{
    if (lv->on) fputs("\r\033[K", f);
}

/* Flushes the metrics files; 1 when a write failed (the disk is full, a file size limit),
 * with its errno in res->out_errno: the run stops there, at the first flush that fails. */
static int output_failed(const nn_run_opts *o, nn_result *res)
{
    FILE *f[2] = {o->metrics_csv, o->metrics_jsonl};
    for (int k = 0; k < 2; k++) {
        errno = 0;
        if (f[k] && (fflush(f[k]) != 0 || ferror(f[k]))) {
            if (!res->out_errno) res->out_errno = metrics_errno ? metrics_errno : errno;
            return 1;
        }
    }
    return 0;
}

/* An evaluation running beside training (eval_bg.h): its row is written when it finishes,
 * and a step's progress line that falls meanwhile waits for it, so files and lines come
 * in the order of a run that evaluates in place. */
/* The loss rows an evaluation's thread writes before evaluating (the main thread writes
 * no metrics row until it has joined that thread). */
typedef struct {
    loss_log *log;
    const nn_run_opts *o;
} rows_job;

static void write_rows(void *ctx)
{
    rows_job *j = ctx;
    flush_losses(j->log, j->o);
}

typedef struct {
    nn_eval_bg *bg; /* NULL: evaluate in place */
    rows_job rows;
    double lr;      /* at the pending evaluation's step */
    long line_step; /* a held progress line (−1: none) */
    float line_loss;
} bg_eval;

static void step_line(const nn_run_opts *o, long i, long steps, float l)
{
    fprintf(o->progress, "%7ld/%7ld: %.4f\n", i, steps, l);
    fflush(o->progress);
}

/* Collects the pending evaluation, if any (waiting for it), and writes what waited on it. */
static void bg_finish(bg_eval *e, nn_trainer *tr, const nn_run_opts *o, double t0,
                      const live_line *lv)
{
    long step = nn_eval_bg_pending(e->bg);
    if (step < 0) return;
    double loss[NN_SPLIT_COUNT];
    nn_eval_bg_wait(e->bg, loss);
    if (lv->on) live_clear(lv, o->progress);
    eval_row(tr, o, step, e->lr, t0, e->rows.log->start, loss);
    if (e->line_step >= 0) step_line(o, e->line_step, tr->spec->train.steps, e->line_loss);
    e->line_step = -1;
}

int nn_trainer_run(nn_trainer *tr, const nn_run_opts *o, nn_result *res)
{
    metrics_errno = 0;
    if (tr->ngram) return run_ngram(tr, o, res);
    live_line lv = {!o->quiet && o->progress && isatty(fileno(o->progress)), 0, 0};
    const nn_spec *spec = tr->spec;
    long steps = spec->train.steps, every = spec->eval.every;
    long print_every = every > 0 ? every : (steps >= 10 ? steps / 10 : 1);
    /* two buffers: while an evaluation runs beside training, its thread writes the rows
     * before it from one and training fills the other */
    loss_log *logs = calloc(2, sizeof *logs), *log = logs;
    if (!log) return -1;
    log->beta_pow = 1;
    long i = o->ctl ? nn_runctl_start(o->ctl, &log->ema, &log->beta_pow, res) : 0;
    log->first = log->start = res->first_step = lv.start = i;
    if (o->metrics_csv && i == 0) fputs(metrics_header, o->metrics_csv);
    double t0 = now_seconds();
    int status = 0, act;
    bg_eval bge = {every > 0 ? nn_eval_bg_new(tr) : NULL, {NULL, NULL}, 0, -1, 0};
    for (; i < steps; i++) {
        double lr = nn_lr_at(&spec->train.lr, i, steps);
        if (o->ctl) nn_runctl_before_step(o->ctl, i);
        /* collection steps only: elsewhere the step costs one comparison more */
        float l = tr->stats && i == tr->stats->next ? train_step_collect(tr, (float)lr, i)
                                                    : train_step(tr, (float)lr);
        if (i == 0) res->step0 = l;
        res->last = l;
        if (tr->nonfinite || nn_plugins_failure(tr->plugins)) {
            status = -1;
            res->nan = nn_nan_locate(tr, i, l);
            break;
        }
        log_loss(log, l, (float)lr);
        if (bge.bg && nn_eval_bg_pending(bge.bg) >= 0 && nn_eval_bg_done(bge.bg))
            bg_finish(&bge, tr, o, t0, &lv);
        if (log->n == LOSS_BUFFER) {
            bg_finish(&bge, tr, o, t0, &lv); /* its row goes before these */
            flush_losses(log, o);
            if (output_failed(o, res)) { /* not only at evaluation points: eval.every 0 */
                status = -2;
                i++;
                break;
            }
        }
        if (i % print_every == 0 && !o->quiet && o->progress) {
            if (bge.line_step >= 0) bg_finish(&bge, tr, o, t0, &lv);
            live_clear(&lv, o->progress);
            if (bge.bg && nn_eval_bg_pending(bge.bg) >= 0)
                bge.line_step = i, bge.line_loss = l; /* after the evaluation's line */
            else
                step_line(o, i, steps, l);
        } else if (lv.on && (i & 255) == 0) {
            live_show(&lv, o->progress, i, steps, l, lr, t0);
        }
        if (every > 0 && (i + 1) % every == 0 && i + 1 < steps) {
            if (lv.on) live_clear(&lv, o->progress);
            if (bge.bg) {
                bg_finish(&bge, tr, o, t0, &lv);
                loss_log *full = log;
                log = full == logs ? logs + 1 : logs;
                log->first = full->first + full->n, log->n = 0, log->start = full->start;
                log->ema = full->ema, log->beta_pow = full->beta_pow;
                bge.rows = (rows_job){full, o};
                bge.lr = nn_lr_at(&spec->train.lr, i + 1, steps);
                nn_eval_bg_start(bge.bg, spec->eval.splits, i + 1, write_rows, &bge.rows);
            } else {
                eval_point(tr, o, i + 1, nn_lr_at(&spec->train.lr, i + 1, steps), t0, log);
            }
            if (output_failed(o, res)) { /* e.g. the disk is full: stop, keep what was written */
                status = -2;
                i++;
                break;
            }
        }
        if (o->ctl && (act = nn_runctl_due(o->ctl, i + 1, steps)) != 0) {
            bg_finish(&bge, tr, o, t0, &lv); /* the checkpoint sees every row up to here */
            flush_losses(log, o); /* the checkpoint records the metrics files' lengths */
            if (nn_runctl_save(o->ctl, i + 1, log->ema, log->beta_pow, res, o->metrics_csv,
                               o->metrics_jsonl) != 0 ||
                output_failed(o, res)) /* the checkpoint flushed the metrics: a fault shows */
                status = -2;
            else if (act & NN_RUNCTL_STOP)
                status = 1;
            if (status != 0 && ++i) break; /* i: the steps done */
        }
    }
    bg_finish(&bge, tr, o, t0, &lv);
    nn_eval_bg_free(bge.bg);
    live_clear(&lv, o->progress);
    res->steps = status == 0 ? steps : i;
    res->train_seconds = now_seconds() - t0;
    flush_losses(log, o);
    free(logs);
    res->wall_seconds = res->train_seconds;
    if (!res->out_errno) res->out_errno = metrics_errno;
    if (status != 0) return status;
    final_eval(tr, o, res, t0);
    if (tr->stats) nn_stats_finish(tr->stats);
    draw_samples(tr, res);
    res->wall_seconds = now_seconds() - t0;
    if (!res->out_errno) res->out_errno = metrics_errno; /* the final rows' too */
    return 0;
}

void nn_result_free(nn_result *r)
{
    for (int i = 0; i < r->nsamples; i++)
        free(r->samples[i]);
    free(r->samples);
    r->samples = NULL;
    free(r->nan);
    r->nan = NULL;
    r->nsamples = 0;
}
