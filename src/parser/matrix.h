/* matrix.h — spec matrices: the points of a sweep (matrix.c).
 *
 * A spec's `matrix:` maps axis names to value lists; its points are their Cartesian
 * product (the first axis varies slowest), with `zip: [[a, b], ...]` pairing axes that
 * vary together, `exclude` removing points and `include` extending or adding points as in
 * GitHub Actions.  `${matrix.NAME}` anywhere in the spec stands for the point's value.
 * nn_spec_load_point (spec.h) loads the spec of one point.  Only texts leave the parser.
 */
#ifndef NN_MATRIX_H
#define NN_MATRIX_H

#include "diag.h"

#define NN_CELL_ID_LEN 8 /* hex digits */
#define NN_MATRIX_MAX_POINTS 10000 /* more is a mistake (and would exhaust memory) */

typedef struct {
    int naxes;
    char **axes; /* the matrix's axes, then keys that only `include` adds */
    int npoints;
    char ***value; /* value[p][a]: the value as written, or NULL when point p has no axis a */
    char **id;     /* NN_CELL_ID_LEN hex digits: nn_matrix_cell_id of the point */
    char **label;  /* "hidden=300, lr=0.05" */
} nn_matrix;

/* Reads the spec at `path` with its `--set` overrides and expands its matrix; checks every
 * `${matrix.NAME}` reference and that every axis is used.  A spec without a matrix gives
 * npoints = 0.  NULL after an error (recorded in d). */
nn_matrix *nn_matrix_load(const char *path, const char *const *sets, int nsets, nn_diag *d);
void nn_matrix_free(nn_matrix *m);

/* The point with this id, or −1. */
int nn_matrix_find(const nn_matrix *m, const char *id);

/* A cell's id (a contract: it must not change between versions or machines): FNV-1a 64
 * over "NAME=VALUE\n" for each axis the point has, sorted by NAME (byte order), VALUE the
 * text as written; the two 32-bit halves xor-ed, as 8 lower-case hex digits.  `names` and
 * `values` have n entries (values[i] NULL: skipped).  buf: ≥ NN_CELL_ID_LEN + 1 bytes. */
const char *nn_matrix_cell_id(const char *const *names, const char *const *values, int n,
                              char *buf);

#endif
