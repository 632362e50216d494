/* expr_vm_avx2.c — the formula machine (expr_vm.h) on AVX2+FMA: one __m256 register per
 * program register, every instruction applied to 8 lanes per pass; exp, log and tanh are
 * avx2.c's polynomial versions (errors stated there).  The last, partial block of a row is
 * loaded with zeros in the unused lanes and stored under a mask. */
#include <math.h>

#include "kernels/avx2.h"
#include "kernels/avx2_strip.h"

static __m256 powi256(__m256 a, int k)
{
    __m256 r = _mm256_set1_ps(1.0f), b = a;
    for (unsigned e = (unsigned)(k < 0 ? -k : k); e; e >>= 1) {
        if (e & 1) r = _mm256_mul_ps(r, b);
        b = _mm256_mul_ps(b, b);
    }
    return k < 0 ? _mm256_div_ps(_mm256_set1_ps(1.0f), r) : r;
}

/* exp(b·log|a|); for a < 0: NaN unless b is integral, negated when b is odd. */
static __m256 pow256(__m256 a, __m256 b)
{
    const __m256 sign = _mm256_set1_ps(-0.0f), zero = _mm256_setzero_ps();
    __m256 m = nn_avx2_exp(_mm256_mul_ps(b, nn_avx2_log(_mm256_andnot_ps(sign, a))));
    __m256 fl = _mm256_floor_ps(b), neg = _mm256_cmp_ps(a, zero, _CMP_LT_OQ);
    __m256 integral = _mm256_cmp_ps(fl, b, _CMP_EQ_OQ);
    __m256 half = _mm256_mul_ps(b, _mm256_set1_ps(0.5f));
    __m256 odd = _mm256_andnot_ps(_mm256_cmp_ps(_mm256_floor_ps(half), half, _CMP_EQ_OQ), integral);
    m = _mm256_blendv_ps(m, _mm256_xor_ps(m, sign), _mm256_and_ps(neg, odd));
    return _mm256_blendv_ps(m, _mm256_set1_ps(NAN), _mm256_andnot_ps(integral, neg));
}

static __m256 bit(__m256 mask)
{
    return _mm256_and_ps(mask, _mm256_set1_ps(1.0f));
}

static __m256 op8(const nn_vm_ins *s, __m256 a, __m256 b)
{
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    switch ((nn_vm_op)s->op) {
    case NN_VM_NEG: return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f));
    case NN_VM_ADD: return _mm256_add_ps(a, b);
    case NN_VM_SUB: return _mm256_sub_ps(a, b);
    case NN_VM_MUL: return _mm256_mul_ps(a, b);
    case NN_VM_DIV: return _mm256_div_ps(a, b);
    case NN_VM_POW: return pow256(a, b);
    case NN_VM_POWI: return powi256(a, s->k);
    case NN_VM_EXP: return nn_avx2_exp(a);
    case NN_VM_LOG: return nn_avx2_log(a);
    case NN_VM_TANH: return nn_avx2_tanh(a);
    case NN_VM_SIGMOID:
        return _mm256_div_ps(one, _mm256_add_ps(one, nn_avx2_exp(_mm256_sub_ps(zero, a))));
    case NN_VM_RELU: return _mm256_and_ps(a, _mm256_cmp_ps(a, zero, _CMP_GT_OQ));
    case NN_VM_ABS: return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a);
    case NN_VM_SQRT: return _mm256_sqrt_ps(a);
    case NN_VM_MIN: return _mm256_blendv_ps(b, a, _mm256_cmp_ps(a, b, _CMP_LT_OQ));
    case NN_VM_MAX: return _mm256_blendv_ps(b, a, _mm256_cmp_ps(a, b, _CMP_GT_OQ));
    case NN_VM_STEP: return bit(_mm256_cmp_ps(a, zero, _CMP_GT_OQ));
    case NN_VM_SIGN:
        return _mm256_sub_ps(bit(_mm256_cmp_ps(a, zero, _CMP_GT_OQ)),
                             bit(_mm256_cmp_ps(a, zero, _CMP_LT_OQ)));
    case NN_VM_LE: return bit(_mm256_cmp_ps(a, b, _CMP_LE_OQ));
    case NN_VM_GE: return bit(_mm256_cmp_ps(a, b, _CMP_GE_OQ));
    default: return _mm256_set1_ps(s->c); /* CONST */
    }
}

static __m256 load_in(const nn_vm_in *x, size_t at, int j0, __m256i mk, int full)
{
    switch (x->kind) {
    case NN_VM_SCALAR: return _mm256_set1_ps(x->p[0]);
    case NN_VM_COLUMN: return ld(x->p + j0, mk, full);
    default: return ld(x->p + at, mk, full);
    }
}

