/* tests/unit/config/test_backup_config.c: `backups:` in tend.yaml, its messages and its structs.
 *
 * The messages are golden files (tests/data/backup/config/NAME.{yaml,expected}), loaded with
 * cfg_load() from inside that folder exactly as test_check.c does for the rest of the file;
 * TEND_UPDATE_GOLDEN=1 rewrites them. Then cfg_backups_load() is checked field by field on seed
 * 000's policy, so emptying the golden set cannot make this test pass. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "unit.h"

#define DATA "tests/data/backup/config"

static const char *const test_env[] = {"HOME=/home/deploy", "DB_PASSWORD=s3cret-pw", NULL};
static const struct cfg_load_opts opts = {.home = "/var/lib/tend", .environ = test_env};

static int names_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_case(const char *name, bool update)
{
    struct cfg *c = NULL;
    struct cfg_diag diag;
    struct buf got, want, path;
    buf_init(&got, 0);
    buf_init(&want, 0);
    buf_init(&path, 0);
    int rc = cfg_load(name, &opts, &c, &diag);
    cfg_diag_format(&diag, &got);
    CHECK(rc == 0 ? c != NULL && diag.nerrors == 0 : c == NULL && diag.nerrors > 0);
    CHECK(!got.ptr || !strstr(got.ptr, "hunter2")); /* secrets are masked in messages */
    buf_printf(&path, "%.*s.expected", (int)(strlen(name) - 5), name);
    if (update) {
        FILE *f = fopen(path.ptr, "w");
        CHECK(f != NULL);
        if (f) {
            fwrite(got.ptr ? got.ptr : "", 1, got.len, f);
            fclose(f);
        }
    } else if (read_file(path.ptr, 1 << 20, &want) < 0) {
        UNIT_FAIL("%s: missing %s", name, path.ptr);
    } else if (!str_eq(got.ptr ? got.ptr : "", want.ptr ? want.ptr : "")) {
        UNIT_FAIL("%s: output differs\n--- got\n%s--- expected\n%s", name, got.ptr ? got.ptr : "",
                  want.ptr ? want.ptr : "");
    }
    cfg_unref(c);
    buf_fini(&got);
    buf_fini(&want);
    buf_fini(&path);
}

TEST(golden_files)
{
    char *names[64];
    size_t n = 0;
    DIR *d = opendir(".");
    struct dirent *e;
    while (d && (e = readdir(d)) && n < 64)
        if (str_ends(e->d_name, ".yaml"))
            names[n++] = str_dup(e->d_name);
    if (d)
        closedir(d);
    qsort(names, n, sizeof *names, names_cmp);
    CHECK(n >= 3);
    for (size_t i = 0; i < n; i++) {
        run_case(names[i], getenv("TEND_UPDATE_GOLDEN") != NULL);
        free(names[i]);
    }
}

TEST(seed_000_typed)
{
    struct cfg *c = NULL;
    struct cfg_backups *bs = NULL;
    struct cfg_diag diag;
    CHECK_INT(cfg_load("seed_000.yaml", &opts, &c, &diag), 0);
    if (!c)
        return;
    CHECK_INT(cfg_backups_load(c, &opts, &bs, &diag), 0);
    if (!bs)
        goto out;
    CHECK_INT(bs->n, 4);
    const struct cfg_backup *b = cfg_backups_find(bs, "db-daily");
    CHECK(b != NULL);
    if (b) {
        CHECK_INT(b->source, CFG_BACKUP_POSTGRES);
        CHECK_STR(b->url, "postgresql://edp:s3cret-pw@127.0.0.1:5432/edp");
        CHECK_INT(b->format, CFG_PG_CUSTOM);
        CHECK_STR(b->schedule, "0 3 * * *");
        CHECK_INT(b->cron.hour, 1u << 3);
        CHECK_STR(b->timezone, "Asia/Shanghai");
        CHECK_INT(b->keep.max_age_ms, 30ull * 86400 * 1000);
        CHECK_INT(b->ntargets, 2);
        CHECK_INT(b->targets[0].kind, CFG_TARGET_LOCAL);
        CHECK_STR(b->targets[0].path, "/data/edp/backups/db/daily");
        CHECK_INT(b->targets[1].kind, CFG_TARGET_S3);
        CHECK_STR(b->targets[1].bucket, "edp-backups");
        CHECK_STR(b->targets[1].credentials_file, "/etc/tend/oss.key");
        CHECK_INT(b->compress, CFG_COMPRESS_ZSTD);
        CHECK_INT(b->level, 3);
        CHECK(b->recipients && b->recipients[0] && !b->recipients[1]);
        CHECK(b->verify_restore);
        CHECK_STR(b->drill_query, "select count(*) from users");
        CHECK_INT(b->timeout_ms, 6ull * 3600 * 1000);
    }
    b = cfg_backups_find(bs, "uploads-weekly");
    CHECK(b && b->source == CFG_BACKUP_FILES && b->paths &&
          str_eq(b->paths[0], "/data/edp/uploads"));
    CHECK(b && b->exclude && str_eq(b->exclude[1], "cache") && !b->exclude[2]);
    CHECK(b && b->compress == CFG_COMPRESS_GZIP && b->level == 9 && b->keep.weekly == 4);
    CHECK(b && b->timeout_ms == 2 * 3600 * 1000 && str_eq(b->before, "sync"));
    b = cfg_backups_find(bs, "cache");
    CHECK(b && b->source == CFG_BACKUP_REDIS && b->keep.last == 3 && !b->schedule);
    CHECK(cfg_backups_find(bs, "nope") == NULL);
out:
    cfg_backups_unref(bs);
    cfg_unref(c);
}

TEST(mem_and_names)
{
    static const char y[] =
        "backups:\n  - name: f\n    files: [data]\n    targets: [{local: out}]\n";
    struct cfg_backups *bs = NULL;
    struct cfg_diag diag;
    struct cfg_load_opts o = {.environ = test_env, .base_dir = "/srv/app"};
    CHECK_INT(cfg_backups_load_mem("t.yaml", y, strlen(y), &o, &bs, &diag), 0);
    CHECK(bs && bs->n == 1);
    if (bs && bs->n == 1) {
        CHECK_STR(bs->jobs[0]->paths[0], "/srv/app/data");
        CHECK_STR(bs->jobs[0]->targets[0].path, "/srv/app/out");
        CHECK(cfg_backups_ref(bs) == bs);
        cfg_backups_unref(bs);
    }
    cfg_backups_unref(bs);
    cfg_backups_unref(NULL);
    CHECK_STR(cfg_backup_source_name(CFG_BACKUP_REDIS), "redis");
    CHECK_STR(cfg_compress_name(CFG_COMPRESS_NONE), "none");
    CHECK_STR(cfg_pg_format_name(CFG_PG_PLAIN), "plain");
    CHECK_STR(cfg_target_kind_name(CFG_TARGET_S3), "s3");
}

int main(void)
{
    if (chdir(DATA) < 0) {
        perror("chdir " DATA);
        return 1;
    }
    RUN(golden_files);
    RUN(seed_000_typed);
    RUN(mem_and_names);
    return unit_done();
}
