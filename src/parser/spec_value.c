/* spec_value.c — YAML 1.2 core-schema typing of scalars, and the value checks of the
 * schema: each either yields a typed value or records an error that names the key path,
 * what was expected and what was written. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "spec_int.h"

void nn_sv_error(nn_sctx *c, nn_mark m, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    c->nerr++;
    nn_diag_error(c->d, m, "%s", buf);
}

static int is_digit(char ch, int base)
{
    if (base == 16)
        return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
    return ch >= '0' && ch < '0' + base;
}

/* Skips digits of `base`; returns how many. */
static size_t digits(const char *s, size_t n, size_t *i, int base)
{
    size_t start = *i;
    while (*i < n && is_digit(s[*i], base))
        (*i)++;
    return *i - start;
}

/* [-+]?[0-9]+ | 0x[0-9a-fA-F]+ | 0o[0-7]+ */
static int match_int(const char *s, size_t n)
{
    size_t i = 0;
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
        i = 2;
        return digits(s, n, &i, s[1] == 'x' ? 16 : 8) > 0 && i == n;
    }
    if (i < n && (s[i] == '-' || s[i] == '+')) i++;
    return digits(s, n, &i, 10) > 0 && i == n;
}

static int is_special_float(const char *s, size_t n, int *sign)
{
    static const char *const inf[] = {".inf", ".Inf", ".INF"}, *const nan[] = {".nan", ".NaN",
                                                                               ".NAN"};
    *sign = 1;
    for (int k = 0; k < 3; k++)
        if (n == 4 && !memcmp(s, nan[k], 4)) return 2;
    if (n == 5 && (s[0] == '-' || s[0] == '+')) {
        *sign = s[0] == '-' ? -1 : 1;
        s++, n--;
    }
    for (int k = 0; k < 3; k++)
        if (n == 4 && !memcmp(s, inf[k], 4)) return 1;
    return 0;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? | [-+]?\.inf | \.nan (and case forms) */
static int match_float(const char *s, size_t n)
{
    int sign;
    if (is_special_float(s, n, &sign)) return 1;
    size_t i = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) i++;
    if (i < n && s[i] == '.') {
        i++;
        if (!digits(s, n, &i, 10)) return 0;
    } else {
        if (!digits(s, n, &i, 10)) return 0;
        if (i < n && s[i] == '.') i++, digits(s, n, &i, 10);
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+')) i++;
        if (!digits(s, n, &i, 10)) return 0;
    }
    return i == n;
}

static int text_is(const nn_ynode *n, const char *const *words)
{
    for (; *words; words++)
        if (nn_yscalar_is(n, *words)) return 1;
    return 0;
}

nn_vtype nn_sv_type(const nn_ynode *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const bools[] = {"true", "True", "TRUE", "false", "False", "FALSE", NULL};
    if (n->kind == NN_YMAP) return NN_VMAP;
    if (n->kind == NN_YSEQ) return NN_VSEQ;
    if (n->style != NN_YPLAIN) return NN_VSTR;
    if (text_is(n, nulls)) return NN_VNULL;
    if (text_is(n, bools)) return NN_VBOOL;
    if (match_int(n->text, n->len)) return NN_VINT;
    if (match_float(n->text, n->len)) return NN_VFLOAT;
    return NN_VSTR;
}

const char *nn_sv_quote(const char *text, size_t len, char *buf, size_t size)
{
    size_t o = 0, max = size > 60 ? 40 : size / 2;
    buf[o++] = '\'';
    for (size_t i = 0; i < len && o + 8 < size; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (o > max && (ch & 0xC0) != 0x80) {
            o += (size_t)snprintf(buf + o, size - o, "...");
            break;
        }
        if (ch < 0x20 || ch == 0x7F)
            o += (size_t)snprintf(buf + o, size - o, "\\x%02X", ch);
        else
            buf[o++] = (char)ch;
    }
    buf[o++] = '\'';
    buf[o] = 0;
    return buf;
}

const char *nn_sv_show(const nn_ynode *n, char *buf, size_t size)
{
    switch (nn_sv_type(n)) {
    case NN_VMAP: return "a map";
    case NN_VSEQ: return "a sequence";
    case NN_VNULL: return n->len ? "null" : "an empty value";
    default: return nn_sv_quote(n->text, n->len, buf, size);
    }
}

