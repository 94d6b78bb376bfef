/* supervise/supervise_int.h: what the supervise module's own files share (libuv's internal.h).
 *
 * Ownership: struct sup owns its apps (a list in config order); an app owns its instances (an
 * array indexed by instance number); an instance owns its process handles, timers and
 * readiness check. Every uv handle is embedded in its owner and the owner is freed only after
 * its last close callback (STYLE.md 3.4): apps and instances that must go are marked and freed
 * by the deferred collector in app.c (sup__gc), never from inside a dispatch.
 *
 * The pure part of the state machine (struct sup_machine, sup__machine_step) knows nothing of
 * processes, so tests drive it with a fake clock; instance.c performs the effects it decides. */
#ifndef TEND_SUPERVISE_INT_H
#define TEND_SUPERVISE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "supervise/supervise.h"

struct sup_ready;
struct sup_watch;
struct sup_http;
struct sup_pidwatch;

/* ---- the pure state machine (instance.c, backoff.c) ---------------------------------------- */

/* The parts of a cfg_app the machine reads. */
struct sup_policy {
    enum cfg_restart restart;
    int max_restarts;
    uint64_t restart_window_ms, min_uptime_ms, restart_delay_ms, backoff_max_ms;
    uint64_t errored_retry_ms, kill_timeout_ms, ready_timeout_ms;
    bool backoff;
};
void sup__policy_from_cfg(struct sup_policy *p, const struct cfg_app *a);

/* What follows the exit of a process we are stopping. */
enum sup_then { SUP_THEN_STOP, SUP_THEN_START, SUP_THEN_CRASH };

enum sup_action {
    SUP_A_BUG, /* cannot happen: the event comes only from our own handles */
    SUP_A_NOTHING,
    SUP_A_SPAWN,         /* -> starting */
    SUP_A_ONLINE,        /* starting -> online */
    SUP_A_START_FAILED,  /* exit while starting: a crash */
    SUP_A_KILL_TERM,     /* kill_signal to the group -> stopping */
    SUP_A_READY_TIMEOUT, /* not ready in time: kill, then count as a crash */
    SUP_A_CRASHED,       /* exit while online */
    SUP_A_HEALTHY,       /* online long enough: backoff resets */
    SUP_A_EXITED,        /* exit while stopping: then-stop / then-start / then-crash */
    SUP_A_KILL_HARD,     /* kill_timeout passed: SIGKILL to the group */
    SUP_A_CANCEL,        /* waiting or errored -> stopped on request */
    SUP_A_RETARGET,      /* start/stop while stopping: change what follows the exit */
    SUP_NACTIONS
};
extern const enum sup_action sup__on_event[SUP_NSTATES][SUP_NEVENTS];
const char *sup__action_name(enum sup_action a);

#define SUP_CRASH_RING 128 /* crash times remembered; max_restarts above this saturates */
#define SUP_HEALTHY_MIN_MS 10000

struct sup_exit {
    bool known; /* false for adopted processes (pidfd says only "gone") */
    int code;   /* exit code when exited normally, else -1 */
    int signal; /* terminating signal, else 0 */
};

struct sup_machine {
    enum sup_state state;
    enum sup_then then;
    int k;                             /* consecutive crashes without a healthy run in between */
    uint64_t crash_ms[SUP_CRASH_RING]; /* ring of crash times (monotonic) */
    int crash_head, crash_n;
    uint64_t started_ms; /* when the current run was spawned */
    int restarts;        /* restarts since the app was started (status) */
    int unstable;        /* runs shorter than min_uptime (status) */
    bool crashed_last;   /* the last exit counted as a crash */
    bool healthy;        /* this run stayed online for sup__healthy_ms() */
};

/* The decision for one event: the action, the next state, and the instance timer to arm. */
enum sup_timer_op { SUP_TIMER_KEEP, SUP_TIMER_STOP, SUP_TIMER_ARM };
struct sup_step {
    enum sup_action action;
    enum sup_state next;
    enum sup_timer_op timer;
    uint64_t timer_ms;
    bool errored_now;  /* this step entered errored */
    uint64_t delay_ms; /* restart delay chosen (waiting) */
};

