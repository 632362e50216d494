/* spec_data.c — the `data:` section → nn_data_spec.
 *
 * Exactly one source kind: `source: FILE` (text, one item per line), `generate: moons|xor`,
 * `csv: FILE` (with `x: [columns]`, `y: column`) or `inline: {x: [[...], ...], y: [...]}`.
 * Keys of another kind are errors ("only for text data").  `split` is fractions summing
 * to 1 or integer counts; without it text splits 0.8 / 0.1 / 0.1 and the rest is all
 * train.  Paths are relative to the file that names them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_int.h"

enum { K_TEXT = 0, K_GEN, K_CSV, K_INLINE, K_NKINDS };

static const char *const kind_keys[] = {"source", "generate", "csv", "inline", NULL};
static const char *const kind_what[] = {"text data (source: FILE)",
                                        "generated data (generate: moons|xor)",
                                        "csv data (csv: FILE)", "inline data"};
static const char *const kind_short[] = {"text", "generated", "csv", "inline"};

static const struct {
    const char *key;
    int kind; /* -1: any kind */
} data_keys[] = {{"source", K_TEXT}, {"generate", K_GEN}, {"csv", K_CSV},      {"inline", K_INLINE},
                 {"filter", K_TEXT}, {"tokens", K_TEXT},  {"context", K_TEXT}, {"examples", K_TEXT}, {"n", K_GEN},
                 {"noise", K_GEN},   {"seed", K_GEN},     {"x", K_CSV},        {"y", K_CSV},
                 {"split", -1}};
#define NKEYS ((int)(sizeof data_keys / sizeof data_keys[0]))

static void data_shuffle(nn_sctx *c, const nn_ynode *n, nn_data_spec *d)
{
    static const char *const keys[] = {"seed", "compat", NULL};
    static const char *const compat[] = {"native", "python", "torch", NULL};
    char buf[128];
    if (nn_sv_type(n) == NN_VBOOL) {
        d->shuffle = n->text[0] == 't' || n->text[0] == 'T';
        return;
    }
    if (n->kind != NN_YMAP) {
        nn_sv_error(c, n->mark,
                    "expected {seed: N, compat: native|python|torch} or false for "
                    "'data.split.shuffle', got %s",
                    nn_sv_show(n, buf, sizeof buf));
        return;
    }
    d->shuffle = 1;
    for (int i = 0; i < n->n; i++) {
        const nn_ynode *v = nn_ymap_value(n, i);
        int e;
        if (nn_sv_key_is(n, i, "seed"))
            nn_sv_u64(c, v, "data.split.shuffle.seed", &d->shuffle_seed);
        else if (nn_sv_key_is(n, i, "compat")) {
            if (nn_sv_enum(c, v, "data.split.shuffle.compat", compat, &e))
                d->shuffle_compat = (nn_shuffle_compat)e;
        } else
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "data.split.shuffle", keys);
    }
}

/* Counts: every value an integer ≥ 0, one above 0.  All-0/1 integers summing to 1 are
 * fractions ({train: 1} is "everything"). */
static void split_counts(nn_sctx *c, const nn_ynode *n, const nn_ynode *const *val, nn_data_spec *d)
{
    static const char *const names[] = {"train", "dev", "test"};
    long v[NN_SPLIT_COUNT] = {0, 0, 0}, sum = 0;
    int ok = 1, small = 1;
    for (int k = 0; k < NN_SPLIT_COUNT; k++) {
        char path[64];
        snprintf(path, sizeof path, "data.split.%s", names[k]);
        if (val[k] && !nn_sv_long(c, val[k], path, 0, 1000000000000L, &v[k])) ok = 0;
        small &= v[k] <= 1;
        sum += v[k];
    }
    if (!ok) return;
    if (small && sum == 1) {
        for (int k = 0; k < NN_SPLIT_COUNT; k++)
            d->split[k] = (double)v[k];
        return;
    }
    if (sum == 0) {
        nn_sv_error(c, n->mark, "'data.split' counts are all 0: at least one split needs items");
        return;
    }
    d->split_counts = 1;
    for (int k = 0; k < NN_SPLIT_COUNT; k++) {
        d->split_count[k] = v[k];
        d->split[k] = 0;
    }
}

