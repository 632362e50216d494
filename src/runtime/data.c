/* data.c — reading a line-per-item text file into a split, tokenised character data set. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "runtime/data.h"

#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/rng.h"

typedef struct {
    uint32_t *cp;  /* all code points of all kept words, back to back */
    long *start;   /* word i is cp[start[i] .. start[i+1]) */
    long n, cap, ncp, cpcap;
} word_list;

static char *read_whole(const char *path, size_t *len, nn_mark at, nn_diag *d)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        nn_diag_error(d, at, "cannot open data file '%s': %s", path, strerror(errno));
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        nn_diag_error(d, at, "data source '%s' is a directory, not a file", path);
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        nn_diag_error(d, at, "cannot open data file '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - 1 - n, f)) > 0) {
        n += got;
        if (n == cap - 1) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) break;
            buf = nb;
            cap *= 2;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        free(buf);
        nn_diag_error(d, at, "cannot read data file '%s'", path);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

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
        while (cap < w->ncp + n) cap *= 2;
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

/* Splits `buf` into lines, checks encoding, applies the filter, keeps the words. */
static int read_words(const char *path, const char *buf, size_t len, pcre2_code *re,
                      word_list *w, nn_dataset *ds, nn_diag *d)
{
    pcre2_match_data *md = re ? pcre2_match_data_create_from_pattern(re, NULL) : NULL;
    uint32_t *cps = malloc((len + 1) * sizeof *cps);
    int ok = cps != NULL;
    size_t pos = 0;
    for (int line = 1; ok && pos < len; line++) {
        size_t end = pos;
        while (end < len && buf[end] != '\n') end++;
        size_t stop = end > pos && buf[end - 1] == '\r' ? end - 1 : end;
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
            if (cps[n] == '.') {
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
        if (!keep)
            ds->dropped++;
        else if (push_word(w, cps, n) != 0)
            ok = 0;
        pos = end + 1;
    }
    free(cps);
    pcre2_match_data_free(md);
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
static int build_split(const word_list *w, const long *order, long from, long to, nn_dataset *ds,
                       nn_split *s)
{
    long n = 0;
    for (long i = from; i < to; i++) n += w->start[order[i] + 1] - w->start[order[i]] + 1;
    int T = ds->context;
    s->x = malloc((size_t)(n ? n : 1) * (size_t)T * sizeof *s->x);
    s->y = malloc((size_t)(n ? n : 1) * sizeof *s->y);
    if (!s->x || !s->y) return -1;
    s->n = n;
    s->words = to - from;
    long e = 0;
    for (long i = from; i < to; i++) {
        long a = w->start[order[i]], b = w->start[order[i] + 1];
        int32_t ctx[256] = {0};
        for (long c = a; c <= b; c++) {
            int32_t ix = c < b ? token_id(ds, w->cp[c]) : 0;
            memcpy(s->x + e * T, ctx, (size_t)T * sizeof *ctx);
            s->y[e++] = ix;
            memmove(ctx, ctx + 1, (size_t)(T - 1) * sizeof *ctx);
            ctx[T - 1] = ix;
        }
    }
    return 0;
}

static pcre2_code *compile_filter(const nn_spec *spec, nn_diag *d)
{
    int err;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)spec->data.filter, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF, &err, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        nn_diag_error(d, spec->data.filter_mark, "invalid filter: %s", (char *)msg);
    }
    return re;
}

static void split_order(const nn_spec *spec, long *order, long n)
{
    for (long i = 0; i < n; i++) order[i] = i;
    if (spec->data.shuffle_compat == NN_SHUFFLE_PYTHON) {
        nn_python_shuffle(spec->data.shuffle_seed, order, n);
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

nn_dataset *nn_dataset_load(const nn_spec *spec, nn_diag *d)
{
    nn_dataset *ds = calloc(1, sizeof *ds);
    word_list w = {0};
    long *order = NULL;
    pcre2_code *re = NULL;
    size_t len = 0;
    char *buf = NULL;
    int ok = 0;
    if (!ds) return NULL;
    ds->context = spec->data.context;
    if (spec->data.filter && !(re = compile_filter(spec, d))) goto done;
    if (!(buf = read_whole(spec->data.source, &len, spec->data.source_mark, d))) goto done;
    if (read_words(spec->data.source, buf, len, re, &w, ds, d) != 0) goto done;
    if (w.n == 0) {
        nn_diag_error(d, spec->data.source_mark,
                      "no items left in '%s' (%ld lines read, %ld dropped by the filter or empty)",
                      spec->data.source, ds->lines, ds->dropped);
        goto done;
    }
    if (build_vocab(&w, ds) != 0 || !(order = malloc((size_t)w.n * sizeof *order))) goto done;
    split_order(spec, order, w.n);
    long cut[NN_SPLIT_COUNT + 1] = {0};
    double acc = 0;
    for (int s = 0; s < NN_SPLIT_COUNT; s++) {
        acc += spec->data.split[s];
        cut[s + 1] = s == NN_SPLIT_COUNT - 1 ? w.n : (long)(acc * (double)w.n);
        if (cut[s + 1] > w.n) cut[s + 1] = w.n;
        if (cut[s + 1] < cut[s]) cut[s + 1] = cut[s];
    }
    if (cut[1] == 0) {
        nn_diag_error(d, spec->data.split_mark,
                      "the training split is empty (%ld items × train fraction %g)", w.n,
                      spec->data.split[NN_SPLIT_TRAIN]);
        goto done;
    }
    ok = 1;
    for (int s = 0; s < NN_SPLIT_COUNT && ok; s++)
        ok = build_split(&w, order, cut[s], cut[s + 1], ds, &ds->split[s]) == 0;
done:
    pcre2_code_free(re);
    free(buf);
    free(order);
    free(w.cp);
    free(w.start);
    if (!ok) {
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
    }
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
