/* tests/unit/logs/test_follow.c: followers get each stamped line as JSON until they unfollow;
 * logs_tail parses lines back (plain stamped and JSON lines); logs_flush truncates. */
#include "logs/logs_int.h"
#include "logs_test.h"
#include "unit.h"

struct got {
    int n;
    char msg[8][64];
    char stream[8][8];
    bool has_time;
};

static void on_line(void *arg, json_t *line)
{
    struct got *g = arg;
    if (g->n < 8) {
        snprintf(g->msg[g->n], 64, "%s", json_string_value(json_object_get(line, "message")));
        snprintf(g->stream[g->n], 8, "%s", json_string_value(json_object_get(line, "stream")));
        g->has_time = json_is_string(json_object_get(line, "time"));
    }
    g->n++;
}

struct waitctx {
    struct logs *l;
    struct got *g;
    int want;
    const char *path;
    size_t size;
};

static bool got_lines(void *arg)
{
    struct waitctx *c = arg;
    return c->g->n >= c->want;
}

static bool file_is(void *arg)
{
    struct waitctx *c = arg;
    struct logs_writer *w = logs__writer_find(c->l, c->path);
    return (!w || (!w->busy && !w->pending.len)) && file_size(c->path) == c->size;
}

static bool has_line(void *arg)
{
    struct waitctx *c = arg;
    struct logs_writer *w = logs__writer_find(c->l, c->path);
    return (!w || (!w->busy && !w->pending.len)) && file_size(c->path) > 0;
}

struct fixture {
    char *dir;
    uv_loop_t loop;
    struct logs *l;
    int out[2], err[2];
};

static void setup(struct fixture *f, struct cfg_app *app)
{
    f->dir = scratch_dir();
    app->log.dir = f->dir;
    uv_loop_init(&f->loop);
    logs_new(&f->loop, f->dir, NULL, &f->l, NULL);
    CHECK_INT(pipe(f->out), 0);
    CHECK_INT(pipe(f->err), 0);
    CHECK_INT(logs_attach(f->l, app->name, 0, app, f->out[0], f->err[0], NULL), 0);
}

static void teardown(struct fixture *f)
{
    close(f->out[1]);
    close(f->err[1]);
    logs_close(f->l, NULL, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&f->loop), 0);
    scratch_remove(f->dir);
}

TEST(follow_until_unfollow)
{
    struct cfg_app app = test_app("api", NULL);
    struct fixture f;
    setup(&f, &app);
    struct got all = {0}, errs = {0}, other = {0};
    int id = logs_follow(f.l, NULL, -1, LOGS_BOTH, on_line, &all);
    logs_follow(f.l, "api", 0, LOGS_ERR, on_line, &errs);
    logs_follow(f.l, "web", -1, LOGS_BOTH, on_line, &other);
    CHECK(id > 0);
    write_all(f.out[1], "one\r\ntwo\n", 9);
    write_all(f.err[1], "oops\n", 5);
    struct waitctx c = {.l = f.l, .g = &all, .want = 3};
    CHECK(run_until(&f.loop, got_lines, &c, 5000));
    CHECK_INT(errs.n, 1);
    CHECK_INT(other.n, 0);
    CHECK_STR(errs.msg[0], "oops");
    CHECK_STR(errs.stream[0], "err");
    CHECK_STR(all.msg[0], "one"); /* CR stripped in JSON */
    CHECK(all.has_time);
    logs_unfollow(f.l, id);
    write_all(f.err[1], "again\n", 6);
    c.g = &errs;
    c.want = 2;
    CHECK(run_until(&f.loop, got_lines, &c, 5000));
    CHECK_INT(all.n, 3);
    teardown(&f);
}

TEST(tail_parses_stamps_back)
{
    struct cfg_app app = test_app("api", NULL);
    app.log.date_format = "YYYY-MM-DD HH:mm:ss";
    struct fixture f;
    setup(&f, &app);
    write_all(f.out[1], "first\nsecond\nthird\n", 19);
    char path[512];
    snprintf(path, sizeof path, "%s/api-out.log", f.dir);
    struct waitctx c = {.l = f.l, .path = path, .size = strlen("2026-01-01 00:00:00: ") * 3 + 19};
    CHECK(run_until(&f.loop, file_is, &c, 5000));
    json_t *t = logs_tail(f.l, "api", -1, LOGS_BOTH, 2, NULL);
    CHECK(t && json_array_size(t) == 2);
    json_t *last = json_array_get(t, 1);
    CHECK_STR(json_string_value(json_object_get(last, "message")), "third");
    CHECK(json_is_string(json_object_get(last, "time")));
    CHECK_STR(json_string_value(json_object_get(last, "stream")), "out");
    json_decref(t);
    CHECK(logs_tail(f.l, "nope", -1, LOGS_BOTH, 2, NULL) == NULL);
    json_t *paths = logs_paths_json(f.l, "api");
    CHECK_STR(json_string_value(json_object_get(paths, "out")), path);
    json_decref(paths);
    CHECK_INT(logs_flush(f.l, "api", NULL), 0);
    c.size = 0;
    CHECK(run_until(&f.loop, file_is, &c, 5000));
    teardown(&f);
}

TEST(json_lines_round_trip)
{
    struct cfg_app app = test_app("js", NULL);
    app.log.json = true;
    struct fixture f;
    setup(&f, &app);
    write_all(f.err[1], "say \"hi\"\tnow\n", 13);
    char path[512];
    snprintf(path, sizeof path, "%s/js-error.log", f.dir);
    struct waitctx c = {.l = f.l, .path = path};
    CHECK(run_until(&f.loop, has_line, &c, 5000));
    struct buf b;
    buf_init(&b, 0);
    read_back(path, &b);
    json_t *o = json_loads(b.ptr ? b.ptr : "", JSON_DISABLE_EOF_CHECK, NULL);
    CHECK(json_is_object(o));
    CHECK_STR(json_string_value(json_object_get(o, "message")), "say \"hi\"\tnow");
    CHECK_STR(json_string_value(json_object_get(o, "app")), "js");
    CHECK_STR(json_string_value(json_object_get(o, "stream")), "err");
    CHECK_INT(json_integer_value(json_object_get(o, "instance")), 0);
    json_decref(o);
    buf_fini(&b);
    json_t *t = logs_tail(f.l, "js", -1, LOGS_ERR, 10, NULL);
    CHECK(t && json_array_size(t) == 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(t, 0), "message")),
              "say \"hi\"\tnow");
    json_decref(t);
    teardown(&f);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    RUN(follow_until_unfollow);
    RUN(tail_parses_stamps_back);
    RUN(json_lines_round_trip);
    return unit_done();
}
