/* spec.c — a spec file (plus --set overrides) → struct nn_spec: reading, the top level,
 * data, train, eval, sample and report.  The model list is in spec_model.c, the typing
 * helpers in spec_value.c.  Strict: unknown keys, wrong types and out-of-range values
 * are errors, and every independent error is reported. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "spec_int.h"

#define NN_SPEC_MAX_BYTES (16L << 20) /* a spec is a page of text, not a data file */

/* The spec and what its marks point into: the --set pseudo-source names. */
typedef struct {
    nn_spec pub; /* first: an nn_spec * is a spec_box * */
    char **set_files;
    int nsets;
} spec_box;

static const nn_range R_UNIT = {0, 1, 0, 0};          /* [0, 1] */
static const nn_range R_NONNEG = {0, INFINITY, 0, 0}; /* [0, ∞) */
static const nn_range R_POS = {0, INFINITY, 1, 0};    /* (0, ∞) */

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p) abort();
    return p;
}

/* --- reading ---------------------------------------------------------------------- */

/* The whole file, NUL-terminated, or NULL after recording an error naming the file. */
static char *read_spec(nn_sctx *c, const char *path, size_t *len)
{
    nn_mark m = {path, 0, 0};
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        nn_sv_error(c, m, "cannot read the spec: %s", strerror(errno));
        if (fd >= 0) close(fd);
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        nn_sv_error(c, m, "cannot read the spec: it is a directory");
        close(fd);
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    ssize_t r = 0;
    while (buf && n <= (size_t)NN_SPEC_MAX_BYTES) {
        if (n + 1 >= cap && !(buf = realloc(buf, cap *= 2))) break;
        r = read(fd, buf + n, cap - n - 1);
        if (r <= 0) break;
        n += (size_t)r;
    }
    int err = errno;
    close(fd);
    if (!buf) abort();
    if (r < 0 || n > (size_t)NN_SPEC_MAX_BYTES) {
        if (r < 0)
            nn_sv_error(c, m, "cannot read the spec: %s", strerror(err));
        else
            nn_sv_error(c, m, "the spec is larger than %ld bytes", NN_SPEC_MAX_BYTES);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* --- data ------------------------------------------------------------------------- */

/* `rel` relative to the directory of the spec file; absolute paths stay. */
static char *resolve_path(const char *spec_path, const char *rel)
{
    const char *slash = strrchr(spec_path, '/');
    if (rel[0] == '/' || !slash) return xstrdup(rel);
    size_t dn = (size_t)(slash - spec_path) + 1;
    char *p = malloc(dn + strlen(rel) + 1);
    if (!p) abort();
    memcpy(p, spec_path, dn);
    strcpy(p + dn, rel);
    return p;
}

/* The column of byte `off` of a pattern written as scalar n, when it can be known. */
static nn_mark pattern_mark(const nn_ynode *n, size_t off)
{
    nn_mark m = n->mark;
    if (m.line != n->end.line || (n->style != NN_YPLAIN && n->style != NN_YSINGLE)) return m;
    if (n->style == NN_YSINGLE) m.col++; /* the opening quote */
    for (size_t i = 0; i < off && i < n->len; i++) {
        if ((n->text[i] & 0xC0) != 0x80) m.col++;
        if (n->style == NN_YSINGLE && n->text[i] == '\'') m.col++; /* written '' */
    }
    return m;
}

static void data_filter(nn_sctx *c, const nn_ynode *n, nn_data_spec *d)
{
    if (!nn_sv_string(c, n, "data.filter", &d->filter)) return;
    d->filter_mark = n->mark;
    int code;
    PCRE2_SIZE off;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)d->filter, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off, NULL);
    if (re) {
        pcre2_code_free(re);
        return;
    }
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(code, msg, sizeof msg);
    nn_sv_error(c, pattern_mark(n, off), "invalid regular expression in 'data.filter': %s",
                (const char *)msg);
}

