/* errors.c — the API's error lists: an nn_diag read as nnrun_error entries and as the text
 * nnrun prints.  A spec loaded from a string was read from a temporary file; its name is
 * shown as "<string>". */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

static const char STRING_NAME[] = "<string>";

int nn_api_errors_reset(nnrun_errors *e)
{
    nn_diag_free(e->d);
    free(e->text);
    e->text = NULL;
    free(e->string_path);
    e->string_path = NULL;
    e->d = nn_diag_new();
    return e->d ? 0 : -1;
}

nnrun_errors *nn_api_errors_take(nnrun_errors *e)
{
    nnrun_errors *c = malloc(sizeof *c);
    if (!c) return NULL;
    *c = *e;
    e->d = NULL, e->text = NULL, e->string_path = NULL;
    nn_api_errors_reset(e);
    return c;
}

void nn_api_error(nnrun_errors *e, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (e->d) nn_diag_error(e->d, (nn_mark){NULL, 0, 0}, "%s", msg);
    free(e->text);
    e->text = NULL;
}

int nnrun_errors_count(const nnrun_errors *e)
{
    return e && e->d ? nn_diag_count(e->d) : 0;
}

int nnrun_errors_get(const nnrun_errors *e, int i, nnrun_error *out)
{
    nn_diag_entry en;
    if (!e || !e->d || !out || nn_diag_entry_at(e->d, i, &en) != 0) return NNRUN_EINPUT;
    out->file = en.file;
    if (en.file && e->string_path && !strcmp(en.file, e->string_path)) out->file = STRING_NAME;
    out->line = en.line;
    out->column = en.col;
    out->message = en.message;
    return NNRUN_OK;
}

/* `s` with every `from` replaced by `to` (malloc'd; s itself when from is absent). */
static char *replace_all(char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    for (const char *p = strstr(s, from); p; p = strstr(p + fl, from))
        n++;
    if (!n || !fl) return s;
    char *out = malloc(strlen(s) + n * tl + 1), *w = out;
    if (!out) return s;
    const char *r = s;
    for (const char *p = strstr(r, from); p; p = strstr(r, from)) {
        memcpy(w, r, (size_t)(p - r));
        w += p - r;
        memcpy(w, to, tl);
        w += tl;
        r = p + fl;
    }
    strcpy(w, r);
    free(s);
    return out;
}

const char *nnrun_errors_text(const nnrun_errors *e)
{
    if (!e || !e->d || !nn_diag_count(e->d)) return "";
    if (e->text) return e->text;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return "out of memory";
    nn_diag_print(e->d, f);
    fclose(f);
    if (buf && e->string_path) buf = replace_all(buf, e->string_path, STRING_NAME);
    ((nnrun_errors *)e)->text = buf; /* a cache: the list itself is unchanged */
    return buf ? buf : "out of memory";
}

void nnrun_errors_free(nnrun_errors *e)
{
    if (!e) return;
    nn_diag_free(e->d);
    free(e->text);
    free(e->string_path);
    free(e);
}

const nn_diag *nn_api_errors_diag(const nnrun_errors *e)
{
    return e ? e->d : NULL;
}
