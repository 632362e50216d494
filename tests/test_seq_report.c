/* test_seq_report.c — the report's sequence-model numbers (stats.json "sequence",
 * runtime/report/stats_seq.c) on a small two-block transformer over names: the loss per
 * position averages back (token-weighted) to the split's loss in summary.json, its counts
 * are the split's targets; every attention row sums to 1 with nothing right of the
 * diagonal (causal), for the first and the last attention layer and every head; the
 * residual stream lists the embedding, every residual add and every LayerNorm in order,
 * LayerNorm outputs near mean 0 and std 1; report.html draws the three figures; a malformed
 * "sequence" is an error of `nnrun report`. */
#include "testutil.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>

static char tmp[256];

static int setup(void **state)
{
    (void)state;
    if (tu_mkdtemp(tmp, sizeof tmp, "/tmp/nnrun-seqrep-XXXXXX") != 0) return -1;
    char text[PATH_MAX + 1024], names[PATH_MAX];
    if (!realpath(tu_path("examples/data/names.txt"), names)) return -1;
    snprintf(text, sizeof text,
             "name: s\nseed: 3\n"
             "data: {source: %s, context: 16, examples: sequence,\n"
             "       split: {train: 300, dev: 0, test: 70}}\n"
             "blocks:\n  b:\n"
             "    - residual: [layernorm, {attention: {heads: 2, causal: true}}]\n"
             "    - residual: [layernorm, {linear: {out: 32}}, gelu, {linear: {out: 16}}]\n"
             "model:\n  - embedding: {dim: 16, positions: 16}\n  - repeat: {block: b, n: 2}\n"
             "  - layernorm\n  - linear\n"
             "train: {steps: 3, batch: 8, optimizer: adamw, lr: 1e-3}\n"
             "eval: {every: 0, splits: [train, test]}\nsample: {count: 0}\n"
             "report: {plots: [loss, positions, attention, stream]}\n",
             names);
    tu_write_bytes(tmp, "s.yaml", text, strlen(text));
    char cmd[600];
    snprintf(cmd, sizeof cmd, "'%s/s.yaml' --quiet --out '%s/run'", tmp, tmp);
    return tu_nnrun(tmp, cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmp);
}

static json_t *load(const char *name)
{
    char p[600];
    snprintf(p, sizeof p, "%s/run/%s", tmp, name);
    json_error_t e;
    json_t *j = json_load_file(p, 0, &e);
    if (!j) fail_msg("%s: %s", p, e.text);
    return j;
}

static void test_positions(void **state)
{
    (void)state;
    json_t *st = load("stats.json"), *sum = load("summary.json");
    json_t *q = json_object_get(st, "sequence");
    assert_string_equal(json_string_value(json_object_get(q, "split")), "test");
    json_t *p = json_object_get(q, "positions");
    json_t *loss = json_object_get(p, "loss"), *count = json_object_get(p, "count");
    assert_int_equal(json_array_size(loss), 16);
    double s = 0, n = 0;
    for (size_t t = 0; t < 16; t++) {
        double c = (double)json_integer_value(json_array_get(count, t));
        if (c > 0) s += c * json_real_value(json_array_get(loss, t)), n += c;
    }
    double test = json_real_value(json_object_get(json_object_get(sum, "loss"), "test"));
    assert_true(test > 1 && test < 5);
    if (!tu_close(s / n, test, 1e-6, 0))
        fail_msg("positions average %.9g, test loss %.9g", s / n, test);
    assert_true(tu_close(json_real_value(json_object_get(p, "mean")), test, 1e-6, 0));
    /* every item has a target at position 0 (its first letter) */
    assert_int_equal(json_integer_value(json_array_get(count, 0)), 70);
    json_decref(st), json_decref(sum);
}

