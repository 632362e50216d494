/* html_specdiff.c — the compare page's spec differences: each run's spec.resolved.yaml as
 * flat `path = value` pairs (parser/yaml_flat.h), and a table of the paths whose values
 * are not the same in every run (a path a run lacks counts as a difference). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parser/yaml_flat.h"
#include "runtime/report/html_int.h"
#include "runtime/report/svg.h"

#define DIFF_MAX_ROWS  400 /* a page, not a dump: inline data can differ in every value */
#define DIFF_MAX_SHOWN 160 /* characters of a value */

/* Each run's pairs, and their indices sorted by path (for lookups). */
typedef struct {
    nn_yflat flat;
    int *order;
    int have; /* the run has a spec.resolved.yaml */
} spec_pairs;

static const nn_yflat *sort_flat; /* qsort has no context argument; one sort at a time */

static int by_path(const void *a, const void *b)
{
    return strcmp(sort_flat->p[*(const int *)a].path, sort_flat->p[*(const int *)b].path);
}

/* The value at `path` in s, or NULL. */
static const char *lookup(const spec_pairs *s, const char *path)
{
    int lo = 0, hi = s->flat.n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(s->flat.p[s->order[mid]].path, path);
        if (!c) return s->flat.p[s->order[mid]].value;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

static void value_cell(FILE *f, const char *v)
{
    if (!v) {
        fputs("<td class=\"l\">\xe2\x80\x94</td>", f);
        return;
    }
    char shown[DIFF_MAX_SHOWN + 8];
    size_t len = strlen(v), cut = len > DIFF_MAX_SHOWN ? DIFF_MAX_SHOWN : len;
    while (cut < len && cut > 0 && ((unsigned char)v[cut] & 0xc0) == 0x80)
        cut--; /* not inside a UTF-8 character */
    memcpy(shown, v, cut);
    strcpy(shown + cut, cut < len ? "\xe2\x80\xa6" : "");
    fputs("<td class=\"l\"><code>", f);
    nn_html_esc(f, shown);
    fputs("</code></td>", f);
}

/* Writes the table; returns the rows that differ. */
static long diff_table(FILE *f, const spec_pairs *s, const char *const *labels, const unsigned *rgb,
                       int n)
{
    long rows = 0, more = 0;
    const char **v = malloc(((size_t)n + 1) * sizeof *v);
    if (!v) abort();
    for (int r = 0; r < n; r++)
        for (int i = 0; i < s[r].flat.n; i++) {
            const char *path = s[r].flat.p[i].path;
            int seen = 0; /* listed with an earlier run's pairs */
            for (int q = 0; q < r && !seen; q++)
                seen = lookup(&s[q], path) != NULL;
            if (seen) continue;
            int differ = 0, first = -1; /* against the first run with a spec */
            for (int q = 0; q < n; q++) {
                v[q] = lookup(&s[q], path);
                if (!s[q].have) continue; /* a run without a spec differs in nothing */
                if (first < 0) first = q;
                const char *a = v[q], *b = v[first];
                differ |= !a != !b || (a && b && strcmp(a, b));
            }
            if (!differ) continue;
            if (rows >= DIFF_MAX_ROWS) {
                more++;
                continue;
            }
            if (!rows++) {
                fputs("<table id=\"spec-diff\"><tr><th class=\"l\">key</th>", f);
                for (int q = 0; q < n; q++) {
                    fprintf(f,
                            "<th class=\"l\"><span class=\"sw\" style=\"background:#%06x\">"
                            "</span>",
                            rgb[q] & 0xffffffu);
                    nn_html_esc(f, labels[q]);
                    fputs("</th>", f);
                }
                fputs("</tr>\n", f);
            }
            fputs("<tr><td class=\"l\"><code>", f);
            nn_html_esc(f, path);
            fputs("</code></td>", f);
            for (int q = 0; q < n; q++)
                value_cell(f, v[q]);
            fputs("</tr>\n", f);
        }
    if (rows) fputs("</table>\n", f);
    if (more)
        fprintf(f, "<p class=\"note\">\xe2\x80\xa6 and %ld more keys that differ.</p>\n", more);
    free(v);
    return rows + more;
}

int nn_report_spec_diff(FILE *f, const char *const *dirs, const char *const *labels,
                        const unsigned *rgb, int n, nn_diag *d)
{
    spec_pairs *s = calloc((size_t)n + 1, sizeof *s);
    if (!s) abort();
    int rc = 0, have = 0;
    for (int r = 0; r < n && rc == 0; r++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/spec.resolved.yaml", dirs[r]);
        if (access(path, F_OK) != 0) continue;
        if (nn_yflat_file(path, &s[r].flat, d) < 0) {
            rc = -1;
            break;
        }
        s[r].have = 1, have++;
        if (!(s[r].order = malloc(((size_t)s[r].flat.n + 1) * sizeof *s[r].order))) abort();
        for (int i = 0; i < s[r].flat.n; i++)
            s[r].order[i] = i;
        sort_flat = &s[r].flat;
        qsort(s[r].order, (size_t)s[r].flat.n, sizeof *s[r].order, by_path);
    }
    if (rc == 0) {
        fputs("<h2>Spec differences</h2>\n<p class=\"note\">The keys of the runs' resolved "
              "specs (spec.resolved.yaml: every default written out) whose values are not "
              "the same in every run, as <code>path = value</code> per run (paths as "
              "<code>--set</code> names them; \xe2\x80\x94: the run has no such key).</p>\n",
              f);
        if (have < 2)
            fputs("<p>Fewer than two runs have a spec.resolved.yaml: nothing to compare.</p>\n", f);
        else if (diff_table(f, s, labels, rgb, n) == 0)
            fputs("<p id=\"spec-same\">The resolved specs are the same.</p>\n", f);
        for (int r = 0; r < n && have >= 2; r++)
            if (!s[r].have) {
                fputs("<p class=\"note\">", f);
                nn_html_esc(f, labels[r]);
                fputs(" has no spec.resolved.yaml.</p>\n", f);
            }
    }
    for (int r = 0; r < n; r++) {
        nn_yflat_free(&s[r].flat);
        free(s[r].order);
    }
    free(s);
    return rc;
}
