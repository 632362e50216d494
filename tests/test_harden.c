/* test_harden.c — bad luck and bad input: non-finite values stop the run naming step and
 * layer, output that cannot be written (before and during the run), data files that are
 * empty, binary, overlong or not UTF-8, and --max-memory. */
#include "testutil.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/exec/limits.h"
#include "runtime/train/nancheck.h"

static char tmp[256];

static void write_file(const char *name, const char *text, size_t len)
{
    tu_write_bytes(tmp, name, text, len);
}

static int exists(const char *rel)
{
    char p[400];
    snprintf(p, sizeof p, "%s/%s", tmp, rel);
    return access(p, F_OK) == 0;
}

static void assert_err_has(const char *what)
{
    char *err = tu_captured(tmp, "err");
    if (!strstr(err, what)) fprintf(stderr, "stderr lacks '%s':\n%s", what, err);
    assert_non_null(strstr(err, what));
    free(err);
}

/* --- numerical faults ------------------------------------------------------------------- */

static void test_grads_finite(void **state)
{
    (void)state;
    float a[21], b[5];
    nn_param p[2];
    memset(p, 0, sizeof p);
    p[0].grad = a, p[0].numel = 21;
    p[1].grad = b, p[1].numel = 5;
    nn_params P = {p, 2, 26, NULL, 0};
    for (int i = 0; i < 21; i++)
        a[i] = i % 2 ? 3e38f : -3e38f; /* huge but finite: no overflow in the check */
    for (int i = 0; i < 5; i++)
        b[i] = (float)i;
    assert_int_equal(nn_grads_finite(&P), 1);
    float bad[] = {NAN, INFINITY, -INFINITY};
    int where[] = {0, 7, 8, 16, 20}; /* lanes, block edges and the scalar tail */
    for (int k = 0; k < 3; k++)
        for (int w = 0; w < 5; w++) {
            float keep = a[where[w]];
            a[where[w]] = bad[k];
            assert_int_equal(nn_grads_finite(&P), 0);
            a[where[w]] = keep;
        }
    b[4] = NAN;
    assert_int_equal(nn_grads_finite(&P), 0);
}

/* lr 1e6: exit 1, the step and the layer named, and the run directory kept */
static void test_nan_lr(void **state)
{
    (void)state;
    char args[600];
    snprintf(args, sizeof args,
             "specs/mlp.yaml --set train.steps=200 --set train.lr=1e6 --quiet --out '%s/nan'", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 1);
    assert_err_has("specs/mlp.yaml:");
    assert_err_has(": error: step ");
    assert_err_has("'layers.0.weight' [27, 10] of layer 0 (embedding) is non-finite: the update "
                   "of step ");
    assert_true(exists("nan/metrics.csv"));
    assert_true(exists("nan/summary.json"));
    assert_true(exists("nan/report.html"));
    char p[400];
    snprintf(p, sizeof p, "%s/nan/summary.json", tmp);
    char *summary = tu_read_file(p);
    assert_non_null(summary);
    assert_non_null(strstr(summary, "\"stopped\": \"step "));
    free(summary);
    /* BatchNorm's running buffers are checked with the gradients; without, the loss.  (At lr
     * 1e6 mlp_bn's loss stays finite, about 3e7; at 1e10 too, its batch statistics being
     * summed in double: lr 1e15 overflows the running mean.) */
    snprintf(args, sizeof args,
             "specs/mlp_bn.yaml --set train.steps=200 --set train.lr=1e15 --quiet --out '%s/nan2'",
             tmp);
    assert_int_equal(tu_nnrun(tmp, args), 1);
    assert_err_has("specs/mlp_bn.yaml:20:5: error: step ");
    assert_err_has("the running buffer 'layers.3.running_mean' [200] of layer 3 (batchnorm) "
                   "became non-finite in the forward pass");
    snprintf(args, sizeof args,
             "specs/mlp_bn.yaml --set train.steps=200 --set train.lr=1e10 --quiet --no-nan-check "
             "--out '%s/nan4'",
             tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0); /* unchecked: BatchNorm keeps the loss finite */
    /* a model whose output layer overflows first */
    snprintf(args, sizeof args,
             "specs/micrograd_moons.yaml --set train.steps=50 --set train.lr=1e6 --quiet "
             "--out '%s/nan3'",
             tmp);
    assert_int_equal(tu_nnrun(tmp, args), 1);
    assert_err_has("the loss became non-finite (inf)");
    assert_err_has("layer 4 (linear)");
}

