/* expr_parse.c — the formula tokeniser (one anchored PCRE2 pattern) and a
 * precedence-climbing parser producing nn_expr_ast (see expr_parse.h for the grammar).
 *
 * Recursion is bounded by NN_EXPR_MAX_DEPTH, so 10^5 nested parentheses or minus signs
 * give an error at the first character past the limit instead of overflowing the stack. */
#include "expr_parse.h"

#include <float.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "diag.h"

const char *const nn_ex_fn_names[] = {"exp", "log",  "tanh", "sigmoid", "relu",
                                      "abs", "sqrt", "min",  "max",     NULL};

typedef enum { T_END = 0, T_NUM, T_NAME, T_OP, T_BAD } tok_kind;

typedef struct {
    tok_kind kind;
    int pos, len;
    double num;
    char op;
} token;

typedef struct {
    const char *s;
    size_t len;
    const char *const *vars;
    pcre2_code *re;
    pcre2_match_data *md;
    token t; /* the current token */
    nn_expr_ast *ast;
    int cap, depth;
    int err_pos;
    char *msg;
    size_t msgsize;
    int failed;
} px;

/* Spaces, then a number, a name, or one operator character — anchored at the offset. */
static const char PATTERN[] = "[ \\t]*(?:((?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][-+]?[0-9]+)?)"
                              "|([A-Za-z_][A-Za-z0-9_]*)|([-+*/^(),])|(\\S))?";

static int fail(px *p, int pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(px *p, int pos, const char *fmt, ...)
{
    if (p->failed) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg, p->msgsize, fmt, ap);
    va_end(ap);
    p->err_pos = pos;
    p->failed = 1;
    return -1;
}

static void next(px *p)
{
    size_t at = (size_t)(p->t.pos + p->t.len);
    int rc = pcre2_match(p->re, (PCRE2_SPTR)p->s, p->len, at, PCRE2_ANCHORED, p->md, NULL);
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->md);
    memset(&p->t, 0, sizeof p->t);
    if (rc < 0) { /* cannot happen: the pattern matches the empty string */
        p->t.kind = T_BAD;
        p->t.pos = (int)at;
        return;
    }
    int g = rc - 1; /* the last group that took part */
    p->t.pos = g > 0 ? (int)ov[2 * g] : (int)ov[1];
    p->t.len = g > 0 ? (int)(ov[2 * g + 1] - ov[2 * g]) : 0;
    if (g == 0) {
        p->t.kind = ov[1] >= p->len ? T_END : T_BAD; /* spaces then something odd (a NUL) */
        if (p->t.kind == T_BAD) p->t.len = 1;
    } else if (g == 1) {
        p->t.kind = T_NUM;
        p->t.num = strtod(p->s + p->t.pos, NULL);
    } else if (g == 2) {
        p->t.kind = T_NAME;
    } else if (g == 3) {
        p->t.kind = T_OP;
        p->t.op = p->s[p->t.pos];
    } else {
        p->t.kind = T_BAD;
    }
    if (p->t.kind == T_BAD) /* show a whole UTF-8 character in messages */
        while ((size_t)(p->t.pos + p->t.len) < p->len &&
               ((unsigned char)p->s[p->t.pos + p->t.len] & 0xC0) == 0x80)
            p->t.len++;
}

static int is_op(const px *p, char c)
{
    return p->t.kind == T_OP && p->t.op == c;
}

static int add(px *p, nn_ex_kind k, int a, int b, int pos)
{
    if (p->ast->nn >= NN_EXPR_MAX_NODES)
        return fail(p, pos, "the formula is too large (more than %d operations and operands)",
                    NN_EXPR_MAX_NODES);
    if (p->ast->nn == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 32;
        p->ast->n = realloc(p->ast->n, (size_t)p->cap * sizeof *p->ast->n);
        if (!p->ast->n) abort();
    }
    nn_ex_node *n = &p->ast->n[p->ast->nn];
    memset(n, 0, sizeof *n);
    n->kind = k;
    n->a = a;
    n->b = b;
    n->pos = pos;
    return p->ast->nn++;
}

static const char *describe(const px *p, char *buf, size_t size)
{
    if (p->t.kind == T_END) return "the end of the formula";
    snprintf(buf, size, "'%.*s'", p->t.len > 20 ? 20 : p->t.len, p->s + p->t.pos);
    return buf;
}

static int parse_sum(px *p);
static int parse_unary(px *p);

static int enter(px *p)
{
    if (++p->depth > NN_EXPR_MAX_DEPTH)
        return fail(p, p->t.pos, "the formula nests deeper than %d levels", NN_EXPR_MAX_DEPTH);
    return 0;
}

