/* backup/backup_int.h: what the backup module's own files share.
 *
 * Layers, bottom up: stream.c (byte stages: codec, hash, child filter, fd sink; run in a worker
 * thread), child.c (posix_spawn of the tools and the op's thread), target*.c (where backups live,
 * one kind per file), retention.c (a pure function), manifest.c (the JSON beside each backup),
 * op.c (the step machine every operation runs on), run.c / restore.c (the steps of each
 * operation), backup.c (the handle, the schedule, the state file, status). */
#ifndef TEND_BACKUP_INT_H
#define TEND_BACKUP_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "backup/backup.h"
#include "config/config.h"
#include "core/err.h"

/* ---- stages (stream.c): called only from an operation's worker thread ---------------------- */
struct stage {
    int (*push)(struct stage *s, const void *p, size_t n); /* 0 or < 0 with *err set */
    int (*end)(struct stage *s);                           /* flush, then next->end() */
    void (*free)(struct stage *s);
    struct stage *next;
    struct err *err; /* the flow's error, shared by its stages */
};
struct stage *backup__stage_codec(enum cfg_compress c, int level, bool decompress);
/* SHA-256 and byte count of what passes through. */
struct stage *backup__stage_hash(void);
void backup__stage_hash_result(const struct stage *s, char hex[65], uint64_t *bytes);
struct stage *backup__stage_count(uint64_t *bytes);
/* Through a child: write to in_fd (its stdin, made non-blocking), read out_fd (its stdout). Both
 * fds are owned by the stage from now on. */
struct stage *backup__stage_child(int in_fd, int out_fd, const char *name);
/* Write to fd (not owned), or discard when fd < 0. */
struct stage *backup__stage_fd(int fd);
/* Link s[0] -> s[1] -> ... (NULL entries skipped), sharing err; returns the head. */
struct stage *backup__chain(struct stage **s, size_t n, struct err *err);
void backup__chain_free(struct stage *head);
/* Read fd to EOF through the chain and end it: 0 or < 0 with err. */
int backup__pump(int fd, struct stage *head, struct err *err);
/* The file name suffix of a compression method (".zst", ".gz", ""). */
const char *backup__compress_ext(enum cfg_compress c);

/* ---- children and threads (child.c) ------------------------------------------------------- */
/* posix_spawn argv (PATH searched) with stdin/stdout from in_fd/out_fd (-1 = /dev/null), stderr
 * appended to err_path, extra "K=V" env (NULL-terminated, may be NULL), in a new process group. */
int backup__spawn(const char *const *argv, const char *const *env, int in_fd, int out_fd,
                  const char *err_path, pid_t *pid, struct err *err);
/* The last non-empty line of a file (a tool's stderr), for error messages. */
void backup__last_line(const char *path, char *dst, size_t size);
/* Split the password out of a URL ("postgresql://u:pw@h/db" -> "postgresql://u@h/db", "pw"),
 * so it goes to the child's environment, never its argv. Both outputs are the caller's. */
void backup__url_split(const char *url, char **bare, char **password);
/* `url` with its database (path) replaced by `db`; caller frees. */
char *backup__url_with_db(const char *url, const char *db);

/* ---- targets (target.c and one file per kind; STYLE 6) ------------------------------------ */
struct target_kind {
    const char *name; /* the word in tend.yaml */
    /* All calls block: they run only in an operation's worker thread. */
    /* Store the finished file `staged` as `file` with `manifest` beside it (`staged` is consumed
     * by a rename when it is in the same folder, else copied). */
    int (*put)(const struct cfg_backup_target *t, const char *staged, const char *file,
               const char *manifest, struct err *err);
    /* Every manifest of `job` (NULL = all), as a JSON array, unsorted. */
    int (*list)(const struct cfg_backup_target *t, const char *job, json_t **out, struct err *err);
    /* A path to read `file` from, which the caller frees: local returns the file itself; a
     * remote kind downloads it into folder `dir` (the op's scratch folder, removed at its end). */
    int (*fetch)(const struct cfg_backup_target *t, const char *file, const char *dir, char **path,
                 struct err *err);
    /* Replace the manifest of `file` (verification and drill results). */
    int (*update)(const struct cfg_backup_target *t, const char *file, const char *manifest,
                  struct err *err);
    /* Delete a backup: its manifest first (so it stops counting), then the file. */
    int (*remove)(const struct cfg_backup_target *t, const char *file, struct err *err);
};
extern const struct target_kind target_local, target_s3;
const struct target_kind *backup__target_kind(enum cfg_target_kind k); /* NULL: not built yet */

/* ---- retention (retention.c): pure ---------------------------------------------------------- */
/* Decide which of n backups (start times in epoch ms, any order) to keep under `keep` at `now`,
 * with calendar buckets shifted by utc_offset_s. keep_out[i] = true to keep. The newest is always
 * kept; with no rule at all everything is kept. Returns how many are kept. */
size_t backup__retention(const struct cfg_backup_keep *keep, const int64_t *times, size_t n,
                         int64_t now_ms, long utc_offset_s, bool *keep_out);

/* ---- manifests (manifest.c) --------------------------------------------------------------------
 */