/* Decide what event `ev` means in the machine's state and update its counters (crash window,
 * backoff k). `then` is used by SUP_EV_STOP (SUP_THEN_STOP or SUP_THEN_START) and ignored
 * otherwise; `ex` is the exit status for SUP_EV_EXIT. Pure: no process, no clock of its own. */
struct sup_step sup__machine_step(struct sup_machine *m, enum sup_event ev, enum sup_then then,
                                  const struct sup_policy *p, const struct sup_exit *ex,
                                  uint64_t now_ms);
/* A person acted (start/restart/apply): forget crash history and backoff. */
void sup__machine_reset(struct sup_machine *m);
/* backoff.c: delay before restart number k (k consecutive quick crashes). */
uint64_t sup__backoff_delay(const struct sup_policy *p, int k);
/* backoff.c: how long an instance must stay online for k to reset. */
uint64_t sup__healthy_ms(const struct sup_policy *p);
/* backoff.c: account one crash at now; returns true when the instance must go errored. */
bool sup__crash_note(struct sup_machine *m, const struct sup_policy *p, uint64_t now_ms);
int sup__crash_count(const struct sup_machine *m, const struct sup_policy *p, uint64_t now_ms);

/* ---- instances -------------------------------------------------------------------------- */

/* Owned by its sup_app (app->inst[index]). */
struct sup_instance {
    struct sup_app *app;
    int index;
    char label[160];          /* "api:2" */
    struct cfg *cfg;          /* the snapshot this instance runs from (a reference) */
    const struct cfg_app *ca; /* its app inside cfg */
    struct cfg *next_cfg;     /* snapshot for the next spawn (a reference), or NULL */
    const struct cfg_app *next_ca;
    struct sup_machine m;
    uv_timer_t timer;               /* the one state timer (ready timeout, kill, backoff, ...) */
    pid_t pid;                      /* 0 when no process */
    unsigned long long start_ticks; /* /proc/PID/stat field 22 of pid */
    int64_t started_wall_ms;
    uint64_t online_ms;        /* monotonic time it became online */
    bool adopted;              /* not our child: exit seen through pidfd */
    struct sup_pidwatch *pidw; /* exit watch of an adopted process (reap.c) */
    int hold_out, hold_err;    /* our copies of the pipes' read ends (to re-send to the keeper) */
    struct sup_exit last_exit;
    char last_error[300];    /* "exec \"nodee\": No such file or directory" */
    struct sup_ready *ready; /* readiness check in progress */
    /* sampling (sample.c) */
    double cpu_pct;
    uint64_t rss;
    uint32_t threads; /* of the whole tree */
    uint32_t fds;     /* open file descriptors of the whole tree */
    uint64_t last_ticks, last_sample_ms;
    pid_t *tree; /* processes of the instance seen last (to kill leftovers) */
    unsigned long long *tree_start;
    size_t ntree;
    bool removing; /* freed by sup__gc once stopped */
    int closing;   /* handles still closing */
};

/* Feed an event to the instance's machine and perform the effects. */
void sup__dispatch(struct sup_instance *in, enum sup_event ev, enum sup_then then);
/* Convenience verbs over sup__dispatch. `why` is an event kind for restarts (RESTART, MEMORY,
 * CRON, WATCH) or 0. */
void sup__inst_start(struct sup_instance *in, bool by_person);
/* Start the next process of this instance from this snapshot (takes a reference). */
void sup__inst_use_cfg(struct sup_instance *in, struct cfg *cfg, const struct cfg_app *ca);
void sup__inst_stop(struct sup_instance *in);
void sup__inst_restart(struct sup_instance *in, enum sup_evkind why, const char *msg);
/* The main pid exited (reap.c, or pidfd for adopted ones). */
void sup__inst_exited(struct sup_instance *in, const struct sup_exit *ex);
/* Readiness reported (ready.c). ok false: failed for good (treated as a ready timeout). */
void sup__inst_ready(struct sup_instance *in, bool ok, const char *why);
/* A process found running after a daemon restart becomes this instance's: online, or, when
 * it was `starting`, starting with its readiness checked again. */
