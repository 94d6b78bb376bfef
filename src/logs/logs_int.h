/* logs/logs_int.h: declarations shared by the logs module's own files.
 *
 * The objects and who owns them:
 *   struct logs         the module handle (owned by the daemon): lists of apps, sources,
 *                       writers and followers, the shared read buffer, the tick timer, the
 *                       gzip queue.
 *   struct logs_app     one app's log settings (a deep copy of its cfg_log) and its instances'
 *                       drop counters; owned by struct logs until forgotten and drained.
 *   struct logs_src     one pipe (an instance's stdout or stderr): reads, splits into lines,
 *                       stamps and hands whole lines to its writers; owned by struct logs,
 *                       freed in the pipe's close callback.
 *   struct logs_writer  one output file: a pending buffer filled on the loop and one job in
 *                       the thread pool writing the previous batch (open, rotate, write,
 *                       close all happen in that job, so file operations on one file are
 *                       serialized and never block the loop). Owned by struct logs,
 *                       reference-counted by the sources that write to it.
 * Everything is touched from the loop thread only, except a writer's `fd`, `day`, `size` and
 * job fields, which belong to the job while `busy` is set. */
#ifndef TEND_LOGS_INT_H
#define TEND_LOGS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"
#include "logs/logs.h"

#define LOGS_READ_SIZE (256 * 1024)     /* one shared read buffer; a whole pipe per read */
#define LOGS_PIPE_SIZE (256 * 1024)     /* F_SETPIPE_SZ; see pipe.c for why not 1 MiB */
#define LOGS_DEFAULT_BUFFER (1024 * 1024)
#define LOGS_DEFAULT_MAX_LINE (64 * 1024)
#define LOGS_SLICE (8 * 1024)   /* bytes split between two checks of the writers' room */
#define LOGS_STALL_MS 100       /* an app waits at most this long for a slow disk */
#define LOGS_DROP_QUIET_MS 1000 /* a drop episode ends after this long without drops */
#define LOGS_TICK_MS 50
#define LOGS_STAMP_MAX 96
#define LOGS_CLOSE_WAIT_MS 5000 /* logs_close gives up waiting for a stuck disk after this */

/* ---- line.c: pure helpers ------------------------------------------------------------------- */
typedef void logs__emit_fn(void *arg, const char *p, size_t n);
/* Cuts bytes into lines. `part` holds an unfinished line (at most max_line bytes). */
struct logs_split {
    struct buf part;
    size_t max_line;
};
void logs__split_init(struct logs_split *s, size_t max_line);
void logs__split_fini(struct logs_split *s);
/* Emit every complete line in p[0..n) (without its '\n'; a '\r' before it is kept); hold the
 * rest. A line longer than max_line is emitted in pieces of at most max_line bytes, cut at a
 * UTF-8 character boundary when one is near. */
void logs__split_feed(struct logs_split *s, const char *p, size_t n, logs__emit_fn *emit,
                      void *arg);
/* End of input: emit the held partial line, if any. */
void logs__split_eof(struct logs_split *s, logs__emit_fn *emit, void *arg);
/* Append p as the body of a JSON string (no quotes): escapes, invalid UTF-8 as U+FFFD. */
int logs__json_escape(struct buf *out, const char *p, size_t n);
/* A jansson string from arbitrary bytes (invalid UTF-8 replaced); never NULL. */
json_t *logs__json_string(const char *p, size_t n);
/* Length without one trailing '\r'. */
size_t logs__chomp_cr(const char *p, size_t n);
/* Parse a stamp written with `pattern` (moment-style; NULL = ISO 8601 with ms and offset) at
 * the start of p; 0 with *wall_ms and *used (bytes consumed) or -1. */
int logs__stamp_parse(const char *pattern, const char *p, size_t n, int64_t *wall_ms,
                      size_t *used);

/* ---- the objects ---------------------------------------------------------------------------- */
struct logs_writer;

/* Drop accounting for one instance. Owned by its logs_app. */
struct logs_inst {
    struct logs_app *app;
    int instance;
    uint64_t dropped;      /* bytes dropped since the daemon started */
    uint64_t episode;      /* bytes dropped in the current episode */
    uint64_t last_drop_ms; /* monotonic */
    bool dropping;
    char reason[160];      /* why the episode started */
};

/* One app's settings. Owned by struct logs. */
struct logs_app {
    struct logs *l;
    char *name;
    struct cfg_log log; /* deep copy; dir resolved; buffer/max_line defaulted */
    int instances;      /* from the last cfg seen */
    struct logs_inst **inst;
    size_t ninst;
    int nsrc;           /* live sources */
    bool forgotten;
    struct logs_app *next;
};

/* One pipe. Owned by struct logs; freed in the pipe's close callback. */
struct logs_src {
    uv_pipe_t pipe;
    struct logs *l;
    struct logs_app *app;
    struct logs_inst *inst;
    enum logs_stream stream;      /* LOGS_OUT or LOGS_ERR */
    struct logs_writer *w[2];     /* own file, combined file; NULL = not written */
    struct logs_split split;
    int64_t now_ms;               /* wall time of the chunk being split */
    int64_t stamp_ms;             /* what `stamp` holds */
    char stamp[LOGS_STAMP_MAX];
    size_t stamp_len;
    char *backlog;                /* unsplit rest of a read, kept while paused */
    size_t backlog_len, backlog_off;
    bool paused, closing;
    struct logs_src *next;
};

/* Bytes from one instance in a writer's buffers, to count drops per instance. */
struct logs_contrib {
    struct logs_inst *inst;
    uint64_t pending, inflight;
};

