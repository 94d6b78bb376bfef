/* tests/unit/backup/test_files.c: a files job end to end, with the real tar, zstd, gzip and age.
 *
 * A tree with modes 0640/0750/0700, a symlink, an empty folder and 3 MB of random bytes is
 * backed up; verify passes; a restore is bit-identical with permissions (compared with `find
 * -printf` and `cmp`); a second restore into the now non-empty folder is refused; one flipped
 * byte is caught by verify; an encrypted gzip backup is decrypted by hand with `age -d` alone;
 * a second run while one is going is skipped and recorded; `keep: {last: 2}` prunes across runs
 * (fake clock, an hour apart); a cron schedule fires from the fake clock, and a run missed while
 * "the daemon was down" (a new handle on the same home) runs once at configure. */
#include "backup_test.h"

#include "core/clock.h"

static char dir[256], home[512], src[512], out[512];
static int events[BACKUP_NEVENTS];

static void on_event(void *ctx, const struct backup_event *ev)
{
    (void)ctx;
    events[ev->kind]++;
}

static struct backup *open_backup(void)
{
    struct backup *b = NULL;
    struct err e = {0};
    struct backup_opts o = {.home = home, .watch_child = test_watch, .on_event = on_event};
    CHECK_INT(backup_new(loop, &o, &b, &e), 0);
    return b;
}

static struct cfg_backups *job(const char *extra)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "backups:\n  - name: up\n    files: {paths: [%s/uploads], exclude: ['*.tmp']}\n"
             "    targets: [{local: %s/t1}, {local: %s/t2}]\n%s",
             src, dir, dir, extra);
    return jobs_from(yaml);
}

static void make_tree(void)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "set -e; mkdir -p %1$s/uploads/a/empty %1$s/uploads/b; cd %1$s/uploads;"
             "head -c 3000000 /dev/urandom > a/big.bin; echo hello > b/x.txt;"
             "echo skip > b/junk.tmp; ln -s ../b/x.txt a/link; chmod 0640 b/x.txt;"
             "chmod 0750 a; chmod 0700 b",
             src);
    CHECK_INT(sh_run(cmd, NULL), 0);
}

/* "path mode size" of every entry, without the excluded file. */
static void listing(const char *root, struct buf *b)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd %.2000s && find . ! -name '*.tmp' -printf '%%p %%m %%s %%y\\n' | sort", root);
    sh_run(cmd, b);
}

static struct done run(struct backup *b, const char *name)
{
    struct done d = {0};
    struct err e = {0};
    CHECK_INT(backup_run(b, name, on_done, &d, &e), 0);
    wait_op(&d);
    return d;
}