static void test_attention(void **state)
{
    (void)state;
    json_t *st = load("stats.json");
    json_t *a = json_object_get(json_object_get(st, "sequence"), "attention");
    json_t *layers = json_object_get(a, "layers"), *items = json_object_get(a, "items");
    assert_int_equal(json_array_size(layers), 2);
    assert_string_equal(json_string_value(json_array_get(layers, 0)), "blocks.0.attention");
    assert_string_equal(json_string_value(json_array_get(layers, 1)), "blocks.1.attention");
    assert_int_equal(json_integer_value(json_object_get(a, "heads")), 2);
    assert_int_equal(json_array_size(items), 3);
    for (size_t w = 0; w < 3; w++) {
        json_t *it = json_array_get(items, w), *tokens = json_object_get(it, "tokens");
        size_t L = json_array_size(tokens);
        assert_true(L >= 2 && L <= 16);
        assert_string_equal(json_string_value(json_array_get(tokens, 0)), "."); /* start */
        json_t *maps = json_object_get(it, "maps");
        assert_int_equal(json_array_size(maps), 2);
        for (size_t l = 0; l < 2; l++)
            for (size_t h = 0; h < 2; h++) {
                json_t *rows = json_array_get(json_array_get(maps, l), h);
                assert_int_equal(json_array_size(rows), L);
                for (size_t i = 0; i < L; i++) {
                    json_t *row = json_array_get(rows, i);
                    assert_int_equal(json_array_size(row), L);
                    double sum = 0;
                    for (size_t k = 0; k < L; k++) {
                        double v = json_real_value(json_array_get(row, k));
                        assert_true(v >= 0);
                        if (k > i) assert_true(v == 0); /* causal */
                        sum += v;
                    }
                    if (fabs(sum - 1) > 1e-5)
                        fail_msg("item %zu layer %zu head %zu row %zu sums to %.8g", w, l, h, i,
                                 sum);
                }
            }
    }
    json_decref(st);
}

static void test_stream(void **state)
{
    (void)state;
    json_t *st = load("stats.json");
    json_t *s = json_object_get(json_object_get(st, "sequence"), "stream");
    static const char *const want[][2] = {
        {"layers.0", "embedding"},           {"blocks.0.layernorm", "layernorm"},
        {"blocks.0.residual", "residual"},   {"blocks.0.layernorm_1", "layernorm"},
        {"blocks.0.residual_1", "residual"}, {"blocks.1.layernorm", "layernorm"},
        {"blocks.1.residual", "residual"},   {"blocks.1.layernorm_1", "layernorm"},
        {"blocks.1.residual_1", "residual"}, {"layers.2", "layernorm"},
    };
    assert_int_equal(json_array_size(s), 10);
    for (size_t i = 0; i < 10; i++) {
        json_t *e = json_array_get(s, i);
        assert_string_equal(json_string_value(json_object_get(e, "name")), want[i][0]);
        assert_string_equal(json_string_value(json_object_get(e, "kind")), want[i][1]);
        double m = json_real_value(json_object_get(e, "mean")),
               sd = json_real_value(json_object_get(e, "std"));
        assert_true(isfinite(m) && sd > 0);
        /* three steps from gain 1 and shift 0: LayerNorm's output is still normalised */
        if (!strcmp(want[i][1], "layernorm") && (fabs(m) > 0.02 || fabs(sd - 1) > 0.05))
            fail_msg("%s: mean %g std %g", want[i][0], m, sd);
    }
    json_decref(st);
}

static void test_report_figures(void **state)
{
    (void)state;
    char p[600];
    snprintf(p, sizeof p, "%s/run/report.html", tmp);
    char *html = tu_read_file(p);
    assert_non_null(html);
    assert_non_null(strstr(html, "id=\"fig-positions\""));
    assert_non_null(strstr(html, "id=\"fig-attention\""));
    assert_non_null(strstr(html, "id=\"fig-stream\""));
    free(html);
    /* a malformed section: `nnrun report` names it and exits 2 */
    json_t *st = load("stats.json");
    json_object_set_new(json_object_get(st, "sequence"), "stream", json_integer(3));
    snprintf(p, sizeof p, "%s/run/stats.json", tmp);
    assert_int_equal(json_dump_file(st, p, 0), 0);
    json_decref(st);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "report '%s/run'", tmp);
    int rc = tu_nnrun(tmp, cmd);
    char *err = tu_captured(tmp, "err");
    if (rc != 2 || !strstr(err, "stats.json") || !strstr(err, "expected an array"))
        fail_msg("nnrun report on a malformed sequence: exit %d, %s", rc, err);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_attention),
        cmocka_unit_test(test_stream),
        cmocka_unit_test(test_report_figures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
