/* safetensors.c — writing and strictly reading safetensors files (see safetensors.h).
 *
 * The reader loads the whole file and checks everything before anyone looks at a tensor:
 * a checkpoint from a crashed write, another program or a different model must fail with
 * a clear message, never be half used. */
#include "runtime/store/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this writer copies memory as it is"
#endif

#define MAX_HEADER (100L << 20) /* as the reference implementation: 100 MB of JSON at most */

static const char *const dtype_names[NN_ST_DTYPE_COUNT] = {"F32", "U32", "U64", "I32"};
static const int dtype_size[NN_ST_DTYPE_COUNT] = {4, 4, 8, 4};

struct nn_st_file {
    char *path;
    unsigned char *buf;
    nn_st_tensor *t;
    int n;
    json_t *header;
};

const char *nn_st_dtype_name(nn_st_dtype t)
{
    return t < NN_ST_DTYPE_COUNT ? dtype_names[t] : "?";
}

const char *nn_st_shape_str(int ndim, const long *dim, char *buf, int size)
{
    int at = snprintf(buf, (size_t)size, "[");
    for (int i = 0; i < ndim && at < size; i++)
        at += snprintf(buf + at, (size_t)(size - at), "%s%ld", i ? ", " : "", dim[i]);
    if (at < size) snprintf(buf + at, (size_t)(size - at), "]");
    return buf;
}

static long numel(const nn_st_tensor *t)
{
    long n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->dim[i];
    return n;
}

/* The JSON header, padded with spaces to a multiple of 8 bytes (as safetensors writes). */
static char *header_json(const nn_st_tensor *t, int n, const nn_st_meta *meta, int nmeta,
                         size_t *len)
{
    json_t *root = json_object();
    if (nmeta > 0) {
        json_t *m = json_object();
        for (int i = 0; i < nmeta; i++)
            json_object_set_new(m, meta[i].key, json_string(meta[i].value));
        json_object_set_new(root, "__metadata__", m);
    }
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        json_t *shape = json_array();
        for (int k = 0; k < t[i].ndim; k++)
            json_array_append_new(shape, json_integer(t[i].dim[k]));
        size_t bytes = (size_t)numel(&t[i]) * (size_t)dtype_size[t[i].dtype];
        json_t *e = json_pack("{s:s, s:o, s:[I, I]}", "dtype", dtype_names[t[i].dtype], "shape",
                              shape, "data_offsets", (json_int_t)off, (json_int_t)(off + bytes));
        json_object_set_new(root, t[i].name, e);
        off += bytes;
    }
    char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!s) return NULL;
    size_t l = strlen(s), padded = (l + 7) / 8 * 8;
    char *p = realloc(s, padded + 1);
    if (!p) {
        free(s);
        return NULL;
    }
    memset(p + l, ' ', padded - l);
    p[padded] = 0;
    *len = padded;
    return p;
}

/* The temporary file being written, for nn_st_abandon (a signal handler). */
static char writing[4200];
static volatile sig_atomic_t have_writing;

void nn_st_abandon(void)
{
    if (have_writing) unlink(writing);
}

int nn_st_write(const char *path, const nn_st_tensor *t, int n, const nn_st_meta *meta, int nmeta)
{
    size_t hlen;
    char *header = header_json(t, n, meta, nmeta, &hlen);
    if (!header) {
        errno = ENOMEM;
        return -1;
    }
    char *tmp = writing;
    snprintf(tmp, sizeof writing, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(header);
        return -1;
    }
    have_writing = 1;
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    int bad = fwrite(len8, 1, 8, f) != 8 || fwrite(header, 1, hlen, f) != hlen;
    for (int i = 0; i < n && !bad; i++) {
        size_t bytes = (size_t)numel(&t[i]) * (size_t)dtype_size[t[i].dtype];
        bad = bytes && fwrite(t[i].data, 1, bytes, f) != bytes;
    }
    free(header);
    /* the data reaches the disk before the name does: a crash leaves the old file whole */
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    int err = errno;
    bad |= fclose(f) != 0;
    if (!bad && rename(tmp, path) == 0) {
        have_writing = 0;
        return 0;
    }
    err = errno ? errno : err;
    unlink(tmp);
    have_writing = 0;
    errno = err;
    return -1;
}

