/* lower.c — graph → plan: storage for every tensor, then one step per node.
 *
 * Parameters, buffers and parameter gradients live in nn_params (shared between the
 * training, evaluation and sampling plans); everything else gets a 64-byte aligned slot
 * in the plan's single arena.  Views (flatten) share their source's storage.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/plan.h"

#define ALIGN_BYTES 64

static size_t align_up(size_t n) { return (n + ALIGN_BYTES - 1) / ALIGN_BYTES * ALIGN_BYTES; }

/* Storage in nn_params for parameters, buffers and parameter gradients; NULL otherwise. */
static void *param_storage(const nn_graph *g, int t, nn_params *P, int *missing)
{
    const nn_tensor *x = &g->t[t];
    if (x->role == NN_PARAM || x->role == NN_BUFFER) {
        nn_param *p = nn_params_find(P, x->name);
        if (!p) *missing = 1;
        return p ? p->data : NULL;
    }
    for (int i = 0; i < g->nt; i++)
        if (g->t[i].grad == t && g->t[i].role == NN_PARAM) {
            nn_param *p = nn_params_find(P, g->t[i].name);
            if (!p || !p->grad) *missing = 1;
            return p ? p->grad : NULL;
        }
    return NULL;
}

static int assign_storage(nn_plan *p, nn_params *P)
{
    const nn_graph *g = p->g;
    size_t *off = calloc((size_t)g->nt, sizeof *off);
    char *in_arena = calloc((size_t)g->nt, 1);
    int missing = 0;
    if (!off || !in_arena) goto fail;
    size_t total = 0;
    for (int t = 0; t < g->nt; t++) {
        if (g->t[t].alias >= 0) continue;
        p->ptr[t] = param_storage(g, t, P, &missing);
        if (p->ptr[t] || missing) continue;
        in_arena[t] = 1;
        off[t] = total;
        total += align_up((size_t)nn_tensor_numel(&g->t[t]) * 4);
    }
    if (missing) goto fail;
    p->arena_bytes = total;
    p->arena = aligned_alloc(ALIGN_BYTES, total ? total : ALIGN_BYTES);
    if (!p->arena) goto fail;
    memset(p->arena, 0, total);
    for (int t = 0; t < g->nt; t++)
        if (in_arena[t]) p->ptr[t] = (char *)p->arena + off[t];
    for (int t = 0; t < g->nt; t++)
        if (g->t[t].alias >= 0) p->ptr[t] = p->ptr[nn_graph_storage(g, t)];
    free(off);
    free(in_arena);
    return 0;
fail:
    free(off);
    free(in_arena);
    return -1;
}

static void make_step(const nn_plan *p, const nn_node *n, nn_step *s)
{
    memset(s, 0, sizeof *s);
    s->run = n->op->run;
    s->node = n;
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] >= 0) {
            s->in[i] = p->ptr[n->in[i]];
            s->tin[i] = &p->g->t[n->in[i]];
        }
    for (int i = 0; i < n->nout; i++)
        if (n->out[i] >= 0) {
            s->out[i] = p->ptr[n->out[i]];
            s->tout[i] = &p->g->t[n->out[i]];
        }
}

nn_plan *nn_plan_lower(const nn_graph *g, nn_params *P)
{
    nn_plan *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->g = g;
    p->ptr = calloc((size_t)g->nt, sizeof *p->ptr);
    p->steps = calloc((size_t)g->nn + 1, sizeof *p->steps);
    if (!p->ptr || !p->steps || assign_storage(p, P) != 0) {
        nn_plan_free(p);
        return NULL;
    }
    for (int i = 0; i < g->nn; i++) {
        if (i == g->nfwd) p->nfwd = p->nsteps;
        if (g->n[i].op->run) make_step(p, &g->n[i], &p->steps[p->nsteps++]);
    }
    if (g->nfwd == g->nn) p->nfwd = p->nsteps;
    return p;
}

void nn_plan_free(nn_plan *p)
{
    if (!p) return;
    free(p->arena);
    free(p->ptr);
    free(p->steps);
    free(p);
}

void nn_plan_forward(const nn_plan *p, int rows)
{
    for (int i = 0; i < p->nfwd; i++) p->steps[i].run(&p->steps[i], rows);
}

void nn_plan_backward(const nn_plan *p, int rows)
{
    for (int i = p->nfwd; i < p->nsteps; i++) p->steps[i].run(&p->steps[i], rows);
}
