/* html_compare.c — `nnrun compare RUN_DIR...`: one self-contained page in report.html's
 * style with the runs side by side: each run's colour and a link to its report, their
 * summary.json tables in columns, their loss (and, for classifiers, accuracy) curves on one
 * plot each (html_overlay.c), and the keys of spec.resolved.yaml whose values differ
 * (html_specdiff.c). */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/report/html.h"
#include "runtime/report/html_int.h"
#include "runtime/report/overlay.h"
#include "runtime/report/svg.h"

typedef struct {
    const char *dir;
    char label[160];
    nn_jdoc sum;
    nn_run_curves cur;
    unsigned rgb;
} crun;

/* dst ← src, cut to size − 1 bytes (a label may be shortened; snprintf would warn). */
static void copy_cut(char *dst, size_t size, const char *src)
{
    size_t m = strlen(src);
    if (m >= size) m = size - 1;
    memcpy(dst, src, m);
    dst[m] = 0;
}

/* The run's name in legends and column heads: its directory's last component, or the
 * directory as given when two runs' last components are the same. */
static void make_labels(crun *r, int n)
{
    for (int i = 0; i < n; i++) {
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s", r[i].dir);
        size_t len = strlen(tmp);
        while (len > 1 && tmp[len - 1] == '/')
            tmp[--len] = 0;
        const char *slash = strrchr(tmp, '/');
        copy_cut(r[i].label, sizeof r[i].label, slash && slash[1] ? slash + 1 : tmp);
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++)
            if (k != i && !strcmp(r[i].label, r[k].label) && strcmp(r[i].dir, r[k].dir)) {
                copy_cut(r[i].label, sizeof r[i].label, r[i].dir);
                break;
            }
}

/* The relative URL from directory `from` to file `to` (both absolute, canonical), with the
 * characters a URL may not hold as they are %-escaped. */
static void rel_href(FILE *f, const char *from, const char *to)
{
    size_t i = 0, last = 0;
    while (from[i] && from[i] == to[i])
        if (from[i++] == '/') last = i;
    if (!from[i] && (to[i] == '/' || !to[i])) last = i;
    for (const char *p = from + last; *p;) { /* one "../" per component left in `from` */
        p += strspn(p, "/");
        if (!*p) break;
        fputs("../", f);
        p += strcspn(p, "/");
    }
    for (const char *p = to + last + strspn(to + last, "/"); *p; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("._~/-", c))
            fputc(c, f);
        else
            fprintf(f, "%%%02X", c);
    }
}

static void swatch(FILE *f, unsigned rgb)
{
    fprintf(f, "<span class=\"sw\" style=\"background:#%06x\"></span>", rgb & 0xffffffu);
}

