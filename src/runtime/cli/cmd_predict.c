/* cmd_predict.c — `nnrun predict RUN_DIR INPUT [--json] [--top K] [--out FILE]`: the
 * trained model of a run directory (its model.safetensors, rebuilt as `nnrun sample` does:
 * no spec file or data file is read) on new inputs, one prediction per line.
 *
 * Table data: INPUT is a CSV file whose header names the model's features (the spec's `x:`
 * columns; x0, x1, ... for generated or inline data), in any order; the label column (`y:`)
 * may be there too: its cells are not read by the model, but give the accuracy on stderr.
 * Text data: one prefix per line; the prediction is the most likely next token ('.', the
 * end token, ends the item).  Every line of INPUT is checked before anything is printed: a
 * wrong one is an error at INPUT:LINE:COL, exit 2. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cli/cli.h"
#include "runtime/data/csv.h"
#include "runtime/train/model_file.h"
#include "runtime/train/predict.h"

typedef struct {
    const nn_cli *c;
    nn_model_file *m;
    FILE *out;
    const char *path; /* INPUT, or /dev/stdin for - */
    int errors;       /* a write to out failed */
} job;

/* One JSON object on its own line. */
static void put_json(job *j, json_t *o)
{
    if (!o ||
        json_dumpf(o, j->out, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(7)) != 0)
        j->errors = 1;
    fputc('\n', j->out);
    json_decref(o);
}

/* --- text: the next token after each prefix ------------------------------------------ */

/* The column of byte `at` of `line` in characters, as the caret counts it (1-based). */
static int char_col(const char *line, int at)
{
    int col = 1;
    for (int i = 0; i < at; i++)
        col += ((unsigned char)line[i] & 0xC0) != 0x80;
    return col;
}

/* The length of the UTF-8 character at s, or 0 when it is none. */
static int utf8_len(const unsigned char *s)
{
    int n = s[0] < 0x80             ? 1
            : (s[0] & 0xE0) == 0xC0 ? 2
            : (s[0] & 0xF0) == 0xE0 ? 3
            : (s[0] & 0xF8) == 0xF0 ? 4
                                    : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return n;
}

/* Why the text at byte `at` of line `lineno` is no token of the model: an error there. */
static void bad_token(const job *j, const char *line, int lineno, int at, nn_diag *d)
{
    const nn_dataset *ds = j->m->ds;
    const unsigned char *s = (const unsigned char *)line + at;
    nn_mark m = {j->path, lineno, char_col(line, at)};
    int n = utf8_len(s);
    if (!n) {
        nn_diag_error(d, m,
                      "byte 0x%02x is not UTF-8 text: a prefix is text of the model's "
                      "vocabulary",
                      *s);
        return;
    }
    if (n == 1 && *s == '.') {
        nn_diag_error(d, m,
                      "'.' is the end token, not text: a prefix is the start of an item "
                      "(leave the '.' out)");
        return;
    }
    if (n == 1 && (*s < 0x20 || *s == 0x7f)) /* unprintable: named by its code */
        nn_diag_error(d, m, "the control character 0x%02x is not in the model's vocabulary", *s);
    else
        nn_diag_error(d, m, "'%.*s' is not in the model's vocabulary", n, (const char *)s);
    char list[400];
    size_t at2 = 0;
    for (int k = 1; k < ds->vocab && at2 + 40 < sizeof list; k++)
        at2 += (size_t)snprintf(list + at2, sizeof list - at2, "%s%s", ds->tokens ? " " : "",
                                nn_dataset_token(ds, k));
    nn_diag_note(d, "its tokens: %s%s", list, at2 + 40 >= sizeof list ? " ..." : "");
}

/* The K most likely next tokens, most likely first (ties: the lower id). */
static json_t *top_json(const nn_dataset *ds, const float *p, int K)
{
    json_t *a = json_array();
    int *taken = calloc((size_t)ds->vocab, sizeof *taken);
    for (int r = 0; a && taken && r < K && r < ds->vocab; r++) {
        int best = -1;
        for (int k = 0; k < ds->vocab; k++)
            if (!taken[k] && (best < 0 || p[k] > p[best])) best = k;
        taken[best] = 1;
        json_array_append_new(
            a, json_pack("{s:s, s:f}", "token", nn_dataset_token(ds, best), "p", (double)p[best]));
    }
    free(taken);
    return a;
}

