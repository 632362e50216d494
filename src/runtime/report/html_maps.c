/* html_maps.c — report.html's matrix figures from stats.json: the n-gram count heatmap
 * (`counts`) and the 2-D classifier's decision boundary (`boundary`). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/report/html_int.h"
#include "runtime/report/svg.h"

/* A matrix of numbers (rows of equal length *nc) at `where`; malloc'd row-major. */
int nn_jget_matrix(const nn_jdoc *j, json_t *m, const char *where, double **out, long *nr, long *nc)
{
    *out = NULL;
    if (!json_is_array(m) || json_array_size(m) == 0)
        return nn_jdoc_bad(j, where, "expected a non-empty array of rows");
    *nr = (long)json_array_size(m);
    *nc = -1;
    double *v = NULL;
    for (long r = 0; r < *nr; r++) {
        char at[96];
        snprintf(at, sizeof at, "%s/%ld", where, r);
        double *row;
        long k;
        if (nn_jget_nums(j, json_array_get(m, (size_t)r), at, 0, &row, &k) < 0) {
            free(v);
            return -1;
        }
        if (*nc < 0) {
            *nc = k;
            v = malloc(((size_t)(*nr * k) + 1) * sizeof *v);
        }
        if (k != *nc || k == 0 || !v) {
            free(row);
            free(v);
            return nn_jdoc_bad(j, at, "expected %ld numbers, as in the first row", *nc);
        }
        memcpy(v + r * k, row, (size_t)k * sizeof *v);
        free(row);
    }
    *out = v;
    return 0;
}

/* An array of n strings at `where`; NULL (error recorded) otherwise. */
const char **nn_jget_strings(const nn_jdoc *j, json_t *a, const char *where, long n)
{
    if (!json_is_array(a) || (long)json_array_size(a) != n) {
        nn_jdoc_bad(j, where, "expected %ld strings", n);
        return NULL;
    }
    const char **s = malloc(((size_t)n + 1) * sizeof *s);
    for (long i = 0; s && i < n; i++)
        if (!(s[i] = json_string_value(json_array_get(a, (size_t)i)))) {
            char at[96];
            snprintf(at, sizeof at, "%s/%ld", where, i);
            nn_jdoc_bad(j, at, "expected a string");
            free(s);
            return NULL;
        }
    return s;
}

int nn_report_counts(FILE *f, const nn_jdoc *j)
{
    json_t *o = json_object_get(j->root, "counts");
    if (!o || json_is_null(o)) return 0;
    if (!json_is_object(o)) return nn_jdoc_bad(j, "counts", "expected an object");
    double *v, order = NAN;
    long nr, nc;
    if (nn_jget_num(j, o, "counts", "n", &order) < 0 ||
        nn_jget_matrix(j, json_object_get(o, "matrix"), "counts/matrix", &v, &nr, &nc) < 0)
        return -1;
    const char **rows = nn_jget_strings(j, json_object_get(o, "rows"), "counts/rows", nr);
    const char **cols =
        rows ? nn_jget_strings(j, json_object_get(o, "cols"), "counts/cols", nc) : NULL;
    if (!cols) {
        free(rows);
        free(v);
        return -1;
    }
    double max = 0;
    for (long i = 0; i < nr * nc; i++)
        max = fmax(max, v[i]);
    /* cells as large as the page allows; numbers only while they fit and the matrix is
     * small enough to read (> 40 rows: colours alone) */
    double cw = fmax(2, fmin(34, 900.0 / (double)nc));
    double ch = nr <= 40 ? cw : fmax(1, fmin(cw, 1000.0 / (double)nr));
    int numbers = nr <= 40 && cw >= 24;
    nn_svg s;
    nn_svg_init(&s, f, "fig-counts", 0, 0);
    s.ml = nr <= 60 ? 36 : 12;
    s.mt = nc <= 60 ? 20 : 8;
    s.mr = s.mb = 6;
    s.w = (int)(s.ml + s.mr + cw * (double)nc + 0.5);
    s.h = (int)(s.mt + s.mb + ch * (double)nr + 0.5);
    s.x = (nn_svg_axis){0, (double)nc, 0};
    s.y = (nn_svg_axis){0, (double)nr, 0};
    s.flip_y = 1;
    char heading[96];
    if (isfinite(order))
        snprintf(heading, sizeof heading, "%.0f-gram counts", order);
    else
        snprintf(heading, sizeof heading, "Counts");
    nn_fig_open(f, "fig-counts", heading, 1);
    nn_svg_begin(&s, heading);
    fputs(NN_SVG_CELLS_OPEN, f);
    for (long r = 0; r < nr; r++)
        for (long c = 0; c < nc; c++) {
            /* linear as in the lecture while numbers are shown; without them, a log
             * scale, or the heavy tail of a large matrix leaves everything white */
            double t = numbers ? v[r * nc + c] / max : log1p(fmax(0, v[r * nc + c])) / log1p(max);
            unsigned bg = nn_svg_cmap(NN_CMAP_BLUES, max > 0 ? t : 0);
            nn_svg_rect(&s, (double)c, (double)r, c + 1.0, r + 1.0, bg, 1);
            if (!numbers) continue;
            char lab[128], num[32];
            snprintf(lab, sizeof lab, "%s%s", rows[r], cols[c]);
            snprintf(num, sizeof num, "%.0f", v[r * nc + c]);
            nn_svg_text(&s, c + 0.5, r + 0.32, lab, 9, nn_svg_ink(bg), "middle");
            nn_svg_text(&s, c + 0.5, r + 0.7, num, strlen(num) > 4 ? 7 : 8, nn_svg_ink(bg),
                        "middle");
        }
    fputs("</g>\n", f);
    if (nc <= 60) nn_svg_cat_ticks(&s, 1, cols, (int)nc, 10);
    if (nr <= 60) nn_svg_cat_ticks(&s, 0, rows, (int)nr, 10);
    nn_svg_end(&s);
    nn_fig_close(f, numbers ? "How often each n-gram occurs in the training split: row = "
                              "context, column = next token, darker = more. The model's "
                              "probabilities are these rows normalised (plus smoothing); a "
                              "row of zeros is a context never seen."
                            : "How often each n-gram occurs in the training split: row = "
                              "context, column = next token, darker = more (log scale: "
                              "log(1 + count)). The model's probabilities are these rows "
                              "normalised (plus smoothing); white rows are contexts never "
                              "seen.");
    free(rows);
    free(cols);
    free(v);
    return 0;
}

