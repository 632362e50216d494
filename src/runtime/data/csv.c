/* csv.c — whole files and CSV cells with their positions (see csv.h). */
#include "runtime/data/csv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/data/budget.h"

char *nn_read_file(const char *path, size_t *len, nn_mark at, nn_diag *d)
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
    /* st_size is only a hint (a pipe or a growing file): read until EOF, doubling, up to
     * --max-memory (a device such as /dev/zero never ends) */
    size_t cap = (size_t)st.st_size + 4097, n = 0, limit = nn_limits_max_memory();
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - 1 - n, f)) > 0) {
        n += got;
        if (n > limit) {
            fclose(f);
            free(buf);
            char what[300];
            snprintf(what, sizeof what, "reading data file '%.200s'", path);
            nn_limits_check_bytes(n, what, at, d);
            if (!S_ISREG(st.st_mode)) nn_diag_note(d, "is it a device or a pipe that never ends?");
            return NULL;
        }
        if (n == cap - 1) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { /* never the part read so far as if it were the whole file */
                free(buf);
                fclose(f);
                nn_diag_error(d, at, "out of memory reading data file '%s' (%zu bytes read)", path,
                              n);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int err = ferror(f) ? errno : 0, bad = !buf || ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        if (buf)
            nn_diag_error(d, at, "cannot read data file '%s': %s", path,
                          err ? strerror(err) : "a read failed");
        else
            nn_diag_error(d, at, "out of memory reading data file '%s' (%zu bytes)", path, cap);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* Splits one line [p, end) in place into cells; returns the count (cells beyond `max` are
 * counted but not stored).  Quoted cells lose their quotes, and "" becomes ". */
static int split_line(char *p, char *end, int line, char *linestart, nn_csv_cell *out, int max)
{
    int n = 0;
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        char *start = p, *w = p;
        int col = (int)(p - linestart) + 1;
        if (p < end && *p == '"') {
            p++;
            start = w = p;
            while (p < end) {
                if (*p == '"' && p + 1 < end && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            while (p < end && *p != ',')
                p++;
        } else {
            while (p < end && *p != ',')
                p++;
            w = p;
            while (w > start && (w[-1] == ' ' || w[-1] == '\t'))
                w--;
        }
        int more = p < end;
        *w = 0; /* overwrites the ',' or the line end */
        if (n < max) out[n] = (nn_csv_cell){start, line, col};
        n++;
        if (!more) return n;
        p++;
    }
}

/* The line at *p: its end (before "\r\n" or "\n") in *end, *p moved past it.  Returns
 * whether it holds anything but spaces and tabs. */
static int take_line(char **p, char *limit, char **end)
{
    char *s = *p, *nl = memchr(s, '\n', (size_t)(limit - s));
    char *e = nl ? nl : limit;
    *p = nl ? nl + 1 : limit;
    if (e > s && e[-1] == '\r') e--;
    *end = e;
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    return s < e;
}

nn_csv *nn_csv_read(const char *path, nn_mark at, nn_diag *d)
{
    size_t len;
    char *buf = nn_read_file(path, &len, at, d);
    if (!buf) return NULL;
    nn_csv *c = calloc(1, sizeof *c);
    if (!c) {
        free(buf);
        return NULL;
    }
    c->path = path;
    c->buf = buf;
    long cap = 0, used = 0;
    int line = 0, ok = 1;
    for (char *next = buf; ok && next < buf + len;) {
        char *p = next, *end;
        line++;
        if (!take_line(&next, buf + len, &end)) continue; /* a blank line */
        if (c->cols == 0) {
            /* the header: room for its cells (a quoted comma only overestimates) */
            int n = 1;
            for (char *s = p; s < end; s++)
                n += *s == ',';
            c->cols = n;
        }
        /* one spare cell, so that a row with too many cells still records where the first
         * extra one starts */
        if (used + c->cols + 1 > cap) {
            long ncap = cap ? cap * 2 : 64 * ((long)c->cols + 1);
            nn_csv_cell *nc = realloc(c->cell, (size_t)ncap * sizeof *nc);
            if (!nc) {
                ok = 0;
                break;
            }
            c->cell = nc;
            cap = ncap;
        }
        int n = split_line(p, end, line, p, c->cell + used, c->cols + 1);
        if (used == 0) {
            c->cols = n; /* a quoted header cell may hold a comma */
        } else if (n != c->cols) {
            nn_mark m = {path, line,
                         n < c->cols ? (int)(end - p) + 1 : c->cell[used + c->cols].col};
            nn_diag_error(d, m, "this row has %d cells, the header has %d", n, c->cols);
            ok = 0;
            break;
        }
        used += c->cols;
    }
    if (ok && used == 0) {
        nn_diag_error(d, (nn_mark){path, 1, 1}, "'%s' is empty: a header row is required", path);
        ok = 0;
    }
    if (!ok) {
        nn_csv_free(c);
        return NULL;
    }
    c->rows = used / c->cols - 1;
    return c;
}

void nn_csv_free(nn_csv *c)
{
    if (!c) return;
    free(c->buf);
    free(c->cell);
    free(c);
}

int nn_csv_column(const nn_csv *c, const char *name, nn_diag *d)
{
    return nn_csv_column_at(c, name, (nn_mark){NULL, 0, 0}, d);
}

int nn_csv_column_at(const nn_csv *c, const char *name, nn_mark at, nn_diag *d)
{
    for (int j = 0; j < c->cols; j++)
        if (strcmp(c->cell[j].text, name) == 0) return j;
    if (d) {
        nn_diag_error(d, at.file ? at : (nn_mark){c->path, 1, 1}, "'%s' has no column '%s'",
                      c->path, name);
        char cols[256] = "";
        size_t o = 0;
        for (int j = 0; j < c->cols && o < sizeof cols; j++)
            o +=
                (size_t)snprintf(cols + o, sizeof cols - o, "%s%s", j ? ", " : "", c->cell[j].text);
        const char *names[65];
        int k = 0;
        for (int j = 0; j < c->cols && k < 64; j++)
            names[k++] = c->cell[j].text;
        names[k] = NULL;
        const char *dym = nn_suggest(name, names);
        if (dym)
            nn_diag_note(d, "its header has: %s (did you mean '%s'?)", cols, dym);
        else
            nn_diag_note(d, "its header has: %s", cols);
    }
    return -1;
}

static int cell_number(const char *path, const nn_csv_cell *x, double *v, nn_diag *d)
{
    char *end;
    errno = 0;
    double r = strtod(x->text, &end);
    if (end == x->text || *end != 0 || errno == ERANGE || !isfinite(r)) {
        nn_diag_error(d, (nn_mark){path, x->line, x->col}, "'%s' is not a number", x->text);
        return -1;
    }
    *v = r;
    return 0;
}

int nn_csv_number(const nn_csv *c, long row, int col, double *v, nn_diag *d)
{
    return cell_number(c->path, nn_csv_at(c, row, col), v, d);
}

/* Index of `name` among the header cells, or −1. */
static int header_index(const nn_csv_cell *h, int cols, const char *name)
{
    for (int j = 0; j < cols; j++)
        if (strcmp(h[j].text, name) == 0) return j;
    return -1;
}

/* One pass over the lines, keeping only the numbers asked for: no cell array, so memory is
 * the file plus the columns (metrics.csv of a long run has millions of cells). */
int nn_csv_read_numbers(const char *path, nn_mark at, const char *const *names, int n, int required,
                        double **cols, long *rows, nn_diag *d)
{
    size_t len;
    char *buf = nn_read_file(path, &len, at, d);
    if (!buf) return -1;
    long lines = 1;
    for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + len - p))); p++)
        lines++;
    nn_csv_cell *cell = NULL, *head = NULL;
    int ncols = 0, line = 0, ok = 1, *idx = calloc((size_t)n + 1, sizeof *idx);
    long used = 0;
    for (int k = 0; k < n; k++)
        cols[k] = NULL;
    ok = idx != NULL;
    for (char *next = buf; ok && next < buf + len;) {
        char *p = next, *end;
        line++;
        if (!take_line(&next, buf + len, &end)) continue; /* a blank line */
        if (!head) {
            int c = 1; /* room for the header's cells (a quoted comma only overestimates) */
            for (char *s = p; s < end; s++)
                c += *s == ',';
            if (!(head = malloc((size_t)c * sizeof *head)) ||
                !(cell = malloc(((size_t)c + 1) * sizeof *cell))) {
                ok = 0;
                break;
            }
            ncols = split_line(p, end, line, p, head, c);
            for (int k = 0; k < n && ok; k++) {
                idx[k] = header_index(head, ncols, names[k]);
                if (idx[k] < 0 && k < required) {
                    nn_csv hc = {path, NULL, head, 0, ncols};
                    nn_csv_column(&hc, names[k], d); /* the error, naming the header's columns */
                    ok = 0;
                }
                if (ok && !(cols[k] = malloc((size_t)lines * sizeof **cols))) ok = 0;
            }
            continue;
        }
        int c = split_line(p, end, line, p, cell, ncols + 1);
        if (c != ncols) {
            nn_mark m = {path, line, c < ncols ? (int)(end - p) + 1 : cell[ncols].col};
            nn_diag_error(d, m, "this row has %d cells, the header has %d", c, ncols);
            ok = 0;
            break;
        }
        for (int k = 0; k < n && ok; k++) {
            const nn_csv_cell *x = idx[k] < 0 ? NULL : &cell[idx[k]];
            cols[k][used] = NAN;
            if (!x || !*x->text) continue;
            if (cell_number(path, x, &cols[k][used], d) < 0) ok = 0;
        }
        used++;
    }
    if (ok && !head) {
        nn_diag_error(d, (nn_mark){path, 1, 1}, "'%s' is empty: a header row is required", path);
        ok = 0;
    }
    free(head), free(cell), free(idx), free(buf);
    if (!ok)
        for (int k = 0; k < n; k++) {
            free(cols[k]);
            cols[k] = NULL;
        }
    *rows = ok ? used : 0;
    return ok ? 0 : -1;
}