/* Splits buf into lines in place (a final line without '\n' counts; '\r' before '\n' goes);
 * returns their count and the malloc'd array in *lines. */
static int split_lines(char *buf, size_t len, char ***lines)
{
    int n = 0;
    for (size_t i = 0; i < len; i++)
        n += buf[i] == '\n';
    n += len > 0 && buf[len - 1] != '\n';
    *lines = calloc((size_t)n + 1, sizeof **lines);
    if (!*lines) return -1;
    char *p = buf;
    for (int i = 0; i < n; i++) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r') p[l - 1] = 0;
        (*lines)[i] = p;
        p = nl ? nl + 1 : p + l;
    }
    return n;
}

static int predict_text(job *j, nn_diag *d)
{
    const nn_dataset *ds = j->m->ds;
    size_t len;
    char *buf = nn_read_file(j->path, &len, (nn_mark){j->path, 0, 0}, d), **line = NULL;
    if (!buf) return nn_cli_fail_input(d);
    const char *nul = memchr(buf, 0, len);
    if (nul) {
        int ln = 1;
        const char *start = buf;
        for (const char *q = buf; q < nul; q++)
            if (*q == '\n') ln++, start = q + 1;
        nn_diag_error(d, (nn_mark){j->path, ln, (int)(nul - start) + 1},
                      "a NUL byte: INPUT is a text file of prefixes, one per line");
        free(buf);
        return nn_cli_fail_input(d);
    }
    nn_diag_add_source(d, j->path, buf, len);
    int n = split_lines(buf, len, &line), rc = n < 0 ? NN_EXIT_RUN : NN_EXIT_OK;
    int32_t **ids = n >= 0 ? calloc((size_t)n + 1, sizeof *ids) : NULL;
    int *nids = n >= 0 ? calloc((size_t)n + 1, sizeof *nids) : NULL;
    if (!ids || !nids) rc = NN_EXIT_RUN;
    /* every line first: an error prints no prediction */
    for (int i = 0; rc == NN_EXIT_OK && i < n && nn_diag_count(d) < NN_DIAG_MAX; i++) {
        int max = (int)strlen(line[i]), bad = 0;
        if (!(ids[i] = malloc(((size_t)max + 1) * sizeof **ids))) {
            rc = NN_EXIT_RUN;
            break;
        }
        nids[i] = nn_dataset_encode(ds, j->m->spec, line[i], ids[i], max, &bad);
        if (nids[i] < 0) bad_token(j, line[i], i + 1, bad, d);
    }
    if (rc == NN_EXIT_OK && nn_diag_count(d) > 0) rc = nn_cli_fail_input(d);
    float *p = malloc((size_t)ds->vocab * sizeof *p);
    if (!p && rc == NN_EXIT_OK) rc = NN_EXIT_RUN;
    int K = j->c->top > 0 ? j->c->top : 5;
    for (int i = 0; rc == NN_EXIT_OK && i < n; i++) {
        if (nn_predict_next(j->m->tr, ids[i], nids[i], p) != 0) {
            rc = NN_EXIT_RUN;
            break;
        }
        int best = 0;
        for (int k = 1; k < ds->vocab; k++)
            if (p[k] > p[best]) best = k;
        if (!j->c->json) {
            fprintf(j->out, "%s\n", nn_dataset_token(ds, best));
            continue;
        }
        json_t *o = json_pack("{s:i, s:s, s:s}", "line", i + 1, "prefix", line[i], "next",
                              nn_dataset_token(ds, best));
        if (o) json_object_set_new(o, "top", top_json(ds, p, K));
        put_json(j, o);
    }
    for (int i = 0; ids && i < n; i++)
        free(ids[i]);
    free(ids);
    free(nids);
    free(p);
    free(line);
    free(buf);
    return rc;
}

/* --- table data: each row's class or value --------------------------------------------- */

/* The name of feature k in INPUT's header: the spec's x: column, or xK. */
static const char *feature_name(const nn_spec *s, int k, char *buf, size_t len)
{
    if (s->data.kind == NN_DATA_CSV) return s->data.x_cols[k];
    snprintf(buf, len, "x%d", k);
    return buf;
}

static const char *label_name(const nn_spec *s)
{
    return s->data.kind == NN_DATA_CSV ? s->data.y_col : "y";
}

/* The header columns of the features (in cols[]) and of the label (−1: absent); errors for
 * missing features, each naming the columns the model reads. */