/* Returns whether any of train, dev, test was given. */
static int data_split(nn_sctx *c, const nn_ynode *n, nn_data_spec *d)
{
    static const char *const keys[] = {"train", "dev", "test", "shuffle", NULL};
    static const nn_range unit = {0, 1, 0, 0};
    if (!nn_sv_map(c, n, "data.split")) return 0;
    d->split_mark = n->mark;
    const nn_ynode *val[NN_SPLIT_COUNT] = {NULL, NULL, NULL}, *big = NULL;
    int nint = 0, nfloat = 0, given = 0;
    for (int i = 0; i < n->n; i++) {
        const nn_ynode *v = nn_ymap_value(n, i);
        int k = -1;
        for (int j = 0; j < NN_SPLIT_COUNT; j++)
            if (nn_sv_key_is(n, i, keys[j])) k = j;
        if (k >= 0) {
            val[k] = v;
            given = 1;
            nn_vtype t = nn_sv_type(v);
            nint += t == NN_VINT;
            nfloat += t == NN_VFLOAT;
            if (t == NN_VINT && !big && nn_sv_number(v) >= 2) big = v;
        } else if (nn_sv_key_is(n, i, "shuffle")) {
            data_shuffle(c, v, d);
        } else {
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "data.split", keys);
        }
    }
    if (!given) return 0;
    if (big && nfloat) {
        nn_sv_error(c, big->mark,
                    "'data.split' mixes a count (%.20s) with fractions: write all splits as "
                    "counts or all as fractions",
                    big->text);
        return 1;
    }
    if (nint && !nfloat) {
        split_counts(c, n, val, d);
        return 1;
    }
    double f[NN_SPLIT_COUNT] = {0, 0, 0};
    int bad = 0;
    for (int k = 0; k < NN_SPLIT_COUNT; k++) {
        char path[64];
        snprintf(path, sizeof path, "data.split.%s", keys[k]);
        if (val[k]) bad |= !nn_sv_float(c, val[k], path, unit, &f[k]);
    }
    double sum = f[0] + f[1] + f[2];
    if (!bad && fabs(sum - 1) > 1e-9) {
        nn_sv_error(c, n->mark,
                    "'data.split' fractions must sum to 1, got %.10g (train %g + dev %g + test %g)",
                    sum, f[0], f[1], f[2]);
        return 1;
    }
    memcpy(d->split, f, sizeof f);
    return 1;
}

static void data_tokens(nn_sctx *c, const nn_ynode *n, nn_data_spec *d)
{
    static const char *const tokens[] = {"chars", NULL}, *const keys[] = {"pattern", NULL};
    int e;
    d->tokens_mark = n->mark;
    if (n->kind != NN_YMAP) {
        if (nn_sv_enum(c, n, "data.tokens", tokens, &e))
            d->tokens = NN_TOKENS_CHARS;
        else
            nn_diag_note(c->d, "or a regular expression: tokens: {pattern: '[a-z]+|.'}");
        return;
    }
    for (int i = 0; i < n->n; i++) {
        if (!nn_sv_key_is(n, i, "pattern")) {
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "data.tokens", keys);
        } else if (nn_sv_regex(c, nn_ymap_value(n, i), "data.tokens.pattern", &d->token_pattern)) {
            d->tokens = NN_TOKENS_PATTERN;
            d->tokens_mark = nn_ymap_value(n, i)->mark;
        }
    }
    if (nn_ymap_find(n, "pattern", 7) < 0) nn_sv_missing(c, n, "pattern", "data.tokens");
}

/* x: [column names], non-empty. */
static void csv_columns(nn_sctx *c, const nn_ynode *n, nn_data_spec *d)
{
    if (!nn_sv_seq(c, n, "data.x")) return;
    if (n->n == 0) {
        nn_sv_error(c, n->mark, "'data.x' must name at least one column");
        return;
    }
    d->x_cols = calloc((size_t)n->n, sizeof *d->x_cols);
    if (!d->x_cols) abort();
    d->x_mark = n->mark;
    d->nx = n->n;
    for (int i = 0; i < n->n; i++) {
        char path[64];
        snprintf(path, sizeof path, "data.x.%d", i);
        nn_sv_string(c, n->items[i], path, &d->x_cols[i]);
    }
}

