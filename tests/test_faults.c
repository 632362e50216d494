/* test_faults.c — a run's faults (issue 16): output that cannot be written stops the run
 * at the next flush of its metrics with the rows written so far whole; a metrics file
 * that cannot be opened stops it before training; --max-memory counts every part of a run
 * and names the biggest; out-of-memory and temporary-file failures say so; a sweep cell
 * stopped by a signal continues from its checkpoint, and a failing cell's message names
 * its matrix point.
 *
 * Faults are made for real in a child process: a file size limit (RLIMIT_FSIZE), a
 * missing TMPDIR, and allocations over a size failing (tests/plugins/failalloc.so as
 * LD_PRELOAD, or AddressSanitizer's max_allocation_size_mb under ASan). */
#include <jansson.h>
#include <libgen.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char tmp[512];

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmp, sizeof tmp, "/tmp/nnrun-test-faults-XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmp);
}

static const char *bin(void)
{
    const char *b = getenv("NNRUN_BIN");
    return b ? b : "./nnrun";
}

/* The build tree (test plugins live there): the directory of $NNRUN_BIN. */
static const char *builddir(void)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s", bin());
    return dirname(buf);
}

static int exists(const char *rel)
{
    char p[800];
    snprintf(p, sizeof p, "%s/%s", tmp, rel);
    return access(p, F_OK) == 0;
}

static char *err_text(void)
{
    return tu_captured(tmp, "err");
}

static void assert_err_has(const char *what)
{
    char *err = err_text();
    if (!strstr(err, what)) fail_msg("stderr lacks '%s':\n%s", what, err);
    free(err);
}

/* `sh -c "cd SRCDIR && CMD"` with stdout, stderr in tmp/out, tmp/err, under a file size
 * limit of `fsize` bytes (−1: none); returns the exit status (−1: killed). */
static int run_sh(long fsize, const char *cmd)
{
    char full[8192];
    snprintf(full, sizeof full, "cd '%s' && %s >'%s/out' 2>'%s/err'", tu_srcdir(), cmd, tmp, tmp);
    pid_t pid = fork();
    if (pid == 0) {
        if (fsize >= 0) {
            struct rlimit rl = {(rlim_t)fsize, (rlim_t)fsize};
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(126);
        }
        execl("/bin/sh", "sh", "-c", full, (char *)NULL);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* "ENV 'nnrun' ARGS": ENV makes every allocation of `bytes` or more fail. */
static const char *failing_alloc(size_t bytes)
{
    static char env[2048];
#if defined(__SANITIZE_ADDRESS__)
    const char *asan = getenv("ASAN_OPTIONS");
    snprintf(env, sizeof env,
             "ASAN_OPTIONS='%s%sallocator_may_return_null=1:max_allocation_size_mb=%zu'",
             asan ? asan : "", asan && *asan ? ":" : "", bytes >> 20);
#else
    snprintf(env, sizeof env,
             "LD_PRELOAD='%s/tests/plugins/failalloc.so' NNRUN_FAIL_ALLOC_BYTES=%zu", builddir(),
             bytes);
#endif
    return env;
}

/* --- output faults ---------------------------------------------------------------------- */

/* Each line of tmp/REL ends with a newline; each is a CSV row of 13 cells, or JSON. */
static void assert_rows_whole(const char *rel, int json)
{
    char p[800];
    snprintf(p, sizeof p, "%s/%s", tmp, rel);
    char *text = tu_read_file(p);
    assert_non_null(text);
    size_t n = strlen(text);
    assert_true(n > 0);
    assert_int_equal(text[n - 1], '\n');
    long rows = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), rows++) {
        if (json) {
            json_t *j = json_loads(line, 0, NULL);
            if (!j) fail_msg("%s row %ld is no JSON: %.80s", rel, rows, line);
            json_decref(j);
        } else {
            int commas = 0;
            for (char *c = line; *c; c++)
                commas += *c == ',';
            if (commas != 12) fail_msg("%s row %ld is cut: %.80s", rel, rows, line);
        }
    }
    assert_true(rows > 100);
    free(text);
}

/* A 256 KiB file size limit with eval.every 0: the run stops at the first flush of its
 * metrics that fails (16,384 steps: the loss buffer), not after all its steps; exit 1
 * with the reason; the rows written are whole. */
