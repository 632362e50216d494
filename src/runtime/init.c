/* init.c — the model state (parameters, buffers, gradients, optimizer state) and its
 * initialisation schemes: kaiming, normal, uniform, zeros, ones, each with a scale. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/plan.h"

nn_params *nn_params_new(const nn_graph *g, int momentum)
{
    nn_params *P = calloc(1, sizeof *P);
    if (!P) return NULL;
    P->p = calloc((size_t)g->nt + 1, sizeof *P->p);
    if (!P->p) goto fail;
    size_t floats = 0;
    for (int t = 0; t < g->nt; t++) {
        const nn_tensor *x = &g->t[t];
        if (x->role != NN_PARAM && x->role != NN_BUFFER) continue;
        nn_param *p = &P->p[P->n++];
        memcpy(p->name, x->name, sizeof p->name);
        p->ndim = x->ndim;
        memcpy(p->dim, x->dim, sizeof p->dim);
        p->numel = nn_tensor_numel(x);
        p->role = x->role;
        p->weight = x->weight;
        p->layer = x->layer;
        p->init = x->init;
        int copies = x->role == NN_PARAM ? 2 + (momentum != 0) : 1;
        floats += (size_t)copies * (((size_t)p->numel + 15) / 16 * 16);
        if (x->role == NN_PARAM) P->count += p->numel;
    }
    P->block = aligned_alloc(64, (floats ? floats : 16) * sizeof(float));
    if (!P->block) goto fail;
    memset(P->block, 0, floats * sizeof(float));
    float *cur = P->block;
    for (int i = 0; i < P->n; i++) {
        nn_param *p = &P->p[i];
        size_t padded = ((size_t)p->numel + 15) / 16 * 16;
        p->data = cur;
        cur += padded;
        if (p->role != NN_PARAM) continue;
        p->grad = cur;
        cur += padded;
        if (momentum) {
            p->velocity = cur;
            cur += padded;
        }
    }
    return P;
fail:
    nn_params_free(P);
    return NULL;
}

void nn_params_free(nn_params *P)
{
    if (!P) return;
    free(P->block);
    free(P->p);
    free(P);
}

nn_param *nn_params_find(nn_params *P, const char *name)
{
    for (int i = 0; i < P->n; i++)
        if (strcmp(P->p[i].name, name) == 0) return &P->p[i];
    return NULL;
}

/* Applies the scheme to values already holding standard normal draws (or none).  The
 * order of the float operations follows the lectures' `randn(...) * gain / fan_in**0.5`. */
static void fill(nn_param *p, nn_rng *r)
{
    const nn_init *in = p->init;
    float *v = p->data;
    long n = p->numel;
    float scale = (float)in->scale;
    switch (in->kind) {
    case NN_INIT_VALUES: /* the runtime issue fills these (values, csv, checkpoints) */
    case NN_INIT_CSV:
    case NN_INIT_FROM:
    case NN_INIT_ZEROS:
    case NN_INIT_DEFAULT:
        memset(v, 0, (size_t)n * sizeof *v);
        return;
    case NN_INIT_ONES:
        for (long i = 0; i < n; i++) v[i] = 1.0f * scale;
        return;
    case NN_INIT_UNIFORM:
        for (long i = 0; i < n; i++)
            v[i] = (float)(in->a + (in->b - in->a) * nn_rng_double(r)) * scale;
        return;
    case NN_INIT_NORMAL:
        nn_rng_randn(r, v, (size_t)n);
        if (in->std != 1.0)
            for (long i = 0; i < n; i++) v[i] *= (float)in->std;
        break;
    case NN_INIT_KAIMING: {
        nn_rng_randn(r, v, (size_t)n);
        float gain = (float)in->gain, root = (float)sqrt((double)p->dim[0]);
        for (long i = 0; i < n; i++) v[i] = v[i] * gain / root;
        break;
    }
    }
    if (in->scale != 1.0)
        for (long i = 0; i < n; i++) v[i] *= scale;
}

void nn_params_init(nn_params *P, nn_rng *r)
{
    for (int i = 0; i < P->n; i++) fill(&P->p[i], r);
}
