/* metrics_file.h — metrics.csv and metrics.jsonl: a row per training step (its minibatch
 * loss, the smoothed loss, the learning rate), a row per evaluation point (the split losses and
 * accuracies, elapsed seconds, steps per second) and the final row.  Step rows collect in a fixed
 * buffer (nn_loss_log) and are written at evaluation points, never inside the step body.
 * The columns are the contract in DESIGN.md. */
#ifndef NN_METRICS_FILE_H
#define NN_METRICS_FILE_H

#include "runtime/train/train.h"

#define NN_LOSS_BUFFER 16384 /* > the steps a background evaluation takes, so none waits */
#define NN_SMOOTH_BETA 0.99  /* the smoothed loss averages over about the last 100 steps */

/* Step rows: one every `every` steps (eval.log_every), each with the loss, learning rate
 * and smoothed loss of its step and the mean of log10(loss) over the steps since the row
 * before (what the report's curve averages, so it stays exact with fewer rows).  A flush
 * writes the steps not yet in a row as one more row: rows cover every step once. */
typedef struct {
    float loss[NN_LOSS_BUFFER], lr[NN_LOSS_BUFFER], smooth[NN_LOSS_BUFFER];
    float lmean[NN_LOSS_BUFFER]; /* mean log10(loss) over the steps the row covers */
    long step[NN_LOSS_BUFFER];
    long first; /* the step the next loss is of */
    long start; /* the step this invocation began at (rates count from there) */
    int n;
    long every;      /* a row every N steps (≥ 1) */
    long mark;       /* and a row of its own for every step s with s % mark == 0 (0: none):
                      * the steps the terminal prints, as the lectures print every 10,000th */
    double acc;      /* Σ log10(loss) of the steps not yet in a row */
    long acc_n;      /* how many */
    float pend[3];   /* the last of them: loss, lr, smoothed loss */
    double ema;      /* exponential moving average of the loss */
    double beta_pow; /* NN_SMOOTH_BETA^(losses so far): the EMA's bias correction */
} nn_loss_log;

/* The default eval.log_every for a run of `steps`: 1 up to 20,000 steps, else the largest
 * divisor of steps / 200 (the report's smoothing window) that keeps about 20,000 rows —
 * 10 for 200,000 steps, whose windows of 1000 steps stay exact. */
long nn_log_every(long steps);

/* One row of metrics.csv and metrics.jsonl; NaN (or a step < 0) where a cell is empty. */
typedef struct {
    long step;
    double lr, loss, smooth, split[NN_SPLIT_COUNT], elapsed, rate;
    double lmean; /* step rows: mean log10(loss) over the steps since the row before */
    double acc[NN_SPLIT_COUNT]; /* classifiers: the fraction right per split at evaluations */
} nn_metrics_row;

/* The header line of metrics.csv (a new run writes it first). */
extern const char nn_metrics_header[];

/* Writes one row to both files (those of `o` that are open).  Main thread, or the thread
 * that owns the files at that moment (a background evaluation's row writer). */
void nn_metrics_write(const nn_run_opts *o, const nn_metrics_row *r);
/* A row with every cell empty but the step. */
nn_metrics_row nn_metrics_empty_row(long step);
/* Flushes both files (evaluation points: a row is on disk when its progress line shows). */
void nn_metrics_flush(const nn_run_opts *o);
/* Flushes both files; 1 when writing either failed (a full disk, a file size limit): the run
 * stops at the first flush that fails, not only at evaluation points. */
int nn_metrics_failed(const nn_run_opts *o);
/* The errno of the first failed write or flush (0: none), then 0 again when `reset`. */
int nn_metrics_errno(int reset);
/* Records a step's loss (and the smoothed loss after it); a row every log->every steps. */
void nn_loss_log_add(nn_loss_log *log, float loss, float lr);
/* Writes the buffered step rows and empties the buffer. */
void nn_loss_log_flush(nn_loss_log *log, const nn_run_opts *o);

#endif
