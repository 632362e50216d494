/* stats.h — the statistics a run records for its report, written as stats.json
 * (docs/stats-json.md is the contract with the renderer).
 *
 * Collection is a side path of the training loop: nn_stats_attach hangs an nn_stats on the
 * trainer (train/hooks.h) when the spec asks for plots, and the loop calls it only on
 * collection steps — step 0 ("init"), every `report.every` steps (the update:data series)
 * and the last step ("final").  Everything is allocated in nn_stats_new; the hooks never
 * allocate.  Collecting: stats.c; writing stats.json: stats_json.c.
 *
 * Activations and their gradients come from a second plan lowered with NN_LOWER_KEEP_ALL
 * from the training graph (the training plan shares memory between tensors), run on the
 * training step's own minibatch before the training plan runs; BatchNorm's running
 * buffers are restored afterwards, so collecting never changes the training.
 */
#ifndef NN_STATS_H
#define NN_STATS_H

#include "runtime/train/train.h"

#define NN_HIST_BINS 50
#define NN_GRID      60 /* decision-boundary grid: NN_GRID × NN_GRID scores */
#define NN_CONF_MAX  50 /* the confusion matrix: classifiers of at most this many classes */

typedef struct {
    double lo, hi; /* bins of width (hi − lo) / NN_HIST_BINS; hi falls in the last bin */
    long counts[NN_HIST_BINS];
} nn_hist;

/* One nonlinearity's output (or its gradient) at one point: mean, std (unbiased, as
 * torch's .std()), the saturated fraction — tanh |t| > 0.97, sigmoid |2s − 1| > 0.97,
 * relu: exactly 0 (dead) — and a histogram (tanh activations over −1..1, else min..max). */
typedef struct {
    int valid;
    long n; /* elements */
    double mean, std, saturated;
    nn_hist hist;
} nn_tensor_stat;

typedef struct {
    int valid;
    double data_std, grad_mean, grad_std, grad_data_ratio;
    nn_hist hist; /* of the gradient */
} nn_weight_stat;

enum { NN_STATS_INIT = 0, NN_STATS_FINAL = 1 };

/* Sequence models (stats_seq.c): loss per position, attention maps, the residual stream. */
#define NN_SEQ_NAMES 3 /* items whose attention maps are kept */
typedef struct {
    double mean, std; /* over the non-ignored positions, every feature (std unbiased) */
    long n;
} nn_seq_moment;

typedef struct nn_seq_stats {
    int want_pos, want_att, want_stream; /* the plots asked for */
    int split;                           /* nn_split_id evaluated: test, else dev, else train */
    int T;
    struct nn_graph *g;            /* the model for SEQ_ROWS rows, evaluation mode */
    nn_plan *plan;                 /* g lowered keeping every tensor */
    double *pos_sum;               /* [T] Σ cross-entropy at position t */
    long *pos_n;                   /* [T] targets at position t */
    double loss;                   /* Σ pos_sum / Σ pos_n: the split's loss */
    int att_node[2], natt, heads;  /* first and last attention node (natt of them) */
    int nnames, len[NN_SEQ_NAMES]; /* items kept, positions of each (its length + 1) */
    float *att; /* [NN_SEQ_NAMES][2][heads][T][T] softmax weights, row = query position */
    int nstream, *stream_t; /* residual-add and LayerNorm outputs, in graph order */
    nn_seq_moment *stream;
    int done;
} nn_seq_stats;

/* NULL when the model is not a sequence model (or out of memory). */
nn_seq_stats *nn_seq_stats_new(const nn_trainer *tr, int positions, int attention, int stream);
void nn_seq_stats_run(nn_seq_stats *q, const nn_trainer *tr);
void nn_seq_stats_free(nn_seq_stats *q);
/* The model's first recurrent layer, per position, at init and final (stats_rnn.c). */
typedef struct {
    int fwd, bwd; /* its nodes in the training graph; −1: the model has no recurrent layer */
    int layer, t, e, h, gru;
    double *sat, *gnorm, *z, *r; /* [2 × t] by NN_STATS_INIT / FINAL; z, r: the GRU's gates */
    float *map;                  /* [2 × t × h]: fraction of rows with |h| > 0.97 */
    long step[2];                /* −1: not collected */
} nn_rnn_stat;

