/* rundir.h — the run directory: runs/NAME/ (or --out DIR), opening files in it, and the
 * spec hash that names an experiment.  What goes into the files is written by the
 * subsystems that own them (train/metrics_file.c, report/summary.c, store/checkpoint.c). */
#ifndef NN_RUNDIR_H
#define NN_RUNDIR_H

#include <stdio.h>

#include "parser/diag.h"
#include "parser/spec.h"

/* A short, stable fingerprint of the resolved spec (16 hex digits of FNV-1a 64 over its
 * YAML): two runs with the same hash ran the same experiment.  buf: ≥ 17 bytes. */
const char *nn_spec_hash(const nn_spec *spec, char *buf);

/* Picks and creates the run directory before anything is trained: `out` if given (it must
 * not hold an earlier run unless `force`), else runs/NAME, or runs/NAME-2, -3, ... when
 * that holds an earlier run or is in use.  Takes its lock (dirlock.h: one writer per
 * directory; `out` in use by another process is an error naming its pid) before it writes
 * anything there, then checks that it is writable.  Returns a malloc'd path, or NULL with
 * an error in `d` (blamed on `at`). */
char *nn_rundir_create(const char *name, const char *out, int force, nn_mark at, nn_diag *d);

/* Opens DIR/FILE for writing ("w"); NULL on error. */
FILE *nn_rundir_open(const char *dir, const char *file);
/* mkdir -p: creates `path` and its missing parents (mode 0777 less the umask).  0 or −1. */
int nn_mkdir_p(const char *path);

/* Writes DIR/spec.resolved.yaml; 0, or −1 with a message on stderr naming the cause. */
int nn_rundir_write_resolved(const char *dir, const nn_spec *spec);
/* Closes a metrics file; on a write error (ENOSPC, EFBIG, ...) says so (`err`: the failed
 * write's errno, 0 when not known), cuts off a row the fault cut short, returns 1. */
int nn_rundir_close_metrics(FILE *f, const char *dir, const char *name, int err);
/* Cuts DIR/FILE back to its last whole line (after a write that failed part way). */
void nn_rundir_trim_partial_line(const char *dir, const char *file);

#endif
