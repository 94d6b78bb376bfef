/* backup/op.c: the step machine every backup operation runs on.
 *
 * An operation is a NULL-terminated list of steps (run.c, restore.c). A step either finishes at
 * once, fails, or starts children and/or one worker thread; the op counts what it started
 * (`pending`) and moves to the next step when the last of them has reported: a child through
 * the daemon's watch hook, the thread through a uv_async_t. The first failure is kept (a later
 * "pg_dump exited 1" does not hide "cannot write: No space left on device"); the op then jumps
 * to `cleanup_from` and runs the remaining steps, which see op->rc < 0 (a drill drops its
 * scratch database, every op removes its scratch folder). Invariants: a child is never left
 * running when its op ends; the callback runs exactly once, from the loop; the op is freed only
 * in its timer's close callback. */
#include "backup/backup_int.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/afile.h"
#include "core/clock.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"

static void advance(struct backup_op *op);

int backup__op_fail(struct backup_op *op, int code, const char *fmt, ...)
{
    if (op->rc < 0)
        return op->rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(op->err.msg, sizeof op->err.msg, fmt, ap);
    va_end(ap);
    op->err.code = code;
    op->rc = code;
    return code;
}

void backup__op_path(const struct backup_op *op, const char *name, char *dst, size_t size)
{
    snprintf(dst, size, "%s/%s", op->dir, name);
}

static void on_timeout(uv_timer_t *t)
{
    struct backup_op *op = container_of(t, struct backup_op, timer);
    backup__op_fail(op, -TE_TIMEOUT, "timed out after %llus",
                    (unsigned long long)(op->job ? op->job->timeout_ms / 1000 : 0));
    backup__op_kill(op, SIGKILL);
}

int backup__op_new(struct backup *b, enum backup_op_kind kind, const char *job,
                   backup_step_fn *const *steps, backup_done_fn *cb, void *arg,
                   struct backup_op **out, struct err *err)
{
    static unsigned seq;
    struct backup_op *op = xcalloc(1, sizeof *op);
    op->b = b;
    op->kind = kind;
    op->steps = steps;
    op->cb = cb;
    op->arg = arg;
    op->started_ms = clock_wall_ms();
    op->started_mono = clock_mono_ms();
    for (size_t i = 0; i < ARRAY_LEN(op->fds); i++)
        op->fds[i] = -1;
    for (op->cleanup_from = 0; steps[op->cleanup_from] != backup__step_finally; op->cleanup_from++)
        assert(steps[op->cleanup_from]);
    snprintf(op->dir, sizeof op->dir, "%s/backup/tmp/%s-%ld-%u", backup__home(b), job ? job : "all",
             (long)getpid(), ++seq);
    int rc = afile_mkdirs(op->dir, 0700, err);
    if (rc < 0) {
        free(op);
        return rc;
    }
    uv_timer_init(backup__loop(b), &op->timer);
    *out = op;
    return 0;
}

void backup__op_start(struct backup_op *op)
{
    if (op->job && op->job->timeout_ms)
        uv_timer_start(&op->timer, on_timeout, op->job->timeout_ms, 0);
    advance(op);
}

/* ---- children -------------------------------------------------------------------------------- */
/* A child or the thread of the current step has reported; the step ends with the last one. */
static void one_done(struct backup_op *op)
{
    if (--op->pending > 0)
        return;
    if (op->rc == 0 && op->pipe_msg[0])
        backup__op_fail(op, -TE_STATE, "%s", op->pipe_msg);
    op->pipe_msg[0] = '\0';
    advance(op);
}

static void kid_exited(void *arg, pid_t pid, int status)
{
    struct backup_kid *k = arg;
    struct backup_op *op = k->op;
    char line[300];
    k->pid = 0;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE) {
        /* Its reader stopped: the reader's own error (a full disk, a failed upload) is the
         * news, and comes from the thread. Kept only in case nothing else failed. */
        snprintf(op->pipe_msg, sizeof op->pipe_msg,
                 "%s was killed by SIGPIPE: what read its output stopped", k->name);
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        backup__last_line(k->err_path, line, sizeof line);
        if (WIFSIGNALED(status))
            backup__op_fail(op, -TE_STATE, "%s was killed by signal %d%s%s", k->name,
                            WTERMSIG(status), line[0] ? ": " : "", line);
        else
            backup__op_fail(op, -TE_STATE, "%s exited with code %d%s%s", k->name,
                            WEXITSTATUS(status), line[0] ? ": " : "", line);
        backup__op_kill(op, SIGTERM); /* its partners in the pipeline have nothing to do */
    }
    (void)pid;
    one_done(op);
}

