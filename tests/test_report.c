/* test_report.c — report.html from hand-built run directories: one figure per present
 * section and none for absent ones, no URLs, escaped text, and malformed inputs reported
 * with the file (and line) at fault. */
#include "testutil.h"

#include <unistd.h>

#include "parser/diag.h"
#include "runtime/report/html.h"

static const char *SUMMARY =
    "{\"name\": \"demo<&>\", \"version\": \"0.1.0\", \"steps\": 6, \"params\": 100,\n"
    " \"loss\": {\"step0\": 3.4, \"last\": 2.5, \"train\": 2.4, \"dev\": 2.45, \"test\": null},\n"
    " \"accuracy\": {\"train\": 0.5, \"dev\": 0.25, \"test\": null},\n"
    " \"wall_seconds\": 0.5, \"steps_per_second\": 12.0, \"isa\": \"avx2\", \"threads\": 2,\n"
    " \"seed\": \"18446744073709551615\", \"rng\": \"torch\", \"vocab\": 27,\n"
    " \"examples\": {\"train\": 10, \"dev\": 2, \"test\": 2}, \"samples\": [\"ab.\"]}\n";

static const char *METRICS = "step,lr,loss,train_loss,dev_loss,test_loss,elapsed_s\n"
                             "0,0.001,3.4,,,,\n"
                             "1,0.01,3.1,,,,\n"
                             "2,0.1,2.9,,,,\n"
                             "3,1,2.8,2.9,3.0,,0.1\n"
                             "4,1,2.6,,,,\n"
                             "5,1,2.5,,,,\n"
                             "6,,,2.4,2.45,,0.2\n";

static const char *SPEC_FIND = "name: demo\ntrain:\n  steps: 6\n  lr:\n"
                               "    find: {min: 0.001, max: 1.0}\n  l2: 0.0\neval:\n  every: 3\n";

static const char *HIST = "\"hist\": {\"lo\": -1, \"hi\": 1, \"counts\": [1, 4, 9, 4, 1]}";

/* A stats.json with every section; tokens '<' and '&' to check escaping. */
static char *full_stats(void)
{
    static char buf[8192];
    snprintf(
        buf, sizeof buf,
        "{\n\"version\": 1,\n\"tokens\": [\".\", \"<\", \"&\"],\n"
        "\"activations\": [\n"
        " {\"name\": \"layers.1\", \"kind\": \"tanh\", \"when\": \"init\", \"step\": 0,"
        " \"mean\": 0.01, \"std\": 0.6, \"saturated\": 0.03, %s},\n"
        " {\"name\": \"layers.1\", \"kind\": \"tanh\", \"when\": \"final\", \"step\": 6,"
        " \"mean\": 0.0, \"std\": 0.5, \"saturated\": 0.01, %s},\n"
        " {\"name\": \"layers.3\", \"kind\": \"relu\", \"when\": \"final\", \"step\": 6,"
        " \"mean\": 0.2, \"std\": 0.3, \"saturated\": 0.4, %s}],\n"
        "\"gradients\": [\n"
        " {\"name\": \"layers.1\", \"kind\": \"tanh\", \"when\": \"final\", \"step\": 6,"
        " \"mean\": 0.0, \"std\": 0.002, %s}],\n"
        "\"weights\": [\n"
        " {\"name\": \"layers.0.weight\", \"shape\": [3, 4], \"data_std\": 0.3,"
        " \"grad_mean\": 0.0, \"grad_std\": 0.003, \"grad_data_ratio\": 0.01, %s},\n"
        " {\"name\": \"layers.2.weight\", \"shape\": [4, 3], \"data_std\": 0.1,"
        " \"grad_mean\": 0.0, \"grad_std\": 0.004, \"grad_data_ratio\": 0.04, %s}],\n"
        "\"updates\": {\"names\": [\"layers.0.weight\", \"layers.2.weight\"],"
        " \"steps\": [0, 3, 6], \"log10_ratio\": [[-2.9, -3.1], [-3.0, null], [-3.1, -3.3]]},\n"
        "\"saturation\": {\"name\": \"layers.1\", \"step\": 0, \"rows\": 3, \"cols\": 5,"
        " \"cells\": [\"01100\", \"00000\", \"11111\"]},\n"
        "\"embedding\": {\"name\": \"layers.0.weight\", \"method\": \"raw\","
        " \"labels\": [\".\", \"<\", \"&\"], \"points\": [[0.1, -0.3], [0.2, 0.5], [-1, 0]]},\n"
        "\"counts\": {\"n\": 2, \"rows\": [\"<\", \"&\"], \"cols\": [\"<\", \"&\"],"
        " \"matrix\": [[0, 4410], [6640, 556]]},\n"
        "\"boundary\": {\"x0\": [-2.0, 3.0], \"x1\": [-1.5, 2.0], \"steps\": 3,"
        " \"grid\": [[0.3, -1.2, 0.5], [0.1, 0.7, -0.2], [1, 1, -1]],"
        " \"points\": [[0.1, 0.9, 1], [1.2, -0.4, -1]]},\n"
        "\"confusion\": {\"split\": \"dev\", \"labels\": [\"0\", \"<\"],"
        " \"matrix\": [[3, 1], [0, 4]], \"n\": 8, \"accuracy\": 0.875}\n}\n",
        HIST, HIST, HIST, HIST, HIST, HIST);
    return buf;
}

