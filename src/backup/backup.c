/* backup/backup.c: the module's handle: jobs, schedule, state, events, status.
 *
 * One timer serves every job: it fires at the earliest due run or drill (and at least once a
 * minute, so a clock jump is noticed), and backup_tick() starts what is due. Due times come from
 * cron_next() in the job's timezone. The state file (home/backup/state.json: last run, last
 * success, last error, last drill per job) survives restarts; at configure a job whose next fire
 * time after its last run has already passed runs once now ("a run missed while the daemon was
 * down runs once at start"), never once per missed slot. A job runs at most once at a time: a
 * due run that finds it running is skipped and recorded (event "skipped"). The state file is
 * written in the thread pool (uv_queue_work), one write at a time; a change during a write is
 * written right after it. */
#include "backup/backup_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/afile.h"
#include "core/clock.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"

#define MAX_SLEEP_MS 60000

struct sched {
    int64_t run_due_ms, drill_due_ms; /* 0 = not scheduled */
};

/* Owned by the daemon (backup_new/backup_close). */
struct backup {
    uv_loop_t *loop;
    struct backup_opts opts;
    char *home;
    struct cfg_backups *jobs;
    struct sched *sched; /* one per job of `jobs` */
    struct backup_op *ops;
    json_t *state; /* {job: {last_run, last_ok, last_error, last_id, last_drill, ...}} */
    char state_path[PATH_MAX];
    uv_timer_t timer;
    uv_work_t save;
    char *save_text;
    bool is_saving, is_dirty, is_closing;
    void (*closed)(void *arg);
    void *closed_arg;
};

static const char *const event_names[BACKUP_NEVENTS] = {
    [BACKUP_EV_STARTED] = "started",   [BACKUP_EV_DONE] = "done",
    [BACKUP_EV_FAILED] = "failed",     [BACKUP_EV_SKIPPED] = "skipped",
    [BACKUP_EV_VERIFIED] = "verified", [BACKUP_EV_VERIFY_FAILED] = "verify_failed",
    [BACKUP_EV_DRILLED] = "drilled",   [BACKUP_EV_DRILL_FAILED] = "drill_failed",
    [BACKUP_EV_RESTORED] = "restored", [BACKUP_EV_RESTORE_FAILED] = "restore_failed",
    [BACKUP_EV_PRUNED] = "pruned",
};

const char *backup_event_name(enum backup_event_kind k)
{
    return (unsigned)k < BACKUP_NEVENTS ? event_names[k] : "?";
}

uv_loop_t *backup__loop(struct backup *b)
{
    return b->loop;
}

const char *backup__home(const struct backup *b)
{
    return b->home;
}

int backup__watch(struct backup *b, pid_t pid, backup_child_fn *cb, void *arg)
{
    return b->opts.watch_child(b->opts.watch_ctx, pid, cb, arg);
}

static void emit_m(struct backup *b, enum backup_event_kind k, const char *job, const char *id,
                   const char *msg, const json_t *manifest)
{
    struct backup_event ev = {k, job, id, msg, manifest};
    if (k == BACKUP_EV_FAILED || k == BACKUP_EV_VERIFY_FAILED || k == BACKUP_EV_DRILL_FAILED ||
        k == BACKUP_EV_RESTORE_FAILED)
        tlog_error("backup", "%s: %s", job, msg);
    else
        tlog_info("backup", "%s: %s", job, msg);
    if (b->opts.on_event)
        b->opts.on_event(b->opts.event_ctx, &ev);
}

static void emit(struct backup *b, enum backup_event_kind k, const char *job, const char *id,
                 const char *msg)
{
    emit_m(b, k, job, id, msg, NULL);
}

/* ---- the state file -----------------------------------------------------------------------------
 */
static void save_work(uv_work_t *w)
{
    struct backup *b = container_of(w, struct backup, save);
    afile_write(b->state_path, b->save_text, strlen(b->save_text), 0600, NULL);
}

static void save_state(struct backup *b);
static void maybe_free(struct backup *b);
static void closing_op_done(struct backup *b);