/* "expected WHAT for 'PATH', got X", plus a hint when a number was quoted. */
static int wrong_type(nn_sctx *c, const nn_ynode *n, const char *what, const char *path)
{
    char buf[128];
    nn_sv_error(c, n->mark, "expected %s for '%s', got %s", what, path,
                nn_sv_show(n, buf, sizeof buf));
    if (n->kind == NN_YSCALAR && n->style != NN_YPLAIN &&
        (match_int(n->text, n->len) || match_float(n->text, n->len)))
        nn_diag_note(c->d, "a quoted value is a string; write the number without quotes");
    return 0;
}

int nn_sv_map(nn_sctx *c, const nn_ynode *n, const char *path)
{
    return n->kind == NN_YMAP ? 1 : wrong_type(c, n, "a map", path);
}

int nn_sv_seq(nn_sctx *c, const nn_ynode *n, const char *path)
{
    return n->kind == NN_YSEQ ? 1 : wrong_type(c, n, "a sequence", path);
}

/* Sign and magnitude of a core-schema int; 0 when the magnitude overflows 64 bits. */
static int int_value(const char *s, int *neg, uint64_t *mag)
{
    int base = 10;
    *neg = 0;
    if (*s == '-' || *s == '+') {
        *neg = *s++ == '-';
    } else if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
        base = s[1] == 'x' ? 16 : 8;
        s += 2;
    }
    uint64_t v = 0;
    for (; *s; s++) {
        unsigned d = *s <= '9' ? (unsigned)(*s - '0') : (unsigned)((*s | 0x20) - 'a' + 10);
        if (v > (UINT64_MAX - d) / (unsigned)base) return 0;
        v = v * (unsigned)base + d;
    }
    *mag = v;
    return 1;
}

/* The text of a number node, as written (numbers are plain ASCII). */
static const char *num_text(const nn_ynode *n, char *buf, size_t size)
{
    snprintf(buf, size, "%.*s%s", (int)(n->len > 40 ? 40 : n->len), n->text,
             n->len > 40 ? "..." : "");
    return buf;
}

/* The value as a long, or 0 when it does not fit. */
static int to_long(int neg, uint64_t mag, long *out)
{
    if (!neg || mag == 0) {
        if (mag > (uint64_t)LONG_MAX) return 0;
        *out = (long)mag;
    } else {
        if (mag - 1 > (uint64_t)LONG_MAX) return 0;
        *out = -(long)(mag - 1) - 1;
    }
    return 1;
}

int nn_sv_long(nn_sctx *c, const nn_ynode *n, const char *path, long lo, long hi, long *out)
{
    char buf[128];
    if (nn_sv_type(n) != NN_VINT) return wrong_type(c, n, "an integer", path);
    int neg;
    uint64_t mag;
    long v;
    if (!int_value(n->text, &neg, &mag) || !to_long(neg, mag, &v) || v < lo || v > hi) {
        nn_sv_error(c, n->mark, "'%s' must be between %ld and %ld, got %s", path, lo, hi,
                    num_text(n, buf, sizeof buf));
        return 0;
    }
    *out = v;
    return 1;
}

int nn_sv_int(nn_sctx *c, const nn_ynode *n, const char *path, int lo, int hi, int *out)
{
    long v;
    if (!nn_sv_long(c, n, path, lo, hi, &v)) return 0;
    *out = (int)v;
    return 1;
}

int nn_sv_u64(nn_sctx *c, const nn_ynode *n, const char *path, uint64_t *out)
{
    char buf[128];
    if (nn_sv_type(n) != NN_VINT) return wrong_type(c, n, "an integer", path);
    int neg;
    uint64_t mag;
    if (!int_value(n->text, &neg, &mag) || (neg && mag != 0)) {
        nn_sv_error(c, n->mark, "'%s' must be between 0 and %llu, got %s", path,
                    (unsigned long long)UINT64_MAX, num_text(n, buf, sizeof buf));
        return 0;
    }
    *out = mag;
    return 1;
}