static void test_fault_at_flush(void **state)
{
    (void)state;
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "exec '%s' specs/mlp.yaml --set train.steps=60000 --set eval.every=0 --set eval.log_every=1 "
             "--set report.plots=none --threads 1 --quiet --out '%s/fsz'",
             bin(), tmp);
    assert_int_equal(run_sh(256 << 10, cmd), 1);
    assert_err_has("File too large");
    char *err = err_text(), *at = strstr(err, "the run stopped at step ");
    assert_non_null(at);
    long step = atol(at + strlen("the run stopped at step "));
    free(err);
    assert_true(step > 0 && step <= 16384); /* the first flush, not step 60000 */
    assert_rows_whole("fsz/metrics.csv", 0);
    assert_rows_whole("fsz/metrics.jsonl", 1);
}

/* A metrics file that cannot be opened — a directory in its place, one gone before a
 * resume — stops the run before training, exit 2, naming it. */
static void test_metrics_unopenable(void **state)
{
    (void)state;
    char args[2048], p[800];
    snprintf(p, sizeof p, "%s/md/metrics.jsonl", tmp);
    assert_int_equal(mkdir(dirname(strcpy(args, p)), 0755), 0);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(args, sizeof args, "specs/mlp.yaml --set train.steps=50 --quiet --out '%s/md' --force",
             tmp);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    assert_err_has("metrics.jsonl");
    assert_err_has("Is a directory");
    assert_false(exists("md/model.safetensors")); /* no training */
    /* resume */
    snprintf(args, sizeof args,
             "specs/mlp.yaml --set train.steps=200 --quiet --out '%s/rs' --stop-after 100", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    snprintf(p, sizeof p, "%s/rs/metrics.csv", tmp);
    assert_int_equal(unlink(p), 0);
    snprintf(args, sizeof args, "specs/mlp.yaml --set train.steps=200 --quiet --resume '%s/rs'",
             tmp);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    assert_err_has("cannot resume");
    assert_err_has("metrics.csv");
    assert_false(exists("rs/metrics.csv"));
}

/* spec.resolved.yaml that cannot be written (a file size limit of 512 bytes, which the
 * message on stderr fits in): exit 2 with the reason, not a stale one. */
static void test_resolved_unwritable(void **state)
{
    (void)state;
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "exec '%s' specs/mlp.yaml --set train.steps=5 --quiet --out '%s/z'",
             bin(), tmp);
    assert_int_equal(run_sh(512, cmd), 2);
    assert_err_has("cannot write '");
    assert_err_has("spec.resolved.yaml': File too large");
}

/* --- --max-memory ----------------------------------------------------------------------- */

/* The bytes in "(N bytes)" after `from`, or −1. */
static long bytes_after(const char *from)
{
    const char *b = strstr(from, " bytes)");
    if (!b) return -1;
    while (b > from && b[-1] >= '0' && b[-1] <= '9')
        b--;
    return atol(b);
}

/* The refusal names every part, biggest first; they add up to the total, and the total is
 * the limit that passes. */
static void test_max_memory_parts(void **state)
{
    (void)state;
    char args[1024];
    assert_int_equal(tu_nnrun(tmp, "bench specs/mlp_bn.yaml --steps 1 --threads 2 --max-memory 1M"), 2);
    char *err = err_text();
    const char *need = strstr(err, "the model needs ");
    assert_non_null(need);
    long total = bytes_after(need);
    const char *parts = strstr(err, "note: the parts, biggest first: ");
    assert_non_null(parts);
    const char *eol = strchr(parts, '\n');
    char note[2048];
    snprintf(note, sizeof note, "%.*s", (int)(eol ? eol - parts : (long)strlen(parts)), parts);
    static const char *want[] = {"parameters, gradients and optimizer state",
                                 "training arena",
                                 "2 evaluation arenas",
                                 "statistics plan",
                                 "background evaluation",
                                 "NaN search plan"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(note, want[i])) fail_msg("no part '%s' in: %s", want[i], note);
    long sum = 0, prev = -1;
    for (char *q = note; (q = strstr(q, " bytes)")); q++) {
        char *b = q;
        while (b > note && b[-1] >= '0' && b[-1] <= '9')
            b--;
        long v = atol(b);
        assert_true(prev < 0 || v <= prev); /* biggest first */
        prev = v;
        sum += v;
    }
    free(err);
    assert_int_equal(sum, total);
    snprintf(args, sizeof args, "bench specs/mlp_bn.yaml --steps 1 --threads 2 --max-memory %ld", total);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    snprintf(args, sizeof args, "bench specs/mlp_bn.yaml --steps 1 --threads 2 --max-memory %ld", total - 1);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    /* --dump-step adds its plan */
    snprintf(args, sizeof args,
             "specs/mlp_bn.yaml --threads 2 --dump-step 3 --max-memory %ld --out '%s/d'", total,
             tmp);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    assert_err_has("--dump-step plan");
    assert_false(exists("d"));
}

