/* tests/unit/backup/test_servers.c: postgres and redis jobs against real servers on 127.0.0.1.
 *
 * tests/servers/postgres.sh and redis.sh start a throwaway cluster and redis-server in a temp
 * folder (and stop them, by pid, at the end). PostgreSQL: a database "shop" with three tables
 * and a few MB of rows is backed up (custom format, zstd), verified, drilled (the scratch
 * database is gone afterwards) and restored into a new database; row counts and an md5 of every
 * table match; restoring again without `yes` is refused. Redis: keys written, RDB backed up,
 * restored into a folder, a second redis-server started on it has the same keys. */
#include "backup_test.h"

static char dir[256], home[512], pg_url[300], redis_url[300];

static struct backup *open_backup(void)
{
    struct backup *b = NULL;
    struct err e = {0};
    struct backup_opts o = {.home = home, .watch_child = test_watch};
    CHECK_INT(backup_new(loop, &o, &b, &e), 0);
    return b;
}

static int psql(const char *db, const char *sql, struct buf *out)
{
    char cmd[4096];
    char *u = strdup(pg_url);
    char *slash = strrchr(u, '/');
    if (slash)
        *slash = '\0';
    snprintf(cmd, sizeof cmd, "psql -X -A -t -q -v ON_ERROR_STOP=1 -d '%s/%s' -c \"%s\"", u, db,
             sql);
    free(u);
    return sh_run(cmd, out);
}

static const char *const tables[] = {"customers", "orders", "notes"};

static void fill_shop(void)
{
    CHECK_INT(psql("postgres", "create database shop", NULL), 0);
    CHECK_INT(psql("shop",
                   "create table customers (id serial primary key, name text, email text);"
                   "create table orders (id serial primary key, customer int, total numeric, "
                   "at timestamptz default now());"
                   "create table notes (id serial primary key, body text);"
                   "insert into customers (name, email) select 'name ' || i, 'u' || i || "
                   "'@example.com' from generate_series(1, 20000) i;"
                   "insert into orders (customer, total) select i % 20000 + 1, i * 1.5 from "
                   "generate_series(1, 60000) i;"
                   "insert into notes (body) select md5(i::text) || repeat('x', 100) from "
                   "generate_series(1, 15000) i;",
                   NULL),
              0);
}

/* "table count md5" lines for the three tables of db. */
static void fingerprint(const char *db, struct buf *out)
{
    char sql[600];
    for (size_t i = 0; i < 3; i++) {
        snprintf(sql, sizeof sql,
                 "select '%s', count(*), md5(coalesce(string_agg(t::text, ',' order by t.id), "
                 "'')) from %s t",
                 tables[i], tables[i]);
        psql(db, sql, out);
    }
}

TEST(postgres_backup_verify_drill_restore)
{
    char yaml[1024], to[400];
    struct err e = {0};
    struct buf want, got, dbs;
    buf_init(&want, 0);
    buf_init(&got, 0);
    buf_init(&dbs, 0);
    fill_shop();
    char *base = strdup(pg_url);
    *strrchr(base, '/') = '\0';
    snprintf(yaml, sizeof yaml,
             "backups:\n  - name: db\n    postgres: {url: \"%s/shop\"}\n"
             "    targets: [{local: %s/pg}]\n    keep: {daily: 7}\n",
             base, dir);
    struct cfg_backups *bs = jobs_from(yaml);
    struct backup *b = open_backup();
    backup_configure(b, bs, &e);
    struct done d = {0}, v = {0}, dr = {0}, r = {0}, again = {0};
    CHECK_INT(backup_run(b, "db", on_done, &d, &e), 0);
    wait_op(&d);
    CHECK_INT(d.rc, 0);
    json_t *m = json_array_get(d.result, 0);
    CHECK(str_ends(json_string_value(json_object_get(m, "file")) ?: "", ".dump.zst"));
    CHECK(json_integer_value(json_object_get(m, "size_raw")) > 2000000);
    CHECK_INT(backup_verify(b, "db", NULL, on_done, &v, &e), 0);
    wait_op(&v);
    CHECK_INT(v.rc, 0);
    CHECK_INT(backup_drill(b, "db", on_done, &dr, &e), 0);
    wait_op(&dr);
    CHECK_INT(dr.rc, 0);
    CHECK_STR(json_string_value(json_object_get(dr.result, "answer")), "3");
    psql("postgres", "select count(*) from pg_database where datname like 'tend_drill_%'", &dbs);
    CHECK_STR(dbs.ptr, "0\n"); /* the scratch database was dropped */
    CHECK_INT(psql("postgres", "create database shop_copy", NULL), 0);
    snprintf(to, sizeof to, "%s/shop_copy", base);
    CHECK_INT(backup_restore(b, "db", NULL, to, false, on_done, &r, &e), 0);
    wait_op(&r);
    CHECK_INT(r.rc, 0);
    fingerprint("shop", &want);
    fingerprint("shop_copy", &got);
    CHECK(want.len > 0 && str_eq(want.ptr, got.ptr));
    CHECK(strstr(want.ptr ? want.ptr : "", "orders|60000|") != NULL);
    CHECK_INT(backup_restore(b, "db", NULL, to, false, on_done, &again, &e), 0);
    wait_op(&again);
    CHECK_INT(again.rc, -TE_STATE); /* not empty any more: needs yes */
    json_decref(d.result);
    json_decref(v.result);
    json_decref(dr.result);
    json_decref(r.result);
    free(base);
    buf_fini(&want);
    buf_fini(&got);
    buf_fini(&dbs);
    cfg_backups_unref(bs);
    close_backup(b);
}

