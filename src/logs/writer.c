/* logs/writer.c: one writer per output file, double-buffered, never blocking the loop.
 *
 * Lines are appended whole to `pending` on the loop. At most one job per file runs in the
 * libuv thread pool: kick() swaps `pending` and `inflight` and queues the job, which opens the
 * file if needed, rotates between lines and writes the batch (rotate.c). While a job runs, new
 * lines keep filling `pending` up to the configured `buffer`; the sources feeding a writer
 * whose pending buffer is half full pause reading (the app waits on its pipe, as it would on
 * a file) for at most LOGS_STALL_MS; after that the writer is "stalled", sources read again and
 * a line that does not fit is dropped whole and counted against its instance. A failed write
 * drops its batch (counted the same way); the next batch tries again, so logging resumes by
 * itself when space returns. Drops are reported as episodes: one event when an instance starts
 * losing bytes, one when it has gone LOGS_DROP_QUIET_MS without losing any.
 *
 * Invariants: a writer is freed only when no job runs, nothing is pending, no source refers to
 * it and its file is closed; a line is either entirely in one batch or dropped entirely. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"
#include "logs/logs_int.h"

struct logs_writer *logs__writer_find(struct logs *l, const char *path)
{
    for (struct logs_writer *w = l->writers; w; w = w->next)
        if (strcmp(w->path, path) == 0)
            return w;
    return NULL;
}

struct logs_writer *logs__writer_get(struct logs *l, const char *path, const struct cfg_log *log)
{
    struct logs_writer *w = logs__writer_find(l, path);
    if (!w) {
        w = xcalloc(1, sizeof *w);
        w->l = l;
        w->path = str_dup(path);
        w->fd = -1;
        buf_init(&w->pending, 0);
        buf_init(&w->inflight, 0);
        w->work.data = w;
        w->next = l->writers;
        l->writers = w;
    }
    w->max_size = log->max_size;
    w->buffer = log->buffer ? log->buffer : LOGS_DEFAULT_BUFFER;
    w->daily = log->daily;
    w->compress = log->compress;
    w->keep = log->keep < 0 ? 0 : log->keep;
    w->refs++;
    return w;
}

static void writer_free(struct logs_writer *w)
{
    struct logs_writer **pp = &w->l->writers;
    while (*pp != w)
        pp = &(*pp)->next;
    *pp = w->next;
    buf_fini(&w->pending);
    buf_fini(&w->inflight);
    free(w->contrib);
    free(w->path);
    free(w);
}

void logs__writer_put(struct logs_writer *w)
{
    assert(w->refs > 0);
    w->refs--;
    logs__writer_kick(w); /* flushes what is pending, then closes the file and frees */
}

static struct logs_contrib *contrib_get(struct logs_writer *w, struct logs_inst *inst)
{
    for (size_t i = 0; i < w->ncontrib; i++)
        if (w->contrib[i].inst == inst)
            return &w->contrib[i];
    if (w->ncontrib == w->capcontrib) {
        w->capcontrib = w->capcontrib ? w->capcontrib * 2 : 4;
        w->contrib = xrealloc(w->contrib, w->capcontrib * sizeof *w->contrib);
    }
    struct logs_contrib *c = &w->contrib[w->ncontrib++];
    *c = (struct logs_contrib){.inst = inst};
    return c;
}

bool logs__writer_append(struct logs_writer *w, struct logs_inst *inst, const uv_buf_t *pc, int n,
                         size_t len)
{
    bool fits = w->pending.len + len <= w->buffer || w->pending.len == 0;
    if (fits && w->pending.cap < w->pending.len + len + 1) {
        /* Double (from 64 KiB) up to the ceiling, so a flood reallocates a handful of times. */
        size_t need = w->pending.len + len + 1;
        size_t want = MAX(need, MIN(MAX(w->pending.cap * 2, (size_t)64 * 1024), w->buffer + 1));
        char *p = realloc(w->pending.ptr, want);
        fits = p != NULL;
        if (p)
            w->pending.ptr = p, w->pending.cap = want;
    }
    if (!fits) {
        char why[160];
        snprintf(why, sizeof why, "disk too slow or full (%zu bytes queued for %s)",
                 w->pending.len, w->path);
        logs__inst_drop(inst, len, why);
        return false;
    }
    for (int i = 0; i < n; i++)
        buf_append(&w->pending, pc[i].base, pc[i].len); /* cannot fail: room reserved above */
    if (inst)
        contrib_get(w, inst)->pending += len;
    return true;
}

bool logs__writer_is_full(const struct logs_writer *w)
{
    return w->busy && !w->stalled && w->pending.len >= w->buffer / 2;
}

static void work_cb(uv_work_t *req)
{
    logs__job_run(req->data);
}

/* Count a failed batch's bytes against the instances that wrote them. */
static void drop_inflight(struct logs_writer *w, size_t lost)
{
    char why[200];
    snprintf(why, sizeof why, "cannot %s %s: %s", w->job_errop, w->path, err_str(w->job_err));
    size_t total = w->inflight.len ? w->inflight.len : 1;
    for (size_t i = 0; i < w->ncontrib; i++) {
        struct logs_contrib *c = &w->contrib[i];
        uint64_t share = lost == total ? c->inflight : c->inflight * lost / total;
        if (c->inst && share)
            logs__inst_drop(c->inst, share, why);
    }
}

/* Forget per-instance counts of the batch just finished; drop entries nobody uses. */
static void contrib_settle(struct logs_writer *w)
{
    size_t k = 0;
    for (size_t i = 0; i < w->ncontrib; i++) {
        w->contrib[i].inflight = 0;
        if (w->contrib[i].inst && w->contrib[i].pending)
            w->contrib[k++] = w->contrib[i];
    }
    w->ncontrib = k;
}

