/* test_stats.c — the report's statistics (report/stats.c): collection on a deep BatchNorm
 * net, that collecting leaves training bit-identical, stats.json against the contract
 * (docs/stats-json.md), metrics.jsonl, n-gram counts and the decision boundary. */
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <unistd.h>

#include "parser/spec.h"
#include "runtime/data/data.h"
#include "runtime/report/stats.h"
#include "runtime/train/train.h"

typedef struct {
    nn_spec *spec;
    nn_dataset *ds;
    nn_trainer *tr;
} experiment;

/* Loads `spec` with the overrides; `collect` 0 switches the report (and collection) off. */
static void open_spec(experiment *e, const char *spec, const char *const *sets, int nsets,
                      int collect)
{
    nn_diag *d = nn_diag_new();
    memset(e, 0, sizeof *e);
    e->spec = nn_spec_load(tu_path(spec), sets, nsets, d);
    if (e->spec && !collect) e->spec->report.plots_all = 0, e->spec->report.nplots = 0;
    if (e->spec) e->ds = nn_dataset_load(e->spec, d);
    if (e->ds) e->tr = nn_trainer_new(e->spec, e->ds, d);
    if (e->tr && nn_stats_attach(e->tr, d) != 0) nn_trainer_free(e->tr), e->tr = NULL;
    if (!e->tr) {
        nn_diag_print(d, stderr);
        fail();
    }
    nn_diag_free(d);
}

static void close_experiment(experiment *e)
{
    nn_trainer_free(e->tr);
    nn_dataset_free(e->ds);
    nn_spec_free(e->spec);
}

static const char *const deep_sets[] = {"train.steps=50", "report.every=10", "sample.count=0",
                                        "eval.splits=[dev]"};

/* Runs deep_bn for 50 steps; metrics.csv and metrics.jsonl into *csv / *jsonl (tmpfiles). */
static void run_deep(experiment *e, int collect, FILE **csv, FILE **jsonl, nn_result *res)
{
    open_spec(e, "specs/deep_bn.yaml", deep_sets, 4, collect);
    *csv = tmpfile(), *jsonl = tmpfile();
    assert_non_null(*csv);
    assert_non_null(*jsonl);
    nn_run_opts o = {.quiet = 1, .metrics_csv = *csv, .metrics_jsonl = *jsonl};
    memset(res, 0, sizeof *res);
    assert_int_equal(nn_trainer_run(e->tr, &o, res), 0);
    rewind(*csv), rewind(*jsonl);
}

static long hist_total(const nn_hist *h)
{
    long n = 0;
    for (int b = 0; b < NN_HIST_BINS; b++)
        n += h->counts[b];
    return n;
}

static void check_tensor_stat(const nn_tensor_stat *st, int activation)
{
    assert_true(st->valid);
    assert_int_equal(st->n, 32 * 100);
    assert_int_equal(hist_total(&st->hist), st->n);
    assert_true(isfinite(st->mean) && isfinite(st->std) && st->std > 0);
    if (activation) {
        assert_true(st->saturated >= 0 && st->saturated <= 1);
        assert_true(st->hist.lo == -1.0 && st->hist.hi == 1.0);
        assert_true(st->std > 0.3 && st->std < 0.9); /* BatchNorm keeps tanh in range */
    } else {
        assert_true(st->hist.lo < st->hist.hi);
    }
}

