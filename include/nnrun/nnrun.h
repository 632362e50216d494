/* nnrun/nnrun.h — libnnrun, the C API of nnrun (docs/api.md: a complete example).
 *
 * Load a spec, build a run, train it in steps, read its metrics and tensors, sample, and
 * save or load its weights — what `nnrun run` does, from a program.  Link with
 * `pkg-config --cflags --libs nnrun`.
 *
 * Conventions:
 *   - Handles are opaque; each *_free accepts NULL.
 *   - A function that can fail returns NULL or a negative NNRUN_E* code.  After a failed
 *     call on a run, nnrun_run_errors(run) holds what went wrong; spec loading and run
 *     building hand back an nnrun_errors list (free it with nnrun_errors_free).  Every
 *     error has a message and, when it comes from the user's input, a position:
 *     file, line, column (1-based) — the text `nnrun` prints as FILE:LINE:COL: error: ...
 *   - Strings returned are owned by the handle they came from unless said otherwise.
 *   - A run is used from one thread at a time.  The library never calls exit() and
 *     never installs signal handlers.
 */
#ifndef NNRUN_NNRUN_H
#define NNRUN_NNRUN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the library: "MAJOR.MINOR.PATCH" (the package version).  The shared
 * library's soname (libnnrun.so.N) changes when this API changes incompatibly. */
const char *nnrun_version(void);
#define NNRUN_API_VERSION 1 /* this header's API; nnrun_api_version() is the library's */
int nnrun_api_version(void);

enum {
    NNRUN_OK = 0,
    NNRUN_STOPPED = 1,  /* nnrun_train: the callback asked to stop (the steps so far stand) */
    NNRUN_EINPUT = -2,  /* wrong input: a spec, a name, a shape, a file (see the errors) */
    NNRUN_ERUN = -1,    /* the run failed: a non-finite loss, a plugin's NaN, out of memory */
    NNRUN_EOUTPUT = -3, /* a file of the run directory could not be written */
};

/* --- errors ------------------------------------------------------------------------- */
typedef struct nnrun_errors nnrun_errors;
typedef struct {
    const char *file;    /* NULL when the error has no position */
    int line, column;    /* 1-based; 0 when unknown */
    const char *message; /* without "FILE:LINE:COL: error: " */
} nnrun_error;

int nnrun_errors_count(const nnrun_errors *e);
/* Error i (0-based): NNRUN_OK, or NNRUN_EINPUT when there is no error i. */
int nnrun_errors_get(const nnrun_errors *e, int i, nnrun_error *out);
/* Every error as `nnrun` prints it: FILE:LINE:COL: error: MESSAGE, the source line, a
 * caret and notes; "" when there is none. */
const char *nnrun_errors_text(const nnrun_errors *e);
void nnrun_errors_free(nnrun_errors *e);

/* --- specs -------------------------------------------------------------------------- */
typedef struct nnrun_spec nnrun_spec;

/* Reads the spec at `path` with `nsets` overrides "KEY.PATH=VALUE" (as --set: the value is
 * YAML, validated like the file).  NULL on error, with *err set (when err is not NULL). */
nnrun_spec *nnrun_spec_load(const char *path, const char *const *sets, int nsets,
                            nnrun_errors **err);
/* The same for spec text.  Relative paths in it (data files, include:) resolve in
 * `base_dir` (NULL: the current directory); errors name the file "<string>"; the run's
 * name is `name` (NULL: "spec") unless the text sets `name:`. */
nnrun_spec *nnrun_spec_load_string(const char *yaml, const char *base_dir, const char *name,
                                   const char *const *sets, int nsets, nnrun_errors **err);
void nnrun_spec_free(nnrun_spec *s);
const char *nnrun_spec_name(const nnrun_spec *s);
/* The activation plugins the spec declares (building a run loads them: their code runs). */
int nnrun_spec_plugins(const nnrun_spec *s);
/* The resolved spec as YAML (`nnrun check --resolved`): malloc'd, the caller frees it. */
char *nnrun_spec_resolved(const nnrun_spec *s);

/* --- runs --------------------------------------------------------------------------- */
typedef struct nnrun_run nnrun_run;

typedef struct {
    /* The run directory: NULL for none (metrics kept in memory), "" for runs/NAME as
     * `nnrun run` picks it, or a path (`--out`).  With one, the run writes what `nnrun run`
     * writes: spec.resolved.yaml, metrics.csv/jsonl, and at the end summary.json,
     * samples.txt, stats.json, report.html and the checkpoints the spec asks for. */
    const char *out;
    int force;    /* --force: an existing run directory may be reused */
    int progress; /* 1: progress lines on stderr as `nnrun run` prints them */
    int threads;  /* kernel threads (0: one per core, at most 16, as nnrun does) */
} nnrun_run_opts;

/* Loads the data, builds the model and initialises it from the spec's seed (the spec is
 * copied: it may be freed after).  opts NULL: no run directory, quiet.  NULL on error with
 * *err set. */
nnrun_run *nnrun_run_new(const nnrun_spec *spec, const nnrun_run_opts *opts, nnrun_errors **err);
void nnrun_run_free(nnrun_run *r);
/* The errors of the last failed call on r (never NULL; empty when it succeeded). */
const nnrun_errors *nnrun_run_errors(const nnrun_run *r);
/* The run directory, or NULL. */
const char *nnrun_run_dir(const nnrun_run *r);

/* Called after each evaluation (metrics row with split losses): `loss` holds the train,
 * dev and test losses (NaN for a split not evaluated).  Return 0 to go on, nonzero to stop
 * after this step. */
