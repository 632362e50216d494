/* spec.h — the typed, validated experiment spec: the parser's only product.
 *
 * Plain structs: no libyaml type leaks out of src/parser.  Every value that a later
 * stage may need to blame keeps the nn_mark (file:line:col) of where it was written,
 * so shape errors and data errors can still point at the spec line.
 */
#ifndef NN_SPEC_H
#define NN_SPEC_H

#include <stdint.h>
#include <stdio.h>

#include "diag.h"

typedef enum { NN_RNG_NATIVE = 0, NN_RNG_TORCH } nn_rng_kind;

typedef enum {
    NN_INIT_DEFAULT = 0, /* the layer's default (see spec.c) */
    NN_INIT_KAIMING,     /* randn · gain / sqrt(fan_in) */
    NN_INIT_NORMAL,      /* randn · std */
    NN_INIT_UNIFORM,     /* U(a, b) */
    NN_INIT_ZEROS,
    NN_INIT_ONES,
    NN_INIT_VALUES, /* values: [numbers] written in the spec */
    NN_INIT_CSV,    /* csv: {file, column, where: {COL: VALUE, ...}, transpose} */
    NN_INIT_FROM,   /* from: FILE.safetensors (tensor: NAME) — the checkpoints issue */
    NN_INIT_TORCH,  /* torch: the PyTorch module's own default — nn.Linear weight
                       kaiming_uniform(a=√5) (U(±1/√fan_in)) drawn [out, in], its bias
                       U(±1/√fan_in); nn.Embedding N(0, 1) */
} nn_init_kind;

typedef struct {
    char *column; /* a CSV column name */
    char *equals; /* rows whose text in that column equals this are kept */
} nn_where;

typedef struct {
    nn_init_kind kind;
    double gain;    /* kaiming: tanh 5/3, relu sqrt 2, linear/sigmoid 1, or a number */
    double std;     /* normal */
    double a, b;    /* uniform */
    double scale;   /* multiplies the drawn values; 1 by default.  scale 0 still draws. */
    double *values; /* values: the numbers, in the tensor's row-major order (or transposed) */
    long nvalues;
    char *file;      /* csv / from: the file, resolved relative to the spec file */
    char *column;    /* csv: the column holding the numbers */
    nn_where *where; /* csv: row filters, all must hold */
    int nwhere;
    int transpose; /* values / csv list a weight [in, out] as [out][in] (neuron by neuron,
                      as micrograd stores it) */
    char *tensor;  /* from: the tensor's name in the checkpoint (NULL: this parameter's) */
    nn_mark mark;
} nn_init;

typedef enum {
    NN_LAYER_EMBEDDING = 0,
    NN_LAYER_FLATTEN,
    NN_LAYER_LINEAR,
    NN_LAYER_BATCHNORM,
    NN_LAYER_TANH,
    NN_LAYER_RELU,
    NN_LAYER_SIGMOID,
    NN_LAYER_ONEHOT,              /* token ids [B, T] → one-hot floats [B, T, vocab] */
    NN_LAYER_ACTIVATION,          /* a plugin's activation (the plugins issue) */
    NN_LAYER_NGRAM,               /* the counting model: the whole model, alone in the list */
    NN_LAYER_FLATTEN_CONSECUTIVE, /* [B, T, C] → [B, T/n, C·n] (lesson 5; squeezed when T = n) */
    NN_LAYER_LAYERNORM,           /* over the last axis; eps, elementwise affine */
    NN_LAYER_ATTENTION,   /* multi-head self-attention: qkv linear, core, output linear */
    NN_LAYER_GELU,        /* exact, or approximate: tanh */
    NN_LAYER_DROPOUT,     /* training only */
    NN_LAYER_CAUSAL_MEAN, /* y_t = mean of x_0..x_t over positions (makemore's BoW) */
    NN_LAYER_RECURRENT,   /* makemore's RNN / GRU cell over the positions, a learned start */
    /* Structure of the flattened list (spec_blocks.c); never written by a user as such: */
    NN_LAYER_RESIDUAL,     /* `- residual: [...]` begins: remember x */
    NN_LAYER_RESIDUAL_END, /* … ends: x + f(x) */
    NN_LAYER_ATTN_CORE,    /* the attention's middle: softmax(q·kᵀ/√hs)·v per head */
    NN_LAYER_KIND_COUNT
} nn_layer_kind;

