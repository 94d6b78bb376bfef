/* tests/unit/watch/test_probe_file_age.c: file_age probes on a real folder.
 *
 * Files with chosen mtimes in a temp folder: the newest match decides, files that do not match
 * and folders that match do not count, no match is a failure, and the age reads as people write
 * it ("3 h 12 min old (more than 1 h)"). */
#include <sys/stat.h>
#include <time.h>

#include "probe_test.h"

static char dir[64];

static void touch(const char *name, int64_t age_s)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, "x", 1) != 1)
        UNIT_FAIL("cannot write %s", path);
    close(fd);
    struct timespec ts[2];
    ts[0].tv_sec = ts[1].tv_sec = time(NULL) - age_s;
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
    utimensat(AT_FDCWD, path, ts, 0);
}

TEST(file_age_newest_match)
{
    struct probe_state st;
    char glob[128];
    snprintf(glob, sizeof glob, "%s/db-*.dump*", dir);
    touch("db-1.dump.zst", 3 * 86400);
    touch("db-2.dump.zst", 3 * 3600 + 12 * 60);
    touch("other.dump", 60); /* young, but does not match */
    char sub[128];
    snprintf(sub, sizeof sub, "%s/db-9.dump.d", dir); /* a folder that matches: not a backup */
    mkdir(sub, 0700);
    struct probe_spec s = {.kind = PROBE_FILE_AGE};
    s.u.file_age.glob = glob;
    s.u.file_age.max_age_ms = 26 * 3600 * 1000ULL;
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_OK);
        CHECK_MSG(&st, "the newest of 2 files, db-2.dump.zst, is 3 h 12 min old (limit 26 h)");
        double age = metric(&st, "age_s");
        CHECK(age >= 3 * 3600 + 12 * 60 && age < 3 * 3600 + 13 * 60);
    }
    s.u.file_age.max_age_ms = 3600 * 1000ULL;
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_MSG(&st, "the newest file, db-2.dump.zst, is 3 h 12 min old (more than 1 h)");
    }
    snprintf(glob, sizeof glob, "%s/nothing-*.dump", dir);
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_MSG(&st, "no file matches ");
    }
    rmdir(sub);
}

TEST(file_age_needs_max_age)
{
    struct watch_probe *p = NULL;
    struct err err = {0};
    struct probe_spec s = {.name = "backups", .kind = PROBE_FILE_AGE};
    s.u.file_age.glob = "/x/*";
    CHECK(probe_new(sched, &s, NULL, NULL, &p, &err) < 0);
    CHECK_STR(err.msg, "check \"backups\": file_age: max_age is required (such as 26h)");
}

int main(void)
{
    test_init();
    snprintf(dir, sizeof dir, "/tmp/tend-probe-age-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(file_age_newest_match);
    RUN(file_age_needs_max_age);
    const char *names[] = {"db-1.dump.zst", "db-2.dump.zst", "other.dump"};
    for (size_t i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    test_fini();
    return unit_done();
}
