/* html_overlay.c — several runs' loss and accuracy curves on one plot (overlay.h). */
#include "runtime/report/overlay.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/report/html_int.h"
#include "runtime/report/svg.h"

static const char *const SPLITS[3] = {"train", "dev", "test"};
static const char SHAPES[3] = {'o', 's', '^'};
#define SPLIT_INK 0x555555u /* the legend's split entries: shapes, not colours */

void nn_run_curves_free(nn_run_curves *c)
{
    free(c->sx), free(c->sy), free(c->es);
    for (int s = 0; s < 3; s++)
        free(c->ev[s]), free(c->ea[s]);
    memset(c, 0, sizeof *c);
}

static double *take(long n)
{
    double *v = malloc(((size_t)n + 1) * sizeof *v);
    if (!v) abort();
    return v;
}

int nn_run_curves_read(const char *run_dir, nn_run_curves *c, nn_diag *d)
{
    memset(c, 0, sizeof *c);
    char path[4200];
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    if (access(path, F_OK) != 0) return 0;
    nn_rmetrics m;
    if (nn_rmetrics_read(path, &m, d) < 0) return -1;
    c->sx = take(m.n), c->sy = take(m.n);
    c->nsm = nn_rmetrics_smooth(&m, nn_rmetrics_window(&m), c->sx, c->sy);
    for (long i = 0; i < c->nsm; i++)
        c->sy[i] = pow(10, c->sy[i]);
    /* evaluation rows: those with a split loss */
    long ne = 0;
    for (long r = 0; r < m.n; r++)
        ne += isfinite(m.col[NN_M_STEP][r]) &&
              (isfinite(m.col[NN_M_TRAIN][r]) || isfinite(m.col[NN_M_DEV][r]) ||
               isfinite(m.col[NN_M_TEST][r]));
    c->es = take(ne);
    for (int s = 0; s < 3; s++)
        c->ev[s] = take(ne), c->ea[s] = take(ne);
    for (long r = 0; r < m.n; r++) {
        if (!isfinite(m.col[NN_M_STEP][r]) ||
            !(isfinite(m.col[NN_M_TRAIN][r]) || isfinite(m.col[NN_M_DEV][r]) ||
              isfinite(m.col[NN_M_TEST][r])))
            continue;
        c->es[c->nev] = m.col[NN_M_STEP][r];
        for (int s = 0; s < 3; s++) {
            c->ev[s][c->nev] = m.col[NN_M_TRAIN + s][r];
            c->ea[s][c->nev] = 100 * m.col[NN_M_TACC + s][r];
        }
        c->nev++;
    }
    nn_rmetrics_free(&m);
    return 0;
}

static int any_finite(const double *v, long n)
{
    for (long i = 0; i < n; i++)
        if (isfinite(v[i])) return 1;
    return 0;
}

/* A plot wide enough for a legend right of it, and tall enough for every entry. */
static void overlay_frame(nn_svg *s, FILE *f, const char *id, int h, const nn_overlay *o, int extra)
{
    size_t maxlen = 5; /* "train" */
    for (int i = 0; i < o->nlegend; i++) {
        size_t len = strlen(o->legend[i]); /* as overlay_legend cuts it */
        len = len > 48 ? 48 + 3 : len;
        if (len > maxlen) maxlen = len;
    }
    double bw = 30 + 5.9 * (double)maxlen;
    int rows = o->nlegend + extra, need = (int)(14 + 8 + 15.0 * rows + 44);
    nn_svg_init(s, f, id, 760 + (int)bw, h > need ? h : need);
    s->mr = bw + 14;
}

static void overlay_legend(nn_svg *s, const nn_overlay *o, const int *split_used)
{
    int n = o->nlegend, k = 0;
    const char **labels = malloc(((size_t)n + 3) * sizeof *labels);
    unsigned *rgb = malloc(((size_t)n + 3) * sizeof *rgb);
    char *marks = malloc((size_t)n + 3);
    char(*cut)[64] = malloc(((size_t)n + 1) * sizeof *cut);
    if (!labels || !rgb || !marks || !cut) abort();
    for (int i = 0; i < n; i++, k++) {
        /* a long label is cut at its end: the start names the run */
        snprintf(cut[i], sizeof cut[i], "%.48s%s", o->legend[i],
                 strlen(o->legend[i]) > 48 ? "\xe2\x80\xa6" : "");
        labels[k] = cut[i], rgb[k] = o->legend_rgb[i], marks[k] = '-';
    }
    for (int s2 = 0; s2 < 3; s2++)
        if (split_used[s2]) labels[k] = SPLITS[s2], rgb[k] = SPLIT_INK, marks[k++] = SHAPES[s2];
    nn_svg_legend_marks(s, labels, rgb, NULL, marks, k, NN_LEGEND_RIGHT);
    free(labels), free(rgb), free(marks), free(cut);
}

