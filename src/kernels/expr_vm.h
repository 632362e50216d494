/* expr_vm.h — a tiny register machine for fused elementwise formulas (the expressions
 * issue): the runtime compiles a formula's DAG into a program; the kernels run it over
 * blocks of 8 floats, every instruction on one 8-lane register per pass (never one node
 * over the whole array).  Kernels know nothing of formulas: only instructions. */
#ifndef NN_EXPR_VM_H
#define NN_EXPR_VM_H

#include <stdint.h>

#define NN_VM_MAX_REGS 256 /* registers a program may use (the compiler reuses them) */
#define NN_VM_MAX_IO   8   /* inputs and outputs of one program */

typedef enum {
    NN_VM_CONST = 0, /* r[dst] = c */
    NN_VM_LOAD,      /* r[dst] = input k */
    NN_VM_NEG,
    NN_VM_ADD,
    NN_VM_SUB,
    NN_VM_MUL,
    NN_VM_DIV,
    NN_VM_POW,  /* a^b: exp(b·log|a|), negative a only with an integral b (else NaN) */
    NN_VM_POWI, /* a^k for an integer k (|k| ≤ 64), by squaring: exact for negative a */
    NN_VM_EXP,
    NN_VM_LOG,
    NN_VM_TANH,
    NN_VM_SIGMOID,
    NN_VM_RELU,
    NN_VM_ABS,
    NN_VM_SQRT,
    NN_VM_MIN,
    NN_VM_MAX,
    NN_VM_STEP, /* a > 0 ? 1 : 0 */
    NN_VM_SIGN, /* −1, 0 or 1 */
    NN_VM_LE,   /* a <= b ? 1 : 0 */
    NN_VM_GE,   /* a >= b ? 1 : 0 */
    NN_VM_OPS
} nn_vm_op;

typedef struct {
    uint8_t op;
    uint16_t dst, a, b;
    int k; /* LOAD: input index; POWI: exponent */
    float c;
} nn_vm_ins;

typedef struct nn_vm_prog {
    nn_vm_ins *ins;
    int nins, nregs;
    int nout;
    int out_reg[NN_VM_MAX_IO]; /* register holding output k at the end of a pass */
} nn_vm_prog;

/* How an input is read at element (row i, column j) of a rows × cols block. */
typedef enum {
    NN_VM_ARRAY = 0, /* p[i·cols + j] */
    NN_VM_SCALAR,    /* p[0] (one value per layer) */
    NN_VM_COLUMN     /* p[j] (one value per column: per neuron) */
} nn_vm_in_kind;

/* How an output is written. */
typedef enum {
    NN_VM_WRITE = 0, /* p[i·cols + j] = v */
    NN_VM_ACCUM,     /* p[i·cols + j] += v */
    NN_VM_SUM,       /* p[0] += Σ v (caller zeroes first when it overwrites) */
    NN_VM_COLSUM     /* p[j] += Σ_i v */
} nn_vm_out_kind;

typedef struct {
    const float *p;
    nn_vm_in_kind kind;
} nn_vm_in;

typedef struct {
    float *p;
    nn_vm_out_kind kind;
} nn_vm_out;

/* The scalar reference (expr_vm.c). */
void nn_ref_expr_run(const nn_vm_prog *p, int rows, int cols, const nn_vm_in *in,
                     const nn_vm_out *out);

#endif
