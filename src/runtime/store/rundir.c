/* rundir.c — creating the run directory, and writing summary.json and samples.txt. */
#include "runtime/store/rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "config.h"
#include "kernels/kernels.h"
#include "runtime/store/dirlock.h"
#include "runtime/train/nancheck.h"

int nn_mkdir_p(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

/* A directory "holds a run" when it has a summary.json or a metrics.csv. */
static int holds_run(const char *dir)
{
    char f[4200];
    snprintf(f, sizeof f, "%s/summary.json", dir);
    if (access(f, F_OK) == 0) return 1;
    snprintf(f, sizeof f, "%s/metrics.csv", dir);
    return access(f, F_OK) == 0;
}

#define NN_RUNDIR_MIN_FREE (1L << 20) /* a run writes at least this much: less is "full" */

static int check_writable(const char *dir)
{
    struct statvfs vfs; /* a full file system fails only later, when the buffers flush */
    if (statvfs(dir, &vfs) == 0 && vfs.f_blocks > 0 &&
        (double)vfs.f_bavail * (double)vfs.f_frsize < (double)NN_RUNDIR_MIN_FREE) {
        errno = ENOSPC;
        return -1;
    }
    char f[4200];
    snprintf(f, sizeof f, "%s/.nnrun-write-test", dir);
    FILE *fp = fopen(f, "w");
    if (!fp) return -1;
    fclose(fp);
    return unlink(f);
}

/* Creates `path` and takes its lock (dirlock.h) before anything in it is written; 0, 1 when
 * another process holds the lock (an error in `d` unless `quiet`), −1 after an error. */
static int make_and_lock(const char *path, int quiet, nn_mark at, nn_diag *d)
{
    struct stat st;
    long pid = 0;
    int lk = -1;
    errno = 0;
    if (nn_mkdir_p(path) != 0 || stat(path, &st) != 0 || !S_ISDIR(st.st_mode) ||
        (lk = nn_dirlock(path, 0, &pid)) < 0 || (lk == 0 && check_writable(path) != 0)) {
        nn_diag_error(d, at, "cannot use output directory '%s': %s", path,
                      errno ? strerror(errno) : "not a directory");
        return -1;
    }
    if (lk > 0 && !quiet) return nn_dirlock_claim(path, 0, "output directory", at, d);
    return lk;
}

char *nn_rundir_create(const char *name, const char *out, int force, nn_mark at, nn_diag *d)
{
    char path[4096];
    if (out) {
        snprintf(path, sizeof path, "%s", out);
        if (!force && holds_run(path)) {
            nn_diag_error(d, at, "output directory '%s' already holds a run", path);
            nn_diag_note(d, "choose another --out, or add --force to overwrite it");
            return NULL;
        }
        return make_and_lock(path, 0, at, d) == 0 ? strdup(path) : NULL;
    }
    /* runs/NAME, or the first runs/NAME-K that holds no earlier run and no run in progress */
    for (int k = 1; k < 100000; k++) {
        if (k == 1)
            snprintf(path, sizeof path, "runs/%s", name);
        else
            snprintf(path, sizeof path, "runs/%s-%d", name, k);
        if (!force && holds_run(path)) continue;
        int rc = make_and_lock(path, 1, at, d);
        if (rc == 0) return strdup(path);
        if (rc < 0) return NULL;
    }
    return make_and_lock(path, 0, at, d) == 0 ? strdup(path) : NULL;
}

FILE *nn_rundir_open(const char *dir, const char *file)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return fopen(path, "w");
}

const char *nn_spec_hash(const nn_spec *spec, char *buf)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    uint64_t h = 14695981039346656037ull;
    if (mem && nn_spec_emit(spec, mem) == 0 && fclose(mem) == 0) {
        /* the first line names the spec file; the experiment is the rest */
        const char *p = memchr(text, '\n', len);
        for (p = p ? p + 1 : text; p < text + len; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    } else if (mem) {
        fclose(mem);
    }
    free(text);
    snprintf(buf, 17, "%016llx", (unsigned long long)h);
    return buf;
}

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