void nn_overlay_loss(FILE *f, const nn_run_curves *runs, int n, const nn_overlay *o)
{
    int used[3] = {0, 0, 0}, lines = 0;
    nn_svg_axis x = nn_svg_empty_axis(0), y = nn_svg_empty_axis(1);
    double zero = 0;
    for (int r = 0; r < n; r++) {
        const nn_run_curves *c = &runs[r];
        lines += c->nsm > 1;
        nn_svg_fit(&y, c->sy, c->nsm);
        nn_svg_fit(&x, c->sx, c->nsm);
        for (int s = 1; s < 3; s++)
            if (any_finite(c->ev[s], c->nev)) {
                used[s] = 1;
                nn_svg_fit(&y, c->ev[s], c->nev);
                nn_svg_fit(&x, c->es, c->nev);
            }
    }
    if (!lines && !used[1] && !used[2]) return;
    nn_svg_fit(&x, &zero, 1);
    char id[96];
    snprintf(id, sizeof id, "fig-%s-loss", o->id);
    nn_svg s;
    overlay_frame(&s, f, id, 360, o, used[1] + used[2]);
    s.x = x, s.y = y;
    nn_svg_pad(&s.y, 0.05);
    nn_svg_pad(&s.x, 0.015);
    nn_fig_open(f, id, "Loss", 1);
    nn_svg_begin(&s, "every run's loss against step, log scale");
    nn_svg_axes(&s, "step", nn_report_loss_label(o->objective));
    for (int r = 0; r < n; r++)
        nn_svg_line(&s, runs[r].sx, runs[r].sy, runs[r].nsm, o->rgb[r], 1.6, NULL, 1);
    /* the splits' markers on top of every line; test (smaller) on top of dev */
    static const double radius[3] = {4.5, 3.6, 2.8};
    for (int sp = 1; sp < 3; sp++)
        for (int r = 0; r < n; r++)
            nn_svg_points(&s, runs[r].es, runs[r].ev[sp], runs[r].nev, o->rgb[r], radius[sp], 1,
                          SHAPES[sp]);
    overlay_legend(&s, o, used);
    nn_svg_end(&s);
    nn_fig_close(f, o->caption ? o->caption
                               : "Each run's training loss on a log scale, smoothed as in its "
                                 "report (the mean of log10(loss) over windows of steps/200 "
                                 "steps), in its colour; its dev and test losses at evaluation "
                                 "points as markers. Lower is better; a run whose dev markers "
                                 "sit well above its line overfits.");
}

void nn_overlay_accuracy(FILE *f, const nn_run_curves *runs, int n, const nn_overlay *o)
{
    int used[3] = {0, 0, 0}, any = 0;
    double lo = 100;
    nn_svg_axis x = nn_svg_empty_axis(0);
    for (int r = 0; r < n; r++)
        for (int s = 0; s < 3; s++)
            for (long i = 0; i < runs[r].nev; i++)
                if (isfinite(runs[r].ea[s][i])) {
                    used[s] = any = 1;
                    lo = fmin(lo, runs[r].ea[s][i]);
                    nn_svg_fit(&x, &runs[r].es[i], 1);
                }
    if (!any) return;
    char id[96];
    snprintf(id, sizeof id, "fig-%s-accuracy", o->id);
    nn_svg s;
    overlay_frame(&s, f, id, 300, o, used[0] + used[1] + used[2]);
    s.x = x;
    s.y = (nn_svg_axis){fmax(0, floor((lo - 2) / 10) * 10), 100, 0};
    nn_svg_pad(&s.y, 0.04);
    nn_svg_pad(&s.x, 0.015);
    nn_fig_open(f, id, "Accuracy", 1);
    nn_svg_begin(&s, "every run's accuracy in percent against step");
    nn_svg_axes(&s, "step", "accuracy (%)");
    static const char *const dash[3] = {"2 3", NULL, "6 3"};
    static const double radius[3] = {4.5, 3.6, 2.8};
    for (int sp = 0; sp < 3; sp++)
        for (int r = 0; r < n; r++) {
            const nn_run_curves *c = &runs[r];
            if (!any_finite(c->ea[sp], c->nev)) continue;
            nn_svg_line(&s, c->es, c->ea[sp], c->nev, o->rgb[r], 1, dash[sp], 0.6);
            nn_svg_points(&s, c->es, c->ea[sp], c->nev, o->rgb[r], radius[sp], 1, SHAPES[sp]);
        }
    overlay_legend(&s, o, used);
    nn_svg_end(&s);
    nn_fig_close(f, o->caption ? o->caption
                               : "Each run's accuracy per split at its evaluation points, in "
                                 "its colour (train circles, dev squares, test triangles). "
                                 "Higher is better; train well above dev means overfitting.");
}
