/* spec_expr.c — formulas in the spec: `activation: {expr, params, learn, per}` and
 * `loss: {expr, params, reduce}` → nn_expr_spec.  The formula itself is parsed by
 * expr_parse.c; here its errors get the FILE:LINE:COL of the offending character. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr_parse.h"
#include "spec_int.h"

#define NN_EXPR_MAX_LEARN 3 /* the backward op's inputs: x, the learned params, dy and y */

/* Column of the first character: after the quote of a one-line single- or double-quoted
 * scalar (double only when it holds no escapes: its written width is its length + 2). */
static int first_col(const nn_ynode *n)
{
    if (n->mark.line != n->end.line) return 0;
    size_t chars = 0;
    for (size_t i = 0; i < n->len; i++)
        if ((n->text[i] & 0xC0) != 0x80) chars++;
    switch (n->style) {
    case NN_YPLAIN: return n->mark.col;
    case NN_YSINGLE: return memchr(n->text, '\'', n->len) ? 0 : n->mark.col + 1;
    case NN_YDOUBLE: return (size_t)(n->end.col - n->mark.col) == chars + 2 ? n->mark.col + 1 : 0;
    default: return 0;
    }
}

nn_mark nn_expr_mark(const nn_expr_spec *e, int pos)
{
    nn_mark m = e->mark;
    if (!e->col0) return m;
    m.col = e->col0;
    for (int i = 0; i < pos && e->text[i]; i++)
        if ((e->text[i] & 0xC0) != 0x80) m.col++;
    return m;
}

static int is_ident(const char *s, size_t len)
{
    if (len == 0 || len > 64) return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        int alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
        if (!alpha && !(i > 0 && ch >= '0' && ch <= '9')) return 0;
    }
    return 1;
}

static void parse_params(nn_sctx *c, const nn_ynode *v, const char *path, nn_expr_spec *e,
                         const char *const *inputs)
{
    static const nn_range any = {-FLT_MAX, FLT_MAX, 0, 0}; /* the kernels use floats */
    char p[200], buf[128];
    snprintf(p, sizeof p, "%s.params", path);
    if (nn_sv_type(v) == NN_VNULL || !nn_sv_map(c, v, p)) return;
    e->params = calloc((size_t)v->n + 1, sizeof *e->params);
    if (!e->params) abort();
    for (int i = 0; i < v->n; i++) {
        const nn_ynode *k = nn_ymap_key(v, i);
        int clash = 0;
        for (int j = 0; inputs[j]; j++)
            clash |= nn_yscalar_is(k, inputs[j]);
        for (int j = 0; nn_ex_fn_names[j]; j++)
            clash |= nn_yscalar_is(k, nn_ex_fn_names[j]);
        if (k->kind != NN_YSCALAR || !is_ident(k->text, k->len) || clash) {
            nn_sv_error(c, k->mark,
                        "a parameter name in '%s' must be an identifier other than the "
                        "formula's inputs and function names, got %s",
                        p, nn_sv_show(k, buf, sizeof buf));
            continue;
        }
        char ap[280];
        snprintf(ap, sizeof ap, "%.200s.%.64s", p, k->text);
        nn_arg *a = &e->params[e->nparams++];
        a->name = nn_sv_strdup(k->text);
        a->type = NN_ARG_FLOAT;
        a->mark = nn_ymap_value(v, i)->mark;
        nn_sv_float(c, nn_ymap_value(v, i), ap, any, &a->value);
    }
}

static void parse_learn(nn_sctx *c, const nn_ynode *v, const char *path, nn_expr_spec *e)
{
    char p[200], buf[128];
    snprintf(p, sizeof p, "%s.learn", path);
    if (nn_sv_type(v) == NN_VNULL || !nn_sv_seq(c, v, p)) return;
    e->learn = calloc((size_t)v->n + 1, sizeof *e->learn);
    e->learn_init = calloc((size_t)v->n + 1, sizeof *e->learn_init);
    if (!e->learn || !e->learn_init) abort();
    for (int i = 0; i < v->n; i++) {
        const nn_ynode *it = v->items[i];
        int k = -1;
        for (int j = 0; j < e->nparams && it->kind == NN_YSCALAR; j++)
            if (nn_yscalar_is(it, e->params[j].name)) k = j;
        for (int j = 0; j < e->nlearn && k >= 0; j++)
            if (e->learn[j] == k) {
                nn_sv_error(c, it->mark, "%s is listed twice in '%s'",
                            nn_sv_show(it, buf, sizeof buf), p);
                k = -2;
            }
        if (k == -1)
            nn_sv_error(c, it->mark,
                        "%s in '%s' is not one of the formula's params; a trainable "
                        "parameter needs its initial value there, e.g. params: {beta: 1.0}",
                        nn_sv_show(it, buf, sizeof buf), p);
        if (k < 0) continue;
        if (e->nlearn == NN_EXPR_MAX_LEARN) {
            nn_sv_error(c, it->mark, "'%s' lists more than %d parameters", p, NN_EXPR_MAX_LEARN);
            return;
        }
        nn_init *in = &e->learn_init[e->nlearn];
        in->kind = NN_INIT_ONES;
        in->scale = e->params[k].value;
        in->gain = in->std = in->b = 1;
        in->mark = it->mark;
        e->learn[e->nlearn++] = k;
    }
}

