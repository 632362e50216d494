/* expr.c — formula AST → expression DAG (hash-consed, simplified as built) → reverse-mode
 * derivative DAG in the same node pool.  Compilation to kernel programs: expr_compile.c. */
#include "ir/expr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser/expr_parse.h"

static int is_const(const nn_expr *x, int i, double v)
{
    return x->n[i].op == NN_VM_CONST && x->n[i].c == v;
}

static int commutes(nn_vm_op op)
{
    return op == NN_VM_ADD || op == NN_VM_MUL || op == NN_VM_MIN || op == NN_VM_MAX;
}

/* Constant folding in double (the kernels run in float; constants are exact enough). */
static double fold(nn_vm_op op, double a, double b, int k)
{
    switch (op) {
    case NN_VM_NEG: return -a;
    case NN_VM_ADD: return a + b;
    case NN_VM_SUB: return a - b;
    case NN_VM_MUL: return a * b;
    case NN_VM_DIV: return a / b;
    case NN_VM_POW: return pow(a, b);
    case NN_VM_POWI: return pow(a, k);
    case NN_VM_EXP: return exp(a);
    case NN_VM_LOG: return log(a);
    case NN_VM_TANH: return tanh(a);
    case NN_VM_SIGMOID: return 1 / (1 + exp(-a));
    case NN_VM_RELU: return a > 0 ? a : 0;
    case NN_VM_ABS: return fabs(a);
    case NN_VM_SQRT: return sqrt(a);
    case NN_VM_MIN: return a < b ? a : b;
    case NN_VM_MAX: return a > b ? a : b;
    case NN_VM_STEP: return a > 0;
    case NN_VM_SIGN: return (a > 0) - (a < 0);
    case NN_VM_LE: return a <= b;
    case NN_VM_GE: return a >= b;
    default: return 0;
    }
}

static int unary(nn_vm_op op)
{
    return op != NN_VM_ADD && op != NN_VM_SUB && op != NN_VM_MUL && op != NN_VM_DIV &&
           op != NN_VM_POW && op != NN_VM_MIN && op != NN_VM_MAX && op != NN_VM_LE &&
           op != NN_VM_GE;
}

/* The node (op, a, b, slot, k, c), found or appended. */
static int node(nn_expr *x, nn_vm_op op, int a, int b, int slot, int k, double c)
{
    if (op == NN_VM_CONST || op == NN_VM_LOAD) a = b = -1;
    if (op != NN_VM_POWI) k = 0;
    if (unary(op)) b = -1;
    if (commutes(op) && b >= 0 && b < a) {
        int t = a;
        a = b;
        b = t;
    }
    for (int i = 0; i < x->nn; i++) {
        const nn_xnode *n = &x->n[i];
        if (n->op == op && n->a == a && n->b == b && n->slot == slot && n->k == k &&
            (op != NN_VM_CONST || n->c == c || (isnan(n->c) && isnan(c))))
            return i;
    }
    if (x->nn == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 64;
        x->n = realloc(x->n, (size_t)x->cap * sizeof *x->n);
        if (!x->n) abort();
    }
    x->n[x->nn] = (nn_xnode){op, a, b, slot, k, c};
    return x->nn++;
}

static int cnst(nn_expr *x, double v)
{
    return node(x, NN_VM_CONST, -1, -1, -1, 0, v);
}

