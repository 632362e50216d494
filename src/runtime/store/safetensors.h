/* safetensors.h — the safetensors file format: an 8-byte little-endian header length, a
 * JSON header (per tensor: dtype, shape, data_offsets; an optional "__metadata__" map of
 * strings), then the raw little-endian tensor bytes.  Knows nothing of models.
 */
#ifndef NN_SAFETENSORS_H
#define NN_SAFETENSORS_H

#include <stdint.h>

#include "parser/diag.h"

#define NN_ST_MAX_DIMS 8

typedef enum { NN_ST_F32 = 0, NN_ST_U32, NN_ST_U64, NN_ST_I32, NN_ST_DTYPE_COUNT } nn_st_dtype;

typedef struct {
    const char *name;
    nn_st_dtype dtype;
    int ndim;
    long dim[NN_ST_MAX_DIMS];
    const void *data; /* reading: into the file's buffer, possibly unaligned (memcpy it) */
} nn_st_tensor;

typedef struct {
    const char *key, *value;
} nn_st_meta;

/* Writes the tensors and metadata to `path` atomically: a temporary file beside it,
 * fsync, rename.  Returns 0, or −1 with errno set. */
int nn_st_write(const char *path, const nn_st_tensor *t, int n, const nn_st_meta *meta, int nmeta);

/* Removes the temporary file of a write in progress (async-signal-safe: for a process
 * about to die by a signal). */
void nn_st_abandon(void);

typedef struct nn_st_file nn_st_file;

/* Reads and checks a whole file: its size against the header length, the header JSON,
 * every dtype (F32, U32, U64, I32), shape and data_offsets range.  NULL with an error naming
 * the file in `d`. */
nn_st_file *nn_st_read(const char *path, nn_diag *d);
/* The same, with any error at `at` (the spec line naming the file), the file named in it. */
nn_st_file *nn_st_read_at(const char *path, nn_mark at, nn_diag *d);
void nn_st_free(nn_st_file *f);
int nn_st_count(const nn_st_file *f);
const nn_st_tensor *nn_st_at(const nn_st_file *f, int i);
const nn_st_tensor *nn_st_find(const nn_st_file *f, const char *name);
/* A metadata value, or NULL. */
const char *nn_st_meta_get(const nn_st_file *f, const char *key);
const char *nn_st_path(const nn_st_file *f);
const char *nn_st_dtype_name(nn_st_dtype t);
/* "[27, 10]" into buf. */
const char *nn_st_shape_str(int ndim, const long *dim, char *buf, int size);

#endif
