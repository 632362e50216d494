/* callable.h — an elementwise function the IR calls without knowing what implements it.
 *
 * A plugin activation's node holds one (node->fn).  The runtime fills it in (runtime/
 * plugin.c: dlopen + libffi); the IR op (ops/plugin.c) only calls through the pointers, so
 * nothing in src/ir knows shared objects or libffi.  Both functions must be safe to call
 * from several threads at once (evaluation runs one plan per thread) and never allocate.
 */
#ifndef NN_CALLABLE_H
#define NN_CALLABLE_H

#include <stddef.h>

typedef struct nn_callable {
    /* y[i] = f(x[i]) for i < n */
    void (*forward)(const struct nn_callable *c, const float *x, float *y, size_t n);
    /* dx[i] (+)= dy[i] · f'(x[i]) for i < n (y = f(x) as the forward wrote it);
     * accumulate: add into dx instead of overwriting it */
    void (*backward)(const struct nn_callable *c, const float *x, const float *y, const float *dy,
                     float *dx, size_t n, int accumulate);
    const char *name; /* for `nnrun graph` */
    void *ctx;        /* the implementation's */
} nn_callable;

#endif
