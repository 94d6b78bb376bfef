/* tests/unit/backup/test_s3.c: the S3 target against a real S3-compatible server on 127.0.0.1.
 *
 * tests/servers/s3.sh starts @20minutes/s3rver, which checks SigV4 signatures. A small backup
 * and a multipart one (TEND_S3_PART_SIZE lowered) go through put, list, fetch (bytes compared
 * with cmp), update and remove; a wrong secret fails with the server's code and no secret in the
 * message; a file that does not match its manifest is refused after its parts were sent and
 * leaves nothing; a data object without a manifest, a manifest of another job and one in a
 * sub-folder are never listed; a put killed (SIGKILL) after its first part reached the server
 * leaves no backup; listing follows continuation tokens (TEND_S3_MAX_KEYS=2); credentials come
 * from a file and from the environment. Last, a files job with a local and an S3 target runs
 * three times under `keep: {last: 2}` through the backup module: the bucket keeps the newest two,
 * whose bytes equal the local copies. */
#include "backup_test.h"

#include <dirent.h>

#include "backup/backup_int.h"
#include "backup/s3_client.h"
#include "core/afile.h"
#include "core/clock.h"

static char dir[256], srv[300], home[512], endpoint[200], bucket[64], key_id[64], secret[64];

static struct cfg_backup_target target(const char *prefix)
{
    return (struct cfg_backup_target){.kind = CFG_TARGET_S3,
                                      .endpoint = endpoint,
                                      .bucket = bucket,
                                      .prefix = (char *)prefix,
                                      .access_key_id = key_id,
                                      .secret_access_key = secret};
}

/* A file of `size` random bytes at dir/name, and its manifest for job `job`. */
static char *make_backup(const char *job, const char *name, size_t size)
{
    char cmd[1024];
    struct buf out;
    buf_init(&out, 0);
    snprintf(cmd, sizeof cmd, "head -c %zu /dev/urandom > %s/%s && sha256sum %s/%s", size, dir,
             name, dir, name);
    CHECK_INT(sh_run(cmd, &out), 0);
    json_t *m = json_pack("{s:s, s:s, s:s, s:s%, s:I, s:I}", "job", job, "id", name, "file", name,
                          "sha256", out.ptr ? out.ptr : "", (size_t)(out.ptr ? 64 : 0), "size",
                          (json_int_t)size, "started", (json_int_t)clock_wall_ms());
    char *text = json_dumps(m, JSON_SORT_KEYS);
    json_decref(m);
    buf_fini(&out);
    return text;
}

static int put(const struct cfg_backup_target *t, const char *name, const char *manifest,
               struct err *e)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return target_s3.put(t, path, name, manifest, e);
}

static size_t count_listed(const struct cfg_backup_target *t, const char *job, const char *file)
{
    json_t *all = NULL, *m;
    struct err e = {0};
    size_t i, n = 0;
    CHECK_INT(target_s3.list(t, job, &all, &e), 0);
    if (e.code)
        fprintf(stderr, "  (list: %s)\n", e.msg);
    json_array_foreach(all, i, m) n +=
        !file || str_eq(json_string_value(json_object_get(m, "file")), file);
    json_decref(all);
    return n;
}

/* Fetch into dir/got and compare with dir/name byte for byte. */
static void check_fetch(const struct cfg_backup_target *t, const char *name)
{
    char got[300], cmd[1024], *path = NULL;
    struct err e = {0};
    snprintf(got, sizeof got, "%s/got", dir);
    mkdir(got, 0700);
    CHECK_INT(target_s3.fetch(t, name, got, &path, &e), 0);
    snprintf(cmd, sizeof cmd, "cmp %s/%s %s", dir, name, path ? path : "/nonexistent");
    CHECK_INT(sh_run(cmd, NULL), 0);
    free(path);
}

