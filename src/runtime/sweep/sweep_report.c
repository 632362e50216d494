/* sweep_report.c — runs/NAME/report.html of a sweep: the ranked table and, for each axis,
 * the ranking loss of every finished cell against the axis's value (numbers on a linear
 * or log axis, anything else as categories).  Self-contained: inline SVG and CSS only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/report/svg.h"
#include "runtime/sweep/sweep_int.h"

static const char *const split_names[3] = {"train", "dev", "test"};

/* Whether every value of axis a among finished rows is a number. */
static int numeric_axis(const nn_sweep *s, int a)
{
    for (int i = 0; i < s->nrows; i++) {
        const char *v = s->rows[i].values[a];
        char *end;
        if (s->rows[i].status != NN_CELL_DONE || !v) continue;
        strtod(v, &end);
        if (end == v || *end) return 0;
    }
    return 1;
}

/* The mean loss at each distinct axis value, joined in axis order. */
static void mean_line(nn_svg *g, const double *x, const double *y, int n)
{
    double *mx = calloc((size_t)n + 1, 2 * sizeof *mx), *my = mx ? mx + n + 1 : NULL;
    int *cnt = calloc((size_t)n + 1, sizeof *cnt), k = 0;
    if (!mx || !cnt) abort();
    for (int i = 0; i < n; i++) {
        int j = 0;
        while (j < k && mx[j] != x[i])
            j++;
        if (j == k) mx[k++] = x[i];
        my[j] += y[i], cnt[j]++;
    }
    for (int i = 0; i < k; i++)
        my[i] /= cnt[i];
    for (int i = 1; i < k; i++) /* insertion sort by x: k is small */
        for (int j = i; j > 0 && mx[j] < mx[j - 1]; j--) {
            double t = mx[j];
            mx[j] = mx[j - 1], mx[j - 1] = t;
            t = my[j], my[j] = my[j - 1], my[j - 1] = t;
        }
    if (k > 1) nn_svg_line(g, mx, my, k, nn_svg_palette(0), 1.5, "4 3", 0.9);
    free(mx);
    free(cnt);
}

/* Category names under the x axis, in place of the numeric tick labels. */
static void cat_labels(nn_svg *g, const char *const *cats, int n)
{
    double y1 = g->h - g->mb;
    fprintf(g->f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"18\" fill=\"#fff\"/>\n",
            g->ml - 20, y1 + 2, g->w - g->ml - g->mr + 40);
    fputs("<g fill=\"#333\">", g->f);
    for (int i = 0; i < n; i++) {
        fprintf(g->f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", nn_svg_px(g, i + 0.5),
                y1 + 15);
        nn_html_esc(g->f, cats[i]);
        fputs("</text>", g->f);
    }
    fputs("</g>\n", g->f);
}

static void axis_figure(FILE *f, const nn_sweep *s, int a)
{
    int n = 0, ncat = 0;
    double *x = calloc((size_t)s->nrows + 1, 2 * sizeof *x), *y = x ? x + s->nrows + 1 : NULL;
    const char **cats = calloc((size_t)s->nrows + 1, sizeof *cats);
    if (!x || !cats) abort();
    int num = numeric_axis(s, a);
    for (int i = 0; i < s->nrows; i++) {
        const nn_sweep_row *r = &s->rows[i];
        if (r->status != NN_CELL_DONE || !r->values[a] || !r->has[s->key]) continue;
        if (num) {
            x[n] = strtod(r->values[a], NULL);
        } else {
            int c = 0;
            while (c < ncat && strcmp(cats[c], r->values[a]))
                c++;
            if (c == ncat) cats[ncat++] = r->values[a];
            x[n] = c + 0.5;
        }
        y[n++] = r->loss[s->key];
    }
    if (n > 0) {
        double lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < n && num; i++)
            lo = fmin(lo, x[i]), hi = fmax(hi, x[i]);
        int logx = num && lo > 0 && hi / lo >= 20;
        char id[96], title[160];
        snprintf(id, sizeof id, "fig-axis-%d", a);
        snprintf(title, sizeof title, "%s loss against %s", split_names[s->key], s->axes[a]);
        nn_svg g;
        nn_svg_init(&g, f, id, 480, 280);
        g.x = num ? nn_svg_empty_axis(logx) : (nn_svg_axis){0, ncat, 0};
        if (num) nn_svg_fit(&g.x, x, n), nn_svg_pad(&g.x, 0.06);
        g.y = nn_svg_empty_axis(0);
        nn_svg_fit(&g.y, y, n);
        nn_svg_pad(&g.y, 0.08);
        fprintf(f, "<figure>\n");
        nn_svg_begin(&g, title);
        nn_svg_axes(&g, s->axes[a], num ? "loss" : NULL);
        if (!num) cat_labels(&g, cats, ncat);
        nn_svg_points(&g, x, y, n, nn_svg_palette(1), 4, 0.8, 'o');
        if (num) mean_line(&g, x, y, n);
        nn_svg_end(&g);
        fprintf(f, "<figcaption>");
        nn_html_esc(f, title);
        fprintf(f, ": one point per finished cell%s</figcaption></figure>\n",
                num ? "; the dashed line joins the means at each value" : "");
    }
    free(x);
    free(cats);
}

static void table(FILE *f, const nn_sweep *s)
{
    fprintf(f, "<table>\n<tr><th>rank</th><th>cell</th>");
    for (int a = 0; a < s->naxes; a++) {
        fprintf(f, "<th>");
        nn_html_esc(f, s->axes[a]);
        fprintf(f, "</th>");
    }
    fprintf(f, "<th>train</th><th>dev</th><th>test</th></tr>\n");
    for (int i = 0; i < s->nrows; i++) {
        const nn_sweep_row *r = &s->rows[i];
        fprintf(f, "<tr><td>%d</td><td><code>%s</code></td>", i + 1, r->id);
        for (int a = 0; a < s->naxes; a++) {
            fprintf(f, "<td>");
            nn_html_esc(f, r->values[a] ? r->values[a] : "-");
            fprintf(f, "</td>");
        }
        if (r->status == NN_CELL_DONE) {
            for (int k = 0; k < 3; k++)
                fprintf(f, r->has[k] ? "<td>%.4f</td>" : "<td>-</td>", r->loss[k]);
        } else {
            fprintf(f, "<td colspan=\"3\" class=\"failed\">failed: ");
            nn_html_esc(f, r->error ? r->error : "");
            fprintf(f, "</td>");
        }
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table>\n");
}

int nn_sweep_report(const char *dir, const nn_sweep *s)
{
    char p[4400];
    snprintf(p, sizeof p, "%s/report.html", dir);
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>sweep ");
    nn_html_esc(f, s->name);
    fprintf(f, "</title>\n<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;"
               "color:#222}table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:"
               "1px solid #ddd;text-align:right}.failed{color:#b00;text-align:left}figure{"
               "display:inline-block;margin:1em}figcaption{font-size:90%%;color:#555}</style>"
               "</head><body>\n<h1>Sweep ");
    nn_html_esc(f, s->name);
    fprintf(f, "</h1>\n<p>%d of %d cells finished or failed, ranked by %s loss.</p>\n", s->nrows,
            s->ncells, split_names[s->key]);
    for (int a = 0; a < s->naxes; a++)
        axis_figure(f, s, a);
    table(f, s);
    fprintf(f, "</body></html>\n");
    return fclose(f) == 0 ? 0 : -1;
}
