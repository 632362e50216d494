/* sweep.c — `nnrun sweep`: picks the cells, runs one in this process or all of them in
 * worker processes, marks them DONE / FAILED, and ends with the summary.
 *
 * Workers are fork + exec of this very binary (/proc/self/exe) as
 * `nnrun sweep SPEC --cell-id ID --out DIR ...`: the same path a Slurm array task takes,
 * and a fresh process per cell (no thread pool or allocator state shared across fork).
 * Ctrl-C / SIGTERM: no new cell starts, running workers get SIGTERM (without a DONE they
 * count as not run), and the sweep exits 128+N; the next sweep skips the DONE cells.
 */
#include "runtime/sweep/sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "parser/matrix.h"
#include "parser/spec.h"
#include "runtime/data/data.h"
#include "runtime/store/dirlock.h"
#include "runtime/store/rundir.h"
#include "runtime/train/train.h"

enum { EXIT_OK = 0, EXIT_RUN = 1, EXIT_INPUT = 2 };

#define NN_SWEEP_LOCKED_ENV "NNRUN_SWEEP_LOCKED" /* set for workers: the parent holds it */

int nn_sweep_write_atomic(const char *dir, const char *name, const char *text)
{
    char tmp[4400], path[4400];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp.%ld", dir, name, (long)getpid());
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    int ok = fputs(text, f) >= 0;
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int cell_has(const char *base, const char *id, const char *file)
{
    char p[4400];
    snprintf(p, sizeof p, "%s/%s/%s", base, id, file);
    return access(p, F_OK) == 0;
}

/* sweep.json: what `nnrun summarize` needs without the spec: axes, cells and their values. */
static int write_sweep_json(const char *base, const char *name, const nn_matrix *m)
{
    json_t *axes = json_array(), *cells = json_array();
    for (int a = 0; a < m->naxes; a++)
        json_array_append_new(axes, json_string(m->axes[a]));
    for (int p = 0; p < m->npoints; p++) {
        json_t *vals = json_object();
        for (int a = 0; a < m->naxes; a++)
            json_object_set_new(vals, m->axes[a],
                                m->value[p][a] ? json_string(m->value[p][a]) : json_null());
        json_array_append_new(cells, json_pack("{s:i, s:s, s:s, s:o}", "index", p, "id", m->id[p],
                                               "label", m->label[p], "values", vals));
    }
    json_t *root = json_pack("{s:s, s:o, s:o}", "name", name, "axes", axes, "cells", cells);
    char *text = root ? json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!text) return -1;
    size_t n = strlen(text);
    char *t2 = realloc(text, n + 2);
    if (!t2) abort();
    memcpy(t2 + n, "\n", 2);
    int rc = nn_sweep_write_atomic(base, "sweep.json", t2);
    free(t2);
    return rc;
}

/* The first "error:" line of a captured stderr, or its first line. */
static char *first_error(const char *log)
{
    FILE *f = fopen(log, "r");
    char line[2048], first[2048] = "";
    char *out = NULL;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!*first) snprintf(first, sizeof first, "%s", line);
        if (strstr(line, "error: ")) {
            out = strdup(line);
            break;
        }
    }
    if (f) fclose(f);
    return out ? out : strdup(*first ? first : "no error message");
}