/* --- output faults ---------------------------------------------------------------------- */

/* Unwritable output directories: exit 2 before training (nothing printed on stdout, no
 * metrics).  Root ignores permission bits, so the portable cases are a path under a
 * regular file and /proc/self; a read-only directory is tried when not root. */
static void test_unwritable_out(void **state)
{
    (void)state;
    char args[600];
    write_file("plain", "x", 1);
    snprintf(args, sizeof args, "specs/mlp.yaml --set train.steps=5 --out '%s/plain/run'", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    assert_err_has("cannot use output directory");
    char *out = tu_captured(tmp, "out");
    assert_string_equal(out, "");
    free(out);
    assert_int_equal(tu_nnrun(tmp, "specs/mlp.yaml --set train.steps=5 --out /proc/self"), 2);
    assert_err_has("cannot use output directory '/proc/self'");
    if (geteuid() != 0) {
        char ro[300];
        snprintf(ro, sizeof ro, "%s/ro", tmp);
        assert_int_equal(mkdir(ro, 0555), 0);
        snprintf(args, sizeof args, "specs/mlp.yaml --set train.steps=5 --out '%s/run'", ro);
        assert_int_equal(tu_nnrun(tmp, args), 2);
        assert_err_has("Permission denied");
        chmod(ro, 0755);
    }
}

/* A file size limit hit mid-run: a clean error and exit 1 (not SIGXFSZ), the files
 * finished before it complete. */
static void test_file_size_limit(void **state)
{
    (void)state;
    const char *bin = getenv("NNRUN_BIN");
    char cmd[2000];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && (ulimit -f 16 && exec '%s' specs/mlp.yaml --set train.steps=3000 "
             "--set eval.every=100 --quiet --out '%s/fsz') >'%s/out' 2>'%s/err'",
             tu_srcdir(), bin ? bin : "./nnrun", tmp, tmp, tmp);
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    assert_err_has("File too large");
    assert_err_has("the run stopped at step ");
    /* spec.resolved.yaml was written whole before training: as `check --resolved` */
    snprintf(cmd, sizeof cmd,
             "check --resolved specs/mlp.yaml --set train.steps=3000 --set eval.every=100");
    assert_int_equal(tu_nnrun(tmp, cmd), 0);
    char *want = tu_captured(tmp, "out"), p[400];
    snprintf(p, sizeof p, "%s/fsz/spec.resolved.yaml", tmp);
    char *got = tu_read_file(p);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(want);
    free(got);
}

/* --- data faults ------------------------------------------------------------------------ */

/* A text data file `data` (len bytes) under a minimal spec: `check` must exit 2 with
 * `expect` on stderr. */
static void check_data(const char *data, size_t len, const char *extra, const char *expect)
{
    char spec[600], args[700];
    snprintf(spec, sizeof spec,
             "data: {source: d.txt}\nmodel: [{embedding: {dim: 2}}, flatten, linear]\n%s",
             extra ? extra : "");
    write_file("s.yaml", spec, strlen(spec));
    write_file("d.txt", data, len);
    snprintf(args, sizeof args, "check '%s/s.yaml'", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    assert_err_has(expect);
}

static void test_bad_data(void **state)
{
    (void)state;
    check_data("", 0, NULL, "s.yaml:1:16: error: no items left in '");
    assert_err_has("d.txt' (0 lines read, 0 dropped");
    check_data("\n\n\r\n", 4, NULL, "d.txt' (3 lines read, 3 dropped");
    check_data("anna\nbo\0b\n", 10, NULL, "d.txt:2:3: error: binary data (a NUL byte)");
    check_data("anna\nb\xc3\n", 8, NULL,
               "d.txt:2:2: error: invalid UTF-8 in data file (byte 0xc3)");
    check_data("ab\xed\xa0\x80\n", 6, NULL, "d.txt:1:3: error: invalid UTF-8"); /* a surrogate */
    check_data("emma\nx.y\n", 9, NULL, "d.txt:2:2: error: '.' cannot appear in an item");
    size_t n = (1 << 20) + 10;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'a', n);
    memcpy(big, "ab\ncd\n", 6);
    big[n - 1] = '\n';
    check_data(big, n, NULL, "d.txt:3:1048577: error: line 3 is 1048579 bytes long");
    free(big);
    /* a device that never ends: read up to --max-memory, then refused */
    write_file("z.yaml", "data: {source: /dev/zero}\nmodel: [linear]\n", 42);
    char args[400];
    snprintf(args, sizeof args, "check '%s/z.yaml' --max-memory 1M", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    assert_err_has("z.yaml:1:16: error: reading data file '/dev/zero' needs ");
    check_data("abc\nabd\nbad\ncab\n", 16, "sample: {prefix: abz}\n",
               "sample.prefix 'abz': 'z' at byte 3 is not in the vocabulary");
}

/* --- resource limits -------------------------------------------------------------------- */

static void test_parse_bytes(void **state)
{
    (void)state;
    size_t v = 0;
    assert_int_equal(nn_parse_bytes("512", &v), 0);
    assert_int_equal(v, 512);
    assert_int_equal(nn_parse_bytes("1M", &v), 0);
    assert_int_equal(v, 1 << 20);
    assert_int_equal(nn_parse_bytes("3k", &v), 0);
    assert_int_equal(v, 3 << 10);
    assert_int_equal(nn_parse_bytes("2GiB", &v), 0);
    assert_int_equal(v, (size_t)2 << 30);
    assert_int_equal(nn_parse_bytes("4MB", &v), 0);
    assert_int_equal(v, (size_t)4 << 20);
    const char *bad[] = {"", "M", "0", "-1", "1.5M", "12X", "1MM", "99999999999999999999G"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(nn_parse_bytes(bad[i], &v), -1);
    assert_true(nn_max_memory_default() > 0);
}

static void test_max_memory(void **state)
{
    (void)state;
    char args[600];
    snprintf(args, sizeof args, "specs/large.yaml --max-memory 1M --out '%s/big'", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    assert_err_has("specs/large.yaml:17:5: error: the model needs ");
    assert_err_has("bytes), more than --max-memory 1.0 MiB (1048576 bytes)");
    assert_err_has("the largest tensor is 'layers.2.out' [");
    assert_false(exists("big")); /* refused before the run directory, before training */
    assert_int_equal(tu_nnrun(tmp, "check specs/large.yaml --max-memory 1M"), 2);
    assert_int_equal(tu_nnrun(tmp, "check specs/large.yaml --max-memory 4G"), 0);
    /* the counting model: its count table (27^3 cells for a 4-gram) */
    assert_int_equal(tu_nnrun(tmp, "check specs/bigram_counts.yaml --set model.0.ngram.n=4 --set "
                                   "data.context=3 --max-memory 1M"),
                     2);
    assert_err_has("error: an ngram with n = 4 over 27 tokens needs 10.1 MiB (10628820 bytes)");
    assert_int_equal(tu_nnrun(tmp, "check specs/large.yaml --max-memory 1.5G"), 2);
    assert_err_has("--max-memory expects a size in bytes");
}

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmp, sizeof tmp, "/tmp/nnrun-harden-XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grads_finite),   cmocka_unit_test(test_nan_lr),
        cmocka_unit_test(test_unwritable_out), cmocka_unit_test(test_file_size_limit),
        cmocka_unit_test(test_bad_data),       cmocka_unit_test(test_parse_bytes),
        cmocka_unit_test(test_max_memory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
