/* sweep_report.c — runs/NAME/report.html of a sweep, in report.html's style: every
 * finished cell's loss curve on one plot coloured by one axis of the matrix (the first by
 * default; `summarize --color-by AXIS`), for each axis the ranking loss of every finished
 * cell against the axis's value (numbers on a linear or log axis, anything else as
 * categories), and the ranked table, each cell's id a link to its report.html.
 * Self-contained: inline SVG and CSS only, the links relative. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/report/html.h"
#include "runtime/report/overlay.h"
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
        fprintf(f, "<figure id=\"%s\" class=\"half\">\n", id);
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

/* axis a's distinct values among the finished cells: numbers in increasing order, other
 * values in the order of the cells (malloc'd array of pointers into the rows). */
static int axis_values(const nn_sweep *s, int a, const char ***out)
{
    const char **v = calloc((size_t)s->nrows + 1, sizeof *v);
    if (!v) abort();
    int n = 0, num = numeric_axis(s, a);
    for (int i = 0; i < s->nrows; i++) {
        const char *x = s->rows[i].values[a];
        if (s->rows[i].status != NN_CELL_DONE || !x) continue;
        int k = 0;
        while (k < n && strcmp(v[k], x))
            k++;
        if (k == n) v[n++] = x;
    }
    for (int i = 1; num && i < n; i++) /* insertion sort: a handful of values */
        for (int j = i; j > 0 && strtod(v[j], NULL) < strtod(v[j - 1], NULL); j--) {
            const char *t = v[j];
            v[j] = v[j - 1], v[j - 1] = t;
        }
    *out = v;
    return n;
}

/* The finished cells' loss (and accuracy) curves on one plot each, coloured by axis a. */
static void curves_figures(FILE *f, const char *dir, const nn_sweep *s, int a)
{
    const char **vals = NULL;
    int nv = a >= 0 ? axis_values(s, a, &vals) : 0;
    nn_run_curves *cur = calloc((size_t)s->nrows + 1, sizeof *cur);
    unsigned *rgb = calloc((size_t)s->nrows + 1, sizeof *rgb),
             *vrgb = calloc((size_t)nv + 1, sizeof *vrgb);
    char **legend = calloc((size_t)nv + 1, sizeof *legend);
    char *objective = NULL;
    if (!cur || !rgb || !vrgb || !legend) abort();
    int n = 0;
    nn_diag *d = nn_diag_new();
    for (int i = 0; d && i < s->nrows; i++) {
        const nn_sweep_row *r = &s->rows[i];
        char cell[4400];
        snprintf(cell, sizeof cell, "%s/%s", dir, r->id);
        /* a cell whose metrics cannot be read has no curve; the table still lists it */
        if (r->status != NN_CELL_DONE || nn_run_curves_read(cell, &cur[n], d) != 0) continue;
        int k = 0;
        while (a >= 0 && k < nv && r->values[a] && strcmp(vals[k], r->values[a]))
            k++;
        rgb[n++] = a >= 0 && k < nv ? nn_svg_palette(k) : nn_svg_palette(0);
        if (!objective) {
            snprintf(cell, sizeof cell, "%s/%s/summary.json", dir, r->id);
            json_t *j = json_load_file(cell, 0, NULL);
            const char *o = json_string_value(json_object_get(j, "objective"));
            if (o) objective = strdup(o);
            json_decref(j);
        }
    }
    nn_diag_free(d);
    for (int k = 0; k < nv; k++) {
        size_t len = strlen(s->axes[a]) + strlen(vals[k]) + 4;
        if (!(legend[k] = malloc(len))) abort();
        snprintf(legend[k], len, "%s = %s", s->axes[a], vals[k]);
        vrgb[k] = nn_svg_palette(k);
    }
    char caption[600];
    snprintf(caption, sizeof caption,
             "Every finished cell's training loss on a log scale, smoothed as in its report "
             "(the mean of log10(loss) over windows of steps/200 steps), coloured by %s%s%s; "
             "its dev and test losses at evaluation points as markers.%s",
             a >= 0 ? "its value of " : "", a >= 0 ? s->axes[a] : "one colour",
             a >= 0 && nv > 10 ? " (10 colours, repeated)" : "",
             s->naxes > 1 ? " nnrun summarize --color-by AXIS colours the cells by another axis."
                          : "");
    nn_overlay o = {"sweep", caption, rgb, (const char *const *)legend, vrgb, nv, objective};
    nn_overlay_loss(f, cur, n, &o);
    o.caption = NULL;
    nn_overlay_accuracy(f, cur, n, &o);
    for (int i = 0; i < n; i++)
        nn_run_curves_free(&cur[i]);
    for (int k = 0; k < nv; k++)
        free(legend[k]);
    free(cur), free(rgb), free(vrgb), free(legend), free(vals), free(objective);
}

static void table(FILE *f, const char *dir, const nn_sweep *s)
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
        char rep[4400];
        snprintf(rep, sizeof rep, "%s/%s/report.html", dir, r->id);
        fprintf(f, "<tr><td>%d</td><td class=\"l\">", i + 1);
        if (access(rep, F_OK) == 0) {
            fputs("<a class=\"cell\" href=\"", f);
            nn_html_esc(f, r->id); /* a hash: no character a URL must escape */
            fputs("/report.html\"><code>", f);
            nn_html_esc(f, r->id);
            fputs("</code></a>", f);
        } else {
            fputs("<code>", f);
            nn_html_esc(f, r->id);
            fputs("</code>", f);
        }
        fputs("</td>", f);
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

int nn_sweep_report(const char *dir, const nn_sweep *s, int colour_axis)
{
    char p[4400];
    snprintf(p, sizeof p, "%s/report.html", dir);
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    nn_report_page_head(f, s->name, "nnrun sweep");
    fputs("<h1>Sweep ", f);
    nn_html_esc(f, s->name);
    fprintf(f,
            "</h1>\n<p>%d of %d cells finished or failed, ranked by %s loss; each cell's id "
            "links to its report.</p>\n",
            s->nrows, s->ncells, split_names[s->key]);
    curves_figures(f, dir, s, colour_axis < s->naxes ? colour_axis : -1);
    for (int a = 0; a < s->naxes; a++)
        axis_figure(f, s, a);
    table(f, dir, s);
    fprintf(f, "</body></html>\n");
    return fclose(f) == 0 ? 0 : -1;
}
