/* test_trust.c — what nnrun trusts (issue 16): a model file is data, and a directory has
 * one writer.
 *
 * - A spec stored inside model.safetensors names a plugin: `nnrun sample` loads none (its
 *   constructor would run) unless --allow-plugins; a stored `include:` is refused without
 *   reading the file; init_from reads tensors only.
 * - A run, a resume, a report, a sweep and a sweep's cell lock their directory (flock):
 *   a second nnrun exits 2 naming the holder's pid and changes nothing there; a lock left
 *   by a dead process blocks nobody. */
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/store/dirlock.h"
#include "runtime/store/safetensors.h"
#include "testutil.h"

static char tmp[512];

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmp, sizeof tmp, "/tmp/nnrun-test-trust-XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmp);
}

/* The build tree (test plugins live there): the directory of $NNRUN_BIN. */
static const char *builddir(void)
{
    static char buf[4096];
    const char *bin = getenv("NNRUN_BIN");
    snprintf(buf, sizeof buf, "%s", bin ? bin : "./nnrun");
    return dirname(buf);
}

static int exists(const char *rel)
{
    char p[800];
    snprintf(p, sizeof p, "%s/%s", tmp, rel);
    return access(p, F_OK) == 0;
}

static void assert_err_has(const char *what)
{
    char *err = tu_captured(tmp, "err");
    if (!strstr(err, what)) fail_msg("stderr lacks '%s':\n%s", what, err);
    free(err);
}

static void assert_err_lacks(const char *what)
{
    char *err = tu_captured(tmp, "err");
    if (strstr(err, what)) fail_msg("stderr has '%s':\n%s", what, err);
    free(err);
}

/* --- model files are data --------------------------------------------------------------- */

/* tmp/plug: a run of a text model with the trap plugin (tests/plugins/trap.c), whose spec
 * is stored in its model.safetensors with the library's path. */