static void roundtrip(const char *name, size_t size)
{
    struct cfg_backup_target t = target("unit/rt/");
    struct err e = {0};
    char *manifest = make_backup("db", name, size);
    CHECK_INT(put(&t, name, manifest, &e), 0);
    if (e.code)
        fprintf(stderr, "  (put: %s)\n", e.msg);
    CHECK_INT(count_listed(&t, "db", name), 1);
    CHECK_INT(count_listed(&t, "other", NULL), 0);
    check_fetch(&t, name);
    json_t *m = json_loads(manifest, 0, NULL);
    json_object_set_new(m, "verified", json_true());
    char *updated = json_dumps(m, 0);
    CHECK_INT(target_s3.update(&t, name, updated, &e), 0);
    json_t *all = NULL;
    CHECK_INT(target_s3.list(&t, "db", &all, &e), 0);
    CHECK(json_is_true(json_object_get(json_array_get(all, 0), "verified")));
    json_decref(all);
    CHECK_INT(target_s3.remove(&t, name, &e), 0);
    CHECK_INT(count_listed(&t, "db", NULL), 0);
    char *path = NULL;
    CHECK_INT(target_s3.fetch(&t, name, dir, &path, &e), -TE_NOTFOUND); /* the data is gone too */
    CHECK(strstr(e.msg, "404") != NULL);
    CHECK_INT(target_s3.update(&t, name, updated, &e), -TE_NOTFOUND); /* no manifest alone */
    CHECK_INT(count_listed(&t, "db", NULL), 0);
    free(updated);
    json_decref(m);
    free(manifest);
}

TEST(small_roundtrip)
{
    roundtrip("db-20261123T030000Z.dump.zst", 2500000); /* one PUT (with Expect: 100-continue) */
}

TEST(multipart_roundtrip)
{
    setenv("TEND_S3_PART_SIZE", "1048576", 1); /* 3.5 MiB in 4 parts */
    roundtrip("db-20261123T040000Z.dump.zst", 3 * 1048576 + 524288);
    unsetenv("TEND_S3_PART_SIZE");
}

TEST(wrong_secret)
{
    struct cfg_backup_target t = target("unit/auth");
    struct err e = {0};
    json_t *all = NULL;
    t.secret_access_key = "not-the-secret-xyz";
    char *manifest = make_backup("db", "db-20261123T050000Z.dump", 1000);
    CHECK_INT(put(&t, "db-20261123T050000Z.dump", manifest, &e), -TE_AUTH);
    CHECK(strstr(e.msg, "s3 PUT ") && strstr(e.msg, "403 SignatureDoesNotMatch"));
    CHECK(strstr(e.msg, "not-the-secret") == NULL);
    CHECK(strstr(e.hint, "secret_access_key") != NULL);
    CHECK_INT(target_s3.list(&t, "db", &all, &e), -TE_AUTH);
    json_decref(all);
    t.secret_access_key = secret;
    CHECK_INT(count_listed(&t, NULL, NULL), 0);
    free(manifest);
}

TEST(mismatch_leaves_nothing)
{
    struct cfg_backup_target t = target("unit/bad");
    struct err e = {0};
    char *path = NULL, *manifest = make_backup("db", "db-20261123T060000Z.dump", 2100000);
    char *other = make_backup("db", "db-20261123T060000Z.dump", 2100000); /* new bytes */
    setenv("TEND_S3_PART_SIZE", "1048576", 1);
    CHECK_INT(put(&t, "db-20261123T060000Z.dump", manifest, &e), -TE_INVALID);
    CHECK(strstr(e.msg, "does not match") != NULL);
    unsetenv("TEND_S3_PART_SIZE");
    CHECK_INT(count_listed(&t, "db", NULL), 0);
    CHECK_INT(target_s3.fetch(&t, "db-20261123T060000Z.dump", dir, &path, &e), -TE_NOTFOUND);
    free(manifest);
    free(other);
}

/* Upload dir/file as unit/orphans/key by hand (curl signs it), beside what tend stores. */
static void upload_by_hand(const char *file, const char *key)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd %s && h=$(sha256sum %s | cut -c1-64) && curl -sSf --aws-sigv4 "
             "aws:amz:us-east-1:s3 --user %s:%s -H \"x-amz-content-sha256: $h\" -T %s "
             "%s/%s/unit/orphans/%s >/dev/null",
             dir, file, key_id, secret, file, endpoint, bucket, key);
    CHECK_INT(sh_run(cmd, NULL), 0);
}

