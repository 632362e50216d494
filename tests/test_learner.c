/* What a learner sees (issue 21), through the command line: the 3-class decision boundary,
 * accuracy at every evaluation, messages that blame the right place, divergence said,
 * progress for short runs, log_every, one layer numbering, the report's wording. */
#include "testutil.h"

#include <limits.h>
#include <stdlib.h>

#include <jansson.h>

#include "runtime/train/metrics_file.h"
#include <math.h>

static char tmp[256];

static json_t *load_json(const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j) fail_msg("%s: %s", path, e.text);
    return j;
}

static char *read_in(const char *name)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", tmp, name);
    char *s = tu_read_file(p);
    if (!s) fail_msg("%s: cannot read", p);
    return s;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* A 3-class CSV: the boundary grid is the argmax class (all three present), every training
 * point carries the predicted class, which agrees with the grid cell it sits in; the axes
 * carry the CSV's column names and the page one region colour per class. */
static void test_three_class_boundary(void **state)
{
    (void)state;
    char args[800];
    snprintf(args, sizeof args, "tests/specs/good/blobs3.yaml --out '%s/b3' --force --quiet", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/b3/stats.json", tmp);
    json_t *root = load_json(path), *b = json_object_get(root, "boundary");
    assert_int_equal(json_integer_value(json_object_get(b, "classes")), 3);
    assert_string_equal(json_string_value(json_array_get(json_object_get(b, "names"), 0)), "petal");
    assert_string_equal(json_string_value(json_array_get(json_object_get(b, "names"), 1)), "sepal");
    json_t *grid = json_object_get(b, "grid"), *pts = json_object_get(b, "points");
    int seen[3] = {0, 0, 0};
    for (size_t j = 0; j < json_array_size(grid); j++)
        for (size_t i = 0; i < json_array_size(json_array_get(grid, j)); i++) {
            json_int_t c = json_integer_value(json_array_get(json_array_get(grid, j), i));
            assert_true(c >= 0 && c < 3);
            seen[c]++;
        }
    assert_true(seen[0] > 0 && seen[1] > 0 && seen[2] > 0);
    double x0lo = json_number_value(json_array_get(json_object_get(b, "x0"), 0));
    double x0hi = json_number_value(json_array_get(json_object_get(b, "x0"), 1));
    double x1lo = json_number_value(json_array_get(json_object_get(b, "x1"), 0));
    double x1hi = json_number_value(json_array_get(json_object_get(b, "x1"), 1));
    size_t n = json_array_size(pts), right = 0, agree = 0;
    assert_int_equal(n, 240);
    for (size_t k = 0; k < n; k++) {
        json_t *p = json_array_get(pts, k);
        assert_int_equal(json_array_size(p), 4);
        double x0 = json_number_value(json_array_get(p, 0)),
               x1 = json_number_value(json_array_get(p, 1));
        json_int_t label = json_integer_value(json_array_get(p, 2)),
                   pred = json_integer_value(json_array_get(p, 3));
        int i = (int)lround((x0 - x0lo) / (x0hi - x0lo) * 59),
            j = (int)lround((x1 - x1lo) / (x1hi - x1lo) * 59);
        json_int_t cell =
            json_integer_value(json_array_get(json_array_get(grid, (size_t)j), (size_t)i));
        right += label == pred;
        agree += cell == pred;
    }
    assert_true(right >= n * 9 / 10);   /* a 3-class model right on ≥ 90%, not a third wrong */
    assert_true(agree >= n * 95 / 100); /* the regions are the model's predictions */
    json_decref(root);
    char *html = read_in("b3/report.html");
    char *fig = strstr(html, "id=\"fig-boundary");
    assert_non_null(fig);
    assert_non_null(strstr(fig, ">petal</text>"));
    assert_non_null(strstr(fig, ">sepal</text>"));
    assert_non_null(strstr(fig, "class 2"));
    /* three region colours (the palette's first three, lightened), no score colours */
    assert_true(count(fig, "fill=\"#a9cbe2\"") > 0);
    assert_true(count(fig, "fill=\"#ffcea3\"") > 0);
    assert_true(count(fig, "fill=\"#aedaae\"") > 0);
    assert_null(strstr(fig, "score &gt; 0"));
    assert_null(strstr(fig, "score > 0"));
    free(html);
}

/* Accuracy at every evaluation point: in the progress lines, in metrics.csv and
 * metrics.jsonl (train_acc, dev_acc, test_acc), and as the report's accuracy curve. */
static void test_accuracy_everywhere(void **state)
{
    (void)state;
    char args[800];
    snprintf(args, sizeof args, "tests/specs/good/blobs3.yaml --out '%s/acc' --force", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    char *out = tu_captured(tmp, "out");
    /* "    100/    300  eval  train 0.1021 (97.1%)  dev 0.0706 (98.3%) ..." */
    assert_non_null(strstr(out, "(0 dropped), 3 classes, examples")); /* no "vocabulary" */
    char *line = strstr(out, "100/    300  eval");
    assert_non_null(line);
    assert_non_null(strstr(line, "%)  dev "));
    free(out);
    char *csv = read_in("acc/metrics.csv");
    assert_non_null(strstr(csv, "steps_per_s,train_acc,dev_acc,test_acc,loss_log10_mean\n"));
    assert_non_null(strstr(csv, "\n100,"));
    free(csv);
    char path[600];
    snprintf(path, sizeof path, "%s/acc/metrics.jsonl", tmp);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char row[2048];
    int evals = 0;
    while (fgets(row, sizeof row, f)) {
        json_error_t e;
        json_t *j = json_loads(row, 0, &e);
        assert_non_null(j);
        if (json_is_number(json_object_get(j, "dev_loss"))) {
            double a = json_number_value(json_object_get(j, "dev_acc"));
            assert_true(json_is_number(json_object_get(j, "dev_acc")) && a > 0.5 && a <= 1);
            assert_true(json_is_number(json_object_get(j, "train_acc")));
            evals++;
        } else {
            assert_true(json_is_null(json_object_get(j, "dev_acc")));
        }
        json_decref(j);
    }
    fclose(f);
    assert_int_equal(evals, 3); /* steps 100, 200 and the final row */
    char *html = read_in("acc/report.html");
    char *fig = strstr(html, "id=\"fig-accuracy");
    assert_non_null(fig);
    assert_non_null(strstr(fig, "accuracy (%)"));
    free(html);
}

/* A sweep says when each cell starts and how far it is (running cells, ETA), and its
 * summary.csv and finish lines carry the accuracy of classifiers. */
static void test_sweep_progress_and_accuracy(void **state)
{
    (void)state;
    char spec[8192], args[800], data[4096];
    assert_non_null(realpath(tu_path("examples/data/blobs3.csv"), data));
    snprintf(spec, sizeof spec,
             "name: blobsweep\nseed: 1\nmatrix:\n  lr: [0.05, 0.1]\n"
             "data: {csv: '%s', x: [petal, sepal], y: species, split: {train: 0.8, dev: 0.2}}\n"
             "model: [{linear: {out: 8}}, tanh, {linear: {}}]\n"
             "train: {steps: 50, batch: 32, lr: '${matrix.lr}'}\n"
             "eval: {splits: [train, dev]}\nreport: {plots: none}\n",
             data);
    tu_write_bytes(tmp, "sweep.yaml", spec, strlen(spec));
    snprintf(args, sizeof args, "sweep '%s/sweep.yaml' -j 1 --out '%s/sw'", tmp, tmp);
    if (tu_nnrun(tmp, args) != 0) fail_msg("%s", tu_captured(tmp, "out"));
    char *out = tu_captured(tmp, "out");
    assert_int_equal(count(out, "\n  start "), 2);
    assert_non_null(strstr(out, "(1 running, 0 of 2 done)"));
    assert_non_null(strstr(out, "ETA "));
    assert_int_equal(count(out, ": done, dev loss "), 2);
    assert_int_equal(count(out, ", dev accuracy "), 2);
    free(out);
    char *csv = read_in("sw/summary.csv");
    assert_non_null(strstr(csv, ",loss_test,acc_train,acc_dev,acc_test,error,wall_seconds\n"));
    /* rank 1's row: its dev accuracy is a fraction */
    /* rank,cell,status,lr,steps,loss_train,loss_dev,loss_test,acc_train,acc_dev,... */
    char *row = strstr(csv, "\n1,");
    assert_non_null(row);
    char *cell = row + 1;
    for (int k = 0; k < 9; k++) {
        cell = strchr(cell, ',');
        assert_non_null(cell);
        cell++;
    }
    double dev = atof(cell);
    assert_true(dev > 0.5 && dev <= 1);
    free(csv);
}

/* `check SPEC --set ARG`: the exit status, and stderr in *err (malloc'd). */
static int check_set(const char *spec, const char *set, char **err)
{
    char args[1200];
    snprintf(args, sizeof args, "check '%s' --set '%s'", spec, set);
    int rc = tu_nnrun(tmp, args);
    *err = tu_captured(tmp, "err");
    return rc;
}

/* --set mistakes are blamed on the --set argument, with the argument that was meant; a
 * layer written in the short form (`- batchnorm`) takes options through --set. */
static void test_set_blames_the_argument(void **state)
{
    (void)state;
    char *err;
    assert_int_equal(check_set("specs/mlp_bn.yaml", "model.2.linaer.out=300", &err), 2);
    assert_non_null(strstr(err, "--set:1:9: error: 'model.2' is a 'linear' layer, not 'linaer'"));
    assert_non_null(strstr(err, "did you mean --set model.2.linear.out=300"));
    assert_null(strstr(err, "mlp_bn.yaml"));
    free(err);
    assert_int_equal(check_set("specs/mlp_bn.yaml", "model.2.out=300", &err), 2);
    assert_non_null(strstr(err, "--set:1:9: error:"));
    assert_non_null(strstr(err, "--set model.2.linear.out=300"));
    free(err);
    const char *spec = "name: short\n"
                       "data: {generate: xor}\n"
                       "model:\n  - linear: {out: 8}\n  - batchnorm\n  - tanh\n  - linear: {}\n"
                       "train: {steps: 10}\n";
    tu_write_bytes(tmp, "short.yaml", spec, strlen(spec));
    char path[600];
    snprintf(path, sizeof path, "%s/short.yaml", tmp);
    assert_int_equal(check_set(path, "model.1.momentum=0.01", &err), 2);
    assert_non_null(strstr(err, "--set model.1.batchnorm.momentum=0.01"));
    free(err);
    /* the short form expands: the option is set, the rest keeps its defaults */
    char args[1200];
    snprintf(args, sizeof args, "check '%s' --set model.1.batchnorm.momentum=0.01 --resolved",
             path);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    char *out = tu_captured(tmp, "out");
    char *bn = strstr(out, "- batchnorm:");
    assert_non_null(bn);
    assert_non_null(strstr(bn, "momentum: 0.01"));
    assert_non_null(strstr(bn, "eps:"));
    free(out);
    /* a kind of its own still replaces an item */
    snprintf(args, sizeof args, "check '%s' --set model.2=relu --resolved", path);
    assert_int_equal(tu_nnrun(tmp, args), 0);
}

/* A run whose loss ends far above its start says so: a warning on stderr (even with
 * --quiet), "diverged" in summary.json, a box at the top of the report; a run that
 * learns says nothing of the kind. */
static void test_divergence_said(void **state)
{
    (void)state;
    char args[800];
    snprintf(args, sizeof args,
             "tests/specs/good/blobs3.yaml --set train.lr=1000 --out '%s/div' --force --quiet",
             tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    char *err = tu_captured(tmp, "err");
    assert_non_null(strstr(err, "warning: the training diverged: train loss"));
    assert_non_null(strstr(err, "a smaller train.lr"));
    free(err);
    char path[600];
    snprintf(path, sizeof path, "%s/div/summary.json", tmp);
    json_t *j = load_json(path);
    assert_true(json_is_string(json_object_get(j, "diverged")));
    json_decref(j);
    char *html = read_in("div/report.html");
    assert_non_null(strstr(html, "<p class=\"warn\" id=\"diverged\"><b>Diverged:</b>"));
    free(html);
    snprintf(args, sizeof args, "tests/specs/good/blobs3.yaml --out '%s/ok' --force --quiet", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    err = tu_captured(tmp, "err");
    assert_null(strstr(err, "diverged"));
    free(err);
    snprintf(path, sizeof path, "%s/ok/summary.json", tmp);
    j = load_json(path);
    assert_null(json_object_get(j, "diverged"));
    json_decref(j);
}

/* The report of a classifier on a table: classes, not a vocabulary; the loss axis names
 * the loss and its scale; the legend draws markers where the plot does. */
static void test_report_words(void **state)
{
    (void)state;
    char args[800];
    snprintf(args, sizeof args, "tests/specs/good/blobs3.yaml --out '%s/words' --force --quiet",
             tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    char *html = read_in("words/report.html");
    assert_non_null(strstr(html, "uniform prediction over 3 classes"));
    assert_null(strstr(html, "tokens"));
    assert_null(strstr(html, "vocabulary 3"));
    char *fig = strstr(html, "id=\"fig-loss");
    assert_non_null(fig);
    char *end = strstr(fig, "</figure>");
    assert_non_null(end);
    *end = 0;
    assert_non_null(strstr(fig, ">cross-entropy loss (log scale)</text>"));
    assert_null(strstr(fig, "log10(loss)</text>"));
    /* the legend: a line for the minibatch curve, a circle (train) and a square (dev) */
    char *legend = strstr(fig, ">minibatch</text>");
    assert_non_null(legend);
    assert_non_null(strstr(legend, "<circle"));
    assert_non_null(strstr(legend, "<rect x="));
    free(html);
}

/* A run shorter than its evaluation interval still prints about ten progress lines. */
static void test_short_run_progress(void **state)
{
    (void)state;
    char args[800];
    snprintf(args, sizeof args,
             "tests/specs/good/blobs3.yaml --set eval.every=10000 --set train.steps=200 --out "
             "'%s/short' --force",
             tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    char *out = tu_captured(tmp, "out");
    assert_int_equal(count(out, "/    200: "), 10); /* steps 0, 20, ..., 180 */
    assert_non_null(strstr(out, "    100/    200: "));
    free(out);
}

/* The minibatch curve's points (the report's polyline in fig-loss), malloc'd. */
static char *loss_curve(const char *rel)
{
    char *html = read_in(rel);
    char *fig = strstr(html, "id=\"fig-loss");
    assert_non_null(fig);
    char *p = strstr(fig, "stroke-width=\"1.6\"");
    assert_non_null(p);
    p = strstr(p, "points=\"");
    assert_non_null(p);
    p += 8;
    char *end = strchr(p, '"');
    assert_non_null(end);
    char *out = strndup(p, (size_t)(end - p));
    free(html);
    return out;
}

/* eval.log_every: a tenth of the step rows, the report's curve unchanged to the pixel
 * (rows carry the mean log10 loss of the steps they cover); the default keeps a lecture
 * run (200,000 steps) at 20,000 rows with exact windows of 1000 steps. */
static void test_log_every(void **state)
{
    (void)state;
    char args[800];
    for (int k = 1; k <= 10; k += 9) {
        snprintf(args, sizeof args,
                 "tests/specs/good/blobs3.yaml --set train.steps=4000 --set eval.log_every=%d "
                 "--out '%s/le%d' --force --quiet",
                 k, tmp, k);
        assert_int_equal(tu_nnrun(tmp, args), 0);
    }
    char *a = read_in("le1/metrics.csv"), *b = read_in("le10/metrics.csv");
    assert_int_equal(count(a, "\n"), 1 + 4000 + 39 + 1); /* header, steps, evals, final */
    /* + the steps the terminal prints (0, 100, ..., 3900: eval.every) in rows of their own */
    assert_int_equal(count(b, "\n"), 1 + 400 + 40 + 39 + 1);
    assert_non_null(strstr(b, "\n0,0.1")); /* step 0 alone, then step 9 covering 1..9 */
    assert_non_null(strstr(b, "\n9,0.1"));
    assert_non_null(strstr(b, "\n3900,0.1")); /* as the lectures print every 10,000th */
    free(a), free(b);
    char *c1 = loss_curve("le1/report.html"), *c10 = loss_curve("le10/report.html");
    assert_true(strlen(c1) > 1000);
    assert_string_equal(c1, c10);
    free(c1), free(c10);
    assert_int_equal(nn_log_every(200000), 10);
    assert_int_equal(nn_log_every(20000), 1);
    assert_int_equal(1000 % nn_log_every(200000), 0);
    assert_int_equal((300000 / 200) % nn_log_every(300000), 0);
}

/* check FILE (written from `text` into tmp): exit 2 and stderr in *err. */
static void check_bad(const char *name, const char *text, char **err)
{
    tu_write_bytes(tmp, name, text, strlen(text));
    char args[800];
    snprintf(args, sizeof args, "check '%s/%s'", tmp, name);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    *err = tu_captured(tmp, "err");
}

/* The smaller mistakes: a wrong y column is an error at the spec's y: (with the column
 * meant), `val:` suggests dev, a plugin used as a layer kind says how to use it. */
static void test_smaller_mistakes(void **state)
{
    (void)state;
    char spec[8192], data[4096], *err;
    assert_non_null(realpath(tu_path("examples/data/blobs3.csv"), data));
    snprintf(spec, sizeof spec,
             "name: y\ndata:\n  csv: '%s'\n  x: [petal, sepal]\n  y: specie\n"
             "model: [{linear: {}}]\ntrain: {steps: 5}\n",
             data);
    check_bad("ycol.yaml", spec, &err);
    assert_non_null(strstr(err, "ycol.yaml:5:6: error: '"));
    assert_non_null(strstr(err, "blobs3.csv' has no column 'specie'"));
    assert_non_null(strstr(err, "(did you mean 'species'?)"));
    assert_null(strstr(err, "blobs3.csv:1:1"));
    free(err);
    check_bad("val.yaml",
              "name: v\ndata: {generate: xor, split: {train: 0.8, val: 0.2}}\n"
              "model: [{linear: {}}]\ntrain: {steps: 5}\n",
              &err);
    assert_non_null(strstr(err, "unknown key 'val' in 'data.split' (did you mean 'dev'?)"));
    free(err);
    check_bad("plug.yaml",
              "name: p\ndata: {generate: xor}\n"
              "plugins: {leaky: {library: leaky.so, forward: leaky_fwd, backward: leaky_bwd}}\n"
              "model: [{linear: {out: 4}}, leaky, {linear: {}}]\ntrain: {steps: 5}\n",
              &err);
    assert_non_null(
        strstr(err, "'leaky' is a plugin of this spec: use it as '- activation: leaky'"));
    free(err);
}

/* The embedding plot's labelled disks (radius 10 px) do not overlap. */
static void test_embedding_labels_apart(void **state)
{
    (void)state;
    char args[800];
    snprintf(args, sizeof args,
             "specs/mlp_bn.yaml --set train.steps=300 --set eval.every=0 --set sample.count=0 "
             "--set 'report.plots=[embedding]' --out '%s/emb' --force --quiet",
             tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    char *html = read_in("emb/report.html");
    char *fig = strstr(html, "id=\"fig-embedding");
    assert_non_null(fig);
    *strstr(fig, "</svg>") = 0;
    double x[64], y[64];
    int n = 0;
    for (char *p = fig; n < 64 && (p = strstr(p, "<circle cx=\"")); p++) {
        double cx, cy, r;
        if (sscanf(p, "<circle cx=\"%lf\" cy=\"%lf\" r=\"%lf\"", &cx, &cy, &r) == 3 && r == 10)
            x[n] = cx, y[n++] = cy;
    }
    assert_int_equal(n, 27);
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++)
            if (hypot(x[a] - x[b], y[a] - y[b]) < 19.5)
                fail_msg("disks %d and %d overlap: %.1f px apart", a, b, hypot(x[a] - x[b], y[a] - y[b]));
    free(html);
}

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmp, sizeof tmp, "/tmp/nnrun-learner-XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_class_boundary),
        cmocka_unit_test(test_accuracy_everywhere),
        cmocka_unit_test(test_sweep_progress_and_accuracy),
        cmocka_unit_test(test_set_blames_the_argument),
        cmocka_unit_test(test_divergence_said),
        cmocka_unit_test(test_report_words),
        cmocka_unit_test(test_short_run_progress),
        cmocka_unit_test(test_log_every),
        cmocka_unit_test(test_smaller_mistakes),
        cmocka_unit_test(test_embedding_labels_apart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
