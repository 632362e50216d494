/* fuzzutil.h — shared by the libFuzzer harnesses (header-only): a private scratch directory
 * per process and writing a buffer to a file in it.  The harnesses feed the loaders real
 * files because that is the interface they have (paths, includes relative to the spec). */
#ifndef NN_FUZZUTIL_H
#define NN_FUZZUTIL_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir/build.h"
#include "parser/spec.h"

static char fz_dir[256];

/* Removes the scratch directory and the files in it (atexit). */
static void fz_cleanup(void)
{
    DIR *d = opendir(fz_dir);
    char p[600];
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        snprintf(p, sizeof p, "%s/%s", fz_dir, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(fz_dir);
}

/* "<scratch>/<name>" in a static buffer; the scratch directory is made on first use and
 * removed at exit. */
static const char *fz_path(const char *name)
{
    static char buf[512];
    if (!fz_dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(fz_dir, sizeof fz_dir, "%s/nnrun-fuzz-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(fz_dir)) abort();
        atexit(fz_cleanup);
    }
    snprintf(buf, sizeof buf, "%s/%s", fz_dir, name);
    return buf;
}

/* Writes `len` bytes to <scratch>/<name>; returns the path (static buffer). */
static const char *fz_write(const char *name, const uint8_t *data, size_t len)
{
    const char *p = fz_path(name);
    FILE *f = fopen(p, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) abort();
    return p;
}

/* What follows a successful load in the spec harnesses: the resolved spec is emitted and the
 * graph built (names.txt's shape: 27 tokens and the spec's context; or 2 features for
 * tables).  The counting model has no graph (nn_trainer_new does not build one either). */
static inline void fz_emit_and_build(const nn_spec *spec, nn_diag *d)
{
    FILE *null = fopen("/dev/null", "w");
    if (null) {
        nn_spec_emit(spec, null);
        fclose(null);
    }
    int text = spec->data.kind == NN_DATA_TEXT;
    int ctx = spec->data.context > 0 ? spec->data.context : 3;
    nn_build_opts o = {32, 1, 1, text ? 27 : 2, ctx, text ? 0 : 2, 0};
    if (spec->nlayers > 0 && spec->layers[0].kind != NN_LAYER_NGRAM)
        nn_graph_free(nn_build(spec, &o, d));
}

#endif