static void runs_table(FILE *f, const crun *r, int n, const char *out_dir)
{
    fputs("<h2>Runs</h2>\n<table id=\"runs\"><tr><th class=\"l\">run</th><th class=\"l\">name"
          "</th><th class=\"l\">run directory</th><th class=\"l\">report</th></tr>\n",
          f);
    for (int i = 0; i < n; i++) {
        const char *name = json_string_value(json_object_get(r[i].sum.root, "name"));
        fputs("<tr><td class=\"l\">", f);
        swatch(f, r[i].rgb);
        nn_html_esc(f, r[i].label);
        fputs("</td><td class=\"l\">", f);
        nn_html_esc(f, name ? name : "\xe2\x80\x94");
        fputs("</td><td class=\"l\"><code>", f);
        nn_html_esc(f, r[i].dir);
        fputs("</code></td><td class=\"l\">", f);
        char rep[4300], real[PATH_MAX];
        snprintf(rep, sizeof rep, "%s/report.html", r[i].dir);
        if (out_dir && realpath(rep, real)) {
            fputs("<a href=\"", f);
            rel_href(f, out_dir, real);
            fputs("\">report.html</a>", f);
        } else {
            fputs("(no report.html)", f);
        }
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* One row of the results table: summary.json's OBJ.KEY (OBJ NULL: KEY at the top) of each
 * run, the best in bold (best < 0: lowest, > 0: highest, 0: none).  Nothing when no run has
 * the value; −1 on a value of the wrong type. */
static int result_row(FILE *f, const crun *r, int n, const char *obj, const char *key,
                      const char *label, const char *fmt, double scale, int best)
{
    double *v = malloc(((size_t)n + 1) * sizeof *v), pick = NAN;
    if (!v) abort();
    int any = 0;
    for (int i = 0; i < n; i++) {
        json_t *o = obj ? json_object_get(r[i].sum.root, obj) : r[i].sum.root;
        v[i] = NAN;
        if (o && json_is_object(o) && nn_jget_num(&r[i].sum, o, obj ? obj : "", key, &v[i]) < 0) {
            free(v);
            return -1;
        }
        v[i] *= scale;
        if (!isfinite(v[i])) continue;
        any = 1;
        if (best && (!isfinite(pick) || (best < 0 ? v[i] < pick : v[i] > pick))) pick = v[i];
    }
    int all_same = 1; /* a tie of every run is no winner */
    for (int i = 0; i < n; i++)
        all_same &= !isfinite(v[i]) || v[i] == pick;
    if (any) {
        fprintf(f, "<tr><th class=\"l\">%s</th>", label);
        for (int i = 0; i < n; i++) {
            if (!isfinite(v[i])) {
                fputs("<td>\xe2\x80\x94</td>", f);
                continue;
            }
            fputs(best && !all_same && v[i] == pick ? "<td class=\"best\">" : "<td>", f);
            fprintf(f, fmt, v[i]);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    free(v);
    return 0;
}

/* A row of strings (summary.json's KEY), when any run has one. */
static void text_row(FILE *f, const crun *r, int n, const char *key, const char *label)
{
    int any = 0;
    for (int i = 0; i < n; i++)
        any |= json_is_string(json_object_get(r[i].sum.root, key));
    if (!any) return;
    fprintf(f, "<tr><th class=\"l\">%s</th>", label);
    for (int i = 0; i < n; i++) {
        const char *s = json_string_value(json_object_get(r[i].sum.root, key));
        fputs("<td class=\"l\">", f);
        nn_html_esc(f, s ? s : "\xe2\x80\x94");
        fputs("</td>", f);
    }
    fputs("</tr>\n", f);
}

static int results_table(FILE *f, const crun *r, int n)
{
    fputs("<h2>Results</h2>\n<table id=\"results\"><tr><th></th>", f);
    for (int i = 0; i < n; i++) {
        fputs("<th>", f);
        swatch(f, r[i].rgb);
        nn_html_esc(f, r[i].label);
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
    static const char *const sp[3] = {"train", "dev", "test"};
    char label[64];
    for (int s = 0; s < 3; s++) {
        snprintf(label, sizeof label, "%s loss", sp[s]);
        if (result_row(f, r, n, "loss", sp[s], label, "%.4f", 1, -1) < 0) return -1;
    }
    for (int s = 0; s < 3; s++) {
        snprintf(label, sizeof label, "%s accuracy", sp[s]);
        if (result_row(f, r, n, "accuracy", sp[s], label, "%.2f%%", 100, 1) < 0) return -1;
    }
    if (result_row(f, r, n, "loss", "last", "last minibatch loss", "%.4f", 1, 0) < 0 ||
        result_row(f, r, n, NULL, "steps", "steps", "%.0f", 1, 0) < 0 ||
        result_row(f, r, n, NULL, "params", "parameters", "%.0f", 1, 0) < 0 ||
        result_row(f, r, n, NULL, "wall_seconds", "wall time (s)", "%.3f", 1, 0) < 0 ||
        result_row(f, r, n, NULL, "steps_per_second", "steps/s", "%.0f", 1, 0) < 0)
        return -1;
    text_row(f, r, n, "isa", "ISA");
    text_row(f, r, n, "diverged", "diverged");
    text_row(f, r, n, "stopped", "stopped");
    fputs("</table>\n<p class=\"note\">The best loss and accuracy of each row in bold.</p>\n", f);
    return 0;
}

static int render(FILE *f, crun *r, int n, const char *out_dir, nn_diag *d)
{
    char title[64];
    snprintf(title, sizeof title, "%d runs side by side", n);
    nn_fig_section(NULL);
    nn_report_page_head(f, title, "nnrun compare");
    fprintf(f, "<h1>%s</h1>\n", title);
    runs_table(f, r, n, out_dir);
    if (results_table(f, r, n) < 0) return -1;
    unsigned *rgb = malloc(((size_t)n + 1) * sizeof *rgb);
    const char **labels = malloc(((size_t)n + 1) * sizeof *labels),
               **dirs = malloc(((size_t)n + 1) * sizeof *dirs);
    nn_run_curves *cur = malloc(((size_t)n + 1) * sizeof *cur);
    if (!rgb || !labels || !dirs || !cur) abort();
    for (int i = 0; i < n; i++)
        rgb[i] = r[i].rgb, labels[i] = r[i].label, dirs[i] = r[i].dir, cur[i] = r[i].cur;
    /* one loss axis: the first run's objective names it when every run has the same */
    const char *obj = json_string_value(json_object_get(r[0].sum.root, "objective"));
    for (int i = 1; obj && i < n; i++) {
        const char *o = json_string_value(json_object_get(r[i].sum.root, "objective"));
        if (!o || strcmp(o, obj)) obj = NULL;
    }
    nn_overlay o = {"compare", NULL, rgb, labels, rgb, n, obj};
    nn_fig_section("Training");
    nn_overlay_loss(f, cur, n, &o);
    nn_overlay_accuracy(f, cur, n, &o);
    nn_fig_section(NULL);
    int rc = nn_report_spec_diff(f, dirs, labels, rgb, n, d);
    free(rgb), free(labels), free(dirs), free(cur);
    if (rc < 0) return -1;
    fputs("</body></html>\n", f);
    return 0;
}

int nn_report_compare(const char *const *dirs, int n, const char *out, nn_diag *d)
{
    crun *r = calloc((size_t)n + 1, sizeof *r);
    if (!r) abort();
    int rc = 0, loaded = 0;
    for (int i = 0; i < n && rc == 0; i++, loaded++) {
        char path[4200];
        r[i].dir = dirs[i];
        r[i].rgb = nn_svg_palette(i);
        snprintf(path, sizeof path, "%s/summary.json", dirs[i]);
        rc = nn_jdoc_load(&r[i].sum, path, d);
        if (rc == 0) rc = nn_run_curves_read(dirs[i], &r[i].cur, d);
    }
    make_labels(r, n);
    /* the links are relative to the page's directory */
    char tmp[4300], outdir[4200], real[PATH_MAX];
    snprintf(outdir, sizeof outdir, "%s", out);
    const char *od = realpath(dirname(outdir), real) ? real : NULL;
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    FILE *f = rc == 0 ? fopen(tmp, "w") : NULL;
    if (rc == 0 && !f) {
        nn_diag_error(d, (nn_mark){out, 0, 0}, "cannot write '%s': %s", tmp, strerror(errno));
        rc = -1;
    }
    if (f) {
        rc = render(f, r, n, od, d);
        errno = 0;
        int werr = fflush(f) != 0 || ferror(f), err = errno;
        if (fclose(f) != 0 && !err) err = errno;
        if ((werr || err) && rc == 0) {
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
    }
    for (int i = 0; i < loaded; i++) {
        nn_jdoc_free(&r[i].sum);
        nn_run_curves_free(&r[i].cur);
    }
    free(r);
    return rc;
}
