/* supervise/supervise.h: apps, instances and their processes.
 *
 * The supervisor keeps the running set of apps in line with the applied config snapshot and
 * the imperative verbs. Each instance lives through the state machine of DESIGN.md:
 *
 *   stopped -start-> starting -ready-> online -stop-> stopping -exit-> stopped
 *   starting/online -exit-> waiting (backoff) -timer-> starting;  too many -> errored
 *
 * Every instance runs in its own process group; the daemon is a child subreaper. The read ends
 * of each instance's stdout/stderr pipes are also held by the keeper process (keeper.c) so an
 * app never gets SIGPIPE while the daemon is down, and a restarted daemon adopts running
 * instances (pid + /proc start time checked) and gets their pipes back (DESIGN invariant 5).
 *
 * Everything runs on the daemon's uv loop and never blocks it. Siblings are reached only
 * through the hooks, which daemon.c wires (STYLE.md 1). */
#ifndef TEND_SUPERVISE_H
#define TEND_SUPERVISE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "config/config.h"

struct err;
struct sup;
struct sup_instance;

enum sup_state { SUP_STOPPED, SUP_STARTING, SUP_ONLINE, SUP_STOPPING, SUP_WAITING, SUP_ERRORED,
                 SUP_NSTATES };
enum sup_event { SUP_EV_START, SUP_EV_READY, SUP_EV_EXIT, SUP_EV_STOP, SUP_EV_TIMER, SUP_NEVENTS };
const char *sup_state_name(enum sup_state s);

/* Kinds of events recorded in the store. Stored as numbers: only ever append (STYLE.md 11.4). */
enum sup_evkind {
    SUP_EVK_START = 1,         /* instance spawned (pid in msg) */
    SUP_EVK_EXIT = 2,          /* exited with code / signal */
    SUP_EVK_RESTART = 3,       /* restart scheduled after a crash (delay in msg) */
    SUP_EVK_ERRORED = 4,       /* too many restarts within the window */
    SUP_EVK_MEMORY = 5,        /* restarted for max_memory */
    SUP_EVK_CRON = 6,          /* restarted by cron_restart */
    SUP_EVK_WATCH = 7,         /* restarted because watched files changed */
    SUP_EVK_RELOAD = 8,        /* reload started / finished / aborted */
    SUP_EVK_STOP = 9,          /* stopped on request */
    SUP_EVK_READY = 10,        /* became ready (online) */
    SUP_EVK_READY_FAILED = 11, /* readiness timed out or failed */
    SUP_EVK_ADOPT = 12,        /* found running after a daemon restart */
    SUP_EVK_KILL = 13,         /* SIGKILL after kill_timeout */
};
const char *sup_evkind_name(enum sup_evkind k);

/* One instance's figures from one pass over /proc (every sample_interval, 5 s). */
struct sup_sample {
    double cpu_pct; /* 100 = one core; the whole process tree */
    uint64_t rss;   /* bytes, the whole tree */
    uint32_t fds, threads;
    int restarts;
};

struct sup_hooks {
    void *ctx;
    /* An instance's process started (or was adopted): take the read ends of its stdout and
     * stderr pipes (both O_NONBLOCK|O_CLOEXEC; the callee owns and closes them). */
    void (*on_output)(void *ctx, const char *app, int instance, const struct cfg_app *cfg,
                      int out_fd, int err_fd);
    /* A state change or incident worth an event (`msg` is one human sentence, no secrets). */
    void (*on_event)(void *ctx, enum sup_evkind kind, const char *app, int instance,
                     const char *msg);
    /* A live instance was sampled (watch's per-instance series); `s` is borrowed for the call. */
    void (*on_sample)(void *ctx, const char *app, int instance, const struct sup_sample *s);
};

struct sup_opts {
    const char *home;        /* $TEND_HOME: state.json, the keeper's socket */
    const char *self_exe;    /* path of the tend binary, to start the keeper */
    const char *const *base_env; /* daemon's base environment for apps, NULL-terminated */
};

/* Create the supervisor, make the daemon a child subreaper, start (or reconnect to) the keeper,
 * and adopt instances recorded in $TEND_HOME/state.json that are still alive. */