/* --- out of memory, temporary files ------------------------------------------------------- */

/* names.txt ten times over in tmp/big.txt (2.2 MB), and a spec reading PATH. */
static void big_data(const char *spec_name, const char *path)
{
    char src[800], spec[2048];
    snprintf(src, sizeof src, "%s/examples/data/names.txt", tu_srcdir());
    char *names = tu_read_file(src);
    assert_non_null(names);
    size_t n = strlen(names);
    char *all = malloc(10 * n);
    assert_non_null(all);
    for (int i = 0; i < 10; i++)
        memcpy(all + (size_t)i * n, names, n);
    tu_write_bytes(tmp, "big.txt", all, 10 * n);
    free(all);
    free(names);
    snprintf(spec, sizeof spec,
             "name: big\ndata: {source: %s}\nmodel: [{embedding: {dim: 2}}, flatten, linear]\n",
             path);
    tu_write_bytes(tmp, spec_name, spec, strlen(spec));
}

/* Reading a data file from a pipe (it grows by realloc) when the memory runs out: an error,
 * never the part read so far taken as the whole file. */
static void test_oom_reading(void **state)
{
    (void)state;
    char cmd[4096];
    big_data("pipe.yaml", "/dev/stdin");
    snprintf(cmd, sizeof cmd, "cat '%s/big.txt' | %s '%s' check '%s/pipe.yaml'", tmp,
             failing_alloc(1 << 20), bin(), tmp);
    assert_int_equal(run_sh(-1, cmd), 2);
    assert_err_has("out of memory reading data file '/dev/stdin'");
    /* the same without the fault reads the whole: 320,330 items */
    snprintf(cmd, sizeof cmd, "cat '%s/big.txt' | '%s' check '%s/pipe.yaml'", tmp,
             bin(), tmp);
    assert_int_equal(run_sh(-1, cmd), 0);
}

/* Out of memory while loading text data: exit 2 with a message (not an empty stderr). */
static void test_oom_loading(void **state)
{
    (void)state;
    char cmd[4096], path[800];
    snprintf(path, sizeof path, "%s/big.txt", tmp);
    big_data("file.yaml", path);
    snprintf(cmd, sizeof cmd, "%s '%s' check '%s/file.yaml'", failing_alloc(4 << 20),
             bin(), tmp);
    assert_int_equal(run_sh(-1, cmd), 2);
    assert_err_has("file.yaml:2:16: error: out of memory loading the data of '");
}

