/* fuzzutil.h — shared by the libFuzzer harnesses (header-only): a private scratch directory
 * per process and writing a buffer to a file in it.  The harnesses feed the loaders real
 * files because that is the interface they have (paths, includes relative to the spec). */
#ifndef NN_FUZZUTIL_H
#define NN_FUZZUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "<scratch>/<name>" in a static buffer; the scratch directory is made on first use. */
static const char *fz_path(const char *name)
{
    static char dir[256], buf[512];
    if (!dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/nnrun-fuzz-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(dir)) abort();
    }
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
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

#endif
