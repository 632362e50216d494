/* test_ckpt.c — checkpoints: stopping and resuming give bit-identical losses, a SIGTERM
 * stops cleanly, damaged checkpoint files are clear errors (exit 2), weights load back. */
#define _GNU_SOURCE /* memmem, F_SETPIPE_SZ */
#include "testutil.h"

#include <jansson.h>

#include <jansson.h>
#include <math.h>

#include "runtime/store/safetensors.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[256];
static const char SPEC[] = "tests/specs/ckpt/adam_bn.yaml";

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return tu_nnrun(tmp, args);
}

/* metrics.csv without the timing columns (elapsed_s, steps_per_s: 7th and 9th). */
static char *metrics_without_timing(const char *dir)
{
    char p[600];
    snprintf(p, sizeof p, "%s/metrics.csv", dir);
    char *s = tu_read_file(p);
    assert_non_null(s);
    char *out = malloc(strlen(s) + 1), *o = out;
    int col = 0;
    for (const char *c = s; *c; c++) {
        if (*c == '\n') col = -1;
        if (*c == ',') col++;
        if (col != 6 && col != 8) *o++ = *c;
        if (col == -1) col = 0;
    }
    *o = 0;
    free(s);
    return out;
}

static int count_lines(const char *dir, const char *file)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    char *s = tu_read_file(p);
    assert_non_null(s);
    int n = 0;
    for (const char *c = s; *c; c++)
        n += *c == '\n';
    free(s);
    return n;
}

/* metrics.csv equal but for the timing columns; metrics.jsonl row for row */
static void assert_same_metrics(const char *a, const char *b)
{
    char *x = metrics_without_timing(a), *y = metrics_without_timing(b);
    assert_true(strlen(x) > 200);
    assert_string_equal(x, y);
    free(x);
    free(y);
    assert_int_equal(count_lines(a, "metrics.jsonl"), count_lines(b, "metrics.jsonl"));
    assert_int_equal(count_lines(a, "metrics.jsonl") + 1, count_lines(a, "metrics.csv"));
}

static const char *dir(const char *name)
{
    static char buf[4][400];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp, name);
    return buf[k];
}

/* The uninterrupted run every test compares against (made once). */
static const char *full_run(void)
{
    static int done;
    if (!done) {
        assert_int_equal(run("%s --quiet --out %s", SPEC, dir("full")), 0);
        done = 1;
    }
    return dir("full");
}

static void test_stop_after_and_resume(void **state)
{
    (void)state;
    const char *full = full_run(), *part = dir("part");
    /* stop between checkpoints (55), at a later step (70 more: 125), then run to the end */
    assert_int_equal(run("%s --quiet --out %s --stop-after 55", SPEC, part), 0);
    char p[600];
    snprintf(p, sizeof p, "%s/training.safetensors", part);
    assert_int_equal(access(p, R_OK), 0);
    assert_int_equal(run("%s --quiet --resume %s --stop-after 70", SPEC, part), 0);
    assert_int_equal(run("%s --quiet --resume %s", SPEC, part), 0);
    assert_same_metrics(full, part);
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/samples.txt", full);
    snprintf(b, sizeof b, "%s/samples.txt", part);
    char *sa = tu_read_file(a), *sb = tu_read_file(b);
    assert_non_null(sa);
    assert_non_null(sb);
    assert_string_equal(sa, sb);
    free(sa);
    free(sb);
    /* summary.json's losses too (step0 and last come from the checkpoint when needed) */
    snprintf(a, sizeof a, "%s/summary.json", full);
    snprintf(b, sizeof b, "%s/summary.json", part);
    json_t *ja = json_load_file(a, 0, NULL), *jb = json_load_file(b, 0, NULL);
    assert_non_null(ja);
    assert_non_null(jb);
    assert_true(json_equal(json_object_get(ja, "loss"), json_object_get(jb, "loss")));
    /* resuming a finished run changes nothing */
    assert_int_equal(run("%s --quiet --resume %s", SPEC, part), 0);
    json_decref(jb);
    jb = json_load_file(b, 0, NULL);
    assert_true(json_equal(json_object_get(ja, "loss"), json_object_get(jb, "loss")));
    /* ... and trains no step: no rate (it was steps / a few microseconds) */
    assert_true(json_real_value(json_object_get(jb, "steps_per_second")) == 0.0);
    json_decref(ja);
    json_decref(jb);
    assert_same_metrics(full, part);
    /* keep: best wrote the best dev-loss weights */
    snprintf(p, sizeof p, "%s/model_best.safetensors", full);
    assert_int_equal(access(p, R_OK), 0);
}

