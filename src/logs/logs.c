/* logs/logs.c: the module handle, the apps it knows, and the public entry points that are not
 * about following or tailing (follow.c).
 *
 * An app is known from its first logs_attach() (or logs_configure()) until logs_forget_app()
 * and the close of its last pipe. Its struct logs_app holds a deep copy of its cfg_log (the
 * newest seen; running sources read their format from it) and one struct logs_inst per
 * instance with the drop counters, which outlive restarts of the instance. The tick timer runs
 * only while a source is paused or an instance is dropping. logs_close() closes every pipe
 * (writing held partial lines), lets writers flush and close their files, waits for a running
 * gzip, closes its timers and frees; if a disk is stuck it gives up after LOGS_CLOSE_WAIT_MS,
 * calls `done` and leaves the stuck writers allocated (their jobs still point at them). */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"
#include "logs/logs_int.h"

static void tick_cb(uv_timer_t *t)
{
    struct logs *l = container_of(t, struct logs, tick);
    uint64_t now = clock_mono_ms();
    logs__writer_check_stalls(l, now);
    logs__drops_check(l, now);
    logs__tick_update(l);
}

void logs__tick_update(struct logs *l)
{
    bool want = (l->npaused || l->ndropping) && !l->closing;
    if (want && !l->tick_on)
        uv_timer_start(&l->tick, tick_cb, LOGS_TICK_MS, LOGS_TICK_MS);
    else if (!want && l->tick_on)
        uv_timer_stop(&l->tick);
    l->tick_on = want;
}

void logs__event(struct logs *l, const char *app, int instance, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (l->hooks.on_event)
        l->hooks.on_event(l->hooks.ctx, app ? app : "", instance, msg);
}

int logs_new(uv_loop_t *loop, const char *home, const struct logs_hooks *hooks, struct logs **out,
             struct err *err)
{
    struct logs *l = xcalloc(1, sizeof *l);
    l->loop = loop;
    l->home = str_dup(home ? home : ".");
    if (hooks)
        l->hooks = *hooks;
    l->readbuf = malloc(LOGS_READ_SIZE);
    buf_init(&l->scratch, 0);
    l->next_follow_id = 1;
    int rc = l->readbuf ? uv_timer_init(loop, &l->tick) : -ENOMEM;
    if (rc < 0) {
        free(l->readbuf);
        free(l->home);
        free(l);
        *out = NULL;
        return err_set(err, rc, "cannot start the logs module: %s", err_str(rc));
    }
    l->handles = 1;
    *out = l;
    return 0;
}

/* ---- apps ------------------------------------------------------------------------------------ */

