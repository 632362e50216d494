/* html.c — report.html: the page, summary.json's table, metrics.csv's figures (see html.h).
 * The stats.json figures are in html_stats.c. */
#include "runtime/report/html.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/report/html_int.h"
#include "runtime/report/svg.h"

/* --- page pieces ------------------------------------------------------------------- */

/* rendering is sequential; thread-local only so that concurrent renders cannot mix */
static _Thread_local const char *pending_section;

void nn_fig_section(const char *title)
{
    pending_section = title;
}

void nn_fig_open(FILE *f, const char *id, const char *heading, int wide)
{
    if (pending_section) {
        fputs("<h2>", f);
        nn_html_esc(f, pending_section);
        fputs("</h2>\n", f);
        pending_section = NULL;
    }
    fputs("<figure id=\"", f);
    nn_html_esc(f, id);
    fprintf(f, "\" class=\"%s\"><h3>", wide ? "wide" : "half");
    nn_html_esc(f, heading);
    fputs("</h3>\n", f);
}

void nn_fig_close(FILE *f, const char *caption)
{
    fputs("<figcaption>", f);
    nn_html_esc(f, caption);
    fputs("</figcaption></figure>\n", f);
}

static const char *const CSS =
    "body{font-family:sans-serif;max-width:1000px;margin:1em auto;padding:0 1em;color:#222}"
    "h1{margin-bottom:.2em}h2{border-bottom:1px solid #ccc;margin-top:1.5em}"
    "h3{margin:.2em 0;font-size:1em}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
    "padding:.2em .6em;text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}"
    "figure{margin:1em 0;padding:.5em;border:1px solid #e4e4e4;display:inline-block;"
    "vertical-align:top;max-width:100%}"
    "figcaption{font-size:.9em;color:#444;max-width:760px;margin-top:.3em}"
    "figure.half{width:470px}figure.half figcaption{max-width:460px}"
    "svg.plot{display:block;max-width:100%;height:auto}"
    "pre{background:#f6f6f6;padding:.6em;overflow-x:auto}"
    ".note{color:#555}"
    ".att-row{display:flex;flex-wrap:wrap;align-items:flex-end;gap:6px;margin:.3em 0}"
    ".att-label{width:210px;font-size:.85em;align-self:center}"
    ".att-head{display:inline-flex;flex-direction:column;align-items:center;font-size:.75em}"
    ".att-item{border-bottom:1px solid #eee;padding-bottom:.3em}"
    ".warn{border:2px solid #d62728;background:#fdecea;padding:.5em .8em;margin:.8em 0}"
    "a{color:#1f5fa8}td.best{font-weight:bold}.sw{display:inline-block;width:.8em;"
    "height:.8em;margin-right:.3em;vertical-align:baseline}"
    "td.failed{color:#b00;text-align:left}";

void nn_report_page_head(FILE *f, const char *title, const char *what)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", f);
    nn_html_esc(f, title);
    fputs(" \xe2\x80\x94 ", f);
    nn_html_esc(f, what);
    fprintf(f, "</title>\n<style>%s</style></head><body>\n", CSS);
}

/* --- summary.json ------------------------------------------------------------------ */

static void cell_num(FILE *f, double v, const char *fmt)
{
    if (isfinite(v))
        fprintf(f, "<td>");
    else
        fputs("<td>\xe2\x80\x94</td>", f);
    if (isfinite(v)) {
        fprintf(f, fmt, v);
        fputs("</td>", f);
    }
}

/* summary.json's `loss`/`accuracy`/`examples` object: the three splits' values. */
static int split_row(FILE *f, const nn_jdoc *j, const char *key, const char *label, const char *fmt,
                     double scale)
{
    json_t *o = json_object_get(j->root, key);
    if (!o || json_is_null(o)) return 0;
    if (!json_is_object(o)) return nn_jdoc_bad(j, key, "expected an object");
    static const char *const sp[] = {"train", "dev", "test"};
    fprintf(f, "<tr><th class=\"l\">%s</th>", label);
    for (int s = 0; s < 3; s++) {
        double v = NAN;
        if (nn_jget_num(j, o, key, sp[s], &v) < 0) return -1;
        cell_num(f, v * scale, fmt);
    }
    fputs("</tr>\n", f);
    return 0;
}

