/* plugin.c — activation plugins: dlopen the spec's libraries, find the symbols, check them,
 * and fill one nn_callable per activation layer (the calls themselves are in
 * plugin_call.c).  Everything that can be wrong with a plugin is found here, at load time,
 * as an error at the spec line that names it: a library that does not load (with
 * dlerror's text), a missing symbol, an ABI mismatch, argument types that disagree with
 * the library's declaration, a backward that disagrees with finite differences. */
#define _GNU_SOURCE /* dl_iterate_phdr: is a symbol in code or in data? */
#include "runtime/plugin/plugin.h"

#include <dlfcn.h>
#include <link.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nnrun/plugin.h"
#include "runtime/plugin/plugin_int.h"

const float nn_plugin_check_x[NN_PLUGIN_CHECK_POINTS] = {-3.1f, -1.7f, -0.6f, -0.13f, 0.07f,
                                                         0.4f,  1.1f,  2.3f,  4.2f};

struct nn_plugins {
    nn_plugin *pl; /* one per spec plugin */
    int npl;
    nn_plugin_fn **fn;         /* per layer: the implementation, or NULL */
    const nn_callable **calls; /* per layer: &fn[i]->pub, or NULL (what the IR gets) */
    int nlayers;
    nn_plugin_fail fail;
};

/* A symbol's address, or NULL (a function pointer read through the object pointer that
 * dlsym returns, as POSIX requires to work). */
static void *symbol(void *lib, const char *name)
{
    dlerror();
    void *p = dlsym(lib, name);
    return dlerror() ? NULL : p;
}

/* Whether addr lies in an executable segment of a loaded object: a `forward` naming a
 * variable would otherwise be called, and crash. */
typedef struct {
    uintptr_t addr;
    int code;
} code_probe;

static int probe_segment(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    code_probe *p = arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && p->addr >= lo && p->addr - lo < ph->p_memsz) {
            p->code = (ph->p_flags & PF_X) != 0;
            return 1;
        }
    }
    return 0;
}

static int is_code(const void *addr)
{
    code_probe p = {(uintptr_t)addr, 0};
    dl_iterate_phdr(probe_segment, &p);
    return p.code;
}

/* The library's file: where the spec says (relative to the spec file), else the first
 * DIR/NAME.so that exists for DIR in $NNRUN_PLUGIN_PATH (colon-separated), e.g. the build
 * tree's examples/plugins in a VPATH build.  Never a bare name: dlopen would search the
 * system's library path. */
static void library_path(const char *library, char *path, size_t size)
{
    snprintf(path, size, "%s%s", strchr(library, '/') ? "" : "./", library);
    const char *dirs = getenv("NNRUN_PLUGIN_PATH"), *base = strrchr(library, '/');
    base = base ? base + 1 : library;
    if (access(path, F_OK) == 0 || !dirs) return;
    for (const char *d = dirs; *d;) {
        size_t n = strcspn(d, ":");
        char cand[4200];
        snprintf(cand, sizeof cand, "%.*s%s%s", (int)n, d, n ? "/" : "./", base);
        if (access(cand, F_OK) == 0) {
            snprintf(path, size, "%s", cand);
            return;
        }
        d += n + (d[n] == ':');
    }
}

static int open_library(nn_plugin *p, nn_diag *d)
{
    const nn_plugin_spec *s = p->spec;
    char path[4200];
    library_path(s->library, path, sizeof path);
    dlerror();
    p->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!p->lib) {
        const char *why = dlerror();
        nn_diag_error(d, s->library_mark, "cannot load the library of plugin '%s': %s", s->name,
                      why ? why : "unknown reason");
        nn_diag_note(d, "'library' is a shared object (cc -shared -fPIC x.c -o x.so), its "
                        "path relative to the spec file (when it is not there: looked for by "
                        "name in each directory of $NNRUN_PLUGIN_PATH)");
        return -1;
    }
    const int *abi = symbol(p->lib, "nnrun_plugin_abi");
    if (abi && *abi != NNRUN_PLUGIN_ABI) {
        nn_diag_error(d, s->library_mark,
                      "plugin '%s': '%s' was built for plugin ABI %d, but this nnrun calls "
                      "plugins with ABI %d",
                      s->name, s->library, *abi, NNRUN_PLUGIN_ABI);
        nn_diag_note(d, "rebuild the library against this nnrun's include/nnrun/plugin.h");
        return -1;
    }
    return 0;
}

/* The function `name` (forward or backward) of the library, checked against an optional
 * NAME_nnrun_args declaration of its argument types. */
