/* api_cmd.h — what the nnrun command (src/runtime/cli/cmd_run.c) uses of libnnrun beyond
 * include/nnrun/nnrun.h: `nnrun run` is a run of the C API — built as nnrun_run_new builds
 * one and trained by nnrun_train — with the command's own run directory (--resume's, a
 * sweep cell's) and run control (--stop-after, --dump-step, --resume DIR --steps N), and
 * read back through the accessors below for its printed lines and --json. */
#ifndef NN_API_CMD_H
#define NN_API_CMD_H

#include <stdio.h>

#include "nnrun/nnrun.h"
#include "parser/diag.h"
#include "parser/spec.h"
#include "runtime/train/runctl.h"
#include "runtime/train/train.h"

/* A loaded spec as a handle, which owns it from now on (freed with it; NULL — s freed —
 * when out of memory). */
nnrun_spec *nn_api_spec_adopt(nn_spec *s);
/* --- building a run (run_new.c) ------------------------------------------------------
 * nnrun_run_new is nn_api_run_build, then nn_api_run_attach_dir on a new directory (or a
 * temporary metrics file).  `nnrun run` (cmd_run.c) takes the same steps with its own
 * directory and run control: the command is a run of this API. */
typedef struct {
    int threads;         /* as nnrun_run_opts */
    int kernels_chosen;  /* the caller selected the kernels (nnrun's --isa): keep them */
    int stats;           /* gather the report's statistics (a run directory's stats.json) */
    int nan_check;       /* stop at a non-finite loss or gradient (--no-nan-check: 0) */
    FILE *progress;      /* progress lines (NULL: quiet) */
    const char *context; /* appended to the errors while building, e.g. "matrix point …" */
} nn_api_build;
/* The spec's data and model: NULL with *err set on error. */
nnrun_run *nn_api_run_build(nnrun_spec *spec, const nn_api_build *b, nnrun_errors **err);
/* The run's outputs in `dir` (which exists; r frees it from now on): run control —
 * checkpoints, resuming from dir's checkpoint with `resume` (or the extended run of ext),
 * stop_after > 0 steps — then spec.resolved.yaml and the metrics files.  0; −1 with errors
 * in r; −2 when a metrics file could not be opened (the message is printed). */
int nn_api_run_attach_dir(nnrun_run *r, char *dir, int resume, const nn_runctl_ext *ext,
                          long stop_after);
/* The diagnostics behind an error list (errors.c). */
const nn_diag *nn_api_errors_diag(const nnrun_errors *e);
/* --- reading a run (run.c) --- */
nn_diag *nn_api_run_diag(nnrun_run *r); /* its errors (those of the last call) */
nn_trainer *nn_api_run_trainer(nnrun_run *r);
const nn_dataset *nn_api_run_data(const nnrun_run *r);
nn_runctl *nn_api_run_control(nnrun_run *r); /* NULL without a run directory */
const nn_result *nn_api_run_result(const nnrun_run *r);
/* The training loop's status when the run ended: 0 finished, 1 halted by run control (a
 * checkpoint; --stop-after or a signal), −1 failed, −2 its output could not be written. */
int nn_api_run_status(const nnrun_run *r);
const char *nn_api_run_summary(const nnrun_run *r); /* summary.json's text, or NULL */

#endif
