/* diag.c — error records: the first line, the offending source line, a caret, notes.
 *
 * The source line is captured when the error is recorded, so printing does not depend
 * on sources registered later (several `--set` arguments all share the name "--set").
 */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *name;
    const void *key; /* the caller's pointer for `file`: marks carrying it match exactly */
    char *text;
    size_t len;
} nn_source;

typedef struct {
    char *first;   /* "FILE:LINE:COL: error: MESSAGE" */
    char *file;    /* its parts, for nn_diag_entry_at (file NULL: no position) */
    char *msg;
    int line;
    char *srcline; /* the offending line, or NULL */
    int col;
    char **notes;
    int nnotes;
} nn_error;

struct nn_diag {
    nn_source *src;
    int nsrc;
    nn_error err[NN_DIAG_MAX];
    int n;       /* errors kept */
    int total;   /* errors recorded, kept or not */
    int dropped; /* the most recent error was not kept: its notes go too */
    char *context; /* appended to each message (nn_diag_context) */
};

static char *xstrndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p) abort();
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

/* vsnprintf into a fresh buffer; newlines become spaces so each record stays one line. */
__attribute__((format(printf, 1, 0))) static char *vformat(const char *fmt, va_list ap)
{
    char small[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0) n = 0;
    char *s = malloc((size_t)n + 1);
    if (!s) abort();
    if ((size_t)n < sizeof small)
        memcpy(s, small, (size_t)n + 1);
    else
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return s;
}

__attribute__((format(printf, 1, 2))) static char *format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = vformat(fmt, ap);
    va_end(ap);
    return s;
}

nn_diag *nn_diag_new(void)
{
    nn_diag *d = calloc(1, sizeof *d);
    if (!d) abort();
    return d;
}

void nn_diag_free(nn_diag *d)
{
    if (!d) return;
    for (int i = 0; i < d->nsrc; i++) {
        free(d->src[i].name);
        free(d->src[i].text);
    }
    free(d->src);
    free(d->context);
    for (int i = 0; i < d->n; i++) {
        free(d->err[i].first);
        free(d->err[i].file);
        free(d->err[i].msg);
        free(d->err[i].srcline);
        for (int j = 0; j < d->err[i].nnotes; j++)
            free(d->err[i].notes[j]);
        free(d->err[i].notes);
    }
    free(d);
}

void nn_diag_add_source(nn_diag *d, const char *file, const char *text, size_t len)
{
    nn_source *s = realloc(d->src, (size_t)(d->nsrc + 1) * sizeof *s);
    if (!s) abort();
    d->src = s;
    s[d->nsrc].name = xstrndup(file, strlen(file));
    s[d->nsrc].key = file;
    s[d->nsrc].text = xstrndup(text, len);
    s[d->nsrc].len = len;
    d->nsrc++;
}

/* The newest source registered with this very pointer, else the newest with this name. */
static const nn_source *find_source(const nn_diag *d, const char *file)
{
    for (int i = d->nsrc - 1; i >= 0; i--)
        if (d->src[i].key == (const void *)file && !strcmp(d->src[i].name, file)) return &d->src[i];
    for (int i = d->nsrc - 1; i >= 0; i--)
        if (!strcmp(d->src[i].name, file)) return &d->src[i];
    return NULL;
}

/* Line `line` (1-based) of a source, without its line break and without a leading BOM. */
static char *source_line(const nn_source *s, int line)
{
    const char *p = s->text, *end = s->text + s->len;
    if (s->len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3;
    for (int l = 1; l < line; l++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) return NULL;
        p = nl + 1;
    }
    const char *e = p;
    while (e < end && *e != '\n')
        e++;
    if (e > p && e[-1] == '\r') e--;
    if (p == end && line > 1) return NULL;
    char *out = xstrndup(p, (size_t)(e - p));
    for (char *q = out; *q; q++)
        if (*q == '\r') *q = ' ';
    return out;
}

