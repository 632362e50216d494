/* Runs side by side (issue 21): `nnrun compare` (each run's curves on one plot, the results
 * in columns, the spec keys that differ, its errors), a sweep's report (a link to every
 * cell's report, the cells' curves coloured by an axis, --color-by), and the confusion
 * matrix of a classifier (counts that add up to the split, a diagonal that is
 * summary.json's accuracy). */
#include "testutil.h"

#include <limits.h>
#include <math.h>
#include <unistd.h>

#include <jansson.h>

static char tmp[256];

static json_t *load_json(const char *fmt, const char *a)
{
    char path[800];
    snprintf(path, sizeof path, fmt, tmp, a);
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

static int count(const char *hay, const char *end, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) && (!end || p < end); p += strlen(needle))
        n++;
    return n;
}

/* The text of figure `id` (from its tag to its </figure>), NUL-terminated in place. */
static char *figure(char *html, const char *id)
{
    char needle[96];
    snprintf(needle, sizeof needle, "<figure id=\"%s\"", id);
    char *at = strstr(html, needle);
    if (!at) fail_msg("no figure %s", id);
    char *end = strstr(at, "</figure>");
    assert_non_null(end);
    end[0] = 0;
    return at;
}

/* Two blobs3 runs that differ in lr and steps, made once. */
static void two_runs(void)
{
    static int done;
    if (done) return;
    char args[1200];
    snprintf(args, sizeof args, "tests/specs/good/blobs3.yaml --out '%s/a' --force --quiet", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    snprintf(args, sizeof args,
             "tests/specs/good/blobs3.yaml --set train.lr=0.03 --set train.steps=200 --out "
             "'%s/b' --force --quiet",
             tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    done = 1;
}

/* The compare page: one loss and one accuracy plot with a curve in each run's colour and
 * both runs in the legend, the results in columns, the spec keys that differ (and no key
 * that is the same), links to both reports relative to the page, no URL. */
static void test_compare_page(void **state)
{
    (void)state;
    two_runs();
    char args[1200];
    snprintf(args, sizeof args, "compare '%s/a' '%s/b' --out '%s/cmp.html'", tmp, tmp, tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    char *out = tu_captured(tmp, "out");
    assert_non_null(strstr(out, "cmp.html"));
    free(out);
    char *html = read_in("cmp.html"), *all = strdup(html);
    assert_non_null(all);
    assert_int_equal(count(all, NULL, "<svg"), 2);
    assert_null(strstr(all, "http"));
    assert_non_null(strstr(all, "<title>2 runs side by side"));
    assert_non_null(strstr(all, "<a href=\"a/report.html\">"));
    assert_non_null(strstr(all, "<a href=\"b/report.html\">"));
    /* the results: both runs' columns, steps 300 and 200 */
    char *res = strstr(all, "<table id=\"results\">");
    assert_non_null(res);
    assert_non_null(strstr(res, "<th class=\"l\">steps</th><td>300</td><td>200</td>"));
    assert_non_null(strstr(res, "<th class=\"l\">dev accuracy</th>"));
    assert_non_null(strstr(res, "class=\"best\""));
    /* the spec differences: lr and steps with each run's value, nothing that is the same */
    char *diff = strstr(all, "<table id=\"spec-diff\">");
    assert_non_null(diff);
    char *end = strstr(diff, "</table>");
    assert_non_null(strstr(diff, "<code>train.lr</code></td><td class=\"l\"><code>0.1</code>"
                                 "</td><td class=\"l\"><code>0.03</code>"));
    assert_non_null(strstr(diff, "<code>train.steps</code></td><td class=\"l\"><code>300</code>"
                                 "</td><td class=\"l\"><code>200</code>"));
    assert_int_equal(count(diff, end, "<tr>"), 3); /* the head and the two keys */
    /* the loss plot: a smoothed curve per run in its colour, dev markers, a legend of both */
    char *loss = figure(html, "fig-compare-loss");
    assert_true(count(loss, NULL, "stroke=\"#1f77b4\"><polyline") >= 1);
    assert_true(count(loss, NULL, "stroke=\"#ff7f0e\"><polyline") >= 1);
    assert_true(count(loss, NULL, "fill=\"#ff7f0e\"><rect") >= 1); /* dev: squares */
    assert_non_null(strstr(loss, ">a</text>"));
    assert_non_null(strstr(loss, ">b</text>"));
    assert_non_null(strstr(loss, ">dev</text>"));
    assert_non_null(strstr(loss, "cross-entropy loss (log scale)"));
    free(html);
    html = strdup(all);
    char *acc = figure(html, "fig-compare-accuracy");
    assert_true(count(acc, NULL, "stroke=\"#1f77b4\"") >= 1);
    assert_true(count(acc, NULL, "stroke=\"#ff7f0e\"") >= 1);
    free(html);
    free(all);
}

/* compare's mistakes: one run, a directory that is no run, --out a directory, an option of
 * another subcommand: exit 2 with a message naming what is wrong; the default page is
 * compare.html in the current directory. */
static void test_compare_errors(void **state)
{
    (void)state;
    two_runs();
    char args[1200 + PATH_MAX];
    snprintf(args, sizeof args, "compare '%s/a'", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    char *err = tu_captured(tmp, "err");
    assert_non_null(strstr(err, "compare needs two or more run directories, got 1"));
    free(err);
    snprintf(args, sizeof args, "compare '%s/a' '%s' --out '%s/x.html'", tmp, tmp, tmp);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    err = tu_captured(tmp, "err");
    char want[600];
    snprintf(want, sizeof want, "%s: error: not a run directory (no readable summary.json)", tmp);
    assert_non_null(strstr(err, want));
    free(err);
    snprintf(args, sizeof args, "compare '%s/a' '%s/b' --out '%s'", tmp, tmp, tmp);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    err = tu_captured(tmp, "err");
    assert_non_null(strstr(err, "is a directory: give the page's file name"));
    free(err);
    snprintf(args, sizeof args, "compare '%s/a' '%s/b' --json", tmp, tmp);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    err = tu_captured(tmp, "err");
    assert_non_null(strstr(err, "--json is not an option of 'nnrun compare'"));
    free(err);
    snprintf(args, sizeof args, "report '%s/a' '%s/b'", tmp, tmp); /* one operand elsewhere */
    assert_int_equal(tu_nnrun(tmp, args), 2);
    snprintf(want, sizeof want, "%s/x.html", tmp);
    assert_int_not_equal(access(want, F_OK), 0);
    /* the default: compare.html where nnrun runs */
    char bin[PATH_MAX];
    const char *env = getenv("NNRUN_BIN");
    if (env)
        snprintf(bin, sizeof bin, "%s", env);
    else if (!realpath(tu_path("nnrun"), bin))
        fail_msg("no nnrun binary");
    snprintf(args, sizeof args, "cd '%s' && '%s' compare a b >/dev/null", tmp, bin);
    assert_int_equal(system(args), 0);
    snprintf(want, sizeof want, "%s/compare.html", tmp);
    assert_int_equal(access(want, F_OK), 0);
}

/* The confusion matrix (blobs3: 3 classes, the dev split): counts that add up to the
 * split's size, a diagonal that is summary.json's dev accuracy, drawn in the report; a
 * hinge model's (micrograd_moons: train only) is 2 × 2 with labels −1, +1. */
static void check_confusion(const char *run, const char *split, int classes)
{
    json_t *st = load_json("%s/%s/stats.json", run), *sum = load_json("%s/%s/summary.json", run);
    json_t *c = json_object_get(st, "confusion"), *m = json_object_get(c, "matrix");
    assert_string_equal(json_string_value(json_object_get(c, "split")), split);
    assert_int_equal(json_array_size(m), classes);
    assert_int_equal(json_array_size(json_object_get(c, "labels")), classes);
    long n = 0, right = 0;
    for (int i = 0; i < classes; i++) {
        json_t *row = json_array_get(m, (size_t)i);
        assert_int_equal(json_array_size(row), classes);
        for (int j = 0; j < classes; j++) {
            long v = (long)json_integer_value(json_array_get(row, (size_t)j));
            n += v;
            right += i == j ? v : 0;
        }
    }
    long want_n =
        (long)json_integer_value(json_object_get(json_object_get(sum, "examples"), split));
    assert_true(want_n > 0);
    assert_int_equal(n, want_n);
    assert_int_equal(json_integer_value(json_object_get(c, "n")), want_n);
    double acc = json_number_value(json_object_get(json_object_get(sum, "accuracy"), split));
    if (!tu_close((double)right / (double)n, acc, 1e-12, 0))
        fail_msg("%s: confusion diagonal %ld/%ld, summary accuracy %.17g", run, right, n, acc);
    json_decref(st);
    json_decref(sum);
    char name[300];
    snprintf(name, sizeof name, "%s/report.html", run);
    char *html = read_in(name), *fig = figure(html, "fig-confusion");
    char cap[96];
    snprintf(cap, sizeof cap, "accuracy %.2f%%", 100 * acc);
    assert_non_null(strstr(fig, cap));
    assert_non_null(strstr(fig, ">true class</text>"));
    assert_non_null(strstr(fig, ">predicted class</text>"));
    free(html);
}

static void test_confusion(void **state)
{
    (void)state;
    two_runs();
    check_confusion("a", "dev", 3);
    check_confusion("b", "dev", 3);
    char args[1200];
    snprintf(args, sizeof args,
             "specs/micrograd_moons.yaml --set 'report.plots=[loss, confusion]' --out '%s/moons' "
             "--force --quiet",
             tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    check_confusion("moons", "train", 2);
    json_t *st = load_json("%s/%s/stats.json", "moons");
    json_t *labels = json_object_get(json_object_get(st, "confusion"), "labels");
    assert_string_equal(json_string_value(json_array_get(labels, 0)), "-1");
    assert_string_equal(json_string_value(json_array_get(labels, 1)), "+1");
    json_decref(st);
    /* not asked for: not collected */
    snprintf(args, sizeof args,
             "tests/specs/good/blobs3.yaml --set 'report.plots=[loss]' --out '%s/noconf' "
             "--force --quiet",
             tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/noconf/stats.json", tmp);
    char *s = tu_read_file(path);
    assert_true(!s || !strstr(s, "\"confusion\""));
    free(s);
}

/* A sweep's report: each finished cell's id links to its report.html (which exists), every
 * cell's loss curve on one plot coloured by the first axis with a legend of its values;
 * summarize --color-by recolours by another axis and refuses a name that is no axis. */
static void test_sweep_report(void **state)
{
    (void)state;
    char data[PATH_MAX], spec[8192];
    assert_non_null(realpath(tu_path("examples/data/blobs3.csv"), data));
    snprintf(spec, sizeof spec,
             "name: sw\nmatrix:\n  lr: [0.1, 0.03]\n  seed: [1, 2]\nseed: ${matrix.seed}\n"
             "data:\n  csv: %s\n  x: [petal, sepal]\n  y: species\n"
             "  split: {train: 0.8, dev: 0.2}\nmodel:\n  - linear: {out: 8}\n  - tanh\n"
             "  - linear: {}\ntrain: {steps: 60, batch: 32, lr: '${matrix.lr}'}\n"
             "eval: {every: 30, splits: [dev]}\nreport: {plots: none}\n",
             data);
    tu_write_bytes(tmp, "sw.yaml", spec, strlen(spec));
    char args[1200];
    snprintf(args, sizeof args, "sweep '%s/sw.yaml' --out '%s/sw' -j 2 --quiet", tmp, tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    json_t *sj = load_json("%s/%s/sweep.json", "sw"), *cells = json_object_get(sj, "cells");
    assert_int_equal(json_array_size(cells), 4);
    char *html = read_in("sw/report.html");
    assert_null(strstr(html, "http"));
    for (size_t i = 0; i < 4; i++) {
        const char *id = json_string_value(json_object_get(json_array_get(cells, i), "id"));
        char link[200], path[700];
        snprintf(link, sizeof link, "<a class=\"cell\" href=\"%s/report.html\">", id);
        assert_non_null(strstr(html, link));
        snprintf(path, sizeof path, "%s/sw/%s/report.html", tmp, id);
        assert_int_equal(access(path, F_OK), 0);
    }
    json_decref(sj);
    char *fig = figure(html, "fig-sweep-loss");
    /* lr's values in increasing order: 0.03 the first colour, 0.1 the second; two cells each */
    assert_non_null(strstr(fig, ">lr = 0.03</text>"));
    assert_non_null(strstr(fig, ">lr = 0.1</text>"));
    assert_int_equal(count(fig, NULL, "stroke=\"#1f77b4\"><polyline"), 2);
    assert_int_equal(count(fig, NULL, "stroke=\"#ff7f0e\"><polyline"), 2);
    free(html);
    snprintf(args, sizeof args, "summarize '%s/sw' --color-by seed", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    html = read_in("sw/report.html");
    fig = figure(html, "fig-sweep-loss");
    assert_non_null(strstr(fig, ">seed = 1</text>"));
    assert_non_null(strstr(fig, ">seed = 2</text>"));
    assert_null(strstr(fig, ">lr = 0.1</text>"));
    free(html);
    snprintf(args, sizeof args, "summarize '%s/sw' --color-by hidden", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    char *err = tu_captured(tmp, "err");
    assert_non_null(strstr(err, "--color-by 'hidden' is not an axis of the sweep"));
    assert_non_null(strstr(err, "(its axes: lr, seed)"));
    free(err);
    /* a sweep directory is no run: the message says how to compare its cells */
    snprintf(args, sizeof args, "compare '%s/sw' '%s/sw' --out '%s/no.html'", tmp, tmp, tmp);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    err = tu_captured(tmp, "err");
    assert_non_null(strstr(err, "a sweep directory: its cells are runs (nnrun compare "));
    free(err);
    /* the sweep's cells compare like any runs */
    snprintf(args, sizeof args, "compare '%s'/sw/*/ --out '%s/swc.html'", tmp, tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    html = read_in("swc.html");
    assert_int_equal(count(html, NULL, "<a href=\"sw/"), 4);
    assert_non_null(strstr(html, "<code>train.lr</code>"));
    assert_non_null(strstr(html, "<code>seed</code>"));
    free(html);
}

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmp, sizeof tmp, "/tmp/nnrun-compare-XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compare_page),
        cmocka_unit_test(test_compare_errors),
        cmocka_unit_test(test_confusion),
        cmocka_unit_test(test_sweep_report),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