typedef struct nn_stats {
    const nn_trainer *tr;
    long steps, every; /* the run's steps; update series every `every` steps (and the last) */
    long next;         /* the next collection step, −1 when none is left */
    nn_plan *plan;     /* keep-all plan of the training graph (NULL for the ngram model) */
    /* nonlinearities: tensors in the training graph, their layer and op name */
    int nact;
    int *act_tensor, *act_layer;
    const char **act_kind;
    nn_tensor_stat *act, *grad; /* [when × nact], when = NN_STATS_INIT / NN_STATS_FINAL */
    long act_step[2];           /* step recorded for init / final (−1: not collected) */
    /* BatchNorm running buffers, saved around the statistics pass */
    float *saved_buffers;
    /* weight matrices (ndim 2): parameter indices in tr->P, final stats, update series */
    int nweight, want_ratios; /* want_ratios: the final weight stats are collected */
    int *weight_param;
    nn_weight_stat *weights;
    float *before;  /* the weights before the update at collection steps */
    long *upd_step; /* [cap_upd] */
    double *upd;    /* [cap_upd × nweight]: log10(std(Δp) / std(p)) */
    int nupd, cap_upd;
    /* saturation map of the first tanh at init: '0'/'1' per element, |t| > 0.99 */
    int sat_act; /* index into the nonlinearities, −1 when there is no tanh */
    int sat_rows, sat_cols;
    char *sat; /* sat_rows × sat_cols, valid when sat_done */
    int sat_done;
    /* the first embedding table, projected to 2-D after training */
    int emb_param;             /* index in tr->P, −1 when none (or dim < 2) */
    double *emb_cov, *emb_pts; /* dim × dim scratch; V × 2 points */
    int emb_done;
    /* 2-D classifiers: the eval-mode score over a grid after training */
    int boundary; /* applicable */
    double bx0[2], bx1[2];
    float *grid;  /* NN_GRID × NN_GRID: grid[j * NN_GRID + i] at (x0[i], x1[j]): the score,
                     or for classes (bclasses ≥ 2) the argmax class */
    int bclasses; /* 0: one score (hinge / mse); K ≥ 2: K classes */
    int *bpred;   /* classes: the predicted class of each training point */
    int grid_done;
    /* classifiers: the confusion matrix of one split after training (stats_confusion.c) */
    int conf_k;     /* classes counted; 0: not collected */
    int conf_score; /* 1: one score whose sign is the class (hinge, ±1 formula) */
    int conf_split; /* nn_split_id: dev, else test, else train */
    long *conf;     /* conf_k × conf_k counts, [true class][predicted class] */
    int conf_done;
    nn_seq_stats *seq; /* sequence models: positions, attention, stream (or NULL) */
    nn_rnn_stat rnn; /* report.plots `recurrent` */
} nn_stats;

/* Whether the spec asks for statistics: report.plots is `all` or a non-empty list.  Only the
 * parts the listed plots draw are collected (activations, gradients, saturation: the
 * statistics pass; ratios: weights; updates; embedding; counts; boundary). */
int nn_stats_wanted(const nn_spec *spec);
/* Whether the report draws plot `name`: only what is drawn is collected (the keep-all plan
 * of a full-batch model can be large). */
int nn_stats_wants(const nn_spec *spec, const char *name);
/* When the spec asks for statistics: a new nn_stats attached to tr, which owns it (freed
 * by nn_trainer_free).  Returns 0, or −1 with an error in `d` (out of memory). */
int nn_stats_attach(nn_trainer *tr, nn_diag *d);
/* The statistics attached to tr (activations, gradients, weights, update ratios,
 * saturation, embedding, n-gram counts, decision boundary), or NULL when none were wanted.
 * Complete after nn_trainer_run returns 0; write them with nn_stats_write before
 * nn_trainer_free. */
const nn_stats *nn_trainer_stats(const nn_trainer *tr);
/* Allocates everything collection needs for this trainer (after its plans and parameters
 * exist).  NULL when out of memory. */
nn_stats *nn_stats_new(const nn_trainer *tr);
void nn_stats_free(nn_stats *s);

/* Hooks of a collection step `step` (s->next == step), in this order: */
/* after the minibatch is in the training plan, before it runs: activations, gradients and
 * the saturation map at init / final */
void nn_stats_probe(nn_stats *s, long step);
/* after the training backward, before the update: the weights saved for the update ratio */
void nn_stats_before_update(nn_stats *s, long step);
/* after the update: the update:data ratios, and at final the weight-gradient stats (the
 * last batch's gradient, the updated weights — what the lecture reads after its loop
 * breaks); moves s->next on */
void nn_stats_after_update(nn_stats *s, long step);
/* after training: the embedding projection and the decision boundary */
void nn_stats_finish(nn_stats *s);

/* stats_rnn.c: finds the recurrent layer and allocates (0, or −1 out of memory); collects
 * at `w` (NN_STATS_INIT / FINAL) after the keep-all plan p ran forward and backward on `rows`
 * rows; its stats.json value (NULL when nothing was collected). */
int nn_rnn_stat_setup(nn_rnn_stat *r, const nn_graph *g);
void nn_rnn_stat_probe(nn_rnn_stat *r, const nn_graph *g, const nn_plan *p, int rows, int w,
                       long step);
struct json_t *nn_rnn_stat_json(const nn_rnn_stat *r);
void nn_rnn_stat_free(nn_rnn_stat *r);

/* stats_confusion.c: whether the model is a classifier the matrix applies to, and its
 * counts (0, or −1 out of memory); the counts after training, from the evaluation plan;
 * their stats.json value (NULL when not collected). */
int nn_confusion_setup(nn_stats *s);
void nn_confusion_run(nn_stats *s);
struct json_t *nn_confusion_json(const nn_stats *s);

/* Writes DIR/stats.json (docs/stats-json.md).  Reads the trainer's data set, parameters and
 * counts: call it before nn_trainer_free.  Returns 0 or −1. */
int nn_stats_write(const nn_stats *s, const char *dir);

#endif
