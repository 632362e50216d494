/* budget.h — the memory budget of the whole process (--max-memory, default 80% of
 * physical memory) and the check of one large allocation against it.  It sits in data/, the
 * lowest runtime folder, because the data loaders make the first large allocations; the
 * model's check (exec/limits.h) and everything above use it from here. */
#ifndef NN_BUDGET_H
#define NN_BUDGET_H

#include <stddef.h>

#include "parser/diag.h"

/* Parses BYTES with an optional suffix K, M or G (powers of 1024; "KB", "MiB" etc. too);
 * returns 0, or −1 when it is no positive size. */
int nn_parse_bytes(const char *s, size_t *out);
/* The default limit: 80% of physical memory. */
size_t nn_max_memory_default(void);
/* The limit nn_limits_check applies (0: the default), for the whole process. */
void nn_limits_set_max_memory(size_t bytes);
size_t nn_limits_max_memory(void);

/* Checks one allocation of `need` bytes against the budget: 0, or −1 with "WHAT needs N
 * bytes, more than --max-memory ..." in `d` at `at`. */
int nn_limits_check_bytes(size_t need, const char *what, nn_mark at, nn_diag *d);
/* "1.5 GiB (1610612736 bytes)" into buf; returns buf. */
const char *nn_human_bytes(size_t n, char *buf, size_t len);

#endif