static void save_done(uv_work_t *w, int status)
{
    struct backup *b = container_of(w, struct backup, save);
    (void)status;
    free(b->save_text);
    b->save_text = NULL;
    b->is_saving = false;
    if (b->is_dirty)
        save_state(b);
    else
        maybe_free(b);
}

static void save_state(struct backup *b)
{
    b->is_dirty = b->is_saving;
    if (b->is_saving)
        return;
    b->save_text = json_dumps(b->state, JSON_INDENT(2) | JSON_SORT_KEYS);
    b->is_saving = uv_queue_work(b->loop, &b->save, save_work, save_done) == 0;
    if (!b->is_saving) {
        free(b->save_text);
        b->save_text = NULL;
    }
}

static json_t *job_state(struct backup *b, const char *job)
{
    json_t *s = json_object_get(b->state, job);
    if (!s) {
        s = json_object();
        json_object_set_new(b->state, job, s);
    }
    return s;
}

static int64_t state_ms(struct backup *b, const char *job, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(b->state, job), key));
}

/* ---- the handle
 * ------------------------------------------------------------------------------------ */
int backup_new(uv_loop_t *loop, const struct backup_opts *opts, struct backup **out,
               struct err *err)
{
    char dir[PATH_MAX];
    if (!opts->watch_child || !opts->home)
        return err_set(err, -TE_INVALID, "backup_new needs a home and a watch_child hook");
    if (str_fmt(dir, sizeof dir, "%s/backup/tmp", opts->home) < 0)
        return err_set(err, -ENAMETOOLONG, "home path too long");
    int rc = afile_mkdirs(dir, 0700, err);
    if (rc < 0)
        return rc;
    struct backup *b = xcalloc(1, sizeof *b);
    b->loop = loop;
    b->opts = *opts;
    b->home = str_dup(opts->home);
    b->opts.home = b->home;
    snprintf(b->state_path, sizeof b->state_path, "%s/backup/state.json", b->home);
    b->state = json_load_file(b->state_path, 0, NULL);
    if (!json_is_object(b->state)) {
        json_decref(b->state);
        b->state = json_object();
    }
    uv_timer_init(loop, &b->timer);
    *out = b;
    return 0;
}

static void on_timer(uv_timer_t *t)
{
    backup_tick(container_of(t, struct backup, timer));
}

static void arm(struct backup *b)
{
    int64_t now = clock_wall_ms(), next = now + MAX_SLEEP_MS;
    for (size_t i = 0; b->jobs && i < b->jobs->n; i++) {
        if (b->sched[i].run_due_ms && b->sched[i].run_due_ms < next)
            next = b->sched[i].run_due_ms;
        if (b->sched[i].drill_due_ms && b->sched[i].drill_due_ms < next)
            next = b->sched[i].drill_due_ms;
    }
    uv_timer_stop(&b->timer);
    if (!b->is_closing)
        uv_timer_start(&b->timer, on_timer, next > now ? (uint64_t)(next - now) : 0, 0);
}

/* The next fire time in ms after `after_ms`, or 0 when there is none. */
static int64_t next_fire(const struct cron *c, const char *tz, int64_t after_ms)
{
    time_t t = cron_next(c, (time_t)(after_ms / 1000), tz);
    return t < 0 ? 0 : (int64_t)t * 1000;
}

static int64_t first_due(const struct cron *c, const char *tz, int64_t last_ms, int64_t now)
{
    if (last_ms > 0) {
        int64_t missed = next_fire(c, tz, last_ms);
        if (missed && missed <= now)
            return now; /* once, however many slots were missed */
    }
    return next_fire(c, tz, now);
}

int backup_configure(struct backup *b, struct cfg_backups *jobs, struct err *err)
{
    int64_t now = clock_wall_ms();
    struct sched *s = xcalloc(jobs ? jobs->n + 1 : 1, sizeof *s);
    for (size_t i = 0; jobs && i < jobs->n; i++) {
        const struct cfg_backup *j = jobs->jobs[i];
        if (j->schedule)
            s[i].run_due_ms =
                first_due(&j->cron, j->timezone, state_ms(b, j->name, "last_run"), now);
        if (j->drill_schedule)
            s[i].drill_due_ms =
                first_due(&j->drill_cron, j->timezone, state_ms(b, j->name, "last_drill"), now);
    }
    cfg_backups_unref(b->jobs); /* running ops hold their own reference */
    free(b->sched);
    b->jobs = cfg_backups_ref(jobs);
    b->sched = s;
    arm(b);
    (void)err;
    return 0;
}