static void test_deep_bn_collection(void **state)
{
    (void)state;
    experiment e;
    FILE *csv, *jsonl;
    nn_result res;
    run_deep(&e, 1, &csv, &jsonl, &res);
    const nn_stats *s = nn_trainer_stats(e.tr);
    assert_non_null(s);
    assert_int_equal(s->nact, 5);
    assert_int_equal(s->act_step[NN_STATS_INIT], 0);
    assert_int_equal(s->act_step[NN_STATS_FINAL], 50);
    for (int w = 0; w < 2; w++)
        for (int k = 0; k < s->nact; k++) {
            assert_string_equal(s->act_kind[k], "tanh");
            assert_int_equal(s->act_layer[k], 4 + 3 * k);
            check_tensor_stat(&s->act[w * s->nact + k], 1);
            check_tensor_stat(&s->grad[w * s->nact + k], 0);
        }
    /* C (27, 10), W1 (30, 100), 4 × (100, 100), W (100, 27) */
    assert_int_equal(s->nweight, 7);
    for (int k = 0; k < s->nweight; k++) {
        const nn_weight_stat *ws = &s->weights[k];
        const nn_param *p = &nn_trainer_params(e.tr)->p[s->weight_param[k]];
        assert_true(ws->valid);
        assert_true(isfinite(ws->grad_data_ratio) && ws->grad_data_ratio > 0);
        assert_int_equal(hist_total(&ws->hist), p->numel);
    }
    /* updates every 10 steps and at the last: 0, 10, 20, 30, 40, 49 — steps/every + 1 */
    assert_int_equal(s->nupd, 50 / 10 + 1);
    const long want_steps[] = {0, 10, 20, 30, 40, 49};
    for (int u = 0; u < s->nupd; u++) {
        assert_int_equal(s->upd_step[u], want_steps[u]);
        for (int k = 0; k < s->nweight; k++) {
            double r = s->upd[u * s->nweight + k];
            assert_true(isfinite(r) && r > -6 && r < 0);
        }
    }
    assert_true(s->sat_done);
    assert_int_equal(s->sat_rows, 32);
    assert_int_equal(s->sat_cols, 100);
    assert_true(s->emb_done);
    assert_false(s->grid_done);
    fclose(csv), fclose(jsonl);
    close_experiment(&e);
}

/* Every metrics row without its wall-clock columns (elapsed_s and steps_per_s, the 7th and
 * 9th). */
static char *rows_without_elapsed(FILE *f)
{
    char line[512];
    size_t cap = 1 << 20, len = 0;
    char *out = calloc(cap, 1);
    while (out && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        int field = 0;
        for (char *p = line, *start = line;; p++) {
            if (*p != ',' && *p) continue;
            char end = *p;
            *p = 0;
            if (field != 6 && field != 8)
                len += (size_t)snprintf(out + len, cap - len, "%s,", start);
            field++;
            if (!end) break;
            start = p + 1;
        }
        len += (size_t)snprintf(out + len, cap - len, "\n");
        assert_true(len < cap);
    }
    return out;
}

static void test_collection_changes_nothing(void **state)
{
    (void)state;
    experiment on, off;
    FILE *csv_on, *csv_off, *jl_on, *jl_off;
    nn_result r_on, r_off;
    run_deep(&on, 1, &csv_on, &jl_on, &r_on);
    run_deep(&off, 0, &csv_off, &jl_off, &r_off);
    assert_non_null(nn_trainer_stats(on.tr));
    assert_null(nn_trainer_stats(off.tr));
    assert_true(r_on.step0 == r_off.step0 && r_on.last == r_off.last);
    assert_true(r_on.split[NN_SPLIT_DEV] == r_off.split[NN_SPLIT_DEV]);
    char *a = rows_without_elapsed(csv_on), *b = rows_without_elapsed(csv_off);
    assert_string_equal(a, b);
    free(a), free(b);
    /* parameters and running buffers bit for bit */
    const nn_params *P = nn_trainer_params(on.tr), *Q = nn_trainer_params(off.tr);
    assert_int_equal(P->n, Q->n);
    for (int i = 0; i < P->n; i++)
        assert_memory_equal(P->p[i].data, Q->p[i].data, (size_t)P->p[i].numel * sizeof(float));
    /* metrics.jsonl: one object per CSV row (the header aside), the CSV's keys */
    rewind(csv_on);
    char line[512];
    int csv_rows = -1, json_rows = 0;
    while (fgets(line, sizeof line, csv_on))
        csv_rows++;
    json_error_t err;
    while (fgets(line, sizeof line, jl_on)) {
        json_t *o = json_loads(line, 0, &err);
        assert_non_null(o);
        assert_int_equal(json_object_size(o), 13); /* 9 + train/dev/test_acc, loss_log10_mean */
        assert_non_null(json_object_get(o, "smooth_loss"));
        assert_true(json_is_integer(json_object_get(o, "step")));
        assert_non_null(json_object_get(o, "dev_loss"));
        assert_non_null(json_object_get(o, "elapsed_s"));
        json_decref(o);
        json_rows++;
    }
    assert_int_equal(json_rows, csv_rows);
    assert_int_equal(json_rows, 51); /* 50 steps and the final row */
    fclose(csv_on), fclose(csv_off), fclose(jl_on), fclose(jl_off);
    close_experiment(&on);
    close_experiment(&off);
}

