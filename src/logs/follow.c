/* logs/follow.c: live followers (`tend logs -f`) and the last lines of the files (`tend logs`).
 *
 * Followers are a short list checked for each line only when it is not empty, and the JSON
 * object is built once per line and only when some follower matches, so capture costs nothing
 * extra when nobody follows. "time" in a followed line is ISO 8601 with milliseconds (the time
 * the chunk was read), whatever the file's date_format.
 *
 * Tail reads the current files only (not rotated ones), backwards from the end in 64 KiB steps
 * until it has `lines` lines or LOGS_TAIL_MAX_BYTES, then parses each line back: a JSON line
 * for apps with `json`, else the stamp prefix "<date_format>: " when `timestamp` is on ("time"
 * is null when the prefix does not parse). Lines of several files are merged by time (a line
 * without a time keeps its place after the line before it in its file). In a file shared by
 * all instances a plain line does not say which instance wrote it: "instance" is null then. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "core/util.h"
#include "logs/logs_int.h"

#define LOGS_TAIL_MAX_LINES 10000
#define LOGS_TAIL_MAX_BYTES (8 * 1024 * 1024)

int logs_follow(struct logs *l, const char *app, int instance, enum logs_stream which,
                logs_line_fn *cb, void *arg)
{
    struct logs_follower *f = xcalloc(1, sizeof *f), **pp = &l->followers;
    f->id = l->next_follow_id++;
    f->app = str_dup(app);
    f->instance = instance;
    f->which = which ? which : LOGS_BOTH;
    f->cb = cb;
    f->arg = arg;
    while (*pp)
        pp = &(*pp)->next;
    *pp = f; /* in order, so followers see lines in the order they subscribed */
    return f->id;
}

static void sweep(struct logs *l)
{
    for (struct logs_follower **pp = &l->followers; *pp;) {
        struct logs_follower *f = *pp;
        if (f->cb) {
            pp = &f->next;
            continue;
        }
        *pp = f->next;
        free(f->app);
        free(f);
    }
}

void logs_unfollow(struct logs *l, int id)
{
    for (struct logs_follower *f = l->followers; f; f = f->next)
        if (f->id == id)
            f->cb = NULL; /* freed by sweep, now or after the dispatch that is running */
    if (!l->dispatching)
        sweep(l);
}

void logs__follow_free_all(struct logs *l)
{
    for (struct logs_follower *f = l->followers; f; f = f->next)
        f->cb = NULL;
    sweep(l);
}

static json_t *line_object(const char *time, const char *app, json_t *instance, int stream,
                           json_t *message)
{
    json_t *o = json_object();
    json_object_set_new(o, "time", time ? json_string(time) : json_null());
    json_object_set_new(o, "app", json_string(app));
    json_object_set_new(o, "instance", instance);
    json_object_set_new(o, "stream", json_string(stream == LOGS_ERR ? "err" : "out"));
    json_object_set_new(o, "message", message);
    return o;
}

void logs__follow_dispatch(struct logs *l, const struct logs_src *s, const char *p, size_t n)
{
    json_t *obj = NULL;
    bool outer = l->dispatching;
    l->dispatching = true;
    for (struct logs_follower *f = l->followers; f; f = f->next) {
        if (!f->cb || !(f->which & s->stream) || (f->app && strcmp(f->app, s->app->name)) ||
            (f->instance >= 0 && f->instance != s->inst->instance))
            continue;
        if (!obj) {
            char t[64];
            clock_iso8601(t, sizeof t, s->now_ms, 1);
            obj = line_object(t, s->app->name, json_integer(s->inst->instance), s->stream,
                              logs__json_string(p, logs__chomp_cr(p, n)));
        }
        f->cb(f->arg, obj);
    }
    l->dispatching = outer;
    json_decref(obj);
    if (!outer)
        sweep(l);
}

/* ---- tail ------------------------------------------------------------------------------------ */

struct tline {
    int64_t t;   /* for ordering */
    size_t seq;
    json_t *obj;
};

struct tail {
    struct tline *v;
    size_t n, cap, seq;
};

/* Where the last `want` lines of the file start (bounded); the file's size in *end. */
static off_t tail_start(int fd, int want, off_t *end)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -1;
    char chunk[64 * 1024];
    off_t pos = st.st_size, floor = st.st_size > LOGS_TAIL_MAX_BYTES
                                        ? st.st_size - LOGS_TAIL_MAX_BYTES : 0;
    int seen = 0;
    *end = st.st_size;
    while (pos > floor) {
        size_t k = (size_t)MIN((off_t)sizeof chunk, pos - floor);
        if (pread(fd, chunk, k, pos - (off_t)k) != (ssize_t)k)
            return -1;
        for (size_t i = k; i-- > 0;) {
            /* the newline ending the last line does not start a line */
            if (chunk[i] == '\n' && pos - (off_t)k + (off_t)i != st.st_size - 1 && ++seen >= want)
                return pos - (off_t)k + (off_t)i + 1;
        }
        pos -= (off_t)k;
    }
    return floor;
}

