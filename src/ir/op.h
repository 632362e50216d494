/* op.h — the op registry: one const nn_op per file in src/ir/ops/.
 *
 * An op knows three things: its shape rule (infer), how to append its backward nodes
 * (grad), and how to run on resolved buffers (run).  The runtime lowers each node to an
 * nn_step — the node plus pointers into the arena — and the training step is a flat loop
 * over those steps.  run() calls the kernels through nn_k; it never allocates.
 */
#ifndef NN_OP_H
#define NN_OP_H

#include "ir/graph.h"

typedef struct nn_step {
    void (*run)(const struct nn_step *s, int rows);
    const nn_node *node;                               /* NULL for a fused step */
    void *in[NN_MAX_IO], *out[NN_MAX_IO];              /* storage, NULL where absent */
    const nn_tensor *tin[NN_MAX_IO], *tout[NN_MAX_IO]; /* shapes, NULL where absent */
    const struct nn_step *sub; /* a fused step runs these nsub steps back to back */
    int nsub;
    /* a cross-layer fusion (lower.c, nn_window_linear_match): this step's run computes its
     * node and the next part's, whose buffers it reads here; that part's run is skipped */
    const struct nn_step *pair;
} nn_step;

typedef struct nn_op {
    const char *name;
    /* Makes the node's output tensors with their shapes, or records an error at the
     * node's mark (naming the layer that cannot accept its input) and returns −1. */
    int (*infer)(nn_graph *g, int node, nn_diag *d);
    /* Appends the backward node(s) of forward node `node`; NULL for ops without one. */
    int (*grad)(nn_graph *g, int node);
    void (*run)(const nn_step *s, int rows);
} nn_op;

extern const nn_op nn_op_embedding, nn_op_embedding_grad;
extern const nn_op nn_op_flatten;
extern const nn_op nn_op_flatten_consecutive; /* a view: [B, T, C] → [B, T/n, C·n] */
extern const nn_op nn_op_linear, nn_op_linear_grad;
extern const nn_op nn_op_batchnorm, nn_op_batchnorm_grad;
extern const nn_op nn_op_tanh, nn_op_tanh_grad;
extern const nn_op nn_op_cross_entropy, nn_op_cross_entropy_grad;
extern const nn_op nn_op_l2, nn_op_l2_grad;
extern const nn_op nn_op_relu, nn_op_relu_grad;
extern const nn_op nn_op_sigmoid, nn_op_sigmoid_grad;
extern const nn_op nn_op_onehot;
extern const nn_op nn_op_hinge, nn_op_hinge_grad;
extern const nn_op nn_op_mse, nn_op_mse_grad;
extern const nn_op nn_op_value, nn_op_value_grad;
extern const nn_op nn_op_plugin, nn_op_plugin_grad;       /* node->fn: a plugin's activation */
extern const nn_op nn_op_expr, nn_op_expr_grad;           /* activation: {expr: ...} */
extern const nn_op nn_op_expr_loss, nn_op_expr_loss_grad; /* loss: {expr: ...} */
extern const nn_op nn_op_layernorm, nn_op_layernorm_grad;
extern const nn_op nn_op_attention, nn_op_attention_grad; /* the core, between two linears */
extern const nn_op nn_op_gelu, nn_op_gelu_grad;
extern const nn_op nn_op_dropout, nn_op_dropout_grad;
extern const nn_op nn_op_causal_mean, nn_op_causal_mean_grad;
extern const nn_op nn_op_residual, nn_op_residual_grad;                 /* x + f(x) */
extern const nn_op nn_op_embedding_window, nn_op_embedding_window_grad; /* embedding: {window} */
extern const nn_op nn_op_recurrent, nn_op_recurrent_grad; /* makemore's RNN / GRU over positions */
/* Runs of lowering's cross-layer fusion (window_linear.c), never graph nodes: embedding
 * {window} + linear, or embedding + flatten + linear (on the embedding's step, s->pair the
 * linear's) and its backward (on the linear_grad's step, s->pair the embedding's backward). */
extern const nn_op nn_op_window_linear, nn_op_window_linear_grad;
/* When forward node i, an embedding {window} (or a plain embedding whose output a flatten
 * views), and the linear reading it may run as lookups of per-slot products (window_linear.c:
 * nothing else reads the embedding's output or its gradient, the shapes pay): the linear's
 * node index (i + 1, or i + 2 after a flatten), else 0; then bwd[0], bwd[1] are the
 * linear_grad and embedding backward nodes to fuse too (−1 without a backward pass). */
