/* spec.c — a spec file (plus --set overrides) → struct nn_spec: the top level, eval,
 * sample, report, the checks across sections, loading and freeing.  Reading and includes
 * are in spec_include.c, data in spec_data.c, the model list in spec_model.c, train in
 * spec_train.c, the typing helpers in spec_value.c.  Strict: unknown keys, wrong types
 * and out-of-range values are errors, and every independent error is reported.
 *
 * Top-level keys starting with `x-` (as in docker-compose) are ignored: a place for
 * anchors that `<<:` merge keys and aliases refer to, e.g. `x-hidden: &h {out: 100}`. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "spec_int.h"

/* The spec and what its marks point into: the --set pseudo-source names, included files. */
typedef struct {
    nn_spec pub; /* first: an nn_spec * is a spec_box * */
    char **set_files;
    int nsets;
    nn_files files;
} spec_box;

static const nn_range R_POS = {0, INFINITY, 1, 0}; /* (0, ∞) */

/* --- eval, sample, report ----------------------------------------------------------- */

static void eval_splits(nn_sctx *c, const nn_ynode *n, nn_eval_spec *e)
{
    static const char *const names[] = {"train", "dev", "test", NULL};
    if (!nn_sv_seq(c, n, "eval.splits")) return;
    int mask = 0;
    for (int i = 0; i < n->n; i++) {
        int k;
        if (!nn_sv_enum(c, n->items[i], "eval.splits", names, &k)) continue;
        if (mask & (1 << k))
            nn_sv_error(c, n->items[i]->mark, "duplicate split '%s' in 'eval.splits'", names[k]);
        mask |= 1 << k;
    }
    e->splits = mask;
}

static void parse_eval(nn_sctx *c, const nn_ynode *n, nn_eval_spec *e)
{
    static const char *const keys[] = {"every", "splits", "start", "log_every", NULL};
    if (!nn_sv_map(c, n, "eval")) return;
    for (int i = 0; i < n->n; i++) {
        const nn_ynode *v = nn_ymap_value(n, i);
        if (nn_sv_key_is(n, i, "every"))
            nn_sv_long(c, v, "eval.every", 0, 1000000000000L, &e->every);
        else if (nn_sv_key_is(n, i, "splits"))
            eval_splits(c, v, e);
        else if (nn_sv_key_is(n, i, "start"))
            nn_sv_bool(c, v, "eval.start", &e->start);
        else if (nn_sv_key_is(n, i, "log_every"))
            nn_sv_long(c, v, "eval.log_every", 1, 1000000000000L, &e->log_every);
        else
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "eval", keys);
    }
}

/* Returns whether sample.seed was given (else it derives from the top-level seed). */
static int parse_sample(nn_sctx *c, const nn_ynode *n, nn_sample_spec *sa)
{
    static const char *const keys[] = {"count",  "seed",        "temperature", "max_len",
                                       "prefix", "replacement", "top_k",       NULL};
    int has_seed = 0;
    if (!nn_sv_map(c, n, "sample")) return 0;
    for (int i = 0; i < n->n; i++) {
        const nn_ynode *v = nn_ymap_value(n, i);
        if (nn_sv_key_is(n, i, "count"))
            nn_sv_int(c, v, "sample.count", 0, 100000, &sa->count);
        else if (nn_sv_key_is(n, i, "seed"))
            has_seed = 1, nn_sv_u64(c, v, "sample.seed", &sa->seed);
        else if (nn_sv_key_is(n, i, "top_k"))
            nn_sv_int(c, v, "sample.top_k", 0, 1000000, &sa->top_k);
        else if (nn_sv_key_is(n, i, "temperature"))
            nn_sv_float(c, v, "sample.temperature", R_POS, &sa->temperature);
        else if (nn_sv_key_is(n, i, "replacement")) {
            int with = 1;
            nn_sv_bool(c, v, "sample.replacement", &with);
            sa->without_replacement = !with;
        } else if (nn_sv_key_is(n, i, "max_len"))
            nn_sv_int(c, v, "sample.max_len", 1, 10000, &sa->max_len);
        else if (nn_sv_key_is(n, i, "prefix")) {
            nn_sv_string(c, v, "sample.prefix", &sa->prefix);
            sa->prefix_mark = v->mark;
        } else
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "sample", keys);
    }
    return has_seed;
}

