/* graph.h — the IR: tensors (shape + role) and nodes (an op applied to tensors).
 *
 * A graph is built for one batch size and one mode (training or evaluation).  The
 * forward nodes come first, in execution order; autodiff appends the backward nodes.
 * Tensor dim[0] of a `batched` tensor is the batch: kernels run on the active rows,
 * which may be fewer (the last chunk of an evaluation, a single sampling context).
 */
#ifndef NN_GRAPH_H
#define NN_GRAPH_H

#include "ir/callable.h"
#include "parser/diag.h"
#include "parser/spec.h"

#define NN_MAX_DIMS 4
#define NN_MAX_IO   12 /* the GRU's backward: 11 inputs, 9 outputs */

typedef enum { NN_F32 = 0, NN_I32 } nn_dtype;
typedef enum { NN_INPUT = 0, NN_PARAM, NN_ACT, NN_GRAD, NN_BUFFER } nn_role;

typedef struct {
    char name[48];
    int ndim, dim[NN_MAX_DIMS];
    int batched; /* dim[0] is the batch */
    nn_dtype dtype;
    nn_role role;
    int grad;            /* index of this tensor's gradient, or −1 */
    int alias;           /* index of the tensor whose storage this one views, or −1 */
    int layer;           /* spec layer that made it, or −1 */
    const nn_init *init; /* parameters and buffers: how to fill them at start */
    int weight;          /* a linear weight matrix (reports show its ratios) */
    int requires_grad;   /* a parameter, or computed from one */
} nn_tensor;

typedef struct {
    int unbiased;    /* normalise by the batch variance ÷ (m − 1); else ÷ m */
    int pytorch;     /* the running variance is the unbiased one (variance: pytorch) */
    int running_std;
    float eps, momentum;
} nn_bn_attr;

struct nn_op;

typedef struct {
    const struct nn_op *op;
    int in[NN_MAX_IO], nin;   /* tensor indices; −1 for an absent optional input */
    int out[NN_MAX_IO], nout; /* −1 for an output nobody needs */
    int layer;
    const nn_layer *spec; /* the spec layer this node implements (NULL for the loss) */
    nn_mark mark;
    int training;   /* built in training mode (batchnorm: batch statistics) */
    int accumulate; /* bit k: output k is added into instead of written (set by autodiff) */
    nn_bn_attr bn;
    float l2;
    int sum;               /* losses and l2: sum over rows / elements instead of the mean */
    const nn_callable *fn; /* plugin activations: the function the runtime supplies */
    /* formula ops (ir/expr.h): the formula, owned by the graph's `exprs` */
    struct nn_expr *expr;
} nn_node;

typedef struct nn_graph {
    nn_tensor *t;
    int nt, cap_t;
    nn_node *n;
    int nn, cap_n;
    int nfwd;     /* nodes [0, nfwd) are the forward pass */
    int batch;    /* rows the graph was built for */
    int training; /* batchnorm on batch statistics, updating its running buffers */
    int x, y;     /* inputs: token ids [batch × context] (text) or features [batch × features]
                     (floats); targets [batch]: class ids, or floats for hinge / mse */
    int logits, loss, row_loss;
    int vocab, context;
    int features; /* numeric data: features per row (x is float); 0 for text */
    /* the formulas the nodes use (freed with the graph); loss: {expr} for the loss op */
    struct nn_expr **exprs;
    int nexprs;
    const nn_expr_spec *loss_expr;
} nn_graph;

nn_graph *nn_graph_new(void);
void nn_graph_free(nn_graph *g);

/* Adds a tensor; returns its index (or −1 when out of memory). */
int nn_graph_tensor(nn_graph *g, const char *name, nn_role role, nn_dtype dtype, int batched,
                    int ndim, const int *dim);
/* Adds a node for `op` and runs its shape inference; returns the node index, or −1 with
 * the error recorded in `d` at `mark`. */
int nn_graph_node(nn_graph *g, const struct nn_op *op, const int *in, int nin, int layer,
                  const nn_layer *spec, nn_mark mark, nn_diag *d);
/* Adds a node whose outputs are already made (backward nodes); returns its index. */
int nn_graph_append(nn_graph *g, const nn_node *n);

long nn_tensor_numel(const nn_tensor *t); /* with dim[0] = the graph batch for batched */
/* Elements holding data when `rows` rows of a batched tensor are active. */
long nn_tensor_active_numel(const nn_tensor *t, int rows);
/* "[32, 3, 10]" — for messages */
const char *nn_tensor_shape_str(const nn_tensor *t, char *buf, int len);
/* Follows aliases to the tensor that owns the storage. */
int nn_graph_storage(const nn_graph *g, int t);

/* Total element count of all parameters (not buffers). */
long nn_graph_param_count(const nn_graph *g);
/* Prints one line per node: op, output shape, parameter count, inputs. */
void nn_graph_print(const nn_graph *g, FILE *out);

#endif
