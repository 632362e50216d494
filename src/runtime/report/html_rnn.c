/* html_rnn.c — the recurrent layer's figures (stats.json `recurrent`): the hidden state's
 * saturation per position (init and final maps), ∂L/∂h_t per position, and the GRU's gates.
 * Each is drawn only when its data is present. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/report/html_int.h"
#include "runtime/report/svg.h"

#define WHERE(buf, ...) snprintf(buf, sizeof buf, __VA_ARGS__)

typedef struct {
    const char *when;
    double step;
    double *sat, *gnorm, *z, *r; /* [T]; z, r NULL for an rnn */
    double *map;                 /* [T × H] */
} point;

static void point_free(point *p)
{
    free(p->sat), free(p->gnorm), free(p->z), free(p->r), free(p->map);
}

/* one series of T numbers, or absent (*v stays NULL) */
static int get_series(const nn_jdoc *j, json_t *o, const char *at, const char *key, long T,
                      int required, double **v)
{
    char where[96];
    json_t *a = json_object_get(o, key);
    WHERE(where, "%s/%s", at, key);
    if (!a && !required) return 0;
    long n = 0;
    if (!json_is_array(a) || nn_jget_nums(j, a, where, 1, v, &n) < 0) {
        if (json_is_array(a)) return -1;
        return nn_jdoc_bad(j, where, "expected an array of %ld numbers", T);
    }
    if (n != T) return nn_jdoc_bad(j, where, "expected %ld numbers, one per position", T);
    return 0;
}

static int get_point(const nn_jdoc *j, json_t *o, long i, long T, long H, point *p)
{
    char at[64];
    WHERE(at, "recurrent/points/%ld", i);
    if (!json_is_object(o)) return nn_jdoc_bad(j, at, "expected an object");
    if (nn_jget_str(j, o, at, "when", &p->when) < 0 || nn_jget_num(j, o, at, "step", &p->step) < 0)
        return -1;
    if (get_series(j, o, at, "saturated", T, 1, &p->sat) < 0 ||
        get_series(j, o, at, "grad_norm", T, 1, &p->gnorm) < 0 ||
        get_series(j, o, at, "z_mean", T, 0, &p->z) < 0 ||
        get_series(j, o, at, "r_mean", T, 0, &p->r) < 0)
        return -1;
    json_t *m = json_object_get(o, "map");
    char where[96];
    WHERE(where, "%s/map", at);
    if (!json_is_array(m) || json_array_size(m) != (size_t)T)
        return nn_jdoc_bad(j, where, "expected %ld rows, one per position", T);
    if (!(p->map = malloc((size_t)(T * H) * sizeof *p->map))) return -1;
    for (long t = 0; t < T; t++) {
        double *row;
        long n;
        char rw[160];
        WHERE(rw, "%s/%ld", where, t);
        if (nn_jget_nums(j, json_array_get(m, (size_t)t), rw, 1, &row, &n) < 0) return -1;
        if (n != H) {
            free(row);
            return nn_jdoc_bad(j, rw, "expected %ld numbers, one per unit", H);
        }
        memcpy(p->map + t * H, row, (size_t)H * sizeof *row);
        free(row);
    }
    return 0;
}

static void saturation_maps(FILE *f, const char *name, const point *pt, int np, long T, long H)
{
    double gap = fmax(2, H / 8.0), cell = fmin(10, 860 / (np * H + (np - 1) * gap));
    nn_svg s;
    nn_svg_init(&s, f, "fig-rnn-saturation", (int)(62 + 16 + cell * (np * H + (np - 1) * gap)),
                (int)(30 + 44 + cell * T));
    s.mt = 30;
    s.x = (nn_svg_axis){0, np * H + (np - 1) * gap, 0};
    s.y = (nn_svg_axis){0, (double)T, 0};
    s.flip_y = 1;
    s.nogrid = 1;
    char heading[200];
    snprintf(heading, sizeof heading, "Saturation of %s's hidden state per position", name);
    nn_fig_open(f, "fig-rnn-saturation", heading, 1);
    nn_svg_begin(&s, heading);
    fputs(NN_SVG_CELLS_OPEN, f);
    for (int k = 0; k < np; k++) {
        double x0 = k * (H + gap);
        /* black under all, then only the cells with some saturation: no seams */
        nn_svg_rect(&s, x0, 0, x0 + H, (double)T, 0x000000, 1);
        if (k > 0) nn_svg_rect(&s, x0 - gap, 0, x0, (double)T, 0xeeeeee, 1);
        for (long t = 0; t < T; t++)
            for (long u = 0; u < H; u++) {
                double v = pt[k].map[t * H + u];
                unsigned g = (unsigned)lround(255 * fmin(1, fmax(0, isfinite(v) ? v : 0)));
                if (g)
                    nn_svg_rect(&s, x0 + u, (double)t, x0 + u + 1, t + 1.0, g << 16 | g << 8 | g,
                                1);
            }
    }
    fputs("</g>\n", f);
    for (int k = 0; k < np; k++) {
        char label[64];
        snprintf(label, sizeof label, "%s (step %.0f)", pt[k].when, pt[k].step);
        nn_svg_text(&s, k * (H + gap) + H / 2.0, -0.9 * (30 / cell) / 2, label, 11, 0x333333,
                    "middle");
    }
    nn_svg_axes(&s, np > 1 ? "unit (init left, final right)" : "unit", "position");
    nn_svg_end(&s);
    nn_fig_close(f, "One cell per hidden unit (column) and position (row, the first on top): the "
                    "fraction of the batch's rows where |h| > 0.97, black none, white all. A "
                    "saturated tanh passes no gradient back through time; a unit white at every "
                    "position is dead.");
}