static void copy_file(const char *path, FILE *to)
{
    FILE *f = fopen(path, "r");
    char buf[4096];
    size_t n;
    while (f && (n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, to);
    if (f) fclose(f);
}

static void write_failed(const char *cell, int code, const char *error)
{
    size_t n = strlen(error) + 64;
    char *text = malloc(n);
    if (!text) abort();
    snprintf(text, n, "exit %d\n%s\n", code, error);
    nn_sweep_write_atomic(cell, "FAILED", text);
    free(text);
}

/* The spec_hash (summary.json's) of point p's spec, or "" when it does not load. */
static void point_hash(const nn_sweep_opts *o, int p, char *buf)
{
    nn_diag *d = nn_diag_new();
    nn_spec *s = nn_spec_load_point(o->spec, o->sets, o->nsets, p, d);
    if (s)
        nn_spec_hash(s, buf);
    else
        buf[0] = 0;
    nn_spec_free(s);
    nn_diag_free(d);
}

/* Whether the cell is DONE for this very spec: DONE holds its spec_hash, so a changed spec
 * or --set never passes off an old result as the new one.  1 yes, 0 not done, −1 DONE for
 * another spec (an error is printed). */
static int done_for(const nn_sweep_opts *o, const nn_matrix *m, const char *base, int p)
{
    char path[4400], line[256], want[64], hash[17];
    snprintf(path, sizeof path, "%s/%s/DONE", base, m->id[p]);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    point_hash(o, p, hash);
    snprintf(want, sizeof want, "spec_hash %s\n", hash);
    int same = 0;
    while (fgets(line, sizeof line, f))
        same |= !strcmp(line, want);
    fclose(f);
    if (same) return 1;
    fprintf(stderr,
            "nnrun: error: cell %d (%s, %s) in '%s' is DONE for a different spec (the spec or a "
            "--set changed since): choose another --out, or delete '%s/%s' to run it again\n",
            p, m->id[p], m->label[p], base, base, m->id[p]);
    return -1;
}

/* nn_dirlock_claim with the error printed. */
static int claim(const char *dir, int shared, const char *what)
{
    nn_diag *d = nn_diag_new();
    int rc = d ? nn_dirlock_claim(dir, shared, what, (nn_mark){dir, 0, 0}, d) : -1;
    if (rc != 0 && d) nn_diag_print(d, stderr);
    nn_diag_free(d);
    return rc;
}

/* Runs point p in this process with stderr captured in CELL/stderr.txt (then echoed). */
static int run_one(const nn_sweep_opts *o, const nn_matrix *m, const char *base, int p,
                   nn_cell_run_fn run, void *ctx)
{
    char cell[4200], log[4400], failed[4400];
    snprintf(cell, sizeof cell, "%s/%s", base, m->id[p]);
    int done = done_for(o, m, base, p);
    if (done) {
        if (done > 0) printf("cell %d (%s, %s): already done\n", p, m->id[p], m->label[p]);
        return done > 0 ? EXIT_OK : EXIT_INPUT;
    }
    if (nn_mkdir_p(cell) != 0) {
        fprintf(stderr, "nnrun: error: cannot create the cell directory '%s': %s\n", cell,
                strerror(errno));
        return EXIT_INPUT;
    }
    if (claim(cell, 0, "cell directory") != 0) return EXIT_INPUT; /* before its files change */
    snprintf(failed, sizeof failed, "%s/FAILED", cell);
    unlink(failed);
    snprintf(log, sizeof log, "%s/stderr.txt", cell);
    fflush(stdout);
    fflush(stderr);
    int saved = dup(2), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0 && saved >= 0) dup2(fd, 2);
    if (fd >= 0) close(fd);
    int rc = run(ctx, p, m->label[p], cell);
    fflush(stderr);
    if (saved >= 0) {
        dup2(saved, 2);
        close(saved);
    }
    copy_file(log, stderr);
    if (rc == EXIT_OK) {
        char text[1024], hash[17];
        point_hash(o, p, hash);
        snprintf(text, sizeof text, "%s\nspec_hash %s\n", m->label[p], hash);
        errno = 0;
        if (nn_sweep_write_atomic(cell, "DONE", text) != 0) {
            fprintf(stderr, "nnrun: error: cannot write '%s/DONE': %s\n", cell,
                    errno ? strerror(errno) : "a write failed");
            return EXIT_RUN;
        }
        printf("cell %d (%s, %s): done\n", p, m->id[p], m->label[p]);
    } else if (rc < 128) { /* stopped by a signal: not failed, just not done */
        char *err = first_error(log);
        write_failed(cell, rc, err);
        free(err);
    }
    return rc;
}

/* --- worker processes -------------------------------------------------------------- */

static double sweep_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile sig_atomic_t stop_signal;
static pid_t workers[64];

static void on_signal(int sig)
{
    if (!stop_signal) stop_signal = sig;
    for (int i = 0; i < 64; i++)
        if (workers[i] > 0) kill(workers[i], SIGTERM);
}

/* The environment of a worker: this one, and NNRUN_SWEEP_LOCKED=BASE (this process holds
 * the sweep directory's lock; the worker locks only its cell).  malloc'd array, its
 * strings borrowed. */
