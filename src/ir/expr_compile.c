/* expr_compile.c — an expression DAG → a kernel program (expr_vm.h): the nodes the outputs
 * need, in creation order (children before parents), each in a register that is reused
 * once its last reader has run, so even big formulas fit in a few registers. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "ir/expr.h"

/* `subst` ≥ 0: that node is loaded from input `subst_slot` instead of computed. */
static int compile(const nn_expr *x, const int *outs, int nout, int subst, int subst_slot,
                   nn_vm_prog *p, char *err, size_t errsize)
{
    int n = x->nn, ok = 0;
    char *need = calloc((size_t)n + 1, 1);
    int *last = malloc(((size_t)n + 1) * sizeof *last),
        *reg = malloc(((size_t)n + 1) * sizeof *reg);
    int freel[NN_VM_MAX_REGS], nfree = 0, nregs = 0;
    p->ins = calloc((size_t)n + 1, sizeof *p->ins);
    if (!need || !last || !reg || !p->ins) abort();
    for (int k = 0; k < nout; k++)
        need[outs[k]] = 1;
    for (int i = n - 1; i >= 0; i--) {
        last[i] = -1;
        if (!need[i] || i == subst) continue;
        if (x->n[i].a >= 0) need[x->n[i].a] = 1;
        if (x->n[i].b >= 0) need[x->n[i].b] = 1;
    }
    for (int i = 0; i < n; i++) {
        if (!need[i] || i == subst) continue;
        if (x->n[i].a >= 0) last[x->n[i].a] = i;
        if (x->n[i].b >= 0) last[x->n[i].b] = i;
    }
    for (int k = 0; k < nout; k++)
        last[outs[k]] = INT_MAX;
    p->nins = 0;
    for (int i = 0; i < n; i++) {
        if (!need[i]) continue;
        nn_xnode ld = {NN_VM_LOAD, -1, -1, subst_slot, 0, 0};
        const nn_xnode *d = i == subst ? &ld : &x->n[i];
        nn_vm_ins *s = &p->ins[p->nins++];
        s->op = (uint8_t)d->op;
        s->a = (uint16_t)(d->a >= 0 ? reg[d->a] : 0);
        s->b = (uint16_t)(d->b >= 0 ? reg[d->b] : 0);
        s->k = d->op == NN_VM_LOAD ? d->slot : d->k;
        s->c = (float)d->c;
        /* operands whose last reader this is free their registers before dst is chosen:
         * an instruction may write the register it reads (each lane reads before writing) */
        if (d->a >= 0 && last[d->a] == i) freel[nfree++] = reg[d->a];
        if (d->b >= 0 && d->b != d->a && last[d->b] == i) freel[nfree++] = reg[d->b];
        if (nfree > 0) {
            reg[i] = freel[--nfree];
        } else if (nregs < NN_VM_MAX_REGS) {
            reg[i] = nregs++;
        } else {
            snprintf(err, errsize, "the formula needs more than %d registers; split it up",
                     NN_VM_MAX_REGS);
            goto out;
        }
        s->dst = (uint16_t)reg[i];
        if (last[i] < 0) freel[nfree++] = reg[i]; /* unused (cannot happen for needed) */
    }
    p->nregs = nregs;
    p->nout = nout;
    for (int k = 0; k < nout; k++)
        p->out_reg[k] = reg[outs[k]];
    ok = 1;
out:
    free(need);
    free(last);
    free(reg);
    return ok ? 0 : -1;
}

/* Whether the derivative reads node `t` (the forward value). */
static int reads(const nn_expr *x, int t)
{
    for (int i = x->nfwd; i < x->nn; i++)
        if (x->n[i].a == t || x->n[i].b == t) return 1;
    for (int k = 0; k < x->nwrt; k++)
        if (x->grad[k] == t) return 1;
    return 0;
}

int nn_expr_compile(nn_expr *x, int reuse_y, char *err, size_t errsize);
int nn_expr_compile(nn_expr *x, int reuse_y, char *err, size_t errsize)
{
    if (compile(x, &x->root, 1, -1, 0, &x->fwd, err, errsize) != 0) return -1;
    /* a root that is a load or a constant costs nothing to recompute */
    nn_vm_op op = x->n[x->root].op;
    if (reuse_y && op != NN_VM_LOAD && op != NN_VM_CONST && reads(x, x->root)) {
        x->yslot = x->seed + 1;
        x->nslots = x->yslot + 1;
    }
    return compile(x, x->grad, x->nwrt, x->yslot >= 0 ? x->root : -1, x->yslot, &x->bwd, err,
                   errsize);
}
