/* plugin_int.h — what plugin.c (loading, checks) and plugin_call.c (the calls) share. */
#ifndef NN_PLUGIN_INT_H
#define NN_PLUGIN_INT_H

#include <ffi.h>
#include <stdatomic.h>

#include "runtime/plugin/plugin.h"

#define NN_PLUGIN_MAX_ARGS NN_MAX_PLUGIN_ARGS /* the parser allows no more (spec.h) */

typedef struct {
    const nn_plugin_spec *spec;
    void *lib;       /* dlopen handle */
    void *fwd, *bwd; /* the symbols; bwd NULL: finite differences */
} nn_plugin;

/* The first NaN/Inf a plugin returned for finite input: state 0 none, 1 being written,
 * 2 written (any thread may find one; the first to claim it writes `what`). */
typedef struct {
    atomic_int state;
    char what[1024]; /* "FILE:LINE:COL: error: plugin ...", at the plugin's name */
} nn_plugin_fail;

/* One activation layer's callable: the plugin and this layer's argument values. */
typedef struct {
    nn_callable pub; /* pub.ctx points here */
    const nn_plugin *pl;
    nn_plugin_fail *fail;
    int nargs;
    nn_arg_type type[NN_PLUGIN_MAX_ARGS];
    union {
        float f;
        double d;
        int i;
    } val[NN_PLUGIN_MAX_ARGS];
    /* libffi call descriptions, prepared once (ffi_prep_cif) and only read afterwards */
    ffi_cif fcif, bcif;
    ffi_type *ftypes[NN_PLUGIN_MAX_ARGS + 3], *btypes[NN_PLUGIN_MAX_ARGS + 5];
    int direct; /* scalar form, every argument a float, at most 4: called through a typed
                   C pointer (no libffi per element) */
} nn_plugin_fn;

/* Builds the libffi calls and fills pub (plugin_call.c).  Returns 0 or −1. */
int nn_plugin_prepare(nn_plugin_fn *f);
/* The plugin's own forward / backward (dy given) on n elements, without checking the
 * results: the gradient check reads them as they come. */
void nn_plugin_raw_forward(const nn_plugin_fn *f, const float *x, float *y, size_t n);
void nn_plugin_raw_backward(const nn_plugin_fn *f, const float *x, const float *y, const float *dy,
                            float *dx, size_t n);

#endif