static void data_shuffle(nn_sctx *c, const nn_ynode *n, nn_data_spec *d)
{
    static const char *const keys[] = {"seed", "compat", NULL};
    static const char *const compat[] = {"native", "python", NULL};
    if (!nn_sv_map(c, n, "data.split.shuffle")) return;
    for (int i = 0; i < n->n; i++) {
        const nn_ynode *v = nn_ymap_value(n, i);
        int e;
        if (nn_sv_key_is(n, i, "seed"))
            nn_sv_u64(c, v, "data.split.shuffle.seed", &d->shuffle_seed);
        else if (nn_sv_key_is(n, i, "compat")) {
            if (nn_sv_enum(c, v, "data.split.shuffle.compat", compat, &e))
                d->shuffle_compat = e ? NN_SHUFFLE_PYTHON : NN_SHUFFLE_NATIVE;
        } else
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "data.split.shuffle", keys);
    }
}

static void data_split(nn_sctx *c, const nn_ynode *n, nn_data_spec *d)
{
    static const char *const keys[] = {"train", "dev", "test", "shuffle", NULL};
    if (!nn_sv_map(c, n, "data.split")) return;
    d->split_mark = n->mark;
    double f[NN_SPLIT_COUNT] = {0, 0, 0};
    int bad = 0;
    for (int i = 0; i < n->n; i++) {
        const nn_ynode *v = nn_ymap_value(n, i);
        char path[64];
        int k = nn_sv_key_is(n, i, "train")  ? 0
                : nn_sv_key_is(n, i, "dev")  ? 1
                : nn_sv_key_is(n, i, "test") ? 2
                                             : -1;
        if (k >= 0) {
            snprintf(path, sizeof path, "data.split.%s", keys[k]);
            bad |= !nn_sv_float(c, v, path, R_UNIT, &f[k]);
        } else if (nn_sv_key_is(n, i, "shuffle")) {
            data_shuffle(c, v, d);
        } else {
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "data.split", keys);
        }
    }
    double sum = f[0] + f[1] + f[2];
    if (!bad && fabs(sum - 1) > 1e-9) {
        nn_sv_error(c, n->mark,
                    "'data.split' fractions must sum to 1, got %.10g (train %g + dev %g + test %g)",
                    sum, f[0], f[1], f[2]);
        return;
    }
    memcpy(d->split, f, sizeof f);
}

static void parse_data(nn_sctx *c, const nn_ynode *n, nn_spec *s)
{
    static const char *const keys[] = {"source", "filter", "tokens", "context", "split", NULL};
    static const char *const tokens[] = {"chars", NULL};
    nn_data_spec *d = &s->data;
    if (!nn_sv_map(c, n, "data")) return;
    d->context_mark = d->split_mark = d->source_mark = n->mark;
    int e;
    for (int i = 0; i < n->n; i++) {
        const nn_ynode *v = nn_ymap_value(n, i);
        char *src = NULL;
        if (nn_sv_key_is(n, i, "source")) {
            if (nn_sv_string(c, v, "data.source", &src)) {
                free(d->source);
                d->source = resolve_path(s->path, src);
                d->source_mark = v->mark;
            }
            free(src);
        } else if (nn_sv_key_is(n, i, "filter")) {
            data_filter(c, v, d);
        } else if (nn_sv_key_is(n, i, "tokens")) {
            nn_sv_enum(c, v, "data.tokens", tokens, &e);
        } else if (nn_sv_key_is(n, i, "context")) {
            if (nn_sv_int(c, v, "data.context", 1, 256, &d->context)) d->context_mark = v->mark;
        } else if (nn_sv_key_is(n, i, "split")) {
            data_split(c, v, d);
        } else {
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "data", keys);
        }
    }
    if (nn_ymap_find(n, "source", 6) < 0) nn_sv_missing(c, n, "source", "data");
}

/* --- train ------------------------------------------------------------------------ */

