/* runctl.h — run control around the training loop: checkpoints every N steps and at the
 * end, the best model, stopping (--stop-after, SIGINT/SIGTERM) and resuming (--resume).
 *
 * A checkpoint is two safetensors files in the run directory: model.safetensors (the
 * model, checkpoint.h) and training.safetensors (what else a bit-identical continuation
 * needs: optimizer state, the RNG's full state, the step, the smoothed loss, the metrics
 * files' lengths).  The step loop calls three small hooks (start, due, save); the rest is
 * here.
 */
#ifndef NN_RUNCTL_H
#define NN_RUNCTL_H

#include <stdio.h>

#include "runtime/train/train.h"

typedef struct nn_runctl nn_runctl;

enum { NN_RUNCTL_SAVE = 1, NN_RUNCTL_STOP = 2 };

/* Run control for a run in `dir` (which exists).  With `resume`, loads the checkpoint
 * there into tr (errors — no or a damaged checkpoint, another spec — in `d`; NULL).
 * stop_after > 0: stop after that many steps of this invocation. */
nn_runctl *nn_runctl_new(nn_trainer *tr, const char *dir, int resume, long stop_after, nn_diag *d);
void nn_runctl_free(nn_runctl *c);
/* 0 with the step in *step when DIR holds a checkpoint (model.safetensors and
 * training.safetensors) of this very spec (its spec_hash), else −1: a sweep cell stopped
 * by a signal continues from there. */
int nn_runctl_checkpoint_step(const char *dir, const nn_spec *spec, long *step);
/* DIR/NAME for the metrics rows: a new file, or on resume the file cut back to its
 * length at the checkpoint and opened for appending.  NULL after an error, which is
 * printed (the run must not go on without its metrics). */
FILE *nn_runctl_open_metrics(nn_runctl *c, const char *name);
/* Catches SIGINT and SIGTERM: the loop stops after the current step (nn_runctl_due); a
 * second signal ends the process at once. */
void nn_runctl_catch_signals(void);
/* The signal that stopped the run, or 0. */
int nn_runctl_signal(void);

/* --dump-step K: before step K, nn_dump_step writes DIR/dump.safetensors. */
void nn_runctl_dump_at(nn_runctl *c, long step);

/* --- hooks in the step loop (train.c) --- */
/* Before step `step` runs (the dump). */
void nn_runctl_before_step(nn_runctl *c, long step);
/* Before the first step: the step to start from (0, or the checkpoint's), and the state
 * the loop keeps (smoothed loss; the first and last losses in res) as it was at the
 * checkpoint. */
long nn_runctl_start(nn_runctl *c, double *ema, double *beta_pow, nn_result *res);
/* After `done` steps of `steps`: 0, or NN_RUNCTL_SAVE, with NN_RUNCTL_STOP to stop. */
int nn_runctl_due(const nn_runctl *c, long done, long steps);
/* The counting model (no steps, no training state): model.safetensors with its counts.
 * 0, or −1 with a message on stderr. */
int nn_runctl_save_model(nn_runctl *c);
/* Writes the checkpoint after `done` steps (the metrics rows so far are flushed). */
int nn_runctl_save(nn_runctl *c, long done, double ema, double beta_pow, const nn_result *res,
                   FILE *metrics_csv, FILE *metrics_jsonl);
/* At an evaluation point: with keep: best, a better dev loss saves model_best.safetensors. */
void nn_runctl_eval(nn_runctl *c, long step, double dev_loss);

#endif
