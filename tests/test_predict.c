/* test_predict.c — `nnrun predict RUN_DIR INPUT` (issues 20, 21): on a 3-class CSV run it
 * agrees with the run's accuracy and with the report's decision boundary (the class of
 * every training point and every grid cell); on text runs — the counting model, a window
 * MLP with BatchNorm, the RNN, the GRU and the transformer — it gives tokens of the
 * vocabulary and probabilities summing to 1, crops long prefixes as makemore does, and
 * agrees with the C API's forward pass; wrong inputs are errors at INPUT:LINE:COL, exit 2,
 * with nothing printed on stdout. */
#include <jansson.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nnrun/nnrun.h"
#include "runtime/store/safetensors.h"
#include "testutil.h"

static char tmp[256];

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmp, sizeof tmp, "/tmp/nn_predict_XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmp);
}

#define run(...)         tu_nnrunf(tmp, __VA_ARGS__)
#define expect_err(want) tu_expect_err(tmp, want)

static void expect_no_out(void)
{
    char *out = tu_captured(tmp, "out");
    if (*out) fail_msg("stdout is not empty:\n%s", out);
    free(out);
}

static void write_file(const char *name, const char *text)
{
    tu_write_bytes(tmp, name, text, strlen(text));
}

/* The lines of stdout (malloc'd copy in *buf; at most max). */
static int out_lines(char **buf, char **line, int max)
{
    *buf = tu_captured(tmp, "out");
    int n = 0;
    for (char *p = *buf, *nl; *p && n < max; p = nl + 1) {
        line[n++] = p;
        if (!(nl = strchr(p, '\n'))) break;
        *nl = 0;
    }
    return n;
}

static json_t *load_json(const char *rel)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", tmp, rel);
    json_t *j = json_load_file(p, 0, NULL);
    if (!j) fail_msg("cannot read %s as JSON", p);
    return j;
}

/* --- a 3-class CSV classifier ----------------------------------------------------------- */

static const char *blobs_run(void)
{
    static int done;
    if (!done++)
        assert_int_equal(run("tests/specs/good/blobs3.yaml --quiet --out '%s/b3'", tmp), 0);
    return "b3";
}

/* The data file itself (its label column present): the accuracy on stderr is the run's
 * (train and dev, 240 + 60 rows) and every row gets one of the three classes. */
static void test_csv_accuracy_is_the_runs(void **state)
{
    (void)state;
    blobs_run();
    assert_int_equal(run("predict '%s/b3' examples/data/blobs3.csv", tmp), 0);
    char *buf, *line[400];
    int n = out_lines(&buf, line, 400);
    assert_int_equal(n, 300);
    for (int i = 0; i < n; i++)
        if (strcmp(line[i], "0") && strcmp(line[i], "1") && strcmp(line[i], "2"))
            fail_msg("line %d: '%s' is no class", i + 1, line[i]);
    free(buf);
    json_t *sum = load_json("b3/summary.json"), *acc = json_object_get(sum, "accuracy");
    long right = lround(json_number_value(json_object_get(acc, "train")) * 240) +
                 lround(json_number_value(json_object_get(acc, "dev")) * 60);
    char want[200];
    snprintf(want, sizeof want,
             "examples/data/blobs3.csv: accuracy %.2f%% (%ld of 300 rows "
             "with a label)",
             100.0 * (double)right / 300, right);
    expect_err(want);
    json_decref(sum);
    /* --json: the probabilities sum to 1, the class is their argmax, the label is kept */
    assert_int_equal(run("predict '%s/b3' examples/data/blobs3.csv --json --quiet", tmp), 0);
    n = out_lines(&buf, line, 400);
    assert_int_equal(n, 300);
    for (int i = 0; i < n; i++) {
        json_t *o = json_loads(line[i], 0, NULL), *p = json_object_get(o, "probabilities");
        assert_non_null(o);
        assert_int_equal(json_array_size(p), 3);
        double s = 0;
        int best = 0;
        for (int k = 0; k < 3; k++) {
            s += json_number_value(json_array_get(p, (size_t)k));
            if (json_number_value(json_array_get(p, (size_t)k)) >
                json_number_value(json_array_get(p, (size_t)best)))
                best = k;
        }
        assert_true(fabs(s - 1) < 1e-5);
        assert_int_equal(json_integer_value(json_object_get(o, "class")), best);
        assert_int_equal(json_integer_value(json_object_get(o, "line")), i + 2);
        assert_true(json_is_integer(json_object_get(o, "label")));
        json_decref(o);
    }
    free(buf);
    char *err = tu_captured(tmp, "err");
    assert_string_equal(err, ""); /* --quiet: no accuracy line */
    free(err);
}

/* Every training point and every grid cell of the report's decision boundary (stats.json)
 * gets the class the report drew: the same model, the same argmax. */
