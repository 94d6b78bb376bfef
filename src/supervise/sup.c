/* supervise/sup.c: creating and shutting down the supervisor.
 *
 * sup_new makes the daemon a child subreaper (so orphaned grandchildren are reparented to it
 * and reaped, never left as zombies), listens for SIGCHLD, opens the notify socket, connects
 * to (or starts) the keeper and adopts the instances state.json says are still running.
 * sup_shutdown either stops every instance (each with its kill_signal and kill_timeout) and
 * waits for them, or leaves them running for the next daemon to adopt; then it closes every
 * handle and calls `done` once from the last close callback. */
#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"
#include "supervise/supervise_int.h"

static char **env_dup(const char *const *env)
{
    size_t n = 0;
    while (env && env[n])
        n++;
    char **out = xcalloc(n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = str_dup(env[i]);
    return out;
}

static void sup_free(struct sup *s)
{
    for (size_t i = 0; s->base_env && s->base_env[i]; i++)
        free(s->base_env[i]);
    free(s->base_env);
    free(s->home);
    free(s->self_exe);
    free(s->state_text);
    cfg_unref(s->cfg);
    free(s);
}

int sup_new(uv_loop_t *loop, const struct sup_opts *opts, const struct sup_hooks *hooks,
            struct sup **out, struct err *err)
{
    struct sup *s = xcalloc(1, sizeof *s);
    s->loop = loop;
    s->home = str_dup(opts->home);
    s->self_exe = str_dup(opts->self_exe);
    s->base_env = env_dup(opts->base_env);
    if (hooks)
        s->hooks = *hooks;
    s->notify_fd = s->keeper_fd = -1;
    /* 5 s: CPU%, RSS and max_memory are read from /proc at this cadence; 2 s cost 0.15 % of a
     * core idle with 100 apps (docs/benchmarks.md), PM2 checks memory every 30 s. */
    s->sample_interval_ms = 5000;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        tlog_warn("supervise",
                  "cannot become a child subreaper: %s; orphans of apps will "
                  "not be reaped by tend",
                  strerror(errno));
    uv_timer_init(loop, &s->gc_timer);
    uv_timer_init(loop, &s->sample_timer);
    int rc = sup__reap_init(s);
    if (rc < 0) {
        err_set(err, rc, "cannot watch SIGCHLD: %s", uv_strerror(rc));
        goto fail;
    }
    if (sup__ready_init(s, err) < 0)
        tlog_warn("supervise", "%s; apps with ready: notify are treated as ready at start",
                  err->msg);
    err_clear(err);
    if (s->home && s->self_exe && sup__keeper_connect(s, err) < 0) {
        tlog_warn("supervise", "%s; app output is lost while the daemon is down", err->msg);
        err_clear(err);
    }
    if (s->home && (rc = sup__adopt_all(s, err)) < 0)
        tlog_error("supervise", "cannot adopt running apps: %s", err->msg);
    err_clear(err);
    sup__sample_init(s);
    *out = s;
    return 0;
fail:
    /* Handles were initialised on the loop; close them before freeing (STYLE.md 3.4). */
    s->shutting_down = true;
    s->stop_apps = false;
    sup__shutdown_step(s);
    *out = NULL;
    return err->code ? err->code : rc;
}

void sup__closed(uv_handle_t *h)
{
    sup__close_done(h->data);
}

void sup__close_done(struct sup *s)
{
    if (--s->closing > 0)
        return;
    void (*done)(void *) = s->shutdown_done;
    void *arg = s->shutdown_arg;
    sup_free(s);
    if (done)
        done(arg);
}

void sup__close_handle(uv_handle_t *h, int *counter, uv_close_cb cb)
{
    if (uv_is_closing(h))
        return;
    (*counter)++;
    uv_close(h, cb);
}

static bool everything_stopped(struct sup *s)
{
    for (struct sup_app *a = s->apps; a; a = a->next) {
        if (a->reload)
            return false;
        for (int i = 0; i < a->ninst; i++)
            if (a->inst[i]->m.state != SUP_STOPPED || sup__inst_live(a->inst[i]))
                return false;
    }
    return true;
}

static void free_apps(struct sup *s)
{
    while (s->apps) {
        struct sup_app *a = s->apps;
        s->apps = a->next;
        a->deleting = true;
        a->next = NULL;
        /* app.c frees through the collector; here everything goes at once. */
        for (int i = 0; i < a->ninst; i++)
            a->inst[i]->removing = true;
        sup__app_free_now(a);
    }
}

/* Called from the collector while shutting down: finish once nothing is left to wait for. */
/* Every app is stopped: nothing is left to adopt, so the next daemon resurrects the saved set
 * (dump.json) rather than restoring a set of stopped instances, and the keeper holds nothing
 * worth keeping. */
static void forget_stopped_apps(struct sup *s)
{
    char path[PATH_MAX];
    if (str_fmt(path, sizeof path, "%s/state.json", s->home) == 0 && unlink(path) < 0 &&
        errno != ENOENT)
        tlog_warn("supervise", "cannot remove %s: %s", path, strerror(errno));
    if (sup_keeper_quit(s->home) < 0)
        tlog_debug("supervise", "the keeper was already gone");
}

void sup__shutdown_step(struct sup *s)
{
    if (s->closing || !s->shutting_down)
        return;
    if (s->stop_apps && !everything_stopped(s))
        return;
    if (s->state_busy)
        return; /* state.c calls us again when the write in flight is done */
    sup__ops_fail_all(s);
    free_apps(s);
    sup__keeper_close(s);
    if (s->stop_apps)
        forget_stopped_apps(s);
    sup__ready_close(s);
    sup__http_close(s);
    s->gc_timer.data = s->sample_timer.data = s->sigchld.data = s;
    s->closing++; /* hold: nothing completes before every close is requested */
    sup__close_handle((uv_handle_t *)&s->gc_timer, &s->closing, sup__closed);
    sup__close_handle((uv_handle_t *)&s->sample_timer, &s->closing, sup__closed);
    sup__close_handle((uv_handle_t *)&s->sigchld, &s->closing, sup__closed);
    s->closing--;
}

void sup_shutdown(struct sup *s, bool stop_apps, void (*done)(void *arg), void *arg)
{
    s->shutting_down = true;
    s->stop_apps = stop_apps;
    s->shutdown_done = done;
    s->shutdown_arg = arg;
    if (stop_apps) {
        tlog_info("supervise", "stopping every app");
        for (struct sup_app *a = s->apps; a; a = a->next) {
            sup__reload_abort_app(a);
            for (int i = 0; i < a->ninst; i++)
                sup__inst_stop(a->inst[i]);
        }
    } else {
        tlog_info("supervise", "leaving apps running for the next daemon");
    }
    sup__gc_soon(s);
}
