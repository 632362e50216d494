/* test_blocks.c — the model's structure (blocks, repeat, residual), the sequence layers in
 * the IR (names, residual adds, gradients against finite differences through the binary's
 * gradcheck), sequence data (makemore.py's examples and split) and the graph-level errors
 * of blocks (tests/specs/bad_graph: exit 2 and the golden first line). */
#include <dirent.h>

#include "testutil.h"

#include "ir/build.h"
#include "ir/op.h"
#include "parser/spec.h"
#include "runtime/data/data.h"

static char tmp[256];

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmp, sizeof tmp, "/tmp/nnrun-blocks-XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmp);
}

static const char GPT[] =
    "name: gpt\n"
    "seed: 1\n"
    "data:\n"
    "  source: %s\n"
    "  context: 16\n"
    "  examples: sequence\n"
    "  split: {train: 31033, dev: 0, test: 1000, shuffle: {seed: 3407, compat: torch}}\n"
    "blocks:\n"
    "  gpt:\n"
    "    - residual: [layernorm, {attention: {heads: 2}}]\n"
    "    - residual: [layernorm, {linear: {out: 32}}, {gelu: {approximate: tanh}}, "
    "{linear: {out: 16}}]\n"
    "model:\n"
    "  - embedding: {dim: 16, positions: 16}\n"
    "  - repeat: {block: gpt, n: 3}\n"
    "  - residual: [causal_mean]\n"
    "  - layernorm\n"
    "  - linear: {bias: false}\n"
    "train: {steps: 3, batch: 4}\n";

static nn_spec *load_gpt(nn_diag *d)
{
    static char text[8192];
    snprintf(text, sizeof text, GPT, tu_path("examples/data/names.txt"));
    tu_write_bytes(tmp, "gpt.yaml", text, strlen(text));
    char p[400];
    snprintf(p, sizeof p, "%s/gpt.yaml", tmp);
    nn_spec *s = nn_spec_load(p, NULL, 0, d);
    if (!s) nn_diag_print(d, stderr);
    assert_non_null(s);
    return s;
}

static int find_tensor(const nn_graph *g, const char *name)
{
    for (int i = 0; i < g->nt; i++)
        if (!strcmp(g->t[i].name, name)) return i;
    return -1;
}

/* The flattened list, the names and the residual adds of the IR. */
static void t_structure(void **state)
{
    (void)state;
    nn_diag *d = nn_diag_new();
    nn_spec *s = load_gpt(d);
    assert_int_equal(s->nmodel, 5);
    assert_int_equal(s->nblocks, 1);
    /* 1 + 3 × (R, ln, qkv, core, proj, END, R, ln, lin, gelu, lin, END) + R, mean, END + 2 */
    assert_int_equal(s->nlayers, 1 + 3 * 12 + 3 + 2);
    assert_string_equal(s->layers[0].name, "layers.0");
    assert_string_equal(s->layers[3].name, "blocks.0.attention.qkv");
    assert_string_equal(s->layers[1 + 12 + 9].name, "blocks.1.gelu");
    assert_string_equal(s->layers[s->nlayers - 1].name, "layers.4");
    nn_build_opts o = {4, 1, 1, 27, 16, 0, 1};
    nn_graph *g = nn_build(s, &o, d);
    assert_non_null(g);
    const char *names[] = {"blocks.2.attention.qkv.weight", "blocks.2.attention.proj.bias",
                           "blocks.0.layernorm_1.weight",  "blocks.1.linear_1.weight",
                           "layers.0.positions",           "layers.2.residual.out"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (find_tensor(g, names[i]) < 0) fail_msg("no tensor %s", names[i]);
    int adds = 0;
    for (int i = 0; i < g->nfwd; i++)
        adds += g->n[i].op == &nn_op_residual;
    assert_int_equal(adds, 3 * 2 + 1);
    int qkv = find_tensor(g, "blocks.0.attention.qkv.weight");
    assert_int_equal(g->t[qkv].dim[0], 16);
    assert_int_equal(g->t[qkv].dim[1], 48);
    int logits = g->logits;
    assert_int_equal(g->t[logits].ndim, 3);
    assert_int_equal(g->t[logits].dim[2], 27);
    nn_graph_free(g);
    nn_spec_free(s);
    nn_diag_free(d);
}

/* makemore.py's split and examples: training set starts apollo, test set kalub … jvion. */
static void t_sequence_data(void **state)
{
    (void)state;
    nn_diag *d = nn_diag_new();
    nn_spec *s = load_gpt(d);
    nn_dataset *ds = nn_dataset_load(s, d);
    assert_non_null(ds);
    const nn_split *tr = &ds->split[NN_SPLIT_TRAIN], *te = &ds->split[NN_SPLIT_TEST];
    assert_int_equal(tr->n, 31033);
    assert_int_equal(te->n, 1000);
    assert_int_equal(ds->ytw, 16);
    const struct {
        const nn_split *sp;
        long row;
        const char *word;
    } want[] = {{tr, 0, "apollo"}, {tr, 1, "jayliani"}, {te, 0, "kalub"}, {te, 999, "jvion"}};
    for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
        const int32_t *x = want[k].sp->x + want[k].row * 16, *y = want[k].sp->y + want[k].row * 16;
        size_t n = strlen(want[k].word);
        assert_int_equal(x[0], 0);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(x[i + 1], want[k].word[i] - 'a' + 1);
            assert_int_equal(y[i], want[k].word[i] - 'a' + 1);
        }
        assert_int_equal(y[n], 0);
        for (size_t i = n + 1; i < 16; i++) {
            assert_int_equal(y[i], -1);
            assert_int_equal(x[i], 0);
        }
    }
    long targets = 0;
    for (long i = 0; i < tr->n * 16; i++)
        targets += tr->y[i] >= 0;
    assert_int_equal(tr->targets, targets);
    nn_dataset_free(ds);
    nn_spec_free(s);
    nn_diag_free(d);
}