/* What is not a backup of the job in this prefix is never listed. */
TEST(only_manifests_listed)
{
    struct cfg_backup_target t = target("unit/orphans");
    struct err e = {0};
    const char *name = "db-20261123T070000Z.dump";
    char *m1 = make_backup("db", name, 5000);
    char path[600];
    snprintf(path, sizeof path, "%s/m1.json", dir);
    CHECK_INT(afile_write(path, m1, strlen(m1), 0600, &e), 0);
    upload_by_hand(name, "db-20261123T080000Z.dump"); /* data whose manifest never came */
    upload_by_hand("m1.json", "sub/db-20261123T070000Z.dump.json"); /* a sub-folder */
    upload_by_hand("m1.json", "db-20261123T090000Z.dump.json");     /* names another file */
    upload_by_hand(name, "db-20261123T095000Z.dump.json");          /* not JSON */
    CHECK_INT(count_listed(&t, NULL, NULL), 0);
    CHECK_INT(put(&t, name, m1, &e), 0);
    CHECK_INT(count_listed(&t, "db", NULL), 1);
    CHECK_INT(count_listed(&t, "dbx", NULL), 0);
    free(m1);
}

/* Whether a multipart upload not in `old` (names joined by "/") has its first part in the
 * server's store (s3rver keeps an upload's parts in bucket/._S3rver_uploads/ID/N). Uploads of
 * earlier tests stay there: s3rver does not implement AbortMultipartUpload. */
static bool part_arrived(const char *old, struct buf *names)
{
    char up[600], p[1200];
    snprintf(up, sizeof up, "%s/data/%s/._S3rver_uploads", srv, bucket);
    DIR *d = opendir(up);
    struct dirent *de;
    bool found = false;
    while (d && !found && (de = readdir(d))) {
        snprintf(p, sizeof p, "%s/%s/1", up, de->d_name);
        if (names)
            buf_printf(names, "/%s/", de->d_name);
        else
            found = de->d_name[0] != '.' && !strstr(old, de->d_name) && access(p, F_OK) == 0;
    }
    if (d)
        closedir(d);
    return found;
}

TEST(killed_mid_upload)
{
    struct cfg_backup_target t = target("unit/killed");
    const char *name = "db-20261123T100000Z.dump";
    char *manifest = make_backup("db", name, 16 << 20), *path = NULL;
    struct err e = {0};
    struct buf old;
    buf_init(&old, 0);
    buf_puts(&old, "");
    part_arrived(NULL, &old);
    setenv("TEND_S3_PART_SIZE", "65536", 1); /* 256 parts: the upload is far from done */
    pid_t pid = fork();
    if (pid == 0)
        _exit(put(&t, name, manifest, &e) == 0 ? 0 : 1);
    unsetenv("TEND_S3_PART_SIZE");
    uint64_t deadline = clock_mono_ms() + 30000;
    struct timespec poll = {0, 1000000}; /* 1 ms between looks, 30 s at most */
    while (!part_arrived(old.ptr, NULL) && clock_mono_ms() < deadline &&
           waitpid(pid, NULL, WNOHANG) == 0)
        nanosleep(&poll, NULL);
    CHECK(part_arrived(old.ptr, NULL));
    buf_fini(&old);
    int status = 0;
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status)); /* it was killed in the middle, not finished */
    CHECK_INT(count_listed(&t, NULL, NULL), 0);
    CHECK_INT(target_s3.fetch(&t, name, dir, &path, &e), -TE_NOTFOUND);
    free(manifest);
}

TEST(list_continues)
{
    struct cfg_backup_target t = target("unit/pages");
    struct err e = {0};
    char name[64];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "pg-2026112%dT000000Z.dump", i);
        char *m = make_backup("pg", name, 100);
        CHECK_INT(put(&t, name, m, &e), 0);
        free(m);
    }
    setenv("TEND_S3_MAX_KEYS", "2", 1); /* 10 keys: 5 pages */
    CHECK_INT(count_listed(&t, "pg", NULL), 5);
    CHECK_INT(count_listed(&t, NULL, NULL), 5);
    unsetenv("TEND_S3_MAX_KEYS");
}

TEST(credentials_from_file_and_env)
{
    struct cfg_backup_target t = target("unit/creds");
    struct err e = {0};
    char file[300], text[300];
    json_t *all = NULL;
    snprintf(file, sizeof file, "%s/creds", dir);
    snprintf(text, sizeof text,
             "[other]\naws_access_key_id = nobody\n[default]\naws_access_key_id = %s\n"
             "aws_secret_access_key=%s\r\n",
             key_id, secret);
    CHECK_INT(afile_write(file, text, strlen(text), 0600, &e), 0);
    t.access_key_id = t.secret_access_key = NULL;
    t.credentials_file = file;
    char *m = make_backup("db", "db-20261123T110000Z.dump", 100);
    CHECK_INT(put(&t, "db-20261123T110000Z.dump", m, &e), 0);
    t.credentials_file = NULL;
    CHECK_INT(target_s3.list(&t, "db", &all, &e), -TE_AUTH); /* none at all */
    CHECK(strstr(e.msg, "no credentials") && strstr(e.hint, "AWS_ACCESS_KEY_ID"));
    json_decref(all);
    setenv("AWS_ACCESS_KEY_ID", key_id, 1);
    setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
    CHECK_INT(count_listed(&t, "db", NULL), 1);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    free(m);
}

