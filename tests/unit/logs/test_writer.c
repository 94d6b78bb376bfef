/* tests/unit/logs/test_writer.c: writers on a real uv loop: a million numbered lines through a
 * pipe with many rotations lose, repeat, reorder and tear nothing; a file that cannot be
 * written drops whole lines, counts every byte and raises one event when drops begin and one
 * when they end. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>

#include "logs/logs_int.h"
#include "logs_test.h"
#include "unit.h"

#define NLINES 1000000

struct events {
    int n, begin, end;
    char last[512];
};

static void on_event(void *ctx, const char *app, int instance, const char *msg)
{
    struct events *ev = ctx;
    ev->n++;
    if (strncmp(msg, "dropping output of", 18) == 0)
        ev->begin++;
    if (strncmp(msg, "dropped ", 8) == 0)
        ev->end++;
    snprintf(ev->last, sizeof ev->last, "%s", msg);
}

/* Write lines "0000000".."0999999" in chunks that cut lines anywhere. */
static void *producer(void *arg)
{
    int fd = *(int *)arg;
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < NLINES; i++) {
        buf_printf(&b, "%07d\n", i);
        if (b.len >= 60000 || i == NLINES - 1) {
            for (size_t off = 0; off < b.len; off += 4093)
                write_all(fd, b.ptr + off, MIN((size_t)4093, b.len - off));
            buf_reset(&b);
        }
    }
    buf_fini(&b);
    close(fd);
    return NULL;
}

/* Every pipe read to its end, every line written, every rotated file compressed. */
static bool loop_idle(void *arg)
{
    struct logs *l = arg;
    return !l->srcs && !l->writers && !l->gz_busy && !l->gz_head;
}

/* Order of a file in the sequence: rotated (day, n) first, the current file last. */
struct lfile {
    char name[PATH_MAX + 256];
    long key;
};

static int lfile_cmp(const void *a, const void *b)
{
    const struct lfile *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key;
}

static int list_files(const char *dir, const char *stem, struct lfile *v, int max, int *ngz)
{
    DIR *d = opendir(dir);
    int n = 0, y, m, dd, k;
    for (struct dirent *de; d && (de = readdir(d)) && n < max;) {
        if (strncmp(de->d_name, stem, strlen(stem)) != 0)
            continue;
        const char *rest = de->d_name + strlen(stem);
        long key = 0;
        if (strcmp(rest, ".log") == 0)
            key = 99999999L * 100000;
        else if (sscanf(rest, ".%4d-%2d-%2d.%d.log", &y, &m, &dd, &k) == 4)
            key = (y * 10000L + m * 100 + dd) * 100000 + k;
        else
            continue;
        *ngz += str_ends(rest, ".gz");
        snprintf(v[n].name, sizeof v[n].name, "%s/%s", dir, de->d_name);
        v[n++].key = key;
    }
    if (d)
        closedir(d);
    qsort(v, (size_t)n, sizeof *v, lfile_cmp);
    return n;
}

/* Every line "<stamp>: NNNNNNN", numbers 0.. in order; returns the next expected number. */
static int check_lines(const struct buf *b, int next, int *bad)
{
    for (size_t off = 0; off < b->len;) {
        const char *nl = memchr(b->ptr + off, '\n', b->len - off);
        if (!nl) {
            (*bad)++; /* a torn last line */
            break;
        }
        const char *sep = memmem(b->ptr + off, (size_t)(nl - (b->ptr + off)), ": ", 2);
        if (!sep || nl - sep != 9 || (int)strtol(sep + 2, NULL, 10) != next) {
            if (!*bad)
                fprintf(stderr, "first bad line at %zu, expected %d: \"%.*s\"\n", off, next,
                        (int)(nl - (b->ptr + off)), b->ptr + off);
            (*bad)++;
        }
        next = sep ? (int)strtol(sep + 2, NULL, 10) + 1 : next + 1;
        off = (size_t)(nl - b->ptr) + 1;
    }
    return next;
}

