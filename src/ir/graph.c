/* graph.c — tensors, nodes, shape strings, printing. */
#include "ir/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/expr.h"
#include "ir/op.h"

nn_graph *nn_graph_new(void)
{
    nn_graph *g = calloc(1, sizeof *g);
    if (g) g->x = g->y = g->logits = g->loss = g->row_loss = -1;
    return g;
}

void nn_graph_free(nn_graph *g)
{
    if (!g) return;
    for (int i = 0; i < g->nexprs; i++)
        nn_expr_free(g->exprs[i]);
    free(g->exprs);
    free(g->t);
    free(g->n);
    free(g);
}

int nn_graph_tensor(nn_graph *g, const char *name, nn_role role, nn_dtype dtype, int batched,
                    int ndim, const int *dim)
{
    if (g->nt == g->cap_t) {
        int cap = g->cap_t ? g->cap_t * 2 : 32;
        nn_tensor *nt = realloc(g->t, (size_t)cap * sizeof *nt);
        if (!nt) return -1;
        g->t = nt;
        g->cap_t = cap;
    }
    nn_tensor *t = &g->t[g->nt];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->role = role;
    t->dtype = dtype;
    t->batched = batched;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->dim[i] = dim[i];
    t->grad = t->alias = t->layer = -1;
    return g->nt++;
}

int nn_graph_append(nn_graph *g, const nn_node *n)
{
    if (g->nn == g->cap_n) {
        int cap = g->cap_n ? g->cap_n * 2 : 32;
        nn_node *nn = realloc(g->n, (size_t)cap * sizeof *nn);
        if (!nn) return -1;
        g->n = nn;
        g->cap_n = cap;
    }
    g->n[g->nn] = *n;
    return g->nn++;
}

int nn_graph_node(nn_graph *g, const nn_op *op, const int *in, int nin, int layer,
                  const nn_layer *spec, nn_mark mark, nn_diag *d)
{
    nn_node n;
    memset(&n, 0, sizeof n);
    n.op = op;
    n.nin = nin;
    for (int i = 0; i < NN_MAX_IO; i++)
        n.in[i] = n.out[i] = -1;
    for (int i = 0; i < nin; i++)
        n.in[i] = in[i];
    n.layer = layer;
    n.spec = spec;
    n.mark = mark;
    n.training = g->training;
    int id = nn_graph_append(g, &n);
    if (id < 0) return -1;
    if (op->infer && op->infer(g, id, d) != 0) {
        g->nn--;
        return -1;
    }
    nn_node *nd = &g->n[id];
    int rg = 0;
    for (int i = 0; i < nd->nin; i++)
        if (nd->in[i] >= 0 && g->t[nd->in[i]].requires_grad) rg = 1;
    for (int i = 0; i < nd->nout; i++)
        if (nd->out[i] >= 0 && g->t[nd->out[i]].role == NN_ACT)
            g->t[nd->out[i]].requires_grad |= rg;
    return id;
}

long nn_tensor_numel(const nn_tensor *t)
{
    long n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->dim[i];
    return n;
}

long nn_tensor_active_numel(const nn_tensor *t, int rows)
{
    long n = t->batched ? rows : t->dim[0];
    for (int i = 1; i < t->ndim; i++)
        n *= t->dim[i];
    return n;
}

const char *nn_tensor_shape_str(const nn_tensor *t, char *buf, int len)
{
    int o = snprintf(buf, (size_t)len, "[");
    for (int i = 0; i < t->ndim && o < len; i++)
        o += snprintf(buf + o, (size_t)(len - o), "%s%d", i ? ", " : "", t->dim[i]);
    if (o < len) snprintf(buf + o, (size_t)(len - o), "]");
    return buf;
}

int nn_graph_storage(const nn_graph *g, int t)
{
    while (t >= 0 && g->t[t].alias >= 0)
        t = g->t[t].alias;
    return t;
}

long nn_graph_param_count(const nn_graph *g)
{
    long n = 0;
    for (int i = 0; i < g->nt; i++)
        if (g->t[i].role == NN_PARAM) n += nn_tensor_numel(&g->t[i]);
    return n;
}

int nn_grad_of(nn_graph *g, int t)
{
    if (g->t[t].grad >= 0) return g->t[t].grad;
    char name[64];
    snprintf(name, sizeof name, "d%s", g->t[t].name);
    nn_tensor src = g->t[t]; /* copy: adding a tensor may move g->t */
    int gt = nn_graph_tensor(g, name, NN_GRAD, NN_F32, src.batched, src.ndim, src.dim);
    if (gt < 0) return -1;
    g->t[gt].layer = src.layer;
    g->t[t].grad = gt;
    return gt;
}

const char *nn_layer_label(const nn_graph *g, int node, char *buf, int len)
{
    const nn_node *n = &g->n[node];
    const char *name = n->spec ? n->spec->name : "";
    int top = -1, end = 0;
    /* "layers.P" (a layer of the model's list): "layer P" — 0-based, as the tensor names
     * and --set model.P; else the layer's full name */
    if (!name[0] || (sscanf(name, "layers.%d%n", &top, &end) == 1 && name[end] == 0))
        snprintf(buf, (size_t)len, "layer %d (%s)", top >= 0 ? top : n->layer,
                 n->op->name);
    else
        snprintf(buf, (size_t)len, "%s (%s)", name, n->op->name);
    return buf;
}

void nn_graph_print(const nn_graph *g, FILE *out)
{
    char shape[64];
    /* output shape and parameters before the inputs, whose names run long: the forward
     * part reads as the lecture's `for layer in model.layers: print(layer.out.shape)` */
    fprintf(out, "%-4s %-20s %-16s %-8s %s\n", "#", "op", "output", "params", "inputs");
    for (int i = 0; i < g->nn; i++) {
        const nn_node *n = &g->n[i];
        char ins[128] = "";
        int o = 0;
        long params = 0;
        for (int k = 0; k < n->nin; k++) {
            if (n->in[k] < 0) continue;
            const nn_tensor *t = &g->t[n->in[k]];
            o += snprintf(ins + o, sizeof ins - (size_t)o, "%s%s", o ? "," : "", t->name);
            if (o >= (int)sizeof ins) o = (int)sizeof ins - 1;
            if (t->role == NN_PARAM && i < g->nfwd) params += nn_tensor_numel(t);
        }
        int first_out = n->nout > 0 ? n->out[0] : -1;
        fprintf(out, "%-4d %-20s %-16s %-8ld %s\n", i, n->op->name,
                first_out >= 0 ? nn_tensor_shape_str(&g->t[first_out], shape, sizeof shape) : "-",
                params, ins);
        if (i + 1 == g->nfwd && g->nfwd < g->nn) fprintf(out, "---- backward ----\n");
    }
    fprintf(out, "parameters: %ld\n", nn_graph_param_count(g));
}
