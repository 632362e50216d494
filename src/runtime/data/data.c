/* data.c — reading a line-per-item text file into a split, tokenised data set (characters
 * or pattern matches); the split and shuffle shared with table data (data_table.c). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "runtime/data/data.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/data/csv.h"
#include "runtime/data/data_int.h"
#include "runtime/data/rng.h"

#define NN_DATA_MAX_LINE (1 << 20) /* bytes per item: longer is no line-per-item file */

typedef struct {
    uint32_t *cp; /* all symbols of all kept words, back to back: code points (chars), or
                     while reading, the byte offset of each pattern match in the file */
    long *start;  /* word i is cp[start[i] .. start[i+1]) */
    long n, cap, ncp, cpcap;
    uint32_t *mlen; /* pattern: each match's length in bytes, parallel to cp */
    long mlcap;
} word_list;

/* Decodes one UTF-8 sequence; returns its length, or 0 when it is invalid. */
static int utf8_decode(const unsigned char *s, size_t avail, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    int len = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (!len || (size_t)len > avail) return 0;
    uint32_t v = s[0] & (0x7f >> len);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min_for_len[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return len;
}

static int push_word(word_list *w, const uint32_t *cp, long n)
{
    if (w->n + 2 > w->cap) {
        long cap = w->cap ? w->cap * 2 : 1024;
        long *ns = realloc(w->start, (size_t)cap * sizeof *ns);
        if (!ns) return -1;
        w->start = ns;
        w->cap = cap;
    }
    if (w->ncp + n > w->cpcap) {
        long cap = w->cpcap ? w->cpcap * 2 : 8192;
        while (cap < w->ncp + n)
            cap *= 2;
        uint32_t *nc = realloc(w->cp, (size_t)cap * sizeof *nc);
        if (!nc) return -1;
        w->cp = nc;
        w->cpcap = cap;
    }
    memcpy(w->cp + w->ncp, cp, (size_t)n * sizeof *cp);
    w->start[w->n++] = w->ncp;
    w->ncp += n;
    w->start[w->n] = w->ncp;
    return 0;
}

/* tokens: {pattern}: the line's matches, each recorded as (offset, length) in place of a
 * code point; empty matches are skipped.  A match "." would collide with the end token. */
static int push_matches(word_list *w, const char *path, int line, const char *buf, size_t pos,
                        size_t stop, pcre2_code *tre, pcre2_match_data *tmd, nn_diag *d)
{
    long first = w->ncp, n = 0;
    uint32_t *tmp = NULL;
    size_t at = pos;
    while (at <= stop) {
        int rc = pcre2_match(tre, (PCRE2_SPTR)(buf + pos), stop - pos, at - pos, 0, tmd, NULL);
        if (rc < 0) break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(tmd);
        size_t s0 = pos + ov[0], s1 = pos + ov[1];
        if (s1 == s0) { /* an empty match: step over one character */
            at = s1 + 1;
            while (at < stop && ((unsigned char)buf[at] & 0xc0) == 0x80)
                at++;
            continue;
        }
        if (s1 - s0 == 1 && buf[s0] == '.') {
            nn_diag_error(d, (nn_mark){path, line, (int)(s0 - pos) + 1},
                          "the token '.' cannot appear in an item: it is the start/end token");
            free(tmp);
            return -1;
        }
        uint32_t *nt = realloc(tmp, (size_t)(n + 1) * 2 * sizeof *nt);
        if (!nt) {
            free(tmp);
            return -1;
        }
        tmp = nt;
        tmp[2 * n] = (uint32_t)s0;
        tmp[2 * n + 1] = (uint32_t)(s1 - s0);
        n++;
        at = s1;
    }
    if (n == 0) {
        free(tmp);
        return 1; /* nothing matched: the line counts as empty */
    }
    uint32_t *off = malloc((size_t)n * sizeof *off);
    int rc = off ? 0 : -1;
    for (long i = 0; off && i < n; i++)
        off[i] = tmp[2 * i];
    if (rc == 0) rc = push_word(w, off, n);
    if (rc == 0 && w->ncp > w->mlcap) {
        long cap = w->cpcap;
        uint32_t *nl = realloc(w->mlen, (size_t)cap * sizeof *nl);
        if (!nl)
            rc = -1;
        else
            w->mlen = nl, w->mlcap = cap;
    }
    for (long i = 0; rc == 0 && i < n; i++)
        w->mlen[first + i] = tmp[2 * i + 1];
    free(off);
    free(tmp);
    return rc;
}

/* Splits `buf` into lines, checks encoding, applies the filter, keeps the words. */
static int read_words(const char *path, const char *buf, size_t len, pcre2_code *re,
                      pcre2_code *tre, word_list *w, nn_dataset *ds, nn_diag *d)
{
    pcre2_match_data *md = re ? pcre2_match_data_create_from_pattern(re, NULL) : NULL;
    pcre2_match_data *tmd = tre ? pcre2_match_data_create_from_pattern(tre, NULL) : NULL;
    uint32_t *cps = malloc((len + 1) * sizeof *cps);
    int ok = cps != NULL;
    size_t pos = 0;
    for (int line = 1; ok && pos < len; line++) {
        size_t end = pos;
        while (end < len && buf[end] != '\n')
            end++;
        size_t stop = end > pos && buf[end - 1] == '\r' ? end - 1 : end;
        if (stop - pos > NN_DATA_MAX_LINE) {
            nn_diag_error(d, (nn_mark){path, line, NN_DATA_MAX_LINE + 1},
                          "line %d is %zu bytes long; an item is at most %d bytes", line,
                          stop - pos, NN_DATA_MAX_LINE);
            nn_diag_note(d, "a text data file holds one item (a name, a word) per line");
            ok = 0;
            break;
        }
        long n = 0;
        for (size_t i = pos; i < stop;) {
            nn_mark m = {path, line, (int)(i - pos) + 1};
            if (buf[i] == 0) {
                nn_diag_error(d, m, "binary data (a NUL byte) in a text data file");
                ok = 0;
                break;
            }
            int l = utf8_decode((const unsigned char *)buf + i, stop - i, &cps[n]);
            if (!l) {
                nn_diag_error(d, m, "invalid UTF-8 in data file (byte 0x%02x)",
                              (unsigned char)buf[i]);
                ok = 0;
                break;
            }
            if (cps[n] == '.' && !tre) {
                nn_diag_error(d, m, "'.' cannot appear in an item: it is the start/end token");
                nn_diag_note(d, "drop such lines with a data.filter, e.g. filter: '^[a-z]+$'");
                ok = 0;
                break;
            }
            n++;
            i += (size_t)l;
        }
        if (!ok) break;
        ds->lines++;
        int keep = n > 0;
        if (keep && re)
            keep = pcre2_match(re, (PCRE2_SPTR)(buf + pos), stop - pos, 0, 0, md, NULL) >= 0;
        int r = keep ? tre ? push_matches(w, path, line, buf, pos, stop, tre, tmd, d)
                           : push_word(w, cps, n)
                     : 1;
        if (r > 0) ds->dropped++;
        if (r < 0) ok = 0;
        pos = end + 1;
    }
    free(cps);
    pcre2_match_data_free(md);
    pcre2_match_data_free(tmd);
    return ok ? 0 : -1;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* '.' first, then every distinct character in code-point order. */
static int build_vocab(const word_list *w, nn_dataset *ds)
{
    uint32_t *all = malloc(((size_t)w->ncp + 1) * sizeof *all);
    if (!all) return -1;
    memcpy(all, w->cp, (size_t)w->ncp * sizeof *all);
    qsort(all, (size_t)w->ncp, sizeof *all, cmp_u32);
    ds->itos = malloc(((size_t)w->ncp + 1) * sizeof *ds->itos);
    if (!ds->itos) {
        free(all);
        return -1;
    }
    ds->itos[0] = '.';
    ds->vocab = 1;
    for (long i = 0; i < w->ncp; i++)
        if (i == 0 || all[i] != all[i - 1]) ds->itos[ds->vocab++] = all[i];
    free(all);
    return 0;
}

typedef struct {
    const char *s;
    uint32_t len;
    long at; /* position in word_list.cp */
} match;

static int cmp_match(const void *a, const void *b)
{
    const match *x = a, *y = b;
    uint32_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* tokens: {pattern}: '.' first, then the distinct match strings sorted bytewise; every
 * recorded match (offset, length) in w->cp is replaced by its token id. */
static int build_pattern_vocab(word_list *w, const char *buf, nn_dataset *ds)
{
    match *m = malloc(((size_t)w->ncp + 1) * sizeof *m);
    ds->tokens = calloc((size_t)w->ncp + 2, sizeof *ds->tokens);
    if (!m || !ds->tokens || !(ds->tokens[0] = strdup("."))) {
        free(m);
        return -1;
    }
    for (long i = 0; i < w->ncp; i++)
        m[i] = (match){buf + w->cp[i], w->mlen[i], i};
    qsort(m, (size_t)w->ncp, sizeof *m, cmp_match);
    ds->vocab = 1;
    for (long i = 0; i < w->ncp; i++) {
        if (i == 0 || cmp_match(&m[i], &m[i - 1]) != 0) {
            if (!(ds->tokens[ds->vocab] = strndup(m[i].s, m[i].len))) {
                free(m);
                return -1;
            }
            ds->vocab++;
        }
        w->cp[m[i].at] = (uint32_t)(ds->vocab - 1);
    }
    free(m);
    return 0;
}

static int32_t token_id(const nn_dataset *ds, uint32_t cp)
{
    int lo = 1, hi = ds->vocab - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (ds->itos[mid] == cp) return mid;
        if (ds->itos[mid] < cp)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return 0;
}

/* Each word w gives len(w)+1 examples: context (padded with '.') → next character,
 * the last one predicting '.'. */
/* examples: sequence — one example per word w (makemore.py): x = [0, w…, 0…],
 * y = [w…, 0, −1…], both of the context's length (longer words are refused before). */
static int build_seq_split(const word_list *w, const long *order, long from, long to,
                           nn_dataset *ds, nn_split *s)
{
    long n = to - from;
    int T = ds->context;
    s->x = calloc((size_t)(n ? n : 1) * (size_t)T, sizeof *s->x);
    s->y = malloc((size_t)(n ? n : 1) * (size_t)T * sizeof *s->y);
    if (!s->x || !s->y) return -1;
    s->n = s->words = n;
    s->targets = 0;
    for (long i = 0; i < n; i++) {
        long a = w->start[order[from + i]], b = w->start[order[from + i] + 1];
        int32_t *x = s->x + i * T, *y = s->y + i * T;
        for (int t = 0; t < T; t++)
            y[t] = -1;
        for (long c = a; c < b; c++) {
            int32_t ix = ds->tokens ? (int32_t)w->cp[c] : token_id(ds, w->cp[c]);
            x[c - a + 1] = y[c - a] = ix;
        }
        y[b - a] = 0;
        s->targets += b - a + 1;
    }
    return 0;
}

static int build_split(const word_list *w, const long *order, long from, long to, nn_dataset *ds,
                       nn_split *s)
{
    if (ds->ytw > 1) return build_seq_split(w, order, from, to, ds, s);
    long n = 0;
    for (long i = from; i < to; i++)
        n += w->start[order[i] + 1] - w->start[order[i]] + 1;
    int T = ds->context;
    s->x = malloc((size_t)(n ? n : 1) * (size_t)T * sizeof *s->x);
    s->y = malloc((size_t)(n ? n : 1) * sizeof *s->y);
    if (!s->x || !s->y) return -1;
    s->n = s->targets = n;
    s->words = to - from;
    long e = 0;
    for (long i = from; i < to; i++) {
        long a = w->start[order[i]], b = w->start[order[i] + 1];
        int32_t ctx[256] = {0};
        for (long c = a; c <= b; c++) {
            int32_t ix = c >= b ? 0 : ds->tokens ? (int32_t)w->cp[c] : token_id(ds, w->cp[c]);
            memcpy(s->x + e * T, ctx, (size_t)T * sizeof *ctx);
            s->y[e++] = ix;
            memmove(ctx, ctx + 1, (size_t)(T - 1) * sizeof *ctx);
            ctx[T - 1] = ix;
        }
    }
    return 0;
}

static pcre2_code *compile_pattern(const char *pattern, nn_mark mark, const char *what, nn_diag *d)
{
    int err;
    PCRE2_SIZE off;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off, NULL);
    if (!re && d) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        nn_diag_error(d, mark, "invalid %s: %s", what, (char *)msg);
    }
    return re;
}

void nn_data_order(const nn_spec *spec, long *order, long n)
{
    for (long i = 0; i < n; i++)
        order[i] = i;
    if (!spec->data.shuffle) return;
    if (spec->data.shuffle_compat == NN_SHUFFLE_PYTHON) {
        nn_python_shuffle(spec->data.shuffle_seed, order, n);
        return;
    }
    if (spec->data.shuffle_compat == NN_SHUFFLE_TORCH) { /* torch.randperm (makemore.py) */
        nn_mt19937 mt;
        nn_mt_init_genrand(&mt, (uint32_t)spec->data.shuffle_seed);
        for (long i = 0; i + 1 < n; i++) {
            long z = (long)(nn_mt_next(&mt) % (uint32_t)(n - i)), t = order[i];
            order[i] = order[i + z];
            order[i + z] = t;
        }
        return;
    }
    nn_rng r;
    nn_rng_seed(&r, 0, spec->data.shuffle_seed);
    for (long i = n - 1; i >= 1; i--) {
        long j = (long)nn_rng_randint(&r, (uint32_t)(i + 1));
        long t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

int nn_data_cuts(const nn_spec *spec, long n, long cut[NN_SPLIT_COUNT + 1], nn_diag *d)
{
    const nn_data_spec *ds = &spec->data;
    cut[0] = 0;
    if (ds->split_counts) {
        long total = 0;
        for (int s = 0; s < NN_SPLIT_COUNT; s++)
            cut[s + 1] = total += ds->split_count[s];
        if (total > n) {
            nn_diag_error(d, ds->split_mark, "the split asks for %ld items, the data has %ld",
                          total, n);
            return -1;
        }
    } else {
        double frac[NN_SPLIT_COUNT], any = 0, acc = 0;
        for (int s = 0; s < NN_SPLIT_COUNT; s++)
            any += frac[s] = ds->split[s];
        if (any == 0) frac[NN_SPLIT_TRAIN] = 1; /* no split: all train */
        for (int s = 0; s < NN_SPLIT_COUNT; s++) {
            acc += frac[s];
            cut[s + 1] = s == NN_SPLIT_COUNT - 1 ? n : (long)(acc * (double)n);
            if (cut[s + 1] > n) cut[s + 1] = n;
            if (cut[s + 1] < cut[s]) cut[s + 1] = cut[s];
        }
    }
    if (cut[1] == 0) {
        nn_diag_error(d, ds->split_mark, "the training split is empty (%ld items, train %s %g)", n,
                      ds->split_counts ? "count" : "fraction",
                      ds->split_counts ? (double)ds->split_count[0] : ds->split[0]);
        return -1;
    }
    return 0;
}

static int load_text(const nn_spec *spec, nn_dataset *ds, nn_diag *d)
{
    word_list w = {0};
    long *order = NULL;
    pcre2_code *re = NULL, *tre = NULL;
    size_t len = 0;
    char *buf = NULL;
    int ok = 0;
    const nn_data_spec *D = &spec->data;
    ds->context = D->context;
    if (D->filter && !(re = compile_pattern(D->filter, D->filter_mark, "filter", d))) goto done;
    if (D->tokens == NN_TOKENS_PATTERN &&
        !(tre = compile_pattern(D->token_pattern, D->tokens_mark, "token pattern", d)))
        goto done;
    if (!(buf = nn_read_file(D->source, &len, D->source_mark, d))) goto done;
    if (read_words(D->source, buf, len, re, tre, &w, ds, d) != 0) goto done;
    if (w.n == 0) {
        nn_diag_error(d, D->source_mark,
                      "no items left in '%s' (%ld lines read, %ld dropped by the filter or empty)",
                      D->source, ds->lines, ds->dropped);
        goto done;
    }
    if ((tre ? build_pattern_vocab(&w, buf, ds) : build_vocab(&w, ds)) != 0) goto done;
    ds->ytw = D->sequence ? D->context : 1;
    for (long i = 0; D->sequence && i < w.n; i++) {
        long len = w.start[i + 1] - w.start[i];
        if (len + 1 > D->context) {
            nn_diag_error(d, D->context_mark,
                          "'data.context' is %d, but with 'examples: sequence' every item needs "
                          "its length + 1 positions, and item %ld has %ld tokens",
                          D->context, i + 1, len);
            nn_diag_note(d, "set 'context' to at least %ld", len + 1);
            goto done;
        }
    }
    if (!(order = malloc((size_t)w.n * sizeof *order))) goto done;
    nn_data_order(spec, order, w.n);
    if (D->shuffle && D->shuffle_compat == NN_SHUFFLE_TORCH) ds->shuffle_draws = w.n - 1;
    long cut[NN_SPLIT_COUNT + 1];
    if (nn_data_cuts(spec, w.n, cut, d) != 0) goto done;
    ok = 1;
    for (int s = 0; s < NN_SPLIT_COUNT && ok; s++)
        ok = build_split(&w, order, cut[s], cut[s + 1], ds, &ds->split[s]) == 0;
done:
    pcre2_code_free(re);
    pcre2_code_free(tre);
    free(buf);
    free(order);
    free(w.cp);
    free(w.mlen);
    free(w.start);
    return ok ? 0 : -1;
}

nn_dataset *nn_dataset_load(const nn_spec *spec, nn_diag *d)
{
    int errors = nn_diag_count(d);
    nn_dataset *ds = calloc(1, sizeof *ds);
    if (ds) ds->ytw = 1;
    int rc = !ds                               ? -1
             : spec->data.kind == NN_DATA_TEXT ? load_text(spec, ds, d)
                                               : nn_table_load(spec, ds, d);
    if (rc != 0 && nn_diag_count(d) == errors) { /* a failed allocation: say so */
        const nn_data_spec *D = &spec->data;
        nn_mark at = D->source ? D->source_mark : D->kind_mark;
        nn_diag_error(d, at.file ? at : (nn_mark){spec->path, 1, 1},
                      "out of memory loading the data%s%s%s", D->source ? " of '" : "",
                      D->source ? D->source : "", D->source ? "'" : "");
        nn_diag_note(d, "a smaller data file, or a machine with more memory");
    }
    if (rc != 0) {
        nn_dataset_free(ds);
        return NULL;
    }
    return ds;
}

void nn_dataset_free(nn_dataset *ds)
{
    if (!ds) return;
    for (int s = 0; s < NN_SPLIT_COUNT; s++) {
        free(ds->split[s].x);
        free(ds->split[s].y);
        free(ds->split[s].fx);
        free(ds->split[s].fy);
    }
    if (ds->tokens)
        for (int i = 0; i < ds->vocab; i++)
            free(ds->tokens[i]);
    free(ds->tokens);
    free(ds->itos);
    free(ds);
}

int nn_dataset_token_utf8(const nn_dataset *ds, int id, char *buf)
{
    uint32_t c = id >= 0 && id < ds->vocab ? ds->itos[id] : '?';
    int n = 0;
    if (c < 0x80) {
        buf[n++] = (char)c;
    } else if (c < 0x800) {
        buf[n++] = (char)(0xc0 | (c >> 6));
        buf[n++] = (char)(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
        buf[n++] = (char)(0xe0 | (c >> 12));
        buf[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
        buf[n++] = (char)(0x80 | (c & 0x3f));
    } else {
        buf[n++] = (char)(0xf0 | (c >> 18));
        buf[n++] = (char)(0x80 | ((c >> 12) & 0x3f));
        buf[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
        buf[n++] = (char)(0x80 | (c & 0x3f));
    }
    buf[n] = 0;
    return n;
}

const char *nn_dataset_token(const nn_dataset *ds, int id)
{
    static char buf[8];
    if (ds->tokens) return id >= 0 && id < ds->vocab ? ds->tokens[id] : "?";
    nn_dataset_token_utf8(ds, id, buf);
    return buf;
}

int nn_dataset_encode(const nn_dataset *ds, const nn_spec *spec, const char *text, int32_t *ids,
                      int max, int *bad)
{
    size_t len = strlen(text), i = 0;
    int n = 0;
    if (!ds->tokens) {
        while (i < len && n < max) {
            uint32_t cp;
            int l = utf8_decode((const unsigned char *)text + i, len - i, &cp);
            int32_t id = l ? token_id(ds, cp) : 0;
            if (!l || id == 0) {
                *bad = (int)i;
                return -1;
            }
            ids[n++] = id;
            i += (size_t)l;
        }
        return n;
    }
    /* pattern tokens: each match is one token, as in the data (text between matches is
     * skipped), and each must be a known token */
    pcre2_code *re = compile_pattern(spec->data.token_pattern, spec->data.tokens_mark, "", NULL);
    pcre2_match_data *md = re ? pcre2_match_data_create_from_pattern(re, NULL) : NULL;
    int rc = md ? 0 : -1;
    while (rc == 0 && i < len && n < max) {
        int m = pcre2_match(re, (PCRE2_SPTR)text, len, i, 0, md, NULL);
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (m < 0) break;
        if (ov[1] == ov[0]) { /* empty match: step over it */
            i = ov[1] + 1;
            continue;
        }
        int id = -1;
        for (int k = 1; k < ds->vocab; k++)
            if (strlen(ds->tokens[k]) == ov[1] - ov[0] &&
                !memcmp(ds->tokens[k], text + ov[0], ov[1] - ov[0]))
                id = k;
        if (id < 0) {
            *bad = (int)ov[0];
            rc = -1;
            break;
        }
        ids[n++] = id;
        i = ov[1];
    }
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc == 0 ? n : -1;
}