static void test_csv_agrees_with_the_boundary(void **state)
{
    (void)state;
    blobs_run();
    json_t *st = load_json("b3/stats.json"), *b = json_object_get(st, "boundary");
    json_t *pts = json_object_get(b, "points"), *grid = json_object_get(b, "grid");
    size_t np = json_array_size(pts), G = json_array_size(grid);
    assert_int_equal(np, 240);
    assert_int_equal(G, 60);
    double x0[2], x1[2];
    for (int k = 0; k < 2; k++) {
        x0[k] = json_number_value(json_array_get(json_object_get(b, "x0"), (size_t)k));
        x1[k] = json_number_value(json_array_get(json_object_get(b, "x1"), (size_t)k));
    }
    char path[600];
    snprintf(path, sizeof path, "%s/points.csv", tmp);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "sepal,petal\n"); /* the columns in another order: matched by name */
    for (size_t i = 0; i < np; i++)
        fprintf(f, "%.9g,%.9g\n", json_number_value(json_array_get(json_array_get(pts, i), 1)),
                json_number_value(json_array_get(json_array_get(pts, i), 0)));
    for (size_t j = 0; j < G; j++) /* the grid as stats.c computes it */
        for (size_t i = 0; i < G; i++)
            fprintf(f, "%.9g,%.9g\n", (double)(float)(x1[0] + (x1[1] - x1[0]) * (double)j / 59),
                    (double)(float)(x0[0] + (x0[1] - x0[0]) * (double)i / 59));
    assert_int_equal(fclose(f), 0);
    assert_int_equal(run("predict '%s/b3' '%s' --out '%s/pred.txt'", tmp, path, tmp), 0);
    expect_no_out();
    snprintf(path, sizeof path, "%s/pred.txt", tmp);
    char *text = tu_read_file(path), *p = text;
    assert_non_null(text);
    size_t same = 0, cells = 0;
    for (size_t i = 0; i < np; i++, p = strchr(p, '\n') + 1)
        same += atoi(p) == json_integer_value(json_array_get(json_array_get(pts, i), 3));
    assert_int_equal(same, np);
    for (size_t j = 0; j < G; j++)
        for (size_t i = 0; i < G; i++, p = strchr(p, '\n') + 1)
            cells += atoi(p) == json_integer_value(json_array_get(json_array_get(grid, j), i));
    assert_int_equal(cells, G * G);
    assert_string_equal(p, "");
    free(text);
    json_decref(st);
}

