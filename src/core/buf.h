/* core/buf.h: growable byte buffers with a ceiling (curl's dynbuf, skalibs' stralloc).
 *
 * A zeroed struct buf is a valid empty buffer with no ceiling. `max` (0 = none) bounds `len`:
 * an append that would pass it fails with -TE_TOOBIG and leaves the buffer unchanged, so a
 * caller decides what to do (split the line, reject the request). The struct's address never
 * changes; `ptr` may move on append. `ptr` is always NUL-terminated when non-NULL. */
#ifndef TEND_CORE_BUF_H
#define TEND_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *ptr;
    size_t len;
    size_t cap;
    size_t max; /* ceiling on len; 0 means unbounded */
};

/* Set up an empty buffer with ceiling `max` (0 = none); allocates nothing. */
void buf_init(struct buf *b, size_t max);
/* Free the bytes; the buffer is empty and reusable afterwards. */
void buf_fini(struct buf *b);
/* Forget the contents, keep the allocation. */
void buf_reset(struct buf *b);

/* Append bytes; 0, -ENOMEM or -TE_TOOBIG (buffer unchanged on failure). */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Remove the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Hand the bytes to the caller (to free()); the buffer is left empty. Never NULL on 0. */
char *buf_take(struct buf *b);

#endif