struct logs_app *logs__app_find(struct logs *l, const char *name)
{
    for (struct logs_app *a = l->apps; a; a = a->next)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

struct logs_inst *logs__inst_get(struct logs_app *a, int instance)
{
    size_t i = instance < 0 ? 0 : (size_t)instance;
    if (i >= a->ninst) {
        a->inst = xrealloc(a->inst, (i + 1) * sizeof *a->inst);
        memset(a->inst + a->ninst, 0, (i + 1 - a->ninst) * sizeof *a->inst);
        a->ninst = i + 1;
    }
    if (!a->inst[i]) {
        a->inst[i] = xcalloc(1, sizeof *a->inst[i]);
        a->inst[i]->app = a;
        a->inst[i]->instance = (int)i;
    }
    return a->inst[i];
}

static void log_fini(struct cfg_log *g)
{
    free(g->dir);
    free(g->out_file);
    free(g->err_file);
    free(g->combined_file);
    free(g->date_format);
    memset(g, 0, sizeof *g);
}

static void app_set_cfg(struct logs *l, struct logs_app *a, const struct cfg_app *cfg)
{
    struct cfg_log g = cfg->log;
    char dir[PATH_MAX];
    if (!g.dir || !*g.dir)
        str_fmt(dir, sizeof dir, "%s/logs", l->home);
    g.dir = str_dup(g.dir && *g.dir ? g.dir : dir);
    g.out_file = str_dup(g.out_file);
    g.err_file = str_dup(g.err_file);
    g.combined_file = str_dup(g.combined_file);
    g.date_format = str_dup(g.date_format);
    if (!g.buffer)
        g.buffer = LOGS_DEFAULT_BUFFER;
    if (!g.max_line)
        g.max_line = LOGS_DEFAULT_MAX_LINE;
    log_fini(&a->log);
    a->log = g;
    a->instances = cfg->instances > 0 ? cfg->instances : 1;
}

static struct logs_app *app_get(struct logs *l, const char *name, const struct cfg_app *cfg)
{
    struct logs_app *a = logs__app_find(l, name);
    if (!a) {
        a = xcalloc(1, sizeof *a);
        a->l = l;
        a->name = str_dup(name);
        a->next = l->apps;
        l->apps = a;
    }
    a->forgotten = false;
    app_set_cfg(l, a, cfg);
    return a;
}

static void app_free(struct logs_app *a)
{
    struct logs_app **pp = &a->l->apps;
    while (*pp != a)
        pp = &(*pp)->next;
    *pp = a->next;
    for (size_t i = 0; i < a->ninst; i++) {
        if (a->inst[i])
            logs__inst_detach(a->l, a->inst[i]);
        free(a->inst[i]);
    }
    free(a->inst);
    log_fini(&a->log);
    free(a->name);
    free(a);
}

void logs__app_release(struct logs_app *a)
{
    if (a->forgotten && a->nsrc == 0)
        app_free(a);
}

/* "<dir>/<name>" unless name is absolute; with per-instance files "-<i>" goes before ".log". */
static int file_path(const struct logs_app *a, const char *file, int instance, char *dst,
                     size_t size)
{
    const char *dir = file[0] == '/' ? "" : a->log.dir, *sep = file[0] == '/' ? "" : "/";
    if (a->log.merge_instances || instance < 0)
        return str_fmt(dst, size, "%s%s%s", dir, sep, file);
    size_t n = strlen(file);
    size_t stem = n > 4 && str_ends(file, ".log") ? n - 4 : n;
    return str_fmt(dst, size, "%s%s%.*s-%d%s", dir, sep, (int)stem, file, instance, file + stem);
}

int logs__app_path(const struct logs_app *a, enum logs_stream which, int instance, char *dst,
                   size_t size)
{
    const char *file = which == LOGS_OUT   ? a->log.out_file
                       : which == LOGS_ERR ? a->log.err_file
                                           : a->log.combined_file;
    if ((which == LOGS_BOTH && !file) || (file && !*file))
        return 1;
    if (file)
        return file_path(a, file, which == LOGS_BOTH ? -1 : instance, dst, size);
    const char *kind = which == LOGS_OUT ? "out" : "error";
    if (a->log.merge_instances || instance < 0)
        return str_fmt(dst, size, "%s/%s-%s.log", a->log.dir, a->name, kind);
    return str_fmt(dst, size, "%s/%s-%d-%s.log", a->log.dir, a->name, instance, kind);
}

/* ---- public entry points -------------------------------------------------------------------- */

int logs_configure(struct logs *l, const char *app, const struct cfg_app *cfg)
{
    if (l->closing)
        return -TE_STATE;
    app_get(l, app, cfg);
    return 0;
}

int logs_attach(struct logs *l, const char *app, int instance, const struct cfg_app *cfg,
                int out_fd, int err_fd, struct err *err)
{
    if (l->closing) {
        if (out_fd >= 0)
            close(out_fd);
        if (err_fd >= 0 && err_fd != out_fd)
            close(err_fd);
        return err_set(err, -TE_STATE, "cannot capture output of %s:%d: the daemon is stopping",
                       app, instance);
    }
    struct logs_app *a = app_get(l, app, cfg);
    int rc = 0, rc2 = 0;
    if (out_fd >= 0)
        rc = logs__src_start(l, a, instance, LOGS_OUT, out_fd, err);
    if (err_fd >= 0 && err_fd != out_fd) /* one pipe for both: read it once, as stdout */
        rc2 = logs__src_start(l, a, instance, LOGS_ERR, err_fd, rc < 0 ? NULL : err);
    return rc < 0 ? rc : rc2;
}

void logs_forget_app(struct logs *l, const char *app)
{
    struct logs_app *a = logs__app_find(l, app);
    if (!a)
        return;
    a->forgotten = true;
    logs__app_release(a);
}

uint64_t logs_dropped(struct logs *l, const char *app, int instance)
{
    struct logs_app *a = logs__app_find(l, app);
    uint64_t n = 0;
    for (size_t i = 0; a && i < a->ninst; i++)
        if (a->inst[i] && (instance < 0 || (size_t)instance == i))
            n += a->inst[i]->dropped;
    return n;
}

/* Truncate one file through its writer (the job does it, between two batches). */
static void flush_path(struct logs *l, struct logs_app *a, const char *path)
{
    struct logs_writer *w = logs__writer_get(l, path, &a->log);
    w->want_truncate = true;
    logs__writer_put(w); /* kicks: a new writer opens, truncates, closes and goes away */
}

static void flush_app(struct logs *l, struct logs_app *a)
{
    static const enum logs_stream kinds[] = {LOGS_OUT, LOGS_ERR, LOGS_BOTH};
    char path[PATH_MAX];
    int n = a->log.merge_instances ? 1 : a->instances;
    for (size_t k = 0; k < ARRAY_LEN(kinds); k++)
        for (int i = 0; i < n; i++)
            if (logs__app_path(a, kinds[k], a->log.merge_instances ? -1 : i, path,
                               sizeof path) == 0)
                flush_path(l, a, path);
}

int logs_flush(struct logs *l, const char *app, struct err *err)
{
    if (l->closing)
        return err_set(err, -TE_STATE, "cannot flush logs: the daemon is stopping");
    if (app) {
        struct logs_app *a = logs__app_find(l, app);
        if (!a)
            return err_set(err, -TE_NOTFOUND, "cannot flush logs of \"%s\": no such app", app);
        flush_app(l, a);
        return 0;
    }
    for (struct logs_app *a = l->apps; a; a = a->next)
        flush_app(l, a);
    return 0;
}

json_t *logs_paths_json(struct logs *l, const char *app)
{
    struct logs_app *a = logs__app_find(l, app);
    if (!a)
        return NULL;
    static const enum logs_stream kinds[] = {LOGS_OUT, LOGS_ERR, LOGS_BOTH};
    static const char *const keys[] = {"out", "error", "combined"};
    json_t *o = json_object();
    char path[PATH_MAX];
    for (size_t k = 0; k < ARRAY_LEN(kinds); k++) {
        int i = a->log.merge_instances ? -1 : 0;
        bool has = logs__app_path(a, kinds[k], i, path, sizeof path) == 0;
        json_object_set_new(o, keys[k], has ? json_string(path) : json_null());
    }
    json_object_set_new(o, "per_instance", json_boolean(!a->log.merge_instances));
    return o;
}

/* ---- closing --------------------------------------------------------------------------------- */

static void final_free(struct logs *l)
{
    void (*done)(void *) = l->close_done;
    void *arg = l->close_arg;
    if (l->writers || l->gz_busy) {
        tlog_warn("logs", "log files still being written after %d ms; leaving them", LOGS_CLOSE_WAIT_MS);
    } else {
        logs__follow_free_all(l);
        while (l->apps)
            app_free(l->apps);
        buf_fini(&l->scratch);
        free(l->readbuf);
        free(l->home);
        free(l);
    }
    if (done)
        done(arg);
}

static void handle_closed(uv_handle_t *h)
{
    struct logs *l = h->data;
    if (--l->handles == 0)
        final_free(l);
}

static void finish(struct logs *l)
{
    if (uv_is_closing((uv_handle_t *)&l->close_timer))
        return;
    uv_timer_stop(&l->close_timer);
    uv_close((uv_handle_t *)&l->close_timer, handle_closed);
}

static void close_timeout(uv_timer_t *t)
{
    finish(container_of(t, struct logs, close_timer));
}

void logs__maybe_done(struct logs *l)
{
    if (l->closing && !l->srcs && !l->writers && !l->gz_busy)
        finish(l);
}

void logs_close(struct logs *l, void (*done)(void *arg), void *arg)
{
    assert(!l->closing);
    l->closing = true;
    l->close_done = done;
    l->close_arg = arg;
    for (struct logs_src *s = l->srcs; s; s = s->next)
        logs__src_drain_close(s);
    logs__gz_clear(l);
    logs__tick_update(l);
    l->tick.data = l;
    uv_close((uv_handle_t *)&l->tick, handle_closed);
    uv_timer_init(l->loop, &l->close_timer);
    l->close_timer.data = l;
    l->handles++;
    uv_timer_start(&l->close_timer, close_timeout, LOGS_CLOSE_WAIT_MS, 0);
    logs__maybe_done(l);
}
