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
#include <libgen.h>
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
#include "core/util.h"
#include "monitor.h"
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
    monitor_on_sup_event(d->monitor, kind, app, instance);
}

static void on_sup_sample(void *ctx, const char *app, int instance, const struct sup_sample *s)
{
    struct daemon *d = ctx;
    monitor_on_sample(d->monitor, app, instance, s);
}

static void on_logs_event(void *ctx, const char *app, int instance, const char *msg)
{
    struct daemon *d = ctx;
    daemon__event(d, "log_drop", app, instance, msg);
}

/* ---- wiring: backup -> supervise (children), store (events, catalog) ---------------------- */
static int backup_watch(void *ctx, pid_t pid, backup_child_fn *cb, void *arg)
{
    struct daemon *d = ctx;
    return d->sup ? sup_child_watch(d->sup, pid, cb, arg) : -TE_STATE;
}

static void on_backup_event(void *ctx, const struct backup_event *ev)
{
    struct daemon *d = ctx;
    char kind[64], msg[900];
    snprintf(kind, sizeof kind, "backup_%s", backup_event_name(ev->kind));
    snprintf(msg, sizeof msg, "%s: %s", ev->job, ev->message);
    daemon__event(d, kind, NULL, -1, msg);
    if (!d->store || !ev->id)
        return;
    if (ev->manifest) {
        json_t *m = json_deep_copy(ev->manifest);
        json_object_del(m, "pruned");
        char *text = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
        if (!text || store_backup_put(d->store, ev->job, ev->id,
                                      json_integer_value(json_object_get(m, "started")), text) < 0)
            tlog_warn("store", "cannot record backup %s in the catalog", ev->id);
        free(text);
        json_decref(m);
    } else if (ev->kind == BACKUP_EV_PRUNED) {
        store_backup_delete(d->store, ev->job, ev->id);
    }
}

void daemon__config_applied(struct daemon *d)
{
    struct cfg *c = d->sup ? sup_config(d->sup) : NULL;
    if (!c || !d->backup)
        return;
    char dir[PATH_MAX];
    str_copy(dir, c->path ? c->path : "/", sizeof dir);
    struct cfg_load_opts o = {.profile = c->profile, .home = d->home, .base_dir = dirname(dir)};
    struct cfg_backups *jobs = NULL;
    struct cfg_diag *diag = xcalloc(1, sizeof *diag);
    struct err err = {0};
    if (cfg_backups_load(c, &o, &jobs, diag) < 0)
        tlog_error("backup", "cannot read the backups of %s (%d errors); the schedule is unchanged",
                   c->path ? c->path : "tend.yaml", diag->nerrors);
    else if (backup_configure(d->backup, jobs, &err) < 0)
        tlog_error("backup", "cannot apply the backups of %s: %s", c->path, err.msg);
    cfg_backups_unref(jobs);
    free(diag);
    monitor_configure(d->monitor);
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

static void backup_down(void *arg);

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
    d->is_stopping_apps = stop_apps;
    api_close(d->api, closed_one, d);
    /* Backups first: their children are reaped through supervise, which must outlive them. */
    if (d->backup)
        backup_close(d->backup, backup_down, d);
    else
        backup_down(d);
}

static void monitor_down(void *arg)
{
    struct daemon *d = arg;
    d->monitor = NULL;
    sup_shutdown(d->sup, d->is_stopping_apps, sup_down, d);
}

static void backup_down(void *arg)
{
    struct daemon *d = arg;
    d->backup = NULL;
    /* Probes and notifiers next: their children too are reaped through supervise. */
    if (d->monitor)
        monitor_close(d->monitor, monitor_down, d);
    else
        monitor_down(d);
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
    monitor_prune(d->monitor);
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
    daemon__config_applied(d);
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
    struct sup_hooks sh = {.ctx = d, .on_output = on_output, .on_event = on_sup_event,
                           .on_sample = on_sup_sample};
    struct sup_opts so = {.home = d->home, .self_exe = d->self_exe,
                          .base_env = (const char *const *)environ};
    if ((rc = sup_new(&d->loop, &so, &sh, &d->sup, err)) < 0)
        return rc;
    struct backup_opts bo = {.home = d->home, .watch_child = backup_watch, .watch_ctx = d,
                             .on_event = on_backup_event, .event_ctx = d};
    if ((rc = backup_new(&d->loop, &bo, &d->backup, err)) < 0)
        return rc;
    if ((rc = monitor_new(d, &d->monitor, err)) < 0)
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

/* Everything tend writes in its home is 0600/0700 already; a home other users may enter still
 * shows them which apps run and lets them reach the socket (refused by SO_PEERCRED, but a
 * door nonetheless). Say so rather than chmod the user's folder behind their back. */
static void check_home_mode(struct daemon *d)
{
    struct stat st;
    if (stat(d->home, &st) < 0 || !(st.st_mode & 077))
        return;
    char msg[2 * PATH_MAX + 80];
    snprintf(msg, sizeof msg, "%s is open to other users (mode %04o); run chmod 700 %s", d->home,
             (unsigned)st.st_mode & 07777, d->home);
    tlog_warn("daemon", "%s", msg);
    daemon__event(d, "home_exposed", NULL, -1, msg);
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
    check_home_mode(&d);
    if (sup_config(d.sup) == NULL) {
        struct err rerr = {0};
        if (sup_resurrect(d.sup, resurrected, &d, &rerr) < 0)
            tlog_error("daemon", "cannot resurrect the saved apps: %s", rerr.msg);
    } else {
        daemon__listen_tcp(&d, sup_config(d.sup));
        daemon__config_applied(&d);
    }
    uv_run(&d.loop, UV_RUN_DEFAULT);
    remove_pid_file(&d);
    int rc = uv_loop_close(&d.loop);
    if (rc < 0)
        tlog_warn("daemon", "the loop still had handles at exit: %s", uv_strerror(rc));
    tlog_info("daemon", "stopped");
    return 0;
}