static int summary_section(FILE *f, const nn_jdoc *j, const char *run_dir)
{
    const char *name = NULL, *isa = NULL, *version = NULL, *rng = NULL;
    double steps = NAN, params = NAN, wall = NAN, sps = NAN, threads = NAN, vocab = NAN;
    double step0 = NAN, last = NAN;
    json_t *r = j->root, *loss = json_object_get(r, "loss");
    if (nn_jget_str(j, r, "", "name", &name) < 0 || nn_jget_str(j, r, "", "isa", &isa) < 0 ||
        nn_jget_str(j, r, "", "version", &version) < 0 || nn_jget_str(j, r, "", "rng", &rng) < 0 ||
        nn_jget_num(j, r, "", "steps", &steps) < 0 ||
        nn_jget_num(j, r, "", "params", &params) < 0 ||
        nn_jget_num(j, r, "", "wall_seconds", &wall) < 0 ||
        nn_jget_num(j, r, "", "steps_per_second", &sps) < 0 ||
        nn_jget_num(j, r, "", "threads", &threads) < 0 ||
        nn_jget_num(j, r, "", "vocab", &vocab) < 0)
        return -1;
    if (loss && json_is_object(loss) &&
        (nn_jget_num(j, loss, "loss", "step0", &step0) < 0 ||
         nn_jget_num(j, loss, "loss", "last", &last) < 0))
        return -1;
    nn_report_page_head(f, name ? name : run_dir, "nnrun report");
    fputs("<h1>", f);
    nn_html_esc(f, name ? name : run_dir);
    fputs("</h1>\n<p class=\"note\">run directory <code>", f);
    nn_html_esc(f, run_dir);
    fputs("</code>", f);
    if (version) {
        fputs(", nnrun ", f);
        nn_html_esc(f, version);
    }
    fputs("</p>\n", f);
    /* a run that diverged or stopped says so before any number */
    static const char *const warn_keys[] = {"diverged", "stopped"};
    for (int k = 0; k < 2; k++) {
        const char *w = NULL;
        if (nn_jget_str(j, r, "", warn_keys[k], &w) < 0) return -1;
        if (!w) continue;
        fprintf(f, "<p class=\"warn\" id=\"%s\"><b>%s:</b> ", warn_keys[k],
                k ? "Stopped" : "Diverged");
        nn_html_esc(f, w);
        fputs("</p>\n", f);
    }
    fputs("<h2>Results</h2>\n<table><tr><th></th><th>train</th><th>dev</th>"
          "<th>test</th></tr>\n",
          f);
    if (split_row(f, j, "loss", "loss", "%.4f", 1) < 0 ||
        split_row(f, j, "accuracy", "accuracy", "%.2f%%", 100) < 0 ||
        split_row(f, j, "examples", "examples", "%.0f", 1) < 0)
        return -1;
    fputs("</table>\n<table>\n", f);
    const struct {
        const char *label, *fmt;
        double v;
    } rows[] = {{"steps", "%.0f", steps},        {"parameters", "%.0f", params},
                {"wall time (s)", "%.3f", wall}, {"steps/s", "%.0f", sps},
                {"threads", "%.0f", threads},    {"last minibatch loss", "%.4f", last}};
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        fprintf(f, "<tr><th class=\"l\">%s</th>", rows[i].label);
        cell_num(f, rows[i].v, rows[i].fmt);
        fputs("</tr>\n", f);
    }
    fputs("<tr><th class=\"l\">ISA</th><td>", f);
    nn_html_esc(f, isa ? isa : "\xe2\x80\x94");
    fputs("</td></tr>\n<tr><th class=\"l\">seed</th><td>", f);
    json_t *seed = json_object_get(r, "seed");
    if (json_is_integer(seed))
        fprintf(f, "%lld", (long long)json_integer_value(seed));
    else if (json_is_string(seed))
        nn_html_esc(f, json_string_value(seed));
    else
        fputs("\xe2\x80\x94", f);
    if (rng) {
        fputs(" (rng ", f);
        nn_html_esc(f, rng);
        fputs(")", f);
    }
    fputs("</td></tr>\n</table>\n", f);
    /* a softmax over V classes at init should be uniform: loss −ln(1/V) */
    if (isfinite(step0)) {
        fprintf(f, "<p>Initial loss (step 0, before any update): <b>%.4f</b>", step0);
        const char *data = json_string_value(json_object_get(r, "data")),
                   *obj = json_string_value(json_object_get(r, "objective"));
        /* a table's classes are no vocabulary; the bound is cross-entropy's only */
        if (isfinite(vocab) && vocab > 1 && (!obj || !strcmp(obj, "cross_entropy")))
            fprintf(f,
                    "; expected for a uniform prediction over %.0f %s: "
                    "\xe2\x88\x92ln(1/%.0f) = <b>%.4f</b>. A much larger initial loss means "
                    "confidently wrong logits at init.",
                    vocab, data && !strcmp(data, "table") ? "classes" : "tokens", vocab,
                    log(vocab));
        fputs("</p>\n", f);
    }
    return 0;
}

