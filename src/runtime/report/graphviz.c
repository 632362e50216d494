/* graphviz.c — the IR as a graphviz DOT graph, optionally with the data and gradient of
 * every tensor after one forward/backward pass (lesson 1's draw_dot view). */
#include "runtime/report/graphviz.h"

#include <math.h>
#include <string.h>

/* "data 0.7071 | grad 0.5" for small tensors, mean/std/min/max for larger ones. */
static void stats_label(const float *v, long n, char *buf, size_t len)
{
    if (!v) {
        snprintf(buf, len, "-");
        return;
    }
    if (n <= 4) {
        int o = 0;
        for (long i = 0; i < n && o < (int)len; i++)
            o += snprintf(buf + o, len - (size_t)o, "%s%.4f", i ? " " : "", v[i]);
        return;
    }
    double sum = 0, sq = 0, mn = v[0], mx = v[0];
    for (long i = 0; i < n; i++) {
        sum += v[i];
        sq += (double)v[i] * v[i];
        mn = v[i] < mn ? v[i] : mn;
        mx = v[i] > mx ? v[i] : mx;
    }
    double mean = sum / (double)n, var = sq / (double)n - mean * mean;
    snprintf(buf, len, "mean %.4g std %.4g [%.4g, %.4g]", mean, sqrt(var > 0 ? var : 0), mn, mx);
}

static void tensor_node(FILE *out, const nn_graph *g, int t, const nn_plan *p, int rows)
{
    const nn_tensor *x = &g->t[t];
    char shape[64], data[160], grad[160];
    nn_tensor_shape_str(x, shape, sizeof shape);
    static const char *const roles[] = {"input", "param", "act", "grad", "buffer"};
    fprintf(out, "  t%d [shape=record, label=\"{%s | %s %s", t, x->name, roles[x->role], shape);
    if (p && x->dtype == NN_F32) {
        long n = nn_tensor_active_numel(x, rows);
        stats_label(nn_plan_ptr(p, t), n, data, sizeof data);
        stats_label(x->grad >= 0 ? nn_plan_ptr(p, x->grad) : NULL, n, grad, sizeof grad);
        fprintf(out, " | data %s | grad %s", data, grad);
    }
    fprintf(out, "}\"%s];\n", x->role == NN_PARAM ? ", style=filled, fillcolor=\"#eef5ff\"" : "");
}

int nn_graph_dot(const nn_graph *g, const nn_plan *p, int rows, FILE *out)
{
    fprintf(out, "digraph nnrun {\n  rankdir=LR;\n  node [fontname=\"monospace\", fontsize=10];\n");
    /* tensors of the forward pass (gradients appear as labels on them with values) */
    char *shown = calloc((size_t)g->nt, 1);
    if (!shown) return -1;
    for (int i = 0; i < g->nfwd; i++) {
        const nn_node *n = &g->n[i];
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] >= 0) shown[n->in[k]] = 1;
        for (int k = 0; k < n->nout; k++)
            if (n->out[k] >= 0) shown[n->out[k]] = 1;
    }
    for (int t = 0; t < g->nt; t++)
        if (shown[t]) tensor_node(out, g, t, p, rows);
    for (int i = 0; i < g->nfwd; i++) {
        const nn_node *n = &g->n[i];
        fprintf(out, "  op%d [shape=ellipse, label=\"%s\"];\n", i, n->op->name);
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] >= 0 && !(n->nout > 0 && n->out[0] == n->in[k]))
                fprintf(out, "  t%d -> op%d;\n", n->in[k], i);
        for (int k = 0; k < n->nout; k++)
            if (n->out[k] >= 0) fprintf(out, "  op%d -> t%d;\n", i, n->out[k]);
        if (n->expr) nn_graph_dot_expr(g, i, p, rows, out); /* the formula's own DAG */
    }
    fprintf(out, "}\n");
    free(shown);
    return ferror(out) ? -1 : 0;
}
