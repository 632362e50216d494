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
#include <sys/wait.h>

#include <cmocka.h>

/* A test part that cannot run on this machine: skipped, but a failure under CI=true (CI
 * sets it), where every part must run. */
#define tu_cannot_run(...)                                                                         \
    do {                                                                                           \
        const char *ci_ = getenv("CI");                                                            \
        print_message(__VA_ARGS__);                                                                \
        if (ci_ && !strcmp(ci_, "true")) fail_msg("CI=true: a test part that cannot run fails");  \
        skip();                                                                                    \
    } while (0)

/* Whether the CPU runs AVX2 and FMA (the avx2 kernel path's needs). */
static inline int tu_cpu_has_avx2(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

/* 1 on a CPU with AVX-512 F/VL/BW (the avx512 path's needs; compilers of x86 all build it). */
static inline int tu_cpu_has_avx512(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return tu_cpu_has_avx2() && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
#else
    return 0;
#endif
}

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

/* Runs the built binary as `nnrun ARGS` from the source tree (through the shell, so ARGS
 * is quoted as on a command line), with stdout and stderr in DIR/out and DIR/err.  Returns
 * the exit status, or −1 when it did not exit normally. */
static inline int tu_nnrun(const char *dir, const char *args)
{
    const char *bin = getenv("NNRUN_BIN");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >'%s/out' 2>'%s/err'", tu_srcdir(),
             bin ? bin : "./nnrun", args, dir, dir);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* DIR/out or DIR/err of the last tu_nnrun, malloc'd (the test fails if it is missing). */
static inline char *tu_captured(const char *dir, const char *which)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, which);
    char *s = tu_read_file(p);
    assert_non_null(s);
    return s;
}

/* tu_nnrun with ARGS formatted as printf's. */
static inline int tu_nnrunf(const char *dir, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline int tu_nnrunf(const char *dir, const char *fmt, ...)
{
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return tu_nnrun(dir, args);
}

/* The test fails unless DIR/err of the last tu_nnrun holds `want`. */
static inline void tu_expect_err(const char *dir, const char *want)
{
    char *err = tu_captured(dir, "err");
    if (!strstr(err, want)) fail_msg("stderr lacks '%s':\n%s", want, err);
    free(err);
}

/* A fresh scratch directory from a mkdtemp template ("/tmp/nnrun-NAME-XXXXXX") into buf:
 * the suites' setup.  Returns 0 or −1 (cmocka's convention). */
static inline int tu_mkdtemp(char *buf, size_t len, const char *template)
{
    snprintf(buf, len, "%s", template);
    return mkdtemp(buf) ? 0 : -1;
}

/* Removes a scratch directory and everything in it: the suites' teardown. */
static inline int tu_rmtree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes `len` bytes of `data` to DIR/NAME (the test fails if it cannot). */
static inline void tu_write_bytes(const char *dir, const char *name, const char *data,
                                  size_t len)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* |a − b| ≤ atol + rtol·|b| */
static inline int tu_close(double a, double b, double atol, double rtol)
{
    double d = a > b ? a - b : b - a;
    double m = b < 0 ? -b : b;
    return d <= atol + rtol * m;
}

#endif