/* --- metrics.csv ------------------------------------------------------------------- */

/* Means of x and y over windows of w consecutive points (NaN y skipped); returns the count
 * of windows written to ox, oy (each at least n / w + 1 long). */
static long smooth(const double *x, const double *y, long n, long w, double *ox, double *oy)
{
    long k = 0;
    for (long i = 0; i < n; i += w) {
        double sx = 0, sy = 0;
        long c = 0;
        for (long t = i; t < i + w && t < n; t++)
            if (isfinite(y[t])) {
                sx += x[t];
                sy += y[t];
                c++;
            }
        if (c) {
            ox[k] = sx / c;
            oy[k++] = sy / c;
        }
    }
    return k;
}

static void loss_figure(FILE *f, const nn_rmetrics *m, const char *objective)
{
    long n = 0;
    double *x = malloc(((size_t)m->n + 1) * 4 * sizeof(double));
    if (!x) return;
    double *y = x + m->n + 1, *sx = y + m->n + 1, *sy = sx + m->n + 1;
    for (long r = 0; r < m->n; r++)
        if (isfinite(m->col[NN_M_LOSS][r]) && isfinite(m->col[NN_M_STEP][r])) {
            x[n] = m->col[NN_M_STEP][r];
            y[n++] = m->col[NN_M_LOSS][r] > 0 ? log10(m->col[NN_M_LOSS][r]) : NAN;
        }
    /* a curve needs training steps: count models have split losses but no steps */
    if (n < 2) {
        free(x);
        return;
    }
    /* windows of steps/200 steps (the steps the rows cover, not the rows) */
    long w = nn_rmetrics_window(m), k = nn_rmetrics_smooth(m, w, sx, sy);
    /* the lectures' curve is the mean of log10(loss) per window; the axis is a log axis
     * labelled with the loss itself, so those means are drawn as 10^mean */
    for (long i = 0; i < n; i++)
        y[i] = pow(10, y[i]);
    for (long i = 0; i < k; i++)
        sy[i] = pow(10, sy[i]);
    nn_svg s;
    nn_svg_init(&s, f, "fig-loss", 760, 320);
    s.x = nn_svg_empty_axis(0);
    s.y = nn_svg_empty_axis(1);
    nn_svg_fit(&s.x, m->col[NN_M_STEP], m->n);
    double zero = 0; /* rows of several steps (log_every): the first covers step 0 on */
    for (long r = 0; r < m->n; r++)
        if (isfinite(m->col[NN_M_LMEAN][r]) && isfinite(m->col[NN_M_LOSS][r])) {
            nn_svg_fit(&s.x, &zero, 1);
            break;
        }
    nn_svg_fit(&s.y, sy, k);
    for (int sp = NN_M_TRAIN; sp <= NN_M_TEST; sp++)
        nn_svg_fit(&s.y, m->col[sp], m->n);
    nn_svg_pad(&s.y, 0.05);
    nn_svg_pad(&s.x, 0.015); /* markers at the last step stay whole */
    nn_fig_open(f, "fig-loss", "Loss", 1);
    nn_svg_begin(&s, "loss against step, log scale");
    nn_svg_axes(&s, "step", nn_report_loss_label(objective));
    if (n <= 2000) nn_svg_points(&s, x, y, n, nn_svg_palette(0), 1.3, 0.25, 'o');
    nn_svg_line(&s, sx, sy, k, nn_svg_palette(0), 1.6, NULL, 1);
    const char *labels[4];
    unsigned col[4];
    char marks[4], mb[64];
    int nl = 0;
    if (k > 0) {
        snprintf(mb, sizeof mb, w > 1 ? "minibatch (mean of %ld steps)" : "minibatch", w);
        labels[nl] = mb;
        marks[nl] = '-';
        col[nl++] = nn_svg_palette(0);
    }
    static const char *const spn[] = {"train", "dev", "test"};
    static const char shapes[] = {'o', 's', '^'};
    /* drawn largest first: a test marker on a dev marker at the same step stays visible */
    static const double radius[] = {4.5, 3.6, 2.8};
    for (int sp = NN_M_TRAIN; sp <= NN_M_TEST; sp++) {
        long c = 0;
        for (long r = 0; r < m->n; r++)
            c += isfinite(m->col[sp][r]) && m->col[sp][r] > 0;
        if (!c) continue;
        nn_svg_points(&s, m->col[NN_M_STEP], m->col[sp], m->n, nn_svg_palette(sp),
                      radius[sp - NN_M_TRAIN], 1, shapes[sp - NN_M_TRAIN]);
        labels[nl] = spn[sp - NN_M_TRAIN];
        marks[nl] = shapes[sp - NN_M_TRAIN];
        col[nl++] = nn_svg_palette(sp);
    }
    nn_svg_legend_marks(&s, labels, col, NULL, marks, nl, NN_LEGEND_INSIDE);
    nn_svg_end(&s);
    nn_fig_close(f, "The training loss per step on a log scale (the minibatch loss: the mean "
                    "of log10(loss) over windows of steps/200 steps -- 1000 for 200,000 "
                    "steps, the lectures' lossi.view(-1, 1000).mean(1); raw steps as faint "
                    "dots when there are few) and the split losses at evaluations as "
                    "markers. Look for a fast early drop (a 'hockey stick' means a bad "
                    "initial scale), then a slow decline; a dev loss well above train means "
                    "overfitting.");
    free(x);
}