static json_t *write_and_load(const nn_stats *s)
{
    char dir[] = "/tmp/nnrun-stats-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    assert_int_equal(nn_stats_write(s, dir), 0);
    snprintf(path, sizeof path, "%s/stats.json", dir);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root) fprintf(stderr, "stats.json: %s at %d\n", err.text, err.line);
    assert_non_null(root);
    unlink(path);
    rmdir(dir);
    return root;
}

static void check_hist_json(json_t *h)
{
    assert_true(json_is_number(json_object_get(h, "lo")));
    assert_true(json_is_number(json_object_get(h, "hi")));
    assert_int_equal(json_array_size(json_object_get(h, "counts")), NN_HIST_BINS);
}

static void test_stats_json_contract(void **state)
{
    (void)state;
    experiment e;
    FILE *csv, *jsonl;
    nn_result res;
    run_deep(&e, 1, &csv, &jsonl, &res);
    json_t *root = write_and_load(nn_trainer_stats(e.tr));
    assert_int_equal(json_integer_value(json_object_get(root, "version")), 1);
    assert_int_equal(json_array_size(json_object_get(root, "tokens")), 27);
    json_t *acts = json_object_get(root, "activations"), *a;
    assert_int_equal(json_array_size(acts), 10); /* 5 tanh × init, final */
    size_t i;
    json_array_foreach(acts, i, a)
    {
        assert_string_equal(json_string_value(json_object_get(a, "kind")), "tanh");
        assert_string_equal(json_string_value(json_object_get(a, "when")),
                            i < 5 ? "init" : "final");
        assert_int_equal(json_integer_value(json_object_get(a, "step")), i < 5 ? 0 : 50);
        const char *keys[] = {"name", "mean", "std", "saturated", "hist"};
        for (int k = 0; k < 5; k++)
            assert_non_null(json_object_get(a, keys[k]));
        check_hist_json(json_object_get(a, "hist"));
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(acts, 0), "name")),
                        "layers.4");
    assert_int_equal(json_array_size(json_object_get(root, "gradients")), 10);
    json_t *ws = json_object_get(root, "weights"), *w;
    assert_int_equal(json_array_size(ws), 7);
    json_array_foreach(ws, i, w)
    {
        const char *keys[] = {"name",      "shape",    "data_std",
                              "grad_mean", "grad_std", "grad_data_ratio"};
        for (int k = 0; k < 6; k++)
            assert_non_null(json_object_get(w, keys[k]));
        check_hist_json(json_object_get(w, "hist"));
    }
    json_t *up = json_object_get(root, "updates");
    assert_int_equal(json_array_size(json_object_get(up, "names")), 7);
    assert_int_equal(json_array_size(json_object_get(up, "steps")), 6);
    json_t *rows = json_object_get(up, "log10_ratio");
    assert_int_equal(json_array_size(rows), 6);
    assert_int_equal(json_array_size(json_array_get(rows, 0)), 7);
    json_t *sat = json_object_get(root, "saturation");
    assert_int_equal(json_integer_value(json_object_get(sat, "rows")), 32);
    assert_int_equal(json_array_size(json_object_get(sat, "cells")), 32);
    assert_int_equal(strlen(json_string_value(json_array_get(json_object_get(sat, "cells"), 0))),
                     100);
    json_t *emb = json_object_get(root, "embedding");
    assert_string_equal(json_string_value(json_object_get(emb, "method")), "pca");
    assert_string_equal(json_string_value(json_object_get(emb, "name")), "layers.0.weight");
    assert_int_equal(json_array_size(json_object_get(emb, "labels")), 27);
    assert_int_equal(json_array_size(json_object_get(emb, "points")), 27);
    assert_int_equal(json_array_size(json_array_get(json_object_get(emb, "points"), 0)), 2);
    assert_null(json_object_get(root, "counts"));
    assert_null(json_object_get(root, "boundary"));
    json_decref(root);
    fclose(csv), fclose(jsonl);
    close_experiment(&e);
}

