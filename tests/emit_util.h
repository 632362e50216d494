/* emit_util.h — what the emitter tests share (test_emit.c, test_emit_hand.c): emitting to
 * a temporary file, field-by-field comparison of two nn_spec, and the round trip. */
#ifndef EMIT_UTIL_H
#define EMIT_UTIL_H

#include <math.h>
#include <unistd.h>

#include "testutil.h"

#include "parser/diag.h"
#include "parser/spec.h"

/* --- helpers ------------------------------------------------------------------------ */

/* Emits s into a fresh temporary .yaml file; returns its text, the path in `path`. */
static inline char *emit_tmp(const nn_spec *s, char *path, size_t size)
{
    snprintf(path, size, "/tmp/nn_emit_XXXXXX.yaml");
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(nn_spec_emit(s, f), 0);
    fclose(f);
    char *text = tu_read_file(path);
    assert_non_null(text);
    return text;
}

/* The file a resolved text names in its header comment (up to the end of the line). */
static inline const char *header_from(const char *text)
{
    assert_true(strncmp(text, "# resolved by nnrun ", 20) == 0);
    const char *from = strstr(text, " from ");
    assert_non_null(from);
    return from + 6;
}

static inline void writef(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Field comparisons that name the field; expressions, so they chain with commas. */
static inline void eq_i(const char *what, long long x, long long y)
{
    if (x != y) fail_msg("%s: %lld != %lld", what, x, y);
}
static inline void eq_d(const char *what, double x, double y)
{
    if (x != y && !(isnan(x) && isnan(y))) fail_msg("%s: %.17g != %.17g", what, x, y);
}
static inline void eq_s(const char *what, const char *x, const char *y)
{
    if (!x != !y || (x && strcmp(x, y)))
        fail_msg("%s: '%s' != '%s'", what, x ? x : "(null)", y ? y : "(null)");
}
#define EQ_I(f) eq_i(#f, (long long)(a)->f, (long long)(b)->f)
#define EQ_D(f) eq_d(#f, (a)->f, (b)->f)
#define EQ_S(f) eq_s(#f, (a)->f, (b)->f)

/* Paths compare by the file they name (the emitter makes them absolute). */
static inline void eq_path(const char *what, const char *x, const char *y)
{
    if (!x || !y) {
        if (x != y) fail_msg("%s: one is NULL", what);
        return;
    }
    char *rx = realpath(x, NULL), *ry = realpath(y, NULL);
    int same = rx && ry ? !strcmp(rx, ry) : !strcmp(x, y) || (!rx && !ry);
    free(rx);
    free(ry);
    if (!same) fail_msg("%s: '%s' != '%s'", what, x, y);
}

static inline void eq_init(const nn_init *a, const nn_init *b)
{
    EQ_I(kind);
    switch (a->kind) {
    case NN_INIT_KAIMING: EQ_D(gain); break;
    case NN_INIT_NORMAL: EQ_D(std); break;
    case NN_INIT_UNIFORM: EQ_D(a), EQ_D(b); break;
    case NN_INIT_VALUES:
        EQ_I(nvalues), EQ_I(transpose);
        for (long i = 0; i < a->nvalues; i++)
            EQ_D(values[i]);
        break;
    case NN_INIT_CSV:
        eq_path("init.file", a->file, b->file);
        EQ_S(column), EQ_I(nwhere), EQ_I(transpose);
        for (int i = 0; i < a->nwhere; i++)
            EQ_S(where[i].column), EQ_S(where[i].equals);
        break;
    case NN_INIT_FROM: eq_path("init.file", a->file, b->file), EQ_S(tensor); return;
    default: break;
    }
    EQ_D(scale);
}

static inline void eq_layer(const nn_layer *a, const nn_layer *b)
{
    EQ_I(kind);
    switch (a->kind) {
    case NN_LAYER_EMBEDDING: EQ_I(dim), eq_init(&a->init, &b->init); break;
    case NN_LAYER_LINEAR:
        EQ_I(out), EQ_I(bias), eq_init(&a->init, &b->init);
        if (a->bias) eq_init(&a->bias_init, &b->bias_init);
        break;
    case NN_LAYER_BATCHNORM:
        EQ_I(unbiased), EQ_D(eps), EQ_D(momentum), EQ_I(running_std);
        eq_init(&a->init, &b->init), eq_init(&a->bias_init, &b->bias_init);
        break;
    case NN_LAYER_ACTIVATION:
        EQ_S(activation), EQ_I(nargs);
        for (int i = 0; i < a->nargs; i++)
            EQ_S(args[i].name), EQ_I(args[i].type), EQ_D(args[i].value);
        break;
    case NN_LAYER_NGRAM: EQ_I(n), EQ_D(smoothing); break;
    default: break;
    }
}

static inline void eq_data(const nn_data_spec *a, const nn_data_spec *b)
{
    EQ_I(kind);
    switch (a->kind) {
    case NN_DATA_TEXT:
        eq_path("data.source", a->source, b->source);
        EQ_S(filter), EQ_I(tokens), EQ_I(context);
        if (a->tokens == NN_TOKENS_PATTERN) EQ_S(token_pattern);
        break;
    case NN_DATA_GENERATE: EQ_I(generator), EQ_I(gen_n), EQ_D(gen_noise), EQ_I(gen_seed); break;
    case NN_DATA_CSV:
        eq_path("data.source", a->source, b->source);
        EQ_I(nx), EQ_S(y_col);
        for (int i = 0; i < a->nx; i++)
            EQ_S(x_cols[i]);
        break;
    case NN_DATA_INLINE:
        EQ_I(inline_rows), EQ_I(inline_cols);
        for (int i = 0; i < a->inline_rows; i++) {
            EQ_D(inline_y[i]);
            for (int j = 0; j < a->inline_cols; j++)
                EQ_D(inline_x[i * a->inline_cols + j]);
        }
        break;
    }
    EQ_I(split_counts), EQ_I(shuffle);
    for (int i = 0; i < NN_SPLIT_COUNT; i++)
        a->split_counts ? EQ_I(split_count[i]) : EQ_D(split[i]);
    if (a->shuffle) EQ_I(shuffle_seed), EQ_I(shuffle_compat);
}

static inline void eq_train(const nn_train_spec *a, const nn_train_spec *b)
{
    EQ_I(steps), EQ_I(full_batch), EQ_I(loss), EQ_I(loss_sum), EQ_I(optimizer);
    if (!a->full_batch) EQ_I(batch);
    if (a->optimizer == NN_OPT_SGD)
        EQ_D(momentum), EQ_I(nesterov);
    else
        EQ_D(beta1), EQ_D(beta2), EQ_D(eps), EQ_D(weight_decay);
    EQ_D(l2), EQ_I(l2_reduce), EQ_I(l2_all);
    EQ_I(lr.kind), EQ_I(lr.warmup);
    switch (a->lr.kind) {
    case NN_LR_CONSTANT: EQ_D(lr.value); break;
    case NN_LR_STEPS:
        EQ_I(lr.nboundaries);
        for (int i = 0; i < a->lr.nboundaries; i++)
            EQ_I(lr.boundaries[i]), EQ_D(lr.values[i]);
        EQ_D(lr.values[a->lr.nboundaries]);
        break;
    case NN_LR_EXPONENTIAL: EQ_D(lr.start), EQ_D(lr.gamma); break;
    default: EQ_D(lr.start), EQ_D(lr.end); break;
    }
}

/* The meaningful fields (those the emitter writes) of two specs are equal. */
static inline void eq_plugin(const nn_plugin_spec *a, const nn_plugin_spec *b)
{
    EQ_S(name), EQ_S(forward), EQ_I(nargs), EQ_I(scalar), EQ_I(check);
    eq_path("plugins.library", a->library, b->library);
    if (a->backward || b->backward) EQ_S(backward);
    for (int i = 0; i < a->nargs; i++)
        EQ_S(args[i].name), EQ_I(args[i].type), EQ_D(args[i].value);
}

static inline void eq_spec(const nn_spec *a, const nn_spec *b)
{
    EQ_S(name), EQ_I(seed), EQ_I(rng), EQ_I(nlayers);
    eq_data(&a->data, &b->data);
    for (int i = 0; i < a->nlayers; i++)
        eq_layer(&a->layers[i], &b->layers[i]);
    EQ_I(nplugins);
    for (int i = 0; i < a->nplugins; i++)
        eq_plugin(&a->plugins[i], &b->plugins[i]);
    eq_train(&a->train, &b->train);
    EQ_I(eval.every), EQ_I(eval.splits);
    if (a->data.kind == NN_DATA_TEXT) {
        EQ_I(sample.count), EQ_I(sample.seed), EQ_D(sample.temperature), EQ_I(sample.max_len);
        EQ_S(sample.prefix);
    }
    EQ_I(report.plots_all), EQ_I(report.every);
    if (!a->report.plots_all) {
        EQ_I(report.nplots);
        for (int i = 0; i < a->report.nplots; i++)
            EQ_S(report.plots[i]);
    }
}

/* Emits s, loads that, emits again: the same text (after the header) and the same spec.
 * Returns the first emitted text (the caller frees it). */
static inline char *round_trip(const nn_spec *s)
{
    char p1[64], p2[64];
    char *t1 = emit_tmp(s, p1, sizeof p1);
    nn_diag *d = nn_diag_new();
    nn_spec *s2 = nn_spec_load(p1, NULL, 0, d);
    if (!s2) {
        nn_diag_print(d, stderr);
        fprintf(stderr, "--- emitted text:\n%s", t1);
    }
    assert_non_null(s2);
    char *t2 = emit_tmp(s2, p2, sizeof p2);
    if (strcmp(t1, t2)) fprintf(stderr, "--- first:\n%s--- second:\n%s", t1, t2);
    assert_string_equal(t1, t2); /* byte for byte: the header keeps naming the origin */
    char *origin = realpath(s->path, NULL);
    size_t n = origin ? strlen(origin) : 0;
    if (origin && (strncmp(header_from(t1), origin, n) || header_from(t1)[n] != '\n'))
        fail_msg("the header does not name '%s'", origin);
    free(origin);
    eq_spec(s, s2);
    nn_spec_free(s2);
    nn_diag_free(d);
    unlink(p1);
    unlink(p2);
    free(t2);
    return t1;
}

static inline void assert_has(const char *text, const char *want)
{
    if (strstr(text, want)) return;
    fprintf(stderr, "--- emitted:\n%s--- end\n", text); /* fail_msg truncates */
    fail_msg("missing '%s'", want);
}

#endif