double nn_sv_number(const nn_ynode *n)
{
    int sign, neg;
    uint64_t mag;
    int special = is_special_float(n->text, n->len, &sign);
    if (special == 2) return NAN;
    if (special == 1) return sign * INFINITY;
    if (match_int(n->text, n->len) && int_value(n->text, &neg, &mag))
        return neg ? -(double)mag : (double)mag;
    return strtod(n->text, NULL); /* the core-schema float syntax is a subset of strtod's */
}

/* "must be between 0 and 1", "must be at least 0", "must be greater than 0", ... */
static void range_text(nn_range r, char *buf, size_t size)
{
    int has_lo = isfinite(r.lo), has_hi = isfinite(r.hi);
    if (has_lo && has_hi && !r.lo_open && !r.hi_open)
        snprintf(buf, size, "between %g and %g", r.lo, r.hi);
    else if (has_lo && has_hi)
        snprintf(buf, size, "%s %g and less than %g", r.lo_open ? "greater than" : "at least", r.lo,
                 r.hi);
    else if (has_lo)
        snprintf(buf, size, "%s %g", r.lo_open ? "greater than" : "at least", r.lo);
    else if (has_hi)
        snprintf(buf, size, "%s %g", r.hi_open ? "less than" : "at most", r.hi);
    else
        snprintf(buf, size, "a finite number");
}

int nn_sv_float(nn_sctx *c, const nn_ynode *n, const char *path, nn_range r, double *out)
{
    nn_vtype t = nn_sv_type(n);
    if (t != NN_VINT && t != NN_VFLOAT) return wrong_type(c, n, "a number", path);
    double v = nn_sv_number(n);
    int ok =
        isfinite(v) && (r.lo_open ? v > r.lo : v >= r.lo) && (r.hi_open ? v < r.hi : v <= r.hi);
    if (!ok) {
        char rb[128], buf[128];
        range_text(r, rb, sizeof rb);
        nn_sv_error(c, n->mark, "'%s' must be %s, got %s", path, rb, num_text(n, buf, sizeof buf));
        return 0;
    }
    *out = v;
    return 1;
}

int nn_sv_bool(nn_sctx *c, const nn_ynode *n, const char *path, int *out)
{
    if (nn_sv_type(n) != NN_VBOOL) return wrong_type(c, n, "true or false", path);
    *out = n->text[0] == 't' || n->text[0] == 'T';
    return 1;
}

int nn_sv_string(nn_sctx *c, const nn_ynode *n, const char *path, char **out)
{
    nn_vtype t = nn_sv_type(n);
    if (t != NN_VSTR && t != NN_VINT && t != NN_VFLOAT) return wrong_type(c, n, "a string", path);
    if (n->len == 0 || memchr(n->text, 0, n->len)) {
        nn_sv_error(c, n->mark, "'%s' must be a non-empty string without NUL characters", path);
        return 0;
    }
    free(*out);
    *out = strdup(n->text);
    if (!*out) abort();
    return 1;
}

const char *nn_sv_join(const char *const *names, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; names[i] && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "", names[i]);
    return buf;
}

/* " (did you mean 'x'?)" or "" */
/* Words other tools use for a key of ours (PyTorch's "val" split is nnrun's dev). */
static const char *synonym(const char *word, const char *const *names)
{
    static const char *const syn[][2] = {{"val", "dev"},        {"valid", "dev"},
                                         {"validation", "dev"}, {"training", "train"},
                                         {"testing", "test"},   {"epochs", "steps"}};
    for (size_t i = 0; i < sizeof syn / sizeof *syn; i++)
        if (!strcmp(word, syn[i][0]))
            for (int k = 0; names[k]; k++)
                if (!strcmp(names[k], syn[i][1])) return names[k];
    return NULL;
}

static const char *did_you_mean(const nn_ynode *n, const char *const *names, char *buf, size_t size)
{
    const char *s =
        n->kind == NN_YSCALAR && !memchr(n->text, 0, n->len) ? nn_suggest(n->text, names) : NULL;
    if (!s && n->kind == NN_YSCALAR && !memchr(n->text, 0, n->len)) s = synonym(n->text, names);
    buf[0] = 0;
    if (s) snprintf(buf, size, " (did you mean '%s'?)", s);
    return buf;
}

