/* cli.h — the subcommands behind src/nnrun.c's table: what each does once its options are
 * parsed.  nnrun.c owns the command line (which subcommand takes which option, the usage
 * errors); the files here own the orchestration of each subcommand: loading the spec and
 * data, calling the subsystem that does the work, and printing its result as text or, with
 * --json, as one JSON document on stdout.
 *
 *   cmd_run.c      a run (train, evaluate, sample, write the run directory) through
 *                  libnnrun's run (nnrun_run, nnrun_train; src/api/api_cmd.h)
 *   cmd_inspect.c  check, graph, bench, gradcheck: a spec's model without a run directory
 *   cmd_dirs.c     report, summarize, sample, compare: directories and model files, no
 *                  spec
 *   cmd_sweep.c    sweep (its cells are runs)
 *   cmd_export.c   export: a run directory's model as PyTorch, through the C API (nnrun.h)
 *   cmd_predict.c  predict: a run directory's model on new CSV rows or text prefixes
 *   cli_json.c     the JSON forms shared by them (diagnostics)
 */
#ifndef NN_CLI_H
#define NN_CLI_H

#include <jansson.h>
#include <stddef.h>

#include "parser/diag.h"
#include "parser/spec.h"
#include "runtime/data/data.h"
#include "runtime/sweep/sweep.h"
#include "runtime/train/runctl.h"
#include "runtime/train/train.h"

enum { NN_EXIT_OK = 0, NN_EXIT_RUN = 1, NN_EXIT_INPUT = 2 };

/* The parsed command line.  An option a subcommand does not take never gets here
 * (nnrun.c refuses it), so every field set is one the subcommand reads. */
typedef struct {
    const char *cmd;   /* "run", "check", ... */
    const char *spec;  /* the operand: SPEC.yaml, RUN_DIR, SWEEP_DIR or FILE.safetensors */
    int spec_from_run; /* run --resume RUN_DIR without a spec: spec is RUN_DIR's own */
    const char *input; /* predict's second operand: the CSV or text file, "-" for stdin */
    int top;           /* predict --top K (0: the default, 5) */
    const char *out, *isa;
    const char **sets;
    int nsets, threads, threads_given, quiet, json, force;
    int dot, values, plan, resolved; /* graph --dot [--values] | --plan; check --resolved */
    long steps;                      /* bench --steps N; run --resume DIR --steps N */
    int profile;                     /* bench --profile */
    nn_sweep_opts sw;                /* sweep: -j, --cell, --shard, ... */
    const char **fwd;                /* sweep: the run options every cell gets, as argv */
    int nfwd;
    int point;               /* a sweep cell: matrix point + 1; 0: a plain run */
    const char *point_label; /* its values, named in errors */
    const char *resume;      /* --resume RUN_DIR */
    long stop_after;         /* --stop-after N (0: none) */
    long dump_step;          /* --dump-step K (−1: none) */
    int count, has_seed;     /* sample --count, --seed given */
    unsigned long long seed; /* sample --seed */
    double temperature;      /* sample --temperature */
    const char *prefix;      /* sample --prefix */
    int allow_plugins;       /* sample --allow-plugins */
    double tolerance;        /* gradcheck --tolerance X */
    size_t max_memory;       /* --max-memory BYTES (0: the default) */
    int no_nan_check;        /* --no-nan-check */
    const char *pytorch;     /* export --pytorch FILE */
    const char **operands;   /* every operand (compare takes several; spec: the first) */
    int noperands;
    const char *color_by; /* summarize --color-by AXIS */
} nn_cli;

int nn_cmd_run(nn_cli *c);
int nn_cmd_check(nn_cli *c);
int nn_cmd_graph(nn_cli *c);
int nn_cmd_bench(nn_cli *c);
int nn_cmd_gradcheck(nn_cli *c);
int nn_cmd_report(nn_cli *c);
int nn_cmd_summarize(nn_cli *c);
int nn_cmd_sample(nn_cli *c);
int nn_cmd_sweep(nn_cli *c);
int nn_cmd_export(nn_cli *c);
int nn_cmd_predict(nn_cli *c);
int nn_cmd_compare(nn_cli *c);

/* The spec (or the sweep cell's point), its data and its model, ready for one subcommand;
 * after an error, the diagnostics are in d and the three are NULL.  Returns 0 or −1. */
typedef struct {
    nn_spec *spec;
    nn_dataset *ds;
    nn_trainer *tr;
    int extended;      /* run --resume DIR --steps N: the spec was made longer */
    nn_runctl_ext ext; /* ... from this run (runctl.h) */
} nn_cli_model;
int nn_cli_model_open(const nn_cli *c, nn_cli_model *m, nn_diag *d);
void nn_cli_model_close(nn_cli_model *m);

/* Prints d's errors on stderr and returns NN_EXIT_INPUT. */
int nn_cli_fail_input(const nn_diag *d);

/* cli_json.c: [{file, line, column, message, notes}] for d's errors (file and line null
 * when the error has no position). */
json_t *nn_cli_diag_json(const nn_diag *d);
/* Prints j on stdout (indented, keys in insertion order) and takes it; 0, or −1 when it
 * could not be formed (j NULL: out of memory). */
int nn_cli_print_json(json_t *j);

#endif