/* A run that died after its checkpoint at step 80 (simulated: it went on to 110, then its
 * checkpoint files are put back to those of step 80): resume cuts the metrics rows written
 * after the checkpoint and computes them again. */
static void test_resume_from_periodic_checkpoint(void **state)
{
    (void)state;
    const char *full = full_run(), *dead = dir("dead"), *saved = dir("saved80");
    char cmd[1400];
    assert_int_equal(run("%s --quiet --out %s --stop-after 80", SPEC, dead), 0);
    snprintf(cmd, sizeof cmd, "mkdir '%s' && cp '%s'/*.safetensors '%s/'", saved, dead, saved);
    assert_int_equal(system(cmd), 0);
    int rows80 = count_lines(dead, "metrics.csv");
    assert_int_equal(run("%s --quiet --resume %s --stop-after 30", SPEC, dead), 0);
    assert_true(count_lines(dead, "metrics.csv") > rows80);
    /* the process "died" after step 110, with its last complete checkpoint at 80 */
    snprintf(cmd, sizeof cmd, "cp '%s'/*.safetensors '%s/'", saved, dead);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(run("%s --quiet --resume %s", SPEC, dead), 0);
    assert_same_metrics(full, dead);
}

/* The steps a run directory's summary.json says the run took (−1: none). */
static long step_of_checkpoint(const char *run)
{
    char p[600];
    snprintf(p, sizeof p, "%s/summary.json", run);
    json_t *j = json_load_file(p, 0, NULL);
    long steps = j ? (long)json_integer_value(json_object_get(j, "steps")) : -1;
    json_decref(j);
    return steps;
}

/* SIGTERM once the progress output shows a step past the first checkpoint (40): the
 * child's output goes through a one-page pipe, so it cannot run far ahead of the reader. */
static void stop_by_signal_and_resume(int sig, const char *name)
{
    const char *bin = getenv("NNRUN_BIN");
    const char *full = dir("full1"), *part = dir(name);
    const char *opts = "--set eval.every=1";
    static int have_full;
    if (!have_full++) assert_int_equal(run("%s --quiet %s --out %s", SPEC, opts, full), 0);
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    fcntl(fd[1], F_SETPIPE_SZ, 4096);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        if (chdir(tu_srcdir()) != 0) _exit(99);
        signal(sig, SIG_DFL); /* as from a terminal, even when make check runs in the background */
        execl(bin ? bin : "./nnrun", "nnrun", SPEC, "--set", "eval.every=1", "--out", part,
              (char *)NULL);
        _exit(99);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    char line[512];
    int sent = 0, said = 0;
    long step, stopped = -1;
    while (fgets(line, sizeof line, f)) {
        if (!sent && sscanf(line, "%ld/", &step) == 1 && step > 41) {
            sent = 1;
            if (sig == SIGPIPE) break; /* the reader goes away: the next line's write fails */
            kill(pid, sig);
        }
        if (sscanf(line, "stopped after step %ld", &stopped) == 1) said = 1;
    }
    fclose(f);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(sent);
    if (sig == SIGPIPE) { /* nobody reads what it says: the checkpoint tells where it stopped */
        said = 1;
        stopped = step_of_checkpoint(part);
    }
    assert_true(said);
    assert_true(stopped > 41 && stopped < 200); /* stopped, and past the first checkpoint */
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 128 + sig);
    char p[600];
    snprintf(p, sizeof p, "%s/summary.json", part); /* the report of the stopped run */
    assert_int_equal(access(p, R_OK), 0);
    assert_int_equal(run("%s --quiet %s --resume %s", SPEC, opts, part), 0);
    assert_same_metrics(full, part);
}

