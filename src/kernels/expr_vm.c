/* expr_vm.c — the scalar reference of the formula machine (expr_vm.h): the ground truth
 * the vectorised version is tested against.  Same block structure: 8 lanes per pass. */
#include "kernels/expr_vm.h"

#include <math.h>
#include <string.h>

#define L 8

static float powi(float a, int k)
{
    float r = 1.0f, b = a;
    for (unsigned e = (unsigned)(k < 0 ? -k : k); e; e >>= 1) {
        if (e & 1) r *= b;
        b *= b;
    }
    return k < 0 ? 1.0f / r : r;
}

static float pow_ref(float a, float b)
{
    if (a < 0 && b != floorf(b)) return NAN;
    float m = expf(b * logf(fabsf(a)));
    return a < 0 && fmodf(b, 2.0f) != 0 ? -m : m;
}

static float op1(const nn_vm_ins *in, float a, float b)
{
    switch ((nn_vm_op)in->op) {
    case NN_VM_NEG: return -a;
    case NN_VM_ADD: return a + b;
    case NN_VM_SUB: return a - b;
    case NN_VM_MUL: return a * b;
    case NN_VM_DIV: return a / b;
    case NN_VM_POW: return pow_ref(a, b);
    case NN_VM_POWI: return powi(a, in->k);
    case NN_VM_EXP: return expf(a);
    case NN_VM_LOG: return logf(a);
    case NN_VM_TANH: return tanhf(a);
    case NN_VM_SIGMOID: return 1.0f / (1.0f + expf(-a));
    case NN_VM_RELU: return a > 0 ? a : 0.0f;
    case NN_VM_ABS: return fabsf(a);
    case NN_VM_SQRT: return sqrtf(a);
    case NN_VM_MIN: return a < b ? a : b;
    case NN_VM_MAX: return a > b ? a : b;
    case NN_VM_STEP: return a > 0 ? 1.0f : 0.0f;
    case NN_VM_SIGN: return a > 0 ? 1.0f : a < 0 ? -1.0f : 0.0f;
    case NN_VM_LE: return a <= b ? 1.0f : 0.0f;
    case NN_VM_GE: return a >= b ? 1.0f : 0.0f;
    default: return in->c; /* CONST */
    }
}

void nn_ref_expr_run(const nn_vm_prog *p, int rows, int cols, const nn_vm_in *in,
                     const nn_vm_out *out)
{
    float r[NN_VM_MAX_REGS][L];
    for (int i = 0; i < rows; i++) {
        for (int j0 = 0; j0 < cols; j0 += L) {
            int n = cols - j0 < L ? cols - j0 : L;
            size_t at = (size_t)i * (size_t)cols + (size_t)j0;
            for (int t = 0; t < p->nins; t++) {
                const nn_vm_ins *s = &p->ins[t];
                float *d = r[s->dst];
                if (s->op == NN_VM_LOAD) {
                    const nn_vm_in *x = &in[s->k];
                    for (int l = 0; l < L; l++)
                        d[l] = l >= n                    ? 0.0f
                               : x->kind == NN_VM_SCALAR ? x->p[0]
                               : x->kind == NN_VM_COLUMN ? x->p[j0 + l]
                                                         : x->p[at + (size_t)l];
                    continue;
                }
                const float *a = r[s->a], *b = r[s->b];
                for (int l = 0; l < L; l++)
                    d[l] = op1(s, a[l], b[l]);
            }
            for (int k = 0; k < p->nout; k++) {
                const float *v = r[p->out_reg[k]];
                const nn_vm_out *o = &out[k];
                for (int l = 0; l < n; l++) {
                    switch (o->kind) {
                    case NN_VM_WRITE: o->p[at + (size_t)l] = v[l]; break;
                    case NN_VM_ACCUM: o->p[at + (size_t)l] += v[l]; break;
                    case NN_VM_SUM: o->p[0] += v[l]; break;
                    case NN_VM_COLSUM: o->p[j0 + l] += v[l]; break;
                    }
                }
            }
        }
    }
}