static void store_out(const nn_vm_out *o, size_t at, int j0, __m256i mk, int full, __m256 v,
                      __m256 *sum)
{
    switch (o->kind) {
    case NN_VM_WRITE: st(o->p + at, mk, full, v); break;
    case NN_VM_ACCUM: st(o->p + at, mk, full, _mm256_add_ps(ld(o->p + at, mk, full), v)); break;
    case NN_VM_SUM: /* masked lanes of v are garbage: keep only the real ones */
        *sum = _mm256_add_ps(*sum, full ? v : _mm256_and_ps(v, _mm256_castsi256_ps(mk)));
        break;
    case NN_VM_COLSUM: st(o->p + j0, mk, full, _mm256_add_ps(ld(o->p + j0, mk, full), v)); break;
    }
}

static void pass(const nn_vm_prog *p, const nn_vm_in *in, const nn_vm_out *out, __m256 *r,
                 size_t at, int j0, __m256i mk, int full, __m256 *sums)
{
    for (int t = 0; t < p->nins; t++) {
        const nn_vm_ins *s = &p->ins[t];
        r[s->dst] =
            s->op == NN_VM_LOAD ? load_in(&in[s->k], at, j0, mk, full) : op8(s, r[s->a], r[s->b]);
    }
    for (int k = 0; k < p->nout; k++)
        store_out(&out[k], at, j0, mk, full, r[p->out_reg[k]], &sums[k]);
}

/* Four strips (32 lanes) per instruction: the dispatch is paid once per 32 elements. */
#define U 4
static void pass4(const nn_vm_prog *p, const nn_vm_in *in, const nn_vm_out *out, __m256 (*r)[U],
                  size_t at, int j0, __m256 *sums)
{
    const __m256i none = _mm256_setzero_si256();
    for (int t = 0; t < p->nins; t++) {
        const nn_vm_ins *s = &p->ins[t];
        __m256 *d = r[s->dst];
        if (s->op == NN_VM_LOAD) {
            for (int u = 0; u < U; u++)
                d[u] = load_in(&in[s->k], at + 8 * (size_t)u, j0 + 8 * u, none, 1);
            continue;
        }
        const __m256 *a = r[s->a], *b = r[s->b];
        switch ((nn_vm_op)s->op) { /* the common ops inline; the rest through op8 */
        case NN_VM_ADD:
            for (int u = 0; u < U; u++)
                d[u] = _mm256_add_ps(a[u], b[u]);
            break;
        case NN_VM_SUB:
            for (int u = 0; u < U; u++)
                d[u] = _mm256_sub_ps(a[u], b[u]);
            break;
        case NN_VM_MUL:
            for (int u = 0; u < U; u++)
                d[u] = _mm256_mul_ps(a[u], b[u]);
            break;
        case NN_VM_CONST:
            for (int u = 0; u < U; u++)
                d[u] = _mm256_set1_ps(s->c);
            break;
        default:
            for (int u = 0; u < U; u++)
                d[u] = op8(s, a[u], b[u]);
        }
    }
    for (int k = 0; k < p->nout; k++)
        for (int u = 0; u < U; u++)
            store_out(&out[k], at + 8 * (size_t)u, j0 + 8 * u, none, 1, r[p->out_reg[k]][u],
                      &sums[k]);
}

void nn_avx2_expr_run(const nn_vm_prog *p, int rows, int cols, const nn_vm_in *in,
                      const nn_vm_out *out)
{
    static _Thread_local __m256 r4[NN_VM_MAX_REGS][U]; /* 32 KiB: off the stack */
    __m256 r[NN_VM_MAX_REGS], sums[NN_VM_MAX_IO];
    for (int k = 0; k < NN_VM_MAX_IO; k++)
        sums[k] = _mm256_setzero_ps();
    for (int i = 0; i < rows; i++) {
        size_t row = (size_t)i * (size_t)cols;
        int j0 = 0;
        for (; j0 + 8 * U <= cols; j0 += 8 * U)
            pass4(p, in, out, r4, row + (size_t)j0, j0, sums);
        for (; j0 + 8 <= cols; j0 += 8)
            pass(p, in, out, r, row + (size_t)j0, j0, _mm256_setzero_si256(), 1, sums);
        if (j0 < cols)
            pass(p, in, out, r, row + (size_t)j0, j0, lanes((size_t)(cols - j0)), 0, sums);
    }
    for (int k = 0; k < p->nout; k++) {
        if (out[k].kind != NN_VM_SUM) continue;
        float v[8];
        _mm256_storeu_ps(v, sums[k]);
        out[k].p[0] += ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
    }
}
