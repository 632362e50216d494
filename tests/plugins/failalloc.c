/* failalloc.c — an LD_PRELOAD library for tests/test_faults.c: every malloc, calloc or
 * realloc of $NNRUN_FAIL_ALLOC_BYTES bytes or more fails (NULL, errno ENOMEM), so the
 * out-of-memory paths of a real run can be reached without exhausting the machine.
 * (Under AddressSanitizer the test uses ASAN_OPTIONS=max_allocation_size_mb instead.) */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);

static int too_big(size_t n)
{
    static size_t limit = (size_t)-1;
    static int read;
    if (!read) {
        const char *v = getenv("NNRUN_FAIL_ALLOC_BYTES");
        if (v) limit = (size_t)strtoull(v, NULL, 10);
        read = 1;
    }
    if (n < limit) return 0;
    errno = ENOMEM;
    return 1;
}

void *malloc(size_t n)
{
    return too_big(n) ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    return n && size > (size_t)-1 / n ? NULL : too_big(n * size) ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    return too_big(n) ? NULL : __libc_realloc(p, n);
}
