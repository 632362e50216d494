/* matrix_int.h — what matrix.c (expansion) and matrix_ref.c (references) share. */
#ifndef NN_MATRIX_INT_H
#define NN_MATRIX_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "matrix.h"
#include "spec_int.h"

typedef struct {
    const nn_ynode *key;  /* the axis name as written */
    const nn_ynode *vals; /* its value list; NULL for a key that only `include` adds */
    int zip;              /* its zip group, or −1 */
    int used;             /* a ${matrix.NAME} refers to it */
} mx_axis;

typedef struct {
    mx_axis *ax;
    int nax, norig; /* axes; the first norig are the matrix's own */
    const nn_ynode ***pt;
    int np, cap;
} mx;

/* The axis named name[0..len), or −1. */
int nn_mx_axis_index(const mx *m, const char *name, size_t len);

/* The compiled reference pattern. */
typedef struct {
    pcre2_code *re;
    pcre2_match_data *md;
} nn_mx_refs;

int nn_mx_refs_open(nn_mx_refs *r);
void nn_mx_refs_close(nn_mx_refs *r);
/* Checks every reference under n: its axis exists (then marked used); errors in c. */
void nn_mx_check_refs(nn_sctx *c, nn_mx_refs *r, const nn_ynode *n, mx *m, int has_matrix);
/* A copy of n with point p's values in place of the references (NULL after an error). */
nn_ynode *nn_mx_subst(nn_sctx *c, nn_mx_refs *r, nn_ynode *n, const mx *m, const nn_ynode **p);

#endif