static const char *const plot_names[] = {"loss",      "lr",     "lr_find",  "activations",
                                         "gradients", "ratios", "updates",  "saturation",
                                         "embedding", "counts", "boundary", "positions",
                                         "attention", "stream", "recurrent", "confusion",
                                         NULL};

/* plots: all | none | [names] */
static void report_plots(nn_sctx *c, const nn_ynode *n, nn_report_spec *r)
{
    static const char *const words[] = {"none", "all", NULL};
    for (int i = 0; i < r->nplots; i++)
        free(r->plots[i]);
    free(r->plots);
    r->plots = NULL, r->nplots = 0;
    if (n->kind != NN_YSEQ) {
        nn_sv_enum(c, n, "report.plots", words, &r->plots_all);
        return;
    }
    r->plots_all = 0;
    r->plots = calloc((size_t)n->n + 1, sizeof *r->plots);
    if (!r->plots) abort();
    int seen = 0;
    for (int i = 0; i < n->n; i++) {
        int k;
        if (!nn_sv_enum(c, n->items[i], "report.plots", plot_names, &k)) continue;
        if (seen & (1 << k)) {
            nn_sv_error(c, n->items[i]->mark, "duplicate plot '%s' in 'report.plots'",
                        plot_names[k]);
            continue;
        }
        seen |= 1 << k;
        r->plots[r->nplots++] = nn_sv_strdup(plot_names[k]);
    }
}

static void parse_report(nn_sctx *c, const nn_ynode *n, nn_report_spec *r)
{
    static const char *const keys[] = {"plots", "every", NULL};
    if (!nn_sv_map(c, n, "report")) return;
    for (int i = 0; i < n->n; i++) {
        if (nn_sv_key_is(n, i, "plots"))
            report_plots(c, nn_ymap_value(n, i), r);
        else if (nn_sv_key_is(n, i, "every"))
            nn_sv_long(c, nn_ymap_value(n, i), "report.every", 0, 1000000000000L, &r->every);
        else
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "report", keys);
    }
}

static void parse_checkpoint(nn_sctx *c, const nn_ynode *n, nn_checkpoint_spec *k)
{
    static const char *const keys[] = {"every", "keep", NULL};
    static const char *const keeps[] = {"last", "best", NULL};
    if (!nn_sv_map(c, n, "checkpoint")) return;
    for (int i = 0; i < n->n; i++) {
        const nn_ynode *v = nn_ymap_value(n, i);
        if (nn_sv_key_is(n, i, "every"))
            nn_sv_long(c, v, "checkpoint.every", 0, 1000000000000L, &k->every);
        else if (nn_sv_key_is(n, i, "keep"))
            nn_sv_enum(c, v, "checkpoint.keep", keeps, &k->keep_best);
        else
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "checkpoint", keys);
    }
}

/* --- top level -------------------------------------------------------------------- */

/* A run name becomes a directory name: ^[A-Za-z0-9_.-]+$, and not "." or "..". */
static int valid_name(const char *s)
{
    if (!*s || !strcmp(s, ".") || !strcmp(s, "..")) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '.' || *s == '-'))
            return 0;
    return 1;
}

/* The spec file's basename without .yaml / .yml. */
static char *default_name(const char *path)
{
    const char *b = strrchr(path, '/');
    char *name = nn_sv_strdup(b ? b + 1 : path);
    size_t n = strlen(name);
    if (n > 5 && !strcmp(name + n - 5, ".yaml"))
        name[n - 5] = 0;
    else if (n > 4 && !strcmp(name + n - 4, ".yml"))
        name[n - 4] = 0;
    return name;
}

