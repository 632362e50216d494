/* plugin_call.c — calling a plugin's functions: the nn_callable the IR op runs.
 *
 * libffi builds each call description once, at load (nn_plugin_prepare: ffi_prep_cif);
 * a step only fills the argument pointers (on the stack: evaluation threads call the same
 * callable at once) and calls ffi_call.
 *   array form: one ffi_call per layer per pass, over the whole batch;
 *   scalar form: one call per element.  When every declared argument is a float (at most
 *   4), the function is called through a C pointer of its exact type — the convention
 *   nnrun/plugin.h promises, so the call is well defined — which costs what any indirect
 *   call costs; otherwise ffi_call per element (bench/plugins measures both).
 * Without a backward, the derivative is a central finite difference of the forward.
 * Every output is checked for NaN/Inf (one integer pass, vectorisable); one that comes
 * from finite inputs is recorded as the plugin's failure, which stops training. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/plugin/plugin_int.h"

#define CHUNK 256 /* elements per stack buffer (finite differences, accumulation) */

typedef float (*sfn1)(float);
typedef float (*sfn2)(float, float);
typedef float (*sfn3)(float, float, float);
typedef float (*sfn4)(float, float, float, float);
typedef float (*sfn5)(float, float, float, float, float);
typedef float (*sfn6)(float, float, float, float, float, float);

/* out[i] = fn(lead[i] (, lead2[i]), a[0..na)) through a typed pointer; nlead 1 or 2. */
static void direct_loop(void *fn, int nlead, int na, const float *lead, const float *lead2,
                        const float *a, float *out, size_t n)
{
    switch (nlead + na) {
    case 1: {
        sfn1 g;
        memcpy(&g, &fn, sizeof g);
        for (size_t i = 0; i < n; i++)
            out[i] = g(lead[i]);
        break;
    }
    case 2: {
        sfn2 g;
        memcpy(&g, &fn, sizeof g);
        for (size_t i = 0; i < n; i++)
            out[i] = g(lead[i], nlead == 2 ? lead2[i] : a[0]);
        break;
    }
    case 3: {
        sfn3 g;
        memcpy(&g, &fn, sizeof g);
        for (size_t i = 0; i < n; i++)
            out[i] = nlead == 2 ? g(lead[i], lead2[i], a[0]) : g(lead[i], a[0], a[1]);
        break;
    }
    case 4: {
        sfn4 g;
        memcpy(&g, &fn, sizeof g);
        for (size_t i = 0; i < n; i++)
            out[i] = nlead == 2 ? g(lead[i], lead2[i], a[0], a[1]) : g(lead[i], a[0], a[1], a[2]);
        break;
    }
    case 5: {
        sfn5 g;
        memcpy(&g, &fn, sizeof g);
        for (size_t i = 0; i < n; i++)
            out[i] = nlead == 2 ? g(lead[i], lead2[i], a[0], a[1], a[2])
                                : g(lead[i], a[0], a[1], a[2], a[3]);
        break;
    }
    default: {
        sfn6 g;
        memcpy(&g, &fn, sizeof g);
        for (size_t i = 0; i < n; i++)
            out[i] = g(lead[i], lead2[i], a[0], a[1], a[2], a[3]);
        break;
    }
    }
}

/* av[0..nfixed) are the caller's; the declared arguments follow. */
static void fill_args(const nn_plugin_fn *f, void **av, int nfixed)
{
    for (int i = 0; i < f->nargs; i++)
        av[nfixed + i] = (void *)&f->val[i];
}

/* out[i] = fn(lead[i] (, lead2[i]), args) for a scalar-form function. */
static void scalar_loop(const nn_plugin_fn *f, const ffi_cif *cif, void *fn, int nlead,
                        const float *lead, const float *lead2, float *out, size_t n)
{
    if (f->direct) {
        float a[4];
        for (int i = 0; i < f->nargs; i++)
            a[i] = f->val[i].f;
        direct_loop(fn, nlead, f->nargs, lead, lead2, a, out, n);
        return;
    }
    void *av[NN_PLUGIN_MAX_ARGS + 2];
    float v0, v1;
    union {
        ffi_arg a;
        float f;
    } r;
    av[0] = &v0, av[1] = &v1;
    fill_args(f, av, nlead);
    for (size_t i = 0; i < n; i++) {
        v0 = lead[i];
        if (nlead == 2) v1 = lead2[i];
        ffi_call((ffi_cif *)cif, FFI_FN(fn), &r, av);
        out[i] = r.f;
    }
}

void nn_plugin_raw_forward(const nn_plugin_fn *f, const float *x, float *y, size_t n)
{
    if (f->pl->spec->scalar) {
        scalar_loop(f, &f->fcif, f->pl->fwd, 1, x, NULL, y, n);
        return;
    }
    void *av[NN_PLUGIN_MAX_ARGS + 3] = {&x, &y, &n};
    fill_args(f, av, 3);
    ffi_call((ffi_cif *)&f->fcif, FFI_FN(f->pl->fwd), NULL, av);
}

/* dx = dy · (f(x + h) − f(x − h)) / (2h), chunk by chunk on the stack. */
static void finite_difference(const nn_plugin_fn *f, const float *x, const float *dy, float *dx,
                              size_t n)
{
    float xp[CHUNK], xm[CHUNK], yp[CHUNK], ym[CHUNK];
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t m = n - at < CHUNK ? n - at : CHUNK;
        for (size_t i = 0; i < m; i++) {
            /* float steps: big enough that rounding in f stays small, small enough that
             * the curvature does */
            float h = 4e-3f * fmaxf(1.0f, fabsf(x[at + i]));
            xp[i] = x[at + i] + h, xm[i] = x[at + i] - h;
        }
        nn_plugin_raw_forward(f, xp, yp, m);
        nn_plugin_raw_forward(f, xm, ym, m);
        for (size_t i = 0; i < m; i++)
            dx[at + i] = dy[at + i] * ((yp[i] - ym[i]) / (xp[i] - xm[i]));
    }
}