/* Parses the formula over inputs + params; errors at the character. */
static void parse_formula(nn_sctx *c, const nn_ynode *v, const char *path, nn_expr_spec *e,
                          const char *const *inputs)
{
    char p[200], buf[128], msg[300];
    snprintf(p, sizeof p, "%s.expr", path);
    if (v->kind != NN_YSCALAR || (nn_sv_type(v) != NN_VSTR && nn_sv_type(v) != NN_VNULL &&
                                  nn_sv_type(v) != NN_VINT && nn_sv_type(v) != NN_VFLOAT)) {
        nn_sv_error(c, v->mark, "expected a formula (a string) for '%s', got %s", p,
                    nn_sv_show(v, buf, sizeof buf));
        return;
    }
    e->mark = v->mark;
    e->col0 = first_col(v);
    if (nn_sv_type(v) == NN_VNULL) { /* `expr:` or `expr: null` */
        nn_sv_error(c, v->mark,
                    "in the formula of '%s': the formula is empty; write one, "
                    "e.g. 'tanh(x)'",
                    p);
        return;
    }
    e->text = nn_sv_strdup(memchr(v->text, 0, v->len) ? "\x01" : v->text);
    const char *vars[2 + 64 + 1];
    int nv = 0;
    for (int i = 0; inputs[i]; i++)
        vars[nv++] = inputs[i];
    for (int i = 0; i < e->nparams && nv < 2 + 64; i++)
        vars[nv++] = e->params[i].name ? e->params[i].name : "";
    vars[nv] = NULL;
    e->ast = calloc(1, sizeof *e->ast);
    if (!e->ast) abort();
    int pos = 0;
    if (nn_expr_parse(e->text, vars, e->ast, &pos, msg, sizeof msg) == 0) return;
    nn_sv_error(c, nn_expr_mark(e, pos), "in the formula of '%s': %s", p, msg);
    /* YAML may have cut it: `{expr: max(x, 0)}` reads "max(x" */
    if (v->style == NN_YPLAIN && (strstr(msg, "never closed") || pos >= (int)strlen(e->text)))
        nn_diag_note(c->d, "an unquoted formula ends at a ', ' inside {...} and at ' #': quote "
                           "it, e.g. expr: 'max(x, 0)'");
    free(e->ast);
    e->ast = NULL;
}

static nn_expr_spec *expr_new(int ninputs)
{
    nn_expr_spec *e = calloc(1, sizeof *e);
    if (!e) abort();
    e->ninputs = ninputs;
    return e;
}

void nn_spec_expr_activation(nn_sctx *c, nn_layer *l, const nn_ynode *opts, const char *path)
{
    static const char *const keys[] = {"expr", "params", "learn", "per", NULL};
    static const char *const per[] = {"layer", "unit", NULL};
    static const char *const inputs[] = {"x", NULL};
    nn_expr_spec *e = l->expr = expr_new(1);
    char p[200];
    snprintf(p, sizeof p, "%s.per", path);
    int ip = nn_ymap_find(opts, "params", 6), il = nn_ymap_find(opts, "learn", 5);
    if (ip >= 0) parse_params(c, nn_ymap_value(opts, ip), path, e, inputs);
    if (il >= 0) parse_learn(c, nn_ymap_value(opts, il), path, e);
    for (int i = 0; i < opts->n; i++) {
        const nn_ynode *k = nn_ymap_key(opts, i), *v = nn_ymap_value(opts, i);
        if (nn_yscalar_is(k, "expr"))
            parse_formula(c, v, path, e, inputs);
        else if (nn_yscalar_is(k, "per"))
            nn_sv_enum(c, v, p, per, &e->per_unit);
        else if (!nn_yscalar_is(k, "params") && !nn_yscalar_is(k, "learn"))
            nn_sv_unknown_key(c, k, path, keys);
    }
    l->activation = nn_sv_strdup("expr");
}

void nn_spec_expr_loss(nn_sctx *c, const nn_ynode *n, nn_train_spec *t)
{
    static const char *const keys[] = {"expr", "params", "reduce", NULL};
    static const char *const reduce[] = {"mean", "sum", NULL};
    static const char *const inputs[] = {"s", "y", NULL};
    nn_expr_spec_free(t->loss_expr);
    nn_expr_spec *e = t->loss_expr = expr_new(2);
    t->loss = NN_LOSS_EXPR;
    t->loss_sum = 0;
    t->loss_mark = n->mark;
    int ip = nn_ymap_find(n, "params", 6);
    if (ip >= 0) parse_params(c, nn_ymap_value(n, ip), "train.loss", e, inputs);
    for (int i = 0; i < n->n; i++) {
        const nn_ynode *k = nn_ymap_key(n, i), *v = nn_ymap_value(n, i);
        if (nn_yscalar_is(k, "expr"))
            parse_formula(c, v, "train.loss", e, inputs);
        else if (nn_yscalar_is(k, "reduce"))
            nn_sv_enum(c, v, "train.loss.reduce", reduce, &t->loss_sum);
        else if (!nn_yscalar_is(k, "params"))
            nn_sv_unknown_key(c, k, "train.loss", keys);
    }
}

void nn_expr_spec_free(nn_expr_spec *e)
{
    if (!e) return;
    free(e->text);
    if (e->ast) nn_expr_ast_free(e->ast);
    free(e->ast);
    for (int i = 0; i < e->nparams; i++)
        free(e->params[i].name);
    free(e->params);
    free(e->learn);
    free(e->learn_init);
    free(e);
}
