/* html_stats.c — report.html's figures from stats.json (docs/stats-json.md): activation and
 * gradient histograms per nonlinearity layer, weight gradients, update:data ratios, the
 * saturation map, the embedding, the n-gram counts, the decision boundary.  Every section
 * is optional; a present one must be well-formed (errors point into stats.json). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/report/html_int.h"
#include "runtime/report/svg.h"

#define WHERE(buf, ...) snprintf(buf, sizeof buf, __VA_ARGS__)

typedef struct {
    double lo, hi, *c; /* c: n bin counts */
    long n;
} hist;

/* where/hist: {lo, hi, counts} with hi > lo and at least one bin. */
static int get_hist(const nn_jdoc *j, json_t *o, const char *where, hist *h)
{
    char w[256];
    WHERE(w, "%s/hist", where);
    json_t *x = json_object_get(o, "hist");
    memset(h, 0, sizeof *h);
    if (!json_is_object(x)) return nn_jdoc_bad(j, where, "expected a 'hist' object");
    if (nn_jget_num(j, x, w, "lo", &h->lo) != 1 || nn_jget_num(j, x, w, "hi", &h->hi) != 1 ||
        !(h->hi > h->lo))
        return nn_jdoc_bad(j, w, "expected numbers 'lo' < 'hi'");
    char wc[300];
    WHERE(wc, "%s/counts", w);
    if (nn_jget_nums(j, json_object_get(x, "counts"), wc, 0, &h->c, &h->n) < 0) return -1;
    if (h->n == 0) {
        free(h->c);
        h->c = NULL;
        return nn_jdoc_bad(j, wc, "expected at least one bin");
    }
    return 0;
}

/* Counts → density (integrates to 1), so histograms of different ranges compare. */
static void density(hist *h)
{
    double t = 0, bw = (h->hi - h->lo) / (double)h->n;
    for (long i = 0; i < h->n; i++)
        t += h->c[i];
    for (long i = 0; t > 0 && i < h->n; i++)
        h->c[i] /= t * bw;
}

/* A figure id from a layer name: characters outside [A-Za-z0-9._-] become '_'. */
static void make_id(char *out, size_t n, const char *prefix, const char *name)
{
    size_t k = (size_t)snprintf(out, n, "%s", prefix);
    for (; *name && k + 1 < n; name++)
        out[k++] =
            strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *name)
                ? *name
                : '_';
    out[k < n ? k : n - 1] = 0;
}

/* One entry of `activations` / `gradients`. */
typedef struct {
    const char *name, *kind, *when;
    double step, mean, std, sat;
    hist h;
} dist;

static int get_dists(const nn_jdoc *j, const char *key, dist **out, long *n)
{
    json_t *a = json_object_get(j->root, key);
    *out = NULL;
    *n = 0;
    if (!a || json_is_null(a)) return 0;
    if (!json_is_array(a)) return nn_jdoc_bad(j, key, "expected an array");
    dist *d = calloc(json_array_size(a) + 1, sizeof *d);
    if (!d) return -1;
    *out = d;
    for (size_t i = 0; i < json_array_size(a); i++, (*n)++) {
        json_t *o = json_array_get(a, i);
        char w[64];
        WHERE(w, "%s/%zu", key, i);
        dist *e = &d[i];
        e->step = e->mean = e->std = e->sat = NAN;
        e->kind = e->when = "";
        if (!json_is_object(o)) return nn_jdoc_bad(j, w, "expected an object");
        if (nn_jget_str(j, o, w, "name", &e->name) != 1)
            return nn_jdoc_bad(j, w, "expected a string 'name'");
        if (nn_jget_str(j, o, w, "kind", &e->kind) < 0 ||
            nn_jget_str(j, o, w, "when", &e->when) < 0 ||
            nn_jget_num(j, o, w, "step", &e->step) < 0 ||
            nn_jget_num(j, o, w, "mean", &e->mean) < 0 ||
            nn_jget_num(j, o, w, "std", &e->std) < 0 ||
            nn_jget_num(j, o, w, "saturated", &e->sat) < 0 || get_hist(j, o, w, &e->h) < 0)
            return -1;
        density(&e->h);
    }
    return 0;
}

