/* daemon.c: the root object. `tend daemon` runs here, in the foreground.
 *
 * The daemon owns the uv loop and one handle per module (store, logs, supervise, api); modules
 * never call each other, so every arrow between them is a callback wired here (STYLE.md 1):
 * supervise hands each instance's output pipes to logs and its events to the store; logs'
 * incidents (drops) become events too; the API routes (routes.c) read and act on the modules.
 *
 * Start-up order: home folder and pid file, store, logs, supervise (which adopts instances a
 * previous daemon left running, DESIGN invariant 5), then the API doors, then resurrect the saved
 * set when there was nothing to adopt. Shutdown runs in reverse, each step in its own close
 * callback, and the process exits only when the loop has no handle left. */
#include "daemon_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/afile.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "version.h"

extern char **environ;

static const int64_t EVENTS_KEEP_MS = 30LL * 24 * 3600 * 1000; /* 30 days of history */
static const uint64_t PRUNE_EVERY_MS = 6ULL * 3600 * 1000;

/* ---- wiring: supervise -> logs, store ------------------------------------------------------- */
static void on_output(void *ctx, const char *app, int instance, const struct cfg_app *cfg,
                      int out_fd, int err_fd)
{
    struct daemon *d = ctx;
    struct err err = {0};
    if (logs_attach(d->logs, app, instance, cfg, out_fd, err_fd, &err) < 0)
        tlog_error("daemon", "cannot capture the output of %s:%d: %s", app, instance, err.msg);
}

static void on_sup_event(void *ctx, enum sup_evkind kind, const char *app, int instance,
                         const char *msg)
{
    struct daemon *d = ctx;
    daemon__event(d, sup_evkind_name(kind), app, instance, msg);
}

static void on_logs_event(void *ctx, const char *app, int instance, const char *msg)
{
    struct daemon *d = ctx;
    daemon__event(d, "log_drop", app, instance, msg);
}

void daemon__event(struct daemon *d, const char *kind, const char *app, int instance,
                   const char *msg)
{
    if (d->store && store_event_add(d->store, clock_wall_ms(), kind, app, instance, msg) < 0)
        tlog_warn("store", "cannot record event %s: %s", kind, msg);
}

/* ---- home, pid file ----------------------------------------------------------------------- */
int daemon__home(char *dst, size_t size, struct err *err)
{
    const char *home = getenv("TEND_HOME");
    if (home && *home)
        return str_fmt(dst, size, "%s", home) < 0 ? err_set(err, -ENAMETOOLONG, "TEND_HOME is too long") : 0;
    const char *h = getenv("HOME");
    if (!h || !*h)
        return err_set(err, -TE_INVALID, "neither TEND_HOME nor HOME is set");
    if (str_fmt(dst, size, "%s/.tend", h) < 0)
        return err_set(err, -ENAMETOOLONG, "HOME is too long");
    return 0;
}

static int write_pid_file(struct daemon *d, struct err *err)
{
    char path[PATH_MAX], text[32];
    if (str_fmt(path, sizeof path, "%s/tend.pid", d->home) < 0)
        return err_set(err, -ENAMETOOLONG, "TEND_HOME is too long");
    int n = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    return afile_write(path, text, (size_t)n, 0600, err);
}

static void remove_pid_file(struct daemon *d)
{
    char path[PATH_MAX];
    if (str_fmt(path, sizeof path, "%s/tend.pid", d->home) == 0)
        unlink(path);
}

/* ---- shutdown ----------------------------------------------------------------------------- */
static void closed_one(void *arg)
{
    struct daemon *d = arg;
    assert(d->closing > 0);
    if (--d->closing == 0) {
        store_close(d->store);
        d->store = NULL;
        uv_close((uv_handle_t *)&d->sigterm, NULL);
        uv_close((uv_handle_t *)&d->sigint, NULL);
        uv_close((uv_handle_t *)&d->sighup, NULL);
        uv_close((uv_handle_t *)&d->sigpipe, NULL);
        uv_close((uv_handle_t *)&d->prune, NULL);
    }
}

static void sup_down(void *arg)
{
    struct daemon *d = arg;
    d->sup = NULL;
    /* Apps are gone: what they wrote is drained, then the files close. */
    logs_close(d->logs, closed_one, d);
    closed_one(d);
}