/* Newest first by "started". */
void backup__manifests_sort(json_t *array);
/* The manifest with "id" == id, or the newest when id is NULL; borrowed from `array`. */
json_t *backup__manifest_pick(json_t *array, const char *id);
/* The backup file's name ("db-20261123T030000Z.dump.zst.age") for a job and start time. */
int backup__file_name(const struct cfg_backup *job, const char *db, int64_t start_ms, char *id,
                      size_t id_size, char *file, size_t file_size);

/* ---- operations (op.c) ------------------------------------------------------------------------
 */
struct backup_op;
/* < 0: failed (op->err set); 0: started children or a task, whose ends call back into op.c;
 * BACKUP_STEP_NEXT: done now. */
typedef int backup_step_fn(struct backup_op *op);
enum { BACKUP_STEP_NEXT = 1 };
enum backup_op_kind {
    BACKUP_OP_RUN,
    BACKUP_OP_VERIFY,
    BACKUP_OP_DRILL,
    BACKUP_OP_RESTORE,
    BACKUP_OP_LIST
};
#define BACKUP_MAX_KIDS 4

struct backup_kid {
    struct backup_op *op;
    pid_t pid; /* 0 once reported */
    const char *name;
    char err_path[PATH_MAX]; /* its stderr */
};

/* What a worker thread hands back; written by the thread, read on the loop after the join. */
typedef void backup_work_fn(struct backup_op *op, struct err *err);

/* One run/verify/drill/restore/list. Owned by its struct backup (b->ops list) from creation to
 * its end; freed after its timer's close callback. Steps run on the loop; `work` in a thread. */
struct backup_op {
    struct backup_op *next;
    struct backup *b;
    enum backup_op_kind kind;
    struct cfg_backups *snap;     /* ref on the jobs it started with */
    const struct cfg_backup *job; /* NULL: list of every job */
    backup_step_fn *const *steps; /* NULL-terminated */
    size_t step, cleanup_from;    /* on failure, jump to the `finally` marker */
    int pending;                  /* children and threads still to report */
    int rc;                       /* the first failure, with err */
    char pipe_msg[320];           /* a child killed by SIGPIPE in this step (secondary) */
    struct err err;
    bool is_cancelled;
    struct backup_kid kids[BACKUP_MAX_KIDS];
    size_t nkids;
    uv_thread_t thread;
    uv_async_t async;
    backup_work_fn *work;
    struct err work_err;
    uv_timer_t timer;        /* the job's timeout */
    char dir[PATH_MAX];      /* scratch folder, removed at the end */
    char staged[PATH_MAX];   /* run: the temp file being written; "" when none */
    char staging[PATH_MAX];  /* run with no local target: home/backup/staging */
    char file[NAME_MAX + 1]; /* the backup file's name */
    char id[NAME_MAX + 1];
    char *id_arg, *to, *db; /* arguments; the current database */
    bool yes;
    char **dbs; /* run: databases in turn (NULL-terminated) */
    size_t idb;
    int fds[4]; /* for the thread: [0] read from, [1] write to, [2] [3] the
                 * filter child's stdin and stdout; -1 when unused */
    uint64_t raw_bytes, packed_bytes, stored_bytes;
    char sha256[65];
    char *src_path;               /* verify, drill, restore: the file read */
    uint32_t on_targets;          /* verify, drill, restore: bit i = targets[i] has it */
    json_t *manifests, *manifest; /* owned refs */
    json_t *result;
    char scratch_db[128];
    int64_t started_ms;
    uint64_t started_mono;
    backup_done_fn *cb;
    void *arg;
};

int backup__op_new(struct backup *b, enum backup_op_kind kind, const char *job,
                   backup_step_fn *const *steps, backup_done_fn *cb, void *arg,
                   struct backup_op **out, struct err *err);
void backup__op_start(struct backup_op *op);
/* Start a child for the current step (its exit advances the op when all are in). in_fd/out_fd
 * are closed here in the parent (they are the child's ends). */
int backup__op_spawn(struct backup_op *op, const char *name, const char *const *argv,
                     const char *const *env, int in_fd, int out_fd);
/* Run work(op) in a thread for the current step. */
int backup__op_task(struct backup_op *op, backup_work_fn *work);
int backup__op_fail(struct backup_op *op, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Ask the current children to stop (SIGTERM to their process groups). */
void backup__op_kill(struct backup_op *op, int sig);
/* Path in the op's scratch folder. */
void backup__op_path(const struct backup_op *op, const char *name, char *dst, size_t size);

/* ---- steps (run.c, restore.c) and the handle's side (backup.c) ---------------------------------
 */
extern backup_step_fn *const backup__run_steps[],
    *const backup__verify_steps[], *const backup__drill_steps[], *const backup__restore_steps[],
                                                                     *const backup__list_steps[];
/* Every operation's list has `finally`, a marker: on failure the op jumps there and runs the
 * rest (a drill's drop, then cleanup). `cleanup` removes the scratch folder and a failed run's
 * partial file. */
int backup__step_finally(struct backup_op *op);
int backup__step_cleanup(struct backup_op *op);
/* Called by op.c when an op has ended, before its callback: events, state, chaining. */
void backup__op_finished(struct backup_op *op);
uv_loop_t *backup__loop(struct backup *b);
const char *backup__home(const struct backup *b);
int backup__watch(struct backup *b, pid_t pid, backup_child_fn *cb, void *arg);
void backup__unlink_op(struct backup *b, struct backup_op *op);

#endif