TEST(postgres_down_fails_clearly)
{
    char yaml[2048];
    struct err e = {0};
    snprintf(yaml, sizeof yaml,
             "backups:\n  - name: dead\n    postgres: postgresql://tend:pw@127.0.0.1:1/x\n"
             "    targets: [{local: %s/dead}]\n",
             dir);
    struct cfg_backups *bs = jobs_from(yaml);
    struct backup *b = open_backup();
    backup_configure(b, bs, &e);
    struct done d = {0};
    CHECK_INT(backup_run(b, "dead", on_done, &d, &e), 0);
    wait_op(&d);
    CHECK(d.rc < 0);
    CHECK(strstr(d.err.msg, "pg_dump exited with code 1") != NULL);
    CHECK(strstr(d.err.msg, "pw") == NULL || strstr(d.err.msg, "pw@") == NULL);
    struct buf ls;
    buf_init(&ls, 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -A %s/dead", dir);
    sh_run(cmd, &ls);
    CHECK(ls.len == 0); /* no partial file left behind */
    buf_fini(&ls);
    cfg_backups_unref(bs);
    close_backup(b);
}

TEST(redis_backup_restore)
{
    char yaml[2048], cmd[2048], rdir[600];
    struct err e = {0};
    struct buf info, val;
    buf_init(&info, 0);
    buf_init(&val, 0);
    snprintf(cmd, sizeof cmd,
             "redis-cli -u %s set greeting hello >/dev/null && redis-cli -u %s hset h a 1 b 2 "
             ">/dev/null && redis-cli -u %s rpush l x y z >/dev/null",
             redis_url, redis_url, redis_url);
    CHECK_INT(sh_run(cmd, NULL), 0);
    snprintf(yaml, sizeof yaml,
             "backups:\n  - name: cache\n    redis: %s\n    targets: [{local: %s/redis}]\n",
             redis_url, dir);
    struct cfg_backups *bs = jobs_from(yaml);
    struct backup *b = open_backup();
    backup_configure(b, bs, &e);
    struct done d = {0}, r = {0};
    CHECK_INT(backup_run(b, "cache", on_done, &d, &e), 0);
    wait_op(&d);
    CHECK_INT(d.rc, 0);
    snprintf(rdir, sizeof rdir, "%s/redis-restored", dir);
    mkdir(rdir, 0700);
    CHECK_INT(backup_restore(b, "cache", NULL, rdir, false, on_done, &r, &e), 0);
    wait_op(&r);
    CHECK_INT(r.rc, 0);
    snprintf(cmd, sizeof cmd, "tests/servers/redis.sh start %s/redis2 %s/dump.rdb", dir, rdir);
    CHECK_INT(sh_run(cmd, &info), 0);
    char url2[200];
    kv_get(info.ptr ? info.ptr : "", "REDIS_URL", url2, sizeof url2);
    snprintf(
        cmd, sizeof cmd,
        "redis-cli -u %s get greeting; redis-cli -u %s hget h b; redis-cli -u %s lrange l 0 -1",
        url2, url2, url2);
    sh_run(cmd, &val);
    CHECK_STR(val.ptr, "hello\n2\nx\ny\nz\n");
    snprintf(cmd, sizeof cmd, "tests/servers/redis.sh stop %s/redis2", dir);
    sh_run(cmd, NULL);
    json_decref(d.result);
    json_decref(r.result);
    buf_fini(&info);
    buf_fini(&val);
    cfg_backups_unref(bs);
    close_backup(b);
}

static bool start_servers(void)
{
    char cmd[600];
    struct buf pg, rd;
    buf_init(&pg, 0);
    buf_init(&rd, 0);
    snprintf(cmd, sizeof cmd, "tests/servers/postgres.sh start %s/pgdata", dir);
    int rc = sh_run(cmd, &pg);
    snprintf(cmd, sizeof cmd, "tests/servers/redis.sh start %s/redisdata", dir);
    rc |= sh_run(cmd, &rd);
    kv_get(pg.ptr ? pg.ptr : "", "PG_URL", pg_url, sizeof pg_url);
    kv_get(rd.ptr ? rd.ptr : "", "REDIS_URL", redis_url, sizeof redis_url);
    buf_fini(&pg);
    buf_fini(&rd);
    return rc == 0 && pg_url[0] && redis_url[0];
}

int main(void)
{
    char cmd[600];
    make_tmpdir(dir, sizeof dir, "backup-servers");
    snprintf(home, sizeof home, "%s/home", dir);
    test_loop_init();
    if (start_servers()) {
        RUN(postgres_backup_verify_drill_restore);
        RUN(postgres_down_fails_clearly);
        RUN(redis_backup_restore);
    } else {
        unit_cur = "start_servers";
        UNIT_FAIL("cannot start the test servers (tests/servers/*.sh; run scripts/deps.sh)");
        unit_failed++;
    }
    snprintf(cmd, sizeof cmd, "tests/servers/postgres.sh stop %s/pgdata", dir);
    sh_run(cmd, NULL);
    snprintf(cmd, sizeof cmd, "tests/servers/redis.sh stop %s/redisdata", dir);
    sh_run(cmd, NULL);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    sh_run(cmd, NULL);
    uv_close((uv_handle_t *)&reap_timer, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    return unit_done();
}
