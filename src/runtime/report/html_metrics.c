/* html_metrics.c — metrics.csv as the report pages read it (report.html, the compare page,
 * a sweep's report): the columns, and the smoothed minibatch loss every loss plot draws. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/data/csv.h"
#include "runtime/report/html_int.h"

int nn_rmetrics_read(const char *path, nn_rmetrics *m, nn_diag *d)
{
    /* loss_log10_mean: rows that cover several steps (eval.log_every); older files have
     * none, one row per step.  The accuracies: classifiers only. */
    static const char *const names[NN_M_NCOL] = {
        "step",      "lr",      "loss",    "train_loss", "dev_loss", "test_loss", "loss_log10_mean",
        "train_acc", "dev_acc", "test_acc"};
    memset(m, 0, sizeof *m);
    return nn_csv_read_numbers(path, (nn_mark){path, 0, 0}, names, NN_M_NCOL, 1, m->col, &m->n, d);
}

void nn_rmetrics_free(nn_rmetrics *m)
{
    for (int k = 0; k < NN_M_NCOL; k++)
        free(m->col[k]);
    memset(m, 0, sizeof *m);
}

long nn_rmetrics_window(const nn_rmetrics *m)
{
    double last = -INFINITY;
    for (long r = 0; r < m->n; r++)
        if (isfinite(m->col[NN_M_LOSS][r]) && isfinite(m->col[NN_M_STEP][r]))
            last = fmax(last, m->col[NN_M_STEP][r]);
    long total = isfinite(last) ? (long)last + 1 : 0;
    return total / 200 > 1 ? total / 200 : 1;
}

/* Row i covers the steps after row i − 1 up to step[i], the first from step 0 (one step
 * when the file has no loss_log10_mean: a row per step), with lm[i] the mean log10(loss)
 * over them — so the means are exact whenever the rows' steps fall inside one window each
 * (log_every divides w). */
long nn_rmetrics_smooth(const nn_rmetrics *m, long w, double *ox, double *oy)
{
    long k = 0, win = -1;
    double sx = 0, sy = 0, c = 0, prev = NAN;
    for (long r = 0; r < m->n; r++) {
        double step = m->col[NN_M_STEP][r], loss = m->col[NN_M_LOSS][r], lm = m->col[NN_M_LMEAN][r];
        if (!isfinite(loss) || !isfinite(step)) continue;
        /* the file's first step row covers the run from step 0 (a resumed run appends) */
        double from = !isfinite(lm) ? step : !isfinite(prev) ? 0 : prev < step ? prev + 1 : step;
        double n = step - from + 1, y = isfinite(lm) ? lm : loss > 0 ? log10(loss) : NAN;
        prev = step;
        long at = (long)(from / (double)w);
        if (at != win && c > 0) ox[k] = sx / c, oy[k++] = sy / c, sx = sy = c = 0;
        win = at;
        if (!isfinite(y)) continue;
        sx += (from + step) / 2 * n, sy += y * n, c += n;
    }
    if (c > 0) ox[k] = sx / c, oy[k++] = sy / c;
    return k;
}

const char *nn_report_loss_label(const char *objective)
{
    static const struct {
        const char *key, *label;
    } t[] = {{"cross_entropy", "cross-entropy loss (log scale)"},
             {"hinge", "hinge loss (log scale)"},
             {"mse", "mean squared error (log scale)"},
             {"value", "objective (log scale)"},
             {"expr", "loss formula (log scale)"}};
    for (size_t i = 0; objective && i < sizeof t / sizeof *t; i++)
        if (!strcmp(objective, t[i].key)) return t[i].label;
    return "loss (log scale)";
}