typedef enum { NN_CELL_RNN = 0, NN_CELL_GRU } nn_cell_kind;

typedef enum { NN_ARG_FLOAT = 0, NN_ARG_DOUBLE, NN_ARG_INT } nn_arg_type;

typedef struct {
    char *name;
    nn_arg_type type; /* a plain number is a C float; {double: X} and {int: N} declare others */
    double value;
    nn_mark mark;
} nn_arg;

#define NN_MAX_PLUGIN_ARGS 16 /* declared arguments per plugin */

/* plugins: {NAME: {...}} — an activation from a user's shared object (spec_plugin.c; loaded
 * and called by runtime/plugin/plugin.c) */
typedef struct {
    char *name;               /* an identifier, no builtin layer name, not `expr` */
    nn_mark mark;             /* the name key */
    char *library;            /* resolved relative to the spec file */
    char *forward, *backward; /* symbols; backward NULL: finite differences */
    nn_mark library_mark, forward_mark, backward_mark;
    nn_arg *args; /* the declared arguments after x (and n), in order, with defaults */
    int nargs;
    nn_mark args_mark;
    int scalar; /* form: scalar (1: float f(float x, ...)) or array (0, the default) */
    int check;  /* gradient check of backward at load (1, the default) */
} nn_plugin_spec;

/* A formula (expr_parse.h): `activation: {expr, params, learn, per}` or `loss: {expr,
 * params, reduce}`.  Its variables are, in order, the inputs (x; or s and y for a loss) and
 * then the params. */
typedef struct nn_expr_spec {
    char *text;
    nn_mark mark;            /* the formula's scalar; nn_expr_mark() gives a character's */
    int col0;                /* column of the first character, or 0 when not known */
    struct nn_expr_ast *ast; /* the parsed formula */
    int ninputs;             /* 1 (x) for an activation, 2 (s, y) for a loss */
    nn_arg *params;          /* named constants (floats) */
    int nparams;
    int *learn; /* indices into params of the trainable ones */
    int nlearn;
    int per_unit;        /* learn one value per neuron (column) instead of per layer */
    nn_init *learn_init; /* per learned param: its initial value (ones × value) */
} nn_expr_spec;

#define NN_BN_PYTORCH 2 /* nn_layer.unbiased: PyTorch's BatchNorm convention */

typedef struct {
    nn_layer_kind kind;
    nn_mark mark; /* the layer's name in the model list, e.g. the `l` of `linear:` */
    /* embedding */
    int dim;
    /* linear */
    int out;  /* 0 = the vocabulary size */
    int bias; /* 1 = has a bias vector */
    /* batchnorm */
    int unbiased;    /* variance: 0 biased (÷ m), 1 unbiased (÷ m−1), or NN_BN_PYTORCH:
                        normalise ÷ m, the running variance ÷ (m−1) (torch.nn.BatchNorm1d) */
    double eps;      /* added to the variance */
    double momentum; /* running = (1 − momentum)·running + momentum·batch */
    int running_std; /* 1: keep a running std (lesson 4's first version); 0: running var */
    int over_batch;  /* over: batch — statistics over the batch axis only, per position (the
                        lesson-5 bug); 0 (over: all): over every axis but the last */
    /* parameter init: weight / embedding table / BN gain; and bias / BN beta */
    nn_init init, bias_init;
    /* activation: the plugin's name and per-layer argument overrides */
    char *activation;
    nn_arg *args;
    int nargs;
    nn_expr_spec *expr; /* activation: {expr: ...}: the formula (NULL for a plugin) */
    /* ngram; flatten_consecutive: positions grouped */
    int n;            /* tokens per n-gram: 2 = bigram (context n − 1) */
    double smoothing; /* added to every count ("+1 smoothing"); ≥ 0 */
    /* embedding: a learned position table [positions, dim] added (0: none); window: each
     * position gets the W latest tokens' embeddings concatenated, a learned blank token
     * before the start (makemore.py's MLP; 0: none) */
    int positions, window;
    /* layernorm: elementwise affine (eps above) */
    int affine;
    /* attention (and its core): heads, causal mask (bias above: both projections') */
    int heads, causal;
    /* linear inside an attention: out = out_mult × the input width (3 for qkv) */
    int out_mult;
    /* gelu: 1 = the tanh approximation */
    int approximate;
    /* recurrent: the cell (NN_CELL_*) and the hidden state's width */
    int cell, hidden;
    /* dropout: the probability of dropping */
    double p;
    /* Set in the flattened list (spec_blocks.c): the tensor-name prefix ("layers.3",
     * "blocks.2.attention.qkv"); the `- repeat:` that put the layer here (file NULL: none);
     * for NN_LAYER_RESIDUAL_END, the index of its NN_LAYER_RESIDUAL. */
    char name[40];
    nn_mark use;
    int begin;
} nn_layer;

