/* logs/logs.h: the apps' output: pipes to lines, lines to files, rotation, following.
 *
 * For each instance the daemon hands over the read ends of its stdout and stderr pipes. Bytes
 * are cut into lines (partial lines are held until their newline; lines over max_line are split),
 * each line is stamped and appended whole to the app's out/error (and combined) file, so lines
 * are never interleaved mid-line (DESIGN invariant 3). Files are written off the loop (libuv's
 * fs thread pool) from a bounded per-stream queue: when the disk is full or slow, the oldest
 * queued bytes are dropped and counted instead of blocking the app; the count is reported
 * through the hook as an event and by logs_dropped(). Rotation (by size and/or daily, keep N,
 * gzip off the loop) happens in the writer between two lines, so no line is lost or torn. */
#ifndef TEND_LOGS_H
#define TEND_LOGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"

struct err;
struct logs;

struct logs_hooks {
    void *ctx;
    /* Something worth an event: drops began/ended, a file cannot be written, rotation. */
    void (*on_event)(void *ctx, const char *app, int instance, const char *msg);
};

int logs_new(uv_loop_t *loop, const char *home, const struct logs_hooks *hooks, struct logs **out,
             struct err *err);
/* Flush what is queued (bounded wait), close every file, free; `done` runs once afterwards. */
void logs_close(struct logs *l, void (*done)(void *arg), void *arg);

/* Start capturing an instance's output. Takes ownership of both fds (even on failure). The
 * cfg_app is copied as needed; a new attach for the same app/instance replaces the old one
 * after draining it. */
int logs_attach(struct logs *l, const char *app, int instance, const struct cfg_app *cfg,
                int out_fd, int err_fd, struct err *err);
/* Know an app's log settings without capturing anything (a stopped app after a daemon
 * restart), so logs_tail, logs_flush and logs_paths_json find its files. The cfg_app is
 * copied. -TE_STATE while closing. */
int logs_configure(struct logs *l, const char *app, const struct cfg_app *cfg);
/* The app is gone (deleted): close its files once its pipes are drained. */
void logs_forget_app(struct logs *l, const char *app);

/* Bytes dropped so far for an instance (instance -1 = all of the app). */
uint64_t logs_dropped(struct logs *l, const char *app, int instance);

enum logs_stream { LOGS_OUT = 1, LOGS_ERR = 2, LOGS_BOTH = 3 };

/* The last `lines` lines of an app's files (all apps when app is NULL), oldest first, as
 * [{"time","app","instance","stream","message"}]. Reads files; bounded to `lines` <= 10000. */
json_t *logs_tail(struct logs *l, const char *app, int instance, enum logs_stream which,
                  int lines, struct err *err);

/* Follow new lines live: cb is called for each line written after this call, until
 * logs_unfollow(). `line` is one JSON object (borrowed). Returns an id > 0. */
typedef void logs_line_fn(void *arg, json_t *line);
int logs_follow(struct logs *l, const char *app, int instance, enum logs_stream which,
                logs_line_fn *cb, void *arg);
void logs_unfollow(struct logs *l, int id);

/* Truncate an app's log files (all apps when NULL): `tend flush`. */
int logs_flush(struct logs *l, const char *app, struct err *err);

/* Paths of an app's current files, for `describe`: {"out","error","combined"}. */
json_t *logs_paths_json(struct logs *l, const char *app);

#endif