TEST(backup_verify_restore)
{
    struct backup *b = open_backup();
    struct cfg_backups *bs = job("    compress: zstd\n");
    struct err e = {0};
    struct buf want, got;
    buf_init(&want, 0);
    buf_init(&got, 0);
    backup_configure(b, bs, &e);
    struct done d = run(b, "up");
    CHECK_INT(d.rc, 0);
    json_t *m = json_array_get(d.result, 0);
    const char *file = json_string_value(json_object_get(m, "file"));
    CHECK(file && str_ends(file, ".tar.zst"));
    CHECK(json_integer_value(json_object_get(m, "size_raw")) > 3000000);
    CHECK(strlen(json_string_value(json_object_get(m, "sha256")) ?: "") == 64);
    char p[2048];
    snprintf(p, sizeof p, "%s/t2/%s.json", dir, file ? file : "");
    CHECK(access(p, F_OK) == 0); /* copied to the second target with its manifest */
    struct done v = {0};
    CHECK_INT(backup_verify(b, "up", NULL, on_done, &v, &e), 0);
    wait_op(&v);
    CHECK_INT(v.rc, 0);
    CHECK_INT(json_integer_value(json_object_get(v.result, "targets")), 2);
    struct done r = {0};
    CHECK_INT(backup_restore(b, "up", NULL, out, false, on_done, &r, &e), 0);
    wait_op(&r);
    CHECK_INT(r.rc, 0);
    snprintf(p, sizeof p, "%s/uploads", src);
    listing(p, &want);
    snprintf(p, sizeof p, "%s/uploads", out);
    listing(p, &got);
    CHECK(want.len > 0 && str_eq(want.ptr, got.ptr));
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cmp %s/uploads/a/big.bin %s/uploads/a/big.bin", src, out);
    CHECK_INT(sh_run(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd, "test ! -e %s/uploads/b/junk.tmp", out);
    CHECK_INT(sh_run(cmd, NULL), 0); /* excluded */
    struct done again = {0};
    CHECK_INT(backup_restore(b, "up", NULL, out, false, on_done, &again, &e), 0);
    wait_op(&again);
    CHECK_INT(again.rc, -TE_STATE);
    CHECK(strstr(again.err.msg, "not empty") != NULL);
    json_decref(d.result);
    json_decref(v.result);
    json_decref(r.result);
    buf_fini(&want);
    buf_fini(&got);
    cfg_backups_unref(bs);
    close_backup(b);
}

TEST(corruption_caught)
{
    struct backup *b = open_backup();
    struct cfg_backups *bs = job("    compress: none\n");
    struct err e = {0};
    backup_configure(b, bs, &e);
    struct done d = run(b, "up");
    CHECK_INT(d.rc, 0);
    const char *file = json_string_value(json_object_get(json_array_get(d.result, 0), "file"));
    char cmd[1024];
    /* Flip one byte in the middle of the copy in the first target. */
    snprintf(cmd, sizeof cmd,
             "f=%s/t1/%s; printf '\\x55' | dd of=$f bs=1 seek=1000000 conv=notrunc status=none",
             dir, file ? file : "none");
    CHECK_INT(sh_run(cmd, NULL), 0);
    struct done v = {0};
    CHECK_INT(backup_verify(b, "up",
                            json_string_value(json_object_get(json_array_get(d.result, 0), "id")),
                            on_done, &v, &e),
              0);
    wait_op(&v);
    CHECK_INT(v.rc, -TE_INVALID);
    CHECK(strstr(v.err.msg, "damaged") != NULL);
    CHECK(events[BACKUP_EV_VERIFY_FAILED] >= 1);
    json_decref(d.result);
    cfg_backups_unref(bs);
    close_backup(b);
}

TEST(encrypted_by_hand)
{
    char cmd[2048], extra[512];
    struct buf pub;
    buf_init(&pub, 0);
    snprintf(cmd, sizeof cmd, "age-keygen -o %s/key.txt 2>/dev/null && age-keygen -y %s/key.txt",
             dir, dir);
    CHECK_INT(sh_run(cmd, &pub), 0);
    if (pub.ptr)
        pub.ptr[strcspn(pub.ptr, "\n")] = '\0';
    snprintf(extra, sizeof extra,
             "    compress: gzip\n    encrypt: {recipients: [%s], identity: %s/key.txt}\n",
             pub.ptr ? pub.ptr : "", dir);
    struct backup *b = open_backup();
    struct cfg_backups *bs = job(extra);
    struct err e = {0};
    backup_configure(b, bs, &e);
    struct done d = run(b, "up");
    CHECK_INT(d.rc, 0);
    json_t *m = json_array_get(d.result, 0);
    const char *file = json_string_value(json_object_get(m, "file"));
    CHECK(file && str_ends(file, ".tar.gz.age"));
    CHECK(json_is_true(json_object_get(m, "encrypted")));
    /* Without tend: age -d, gzip -d, tar -x. */
    snprintf(cmd, sizeof cmd,
             "set -e; mkdir -p %1$s/byhand; age -d -i %1$s/key.txt %1$s/t1/%2$s | gzip -d | "
             "tar -xpf - -C %1$s/byhand; cmp %3$s/uploads/a/big.bin %1$s/byhand/uploads/a/big.bin",
             dir, file ? file : "none", src);
    CHECK_INT(sh_run(cmd, NULL), 0);
    /* And through tend's own restore, which decrypts with the identity. */
    char to[600];
    snprintf(to, sizeof to, "%s/enc-restore", dir);
    struct done r = {0};
    CHECK_INT(backup_restore(b, "up", NULL, to, false, on_done, &r, &e), 0);
    wait_op(&r);
    CHECK_INT(r.rc, 0);
    snprintf(cmd, sizeof cmd, "cmp %s/uploads/b/x.txt %s/uploads/b/x.txt", src, to);
    CHECK_INT(sh_run(cmd, NULL), 0);
    json_decref(d.result);
    json_decref(r.result);
    buf_fini(&pub);
    cfg_backups_unref(bs);
    close_backup(b);
}

TEST(overlap_and_retention)
{
    /* Start from empty targets and catalog: the earlier tests' backups carry the real clock's
     * time, which may be newer than the fake hours below (it was, on 2026-11-23 after 14:00,
     * and "keep: last 2" rightly kept those instead). */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "rm -rf %1$s/t1 %1$s/t2 %2$s && mkdir -p %2$s", dir, home);
    CHECK_INT(sh_run(cmd, NULL), 0);
    struct backup *b = open_backup();
    struct cfg_backups *bs = job("    compress: zstd\n    keep: {last: 2}\n");
    struct err e = {0};
    struct done d[3] = {{0}};
    int skipped = events[BACKUP_EV_SKIPPED];
    backup_configure(b, bs, &e);
    clock_fake_set(1000, 1795435200000LL);
    CHECK_INT(backup_run(b, "up", on_done, &d[0], &e), 0);
    CHECK_INT(backup_run(b, "up", NULL, NULL, &e), -TE_STATE); /* still running: skipped */
    CHECK_INT(events[BACKUP_EV_SKIPPED], skipped + 1);
    wait_op(&d[0]);
    for (int i = 1; i < 3; i++) {
        clock_fake_advance(3600 * 1000);
        CHECK_INT(backup_run(b, "up", on_done, &d[i], &e), 0);
        wait_op(&d[i]);
        CHECK_INT(d[i].rc, 0);
    }
    struct done l = {0};
    CHECK_INT(backup_list(b, "up", on_done, &l, &e), 0);
    wait_op(&l);
    CHECK_INT(json_array_size(l.result), 2); /* the oldest was pruned from both targets */
    json_t *pruned = json_object_get(json_array_get(d[2].result, 0), "pruned");
    CHECK_INT(json_array_size(pruned), 2); /* once per target */
    json_t *st = backup_status(b);
    CHECK(json_integer_value(
              json_object_get(json_array_get(json_object_get(st, "jobs"), 0), "last_skipped")) > 0);
    json_decref(st);
    for (int i = 0; i < 3; i++)
        json_decref(d[i].result);
    json_decref(l.result);
    clock_fake_off();
    cfg_backups_unref(bs);
    close_backup(b);
}

