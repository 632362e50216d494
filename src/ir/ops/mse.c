/* mse.c — squared error (s − y)² per row for scores s [B, 1] against targets y [B]; the mean
 * over rows, or the sum (node.sum) as micrograd's lecture MLP writes Σ (yout − ygt)². */
#include "ir/op.h"

static int infer(nn_graph *g, int node, nn_diag *d)
{
    return nn_check_scores(g, node, "mse", d);
}

static int grad(nn_graph *g, int node)
{
    const nn_node n = g->n[node];
    int in[2] = {n.in[0], n.in[1]};
    int out[1] = {nn_grad_of(g, n.in[0])};
    return nn_make_grad_node(g, node, &nn_op_mse_grad, in, 2, out, 1) < 0 ? -1 : 0;
}

static void run(const nn_step *s, int rows)
{
    const float *sc = s->in[0], *y = s->in[1];
    float *row_loss = s->out[2];
    double sum = 0;
    for (int i = 0; i < rows; i++) {
        float e = sc[i] - y[i];
        row_loss[i] = e * e;
        sum += row_loss[i];
    }
    *(float *)s->out[0] = (float)(s->node->sum ? sum : sum / rows);
}

/* ds = 2·(s − y), ÷ rows for the mean. */
static void run_grad(const nn_step *s, int rows)
{
    const float *sc = s->in[0], *y = s->in[1];
    float *ds = s->out[0], scale = s->node->sum ? 2.0f : 2.0f / (float)rows;
    int acc = s->node->accumulate & 1;
    for (int i = 0; i < rows; i++) {
        float g = (sc[i] - y[i]) * scale;
        ds[i] = acc ? ds[i] + g : g;
    }
}

const nn_op nn_op_mse = {"mse", infer, grad, run};
const nn_op nn_op_mse_grad = {"mse_grad", NULL, NULL, run_grad};