static long matrix_total(json_t *m)
{
    long total = 0;
    size_t i, j;
    json_t *row, *v;
    json_array_foreach(m, i, row) json_array_foreach(row, j, v) total += json_integer_value(v);
    return total;
}

static void test_bigram_counts(void **state)
{
    (void)state;
    experiment e;
    const char *sets[] = {"sample.count=0"};
    open_spec(&e, "specs/bigram_counts.yaml", sets, 1, 1);
    nn_result res = {0};
    nn_run_opts o = {.quiet = 1};
    assert_int_equal(nn_trainer_run(e.tr, &o, &res), 0);
    json_t *root = write_and_load(nn_trainer_stats(e.tr));
    json_t *c = json_object_get(root, "counts");
    assert_int_equal(json_integer_value(json_object_get(c, "n")), 2);
    assert_int_equal(json_array_size(json_object_get(c, "rows")), 27);
    assert_int_equal(json_array_size(json_object_get(c, "cols")), 27);
    json_t *m = json_object_get(c, "matrix");
    assert_int_equal(json_array_size(m), 27);
    assert_int_equal(json_array_size(json_array_get(m, 0)), 27);
    assert_int_equal(matrix_total(m), e.ds->split[NN_SPLIT_TRAIN].n);
    assert_int_equal(matrix_total(m), 228146);
    /* N['.']['a'] = 4410, as in the lecture */
    assert_string_equal(json_string_value(json_array_get(json_object_get(c, "cols"), 1)), "a");
    assert_int_equal(json_integer_value(json_array_get(json_array_get(m, 0), 1)), 4410);
    assert_null(json_object_get(root, "activations"));
    json_decref(root);
    close_experiment(&e);
}

static void test_trigram_counts(void **state)
{
    (void)state;
    experiment e;
    const char *sets[] = {"sample.count=0"};
    open_spec(&e, "specs/trigram_counts.yaml", sets, 1, 1);
    nn_result res = {0};
    nn_run_opts o = {.quiet = 1};
    assert_int_equal(nn_trainer_run(e.tr, &o, &res), 0);
    json_t *root = write_and_load(nn_trainer_stats(e.tr));
    json_t *c = json_object_get(root, "counts"), *m = json_object_get(c, "matrix");
    size_t rows = json_array_size(m);
    assert_true(rows > 27 && rows < 27 * 27);
    assert_int_equal(json_array_size(json_object_get(c, "rows")), rows);
    assert_string_equal(json_string_value(json_array_get(json_object_get(c, "rows"), 0)), "..");
    assert_int_equal(matrix_total(m), e.ds->split[NN_SPLIT_TRAIN].n);
    json_decref(root);
    close_experiment(&e);
}

