/* tests/unit/core/test_afile.c: atomic replacement, exact modes, no temp files left behind,
 * the old file kept on failure, and mkdir -p. Each run works in its own mkdtemp folder. */
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
#include "core/err.h"
#include "core/str.h"
#include "unit.h"

static char dir[64];

static const char *in_dir(const char *name)
{
    static char path[256];
    str_fmt(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static int entries(const char *folder)
{
    DIR *d = opendir(folder);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static char *contents(const char *path)
{
    static char text[256];
    struct buf b = {0};
    text[0] = '\0';
    if (read_file(path, 0, &b) == 0)
        str_copy(text, b.ptr, sizeof text);
    buf_fini(&b);
    return text;
}

TEST(write_and_replace)
{
    struct err e = {0};
    const char *p = in_dir("state.json");
    CHECK_INT(afile_write(p, "{\"v\":1}", 7, 0600, &e), 0);
    CHECK_STR(contents(p), "{\"v\":1}");
    CHECK_INT(afile_write(p, "{\"v\":2}\n", 8, 0600, &e), 0);
    CHECK_STR(contents(p), "{\"v\":2}\n");
    CHECK_INT(entries(dir), 1); /* no temp file left */
    CHECK_INT(afile_write(p, "", 0, 0600, &e), 0);
    CHECK_STR(contents(p), "");
    unlink(p);
}

TEST(mode_is_exact)
{
    struct stat st;
    const char *p = in_dir("token");
    mode_t old = umask(022);
    CHECK_INT(afile_write(p, "x", 1, 0600, NULL), 0);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
    umask(077);
    CHECK_INT(afile_write(p, "x", 1, 0644, NULL), 0);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0644);
    umask(old);
    unlink(p);
}

TEST(failure_keeps_old_file)
{
    struct err e = {0};
    /* A non-empty folder cannot be replaced by a file: rename fails after the temp is written. */
    char sub[256], keep[256];
    str_copy(sub, in_dir("busy"), sizeof sub);
    str_copy(keep, in_dir("busy/keep"), sizeof keep);
    CHECK_INT(mkdir(sub, 0700), 0);
    CHECK_INT(afile_write(keep, "old", 3, 0600, NULL), 0);
    int rc = afile_write(sub, "new", 3, 0600, &e);
    CHECK(rc == -EISDIR || rc == -ENOTEMPTY || rc == -EEXIST);
    CHECK(str_starts(e.msg, "cannot replace "));
    CHECK_STR(contents(keep), "old");
    CHECK_INT(entries(dir), 1); /* the temp file was removed */

    rc = afile_write(in_dir("missing/x"), "new", 3, 0600, &e);
    CHECK_INT(rc, -ENOENT);
    CHECK(str_starts(e.msg, "cannot create "));
    CHECK(strstr(e.msg, "No such file or directory") != NULL);
    unlink(keep);
    rmdir(sub);
}

TEST(fsync_parent)
{
    CHECK_INT(afile_fsync_parent(in_dir("anything"), NULL), 0);
    CHECK_INT(afile_fsync_parent("relative-file", NULL), 0);
    CHECK_INT(afile_fsync_parent("/x", NULL), 0);
    struct err e = {0};
    CHECK_INT(afile_fsync_parent("/nonexistent-tend/x", &e), -ENOENT);
    CHECK(str_starts(e.msg, "cannot open folder /nonexistent-tend"));
}

TEST(mkdirs)
{
    struct stat st;
    struct err e = {0};
    char deep[256];
    str_copy(deep, in_dir("a/b/c"), sizeof deep);
    CHECK_INT(afile_mkdirs(deep, 0700, &e), 0);
    CHECK(stat(deep, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK_INT(afile_mkdirs(deep, 0700, &e), 0); /* existing is fine */
    CHECK_INT(afile_mkdirs(in_dir("a/b/"), 0700, &e), 0);
    CHECK_INT(afile_mkdirs("/", 0700, &e), 0);
    CHECK_INT(afile_mkdirs("", 0700, &e), -EINVAL);

    CHECK_INT(afile_write(in_dir("a/file"), "x", 1, 0600, NULL), 0);
    CHECK_INT(afile_mkdirs(in_dir("a/file"), 0700, &e), -ENOTDIR);
    CHECK(strstr(e.msg, "a file of that name is in the way") != NULL);
    CHECK_INT(afile_mkdirs(in_dir("a/file/sub"), 0700, &e), -ENOTDIR);
    unlink(in_dir("a/file"));
    rmdir(deep);
    rmdir(in_dir("a/b"));
    rmdir(in_dir("a"));
}

int main(void)
{
    str_copy(dir, "/tmp/tend-test-afile-XXXXXX", sizeof dir);
    if (!mkdtemp(dir))
        return 1;
    RUN(write_and_replace);
    RUN(mode_is_exact);
    RUN(failure_keeps_old_file);
    RUN(fsync_parent);
    RUN(mkdirs);
    rmdir(dir);
    return unit_done();
}