int nn_sv_enum(nn_sctx *c, const nn_ynode *n, const char *path, const char *const *names, int *out)
{
    char list[256], buf[128], dym[96];
    nn_sv_join(names, list, sizeof list);
    nn_vtype t = nn_sv_type(n);
    if (t != NN_VSTR) {
        nn_sv_error(c, n->mark, "expected one of %s for '%s', got %s", list, path,
                    nn_sv_show(n, buf, sizeof buf));
        return 0;
    }
    for (int i = 0; names[i]; i++) {
        if (nn_yscalar_is(n, names[i])) {
            *out = i;
            return 1;
        }
    }
    nn_sv_error(c, n->mark, "unknown value %s for '%s'%s; expected one of: %s",
                nn_sv_show(n, buf, sizeof buf), path, did_you_mean(n, names, dym, sizeof dym),
                list);
    return 0;
}

void nn_sv_unknown_key(nn_sctx *c, const nn_ynode *key, const char *path, const char *const *keys)
{
    char buf[128], dym[96], list[512], where[128] = "";
    if (*path) snprintf(where, sizeof where, " in '%s'", path);
    nn_sv_error(c, key->mark, "unknown %skey %s%s%s", *path ? "" : "top-level ",
                nn_sv_show(key, buf, sizeof buf), where, did_you_mean(key, keys, dym, sizeof dym));
    nn_diag_note(c->d, "valid keys%s: %s", where, nn_sv_join(keys, list, sizeof list));
}

void nn_sv_missing(nn_sctx *c, const nn_ynode *map, const char *key, const char *path)
{
    if (*path)
        nn_sv_error(c, map->mark, "missing required key '%s' in '%s'", key, path);
    else
        nn_sv_error(c, map->mark, "missing required top-level key '%s'", key);
}

int nn_sv_key_is(const nn_ynode *map, int i, const char *name)
{
    return nn_yscalar_is(nn_ymap_key(map, i), name);
}

char *nn_sv_strdup(const char *s)
{
    char *p = strdup(s);
    if (!p) abort();
    return p;
}

char *nn_sv_path(nn_sctx *c, const nn_ynode *n, const char *path)
{
    char *rel = NULL;
    if (!nn_sv_string(c, n, path, &rel)) return NULL;
    const char *base = c->rel_base                                     ? c->rel_base
                       : n->mark.file && strcmp(n->mark.file, "--set") ? n->mark.file
                                                                       : c->spec_path;
    const char *slash = base ? strrchr(base, '/') : NULL;
    if (rel[0] == '/' || !slash) return rel;
    size_t dn = (size_t)(slash - base) + 1;
    char *p = malloc(dn + strlen(rel) + 1);
    if (!p) abort();
    memcpy(p, base, dn);
    strcpy(p + dn, rel);
    free(rel);
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

int nn_sv_regex(nn_sctx *c, const nn_ynode *n, const char *path, char **out)
{
    if (!nn_sv_string(c, n, path, out)) return 0;
    int code;
    PCRE2_SIZE off;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)*out, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off, NULL);
    if (re) {
        pcre2_code_free(re);
        return 1;
    }
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(code, msg, sizeof msg);
    nn_sv_error(c, pattern_mark(n, off), "invalid regular expression in '%s': %s", path,
                (const char *)msg);
    free(*out);
    *out = NULL;
    return 0;
}

int nn_sv_variant(nn_sctx *c, const nn_ynode *n, const char *path, const char *const *names,
                  const char *example, int *out, const nn_ynode **value)
{
    char list[256];
    *value = NULL;
    if (n->kind != NN_YMAP) return nn_sv_enum(c, n, path, names, out);
    if (n->n != 1) {
        nn_sv_error(c, n->mark, "'%s' must name exactly one of %s, e.g. %s", path,
                    nn_sv_join(names, list, sizeof list), example);
        return 0;
    }
    if (!nn_sv_enum(c, nn_ymap_key(n, 0), path, names, out)) return 0;
    *value = nn_ymap_value(n, 0);
    return 1;
}
