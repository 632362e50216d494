/* emit_write.c — the resolved spec's YAML scalars and layout: floats in their shortest
 * round-tripping form that every YAML reader takes as a float, strings quoted where a
 * reader would type them otherwise, absolute paths, wrapped number lists (emit.c writes
 * the sections with these). */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "emit_int.h"
void nn_em_put(em *e, const char *s)
{
    fputs(s, e->f);
    const char *nl = strrchr(s, '\n');
    e->col = nl ? (int)strlen(nl + 1) : e->col + (int)strlen(s);
}

void nn_em_putf(em *e, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    nn_em_put(e, buf);
}

/* A new line indented by `ind` spaces. */
void nn_em_nl(em *e, int ind)
{
    nn_em_putf(e, "\n%*s", ind, "");
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

void nn_em_float(em *e, double v)
{
    char buf[40];
    nn_em_put(e, fmt_float(v, buf));
}

void nn_em_bool(em *e, int v)
{
    nn_em_put(e, v ? "true" : "false");
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
void nn_em_str(em *e, const char *s)
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
void nn_em_word(em *e, const char *s)
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
        nn_em_put(e, s);
    else
        nn_em_str(e, s);
}

/* "DIR/REST" in a new string, or NULL. */
static char *nn_em_join(const char *dir, const char *rest)
{
    char *p = dir ? malloc(strlen(dir) + strlen(rest) + 2) : NULL;
    if (p) sprintf(p, "%s/%s", dir, rest);
    return p;
}

/* An absolute path, so that a resolved spec means the same file wherever it is written:
 * the canonical one when the file exists; else its directory made canonical (when that
 * exists), else the current directory prepended to a relative path. */
void nn_em_path(em *e, const char *path)
{
    char *abs = realpath(path, NULL), *dir = NULL;
    const char *slash = strrchr(path, '/');
    if (!abs && slash && slash > path) {
        char *d = strndup(path, (size_t)(slash - path));
        if (d) dir = realpath(d, NULL);
        free(d);
        abs = nn_em_join(dir, slash + 1);
    }
    if (!abs && path[0] != '/') {
        free(dir);
        dir = realpath(".", NULL);
        abs = nn_em_join(dir, path);
    }
    free(dir);
    nn_em_str(e, abs ? abs : path);
    free(abs);
}

/* [a, b, c], wrapped at WRAP_COL with continuation lines at `ind` (deeper than the key). */
void nn_em_floats(em *e, const double *v, long n, int ind)
{
    char buf[40];
    nn_em_put(e, "[");
    for (long i = 0; i < n; i++) {
        fmt_float(v[i], buf);
        if (i > 0) nn_em_put(e, ",");
        if (i > 0 && e->col + 1 + (int)strlen(buf) + 1 > WRAP_COL)
            nn_em_nl(e, ind);
        else if (i > 0)
            nn_em_put(e, " ");
        nn_em_put(e, buf);
    }
    nn_em_put(e, "]");
}