void daemon__shutdown(struct daemon *d, bool stop_apps)
{
    if (d->is_stopping)
        return;
    d->is_stopping = true;
    tlog_info("daemon", "shutting down%s", stop_apps ? "; stopping every app" : "; apps keep running");
    daemon__event(d, "daemon_stop", NULL, -1, stop_apps ? "daemon stopping with its apps" :
                                                         "daemon stopping; apps keep running");
    d->closing = 3; /* api, logs, supervise */
    api_close(d->api, closed_one, d);
    sup_shutdown(d->sup, stop_apps, sup_down, d);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct daemon *d = h->data;
    if (signum == SIGHUP) {
        tlog_info("daemon", "SIGHUP: nothing to reload (run tend up to apply tend.yaml)");
        return;
    }
    tlog_info("daemon", "%s received", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    daemon__shutdown(d, true);
}

static void on_prune(uv_timer_t *t)
{
    struct daemon *d = t->data;
    if (d->store)
        store_events_prune(d->store, clock_wall_ms() - EVENTS_KEEP_MS);
}

/* ---- start-up ----------------------------------------------------------------------------- */
static int start_signals(struct daemon *d)
{
    uv_signal_t *hs[] = {&d->sigterm, &d->sigint, &d->sighup, &d->sigpipe};
    int nums[] = {SIGTERM, SIGINT, SIGHUP, SIGPIPE};
    for (size_t i = 0; i < 4; i++) {
        uv_signal_init(&d->loop, hs[i]);
        hs[i]->data = d;
        /* SIGPIPE is watched only so a client that hangs up never kills the daemon. */
        int rc = uv_signal_start(hs[i], on_signal, nums[i]);
        if (rc < 0)
            return rc;
        if (nums[i] == SIGPIPE)
            uv_signal_stop(hs[i]), signal(SIGPIPE, SIG_IGN);
    }
    uv_unref((uv_handle_t *)&d->sighup);
    return 0;
}

static void resurrected(void *arg, int rc, json_t *result, const struct err *err)
{
    struct daemon *d = arg;
    (void)result;
    if (rc < 0)
        tlog_error("daemon", "cannot resurrect the saved apps: %s", err ? err->msg : err_str(rc));
    else
        daemon__event(d, "resurrect", NULL, -1, "saved apps resurrected at start");
}

static int open_modules(struct daemon *d, struct err *err)
{
    char path[PATH_MAX];
    int rc;
    if (str_fmt(path, sizeof path, "%s/tend.db", d->home) < 0)
        return err_set(err, -ENAMETOOLONG, "TEND_HOME is too long");
    if ((rc = store_open(path, &d->store, err)) < 0)
        return rc;
    struct logs_hooks lh = {.ctx = d, .on_event = on_logs_event};
    if ((rc = logs_new(&d->loop, d->home, &lh, &d->logs, err)) < 0)
        return rc;
    struct sup_hooks sh = {.ctx = d, .on_output = on_output, .on_event = on_sup_event};
    struct sup_opts so = {.home = d->home, .self_exe = d->self_exe,
                          .base_env = (const char *const *)environ};
    if ((rc = sup_new(&d->loop, &so, &sh, &d->sup, err)) < 0)
        return rc;
    char sock[PATH_MAX], token[PATH_MAX];
    if (str_fmt(sock, sizeof sock, "%s/tend.sock", d->home) < 0 ||
        str_fmt(token, sizeof token, "%s/token", d->home) < 0)
        return err_set(err, -ENAMETOOLONG, "TEND_HOME is too long");
    struct api_opts ao = {.sock_path = sock, .token_path = token};
    if ((rc = api_new(&d->loop, &ao, &d->api, err)) < 0)
        return rc;
    routes_register(d);
    return 0;
}

static int parse_args(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        enum tlog_level lvl;
        if (str_eq(argv[i], "--log-level") && i + 1 < argc && tlog_level_parse(argv[i + 1], &lvl) == 0) {
            tlog_set_level(lvl);
            i++;
        } else {
            fprintf(stderr, "tend: unknown option \"%s\" for daemon\n"
                            "usage: tend daemon [--log-level error|warn|info|debug]\n", argv[i]);
            return -1;
        }
    }
    return 0;
}

static int daemon_start(struct daemon *d, struct err *err)
{
    int rc;
    if ((rc = daemon__home(d->home, sizeof d->home, err)) < 0)
        return rc;
    if ((rc = afile_mkdirs(d->home, 0700, err)) < 0)
        return rc;
    ssize_t n = readlink("/proc/self/exe", d->self_exe, sizeof d->self_exe - 1);
    if (n < 0)
        return err_sys(err, "cannot find the tend binary (/proc/self/exe)");
    d->self_exe[n] = '\0';
    if ((rc = uv_loop_init(&d->loop)) < 0)
        return err_set(err, rc, "cannot start the event loop: %s", uv_strerror(rc));
    if ((rc = start_signals(d)) < 0)
        return err_set(err, rc, "cannot watch signals: %s", uv_strerror(rc));
    uv_timer_init(&d->loop, &d->prune);
    d->prune.data = d;
    uv_timer_start(&d->prune, on_prune, 60 * 1000, PRUNE_EVERY_MS);
    uv_unref((uv_handle_t *)&d->prune);
    d->started_ms = clock_mono_ms();
    if ((rc = open_modules(d, err)) < 0)
        return rc;
    return write_pid_file(d, err);
}

int daemon_main(int argc, char **argv)
{
    static struct daemon d; /* the root object: one per process, reached only through pointers */
    struct err err = {0};
    if (parse_args(argc, argv) < 0)
        return 2;
    umask(077);
    if (daemon_start(&d, &err) < 0) {
        fprintf(stderr, "tend: cannot start the daemon: %s\n", err.msg);
        if (err.hint[0])
            fprintf(stderr, "  hint: %s\n", err.hint);
        return 1;
    }
    tlog_info("daemon", "tend %s started (pid %ld, home %s)", TEND_VERSION, (long)getpid(), d.home);
    daemon__event(&d, "daemon_start", NULL, -1, "daemon started");
    if (sup_config(d.sup) == NULL) {
        struct err rerr = {0};
        if (sup_resurrect(d.sup, resurrected, &d, &rerr) < 0)
            tlog_error("daemon", "cannot resurrect the saved apps: %s", rerr.msg);
    } else {
        daemon__listen_tcp(&d, sup_config(d.sup));
    }
    uv_run(&d.loop, UV_RUN_DEFAULT);
    remove_pid_file(&d);
    int rc = uv_loop_close(&d.loop);
    if (rc < 0)
        tlog_warn("daemon", "the loop still had handles at exit: %s", uv_strerror(rc));
    tlog_info("daemon", "stopped");
    return 0;
}
