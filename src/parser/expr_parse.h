/* expr_parse.h — formulas (`activation: {expr: ...}`, `loss: {expr: ...}`) → a plain AST.
 *
 * A PCRE2 tokeniser and a precedence-climbing parser.  The AST is a flat array of nodes
 * (children by index), each with the 0-based byte offset of the character it came from,
 * so later stages can still blame a column.  No YAML here: spec_expr.c maps offsets to
 * FILE:LINE:COL.
 *
 * Grammar (lowest binding first):  sum := term (('+'|'-') term)*
 *   term := unary (('*'|'/') unary)*     unary := '-' unary | power
 *   power := atom ('^' unary)?           (right-associative; -x^2 = -(x^2), 2^-1 allowed)
 *   atom := NUMBER | NAME | NAME '(' sum (',' sum)* ')' | '(' sum ')'
 */
#ifndef NN_EXPR_PARSE_H
#define NN_EXPR_PARSE_H

#include <stddef.h>

/* Nesting deeper than this is an error (the parser recurses; the C stack stays small). */
#define NN_EXPR_MAX_DEPTH 200
/* Formulas longer than this many nodes are an error (kernels hold one register per node). */
#define NN_EXPR_MAX_NODES 400

typedef enum {
    NN_EX_NUM = 0, /* num */
    NN_EX_VAR,     /* var: index into the names the caller gave */
    NN_EX_NEG,     /* -a */
    NN_EX_ADD,
    NN_EX_SUB,
    NN_EX_MUL,
    NN_EX_DIV,
    NN_EX_POW, /* a ^ b */
    NN_EX_CALL /* fn(a) or fn(a, b) */
} nn_ex_kind;

typedef enum {
    NN_FN_EXP = 0,
    NN_FN_LOG,
    NN_FN_TANH,
    NN_FN_SIGMOID,
    NN_FN_RELU,
    NN_FN_ABS,
    NN_FN_SQRT,
    NN_FN_MIN, /* two arguments */
    NN_FN_MAX, /* two arguments */
    NN_FN_COUNT
} nn_ex_fn;

typedef struct {
    nn_ex_kind kind;
    nn_ex_fn fn;
    double num;
    int var;
    int a, b; /* children (−1 where absent) */
    int pos;  /* 0-based byte offset in the formula */
} nn_ex_node;

typedef struct nn_expr_ast {
    nn_ex_node *n;
    int nn;
    int root;
} nn_expr_ast;

/* Function names, indexed by nn_ex_fn (NULL-terminated). */
extern const char *const nn_ex_fn_names[];

/* Parses `text` over the variable names `vars` (NULL-terminated).  Returns 0 and fills
 * *out, or −1 with *err_pos (0-based offset of the offending character) and msg. */
int nn_expr_parse(const char *text, const char *const *vars, nn_expr_ast *out, int *err_pos,
                  char *msg, size_t msgsize);
void nn_expr_ast_free(nn_expr_ast *a);
/* Whether variable `var` occurs in the AST. */
int nn_expr_ast_uses(const nn_expr_ast *a, int var);

#endif
