/* core/util.h: tiny macros shared by every module. */
#ifndef TEND_CORE_UTIL_H
#define TEND_CORE_UTIL_H

#include <stddef.h>

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* <sys/param.h> (pulled in by uv.h) may define these already, with the same meaning. */
#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

/* Allocation that aborts on out-of-memory: small control structures only (Redis's zmalloc).
 * Bulk data (log bytes, request bodies) uses struct buf, whose failures are handled. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);

#endif