static void *find_function(nn_plugin *p, const char *name, nn_mark at, const char *role, nn_diag *d)
{
    const nn_plugin_spec *s = p->spec;
    void *fn = symbol(p->lib, name);
    if (!fn) {
        nn_diag_error(d, at, "plugin '%s': the library has no symbol '%s' (its %s function)",
                      s->name, name, role);
        nn_diag_note(d,
                     "library: %s; check the name with 'nm -D %s' (a C++ function needs "
                     "extern \"C\")",
                     s->library, s->library);
        return NULL;
    }
    if (!is_code(fn)) {
        nn_diag_error(d, at,
                      "plugin '%s': '%s' in the library is a variable, not a function (its %s "
                      "function must be one)",
                      s->name, name, role);
        nn_diag_note(d, "name the C function here; check with 'nm -D %s' (T: a function)",
                     s->library);
        return NULL;
    }
    char decl_name[200], want[NN_PLUGIN_MAX_ARGS + 1];
    snprintf(decl_name, sizeof decl_name, "%.150s_nnrun_args", name);
    const char *decl = symbol(p->lib, decl_name);
    if (!decl) return fn;
    for (int i = 0; i < s->nargs; i++)
        want[i] = "fdi"[s->args[i].type];
    want[s->nargs] = 0;
    if (strncmp(decl, want, NN_PLUGIN_MAX_ARGS + 1) != 0) {
        nn_diag_error(d, s->args_mark,
                      "plugin '%s': '%s' takes arguments of types \"%.20s\" after x, but 'args' "
                      "declares \"%s\" (f float, d double, i int)",
                      s->name, name, decl, want);
        nn_diag_note(d, "a plain number is a float; write {double: X} or {int: N} for the "
                        "others, in the order of the C parameters");
        return NULL;
    }
    return fn;
}

static int load_plugin(nn_plugin *p, nn_diag *d)
{
    const nn_plugin_spec *s = p->spec;
    if (open_library(p, d) != 0) return -1;
    if (!(p->fwd = find_function(p, s->forward, s->forward_mark, "forward", d))) return -1;
    if (s->backward && !(p->bwd = find_function(p, s->backward, s->backward_mark, "backward", d)))
        return -1;
    if (!s->backward)
        fprintf(stderr,
                "%s:%d:%d: note: plugin '%s' has no backward: its derivative is a central "
                "finite difference of '%s' (two more calls per element)\n",
                s->mark.file, s->mark.line, s->mark.col, s->name, s->forward);
    return 0;
}

/* The layer's argument values: the plugin's defaults with the layer's overrides. */
static void layer_args(const nn_plugin_spec *s, const nn_layer *l, nn_plugin_fn *f)
{
    f->nargs = s->nargs;
    for (int i = 0; i < s->nargs; i++) {
        double v = s->args[i].value;
        for (int j = 0; j < l->nargs; j++)
            if (!strcmp(l->args[j].name, s->args[i].name)) v = l->args[j].value;
        f->type[i] = s->args[i].type;
        if (f->type[i] == NN_ARG_FLOAT)
            f->val[i].f = (float)v;
        else if (f->type[i] == NN_ARG_DOUBLE)
            f->val[i].d = v;
        else
            f->val[i].i = (int)v;
    }
}

/* Backward against central differences of forward at the sample points (dy = 1). */
static int grad_check(const nn_plugin_fn *f, const nn_layer *l, int layer, nn_diag *d)
{
    const nn_plugin_spec *s = f->pl->spec;
    enum { N = NN_PLUGIN_CHECK_POINTS };
    float y[N], dy[N], dx[N], xp[N], xm[N], yp[N], ym[N];
    for (int i = 0; i < N; i++) {
        float h = 1e-2f * fmaxf(1.0f, fabsf(nn_plugin_check_x[i]));
        xp[i] = nn_plugin_check_x[i] + h, xm[i] = nn_plugin_check_x[i] - h, dy[i] = 1;
    }
    nn_plugin_raw_forward(f, nn_plugin_check_x, y, N);
    nn_plugin_raw_forward(f, xp, yp, N);
    nn_plugin_raw_forward(f, xm, ym, N);
    nn_plugin_raw_backward(f, nn_plugin_check_x, y, dy, dx, N);
    for (int i = 0; i < N; i++) {
        double x = nn_plugin_check_x[i];
        double num = ((double)yp[i] - ym[i]) / ((double)xp[i] - xm[i]);
        double rel = fabs(dx[i] - num) / fmax(1e-2, fmax(fabs(dx[i]), fabs(num)));
        if (!isfinite(y[i]) || !isfinite(yp[i]) || !isfinite(ym[i])) {
            nn_diag_error(d, s->forward_mark, "plugin '%s': forward '%s' returned %g for x = %g",
                          s->name, s->forward, !isfinite(y[i]) ? y[i] : yp[i], x);
        } else if (!isfinite(dx[i])) {
            nn_diag_error(d, s->backward_mark, "plugin '%s': backward '%s' returned %g for x = %g",
                          s->name, s->backward, dx[i], x);
        } else if (rel > NN_PLUGIN_CHECK_TOL) {
            nn_diag_error(d, s->backward_mark,
                          "plugin '%s': backward '%s' disagrees with finite differences of "
                          "forward '%s' at x = %g: backward %.6g, numeric %.6g, relative error "
                          "%.3g (tolerance %g)",
                          s->name, s->backward, s->forward, x, dx[i], num, rel,
                          NN_PLUGIN_CHECK_TOL);
        } else {
            continue;
        }
        if (l->nargs) nn_diag_note(d, "with the arguments of layer %d", layer);
        if (s->backward)
            nn_diag_note(d,
                         "fix the derivative, or set 'check: false' under 'plugins.%s' to "
                         "skip this check",
                         s->name);
        return -1;
    }
    return 0;
}

