/* data_table.c — numeric data: built-in generators (moons, xor), CSV files, inline rows.
 *
 * Every source yields n rows of F float features and one target per row.  The targets are
 * class ids when the loss is cross_entropy (they must be integers ≥ 0; the class count is
 * their max + 1 and becomes the "vocabulary" the last layer defaults to), else floats
 * (hinge wants −1/+1, mse any number).  Then the shared shuffle and split (data.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/data/csv.h"
#include "runtime/data/data_int.h"
#include "runtime/data/rng.h"

typedef struct {
    double *x; /* n × f */
    double *y; /* n */
    long n;
    int f;
    int *line, *col; /* csv: each row's target cell, for class-id errors (NULL otherwise) */
} table;

static int table_alloc(table *t, long n, int f)
{
    t->n = n;
    t->f = f;
    t->x = malloc((size_t)(n ? n : 1) * (size_t)f * sizeof *t->x);
    t->y = malloc((size_t)(n ? n : 1) * sizeof *t->y);
    return t->x && t->y ? 0 : -1;
}

/* Standard normal from the native stream (Box–Muller; one value per call, simply). */
static double gauss(nn_rng *r)
{
    double u = nn_rng_double(r), v = nn_rng_double(r);
    return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}

/* sklearn's make_moons: n/2 points on the upper half circle (class 0), the rest on the lower
 * one shifted by (1, −0.5) (class 1), Gaussian noise on both coordinates.  The native stream
 * does not reproduce numpy's: use the csv for the demo's exact points. */
static int gen_moons(const nn_data_spec *D, table *t, nn_rng *r)
{
    long n = D->gen_n, n_out = n / 2, n_in = n - n_out;
    if (table_alloc(t, n, 2) != 0) return -1;
    for (long i = 0; i < n; i++) {
        int inner = i >= n_out;
        long k = inner ? i - n_out : i, m = inner ? n_in : n_out;
        double a = m > 1 ? M_PI * (double)k / (double)(m - 1) : 0;
        t->x[2 * i] = inner ? 1 - cos(a) : cos(a);
        t->x[2 * i + 1] = inner ? 1 - sin(a) - 0.5 : sin(a);
        t->y[i] = inner;
    }
    for (long i = 0; i < 2 * n; i++)
        t->x[i] += D->gen_noise * gauss(r);
    return 0;
}

/* Four clusters at (±1, ±1); class 1 where the signs differ (the XOR of the two signs). */
static int gen_xor(const nn_data_spec *D, table *t, nn_rng *r)
{
    long n = D->gen_n;
    if (table_alloc(t, n, 2) != 0) return -1;
    for (long i = 0; i < n; i++) {
        int q = (int)(i * 4 / (n ? n : 1));
        double a = q & 1 ? 1 : -1, b = q & 2 ? 1 : -1;
        t->x[2 * i] = a + D->gen_noise * gauss(r);
        t->x[2 * i + 1] = b + D->gen_noise * gauss(r);
        t->y[i] = a != b;
    }
    return 0;
}

static int read_csv(const nn_data_spec *D, table *t, nn_diag *d)
{
    nn_csv *c = nn_csv_read(D->source, D->source_mark, d);
    if (!c) return -1;
    int *cols = malloc((size_t)(D->nx + 1) * sizeof *cols), ok = cols != NULL;
    for (int j = 0; ok && j < D->nx; j++)
        ok = (cols[j] = nn_csv_column_at(c, D->x_cols[j], D->x_mark, d)) >= 0;
    if (ok) ok = (cols[D->nx] = nn_csv_column_at(c, D->y_col, D->y_mark, d)) >= 0;
    if (ok && c->rows == 0) {
        nn_diag_error(d, (nn_mark){D->source, 1, 1}, "'%s' has a header but no rows", D->source);
        ok = 0;
    }
    if (ok) ok = table_alloc(t, c->rows, D->nx) == 0;
    if (ok) {
        t->line = malloc((size_t)c->rows * sizeof *t->line);
        t->col = malloc((size_t)c->rows * sizeof *t->col);
        ok = t->line && t->col;
    }
    for (long i = 0; ok && i < c->rows; i++) {
        for (int j = 0; ok && j < D->nx; j++)
            ok = nn_csv_number(c, i, cols[j], &t->x[i * D->nx + j], d) == 0;
        if (ok) ok = nn_csv_number(c, i, cols[D->nx], &t->y[i], d) == 0;
        if (ok) {
            t->line[i] = nn_csv_at(c, i, cols[D->nx])->line;
            t->col[i] = nn_csv_at(c, i, cols[D->nx])->col;
        }
    }
    free(cols);
    nn_csv_free(c);
    return ok ? 0 : -1;
}

