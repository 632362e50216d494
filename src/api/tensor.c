/* tensor.c — tensors by name: parameters and BatchNorm buffers in the model state
 * (nn_params), their gradients, and activations with their gradients from a probe — one
 * forward/backward pass in a plan that keeps every tensor (the training plan shares memory
 * between them, so its activations are not there to read after a step).  Names are the
 * IR's (`nnrun graph`): "layers.2.weight", "layers.3.out", and "d" before a name for its
 * gradient ("dlayers.3.out"). */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

static void probe_free(nnrun_run *r)
{
    nn_plan_free(r->probe);
    r->probe = NULL;
    r->probe_rows = 0;
}

int nnrun_probe(nnrun_run *r, int rows)
{
    if (!r) return NNRUN_EINPUT;
    if (nn_api_errors_reset(&r->err) != 0) return NNRUN_ERUN;
    probe_free(r);
    if (!nn_trainer_graph(r->tr, NN_TRAINING)) {
        nn_api_error(&r->err, "the counting model (ngram) has no graph to probe");
        return NNRUN_EINPUT;
    }
    /* BatchNorm's running buffers move in a training-mode forward: keep them as they were */
    nn_params *P = nn_trainer_params(r->tr);
    long nbuf = 0;
    for (int i = 0; i < P->n; i++)
        if (P->p[i].role == NN_BUFFER) nbuf += P->p[i].numel;
    float *saved = malloc((size_t)(nbuf ? nbuf : 1) * sizeof *saved), *w = saved;
    if (!saved) return nn_api_error(&r->err, "out of memory"), NNRUN_ERUN;
    for (int i = 0; i < P->n; i++)
        if (P->p[i].role == NN_BUFFER) {
            memcpy(w, P->p[i].data, (size_t)P->p[i].numel * sizeof *w);
            w += P->p[i].numel;
        }
    int got = nn_trainer_probe(r->tr, rows > 0 ? rows : nn_trainer_batch(r->tr), &r->probe);
    w = saved;
    for (int i = 0; i < P->n; i++)
        if (P->p[i].role == NN_BUFFER) {
            memcpy(P->p[i].data, w, (size_t)P->p[i].numel * sizeof *w);
            w += P->p[i].numel;
        }
    free(saved);
    if (got <= 0) {
        nn_api_error(&r->err, got < 0 ? "out of memory" : "the training split is empty");
        return got < 0 ? NNRUN_ERUN : NNRUN_EINPUT;
    }
    r->probe_rows = got;
    r->probe_stale = 0;
    return got;
}

/* What a name refers to. */
typedef struct {
    nn_param *p; /* a parameter or buffer (grad: its gradient) */
    int grad;
    int t; /* else a tensor of the training graph */
} ref;

static nn_param *find_param(nnrun_run *r, const char *name)
{
    return nn_params_find(nn_trainer_params(r->tr), name);
}

/* Resolves name; with `probe`, makes sure a probe is there for graph tensors. */
static int resolve(nnrun_run *r, const char *name, ref *out)
{
    memset(out, 0, sizeof *out);
    out->t = -1;
    if (!name) return nn_api_error(&r->err, "no tensor name given"), NNRUN_EINPUT;
    const nn_graph *g = nn_trainer_graph(r->tr, NN_TRAINING);
    if (!g) {
        nn_api_error(&r->err, "'%s': the counting model (ngram) has no named tensors", name);
        return NNRUN_EINPUT;
    }
    if ((out->p = find_param(r, name))) return 0;
    if (name[0] == 'd' && (out->p = find_param(r, name + 1)) && out->p->grad) {
        out->grad = 1;
        return 0;
    }
    out->p = NULL;
    for (int i = 0; i < g->nt; i++)
        if (!strcmp(g->t[i].name, name) && g->t[i].role != NN_PARAM && g->t[i].role != NN_BUFFER) {
            out->t = i;
            return 0;
        }
    const char **cand = calloc((size_t)g->nt + 1, sizeof *cand);
    if (cand)
        for (int i = 0; i < g->nt; i++)
            cand[i] = g->t[i].name;
    const char *s = cand ? nn_suggest(name, cand) : NULL;
    if (s)
        nn_api_error(&r->err, "no tensor named '%s' (did you mean '%s'?)", name, s);
    else
        nn_api_error(&r->err, "no tensor named '%s' (`nnrun graph SPEC` lists them)", name);
    free(cand);
    return NNRUN_EINPUT;
}

