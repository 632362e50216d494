/* build.h — spec → IR graph. */
#ifndef NN_BUILD_H
#define NN_BUILD_H

#include "ir/graph.h"

typedef struct {
    int batch;    /* rows the graph is built for */
    int training; /* batchnorm on batch statistics; l2 added to the loss */
    int backward; /* append the backward pass */
    int vocab;    /* token vocabulary (inputs and the output layer) */
    int context;  /* tokens of context per example */
    int features; /* numeric data: x is float [batch, features]; 0: token ids */
    int sequence; /* targets y [batch, context] (data examples: sequence), −1 ignored */
} nn_build_opts;

/* Builds the graph of the spec's model: inputs x [batch, context] (or float [batch,
 * features]) and y [batch], the layers in order, the loss of spec->train.loss (and the l2
 * terms), and, when asked, the backward pass.
 * Shape errors are recorded in `d` at the layer that cannot take its input. */
nn_graph *nn_build(const nn_spec *spec, const nn_build_opts *o, nn_diag *d);
/* The same for a spec with activation (plugin) layers: layer_fn[i] is the function of
 * layer i, filled in by the runtime (runtime/plugin/plugin.c); nn_build passes NULL. */
nn_graph *nn_build_fns(const nn_spec *spec, const nn_build_opts *o,
                       const nn_callable *const *layer_fn, nn_diag *d);

/* Appends the backward pass to a forward graph (autodiff.c). */
int nn_autodiff(nn_graph *g);

#endif