static char **worker_env(const char *base)
{
    static char locked[4200 + 32];
    extern char **environ;
    snprintf(locked, sizeof locked, NN_SWEEP_LOCKED_ENV "=%s", base);
    size_t ne = 0, k = 0, len = strlen(NN_SWEEP_LOCKED_ENV "=");
    while (environ[ne])
        ne++;
    char **env = calloc(ne + 2, sizeof *env);
    for (size_t i = 0; env && i < ne; i++)
        if (strncmp(environ[i], NN_SWEEP_LOCKED_ENV "=", len) != 0) env[k++] = environ[i];
    if (env) env[k] = locked;
    return env;
}

static pid_t launch(const nn_sweep_opts *o, const char *base, const char *id, int threads)
{
    const char *argv[64 + 2 * 256 + 64];
    char th[16];
    int n = 0;
    snprintf(th, sizeof th, "%d", threads);
    argv[n++] = "nnrun", argv[n++] = "sweep", argv[n++] = o->spec;
    argv[n++] = "--cell-id", argv[n++] = id, argv[n++] = "--out", argv[n++] = base;
    argv[n++] = "--threads", argv[n++] = th, argv[n++] = "--quiet";
    for (int i = 0; i < o->nrun_args && i < 64; i++) /* --isa, --max-memory, ... */
        argv[n++] = o->run_args[i];
    for (int i = 0; i < o->nsets && i < 256; i++)
        argv[n++] = "--set", argv[n++] = o->sets[i];
    argv[n] = NULL;
    char **env = worker_env(base);
    if (!env) return -1;
    pid_t pid = fork();
    if (pid != 0) free(env);
    if (pid != 0) return pid;
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) dup2(null, 1), dup2(null, 2); /* the worker keeps its stderr in the cell */
    execve("/proc/self/exe", (char *const *)argv, env);
    _exit(127);
}

/* The line of a finished cell; `tail` (the sweep's progress: running, ETA) ends it. */
static void report_cell(const char *base, const nn_matrix *m, int p, int st, int ndone, int n,
                        const char *tail)
{
    char cell[4200], path[4400];
    snprintf(cell, sizeof cell, "%s/%s", base, m->id[p]);
    if (cell_has(base, m->id[p], "DONE")) {
        snprintf(path, sizeof path, "%s/summary.json", cell);
        json_t *j = json_load_file(path, 0, NULL);
        json_t *dev = json_object_get(json_object_get(j, "loss"), "dev");
        json_t *acc = json_object_get(json_object_get(j, "accuracy"), "dev");
        printf("[%d/%d] %s %s: done", ndone, n, m->id[p], m->label[p]);
        if (json_is_number(dev)) printf(", dev loss %.4f", json_number_value(dev));
        if (json_is_number(acc)) printf(", dev accuracy %.1f%%", 100 * json_number_value(acc));
        if (json_object_get(j, "diverged")) printf(", DIVERGED");
        printf("%s\n", tail);
        json_decref(j);
        return;
    }
    long holder = 0;
    if (nn_dirlock(cell, 0, &holder) == 1) { /* another nnrun's cell: leave it alone */
        printf("[%d/%d] %s %s: not run: the cell is in use by another nnrun (pid %ld)%s\n", ndone,
               n, m->id[p], m->label[p], holder, tail);
        return;
    }
    nn_dirlock_release(cell);
    if (!cell_has(base, m->id[p], "FAILED")) { /* crashed before it could say why */
        char why[64];
        snprintf(why, sizeof why, WIFSIGNALED(st) ? "killed by signal %d" : "exit %d",
                 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        nn_mkdir_p(cell);
        write_failed(cell, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), why);
    }
    snprintf(path, sizeof path, "%s/FAILED", cell);
    FILE *f = fopen(path, "r");
    char line[2048] = "", err[2048] = "";
    if (f && fgets(line, sizeof line, f) && fgets(err, sizeof err, f)) err[strcspn(err, "\n")] = 0;
    if (f) fclose(f);
    printf("[%d/%d] %s %s: FAILED: %s%s\n", ndone, n, m->id[p], m->label[p], err, tail);
}