static void set_defaults(nn_spec *s, nn_mark m)
{
    static const double split[NN_SPLIT_COUNT] = {0.8, 0.1, 0.1};
    s->seed = 1337;
    s->data.context = 3;
    memcpy(s->data.split, split, sizeof split);
    s->data.shuffle_seed = 42;
    s->data.shuffle = 1;
    s->data.gen_n = 100;
    s->data.gen_noise = 0.1;
    s->data.source_mark = s->data.filter_mark = s->data.context_mark = s->data.split_mark = m;
    s->data.kind_mark = s->data.tokens_mark = m;
    s->train = (nn_train_spec){.steps = 1000,
                               .batch = 32,
                               .beta1 = 0.9,
                               .beta2 = 0.999,
                               .eps = 1e-8,
                               .loss_mark = m,
                               .lr = {.value = 0.1, .mark = m}};
    s->eval.splits = 1 << NN_SPLIT_TRAIN | 1 << NN_SPLIT_DEV;
    s->sample = (nn_sample_spec){.count = 20, .temperature = 1.0, .max_len = 64};
    s->report.plots_all = 1;
}

/* rng: native | torch | {torch: generator|global, seed: N}.  Returns whether it set the seed. */
static int parse_rng(nn_sctx *c, const nn_ynode *v, nn_spec *s)
{
    static const char *const rngs[] = {"native", "torch", NULL};
    static const char *const keys[] = {"torch", "seed", NULL};
    static const char *const streams[] = {"generator", "global", NULL};
    int rng, has_seed = 0;
    if (v->kind != NN_YMAP) {
        if (nn_sv_enum(c, v, "rng", rngs, &rng)) s->rng = rng ? NN_RNG_TORCH : NN_RNG_NATIVE;
        s->rng_global = 0;
        return 0;
    }
    if (nn_ymap_find(v, "torch", 5) < 0) nn_sv_missing(c, v, "torch", "rng");
    for (int i = 0; i < v->n; i++) {
        const nn_ynode *x = nn_ymap_value(v, i);
        if (nn_sv_key_is(v, i, "torch") && nn_sv_enum(c, x, "rng.torch", streams, &rng)) {
            s->rng = NN_RNG_TORCH;
            s->rng_global = rng;
        } else if (nn_sv_key_is(v, i, "seed")) {
            has_seed = nn_sv_u64(c, x, "rng.seed", &s->seed);
        } else if (!nn_sv_key_is(v, i, "torch")) {
            nn_sv_unknown_key(c, nn_ymap_key(v, i), "rng", keys);
        }
    }
    return has_seed;
}