/* Makes op(a, b) with simplifications. */
static int mk(nn_expr *x, nn_vm_op op, int a, int b)
{
    const nn_xnode *A = &x->n[a], *B = b >= 0 ? &x->n[b] : NULL;
    if (A->op == NN_VM_CONST && (unary(op) || B->op == NN_VM_CONST))
        return cnst(x, fold(op, A->c, B ? B->c : 0, 0));
    switch (op) {
    case NN_VM_ADD:
        if (is_const(x, a, 0)) return b;
        if (is_const(x, b, 0)) return a;
        if (x->n[b].op == NN_VM_NEG) return mk(x, NN_VM_SUB, a, x->n[b].a);
        if (x->n[a].op == NN_VM_NEG) return mk(x, NN_VM_SUB, b, x->n[a].a);
        break;
    case NN_VM_SUB:
        if (is_const(x, b, 0)) return a;
        if (is_const(x, a, 0)) return mk(x, NN_VM_NEG, b, -1);
        if (a == b) return cnst(x, 0);
        break;
    case NN_VM_MUL:
        if (is_const(x, a, 0) || is_const(x, b, 0)) return cnst(x, 0);
        if (is_const(x, a, 1)) return b;
        if (is_const(x, b, 1)) return a;
        if (is_const(x, a, -1)) return mk(x, NN_VM_NEG, b, -1);
        if (is_const(x, b, -1)) return mk(x, NN_VM_NEG, a, -1);
        break;
    case NN_VM_DIV:
        if (is_const(x, b, 1)) return a;
        if (is_const(x, a, 0)) return cnst(x, 0);
        break;
    case NN_VM_NEG:
        if (x->n[a].op == NN_VM_NEG) return x->n[a].a;
        break;
    case NN_VM_POW:
        if (B && B->op == NN_VM_CONST) {
            double c = B->c;
            if (c == 1) return a;
            if (c == 0) return cnst(x, 1);
            if (c == floor(c) && fabs(c) <= 64) return node(x, NN_VM_POWI, a, -1, -1, (int)c, 0);
        }
        break;
    default: break;
    }
    return node(x, op, a, b, -1, 0, 0);
}

static int mk_powi(nn_expr *x, int a, int k)
{
    if (k == 1) return a;
    if (k == 0) return cnst(x, 1);
    if (x->n[a].op == NN_VM_CONST) return cnst(x, pow(x->n[a].c, k));
    return node(x, NN_VM_POWI, a, -1, -1, k, 0);
}

/* AST node i → DAG node; params not learned are constants, learned ones slots. */
static int from_ast(nn_expr *x, const nn_expr_spec *e, int i)
{
    const nn_ex_node *n = &e->ast->n[i];
    static const nn_vm_op fn_op[NN_FN_COUNT] = {NN_VM_EXP,     NN_VM_LOG,  NN_VM_TANH,
                                                NN_VM_SIGMOID, NN_VM_RELU, NN_VM_ABS,
                                                NN_VM_SQRT,    NN_VM_MIN,  NN_VM_MAX};
    static const nn_vm_op bin_op[] = {[NN_EX_ADD] = NN_VM_ADD,
                                      [NN_EX_SUB] = NN_VM_SUB,
                                      [NN_EX_MUL] = NN_VM_MUL,
                                      [NN_EX_DIV] = NN_VM_DIV,
                                      [NN_EX_POW] = NN_VM_POW};
    switch (n->kind) {
    case NN_EX_NUM: return cnst(x, n->num);
    case NN_EX_VAR: {
        if (n->var < e->ninputs) return node(x, NN_VM_LOAD, -1, -1, n->var, 0, 0);
        int p = n->var - e->ninputs;
        for (int j = 0; j < e->nlearn; j++)
            if (e->learn[j] == p) return node(x, NN_VM_LOAD, -1, -1, e->ninputs + j, 0, 0);
        return cnst(x, e->params[p].value);
    }
    case NN_EX_NEG: return mk(x, NN_VM_NEG, from_ast(x, e, n->a), -1);
    case NN_EX_CALL: {
        int a = from_ast(x, e, n->a), b = n->b >= 0 ? from_ast(x, e, n->b) : -1;
        return mk(x, fn_op[n->fn], a, b);
    }
    default: {
        int a = from_ast(x, e, n->a), b = from_ast(x, e, n->b);
        return mk(x, bin_op[n->kind], a, b);
    }
    }
}

static void acc(nn_expr *x, int *adj, int to, int term)
{
    if (is_const(x, term, 0)) return;
    adj[to] = adj[to] < 0 ? term : mk(x, NN_VM_ADD, adj[to], term);
}

