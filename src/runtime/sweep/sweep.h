/* sweep.h — running a spec's matrix: cells, worker processes, DONE markers, summaries.
 *
 * The sweep directory (runs/NAME, or --out) holds sweep.json (the axes and cells), one run
 * directory per cell named by its id, and after a sweep summary.csv, summary_by_seed.csv
 * (with a `seed` axis) and report.html.  A cell is finished when CELL/DONE exists; DONE is
 * written last, by rename, so a cell stopped half way never has one.  A cell that failed
 * has CELL/FAILED (its error) instead; the next sweep runs it again.
 */
#ifndef NN_SWEEP_H
#define NN_SWEEP_H

#include <stdio.h>

typedef struct {
    const char *spec;
    const char *const *sets;
    int nsets;
    const char *out;              /* the sweep directory; NULL: runs/NAME */
    int threads;                  /* per cell; 0: the cores shared among the workers */
    int jobs;                     /* worker processes; 0: one per core */
    int quiet;                    /* no per-cell lines or table */
    const char *const *run_args;  /* the run options every cell gets (--isa NAME,
                                     --max-memory N, --no-nan-check, ...), as argv */
    int nrun_args;
    long cell;                    /* run only this point (0-based, --list order); −1: all */
    const char *cell_id;          /* run only the cell with this id */
    int shard_k, shard_n;         /* shard_n > 0: only points with index % shard_n == shard_k */
    int list;                     /* print the cells instead */
    int emit_sbatch;              /* print a Slurm job-array script instead */
    const char *partition, *time; /* sbatch options (NULL: the cluster's default) */
    int cpus;                     /* sbatch --cpus-per-task (0: 1) */
} nn_sweep_opts;

/* The CLI's run path for one cell: trains point `point` of the spec into `dir` (which may
 * hold an interrupted attempt), errors ending with `label`.  Returns an exit code. */
typedef int (*nn_cell_run_fn)(void *ctx, int point, const char *label, const char *dir);

/* `nnrun sweep`: list, emit, one cell in this process, or every selected cell not yet DONE
 * in o->jobs worker processes (the binary itself, with --cell-id).  Returns the exit code:
 * 0 every selected cell done, 1 some failed, 2 bad input, 128+N stopped by signal N. */
int nn_sweep_run(const nn_sweep_opts *o, nn_cell_run_fn run, void *ctx);

/* `nnrun summarize DIR` (sweep_summary.c): reads sweep.json and every cell that is DONE or
 * FAILED, writes DIR/summary.csv, DIR/summary_by_seed.csv (with a seed axis) and
 * DIR/report.html (its curves coloured by the axis named `colour_by`; NULL: the first),
 * and prints the table to `table` (NULL: nothing), or with `json` the ranked rows as one
 * JSON document on stdout.  Returns an exit code (2: `colour_by` names no axis). */
int nn_sweep_summarize(const char *dir, FILE *table, int json, const char *colour_by);

/* Writes DIR/NAME with `text` through a temporary file and rename: it appears whole or not
 * at all.  Returns 0 or −1. */
int nn_sweep_write_atomic(const char *dir, const char *name, const char *text);

/* The Slurm job-array script (sweep_sbatch.c) for `ncells` cells into `dir`. */
int nn_sweep_emit_sbatch(const nn_sweep_opts *o, const char *name, const char *dir, int ncells,
                         FILE *out);

#endif