static void train_optimizer(nn_sctx *c, const nn_ynode *n, nn_train_spec *t)
{
    static const char *const kinds[] = {"sgd", NULL};
    static const char *const keys[] = {"momentum", NULL};
    static const nn_range mom = {0, 1, 0, 1};
    int k;
    if (n->kind != NN_YMAP) {
        if (nn_sv_enum(c, n, "train.optimizer", kinds, &k)) t->optimizer = NN_OPT_SGD;
        return;
    }
    if (n->n != 1) {
        nn_sv_error(c, n->mark,
                    "'train.optimizer' must name one optimizer, e.g. {sgd: {momentum: 0.9}}");
        return;
    }
    if (!nn_sv_enum(c, nn_ymap_key(n, 0), "train.optimizer", kinds, &k)) return;
    const nn_ynode *o = nn_ymap_value(n, 0);
    if (nn_sv_type(o) == NN_VNULL || !nn_sv_map(c, o, "train.optimizer.sgd")) return;
    for (int i = 0; i < o->n; i++) {
        if (nn_sv_key_is(o, i, "momentum"))
            nn_sv_float(c, nn_ymap_value(o, i), "train.optimizer.sgd.momentum", mom, &t->momentum);
        else
            nn_sv_unknown_key(c, nn_ymap_key(o, i), "train.optimizer.sgd", keys);
    }
}

/* {boundaries: [...], values: [...]}: a piecewise-constant schedule. */
static void lr_steps(nn_sctx *c, const nn_ynode *n, nn_lr_spec *lr)
{
    static const char *const keys[] = {"boundaries", "values", NULL};
    if (!nn_sv_map(c, n, "train.lr.steps")) return;
    const nn_ynode *b = NULL, *v = NULL;
    for (int i = 0; i < n->n; i++) {
        if (nn_sv_key_is(n, i, "boundaries"))
            b = nn_ymap_value(n, i);
        else if (nn_sv_key_is(n, i, "values"))
            v = nn_ymap_value(n, i);
        else
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "train.lr.steps", keys);
    }
    if (!b) nn_sv_missing(c, n, "boundaries", "train.lr.steps");
    if (!v) nn_sv_missing(c, n, "values", "train.lr.steps");
    int okb = b && nn_sv_seq(c, b, "train.lr.steps.boundaries");
    int okv = v && nn_sv_seq(c, v, "train.lr.steps.values");
    if (!okb || !okv) return;
    free(lr->boundaries);
    free(lr->values);
    lr->boundaries = calloc((size_t)b->n + 1, sizeof *lr->boundaries);
    lr->values = calloc((size_t)v->n + 1, sizeof *lr->values);
    if (!lr->boundaries || !lr->values) abort();
    lr->nboundaries = b->n;
    lr->kind = NN_LR_STEPS;
    for (int i = 0; i < b->n; i++) {
        char path[64];
        snprintf(path, sizeof path, "train.lr.steps.boundaries.%d", i);
        if (!nn_sv_long(c, b->items[i], path, 1, 1000000000000L, &lr->boundaries[i])) continue;
        if (i > 0 && lr->boundaries[i] <= lr->boundaries[i - 1])
            nn_sv_error(
                c, b->items[i]->mark,
                "'train.lr.steps.boundaries' must be strictly increasing, got %ld after %ld",
                lr->boundaries[i], lr->boundaries[i - 1]);
    }
    for (int i = 0; i < v->n; i++) {
        char path[64];
        snprintf(path, sizeof path, "train.lr.steps.values.%d", i);
        nn_sv_float(c, v->items[i], path, R_POS, &lr->values[i]);
    }
    if (v->n != b->n + 1)
        nn_sv_error(c, n->mark,
                    "'train.lr.steps' needs one more value than boundaries: got %d boundaries and "
                    "%d values",
                    b->n, v->n);
}

static void train_lr(nn_sctx *c, const nn_ynode *n, nn_lr_spec *lr)
{
    static const char *const kinds[] = {"steps", NULL};
    lr->mark = n->mark;
    if (n->kind != NN_YMAP) {
        if (nn_sv_float(c, n, "train.lr", R_POS, &lr->value)) lr->kind = NN_LR_CONSTANT;
        return;
    }
    if (n->n != 1) {
        nn_sv_error(c, n->mark, "'train.lr' must be a number or one schedule, e.g. {steps: {...}}");
        return;
    }
    int k;
    if (nn_sv_enum(c, nn_ymap_key(n, 0), "train.lr", kinds, &k))
        lr_steps(c, nn_ymap_value(n, 0), lr);
}

