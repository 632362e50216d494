/* html_int.h — shared between the files of the report pages: html.c (report.html,
 * summary.json, metrics.csv), html_*.c (the stats.json figures, the compare page).  Not
 * part of the API. */
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

/* html_maps.c: a matrix of numbers (rows of equal length *nc) at `where`, malloc'd
 * row-major; an array of n strings (malloc'd array of pointers into the JSON). */
int nn_jget_matrix(const nn_jdoc *j, json_t *m, const char *where, double **out, long *nr,
                   long *nc);
const char **nn_jget_strings(const nn_jdoc *j, json_t *a, const char *where, long n);

/* html_confusion.c: a classifier's confusion matrix (stats.json `confusion`); 0 when
 * absent, −1 on malformed data. */
int nn_report_confusion(FILE *f, const nn_jdoc *stats);

/* html_metrics.c: metrics.csv's columns as every report page reads them (NaN where a cell
 * is empty or the column absent). */
enum {
    NN_M_STEP,
    NN_M_LR,
    NN_M_LOSS,
    NN_M_TRAIN,
    NN_M_DEV,
    NN_M_TEST,
    NN_M_LMEAN,
    NN_M_TACC,
    NN_M_DACC,
    NN_M_SACC,
    NN_M_NCOL
};
typedef struct {
    long n;
    double *col[NN_M_NCOL];
} nn_rmetrics;
int nn_rmetrics_read(const char *path, nn_rmetrics *m, nn_diag *d);
void nn_rmetrics_free(nn_rmetrics *m);
/* The minibatch curve's window: steps/200 steps (the steps the rows cover, not the rows),
 * at least 1. */
long nn_rmetrics_window(const nn_rmetrics *m);
/* The mean of log10(loss) over windows of w steps (window k: steps k·w .. k·w + w − 1), x
 * the mean step, into ox, oy (each m->n + 1 long); returns the count of windows. */
long nn_rmetrics_smooth(const nn_rmetrics *m, long w, double *ox, double *oy);
/* The loss axis's label: which loss, on a log scale (summary.json's objective; NULL: any). */
const char *nn_report_loss_label(const char *objective);

/* html_specdiff.c: the compare page's "Spec differences" section: the spec.resolved.yaml
 * keys whose values differ between the runs; −1 with an error in d on a malformed file. */
int nn_report_spec_diff(FILE *f, const char *const *dirs, const char *const *labels,
                        const unsigned *rgb, int n, nn_diag *d);

/* All stats.json figures, in the report's order; −1 with an error on malformed data. */
int nn_report_stats(FILE *f, const nn_jdoc *stats);
/* html_rnn.c: the recurrent layer's figures (stats.json `recurrent`). */
int nn_report_recurrent(FILE *f, const nn_jdoc *stats);

#endif