/* The model as written (spec_blocks.c), which emit.c writes back: layers, `- residual:
 * [...]` and `- repeat: {block, n}`.  The IR builds from the flattened `nn_spec.layers`. */
typedef enum { NN_ITEM_LAYER = 0, NN_ITEM_RESIDUAL, NN_ITEM_REPEAT } nn_item_kind;
typedef struct nn_item {
    nn_item_kind kind;
    nn_mark mark;          /* the item's key (`residual`, `repeat`, the layer's kind) */
    nn_layer layer;        /* NN_ITEM_LAYER: the layer (the flattened copies share its inits) */
    struct nn_item *items; /* NN_ITEM_RESIDUAL: the inner list */
    int nitems;
    int block, n;       /* NN_ITEM_REPEAT: index into nn_spec.blocks (−1: unknown), count */
    nn_mark block_mark; /* NN_ITEM_REPEAT: the block name's value */
} nn_item;

/* `blocks: {NAME: [items]}`: a named list of items, defined once, used by `repeat`. */
typedef struct {
    char *name;
    nn_mark mark; /* the name's key */
    nn_item *items;
    int nitems;
} nn_block;

/* torch: torch.randperm(n) after torch.manual_seed(seed) (torch 1.13's CPU randperm: the
 * forward Fisher-Yates on 32-bit mt19937 draws), the items kept in that order */
typedef enum { NN_SHUFFLE_NATIVE = 0, NN_SHUFFLE_PYTHON, NN_SHUFFLE_TORCH } nn_shuffle_compat;
typedef enum { NN_SPLIT_TRAIN = 0, NN_SPLIT_DEV, NN_SPLIT_TEST, NN_SPLIT_COUNT } nn_split_id;

typedef enum {
    NN_DATA_TEXT = 0, /* source: FILE — one item per line, tokenised */
    NN_DATA_GENERATE, /* generate: moons|xor — a built-in 2-D classification set */
    NN_DATA_CSV,      /* csv: FILE, x: [columns], y: column — numeric features and targets */
    NN_DATA_INLINE,   /* inline: {x: [[...], ...], y: [...]} — a tiny set in the spec */
} nn_data_kind;

typedef enum { NN_TOKENS_CHARS = 0, NN_TOKENS_PATTERN } nn_tokens_kind;
typedef enum { NN_GEN_MOONS = 0, NN_GEN_XOR } nn_generator;

