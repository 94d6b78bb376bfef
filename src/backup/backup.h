/* backup/backup.h: scheduled backups that are checksummed, kept by policy and proven to restore.
 *
 * One struct backup per daemon, on the daemon's uv loop. backup_configure() takes the jobs of a
 * config snapshot (cfg_backups_load) and arms one timer for the earliest due run or drill. Every
 * operation (run, verify, drill, restore, list) is asynchronous: it either fails at once (rc < 0,
 * err filled, callback never called) or returns 0 and calls its callback exactly once, later,
 * from the loop. Work that blocks or burns CPU (pg_dump, tar, age, compression, hashing, file
 * copies) runs in child processes and in one thread per operation; the loop never waits.
 *
 * Children: this module never reaps. It starts children with posix_spawn and asks the daemon to
 * report their exit through `watch_child` (the daemon wires it to sup_child_watch(), since
 * supervise reaps every child of the subreaper). A test without supervise supplies its own hook
 * (waitpid on a uv timer). SIGPIPE must be ignored by the process (a child that dies mid-stream
 * must surface as EPIPE, not kill the daemon).
 *
 * Files are plain (DESIGN invariant 6): <id>.<ext> (pg_dump custom format, plain SQL, RDB or tar;
 * then .zst or .gz; then .age) with <id>.json, the manifest, beside it in each local target.
 * The manifests alone are enough to list, verify and restore with tend's catalog gone. */
#ifndef TEND_BACKUP_H
#define TEND_BACKUP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

struct cfg_backups;
struct err;
struct backup;

/* ---- wiring ------------------------------------------------------------------------------- */
/* Called once from the loop when child `pid` has exited, with its wait status. */
typedef void backup_child_fn(void *arg, pid_t pid, int status);
/* Report the exit of `pid` to cb(arg, ...) later: 0, or < 0 if it cannot (then the operation
 * that started the child fails and kills it). The daemon passes sup_child_watch(). */
typedef int backup_watch_fn(void *ctx, pid_t pid, backup_child_fn *cb, void *arg);

enum backup_event_kind {
    BACKUP_EV_STARTED,
    BACKUP_EV_DONE,
    BACKUP_EV_FAILED,
    BACKUP_EV_SKIPPED,
    BACKUP_EV_VERIFIED,
    BACKUP_EV_VERIFY_FAILED,
    BACKUP_EV_DRILLED,
    BACKUP_EV_DRILL_FAILED,
    BACKUP_EV_RESTORED,
    BACKUP_EV_RESTORE_FAILED,
    BACKUP_EV_PRUNED,
    BACKUP_NEVENTS /* stored values only grow (STYLE 11.4) */
};
/* "started", "done", "failed", "skipped", "verified", ... */
const char *backup_event_name(enum backup_event_kind k);

/* Borrowed for the duration of the call. */
struct backup_event {
    enum backup_event_kind kind;
    const char *job;
    const char *id;      /* the backup's id, or NULL */
    const char *message; /* one line, secrets masked: "skipped: the previous run is still going" */
    /* DONE, VERIFIED, DRILLED and their failures: the manifest as now written on the targets
     * (verify and drill results are recorded in it), for the daemon's catalog; else NULL. */
    const json_t *manifest;
};
typedef void backup_event_fn(void *ctx, const struct backup_event *ev);

struct backup_opts {
    const char *home; /* $TEND_HOME: state in home/backup/, scratch in home/backup/tmp */
    backup_watch_fn *watch_child; /* required */
    void *watch_ctx;
    backup_event_fn *on_event; /* may be NULL */
    void *event_ctx;
};

/* ---- the handle ---------------------------------------------------------------------------- */
/* Create the module's handle on `loop` (opts copied). Reads home/backup/state.json, the last run
 * of each job, so a run missed while the daemon was down runs once at the next configure. */
int backup_new(uv_loop_t *loop, const struct backup_opts *opts, struct backup **out,
               struct err *err);
/* Stop timers, kill the children of running operations (their callbacks get -ECANCELED), then
 * call closed(arg) from the loop once everything is released and free the handle. */
void backup_close(struct backup *b, void (*closed)(void *arg), void *arg);
/* Take the jobs of a new snapshot (ref taken; the previous one is released when no operation
 * uses it any more) and re-arm the schedule. Running operations keep the jobs they started with. */
int backup_configure(struct backup *b, struct cfg_backups *jobs, struct err *err);

/* ---- operations ---------------------------------------------------------------------------- */
/* rc 0 and a result the callee frees after the call (borrowed: json_incref to keep it), or rc
 * < 0 with err. */
typedef void backup_done_fn(void *arg, int rc, json_t *result, const struct err *err);

/* Back up `job` now. -TE_NOTFOUND for an unknown job, -TE_STATE when it is already running
 * (the skip is also recorded as an event). Result: the manifest of each backup written. */
int backup_run(struct backup *b, const char *job, backup_done_fn *cb, void *arg, struct err *err);
/* Re-read backup `id` (NULL = newest) from every local target and check size and SHA-256.
 * Result: {"id", "ok", "sha256", "size"}; a mismatch is rc -TE_INVALID. */
int backup_verify(struct backup *b, const char *job, const char *id, backup_done_fn *cb, void *arg,
                  struct err *err);
/* Postgres jobs: restore the newest backup into scratch database tend_drill_<job>_<time> on the
 * job's server, run the drill query (default: count of user tables), drop the database, record
 * the result in the manifest. Result: {"id", "database", "query", "answer", "ms"}. */
int backup_drill(struct backup *b, const char *job, backup_done_fn *cb, void *arg, struct err *err);
/* Restore `id` (NULL = newest) to `to`: a postgres URL (the database must exist), a file or
 * folder for redis (dump.rdb inside a folder), a folder for files. A target that is not empty
 * is refused with -TE_STATE unless `yes`. */
int backup_restore(struct backup *b, const char *job, const char *id, const char *to, bool yes,
                   backup_done_fn *cb, void *arg, struct err *err);
/* The manifests of `job` (NULL = every job) in the first local target, newest first. */
int backup_list(struct backup *b, const char *job, backup_done_fn *cb, void *arg, struct err *err);

/* ---- visibility ------------------------------------------------------------------------------ */
/* {"jobs": [{"name", "source", "schedule", "next_run", "running", "last_run", "last_ok",
 * "last_error", "last_id", "last_drill", "last_drill_ok", "progress"}]}; times in epoch ms,
 * secrets masked; "progress" ({"started", "bytes", "stored"}: bytes read from the source and
 * written after compression so far) only while a run goes on. The caller owns the result. */
json_t *backup_status(const struct backup *b);

/* For tests and the daemon's clock jumps: run what is due at clock_wall_ms() now. */
void backup_tick(struct backup *b);

#endif