/* The whole model's gradients against central differences (nnrun gradcheck). */
static void t_gradcheck(void **state)
{
    (void)state;
    nn_diag *d = nn_diag_new();
    nn_spec_free(load_gpt(d));
    nn_diag_free(d);
    char args[600];
    snprintf(args, sizeof args, "gradcheck '%s/gpt.yaml'", tmp);
    int rc = tu_nnrun(tmp, args);
    char *out = tu_captured(tmp, "out");
    if (rc != 0) fail_msg("gradcheck failed:\n%s", out);
    assert_non_null(strstr(out, "blocks.2.attention.qkv.weight"));
    free(out);
}

/* The resolved spec keeps the structure and reads back to itself. */
static void t_resolved(void **state)
{
    (void)state;
    nn_diag *d = nn_diag_new();
    nn_spec_free(load_gpt(d));
    nn_diag_free(d);
    char args[600];
    snprintf(args, sizeof args, "check --resolved '%s/gpt.yaml'", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    char *once = tu_captured(tmp, "out");
    assert_non_null(strstr(once, "\nblocks:\n  gpt:\n    - residual:\n"));
    assert_non_null(strstr(once, "  - repeat: {block: gpt, n: 3}\n"));
    tu_write_bytes(tmp, "again.yaml", once, strlen(once));
    snprintf(args, sizeof args, "check --resolved '%s/again.yaml'", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    char *twice = tu_captured(tmp, "out");
    assert_string_equal(once, twice);
    free(once);
    free(twice);
}

/* Graph-level errors of blocks: exit 2, the golden first line, a note at the use. */
static void t_bad_graph(void **state)
{
    (void)state;
    DIR *dir = opendir(tu_path("tests/specs/bad_graph"));
    assert_non_null(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml")) continue;
        char rel[600], gp[700], args[700], want[1400];
        snprintf(rel, sizeof rel, "tests/specs/bad_graph/%s", e->d_name);
        snprintf(gp, sizeof gp, "%s/tests/specs/bad_graph/%.*s.err", tu_srcdir(), (int)(len - 5),
                 e->d_name);
        char *golden = tu_read_file(gp);
        if (!golden) fail_msg("%s has no golden .err file", rel);
        golden[strcspn(golden, "\n")] = 0;
        snprintf(want, sizeof want, "%s%s", rel, golden + 4);
        snprintf(args, sizeof args, "check '%s'", rel);
        int rc = tu_nnrun(tmp, args);
        char *err = tu_captured(tmp, "err");
        if (rc != 2 || strncmp(err, want, strlen(want)))
            fail_msg("%s: exit %d, got\n%s\nwant exit 2 and\n%s", rel, rc, err, want);
        if (!strstr(err, "the block is used here")) fail_msg("%s: no note at the use:\n%s", rel, err);
        free(err);
        free(golden);
        n++;
    }
    closedir(dir);
    assert_true(n >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_structure),  cmocka_unit_test(t_sequence_data),
        cmocka_unit_test(t_gradcheck),  cmocka_unit_test(t_resolved),
        cmocka_unit_test(t_bad_graph),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