static void parse_train(nn_sctx *c, const nn_ynode *n, nn_train_spec *t)
{
    static const char *const keys[] = {"steps", "batch", "loss", "optimizer", "lr", "l2", NULL};
    static const char *const losses[] = {"cross_entropy", NULL};
    if (!nn_sv_map(c, n, "train")) return;
    t->lr.mark = n->mark;
    int e;
    for (int i = 0; i < n->n; i++) {
        const nn_ynode *v = nn_ymap_value(n, i);
        if (nn_sv_key_is(n, i, "steps"))
            nn_sv_long(c, v, "train.steps", 1, 1000000000000L, &t->steps);
        else if (nn_sv_key_is(n, i, "batch"))
            nn_sv_int(c, v, "train.batch", 1, 1048576, &t->batch);
        else if (nn_sv_key_is(n, i, "loss"))
            nn_sv_enum(c, v, "train.loss", losses, &e);
        else if (nn_sv_key_is(n, i, "optimizer"))
            train_optimizer(c, v, t);
        else if (nn_sv_key_is(n, i, "lr"))
            train_lr(c, v, &t->lr);
        else if (nn_sv_key_is(n, i, "l2"))
            nn_sv_float(c, v, "train.l2", R_NONNEG, &t->l2);
        else
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "train", keys);
    }
}

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
    static const char *const keys[] = {"every", "splits", NULL};
    if (!nn_sv_map(c, n, "eval")) return;
    for (int i = 0; i < n->n; i++) {
        const nn_ynode *v = nn_ymap_value(n, i);
        if (nn_sv_key_is(n, i, "every"))
            nn_sv_long(c, v, "eval.every", 0, 1000000000000L, &e->every);
        else if (nn_sv_key_is(n, i, "splits"))
            eval_splits(c, v, e);
        else
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "eval", keys);
    }
}

/* Returns whether sample.seed was given (else it derives from the top-level seed). */
static int parse_sample(nn_sctx *c, const nn_ynode *n, nn_sample_spec *sa)
{
    static const char *const keys[] = {"count", "seed", "temperature", "max_len", NULL};
    int has_seed = 0;
    if (!nn_sv_map(c, n, "sample")) return 0;
    for (int i = 0; i < n->n; i++) {
        const nn_ynode *v = nn_ymap_value(n, i);
        if (nn_sv_key_is(n, i, "count"))
            nn_sv_int(c, v, "sample.count", 0, 100000, &sa->count);
        else if (nn_sv_key_is(n, i, "seed"))
            has_seed = 1, nn_sv_u64(c, v, "sample.seed", &sa->seed);
        else if (nn_sv_key_is(n, i, "temperature"))
            nn_sv_float(c, v, "sample.temperature", R_POS, &sa->temperature);
        else if (nn_sv_key_is(n, i, "max_len"))
            nn_sv_int(c, v, "sample.max_len", 1, 10000, &sa->max_len);
        else
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "sample", keys);
    }
    return has_seed;
}

static void parse_report(nn_sctx *c, const nn_ynode *n, nn_report_spec *r)
{
    static const char *const keys[] = {"plots", NULL};
    static const char *const plots[] = {"none", "all", NULL};
    if (!nn_sv_map(c, n, "report")) return;
    for (int i = 0; i < n->n; i++) {
        if (nn_sv_key_is(n, i, "plots"))
            nn_sv_enum(c, nn_ymap_value(n, i), "report.plots", plots, &r->plots_all);
        else
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "report", keys);
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
    char *name = xstrdup(b ? b + 1 : path);
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
    s->data.source_mark = s->data.filter_mark = s->data.context_mark = s->data.split_mark = m;
    s->train = (nn_train_spec){.steps = 1000, .batch = 32, .lr = {.value = 0.1, .mark = m}};
    s->eval.splits = 1 << NN_SPLIT_TRAIN | 1 << NN_SPLIT_DEV;
    s->sample = (nn_sample_spec){.count = 20, .temperature = 1.0, .max_len = 64};
    s->report.plots_all = 1;
}