static void lr_figure(FILE *f, const nn_rmetrics *m)
{
    double *x = malloc(((size_t)m->n + 1) * 2 * sizeof(double)), lo = INFINITY, hi = -INFINITY;
    if (!x) return;
    double *y = x + m->n + 1;
    long n = 0, k = 0, steprows = 0;
    /* the step rows' lr (a float) only, when there are any: an evaluation row's lr is the
     * schedule's double (0.1 beside 0.100000001), which would draw as a jump */
    for (long r = 0; r < m->n; r++)
        steprows += isfinite(m->col[NN_M_LOSS][r]);
    for (long r = 0; r < m->n; r++)
        if (isfinite(m->col[NN_M_LR][r]) && isfinite(m->col[NN_M_STEP][r]) &&
            (!steprows || isfinite(m->col[NN_M_LOSS][r]))) {
            lo = fmin(lo, m->col[NN_M_LR][r]);
            hi = fmax(hi, m->col[NN_M_LR][r]);
            n++;
        }
    /* long runs: every stride-th point, plus both sides of every jump (a step decay
     * stays sharp) — 200k steps would otherwise write 200k vertices */
    long stride = n > 2000 ? n / 1000 : 1, i = 0;
    double prev = NAN, jump = (hi - lo) * 0.01;
    for (long r = 0; r < m->n; r++) {
        double v = m->col[NN_M_LR][r], t = m->col[NN_M_STEP][r];
        if (!isfinite(v) || !isfinite(t) || (steprows && !isfinite(m->col[NN_M_LOSS][r]))) continue;
        int is_jump = isfinite(prev) && fabs(v - prev) > jump && stride > 1;
        if (is_jump && k > 0 && y[k - 1] != prev) { /* the level just before the jump */
            x[k] = t;
            y[k++] = prev;
        }
        if (i % stride == 0 || i == n - 1 || is_jump) {
            x[k] = t;
            y[k++] = v;
        }
        prev = v;
        i++;
    }
    if (n >= 2) {
        nn_svg s;
        nn_svg_init(&s, f, "fig-lr", 760, 240);
        s.x = nn_svg_empty_axis(0);
        nn_svg_fit(&s.x, x, k);
        s.y = nn_svg_empty_axis(lo > 0 && hi / lo >= 20);
        nn_svg_fit(&s.y, y, k);
        nn_svg_pad(&s.y, 0.05);
        if (s.x.lo == s.x.hi) nn_svg_pad(&s.x, 0.05);
        nn_fig_open(f, "fig-lr", "Learning rate", 1);
        nn_svg_begin(&s, "learning rate against step");
        nn_svg_axes(&s, "step", s.y.log ? "learning rate (log scale)" : "learning rate");
        nn_svg_line(&s, x, y, k, nn_svg_palette(1), 1.6, NULL, 1);
        nn_svg_end(&s);
        nn_fig_close(f, "The learning rate used at each step (the schedule). A step decay "
                        "shows as a drop; the loss curve above should flatten to a lower "
                        "level after it.");
    }
    free(x);
}

