/* logs/pipe.c: an instance's stdout or stderr pipe, read into lines and handed to writers.
 *
 * Each source reads its pipe with uv_pipe_t into one read buffer shared by all sources
 * (LOGS_READ_SIZE): libuv calls read_cb right after each read, and read_cb consumes the bytes
 * before returning, so one buffer serves every pipe and idle apps cost no buffer memory. A
 * chunk is cut into lines (line.c), every line of the chunk gets the same stamp (the time it
 * was read; the text is cached per source and re-formatted only when the millisecond changes),
 * and each line is appended whole to the source's file writer and combined writer.
 *
 * Back-pressure: when a writer's queue is half full while its job runs, the source stops
 * reading, so the app waits on its pipe (as it would writing a file) instead of losing lines;
 * the writer lets go of it after LOGS_STALL_MS (writer.c), after which lines that do not fit are
 * dropped and counted. The pipe is raised to LOGS_PIPE_SIZE (256 KiB, not 1 MiB: Linux counts
 * pipe buffers per user against pipe-user-pages-soft, 64 MiB, and 100 apps x 2 streams x 1 MiB
 * would exceed it and shrink every later pipe of that user to one page).
 *
 * At EOF the held partial line is written, then the pipe is closed; the writers are released
 * in the close callback, after the last line was queued. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"
#include "logs/logs_int.h"

static const char *stream_name(enum logs_stream s)
{
    return s == LOGS_ERR ? "err" : "out";
}

/* The stamp text for the chunk being split. */
static void stamp(struct logs_src *s)
{
    if (s->stamp_len && s->stamp_ms == s->now_ms)
        return;
    const char *fmt = s->app->log.date_format;
    s->stamp_len = fmt && *fmt ? clock_format(s->stamp, sizeof s->stamp, fmt, s->now_ms)
                               : clock_iso8601(s->stamp, sizeof s->stamp, s->now_ms, 1);
    s->stamp_ms = s->now_ms;
}

/* {"time":"<stamp>","app":"api","instance":0,"stream":"out","message":"<line>"}\n */
static size_t json_line(struct logs_src *s, const char *p, size_t n, uv_buf_t *pc)
{
    struct buf *b = &s->l->scratch;
    buf_reset(b);
    buf_puts(b, "{\"time\":\"");
    logs__json_escape(b, s->stamp, s->stamp_len);
    buf_puts(b, "\",\"app\":\"");
    logs__json_escape(b, s->app->name, strlen(s->app->name));
    buf_printf(b, "\",\"instance\":%d,\"stream\":\"%s\",\"message\":\"", s->inst->instance,
               stream_name(s->stream));
    logs__json_escape(b, p, logs__chomp_cr(p, n));
    if (buf_puts(b, "\"}\n") < 0)
        return 0; /* out of memory: the line is lost, and counted by the caller */
    pc[0] = uv_buf_init(b->ptr, (unsigned)b->len);
    return b->len;
}

static void emit_line(void *arg, const char *p, size_t n)
{
    struct logs_src *s = arg;
    const struct cfg_log *log = &s->app->log;
    uv_buf_t pc[4];
    int np = 0;
    size_t len = 0;
    if (log->json || log->timestamp)
        stamp(s);
    if (log->json) {
        len = json_line(s, p, n, pc);
        np = len ? 1 : 0;
    } else {
        if (log->timestamp) {
            pc[np++] = uv_buf_init(s->stamp, (unsigned)s->stamp_len);
            pc[np++] = uv_buf_init((char *)": ", 2);
        }
        pc[np++] = uv_buf_init((char *)p, (unsigned)n);
        pc[np++] = uv_buf_init((char *)"\n", 1);
        for (int i = 0; i < np; i++)
            len += pc[i].len;
    }
    for (int i = 0; i < 2; i++) {
        if (!s->w[i])
            continue;
        if (np)
            logs__writer_append(s->w[i], s->inst, pc, np, len);
        else
            logs__inst_drop(s->inst, n + 1, "out of memory");
    }
    if (s->l->followers)
        logs__follow_dispatch(s->l, s, p, n);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct logs_src *s = container_of((uv_pipe_t *)h, struct logs_src, pipe);
    *b = uv_buf_init(s->l->readbuf, LOGS_READ_SIZE);
}

static void kick_writers(struct logs_src *s)
{
    for (int i = 0; i < 2; i++)
        if (s->w[i])
            logs__writer_kick(s->w[i]);
}

static bool must_wait(const struct logs_src *s)
{
    return (s->w[0] && logs__writer_is_full(s->w[0])) ||
           (s->w[1] && logs__writer_is_full(s->w[1]));
}

/* Split p[0..n) slice by slice, stopping when a writer must catch up first (a slice's lines
 * with stamps fit in the half of the queue left); returns the bytes used. */
static size_t feed_slices(struct logs_src *s, const char *p, size_t n)
{
    size_t off = 0;
    while (off < n && !must_wait(s)) {
        size_t k = MIN((size_t)LOGS_SLICE, n - off);
        logs__split_feed(&s->split, p + off, k, emit_line, s);
        off += k;
        kick_writers(s);
    }
    return off;
}

/* Stop reading; keep what was read but not split yet. */
static void pause_src(struct logs_src *s, const char *rest, size_t n)
{
    if (n) {
        s->backlog = xmalloc(n);
        memcpy(s->backlog, rest, n);
        s->backlog_len = n;
        s->backlog_off = 0;
    }
    uv_read_stop((uv_stream_t *)&s->pipe);
    s->paused = true;
    s->l->npaused++;
    logs__tick_update(s->l);
}