typedef struct {
    nn_data_kind kind;
    nn_mark kind_mark;
    /* text */
    char *source; /* path, already resolved relative to the spec file's directory */
    nn_mark source_mark;
    char *filter; /* PCRE2 pattern, or NULL; validated (compiled) by the parser */
    nn_mark filter_mark;
    nn_tokens_kind tokens;
    char *token_pattern; /* tokens: {pattern: PCRE2}: each match is one token */
    nn_mark tokens_mark;
    int context; /* block size: tokens of context per example */
    int sequence; /* examples: sequence — one example per item, x = [0, w…, 0…], targets
                     y = [w…, 0, −1…] at every position (−1 ignored; makemore.py) */
    nn_mark context_mark;
    /* generate */
    nn_generator generator;
    long gen_n;       /* points */
    double gen_noise; /* std of the Gaussian noise added */
    uint64_t gen_seed;
    /* csv (the file is `source`, resolved) */
    char **x_cols;
    int nx;
    char *y_col;
    nn_mark x_mark, y_mark; /* the spec's `x:` list and `y:` value (a column not in the file) */
    /* inline */
    double *inline_x; /* rows × cols, row-major */
    double *inline_y; /* rows */
    int inline_rows, inline_cols;
    /* split: fractions summing to 1, or explicit counts (split_counts = 1); data without a
     * `split` is all train, except text, which defaults to 0.8 / 0.1 / 0.1 */
    double split[NN_SPLIT_COUNT];
    long split_count[NN_SPLIT_COUNT];
    int split_counts;
    nn_mark split_mark;
    int shuffle; /* 1: shuffle before splitting (default) */
    uint64_t shuffle_seed;
    nn_shuffle_compat shuffle_compat;
} nn_data_spec;

typedef enum {
    NN_LR_CONSTANT = 0, /* lr: 0.1 */
    NN_LR_STEPS,        /* {steps: {boundaries: [...], values: [...]}} */
    NN_LR_EXPONENTIAL,  /* {exponential: {start, gamma}}: start · gamma^step */
    NN_LR_COSINE,       /* {cosine: {start, end}}: cosine from start to end over the steps */
    NN_LR_LINEAR,       /* {linear: {start, end}}: start + (end − start) · step / steps */
    NN_LR_FIND,         /* {find: {min, max}}: 10^(log-linear from min to max) over the steps
                           (lesson 3's learning-rate finder; the report plots loss vs lr) */
} nn_lr_kind;

typedef struct {
    nn_lr_kind kind;
    double value;     /* constant */
    long *boundaries; /* steps: switch to values[i+1] at step boundaries[i] */
    double *values;   /* nboundaries + 1 values */
    int nboundaries;
    double start, end; /* exponential (start), cosine, linear; find: min (start), max (end) */
    double gamma;      /* exponential */
    long warmup;       /* linear warm-up from 0 over this many steps (any kind); 0: none */
    nn_mark mark;
} nn_lr_spec;

/* NN_LOSS_VALUE: the model's output, summed, is the objective (lesson 1's neuron) */
/* NN_LOSS_EXPR: loss: {expr: FORMULA} over s (score) and y (target), see loss_expr */
typedef enum {
    NN_LOSS_CROSS_ENTROPY = 0,
    NN_LOSS_HINGE,
    NN_LOSS_MSE,
    NN_LOSS_VALUE,
    NN_LOSS_EXPR
} nn_loss_kind;
typedef enum { NN_OPT_SGD = 0, NN_OPT_ADAM } nn_opt_kind;
typedef enum { NN_L2_MEAN = 0, NN_L2_SUM } nn_l2_reduce;

typedef struct {
    long steps;
    int batch;      /* rows per step; with full_batch, the whole training split */
    int full_batch; /* batch: full */
    nn_loss_kind loss;
    int loss_sum; /* loss: {mse: {reduce: sum}} — sum over the batch instead of the mean */
    nn_expr_spec *loss_expr; /* NN_LOSS_EXPR: the formula */
    nn_mark loss_mark;
    nn_opt_kind optimizer;
    double momentum; /* sgd momentum; 0 = plain SGD */
    int nesterov;
    double beta1, beta2, eps, weight_decay; /* adam (weight_decay: decoupled, AdamW) */
    int decay_matrices; /* adam's decay: matrices — weight decay on parameters of 2 or more
                           dimensions only (nanoGPT's groups); 0: on every parameter */
    double clip_norm;   /* clip: {norm: X} — clip_grad_norm_ to X before the update; 0: none */
    nn_lr_spec lr;
    double l2;              /* coefficient; 0 = none */
    nn_l2_reduce l2_reduce; /* mean(W²) per tensor (lesson 2) or Σ p² (micrograd) */
    int l2_all;             /* 1: every parameter (biases too); 0: weight matrices only */
} nn_train_spec;