static nn_plugin *find_plugin(nn_plugins *ps, const char *name)
{
    for (int i = 0; i < ps->npl; i++)
        if (!strcmp(ps->pl[i].spec->name, name)) return &ps->pl[i];
    return NULL;
}

static int make_layer_fns(nn_plugins *ps, const nn_spec *spec, nn_diag *d)
{
    for (int i = 0; i < spec->nlayers; i++) {
        const nn_layer *l = &spec->layers[i];
        if (l->kind != NN_LAYER_ACTIVATION || l->expr) continue; /* formulas: ir/expr.c */
        nn_plugin *p = find_plugin(ps, l->activation);
        if (!p) { /* the parser checks this; a hand-built spec may not */
            nn_diag_error(d, l->mark, "activation '%s' is no declared plugin", l->activation);
            return -1;
        }
        nn_plugin_fn *f = calloc(1, sizeof *f);
        if (!(ps->fn[i] = f)) return -1;
        ps->calls[i] = &f->pub;
        f->pl = p;
        f->fail = &ps->fail;
        layer_args(p->spec, l, f);
        if (nn_plugin_prepare(f) != 0) {
            nn_diag_error(d, p->spec->mark, "plugin '%s': libffi cannot build the call",
                          p->spec->name);
            return -1;
        }
        if (p->spec->check && p->bwd && grad_check(f, l, i, d) != 0) return -1;
    }
    return 0;
}

/* A declared plugin no layer uses is still checked, with its declared arguments: `nnrun
 * check` vouches for the whole section. */
static int check_unused(nn_plugins *ps, const nn_spec *spec, nn_diag *d)
{
    for (int k = 0; k < ps->npl; k++) {
        nn_plugin *p = &ps->pl[k];
        int used = 0;
        for (int i = 0; i < spec->nlayers; i++)
            used |= ps->fn[i] && ps->fn[i]->pl == p;
        if (used || !p->spec->check || !p->bwd) continue;
        nn_plugin_fn f;
        nn_layer none;
        memset(&f, 0, sizeof f);
        memset(&none, 0, sizeof none);
        f.pl = p;
        f.fail = &ps->fail;
        layer_args(p->spec, &none, &f);
        if (nn_plugin_prepare(&f) != 0 || grad_check(&f, &none, -1, d) != 0) return -1;
    }
    return 0;
}

int nn_plugins_load(const nn_spec *spec, nn_plugins **out, nn_diag *d)
{
    *out = NULL;
    int any = 0;
    for (int i = 0; i < spec->nlayers; i++)
        any |= spec->layers[i].kind == NN_LAYER_ACTIVATION;
    if (!any && spec->nplugins == 0) return 0;
    nn_plugins *ps = calloc(1, sizeof *ps);
    if (!ps) return -1;
    ps->pl = calloc((size_t)spec->nplugins + 1, sizeof *ps->pl);
    ps->fn = calloc((size_t)spec->nlayers + 1, sizeof *ps->fn);
    ps->calls = calloc((size_t)spec->nlayers + 1, sizeof *ps->calls);
    ps->nlayers = spec->nlayers;
    if (!ps->pl || !ps->fn || !ps->calls) goto fail;
    /* every declared plugin loads, used or not: `nnrun check` vouches for the section */
    for (int i = 0; i < spec->nplugins; i++) {
        ps->pl[ps->npl].spec = &spec->plugins[i];
        if (load_plugin(&ps->pl[ps->npl++], d) != 0) goto fail;
    }
    if (make_layer_fns(ps, spec, d) != 0 || check_unused(ps, spec, d) != 0) goto fail;
    *out = ps;
    return 0;
fail:
    nn_plugins_free(ps);
    return -1;
}

const nn_callable *const *nn_plugins_layer_fns(const nn_plugins *p)
{
    return p ? p->calls : NULL;
}

const char *nn_plugins_failure(const nn_plugins *p)
{
    return p && atomic_load(&p->fail.state) == 2 ? p->fail.what : NULL;
}

void nn_plugins_free(nn_plugins *p)
{
    if (!p) return;
    for (int i = 0; p->fn && i < p->nlayers; i++)
        free(p->fn[i]);
    free(p->fn);
    free(p->calls);
    for (int i = 0; p->pl && i < p->npl; i++)
        if (p->pl[i].lib) dlclose(p->pl[i].lib);
    free(p->pl);
    free(p);
}