/* A model file whose stored spec cannot be written to a temporary file: a message. */
static void test_sample_tmpdir(void **state)
{
    (void)state;
    char args[2048], cmd[4096];
    snprintf(args, sizeof args, "specs/mlp.yaml --set train.steps=5 --quiet --out '%s/m'", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    snprintf(cmd, sizeof cmd, "TMPDIR='%s/none' exec '%s' sample '%s/m' --count 2", tmp, bin(),
             tmp);
    assert_int_equal(run_sh(-1, cmd), 2);
    assert_err_has("cannot write the stored spec to a temporary file '");
    assert_err_has("No such file or directory");
    snprintf(cmd, sizeof cmd, "TMPDIR='%s' exec '%s' sample '%s/m' --count 2", tmp, bin(), tmp);
    assert_int_equal(run_sh(-1, cmd), 0);
}

/* --- sweeps ----------------------------------------------------------------------------- */

/* A sweep of one cell whose activation is the test plugin's `fn` (trap.c). */
static void plugin_sweep(const char *name, const char *fn)
{
    char spec[4096];
    snprintf(spec, sizeof spec,
             "name: %s\ndata: {source: %s/examples/data/names.txt}\nmatrix: {h: [6]}\n"
             "plugins:\n  act: {library: %s/tests/plugins/trap.so, forward: %s, "
             "backward: trap_grad, form: scalar, check: false}\n"
             "model:\n  - embedding: {dim: 2}\n  - flatten\n  - linear: {out: '${matrix.h}'}\n"
             "  - activation: act\n  - linear\n"
             "train: {steps: 400, batch: 8}\neval: {every: 0}\nsample: {count: 0}\n"
             "report: {plots: none}\n",
             name, tu_srcdir(), builddir(), fn);
    char file[64];
    snprintf(file, sizeof file, "%.50s.yaml", name);
    tu_write_bytes(tmp, file, spec, strlen(spec));
}

/* The cell's one directory under tmp/DIR (a sweep of one cell), into buf. */
static void only_cell(const char *dir, char *buf, size_t len)
{
    char args[4096];
    snprintf(args, sizeof args, "sweep '%s/%s.yaml' --list --out '%s/%s'", tmp, dir, tmp, dir);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    char *out = tu_captured(tmp, "out"), id[32] = "";
    assert_int_equal(sscanf(out, "0\t%31s", id), 1);
    free(out);
    snprintf(buf, len, "%s/%s/%s", tmp, dir, id);
}

/* A cell stopped by SIGTERM (raised by the plugin at a fixed call: no timing) continues
 * from its checkpoint when the sweep runs again, not from step 0. */
static void test_cell_resumes(void **state)
{
    (void)state;
    char args[2048], cell[1024], p[1200];
    plugin_sweep("stopme", "stopper");
    only_cell("stopme", cell, sizeof cell);
    setenv("NNRUN_STOP_AT_CALL", "4801", 1); /* 48 calls a step: during step 100 */
    snprintf(args, sizeof args, "sweep '%s/stopme.yaml' --cell 0 --threads 1 --out '%s/stopme'",
             tmp, tmp);
    assert_int_equal(tu_nnrun(tmp, args), 143);
    unsetenv("NNRUN_STOP_AT_CALL");
    snprintf(p, sizeof p, "%s/training.safetensors", cell);
    assert_int_equal(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/DONE", cell);
    assert_int_not_equal(access(p, F_OK), 0);
    snprintf(args, sizeof args, "sweep '%s/stopme.yaml' -j 1 --threads 1 --out '%s/stopme'", tmp,
             tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    assert_int_equal(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/stderr.txt", cell);
    char *log = tu_read_file(p);
    assert_non_null(log);
    const char *at = strstr(log, "matrix point h=6 continues from its checkpoint at step ");
    if (!at) fail_msg("the cell did not continue from its checkpoint:\n%s", log);
    long step = atol(strstr(at, " at step ") + 9);
    assert_true(step > 90 && step < 400);
    free(log);
    /* every step's row once: those before the checkpoint kept, the rest appended */
    snprintf(p, sizeof p, "%s/metrics.csv", cell);
    char *csv = tu_read_file(p);
    assert_non_null(csv);
    assert_non_null(strstr(csv, "\n99,"));
    assert_null(strstr(strstr(csv, "\n99,") + 1, "\n99,"));
    assert_non_null(strstr(csv, "\n399,"));
    free(csv);
}

/* A cell whose plugin returns NaN: the message names the cell's matrix point. */
static void test_cell_divergence_names_point(void **state)
{
    (void)state;
    char args[2048], cell[1024], p[1200];
    plugin_sweep("nanme", "nanner");
    only_cell("nanme", cell, sizeof cell);
    setenv("NNRUN_NAN_AT_CALL", "1000", 1);
    snprintf(args, sizeof args, "sweep '%s/nanme.yaml' -j 1 --threads 1 --out '%s/nanme'", tmp,
             tmp);
    assert_int_equal(tu_nnrun(tmp, args), 1);
    unsetenv("NNRUN_NAN_AT_CALL");
    snprintf(p, sizeof p, "%s/FAILED", cell);
    char *failed = tu_read_file(p);
    assert_non_null(failed);
    if (!strstr(failed, "plugin 'act'") || !strstr(failed, "(matrix point h=6)"))
        fail_msg("FAILED does not name the point:\n%s", failed);
    free(failed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_at_flush),
        cmocka_unit_test(test_metrics_unopenable),
        cmocka_unit_test(test_resolved_unwritable),
        cmocka_unit_test(test_max_memory_parts),
        cmocka_unit_test(test_oom_reading),
        cmocka_unit_test(test_oom_loading),
        cmocka_unit_test(test_sample_tmpdir),
        cmocka_unit_test(test_cell_resumes),
        cmocka_unit_test(test_cell_divergence_names_point),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