/* Run the loop until `n` runs have finished (done or failed) since `before`. */
static void wait_runs(int before, int n)
{
    uint64_t deadline = uv_now(loop) + 60000;
    while (events[BACKUP_EV_DONE] + events[BACKUP_EV_FAILED] < before + n &&
           uv_now(loop) < deadline)
        uv_run(loop, UV_RUN_ONCE);
    CHECK_INT(events[BACKUP_EV_DONE] + events[BACKUP_EV_FAILED], before + n);
}

TEST(schedule_and_missed_run)
{
    struct err e = {0};
    /* 2026-11-23 02:59:00 UTC; the job runs daily at 03:00 UTC. */
    clock_fake_set(1000, 1795402740000LL);
    struct backup *b = open_backup();
    struct cfg_backups *bs =
        job("    schedule: \"0 3 * * *\"\n    timezone: UTC\n    keep: {last: 5}\n");
    backup_configure(b, bs, &e);
    int before = events[BACKUP_EV_DONE] + events[BACKUP_EV_FAILED];
    int started = events[BACKUP_EV_STARTED];
    backup_tick(b); /* 02:59: nothing due */
    CHECK_INT(events[BACKUP_EV_STARTED], started);
    json_t *st = backup_status(b);
    json_t *j0 = json_array_get(json_object_get(st, "jobs"), 0);
    CHECK_INT(json_integer_value(json_object_get(j0, "next_run")), 1795402800000LL);
    CHECK(!json_is_true(json_object_get(j0, "running")));
    json_decref(st);
    clock_fake_advance(2 * 60000); /* 03:01 */
    backup_tick(b);
    wait_runs(before, 1);
    close_backup(b);
    /* "The daemon was down" for two days: a new handle on the same home runs it once. */
    clock_fake_advance(2 * 86400000LL);
    b = open_backup();
    before = events[BACKUP_EV_DONE] + events[BACKUP_EV_FAILED];
    backup_configure(b, bs, &e);
    backup_tick(b);
    wait_runs(before, 1);
    backup_tick(b); /* not twice */
    st = backup_status(b);
    j0 = json_array_get(json_object_get(st, "jobs"), 0);
    CHECK(!json_is_true(json_object_get(j0, "running")));
    CHECK(json_integer_value(json_object_get(j0, "last_ok")) > 0);
    json_decref(st);
    clock_fake_off();
    cfg_backups_unref(bs);
    close_backup(b);
}

int main(void)
{
    make_tmpdir(dir, sizeof dir, "backup-files");
    snprintf(home, sizeof home, "%s/home", dir);
    snprintf(src, sizeof src, "%s/src", dir);
    snprintf(out, sizeof out, "%s/restored", dir);
    test_loop_init();
    make_tree();
    RUN(backup_verify_restore);
    RUN(corruption_caught);
    RUN(encrypted_by_hand);
    RUN(overlap_and_retention);
    RUN(schedule_and_missed_run);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    sh_run(cmd, NULL);
    uv_close((uv_handle_t *)&reap_timer, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    return unit_done();
}
