/* supervise/watch.c: `watch:` restarts an app when its files change (development mode).
 *
 * libuv's inotify backend is not recursive, so the folders under each watched path are walked
 * once at start and each gets a uv_fs_event_t; names matching watch_ignore (fnmatch globs,
 * or plain folder names such as node_modules) are skipped, both when walking and when an
 * event arrives. Events are debounced (watch_debounce): one restart after the burst of writes
 * an editor or a build makes. Limits: folders created after start are not watched until the
 * next start or `tend up`; the walk runs on the loop and stops at MAX_DIRS folders. */
#include <dirent.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"
#include "supervise/supervise_int.h"

#define MAX_DIRS 4096
#define MAX_DEPTH 24

/* Owned by its app (a->watch); freed after every handle closed. */
struct sup_watch {
    struct sup_app *app; /* NULL once stopped */
    uv_fs_event_t **ev;
    size_t n;
    uv_timer_t debounce;
    int closing;
    char changed[256];
};

static bool ignored(const struct cfg_app *ca, const char *name, const char *path)
{
    for (char **g = ca->watch_ignore; g && *g; g++)
        if (fnmatch(*g, name, 0) == 0 || (path && fnmatch(*g, path, FNM_PATHNAME) == 0) ||
            strcmp(*g, name) == 0)
            return true;
    return false;
}

static void on_debounce(uv_timer_t *t)
{
    struct sup_watch *w = t->data;
    struct sup_app *a = w->app;
    if (!a)
        return;
    for (int i = 0; i < a->ninst; i++) {
        struct sup_instance *in = a->inst[i];
        if (in->removing || !sup__inst_live(in) || in->m.state == SUP_STOPPING)
            continue;
        char msg[600];
        snprintf(msg, sizeof msg, "%s restarted: watched files changed (%s)", in->label,
                 w->changed);
        tlog_info("supervise", "%s", msg);
        sup__inst_use_cfg(in, a->cfg, a->ca);
        sup__inst_restart(in, SUP_EVK_WATCH, msg);
    }
}

static void on_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    struct sup_watch *w = h->data;
    if (!w->app || status < 0)
        return;
    if (filename && ignored(w->app->ca, filename, NULL))
        return;
    str_copy(w->changed, filename ? filename : "?", sizeof w->changed);
    uv_timer_start(&w->debounce, on_debounce, w->app->ca->watch_debounce_ms, 0);
}

static void add(struct sup_watch *w, const char *path)
{
    uv_fs_event_t *e = xcalloc(1, sizeof *e);
    uv_fs_event_init(w->app->s->loop, e);
    e->data = w;
    if (uv_fs_event_start(e, on_event, path, 0) < 0) {
        tlog_warn("supervise", "%s: cannot watch %s", w->app->name, path);
        uv_close((uv_handle_t *)e, (uv_close_cb)free);
        return;
    }
    w->ev = xrealloc(w->ev, (w->n + 1) * sizeof *w->ev);
    w->ev[w->n++] = e;
}

static void walk(struct sup_watch *w, const char *path, int depth)
{
    if (w->n >= MAX_DIRS || depth > MAX_DEPTH)
        return;
    add(w, path);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || strcmp(de->d_name, "..") == 0))
            continue;
        char sub[4096];
        if (str_fmt(sub, sizeof sub, "%s/%s", path, de->d_name) < 0)
            continue;
        struct stat st;
        if (de->d_type == DT_DIR ||
            (de->d_type == DT_UNKNOWN && lstat(sub, &st) == 0 && S_ISDIR(st.st_mode)))
            if (!ignored(w->app->ca, de->d_name, sub))
                walk(w, sub, depth + 1);
    }
    closedir(d);
}

int sup__watch_start(struct sup_app *a)
{
    if (!a->ca->watch || !a->ca->watch[0] || a->watch)
        return 0;
    struct sup_watch *w = xcalloc(1, sizeof *w);
    w->app = a;
    uv_timer_init(a->s->loop, &w->debounce);
    w->debounce.data = w;
    for (char **p = a->ca->watch; *p; p++)
        walk(w, *p, 0);
    if (w->n >= MAX_DIRS)
        tlog_warn("supervise", "%s: watching only the first %d folders", a->name, MAX_DIRS);
    a->watch = w;
    return 0;
}

static void watch_closed(uv_handle_t *h)
{
    struct sup_watch *w = h->data;
    if (h != (uv_handle_t *)&w->debounce)
        free(h);
    if (--w->closing > 0)
        return;
    free(w->ev);
    free(w);
}

void sup__watch_stop(struct sup_app *a)
{
    struct sup_watch *w = a->watch;
    if (!w)
        return;
    a->watch = NULL;
    w->app = NULL;
    w->closing = (int)w->n + 1;
    for (size_t i = 0; i < w->n; i++)
        uv_close((uv_handle_t *)w->ev[i], watch_closed);
    uv_close((uv_handle_t *)&w->debounce, watch_closed);
}