static void test_sigterm_and_resume(void **state)
{
    (void)state;
    stop_by_signal_and_resume(SIGTERM, "term");
}

static void test_sigint_and_resume(void **state)
{
    (void)state;
    stop_by_signal_and_resume(SIGINT, "int");
}

/* `nnrun SPEC | head`: the reader of the progress lines goes away mid-run. */
static void test_sigpipe_and_resume(void **state)
{
    (void)state;
    stop_by_signal_and_resume(SIGPIPE, "pipe");
}

/* Copies `src` to `dst` with `len` bytes (−1: all), replacing `from` by `to` (same length)
 * at its first occurrence when given. */
static void damaged_copy(const char *src, const char *dst, long len, const char *from,
                         const char *to)
{
    FILE *f = fopen(src, "rb");
    assert_non_null(f);
    static char buf[1 << 20];
    long n = (long)fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (len >= 0) n = len;
    if (from) {
        char *at = memmem(buf, (size_t)n, from, strlen(from));
        assert_non_null(at);
        memcpy(at, to, strlen(to));
    }
    f = fopen(dst, "wb");
    assert_non_null(f);
    fwrite(buf, 1, (size_t)n, f);
    fclose(f);
}

static void expect_init_from_error(const char *file, const char *msg)
{
    assert_int_equal(run("check %s --set init_from=%s", SPEC, file), 2);
    char *err = tu_captured(tmp, "err");
    if (!strstr(err, msg)) fprintf(stderr, "expected '%s' in:\n%s", msg, err);
    assert_non_null(strstr(err, msg));
    assert_non_null(strstr(err, "error:"));
    free(err);
}

static void test_damaged_checkpoints(void **state)
{
    (void)state;
    char good[600];
    snprintf(good, sizeof good, "%s/model.safetensors", full_run());
    const char *bad = dir("bad.safetensors");
    damaged_copy(good, bad, 4000, NULL, NULL);
    expect_init_from_error(bad, "outside the");
    damaged_copy(good, bad, 5, NULL, NULL);
    expect_init_from_error(bad, "shorter than 8 bytes");
    damaged_copy(good, bad, -1, "{\"", "[{");
    expect_init_from_error(bad, "corrupted safetensors header");
    damaged_copy(good, bad, -1, "\"F32\"", "\"F16\"");
    expect_init_from_error(bad, "dtype 'F16'");
    damaged_copy(good, bad, -1, "[27,8]", "[8,27]");
    expect_init_from_error(bad, "is F32 [8, 27], but layers.0.weight is F32 [27, 8]");
    damaged_copy(good, bad, -1, "[27,8]", "[27,9]");
    expect_init_from_error(bad, "data bytes, but shape [27, 9]");
    damaged_copy(good, bad, -1, "\"data_offsets\":[0,", "\"data_offsets\":[9,");
    expect_init_from_error(bad, "layers.0.weight");
    /* the header length itself beyond the file */
    damaged_copy(good, bad, -1, NULL, NULL);
    FILE *f = fopen(bad, "r+b");
    assert_non_null(f);
    fputc(0x7f, f), fputc(0x7f, f), fputc(0x7f, f);
    fclose(f);
    expect_init_from_error(bad, "header length does not fit");
    expect_init_from_error(dir("missing.safetensors"),
                           "--set:1:11: error: cannot read the checkpoint");
    /* --resume with a damaged training state: exit 2, nothing trained */
    const char *part = dir("dmg");
    assert_int_equal(run("%s --quiet --out %s --stop-after 10", SPEC, part), 0);
    char st[600];
    snprintf(st, sizeof st, "%s/training.safetensors", part);
    damaged_copy(st, st, 100, NULL, NULL);
    assert_int_equal(run("%s --quiet --resume %s", SPEC, part), 2);
    char *err = tu_captured(tmp, "err");
    assert_non_null(strstr(err, "training.safetensors"));
    free(err);
    /* a model file from another checkpoint than the training state */
    const char *other = dir("dmg2");
    assert_int_equal(run("%s --quiet --out %s --stop-after 20", SPEC, other), 0);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "cp '%s/model.safetensors' '%s/training.safetensors' '%s/'", other,
             other, part);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "cp '%s/model.safetensors' '%s/'", full_run(), part);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(run("%s --quiet --resume %s", SPEC, part), 2);
    err = tu_captured(tmp, "err");
    assert_non_null(strstr(err, "are from different checkpoints"));
    free(err);
    /* no checkpoint at all */
    assert_int_equal(run("%s --quiet --resume %s", SPEC, dir("nowhere")), 2);
    err = tu_captured(tmp, "err");
    assert_non_null(strstr(err, "cannot read the checkpoint"));
    free(err);
    /* and a resume with another spec */
    assert_int_equal(run("%s --quiet --resume %s --set train.steps=300", SPEC, full_run()), 2);
    err = tu_captured(tmp, "err");
    assert_non_null(strstr(err, "another spec"));
    free(err);
}