static const struct backup_op *running_op(const struct backup *b, const char *job,
                                          enum backup_op_kind kind)
{
    for (const struct backup_op *op = b->ops; op; op = op->next)
        if (op->kind == kind && op->job && strcmp(op->job->name, job) == 0)
            return op;
    return NULL;
}

static bool is_running(const struct backup *b, const char *job, enum backup_op_kind kind)
{
    return running_op(b, job, kind) != NULL;
}

void backup_tick(struct backup *b)
{
    int64_t now = clock_wall_ms();
    for (size_t i = 0; b->jobs && i < b->jobs->n && !b->is_closing; i++) {
        const struct cfg_backup *j = b->jobs->jobs[i];
        struct sched *s = &b->sched[i];
        if (s->run_due_ms && s->run_due_ms <= now) {
            s->run_due_ms = next_fire(&j->cron, j->timezone, now);
            backup_run(b, j->name, NULL, NULL, NULL); /* a skip is recorded by backup_run */
        }
        if (s->drill_due_ms && s->drill_due_ms <= now) {
            s->drill_due_ms = next_fire(&j->drill_cron, j->timezone, now);
            if (!is_running(b, j->name, BACKUP_OP_DRILL))
                backup_drill(b, j->name, NULL, NULL, NULL);
        }
    }
    arm(b);
}

/* ---- operations
 * ---------------------------------------------------------------------------------- */
static int start(struct backup *b, enum backup_op_kind kind, const char *job,
                 backup_step_fn *const *steps, backup_done_fn *cb, void *arg,
                 struct backup_op **out, struct err *err)
{
    const struct cfg_backup *j = NULL;
    if (b->is_closing)
        return err_set(err, -ECANCELED, "tend is stopping");
    if (job && !(j = cfg_backups_find(b->jobs, job))) {
        err_set(err, -TE_NOTFOUND, "no backup job \"%s\"", job);
        err_hint(err, "the jobs are the names under \"backups:\" in tend.yaml");
        return -TE_NOTFOUND;
    }
    struct backup_op *op;
    int rc = backup__op_new(b, kind, job, steps, cb, arg, &op, err);
    if (rc < 0)
        return rc;
    op->snap = cfg_backups_ref(b->jobs);
    op->job = j;
    op->next = b->ops;
    b->ops = op;
    *out = op;
    return 0;
}

void backup__unlink_op(struct backup *b, struct backup_op *op)
{
    for (struct backup_op **p = &b->ops; *p; p = &(*p)->next) {
        if (*p == op) {
            *p = op->next;
            break;
        }
    }
    if (b->is_closing)
        closing_op_done(b);
}

int backup_run(struct backup *b, const char *job, backup_done_fn *cb, void *arg, struct err *err)
{
    struct backup_op *op;
    if (job && is_running(b, job, BACKUP_OP_RUN)) {
        emit(b, BACKUP_EV_SKIPPED, job, NULL, "skipped: the previous run is still going");
        json_object_set_new(job_state(b, job), "last_skipped", json_integer(clock_wall_ms()));
        save_state(b);
        err_set(err, -TE_STATE, "backup \"%s\" is already running", job);
        return -TE_STATE;
    }
    int rc = start(b, BACKUP_OP_RUN, job, backup__run_steps, cb, arg, &op, err);
    if (rc < 0)
        return rc;
    emit(b, BACKUP_EV_STARTED, job, NULL, "started");
    backup__op_start(op);
    return 0;
}

int backup_verify(struct backup *b, const char *job, const char *id, backup_done_fn *cb, void *arg,
                  struct err *err)
{
    struct backup_op *op;
    int rc = start(b, BACKUP_OP_VERIFY, job, backup__verify_steps, cb, arg, &op, err);
    if (rc < 0)
        return rc;
    op->id_arg = str_dup(id);
    backup__op_start(op);
    return 0;
}

