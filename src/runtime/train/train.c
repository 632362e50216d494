/* train.c — the step loop: the steps, the evaluation points (in place, or beside training:
 * eval_bg.h), the final evaluation and the samples, with the attached hooks (hooks.h)
 * called at their fixed points.
 *
 * The step loop only copies a minibatch into the plan's inputs, runs the plan's steps,
 * and updates the parameters: no allocation, no graph walk.  Per-step losses collect in a
 * fixed buffer that is written to metrics.csv at evaluation points (metrics_file.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/plugin/plugin.h"
#include "runtime/train/eval_bg.h"
#include "runtime/train/metrics_file.h"
#include "runtime/train/nancheck.h"
#include "runtime/train/progress.h"
#include "runtime/train/trainer_int.h"

/* The step's verdict after backward, before the update: 1 when the update may run. */
static int step_finite(nn_trainer *tr, float loss)
{
    tr->nonfinite = nn_step_nonfinite(tr->P, loss, tr->grad_check);
    return !tr->nonfinite;
}

/* One training step: a minibatch, forward, backward, and — when the objective is finite —
 * the update.  Returns the objective on the batch before the update. */
static float train_step(nn_trainer *tr, float lr)
{
    const nn_plan *p = tr->train_p;
    nn_load_batch(tr);
    nn_plan_forward(p, tr->batch);
    nn_plan_backward(p, tr->batch);
    float l = *(const float *)nn_plan_ptr(p, p->g->loss);
    if (step_finite(tr, l)) nn_optim_step(tr->P, &tr->spec->train, lr);
    return l;
}

/* The hooks in `watching` (bit k: hook k) see this point of the step. */
static void watch(const nn_trainer *tr, unsigned watching, nn_watch_point at, long step)
{
    for (int k = 0; k < tr->nhooks; k++)
        if (watching >> k & 1) tr->hook[k]->watch(tr->hook_ctx[k], at, step);
}

/* train_step on a watched step (statistics collection): the hooks see the minibatch before
 * the training pass, and the weights before and after the update.  The training itself is
 * exactly train_step's. */
static float train_step_watched(nn_trainer *tr, float lr, long step, unsigned watching)
{
    const nn_plan *p = tr->train_p;
    nn_load_batch(tr);
    watch(tr, watching, NN_WATCH_BATCH, step);
    nn_plan_forward(p, tr->batch);
    nn_plan_backward(p, tr->batch);
    float l = *(const float *)nn_plan_ptr(p, p->g->loss);
    if (step_finite(tr, l)) {
        watch(tr, watching, NN_WATCH_BEFORE_UPDATE, step);
        nn_optim_step(tr->P, &tr->spec->train, lr);
        watch(tr, watching, NN_WATCH_AFTER_UPDATE, step);
    }
    return l;
}

/* The hooks that want to watch step `step` (bit k: hook k), after their before_step. */
static unsigned before_step(const nn_trainer *tr, long step)
{
    unsigned watching = 0;
    for (int k = 0; k < tr->nhooks; k++)
        if (tr->hook[k]->before_step &&
            tr->hook[k]->before_step(tr->hook_ctx[k], step) & NN_HOOK_WATCH && tr->hook[k]->watch)
            watching |= 1u << k;
    return watching;
}

static void at_eval(const nn_trainer *tr, long step, const double *loss)
{
    for (int k = 0; k < tr->nhooks; k++)
        if (tr->hook[k]->at_eval) tr->hook[k]->at_eval(tr->hook_ctx[k], step, loss);
}

/* After `done` steps: what the hooks ask for (NN_HOOK_SAVE, NN_HOOK_STOP), and in
 * *savers which of them asked to save. */
static int after_step(const nn_trainer *tr, long done, long steps, unsigned *savers)
{
    int act = 0;
    *savers = 0;
    for (int k = 0; k < tr->nhooks; k++) {
        int a = tr->hook[k]->after_step ? tr->hook[k]->after_step(tr->hook_ctx[k], done, steps) : 0;
        if (a & NN_HOOK_SAVE && tr->hook[k]->save) *savers |= 1u << k;
        act |= a;
    }
    return act;
}

static int save(const nn_trainer *tr, unsigned savers, const nn_train_state *st)
{
    int rc = 0;
    for (int k = 0; k < tr->nhooks; k++)
        if (savers >> k & 1 && tr->hook[k]->save(tr->hook_ctx[k], st) != 0) rc = -1;
    return rc;
}

