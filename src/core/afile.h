/* core/afile.h: atomic file replacement (DESIGN invariant 4): temp file, fsync, rename,
 * fsync of the folder. A reader sees the old file or the new one, never a mix. */
#ifndef TEND_CORE_AFILE_H
#define TEND_CORE_AFILE_H

#include <stddef.h>
#include <sys/types.h>

struct err;

/* Replace `path` with `len` bytes; mode e.g. 0600. On failure the old file is untouched. */
int afile_write(const char *path, const void *data, size_t len, mode_t mode, struct err *err);
/* fsync the folder that holds `path`. */
int afile_fsync_parent(const char *path, struct err *err);
/* mkdir -p with mode for created folders. */
int afile_mkdirs(const char *path, mode_t mode, struct err *err);

#endif
