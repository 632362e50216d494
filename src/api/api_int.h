/* api_int.h — what the files of src/api share: the handles behind include/nnrun/nnrun.h. */
#ifndef NN_API_INT_H
#define NN_API_INT_H

#include <stdio.h>

#include "api/api_cmd.h"
#include "nnrun/nnrun.h"
#include "parser/diag.h"
#include "parser/spec.h"
#include "runtime/train/runctl.h"
#include "runtime/train/train.h"

/* An error list: a diag, its entries read once, and its printed text. */
struct nnrun_errors {
    nn_diag *d;
    char *text;        /* nnrun_errors_text, made on first use */
    char *string_path; /* a spec loaded from text: its temporary file, named "<string>" */
};

/* A spec: shared by the runs built from it (a reference count), freed with the last. */
struct nnrun_spec {
    nn_spec *s;
    int refs;
};

struct nnrun_run {
    nnrun_spec *spec;
    nn_dataset *ds;
    nn_trainer *tr;
    nnrun_errors err;  /* the last failed call's */
    char *dir;         /* the run directory, or NULL */
    nn_runctl *ctl;    /* run control (checkpoints) with a run directory */
    FILE *csv, *jsonl; /* metrics (a temporary file without a run directory) */
    char *csv_path;    /* where csv is (to read the table back) */
    nn_run_opts o;
    nn_result res;
    long done, target;      /* steps done; where this nnrun_train call stops */
    double ema, beta_pow;   /* the smoothed loss's state between calls */
    int finished, stop_req; /* the final evaluation ran; the callback asked to stop */
    int ended;              /* the run is over: finished, failed, or halted by run control */
    int status;             /* the training loop's last status (nn_trainer_run) */
    char *summary;          /* summary.json's text once written, or NULL */
    nnrun_eval_fn eval;
    void *eval_ctx;
    int threads;
    nn_plan *probe; /* the keep-everything plan of the last probe, or NULL */
    int probe_rows, probe_stale;
    double *mcol[9]; /* the metrics table read back (metrics.c), valid until the next step */
    long mrows;
    int metrics_valid;
};
enum { NN_API_METRIC_COLS = 9 };

/* Makes e empty (a new diag); −1 when out of memory. */
int nn_api_errors_reset(nnrun_errors *e);
/* A heap copy of e for the caller of a failed load (NULL when out of memory); e is
 * emptied. */
nnrun_errors *nn_api_errors_take(nnrun_errors *e);
/* Records an error without a position in e. */
void nn_api_error(nnrun_errors *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Selects the kernels and threads once per process (what nnrun's main does). */
int nn_api_init_kernels(int threads); /* returns the threads used */
/* The caller (nnrun's main, --isa) selected the kernels: nn_api_init_kernels keeps them. */
void nn_api_kernels_chosen(void);
/* Attaches the hooks that cut the training loop into nnrun_train calls (run.c). */
int nn_api_attach_hooks(nnrun_run *r);

/* The run's results written to its directory (summary, samples, stats with `stats`,
 * report).  0, or −1 with errors in r. */
int nn_api_write_results(nnrun_run *r, int stats);

#endif
