/* sweep_summary.c — `nnrun summarize DIR`: the cells that are DONE or FAILED → summary.csv
 * (one row per cell, best dev loss first, one column per axis), summary_by_seed.csv (mean
 * and sample standard deviation over a `seed` axis for each remaining point), the same as
 * tables on the terminal, and report.html (sweep_report.c).
 *
 * Only wall_seconds depends on timing, and it is the last column: two sweeps of the same
 * spec give files identical up to it.  Losses are printed with 17 significant digits.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/store/dirlock.h"
#include "runtime/sweep/sweep.h"
#include "runtime/sweep/sweep_int.h"

static const char *const split_names[3] = {"train", "dev", "test"};

static int file_exists(const char *dir, const char *id, const char *f)
{
    char p[4400];
    snprintf(p, sizeof p, "%s/%s/%s", dir, id, f);
    return access(p, F_OK) == 0;
}

static void read_cell(const char *dir, nn_sweep_row *r)
{
    char p[4400];
    if (file_exists(dir, r->id, "DONE")) {
        snprintf(p, sizeof p, "%s/%s/summary.json", dir, r->id);
        json_t *j = json_load_file(p, 0, NULL);
        json_t *loss = json_object_get(j, "loss"), *acc = json_object_get(j, "accuracy");
        r->status = j ? NN_CELL_DONE : NN_CELL_FAILED;
        if (!j) r->error = strdup("DONE, but summary.json is missing or unreadable");
        for (int s = 0; s < 3; s++) {
            json_t *v = json_object_get(loss, split_names[s]);
            r->has[s] = json_is_number(v);
            r->loss[s] = r->has[s] ? json_number_value(v) : NAN;
            v = json_object_get(acc, split_names[s]);
            r->acc[s] = json_is_number(v) ? json_number_value(v) : NAN;
        }
        r->steps = (long)json_integer_value(json_object_get(j, "steps"));
        r->wall = json_number_value(json_object_get(j, "wall_seconds"));
        json_decref(j);
    } else if (file_exists(dir, r->id, "FAILED")) {
        snprintf(p, sizeof p, "%s/%s/FAILED", dir, r->id);
        FILE *f = fopen(p, "r");
        char line[2048] = "", err[2048] = "";
        if (f && fgets(line, sizeof line, f) && fgets(err, sizeof err, f))
            err[strcspn(err, "\n")] = 0;
        if (f) fclose(f);
        r->status = NN_CELL_FAILED;
        r->error = strdup(err);
    }
}

static int g_key; /* the split rows are ranked by (qsort has no context argument) */

static int row_cmp(const void *pa, const void *pb)
{
    const nn_sweep_row *a = pa, *b = pb;
    if (a->status != b->status) return a->status == NN_CELL_DONE ? -1 : 1;
    double x = a->loss[g_key], y = b->loss[g_key];
    int fx = a->status == NN_CELL_DONE && isfinite(x),
        fy = b->status == NN_CELL_DONE && isfinite(y);
    if (fx != fy) return fx ? -1 : 1;
    if (fx && x != y) return x < y ? -1 : 1;
    return a->index - b->index;
}

void nn_sweep_free(nn_sweep *s)
{
    for (int i = 0; i < s->nrows; i++) {
        for (int a = 0; a < s->naxes; a++)
            free(s->rows[i].values[a]);
        free(s->rows[i].values);
        free(s->rows[i].error);
    }
    for (int a = 0; a < s->naxes; a++)
        free(s->axes[a]);
    free(s->axes);
    free(s->rows);
    free(s->name);
    memset(s, 0, sizeof *s);
}

