/* core/afile.c: atomic file replacement (DESIGN invariant 4).
 *
 * afile_write writes `path.tmp.PID` in the same folder (so rename stays on one filesystem),
 * fsyncs it, renames it over `path`, then fsyncs the folder so the rename itself survives a
 * crash. A reader sees the old file or the new one, never a mix; on any failure the temp file is
 * removed and the old file is untouched. The PID suffix keeps a CLI and the daemon writing the
 * same file from truncating each other's temp file. */
#include "core/afile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/str.h"

int afile_write(const char *path, const void *data, size_t len, mode_t mode, struct err *err)
{
    char tmp[PATH_MAX];
    int fd = -1, rc = str_fmt(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (rc < 0)
        return err_set(err, rc, "path too long: %s", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        rc = err_sys(err, "cannot create %s", tmp);
        goto out;
    }
    /* fchmod: open's mode is filtered by the umask, the caller asked for exactly `mode`. */
    if (fchmod(fd, mode) < 0 || (rc = write_all(fd, data, len)) < 0 || fsync(fd) < 0) {
        if (rc < 0)
            errno = -rc;
        rc = err_sys(err, "cannot write %s", tmp);
        goto out;
    }
    rc = close(fd);
    fd = -1;
    if (rc < 0 || rename(tmp, path) < 0) {
        rc = err_sys(err, "cannot replace %s", path);
        goto out;
    }
    return afile_fsync_parent(path, err); /* tmp is now `path`: nothing left to clean */
out:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return rc;
}

int afile_fsync_parent(const char *path, struct err *err)
{
    char dir[PATH_MAX];
    if (str_copy(dir, path, sizeof dir) >= sizeof dir)
        return err_set(err, -ENAMETOOLONG, "path too long: %s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        str_copy(dir, ".", sizeof dir);
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return err_sys(err, "cannot open folder %s", dir);
    int rc = 0;
    if (fsync(fd) < 0)
        rc = err_sys(err, "cannot fsync folder %s", dir);
    if (close(fd) < 0 && rc == 0)
        rc = err_sys(err, "cannot close folder %s", dir);
    return rc;
}

int afile_mkdirs(const char *path, mode_t mode, struct err *err)
{
    char dir[PATH_MAX];
    if (!path || !*path)
        return err_set(err, -EINVAL, "empty folder path");
    if (str_copy(dir, path, sizeof dir) >= sizeof dir)
        return err_set(err, -ENAMETOOLONG, "path too long: %s", path);
    /* Create each prefix in turn; an existing one is fine if it is a folder. */
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(dir, mode) < 0 && errno != EEXIST)
            return err_sys(err, "cannot create folder %s", dir);
        *p = c;
        if (!c)
            break;
    }
    struct stat st;
    if (stat(dir, &st) < 0)
        return err_sys(err, "cannot create folder %s", dir);
    if (!S_ISDIR(st.st_mode))
        return err_set(err, -ENOTDIR, "cannot create folder %s: a file of that name is in the way",
                       dir);
    return 0;
}
