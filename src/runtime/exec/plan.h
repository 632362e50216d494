/* plan.h — executing a graph: the model state, and plans lowered from graphs.
 *
 * nn_params holds what outlives a step and is shared by every plan of a model: the
 * parameters, BatchNorm's running buffers, the parameter gradients and the optimizer
 * state — one allocation.  An nn_plan is a graph lowered for execution: one arena for its
 * inputs, activations and activation gradients, and a flat array of steps, each an op's
 * run function with its buffers resolved.  Nothing is allocated after lowering.
 */
#ifndef NN_PLAN_H
#define NN_PLAN_H

#include <stddef.h>
#include <stdio.h>

#include "ir/op.h"
#include "runtime/data/rng.h"

typedef struct {
    char name[48];
    int ndim, dim[NN_MAX_DIMS];
    long numel;
    nn_role role; /* NN_PARAM or NN_BUFFER */
    int weight, layer;
    const nn_init *init;
    float *data, *grad, *velocity; /* grad and velocity: parameters only (velocity: momentum,
                                      or Adam's first moment) */
    float *sq;                     /* Adam's second moment (parameters only, with Adam) */
} nn_param;

typedef struct {
    nn_param *p;
    int n;
    long count; /* elements of the trainable parameters */
    float *block;
    long adam_t; /* Adam: updates done (for the bias corrections) */
} nn_params;

/* The parameters and buffers named in `g` (a training graph), in graph order, with `state`
 * optimizer arrays per parameter: 0 (plain SGD), 1 (momentum: velocity), 2 (Adam: velocity
 * and sq). */
nn_params *nn_params_new(const nn_graph *g, int state);
void nn_params_free(nn_params *P);
nn_param *nn_params_find(nn_params *P, const char *name);
/* Reads one parameter's init: {from: FILE} (store/checkpoint.h nn_ckpt_init_param): 0 or
 * −1 with an error in `d`.  Passed in, so that exec/ reads no checkpoint files itself. */
typedef int (*nn_param_loader)(nn_param *p, nn_diag *d);
/* Fills every parameter and buffer from its init, in model order, drawing from `r`
 * (init.c); `from` init with the loader `from`.  A scale-0 init still draws, so random
 * streams stay aligned with PyTorch.  values / csv inits that do not fit (a count mismatch,
 * a bad cell, a missing file) and `from` files that are missing, damaged or of another
 * shape are errors in `d`: returns 0 or −1. */
int nn_params_init(nn_params *P, nn_rng *r, nn_param_loader from, nn_diag *d);
/* Sets every random-stream buffer (dropout's "….stream": a 64-bit counter in two floats) to
 * a start derived from the run's seed, without drawing from any other stream: the same
 * seed gives the same masks, another seed others.  A resumed run's checkpoint then
 * restores the counters it had. */
void nn_params_seed_streams(nn_params *P, uint64_t seed);

typedef struct nn_plan {
    const nn_graph *g;
    nn_step *steps;
    int nsteps, nfwd; /* steps [0, nfwd) run the forward pass */
    nn_step *subs;    /* the parts of fused steps */
    int nsubs;
    void **ptr; /* storage of each tensor */
    float *arena;
    size_t arena_bytes;
} nn_plan;

enum {
    NN_LOWER_FUSE = 1,  /* fuse activations into their producers, cross-entropy with its grad */
    NN_LOWER_REUSE = 2, /* share arena space between tensors whose live ranges do not overlap */
    NN_LOWER_FAST = NN_LOWER_FUSE | NN_LOWER_REUSE,
    NN_LOWER_KEEP_ALL = 0, /* every tensor its own storage, kept after the run (inspection) */
    NN_LOWER_MEASURE = 8,  /* lay out only (no arena, P may be NULL): nn_plan_arena_bytes */
};

/* Lowers `g`, binding its parameters to `P` by name.  Returns NULL when out of memory or
 * when a parameter is missing from P. */
nn_plan *nn_plan_lower(const nn_graph *g, nn_params *P, int flags);
/* `nnrun graph --plan`: one line per step (fused steps as "linear+tanh"), the tensors it
 * writes with their arena offsets, and the arena size. */
void nn_plan_print(const nn_plan *p, const nn_params *P, FILE *out);
void nn_plan_free(nn_plan *p);
/* Step i's name as --plan prints it ("linear+tanh") and the tensor it writes first. */
void nn_plan_step_name(const nn_plan *p, int i, char *buf, size_t n);
/* The arena bytes nn_plan_lower(g, P, flags) would allocate, found without allocating it
 * (so a too-large plan can be refused first); (size_t)−1 when out of memory. */
size_t nn_plan_arena_bytes(const nn_graph *g, int flags);
void nn_plan_forward(const nn_plan *p, int rows);
void nn_plan_backward(const nn_plan *p, int rows);
static inline void *nn_plan_ptr(const nn_plan *p, int tensor)
{
    return p->ptr[tensor];
}

#endif