static void lrfind_figure(FILE *f, const nn_rmetrics *m)
{
    double *x = malloc(((size_t)m->n + 1) * 4 * sizeof(double));
    if (!x) return;
    double *y = x + m->n + 1, *sx = y + m->n + 1, *sy = sx + m->n + 1;
    long n = 0;
    for (long r = 0; r < m->n; r++)
        if (m->col[NN_M_LR][r] > 0 && isfinite(m->col[NN_M_LOSS][r])) {
            x[n] = log10(m->col[NN_M_LR][r]);
            y[n++] = m->col[NN_M_LOSS][r];
        }
    if (n >= 2) {
        long k = smooth(x, y, n, n / 50 > 1 ? n / 50 : 1, sx, sy);
        nn_svg s;
        nn_svg_init(&s, f, "fig-lrfind", 760, 300);
        s.x = nn_svg_empty_axis(0);
        s.y = nn_svg_empty_axis(0);
        nn_svg_fit(&s.x, x, n);
        nn_svg_pad(&s.x, 0.01);
        nn_svg_fit(&s.y, sy, k); /* the smoothed range: raw spikes are clipped */
        nn_svg_pad(&s.y, 0.08);
        nn_fig_open(f, "fig-lrfind", "Learning-rate finder", 1);
        nn_svg_begin(&s, "loss against log10 learning rate");
        nn_svg_axes(&s, "log10(learning rate)", "loss");
        nn_svg_line(&s, x, y, n, nn_svg_palette(0), 1, NULL, 0.35);
        nn_svg_line(&s, sx, sy, k, nn_svg_palette(3), 2, NULL, 1);
        const char *labels[] = {"loss per step", "smoothed"};
        unsigned col[] = {nn_svg_palette(0), nn_svg_palette(3)};
        nn_svg_legend(&s, labels, col, NULL, 2, NN_LEGEND_INSIDE);
        nn_svg_end(&s);
        nn_fig_close(f, "Minibatch loss while the learning rate rises exponentially, one "
                        "rate per step. Pick a rate a little before the smoothed curve's "
                        "minimum, where the loss still falls fastest; beyond it training "
                        "becomes unstable and the loss climbs.");
    }
    free(x);
}

/* spec.resolved.yaml's train.lr is a `find:` sweep.  The resolved spec is written by
 * emit.c in a fixed layout, so a line scan suffices: `  lr:` under `train:`, with `find`
 * on the same line or the next. */
static int is_lr_find(const char *run_dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/spec.resolved.yaml", run_dir);
    size_t len;
    char *t = nn_report_slurp(path, &len);
    if (!t) return 0;
    int in_train = 0, found = 0;
    for (char *line = t; line && *line && !found;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        if (line[0] && line[0] != ' ' && line[0] != '#') in_train = !strncmp(line, "train:", 6);
        if (in_train && !strncmp(line, "  lr:", 5)) {
            const char *rest = line + 5, *next = nl ? nl + 1 : "";
            found = strstr(rest, "find") || !strncmp(next + strspn(next, " \t"), "find:", 5);
        }
        line = nl ? nl + 1 : NULL;
    }
    free(t);
    return found;
}