/* A region's colour: the class colour mixed with white, so the points stay readable. */
static unsigned light(unsigned rgb)
{
    unsigned out = 0;
    for (int sh = 0; sh <= 16; sh += 8) {
        unsigned c = (rgb >> sh) & 0xff;
        out |= (c + (255 - c) * 62 / 100) << sh;
    }
    return out;
}

/* The region colour of grid value v: class v (classes), or score > 0 / ≤ 0. */
static unsigned region_colour(double v, long classes)
{
    if (classes) return light(nn_svg_palette((int)v));
    return v > 0 ? 0xf4b6b6 : 0xb6d0f4;
}

static int same_region(double a, double b, long classes)
{
    return classes ? a == b : (a > 0) == (b > 0);
}

/* The training points in their label's colour; for classes a black ring marks each point
 * the model puts in another class.  Returns how many were misclassified. */
static long boundary_points(nn_svg *s, const double *p, long np, long pc, long classes)
{
    long wrong = 0;
    for (long i = 0; i < np; i++) {
        double px = p[i * pc], py = p[i * pc + 1], lab = p[i * pc + 2];
        unsigned c = classes ? nn_svg_palette((int)lab) : lab > 0 ? 0xd62728 : 0x1f77b4;
        nn_svg_points(s, &px, &py, 1, 0x000000, 4.6, 1, 'o');
        nn_svg_points(s, &px, &py, 1, c, 3.6, 1, 'o');
        if (classes && pc >= 4 && p[i * pc + 3] != lab) {
            wrong++;
            fprintf(s->f,
                    "<circle class=\"miss\" cx=\"%.1f\" cy=\"%.1f\" r=\"7\" fill=\"none\" "
                    "stroke=\"#000\" stroke-width=\"1.6\" clip-path=\"url(#%s)\"/>\n",
                    nn_svg_px(s, px), nn_svg_py(s, py), s->clip);
        }
    }
    return wrong;
}

static void boundary_legend(nn_svg *s, long classes, long wrong)
{
    if (!classes) {
        const char *labels[] = {"score > 0", "score \xe2\x89\xa4 0"};
        unsigned cols[] = {0xf4b6b6, 0xb6d0f4};
        const char marks[] = {'r', 'r'};
        nn_svg_legend_marks(s, labels, cols, NULL, marks, 2, NN_LEGEND_INSIDE);
        return;
    }
    int n = classes > 10 ? 10 : (int)classes;
    char names[11][48];
    const char *labels[11];
    unsigned cols[11];
    char marks[11];
    for (int k = 0; k < n; k++) {
        snprintf(names[k], sizeof names[k], "class %d", k);
        labels[k] = names[k], cols[k] = nn_svg_palette(k), marks[k] = 'o';
    }
    if (wrong > 0) {
        snprintf(names[n], sizeof names[n], "misclassified (%ld)", wrong);
        labels[n] = names[n], cols[n] = 0x000000, marks[n] = 'x';
        n++;
    }
    nn_svg_legend_marks(s, labels, cols, NULL, marks, n, NN_LEGEND_INSIDE);
}