static void put(const char *dir, const char *file, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *new_dir(void)
{
    static char tmpl[64];
    snprintf(tmpl, sizeof tmpl, "/tmp/nn_report_XXXXXX");
    assert_non_null(mkdtemp(tmpl));
    return tmpl;
}

static void rm_dir(const char *dir)
{
    static const char *const files[] = {"summary.json",       "metrics.csv", "stats.json",
                                        "spec.resolved.yaml", "samples.txt", "report.html",
                                        "report.html.tmp"};
    char p[512];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* Renders `dir` and returns report.html's text (the render must succeed). */
static char *render_ok(const char *dir)
{
    nn_diag *d = nn_diag_new();
    int rc = nn_report_render(dir, d);
    if (rc != 0) nn_diag_print(d, stderr);
    assert_int_equal(rc, 0);
    nn_diag_free(d);
    char p[512];
    snprintf(p, sizeof p, "%s/report.html", dir);
    char *html = tu_read_file(p);
    assert_non_null(html);
    return html;
}

/* Renders `dir`, expecting −1 with a first error starting with DIR/FILE followed by
 * `after` (e.g. ":3:" for a line). */
static void render_fails(const char *dir, const char *file, const char *after)
{
    nn_diag *d = nn_diag_new();
    assert_int_equal(nn_report_render(dir, d), -1);
    assert_true(nn_diag_count(d) >= 1);
    char want[512];
    snprintf(want, sizeof want, "%s/%s%s", dir, file, after);
    const char *line = nn_diag_line(d, 0);
    if (strncmp(line, want, strlen(want)) != 0)
        fail_msg("error '%s' does not start with '%s'", line, want);
    nn_diag_free(d);
    char p[512];
    snprintf(p, sizeof p, "%s/report.html", dir);
    assert_int_not_equal(access(p, F_OK), 0); /* no partial page */
    snprintf(p, sizeof p, "%s/report.html.tmp", dir);
    assert_int_not_equal(access(p, F_OK), 0);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void has_fig(const char *html, const char *id, int want)
{
    char pat[128];
    snprintf(pat, sizeof pat, "<figure id=\"%s\"", id);
    const char *at = strstr(html, pat);
    if (!want && at) fail_msg("unexpected figure %s", id);
    if (want && !at) fail_msg("missing figure %s", id);
    if (want) assert_non_null(strstr(at, "<svg")); /* each figure draws its plot */
}

static void self_contained(const char *html)
{
    assert_null(strstr(html, "http"));
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, "url(http"));
    assert_int_equal(count(html, "<svg"), count(html, "</svg>"));
    assert_int_equal(count(html, "<figure"), count(html, "</figure>"));
}

static void test_full(void **state)
{
    (void)state;
    char *dir = new_dir();
    put(dir, "summary.json", SUMMARY);
    put(dir, "metrics.csv", METRICS);
    put(dir, "spec.resolved.yaml", SPEC_FIND);
    put(dir, "samples.txt", "emma.\n<b>&amp\n");
    put(dir, "stats.json", full_stats());
    char *html = render_ok(dir);
    static const char *const figs[] = {
        "fig-loss",          "fig-lr",       "fig-lrfind",   "fig-act-layers.1", "fig-act-layers.3",
        "fig-grad-layers.1", "fig-weights",  "fig-updates",  "fig-saturation",   "fig-embedding",
        "fig-counts",        "fig-boundary", "fig-confusion"};
    for (size_t i = 0; i < sizeof figs / sizeof *figs; i++)
        has_fig(html, figs[i], 1);
    assert_int_equal(count(html, "<svg"), (int)(sizeof figs / sizeof *figs));
    has_fig(html, "fig-grad-layers.3", 0); /* no gradients recorded for it */
    self_contained(html);
    /* escaped: the name, the samples, the tokens (as SVG text) */
    assert_non_null(strstr(html, "<h1>demo&lt;&amp;&gt;</h1>"));
    assert_null(strstr(html, "demo<&>"));
    assert_non_null(strstr(html, "&lt;b&gt;&amp;amp"));
    assert_null(strstr(html, "<b>&amp"));
    assert_non_null(strstr(html, ">&lt;</text>"));
    assert_non_null(strstr(html, ">&amp;</text>"));
    assert_non_null(strstr(html, ">&lt;&amp;</text>")); /* a count cell's bigram */
    assert_non_null(strstr(html, ">6640</text>"));
    /* the confusion matrix: counts, its accuracy, the split */
    assert_non_null(strstr(html, "Confusion matrix (dev split)"));
    assert_non_null(strstr(html, "the 8 examples of the dev split"));
    assert_non_null(strstr(html, "(accuracy 87.50%)"));
    /* the table and the initial-loss check */
    assert_non_null(strstr(html, "18446744073709551615"));
    assert_non_null(strstr(html, "50.00%"));
    assert_non_null(strstr(html, "3.2958")); /* ln 27 */
    assert_non_null(strstr(html, "sat 3.0%"));
    assert_non_null(strstr(html, "stroke-dasharray=\"6 4\"")); /* the −3 guide */
    free(html);
    rm_dir(dir);
}

static void test_absent_sections(void **state)
{
    (void)state;
    char *dir = new_dir();
    /* a classifier without vocabulary: no expected-loss line; no stats, no find */
    put(dir, "summary.json",
        "{\"name\": \"moons\", \"steps\": 6, \"vocab\": 1,"
        " \"loss\": {\"step0\": 0.9}}\n");
    put(dir, "metrics.csv", METRICS);
    put(dir, "spec.resolved.yaml", "name: moons\ntrain:\n  lr: 0.1\n");
    put(dir, "samples.txt", "see https://x.y/z\n"); /* text, which must not become a URL */
    char *html = render_ok(dir);
    assert_non_null(strstr(html, "https:&#47;&#47;x.y/z"));
    assert_null(strstr(html, "://"));
    has_fig(html, "fig-loss", 1);
    has_fig(html, "fig-lr", 1);
    static const char *const absent[] = {"fig-lrfind",     "fig-weights",   "fig-updates",
                                         "fig-saturation", "fig-embedding", "fig-counts",
                                         "fig-boundary"};
    for (size_t i = 0; i < sizeof absent / sizeof *absent; i++)
        has_fig(html, absent[i], 0);
    assert_null(strstr(html, "fig-act-"));
    assert_null(strstr(html, "ln(1/"));
    assert_int_equal(count(html, "<svg"), 2);
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<link"));
    free(html);

    /* only counts, a large matrix (> 40 rows): colours without numbers; no metrics */
    put(dir, "summary.json", "{\"name\": \"trigram\", \"vocab\": 27}\n");
    char p[512];
    snprintf(p, sizeof p, "%s/metrics.csv", dir);
    unlink(p);
    char *st = malloc(1 << 16);
    size_t o = (size_t)sprintf(st, "{\"counts\": {\"n\": 3, \"rows\": [");
    for (int r = 0; r < 50; r++)
        o += (size_t)sprintf(st + o, "%s\"r%d\"", r ? "," : "", r);
    o += (size_t)sprintf(st + o, "], \"cols\": [\"a\", \"b\"], \"matrix\": [");
    for (int r = 0; r < 50; r++)
        o += (size_t)sprintf(st + o, "%s[%d, 12345]", r ? "," : "", r);
    sprintf(st + o, "]}}\n");
    put(dir, "stats.json", st);
    free(st);
    html = render_ok(dir);
    has_fig(html, "fig-counts", 1);
    has_fig(html, "fig-loss", 0);
    assert_int_equal(count(html, "<svg"), 1);
    assert_null(strstr(html, "12345"));
    free(html);
    rm_dir(dir);
}

/* stats.json `recurrent`: the GRU's three figures from two points; an rnn has no gates */
static void test_recurrent(void **state)
{
    (void)state;
    char *dir = new_dir();
    put(dir, "summary.json", SUMMARY);
    put(dir, "metrics.csv", METRICS);
    static const char *const pt =
        "{\"when\": \"%s\", \"step\": %d, \"saturated\": [0, 0.5, 1],"
        " \"grad_norm\": [0.001, 0.01, 0], \"map\": [[0, 1], [0.5, 0.5], [1, 1]]%s}";
    char init[512], fin[512], st[2048];
    snprintf(init, sizeof init, pt, "init", 0,
             ", \"z_mean\": [0.5, 0.5, 0.5], \"r_mean\": [0.4, 0.5, 0.6]");
    snprintf(fin, sizeof fin, pt, "final", 6,
             ", \"z_mean\": [0.2, 0.3, 0.9], \"r_mean\": [0.7, 0.5, 0.1]");
    snprintf(st, sizeof st,
             "{\"recurrent\": {\"name\": \"layers.1\", \"cell\": \"gru\", \"positions\": 3,"
             " \"hidden\": 2, \"points\": [%s, %s]}}\n",
             init, fin);
    put(dir, "stats.json", st);
    char *html = render_ok(dir);
    has_fig(html, "fig-rnn-saturation", 1);
    has_fig(html, "fig-rnn-grad", 1);
    has_fig(html, "fig-gru-gates", 1);
    assert_non_null(strstr(html, "final (step 6)"));
    free(html);
    snprintf(init, sizeof init, pt, "init", 0, "");
    snprintf(st, sizeof st,
             "{\"recurrent\": {\"name\": \"layers.1\", \"cell\": \"rnn\", \"positions\": 3,"
             " \"hidden\": 2, \"points\": [%s]}}\n",
             init);
    put(dir, "stats.json", st);
    html = render_ok(dir);
    has_fig(html, "fig-rnn-saturation", 1);
    has_fig(html, "fig-gru-gates", 0);
    free(html);
    /* a map row of the wrong width: its line and place */
    char p[512];
    snprintf(p, sizeof p, "%s/report.html", dir);
    unlink(p); /* from the renders above */
    put(dir, "stats.json",
        "{\"recurrent\": {\"name\": \"l\", \"cell\": \"rnn\", \"positions\": 1, \"hidden\": 2,\n"
        " \"points\": [{\"when\": \"init\", \"step\": 0, \"saturated\": [0], \"grad_norm\": [1],\n"
        " \"map\": [[0, 1, 1]]}]}}\n");
    render_fails(dir, "stats.json", ":3:");
    rm_dir(dir);
}

static void test_malformed(void **state)
{
    (void)state;
    char *dir = new_dir();
    put(dir, "summary.json", SUMMARY);
    put(dir, "metrics.csv", METRICS);
    /* truncated JSON: the parse error's line */
    char *st = strdup(full_stats());
    st[strlen(st) / 2] = 0;
    put(dir, "stats.json", st);
    free(st);
    render_fails(dir, "stats.json", ":");
    /* well-formed JSON, wrong type: the line of the bad value (line 3 here) */
    put(dir, "stats.json",
        "{\"version\": 1,\n\"activations\": [{\"name\": \"l\",\n"
        "  \"hist\": {\"lo\": 0, \"hi\": 1, \"counts\": [1, \"x\"]}}]}\n");
    render_fails(dir, "stats.json", ":3:");
    put(dir, "stats.json",
        "{\"saturation\": {\"rows\": 2, \"cols\": 3,\n"
        "  \"cells\": [\"010\",\n \"0120\"]}}\n");
    render_fails(dir, "stats.json", ":3:2:");
    put(dir, "stats.json",
        "{\"confusion\": {\"split\": \"dev\", \"labels\": [\"0\", \"1\"],\n"
        "  \"matrix\": [[1, 2, 3], [4, 5, 6]]}}\n");
    render_fails(dir, "stats.json", ":2:");
    put(dir, "stats.json", "{}\n");
    /* a CSV cell that is not a number: metrics.csv:LINE:COL */
    put(dir, "metrics.csv", "step,lr,loss\n0,0.1,3.3\n1,0.1,abc\n");
    render_fails(dir, "metrics.csv", ":3:7:");
    put(dir, "metrics.csv", "step,lr,loss\n0,0.1,3.3\n1,0.1\n");
    render_fails(dir, "metrics.csv", ":3:");
    put(dir, "metrics.csv", METRICS);
    /* summary.json: truncated, a wrong type, missing */
    put(dir, "summary.json", "{\"name\": \"x\",\n \"steps\": ");
    render_fails(dir, "summary.json", ":2:");
    put(dir, "summary.json", "{\"name\": \"x\",\n \"steps\": \"many\"}");
    render_fails(dir, "summary.json", ":2:11:");
    char p[512];
    snprintf(p, sizeof p, "%s/summary.json", dir);
    unlink(p);
    render_fails(dir, "summary.json", ": error: cannot read");
    rm_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_absent_sections),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_recurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