static void backlog_free(struct logs_src *s)
{
    free(s->backlog);
    s->backlog = NULL;
    s->backlog_len = s->backlog_off = 0;
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
    struct logs_src *s = container_of((uv_pipe_t *)st, struct logs_src, pipe);
    if (nread == 0)
        return;
    s->now_ms = clock_wall_ms();
    if (nread > 0) {
        size_t used = feed_slices(s, b->base, (size_t)nread);
        if (used < (size_t)nread || must_wait(s))
            pause_src(s, b->base + used, (size_t)nread - used);
        return;
    }
    if (nread != UV_EOF)
        tlog_warn("logs", "cannot read output of %s:%d: %s; closing its %s pipe", s->app->name,
                  s->inst->instance, uv_strerror((int)nread), stream_name(s->stream));
    logs__src_drain_close(s);
}

void logs__src_drain_close(struct logs_src *s)
{
    if (s->closing)
        return;
    s->now_ms = clock_wall_ms();
    if (s->backlog) /* closing: what does not fit now is dropped and counted */
        logs__split_feed(&s->split, s->backlog + s->backlog_off,
                         s->backlog_len - s->backlog_off, emit_line, s);
    backlog_free(s);
    logs__split_eof(&s->split, emit_line, s);
    kick_writers(s);
    logs__src_close(s);
}

/* A paused source whose writers have room: split its backlog, then read again. */
static void resume(struct logs_src *s)
{
    if (s->backlog) {
        s->backlog_off += feed_slices(s, s->backlog + s->backlog_off,
                                      s->backlog_len - s->backlog_off);
        if (s->backlog_off < s->backlog_len || must_wait(s))
            return;
        backlog_free(s);
    }
    s->paused = false;
    s->l->npaused--;
    if (uv_read_start((uv_stream_t *)&s->pipe, alloc_cb, read_cb) < 0)
        logs__src_drain_close(s);
}

void logs__src_resume_all(struct logs *l)
{
    for (struct logs_src *s = l->srcs; s && l->npaused; s = s->next)
        if (s->paused && !s->closing && !must_wait(s))
            resume(s);
    logs__tick_update(l);
}

static void close_cb(uv_handle_t *h)
{
    struct logs_src *s = container_of((uv_pipe_t *)h, struct logs_src, pipe);
    struct logs *l = s->l;
    struct logs_src **pp = &l->srcs;
    while (*pp && *pp != s)
        pp = &(*pp)->next;
    if (*pp)
        *pp = s->next;
    for (int i = 0; i < 2; i++)
        if (s->w[i])
            logs__writer_put(s->w[i]);
    logs__split_fini(&s->split);
    backlog_free(s);
    s->app->nsrc--;
    logs__app_release(s->app);
    l->handles--;
    free(s);
    logs__maybe_done(l);
}

void logs__src_close(struct logs_src *s)
{
    if (s->closing)
        return;
    s->closing = true;
    if (s->paused) {
        s->paused = false;
        s->l->npaused--;
    }
    uv_close((uv_handle_t *)&s->pipe, close_cb);
}

/* The writers a source of this app, instance and stream writes to. */
static void pick_writers(struct logs_src *s, int instance)
{
    char own[PATH_MAX], comb[PATH_MAX];
    int ro = logs__app_path(s->app, s->stream, instance, own, sizeof own);
    int rc = logs__app_path(s->app, LOGS_BOTH, instance, comb, sizeof comb);
    if (ro == 0)
        s->w[0] = logs__writer_get(s->l, own, &s->app->log);
    else if (ro < 0)
        tlog_warn("logs", "log file path of %s is too long; its %s is not written", s->app->name,
                  stream_name(s->stream));
    if (rc == 0 && !(ro == 0 && strcmp(own, comb) == 0))
        s->w[1] = logs__writer_get(s->l, comb, &s->app->log);
}

int logs__src_start(struct logs *l, struct logs_app *a, int instance, enum logs_stream stream,
                    int fd, struct err *err)
{
    struct logs_src *s = xcalloc(1, sizeof *s);
    s->l = l;
    s->app = a;
    s->inst = logs__inst_get(a, instance);
    s->stream = stream;
    logs__split_init(&s->split, a->log.max_line);
    pick_writers(s, instance);
    a->nsrc++;
    s->next = l->srcs;
    l->srcs = s;
    l->handles++;
    (void)fcntl(fd, F_SETPIPE_SZ, LOGS_PIPE_SIZE); /* best effort: not a pipe, or over a limit */
    int rc = uv_pipe_init(l->loop, &s->pipe, 0);
    if (rc < 0) {
        close(fd);
        s->closing = true;
        close_cb((uv_handle_t *)&s->pipe); /* nothing to close in libuv: free at once */
        return err_set(err, rc, "cannot capture %s output of %s:%d: %s", stream_name(stream),
                       a->name, instance, uv_strerror(rc));
    }
    rc = uv_pipe_open(&s->pipe, fd);
    if (rc < 0)
        close(fd);
    else
        rc = uv_read_start((uv_stream_t *)&s->pipe, alloc_cb, read_cb);
    if (rc < 0) {
        logs__src_close(s);
        return err_set(err, rc, "cannot capture %s output of %s:%d: %s", stream_name(stream),
                       a->name, instance, uv_strerror(rc));
    }
    return 0;
}