/* init_from loads the whole model: with a zero learning rate the dev loss is the saved
 * model's; init: {from, tensor} loads one tensor and checks its shape. */
static void test_load_weights(void **state)
{
    (void)state;
    char good[600];
    snprintf(good, sizeof good, "%s/model.safetensors", full_run());
    assert_int_equal(run("check %s --set init_from=%s", SPEC, good), 0);
    assert_int_equal(run("check %s --set 'model.0.embedding.init={from: %s}'", SPEC, good), 0);
    assert_int_equal(
        run("check %s --set 'model.0.embedding.init={from: %s, tensor: layers.5.weight}'", SPEC,
            good),
        2);
    char *err = tu_captured(tmp, "err");
    assert_non_null(strstr(err, "is F32 [32, 27], but layers.0.weight is F32 [27, 8]"));
    free(err);
    /* loaded bit for bit: step 0's dump shows the weights before any update */
    const char *from = dir("from");
    assert_int_equal(run("%s --quiet --out %s --set init_from=%s --dump-step 0 --stop-after 1",
                         SPEC, from, good),
                     0);
    char dump[600];
    snprintf(dump, sizeof dump, "%s/dump.safetensors", from);
    nn_diag *d = nn_diag_new();
    nn_st_file *a = nn_st_read(good, d), *b = nn_st_read(dump, d);
    assert_non_null(a);
    assert_non_null(b);
    for (int i = 0; i < nn_st_count(a); i++) {
        const nn_st_tensor *x = nn_st_at(a, i), *y = nn_st_find(b, x->name);
        assert_non_null(y);
        long n = 1;
        for (int k = 0; k < x->ndim; k++)
            n *= x->dim[k];
        assert_memory_equal(x->data, y->data, (size_t)n * 4);
    }
    /* the table, two linear weights and a bias, BatchNorm gain, shift and both buffers */
    assert_int_equal(nn_st_count(a), 8);
    nn_st_free(a);
    nn_st_free(b);
    nn_diag_free(d);
    /* another vocabulary */
    assert_int_equal(run("check %s --set init_from=%s --set data.filter='^[a-y]+$'", SPEC, good),
                     2);
    err = tu_captured(tmp, "err");
    assert_non_null(strstr(err, "another vocabulary"));
    free(err);
    assert_int_equal(
        run("check %s --set 'model.0.embedding.init={from: %s, tensor: nope}'", SPEC, good), 2);
    err = tu_captured(tmp, "err");
    assert_non_null(strstr(err, "no tensor 'nope'"));
    free(err);
}