static int find_columns(const job *j, const nn_csv *csv, int *cols, int *ycol, nn_diag *d)
{
    const nn_spec *s = j->m->spec;
    int F = j->m->ds->features, rc = 0;
    char want[600], name[32];
    size_t at = 0;
    for (int k = 0; k < F && at < sizeof want; k++)
        at += (size_t)snprintf(want + at, sizeof want - at, "%s%s", k ? ", " : "",
                               feature_name(s, k, name, sizeof name));
    for (int k = 0; k < F; k++)
        if ((cols[k] = nn_csv_column(csv, feature_name(s, k, name, sizeof name), d)) < 0) {
            nn_diag_note(d,
                         "the model reads the columns %s (in any order; '%s', the label, may "
                         "be there too: it gives the accuracy)",
                         want, label_name(s));
            rc = -1;
        }
    *ycol = -1;
    for (int k = 0; k < csv->cols; k++)
        if (!strcmp(csv->cell[k].text, label_name(s))) *ycol = k;
    return rc;
}

/* The label cell of row i into *y (has: 0 when empty); a classifier's must be a class. */
static int read_label(const job *j, const nn_csv *csv, long i, int ycol, double *y, int *has,
                      nn_diag *d)
{
    const nn_csv_cell *cell = nn_csv_at(csv, i, ycol);
    *has = 0;
    if (!*cell->text) return 0; /* no label for this row */
    if (nn_csv_number(csv, i, ycol, y, d) != 0) return -1;
    int K = j->m->ds->vocab;
    if (j->m->spec->train.loss == NN_LOSS_CROSS_ENTROPY && (*y < 0 || *y >= K || *y != floor(*y))) {
        nn_diag_error(d, (nn_mark){csv->path, cell->line, cell->col},
                      "label %s is no class of the model: its classes are 0 to %d", cell->text,
                      K - 1);
        return -1;
    }
    *has = 1;
    return 0;
}

/* One row's prediction: the class (cross_entropy: the argmax; hinge: the sign) or value. */
static void put_row(job *j, long line, const float *v, int K, const double *y)
{
    nn_loss_kind loss = j->m->spec->train.loss;
    int best = 0;
    for (int k = 1; k < K; k++)
        if (v[k] > v[best]) best = k;
    int cls = loss == NN_LOSS_CROSS_ENTROPY ? best : v[0] > 0 ? 1 : -1;
    if (!j->c->json) {
        if (loss == NN_LOSS_CROSS_ENTROPY || loss == NN_LOSS_HINGE)
            fprintf(j->out, "%d\n", cls);
        else
            for (int k = 0; k < K; k++)
                fprintf(j->out, "%.9g%c", (double)v[k], k + 1 < K ? ' ' : '\n');
        return;
    }
    json_t *o = json_pack("{s:I}", "line", (json_int_t)line), *a = json_array();
    for (int k = 0; k < K; k++)
        json_array_append_new(a, json_real(v[k]));
    if (loss == NN_LOSS_CROSS_ENTROPY) {
        json_object_set_new(o, "class", json_integer(cls));
        json_object_set_new(o, "probabilities", a);
    } else if (loss == NN_LOSS_HINGE) {
        json_object_set_new(o, "class", json_integer(cls));
        json_object_set_new(o, "score", json_real(v[0]));
        json_decref(a);
    } else if (K == 1) {
        json_object_set_new(o, "value", json_real(v[0]));
        json_decref(a);
    } else {
        json_object_set_new(o, "values", a);
    }
    if (y)
        json_object_set_new(o, "label",
                            loss == NN_LOSS_CROSS_ENTROPY ? json_integer((json_int_t)*y)
                                                          : json_real(*y));
    put_json(j, o);
}

/* With labels: the accuracy (classifiers) or the mean squared error, on stderr. */
static void put_score(const job *j, const float *out, const double *y, const char *has, long n,
                      int K)
{
    nn_loss_kind loss = j->m->spec->train.loss;
    long count = 0, right = 0;
    double se = 0;
    for (long i = 0; i < n; i++) {
        if (!has[i]) continue;
        const float *v = out + i * K;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (v[k] > v[best]) best = k;
        count++;
        right += loss == NN_LOSS_CROSS_ENTROPY ? best == (int)y[i] : (v[0] > 0) == (y[i] > 0);
        se += (v[0] - y[i]) * (v[0] - y[i]);
    }
    if (!count || j->c->quiet) return;
    if (loss == NN_LOSS_CROSS_ENTROPY || loss == NN_LOSS_HINGE)
        fprintf(stderr, "%s: accuracy %.2f%% (%ld of %ld rows with a label)\n", j->path,
                100.0 * (double)right / (double)count, right, count);
    else if (K == 1)
        fprintf(stderr, "%s: mean squared error %.6g (%ld rows with a target)\n", j->path,
                se / (double)count, count);
}

