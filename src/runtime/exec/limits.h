/* limits.h — resource limits checked before anything large is allocated: the memory a
 * model's plans and parameters will take against --max-memory. */
#ifndef NN_LIMITS_H
#define NN_LIMITS_H

#include <stddef.h>

#include "ir/graph.h"
#include "parser/diag.h"

/* Parses BYTES with an optional suffix K, M or G (powers of 1024; "KB", "MiB" etc. too);
 * returns 0, or −1 when it is no positive size. */
int nn_parse_bytes(const char *s, size_t *out);
/* The default limit: 80% of physical memory. */
size_t nn_max_memory_default(void);
/* The limit nn_limits_check applies (0: the default), for the whole process. */
void nn_limits_set_max_memory(size_t bytes);
size_t nn_limits_max_memory(void);

/* Refuses a model whose memory would exceed the limit: the parameter block (values,
 * gradients, `state` optimizer arrays per parameter; buffers), the training plan's arena
 * and `neval` evaluation arenas.  Measured by laying the plans out, before any of it is
 * allocated.  Returns 0, or −1 with an error in `d` at `at` naming the bytes needed and
 * the largest tensor. */
int nn_limits_check(const nn_graph *train_g, const nn_graph *eval_g, int neval, int state,
                    nn_mark at, nn_diag *d);
/* The same for one allocation of `need` bytes: "WHAT needs N bytes, more than ...". */
int nn_limits_check_bytes(size_t need, const char *what, nn_mark at, nn_diag *d);

#endif
