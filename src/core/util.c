/* core/util.c: allocation that aborts on out-of-memory (Redis's zmalloc).
 *
 * Only small control structures go through these: running out of memory for a few hundred bytes
 * leaves nothing sensible to do, so the process says why on stderr and aborts. Bulk data goes
 * through struct buf, whose failures are handled by the caller. Requests of 0 bytes allocate 1
 * byte so a non-NULL result always means success. */
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>

static void oom(size_t n)
{
    /* fprintf, not tlog: tlog may itself need memory, and this path must not recurse. */
    fprintf(stderr, "tend: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}
