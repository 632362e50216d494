/* recurrent.c — makemore.py's RNN and GRU over the positions of a sequence:
 * x [B, T, E] → y [B, T, H], y_t = h_t, from a learned start state h_{−1} = start [H].
 * The cell reads [x_t, h_{t−1}] (kernels.h rnn_fwd gives the equations).  Parameters, in
 * makemore.py's construction order: start (zeros: it draws nothing), then per gate (rnn: one;
 * gru: z, r, hbar) weight [E+H, H] (stored [in, out] as linear's) and bias [H].  One node
 * runs the whole sequence forward and one the whole backward through time; the kernels keep
 * what the backward needs in output 1 (state) and output 2 (the GRU's packed [Wz | Wr]). */
#include <stdio.h>
#include <string.h>

#include "ir/op.h"
#include "ir/ops/recurrent.h"

static const nn_init zeros = {.kind = NN_INIT_ZEROS, .scale = 1.0};
static const nn_init torch = {.kind = NN_INIT_TORCH, .scale = 1.0};

static int gates(const nn_layer *L)
{
    return L->cell == NN_CELL_GRU ? 3 : 1;
}

static int infer(nn_graph *g, int node, nn_diag *d)
{
    nn_tensor x = g->t[g->n[node].in[0]];
    const nn_layer *L = g->n[node].spec;
    char lb[64], sh[64], from[64];
    if (x.dtype != NN_F32 || x.ndim != 3) {
        nn_diag_error(d, g->n[node].mark,
                      "%s expects a sequence [batch, positions, features], but %s gives %s%s",
                      nn_layer_label(g, node, lb, sizeof lb),
                      nn_producer_label(g, g->n[node].in[0], from, sizeof from),
                      x.dtype == NN_I32 ? "token ids " : "",
                      nn_tensor_shape_str(&x, sh, sizeof sh));
        nn_diag_note(d, "a recurrent layer reads one feature vector per position: put an "
                        "'embedding' before it, and no 'flatten' between them");
        nn_note_use(g, node, d);
        return -1;
    }
    int e = x.dim[2], h = L->hidden, n = e + h, G = gates(L);
    static const char *const names[3][2] = {
        {"z.weight", "z.bias"}, {"r.weight", "r.bias"}, {"hbar.weight", "hbar.bias"}};
    int start = nn_make_param(g, node, "start", NN_PARAM, 1, &h, NULL, &zeros);
    if (start < 0) return -1;
    g->n[node].in[1] = start;
    for (int q = 0; q < G; q++) {
        int wdim[2] = {n, h};
        const char *wn = G == 1 ? "weight" : names[q][0], *bn = G == 1 ? "bias" : names[q][1];
        int w = nn_make_param(g, node, wn, NN_PARAM, 2, wdim, &L->init, &torch);
        if (w < 0) return -1;
        g->t[w].weight = 1;
        int b = nn_make_param(g, node, bn, NN_PARAM, 1, &h, &L->bias_init, &torch);
        if (b < 0) return -1;
        g->n[node].in[2 + 2 * q] = w;
        g->n[node].in[3 + 2 * q] = b;
    }
    g->n[node].nin = 2 + 2 * G;
    int ydim[3] = {x.dim[0], x.dim[1], h};
    int sdim[2] = {x.dim[0], (int)nn_rnn_state_floats(x.dim[1], e, h, G == 3)};
    int pdim[1] = {(int)nn_rnn_pack_floats(e, h, G == 3)};
    if (nn_make_out(g, node, 0, "out", NN_F32, 1, 3, ydim) < 0 ||
        nn_make_out(g, node, 1, "state", NN_F32, 1, 2, sdim) < 0 ||
        nn_make_out(g, node, 2, "pack", NN_F32, 0, 1, pdim) < 0)
        return -1;
    return 0;
}

/* backward inputs: the 2G weights and biases, y, state, pack, dy, x; outputs: dx (or −1),
 * dstart, dweight and dbias per gate, the scratch — the kernel's accumulate bit order */
