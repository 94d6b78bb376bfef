/* tests/unit/logs/test_rotate.c: daily rotation at local midnight driven by the fake clock,
 * the rotated file's name (the day of its lines) and its gzip; the naming helpers. */
#include <time.h>

#include "core/clock.h"
#include "logs/logs_int.h"
#include "logs_test.h"
#include "unit.h"

TEST(rotated_names)
{
    char name[256];
    CHECK_INT(logs__rotated_name("/var/log/tend/api-out.log", 20261122, 3, name, sizeof name), 0);
    CHECK_STR(name, "/var/log/tend/api-out.2026-11-22.3.log");
    CHECK_INT(logs__rotated_name("/x/app.txt", 20260105, 1, name, sizeof name), 0);
    CHECK_STR(name, "/x/app.txt.2026-01-05.1");
    CHECK_INT(logs__local_day(0), 19700101);
}

struct waitctx {
    struct logs *l;
    const char *path;
};

/* The writer has nothing queued or running, no gzip is running, and the file exists. */
static bool settled(void *arg)
{
    struct waitctx *c = arg;
    struct logs_writer *w = c->l->writers;
    return w && !w->busy && !w->pending.len && !c->l->gz_busy && !c->l->gz_head &&
           access(c->path, F_OK) == 0;
}

static int64_t utc_ms(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                    .tm_hour = h, .tm_min = mi, .tm_sec = s};
    return (int64_t)timegm(&tm) * 1000;
}

TEST(daily_rotation_at_midnight)
{
    char *dir = scratch_dir(), cur[512], old[512];
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct logs *l = NULL;
    logs_new(&loop, dir, NULL, &l, NULL);
    struct cfg_app app = test_app("d", dir);
    app.log.daily = true;
    snprintf(cur, sizeof cur, "%s/d-out.log", dir);
    snprintf(old, sizeof old, "%s/d-out.2026-11-22.1.log.gz", dir);
    int p[2];
    CHECK_INT(pipe(p), 0);
    clock_fake_set(1000, utc_ms(2026, 11, 22, 23, 59, 59));
    CHECK_INT(logs_attach(l, "d", 0, &app, p[0], -1, NULL), 0);
    write_all(p[1], "before midnight\n", 16);
    struct waitctx c = {l, cur};
    CHECK(run_until(&loop, settled, &c, 10000));
    clock_fake_set(2000, utc_ms(2026, 11, 23, 0, 0, 1));
    write_all(p[1], "after midnight\n", 15);
    c.path = old;
    CHECK(run_until(&loop, settled, &c, 10000));
    struct buf a, b;
    buf_init(&a, 0);
    buf_init(&b, 0);
    CHECK_INT(read_back(old, &a), 0);
    CHECK_INT(read_back(cur, &b), 0);
    CHECK_STR(a.ptr, "2026-11-22T23:59:59.000+00:00: before midnight\n");
    CHECK_STR(b.ptr, "2026-11-23T00:00:01.000+00:00: after midnight\n");
    buf_fini(&a);
    buf_fini(&b);
    clock_fake_off();
    close(p[1]);
    logs_close(l, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&loop), 0);
    scratch_remove(dir);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    RUN(rotated_names);
    RUN(daily_rotation_at_midnight);
    return unit_done();
}