/* nnrun sample needs only the model file: the same items as the run drew at its end. */
static void test_sample_from_file(void **state)
{
    (void)state;
    const char *full = full_run();
    char p[600];
    snprintf(p, sizeof p, "%s/samples.txt", full);
    char *want = tu_read_file(p);
    assert_non_null(want);
    assert_int_equal(run("sample %s", full), 0);
    char *out = tu_captured(tmp, "out");
    assert_string_equal(out, want);
    free(out);
    /* moved away from its run directory and the data: still enough */
    const char *moved = dir("moved.safetensors");
    snprintf(p, sizeof p, "cp '%s/model.safetensors' '%s'", full, moved);
    assert_int_equal(system(p), 0);
    assert_int_equal(run("sample %s --count 2 --prefix ka --temperature 0.5 --seed 3", moved), 0);
    out = tu_captured(tmp, "out");
    assert_int_equal(strncmp(out, "ka", 2), 0);
    assert_non_null(strstr(strchr(out, '\n') + 1, "ka"));
    free(out);
    assert_int_equal(run("sample %s --prefix 'Q'", moved), 2);
    out = tu_captured(tmp, "err");
    assert_non_null(strstr(out, "not in the vocabulary"));
    free(out);
    assert_int_equal(run("sample %s --count 0", moved), 2);
    assert_int_equal(run("sample %s --count 1 --seed 0", moved), 0);
    assert_int_equal(run("sample %s --seed 1e3", moved), 2);
    assert_int_equal(run("sample %s --temperature 0", moved), 2);
    assert_int_equal(run("sample"), 2);
    assert_int_equal(run("sample %s", dir("nothing")), 2);
    assert_int_equal(run("check %s --count 2", SPEC), 2);
    free(want);
}

/* The counting model writes model.safetensors too (its counts): sampling from it draws the
 * run's samples (lesson 2's mor., axx., ...). */
static void test_sample_counting_model(void **state)
{
    (void)state;
    const char *counts = dir("counts");
    assert_int_equal(run("specs/bigram_counts.yaml --quiet --out %s", counts), 0);
    char p[600];
    snprintf(p, sizeof p, "%s/samples.txt", counts);
    char *want = tu_read_file(p);
    assert_non_null(want);
    assert_int_equal(run("sample %s", counts), 0);
    char *out = tu_captured(tmp, "out");
    assert_string_equal(out, want);
    assert_int_equal(strncmp(out, "mor.\naxx.\n", 10), 0);
    free(out);
    free(want);
}

/* gradcheck passes on the lessons' models (every layer type and loss), and fails — exit 1,
 * the tensor named — when the tolerance is below what differences can show. */
static void test_gradcheck(void **state)
{
    (void)state;
    static const char *specs[] = {"specs/mlp_bn.yaml",
                                  "specs/deep_bn.yaml",
                                  "specs/micrograd_moons.yaml",
                                  "specs/mlp.yaml",
                                  "tests/specs/good/toy_mse.yaml",
                                  SPEC};
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        assert_int_equal(run("gradcheck %s", specs[i]), 0);
        char *out = tu_captured(tmp, "out");
        assert_non_null(strstr(out, "layers."));
        assert_non_null(strstr(out, "\nok\n"));
        free(out);
    }
    assert_int_equal(run("gradcheck specs/mlp_bn.yaml --tolerance 1e-12"), 1);
    char *out = tu_captured(tmp, "out");
    assert_non_null(strstr(out, "ABOVE TOLERANCE"));
    assert_non_null(strstr(out, "FAILED"));
    free(out);
    assert_int_equal(run("gradcheck specs/mlp_bn.yaml --tolerance -1"), 2);
    assert_int_equal(run("check specs/mlp_bn.yaml --tolerance 1"), 2);
}