/* A sequence of numbers into out[0..n) (allocated by the caller). */
static int numbers(nn_sctx *c, const nn_ynode *n, const char *path, double *out)
{
    static const nn_range any = {-INFINITY, INFINITY, 0, 0};
    int ok = 1;
    for (int i = 0; i < n->n; i++) {
        char p[96];
        snprintf(p, sizeof p, "%s.%d", path, i);
        ok &= nn_sv_float(c, n->items[i], p, any, &out[i]);
    }
    return ok;
}

static void data_inline(nn_sctx *c, const nn_ynode *n, nn_data_spec *d)
{
    static const char *const keys[] = {"x", "y", NULL};
    if (!nn_sv_map(c, n, "data.inline")) return;
    const nn_ynode *x = NULL, *y = NULL;
    for (int i = 0; i < n->n; i++) {
        if (nn_sv_key_is(n, i, "x"))
            x = nn_ymap_value(n, i);
        else if (nn_sv_key_is(n, i, "y"))
            y = nn_ymap_value(n, i);
        else
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "data.inline", keys);
    }
    if (!x) nn_sv_missing(c, n, "x", "data.inline");
    if (!y) nn_sv_missing(c, n, "y", "data.inline");
    if (!x || !nn_sv_seq(c, x, "data.inline.x")) return;
    if (x->n == 0 || x->items[0]->kind != NN_YSEQ || x->items[0]->n == 0) {
        nn_sv_error(c, x->n ? x->items[0]->mark : x->mark,
                    "'data.inline.x' needs rows of at least one number, e.g. [[0, 1], [1, 0]]");
        return;
    }
    int rows = x->n, cols = x->items[0]->n, ok = 1;
    for (int r = 0; r < rows; r++) { /* first the shape: rows × cols is then bounded */
        char path[64];
        const nn_ynode *row = x->items[r];
        snprintf(path, sizeof path, "data.inline.x.%d", r);
        if (!nn_sv_seq(c, row, path)) {
            ok = 0;
        } else if (row->n != cols) {
            nn_sv_error(c, row->mark,
                        "'%s' has %d values, but row 0 has %d: every row needs the same number",
                        path, row->n, cols);
            ok = 0;
        }
    }
    if (ok) {
        d->inline_x = calloc((size_t)rows * (size_t)cols, sizeof *d->inline_x);
        if (!d->inline_x) abort();
        d->inline_rows = rows;
        d->inline_cols = cols;
        for (int r = 0; r < rows; r++) {
            char path[64];
            snprintf(path, sizeof path, "data.inline.x.%d", r);
            numbers(c, x->items[r], path, d->inline_x + (size_t)r * (size_t)cols);
        }
    }
    if (!y || !nn_sv_seq(c, y, "data.inline.y")) return;
    if (y->n != rows) {
        nn_sv_error(c, y->mark,
                    "'data.inline.y' has %d values, but 'data.inline.x' has %d rows: one target "
                    "per row",
                    y->n, rows);
        return;
    }
    d->inline_y = calloc((size_t)rows, sizeof *d->inline_y);
    if (!d->inline_y) abort();
    numbers(c, y, "data.inline.y", d->inline_y);
}

