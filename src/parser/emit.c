/* emit.c — nn_spec → the fully resolved spec as block-style YAML (`nnrun check --resolved`,
 * runs/NAME/spec.resolved.yaml).
 *
 * The output is the spec language itself, so it reads back (nn_spec_load) to the same
 * nn_spec and emits to the same text again: every value is written so that it types back
 * to exactly what it was — floats in their shortest round-tripping form and always with a
 * '.', 'e' or '.inf' (a fraction 1.0 must not read back as the count 1), user strings
 * quoted (a regex or a name like `yes` or `1e5` stays a string), enums by their schema
 * names, paths absolute (the resolved file may live anywhere).  Defaults are written out;
 * keys that mean nothing for the chosen kinds are left out.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "spec.h"

#define WRAP_COL 96 /* flow lists of numbers wrap before this column */

typedef struct {
    FILE *f;
    int col; /* bytes since the last newline: for wrapping long number lists */
} em;

static void put(em *e, const char *s)
{
    fputs(s, e->f);
    const char *nl = strrchr(s, '\n');
    e->col = nl ? (int)strlen(nl + 1) : e->col + (int)strlen(s);
}

static void putf(em *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(em *e, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    put(e, buf);
}

/* A new line indented by `ind` spaces. */
static void nl(em *e, int ind)
{
    putf(e, "\n%*s", ind, "");
}

/* --- scalars ------------------------------------------------------------------------ */

/* The shortest %.{6..16}g that reads back to v exactly, else %.17g; always float-looking
 * under the YAML 1.2 core schema and under YAML 1.1 too ("1.0", "1.0e-05", ".inf"): YAML 1.1
 * readers (PyYAML) take a float only with a '.' in its mantissa, so "1e-05" would be a
 * string there.  Never an int. */
static const char *fmt_float(double v, char buf[40])
{
    if (isnan(v)) return strcpy(buf, ".nan");
    if (isinf(v)) return strcpy(buf, v < 0 ? "-.inf" : ".inf");
    int p = 6;
    for (; p <= 16; p++) {
        snprintf(buf, 40, "%.*g", p, v);
        if (strtod(buf, NULL) == v) break;
    }
    if (p > 16) snprintf(buf, 40, "%.17g", v);
    char *e = strchr(buf, 'e');
    if (!strchr(buf, '.')) { /* "1e-05" → "1.0e-05", "3" → "3.0" */
        size_t at = e ? (size_t)(e - buf) : strlen(buf);
        memmove(buf + at + 2, buf + at, strlen(buf + at) + 1);
        memcpy(buf + at, ".0", 2);
    }
    return buf;
}

static void put_float(em *e, double v)
{
    char buf[40];
    put(e, fmt_float(v, buf));
}

static void put_bool(em *e, int v)
{
    put(e, v ? "true" : "false");
}

/* Whether a string needs double quotes: characters that single quotes cannot hold
 * (C0/C1 controls, DEL) or that YAML treats as line breaks (NEL, LS, PS). */
static int needs_escapes(const unsigned char *s)
{
    for (; *s; s++) {
        if (*s < 0x20 || *s == 0x7F) return 1;
        if (s[0] == 0xC2 && s[1] >= 0x80 && s[1] <= 0x9F) return 1;                   /* C1, NEL */
        if (s[0] == 0xE2 && s[1] == 0x80 && (s[2] == 0xA8 || s[2] == 0xA9)) return 1; /* LS PS */
    }
    return 0;
}

/* A user string: single-quoted with '' doubling (regexes keep their backslashes), or
 * double-quoted with escapes when it holds characters single quotes cannot. */
static void put_str(em *e, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    if (!needs_escapes(u)) {
        fputc('\'', e->f);
        for (; *u; u++) {
            if (*u == '\'') fputc('\'', e->f);
            fputc(*u, e->f);
        }
        fputc('\'', e->f);
        e->col += (int)strlen(s) + 2; /* approximate: only wrapping uses it */
        return;
    }
    fputc('"', e->f);
    for (; *u; u++) {
        if (*u == '"' || *u == '\\')
            fprintf(e->f, "\\%c", *u);
        else if (*u < 0x20 || *u == 0x7F)
            fprintf(e->f, "\\x%02X", *u);
        else if (u[0] == 0xC2 && u[1] >= 0x80 && u[1] <= 0x9F)
            fprintf(e->f, "\\u%04X", u[1]), u++;
        else if (u[0] == 0xE2 && u[1] == 0x80 && (u[2] == 0xA8 || u[2] == 0xA9))
            fprintf(e->f, "\\u%04X", 0x2000 + (u[2] & 0x3F)), u += 2;
        else
            fputc(*u, e->f);
    }
    fputc('"', e->f);
    e->col += (int)strlen(s) + 2;
}

/* A name-like string (a run, column, plot, plugin or argument name): plain when it is
 * an identifier that no YAML reader takes for null or a bool, else quoted. */
static void put_word(em *e, const char *s)
{
    static const char *const reserved[] = {
        "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
        "yes",  "Yes",  "YES",  "no",   "No",   "NO",   "on",    "On",    "ON",
        "off",  "Off",  "OFF",  "y",    "Y",    "n",    "N",     NULL};
    int plain = (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_';
    for (const char *p = s; plain && *p; p++)
        plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_' ||
                (*p >= '0' && *p <= '9') || *p == '-' || *p == '.';
    for (int i = 0; plain && reserved[i]; i++)
        plain = strcmp(s, reserved[i]) != 0;
    if (plain)
        put(e, s);
    else
        put_str(e, s);
}

/* "DIR/REST" in a new string, or NULL. */
static char *join(const char *dir, const char *rest)
{
    char *p = dir ? malloc(strlen(dir) + strlen(rest) + 2) : NULL;
    if (p) sprintf(p, "%s/%s", dir, rest);
    return p;
}

/* An absolute path, so that a resolved spec means the same file wherever it is written:
 * the canonical one when the file exists; else its directory made canonical (when that
 * exists), else the current directory prepended to a relative path. */
static void put_path(em *e, const char *path)
{
    char *abs = realpath(path, NULL), *dir = NULL;
    const char *slash = strrchr(path, '/');
    if (!abs && slash && slash > path) {
        char *d = strndup(path, (size_t)(slash - path));
        if (d) dir = realpath(d, NULL);
        free(d);
        abs = join(dir, slash + 1);
    }
    if (!abs && path[0] != '/') {
        free(dir);
        dir = realpath(".", NULL);
        abs = join(dir, path);
    }
    free(dir);
    put_str(e, abs ? abs : path);
    free(abs);
}

/* [a, b, c], wrapped at WRAP_COL with continuation lines at `ind` (deeper than the key). */
static void put_floats(em *e, const double *v, long n, int ind)
{
    char buf[40];
    put(e, "[");
    for (long i = 0; i < n; i++) {
        fmt_float(v[i], buf);
        if (i > 0) put(e, ",");
        if (i > 0 && e->col + 1 + (int)strlen(buf) + 1 > WRAP_COL)
            nl(e, ind);
        else if (i > 0)
            put(e, " ");
        put(e, buf);
    }
    put(e, "]");
}

/* --- model -------------------------------------------------------------------------- */

static int init_is_flow(const nn_init *in)
{
    return in->kind != NN_INIT_VALUES && in->kind != NN_INIT_CSV && in->kind != NN_INIT_FROM;
}

/* `KEY: {kind: ..., scale: S}` on one line, or a block map at `ind` for the kinds that
 * carry lists, files or row filters. */
static void put_init(em *e, const char *key, const nn_init *in, int ind)
{
    putf(e, "%s:", key);
    if (init_is_flow(in)) {
        put(e, " {");
        switch (in->kind) {
        case NN_INIT_KAIMING: put(e, "kaiming: "), put_float(e, in->gain); break;
        case NN_INIT_NORMAL: put(e, "normal: "), put_float(e, in->std); break;
        case NN_INIT_UNIFORM:
            put(e, "uniform: {a: "), put_float(e, in->a);
            put(e, ", b: "), put_float(e, in->b), put(e, "}");
            break;
        case NN_INIT_ONES: put(e, "ones: {}"); break;
        default: put(e, "zeros: {}"); break; /* NN_INIT_DEFAULT never survives the parser */
        }
        put(e, ", scale: "), put_float(e, in->scale), put(e, "}");
        return;
    }
    ind += 2;
    if (in->kind == NN_INIT_VALUES) {
        nl(e, ind), put(e, "values: "), put_floats(e, in->values, in->nvalues, ind + 2);
        nl(e, ind), put(e, "transpose: "), put_bool(e, in->transpose);
    } else if (in->kind == NN_INIT_CSV) {
        nl(e, ind), put(e, "csv:");
        nl(e, ind + 2), put(e, "file: "), put_path(e, in->file ? in->file : "");
        nl(e, ind + 2), put(e, "column: "), put_word(e, in->column ? in->column : "");
        nl(e, ind + 2), put(e, "where: {");
        for (int i = 0; i < in->nwhere; i++) {
            if (i > 0) put(e, ", ");
            put_word(e, in->where[i].column), put(e, ": "), put_str(e, in->where[i].equals);
        }
        put(e, "}");
        nl(e, ind + 2), put(e, "transpose: "), put_bool(e, in->transpose);
    } else {
        nl(e, ind), put(e, "from: "), put_path(e, in->file ? in->file : "");
        if (in->tensor) nl(e, ind), put(e, "tensor: "), put_word(e, in->tensor);
    }
    nl(e, ind), put(e, "scale: "), put_float(e, in->scale);
}

static void put_arg_list(em *e, const nn_arg *args, int nargs)
{
    put(e, "{");
    for (int i = 0; i < nargs; i++) {
        const nn_arg *a = &args[i];
        if (i > 0) put(e, ", ");
        put_word(e, a->name), put(e, ": ");
        if (a->type == NN_ARG_INT)
            putf(e, "{int: %lld}", (long long)a->value);
        else if (a->type == NN_ARG_DOUBLE)
            put(e, "{double: "), put_float(e, a->value), put(e, "}");
        else
            put_float(e, a->value);
    }
    put(e, "}");
}

static void put_args(em *e, const nn_layer *l)
{
    put_arg_list(e, l->args, l->nargs);
}

/* The plugins section (left out when there is none): every key written out. */
static void put_plugins(em *e, const nn_spec *s)
{
    if (s->nplugins == 0) return;
    put(e, "\nplugins:");
    for (int i = 0; i < s->nplugins; i++) {
        const nn_plugin_spec *p = &s->plugins[i];
        nl(e, 2), put_word(e, p->name ? p->name : ""), put(e, ":");
        nl(e, 4), put(e, "library: "), put_path(e, p->library ? p->library : "");
        nl(e, 4), put(e, "forward: "), put_str(e, p->forward ? p->forward : "");
        if (p->backward) nl(e, 4), put(e, "backward: "), put_str(e, p->backward);
        nl(e, 4), put(e, "args: "), put_arg_list(e, p->args, p->nargs);
        nl(e, 4), putf(e, "form: %s", p->scalar ? "scalar" : "array");
        nl(e, 4), put(e, "check: "), put_bool(e, p->check);
    }
}

/* A formula's params as {NAME: VALUE, ...} (floats). */
static void put_expr_params(em *e, const nn_expr_spec *x)
{
    put(e, "{");
    for (int i = 0; i < x->nparams; i++) {
        if (i > 0) put(e, ", ");
        put_word(e, x->params[i].name), put(e, ": "), put_float(e, x->params[i].value);
    }
    put(e, "}");
}

/* activation: {expr, params, learn, per} in block form (the expressions issue). */
static void put_expr_activation(em *e, const nn_expr_spec *x, int ind)
{
    nl(e, ind), put(e, "expr: "), put_str(e, x->text ? x->text : "");
    nl(e, ind), put(e, "params: "), put_expr_params(e, x);
    nl(e, ind), put(e, "learn: [");
    for (int i = 0; i < x->nlearn; i++)
        put(e, i ? ", " : ""), put_word(e, x->params[x->learn[i]].name);
    put(e, "]");
    nl(e, ind), putf(e, "per: %s", x->per_unit ? "unit" : "layer");
}

/* One `- KIND:` item with a block map of all its options (ind: the options' indent). */
static void put_layer(em *e, const nn_layer *l)
{
    const int ind = 6;
    putf(e, "\n  - %s:", nn_layer_kind_name(l->kind));
    switch (l->kind) {
    case NN_LAYER_EMBEDDING:
        nl(e, ind), putf(e, "dim: %d", l->dim);
        nl(e, ind), put_init(e, "init", &l->init, ind);
        break;
    case NN_LAYER_LINEAR:
        if (l->out > 0)
            nl(e, ind), putf(e, "out: %d", l->out);
        else /* 0 cannot be written: leaving `out` out means the vocabulary */
            nl(e, ind), put(e, "# out: the vocabulary size");
        nl(e, ind), put(e, "bias: "), put_bool(e, l->bias);
        nl(e, ind), put_init(e, "init", &l->init, ind);
        if (l->bias) nl(e, ind), put_init(e, "bias_init", &l->bias_init, ind);
        break;
    case NN_LAYER_BATCHNORM:
        nl(e, ind), putf(e, "variance: %s", l->unbiased ? "unbiased" : "biased");
        nl(e, ind), put(e, "eps: "), put_float(e, l->eps);
        nl(e, ind), put(e, "momentum: "), put_float(e, l->momentum);
        nl(e, ind), putf(e, "running: %s", l->running_std ? "std" : "var");
        nl(e, ind), put_init(e, "init", &l->init, ind);
        nl(e, ind), put_init(e, "bias_init", &l->bias_init, ind);
        break;
    case NN_LAYER_ACTIVATION: /* NAME, or {NAME: {ARG: VALUE, ...}} with overrides */
        if (l->expr) {
            put_expr_activation(e, l->expr, ind);
            break;
        }
        if (l->nargs == 0) {
            put(e, " "), put_word(e, l->activation ? l->activation : "");
            break;
        }
        nl(e, ind), put_word(e, l->activation ? l->activation : ""), put(e, ": ");
        put_args(e, l);
        break;
    case NN_LAYER_NGRAM:
        nl(e, ind), putf(e, "n: %d", l->n);
        nl(e, ind), put(e, "smoothing: "), put_float(e, l->smoothing);
        break;
    /* flatten, tanh, relu, sigmoid, onehot: no options */
    default: put(e, " {}"); break;
    }
}

/* --- data --------------------------------------------------------------------------- */

static void put_split(em *e, const nn_data_spec *d)
{
    static const char *const names[NN_SPLIT_COUNT] = {"train", "dev", "test"};
    put(e, "\n  split:");
    for (int i = 0; i < NN_SPLIT_COUNT; i++) {
        nl(e, 4), putf(e, "%s: ", names[i]);
        if (d->split_counts)
            putf(e, "%ld", d->split_count[i]);
        else
            put_float(e, d->split[i]);
    }
    nl(e, 4), put(e, "shuffle: ");
    if (!d->shuffle) {
        put(e, "false");
        return;
    }
    putf(e, "{seed: %llu, compat: %s}", (unsigned long long)d->shuffle_seed,
         d->shuffle_compat == NN_SHUFFLE_PYTHON ? "python" : "native");
}

static void put_data(em *e, const nn_data_spec *d)
{
    put(e, "\ndata:");
    switch (d->kind) {
    case NN_DATA_TEXT:
        put(e, "\n  source: "), put_path(e, d->source ? d->source : "");
        if (d->filter) put(e, "\n  filter: "), put_str(e, d->filter);
        put(e, "\n  tokens: ");
        if (d->tokens == NN_TOKENS_PATTERN)
            put(e, "{pattern: "), put_str(e, d->token_pattern ? d->token_pattern : ""), put(e, "}");
        else
            put(e, "chars");
        putf(e, "\n  context: %d", d->context);
        break;
    case NN_DATA_GENERATE:
        putf(e, "\n  generate: %s", d->generator == NN_GEN_XOR ? "xor" : "moons");
        putf(e, "\n  n: %ld", d->gen_n);
        put(e, "\n  noise: "), put_float(e, d->gen_noise);
        putf(e, "\n  seed: %llu", (unsigned long long)d->gen_seed);
        break;
    case NN_DATA_CSV:
        put(e, "\n  csv: "), put_path(e, d->source ? d->source : "");
        put(e, "\n  x: [");
        for (int i = 0; i < d->nx; i++) {
            if (i > 0) put(e, ", ");
            put_word(e, d->x_cols[i]);
        }
        put(e, "]\n  y: "), put_word(e, d->y_col ? d->y_col : "");
        break;
    case NN_DATA_INLINE:
        put(e, "\n  inline:\n    x:");
        for (int r = 0; r < d->inline_rows; r++) {
            nl(e, 6), put(e, "- ");
            put_floats(e, d->inline_x + (long)r * d->inline_cols, d->inline_cols, 10);
        }
        if (d->inline_rows == 0) put(e, " []");
        put(e, "\n    y: "), put_floats(e, d->inline_y, d->inline_rows, 6);
        break;
    }
    put_split(e, d);
}

/* --- train -------------------------------------------------------------------------- */

static void put_lr(em *e, const nn_lr_spec *lr)
{
    if (lr->kind == NN_LR_CONSTANT && lr->warmup <= 0) {
        put(e, "\n  lr: "), put_float(e, lr->value);
        return;
    }
    put(e, "\n  lr:");
    switch (lr->kind) {
    case NN_LR_CONSTANT: put(e, "\n    constant: "), put_float(e, lr->value); break;
    case NN_LR_STEPS:
        put(e, "\n    steps:\n      boundaries: [");
        for (int i = 0; i < lr->nboundaries; i++)
            putf(e, "%s%ld", i ? ", " : "", lr->boundaries[i]);
        put(e, "]\n      values: "), put_floats(e, lr->values, lr->nboundaries + 1, 8);
        break;
    case NN_LR_EXPONENTIAL:
        put(e, "\n    exponential: {start: "), put_float(e, lr->start);
        put(e, ", gamma: "), put_float(e, lr->gamma), put(e, "}");
        break;
    case NN_LR_COSINE:
    case NN_LR_LINEAR:
        putf(e, "\n    %s: {start: ", lr->kind == NN_LR_COSINE ? "cosine" : "linear");
        put_float(e, lr->start), put(e, ", end: "), put_float(e, lr->end), put(e, "}");
        break;
    case NN_LR_FIND:
        put(e, "\n    find: {min: "), put_float(e, lr->start);
        put(e, ", max: "), put_float(e, lr->end), put(e, "}");
        break;
    }
    if (lr->warmup > 0) putf(e, "\n    warmup: %ld", lr->warmup);
}

static void put_train(em *e, const nn_train_spec *t)
{
    static const char *const losses[] = {"cross_entropy", "hinge", "mse", "value"};
    putf(e, "\ntrain:\n  steps: %ld", t->steps);
    if (t->full_batch)
        put(e, "\n  batch: full");
    else
        putf(e, "\n  batch: %d", t->batch);
    /* cross_entropy takes no options: it is the mean over the batch */
    if (t->loss == NN_LOSS_HINGE || t->loss == NN_LOSS_MSE)
        putf(e, "\n  loss: {%s: {reduce: %s}}", losses[t->loss], t->loss_sum ? "sum" : "mean");
    else if (t->loss == NN_LOSS_VALUE)
        put(e, "\n  loss: value"); /* no options: the sum of the outputs */
    else if (t->loss == NN_LOSS_EXPR && t->loss_expr) {
        put(e, "\n  loss: {expr: "), put_str(e, t->loss_expr->text ? t->loss_expr->text : "");
        if (t->loss_expr->nparams) put(e, ", params: "), put_expr_params(e, t->loss_expr);
        putf(e, ", reduce: %s}", t->loss_sum ? "sum" : "mean");
    } else
        put(e, "\n  loss: cross_entropy");
    if (t->optimizer == NN_OPT_ADAM) {
        put(e, "\n  optimizer:\n    adam: {beta1: "), put_float(e, t->beta1);
        put(e, ", beta2: "), put_float(e, t->beta2);
        put(e, ", eps: "), put_float(e, t->eps);
        put(e, ", weight_decay: "), put_float(e, t->weight_decay), put(e, "}");
    } else {
        put(e, "\n  optimizer:\n    sgd: {momentum: "), put_float(e, t->momentum);
        if (t->momentum > 0) put(e, ", nesterov: "), put_bool(e, t->nesterov); /* else moot */
        put(e, "}");
    }
    put_lr(e, &t->lr);
    /* no term at all: the plain 0 (reduce and params mean nothing then) */
    if (t->l2 == 0 && t->l2_reduce == NN_L2_MEAN && !t->l2_all) {
        put(e, "\n  l2: "), put_float(e, t->l2);
        return;
    }
    put(e, "\n  l2: {coef: "), put_float(e, t->l2);
    putf(e, ", reduce: %s, params: %s}", t->l2_reduce == NN_L2_SUM ? "sum" : "mean",
         t->l2_all ? "all" : "weights");
}

/* --- eval, sample, report, top level -------------------------------------------------- */

static void put_eval(em *e, const nn_eval_spec *ev)
{
    static const char *const names[NN_SPLIT_COUNT] = {"train", "dev", "test"};
    putf(e, "\neval:\n  every: %ld\n  splits: [", ev->every);
    for (int i = 0, first = 1; i < NN_SPLIT_COUNT; i++) {
        if (!(ev->splits & 1 << i)) continue;
        putf(e, "%s%s", first ? "" : ", ", names[i]);
        first = 0;
    }
    put(e, "]");
}

static void put_sample(em *e, const nn_sample_spec *sa)
{
    putf(e, "\nsample:\n  count: %d\n  seed: %llu", sa->count, (unsigned long long)sa->seed);
    put(e, "\n  temperature: "), put_float(e, sa->temperature);
    putf(e, "\n  max_len: %d", sa->max_len);
    if (sa->prefix) put(e, "\n  prefix: "), put_str(e, sa->prefix);
}

static void put_report(em *e, const nn_report_spec *r)
{
    put(e, "\nreport:\n  plots: ");
    if (r->plots_all || r->nplots == 0) {
        put(e, r->plots_all ? "all" : "none");
    } else {
        put(e, "[");
        for (int i = 0; i < r->nplots; i++) {
            if (i > 0) put(e, ", ");
            put_word(e, r->plots[i]);
        }
        put(e, "]");
    }
    if (r->every > 0) putf(e, "\n  every: %ld", r->every); /* 0: the runtime's default */
}

/* checkpoint and init_from only when given: specs without them resolve (and hash) as before */
static void put_checkpoint(em *e, const nn_spec *s)
{
    if (s->checkpoint.every > 0 || s->checkpoint.keep_best)
        putf(e, "\ncheckpoint:\n  every: %ld\n  keep: %s", s->checkpoint.every,
             s->checkpoint.keep_best ? "best" : "last");
    if (s->init_from) put(e, "\ninit_from: "), put_path(e, s->init_from);
}

#define HEADER "# resolved by nnrun "

/* The FILE of a resolved spec's header line, when `path` is one (malloc'd), else NULL. */
static char *resolved_from(const char *path)
{
    char line[8192], *from = NULL;
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    if (fgets(line, sizeof line, f) && !strncmp(line, HEADER, strlen(HEADER)) &&
        (from = strstr(line, " from "))) {
        from += 6;
        from[strcspn(from, "\r\n")] = 0;
        from = strdup(from);
    }
    fclose(f);
    return from;
}

/* The header comment names the file resolved.  A resolved spec fed back keeps the name
 * of its origin, so that resolving is idempotent byte for byte.  A newline in the name
 * would end the comment. */
static void put_header(em *e, const char *path)
{
    char *abs = path ? resolved_from(path) : NULL;
    if (!abs && path) abs = realpath(path, NULL);
    const char *p = abs ? abs : path ? path : "?";
    fprintf(e->f, HEADER "%s from ", PACKAGE_VERSION);
    for (; *p; p++)
        fputc(*p == '\n' || *p == '\r' ? '?' : *p, e->f);
    fputc('\n', e->f);
    free(abs);
}

int nn_spec_emit(const nn_spec *s, FILE *out)
{
    if (!s || !out) return -1;
    em e = {out, 0};
    put_header(&e, s->path);
    put(&e, "name: "), put_word(&e, s->name ? s->name : "");
    putf(&e, "\nseed: %llu", (unsigned long long)s->seed);
    putf(&e, "\nrng: %s", s->rng == NN_RNG_TORCH ? "torch" : "native");
    put_data(&e, &s->data);
    put_plugins(&e, s);
    put(&e, "\nmodel:");
    for (int i = 0; i < s->nlayers; i++)
        put_layer(&e, &s->layers[i]);
    put_train(&e, &s->train);
    put_eval(&e, &s->eval);
    if (s->data.kind == NN_DATA_TEXT) put_sample(&e, &s->sample); /* sampling needs tokens */
    put_report(&e, &s->report);
    put_checkpoint(&e, s);
    put(&e, "\n");
    return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