/* One line of a plain (stamped or not) file. */
static json_t *parse_plain(const struct logs_app *a, const char *p, size_t n, json_t *inst,
                           int stream, int64_t *t)
{
    char iso[64];
    const char *time = NULL;
    size_t used = 0;
    int64_t ms;
    if (a->log.timestamp && logs__stamp_parse(a->log.date_format, p, n, &ms, &used) == 0 &&
        used + 2 <= n && p[used] == ':' && p[used + 1] == ' ') {
        clock_iso8601(iso, sizeof iso, ms, 1);
        time = iso;
        *t = ms;
        used += 2;
    } else {
        used = 0;
    }
    return line_object(time, a->name, inst, stream,
                       logs__json_string(p + used, logs__chomp_cr(p + used, n - used)));
}

/* One line of a JSON-lines file; falls back to plain when it is not an object. */
static json_t *parse_json(const struct logs_app *a, const char *p, size_t n, json_t *inst,
                          int stream, int64_t *t)
{
    json_t *o = json_loadb(p, n, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return parse_plain(a, p, n, inst, stream, t);
    }
    json_decref(inst);
    const char *time = json_string_value(json_object_get(o, "time"));
    int64_t ms;
    size_t used;
    if (time && logs__stamp_parse(a->log.date_format, time, strlen(time), &ms, &used) == 0) {
        char iso[64];
        clock_iso8601(iso, sizeof iso, ms, 1);
        json_object_set_new(o, "time", json_string(iso));
        *t = ms;
    }
    return o;
}

static void tail_add(struct tail *tl, json_t *obj, int64_t t)
{
    if (tl->n == tl->cap)
        tl->v = xrealloc(tl->v, (tl->cap = tl->cap ? tl->cap * 2 : 64) * sizeof *tl->v);
    tl->v[tl->n++] = (struct tline){.t = t, .seq = tl->seq++, .obj = obj};
}

static int tail_file(struct tail *tl, const struct logs_app *a, const char *path, int instance,
                     int stream, int want)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    off_t end = 0, start = tail_start(fd, want, &end);
    char *data = NULL;
    size_t len = 0;
    int rc = start < 0 ? -EIO : 0;
    if (rc == 0 && end > start) {
        len = (size_t)(end - start);
        data = malloc(len);
        rc = !data ? -ENOMEM : pread(fd, data, len, start) != (ssize_t)len ? -EIO : 0;
    }
    close(fd);
    int64_t t = INT64_MIN;
    for (size_t off = 0; rc == 0 && off < len;) {
        const char *nl = memchr(data + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (data + off)) : len - off;
        json_t *inst = instance >= 0 ? json_integer(instance) : json_null();
        json_t *o = a->log.json ? parse_json(a, data + off, n, inst, stream, &t)
                                : parse_plain(a, data + off, n, inst, stream, &t);
        tail_add(tl, o, t);
        off += n + 1;
    }
    free(data);
    return rc;
}

static int tline_cmp(const void *x, const void *y)
{
    const struct tline *a = x, *b = y;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int tail_app(struct tail *tl, const struct logs_app *a, int instance,
                    enum logs_stream which, int want)
{
    static const enum logs_stream kinds[] = {LOGS_OUT, LOGS_ERR};
    char path[PATH_MAX];
    int rc = 0;
    for (size_t k = 0; k < ARRAY_LEN(kinds) && rc == 0; k++) {
        if (!(which & kinds[k]))
            continue;
        if (a->log.merge_instances) {
            if (logs__app_path(a, kinds[k], -1, path, sizeof path) == 0)
                rc = tail_file(tl, a, path, a->instances == 1 ? 0 : -1, kinds[k], want);
            continue;
        }
        for (int i = 0; i < a->instances && rc == 0; i++)
            if ((instance < 0 || instance == i) &&
                logs__app_path(a, kinds[k], i, path, sizeof path) == 0)
                rc = tail_file(tl, a, path, i, kinds[k], want);
    }
    return rc;
}

json_t *logs_tail(struct logs *l, const char *app, int instance, enum logs_stream which,
                  int lines, struct err *err)
{
    struct tail tl = {0};
    int want = lines <= 0 ? 15 : MIN(lines, LOGS_TAIL_MAX_LINES), rc = 0;
    if (app && !logs__app_find(l, app)) {
        err_set(err, -TE_NOTFOUND, "cannot show logs of \"%s\": no such app", app);
        return NULL;
    }
    for (struct logs_app *a = l->apps; a && rc == 0; a = a->next)
        if (!app || strcmp(a->name, app) == 0)
            rc = tail_app(&tl, a, instance, which ? which : LOGS_BOTH, want);
    if (tl.n)
        qsort(tl.v, tl.n, sizeof *tl.v, tline_cmp);
    json_t *arr = rc < 0 ? NULL : json_array();
    size_t first = tl.n > (size_t)want ? tl.n - (size_t)want : 0;
    for (size_t i = 0; i < tl.n; i++) {
        if (arr && i >= first)
            json_array_append(arr, tl.v[i].obj);
        json_decref(tl.v[i].obj);
    }
    free(tl.v);
    if (rc < 0)
        err_set(err, rc, "cannot read logs: %s", err_str(rc));
    return arr;
}