/* Reverse mode: adj[i] = ∂root/∂node_i · dy, from the root down. */
static void backward(nn_expr *x, int *adj)
{
    adj[x->root] = node(x, NN_VM_LOAD, -1, -1, x->seed, 0, 0);
    for (int i = x->root; i >= 0; i--) {
        int g = adj[i];
        if (g < 0) continue;
        nn_xnode n = x->n[i];
        int a = n.a, b = n.b, one = cnst(x, 1);
        switch (n.op) {
        case NN_VM_NEG: acc(x, adj, a, mk(x, NN_VM_NEG, g, -1)); break;
        case NN_VM_ADD: acc(x, adj, a, g), acc(x, adj, b, g); break;
        case NN_VM_SUB: acc(x, adj, a, g), acc(x, adj, b, mk(x, NN_VM_NEG, g, -1)); break;
        case NN_VM_MUL:
            acc(x, adj, a, mk(x, NN_VM_MUL, g, b));
            acc(x, adj, b, mk(x, NN_VM_MUL, g, a));
            break;
        case NN_VM_DIV: /* d/da = g/b, d/db = −g·(a/b)/b */
            acc(x, adj, a, mk(x, NN_VM_DIV, g, b));
            acc(x, adj, b, mk(x, NN_VM_NEG, mk(x, NN_VM_DIV, mk(x, NN_VM_MUL, g, i), b), -1));
            break;
        case NN_VM_POWI: /* k·a^(k−1) */
            acc(x, adj, a,
                mk(x, NN_VM_MUL, g, mk(x, NN_VM_MUL, cnst(x, n.k), mk_powi(x, a, n.k - 1))));
            break;
        case NN_VM_POW: /* b·a^(b−1); a^b·log a */
            acc(x, adj, a,
                mk(x, NN_VM_MUL, g,
                   mk(x, NN_VM_MUL, b, mk(x, NN_VM_POW, a, mk(x, NN_VM_SUB, b, one)))));
            acc(x, adj, b, mk(x, NN_VM_MUL, g, mk(x, NN_VM_MUL, i, mk(x, NN_VM_LOG, a, -1))));
            break;
        case NN_VM_EXP: acc(x, adj, a, mk(x, NN_VM_MUL, g, i)); break;
        case NN_VM_LOG: acc(x, adj, a, mk(x, NN_VM_DIV, g, a)); break;
        case NN_VM_TANH: /* 1 − y² */
            acc(x, adj, a, mk(x, NN_VM_MUL, g, mk(x, NN_VM_SUB, one, mk(x, NN_VM_MUL, i, i))));
            break;
        case NN_VM_SIGMOID: /* y·(1 − y) */
            acc(x, adj, a, mk(x, NN_VM_MUL, g, mk(x, NN_VM_MUL, i, mk(x, NN_VM_SUB, one, i))));
            break;
        case NN_VM_RELU: /* 0 at 0, as PyTorch */
            acc(x, adj, a, mk(x, NN_VM_MUL, g, mk(x, NN_VM_STEP, a, -1)));
            break;
        case NN_VM_ABS: acc(x, adj, a, mk(x, NN_VM_MUL, g, mk(x, NN_VM_SIGN, a, -1))); break;
        case NN_VM_SQRT:
            acc(x, adj, a, mk(x, NN_VM_DIV, mk(x, NN_VM_MUL, g, cnst(x, 0.5)), i));
            break;
        case NN_VM_MIN: /* ties go to the first argument */
        case NN_VM_MAX: {
            int first = mk(x, n.op == NN_VM_MIN ? NN_VM_LE : NN_VM_GE, a, b);
            acc(x, adj, a, mk(x, NN_VM_MUL, g, first));
            acc(x, adj, b, mk(x, NN_VM_MUL, g, mk(x, NN_VM_SUB, one, first)));
            break;
        }
        default: break; /* constants, loads, comparison results: no inputs to feed */
        }
    }
}

int nn_expr_compile(nn_expr *x, int reuse_y, char *err, size_t errsize); /* expr_compile.c */

