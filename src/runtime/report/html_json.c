/* html_json.c — JSON files for report.html with positions: jansson values carry none, so
 * an error about a value walks the file's text to it (see html_int.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/report/html_int.h"

char *nn_report_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - 1 - n, f)) > 0) {
        n += got;
        if (n == cap - 1) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

int nn_jdoc_load(nn_jdoc *j, const char *path, nn_diag *d)
{
    memset(j, 0, sizeof *j);
    snprintf(j->path, sizeof j->path, "%s", path);
    j->d = d;
    size_t len = 0;
    if (!(j->text = nn_report_slurp(path, &len))) {
        nn_diag_error(d, (nn_mark){j->path, 0, 0}, "cannot read '%s': %s", path, strerror(errno));
        return -1;
    }
    json_error_t e;
    j->root = json_loadb(j->text, len, JSON_REJECT_DUPLICATES, &e);
    if (!j->root) {
        nn_diag_add_source(d, j->path, j->text, len);
        nn_diag_error(d, (nn_mark){j->path, e.line > 0 ? e.line : 1, e.column > 0 ? e.column : 1},
                      "malformed JSON: %s", e.text);
        return -1;
    }
    if (!json_is_object(j->root)) return nn_jdoc_bad(j, "", "expected a JSON object");
    return 0;
}

void nn_jdoc_free(nn_jdoc *j)
{
    json_decref(j->root);
    free(j->text);
    j->root = NULL;
    j->text = NULL;
}

static const char *jws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *jskip_str(const char *p) /* p at the opening quote */
{
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1]) p++;
    return *p ? p + 1 : p;
}

static const char *jskip(const char *p)
{
    p = jws(p);
    if (*p == '"') return jskip_str(p);
    if (*p == '{' || *p == '[') {
        for (int depth = 0; *p; p++) {
            if (*p == '"')
                p = jskip_str(p) - 1;
            else if (*p == '{' || *p == '[')
                depth++;
            else if ((*p == '}' || *p == ']') && --depth == 0)
                return p + 1;
        }
        return p;
    }
    while (*p && !strchr(",}] \t\r\n", *p))
        p++;
    return p;
}

/* The text of the value at `path` (valid JSON assumed: jansson parsed it); when a step is
 * missing, the innermost container found. */
static const char *jlocate(const char *p, const char *path)
{
    p = jws(p);
    while (*path) {
        const char *slash = strchr(path, '/');
        size_t sl = slash ? (size_t)(slash - path) : strlen(path);
        const char *found = NULL, *q = jws(p + 1);
        if (*p == '{') {
            while (*q == '"' && !found) {
                const char *k = q + 1, *ke = jskip_str(q) - 1;
                q = jws(jskip_str(q));
                if (*q == ':') q = jws(q + 1);
                if ((size_t)(ke - k) == sl && !memcmp(k, path, sl)) found = q;
                q = jws(jskip(q));
                if (*q == ',') q = jws(q + 1);
            }
        } else if (*p == '[') {
            long idx = strtol(path, NULL, 10);
            for (long i = 0; i < idx && *q && *q != ']'; i++) {
                q = jws(jskip(q));
                if (*q == ',') q = jws(q + 1);
            }
            if (*q && *q != ']') found = q;
        }
        if (!found) return p;
        p = found;
        path += sl + (slash ? 1 : 0);
    }
    return p;
}

int nn_jdoc_bad(const nn_jdoc *j, const char *where, const char *fmt, ...)
{
    const char *at = jlocate(j->text, where);
    int line = 1, col = 1;
    for (const char *p = j->text; p < at; p++) {
        col = *p == '\n' ? 1 : col + 1;
        line += *p == '\n';
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    nn_diag_add_source(j->d, j->path, j->text, strlen(j->text));
    if (*where)
        nn_diag_error(j->d, (nn_mark){j->path, line, col}, "%s: %s", where, msg);
    else
        nn_diag_error(j->d, (nn_mark){j->path, line, col}, "%s", msg);
    return -1;
}

int nn_jget_num(const nn_jdoc *j, json_t *obj, const char *where, const char *key, double *v)
{
    json_t *x = json_object_get(obj, key);
    if (!x || json_is_null(x)) return 0;
    char w[256];
    snprintf(w, sizeof w, "%s%s%s", where, *where ? "/" : "", key);
    if (!json_is_number(x)) return nn_jdoc_bad(j, w, "expected a number");
    *v = json_number_value(x);
    return 1;
}

int nn_jget_str(const nn_jdoc *j, json_t *obj, const char *where, const char *key, const char **s)
{
    json_t *x = json_object_get(obj, key);
    if (!x || json_is_null(x)) return 0;
    char w[256];
    snprintf(w, sizeof w, "%s%s%s", where, *where ? "/" : "", key);
    if (!json_is_string(x)) return nn_jdoc_bad(j, w, "expected a string");
    *s = json_string_value(x);
    return 1;
}

int nn_jget_nums(const nn_jdoc *j, json_t *arr, const char *where, int allow_null, double **v,
                 long *n)
{
    *v = NULL;
    *n = 0;
    if (!json_is_array(arr)) return nn_jdoc_bad(j, where, "expected an array of numbers");
    long m = (long)json_array_size(arr);
    double *out = malloc(((size_t)m + 1) * sizeof *out);
    if (!out) return nn_jdoc_bad(j, where, "out of memory");
    for (long i = 0; i < m; i++) {
        json_t *x = json_array_get(arr, (size_t)i);
        if (json_is_number(x)) {
            out[i] = json_number_value(x);
        } else if (allow_null && json_is_null(x)) {
            out[i] = NAN;
        } else {
            free(out);
            char w[256];
            snprintf(w, sizeof w, "%s/%ld", where, i);
            return nn_jdoc_bad(j, w, "expected a number");
        }
    }
    *v = out;
    *n = m;
    return 0;
}
