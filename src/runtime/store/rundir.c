/* rundir.c — creating the run directory and opening files in it; the spec hash. */
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

int nn_rundir_write_resolved(const char *dir, const nn_spec *spec)
{
    /* emitted before the file is opened: a run resumed without its spec was loaded from
     * this very file, whose header line names the spec it was resolved from */
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    int emitted = mem && nn_spec_emit(spec, mem) == 0;
    if (mem && fclose(mem) != 0) emitted = 0;
    FILE *f = emitted ? nn_rundir_open(dir, "spec.resolved.yaml") : NULL;
    int err = f ? 0 : errno;
    if (f) {
        errno = 0;
        int bad = fwrite(text, 1, len, f) != len || ferror(f);
        err = bad ? errno : 0;
        if (fclose(f) != 0 && !bad) bad = 1, err = errno; /* closed in any case */
        if (!bad) {
            free(text);
            return 0;
        }
    }
    free(text);
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