int nn_report_boundary(FILE *f, const nn_jdoc *j)
{
    json_t *o = json_object_get(j->root, "boundary");
    if (!o || json_is_null(o)) return 0;
    if (!json_is_object(o)) return nn_jdoc_bad(j, "boundary", "expected an object");
    double *x0 = NULL, *x1 = NULL, *g = NULL, *p = NULL;
    long n0 = 0, n1 = 0, ny, nx, np = 0, pc = 0;
    /* classes: the grid holds argmax classes (older files: one score) */
    json_t *jc = json_object_get(o, "classes");
    long classes = json_is_integer(jc) ? (long)json_integer_value(jc) : 0;
    json_t *jn = json_object_get(o, "names");
    const char *name0 = json_string_value(json_array_get(jn, 0)),
               *name1 = json_string_value(json_array_get(jn, 1));
    int rc = nn_jget_nums(j, json_object_get(o, "x0"), "boundary/x0", 0, &x0, &n0);
    if (rc == 0) rc = nn_jget_nums(j, json_object_get(o, "x1"), "boundary/x1", 0, &x1, &n1);
    if (rc == 0 && (n0 != 2 || n1 != 2 || !(x0[1] > x0[0]) || !(x1[1] > x1[0])))
        rc = nn_jdoc_bad(j, n0 != 2 || !(x0[1] > x0[0]) ? "boundary/x0" : "boundary/x1",
                         "expected a range [lo, hi] with lo < hi");
    if (rc == 0 && (jc && (classes < 2 || classes > 1000)))
        rc = nn_jdoc_bad(j, "boundary/classes", "expected a class count of 2 or more");
    if (rc == 0) rc = nn_jget_matrix(j, json_object_get(o, "grid"), "boundary/grid", &g, &ny, &nx);
    json_t *pts = json_object_get(o, "points");
    if (rc == 0 && pts && !json_is_null(pts))
        rc = nn_jget_matrix(j, pts, "boundary/points", &p, &np, &pc);
    if (rc == 0 && p && pc != 3 && pc != 4)
        rc = nn_jdoc_bad(j, "boundary/points", "expected [x0, x1, label(, predicted)] per point");
    if (rc == 0) {
        /* grid[j][i] is the value at (x0[i], x1[j]): cells centred on the grid points */
        double dx = nx > 1 ? (x0[1] - x0[0]) / (double)(nx - 1) : x0[1] - x0[0];
        double dy = ny > 1 ? (x1[1] - x1[0]) / (double)(ny - 1) : x1[1] - x1[0];
        nn_svg s;
        nn_svg_init(&s, f, "fig-boundary", 560, 500);
        s.x = (nn_svg_axis){x0[0] - (nx > 1 ? dx / 2 : 0), x0[1] + (nx > 1 ? dx / 2 : 0), 0};
        s.y = (nn_svg_axis){x1[0] - (ny > 1 ? dy / 2 : 0), x1[1] + (ny > 1 ? dy / 2 : 0), 0};
        s.nogrid = 1;
        double cx = nx > 1 ? dx : x0[1] - x0[0], cy = ny > 1 ? dy : x1[1] - x1[0];
        nn_fig_open(f, "fig-boundary", "Decision boundary", 1);
        nn_svg_begin(&s, "decision boundary");
        fputs(NN_SVG_CELLS_OPEN, f);
        for (long r = 0; r < ny; r++) /* runs of one region per row, one rect each */
            for (long i = 0; i < nx;) {
                double v = g[r * nx + i];
                long k = i;
                while (k < nx && same_region(g[r * nx + k], v, classes))
                    k++;
                double a = nx > 1 ? x0[0] + ((double)i - 0.5) * dx : x0[0];
                nn_svg_rect(&s, a, x1[0] + ((double)r - 0.5) * cy, a + (double)(k - i) * cx,
                            x1[0] + ((double)r + 0.5) * cy, region_colour(v, classes), 1);
                i = k;
            }
        fputs("</g>\n", f);
        nn_svg_axes(&s, name0 ? name0 : "x0", name1 ? name1 : "x1");
        long wrong = boundary_points(&s, p, np, pc, classes);
        boundary_legend(&s, classes, wrong);
        nn_svg_end(&s);
        if (classes)
            nn_fig_close(f, "The class the model predicts over the input plane (each region in "
                            "its class's colour, the argmax of the outputs) and the training "
                            "points in the colour of their true class; a ring marks a point the "
                            "model puts in another class. A good fit puts every point on its "
                            "own colour; a jagged boundary hugging single points means "
                            "overfitting.");
        else
            nn_fig_close(f, "The classifier's score over the input plane (red where > 0, blue "
                            "where \xe2\x89\xa4 0) and the training points coloured by label "
                            "(red: positive, blue: negative). A good fit puts every point on "
                            "its own colour; a jagged boundary hugging single points means "
                            "overfitting.");
    }
    free(x0);
    free(x1);
    free(g);
    free(p);
    return rc;
}