static int need_probe(nnrun_run *r)
{
    if (r->probe && !r->probe_stale) return 0;
    int rc = nnrun_probe(r, 0);
    return rc < 0 ? rc : 0;
}

int nnrun_tensor_shape(nnrun_run *r, const char *name, nnrun_shape *sh)
{
    if (!r || !sh) return NNRUN_EINPUT;
    if (nn_api_errors_reset(&r->err) != 0) return NNRUN_ERUN;
    ref f;
    int rc = resolve(r, name, &f);
    if (rc) return rc;
    memset(sh, 0, sizeof *sh);
    if (f.p) {
        sh->ndim = f.p->ndim;
        for (int k = 0; k < f.p->ndim; k++)
            sh->dim[k] = f.p->dim[k];
        sh->numel = f.p->numel;
        sh->kind = f.grad ? NNRUN_GRADIENT : f.p->role == NN_BUFFER ? NNRUN_BUFFER : NNRUN_PARAM;
        return 0;
    }
    if ((rc = need_probe(r))) return rc;
    const nn_tensor *t = &nn_trainer_graph(r->tr, NN_TRAINING)->t[f.t];
    sh->ndim = t->ndim;
    for (int k = 0; k < t->ndim; k++)
        sh->dim[k] = k == 0 && t->batched ? r->probe_rows : t->dim[k];
    sh->numel = nn_tensor_active_numel(t, r->probe_rows);
    sh->kind = t->role == NN_GRAD ? NNRUN_GRADIENT : NNRUN_ACTIVATION;
    return 0;
}

int nnrun_tensor_get(nnrun_run *r, const char *name, float *out, int64_t n)
{
    nnrun_shape sh;
    int rc = nnrun_tensor_shape(r, name, &sh);
    if (rc) return rc;
    if (!out || n != sh.numel) {
        nn_api_error(&r->err, "'%s' has %lld elements; %lld asked for", name, (long long)sh.numel,
                     (long long)n);
        return NNRUN_EINPUT;
    }
    ref f;
    resolve(r, name, &f);
    if (f.p) {
        memcpy(out, f.grad ? f.p->grad : f.p->data, (size_t)n * sizeof *out);
        return 0;
    }
    const nn_tensor *t = &nn_trainer_graph(r->tr, NN_TRAINING)->t[f.t];
    const void *src = nn_plan_ptr(r->probe, f.t);
    if (t->dtype == NN_I32)
        for (int64_t i = 0; i < n; i++)
            out[i] = (float)((const int32_t *)src)[i];
    else
        memcpy(out, src, (size_t)n * sizeof *out);
    return 0;
}

int nnrun_tensor_set(nnrun_run *r, const char *name, const float *data, int64_t n)
{
    nnrun_shape sh;
    int rc = nnrun_tensor_shape(r, name, &sh);
    if (rc) return rc;
    if (sh.kind != NNRUN_PARAM && sh.kind != NNRUN_BUFFER) {
        nn_api_error(&r->err, "'%s' is %s: it is computed, only parameters and buffers are set",
                     name, sh.kind == NNRUN_GRADIENT ? "a gradient" : "an activation");
        return NNRUN_EINPUT;
    }
    if (!data || n != sh.numel) {
        nn_api_error(&r->err, "'%s' has %lld elements; %lld given", name, (long long)sh.numel,
                     (long long)n);
        return NNRUN_EINPUT;
    }
    memcpy(find_param(r, name)->data, data, (size_t)n * sizeof *data);
    r->probe_stale = 1;
    return 0;
}

const char *nnrun_tensor_name(nnrun_run *r, int i)
{
    if (!r || i < 0) return NULL;
    const nn_graph *g = nn_trainer_graph(r->tr, NN_TRAINING);
    if (!g) return NULL;
    nn_params *P = nn_trainer_params(r->tr);
    if (i < P->n) return P->p[i].name;
    i -= P->n;
    for (int k = 0; k < g->nt; k++) /* the graph's other tensors, in graph order */
        if (g->t[k].role != NN_PARAM && g->t[k].role != NN_BUFFER && i-- == 0) return g->t[k].name;
    return NULL;
}