static void free_dists(dist *d, long n)
{
    for (long i = 0; d && i < n; i++)
        free(d[i].h.c);
    free(d);
}

static const char *act_caption(const char *kind)
{
    if (!strcmp(kind, "relu"))
        return "Distribution of the ReLU outputs at init and after training. The spike at 0 "
               "is the units that are off; a unit that is 0 for every input is dead and "
               "never learns again.";
    if (!strcmp(kind, "sigmoid"))
        return "Distribution of the sigmoid outputs. Values piled at 0 or 1 are saturated "
               "and pass almost no gradient; a few % is healthy.";
    return "Distribution of the tanh outputs at init and after training. Saturated tanh "
           "units (|t| > 0.97) pass almost no gradient; a few % is healthy, tens of % means "
           "the pre-activations are too large (scale the weights down, or add BatchNorm).";
}

/* One figure per layer: its entries' histograms overlaid, statistics in the legend. */
static void dist_figure(FILE *f, const dist *d, long n, const char *name, int grads)
{
    const dist *e[10];
    int k = 0;
    for (long i = 0; i < n && k < 10; i++)
        if (!strcmp(d[i].name, name)) e[k++] = &d[i];
    char id[200], heading[300], lab[10][160];
    make_id(id, sizeof id, grads ? "fig-grad-" : "fig-act-", name);
    nn_svg s;
    nn_svg_init(&s, f, id, 460, 248 + NN_SVG_LEGEND_ROW * k);
    s.mb += 8 + NN_SVG_LEGEND_ROW * k; /* the legend (with the statistics) goes below */
    s.x = nn_svg_empty_axis(0);
    s.y = nn_svg_empty_axis(0);
    for (int i = 0; i < k; i++) {
        double r[2] = {e[i]->h.lo, e[i]->h.hi}, z = 0;
        nn_svg_fit(&s.x, r, 2);
        nn_svg_fit(&s.y, e[i]->h.c, e[i]->h.n);
        nn_svg_fit(&s.y, &z, 1);
    }
    s.y.hi *= 1.05;
    if (!(s.y.hi > s.y.lo)) s.y.hi = 1;
    snprintf(heading, sizeof heading, "%s%s%s%s \xe2\x80\x94 %s", name, *e[0]->kind ? " (" : "",
             e[0]->kind, *e[0]->kind ? ")" : "", grads ? "output gradients" : "activations");
    nn_fig_open(f, id, heading, 0);
    nn_svg_begin(&s, heading);
    nn_svg_axes(&s, grads ? "gradient" : "value", "density");
    const char *labels[10];
    unsigned col[10];
    for (int i = 0; i < k; i++) {
        col[i] = nn_svg_palette(i);
        nn_svg_hist(&s, e[i]->h.lo, e[i]->h.hi, e[i]->h.c, (int)e[i]->h.n, col[i], 0.3);
        char m[32], sd[32];
        int o = snprintf(lab[i], sizeof lab[i], "%s", *e[i]->when ? e[i]->when : "?");
        if (isfinite(e[i]->step))
            o += snprintf(lab[i] + o, sizeof lab[i] - (size_t)o, " (step %.0f)", e[i]->step);
        o += snprintf(lab[i] + o, sizeof lab[i] - (size_t)o, ": mean %s, std %s",
                      nn_fmt_num(m, sizeof m, e[i]->mean), nn_fmt_num(sd, sizeof sd, e[i]->std));
        if (!grads && isfinite(e[i]->sat))
            snprintf(lab[i] + o, sizeof lab[i] - (size_t)o, ", %s %.1f%%",
                     strcmp(e[i]->kind, "relu") ? "sat" : "zero", 100 * e[i]->sat);
        labels[i] = lab[i];
    }
    nn_svg_legend(&s, labels, col, NULL, k, NN_LEGEND_BELOW);
    nn_svg_end(&s);
    nn_fig_close(f, grads ? "Distribution of the gradient reaching this layer's output. "
                            "Layers should show similar spreads; spreads shrinking or "
                            "growing from layer to layer mean vanishing or exploding "
                            "gradients."
                          : act_caption(e[0]->kind));
}