void sup__inst_adopt(struct sup_instance *in, pid_t pid, unsigned long long start_ticks,
                     uint64_t age_ms, bool starting);
struct sup_instance *sup__inst_new(struct sup_app *app, int index, struct cfg *cfg,
                                   const struct cfg_app *ca);
/* Close handles; frees when the last one is closed. The instance must have no process. */
void sup__inst_free(struct sup_instance *in);
void sup__emit(struct sup_instance *in, enum sup_evkind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool sup__inst_live(const struct sup_instance *in); /* has a process */

/* ---- spawn.c / reap.c / tree.c ----------------------------------------------------------- */
int sup__spawn(struct sup_instance *in, struct err *err);
/* After the main pid is gone: close our pipe copies, tell the keeper, kill leftovers. */
void sup__after_exit(struct sup_instance *in);
int sup__reap_init(struct sup *s);
void sup__reap_close(struct sup *s);
int sup__adopt_watch(struct sup_instance *in); /* pidfd_open + uv_poll */
void sup__adopt_unwatch(struct sup_instance *in);

struct sup_proc {
    pid_t pid, ppid, pgid, sid;
    unsigned long long start; /* field 22 */
    uint64_t ticks;           /* utime + stime */
    uint64_t rss_pages;       /* field 24 */
    uint32_t threads;         /* field 20 */
};
/* One pass over /proc. *out is the caller's to free. */
int sup__proc_scan(struct sup_proc **out, size_t *n);
/* Open file descriptors of one process: -errno when gone or not ours to read. */
int sup__proc_fds(pid_t pid);
/* One process's stat line; -ENOENT when gone. */
int sup__proc_read(pid_t pid, struct sup_proc *p);
/* Members of the instance rooted at `root`: its session, its group and their descendants.
 * Marks all[i] members in `is_member` (n bools). Returns how many. */
size_t sup__proc_tree(const struct sup_proc *all, size_t n, pid_t root, bool *is_member);
/* Remember the instance's current tree (to kill what is left after the main pid exits). */
void sup__tree_remember(struct sup_instance *in, const struct sup_proc *all, size_t n,
                        const bool *is_member);
void sup__tree_snapshot(struct sup_instance *in);
void sup__tree_kill(struct sup_instance *in, int sig);
bool sup__pid_matches(pid_t pid, unsigned long long start_ticks);

/* ---- apps (app.c) ------------------------------------------------------------------------ */

/* Owned by struct sup (s->apps list). */
struct sup_app {
    struct sup *s;
    struct sup_app *next;
    char *name;
    struct cfg *cfg; /* snapshot new instances start from (a reference) */
    const struct cfg_app *ca;
    struct sup_instance **inst;
    int ninst;
    bool deleting; /* removed from the running set once every instance stopped */
    uv_timer_t cron_timer;
    int64_t cron_next_ms; /* wall time of the next cron_restart, 0 = none */
    struct sup_watch *watch;
    struct sup_reload *reload; /* rolling reload in progress */
    int closing;
};
struct sup_app *sup__app_find(struct sup *s, const char *name);
struct sup_app *sup__app_add(struct sup *s, struct cfg *cfg, const struct cfg_app *ca);
/* Grow or shrink to n instances (new ones are created stopped; extra ones marked removing). */
void sup__app_resize(struct sup_app *a, int n);
/* Use a new snapshot for future starts (cron and watch follow it). */
void sup__app_set_cfg(struct sup_app *a, struct cfg *cfg, const struct cfg_app *ca);
void sup__gc_soon(struct sup *s);

/* "app", "app:N", "all" -> app name ("" for all) and index (-1 for all instances). */
int sup__target_parse(const char *target, char *app, size_t appsz, int *index, struct err *err);

/* ---- operations waiting for instances (op.c) -------------------------------------------- */
enum sup_want { SUP_WANT_UP, SUP_WANT_DOWN };
struct sup_op_target {
    struct sup_instance *in; /* NULL once recorded */
    enum sup_want want;
    bool done, spawned, need_spawn;
    char app[128];
    int index;
    enum sup_state state;
    pid_t pid;
    char msg[300];
};
/* Owned by struct sup (s->ops list) until its done callback ran. */
struct sup_op {
    struct sup *s;
    struct sup_op *next;
    sup_done_fn *done;
    void *arg;
    struct sup_op_target *t;
    size_t nt, cap;
    json_t *extra; /* merged into the result (the plan for apply) */
    int ndone;
    bool armed; /* all targets added */
    char verb[16];
};
struct sup_op *sup__op_new(struct sup *s, const char *verb, sup_done_fn *done, void *arg);
void sup__op_add(struct sup_op *op, struct sup_instance *in, enum sup_want want);
/* All targets added: complete now if they already are where they should be. */
void sup__op_arm(struct sup_op *op);
/* An instance changed state (or is about to be freed). */
void sup__ops_notify(struct sup *s, struct sup_instance *in);
void sup__ops_forget(struct sup *s, struct sup_instance *in);
void sup__ops_fail_all(struct sup *s);
/* Run the callbacks of completed ops (from the gc timer: never inside the caller's call). */
void sup__ops_flush(struct sup *s);

/* ---- the supervisor ---------------------------------------------------------------------- */
struct sup_child_watch;
struct sup_reload;

/* Owned by the daemon (sup_new / sup_shutdown). */
struct sup {
    uv_loop_t *loop;
    char *home;
    char *self_exe;
    char **base_env;
    struct sup_hooks hooks;
    struct cfg *cfg; /* the last applied snapshot (a reference) */
    struct sup_app *apps;
    struct sup_op *ops;
    struct sup_child_watch *watches;
    uv_signal_t sigchld;
    uv_timer_t gc_timer;
    uv_timer_t sample_timer;
    uint64_t sample_interval_ms;
    /* notify socket (ready.c) */
    int notify_fd;
    uv_poll_t notify_poll;
    bool notify_active;
    char notify_path[256];
    /* keeper client (keeper_client.c) */
    int keeper_fd;
    uv_poll_t keeper_poll;
    bool keeper_active;
    char keeper_path[256];
    uint64_t keeper_restarts;
    /* http readiness (ready_http.c) */
    struct sup_http *http;
    /* state.json writer (state.c) */
    bool state_busy, state_dirty;
    uv_work_t state_work;
    char *state_text;
    int state_rc;
    /* shutdown */
    bool shutting_down, stop_apps;
    void (*shutdown_done)(void *arg);
    void *shutdown_arg;
    int closing;
};

/* ---- state.json and dump.json (state.c, adopt.c) ----------------------------------------- */
/* Write state.json soon (off the loop, coalesced). */
void sup__state_changed(struct sup *s);
json_t *sup__state_json(struct sup *s);
int sup__adopt_all(struct sup *s, struct err *err);
/* Rebuild a snapshot from a saved {"path","profile","source"} (adopt.c). */
int sup__load_saved_cfg(struct sup *s, json_t *c, struct cfg **out, struct err *err);

/* ---- keeper (keeper.c: the process; keeper_client.c: the daemon's side) ------------------ */
int sup__keeper_connect(struct sup *s, struct err *err);
void sup__keeper_close(struct sup *s);
void sup__keeper_put(struct sup *s, struct sup_instance *in);
void sup__keeper_drop(struct sup *s, struct sup_instance *in);
void sup__keeper_drop_key(struct sup *s, const char *key);
/* Both sides: one message with optional two fds; 0 or -errno. recv: *nfds set, text NUL-ended. */
int sup__keeper_send(int fd, const char *text, int out_fd, int err_fd, int flags);
int sup__keeper_recv(int fd, char *text, size_t size, int fds[2], int *nfds);
/* Fetch every held pair: calls cb for each key. Synchronous (start-up only, bounded wait). */
int sup__keeper_get_all(struct sup *s,
                        void (*cb)(void *arg, const char *key, int out_fd, int err_fd), void *arg);
/* Keeper wire format: one SOCK_SEQPACKET message per command, fds attached by SCM_RIGHTS. */
#define SUP_KEEPER_MAX_MSG 256

/* ---- readiness (ready.c, ready_http.c) --------------------------------------------------- */
/* Owned by its instance (in->ready) until cancelled; freed after its handles closed. */
struct sup_ready {
    struct sup_instance *in; /* NULL once cancelled */
    uv_timer_t timer;        /* the retry tick */
    uv_tcp_t tcp;            /* port check attempt */
    uv_connect_t req;
    bool tcp_open;
    int port;
    void *easy; /* CURL * in flight (ready_http.c, through core/curlx.h) */
    char url[512];
    int closing;
};
int sup__ready_init(struct sup *s, struct err *err);
void sup__ready_close(struct sup *s);
/* Begin checking; true when the instance is ready at once (ready: started). */
bool sup__ready_start(struct sup_instance *in);
void sup__ready_cancel(struct sup_instance *in);
/* One GET of r->url through the shared curl multi handle; r->easy while in flight. The first
 * call loads libcurl (core/curlx.h); if that fails, the check fails at once with the reason
 * (sup__inst_ready(in, false, ...)) and 0 is returned. -1: this attempt could not start. */
int sup__http_start(struct sup_ready *r);
void sup__http_cancel_ready(struct sup_ready *r);
void sup__http_close(struct sup *s);
/* Expand ${PORT} and ${TEND_INSTANCE} in a readiness URL. */
int sup__expand_url(const char *tmpl, int port, int index, char *dst, size_t size);
int sup__inst_port(const struct sup_instance *in);

/* ---- sampling, cron, watch (sample.c, sched.c, watch.c) --------------------------------- */
int sup__sample_init(struct sup *s);
void sup__sample_tick(struct sup *s);
void sup__cron_arm(struct sup_app *a);
void sup__cron_stop(struct sup_app *a);
int sup__watch_start(struct sup_app *a);
void sup__watch_stop(struct sup_app *a);

/* ---- reload.c ------------------------------------------------------------------------- */
int sup__reload(struct sup *s, struct sup_app *a, int index, sup_done_fn *done, void *arg,
                struct err *err);
void sup__reload_notify(struct sup_instance *in);
void sup__reload_abort_app(struct sup_app *a);
/* Shutdown: end the app's reload now (its callback runs before this returns). */
void sup__reload_detach(struct sup_app *a);
/* The replacement instance a reload is starting for this app, or NULL. */
struct sup_instance *sup__reload_spare(struct sup_app *a);

/* ---- plan.c ------------------------------------------------------------------------------- */
enum sup_plan_action {
    SUP_PLAN_START,
    SUP_PLAN_STOP,
    SUP_PLAN_RESTART,
    SUP_PLAN_SCALE,
    SUP_PLAN_UNCHANGED
};
struct sup_plan_item {
    char name[128];
    enum sup_plan_action action;
    char reason[200];
    const struct cfg_app *old_app; /* running, or NULL */
    const struct cfg_app *new_app; /* in the new config, or NULL */
    int old_instances;
};
/* Pure: compare the running apps (name + config + instance count) with `next`. */
int sup__plan(const struct cfg_app *const *running, const int *ninst, size_t nrunning,
              const struct cfg *next, const char *const *only, struct sup_plan_item **out,
              size_t *n);
const char *sup__plan_action_name(enum sup_plan_action a);

/* ---- sup.c --------------------------------------------------------------------------- */
/* Close `h` (if not closing yet) counting it in *counter; cb runs when closed. */
void sup__close_handle(uv_handle_t *h, int *counter, uv_close_cb cb);
/* Close callback for handles of struct sup (h->data = s): the last one frees s. */
void sup__closed(uv_handle_t *h);
void sup__close_done(struct sup *s);
/* While shutting down: finish once nothing is left to wait for (called by the collector). */
void sup__shutdown_step(struct sup *s);
/* Free an app and its instances now (shutdown; the instances may still have processes). */
void sup__app_free_now(struct sup_app *a);

#endif