int nn_sweep_read(const char *dir, nn_sweep *s)
{
    char p[4400];
    memset(s, 0, sizeof *s);
    snprintf(p, sizeof p, "%s/sweep.json", dir);
    json_error_t err;
    json_t *j = json_load_file(p, 0, &err);
    json_t *axes = json_object_get(j, "axes"), *cells = json_object_get(j, "cells");
    if (!json_is_array(axes) || !json_is_array(cells)) {
        fprintf(stderr, "%s: error: not a sweep directory (no readable sweep.json)\n", dir);
        json_decref(j);
        return -1;
    }
    s->name = strdup(json_string_value(json_object_get(j, "name")) ?: "sweep");
    s->naxes = (int)json_array_size(axes);
    s->axes = calloc((size_t)s->naxes + 1, sizeof *s->axes);
    s->rows = calloc(json_array_size(cells) + 1, sizeof *s->rows);
    if (!s->axes || !s->rows) abort();
    for (int a = 0; a < s->naxes; a++)
        s->axes[a] = strdup(json_string_value(json_array_get(axes, (size_t)a)) ?: "?");
    for (size_t i = 0; i < json_array_size(cells); i++) {
        json_t *c = json_array_get(cells, i), *vals = json_object_get(c, "values");
        nn_sweep_row *r = &s->rows[s->nrows];
        memset(r, 0, sizeof *r);
        r->index = (int)json_integer_value(json_object_get(c, "index"));
        snprintf(r->id, sizeof r->id, "%s", json_string_value(json_object_get(c, "id")) ?: "");
        r->values = calloc((size_t)s->naxes + 1, sizeof *r->values);
        if (!r->values) abort();
        for (int a = 0; a < s->naxes; a++) {
            const char *v = json_string_value(json_object_get(vals, s->axes[a]));
            r->values[a] = v ? strdup(v) : NULL;
        }
        s->ncells++;
        read_cell(dir, r);
        if (r->status == NN_CELL_PENDING) {
            for (int a = 0; a < s->naxes; a++)
                free(r->values[a]);
            free(r->values);
            continue;
        }
        s->nrows++;
    }
    json_decref(j);
    /* rank by dev loss, or test, or train when no cell has a dev loss */
    static const int order[3] = {1, 2, 0};
    s->key = 1;
    for (int k = 2; k >= 0; k--)
        for (int i = 0; i < s->nrows; i++)
            if (s->rows[i].has[order[k]]) s->key = order[k];
    g_key = s->key;
    qsort(s->rows, (size_t)s->nrows, sizeof *s->rows, row_cmp);
    return 0;
}

/* A CSV field: quoted when it holds a comma, quote or line break. */
static void csv_field(FILE *f, const char *s)
{
    if (!s) return;
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_num(FILE *f, int has, double v)
{
    fputc(',', f);
    if (has && isfinite(v)) fprintf(f, "%.17g", v);
}

static int write_summary_csv(const char *dir, const nn_sweep *s)
{
    char p[4400];
    snprintf(p, sizeof p, "%s/summary.csv", dir);
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    fputs("rank,cell,status", f);
    for (int a = 0; a < s->naxes; a++)
        fputc(',', f), csv_field(f, s->axes[a]);
    /* wall_seconds stays last (the one column that differs between equal runs) */
    fputs(",steps,loss_train,loss_dev,loss_test,acc_train,acc_dev,acc_test,error,wall_seconds\n",
          f);
    for (int i = 0; i < s->nrows; i++) {
        const nn_sweep_row *r = &s->rows[i];
        int done = r->status == NN_CELL_DONE;
        fprintf(f, "%d,%s,%s", i + 1, r->id, done ? "done" : "failed");
        for (int a = 0; a < s->naxes; a++)
            fputc(',', f), csv_field(f, r->values[a]);
        fputc(',', f);
        if (done) fprintf(f, "%ld", r->steps);
        for (int k = 0; k < 3; k++)
            csv_num(f, done && r->has[k], r->loss[k]);
        for (int k = 0; k < 3; k++)
            csv_num(f, done, r->acc[k]);
        fputc(',', f);
        csv_field(f, r->error);
        csv_num(f, done, r->wall);
        fputc('\n', f);
    }
    return fclose(f) == 0 ? 0 : -1;
}

int nn_sweep_seed_axis(const nn_sweep *s)
{
    for (int a = 0; a < s->naxes; a++)
        if (!strcmp(s->axes[a], "seed")) return a;
    return -1;
}

static int same_group(const nn_sweep *s, const nn_sweep_row *a, const nn_sweep_row *b, int seed)
{
    for (int x = 0; x < s->naxes; x++) {
        if (x == seed) continue;
        const char *u = a->values[x], *v = b->values[x];
        if ((u == NULL) != (v == NULL) || (u && strcmp(u, v))) return 0;
    }
    return 1;
}

int nn_sweep_groups(const nn_sweep *s, nn_sweep_group **out)
{
    int seed = nn_sweep_seed_axis(s), n = 0;
    nn_sweep_group *g = calloc((size_t)s->nrows + 1, sizeof *g);
    if (!g) abort();
    for (int i = 0; i < s->nrows; i++) { /* rows are ranked: groups come out ranked by best */
        const nn_sweep_row *r = &s->rows[i];
        if (r->status != NN_CELL_DONE) continue;
        int k = 0;
        while (k < n && !same_group(s, &s->rows[g[k].first], r, seed))
            k++;
        if (k == n) g[n++].first = i;
        g[k].n++;
        for (int x = 0; x < 3; x++) {
            if (!r->has[x]) continue;
            g[k].cnt[x]++;
            g[k].sum[x] += r->loss[x];
            g[k].sum2[x] += r->loss[x] * r->loss[x];
        }
    }
    for (int k = 0; k < n; k++)
        for (int x = 0; x < 3; x++) {
            double c = g[k].cnt[x], mean = c ? g[k].sum[x] / c : NAN;
            double var = c > 1 ? (g[k].sum2[x] - c * mean * mean) / (c - 1) : 0;
            g[k].mean[x] = mean;
            g[k].std[x] = c ? sqrt(var > 0 ? var : 0) : NAN;
        }
    /* ranked by the mean of the key split */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && g[j].mean[s->key] < g[j - 1].mean[s->key]; j--) {
            nn_sweep_group t = g[j];
            g[j] = g[j - 1], g[j - 1] = t;
        }
    *out = g;
    return n;
}