char *nn_summary_json(const nn_spec *spec, const nn_dataset *ds, const nn_trainer *tr,
                      const nn_result *r, const nn_run_info *info)
{
    static const char *split_names[NN_SPLIT_COUNT] = {"train", "dev", "test"};
    json_t *loss = json_object(), *examples = json_object(), *samples = json_array();
    json_object_set_new(loss, "step0", num_or_null(r->step0));
    json_object_set_new(loss, "last", num_or_null(r->last));
    for (int s = 0; s < NN_SPLIT_COUNT; s++) {
        json_object_set_new(loss, split_names[s],
                            r->have_split[s] ? num_or_null(r->split[s]) : json_null());
        json_object_set_new(examples, split_names[s], json_integer(ds->split[s].n));
    }
    for (int i = 0; i < r->nsamples; i++)
        json_array_append_new(samples, json_string(r->samples[i]));
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)spec->seed);
    json_t *root = json_pack(
        "{s:s, s:s, s:I, s:I, s:o, s:f, s:f, s:s, s:i, s:o, s:s, s:i, s:o, s:o}", "name",
        spec->name, "version", PACKAGE_VERSION, "steps", (json_int_t)r->steps, "params",
        (json_int_t)tr->P->count, "loss", loss, "wall_seconds", r->wall_seconds, "steps_per_second",
        r->train_seconds > 0 ? (double)(r->steps - r->first_step) / r->train_seconds : 0.0, "isa",
        info->isa, "threads", info->threads,
        /* seeds are unsigned 64-bit: a JSON integer where it fits exactly, else a string */
        "seed",
        spec->seed <= (1ull << 53) ? json_integer((json_int_t)spec->seed) : json_string(seed),
        "rng", spec->rng == NN_RNG_TORCH ? "torch" : "native", "vocab", ds->vocab, "examples",
        examples, "samples", samples);
    char hash[17];
    if (root) json_object_set_new(root, "spec_hash", json_string(nn_spec_hash(spec, hash)));
    if (root && r->have_accuracy) { /* classifiers only, keys as in `loss` */
        json_t *acc = json_object();
        for (int s = 0; s < NN_SPLIT_COUNT; s++)
            json_object_set_new(acc, split_names[s],
                                r->have_split[s] ? num_or_null(r->accuracy[s]) : json_null());
        json_object_set_new(root, "accuracy", acc);
    }
    if (root && r->nan) { /* stopped early (nancheck.h): why, in the CLI's words */
        char why[512];
        json_object_set_new(root, "stopped", json_string(nn_nan_describe(r->nan, why, sizeof why)));
    }
    char *s = root ? json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(root);
    return s;
}

int nn_rundir_write_results(const char *dir, const char *summary_json, const nn_result *r)
{
    FILE *f = nn_rundir_open(dir, "summary.json");
    if (!f) return -1;
    int bad = fputs(summary_json, f) < 0 || fputc('\n', f) == EOF;
    bad |= fclose(f) != 0;
    if (bad || !(f = nn_rundir_open(dir, "samples.txt"))) return -1;
    for (int i = 0; i < r->nsamples; i++)
        bad |= fprintf(f, "%s\n", r->samples[i]) < 0;
    bad |= fclose(f) != 0;
    return bad ? -1 : 0;
}

int nn_rundir_write_resolved(const char *dir, const nn_spec *spec)
{
    FILE *f = nn_rundir_open(dir, "spec.resolved.yaml");
    int err = f ? 0 : errno;
    if (f) {
        errno = 0;
        int bad = nn_spec_emit(spec, f) != 0 || ferror(f);
        err = bad ? errno : 0;
        if (fclose(f) != 0 && !bad) bad = 1, err = errno; /* closed in any case */
        if (!bad) return 0;
    }
    fprintf(stderr, "nnrun: error: cannot write '%s/spec.resolved.yaml': %s\n", dir,
            err ? strerror(err) : "a write failed");
    return -1;
}

int nn_rundir_close_metrics(FILE *f, const char *dir, const char *name, int err)
{
    if (!f) return 0;
    int bad = ferror(f);
    errno = 0;
    if (fclose(f) != 0) bad = 1, err = err ? err : errno;
    if (!bad) return 0;
    fprintf(stderr, "nnrun: error: cannot write '%s/%s': %s\n", dir, name,
            err ? strerror(err) : "a write failed");
    nn_rundir_trim_partial_line(dir, name);
    return 1;
}

void nn_rundir_trim_partial_line(const char *dir, const char *file)
{
    char path[4200], buf[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0) close(fd);
        return;
    }
    off_t end = st.st_size; /* scan back for the last newline; keep everything up to it */
    while (end > 0) {
        off_t from = end > (off_t)sizeof buf ? end - (off_t)sizeof buf : 0;
        ssize_t n = pread(fd, buf, (size_t)(end - from), from);
        if (n <= 0) break;
        while (n > 0 && buf[n - 1] != '\n')
            n--;
        if (n > 0) {
            end = from + n;
            break;
        }
        end = from;
    }
    close(fd);
    if (end < st.st_size && truncate(path, end) != 0) {
        /* nothing more to do: the file stays as the failed write left it */
    }
}
