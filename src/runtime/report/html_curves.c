/* html_curves.c — the report's accuracy curve: a classifier's accuracy per split at every
 * evaluation point (metrics.csv's train_acc / dev_acc / test_acc), as markers in the
 * loss plot's shapes and colours. */
#include <math.h>
#include <stdlib.h>

#include "runtime/data/csv.h"
#include "runtime/report/html_int.h"
#include "runtime/report/svg.h"

int nn_report_accuracy(FILE *f, const char *path, nn_diag *d)
{
    static const char *const names[4] = {"step", "train_acc", "dev_acc", "test_acc"};
    double *col[4] = {NULL, NULL, NULL, NULL};
    long n = 0;
    if (nn_csv_read_numbers(path, (nn_mark){path, 0, 0}, names, 4, 1, col, &n, d) < 0) return -1;
    long have = 0;
    double lo = 100;
    for (int sp = 1; sp <= 3; sp++)
        for (long r = 0; r < n; r++)
            if (isfinite(col[sp][r]) && isfinite(col[0][r]))
                have++, lo = fmin(lo, 100 * col[sp][r]);
    if (have > 0) {
        nn_svg s;
        nn_svg_init(&s, f, "fig-accuracy", 760, 260);
        s.mr += 70; /* the legend, right of the plot: points near 100% stay uncovered */
        s.x = nn_svg_empty_axis(0);
        /* from a round value below the lowest accuracy to 100: 97% and 98% stay apart */
        s.y = (nn_svg_axis){fmax(0, floor((lo - 2) / 10) * 10), 100, 0};
        nn_svg_pad(&s.y, 0.04);
        nn_svg_fit(&s.x, col[0], n);
        nn_svg_pad(&s.x, 0.015);
        nn_fig_open(f, "fig-accuracy", "Accuracy", 1);
        nn_svg_begin(&s, "accuracy in percent against step");
        nn_svg_axes(&s, "step", "accuracy (%)");
        static const char *const spn[] = {"train", "dev", "test"};
        static const char shapes[] = {'o', 's', '^'};
        const char *labels[3];
        unsigned rgb[3];
        char marks[3];
        int nl = 0;
        double *y = malloc(((size_t)n + 1) * sizeof *y);
        /* the markers of dev and test are smaller, so one on top of another stays visible */
        static const double radius[] = {4.5, 3.6, 2.8};
        for (int sp = 1; y && sp <= 3; sp++) {
            long c = 0;
            for (long r = 0; r < n; r++)
                c += isfinite(y[r] = 100 * col[sp][r]);
            if (!c) continue;
            /* the loss plot's colours for the splits (palette 3, 4, 5) */
            unsigned c3 = nn_svg_palette(sp + 2);
            if (c > 1) nn_svg_line(&s, col[0], y, n, c3, 1, NULL, 0.5);
            nn_svg_points(&s, col[0], y, n, c3, radius[sp - 1], 1, shapes[sp - 1]);
            labels[nl] = spn[sp - 1], rgb[nl] = c3, marks[nl++] = shapes[sp - 1];
        }
        free(y);
        nn_svg_legend_marks(&s, labels, rgb, NULL, marks, nl, NN_LEGEND_RIGHT);
        nn_svg_end(&s);
        nn_fig_close(f, "The fraction of each split's examples the model classifies right, at "
                        "every evaluation point and at the end. Train well above dev means "
                        "overfitting; both flat and low means the model or the learning rate "
                        "is too small.");
    }
    for (int k = 0; k < 4; k++)
        free(col[k]);
    return 0;
}
