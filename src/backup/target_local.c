/* backup/target_local.c: backups in a folder on this machine (`targets: [{local: PATH}]`).
 *
 * The folder holds <file> and <file>.json for each backup. A backup counts only once its
 * manifest exists, and the manifest is written (atomically) only after the file was fsynced and
 * renamed into place, so a crash or a full disk leaves at most a ".partial" or an unlisted file,
 * never a valid-looking backup. Deleting goes the other way: manifest first, then the file.
 * Every function blocks: they run in an operation's worker thread. */
#include "backup/backup_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/afile.h"
#include "core/buf.h"
#include "core/str.h"

static int path_of(const struct cfg_backup_target *t, const char *file, const char *suffix,
                   char *dst, size_t size, struct err *err)
{
    if (strchr(file, '/') || file[0] == '.')
        return err_set(err, -TE_INVALID, "bad backup name \"%s\"", file);
    int rc = str_fmt(dst, size, "%s/%s%s", t->path, file, suffix);
    return rc < 0 ? err_set(err, rc, "path too long in %s", t->path) : 0;
}

static int copy_file(const char *from, const char *to, struct err *err)
{
    char buf[1 << 16];
    int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
    if (in < 0)
        return err_sys(err, "cannot open %s", from);
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
        rc = err_sys(err, "cannot create %s", to);
        goto out;
    }
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? err_sys(err, "cannot read %s", from) : 0;
            break;
        }
        if ((rc = write_all(out, buf, (size_t)r)) < 0) {
            rc = err_set(err, rc, "cannot write %s: %s", to, strerror(-rc));
            break;
        }
    }
    if (rc == 0 && fsync(out) < 0)
        rc = err_sys(err, "cannot write %s", to);
out:
    if (out >= 0 && close(out) < 0 && rc == 0)
        rc = err_sys(err, "cannot write %s", to);
    close(in);
    if (rc < 0)
        unlink(to);
    return rc;
}

static int local_put(const struct cfg_backup_target *t, const char *staged, const char *file,
                     const char *manifest, struct err *err)
{
    char dst[PATH_MAX], tmp[PATH_MAX], json[PATH_MAX];
    int rc = afile_mkdirs(t->path, 0700, err);
    if (rc < 0 || (rc = path_of(t, file, "", dst, sizeof dst, err)) < 0 ||
        (rc = path_of(t, file, ".json", json, sizeof json, err)) < 0)
        return rc;
    /* The staged file is renamed into place when it was written in this folder (the first
     * target); any other target gets a copy under a name that is never listed, then a rename. */
    const char *slash = strrchr(staged, '/');
    bool same = slash && strlen(t->path) == (size_t)(slash - staged) &&
                strncmp(staged, t->path, (size_t)(slash - staged)) == 0;
    if (!same || rename(staged, dst) < 0) {
        if (same)
            return err_sys(err, "cannot move the backup into %s", t->path);
        snprintf(tmp, sizeof tmp, "%s/.%s.partial", t->path, file);
        if ((rc = copy_file(staged, tmp, err)) < 0)
            return rc;
        if (rename(tmp, dst) < 0) {
            rc = err_sys(err, "cannot move the backup into %s", t->path);
            unlink(tmp);
            return rc;
        }
    }
    if ((rc = afile_fsync_parent(dst, err)) < 0)
        return rc;
    return afile_write(json, manifest, strlen(manifest), 0600, err);
}

static int local_list(const struct cfg_backup_target *t, const char *job, json_t **out,
                      struct err *err)
{
    char path[PATH_MAX];
    *out = json_array();
    DIR *d = opendir(t->path);
    if (!d)
        return errno == ENOENT ? 0 : err_sys(err, "cannot list %s", t->path);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !str_ends(e->d_name, ".json"))
            continue;
        if (str_fmt(path, sizeof path, "%s/%s", t->path, e->d_name) < 0)
            continue;
        json_t *m = json_load_file(path, 0, NULL);
        const char *j = json_string_value(json_object_get(m, "job"));
        const char *f = json_string_value(json_object_get(m, "file"));
        /* Not a manifest of ours, or of another job: not ours to list (nor to delete). A
         * manifest must be named after the file beside it (as on S3), so one that names a file
         * elsewhere ("../x") is never listed, verified, restored or pruned. */
        size_t flen = f ? strlen(f) : 0;
        if (!j || !f || (job && strcmp(j, job) != 0) || strlen(e->d_name) != flen + 5 ||
            strncmp(e->d_name, f, flen) != 0) {
            json_decref(m);
            continue;
        }
        json_array_append_new(*out, m);
    }
    closedir(d);
    return 0;
}

static int local_fetch(const struct cfg_backup_target *t, const char *file, const char *dir,
                       char **path, struct err *err)
{
    (void)dir; /* read in place: no copy */
    char p[PATH_MAX];
    int rc = path_of(t, file, "", p, sizeof p, err);
    if (rc < 0)
        return rc;
    if (access(p, R_OK) < 0)
        return err_sys(err, "cannot read %s", p);
    *path = str_dup(p);
    return 0;
}

static int local_update(const struct cfg_backup_target *t, const char *file, const char *manifest,
                        struct err *err)
{
    char json[PATH_MAX];
    int rc = path_of(t, file, ".json", json, sizeof json, err);
    return rc < 0 ? rc : afile_write(json, manifest, strlen(manifest), 0600, err);
}

static int local_remove(const struct cfg_backup_target *t, const char *file, struct err *err)
{
    char p[PATH_MAX], json[PATH_MAX];
    int rc = path_of(t, file, "", p, sizeof p, err);
    if (rc < 0 || (rc = path_of(t, file, ".json", json, sizeof json, err)) < 0)
        return rc;
    if (unlink(json) < 0 && errno != ENOENT)
        return err_sys(err, "cannot delete %s", json);
    if (unlink(p) < 0 && errno != ENOENT)
        return err_sys(err, "cannot delete %s", p);
    return afile_fsync_parent(p, err);
}

const struct target_kind target_local = {
    .name = "local",
    .put = local_put,
    .list = local_list,
    .fetch = local_fetch,
    .update = local_update,
    .remove = local_remove,
};