static int write_by_seed_csv(const char *dir, const nn_sweep *s)
{
    int seed = nn_sweep_seed_axis(s);
    char p[4400];
    snprintf(p, sizeof p, "%s/summary_by_seed.csv", dir);
    if (seed < 0) {
        unlink(p);
        return 0;
    }
    nn_sweep_group *g;
    int n = nn_sweep_groups(s, &g);
    FILE *f = fopen(p, "w");
    if (!f) {
        free(g);
        return -1;
    }
    fputs("rank", f);
    for (int a = 0; a < s->naxes; a++)
        if (a != seed) fputc(',', f), csv_field(f, s->axes[a]);
    fputs(",seeds,loss_train_mean,loss_train_std,loss_dev_mean,loss_dev_std,loss_test_mean,"
          "loss_test_std\n",
          f);
    for (int k = 0; k < n; k++) {
        fprintf(f, "%d", k + 1);
        for (int a = 0; a < s->naxes; a++)
            if (a != seed) fputc(',', f), csv_field(f, s->rows[g[k].first].values[a]);
        fprintf(f, ",%d", g[k].n);
        for (int x = 0; x < 3; x++) {
            csv_num(f, g[k].cnt[x] > 0, g[k].mean[x]);
            csv_num(f, g[k].cnt[x] > 0, g[k].std[x]);
        }
        fputc('\n', f);
    }
    free(g);
    return fclose(f) == 0 ? 0 : -1;
}

static void print_tables(FILE *out, const nn_sweep *s)
{
    int w[64];
    int na = s->naxes < 64 ? s->naxes : 64;
    for (int a = 0; a < na; a++) {
        w[a] = (int)strlen(s->axes[a]);
        for (int i = 0; i < s->nrows; i++)
            if (s->rows[i].values[a] && (int)strlen(s->rows[i].values[a]) > w[a])
                w[a] = (int)strlen(s->rows[i].values[a]);
    }
    fprintf(out, "%4s  %-8s", "rank", "cell");
    for (int a = 0; a < na; a++)
        fprintf(out, "  %-*s", w[a], s->axes[a]);
    int acc = 0; /* classifiers: a dev-accuracy column */
    for (int i = 0; i < s->nrows; i++)
        acc |= s->rows[i].status == NN_CELL_DONE && isfinite(s->rows[i].acc[1]);
    fprintf(out, acc ? "  %10s  %10s  %7s\n" : "  %10s  %10s\n", "train", "dev", "dev acc");
    for (int i = 0; i < s->nrows; i++) {
        const nn_sweep_row *r = &s->rows[i];
        fprintf(out, "%4d  %-8s", i + 1, r->id);
        for (int a = 0; a < na; a++)
            fprintf(out, "  %-*s", w[a], r->values[a] ? r->values[a] : "-");
        if (r->status == NN_CELL_DONE && acc && isfinite(r->acc[1]))
            fprintf(out, "  %10.4f  %10.4f  %6.1f%%\n", r->loss[0], r->loss[1], 100 * r->acc[1]);
        else if (r->status == NN_CELL_DONE)
            fprintf(out, "  %10.4f  %10.4f\n", r->loss[0], r->loss[1]);
        else
            fprintf(out, "  FAILED: %s\n", r->error ? r->error : "");
    }
    int seed = nn_sweep_seed_axis(s);
    if (seed >= 0) {
        nn_sweep_group *g;
        int n = nn_sweep_groups(s, &g);
        fprintf(out, "\nover seeds (mean ± std):\n");
        for (int k = 0; k < n; k++) {
            fprintf(out, "%4d ", k + 1);
            for (int a = 0; a < na; a++)
                if (a != seed)
                    fprintf(out, " %s=%s", s->axes[a],
                            s->rows[g[k].first].values[a] ? s->rows[g[k].first].values[a] : "-");
            fprintf(out, "  %s %.4f ± %.4f  (%d seeds)\n", split_names[s->key], g[k].mean[s->key],
                    g[k].std[s->key], g[k].n);
        }
        free(g);
    }
    if (s->nrows < s->ncells)
        fprintf(out, "%d of %d cells not finished yet\n", s->ncells - s->nrows, s->ncells);
}