/* The variable list as "x, beta" for messages. */
static void var_list(const px *p, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; p->vars[i] && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "", p->vars[i]);
}

static int parse_call(px *p, int fn, token name)
{
    int args[2] = {-1, -1}, nargs = 0, want = fn == NN_FN_MIN || fn == NN_FN_MAX ? 2 : 1;
    char buf[40];
    if (enter(p) < 0) return -1;
    next(p); /* '(' */
    for (;;) {
        int a = parse_sum(p);
        if (a < 0) return -1;
        if (nargs < 2) args[nargs] = a;
        nargs++;
        if (is_op(p, ',')) {
            if (nargs >= want)
                return fail(p, p->t.pos, "%s() takes %d argument%s", nn_ex_fn_names[fn], want,
                            want > 1 ? "s" : "");
            next(p);
            continue;
        }
        if (is_op(p, ')')) break;
        if (p->t.kind == T_END)
            return fail(p, name.pos + name.len, "unbalanced parentheses: '(' is never closed");
        if (p->t.kind == T_BAD)
            return fail(p, p->t.pos, "unexpected character %s", describe(p, buf, sizeof buf));
        return fail(p, p->t.pos, "expected ',' or ')' in the call of %s(), got %s",
                    nn_ex_fn_names[fn], describe(p, buf, sizeof buf));
    }
    if (nargs != want)
        return fail(p, p->t.pos, "%s() takes %d argument%s, got %d", nn_ex_fn_names[fn], want,
                    want > 1 ? "s" : "", nargs);
    next(p);
    p->depth--;
    int n = add(p, NN_EX_CALL, args[0], args[1], name.pos);
    if (n >= 0) p->ast->n[n].fn = (nn_ex_fn)fn;
    return n;
}

static int parse_name(px *p)
{
    token name = p->t;
    char word[72], buf[256];
    snprintf(word, sizeof word, "%.*s", name.len > 64 ? 64 : name.len, p->s + name.pos);
    next(p);
    if (is_op(p, '(')) {
        for (int f = 0; nn_ex_fn_names[f]; f++)
            if (strcmp(word, nn_ex_fn_names[f]) == 0) return parse_call(p, f, name);
        const char *s = nn_suggest(word, nn_ex_fn_names);
        char dym[48] = "";
        if (s) snprintf(dym, sizeof dym, " (did you mean '%s'?)", s);
        return fail(p, name.pos,
                    "unknown function '%s'%s; functions: exp, log, tanh, sigmoid, "
                    "relu, abs, sqrt, min, max",
                    word, dym);
    }
    for (int v = 0; p->vars[v]; v++) {
        if (strcmp(word, p->vars[v]) != 0) continue;
        int n = add(p, NN_EX_VAR, -1, -1, name.pos);
        if (n >= 0) p->ast->n[n].var = v;
        return n;
    }
    for (int f = 0; nn_ex_fn_names[f]; f++)
        if (strcmp(word, nn_ex_fn_names[f]) == 0)
            return fail(p, name.pos, "'%s' is a function: write %s(...)", word, word);
    var_list(p, buf, sizeof buf);
    const char *s = nn_suggest(word, p->vars);
    char dym[80] = "";
    if (s) snprintf(dym, sizeof dym, " (did you mean '%s'?)", s);
    return fail(p, name.pos,
                "unknown variable '%s'%s; the formula can use %s (add others "
                "under 'params')",
                word, dym, buf);
}

static int parse_atom(px *p)
{
    char buf[40];
    if (p->t.kind == T_NUM) {
        if (!(p->t.num <= FLT_MAX)) /* the kernels compute in float: 1e39 would be inf */
            return fail(p, p->t.pos, "the number %.*s is too large for a float (at most %g)",
                        p->t.len, p->s + p->t.pos, FLT_MAX);
        int n = add(p, NN_EX_NUM, -1, -1, p->t.pos);
        if (n >= 0) p->ast->n[n].num = p->t.num;
        next(p);
        return n;
    }
    if (p->t.kind == T_NAME) return parse_name(p);
    if (is_op(p, '(')) {
        int open = p->t.pos;
        if (enter(p) < 0) return -1;
        next(p);
        int e = parse_sum(p);
        if (e < 0) return -1;
        p->depth--;
        if (p->t.kind == T_END) return fail(p, open, "unbalanced parentheses: '(' is never closed");
        if (!is_op(p, ')'))
            return fail(p, p->t.pos, "%s %s",
                        p->t.kind == T_BAD ? "unexpected character"
                                           : "expected an operator or ')', got",
                        describe(p, buf, sizeof buf));
        next(p);
        return e;
    }
    if (p->t.kind == T_BAD)
        return fail(p, p->t.pos, "unexpected character %s in the formula",
                    describe(p, buf, sizeof buf));
    if (is_op(p, ')') && p->depth == 0)
        return fail(p, p->t.pos, "unbalanced parentheses: ')' without '('");
    return fail(p, p->t.pos, "expected a number, a variable, a function call or '(', got %s",
                describe(p, buf, sizeof buf));
}

