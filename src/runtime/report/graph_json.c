/* graph_json.c — `nnrun graph --json`: the IR graph's nodes and tensors as JSON (the text
 * form is nn_graph_print, ir/graph.c; DOT is graphviz.c). */
#include "runtime/report/graphviz.h"

static const char *const ROLE[] = {"input", "param", "activation", "grad", "buffer"};

static json_t *tensor_json(const nn_graph *g, int i)
{
    const nn_tensor *t = &g->t[i];
    json_t *shape = json_array();
    for (int k = 0; shape && k < t->ndim; k++)
        json_array_append_new(shape, json_integer(k == 0 && t->batched ? g->batch : t->dim[k]));
    return json_pack("{s:i, s:s, s:o, s:s, s:s, s:b, s:I, s:o, s:o}", "index", i, "name",
                     t->name, "shape", shape ? shape : json_array(), "dtype",
                     t->dtype == NN_I32 ? "i32" : "f32", "role", ROLE[t->role], "batched",
                     t->batched, "numel", (json_int_t)nn_tensor_numel(t), "grad",
                     t->grad >= 0 ? json_string(g->t[t->grad].name) : json_null(), "layer",
                     t->layer >= 0 ? json_integer(t->layer) : json_null());
}

/* The names of tensor indices io[0..n) (−1: absent → null). */
static json_t *names(const nn_graph *g, const int *io, int n)
{
    json_t *a = json_array();
    for (int k = 0; a && k < n; k++)
        json_array_append_new(a, io[k] >= 0 ? json_string(g->t[io[k]].name) : json_null());
    return a ? a : json_array();
}

static json_t *node_json(const nn_graph *g, int i)
{
    const nn_node *n = &g->n[i];
    return json_pack("{s:i, s:s, s:s, s:o, s:o, s:o, s:o}", "index", i, "op", n->op->name,
                     "pass", i < g->nfwd ? "forward" : "backward", "inputs",
                     names(g, n->in, n->nin), "outputs", names(g, n->out, n->nout), "layer",
                     n->layer >= 0 ? json_integer(n->layer) : json_null(), "line",
                     n->mark.file && n->mark.line > 0 ? json_integer(n->mark.line)
                                                      : json_null());
}

json_t *nn_graph_json(const nn_graph *g)
{
    json_t *nodes = json_array(), *tensors = json_array();
    for (int i = 0; nodes && i < g->nn; i++)
        json_array_append_new(nodes, node_json(g, i));
    for (int i = 0; tensors && i < g->nt; i++)
        json_array_append_new(tensors, tensor_json(g, i));
    if (!nodes || !tensors) {
        json_decref(nodes);
        json_decref(tensors);
        return NULL;
    }
    return json_pack("{s:i, s:I, s:o, s:o}", "batch", g->batch, "parameters",
                     (json_int_t)nn_graph_param_count(g), "nodes", nodes, "tensors", tensors);
}