static void train_with_plugin(void)
{
    char spec[4096], args[2048];
    snprintf(spec, sizeof spec,
             "name: plug\ndata: {source: %s/examples/data/names.txt, context: 3}\n"
             "plugins:\n  trap: {library: %s/tests/plugins/trap.so, forward: trap, "
             "backward: trap_grad, form: scalar}\n"
             "model:\n  - embedding: {dim: 2}\n  - flatten\n  - linear: {out: 8}\n"
             "  - activation: trap\n  - linear\n"
             "train: {steps: 5}\nsample: {count: 0}\nreport: {plots: none}\n",
             tu_srcdir(), builddir());
    tu_write_bytes(tmp, "plug.yaml", spec, strlen(spec));
    unsetenv("NNRUN_TRAP_FILE");
    snprintf(args, sizeof args, "'%s/plug.yaml' --quiet --out '%s/plug'", tmp, tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
}

/* The acceptance test: a model file naming a plugin whose constructor writes a file. */
static void test_stored_plugin_refused(void **state)
{
    (void)state;
    train_with_plugin();
    char trap[700], args[2048];
    snprintf(trap, sizeof trap, "%s/trapped", tmp);
    setenv("NNRUN_TRAP_FILE", trap, 1);
    snprintf(args, sizeof args, "sample '%s/plug/model.safetensors' --count 3", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    assert_false(exists("trapped")); /* nothing of the library ran */
    assert_err_has("plugin 'trap'");
    assert_err_has("trap.so");
    assert_err_has("--allow-plugins");
    snprintf(args, sizeof args, "sample '%s/plug' --count 3", tmp); /* the run directory */
    assert_int_equal(tu_nnrun(tmp, args), 2);
    assert_false(exists("trapped"));
    /* the user's word: the plugin loads (its constructor runs) and samples are drawn */
    snprintf(args, sizeof args, "sample '%s/plug' --count 3 --allow-plugins", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    assert_true(exists("trapped"));
    char *out = tu_captured(tmp, "out");
    assert_int_equal(strlen(out) > 6, 1);
    free(out);
    unlink(trap);
    /* a flag of `sample` only */
    assert_int_equal(tu_nnrun(tmp, "check specs/mlp.yaml --allow-plugins"), 2);
    assert_err_has("--allow-plugins");
    /* init_from reads a model file's tensors and vocabulary, never its spec: no plugin */
    char spec[4096];
    snprintf(spec, sizeof spec,
             "name: from\ndata: {source: %s/examples/data/names.txt, context: 3}\n"
             "init_from: %s/plug/model.safetensors\n"
             "model:\n  - embedding: {dim: 2}\n  - flatten\n  - linear: {out: 8}\n"
             "  - tanh\n  - linear\n"
             "train: {steps: 5}\nsample: {count: 0}\nreport: {plots: none}\n",
             tu_srcdir(), tmp);
    tu_write_bytes(tmp, "from.yaml", spec, strlen(spec));
    snprintf(args, sizeof args, "'%s/from.yaml' --quiet --out '%s/from'", tmp, tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    assert_false(exists("trapped"));
    unsetenv("NNRUN_TRAP_FILE");
}

/* Rewrites the stored spec of tmp/plug/model.safetensors as `prefix` + spec into tmp/NAME,
 * with the trap library's path written `lib` when given. */
static void craft_lib(const char *name, const char *prefix, const char *lib)
{
    char in[700], out[700];
    snprintf(in, sizeof in, "%s/plug/model.safetensors", tmp);
    snprintf(out, sizeof out, "%s/%s", tmp, name);
    nn_diag *d = nn_diag_new();
    nn_st_file *f = nn_st_read(in, d);
    assert_non_null(f);
    const char *spec = nn_st_meta_get(f, "spec"), *vocab = nn_st_meta_get(f, "vocab");
    assert_non_null(spec);
    assert_non_null(vocab);
    size_t n = strlen(prefix) + strlen(spec) + (lib ? strlen(lib) : 0) + 1;
    char *text = malloc(n);
    assert_non_null(text);
    snprintf(text, n, "%s%s", prefix, spec);
    char *at = lib ? strstr(text, "library: ") : NULL, *end = at ? strchr(at, '\n') : NULL;
    if (lib) { /* library: /abs/.../trap.so (a line of its own) → library: LIB */
        assert_non_null(end);
        at += strlen("library: ");
        memmove(at + strlen(lib), end, strlen(end) + 1);
        memcpy(at, lib, strlen(lib));
    }
    int nt = nn_st_count(f);
    nn_st_tensor *t = calloc((size_t)nt + 1, sizeof *t);
    assert_non_null(t);
    for (int i = 0; i < nt; i++)
        t[i] = *nn_st_at(f, i);
    nn_st_meta m[2] = {{"spec", text}, {"vocab", vocab}};
    assert_int_equal(nn_st_write(out, t, nt, m, 2), 0);
    free(t);
    free(text);
    nn_st_free(f);
    nn_diag_free(d);
}

static void craft(const char *name, const char *prefix)
{
    craft_lib(name, prefix, NULL);
}

/* A crafted file naming a library beside it, by a relative path: refused as well; with
 * --allow-plugins the path is taken relative to the model file (not to where nnrun is). */
static void test_crafted_relative_plugin(void **state)
{
    (void)state;
    if (!exists("plug/model.safetensors")) train_with_plugin();
    char dir[700], cmd[2400], trap[700], args[2048];
    snprintf(dir, sizeof dir, "%s/downloads", tmp);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(cmd, sizeof cmd, "cp '%s/tests/plugins/trap.so' '%s/evil.so'", builddir(), dir);
    assert_int_equal(system(cmd), 0);
    craft_lib("downloads/model.safetensors", "", "evil.so");
    snprintf(trap, sizeof trap, "%s/trapped2", tmp);
    setenv("NNRUN_TRAP_FILE", trap, 1);
    snprintf(args, sizeof args, "sample '%s/downloads/model.safetensors' --count 2", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    assert_err_has("plugin 'trap'");
    assert_err_has("downloads/evil.so");
    assert_false(exists("trapped2"));
    snprintf(args, sizeof args, "sample '%s/downloads' --count 2 --allow-plugins", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    assert_true(exists("trapped2"));
    unsetenv("NNRUN_TRAP_FILE");
}

/* A stored include: refused, the file it names never read (its text never shown). */
static void test_stored_include_refused(void **state)
{
    (void)state;
    if (!exists("plug/model.safetensors")) train_with_plugin();
    const char secret[] = "SECRET-LINE-42: [this is no spec\n";
    tu_write_bytes(tmp, "secret.yaml", secret, strlen(secret));
    char prefix[800], args[800];
    snprintf(prefix, sizeof prefix, "include: %s/secret.yaml\n", tmp);
    craft("inc.safetensors", prefix);
    snprintf(args, sizeof args, "sample '%s/inc.safetensors' --allow-plugins", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    assert_err_has("may not include other files");
    assert_err_has("secret.yaml");
    assert_err_lacks("SECRET-LINE-42");
    /* a list of includes too */
    snprintf(prefix, sizeof prefix, "include: [%s/secret.yaml]\n", tmp);
    craft("inc2.safetensors", prefix);
    snprintf(args, sizeof args, "sample '%s/inc2.safetensors'", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    assert_err_has("may not include other files");
    assert_err_lacks("SECRET-LINE-42");
}

/* --- one writer per directory ----------------------------------------------------------- */

static void put(const char *rel, const char *text)
{
    tu_write_bytes(tmp, rel, text, strlen(text));
}

static void assert_file_is(const char *rel, const char *text)
{
    char p[800];
    snprintf(p, sizeof p, "%s/%s", tmp, rel);
    char *got = tu_read_file(p);
    assert_non_null(got);
    assert_string_equal(got, text);
    free(got);
}

/* A directory in use (its lock held, here by this test process): a run with --force, a
 * resume and a report into it exit 2 naming the pid, and change nothing there. */
static void test_run_dir_in_use(void **state)
{
    (void)state;
    char dir[700], args[1000], pid[64];
    snprintf(dir, sizeof dir, "%s/busy", tmp);
    assert_int_equal(mkdir(dir, 0755), 0);
    put("busy/metrics.csv", "step,lr\n0,0.1\n");
    put("busy/summary.json", "{\"name\": \"first\"}\n");
    long holder = -1;
    assert_int_equal(nn_dirlock(dir, 0, &holder), 0);
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    snprintf(args, sizeof args, "specs/mlp.yaml --set train.steps=5 --quiet --out '%s' --force",
             dir);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    assert_err_has("in use by another nnrun");
    assert_err_has(pid);
    snprintf(args, sizeof args, "specs/mlp.yaml --set train.steps=5 --quiet --resume '%s'", dir);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    assert_err_has(pid);
    snprintf(args, sizeof args, "report '%s'", dir);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    assert_err_has(pid);
    /* the first run's files as they were; nothing new */
    assert_file_is("busy/metrics.csv", "step,lr\n0,0.1\n");
    assert_file_is("busy/summary.json", "{\"name\": \"first\"}\n");
    assert_false(exists("busy/spec.resolved.yaml"));
    assert_false(exists("busy/metrics.jsonl"));
    assert_false(exists("busy/report.html"));
    /* released: the same command runs */
    nn_dirlock_release(dir);
    snprintf(args, sizeof args, "specs/mlp.yaml --set train.steps=5 --quiet --out '%s' --force",
             dir);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    assert_true(exists("busy/spec.resolved.yaml"));
}

/* Two real runs: the first frozen mid-training (SIGSTOP from its plugin at a fixed call:
 * no timing), a second `--out D --force` exits 2 naming it and changes none of its files;
 * the first then ends as its own signal says (143), its metrics whole. */
static void test_second_run_refused(void **state)
{
    (void)state;
    char spec[4096], dir[700], args[6000], pid_text[64], csv[800];
    snprintf(spec, sizeof spec,
             "name: first\ndata: {source: %s/examples/data/names.txt}\n"
             "plugins:\n  act: {library: %s/tests/plugins/trap.so, forward: stopper, "
             "backward: trap_grad, form: scalar, check: false}\n"
             "model:\n  - embedding: {dim: 2}\n  - flatten\n  - linear: {out: 6}\n"
             "  - activation: act\n  - linear\n"
             "train: {steps: 2000, batch: 8}\neval: {every: 0}\nsample: {count: 0}\n"
             "report: {plots: none}\n",
             tu_srcdir(), builddir());
    tu_write_bytes(tmp, "first.yaml", spec, strlen(spec));
    snprintf(dir, sizeof dir, "%s/first", tmp);
    snprintf(spec, sizeof spec, "%s/first.yaml", tmp);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("NNRUN_PAUSE_AT_CALL", "24001", 1); /* 48 calls a step: in step 500 */
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1), dup2(null, 2);
        execl(getenv("NNRUN_BIN") ? getenv("NNRUN_BIN") : "./nnrun", "nnrun", spec, "--threads",
              "1", "--quiet", "--out", dir, (char *)NULL);
        _exit(127);
    }
    int st, stopped = waitpid(pid, &st, WUNTRACED) == pid && WIFSTOPPED(st);
    /* frozen in training, its directory locked: the second run, then the first goes on
     * (the asserts come after, so a failure leaves no frozen process behind) */
    snprintf(csv, sizeof csv, "%s/spec.resolved.yaml", dir);
    char *before = tu_read_file(csv);
    snprintf(args, sizeof args, "'%s' --set train.steps=5 --quiet --out '%s' --force", spec, dir);
    int second = tu_nnrun(tmp, args);
    char *after = tu_read_file(csv);
    kill(pid, SIGTERM); /* pending until it runs again */
    kill(pid, SIGCONT);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(stopped);
    assert_int_equal(second, 2);
    snprintf(pid_text, sizeof pid_text, "pid %ld", (long)pid);
    assert_err_has(pid_text);
    assert_non_null(before);
    assert_non_null(after);
    assert_string_equal(after, before);
    free(before);
    free(after);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 143); /* its own stop: checkpoint written */
    assert_true(exists("first/training.safetensors"));
    snprintf(csv, sizeof csv, "%s/metrics.csv", dir);
    char *text = tu_read_file(csv);
    assert_non_null(text);
    assert_int_equal(text[strlen(text) - 1], '\n');
    assert_non_null(strstr(text, "\n499,"));
    free(text);
}

/* A lock whose holder died (killed, its pid still in the lock file) blocks nobody. */
static void test_dead_holder(void **state)
{
    (void)state;
    char dir[700], args[1000];
    snprintf(dir, sizeof dir, "%s/dead", tmp);
    assert_int_equal(mkdir(dir, 0755), 0);
    pid_t pid = fork();
    if (pid == 0) {
        long h;
        if (nn_dirlock(dir, 0, &h) != 0) _exit(3);
        kill(getpid(), SIGKILL);
        _exit(4);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    char lock[800];
    snprintf(lock, sizeof lock, "%s/" NN_DIRLOCK_FILE, dir);
    char *text = tu_read_file(lock);
    assert_non_null(text);
    assert_int_equal(atol(text), (long)pid); /* its pid stays behind */
    free(text);
    snprintf(args, sizeof args, "specs/mlp.yaml --set train.steps=5 --quiet --out '%s'", dir);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    assert_true(exists("dead/summary.json"));
}

#define SWEEP_SPEC                                                                                 \
    "name: locked\ndata: {source: %s/examples/data/names.txt}\nmatrix: {h: [4, 6]}\n"              \
    "train: {steps: 5}\nsample: {count: 0}\nreport: {plots: none}\n"                               \
    "model:\n  - embedding: {dim: 2}\n  - flatten\n  - linear: {out: '${matrix.h}'}\n"             \
    "  - linear\n"

/* A sweep locks its directory, and each cell: a second sweep into either exits 2 naming
 * the holder, and the cell held keeps its files. */
static void test_sweep_in_use(void **state)
{
    (void)state;
    char text[4096], args[4096], dir[700], pid[64], cell[800], id[32] = "";
    snprintf(text, sizeof text, SWEEP_SPEC, tu_srcdir());
    tu_write_bytes(tmp, "locked.yaml", text, strlen(text));
    snprintf(dir, sizeof dir, "%s/sw", tmp);
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    assert_int_equal(mkdir(dir, 0755), 0);
    long holder;
    assert_int_equal(nn_dirlock(dir, 0, &holder), 0);
    snprintf(args, sizeof args, "sweep '%s/locked.yaml' -j 1 --out '%s'", tmp, dir);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    assert_err_has("sweep directory");
    assert_err_has(pid);
    assert_false(exists("sw/sweep.json"));
    snprintf(args, sizeof args, "sweep '%s/locked.yaml' --cell 0 --out '%s'", tmp, dir);
    assert_int_equal(tu_nnrun(tmp, args), 2); /* a single cell shares it: not with a sweep */
    nn_dirlock_release(dir);
    /* cell 0 held */
    snprintf(args, sizeof args, "sweep '%s/locked.yaml' --list --out '%s'", tmp, dir);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    char *out = tu_captured(tmp, "out");
    assert_int_equal(sscanf(out, "0\t%31s", id), 1);
    free(out);
    snprintf(cell, sizeof cell, "%s/%s", dir, id);
    assert_int_equal(mkdir(cell, 0755), 0);
    snprintf(text, sizeof text, "sw/%s/stderr.txt", id);
    put(text, "KEEP\n");
    assert_int_equal(nn_dirlock(cell, 0, &holder), 0);
    snprintf(args, sizeof args, "sweep '%s/locked.yaml' --cell 0 --out '%s'", tmp, dir);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    assert_err_has("cell directory");
    assert_err_has(pid);
    assert_file_is(text, "KEEP\n");
    /* the whole sweep: the other cell runs, the held one is left alone (no FAILED) */
    snprintf(args, sizeof args, "sweep '%s/locked.yaml' -j 1 --out '%s'", tmp, dir);
    assert_int_not_equal(tu_nnrun(tmp, args), 0);
    out = tu_captured(tmp, "out");
    assert_non_null(strstr(out, "in use by another nnrun"));
    free(out);
    assert_file_is(text, "KEEP\n");
    snprintf(text, sizeof text, "sw/%s/FAILED", id);
    assert_false(exists(text));
    nn_dirlock_release(cell);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    snprintf(text, sizeof text, "sw/%s/DONE", id);
    assert_true(exists(text));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stored_plugin_refused),
        cmocka_unit_test(test_stored_include_refused),
        cmocka_unit_test(test_crafted_relative_plugin),
        cmocka_unit_test(test_run_dir_in_use),
        cmocka_unit_test(test_second_run_refused),
        cmocka_unit_test(test_dead_holder),
        cmocka_unit_test(test_sweep_in_use),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