/* Virtual-hosted URLs for OSS and AWS, path style elsewhere; the region from the endpoint. */
TEST(addressing)
{
    static const struct {
        const char *endpoint, *bucket, *region, *prefix, *base, *sigv4, *key_prefix;
    } cases[] = {
        {"https://oss-cn-hangzhou.aliyuncs.com", "edp-backups", NULL, "db/",
         "https://edp-backups.oss-cn-hangzhou.aliyuncs.com", "aws:amz:cn-hangzhou:s3", "db/"},
        {"https://s3.oss-cn-shanghai-internal.aliyuncs.com/", "b1", NULL, "/a/b//",
         "https://b1.s3.oss-cn-shanghai-internal.aliyuncs.com", "aws:amz:cn-shanghai:s3", "a/b/"},
        {"https://edp.oss-cn-beijing.aliyuncs.com", "edp", NULL, NULL,
         "https://edp.oss-cn-beijing.aliyuncs.com", "aws:amz:cn-beijing:s3", ""},
        {"https://s3.eu-west-1.amazonaws.com", "logs", NULL, "x",
         "https://logs.s3.eu-west-1.amazonaws.com", "aws:amz:eu-west-1:s3", "x/"},
        {"https://s3.amazonaws.com", "my.dotted", NULL, NULL, "https://s3.amazonaws.com/my.dotted",
         "aws:amz:us-east-1:s3", ""},
        {NULL, "b2", "ap-east-1", NULL, "https://b2.s3.ap-east-1.amazonaws.com",
         "aws:amz:ap-east-1:s3", ""},
        {"http://127.0.0.1:9000", "minio-b", NULL, NULL, "http://127.0.0.1:9000/minio-b",
         "aws:amz:us-east-1:s3", ""},
        {"http://10.0.0.5:9000", "b3", "cn-north-1", NULL, "http://10.0.0.5:9000/b3",
         "aws:amz:cn-north-1:s3", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cfg_backup_target t = {.kind = CFG_TARGET_S3,
                                      .endpoint = (char *)cases[i].endpoint,
                                      .bucket = (char *)cases[i].bucket,
                                      .region = (char *)cases[i].region,
                                      .prefix = (char *)cases[i].prefix,
                                      .access_key_id = "k",
                                      .secret_access_key = "s"};
        struct s3 s;
        struct err e = {0};
        CHECK_INT(backup__s3_open(&t, &s, &e), 0);
        CHECK_STR(s.base, cases[i].base);
        CHECK_STR(s.sigv4, cases[i].sigv4);
        CHECK_STR(s.prefix, cases[i].key_prefix);
        backup__s3_close(&s);
    }
}

/* Mistakes in an s3 target are reported at their place in tend.yaml, secrets unquoted. */
TEST(config_checks)
{
    const char *yaml = "backups:\n  - name: db\n    files: [/srv]\n    targets:\n"
                       "      - s3: {endpoint: oss-cn-hangzhou.aliyuncs.com, bucket: Edp_Backups,\n"
                       "             prefix: ../db, secret_access_key: hunter2}\n";
    struct cfg_backups *bs = NULL;
    struct cfg_diag diag;
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(cfg_backups_load_mem("t.yaml", yaml, strlen(yaml), NULL, &bs, &diag), -TE_CONFIG);
    cfg_diag_format(&diag, &b);
    CHECK_INT(diag.nerrors, 3);
    CHECK(b.ptr && strstr(b.ptr, "t.yaml:5:24: \"endpoint\" in backup \"db\" must be a URL"));
    CHECK(b.ptr && strstr(b.ptr, "\"bucket\" in backup \"db\" must be 3 to 63 lower-case"));
    CHECK(b.ptr && strstr(b.ptr, "t.yaml:6:22: \"prefix\""));
    CHECK(b.ptr && !strstr(b.ptr, "hunter2"));
    buf_fini(&b);
    cfg_backups_unref(bs);
}

TEST(module_run_and_retention)
{
    struct backup *b = NULL;
    struct backup_opts o = {.home = home, .watch_child = test_watch};
    struct err e = {0};
    char yaml[2048], cmd[2048];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/up && head -c 300000 /dev/urandom > %s/up/a.bin", dir,
             dir);
    CHECK_INT(sh_run(cmd, NULL), 0);
    snprintf(yaml, sizeof yaml,
             "backups:\n  - name: up\n    files: [%s/up]\n    keep: {last: 2}\n"
             "    targets:\n      - local: %s/t1\n      - s3: {endpoint: \"%s\", bucket: %s, "
             "prefix: run/files, access_key_id: %s, secret_access_key: %s}\n",
             dir, dir, endpoint, bucket, key_id, secret);
    struct cfg_backups *bs = jobs_from(yaml);
    CHECK_INT(backup_new(loop, &o, &b, &e), 0);
    CHECK_INT(backup_configure(b, bs, &e), 0);
    clock_fake_set(1000, 1795435200000LL);
    struct done d[3] = {{0}};
    for (int i = 0; i < 3; i++) {
        clock_fake_advance(3600 * 1000);
        CHECK_INT(backup_run(b, "up", on_done, &d[i], &e), 0);
        wait_op(&d[i]);
        CHECK_INT(d[i].rc, 0);
    }
    clock_fake_off();
    struct cfg_backup_target t = target("run/files");
    json_t *all = NULL;
    CHECK_INT(target_s3.list(&t, "up", &all, &e), 0);
    CHECK_INT(json_array_size(all), 2); /* the oldest was pruned from the bucket too */
    backup__manifests_sort(all);
    const char *newest = json_string_value(json_object_get(json_array_get(d[2].result, 0), "file"));
    CHECK_STR(json_string_value(json_object_get(json_array_get(all, 0), "file")), newest);
    char *path = NULL, got[300];
    snprintf(got, sizeof got, "%s/got", dir);
    mkdir(got, 0700);
    CHECK_INT(target_s3.fetch(&t, newest ? newest : "x", got, &path, &e), 0);
    snprintf(cmd, sizeof cmd, "cmp %s/t1/%s %s", dir, newest ? newest : "x", path ? path : "-");
    CHECK_INT(sh_run(cmd, NULL), 0);
    free(path);
    json_decref(all);
    for (int i = 0; i < 3; i++)
        json_decref(d[i].result);
    cfg_backups_unref(bs);
    close_backup(b);
}