TEST(million_lines_many_rotations_none_lost)
{
    char *dir = scratch_dir();
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct events ev = {0};
    struct logs_hooks hooks = {.ctx = &ev, .on_event = on_event};
    struct logs *l = NULL;
    CHECK_INT(logs_new(&loop, dir, &hooks, &l, NULL), 0);
    struct cfg_app app = test_app("seq", dir);
    app.log.max_size = 512 * 1024;
    app.log.keep = 10000;
    int p[2];
    CHECK_INT(pipe(p), 0);
    CHECK_INT(logs_attach(l, "seq", 0, &app, p[0], -1, NULL), 0);
    pthread_t th;
    pthread_create(&th, NULL, producer, &p[1]);
    CHECK(run_until(&loop, loop_idle, l, 120000)); /* drained, written, compressed */
    pthread_join(th, NULL);
    CHECK_INT(logs_dropped(l, "seq", -1), 0);
    CHECK_INT(ev.n, 0);

    struct lfile files[512];
    int ngz = 0, n = list_files(dir, "seq-out", files, 512, &ngz), next = 0, bad = 0;
    CHECK(n > 20);
    CHECK_INT(ngz, n - 1); /* every rotated file compressed */
    for (int i = 0; i < n; i++) {
        struct buf b;
        buf_init(&b, 0);
        CHECK_INT(read_back(files[i].name, &b), 0);
        CHECK(b.len <= app.log.max_size);
        next = check_lines(&b, next, &bad);
        buf_fini(&b);
    }
    CHECK_INT(bad, 0);
    CHECK_INT(next, NLINES);
    logs_close(l, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&loop), 0);
    scratch_remove(dir);
}

TEST(keep_bounds_rotated_files)
{
    char *dir = scratch_dir();
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct logs *l = NULL;
    logs_new(&loop, dir, NULL, &l, NULL);
    struct cfg_app app = test_app("k", dir);
    app.log.max_size = 64 * 1024;
    app.log.keep = 3;
    app.log.timestamp = false;
    int p[2];
    CHECK_INT(pipe(p), 0);
    CHECK_INT(logs_attach(l, "k", 0, &app, p[0], -1, NULL), 0);
    pthread_t th;
    pthread_create(&th, NULL, producer, &p[1]); /* 8 MB: over a hundred rotations */
    CHECK(run_until(&loop, loop_idle, l, 120000));
    pthread_join(th, NULL);
    struct lfile files[64];
    int ngz = 0, n = list_files(dir, "k-out", files, 64, &ngz);
    CHECK_INT(n, 4); /* 3 rotated + the current file */
    CHECK_INT(ngz, 3);
    logs_close(l, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&loop), 0);
    scratch_remove(dir);
}

struct dropctx {
    struct logs *l;
    struct events *ev;
};

static bool drops_ended(void *arg)
{
    struct dropctx *c = arg;
    return c->ev->end > 0;
}

TEST(unwritable_file_drops_are_counted_once)
{
    char *dir = scratch_dir();
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct events ev = {0};
    struct logs_hooks hooks = {.ctx = &ev, .on_event = on_event};
    struct logs *l = NULL;
    logs_new(&loop, dir, &hooks, &l, NULL);
    struct cfg_app app = test_app("full", dir);
    app.log.out_file = "/dev/full";
    app.log.timestamp = false;
    int p[2];
    CHECK_INT(pipe(p), 0);
    CHECK_INT(logs_attach(l, "full", 0, &app, p[0], -1, NULL), 0);
    size_t total = 0;
    for (int i = 0; i < 2000; i++) {
        char line[64];
        int k = snprintf(line, sizeof line, "line %d of output\n", i);
        CHECK_INT(write_all(p[1], line, (size_t)k), 0);
        total += (size_t)k;
        if (i % 200 == 0)
            uv_run(&loop, UV_RUN_NOWAIT);
    }
    close(p[1]);
    struct dropctx c = {l, &ev};
    CHECK(run_until(&loop, drops_ended, &c, 10000));
    CHECK_INT(logs_dropped(l, "full", 0), total);
    CHECK_INT(logs_dropped(l, "full", -1), total);
    CHECK_INT(ev.begin, 1);
    CHECK_INT(ev.end, 1);
    CHECK(strstr(ev.last, "No space left on device") != NULL);
    logs_close(l, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&loop), 0);
    scratch_remove(dir);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    RUN(million_lines_many_rotations_none_lost);
    RUN(keep_bounds_rotated_files);
    RUN(unwritable_file_drops_are_counted_once);
    return unit_done();
}
