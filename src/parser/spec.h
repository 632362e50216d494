/* spec.h — the typed, validated experiment spec: the parser's only product.
 *
 * Plain structs: no libyaml type leaks out of src/parser.  Every value that a later
 * stage may need to blame keeps the nn_mark (file:line:col) of where it was written,
 * so shape errors and data errors can still point at the spec line.
 */
#ifndef NN_SPEC_H
#define NN_SPEC_H

#include <stdint.h>

#include "diag.h"

typedef enum { NN_RNG_NATIVE = 0, NN_RNG_TORCH } nn_rng_kind;

typedef enum {
    NN_INIT_DEFAULT = 0, /* the layer's default (see spec.c) */
    NN_INIT_KAIMING,     /* randn · gain / sqrt(fan_in) */
    NN_INIT_NORMAL,      /* randn · std */
    NN_INIT_UNIFORM,     /* U(a, b) */
    NN_INIT_ZEROS,
    NN_INIT_ONES,
} nn_init_kind;

typedef struct {
    nn_init_kind kind;
    double gain;  /* kaiming: tanh 5/3, relu sqrt 2, linear/sigmoid 1, or a number */
    double std;   /* normal */
    double a, b;  /* uniform */
    double scale; /* multiplies the drawn values; 1 by default.  scale 0 still draws. */
    nn_mark mark;
} nn_init;

typedef enum {
    NN_LAYER_EMBEDDING = 0,
    NN_LAYER_FLATTEN,
    NN_LAYER_LINEAR,
    NN_LAYER_BATCHNORM,
    NN_LAYER_TANH,
    NN_LAYER_KIND_COUNT
} nn_layer_kind;

typedef struct {
    nn_layer_kind kind;
    nn_mark mark; /* the layer's name in the model list, e.g. the `l` of `linear:` */
    /* embedding */
    int dim;
    /* linear */
    int out;  /* 0 = the vocabulary size */
    int bias; /* 1 = has a bias vector */
    /* batchnorm */
    int unbiased;    /* variance: unbiased (÷ m−1) or biased (÷ m) */
    double eps;      /* added to the variance */
    double momentum; /* running = (1 − momentum)·running + momentum·batch */
    int running_std; /* 1: keep a running std (lesson 4's first version); 0: running var */
    /* parameter init: weight / embedding table / BN gain; and bias / BN beta */
    nn_init init, bias_init;
} nn_layer;

typedef enum { NN_SHUFFLE_NATIVE = 0, NN_SHUFFLE_PYTHON } nn_shuffle_compat;
typedef enum { NN_SPLIT_TRAIN = 0, NN_SPLIT_DEV, NN_SPLIT_TEST, NN_SPLIT_COUNT } nn_split_id;

typedef struct {
    char *source; /* path, already resolved relative to the spec file's directory */
    nn_mark source_mark;
    char *filter; /* PCRE2 pattern, or NULL; validated (compiled) by the parser */
    nn_mark filter_mark;
    int context; /* block size: tokens of context per example */
    nn_mark context_mark;
    double split[NN_SPLIT_COUNT]; /* fractions, sum 1 */
    nn_mark split_mark;
    uint64_t shuffle_seed;
    nn_shuffle_compat shuffle_compat;
} nn_data_spec;

typedef enum { NN_LR_CONSTANT = 0, NN_LR_STEPS } nn_lr_kind;

typedef struct {
    nn_lr_kind kind;
    double value;       /* constant */
    long *boundaries;   /* steps: switch to values[i+1] at step boundaries[i] */
    double *values;     /* nboundaries + 1 values */
    int nboundaries;
    nn_mark mark;
} nn_lr_spec;

typedef enum { NN_LOSS_CROSS_ENTROPY = 0 } nn_loss_kind;
typedef enum { NN_OPT_SGD = 0 } nn_opt_kind;

typedef struct {
    long steps;
    int batch;
    nn_loss_kind loss;
    nn_opt_kind optimizer;
    double momentum; /* sgd momentum; 0 = plain SGD */
    nn_lr_spec lr;
    double l2; /* l2 · Σ over weight matrices of mean(W²) added to the loss */
} nn_train_spec;

typedef struct {
    long every;      /* evaluate every N steps (0: only at the end) */
    int splits;      /* bit mask of 1 << nn_split_id, evaluated at every eval point */
} nn_eval_spec;

typedef struct {
    int count;
    uint64_t seed;
    double temperature;
    int max_len;
} nn_sample_spec;

typedef struct {
    int plots_all; /* report: {plots: all} (1) or none (0) */
} nn_report_spec;

typedef struct nn_spec {
    char *path; /* the spec file as given; marks point into it */
    char *name;
    uint64_t seed;
    nn_rng_kind rng;
    nn_data_spec data;
    nn_layer *layers;
    int nlayers;
    nn_train_spec train;
    nn_eval_spec eval;
    nn_sample_spec sample;
    nn_report_spec report;
} nn_spec;

/* Reads, validates and types the spec at `path`, then applies the `--set KEY=VALUE`
 * overrides (typed and validated exactly like the file).  On any error returns NULL
 * with every error (up to 20) recorded in `d`. */
nn_spec *nn_spec_load(const char *path, const char *const *sets, int nsets, nn_diag *d);
void nn_spec_free(nn_spec *s);

/* Names of the layer kinds, indexed by nn_layer_kind ("embedding", "linear", ...). */
const char *nn_layer_kind_name(nn_layer_kind k);

#endif