/* The value of key `key` (data_keys[k]) for data of kind `kind`. */
static void data_key(nn_sctx *c, const nn_ynode *v, int k, nn_spec *s, int *split_given)
{
    static const char *const gens[] = {"moons", "xor", NULL};
    static const nn_range nonneg = {0, INFINITY, 0, 0};
    nn_data_spec *d = &s->data;
    const char *key = data_keys[k].key;
    char path[32], *p;
    int e;
    snprintf(path, sizeof path, "data.%s", key);
    if (!strcmp(key, "source") || !strcmp(key, "csv")) {
        if ((p = nn_sv_path(c, v, path))) {
            free(d->source);
            d->source = p;
            d->source_mark = v->mark;
        }
    } else if (!strcmp(key, "generate")) {
        if (nn_sv_enum(c, v, path, gens, &e)) d->generator = e ? NN_GEN_XOR : NN_GEN_MOONS;
    } else if (!strcmp(key, "inline")) {
        data_inline(c, v, d);
    } else if (!strcmp(key, "filter")) {
        if (nn_sv_regex(c, v, path, &d->filter)) d->filter_mark = v->mark;
    } else if (!strcmp(key, "tokens")) {
        data_tokens(c, v, d);
    } else if (!strcmp(key, "context")) {
        if (nn_sv_int(c, v, path, 1, 256, &d->context)) d->context_mark = v->mark;
        c->context_given = 1;
    } else if (!strcmp(key, "examples")) {
        static const char *const ex[] = {"next", "sequence", NULL};
        nn_sv_enum(c, v, path, ex, &d->sequence);
    } else if (!strcmp(key, "n")) {
        nn_sv_long(c, v, path, 1, 10000000, &d->gen_n);
    } else if (!strcmp(key, "noise")) {
        nn_sv_float(c, v, path, nonneg, &d->gen_noise);
    } else if (!strcmp(key, "seed")) {
        nn_sv_u64(c, v, path, &d->gen_seed);
    } else if (!strcmp(key, "x")) {
        csv_columns(c, v, d);
    } else if (!strcmp(key, "y")) {
        nn_sv_string(c, v, path, &d->y_col);
        d->y_mark = v->mark;
    } else {
        *split_given = data_split(c, v, d);
    }
}

void nn_spec_data(nn_sctx *c, const nn_ynode *n, nn_spec *s)
{
    static const char *keys[NKEYS + 1];
    nn_data_spec *d = &s->data;
    if (!nn_sv_map(c, n, "data")) return;
    for (int k = 0; k < NKEYS; k++)
        keys[k] = data_keys[k].key;
    d->context_mark = d->split_mark = d->source_mark = d->kind_mark = d->tokens_mark = n->mark;
    int kind = -1, split_given = 0;
    const nn_ynode *kind_key = NULL;
    for (int i = 0; i < n->n; i++) {
        for (int k = 0; kind_keys[k]; k++) {
            if (!nn_sv_key_is(n, i, kind_keys[k])) continue;
            if (kind_key) {
                nn_sv_error(c, nn_ymap_key(n, i)->mark,
                            "'data' has two sources, '%s' and '%s': choose one", kind_keys[kind],
                            kind_keys[k]);
                continue;
            }
            kind = k;
            kind_key = nn_ymap_key(n, i);
        }
    }
    if (!kind_key) {
        nn_sv_error(c, n->mark,
                    "'data' needs a source: one of source: FILE (text), generate: "
                    "moons|xor, csv: FILE or inline: {x: [[...]], y: [...]}");
        return;
    }
    d->kind = (nn_data_kind)kind;
    d->kind_mark = kind_key->mark;
    c->data_kind_known = 1;
    for (int i = 0; i < n->n; i++) {
        const nn_ynode *key = nn_ymap_key(n, i);
        int k = -1;
        for (int j = 0; j < NKEYS; j++)
            if (nn_yscalar_is(key, data_keys[j].key)) k = j;
        if (k < 0) {
            nn_sv_unknown_key(c, key, "data", keys);
        } else if (k < K_NKINDS && key != kind_key) {
            continue; /* a second source: reported above */
        } else if (data_keys[k].kind >= 0 && data_keys[k].kind != kind) {
            nn_sv_error(c, key->mark, "'data.%s' is only for %s, not for %s data", data_keys[k].key,
                        kind_what[data_keys[k].kind], kind_short[kind]);
        } else {
            data_key(c, nn_ymap_value(n, i), k, s, &split_given);
        }
    }
    if (kind == K_CSV) {
        if (nn_ymap_find(n, "x", 1) < 0) nn_sv_missing(c, n, "x", "data");
        if (nn_ymap_find(n, "y", 1) < 0) nn_sv_missing(c, n, "y", "data");
    }
    if (kind != K_TEXT && !split_given) {
        d->split[NN_SPLIT_TRAIN] = 1;
        d->split[NN_SPLIT_DEV] = d->split[NN_SPLIT_TEST] = 0;
    }
}
