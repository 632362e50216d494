/* runctl.h — run control around the training loop: checkpoints every N steps and at the
 * end, the best model, stopping (--stop-after, SIGINT/SIGTERM) and resuming (--resume).
 *
 * A checkpoint is two safetensors files in the run directory: model.safetensors (the
 * model, checkpoint.h) and training.safetensors (what else a bit-identical continuation
 * needs: optimizer state, the RNG's full state, the step, the smoothed loss, the metrics
 * files' lengths).  Run control attaches to the trainer as a hook (hooks.h: start,
 * before_step, at_eval, after_step, save, at_end); the rest is here.  Signals: signals.c.
 */
#ifndef NN_RUNCTL_H
#define NN_RUNCTL_H

#include <stdio.h>

#include "runtime/train/train.h"

typedef struct nn_runctl nn_runctl;

/* Run control for a run in `dir` (which exists), attached to tr until nn_runctl_free (call
 * it before nn_trainer_free).  With `resume`, loads the checkpoint there into tr (errors —
 * no or a damaged checkpoint, another spec — in `d`; NULL).  stop_after > 0: stop after
 * that many steps of this invocation. */
nn_runctl *nn_runctl_new(nn_trainer *tr, const char *dir, int resume, long stop_after, nn_diag *d);
void nn_runctl_free(nn_runctl *c);
/* --resume DIR --steps N: the run as its checkpoint knows it, before it was extended. */
typedef struct {
    long step;      /* the checkpoint's step */
    long old_steps; /* the run's train.steps before */
    char hash[17];  /* the spec hash the checkpoint carries (the run's before) */
} nn_runctl_ext;
/* Makes `spec` — the run's own, as loaded (its hash must be the checkpoint's) — a run of
 * `more` steps past DIR's checkpoint: train.steps = its step + more.  The extended run
 * computes what a run of that spec computes from step 0 (the same metrics rows, losses,
 * samples), so its spec hash is honest: a schedule that depends on train.steps (cosine,
 * linear, find) is refused, since it would change the rates of the steps already taken,
 * and the default log_every, which depends on train.steps, is written into the spec when
 * it would change.  Returns 0, or −1 with errors in `d`. */
int nn_runctl_extend_spec(const char *dir, nn_spec *spec, long more, nn_runctl_ext *ext,
                          nn_diag *d);
/* nn_runctl_new with resume, for a spec that nn_runctl_extend_spec extended: the
 * checkpoint is checked against ext->hash; a run whose checkpoint was its end evaluates
 * at that step first (an ending run writes no evaluation row there; a longer one does);
 * DIR/spec.resolved.yaml becomes the longer run's with its first checkpoint, so a process
 * killed before it leaves the run as it was. */
nn_runctl *nn_runctl_new_extended(nn_trainer *tr, const char *dir, const nn_runctl_ext *ext,
                                  long stop_after, nn_diag *d);
/* 0 with the step in *step when DIR holds a checkpoint (model.safetensors and
 * training.safetensors) of this very spec (its spec_hash), else −1: a sweep cell stopped
 * by a signal continues from there. */
int nn_runctl_checkpoint_step(const char *dir, const nn_spec *spec, long *step);
/* DIR/NAME for the metrics rows: a new file, or on resume the file cut back to its
 * length at the checkpoint and opened for appending.  NULL after an error, which is
 * printed (the run must not go on without its metrics). */
FILE *nn_runctl_open_metrics(nn_runctl *c, const char *name);
/* Catches SIGINT and SIGTERM (signals.c): the loop stops after the current step with a
 * checkpoint; a second signal ends the process at once. */
void nn_runctl_catch_signals(void);
/* The signal that stopped the run, or 0. */
int nn_runctl_signal(void);

/* --dump-step K: before step K, nn_dump_step writes DIR/dump.safetensors. */
void nn_runctl_dump_at(nn_runctl *c, long step);

#endif