static void series_plot(FILE *f, const char *id, const char *heading, const char *ylabel, int log,
                        const point *pt, int np, long T, int gates, const char *caption)
{
    double *x = malloc((size_t)T * sizeof *x);
    if (!x) return;
    for (long t = 0; t < T; t++)
        x[t] = (double)t;
    nn_svg s;
    nn_svg_init(&s, f, id, 760, 300);
    s.mr = 130;
    s.x = (nn_svg_axis){0, (double)(T > 1 ? T - 1 : 1), 0};
    s.y = nn_svg_empty_axis(log);
    for (int k = 0; k < np; k++) {
        if (gates) {
            nn_svg_fit(&s.y, pt[k].z, T);
            nn_svg_fit(&s.y, pt[k].r, T);
        } else {
            nn_svg_fit(&s.y, pt[k].gnorm, T);
        }
    }
    if (gates) s.y.lo = 0, s.y.hi = 1;
    nn_svg_pad(&s.y, 0.05);
    nn_fig_open(f, id, heading, 1);
    nn_svg_begin(&s, heading);
    nn_svg_axes(&s, "position", ylabel);
    const char *labels[4];
    unsigned cols[4];
    const char *dash[4];
    char text[4][48];
    int nl = 0;
    for (int k = 0; k < np && nl < 4; k++) {
        const char *d = k == 0 ? "5 3" : NULL;
        for (int q = 0; q < (gates ? 2 : 1); q++) {
            const double *v = gates ? (q ? pt[k].r : pt[k].z) : pt[k].gnorm;
            unsigned c = nn_svg_palette(gates ? q : 0);
            nn_svg_line(&s, x, v, T, c, 1.8, d, 1);
            nn_svg_points(&s, x, v, T, c, 2.5, 1, 'o');
            snprintf(text[nl], sizeof text[nl], "%s%s", gates ? (q ? "r " : "z ") : "", pt[k].when);
            labels[nl] = text[nl], cols[nl] = c, dash[nl] = d, nl++;
        }
    }
    nn_svg_legend(&s, labels, cols, dash, nl, NN_LEGEND_RIGHT);
    nn_svg_end(&s);
    nn_fig_close(f, caption);
    free(x);
}

int nn_report_recurrent(FILE *f, const nn_jdoc *j)
{
    json_t *o = json_object_get(j->root, "recurrent");
    if (!o || json_is_null(o)) return 0;
    if (!json_is_object(o)) return nn_jdoc_bad(j, "recurrent", "expected an object");
    double T = 0, H = 0;
    const char *name = "", *cell = "";
    if (nn_jget_num(j, o, "recurrent", "positions", &T) != 1 ||
        nn_jget_num(j, o, "recurrent", "hidden", &H) != 1 || T < 1 || H < 1 || T > 4096 ||
        H > 65536)
        return nn_jdoc_bad(j, "recurrent", "expected positive numbers 'positions' and 'hidden'");
    if (nn_jget_str(j, o, "recurrent", "name", &name) < 0 ||
        nn_jget_str(j, o, "recurrent", "cell", &cell) < 0)
        return -1;
    json_t *pts = json_object_get(o, "points");
    if (!json_is_array(pts) || json_array_size(pts) > 2)
        return nn_jdoc_bad(j, "recurrent/points", "expected an array of at most 2 points");
    point pt[2];
    memset(pt, 0, sizeof pt);
    int np = (int)json_array_size(pts), rc = 0, gates = np > 0;
    for (int k = 0; k < np && rc == 0; k++) {
        rc = get_point(j, json_array_get(pts, (size_t)k), k, (long)T, (long)H, &pt[k]);
        gates = gates && pt[k].z && pt[k].r;
    }
    if (rc == 0 && np > 0) {
        saturation_maps(f, name, pt, np, (long)T, (long)H);
        series_plot(f, "fig-rnn-grad", "Gradient through time", "|dL/dh_t| (rms over rows)", 1, pt,
                    np, (long)T, 0,
                    "The gradient of the loss with respect to the hidden state at each position: "
                    "the head's own gradient there plus all that comes back through the cells "
                    "after it (0, not drawn, where every row's target is ignored). A steep fall "
                    "towards position 0 is the vanishing gradient: early positions learn little "
                    "from later ones.");
        if (gates)
            series_plot(f, "fig-gru-gates", "GRU gate activity", "mean gate value", 0, pt, np,
                        (long)T, 1,
                        "Mean of the update gate z (how much of the candidate replaces the "
                        "state) and the reset gate r (how much of the state the candidate "
                        "sees) at each position. z near 0 keeps the state, carrying memory "
                        "and gradient far back.");
    }
    for (int k = 0; k < 2; k++)
        point_free(&pt[k]);
    return rc;
}