/* The format itself: what is written reads back, every dtype, metadata, an empty tensor. */
static void test_safetensors_round_trip(void **state)
{
    (void)state;
    float f[6] = {1.5f, -2, 3e-8f, INFINITY, 0, 7};
    uint32_t u[3] = {1, 0xffffffffu, 42};
    uint64_t w[2] = {0x0123456789abcdefull, 5};
    int32_t i[2] = {-1, 2147483647};
    nn_st_tensor t[] = {{"a.weight", NN_ST_F32, 2, {2, 3}, f},
                        {"b", NN_ST_U32, 1, {3}, u},
                        {"c", NN_ST_U64, 1, {2}, w},
                        {"d", NN_ST_I32, 2, {1, 2}, i},
                        {"empty", NN_ST_F32, 1, {0}, f}};
    nn_st_meta m[] = {{"k", "v"}, {"quote", "a \"b\"\n"}};
    const char *path = dir("rt.safetensors");
    assert_int_equal(nn_st_write(path, t, 5, m, 2), 0);
    nn_diag *d = nn_diag_new();
    nn_st_file *r = nn_st_read(path, d);
    assert_non_null(r);
    assert_int_equal(nn_st_count(r), 5);
    for (int k = 0; k < 5; k++) {
        const nn_st_tensor *x = nn_st_find(r, t[k].name);
        assert_non_null(x);
        assert_int_equal(x->dtype, t[k].dtype);
        assert_int_equal(x->ndim, t[k].ndim);
        long n = 1;
        for (int j = 0; j < x->ndim; j++)
            assert_int_equal(x->dim[j], t[k].dim[j]), n *= x->dim[j];
        assert_memory_equal(x->data, t[k].data, (size_t)n * (t[k].dtype == NN_ST_U64 ? 8 : 4));
    }
    assert_string_equal(nn_st_meta_get(r, "quote"), "a \"b\"\n");
    assert_null(nn_st_meta_get(r, "nope"));
    assert_null(nn_st_find(r, "nope"));
    nn_st_free(r);
    /* the header is padded to 8 bytes and the data follows at once */
    char *raw = tu_read_file(path);
    assert_non_null(raw);
    uint64_t hlen;
    memcpy(&hlen, raw, 8);
    assert_int_equal(hlen % 8, 0);
    free(raw);
    nn_diag_free(d);
}

/* keep: best — model_best.safetensors holds the step whose dev loss was lowest. */
static void test_keep_best(void **state)
{
    (void)state;
    char p[600];
    snprintf(p, sizeof p, "%s/metrics.csv", full_run());
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    char line[512];
    long best_step = -1;
    double best = INFINITY;
    while (fgets(line, sizeof line, f)) {
        /* step,lr,loss,train_loss,dev_loss,...: evaluation rows have an empty loss cell */
        char *cell[9] = {line}, *c = line;
        int n = 1;
        while (n < 9 && (c = strchr(c, ','))) {
            *c++ = 0;
            cell[n++] = c;
        }
        if (n < 9 || *cell[2] || !*cell[4] || !strcmp(cell[0], "step")) continue;
        double dev = strtod(cell[4], NULL);
        if (dev < best) best = dev, best_step = strtol(cell[0], NULL, 10);
    }
    fclose(f);
    assert_true(best_step > 0);
    snprintf(p, sizeof p, "%s/model_best.safetensors", full_run());
    nn_diag *d = nn_diag_new();
    nn_st_file *r = nn_st_read(p, d);
    assert_non_null(r);
    char want[32];
    snprintf(want, sizeof want, "%ld", best_step);
    assert_string_equal(nn_st_meta_get(r, "step"), want);
    nn_st_free(r);
    nn_diag_free(d);
}

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmp, sizeof tmp, "/tmp/nnrun-ckpt-XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_after_and_resume),
        cmocka_unit_test(test_resume_from_periodic_checkpoint),
        cmocka_unit_test(test_sigterm_and_resume),
        cmocka_unit_test(test_sigint_and_resume),
        cmocka_unit_test(test_sigpipe_and_resume),
        cmocka_unit_test(test_damaged_checkpoints),
        cmocka_unit_test(test_load_weights),
        cmocka_unit_test(test_sample_from_file),
        cmocka_unit_test(test_sample_counting_model),
        cmocka_unit_test(test_gradcheck),
        cmocka_unit_test(test_safetensors_round_trip),
        cmocka_unit_test(test_keep_best),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