/* The ranked rows as JSON (summarize --json): the same cells and numbers as summary.csv. */
static json_t *rows_json(const nn_sweep *s)
{
    static const char *const status[] = {"pending", "done", "failed"};
    json_t *rows = json_array();
    for (int i = 0; rows && i < s->nrows; i++) {
        const nn_sweep_row *r = &s->rows[i];
        json_t *vals = json_object(), *loss = json_object();
        for (int a = 0; vals && a < s->naxes; a++)
            json_object_set_new(vals, s->axes[a],
                                r->values[a] ? json_string(r->values[a]) : json_null());
        for (int k = 0; loss && k < 3; k++)
            if (r->has[k] && isfinite(r->loss[k]))
                json_object_set_new(loss, split_names[k], json_real(r->loss[k]));
        json_t *row = json_pack("{s:i, s:s, s:s, s:o, s:o}", "index", r->index, "id", r->id,
                                "status", status[r->status], "values", vals ? vals : json_null(),
                                "loss", loss ? loss : json_null());
        if (r->status == NN_CELL_DONE) {
            json_t *acc = json_object();
            for (int k = 0; acc && k < 3; k++)
                if (isfinite(r->acc[k]))
                    json_object_set_new(acc, split_names[k], json_real(r->acc[k]));
            if (acc && json_object_size(acc))
                json_object_set_new(row, "accuracy", acc);
            else
                json_decref(acc);
            json_object_set_new(row, "steps", json_integer(r->steps));
            json_object_set_new(row, "wall_seconds", json_real(r->wall));
        }
        if (r->error) json_object_set_new(row, "error", json_string(r->error));
        json_array_append_new(rows, row);
    }
    return rows;
}

int nn_sweep_summarize(const char *dir, FILE *table, int json, const char *colour_by)
{
    nn_sweep s;
    if (nn_sweep_read(dir, &s) != 0) return 2;
    int colour = 0;
    while (colour_by && colour < s.naxes && strcmp(s.axes[colour], colour_by))
        colour++;
    if (colour_by && colour == s.naxes) {
        fprintf(stderr,
                "nnrun: error: --color-by '%s' is not an axis of the sweep in '%s' (its "
                "axes:",
                colour_by, dir);
        for (int a = 0; a < s.naxes; a++)
            fprintf(stderr, "%s %s", a ? "," : "", s.axes[a]);
        fprintf(stderr, ")\n");
        nn_sweep_free(&s);
        return 2;
    }
    nn_diag *d = nn_diag_new(); /* not beside a sweep still writing there */
    if (!d || nn_dirlock_claim(dir, 0, "sweep directory", (nn_mark){dir, 0, 0}, d) != 0) {
        if (d) nn_diag_print(d, stderr);
        nn_diag_free(d);
        nn_sweep_free(&s);
        return 2;
    }
    nn_diag_free(d);
    int rc = 0;
    if (write_summary_csv(dir, &s) != 0 || write_by_seed_csv(dir, &s) != 0 ||
        nn_sweep_report(dir, &s, colour) != 0) {
        fprintf(stderr, "nnrun: error: cannot write the summary files in '%s'\n", dir);
        rc = 1;
    }
    if (json) {
        json_t *axes = json_array();
        for (int a = 0; axes && a < s.naxes; a++)
            json_array_append_new(axes, json_string(s.axes[a]));
        json_t *j = json_pack("{s:s, s:s, s:o, s:i, s:s, s:o}", "dir", dir, "name", s.name, "axes",
                              axes ? axes : json_array(), "cells", s.ncells, "ranked_by",
                              split_names[s.key], "rows", rows_json(&s));
        char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        if (text) printf("%s\n", text);
        if (!text) rc = 1;
        free(text);
        json_decref(j);
    } else if (table) {
        print_tables(table, &s);
        fprintf(table, "summary: %s/summary.csv, %s/report.html\n", dir, dir);
    }
    nn_sweep_free(&s);
    return rc;
}