static int predict_table(job *j, nn_diag *d)
{
    nn_csv *csv = nn_csv_read(j->path, (nn_mark){j->path, 0, 0}, d);
    if (!csv) return nn_cli_fail_input(d);
    int F = j->m->ds->features, K = nn_predict_outputs(j->m->tr), ycol;
    long n = csv->rows;
    int *cols = malloc((size_t)F * sizeof *cols);
    float *x = malloc(((size_t)n * F + 1) * sizeof *x), *out = malloc(((size_t)n * K + 1) * 4);
    double *y = calloc((size_t)n + 1, sizeof *y);
    char *has = calloc((size_t)n + 1, 1);
    int rc = cols && x && out && y && has ? NN_EXIT_OK : NN_EXIT_RUN;
    if (rc == NN_EXIT_OK && find_columns(j, csv, cols, &ycol, d) != 0) rc = nn_cli_fail_input(d);
    for (long i = 0; rc == NN_EXIT_OK && i < n && nn_diag_count(d) < NN_DIAG_MAX; i++) {
        for (int k = 0; k < F; k++) {
            double v;
            if (nn_csv_number(csv, i, cols[k], &v, d) == 0) x[i * F + k] = (float)v;
        }
        int h = 0;
        if (ycol >= 0 && read_label(j, csv, i, ycol, &y[i], &h, d) == 0) has[i] = (char)h;
    }
    if (rc == NN_EXIT_OK && nn_diag_count(d) > 0) rc = nn_cli_fail_input(d);
    for (long i = 0; rc == NN_EXIT_OK && i < n; i += NN_EVAL_ROWS) {
        int rows = n - i < NN_EVAL_ROWS ? (int)(n - i) : NN_EVAL_ROWS;
        if (nn_predict_rows(j->m->tr, x + i * F, rows, out + i * K) != 0) rc = NN_EXIT_RUN;
    }
    for (long i = 0; rc == NN_EXIT_OK && i < n; i++)
        put_row(j, nn_csv_at(csv, i, 0)->line, out + i * K, K, has[i] ? &y[i] : NULL);
    if (rc == NN_EXIT_OK) put_score(j, out, y, has, n, K);
    free(cols);
    free(x);
    free(out);
    free(y);
    free(has);
    nn_csv_free(csv);
    return rc;
}

int nn_cmd_predict(nn_cli *c)
{
    nn_diag *d = nn_diag_new();
    nn_model_file m;
    if (!d) return NN_EXIT_RUN;
    if (nn_model_file_load(c->spec, NULL, c->allow_plugins, &m, d) != 0) {
        int rc = nn_cli_fail_input(d);
        nn_diag_free(d);
        return rc;
    }
    job j = {c, &m, stdout, strcmp(c->input, "-") ? c->input : "/dev/stdin", 0};
    if (c->out && !(j.out = fopen(c->out, "w"))) {
        fprintf(stderr, "nnrun: error: cannot write '%s': %s\n", c->out, strerror(errno));
        nn_model_file_free(&m);
        nn_diag_free(d);
        return NN_EXIT_INPUT;
    }
    int rc = m.ds->kind == NN_DATASET_TEXT ? predict_text(&j, d) : predict_table(&j, d);
    if (fflush(j.out) != 0 || ferror(j.out) || j.errors) {
        fprintf(stderr, "nnrun: error: cannot write the predictions to '%s'\n",
                c->out ? c->out : "stdout");
        if (rc == NN_EXIT_OK) rc = NN_EXIT_RUN;
    }
    if (c->out && fclose(j.out) != 0 && rc == NN_EXIT_OK) rc = NN_EXIT_RUN;
    if (c->out && rc != NN_EXIT_OK) remove(c->out); /* no partial file of predictions */
    nn_model_file_free(&m);
    nn_diag_free(d);
    return rc;
}
