/* train.h — the experiment: model state, a training plan and an evaluation plan over a
 * data set; the training loop, split evaluation and sampling.  Where each part lives:
 * train/README.md. */
#ifndef NN_TRAIN_H
#define NN_TRAIN_H

#include <stdio.h>

#include "ir/build.h"
#include "runtime/data/data.h"
#include "runtime/exec/ngram.h"
#include "runtime/exec/plan.h"
#include "runtime/store/checkpoint.h"

#define NN_MAX_THREADS 16
#define NN_EVAL_ROWS   4096 /* rows per evaluation chunk (and the most samples at once) */

/* The experiment being trained: its graphs, plans, parameters and random stream.  Opaque
 * outside train/ (its fields: train/trainer_int.h); modules around the step loop read it
 * through the accessors below and attach at the loop's fixed points (train/hooks.h). */
typedef struct nn_trainer nn_trainer;

typedef struct {
    double step0, last;           /* objective on the first / last training batch */
    double split[NN_SPLIT_COUNT]; /* data loss over each split after training */
    int have_split[NN_SPLIT_COUNT];
    double accuracy[NN_SPLIT_COUNT]; /* classifiers: fraction right per split after training */
    int have_accuracy; /* hinge (sign agreement), cross_entropy on table data (argmax) */
    long steps;
    long first_step; /* where this invocation began (a resumed run: its checkpoint's step);
                        rates count the steps from there, in train_seconds */
    double wall_seconds, train_seconds;
    char **samples;
    int nsamples;
    struct nn_nan_report *nan; /* why the run stopped early (nancheck.h), or NULL */
    int out_errno; /* a metrics file could not be written (status −2): the write's errno */
} nn_result;

typedef struct {
    int quiet;
    FILE *progress;    /* where progress lines go (stdout, or stderr with --json) */
    FILE *metrics_csv; /* NULL: no metrics file */
    /* metrics.jsonl (NULL: none): one JSON object per metrics.csv row, its columns as keys,
     * null where the CSV cell is empty */
    FILE *metrics_jsonl;
} nn_run_opts;

/* Builds the graphs (shape errors are recorded in `d`), lowers them and initialises the
 * parameters from the spec's seed (init errors are recorded too); or, for the ngram model,
 * counts.  NULL on error. */
nn_trainer *nn_trainer_new(const nn_spec *spec, const nn_dataset *ds, nn_diag *d);
void nn_trainer_free(nn_trainer *tr);

/* --- what the modules around the loop read (no field of nn_trainer is public) --- */
enum { NN_TRAINING = 0, NN_EVALUATION = 1 }; /* which graph / plan */
const nn_spec *nn_trainer_spec(const nn_trainer *tr);
const nn_dataset *nn_trainer_data(const nn_trainer *tr);
/* The model state: parameters, buffers, gradients, optimizer state (empty for ngram). */
nn_params *nn_trainer_params(const nn_trainer *tr);
/* The training (batch rows) or evaluation (NN_EVAL_ROWS rows) graph and its plan; NULL for
 * the counting model. */
const nn_graph *nn_trainer_graph(const nn_trainer *tr, int which);
nn_plan *nn_trainer_plan(const nn_trainer *tr, int which);
/* The counting model, or NULL. */
const nn_ngram *nn_trainer_ngram(const nn_trainer *tr);
/* Rows per training step. */
int nn_trainer_batch(const nn_trainer *tr);
/* Evaluation plans, one per thread (1: evaluation runs on the calling thread only). */
int nn_trainer_eval_threads(const nn_trainer *tr);
/* The random stream that draws the minibatches (a checkpoint saves and restores it). */
nn_rng *nn_trainer_rng(nn_trainer *tr);
/* The activation plugins (plugin.h), or NULL when the spec loads none. */
struct nn_plugins *nn_trainer_plugins(const nn_trainer *tr);
/* --nan-check (the default, on) or --no-nan-check: whether a step also checks every
 * gradient and running buffer, not only the loss (nancheck.h). */
void nn_trainer_set_nan_check(nn_trainer *tr, int on);
/* Evaluate in place at every evaluation point, never beside training (eval_bg.h): a hook's
 * at_eval then comes before the next step, so it can stop the run right there (the C API's
 * callback).  The numbers are the same either way. */