typedef int (*nnrun_eval_fn)(void *ctx, long step, const double loss[3]);

/* Trains `steps` more steps (≤ 0: to the end), never beyond the spec's train.steps: the
 * learning-rate schedule and the evaluation points are those of the whole run, so a run
 * trained in pieces computes exactly what one call (and `nnrun run`) computes.  Reaching
 * train.steps runs the final evaluation and the samples and, with a run directory, writes
 * the results and the report.  Returns NNRUN_OK, NNRUN_STOPPED (the callback asked), or
 * an error code; eval may be NULL.  A run that failed (NNRUN_ERUN: a non-finite loss, a
 * plugin's NaN) takes no more steps; with a run directory it still writes what it has
 * (metrics, summary, samples, report), as `nnrun run` does. */
int nnrun_train(nnrun_run *r, long steps, nnrun_eval_fn eval, void *ctx);
long nnrun_steps_done(const nnrun_run *r);
long nnrun_steps_total(const nnrun_run *r);
/* 1 once the final evaluation ran. */
int nnrun_finished(const nnrun_run *r);

/* The metrics so far (metrics.csv's table): columns step, lr, loss, train_loss, dev_loss,
 * test_loss, elapsed_s, smooth_loss, steps_per_s; NaN where the CSV cell is empty.
 * Returns the number of rows (≥ 0) or an error code. */
long nnrun_metrics_rows(nnrun_run *r);
int nnrun_metrics_columns(void);
const char *nnrun_metrics_column_name(int col); /* NULL past the last */
/* Copies column `col` (rows values) into out[]; NNRUN_OK or an error code. */
int nnrun_metrics_column(nnrun_run *r, int col, double *out, long rows);
/* After the end: the final loss of split 0 train, 1 dev, 2 test (NaN when empty). */
double nnrun_final_loss(const nnrun_run *r, int split);

/* --- tensors ------------------------------------------------------------------------ */
#define NNRUN_MAX_DIMS 4
typedef struct {
    int ndim;
    int64_t dim[NNRUN_MAX_DIMS];
    int64_t numel;
    int kind; /* NNRUN_PARAM, NNRUN_BUFFER, NNRUN_ACTIVATION, NNRUN_GRADIENT */
} nnrun_shape;
enum { NNRUN_PARAM = 1, NNRUN_BUFFER, NNRUN_ACTIVATION, NNRUN_GRADIENT };

/* A tensor by its IR name (`nnrun graph` lists them): a parameter or BatchNorm buffer
 * ("layers.2.weight", "layers.3.running_mean"), a parameter's gradient ("layers.2.weight.grad":
 * the last step's), or an activation and its gradient on the probe batch
 * ("layers.3.out", "layers.3.out.grad"; see nnrun_probe).  NNRUN_EINPUT for an unknown
 * name (the error suggests a close one). */
int nnrun_tensor_shape(nnrun_run *r, const char *name, nnrun_shape *shape);
/* Copies the tensor into out[n] (n must be its numel). */
int nnrun_tensor_get(nnrun_run *r, const char *name, float *out, int64_t n);
/* Overwrites a parameter or buffer with data[n] (n must be its numel); activations and
 * gradients are computed, not set: NNRUN_EINPUT. */
int nnrun_tensor_set(nnrun_run *r, const char *name, const float *data, int64_t n);
/* The names of the tensors nnrun_tensor_get knows, NULL past the last. */
const char *nnrun_tensor_name(nnrun_run *r, int i);
/* Runs one forward and backward pass of the model in its training mode on `rows` examples
 * of the training split (the first ones; 0: a training batch), without an update and
 * without changing BatchNorm's running buffers or the random stream: the activations and
 * their gradients then read by name.  Returns the rows used, or an error code.  Done
 * automatically (0 rows) on the first activation read after a step. */
int nnrun_probe(nnrun_run *r, int rows);

/* --- the model as a function -------------------------------------------------------- */
/* The shapes of `rows` input rows and of their logits ([rows, context] token ids or
 * [rows, features]; [rows, vocab] or [rows, context, vocab] for sequence models). */
int nnrun_forward_shape(nnrun_run *r, int rows, nnrun_shape *in, nnrun_shape *logits);
/* The logits of x (token ids as whole floats, or features) in evaluation mode — BatchNorm
 * on its running buffers, no dropout — into logits[n]. */
int nnrun_forward(nnrun_run *r, const float *x, int rows, float *logits, int64_t n);
/* Writes a standalone PyTorch file for the model (an nn.Module taking the run's inputs and
 * load(path) reading model.safetensors); NNRUN_EINPUT with the reason for a model it cannot
 * express (a plugin or formula activation, the counting model). */
int nnrun_export_pytorch(nnrun_run *r, const char *path);

/* --- sampling and checkpoints -------------------------------------------------------- */
/* Draws `count` items (text data) with `seed` and `temperature` (≤ 0: the spec's).
 * Returns a malloc'd array of `count` malloc'd strings (free with nnrun_strings_free) or
 * NULL (errors in the run). */
char **nnrun_sample(nnrun_run *r, int count, uint64_t seed, double temperature);
void nnrun_strings_free(char **s, int count);
/* Writes the parameters and buffers as model.safetensors does (nnrun sample reads it). */
int nnrun_save(nnrun_run *r, const char *path);
/* Loads parameters and buffers from a model.safetensors of the same model (names and
 * shapes checked). */
int nnrun_load(nnrun_run *r, const char *path);

#ifdef __cplusplus
}
#endif
#endif