/* --- reading ----------------------------------------------------------------------- */

/* Where read errors are blamed: the file itself, or (nn_st_read_at) the spec line that
 * named it, with the file's name in the message. */
static const nn_mark *blame;

static nn_st_file *fail(nn_st_file *f, nn_diag *d, const char *path, const char *fmt, const char *a,
                        const char *b)
{
    char msg[600];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    if (blame)
        nn_diag_error(d, *blame, "'%s': %s", path, msg);
    else
        nn_diag_error(d, (nn_mark){path, 0, 0}, "%s", msg);
    nn_st_free(f);
    return NULL;
}

static unsigned char *slurp(const char *path, long *size)
{
    FILE *fp = fopen(path, "rb");
    struct stat st;
    if (fp && (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode))) {
        fclose(fp); /* a directory opens, then reads as garbage sizes */
        errno = EISDIR;
        return NULL;
    }
    if (!fp) return NULL;
    unsigned char *buf = NULL;
    if (fseek(fp, 0, SEEK_END) == 0 && (*size = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)*size + 1)) && fread(buf, 1, (size_t)*size, fp) != (size_t)*size) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    return buf;
}

/* One tensor entry of the header: dtype, shape and offsets, checked against the data. */
static const char *parse_entry(nn_st_tensor *t, json_t *e, long data_len, long *begin)
{
    static char why[300];
    json_t *dt = json_object_get(e, "dtype"), *shape = json_object_get(e, "shape");
    json_t *off = json_object_get(e, "data_offsets");
    if (!json_is_object(e) || !json_is_string(dt) || !json_is_array(shape) || !json_is_array(off))
        return "is not {dtype, shape, data_offsets}";
    int k;
    for (k = 0; k < NN_ST_DTYPE_COUNT && strcmp(json_string_value(dt), dtype_names[k]); k++)
        ;
    if (k == NN_ST_DTYPE_COUNT) {
        snprintf(why, sizeof why,
                 "has dtype '%.40s'; nnrun reads F32 tensors (and U32, U64, I32 for state)",
                 json_string_value(dt));
        return why;
    }
    t->dtype = (nn_st_dtype)k;
    t->ndim = (int)json_array_size(shape);
    if (t->ndim > NN_ST_MAX_DIMS) return "has more than 8 dimensions";
    long n = 1;
    for (int i = 0; i < t->ndim; i++) {
        json_t *v = json_array_get(shape, (size_t)i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > (1L << 40))
            return "has a shape that is not a list of sizes";
        t->dim[i] = (long)json_integer_value(v);
        n = t->dim[i] && n > (1L << 40) / t->dim[i] ? (1L << 41) : n * t->dim[i];
    }
    json_t *b = json_array_get(off, 0), *en = json_array_get(off, 1);
    if (json_array_size(off) != 2 || !json_is_integer(b) || !json_is_integer(en))
        return "has data_offsets that are not [begin, end]";
    long lo = (long)json_integer_value(b), hi = (long)json_integer_value(en);
    if (lo < 0 || hi < lo || hi > data_len) {
        snprintf(why, sizeof why,
                 "has data_offsets [%ld, %ld] outside the %ld data bytes (truncated file?)", lo, hi,
                 data_len);
        return why;
    }
    if (hi - lo != n * dtype_size[k]) {
        char s[200];
        snprintf(why, sizeof why, "has %ld data bytes, but shape %s of %s needs %ld", hi - lo,
                 nn_st_shape_str(t->ndim, t->dim, s, sizeof s), dtype_names[k], n * dtype_size[k]);
        return why;
    }
    *begin = lo;
    return NULL;
}

static int by_data(const void *a, const void *b)
{
    const unsigned char *x = (*(const nn_st_tensor *const *)a)->data;
    const unsigned char *y = (*(const nn_st_tensor *const *)b)->data;
    return x < y ? -1 : x > y;
}