static int layers_section(FILE *f, const nn_jdoc *j)
{
    dist *a = NULL, *g = NULL;
    long na = 0, ng = 0;
    int rc = get_dists(j, "activations", &a, &na);
    if (rc == 0) rc = get_dists(j, "gradients", &g, &ng);
    if (rc == 0 && na + ng > 0) {
        /* layers in order of first appearance; each one's activations, then gradients */
        for (long i = 0; i < na + ng; i++) {
            const char *name = i < na ? a[i].name : g[i - na].name;
            int seen = 0;
            for (long p = 0; p < i && !seen; p++)
                seen = !strcmp(name, p < na ? a[p].name : g[p - na].name);
            if (seen) continue;
            for (long p = 0; p < na; p++)
                if (!strcmp(a[p].name, name)) {
                    dist_figure(f, a, na, name, 0);
                    break;
                }
            for (long p = 0; p < ng; p++)
                if (!strcmp(g[p].name, name)) {
                    dist_figure(f, g, ng, name, 1);
                    break;
                }
        }
    }
    free_dists(a, na);
    free_dists(g, ng);
    return rc;
}

static int weights_section(FILE *f, const nn_jdoc *j)
{
    json_t *a = json_object_get(j->root, "weights");
    if (!a || json_is_null(a)) return 0;
    if (!json_is_array(a)) return nn_jdoc_bad(j, "weights", "expected an array");
    size_t n = json_array_size(a);
    if (n == 0) return 0;
    struct wt {
        const char *name;
        char shape[64];
        double v[4]; /* data_std, grad_mean, grad_std, grad_data_ratio */
        hist h;
    } *w = calloc(n, sizeof *w);
    static const char *const keys[] = {"data_std", "grad_mean", "grad_std", "grad_data_ratio"};
    int rc = w ? 0 : -1;
    size_t got = 0;
    for (; rc == 0 && got < n; got++) {
        json_t *o = json_array_get(a, got);
        char at[64];
        WHERE(at, "weights/%zu", got);
        if (!json_is_object(o) || nn_jget_str(j, o, at, "name", &w[got].name) != 1) {
            rc = nn_jdoc_bad(j, at, "expected an object with a string 'name'");
            break;
        }
        for (int k = 0; k < 4 && rc == 0; k++) {
            w[got].v[k] = NAN;
            rc = nn_jget_num(j, o, at, keys[k], &w[got].v[k]) < 0 ? -1 : 0;
        }
        json_t *sh = json_object_get(o, "shape");
        size_t off = 0;
        for (size_t k = 0; json_is_array(sh) && k < json_array_size(sh) && off < 60; k++)
            off += (size_t)snprintf(w[got].shape + off, 64 - off, "%s%lld", k ? "\xc3\x97" : "",
                                    (long long)json_integer_value(json_array_get(sh, k)));
        if (rc == 0 && (rc = get_hist(j, o, at, &w[got].h)) == 0) density(&w[got].h);
        if (rc) {
            got++;
            break;
        }
    }
    if (rc == 0) {
        nn_svg s;
        nn_svg_init(&s, f, "fig-weights", 760, 300);
        s.x = nn_svg_empty_axis(0);
        s.y = nn_svg_empty_axis(0);
        const char *labels[10];
        unsigned col[10];
        char lab[10][120];
        size_t k = n < 10 ? n : 10;
        for (size_t i = 0; i < k; i++) {
            double r[2] = {w[i].h.lo, w[i].h.hi}, z = 0;
            nn_svg_fit(&s.x, r, 2);
            nn_svg_fit(&s.y, w[i].h.c, w[i].h.n);
            nn_svg_fit(&s.y, &z, 1);
            snprintf(lab[i], sizeof lab[i], "%s %s", w[i].name, w[i].shape);
            labels[i] = lab[i];
            col[i] = nn_svg_palette((int)i);
        }
        s.y.hi = s.y.hi > s.y.lo ? s.y.hi * 1.05 : 1;
        nn_fig_open(f, "fig-weights", "Weight gradients", 1);
        nn_svg_begin(&s, "gradient histograms of the weight matrices");
        nn_svg_axes(&s, "gradient", "density");
        for (size_t i = 0; i < k; i++)
            nn_svg_hist(&s, w[i].h.lo, w[i].h.hi, w[i].h.c, (int)w[i].h.n, col[i], 0.15);
        nn_svg_legend(&s, labels, col, NULL, (int)k, NN_LEGEND_INSIDE);
        nn_svg_end(&s);
        fputs("<table><tr><th class=\"l\">weight</th><th>shape</th><th>data std</th>"
              "<th>grad mean</th><th>grad std</th><th>grad:data</th></tr>\n",
              f);
        for (size_t i = 0; i < n; i++) {
            char b[32];
            fputs("<tr><td class=\"l\">", f);
            nn_html_esc(f, w[i].name);
            fprintf(f, "</td><td>%s</td>", w[i].shape);
            for (int c = 0; c < 4; c++)
                fprintf(f, "<td>%s</td>", nn_fmt_num(b, sizeof b, w[i].v[c]));
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
        nn_fig_close(f, "Gradient histograms of each weight matrix after training, and the "
                        "ratio std(grad) / std(data). The ratio says how fast a matrix "
                        "moves; it should be similar across layers (a last layer with a far "
                        "larger ratio trains faster than the rest).");
    }
    for (size_t i = 0; i < got && w; i++)
        free(w[i].h.c);
    free(w);
    return rc;
}

static int updates_section(FILE *f, const nn_jdoc *j)
{
    json_t *u = json_object_get(j->root, "updates");
    if (!u || json_is_null(u)) return 0;
    json_t *names = json_object_get(u, "names"), *rows = json_object_get(u, "log10_ratio");
    if (!json_is_object(u) || !json_is_array(names) || !json_is_array(rows))
        return nn_jdoc_bad(j, "updates", "expected {names, steps, log10_ratio}");
    double *steps;
    long ns, nw = (long)json_array_size(names);
    if (nn_jget_nums(j, json_object_get(u, "steps"), "updates/steps", 0, &steps, &ns) < 0)
        return -1;
    if ((long)json_array_size(rows) != ns) {
        free(steps);
        return nn_jdoc_bad(j, "updates/log10_ratio", "expected one row per step (%ld)", ns);
    }
    double *v = malloc(((size_t)(ns * nw) + 1) * sizeof *v), *col = NULL;
    int rc = v ? 0 : -1;
    for (long i = 0; rc == 0 && i < nw; i++)
        if (!json_is_string(json_array_get(names, (size_t)i))) {
            char at[64];
            WHERE(at, "updates/names/%ld", i);
            rc = nn_jdoc_bad(j, at, "expected a string");
        }
    for (long r = 0; rc == 0 && r < ns; r++) {
        char at[64];
        WHERE(at, "updates/log10_ratio/%ld", r);
        double *row;
        long m;
        if (nn_jget_nums(j, json_array_get(rows, (size_t)r), at, 1, &row, &m) < 0) {
            rc = -1;
            break;
        }
        if (m != nw) rc = nn_jdoc_bad(j, at, "expected %ld values, one per name", nw);
        for (long i = 0; rc == 0 && i < nw; i++)
            v[i * ns + r] = row[i];
        free(row);
    }
    if (rc == 0 && ns > 0 && nw > 0) {
        nn_svg s;
        size_t maxlen = 0;
        for (long i = 0; i < nw; i++)
            maxlen = fmax(maxlen, strlen(json_string_value(json_array_get(names, (size_t)i))));
        nn_svg_init(&s, f, "fig-updates", 900, 300);
        s.mr = 46 + 5.9 * (double)maxlen; /* the legend sits right of the plot */
        s.x = nn_svg_empty_axis(0);
        s.y = nn_svg_empty_axis(0);
        double g = -3;
        nn_svg_fit(&s.x, steps, ns);
        nn_svg_fit(&s.y, v, ns * nw);
        nn_svg_fit(&s.y, &g, 1);
        nn_svg_pad(&s.y, 0.05);
        if (s.x.lo == s.x.hi) nn_svg_pad(&s.x, 0.05);
        nn_fig_open(f, "fig-updates", "Update:data ratio", 1);
        nn_svg_begin(&s, "log10 update to data ratio against step");
        nn_svg_axes(&s, "step", "log10(update std / data std)");
        nn_svg_hline(&s, -3, 0x000000, "6 4");
        const char **labels = malloc((size_t)nw * sizeof *labels);
        unsigned *cols = malloc((size_t)nw * sizeof *cols);
        for (long i = 0; i < nw; i++) {
            unsigned c = nn_svg_palette((int)i);
            nn_svg_line(&s, steps, v + i * ns, ns, c, 1.5, NULL, 1);
            if (ns < 3) nn_svg_points(&s, steps, v + i * ns, ns, c, 3, 1, 'o');
            if (labels) labels[i] = json_string_value(json_array_get(names, (size_t)i));
            if (cols) cols[i] = c;
        }
        if (labels && cols) nn_svg_legend(&s, labels, cols, NULL, (int)nw, NN_LEGEND_RIGHT);
        free(labels);
        free(cols);
        nn_svg_end(&s);
        nn_fig_close(f, "log10 of std(update) / std(data) for each weight matrix over "
                        "training. Around \xe2\x88\x92"
                        "3 (dashed) is a good pace: far below "
                        "means the learning rate is too low, far above means updates too "
                        "large for the values they change.");
    }
    free(col);
    free(v);
    free(steps);
    return rc;
}

static int saturation_section(FILE *f, const nn_jdoc *j)
{
    json_t *o = json_object_get(j->root, "saturation");
    if (!o || json_is_null(o)) return 0;
    if (!json_is_object(o)) return nn_jdoc_bad(j, "saturation", "expected an object");
    double rows = 0, cols = 0, step = NAN;
    const char *name = "";
    json_t *cells = json_object_get(o, "cells");
    if (nn_jget_num(j, o, "saturation", "rows", &rows) != 1 ||
        nn_jget_num(j, o, "saturation", "cols", &cols) != 1 || rows < 1 || cols < 1 || rows > 1e5 ||
        cols > 1e5)
        return nn_jdoc_bad(j, "saturation", "expected positive numbers 'rows' and 'cols'");
    if (nn_jget_str(j, o, "saturation", "name", &name) < 0 ||
        nn_jget_num(j, o, "saturation", "step", &step) < 0)
        return -1;
    if (!json_is_array(cells) || json_array_size(cells) != (size_t)rows)
        return nn_jdoc_bad(j, "saturation/cells", "expected %.0f strings, one per row", rows);
    for (size_t r = 0; r < (size_t)rows; r++) {
        const char *c = json_string_value(json_array_get(cells, r));
        char at[64];
        WHERE(at, "saturation/cells/%zu", r);
        if (!c || strlen(c) != (size_t)cols || strspn(c, "01") != (size_t)cols)
            return nn_jdoc_bad(j, at, "expected a string of %.0f '0'/'1'", cols);
    }
    double cell = fmin(12, fmin(880 / cols, 420 / rows));
    nn_svg s;
    nn_svg_init(&s, f, "fig-saturation", (int)(62 + 16 + cell * cols),
                (int)(14 + 44 + cell * rows));
    if (s.w < 300) s.w = 300, s.mr = s.w - 62 - cell * cols;
    s.x = (nn_svg_axis){0, cols, 0};
    s.y = (nn_svg_axis){0, rows, 0};
    s.flip_y = 1;
    s.nogrid = 1;
    char heading[300];
    snprintf(heading, sizeof heading, "Saturation of %s%s", *name ? name : "a tanh layer",
             isfinite(step) && step == 0 ? " at init" : "");
    nn_fig_open(f, "fig-saturation", heading, 1);
    nn_svg_begin(&s, heading);
    fputs(NN_SVG_CELLS_OPEN, f);
    nn_svg_rect(&s, 0, 0, cols, rows, 0x000000, 1);
    /* white runs of '1' per row, one rect each */
    for (size_t r = 0; r < (size_t)rows; r++) {
        const char *c = json_string_value(json_array_get(cells, r));
        for (size_t i = 0; c[i];) {
            size_t k = i;
            while (c[k] == '1')
                k++;
            if (k > i) nn_svg_rect(&s, (double)i, (double)r, (double)k, r + 1.0, 0xffffff, 1);
            i = k > i ? k : i + 1;
        }
    }
    fputs("</g>\n", f);
    nn_svg_axes(&s, "neuron", "example");
    nn_svg_end(&s);
    nn_fig_close(f, "One cell per neuron (column) and example (row): white where |t| > 0.99, "
                    "a saturated tanh that passes no gradient back. A column white for "
                    "every example is a dead neuron that never learns.");
    return 0;
}

static int embedding_section(FILE *f, const nn_jdoc *j)
{
    json_t *o = json_object_get(j->root, "embedding");
    if (!o || json_is_null(o)) return 0;
    json_t *labels = json_object_get(o, "labels"), *pts = json_object_get(o, "points");
    const char *method = "", *name = "";
    if (!json_is_object(o) || !json_is_array(labels) || !json_is_array(pts) ||
        json_array_size(labels) != json_array_size(pts))
        return nn_jdoc_bad(j, "embedding", "expected labels and points of the same length");
    if (nn_jget_str(j, o, "embedding", "method", &method) < 0 ||
        nn_jget_str(j, o, "embedding", "name", &name) < 0)
        return -1;
    size_t n = json_array_size(pts);
    double *xy = malloc((2 * n + 1) * sizeof *xy);
    if (!xy) return -1;
    for (size_t i = 0; i < n; i++) {
        char at[64];
        double *p;
        long m;
        WHERE(at, "embedding/points/%zu", i);
        if (!json_is_string(json_array_get(labels, i))) {
            WHERE(at, "embedding/labels/%zu", i);
            free(xy);
            return nn_jdoc_bad(j, at, "expected a string");
        }
        if (nn_jget_nums(j, json_array_get(pts, i), at, 0, &p, &m) < 0) {
            free(xy);
            return -1;
        }
        if (m != 2) {
            free(p);
            free(xy);
            return nn_jdoc_bad(j, at, "expected [x, y]");
        }
        xy[i] = p[0];
        xy[n + i] = p[1];
        free(p);
    }
    nn_svg s;
    nn_svg_init(&s, f, "fig-embedding", 560, 480);
    s.x = nn_svg_empty_axis(0);
    s.y = nn_svg_empty_axis(0);
    nn_svg_fit(&s.x, xy, (long)n);
    nn_svg_fit(&s.y, xy + n, (long)n);
    nn_svg_pad(&s.x, 0.08);
    nn_svg_pad(&s.y, 0.08);
    int pca = !strcmp(method, "pca");
    char heading[300];
    snprintf(heading, sizeof heading, "Embedding%s%s%s", *name ? " (" : "", name, *name ? ")" : "");
    nn_fig_open(f, "fig-embedding", heading, 1);
    nn_svg_begin(&s, heading);
    nn_svg_axes(&s, pca ? "principal component 1" : "dimension 0",
                pca ? "principal component 2" : "dimension 1");
    /* labelled disks that would overlap are pushed apart (a thin line to the true point
     * when one moved): 'a', 'n' and '.' close together stay readable */
    double *at = malloc(2 * n * sizeof *at);
    if (at && n <= 1000) {
        double ax = nn_svg_px(&s, 1) - nn_svg_px(&s, 0), ay = nn_svg_py(&s, 1) - nn_svg_py(&s, 0);
        for (size_t i = 0; i < n; i++)
            at[i] = nn_svg_px(&s, xy[i]), at[n + i] = nn_svg_py(&s, xy[n + i]);
        for (int it = 0; it < 200; it++) {
            int moved = 0;
            for (size_t a = 0; a < n; a++)
                for (size_t b = a + 1; b < n; b++) {
                    double dx = at[b] - at[a], dy = at[n + b] - at[n + a], d = hypot(dx, dy);
                    if (d >= 21) continue;
                    if (d < 1e-6) dx = 1, dy = 0.3 * (double)(b % 3), d = hypot(dx, dy);
                    double push = (21 - d) / 2 / d;
                    at[a] -= dx * push, at[n + a] -= dy * push;
                    at[b] += dx * push, at[n + b] += dy * push;
                    moved = 1;
                }
            if (!moved) break;
        }
        for (size_t i = 0; i < n; i++) { /* back to data coordinates */
            double px = xy[i], py = xy[n + i];
            xy[i] = px + (at[i] - nn_svg_px(&s, px)) / ax;
            xy[n + i] = py + (at[n + i] - nn_svg_py(&s, py)) / ay;
            at[i] = px, at[n + i] = py; /* at: the true points now */
            if (hypot(nn_svg_px(&s, xy[i]) - nn_svg_px(&s, px),
                      nn_svg_py(&s, xy[n + i]) - nn_svg_py(&s, py)) > 3) {
                double lx[2] = {px, xy[i]}, ly[2] = {py, xy[n + i]};
                nn_svg_line(&s, lx, ly, 2, 0x999999, 0.8, NULL, 1);
                nn_svg_points(&s, &px, &py, 1, 0x999999, 1.5, 1, 'o');
            }
        }
    }
    free(at);
    nn_svg_points(&s, xy, xy + n, (long)n, 0x6fa8dc, 10, 1, 'o');
    for (size_t i = 0; i < n; i++)
        nn_svg_text(&s, xy[i], xy[n + i], json_string_value(json_array_get(labels, i)), 11,
                    0x000000, "middle");
    fputs("\n", f);
    nn_svg_end(&s);
    nn_fig_close(f, pca ? "Each token's embedding vector projected on its first two principal "
                          "components: tokens the model treats alike sit close together "
                          "(vowels often cluster; '.' sits apart). Disks that would overlap "
                          "are pushed apart; a thin line leads to the exact point."
                        : "Each token's 2-D embedding vector: tokens the model treats alike "
                          "sit close together (vowels often cluster; '.' sits apart).");
    free(xy);
    return 0;
}

int nn_report_stats(FILE *f, const nn_jdoc *j)
{
    nn_fig_section("Layers");
    if (layers_section(f, j) < 0 || weights_section(f, j) < 0 || updates_section(f, j) < 0 ||
        saturation_section(f, j) < 0 || nn_report_recurrent(f, j) < 0)
        return -1;
    nn_fig_section("Model");
    if (embedding_section(f, j) < 0 || nn_report_counts(f, j) < 0 || nn_report_boundary(f, j) < 0 ||
        nn_report_confusion(f, j) < 0)
        return -1;
    return nn_report_sequence(f, j);
}