static void test_moons_boundary(void **state)
{
    (void)state;
    experiment e;
    const char *sets[] = {"train.steps=20"};
    open_spec(&e, "specs/micrograd_moons.yaml", sets, 1, 1);
    nn_result res = {0};
    nn_run_opts o = {.quiet = 1};
    assert_int_equal(nn_trainer_run(e.tr, &o, &res), 0);
    json_t *root = write_and_load(nn_trainer_stats(e.tr));
    json_t *b = json_object_get(root, "boundary");
    assert_non_null(b);
    assert_int_equal(json_integer_value(json_object_get(b, "steps")), 60);
    json_t *grid = json_object_get(b, "grid"), *pts = json_object_get(b, "points");
    assert_int_equal(json_array_size(grid), 60);
    assert_int_equal(json_array_size(json_array_get(grid, 0)), 60);
    assert_int_equal(json_array_size(pts), 100);
    /* the training points: most on the side of their label after 20 steps */
    int right = 0;
    double x0lo = json_number_value(json_array_get(json_object_get(b, "x0"), 0));
    double x0hi = json_number_value(json_array_get(json_object_get(b, "x0"), 1));
    double x1lo = json_number_value(json_array_get(json_object_get(b, "x1"), 0));
    double x1hi = json_number_value(json_array_get(json_object_get(b, "x1"), 1));
    for (size_t k = 0; k < 100; k++) {
        json_t *p = json_array_get(pts, k);
        double x0 = json_number_value(json_array_get(p, 0)),
               x1 = json_number_value(json_array_get(p, 1));
        long label = (long)json_integer_value(json_array_get(p, 2));
        assert_true(label == 1 || label == -1);
        int i = (int)lround((x0 - x0lo) / (x0hi - x0lo) * 59),
            j = (int)lround((x1 - x1lo) / (x1hi - x1lo) * 59);
        double score =
            json_number_value(json_array_get(json_array_get(grid, (size_t)j), (size_t)i));
        right += (score > 0) == (label > 0);
    }
    assert_true(right >= 75);
    /* plots: [loss, boundary] — nothing else is collected */
    assert_null(nn_trainer_stats(e.tr)->plan);
    assert_null(json_object_get(root, "activations"));
    assert_null(json_object_get(root, "updates"));
    assert_null(json_object_get(root, "saturation"));
    assert_null(json_object_get(root, "embedding"));
    json_decref(root);
    close_experiment(&e);
}

/* relu layers with report.plots: all: the dead fraction as "saturated", no saturation map
 * (it is tanh's), and a histogram over min..max */
static void test_relu_activations(void **state)
{
    (void)state;
    experiment e;
    const char *sets[] = {"train.steps=20", "report.plots=all"};
    open_spec(&e, "specs/micrograd_moons.yaml", sets, 2, 1);
    nn_result res = {0};
    nn_run_opts o = {.quiet = 1};
    assert_int_equal(nn_trainer_run(e.tr, &o, &res), 0);
    const nn_stats *s = nn_trainer_stats(e.tr);
    assert_int_equal(s->nact, 2);
    for (int k = 0; k < 4; k++) {
        const nn_tensor_stat *a = &s->act[k];
        assert_string_equal(s->act_kind[k % 2], "relu");
        assert_true(a->valid && a->saturated > 0 && a->saturated < 1);
        assert_true(a->hist.lo == 0 && a->hist.hi > 0);
        assert_int_equal(hist_total(&a->hist), 100 * 16);
    }
    assert_false(s->sat_done);
    assert_int_equal(s->nupd, 20); /* every max(1, 20 / 100) = 1 step */
    json_t *root = write_and_load(s);
    assert_int_equal(json_array_size(json_object_get(root, "activations")), 4);
    assert_non_null(json_object_get(root, "boundary"));
    assert_null(json_object_get(root, "saturation"));
    json_decref(root);
    close_experiment(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deep_bn_collection),
        cmocka_unit_test(test_collection_changes_nothing),
        cmocka_unit_test(test_stats_json_contract),
        cmocka_unit_test(test_bigram_counts),
        cmocka_unit_test(test_trigram_counts),
        cmocka_unit_test(test_moons_boundary),
        cmocka_unit_test(test_relu_activations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