/* Whether two tensors' byte ranges overlap (a sum of sizes misses a shifted range). */
static int overlapping(const nn_st_file *f)
{
    const nn_st_tensor **o = calloc((size_t)f->n + 1, sizeof *o);
    if (!o) return 1;
    for (int i = 0; i < f->n; i++)
        o[i] = &f->t[i];
    qsort(o, (size_t)f->n, sizeof *o, by_data);
    int bad = 0;
    for (int i = 1; i < f->n && !bad; i++)
        bad =
            (const unsigned char *)o[i - 1]->data + numel(o[i - 1]) * dtype_size[o[i - 1]->dtype] >
            (const unsigned char *)o[i]->data;
    free(o);
    return bad;
}

nn_st_file *nn_st_read(const char *path, nn_diag *d)
{
    nn_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return NULL;
    }
    long size = 0;
    errno = 0; /* a short read (the file shrank) sets none */
    if (!(f->buf = slurp(path, &size)))
        return fail(f, d, path, "cannot read the checkpoint: %s%s",
                    errno ? strerror(errno) : "it was shorter than its size", NULL);
    if (size < 8) return fail(f, d, path, "not a safetensors file: shorter than 8 bytes%s%s", 0, 0);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | f->buf[i];
    if (hlen > MAX_HEADER || (long)hlen > size - 8)
        return fail(f, d, path,
                    "not a safetensors file, or truncated: the header length does not fit the "
                    "file%s%s",
                    0, 0);
    json_error_t je;
    f->header = json_loadb((const char *)f->buf + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(f->header))
        return fail(f, d, path, "corrupted safetensors header: %s%s",
                    f->header ? "not a JSON object" : je.text, NULL);
    long data_len = size - 8 - (long)hlen;
    const unsigned char *data = f->buf + 8 + hlen;
    f->t = calloc(json_object_size(f->header) + 1, sizeof *f->t);
    if (!f->t) return fail(f, d, path, "out of memory%s%s", 0, 0);
    const char *key;
    json_t *e;
    long covered = 0;
    json_object_foreach(f->header, key, e)
    {
        if (!strcmp(key, "__metadata__")) {
            const char *mk;
            json_t *mv;
            if (!json_is_object(e)) return fail(f, d, path, "__metadata__ is not a map%s%s", 0, 0);
            json_object_foreach(e, mk, mv) if (!json_is_string(mv)) return fail(
                f, d, path, "metadata '%s' is not a string%s", mk, NULL);
            continue;
        }
        nn_st_tensor *t = &f->t[f->n];
        long begin = 0;
        const char *why = parse_entry(t, e, data_len, &begin);
        if (why) return fail(f, d, path, "tensor '%s' %s", key, why);
        t->name = key;
        t->data = data + begin;
        covered += numel(t) * dtype_size[t->dtype];
        f->n++;
    }
    if (covered > data_len || overlapping(f))
        return fail(f, d, path, "corrupted safetensors header: tensors overlap%s%s", 0, 0);
    return f;
}

nn_st_file *nn_st_read_at(const char *path, nn_mark at, nn_diag *d)
{
    blame = &at;
    nn_st_file *f = nn_st_read(path, d);
    blame = NULL;
    return f;
}

void nn_st_free(nn_st_file *f)
{
    if (!f) return;
    json_decref(f->header);
    free(f->t);
    free(f->buf);
    free(f->path);
    free(f);
}

int nn_st_count(const nn_st_file *f)
{
    return f->n;
}

const nn_st_tensor *nn_st_at(const nn_st_file *f, int i)
{
    return &f->t[i];
}

const nn_st_tensor *nn_st_find(const nn_st_file *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->t[i].name, name)) return &f->t[i];
    return NULL;
}

const char *nn_st_meta_get(const nn_st_file *f, const char *key)
{
    return json_string_value(json_object_get(json_object_get(f->header, "__metadata__"), key));
}

const char *nn_st_path(const nn_st_file *f)
{
    return f->path;
}