void nn_trainer_set_eval_inline(nn_trainer *tr, int on);
int nn_trainer_eval_inline(const nn_trainer *tr);

/* Trains for spec->train.steps steps, evaluating on the schedule of spec->eval, then
 * evaluates every split and draws the samples.  Returns 0; −1 if the loss or (with
 * grad_check) a gradient became non-finite, or a plugin failed: the run stops within that
 * step, before its update, with the steps done in res->steps, metrics written up to there,
 * and where the value appeared in res->nan (no final evaluation, no samples); −2 when
 * writing a metrics file (ferror, checked at evaluation points: a full disk, a file size
 * limit) or a checkpoint (an attached hook's save or at_end, hooks.h) failed: stopped there;
 * 1 when a hook stopped the run (runctl.h: --stop-after, a signal) after res->steps steps
 * (no final evaluation then).  The ngram
 * model takes no steps: step0 and last are NaN, steps 0. */
int nn_trainer_run(nn_trainer *tr, const nn_run_opts *o, nn_result *res);
/* Mean data loss over a whole split, in eval mode (NaN for an empty split). */
double nn_trainer_eval(nn_trainer *tr, nn_split_id s);
/* The same, and the accuracy over the split in *acc (NaN when the model is no classifier). */
double nn_trainer_eval_acc(nn_trainer *tr, nn_split_id s, double *acc);
/* The same on the given evaluation plans (plans[t] on thread t; nplans == 1: the calling
 * thread only); the result does not depend on nplans. */
double nn_trainer_eval_plans(nn_trainer *tr, nn_plan *const *plans, int nplans, nn_split_id s,
                             double *acc);
/* Draws `count` items with the spec's sample settings; returns a malloc'd array of
 * malloc'd UTF-8 strings (each ending with '.'), or NULL. */
char **nn_trainer_sample(nn_trainer *tr, int count, uint64_t seed, double temperature, int max_len);
/* The same, drawing from `rng` (left where the draws end): rng: {torch: global} samples on
 * the training stream, after the last minibatch, as the lesson-5 notebook does. */
char **nn_trainer_sample_rng(nn_trainer *tr, nn_rng *rng, int count, double temperature,
                             int max_len);
void nn_result_free(nn_result *r);
/* Times `steps` training steps (after a short warm-up) with no evaluation, logging or
 * output: `nnrun bench`.  Returns the seconds taken (0 for the counting model), and the
 * median seconds of one step in *median (if not NULL): on a shared machine the mean counts
 * the time other processes held the core, the median hardly. */
double nn_trainer_bench(nn_trainer *tr, long steps, double *median);
/* One forward/backward pass on the first `rows` training examples (at most the batch and
 * the split), without an update, in a new plan that keeps every tensor (*plan; the caller
 * frees it) — what `nnrun graph --values` shows.  Returns the rows used (0 and no plan for
 * the counting model, which has no graph; −1 when out of memory). */
int nn_trainer_probe(nn_trainer *tr, int rows, nn_plan **plan);

/* Draws the next step's minibatch into the training plan's inputs without using up the
 * random stream: the step then draws the same rows (dump.c). */
void nn_trainer_peek_batch(nn_trainer *tr);

/* The model as model.safetensors stores it (store/checkpoint.h). */
nn_model_ref nn_trainer_model(const nn_trainer *tr);

/* Learning rate at step `step` of a run of `steps` (schedule.c). */
double nn_lr_at(const nn_lr_spec *lr, long step, long steps);
/* One optimizer step over every parameter (optim.c). */
void nn_optim_step(nn_params *P, const nn_train_spec *t, float lr);
/* The global L2 norm of every parameter's gradient (optim.c). */
double nn_grad_norm(const nn_params *P);
/* clip_grad_norm_(max_norm) on every parameter's gradient; returns the norm before. */
double nn_clip_grad_norm(nn_params *P, double max_norm);
/* Optimizer state arrays per parameter for nn_params_new (0, 1 momentum, 2 Adam). */
int nn_optim_state_arrays(const nn_train_spec *t);

#endif