static void parse_top(nn_sctx *c, const nn_ynode *n, nn_spec *s)
{
    static const char *const keys[] = {"name",    "seed",       "rng",       "data",   "model",
                                       "train",   "eval",       "sample",    "report", "include",
                                       "plugins", "checkpoint", "init_from", "blocks", NULL};
    int bi = nn_ymap_find(n, "blocks", 6), pi = nn_ymap_find(n, "plugins", 7);
    const nn_ynode *blocks = bi >= 0 ? nn_ymap_value(n, bi) : NULL;
    c->plugins = pi >= 0 ? nn_ymap_value(n, pi) : NULL;
    int has_sample_seed = 0;
    const nn_ynode *seed_key = NULL, *rng_seed = NULL;
    for (int i = 0; i < n->n; i++) {
        const nn_ynode *v = nn_ymap_value(n, i);
        if (nn_sv_key_is(n, i, "name")) {
            if (nn_sv_string(c, v, "name", &s->name) && !valid_name(s->name))
                nn_sv_error(c, v->mark,
                            "'name' must use only letters, digits, '_', '.' and '-' "
                            "(it names the run directory)");
        } else if (nn_sv_key_is(n, i, "seed")) {
            if (!rng_seed) nn_sv_u64(c, v, "seed", &s->seed);
            seed_key = nn_ymap_key(n, i);
        } else if (nn_sv_key_is(n, i, "rng")) {
            if (parse_rng(c, v, s)) rng_seed = v;
        } else if (nn_sv_key_is(n, i, "data")) {
            nn_spec_data(c, v, s);
        } else if (nn_sv_key_is(n, i, "model")) {
            nn_spec_model(c, v, blocks, s);
        } else if (nn_sv_key_is(n, i, "train")) {
            nn_spec_train(c, v, &s->train);
        } else if (nn_sv_key_is(n, i, "eval")) {
            parse_eval(c, v, &s->eval);
        } else if (nn_sv_key_is(n, i, "sample")) {
            has_sample_seed = parse_sample(c, v, &s->sample);
            c->sample_mark = nn_ymap_key(n, i)->mark;
        } else if (nn_sv_key_is(n, i, "report")) {
            parse_report(c, v, &s->report);
        } else if (nn_sv_key_is(n, i, "plugins")) {
            nn_spec_plugins(c, v, s);
        } else if (nn_sv_key_is(n, i, "checkpoint")) {
            parse_checkpoint(c, v, &s->checkpoint);
        } else if (nn_sv_key_is(n, i, "init_from")) {
            free(s->init_from);
            s->init_from = nn_sv_path(c, v, "init_from");
            s->init_from_mark = v->mark;
        } else if (nn_sv_key_is(n, i, "include") || nn_sv_key_is(n, i, "blocks")) {
            continue; /* include: applied while reading; blocks: with the model */
        } else if (nn_ymap_key(n, i)->len < 2 || strncmp(nn_ymap_key(n, i)->text, "x-", 2)) {
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "", keys);
        }
    }
    if (nn_ymap_find(n, "data", 4) < 0) nn_sv_missing(c, n, "data", "");
    if (nn_ymap_find(n, "model", 5) < 0) nn_sv_missing(c, n, "model", "");
    if (seed_key && rng_seed) {
        nn_sv_error(c, seed_key->mark, "the seed is given twice: in 'seed' and in 'rng.seed'");
        nn_diag_note(c->d, "keep one of them");
    }
    if (!has_sample_seed) s->sample.seed = s->seed + 10; /* unsigned: wraps around */
    if (!s->name) {
        s->name = default_name(s->path);
        if (!valid_name(s->name))
            nn_sv_error(c, n->mark,
                        "the file name '%s' is no valid run name (letters, digits, "
                        "'_', '.', '-'): add a 'name:' key",
                        s->name);
    }
}

/* Checks between sections, once both are parsed (a failed layer has no mark). */
static void cross_checks(nn_sctx *c, nn_spec *s, int has_data)
{
    static const char *const data_kinds[] = {"text", "generated", "csv", "inline"};
    nn_data_spec *d = &s->data;
    int text = d->kind == NN_DATA_TEXT;
    if (!has_data) return;
    for (int i = 0; i < s->nlayers; i++) {
        const nn_layer *l = &s->layers[i];
        int needs_text = l->kind == NN_LAYER_EMBEDDING || l->kind == NN_LAYER_ONEHOT ||
                         l->kind == NN_LAYER_NGRAM;
        if (!l->mark.file) continue;
        if (needs_text && !text) {
            nn_sv_error(c, l->mark,
                        "'%s' needs token ids from text data (source: FILE), but 'data' is %s "
                        "data",
                        nn_layer_kind_name(l->kind), data_kinds[d->kind]);
        } else if (l->kind == NN_LAYER_NGRAM && s->nlayers == 1) {
            if (!c->context_given) {
                d->context = l->n - 1;
            } else if (d->context != l->n - 1) {
                nn_sv_error(c, d->context_mark,
                            "'data.context' is %d, but the ngram model with n = %d reads n - 1 = "
                            "%d tokens of context",
                            d->context, l->n, l->n - 1);
                nn_diag_note(c->d, "leave 'data.context' out: it defaults to n - 1");
            }
        }
    }
    if (c->sample_mark.file && !text) /* a key of another kind is an error (spec.md) */
        nn_sv_error(c, c->sample_mark,
                    "'sample' is only for text data (source: FILE), not for %s data: a model "
                    "of %s data generates no items; leave 'sample' out",
                    data_kinds[d->kind], data_kinds[d->kind]);
    if (s->train.loss == NN_LOSS_VALUE && text)
        nn_sv_error(c, s->train.loss_mark,
                    "'value' makes the model's output itself the objective; it is for numeric "
                    "data, not text data; use cross_entropy");
    if (s->train.loss == NN_LOSS_HINGE && text)
        nn_sv_error(c, s->train.loss_mark,
                    "'hinge' is a loss for two classes labelled -1 and +1, not for text data; "
                    "use cross_entropy");
}