int backup_drill(struct backup *b, const char *job, backup_done_fn *cb, void *arg, struct err *err)
{
    struct backup_op *op;
    const struct cfg_backup *j = cfg_backups_find(b->jobs, job);
    if (j && j->source != CFG_BACKUP_POSTGRES)
        return err_set(err, -TE_INVALID,
                       "backup \"%s\" is not a postgres job; drills restore "
                       "postgres backups",
                       job);
    int rc = start(b, BACKUP_OP_DRILL, job, backup__drill_steps, cb, arg, &op, err);
    if (rc < 0)
        return rc;
    backup__op_start(op);
    return 0;
}

int backup_restore(struct backup *b, const char *job, const char *id, const char *to, bool yes,
                   backup_done_fn *cb, void *arg, struct err *err)
{
    struct backup_op *op;
    if (!to || !*to)
        return err_set(err, -TE_INVALID, "a restore needs a target (--to URL or PATH)");
    int rc = start(b, BACKUP_OP_RESTORE, job, backup__restore_steps, cb, arg, &op, err);
    if (rc < 0)
        return rc;
    op->id_arg = str_dup(id);
    op->to = str_dup(to);
    op->yes = yes;
    backup__op_start(op);
    return 0;
}

int backup_list(struct backup *b, const char *job, backup_done_fn *cb, void *arg, struct err *err)
{
    struct backup_op *op;
    int rc = start(b, BACKUP_OP_LIST, job, backup__list_steps, cb, arg, &op, err);
    if (rc < 0)
        return rc;
    backup__op_start(op);
    return 0;
}

/* ---- the end of an operation
 * ----------------------------------------------------------------------- */
static void run_finished(struct backup *b, struct backup_op *op)
{
    const char *name = op->job->name;
    json_t *st = job_state(b, name), *m;
    size_t i, k;
    char msg[700];
    int64_t now = clock_wall_ms();
    json_object_set_new(st, "last_run", json_integer(now));
    if (op->rc < 0) {
        json_object_set_new(st, "last_error", json_string(op->err.msg));
        snprintf(msg, sizeof msg, "failed: %s", op->err.msg);
        emit(b, BACKUP_EV_FAILED, name, op->id[0] ? op->id : NULL, msg);
        return;
    }
    json_object_set_new(st, "last_ok", json_integer(now));
    json_object_set_new(st, "last_error", json_null());
    json_array_foreach(op->result, i, m)
    {
        const char *id = json_string_value(json_object_get(m, "id"));
        json_t *pruned = json_object_get(m, "pruned"), *p;
        json_object_set_new(st, "last_id", json_string(id));
        snprintf(msg, sizeof msg, "done: %s, %lld bytes", id,
                 (long long)json_integer_value(json_object_get(m, "size")));
        emit_m(b, BACKUP_EV_DONE, name, id, msg, m);
        json_array_foreach(pruned, k, p)
        {
            snprintf(msg, sizeof msg, "pruned %s (superseded under \"keep\")",
                     json_string_value(p));
            emit(b, BACKUP_EV_PRUNED, name, json_string_value(p), msg);
        }
    }
    if (op->job->verify_restore && !b->is_closing)
        backup_drill(b, name, NULL, NULL, NULL);
}