static void report_job(struct logs_writer *w)
{
    if (w->job_err && w->job_written < w->inflight.len)
        drop_inflight(w, w->inflight.len - w->job_written);
    if (w->job_warn && !w->reported_err) {
        w->reported_err = true; /* once per writer: rotation keeps failing the same way */
        tlog_warn("logs", "cannot rotate %s: %s; writing on to the same file", w->path,
                  err_str(w->job_warn));
        logs__event(w->l, NULL, -1, "cannot rotate %s: %s", w->path, err_str(w->job_warn));
    } else if (!w->job_warn && !w->job_err) {
        w->reported_err = false;
    }
    for (char **p = w->job_gz; p && *p; p++) {
        logs__gz_enqueue(w->l, *p);
        free(*p);
    }
    free(w->job_gz);
    w->job_gz = NULL;
}

static void after_cb(uv_work_t *req, int status)
{
    struct logs_writer *w = req->data;
    struct logs *l = w->l;
    w->busy = false;
    w->stalled = false;
    if (status < 0 && !w->job_err) {
        w->job_err = status;
        str_copy(w->job_errop, "write", sizeof w->job_errop);
    }
    report_job(w);
    contrib_settle(w);
    size_t batch = w->inflight.len;
    buf_reset(&w->inflight);
    if (batch < 64 * 1024 && w->inflight.cap > 256 * 1024)
        buf_fini(&w->inflight); /* the flood is over: give the memory back */
    logs__writer_kick(w);
    if (l->npaused)
        logs__src_resume_all(l);
    logs__maybe_done(l);
}

static void start_job(struct logs_writer *w)
{
    struct buf t = w->inflight;
    w->inflight = w->pending;
    w->pending = t;
    for (size_t i = 0; i < w->ncontrib; i++) {
        w->contrib[i].inflight = w->contrib[i].pending;
        w->contrib[i].pending = 0;
    }
    w->job_wall_ms = clock_wall_ms();
    w->job_truncate = w->want_truncate;
    w->want_truncate = false;
    w->job_close = w->refs == 0;
    w->job_err = w->job_warn = 0;
    w->job_written = 0;
    w->busy = true;
    w->busy_since_ms = clock_mono_ms();
    int rc = uv_queue_work(w->l->loop, &w->work, work_cb, after_cb);
    if (rc < 0) {
        /* Cannot happen with a live loop; treat it as a failed write so nothing leaks. */
        w->busy = false;
        w->job_err = rc;
        str_copy(w->job_errop, "queue a write for", sizeof w->job_errop);
        report_job(w);
        contrib_settle(w);
        buf_reset(&w->inflight);
    }
}

void logs__writer_kick(struct logs_writer *w)
{
    if (w->busy)
        return;
    bool must_close = w->refs == 0 && w->fd >= 0;
    if (w->pending.len || w->want_truncate || must_close) {
        start_job(w);
        return;
    }
    if (w->refs == 0 && w->fd < 0)
        writer_free(w);
}

void logs__writer_check_stalls(struct logs *l, uint64_t now_ms)
{
    bool any = false;
    for (struct logs_writer *w = l->writers; w; w = w->next) {
        if (w->busy && !w->stalled && now_ms - w->busy_since_ms >= LOGS_STALL_MS) {
            w->stalled = true;
            any = true;
        }
    }
    if (any && l->npaused)
        logs__src_resume_all(l);
}

/* ---- drop episodes --------------------------------------------------------------------------- */

void logs__inst_drop(struct logs_inst *inst, uint64_t bytes, const char *reason)
{
    if (!inst)
        return;
    struct logs *l = inst->app->l;
    inst->dropped += bytes;
    inst->episode += bytes;
    inst->last_drop_ms = clock_mono_ms();
    if (inst->dropping)
        return;
    inst->dropping = true;
    l->ndropping++;
    str_copy(inst->reason, reason, sizeof inst->reason);
    tlog_warn("logs", "dropping output of %s:%d: %s", inst->app->name, inst->instance, reason);
    logs__event(l, inst->app->name, inst->instance, "dropping output of %s:%d: %s",
                inst->app->name, inst->instance, reason);
    logs__tick_update(l);
}

static void drop_end(struct logs *l, struct logs_inst *inst)
{
    tlog_warn("logs", "dropped %llu bytes of %s:%d output: %s", (unsigned long long)inst->episode,
              inst->app->name, inst->instance, inst->reason);
    logs__event(l, inst->app->name, inst->instance,
                "dropped %llu bytes of %s:%d output: %s; writing again",
                (unsigned long long)inst->episode, inst->app->name, inst->instance, inst->reason);
    inst->dropping = false;
    inst->episode = 0;
    l->ndropping--;
}

void logs__drops_check(struct logs *l, uint64_t now_ms)
{
    for (struct logs_app *a = l->apps; a && l->ndropping; a = a->next)
        for (size_t i = 0; i < a->ninst; i++) {
            struct logs_inst *inst = a->inst[i];
            if (inst && inst->dropping && now_ms - inst->last_drop_ms >= LOGS_DROP_QUIET_MS)
                drop_end(l, inst);
        }
}

void logs__inst_detach(struct logs *l, struct logs_inst *inst)
{
    for (struct logs_writer *w = l->writers; w; w = w->next)
        for (size_t i = 0; i < w->ncontrib; i++)
            if (w->contrib[i].inst == inst)
                w->contrib[i].inst = NULL;
    if (inst->dropping)
        drop_end(l, inst);
}
