/* csv.h — reading whole files, and a small CSV reader that keeps every cell's line:col.
 *
 * Used by numeric data (data_table.c) and by `init: {csv: ...}` (init.c): both need the
 * cells by header name, as numbers, with errors that point into the file.
 */
#ifndef NN_CSV_H
#define NN_CSV_H

#include <stddef.h>

#include "parser/diag.h"

/* The whole file, NUL-terminated (its length in *len); NULL with an error at `at`. */
char *nn_read_file(const char *path, size_t *len, nn_mark at, nn_diag *d);

typedef struct {
    const char *text; /* NUL-terminated, unquoted */
    int line, col;    /* 1-based position in the file */
} nn_csv_cell;

typedef struct {
    const char *path;
    char *buf;
    nn_csv_cell *cell; /* rows × cols, row-major; row 0 is the header */
    long rows;         /* data rows, without the header */
    int cols;
} nn_csv;

/* Reads `path`: a header row, then rows with as many cells (blank lines are skipped;
 * "double quoted" cells may hold commas).  Errors (unreadable file, no header, a ragged
 * row) go to `d` — ragged rows at FILE:LINE:COL — and NULL is returned. */
nn_csv *nn_csv_read(const char *path, nn_mark at, nn_diag *d);
void nn_csv_free(nn_csv *c);
/* Index of the header column `name`, or −1 with an error at the header naming the columns
 * there are (when d is not NULL). */
int nn_csv_column(const nn_csv *c, const char *name, nn_diag *d);
/* The same, with the error at `at` (where the spec names the column) when at.file is set. */
int nn_csv_column_at(const nn_csv *c, const char *name, nn_mark at, nn_diag *d);
/* Data cell (row 0-based, without the header). */
static inline const nn_csv_cell *nn_csv_at(const nn_csv *c, long row, int col)
{
    return &c->cell[(row + 1) * c->cols + col];
}
/* The cell as a number (the whole cell must be one), or −1 with an error at the cell. */
int nn_csv_number(const nn_csv *c, long row, int col, double *v, nn_diag *d);

/* Reads `path` as nn_csv_read does (same errors), keeping only the columns `names[0..n)` as
 * numbers: cols[k] gets *rows values (malloc'd; NaN for an empty cell or an absent column).
 * The first `required` names must be in the header (else nn_csv_column's error).  Memory is
 * the file and the columns, not a cell per cell: for long files such as metrics.csv. */
int nn_csv_read_numbers(const char *path, nn_mark at, const char *const *names, int n,
                        int required, double **cols, long *rows, nn_diag *d);

#endif