int backup__op_spawn(struct backup_op *op, const char *name, const char *const *argv,
                     const char *const *env, int in_fd, int out_fd)
{
    struct err e = {0};
    assert(op->nkids < BACKUP_MAX_KIDS);
    struct backup_kid *k = &op->kids[op->nkids];
    k->op = op;
    k->name = name;
    int rc = str_fmt(k->err_path, sizeof k->err_path, "%s/%s-%zu.err", op->dir, name, op->nkids);
    if (rc == 0)
        rc = backup__spawn(argv, env, in_fd, out_fd, k->err_path, &k->pid, &e);
    else
        err_set(&e, rc, "scratch path too long");
    if (in_fd >= 0)
        close(in_fd);
    if (out_fd >= 0)
        close(out_fd);
    if (rc < 0)
        return backup__op_fail(op, rc, "%s", e.msg);
    op->nkids++;
    rc = backup__watch(op->b, k->pid, kid_exited, k);
    if (rc < 0) {
        /* Not reaped by us either: supervise's subreaper collects it. */
        kill(-k->pid, SIGKILL);
        backup__op_fail(op, rc, "cannot watch %s (pid %ld)", name, (long)k->pid);
        k->pid = 0;
        return rc;
    }
    op->pending++;
    tlog_debug("backup", "%s: started %s (pid %ld)", op->job ? op->job->name : "-", name,
               (long)k->pid);
    return 0;
}

void backup__op_kill(struct backup_op *op, int sig)
{
    for (size_t i = 0; i < op->nkids; i++)
        if (op->kids[i].pid > 0)
            kill(-op->kids[i].pid, sig);
}

/* ---- the worker thread ------------------------------------------------------------------------
 */
static void task_main(void *arg)
{
    struct backup_op *op = arg;
    op->work(op, &op->work_err);
    uv_async_send(&op->async);
}

static void task_closed(uv_handle_t *h)
{
    struct backup_op *op = container_of((uv_async_t *)h, struct backup_op, async);
    if (op->work_err.code < 0 && op->rc == 0) {
        op->rc = op->work_err.code;
        op->err = op->work_err;
        backup__op_kill(op, SIGTERM);
    }
    one_done(op);
}

static void task_done(uv_async_t *a)
{
    struct backup_op *op = container_of(a, struct backup_op, async);
    uv_thread_join(&op->thread);
    uv_close((uv_handle_t *)a, task_closed);
}

int backup__op_task(struct backup_op *op, backup_work_fn *work)
{
    err_clear(&op->work_err);
    op->work = work;
    int rc = uv_async_init(backup__loop(op->b), &op->async, task_done);
    if (rc < 0)
        return backup__op_fail(op, rc, "cannot start a worker: %s", uv_strerror(rc));
    rc = uv_thread_create(&op->thread, task_main, op);
    if (rc < 0) {
        uv_close((uv_handle_t *)&op->async, NULL);
        return backup__op_fail(op, rc, "cannot start a worker thread: %s", uv_strerror(rc));
    }
    op->pending++;
    return 0;
}

/* ---- the machine
 * --------------------------------------------------------------------------------- */
static void op_free(uv_handle_t *h)
{
    struct backup_op *op = container_of((uv_timer_t *)h, struct backup_op, timer);
    json_decref(op->manifests);
    json_decref(op->manifest);
    json_decref(op->result);
    for (size_t i = 0; op->dbs && op->dbs[i]; i++)
        free(op->dbs[i]);
    free(op->dbs);
    for (size_t i = 0; i < ARRAY_LEN(op->fds); i++)
        if (op->fds[i] >= 0)
            close(op->fds[i]);
    free(op->src_path);
    free(op->id_arg);
    free(op->to);
    free(op->db);
    cfg_backups_unref(op->snap);
    free(op);
}

static void finish(struct backup_op *op)
{
    uv_timer_stop(&op->timer);
    backup__unlink_op(op->b, op);
    backup__op_finished(op);
    if (op->cb)
        op->cb(op->arg, op->rc, op->rc < 0 ? NULL : op->result, op->rc < 0 ? &op->err : NULL);
    uv_close((uv_handle_t *)&op->timer, op_free);
}

/* Run steps until one waits; at the end of the list, finish. */
static void advance(struct backup_op *op)
{
    assert(op->pending == 0);
    for (;;) {
        op->nkids = 0;
        if (op->rc < 0 && op->step < op->cleanup_from)
            op->step = op->cleanup_from;
        backup_step_fn *fn = op->steps[op->step];
        if (!fn)
            return finish(op);
        op->step++;
        int rc = fn(op);
        if (rc < 0) {
            backup__op_fail(op, rc, "step failed: %s", err_str(rc));
            backup__op_kill(op, SIGTERM); /* what the step started before it failed */
        }
        if (op->pending > 0)
            return; /* what it started will call advance() */
    }
}
