/* testutil.h — shared helpers for the cmocka tests (header-only). */
#ifndef NN_TESTUTIL_H
#define NN_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The source tree (tests read specs and data from it): $NNRUN_SRCDIR, set by make check. */
static inline const char *tu_srcdir(void)
{
    const char *s = getenv("NNRUN_SRCDIR");
    return s && *s ? s : ".";
}

/* "<srcdir>/<rel>" in a static buffer (one at a time). */
static inline const char *tu_path(const char *rel)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", tu_srcdir(), rel);
    return buf;
}

/* Reads a whole file into a malloc'd NUL-terminated string, or NULL. */
static inline char *tu_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s) s[n] = 0;
    fclose(f);
    return s;
}

/* |a − b| ≤ atol + rtol·|b| */
static inline int tu_close(double a, double b, double atol, double rtol)
{
    double d = a > b ? a - b : b - a;
    double m = b < 0 ? -b : b;
    return d <= atol + rtol * m;
}

#endif