static void start(const nn_trainer *tr, nn_train_state *st)
{
    for (int k = 0; k < tr->nhooks; k++)
        if (tr->hook[k]->start) tr->hook[k]->start(tr->hook_ctx[k], st);
}

static int at_end(const nn_trainer *tr)
{
    int rc = 0;
    for (int k = 0; k < tr->nhooks; k++)
        if (tr->hook[k]->at_end && tr->hook[k]->at_end(tr->hook_ctx[k]) != 0) rc = -1;
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double nn_trainer_bench(nn_trainer *tr, long steps, double *median)
{
    if (median) *median = 0;
    if (!tr->train_p || steps <= 0) return 0;
    long warm = steps / 10 < 50 ? steps / 10 : 50;
    for (long i = 0; i < warm; i++)
        train_step(tr, (float)nn_lr_at(&tr->spec->train.lr, i, steps));
    double *each = malloc((size_t)steps * sizeof *each); /* NULL: the total only */
    double t0 = nn_now_seconds(), t = t0;
    for (long i = 0; i < steps; i++) {
        train_step(tr, (float)nn_lr_at(&tr->spec->train.lr, i, steps));
        if (!each) continue;
        double u = nn_now_seconds();
        each[i] = u - t;
        t = u;
    }
    double total = nn_now_seconds() - t0;
    if (each && median) { /* the step a busy machine did not interrupt, as torch_ref.py takes */
        qsort(each, (size_t)steps, sizeof *each, cmp_double);
        *median = each[steps / 2];
    }
    free(each);
    return total;
}

static void eval_row(nn_trainer *tr, const nn_run_opts *o, long step, double lr, double t0,
                     long start, const double *loss, const double *acc);

/* Evaluation point: the splits of spec->eval, one metrics row, one progress line. */
static void eval_point(nn_trainer *tr, const nn_run_opts *o, long step, double lr, double t0,
                       nn_loss_log *log)
{
    double loss[NN_SPLIT_COUNT], acc[NN_SPLIT_COUNT];
    int mask = tr->spec->eval.splits;
    for (int s = 0; s < NN_SPLIT_COUNT; s++) {
        acc[s] = NAN;
        loss[s] = mask & (1 << s) && tr->ds->split[s].n
                      ? nn_trainer_eval_acc(tr, (nn_split_id)s, &acc[s])
                      : NAN;
    }
    nn_loss_log_flush(log, o);
    eval_row(tr, o, step, lr, t0, log->start, loss, acc);
}

/* The evaluation's metrics row (after the loss rows of the steps before it), the hooks'
 * at_eval (the best model) and the progress line. */
static void eval_row(nn_trainer *tr, const nn_run_opts *o, long step, double lr, double t0,
                     long start, const double *loss, const double *acc)
{
    double elapsed = nn_now_seconds() - t0;
    /* evaluation rows carry the split losses; the minibatch loss cell is empty */
    nn_metrics_row r = nn_metrics_empty_row(step);
    r.lr = lr;
    memcpy(r.split, loss, sizeof r.split);
    memcpy(r.acc, acc, sizeof r.acc);
    r.elapsed = elapsed;
    r.rate = elapsed > 0 ? (double)(step - start) / elapsed : NAN; /* this invocation's */
    nn_metrics_write(o, &r);
    nn_metrics_flush(o);
    at_eval(tr, step, loss);
    if (o->quiet || !o->progress) return;
    nn_progress_eval(o, step, tr->spec->train.steps, loss, acc, lr,
                     elapsed > 0 ? (double)(step - start) / elapsed : 0);
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
    nn_metrics_row m = nn_metrics_empty_row(steps);
    for (int s = 0; s < NN_SPLIT_COUNT; s++)
        if (res->have_split[s]) m.split[s] = res->split[s], m.acc[s] = res->accuracy[s];
    m.elapsed = nn_now_seconds() - t0;
    if (steps > res->first_step && res->train_seconds > 0)
        m.rate = (double)(steps - res->first_step) / res->train_seconds;
    nn_metrics_write(o, &m);
    nn_metrics_flush(o);
    at_eval(tr, steps, res->split);
}

static void draw_samples(nn_trainer *tr, nn_result *res)
{
    const nn_sample_spec *ss = &tr->spec->sample;
    if (ss->count > 0 && tr->ds->kind == NN_DATASET_TEXT) {
        res->samples =
            tr->spec->rng_global /* rng: {torch: global} — the trainer's stream goes on */
                ? nn_trainer_sample_rng(tr, &tr->rng, ss->count, ss->temperature, ss->max_len)
                : nn_trainer_sample(tr, ss->count, ss->seed, ss->temperature, ss->max_len);
        res->nsamples = res->samples ? ss->count : 0;
    }
}

/* The counting model: no steps, only the final evaluation and the samples. */
static int run_ngram(nn_trainer *tr, const nn_run_opts *o, nn_result *res)
{
    double t0 = nn_now_seconds();
    res->step0 = res->last = NAN;
    res->steps = 0;
    if (o->metrics_csv) fputs(nn_metrics_header, o->metrics_csv);
    res->train_seconds = nn_now_seconds() - t0;
    final_eval(tr, o, res, t0);
    if (at_end(tr) != 0) return -2;
    draw_samples(tr, res);
    res->wall_seconds = nn_now_seconds() - t0;
    return 0;
}

/* An evaluation running beside training (eval_bg.h): its row is written when it finishes,
 * and a step's progress line that falls meanwhile waits for it, so files and lines come
 * in the order of a run that evaluates in place. */
/* The loss rows an evaluation's thread writes before evaluating (the main thread writes
 * no metrics row until it has joined that thread). */
typedef struct {
    nn_loss_log *log;
    const nn_run_opts *o;
} rows_job;

static void write_rows(void *ctx)
{
    rows_job *j = ctx;
    nn_loss_log_flush(j->log, j->o);
}

typedef struct {
    nn_eval_bg *bg; /* NULL: evaluate in place */
    rows_job rows;
    double lr;      /* at the pending evaluation's step */
    long line_step; /* a held progress line (−1: none) */
    float line_loss;
} bg_eval;

/* Collects the pending evaluation, if any (waiting for it), and writes what waited on it. */
static void bg_finish(bg_eval *e, nn_trainer *tr, const nn_run_opts *o, double t0,
                      const nn_live_line *lv)
{
    long step = nn_eval_bg_pending(e->bg);
    if (step < 0) return;
    double loss[NN_SPLIT_COUNT], acc[NN_SPLIT_COUNT];
    nn_eval_bg_wait(e->bg, loss, acc);
    if (lv->on) nn_live_clear(lv, o->progress);
    eval_row(tr, o, step, e->lr, t0, e->rows.log->start, loss, acc);
    if (e->line_step >= 0) nn_progress_step(o, e->line_step, tr->spec->train.steps, e->line_loss);
    e->line_step = -1;
}

int nn_trainer_run(nn_trainer *tr, const nn_run_opts *o, nn_result *res)
{
    if (tr->ngram) return run_ngram(tr, o, res);
    nn_live_line lv = {!o->quiet && o->progress && isatty(fileno(o->progress)), 0, 0};
    const nn_spec *spec = tr->spec;
    long steps = spec->train.steps, every = spec->eval.every;
    /* a line at every evaluation; a run with no evaluation before its end (a spec that
     * evaluates every 10,000 steps run with --set train.steps=2000) about ten */
    long tenth = steps >= 10 ? steps / 10 : 1;
    long print_every = every > 0 && every < steps ? every : tenth;
    /* two buffers: while an evaluation runs beside training, its thread writes the rows
     * before it from one and training fills the other */
    nn_loss_log *logs = calloc(2, sizeof *logs), *log = logs;
    if (!log) return -1;
    log->beta_pow = 1;
    log->every = spec->eval.log_every > 0 ? spec->eval.log_every : nn_log_every(steps);
    log->mark = print_every; /* the steps the terminal prints have rows of their own */
    nn_metrics_errno(1);
    nn_train_state st = {0, 0, 1, res, o->metrics_csv, o->metrics_jsonl};
    start(tr, &st); /* a resumed run: its checkpoint's step and state */
    long i = st.step;
    log->ema = st.ema, log->beta_pow = st.beta_pow;
    log->first = log->start = res->first_step = lv.start = i;
    if (o->metrics_csv && i == 0) fputs(nn_metrics_header, o->metrics_csv);
    double t0 = nn_now_seconds();
    int status = 0;
    unsigned savers = 0;
    bg_eval bge = {every > 0 ? nn_eval_bg_new(tr) : NULL, {NULL, NULL}, 0, -1, 0};
    if (spec->eval.start && i == 0) /* eval: {start: true} — the model before any step */
        eval_point(tr, o, 0, nn_lr_at(&spec->train.lr, 0, steps), t0, log);
    for (; i < steps; i++) {
        double lr = nn_lr_at(&spec->train.lr, i, steps);
        unsigned watching = before_step(tr, i);
        float l =
            watching ? train_step_watched(tr, (float)lr, i, watching) : train_step(tr, (float)lr);
        if (i == 0) res->step0 = l;
        res->last = l;
        if (tr->nonfinite || nn_plugins_failure(tr->plugins)) {
            status = -1;
            res->nan = nn_nan_locate(tr, i, l);
            break;
        }
        nn_loss_log_add(log, l, (float)lr);
        if (bge.bg && nn_eval_bg_pending(bge.bg) >= 0 && nn_eval_bg_done(bge.bg))
            bg_finish(&bge, tr, o, t0, &lv);
        if (log->n >= NN_LOSS_BUFFER - 1) { /* room for the two rows a step can close */
            bg_finish(&bge, tr, o, t0, &lv); /* its row goes before these */
            nn_loss_log_flush(log, o);
            if (nn_metrics_failed(o)) { /* not only at evaluation points: eval.every 0 */
                status = -2;
                i++;
                break;
            }
        }
        if (i % print_every == 0 && !o->quiet && o->progress) {
            if (bge.line_step >= 0) bg_finish(&bge, tr, o, t0, &lv);
            nn_live_clear(&lv, o->progress);
            if (bge.bg && nn_eval_bg_pending(bge.bg) >= 0)
                bge.line_step = i, bge.line_loss = l; /* after the evaluation's line */
            else
                nn_progress_step(o, i, steps, l);
        } else if (lv.on && (i & 255) == 0) {
            nn_live_show(&lv, o->progress, i, steps, l, lr, t0);
        }
        if (every > 0 && (i + 1) % every == 0 && i + 1 < steps) {
            if (lv.on) nn_live_clear(&lv, o->progress);
            if (bge.bg) {
                bg_finish(&bge, tr, o, t0, &lv);
                nn_loss_log *full = log;
                log = full == logs ? logs + 1 : logs;
                log->first = full->first, log->n = 0, log->start = full->start;
                log->every = full->every, log->mark = full->mark;
                log->acc = 0, log->acc_n = 0; /* full's are its rows */
                log->ema = full->ema, log->beta_pow = full->beta_pow;
                bge.rows = (rows_job){full, o};
                bge.lr = nn_lr_at(&spec->train.lr, i + 1, steps);
                nn_eval_bg_start(bge.bg, spec->eval.splits, i + 1, write_rows, &bge.rows);
            } else {
                eval_point(tr, o, i + 1, nn_lr_at(&spec->train.lr, i + 1, steps), t0, log);
            }
            if (nn_metrics_failed(o)) { /* e.g. the disk is full: stop, keep what was written */
                status = -2;
                i++;
                break;
            }
        }
        int act = tr->nhooks ? after_step(tr, i + 1, steps, &savers) : 0;
        if (act) {
            bg_finish(&bge, tr, o, t0, &lv); /* the checkpoint sees every row up to here */
            nn_loss_log_flush(log, o);       /* the checkpoint records the metrics files' lengths */
            st.step = i + 1, st.ema = log->ema, st.beta_pow = log->beta_pow;
            if (save(tr, savers, &st) != 0 || nn_metrics_failed(o)) /* its flush failed */
                status = -2;
            else if (act & NN_HOOK_STOP)
                status = 1;
            if (status != 0 && ++i) break; /* i: the steps done */
        }
    }
    bg_finish(&bge, tr, o, t0, &lv);
    nn_eval_bg_free(bge.bg);
    nn_live_clear(&lv, o->progress);
    res->steps = status == 0 ? steps : i;
    res->train_seconds = nn_now_seconds() - t0;
    nn_loss_log_flush(log, o);
    free(logs);
    res->wall_seconds = res->train_seconds;
    res->out_errno = nn_metrics_errno(0);
    if (status != 0) return status;
    final_eval(tr, o, res, t0);
    res->out_errno = nn_metrics_errno(0); /* the final rows' too */
    if (at_end(tr) != 0) return -2;
    draw_samples(tr, res);
    res->wall_seconds = nn_now_seconds() - t0;
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