/* Runs the cells in `todo` in o->jobs workers; returns the number that failed, or −1 when
 * a signal stopped the sweep. */
static int run_pool(const nn_sweep_opts *o, const nn_matrix *m, const char *base, const int *todo,
                    int ntodo, int threads)
{
    int jobs = o->jobs > 64 ? 64 : o->jobs, next = 0, nrun = 0, nfin = 0, nfail = 0;
    int point[64];
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigset_t block, prev;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    fflush(stdout);
    double t0 = sweep_now();
    while (next < ntodo || nrun > 0) {
        while (!stop_signal && nrun < jobs && next < ntodo) {
            int slot = 0;
            while (workers[slot] > 0)
                slot++;
            sigprocmask(SIG_BLOCK, &block, &prev); /* a signal now finds the pid recorded */
            pid_t pid = launch(o, base, m->id[todo[next]], threads);
            if (pid > 0) workers[slot] = pid, point[slot] = todo[next], nrun++;
            sigprocmask(SIG_SETMASK, &prev, NULL);
            if (pid > 0 && !o->quiet) { /* a long cell shows it is running, not hung */
                printf("  start %s %s (%d running, %d of %d done)\n", m->id[todo[next]],
                       m->label[todo[next]], nrun, nfin, ntodo);
                fflush(stdout);
            }
            if (pid < 0) {
                fprintf(stderr, "nnrun: error: cannot start a worker: %s\n", strerror(errno));
                stop_signal = stop_signal ? stop_signal : SIGTERM;
            }
            next++;
        }
        if (nrun == 0) break;
        int st;
        pid_t w = waitpid(-1, &st, 0);
        if (w < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int s = 0; s < 64; s++) {
            if (workers[s] != w) continue;
            workers[s] = 0;
            nrun--;
            if (stop_signal && !cell_has(base, m->id[point[s]], "DONE")) break;
            nfin++;
            if (!cell_has(base, m->id[point[s]], "DONE")) nfail++;
            char tail[96] = "";
            double spent = sweep_now() - t0;
            if (nfin < ntodo && spent > 0) /* the cells left at the rate so far */
                snprintf(tail, sizeof tail, " (%d running, ETA %.0f s)", nrun,
                         (double)(ntodo - nfin) * spent / nfin);
            if (!o->quiet) report_cell(base, m, point[s], st, nfin, ntodo, tail);
            fflush(stdout);
            break;
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return stop_signal ? -1 : nfail;
}

/* --- selection and the command ------------------------------------------------------ */

/* The sweep's name: the spec's `name` (of the first point that loads). */
static char *sweep_name(const nn_sweep_opts *o, const nn_matrix *m, nn_diag *d)
{
    for (int p = 0; p < m->npoints; p++) {
        nn_diag *dp = p == 0 ? d : nn_diag_new();
        nn_spec *s = nn_spec_load_point(o->spec, o->sets, o->nsets, p, dp);
        if (p > 0) nn_diag_free(dp);
        if (!s) continue;
        char *name = strdup(s->name);
        nn_spec_free(s);
        return name;
    }
    return NULL;
}

static void list_cells(const nn_matrix *m, const char *base)
{
    for (int p = 0; p < m->npoints; p++) {
        const char *st = cell_has(base, m->id[p], "DONE")     ? "  [done]"
                         : cell_has(base, m->id[p], "FAILED") ? "  [failed]"
                                                              : "";
        printf("%d\t%s\t%s%s\n", p, m->id[p], m->label[p], st);
    }
}

static int select_cell(const nn_sweep_opts *o, const nn_matrix *m)
{
    if (o->cell_id) {
        int p = nn_matrix_find(m, o->cell_id);
        if (p < 0)
            fprintf(stderr,
                    "nnrun: error: --cell-id '%s' is no cell of %s (see 'nnrun sweep %s "
                    "--list')\n",
                    o->cell_id, o->spec, o->spec);
        return p;
    }
    if (o->cell >= m->npoints) {
        fprintf(stderr, "nnrun: error: --cell %ld is out of range: %s has cells 0 to %d\n", o->cell,
                o->spec, m->npoints - 1);
        return -1;
    }
    return (int)o->cell;
}

static int sweep_cells(const nn_sweep_opts *o, const nn_matrix *m, const char *base)
{
    int *todo = calloc((size_t)m->npoints, sizeof *todo), ntodo = 0, nsel = 0;
    if (!todo) abort();
    for (int p = 0; p < m->npoints; p++) {
        if (o->shard_n > 0 && p % o->shard_n != o->shard_k) continue;
        nsel++;
        int done = done_for(o, m, base, p);
        if (done < 0) {
            free(todo);
            return EXIT_INPUT;
        }
        if (!done) todo[ntodo++] = p;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    nn_sweep_opts oo = *o;
    if (oo.jobs <= 0) oo.jobs = cores < 1 ? 1 : (int)cores;
    int threads = o->threads > 0 ? o->threads : (int)(cores / oo.jobs);
    threads = threads < 1 ? 1 : threads > 16 ? 16 : threads;
    if (!o->quiet)
        printf("sweep %s: %d cells, %d already done, %d to run in %d workers -> %s\n", o->spec,
               nsel, nsel - ntodo, ntodo, oo.jobs, base);
    int nfail = ntodo ? run_pool(&oo, m, base, todo, ntodo, threads) : 0;
    free(todo);
    if (nfail < 0) {
        int sig = stop_signal;
        int ndone = 0;
        for (int p = 0; p < m->npoints; p++)
            ndone += cell_has(base, m->id[p], "DONE");
        fprintf(stderr,
                "nnrun: sweep stopped by signal %d: %d of %d cells done; run the same command "
                "again to resume\n",
                sig, ndone, m->npoints);
        return 128 + sig;
    }
    int rc = nn_sweep_summarize(base, o->quiet ? NULL : stdout, 0, NULL);
    if (rc != EXIT_OK) return rc;
    return nfail ? EXIT_RUN : EXIT_OK;
}

int nn_sweep_run(const nn_sweep_opts *o, nn_cell_run_fn run, void *ctx)
{
    nn_diag *d = nn_diag_new();
    nn_matrix *m = nn_matrix_load(o->spec, o->sets, o->nsets, d);
    char *name = NULL;
    int rc = EXIT_INPUT;
    if (m && m->npoints == 0) {
        fprintf(stderr,
                "%s: error: the spec has no 'matrix': nothing to sweep (run it with 'nnrun %s')\n",
                o->spec, o->spec);
        goto out;
    }
    if (!m || !(name = sweep_name(o, m, d))) {
        nn_diag_print(d, stderr);
        goto out;
    }
    char base[4096];
    snprintf(base, sizeof base, "%s", o->out ? o->out : "runs/");
    if (!o->out) strncat(base, name, sizeof base - strlen(base) - 1);
    if (o->list) {
        list_cells(m, base);
        rc = EXIT_OK;
        goto out;
    }
    if (nn_mkdir_p(base) != 0) {
        fprintf(stderr, "nnrun: error: cannot use the sweep directory '%s': %s\n", base,
                strerror(errno));
        goto out;
    }
    /* one sweep per directory: a whole sweep holds it alone; single cells (Slurm array
     * tasks, this sweep's own workers) share it and lock their cells */
    const char *parent = getenv(NN_SWEEP_LOCKED_ENV);
    int single = o->cell >= 0 || o->cell_id != NULL;
    if (!(single && parent && !strcmp(parent, base)) &&
        claim(base, single || o->emit_sbatch, "sweep directory") != 0)
        goto out;
    errno = 0;
    if (write_sweep_json(base, name, m) != 0) {
        fprintf(stderr, "nnrun: error: cannot write '%s/sweep.json': %s\n", base,
                errno ? strerror(errno) : "out of memory");
        goto out;
    }
    if (o->emit_sbatch) {
        rc = nn_sweep_emit_sbatch(o, name, base, m->npoints, stdout);
        goto out;
    }
    if (o->cell >= 0 || o->cell_id) {
        int p = select_cell(o, m);
        rc = p < 0 ? EXIT_INPUT : run_one(o, m, base, p, run, ctx);
        goto out;
    }
    rc = sweep_cells(o, m, base);
out:
    free(name);
    nn_matrix_free(m);
    nn_diag_free(d);
    return rc;
}
