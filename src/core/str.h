/* core/str.h: small string helpers that the C library lacks or gets wrong. */
#ifndef TEND_CORE_STR_H
#define TEND_CORE_STR_H

#include <stdbool.h>
#include <stddef.h>

/* snprintf that fails instead of truncating: 0, or -ENAMETOOLONG if it did not fit. */
int str_fmt(char *dst, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Copy with truncation, always NUL-terminated; returns strlen(src) (strlcpy). */
size_t str_copy(char *dst, const char *src, size_t size);
/* strdup that aborts on out-of-memory (tiny strings; Redis's zstrdup). NULL in, NULL out. */
char *str_dup(const char *s);
char *str_ndup(const char *s, size_t n);
bool str_eq(const char *a, const char *b); /* NULL-safe */
bool str_starts(const char *s, const char *prefix);
bool str_ends(const char *s, const char *suffix);
/* Edit distance, for "did you mean". */
size_t str_distance(const char *a, const char *b);
/* Closest of `words` (NULL-terminated) within distance 2 (or a third of the length); NULL if none.
 */
const char *str_suggest(const char *word, const char *const *words);
/* Does an env var name look secret (PASSWORD, SECRET, TOKEN, KEY, ...; DESIGN invariant 7)? */
bool str_is_secret_name(const char *name);
/* Mask a secret value for display: "ab****" style, never more than 2 characters shown. */
void str_mask(char *dst, size_t size, const char *value);
/* Mask credentials inside a URL ("postgres://u:****@h/db", "?token=****"). */
void str_mask_url(char *dst, size_t size, const char *url);
/* Write all bytes to fd, retrying on EINTR/short writes: 0 or -errno. */
int write_all(int fd, const void *p, size_t n);
/* Read a whole file, appending to out (max bytes read, 0 = out's own ceiling): 0, -errno or
 * -TE_TOOBIG; out is NUL-terminated on 0 (even for an empty file). */
struct buf;
int read_file(const char *path, size_t max, struct buf *out);

#endif
