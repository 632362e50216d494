/* attention.c — the middle of multi-head self-attention: qkv [B, T, 3C] (the output of the
 * attention's qkv linear) → y [B, T, C], heads of C / heads features, scores ÷ √head_size,
 * causal mask, softmax (kept: output 1, [B, heads, T, T]), · v.  The spec's `attention`
 * layer is this op between two linears (spec_blocks.c). */
#include "ir/op.h"
#include "kernels/kernels.h"

static int infer(nn_graph *g, int node, nn_diag *d)
{
    nn_tensor x = g->t[g->n[node].in[0]];
    const nn_layer *L = g->n[node].spec;
    char lb[64], sh[64];
    if (x.dtype != NN_F32 || x.ndim != 3 || x.dim[2] % 3) {
        nn_diag_error(d, g->n[node].mark,
                      "%s expects a sequence [batch, positions, features], but its input is %s",
                      nn_layer_label(g, node, lb, sizeof lb), nn_tensor_shape_str(&x, sh, sizeof sh));
        nn_diag_note(d, "start the model with an 'embedding' (token ids → [batch, positions, dim])");
        nn_note_use(g, node, d);
        return -1;
    }
    int c = x.dim[2] / 3;
    if (c % L->heads) {
        nn_diag_error(d, g->n[node].mark,
                      "%s has %d heads, which do not divide its width %d (each head takes "
                      "width / heads features)",
                      nn_layer_label(g, node, lb, sizeof lb), L->heads, c);
        nn_note_use(g, node, d);
        return -1;
    }
    int ydim[3] = {x.dim[0], x.dim[1], c}, adim[4] = {x.dim[0], L->heads, x.dim[1], x.dim[1]};
    if (nn_make_out(g, node, 0, "out", NN_F32, 1, 3, ydim) < 0 ||
        nn_make_out(g, node, 1, "att", NN_F32, 1, 4, adim) < 0)
        return -1;
    return 0;
}

static int grad(nn_graph *g, int node)
{
    const nn_node n = g->n[node];
    int in[3] = {n.in[0], n.out[1], nn_grad_of(g, n.out[0])};
    int out[1] = {nn_grad_of(g, n.in[0])};
    return nn_make_grad_node(g, node, &nn_op_attention_grad, in, 3, out, 1) < 0 ? -1 : 0;
}

static void run(const nn_step *s, int rows)
{
    const nn_tensor *x = s->tin[0];
    int nh = s->node->spec->heads, hs = x->dim[2] / 3 / nh;
    nn_k->attn_fwd(rows, x->dim[1], nh, hs, s->node->spec->causal, s->in[0], s->out[1], s->out[0]);
}

static void run_grad(const nn_step *s, int rows)
{
    const nn_tensor *x = s->tin[0];
    int nh = s->node->spec->heads, hs = x->dim[2] / 3 / nh;
    nn_k->attn_bwd(rows, x->dim[1], nh, hs, s->node->spec->causal, s->in[0], s->in[1], s->in[2],
                   s->out[0], s->node->accumulate & 1);
}

const nn_op nn_op_attention = {"attention", infer, grad, run};
const nn_op nn_op_attention_grad = {"attention_grad", NULL, NULL, run_grad};