int sup_new(uv_loop_t *loop, const struct sup_opts *opts, const struct sup_hooks *hooks,
            struct sup **out, struct err *err);
/* Stop every instance (kill_signal, then SIGKILL after kill_timeout) when `stop_apps`, or leave
 * them running for a later daemon to adopt; then free everything and call `done` once. */
void sup_shutdown(struct sup *s, bool stop_apps, void (*done)(void *arg), void *arg);

/* Completion of a verb that takes time: rc 0 or negative, `result` (borrowed for the call)
 * describes what happened per instance; err says why on failure. */
typedef void sup_done_fn(void *arg, int rc, json_t *result, const struct err *err);

/* Declarative apply (`tend up`): start added apps, stop removed ones, restart changed ones,
 * leave unchanged ones alone. `only` limits to those app names (NULL = all in the file). The
 * plan is always computed: {"plan":[{"app":"api","action":"start|stop|restart|unchanged",
 * "reason":"..."}]} (also "scale" when only the instance count changed: the extra instances
 * are started or stopped, the others untouched). With dry_run nothing changes and done is called with the plan. Takes a
 * reference to cfg. */
int sup_apply(struct sup *s, struct cfg *cfg, const char *const *only, bool dry_run,
              sup_done_fn *done, void *arg, struct err *err);

enum sup_verb { SUP_START, SUP_STOP, SUP_RESTART, SUP_RELOAD, SUP_DELETE };
/* `target` is "app", "app:N" or "all". start/restart/stop complete when the instances reached
 * online (or failed) / stopped; reload is rolling: one instance at a time, the next only after
 * the replacement is ready; a replacement that is not ready in ready_timeout aborts the reload
 * and leaves the old instances serving (rc -TE_STATE). -TE_NOTFOUND for an unknown target. */
int sup_act(struct sup *s, enum sup_verb verb, const char *target, sup_done_fn *done, void *arg,
            struct err *err);

/* Snapshot for `status`: {"apps":[{"name","instances":[{"instance","pid","state","uptime_ms",
 * "restarts","cpu_pct","memory","threads","fds","port","exit_code","exit_signal"}]}]};
 * app NULL = all. New ref. */
json_t *sup_status_json(struct sup *s, const char *app);
/* `describe`: config, instances, resolved env with sources (secrets masked). NULL if unknown. */
json_t *sup_describe_json(struct sup *s, const char *app);
/* `env`: {"app","instance","env":[{"key","value","source"}]} with secrets masked. */
json_t *sup_env_json(struct sup *s, const char *app, int instance, struct err *err);

/* save: write the applied set to $TEND_HOME/dump.json atomically; refuse to replace a
 * non-empty dump with an empty set unless `force` (PM2 lesson 6). */
int sup_save(struct sup *s, bool force, struct err *err);
/* resurrect: apply the saved set (dump.json); 0 with nothing to do when there is none. */
int sup_resurrect(struct sup *s, sup_done_fn *done, void *arg, struct err *err);

/* The config snapshot now applied (borrowed; NULL before the first `up`). */
struct cfg *sup_config(struct sup *s);
/* Child processes: supervise reaps every child of the daemon (waitpid(-1) on SIGCHLD: the
 * daemon is a subreaper and must reap orphans too), so NO other module may use uv_spawn()
 * (libuv would never see its child's exit). Fork/exec yourself and register the pid here:
 * `cb` runs once on the loop with the raw wait status when the pid is reaped. */
typedef void sup_child_fn(void *arg, pid_t pid, int status);
int sup_child_watch(struct sup *s, pid_t pid, sup_child_fn *cb, void *arg);
/* How often the instances' process trees are measured (CPU%, RSS, fds, threads; max_memory
 * is checked then): tend.yaml `metrics: {interval}`, default 5 s, at least 1 s. */
void sup_set_sample_interval(struct sup *s, uint64_t ms);

/* Keeper entry point: `tend __keeper SOCKET` (main.c). Never returns. */
int sup_keeper_main(const char *sock_path);
/* `tend kill`: tell the keeper in `home` to let every pipe go and exit (after the daemon has
 * stopped its apps). 0 also when no keeper runs. */
int sup_keeper_quit(const char *home);

#endif