static int grad(nn_graph *g, int node)
{
    const nn_node n = g->n[node];
    int G = gates(n.spec), nin = 0, nout = 0, in[NN_MAX_IO], out[NN_MAX_IO];
    for (int k = 0; k < 2 * G; k++)
        in[nin++] = n.in[2 + k];
    in[nin++] = n.out[0];
    in[nin++] = n.out[1];
    in[nin++] = n.out[2];
    in[nin++] = nn_grad_of(g, n.out[0]);
    in[nin++] = n.in[0]; /* for its shape only */
    out[nout++] = g->t[n.in[0]].requires_grad ? nn_grad_of(g, n.in[0]) : -1;
    for (int k = 1; k < 2 + 2 * G; k++)
        out[nout++] = nn_grad_of(g, n.in[k]);
    const nn_tensor *x = &g->t[n.in[0]];
    char name[48];
    snprintf(name, sizeof name, "%s", g->t[n.out[0]].name);
    char *dot = strrchr(name, '.');
    snprintf(dot ? dot + 1 : name, sizeof name - (size_t)(dot ? dot + 1 - name : 0), "work");
    int wdim[2] = {x->dim[0],
                   (int)nn_rnn_work_floats(x->dim[1], x->dim[2], n.spec->hidden, G == 3)};
    int work = nn_graph_tensor(g, name, NN_ACT, NN_F32, 1, 2, wdim);
    if (work < 0) return -1;
    g->t[work].layer = n.layer;
    out[nout++] = work;
    for (int k = 0; k < nin; k++)
        if (in[k] < 0) return -1;
    return nn_make_grad_node(g, node, &nn_op_recurrent_grad, in, nin, out, nout) < 0 ? -1 : 0;
}

static nn_rnn_weights weights(const nn_step *s, int first)
{
    nn_rnn_weights w = {{NULL, NULL, NULL}, {NULL, NULL, NULL}};
    for (int q = 0; q < gates(s->node->spec); q++) {
        w.w[q] = s->in[first + 2 * q];
        w.bias[q] = s->in[first + 2 * q + 1];
    }
    return w;
}

void nn_recurrent_forward(const nn_step *s, int rows, const nn_rnn_input *in)
{
    const nn_tensor *x = s->tin[0];
    const nn_layer *L = s->node->spec;
    nn_rnn_weights w = weights(s, 2);
    nn_k->rnn_fwd(rows, x->dim[1], x->dim[2], L->hidden, gates(L) == 3, in, s->in[1], &w, s->out[2],
                  s->out[1], s->out[0]);
}

void nn_recurrent_backward(const nn_step *s, int rows, const nn_rnn_input *in, float *dx,
                           int accumulate)
{
    const nn_layer *L = s->node->spec;
    int G = gates(L);
    const nn_tensor *x = s->tin[2 * G + 4];
    int t = x->dim[1], e = x->dim[2], h = L->hidden;
    nn_rnn_weights w = weights(s, 0);
    nn_rnn_grads dg = {s->out[1], {NULL, NULL, NULL}, {NULL, NULL, NULL}};
    for (int q = 0; q < G; q++) {
        dg.w[q] = s->out[2 + 2 * q];
        dg.bias[q] = s->out[3 + 2 * q];
    }
    nn_k->rnn_bwd(rows, t, e, h, G == 3, in, &w, s->in[2 * G + 2], s->in[2 * G + 1], s->in[2 * G],
                  s->in[2 * G + 3], s->out[2 + 2 * G], dx, &dg, accumulate);
}

static void run(const nn_step *s, int rows)
{
    nn_rnn_input in = {.x = s->in[0]};
    nn_recurrent_forward(s, rows, &in);
}

static void run_grad(const nn_step *s, int rows)
{
    nn_rnn_input in = {.x = s->in[2 * gates(s->node->spec) + 4]}; /* not read: state has it */
    nn_recurrent_backward(s, rows, &in, s->out[0], s->node->accumulate);
}

const nn_op nn_op_recurrent = {"recurrent", infer, grad, run};
const nn_op nn_op_recurrent_grad = {"recurrent_grad", NULL, NULL, run_grad};
