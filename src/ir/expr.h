/* expr.h — a formula as a scalar expression DAG, its reverse-mode derivative, and its
 * compiled kernel programs (the expressions issue).
 *
 * Nodes are hash-consed (a repeated subexpression is one node, computed once) and
 * simplified as they are made (constants folded, x·1, x+0, ...).  Slots are the DAG's
 * inputs: for an activation x, then the learned params, then the upstream gradient dy;
 * for a loss s, y, then dy.  Params that are not learned are folded in as constants. */
#ifndef NN_EXPR_H
#define NN_EXPR_H

#include "kernels/expr_vm.h"
#include "parser/spec.h"

typedef struct {
    nn_vm_op op; /* NN_VM_LOAD: input slot `slot`; NN_VM_CONST: value c */
    int a, b;
    int slot, k; /* k: POWI exponent */
    double c;
} nn_xnode;

typedef struct nn_expr {
    nn_xnode *n;
    int nn, cap;
    int nslots, seed; /* slots; the slot of dy */
    int yslot;        /* ≥ 0: the backward program reads the forward output y from this slot
                         (seed + 1) instead of recomputing it (tanh(x)'s 1 − y²) */
    int nfwd;         /* nodes [0, nfwd) are the forward formula's */
    int root;         /* the forward value */
    int nwrt;         /* derivatives taken: slot 0 (x or s) and the learned params */
    int wrt_slot[NN_VM_MAX_IO], grad[NN_VM_MAX_IO];
    int *adj; /* nfwd entries: each forward node's gradient node, or −1 (zero) */
    nn_vm_prog fwd, bwd;
} nn_expr;

/* Builds the DAG of spec formula `e` and its derivative, and compiles both programs; with
 * `reuse_y`, a backward that needs the forward value reads it (slot yslot) instead.
 * Returns NULL (message in err) when a program needs too many registers. */
nn_expr *nn_expr_build(const nn_expr_spec *e, int reuse_y, char *err, size_t errsize);
void nn_expr_free(nn_expr *x);
/* Evaluates every node in double precision at the slot values `in`; vals[nn]. */
void nn_expr_eval(const nn_expr *x, const double *in, double *vals);
/* Short label of a node for drawings: "+", "exp", "x", "2", ... */
const char *nn_expr_label(const nn_expr *x, const nn_expr_spec *e, int node, char *buf, int len);

#endif