void backup__op_finished(struct backup_op *op)
{
    struct backup *b = op->b;
    char msg[700];
    const char *name = op->job ? op->job->name : "all";
    const char *id = op->id[0] ? op->id : NULL;
    bool ok = op->rc == 0;
    switch (op->kind) {
    case BACKUP_OP_RUN:
        run_finished(b, op);
        break;
    case BACKUP_OP_VERIFY:
        snprintf(msg, sizeof msg, "%s%s",
                 ok ? "verified " : "verify failed: ", ok ? (id ? id : "") : op->err.msg);
        emit_m(b, ok ? BACKUP_EV_VERIFIED : BACKUP_EV_VERIFY_FAILED, name, id, msg,
               op->manifest);
        break;
    case BACKUP_OP_DRILL:
        json_object_set_new(job_state(b, name), "last_drill", json_integer(clock_wall_ms()));
        json_object_set_new(job_state(b, name), "last_drill_ok", json_boolean(ok));
        snprintf(msg, sizeof msg, "%s%s", ok ? "drill passed: restored " : "drill failed: ",
                 ok ? (id ? id : "") : op->err.msg);
        emit_m(b, ok ? BACKUP_EV_DRILLED : BACKUP_EV_DRILL_FAILED, name, id, msg,
               op->manifest);
        break;
    case BACKUP_OP_RESTORE:
        snprintf(msg, sizeof msg, "%s%s",
                 ok ? "restored " : "restore failed: ", ok ? (id ? id : "") : op->err.msg);
        emit(b, ok ? BACKUP_EV_RESTORED : BACKUP_EV_RESTORE_FAILED, name, id, msg);
        break;
    case BACKUP_OP_LIST:
        return;
    }
    save_state(b);
}

/* ---- closing
 * ------------------------------------------------------------------------------------------ */
static void timer_closed(uv_handle_t *h)
{
    struct backup *b = container_of((uv_timer_t *)h, struct backup, timer);
    b->loop = NULL; /* marks the timer as closed */
    maybe_free(b);
}

static void maybe_free(struct backup *b)
{
    if (!b->is_closing || b->ops || b->is_saving || b->loop)
        return;
    void (*closed)(void *) = b->closed;
    void *arg = b->closed_arg;
    cfg_backups_unref(b->jobs);
    free(b->sched);
    json_decref(b->state);
    free(b->home);
    free(b);
    if (closed)
        closed(arg);
}

static void closing_op_done(struct backup *b)
{
    if (!b->ops && b->loop && !uv_is_closing((uv_handle_t *)&b->timer))
        uv_close((uv_handle_t *)&b->timer, timer_closed);
}

void backup_close(struct backup *b, void (*closed)(void *arg), void *arg)
{
    b->is_closing = true;
    b->closed = closed;
    b->closed_arg = arg;
    uv_timer_stop(&b->timer);
    for (struct backup_op *op = b->ops; op; op = op->next) {
        backup__op_fail(op, -ECANCELED, "cancelled: tend is stopping");
        backup__op_kill(op, SIGTERM);
    }
    closing_op_done(b);
}

/* ---- status
 * --------------------------------------------------------------------------------------------- */
json_t *backup_status(const struct backup *b)
{
    json_t *jobs = json_array();
    char masked[600];
    for (size_t i = 0; b->jobs && i < b->jobs->n; i++) {
        const struct cfg_backup *j = b->jobs->jobs[i];
        json_t *st = json_object_get(b->state, j->name);
        str_mask_url(masked, sizeof masked, j->url ? j->url : "");
        const struct backup_op *run = running_op(b, j->name, BACKUP_OP_RUN);
        json_t *o = json_pack("{s:s, s:s, s:b}", "name", j->name, "source",
                              cfg_backup_source_name(j->source), "running", run != NULL);
        if (run)
            json_object_set_new(
                o, "progress",
                json_pack("{s:I, s:I, s:I}", "started", (json_int_t)run->started_ms, "bytes",
                          (json_int_t)__atomic_load_n(&run->raw_bytes, __ATOMIC_RELAXED),
                          "stored",
                          (json_int_t)__atomic_load_n(&run->packed_bytes, __ATOMIC_RELAXED)));
        json_object_set_new(o, "schedule", j->schedule ? json_string(j->schedule) : json_null());
        json_object_set_new(o, "next_run",
                            b->sched[i].run_due_ms ? json_integer(b->sched[i].run_due_ms)
                                                   : json_null());
        if (j->url)
            json_object_set_new(o, "url", json_string(masked));
        static const char *const keys[] = {"last_run",   "last_ok",       "last_error",  "last_id",
                                           "last_drill", "last_drill_ok", "last_skipped"};
        for (size_t k = 0; k < ARRAY_LEN(keys); k++) {
            json_t *v = json_object_get(st, keys[k]);
            json_object_set(o, keys[k], v ? v : json_null());
        }
        json_array_append_new(jobs, o);
    }
    return json_pack("{s:o}", "jobs", jobs);
}