/* --- text files ---------------------------------------------------------------------- */

/* An escaped <pre> of up to max_lines lines of PATH; nothing if it is absent or empty. */
static void pre_file(FILE *f, const char *path, const char *heading, int details, long max)
{
    size_t len;
    char *t = nn_report_slurp(path, &len);
    if (!t || !len) {
        free(t);
        return;
    }
    long lines = 0;
    char *p = t;
    for (; *p && lines < max; p++)
        lines += *p == '\n';
    int cut = *p != 0;
    *p = 0;
    fprintf(f, details ? "<details><summary>%s</summary>\n<pre>" : "<h2>%s</h2>\n<pre>", heading);
    nn_html_esc(f, t);
    fprintf(f, "%s</pre>%s\n", cut ? "\xe2\x80\xa6\n" : "", details ? "</details>" : "");
    free(t);
}

/* --- the page ---------------------------------------------------------------------- */

static int render(FILE *f, const char *run_dir, nn_diag *d)
{
    char path[4200];
    nn_jdoc sum, st = {0};
    nn_fig_section(NULL);
    snprintf(path, sizeof path, "%s/summary.json", run_dir);
    char objective[32] = "";
    int rc = nn_jdoc_load(&sum, path, d);
    if (rc == 0) rc = summary_section(f, &sum, run_dir);
    if (rc == 0 && json_is_string(json_object_get(sum.root, "objective")))
        snprintf(objective, sizeof objective, "%s",
                 json_string_value(json_object_get(sum.root, "objective")));
    nn_jdoc_free(&sum);
    if (rc < 0) return -1;

    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    if (access(path, F_OK) == 0) {
        nn_rmetrics m;
        if (nn_rmetrics_read(path, &m, d) < 0) return -1;
        nn_fig_section("Training");
        loss_figure(f, &m, objective[0] ? objective : NULL);
        if (nn_report_accuracy(f, path, d) < 0) {
            nn_rmetrics_free(&m);
            return -1;
        }
        lr_figure(f, &m);
        if (is_lr_find(run_dir)) lrfind_figure(f, &m);
        nn_rmetrics_free(&m);
    }
    snprintf(path, sizeof path, "%s/stats.json", run_dir);
    if (access(path, F_OK) == 0) {
        rc = nn_jdoc_load(&st, path, d);
        if (rc == 0) rc = nn_report_stats(f, &st);
        nn_jdoc_free(&st);
        if (rc < 0) return -1;
    }
    nn_fig_section(NULL);
    snprintf(path, sizeof path, "%s/samples.txt", run_dir);
    pre_file(f, path, "Samples", 0, 500);
    snprintf(path, sizeof path, "%s/spec.resolved.yaml", run_dir);
    pre_file(f, path, "The resolved spec (spec.resolved.yaml)", 1, 2000);
    fputs("</body></html>\n", f);
    return 0;
}

int nn_report_render(const char *run_dir, nn_diag *d)
{
    char out[4200], tmp[4300];
    snprintf(out, sizeof out, "%s/report.html", run_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        nn_diag_error(d, (nn_mark){out, 0, 0}, "cannot write '%s': %s", tmp, strerror(errno));
        return -1;
    }
    int rc = render(f, run_dir, d);
    errno = 0; /* a flush that fails now says why; an earlier failed write is not known */
    int werr = fflush(f) != 0 || ferror(f), err = errno;
    if (fclose(f) != 0 && !err) err = errno;
    if (werr || err) {
        if (rc == 0)
            nn_diag_error(d, (nn_mark){out, 0, 0}, "cannot write '%s': %s", tmp,
                          err ? strerror(err) : "a write failed");
        rc = -1;
    }
    if (rc == 0 && rename(tmp, out) != 0) {
        nn_diag_error(d, (nn_mark){out, 0, 0}, "cannot rename '%s' to '%s': %s", tmp, out,
                      strerror(errno));
        rc = -1;
    }
    if (rc != 0) unlink(tmp);
    return rc;
}