/* Wrong CSV input: errors at INPUT:LINE:COL naming what would be right, exit 2, no output. */
static void test_csv_errors(void **state)
{
    (void)state;
    blobs_run();
    static const struct {
        const char *csv, *want[2];
    } cases[] = {
        {"petal,sepl,species\n1,2,0\n",
         {"rows.csv:1:1: error: '", "rows.csv' has no column 'sepal'"}},
        {"petal,sepl,species\n1,2,0\n",
         {"did you mean 'sepl'?",
          "the model reads the columns petal, sepal (in any order; 'species', the label"}},
        {"petal,sepal\n1,2\n0.5,abc\n", {"rows.csv:3:5: error: 'abc' is not a number", NULL}},
        {"petal,sepal,species\n1,2,0\n1,2,7\n",
         {"rows.csv:3:5: error: label 7 is no class of the model: its classes are 0 to 2", NULL}},
        {"petal,sepal\n1,2\n1,2,3\n", {"rows.csv:3:5: error: this row has 3 cells", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_file("rows.csv", cases[i].csv);
        int rc = run("predict '%s/b3' '%s/rows.csv'", tmp, tmp);
        if (rc != 2) fail_msg("case %zu: exit %d, want 2", i, rc);
        for (int k = 0; k < 2 && cases[i].want[k]; k++)
            expect_err(cases[i].want[k]);
        expect_no_out();
    }
    /* an empty label cell is a row without a label; INPUT from stdin */
    write_file("rows.csv", "petal,sepal,species\n-3.3610,-0.9154,\n1.3934,0.0858,1\n");
    assert_int_equal(run("predict '%s/b3' - <'%s/rows.csv'", tmp, tmp), 0);
    expect_err("accuracy 100.00% (1 of 1 rows with a label)");
    /* a table model samples no text; --top needs --json; INPUT is required */
    assert_int_equal(run("sample '%s/b3'", tmp), 2);
    expect_err("the model was trained on table data: sampling draws text");
    assert_int_equal(run("predict '%s/b3' '%s/rows.csv' --top 3", tmp, tmp), 2);
    expect_err("--top K chooses how many tokens --json lists: add --json");
    assert_int_equal(run("predict '%s/b3'", tmp), 2);
    expect_err("no INPUT given (nnrun predict RUN_DIR INPUT");
    assert_int_equal(run("predict '%s/nothing' '%s/rows.csv'", tmp, tmp), 2);
    expect_err("nothing");
}

/* --- text models -------------------------------------------------------------------------- */

/* A small names file (the first 400 names): short runs of the makemore models on it. */
static void small_names(void)
{
    static int done;
    if (done++) return;
    char *all = tu_read_file(tu_path("examples/data/names.txt")), *p = all;
    assert_non_null(all);
    for (int i = 0; i < 400; i++)
        p = strchr(p, '\n') + 1;
    tu_write_bytes(tmp, "names.txt", all, (size_t)(p - all));
    free(all);
}

/* Trains SPEC briefly into tmp/NAME on the small names file. */
static void train_text(const char *spec, const char *name, const char *sets)
{
    small_names();
    char done[600];
    snprintf(done, sizeof done, "%s/%s/summary.json", tmp, name);
    if (access(done, F_OK) == 0) return; /* trained by an earlier test */
    int rc = run("%s --quiet --out '%s/%s' --set data.source='%s/names.txt' --set train.steps=20 "
                 "--set eval.every=0 %s",
                 spec, tmp, name, tmp, sets);
    if (rc != 0) {
        char *err = tu_captured(tmp, "err");
        fail_msg("%s: exit %d:\n%s", spec, rc, err);
    }
}

/* The prefixes every text model is asked about: empty, short, and two longer than any
 * context (16) that end in the same 16 characters (so they crop to the same window). */
static const char PREFIXES[] = "\nem\nol\nxannabellaannabellaa\nyzannabellaannabellaa\n";

/* predict --json --top 100 (every token): valid tokens, probabilities that sum to 1 in
 * descending order, `next` the most likely; lines 4 and 5 crop to the same window. */
static void check_text_run(const char *name)
{
    write_file("prefixes.txt", PREFIXES);
    assert_int_equal(run("predict '%s/%s' '%s/prefixes.txt'", tmp, name, tmp), 0);
    char *buf, *line[16];
    int n = out_lines(&buf, line, 16);
    assert_int_equal(n, 5);
    for (int i = 0; i < n; i++)
        if (strlen(line[i]) != 1 ||
            !(line[i][0] == '.' || (line[i][0] >= 'a' && line[i][0] <= 'z')))
            fail_msg("%s line %d: '%s' is no token", name, i + 1, line[i]);
    assert_int_equal(run("predict '%s/%s' '%s/prefixes.txt' --json --top 100", tmp, name, tmp), 0);
    char *jbuf, *jline[16];
    assert_int_equal(out_lines(&jbuf, jline, 16), 5);
    json_t *last = NULL;
    for (int i = 0; i < 5; i++) {
        json_t *o = json_loads(jline[i], 0, NULL), *top = json_object_get(o, "top");
        assert_non_null(o);
        assert_string_equal(json_string_value(json_object_get(o, "next")), line[i]);
        double s = 0, prev = 2;
        for (size_t k = 0; k < json_array_size(top); k++) {
            double p = json_number_value(json_object_get(json_array_get(top, k), "p"));
            assert_true(p >= 0 && p <= prev);
            prev = p;
            s += p;
        }
        if (fabs(s - 1) > 1e-4) fail_msg("%s line %d: probabilities sum to %g", name, i + 1, s);
        assert_string_equal(json_string_value(json_object_get(json_array_get(top, 0), "token")),
                            line[i]);
        if (i == 4) /* the same last 16 characters */
            assert_true(json_equal(top, json_object_get(last, "top")));
        json_decref(last);
        last = o;
    }
    json_decref(last);
    free(jbuf);
    free(buf);
}

/* The probabilities of the token after `prefix` from the C API's forward pass on the run's
 * spec and weights (x = [start, prefix, 0 ...] of a sequence model), by token text. */
static double api_prob(const char *name, const char *prefix, const char *token)
{
    char spec[600], model[600];
    snprintf(spec, sizeof spec, "%s/%s/spec.resolved.yaml", tmp, name);
    snprintf(model, sizeof model, "%s/%s/model.safetensors", tmp, name);
    nnrun_spec *s = nnrun_spec_load(spec, NULL, 0, NULL);
    assert_non_null(s);
    nnrun_run *r = nnrun_run_new(s, NULL, NULL);
    nnrun_spec_free(s);
    assert_non_null(r);
    assert_int_equal(nnrun_load(r, model), NNRUN_OK);
    nn_diag *d = nn_diag_new();
    nn_st_file *f = nn_st_read(model, d);
    json_t *vocab = json_loads(nn_st_meta_get(f, "vocab"), 0, NULL);
    int V = (int)json_array_size(vocab), want = -1;
    nnrun_shape in, out;
    assert_int_equal(nnrun_forward_shape(r, 1, &in, &out), NNRUN_OK);
    int T = (int)in.dim[1], n = (int)strlen(prefix);
    float *x = calloc((size_t)in.numel, sizeof *x), *z = malloc((size_t)out.numel * sizeof *z);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < V; k++)
            if (json_string_value(json_array_get(vocab, (size_t)k))[0] == prefix[i])
                x[i + 1] = (float)k;
    for (int k = 0; k < V; k++)
        if (!strcmp(json_string_value(json_array_get(vocab, (size_t)k)), token)) want = k;
    assert_true(want >= 0 && n + 1 < T);
    assert_int_equal(nnrun_forward(r, x, 1, z, out.numel), NNRUN_OK);
    const float *zl = z + (size_t)n * V;
    double mx = zl[0], sum = 0;
    for (int k = 1; k < V; k++)
        mx = zl[k] > mx ? zl[k] : mx;
    for (int k = 0; k < V; k++)
        sum += exp(zl[k] - mx);
    double p = exp(zl[want] - mx) / sum;
    free(x);
    free(z);
    json_decref(vocab);
    nn_st_free(f);
    nn_diag_free(d);
    nnrun_run_free(r);
    return p;
}

/* The sequence models: predict's probability of its top token after "em" is the forward
 * pass's at position 2. */
static void check_against_api(const char *name)
{
    write_file("em.txt", "em\n");
    assert_int_equal(run("predict '%s/%s' '%s/em.txt' --json", tmp, name, tmp), 0);
    char *out = tu_captured(tmp, "out");
    json_t *o = json_loads(out, 0, NULL), *t0 = json_array_get(json_object_get(o, "top"), 0);
    assert_non_null(t0);
    double p = json_number_value(json_object_get(t0, "p"));
    double q = api_prob(name, "em", json_string_value(json_object_get(t0, "token")));
    if (!tu_close(p, q, 1e-6, 1e-5)) fail_msg("%s: predict %.9g, forward %.9g", name, p, q);
    json_decref(o);
    free(out);
}

static const char SEQ_SPLIT[] = "--set data.split.train=350 --set data.split.test=50";

static void test_text_counting_and_window_models(void **state)
{
    (void)state;
    train_text("tests/specs/good/trigram_counts.yaml", "trigram", "");
    check_text_run("trigram");
    train_text("specs/mlp_bn.yaml", "mlp_bn", "");
    check_text_run("mlp_bn");
}

static void test_text_recurrent_models(void **state)
{
    (void)state;
    train_text("specs/makemore_rnn.yaml", "rnn", SEQ_SPLIT);
    check_text_run("rnn");
    check_against_api("rnn");
    train_text("specs/makemore_gru.yaml", "gru", SEQ_SPLIT);
    check_text_run("gru");
    check_against_api("gru");
}

static void test_text_transformer(void **state)
{
    (void)state;
    train_text("specs/makemore_transformer.yaml", "transformer", SEQ_SPLIT);
    check_text_run("transformer");
    check_against_api("transformer");
}

/* Text not in the vocabulary, the end token, bytes that are no UTF-8: errors at the
 * character, every line checked before anything is printed. */
static void test_text_errors(void **state)
{
    (void)state;
    train_text("tests/specs/good/trigram_counts.yaml", "trigram", "");
    write_file("bad.txt", "emma\nol#ivia\nan.na\n\xc3\xa9mile\nab\xff\nli\tly\n");
    assert_int_equal(run("predict '%s/trigram' '%s/bad.txt'", tmp, tmp), 2);
    expect_err("bad.txt:2:3: error: '#' is not in the model's vocabulary");
    expect_err("note: its tokens: ");
    expect_err("bad.txt:3:3: error: '.' is the end token, not text");
    expect_err("bad.txt:4:1: error: 'é' is not in the model's vocabulary");
    expect_err("bad.txt:5:3: error: byte 0xff is not UTF-8 text");
    expect_err("bad.txt:6:3: error: the control character 0x09 is not in the model's vocabulary");
    expect_no_out();
    assert_int_equal(run("predict '%s/trigram' missing.txt", tmp), 2);
    expect_err("missing.txt");
    /* stdin, and an output file */
    write_file("ok.txt", "emm\n");
    assert_int_equal(run("predict '%s/trigram' - --out '%s/o.txt' <'%s/ok.txt'", tmp, tmp, tmp), 0);
    char p[600];
    snprintf(p, sizeof p, "%s/o.txt", tmp);
    char *o = tu_read_file(p);
    assert_non_null(o);
    assert_int_equal(strlen(o), 2);
    free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_accuracy_is_the_runs),
        cmocka_unit_test(test_csv_agrees_with_the_boundary),
        cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_text_counting_and_window_models),
        cmocka_unit_test(test_text_recurrent_models),
        cmocka_unit_test(test_text_transformer),
        cmocka_unit_test(test_text_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
