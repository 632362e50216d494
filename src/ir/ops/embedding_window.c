/* embedding_window.c — `embedding: {dim, window: W}`, makemore.py's MLP input: for each
 * position t of token ids [B, T], the embeddings of the W tokens ending at t, newest first,
 * concatenated → [B, T, W·dim]; before the start of the sequence a learned blank token
 * (the table's extra last row, id = vocabulary size) stands in.  Table [vocab + 1, dim]. */
#include <string.h>

#include "ir/op.h"
#include "kernels/kernels.h"

static const nn_init default_init = {.kind = NN_INIT_NORMAL, .std = 1.0, .scale = 1.0};

static int infer(nn_graph *g, int node, nn_diag *d)
{
    const nn_node *n = &g->n[node];
    nn_tensor x = g->t[n->in[0]];
    if (x.dtype != NN_I32 || x.ndim != 2) {
        char lb[64], sh[64];
        nn_diag_error(d, n->mark, "%s expects token ids [batch, context], but its input is %s",
                      nn_layer_label(g, node, lb, sizeof lb),
                      nn_tensor_shape_str(&x, sh, sizeof sh));
        nn_diag_note(d, "an embedding must be the first layer of the model");
        return -1;
    }
    int dim = n->spec->dim, w = n->spec->window;
    int tdim[2] = {g->vocab + 1, dim};
    int table = nn_make_param(g, node, "weight", NN_PARAM, 2, tdim, &n->spec->init, &default_init);
    if (table < 0) return -1;
    g->n[node].in[1] = table;
    g->n[node].nin = 2;
    int ydim[3] = {x.dim[0], x.dim[1], w * dim};
    return nn_make_out(g, node, 0, "out", NN_F32, 1, 3, ydim) < 0 ? -1 : 0;
}

static int grad(nn_graph *g, int node)
{
    /* the table (in[2]) is read only when lowering fuses this node with the linear's
     * backward (window_linear.c) */
    int in[3] = {g->n[node].in[0], nn_grad_of(g, g->n[node].out[0]), g->n[node].in[1]};
    int out[1] = {nn_grad_of(g, g->n[node].in[1])};
    return nn_make_grad_node(g, node, &nn_op_embedding_window_grad, in, 3, out, 1) < 0 ? -1 : 0;
}

/* ids[k] = the table row of slot k at position t of row r (before the start: the blank) */
static void slot_rows(const int32_t *idx, int t_len, int r, int t, int w, int blank, int32_t *ids)
{
    for (int k = 0; k < w; k++)
        ids[k] = t - k >= 0 ? idx[(size_t)r * t_len + t - k] : blank;
}

/* The W slots of one position are consecutive in y, so each position is one gather (or
 * scatter) of W table rows by the embedding kernels; positions of a longer window than the
 * id block go slot by slot. */
enum { SLOTS = 256 };

static void run(const nn_step *s, int rows)
{
    const int32_t *idx = s->in[0];
    const float *tab = s->in[1];
    int t_len = s->tin[0]->dim[1], dim = s->tin[1]->dim[1], blank = s->tin[1]->dim[0] - 1;
    int w = s->node->spec->window, step = w < SLOTS ? w : 1;
    float *y = s->out[0];
    int32_t ids[SLOTS];
    for (int r = 0; r < rows; r++)
        for (int t = 0; t < t_len; t++)
            for (int k0 = 0; k0 < w; k0 += step) {
                if (step == 1)
                    ids[0] = t - k0 >= 0 ? idx[(size_t)r * t_len + t - k0] : blank;
                else
                    slot_rows(idx, t_len, r, t, w, blank, ids);
                nn_k->embed_gather(1, step, dim, ids, tab,
                                   y + (((size_t)r * t_len + t) * w + k0) * dim);
            }
}

static void run_grad(const nn_step *s, int rows)
{
    const int32_t *idx = s->in[0];
    const float *dy = s->in[1];
    int t_len = s->tin[0]->dim[1], dim = s->tout[0]->dim[1], blank = s->tout[0]->dim[0] - 1;
    int w = s->node->spec->window, step = w < SLOTS ? w : 1;
    float *dt = s->out[0];
    int32_t ids[SLOTS];
    if (!(s->node->accumulate & 1)) memset(dt, 0, (size_t)(blank + 1) * (size_t)dim * sizeof *dt);
    for (int r = 0; r < rows; r++)
        for (int t = 0; t < t_len; t++)
            for (int k0 = 0; k0 < w; k0 += step) {
                if (step == 1)
                    ids[0] = t - k0 >= 0 ? idx[(size_t)r * t_len + t - k0] : blank;
                else
                    slot_rows(idx, t_len, r, t, w, blank, ids);
                nn_k->embed_scatter(1, step, dim, ids,
                                    dy + (((size_t)r * t_len + t) * w + k0) * dim, dt);
            }
}

const nn_op nn_op_embedding_window = {"embedding_window", infer, grad, run};
const nn_op nn_op_embedding_window_grad = {"embedding_window_grad", NULL, NULL, run_grad};
