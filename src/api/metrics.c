/* metrics.c — a run's metrics table, read back from its metrics.csv (the run directory's,
 * or the temporary file of a run without one) with the report's column reader: the API
 * gives the numbers the file holds, as `nnrun run` writes them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/api_int.h"
#include "runtime/data/csv.h"

static const char *const COLS[NN_API_METRIC_COLS] = {"step",       "lr",          "loss",
                                                     "train_loss", "dev_loss",    "test_loss",
                                                     "elapsed_s",  "smooth_loss", "steps_per_s"};

int nnrun_metrics_columns(void)
{
    return NN_API_METRIC_COLS;
}

const char *nnrun_metrics_column_name(int col)
{
    return col >= 0 && col < NN_API_METRIC_COLS ? COLS[col] : NULL;
}

static int load(nnrun_run *r)
{
    if (r->metrics_valid) return 0;
    for (int c = 0; c < NN_API_METRIC_COLS; c++)
        free(r->mcol[c]), r->mcol[c] = NULL;
    r->mrows = 0;
    /* (a run directory's file is closed when its run ends: then read from its path) */
    struct stat st;
    if (r->csv ? fflush(r->csv) != 0 : !r->dir || stat(r->csv_path, &st) != 0) {
        nn_api_error(&r->err, "the metrics file could not be written");
        return -1;
    }
    if (r->csv ? ftell(r->csv) == 0 : st.st_size == 0) { /* no step yet: no header either */
        r->metrics_valid = 1;
        return 0;
    }
    if (nn_csv_read_numbers(r->csv_path, (nn_mark){r->csv_path, 0, 0}, COLS, NN_API_METRIC_COLS, 1,
                            r->mcol, &r->mrows, r->err.d) != 0)
        return -1;
    r->metrics_valid = 1;
    return 0;
}

long nnrun_metrics_rows(nnrun_run *r)
{
    if (!r) return NNRUN_EINPUT;
    if (nn_api_errors_reset(&r->err) != 0) return NNRUN_ERUN;
    return load(r) != 0 ? NNRUN_ERUN : r->mrows;
}

int nnrun_metrics_column(nnrun_run *r, int col, double *out, long rows)
{
    if (!r) return NNRUN_EINPUT;
    if (nn_api_errors_reset(&r->err) != 0) return NNRUN_ERUN;
    if (load(r) != 0) return NNRUN_ERUN;
    if (col < 0 || col >= NN_API_METRIC_COLS || !out || rows != r->mrows) {
        nn_api_error(&r->err,
                     "nnrun_metrics_column: column %d of %d, %ld rows asked for (the "
                     "table has %ld)",
                     col, NN_API_METRIC_COLS, rows, r->mrows);
        return NNRUN_EINPUT;
    }
    if (rows) memcpy(out, r->mcol[col], (size_t)rows * sizeof *out);
    return NNRUN_OK;
}