nn_expr *nn_expr_build(const nn_expr_spec *e, int reuse_y, char *err, size_t errsize)
{
    nn_expr *x = calloc(1, sizeof *x);
    if (!x) abort();
    x->seed = e->ninputs + e->nlearn;
    x->nslots = x->seed + 1;
    x->yslot = -1;
    x->root = from_ast(x, e, e->ast->root);
    x->nfwd = x->nn;
    /* commutative canonical order may have put later nodes first: the root is last made,
     * but backward needs children below parents, which creation order guarantees */
    int *adj = malloc((size_t)x->nfwd * 4 * sizeof *adj + 64 * sizeof *adj);
    if (!adj) abort();
    for (int i = 0; i < x->nfwd; i++)
        adj[i] = -1;
    backward(x, adj);
    x->adj = adj;
    x->wrt_slot[x->nwrt++] = 0;
    for (int j = 0; j < e->nlearn; j++)
        x->wrt_slot[x->nwrt++] = e->ninputs + j;
    for (int k = 0; k < x->nwrt; k++) {
        int ld = -1;
        for (int i = 0; i < x->nfwd; i++)
            if (x->n[i].op == NN_VM_LOAD && x->n[i].slot == x->wrt_slot[k]) ld = i;
        x->grad[k] = ld >= 0 && adj[ld] >= 0 ? adj[ld] : cnst(x, 0);
    }
    if (nn_expr_compile(x, reuse_y, err, errsize) != 0) {
        nn_expr_free(x);
        return NULL;
    }
    return x;
}

void nn_expr_free(nn_expr *x)
{
    if (!x) return;
    free(x->n);
    free(x->adj);
    free(x->fwd.ins);
    free(x->bwd.ins);
    free(x);
}

void nn_expr_eval(const nn_expr *x, const double *in, double *v)
{
    for (int i = 0; i < x->nn; i++) {
        const nn_xnode *n = &x->n[i];
        if (n->op == NN_VM_CONST)
            v[i] = n->c;
        else if (n->op == NN_VM_LOAD)
            v[i] = in[n->slot];
        else
            v[i] = fold(n->op, v[n->a], n->b >= 0 ? v[n->b] : 0, n->k);
    }
}

const char *nn_expr_label(const nn_expr *x, const nn_expr_spec *e, int node_i, char *buf, int len)
{
    static const char *const names[NN_VM_OPS] = {[NN_VM_NEG] = "neg",   [NN_VM_ADD] = "+",
                                                 [NN_VM_SUB] = "-",     [NN_VM_MUL] = "*",
                                                 [NN_VM_DIV] = "/",     [NN_VM_POW] = "^",
                                                 [NN_VM_EXP] = "exp",   [NN_VM_LOG] = "log",
                                                 [NN_VM_TANH] = "tanh", [NN_VM_SIGMOID] = "sigmoid",
                                                 [NN_VM_RELU] = "relu", [NN_VM_ABS] = "abs",
                                                 [NN_VM_SQRT] = "sqrt", [NN_VM_MIN] = "min",
                                                 [NN_VM_MAX] = "max",   [NN_VM_STEP] = "step",
                                                 [NN_VM_SIGN] = "sign", [NN_VM_LE] = "<=",
                                                 [NN_VM_GE] = ">="};
    const nn_xnode *n = &x->n[node_i];
    static const char *const act_in[] = {"x"}, *const loss_in[] = {"s", "y"};
    if (n->op == NN_VM_CONST)
        snprintf(buf, (size_t)len, "%g", n->c);
    else if (n->op == NN_VM_POWI)
        snprintf(buf, (size_t)len, "^%d", n->k);
    else if (n->op == NN_VM_LOAD && n->slot < e->ninputs)
        snprintf(buf, (size_t)len, "%s", (e->ninputs == 1 ? act_in : loss_in)[n->slot]);
    else if (n->op == NN_VM_LOAD && n->slot < e->ninputs + e->nlearn)
        snprintf(buf, (size_t)len, "%s", e->params[e->learn[n->slot - e->ninputs]].name);
    else if (n->op == NN_VM_LOAD)
        snprintf(buf, (size_t)len, "dy");
    else
        snprintf(buf, (size_t)len, "%s", names[n->op] ? names[n->op] : "?");
    return buf;
}