static int read_inline(const nn_data_spec *D, table *t)
{
    if (table_alloc(t, D->inline_rows, D->inline_cols) != 0) return -1;
    memcpy(t->x, D->inline_x, (size_t)D->inline_rows * (size_t)D->inline_cols * sizeof *t->x);
    memcpy(t->y, D->inline_y, (size_t)D->inline_rows * sizeof *t->y);
    return 0;
}

/* cross_entropy: targets become class ids; anything but an integer ≥ 0 is an error. */
static int class_count(const nn_spec *spec, const table *t, nn_diag *d)
{
    int classes = 0;
    for (long i = 0; i < t->n; i++) {
        double y = t->y[i];
        if (y < 0 || y != floor(y) || y > 65535) {
            nn_mark m = t->line ? (nn_mark){spec->data.source, t->line[i], t->col[i]}
                                : spec->data.kind_mark;
            nn_diag_error(d, m,
                          "cross_entropy needs class ids (integers ≥ 0) as targets, "
                          "row %ld has %g",
                          i + 1, y);
            nn_diag_note(d, "for targets −1/+1 use 'loss: hinge'; for real numbers 'loss: mse'");
            return -1;
        }
        if ((int)y + 1 > classes) classes = (int)y + 1;
    }
    return classes;
}

static int fill_split(const table *t, const long *order, long from, long to, int ids, nn_split *s)
{
    long n = to - from;
    s->n = s->words = n;
    s->fx = malloc((size_t)(n ? n : 1) * (size_t)t->f * sizeof *s->fx);
    if (ids)
        s->y = malloc((size_t)(n ? n : 1) * sizeof *s->y);
    else
        s->fy = malloc((size_t)(n ? n : 1) * sizeof *s->fy);
    if (!s->fx || !(ids ? (void *)s->y : (void *)s->fy)) return -1;
    for (long i = 0; i < n; i++) {
        long r = order[from + i];
        for (int j = 0; j < t->f; j++)
            s->fx[i * t->f + j] = (float)t->x[r * t->f + j];
        if (ids)
            s->y[i] = (int32_t)t->y[r];
        else
            s->fy[i] = (float)t->y[r];
    }
    return 0;
}

int nn_table_load(const nn_spec *spec, nn_dataset *ds, nn_diag *d)
{
    const nn_data_spec *D = &spec->data;
    table t = {0};
    long *order = NULL;
    int ok = 0, ids = spec->train.loss == NN_LOSS_CROSS_ENTROPY;
    nn_rng r;
    nn_rng_seed(&r, 0, D->gen_seed);
    int rc = D->kind == NN_DATA_CSV       ? read_csv(D, &t, d)
             : D->kind == NN_DATA_INLINE  ? read_inline(D, &t)
             : D->generator == NN_GEN_XOR ? gen_xor(D, &t, &r)
                                          : gen_moons(D, &t, &r);
    if (rc != 0) goto done;
    /* moons and xor make classes 0/1; hinge and mse want −1/+1 (micrograd's y*2 − 1) */
    if (D->kind == NN_DATA_GENERATE && !ids)
        for (long i = 0; i < t.n; i++)
            t.y[i] = 2 * t.y[i] - 1;
    ds->kind = NN_DATASET_TABLE;
    ds->features = t.f;
    ds->lines = t.n;
    ds->vocab = 1; /* float targets: one output; a linear layer without `out` gives one score */
    if (ids && (ds->vocab = class_count(spec, &t, d)) < 0) goto done;
    if (!(order = malloc((size_t)(t.n ? t.n : 1) * sizeof *order))) goto done;
    nn_data_order(spec, order, t.n);
    long cut[NN_SPLIT_COUNT + 1];
    if (nn_data_cuts(spec, t.n, cut, d) != 0) goto done;
    ok = 1;
    for (int s = 0; s < NN_SPLIT_COUNT && ok; s++)
        ok = fill_split(&t, order, cut[s], cut[s + 1], ids, &ds->split[s]) == 0;
done:
    free(order);
    free(t.x);
    free(t.y);
    free(t.line);
    free(t.col);
    return ok ? 0 : -1;
}