static void parse_top(nn_sctx *c, const nn_ynode *n, nn_spec *s)
{
    static const char *const keys[] = {"name",  "seed", "rng",    "data",   "model",
                                       "train", "eval", "sample", "report", NULL};
    static const char *const rngs[] = {"native", "torch", NULL};
    int rng, has_sample_seed = 0;
    for (int i = 0; i < n->n; i++) {
        const nn_ynode *v = nn_ymap_value(n, i);
        if (nn_sv_key_is(n, i, "name")) {
            if (nn_sv_string(c, v, "name", &s->name) && !valid_name(s->name))
                nn_sv_error(c, v->mark,
                            "'name' must use only letters, digits, '_', '.' and '-' "
                            "(it names the run directory)");
        } else if (nn_sv_key_is(n, i, "seed")) {
            nn_sv_u64(c, v, "seed", &s->seed);
        } else if (nn_sv_key_is(n, i, "rng")) {
            if (nn_sv_enum(c, v, "rng", rngs, &rng)) s->rng = rng ? NN_RNG_TORCH : NN_RNG_NATIVE;
        } else if (nn_sv_key_is(n, i, "data")) {
            parse_data(c, v, s);
        } else if (nn_sv_key_is(n, i, "model")) {
            nn_spec_model(c, v, s);
        } else if (nn_sv_key_is(n, i, "train")) {
            parse_train(c, v, &s->train);
        } else if (nn_sv_key_is(n, i, "eval")) {
            parse_eval(c, v, &s->eval);
        } else if (nn_sv_key_is(n, i, "sample")) {
            has_sample_seed = parse_sample(c, v, &s->sample);
        } else if (nn_sv_key_is(n, i, "report")) {
            parse_report(c, v, &s->report);
        } else {
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "", keys);
        }
    }
    if (nn_ymap_find(n, "data", 4) < 0) nn_sv_missing(c, n, "data", "");
    if (nn_ymap_find(n, "model", 5) < 0) nn_sv_missing(c, n, "model", "");
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

/* Parses, applies the overrides and validates; c->nerr counts the errors. */
static void load(nn_sctx *c, spec_box *box, const char *text, size_t len, const char *const *sets)
{
    nn_spec *s = &box->pub;
    int nerr = 0;
    nn_ynode *root = nn_yaml_parse(s->path, text, len, c->d, &nerr);
    c->nerr += nerr;
    if (!root) return;
    for (int i = 0; i < box->nsets; i++) {
        box->set_files[i] = xstrdup("--set");
        nn_diag_add_source(c->d, box->set_files[i], sets[i], strlen(sets[i]));
        nn_spec_apply_set(c, &root, box->set_files[i], sets[i]);
    }
    set_defaults(s, root->mark);
    if (root->kind == NN_YMAP) {
        parse_top(c, root, s);
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

nn_spec *nn_spec_load(const char *path, const char *const *sets, int nsets, nn_diag *d)
{
    nn_sctx c = {d, 0};
    spec_box *box = calloc(1, sizeof *box);
    if (!box) abort();
    nn_spec *s = &box->pub;
    s->path = xstrdup(path);
    box->nsets = nsets > 0 ? nsets : 0;
    box->set_files = calloc((size_t)box->nsets + 1, sizeof *box->set_files);
    if (!box->set_files) abort();
    size_t len = 0;
    char *text = read_spec(&c, s->path, &len);
    if (text) {
        nn_diag_add_source(d, s->path, text, len);
        load(&c, box, text, len, sets);
        free(text);
    }
    if (c.nerr == 0) return s;
    nn_spec_free(s);
    return NULL;
}

void nn_spec_free(nn_spec *s)
{
    if (!s) return;
    spec_box *box = (spec_box *)s;
    for (int i = 0; i < box->nsets; i++)
        free(box->set_files[i]);
    free(box->set_files);
    free(s->path);
    free(s->name);
    free(s->data.source);
    free(s->data.filter);
    free(s->layers);
    free(s->train.lr.boundaries);
    free(s->train.lr.values);
    free(box);
}