void nn_plugin_raw_backward(const nn_plugin_fn *f, const float *x, const float *y, const float *dy,
                            float *dx, size_t n)
{
    if (!f->pl->bwd) {
        finite_difference(f, x, dy, dx, n);
        return;
    }
    if (f->pl->spec->scalar) {
        scalar_loop(f, &f->bcif, f->pl->bwd, 2, x, y, dx, n);
        for (size_t i = 0; i < n; i++)
            dx[i] *= dy[i];
        return;
    }
    void *av[NN_PLUGIN_MAX_ARGS + 5] = {&x, &y, &dy, &dx, &n};
    fill_args(f, av, 5);
    ffi_call((ffi_cif *)&f->bcif, FFI_FN(f->pl->bwd), NULL, av);
}

/* Records the first non-finite output that came from finite inputs (x, and dy if given). */
static void check_out(const nn_plugin_fn *f, const char *role, const float *x, const float *dy,
                      const float *out, size_t n)
{
    /* x·0 is 0 for finite x and NaN for Inf or NaN: eight independent sums that the
     * compiler keeps in SIMD registers */
    enum { L = 8 };
    float lane[L] = {0};
    size_t i = 0;
    for (; i + L <= n; i += L)
        for (int j = 0; j < L; j++)
            lane[j] += out[i + j] * 0.0f;
    for (; i < n; i++)
        lane[0] += out[i] * 0.0f;
    int bad = 0;
    for (int j = 0; j < L; j++)
        bad |= lane[j] != 0.0f;
    if (!bad) return;
    for (i = 0; i < n; i++) {
        if (isfinite(out[i]) || !isfinite(x[i]) || (dy && !isfinite(dy[i]))) continue;
        int expect = 0;
        if (!atomic_compare_exchange_strong(&f->fail->state, &expect, 1)) return;
        const nn_plugin_spec *s = f->pl->spec;
        char fn[160];
        if (role[0] == 'f' || s->backward)
            snprintf(fn, sizeof fn, "%s '%.100s'", role, role[0] == 'f' ? s->forward : s->backward);
        else
            snprintf(fn, sizeof fn, "the finite difference of forward '%.100s'", s->forward);
        snprintf(f->fail->what, sizeof f->fail->what,
                 "%s:%d:%d: error: plugin '%s': %s returned %g for x = %g", s->mark.file,
                 s->mark.line, s->mark.col, s->name, fn, out[i], x[i]);
        atomic_store(&f->fail->state, 2);
        return;
    }
}

static void call_forward(const nn_callable *c, const float *x, float *y, size_t n)
{
    const nn_plugin_fn *f = c->ctx;
    nn_plugin_raw_forward(f, x, y, n);
    check_out(f, "forward", x, NULL, y, n);
}

static void call_backward(const nn_callable *c, const float *x, const float *y, const float *dy,
                          float *dx, size_t n, int accumulate)
{
    const nn_plugin_fn *f = c->ctx;
    if (!accumulate) {
        nn_plugin_raw_backward(f, x, y, dy, dx, n);
        check_out(f, "backward", x, dy, dx, n);
        return;
    }
    float tmp[CHUNK];
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t m = n - at < CHUNK ? n - at : CHUNK;
        nn_plugin_raw_backward(f, x + at, y + at, dy + at, tmp, m);
        check_out(f, "backward", x + at, dy + at, tmp, m);
        for (size_t i = 0; i < m; i++)
            dx[at + i] += tmp[i];
    }
}

static ffi_type *arg_type(nn_arg_type t)
{
    return t == NN_ARG_DOUBLE ? &ffi_type_double
           : t == NN_ARG_INT  ? &ffi_type_sint
                              : &ffi_type_float;
}

int nn_plugin_prepare(nn_plugin_fn *f)
{
    ffi_type *size = sizeof(size_t) == 8 ? &ffi_type_uint64 : &ffi_type_uint32;
    int scalar = f->pl->spec->scalar, nf = 0, nb = 0, all_float = 1;
    if (scalar) {
        f->ftypes[nf++] = &ffi_type_float;
        f->btypes[nb++] = &ffi_type_float, f->btypes[nb++] = &ffi_type_float;
    } else {
        for (int i = 0; i < 2; i++)
            f->ftypes[nf++] = &ffi_type_pointer;
        f->ftypes[nf++] = size;
        for (int i = 0; i < 4; i++)
            f->btypes[nb++] = &ffi_type_pointer;
        f->btypes[nb++] = size;
    }
    for (int i = 0; i < f->nargs; i++) {
        f->ftypes[nf++] = f->btypes[nb++] = arg_type(f->type[i]);
        all_float &= f->type[i] == NN_ARG_FLOAT;
    }
    ffi_type *ret = scalar ? &ffi_type_float : &ffi_type_void;
    if (ffi_prep_cif(&f->fcif, FFI_DEFAULT_ABI, (unsigned)nf, ret, f->ftypes) != FFI_OK ||
        ffi_prep_cif(&f->bcif, FFI_DEFAULT_ABI, (unsigned)nb, ret, f->btypes) != FFI_OK)
        return -1;
    f->direct = scalar && all_float && f->nargs <= 4 && !getenv("NNRUN_PLUGIN_FFI_ONLY");
    f->pub.forward = call_forward;
    f->pub.backward = call_backward;
    f->pub.name = f->pl->spec->name;
    f->pub.ctx = f;
    return 0;
}