int main(void)
{
    struct buf info;
    char cmd[700];
    make_tmpdir(dir, sizeof dir, "backup-s3");
    snprintf(srv, sizeof srv, "%s/server", dir);
    snprintf(home, sizeof home, "%s/home", dir);
    test_loop_init();
    buf_init(&info, 0);
    snprintf(cmd, sizeof cmd, "tests/servers/s3.sh start %s", srv);
    int rc = sh_run(cmd, &info);
    kv_get(info.ptr ? info.ptr : "", "S3_ENDPOINT", endpoint, sizeof endpoint);
    kv_get(info.ptr ? info.ptr : "", "S3_BUCKET", bucket, sizeof bucket);
    kv_get(info.ptr ? info.ptr : "", "S3_KEY", key_id, sizeof key_id);
    kv_get(info.ptr ? info.ptr : "", "S3_SECRET", secret, sizeof secret);
    buf_fini(&info);
    if (rc != 0 || !endpoint[0]) {
        unit_cur = "setup";
        UNIT_FAIL("cannot start the S3 server (tests/servers/s3.sh start %s)", srv);
        unit_failed++;
        return unit_done();
    }
    RUN(small_roundtrip);
    RUN(multipart_roundtrip);
    RUN(wrong_secret);
    RUN(mismatch_leaves_nothing);
    RUN(only_manifests_listed);
    RUN(killed_mid_upload);
    RUN(list_continues);
    RUN(credentials_from_file_and_env);
    RUN(addressing);
    RUN(config_checks);
    RUN(module_run_and_retention);
    snprintf(cmd, sizeof cmd, "tests/servers/s3.sh stop %s; rm -rf %s", srv, dir);
    sh_run(cmd, NULL);
    uv_close((uv_handle_t *)&reap_timer, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    return unit_done();
}
