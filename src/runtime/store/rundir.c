/* rundir.c — creating the run directory and opening files in it; the spec hash. */
#include "runtime/store/rundir.h"

#include <errno.h>
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
    } else {
        snprintf(path, sizeof path, "runs/%s", name);
        for (int k = 2; !force && holds_run(path) && k < 100000; k++)
            snprintf(path, sizeof path, "runs/%s-%d", name, k);
    }
    struct stat st;
    if (nn_mkdir_p(path) != 0 || stat(path, &st) != 0 || !S_ISDIR(st.st_mode) ||
        check_writable(path) != 0) {
        nn_diag_error(d, at, "cannot use output directory '%s': %s", path,
                      errno ? strerror(errno) : "not a directory");
        return NULL;
    }
    return strdup(path);
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
