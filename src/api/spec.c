/* spec.c — specs for the API: from a file or from text, with --set overrides.  Text is
 * written to a temporary file in its base directory (relative paths and include: resolve
 * there, as for a file written beside them) and read like any spec; the file is removed
 * at once and errors name it "<string>". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_int.h"

nnrun_spec *nn_api_spec_adopt(nn_spec *s)
{
    nnrun_spec *w = s ? calloc(1, sizeof *w) : NULL;
    if (!w) {
        nn_spec_free(s);
        return NULL;
    }
    w->s = s;
    w->refs = 1;
    return w;
}

/* Hands e to *err (or frees it). */
static void give(nnrun_errors *e, nnrun_errors **err)
{
    if (err) *err = nn_api_errors_take(e);
    nn_diag_free(e->d);
    free(e->text);
    free(e->string_path);
}

nnrun_spec *nnrun_spec_load(const char *path, const char *const *sets, int nsets,
                            nnrun_errors **err)
{
    if (err) *err = NULL;
    nnrun_errors e = {0};
    if (nn_api_errors_reset(&e) != 0) return NULL;
    nn_spec *s = NULL;
    if (!path || nsets < 0 || (nsets > 0 && !sets))
        nn_api_error(&e, "nnrun_spec_load: no spec path given (or sets NULL with nsets > 0)");
    else
        s = nn_spec_load(path, sets, nsets, e.d);
    if (s) {
        nn_diag_free(e.d);
        return nn_api_spec_adopt(s);
    }
    give(&e, err);
    return NULL;
}

nnrun_spec *nnrun_spec_load_string(const char *yaml, const char *base_dir, const char *name,
                                   const char *const *sets, int nsets, nnrun_errors **err)
{
    if (err) *err = NULL;
    nnrun_errors e = {0};
    if (nn_api_errors_reset(&e) != 0) return NULL;
    if (!yaml || nsets < 0 || (nsets > 0 && !sets)) {
        nn_api_error(&e, "nnrun_spec_load_string: no spec text given");
        give(&e, err);
        return NULL;
    }
    size_t n = strlen(base_dir && *base_dir ? base_dir : ".") + 40;
    char *path = malloc(n);
    if (!path) return give(&e, err), NULL;
    snprintf(path, n, "%s/.nnrun-string-XXXXXX.yaml", base_dir && *base_dir ? base_dir : ".");
    int fd = mkstemps(path, 5);
    size_t len = strlen(yaml);
    if (fd < 0 || write(fd, yaml, len) != (ssize_t)len) {
        nn_api_error(&e, "cannot write the spec text to a temporary file in '%s': %s",
                     base_dir && *base_dir ? base_dir : ".", strerror(errno));
        if (fd >= 0) close(fd), unlink(path);
        free(path);
        give(&e, err);
        return NULL;
    }
    close(fd);
    nn_spec *s = nn_spec_load(path, sets, nsets, e.d);
    unlink(path);
    if (s && s->name && !strncmp(s->name, ".nnrun-string-", 14)) { /* no name: in the text */
        free(s->name);
        s->name = strdup(name && *name ? name : "spec");
        if (!s->name) nn_spec_free(s), s = NULL;
    }
    if (s) {
        free(path);
        nn_diag_free(e.d);
        return nn_api_spec_adopt(s);
    }
    e.string_path = path;
    give(&e, err);
    return NULL;
}

void nnrun_spec_free(nnrun_spec *s)
{
    if (!s || --s->refs > 0) return;
    nn_spec_free(s->s);
    free(s);
}

const char *nnrun_spec_name(const nnrun_spec *s)
{
    return s ? s->s->name : NULL;
}

int nnrun_spec_plugins(const nnrun_spec *s)
{
    return s ? s->s->nplugins : 0;
}

char *nnrun_spec_resolved(const nnrun_spec *s)
{
    if (!s) return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    int rc = nn_spec_emit(s->s, f);
    fclose(f);
    if (rc != 0) free(buf), buf = NULL;
    return buf;
}