/* One output file. Owned by struct logs; refs from sources (and logs_flush while it runs). */
struct logs_writer {
    uv_work_t work;
    struct logs *l;
    char *path;
    int refs;
    struct buf pending, inflight;
    struct logs_contrib *contrib;
    size_t ncontrib, capcontrib;
    bool busy, stalled, want_truncate, reported_err;
    uint64_t busy_since_ms;
    /* settings from the newest app config that uses the file */
    uint64_t max_size;
    size_t buffer;      /* pending bytes allowed (cfg `buffer`) */
    bool daily, compress;
    int keep;
    /* job state: written by the job while busy, read on the loop after it */
    int fd;             /* -1 = closed */
    int day;            /* yyyymmdd of the file's lines */
    uint64_t size;
    int64_t job_wall_ms;
    bool job_truncate, job_close;
    int job_err;        /* 0 or -errno of the last failure */
    char job_errop[24]; /* "open", "write" */
    int job_warn;       /* 0 or -errno of a rotation or clean-up failure (lines still written) */
    size_t job_written;
    char **job_gz;      /* rotated files to compress, NULL-terminated, malloc'd */
    struct logs_writer *next;
};

struct logs_follower {
    int id;
    char *app;          /* NULL = all */
    int instance;       /* -1 = all */
    enum logs_stream which;
    logs_line_fn *cb;
    void *arg;
    struct logs_follower *next;
};

struct logs_gz; /* a queued compression, rotate.c */

struct logs {
    uv_loop_t *loop;
    char *home;
    struct logs_hooks hooks;
    struct logs_app *apps;
    struct logs_src *srcs;
    struct logs_writer *writers;
    struct logs_follower *followers;
    int next_follow_id;
    bool dispatching;        /* inside follower callbacks: unfollow only marks */
    char *readbuf;           /* LOGS_READ_SIZE, shared: read_cb consumes it before the next read */
    struct buf scratch;      /* one formatted line (JSON) */
    uv_timer_t tick;
    bool tick_on;
    int npaused, ndropping;
    struct logs_gz *gz_head, *gz_tail;
    bool gz_busy;
    /* closing */
    bool closing;
    int handles;             /* open uv handles (tick, pipes, close timer) */
    uv_timer_t close_timer;
    void (*close_done)(void *arg);
    void *close_arg;
};

/* ---- logs.c ---------------------------------------------------------------------------------- */
struct logs_app *logs__app_find(struct logs *l, const char *name);
struct logs_inst *logs__inst_get(struct logs_app *a, int instance);
/* Path of one file of an app into dst: which = LOGS_OUT, LOGS_ERR or LOGS_BOTH (combined).
 * 0, 1 when that file is not written, or -ENAMETOOLONG. */
int logs__app_path(const struct logs_app *a, enum logs_stream which, int instance, char *dst,
                   size_t size);
void logs__event(struct logs *l, const char *app, int instance, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void logs__tick_update(struct logs *l);
void logs__maybe_done(struct logs *l);
void logs__app_release(struct logs_app *a); /* a source or writer let go; free when unused */

/* ---- pipe.c ---------------------------------------------------------------------------------- */
int logs__src_start(struct logs *l, struct logs_app *a, int instance, enum logs_stream stream,
                    int fd, struct err *err);
void logs__src_close(struct logs_src *s);
/* Write the held partial line, then close. */
void logs__src_drain_close(struct logs_src *s);
/* Resume paused sources whose writers have room again (or have stalled too long). */
void logs__src_resume_all(struct logs *l);

/* ---- writer.c -------------------------------------------------------------------------------- */
/* The writer for `path`, created if needed (refs + 1). Settings from `log` replace old ones. */
struct logs_writer *logs__writer_get(struct logs *l, const char *path, const struct cfg_log *log);
void logs__writer_put(struct logs_writer *w);
/* Queue one whole line made of `n` pieces (total bytes `len`) for `inst`; false = dropped. */
bool logs__writer_append(struct logs_writer *w, struct logs_inst *inst, const struct uv_buf_t *pc,
                         int n, size_t len);
/* Start a job when idle and there is something to do. */
void logs__writer_kick(struct logs_writer *w);
/* Would another read overflow the pending buffer while a job runs? */
bool logs__writer_is_full(const struct logs_writer *w);
struct logs_writer *logs__writer_find(struct logs *l, const char *path);
/* Called by the tick: mark writers whose job has run too long as stalled. */
void logs__writer_check_stalls(struct logs *l, uint64_t now_ms);
void logs__inst_drop(struct logs_inst *inst, uint64_t bytes, const char *reason);
void logs__inst_detach(struct logs *l, struct logs_inst *inst);
void logs__drops_check(struct logs *l, uint64_t now_ms);

/* ---- rotate.c (thread side, plus the gzip queue) ------------------------------------------- */
/* In the job: open w->path (creating folders 0750, file 0640), rotate and write the batch. */
void logs__job_run(struct logs_writer *w);
void logs__gz_enqueue(struct logs *l, const char *path);
void logs__gz_clear(struct logs *l);
/* The rotated name for `path`'s lines of `day` (yyyymmdd), number n. */
int logs__rotated_name(const char *path, int day, int n, char *dst, size_t size);
/* The local day (yyyymmdd) of a wall time. */
int logs__local_day(int64_t wall_ms);

/* ---- follow.c -------------------------------------------------------------------------------- */
/* A line was stamped: hand it to matching followers (cheap when there are none). */
void logs__follow_dispatch(struct logs *l, const struct logs_src *s, const char *p, size_t n);
void logs__follow_free_all(struct logs *l);

#endif
