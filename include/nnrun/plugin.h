/* nnrun/plugin.h — the calling convention of nnrun activation plugins.
 *
 * A plugin is a shared object with plain C functions; the spec names the library, the
 * symbols and the extra arguments:
 *
 *   plugins:
 *     swish: {library: swish.so, forward: swish_fwd, backward: swish_bwd,
 *             args: {beta: 1.0}, form: array}
 *   model:
 *     - activation: swish                     # or {swish: {beta: 2.0}} per layer
 *
 * nnrun calls the functions through libffi with exactly the arguments `args` declares, in
 * the order written, after the fixed ones:
 *
 *   args: {beta: 1.0}         a C float (a plain number)
 *   args: {k: {int: 3}}       a C int
 *   args: {g: {double: 0.5}}  a C double
 *
 * form: array (the default) — one call per layer per pass over the whole batch:
 *
 *   void fwd(const float *x, float *y, size_t n, ARGS...);        y[i] = f(x[i])
 *   void bwd(const float *x, const float *y, const float *dy,
 *            float *dx, size_t n, ARGS...);                        dx[i] = dy[i] * f'(x[i])
 *
 *   x, y, dy and dx do not overlap; bwd overwrites dx (nnrun adds where it must).
 *
 * form: scalar — one call per element (simple, slower):
 *
 *   float f(float x, ARGS...);
 *   float df(float x, float y, ARGS...);    f'(x), with y = f(x); optional
 *
 * Without `backward`, nnrun differentiates `forward` by central finite differences (and
 * says so once on stderr).  With one, nnrun checks it against finite differences at a few
 * points when it loads the plugin (`check: false` skips that).
 *
 * Rules: the functions take their arguments as written above — never variadic (`...`
 * would pass floats as doubles) — and must be pure (the same x and arguments give the same result),
 * must not keep pointers to the arrays, and may be called from several threads at once (nnrun
 * evaluates on every core).  A NaN or Inf they return for a finite input stops training
 * with an error naming the plugin and the step.
 *
 * Optional exports nnrun checks when it loads the library:
 *
 *   NNRUN_PLUGIN_ABI_EXPORT;                 this header's ABI version (a mismatch is an error)
 *   NNRUN_PLUGIN_ARGS(swish_fwd, "f");       the C types of ARGS, one letter each: f float,
 *                                            d double, i int; checked against `args`
 *
 * Build (nothing to link against):  cc -O2 -shared -fPIC my.c -o my.so -I<nnrun>/include
 */
#ifndef NNRUN_PLUGIN_H
#define NNRUN_PLUGIN_H

#include <stddef.h>

/* The version of this calling convention; nnrun refuses a library built for another. */
#define NNRUN_PLUGIN_ABI 1

#ifdef __cplusplus
#define NNRUN_PLUGIN_EXTERN extern "C"
#else
#define NNRUN_PLUGIN_EXTERN
#endif

#define NNRUN_PLUGIN_VISIBLE __attribute__((visibility("default")))

/* Put before an array-form function to get a vectorised copy for CPUs with AVX2 besides the
 * portable one, picked when the library loads (GCC/Clang ifunc on x86-64 glibc; nothing
 * elsewhere).  With -O3 -ffast-math GCC calls glibc's vector expf/tanhf in loops. */
#if defined(__x86_64__) && defined(__gnu_linux__) &&                                               \
    ((defined(__GNUC__) && __GNUC__ >= 6) || defined(__clang__))
#define NNRUN_PLUGIN_SIMD __attribute__((target_clones("avx2", "default")))
#else
#define NNRUN_PLUGIN_SIMD
#endif

/* Defines the exported int `nnrun_plugin_abi` = NNRUN_PLUGIN_ABI. */
#define NNRUN_PLUGIN_ABI_EXPORT                                                                    \
    NNRUN_PLUGIN_EXTERN NNRUN_PLUGIN_VISIBLE const int nnrun_plugin_abi = NNRUN_PLUGIN_ABI

/* Declares the argument types of function `fn` after its fixed arguments: exports the
 * string `fn_nnrun_args` ("" for none, "f" for one float, "fdi" for float, double, int). */
#define NNRUN_PLUGIN_ARGS(fn, types)                                                               \
    NNRUN_PLUGIN_EXTERN NNRUN_PLUGIN_VISIBLE const char fn##_nnrun_args[] = types

#endif