int nn_window_linear_match(const nn_graph *g, int i, int bwd[2]);
/* The floats the fusion of embedding node i and linear node l keeps in the storage of the
 * embedding's output (the per-slot products) and of its gradient (their sums): lowering
 * makes both at least this long. */
long nn_window_linear_floats(const nn_graph *g, int i, int l);
/* The same for an embedding (no positions) and a recurrent layer reading it (node i + 1),
 * whose x half of the cell's products becomes row lookups (embed_recurrent.c); bwd: the
 * recurrent_grad and embedding_grad nodes. */
extern const nn_op nn_op_embed_recurrent, nn_op_embed_recurrent_grad;
int nn_embed_recurrent_match(const nn_graph *g, int i, int bwd[2]);

/* A linear reading x + causal_mean(x) of an embedding's output [B, T, D] (makemore's BoW),
 * run as lookups of table·W and positions·W (mean_linear.c): the embedding node e, the
 * linear l, and in training its linear_grad lg and the embedding's backward eg (−1 in an
 * evaluation graph).  The three runs go on the steps of l, lg and eg (lowering pairs them:
 * l with e's step, lg with l's, eg with lg's). */
typedef struct {
    int e, l, lg, eg;
} nn_mean_linear_nodes;
extern const nn_op nn_op_mean_linear, nn_op_mean_linear_grad, nn_op_mean_linear_embed_grad;
/* 1 when linear node l may run so (and fills m), else 0. */
int nn_mean_linear_match(const nn_graph *g, int l, nn_mean_linear_nodes *m);
/* The floats the fusion keeps in the storage of the linear's output (its scratch after the
 * output): lowering makes that storage this long and keeps it live until eg's step. */
long nn_mean_linear_floats(const nn_graph *g, const nn_mean_linear_nodes *m);

/* Looks an op up by name (NULL if unknown); the registry lists every op. */
const nn_op *nn_op_find(const char *name);
extern const nn_op *const nn_ops[];

/* Helpers for op files. */
/* The gradient tensor of tensor t, created on first use (same shape, role NN_GRAD). */
int nn_grad_of(nn_graph *g, int t);
/* Makes output k of node `node`: an activation named "layers.L.SUFFIX" (or SUFFIX alone
 * for nodes outside the layer list).  Returns the tensor index or −1. */
int nn_make_out(nn_graph *g, int node, int k, const char *suffix, nn_dtype dtype, int batched,
                int ndim, const int *dim);
/* Makes a parameter or buffer of the layer of `node` ("layers.L.SUFFIX"), with its init
 * (the spec's, or `fallback` when the spec left it at its default). */
int nn_make_param(nn_graph *g, int node, const char *suffix, nn_role role, int ndim, const int *dim,
                  const nn_init *spec_init, const nn_init *fallback);
/* Appends a backward node for forward node `fwd`: op, inputs and outputs as given. */
int nn_make_grad_node(nn_graph *g, int fwd, const nn_op *op, const int *in, int nin, const int *out,
                      int nout);
/* The backward of a view op (flatten, flatten_consecutive): the gradient of the view is a
 * view of the input's gradient, so no node is appended. */
int nn_view_grad(nn_graph *g, int node);
/* Shape rule of the score losses (hinge, mse; in hinge.c): in[0] scores [B, 1], in[1]
 * float targets [B]; makes out[0] the loss and out[2] the row losses, or records an error
 * naming both shapes at the node's mark. */
int nn_check_scores(nn_graph *g, int node, const char *loss, nn_diag *d);
/* Elementwise activations (tanh, relu, sigmoid; activation.c): the shape rule (float input,
 * output of the same shape) and the backward node `grad_op` reading (y, dy), writing dx. */
int nn_activation_infer(nn_graph *g, int node, nn_diag *d);
int nn_activation_grad(nn_graph *g, int node, const nn_op *grad_op);
/* A note "FILE:LINE:COL: the block is used here" when the node's layer came from a
 * `- repeat:` (errors in blocks point at the block's line and at the use's line). */
void nn_note_use(const nn_graph *g, int node, nn_diag *d);
/* The node that writes `tensor` (the last, for a gradient several add into), or −1 for an
 * input. */
int nn_producer(const nn_graph *g, int tensor);
/* Label of what made `tensor`: "layer 1 (embedding)", or "the data" for an input. */
const char *nn_producer_label(const nn_graph *g, int tensor, char *buf, int len);
/* Layer label for messages: "layer 3 (linear)". */
const char *nn_layer_label(const nn_graph *g, int node, char *buf, int len);

#endif
