/* html_confusion.c — report.html's confusion matrix of a classifier (stats.json
 * `confusion`): rows the true class, columns the predicted one, each cell's count, its
 * colour the fraction of its row. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/report/html_int.h"
#include "runtime/report/svg.h"

int nn_report_confusion(FILE *f, const nn_jdoc *j)
{
    json_t *o = json_object_get(j->root, "confusion");
    if (!o || json_is_null(o)) return 0;
    if (!json_is_object(o)) return nn_jdoc_bad(j, "confusion", "expected an object");
    const char *split = NULL;
    double *v;
    long nr, nc;
    if (nn_jget_str(j, o, "confusion", "split", &split) < 0 ||
        nn_jget_matrix(j, json_object_get(o, "matrix"), "confusion/matrix", &v, &nr, &nc) < 0)
        return -1;
    if (nr != nc) {
        free(v);
        return nn_jdoc_bad(j, "confusion/matrix", "expected a square matrix (%ld rows)", nr);
    }
    const char **labels = nn_jget_strings(j, json_object_get(o, "labels"), "confusion/labels", nr);
    if (!labels) {
        free(v);
        return -1;
    }
    long K = nr;
    double n = 0, right = 0;
    for (long r = 0; r < K; r++)
        for (long c = 0; c < K; c++)
            n += v[r * K + c], right += r == c ? v[r * K + c] : 0;
    /* cells as large as reads well; counts while they fit */
    double cw = fmax(8, fmin(56, 560.0 / (double)K));
    int numbers = cw >= 26;
    nn_svg s;
    nn_svg_init(&s, f, "fig-confusion", 0, 0);
    s.ml = 76, s.mt = 44, s.mr = 10, s.mb = 10;
    s.w = (int)(s.ml + s.mr + cw * (double)K + 0.5);
    s.h = (int)(s.mt + s.mb + cw * (double)K + 0.5);
    if (s.w < 300) s.mr += 300 - s.w, s.w = 300; /* room for the axis titles */
    s.x = (nn_svg_axis){0, (double)K, 0};
    s.y = (nn_svg_axis){0, (double)K, 0};
    s.flip_y = 1;
    char heading[96];
    snprintf(heading, sizeof heading, "Confusion matrix (%s split)", split ? split : "?");
    nn_fig_open(f, "fig-confusion", heading, s.w > 460);
    nn_svg_begin(&s, heading);
    fputs(NN_SVG_CELLS_OPEN, f);
    for (long r = 0; r < K; r++) {
        double row = 0;
        for (long c = 0; c < K; c++)
            row += v[r * K + c];
        for (long c = 0; c < K; c++) {
            double x = v[r * K + c];
            unsigned bg = nn_svg_cmap(NN_CMAP_BLUES, row > 0 ? x / row : 0);
            nn_svg_rect(&s, (double)c, (double)r, c + 1.0, r + 1.0, bg, 1);
            if (!numbers) continue;
            char num[32];
            snprintf(num, sizeof num, "%.0f", x);
            nn_svg_text(&s, c + 0.5, r + 0.5, num, strlen(num) > 4 ? 9 : 11, nn_svg_ink(bg),
                        "middle");
        }
    }
    fputs("</g>\n", f);
    fprintf(f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"#444\"/>\n",
            s.ml, s.mt, cw * (double)K, cw * (double)K);
    if (K <= 60) {
        nn_svg_cat_ticks(&s, 1, labels, (int)K, 10);
        nn_svg_cat_ticks(&s, 0, labels, (int)K, 10);
    }
    fprintf(f,
            "<text x=\"%.1f\" y=\"14\" text-anchor=\"middle\" fill=\"#000\">predicted class"
            "</text>\n<text transform=\"translate(16 %.1f) rotate(-90)\" "
            "text-anchor=\"middle\" fill=\"#000\">true class</text>\n",
            s.ml + cw * (double)K / 2, s.mt + cw * (double)K / 2);
    nn_svg_end(&s);
    char cap[600];
    snprintf(cap, sizeof cap,
             "How the model classifies the %.0f examples of the %s split after training: row = "
             "the true class, column = the class predicted%s, colour = the fraction of the row "
             "(darker = more). The diagonal are the right answers (accuracy %.2f%%); a dark "
             "cell off it is a pair of classes the model confuses.",
             n, split ? split : "?", numbers ? ", each cell's count" : "",
             n > 0 ? 100 * right / n : 0.0);
    nn_fig_close(f, cap);
    free(labels);
    free(v);
    return 0;
}