void nn_diag_error(nn_diag *d, nn_mark m, const char *fmt, ...)
{
    d->total++;
    d->dropped = d->n >= NN_DIAG_MAX;
    if (d->dropped) return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    if (d->context) {
        char *m2 = format("%s (%s)", msg, d->context);
        free(msg);
        msg = m2;
    }
    nn_error *e = &d->err[d->n++];
    memset(e, 0, sizeof *e);
    e->file = m.file ? xstrndup(m.file, strlen(m.file)) : NULL;
    e->line = m.file ? m.line : 0;
    e->msg = xstrndup(msg, strlen(msg));
    if (!m.file)
        e->first = format("error: %s", msg);
    else if (m.line <= 0)
        e->first = format("%s: error: %s", m.file, msg);
    else
        e->first = format("%s:%d:%d: error: %s", m.file, m.line, m.col, msg);
    free(msg);
    const nn_source *s = m.file && m.line > 0 ? find_source(d, m.file) : NULL;
    if (s) e->srcline = source_line(s, m.line);
    if (e->srcline && !*e->srcline) { /* an empty line says nothing */
        free(e->srcline);
        e->srcline = NULL;
    }
    e->col = m.col;
}

void nn_diag_note(nn_diag *d, const char *fmt, ...)
{
    if (d->n == 0 || d->dropped) return;
    nn_error *e = &d->err[d->n - 1];
    char **notes = realloc(e->notes, (size_t)(e->nnotes + 1) * sizeof *notes);
    if (!notes) abort();
    e->notes = notes;
    va_list ap;
    va_start(ap, fmt);
    notes[e->nnotes++] = vformat(fmt, ap);
    va_end(ap);
}

void nn_diag_context(nn_diag *d, const char *context)
{
    free(d->context);
    d->context = context ? xstrndup(context, strlen(context)) : NULL;
}

int nn_diag_count(const nn_diag *d)
{
    return d->n;
}

const char *nn_diag_line(const nn_diag *d, int i)
{
    return i >= 0 && i < d->n ? d->err[i].first : NULL;
}

int nn_diag_entry_at(const nn_diag *d, int i, nn_diag_entry *out)
{
    if (i < 0 || i >= d->n) return -1;
    const nn_error *e = &d->err[i];
    *out = (nn_diag_entry){e->file, e->line, e->line > 0 ? e->col : 0, e->msg, (const char *const *)e->notes,
                           e->nnotes};
    return 0;
}

/* Spaces under the characters before column `col` (tabs kept, so the caret lines up);
 * columns count UTF-8 characters, as libyaml's marks do. */
static void print_caret(FILE *out, const char *line, int col)
{
    const unsigned char *p = (const unsigned char *)line;
    for (int c = 1; c < col; c++) {
        if (*p == '\t')
            fputc('\t', out);
        else
            fputc(' ', out);
        if (*p) {
            p++;
            while ((*p & 0xC0) == 0x80)
                p++;
        }
    }
    fputs("^\n", out);
}

/* Only show source lines a terminal can show: valid UTF-8 text without control
 * characters (tabs aside), and not absurdly long — binary input is named, not echoed. */
static int showable(const char *line)
{
    const unsigned char *p = (const unsigned char *)line;
    size_t n = 0;
    while (*p) {
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) return 0;
        int len = *p < 0x80             ? 1
                  : (*p & 0xE0) == 0xC0 ? 2
                  : (*p & 0xF0) == 0xE0 ? 3
                  : (*p & 0xF8) == 0xF0 ? 4
                                        : 0;
        if (!len) return 0;
        for (int k = 1; k < len; k++)
            if ((p[k] & 0xC0) != 0x80) return 0;
        p += len;
        if (++n > 400) return 0;
    }
    return 1;
}

void nn_diag_print(const nn_diag *d, FILE *out)
{
    for (int i = 0; i < d->n; i++) {
        const nn_error *e = &d->err[i];
        fprintf(out, "%s\n", e->first);
        if (e->srcline && showable(e->srcline)) {
            fprintf(out, "%s\n", e->srcline);
            print_caret(out, e->srcline, e->col);
        }
        for (int j = 0; j < e->nnotes; j++)
            fprintf(out, "note: %s\n", e->notes[j]);
    }
    if (d->total > d->n)
        fprintf(out, "note: %d more errors not shown (only the first %d are kept)\n",
                d->total - d->n, NN_DIAG_MAX);
}