/* Parses, applies the overrides and validates; c->nerr counts the errors. */
static void load(nn_sctx *c, spec_box *box, const char *const *sets, int point)
{
    nn_spec *s = &box->pub;
    nn_ynode *root = nn_spec_read_tree(c, &box->files, s->path);
    if (!root) return;
    for (int i = 0; i < box->nsets; i++) {
        box->set_files[i] = nn_sv_strdup("--set");
        nn_diag_add_source(c->d, box->set_files[i], sets[i], strlen(sets[i]));
        nn_spec_apply_set(c, &root, box->set_files[i], sets[i]);
    }
    if (nn_spec_matrix_apply(c, &root, point) != 0) { /* matrix.c */
        nn_ynode_unref(root);
        return;
    }
    set_defaults(s, root->mark);
    if (root->kind == NN_YMAP) {
        parse_top(c, root, s);
        cross_checks(c, s, c->data_kind_known);
        nn_spec_plugins_check(c, s);
    } else if (nn_sv_type(root) == NN_VNULL) {
        nn_sv_error(c, root->mark, "empty spec");
    } else {
        char buf[128];
        nn_sv_error(c, root->mark,
                    "expected a map of keys (data, model, train, ...) at the top "
                    "level, got %s",
                    nn_sv_show(root, buf, sizeof buf));
    }
    nn_ynode_unref(root);
}

static nn_spec *load_spec(const char *path, const char *const *sets, int nsets, int point,
                          const char *stored_in, nn_diag *d)
{
    nn_sctx c = {
        .d = d, .nerr = 0, .spec_path = path, .stored = stored_in != NULL, .rel_base = stored_in};
    spec_box *box = calloc(1, sizeof *box);
    if (!box) abort();
    nn_spec *s = &box->pub;
    s->path = nn_sv_strdup(path);
    c.spec_path = s->path;
    box->nsets = nsets > 0 ? nsets : 0;
    box->set_files = calloc((size_t)box->nsets + 1, sizeof *box->set_files);
    if (!box->set_files) abort();
    load(&c, box, sets, point);
    if (c.nerr == 0) return s;
    nn_spec_free(s);
    return NULL;
}

nn_spec *nn_spec_load(const char *path, const char *const *sets, int nsets, nn_diag *d)
{
    return load_spec(path, sets, nsets, -1, NULL, d);
}

nn_spec *nn_spec_load_stored(const char *path, const char *stored_in, nn_diag *d)
{
    return load_spec(path, NULL, 0, -1, stored_in, d);
}

nn_spec *nn_spec_load_point(const char *path, const char *const *sets, int nsets, int point,
                            nn_diag *d)
{
    return load_spec(path, sets, nsets, point, NULL, d);
}

void nn_spec_free(nn_spec *s)
{
    if (!s) return;
    spec_box *box = (spec_box *)s;
    for (int i = 0; i < box->nsets; i++)
        free(box->set_files[i]);
    free(box->set_files);
    nn_files_free(&box->files);
    free(s->path);
    free(s->name);
    nn_data_spec *d = &s->data;
    free(d->source);
    free(d->filter);
    free(d->token_pattern);
    for (int i = 0; i < d->nx; i++)
        free(d->x_cols[i]);
    free(d->x_cols);
    free(d->y_col);
    free(d->inline_x);
    free(d->inline_y);
    nn_spec_model_free(s);
    nn_plugin_specs_free(s->plugins, s->nplugins);
    free(s->train.lr.boundaries);
    nn_expr_spec_free(s->train.loss_expr);
    free(s->train.lr.values);
    free(s->sample.prefix);
    for (int i = 0; i < s->report.nplots; i++)
        free(s->report.plots[i]);
    free(s->report.plots);
    free(s->init_from);
    free(box);
}