static int parse_power(px *p)
{
    int a = parse_atom(p);
    if (a < 0 || !is_op(p, '^')) return a;
    int pos = p->t.pos;
    if (enter(p) < 0) return -1;
    next(p);
    if (p->t.kind == T_END) return fail(p, pos, "'^' needs an exponent after it");
    int b = parse_unary(p);
    p->depth--;
    return b < 0 ? -1 : add(p, NN_EX_POW, a, b, pos);
}

static int parse_unary(px *p)
{
    if (!is_op(p, '-') && !is_op(p, '+')) return parse_power(p);
    int pos = p->t.pos, neg = p->t.op == '-';
    if (enter(p) < 0) return -1;
    next(p);
    int a = parse_unary(p);
    p->depth--;
    return a < 0 || !neg ? a : add(p, NN_EX_NEG, a, -1, pos);
}

static int parse_term(px *p)
{
    int a = parse_unary(p);
    while (a >= 0 && (is_op(p, '*') || is_op(p, '/'))) {
        int pos = p->t.pos;
        nn_ex_kind k = p->t.op == '*' ? NN_EX_MUL : NN_EX_DIV;
        next(p);
        if (is_op(p, '*'))
            return fail(p, p->t.pos, "'**' is not an operator: write a ^ b for powers");
        if (p->t.kind == T_END) return fail(p, pos, "'%c' needs an operand after it", p->s[pos]);
        int b = parse_unary(p);
        a = b < 0 ? -1 : add(p, k, a, b, pos);
    }
    return a;
}

static int parse_sum(px *p)
{
    int a = parse_term(p);
    while (a >= 0 && (is_op(p, '+') || is_op(p, '-'))) {
        int pos = p->t.pos;
        nn_ex_kind k = p->t.op == '+' ? NN_EX_ADD : NN_EX_SUB;
        next(p);
        if (p->t.kind == T_END) return fail(p, pos, "'%c' needs an operand after it", p->s[pos]);
        int b = parse_term(p);
        a = b < 0 ? -1 : add(p, k, a, b, pos);
    }
    return a;
}

int nn_expr_parse(const char *text, const char *const *vars, nn_expr_ast *out, int *err_pos,
                  char *msg, size_t msgsize)
{
    px p;
    memset(&p, 0, sizeof p);
    memset(out, 0, sizeof *out);
    p.s = text;
    p.len = strlen(text);
    p.vars = vars;
    p.ast = out;
    p.msg = msg;
    p.msgsize = msgsize;
    int code;
    PCRE2_SIZE off;
    p.re = pcre2_compile((PCRE2_SPTR)PATTERN, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
    if (!p.re) abort(); /* a constant pattern */
    p.md = pcre2_match_data_create_from_pattern(p.re, NULL);
    if (!p.md) abort();
    next(&p);
    char buf[40];
    if (p.t.kind == T_END) {
        fail(&p, p.t.pos, "the formula is empty; write one, e.g. 'tanh(x)'");
    } else {
        out->root = parse_sum(&p);
        if (!p.failed && is_op(&p, ')'))
            fail(&p, p.t.pos, "unbalanced parentheses: ')' without '('");
        else if (!p.failed && p.t.kind != T_END)
            fail(&p, p.t.pos, "%s %s",
                 p.t.kind == T_BAD ? "unexpected character" : "expected an operator, got",
                 describe(&p, buf, sizeof buf));
    }
    pcre2_match_data_free(p.md);
    pcre2_code_free(p.re);
    if (!p.failed) return 0;
    *err_pos = p.err_pos;
    nn_expr_ast_free(out);
    return -1;
}

void nn_expr_ast_free(nn_expr_ast *a)
{
    free(a->n);
    a->n = NULL;
    a->nn = 0;
}

int nn_expr_ast_uses(const nn_expr_ast *a, int var)
{
    for (int i = 0; i < a->nn; i++)
        if (a->n[i].kind == NN_EX_VAR && a->n[i].var == var) return 1;
    return 0;
}