typedef struct {
    long every; /* evaluate every N steps (0: only at the end) */
    int splits; /* bit mask of 1 << nn_split_id, evaluated at every eval point */
    int start;  /* also evaluate before the first step (a metrics row at step 0) */
    long log_every; /* a metrics row every N steps (0: the default, nn_log_every) */
} nn_eval_spec;

typedef struct {
    int count;
    uint64_t seed;
    double temperature;
    int max_len;
    int top_k;    /* keep the k most likely tokens at each draw (0: all; makemore's --top-k) */
    char *prefix; /* items start with this text (its characters must be in the vocabulary) */
    int without_replacement; /* replacement: false — torch.multinomial(p, 1)'s draw without
                                replacement (argmax p / Exp(1)); 0 (the default, replacement:
                                true): the cumulative-sum draw of replacement=True */
    nn_mark prefix_mark;
} nn_sample_spec;

typedef struct {
    int plots_all; /* report: {plots: all} (1) or none (0) */
    char **plots;  /* or a list of plot names (when plots_all is 0 and nplots > 0) */
    int nplots;
    long every; /* collect activation/gradient statistics every N steps (0: default) */
} nn_report_spec;

typedef struct {
    long every;    /* also write model.safetensors every N steps (0: only at the end) */
    int keep_best; /* keep: best — also model_best.safetensors, the best dev loss's weights */
} nn_checkpoint_spec;

typedef struct nn_spec {
    char *path; /* the spec file as given; marks point into it */
    char *name;
    uint64_t seed;
    nn_rng_kind rng;
    /* rng: {torch: global} — torch's global generator as the lecture of lesson 5 uses it: one
     * stream for the init, the minibatches and then the samples, which continue it (so
     * sample.seed only serves `nnrun sample`).  0: `rng: torch`, samples from sample.seed. */
    int rng_global;
    nn_data_spec data;
    nn_item *model; /* the model as written (spec_blocks.c) */
    int nmodel;
    nn_block *blocks;
    int nblocks;
    nn_layer *layers; /* flattened: blocks repeated, residuals as begin/end, attention as
                         qkv linear, core, output linear; shallow copies of model's layers */
    int nlayers;
    nn_plugin_spec *plugins; /* the `plugins:` section (spec_plugin.c) */
    int nplugins;
    nn_train_spec train;
    nn_eval_spec eval;
    nn_sample_spec sample;
    nn_report_spec report;
    nn_checkpoint_spec checkpoint;
    char *init_from; /* init_from: FILE.safetensors — the whole model's weights (resolved) */
    nn_mark init_from_mark;
} nn_spec;

/* Reads, validates and types the spec at `path`, then applies the `--set KEY=VALUE`
 * overrides (typed and validated exactly like the file).  On any error returns NULL
 * with every error (up to 20) recorded in `d`. */
nn_spec *nn_spec_load(const char *path, const char *const *sets, int nsets, nn_diag *d);
void nn_spec_free(nn_spec *s);
/* A spec stored inside the file `stored_in` (model.safetensors' "spec" metadata), written
 * out to `path`: data, not the user's word.  Its `include:` is refused without opening the
 * file it names; relative paths resolve beside `stored_in`; loading its plugins is the
 * caller's decision (nn_model_file_load: --allow-plugins). */
nn_spec *nn_spec_load_stored(const char *path, const char *stored_in, nn_diag *d);
/* The same for point `point` (0-based) of the spec's matrix (matrix.h): its values stand
 * where ${matrix.NAME} is written.  nn_spec_load refuses a spec with a matrix. */
nn_spec *nn_spec_load_point(const char *path, const char *const *sets, int nsets, int point,
                            nn_diag *d);

/* Writes the fully resolved spec (every default filled in, paths absolute) as YAML that
 * nn_spec_load reads back to an identical nn_spec (emit.c).  Returns 0 or −1. */
int nn_spec_emit(const nn_spec *s, FILE *out);

/* The mark of byte `pos` of a formula (its column when the scalar allows knowing it). */
nn_mark nn_expr_mark(const nn_expr_spec *e, int pos);

/* Names of the layer kinds, indexed by nn_layer_kind ("embedding", "linear", ...). */
const char *nn_layer_kind_name(nn_layer_kind k);

#endif
