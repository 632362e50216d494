/* html_int.h — shared between html.c (the page, summary.json, metrics.csv) and
 * html_stats.c (the stats.json figures).  Not part of the API. */
#ifndef NN_HTML_INT_H
#define NN_HTML_INT_H

#include <jansson.h>
#include <stdio.h>

#include "parser/diag.h"

/* A parsed JSON file and its text: jansson values carry no positions, so errors about
 * a value are placed by walking the text to it ("activations/2/hist"). */
typedef struct {
    char path[4200];
    char *text;
    json_t *root;
    nn_diag *d;
} nn_jdoc;

/* The whole file, NUL-terminated (its length in *len); NULL (errno set) when unreadable. */
char *nn_report_slurp(const char *path, size_t *len);
/* Loads PATH; −1 with an error at the parse error's line:col. */
int nn_jdoc_load(nn_jdoc *j, const char *path, nn_diag *d);
void nn_jdoc_free(nn_jdoc *j);
/* Records an error at the value `where` (a '/'-separated key/index path); returns −1. */
int nn_jdoc_bad(const nn_jdoc *j, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Member `key` of `obj` (whose path is `where`): 1 present, 0 absent or null, −1 wrong
 * type (error recorded). */
int nn_jget_num(const nn_jdoc *j, json_t *obj, const char *where, const char *key, double *v);
int nn_jget_str(const nn_jdoc *j, json_t *obj, const char *where, const char *key, const char **s);
/* The array at `where` as malloc'd doubles (nulls → NaN when allow_null); −1 on error. */
int nn_jget_nums(const nn_jdoc *j, json_t *arr, const char *where, int allow_null, double **v,
                 long *n);

/* The section heading the next figure opens with (<h2>TITLE</h2>), written only if a
 * figure follows — so a section without data leaves no empty heading. */
void nn_fig_section(const char *title);
/* <figure id=ID><h3>HEADING</h3> ... </figure> with an escaped caption. */
void nn_fig_open(FILE *f, const char *id, const char *heading, int wide);
void nn_fig_close(FILE *f, const char *caption);

/* html_maps.c: the n-gram count heatmap and the decision boundary (stats.json `counts`,
 * `boundary`); 0 when absent, −1 on malformed data. */
int nn_report_counts(FILE *f, const nn_jdoc *stats);
int nn_report_boundary(FILE *f, const nn_jdoc *stats);

/* html_seq.c: sequence models' figures (stats.json `sequence`): loss per position,
 * attention maps, residual stream; 0 when absent, −1 on malformed data. */
int nn_report_sequence(FILE *f, const nn_jdoc *stats);

/* html_curves.c: the accuracy per split at evaluation points (metrics.csv at `path`);
 * 0 also when the run has no accuracy (no classifier), −1 on an unreadable file. */
int nn_report_accuracy(FILE *f, const char *path, nn_diag *d);

/* All stats.json figures, in the report's order; −1 with an error on malformed data. */
int nn_report_stats(FILE *f, const nn_jdoc *stats);
/* html_rnn.c: the recurrent layer's figures (stats.json `recurrent`). */
int nn_report_recurrent(FILE *f, const nn_jdoc *stats);

#endif
