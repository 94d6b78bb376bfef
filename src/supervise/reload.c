/* supervise/reload.c: rolling, zero-downtime reload (PM2 lesson 3), one instance at a time.
 *
 * For an app with `port` every instance owns its port, so instance i is stopped, then started
 * again from the app's current snapshot, and the reload waits for real readiness (ready.c)
 * before moving to i+1. Without a port, a replacement for i (a "spare" instance with the same
 * number) starts first; only once it is ready is the old i stopped and the spare takes its
 * place. A replacement that crashes or is not ready within ready_timeout (the machine's timer)
 * aborts the reload: the replacement is stopped, instance i is brought back from its OLD
 * snapshot (port mode; without a port the old i never stopped), the instances not reached yet
 * are untouched, and `done` gets -TE_STATE with the reason. Progress is driven by a zero timer
 * re-armed on every state change of the app's instances, so the reload never acts inside a
 * dispatch. Events: SUP_EVK_RELOAD when an app's reload starts, finishes or aborts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"
#include "supervise/supervise_int.h"

enum phase {
    PH_BEGIN,
    PH_STOP_OLD,
    PH_WAIT_IN_PLACE,
    PH_ABORT_STOP,
    PH_ABORT_RESTORE,
    PH_WAIT_SPARE,
    PH_STOP_OLD_AFTER,
    PH_ABORT_SPARE,
    PH_INTERRUPTED
};

/* Owned by itself: freed after `done` ran and its timer closed. The current app points to it
 * (app->reload) while it works on that app. */
struct sup_reload {
    struct sup *s;
    char **names;
    size_t nnames, next_name;
    int only;            /* instance number, or -1 for all */
    struct sup_app *app; /* the app being reloaded, or NULL */
    int cur;
    enum phase phase;
    struct sup_instance *spare;
    struct cfg *old_cfg; /* the snapshot instance cur ran before (port mode) */
    const struct cfg_app *old_ca;
    uv_timer_t step;
    sup_done_fn *done;
    void *arg;
    json_t *results;
    int rc;
    struct err err;
};

static bool failed(const struct sup_instance *in)
{
    enum sup_state st = in->m.state;
    return st == SUP_WAITING || st == SUP_ERRORED || st == SUP_STOPPED;
}

static bool down(const struct sup_instance *in)
{
    return in->m.state == SUP_STOPPED && !sup__inst_live(in);
}

/* Ready enough to go on? With `ready: started` an instance is online at exec, which says
 * nothing; such a replacement must also stay up for min_uptime (PM2 lesson 3: PM2 waits a
 * fixed 3 s and calls that ready). Returns 0, or how long to wait still. */
static uint64_t unsettled_ms(const struct sup_instance *in)
{
    if (in->ca->ready != CFG_READY_STARTED)
        return 0;
    uint64_t up = clock_mono_ms() - in->m.started_ms;
    return up >= in->ca->min_uptime_ms ? 0 : in->ca->min_uptime_ms - up;
}

static void on_step(uv_timer_t *t);

/* Online and settled: true. Online but young: re-check later and return false. */
static bool ready_now(struct sup_reload *r, const struct sup_instance *in)
{
    if (in->m.state != SUP_ONLINE)
        return false;
    uint64_t wait = unsettled_ms(in);
    if (wait)
        uv_timer_start(&r->step, on_step, wait, 0);
    return wait == 0;
}

static void record(struct sup_reload *r, const struct sup_instance *in)
{
    json_array_append_new(r->results,
                          json_pack("{s:s, s:i, s:s, s:i}", "app", r->app->name, "instance", r->cur,
                                    "state", sup_state_name(in->m.state), "pid", (int)in->pid));
}

static void emit(struct sup_reload *r, const char *fmt, const char *detail)
{
    struct sup *s = r->s;
    char msg[600];
    snprintf(msg, sizeof msg, fmt, r->app->name, detail ? detail : "");
    tlog_info("supervise", "%s", msg);
    if (s->hooks.on_event)
        s->hooks.on_event(s->hooks.ctx, SUP_EVK_RELOAD, r->app->name, -1, msg);
}

static void reload_closed(uv_handle_t *h)
{
    struct sup_reload *r = h->data;
    for (size_t i = 0; i < r->nnames; i++)
        free(r->names[i]);
    free(r->names);
    free(r);
}

static void finish_all(struct sup_reload *r)
{
    json_t *res = json_pack("{s:O}", "results", r->results);
    if (r->done)
        r->done(r->arg, r->rc, res, r->rc < 0 ? &r->err : NULL);
    json_decref(res);
    json_decref(r->results);
    uv_close((uv_handle_t *)&r->step, reload_closed);
}

static void end_app(struct sup_reload *r, bool ok, const char *reason)
{
    struct sup_app *a = r->app;
    char why[sizeof r->err.msg];
    str_copy(why, reason ? reason : "", sizeof why); /* reason may be r->err.msg itself */
    cfg_unref(r->old_cfg);
    r->old_cfg = NULL;
    if (ok) {
        emit(r, "reload of %s finished%s", NULL);
    } else {
        emit(r, "reload of %s aborted: %s; the old instances keep serving", why);
        r->rc = err_set(&r->err, -TE_STATE, "reload of %s aborted: %s", a->name, why);
        err_hint(&r->err, "see the new instance's output with: tend logs %s", a->name);
        r->next_name = r->nnames; /* the remaining apps are untouched */
    }
    a->reload = NULL;
    r->app = NULL;
    sup__gc_soon(r->s);
}

/* Pick the next app (or finish). Returns false when the reload is over. */
static bool next_app(struct sup_reload *r)
{
    while (r->next_name < r->nnames) {
        struct sup_app *a = sup__app_find(r->s, r->names[r->next_name++]);
        if (!a || a->reload)
            continue;
        r->app = a;
        a->reload = r;
        r->cur = r->only >= 0 ? r->only : 0;
        r->phase = PH_BEGIN;
        emit(r, "reload of %s started%s", NULL);
        return true;
    }
    finish_all(r);
    return false;
}

static void next_instance(struct sup_reload *r)
{
    r->cur = r->only >= 0 ? r->app->ninst : r->cur + 1;
    r->phase = PH_BEGIN;
    cfg_unref(r->old_cfg);
    r->old_cfg = NULL;
}

static void begin(struct sup_reload *r)
{
    struct sup_app *a = r->app;
    struct sup_instance *in = a->inst[r->cur];
    if (in->removing || in->m.state == SUP_STOPPED) {
        next_instance(r); /* a stopped instance stays stopped */
        return;
    }
    if (in->m.state != SUP_ONLINE) {
        sup__inst_start(in, true);
        r->phase = PH_WAIT_IN_PLACE;
        return;
    }
    if (a->ca->port) {
        r->old_cfg = cfg_ref(in->cfg);
        r->old_ca = in->ca;
        sup__inst_stop(in);
        r->phase = PH_STOP_OLD;
        return;
    }
    r->spare = sup__inst_new(a, r->cur, a->cfg, a->ca);
    snprintf(r->spare->label, sizeof r->spare->label, "%s:%d(new)", a->name, r->cur);
    sup__inst_start(r->spare, false);
    r->phase = PH_WAIT_SPARE;
}

static void abort_in_place(struct sup_reload *r, struct sup_instance *in)
{
    char why[800];
    snprintf(why, sizeof why, "%s was %s%s%s", in->label, sup_state_name(in->m.state),
             in->last_error[0] ? ": " : "", in->last_error);
    str_copy(r->err.msg, why, sizeof r->err.msg);
    sup__inst_stop(in);
    r->phase = PH_ABORT_STOP;
}

/* Port mode (and instances that were not online): one instance replaced in place. */
static bool advance_in_place(struct sup_reload *r, struct sup_instance *in)
{
    switch (r->phase) {
    case PH_STOP_OLD:
        if (!down(in))
            return false;
        sup__inst_start(in, true);
        r->phase = PH_WAIT_IN_PLACE;
        return true;
    case PH_WAIT_IN_PLACE:
        if (ready_now(r, in)) {
            record(r, in);
            next_instance(r);
            return true;
        }
        if (!failed(in))
            return false;
        abort_in_place(r, in);
        return true;
    case PH_ABORT_STOP:
        if (!down(in))
            return false;
        if (!r->old_cfg) {
            record(r, in);
            end_app(r, false, r->err.msg);
            return true;
        }
        sup__inst_use_cfg(in, r->old_cfg, r->old_ca);
        sup__inst_start(in, false);
        r->phase = PH_ABORT_RESTORE;
        return true;
    default: /* PH_ABORT_RESTORE */
        if (in->m.state != SUP_ONLINE && !failed(in))
            return false;
        record(r, in);
        end_app(r, false, r->err.msg);
        return true;
    }
}

static void drop_spare(struct sup_reload *r)
{
    if (r->spare)
        sup__inst_free(r->spare);
    r->spare = NULL;
}

/* No port: a replacement beside the old instance, then the swap. */
static bool advance_spare(struct sup_reload *r, struct sup_instance *in, struct sup_instance *sp)
{
    switch (r->phase) {
    case PH_WAIT_SPARE:
        if (ready_now(r, sp)) {
            sup__inst_stop(in);
            r->phase = PH_STOP_OLD_AFTER;
            return true;
        }
        if (!failed(sp))
            return false;
        snprintf(r->err.msg, sizeof r->err.msg, "the replacement for %s was %s%s%s", in->label,
                 sup_state_name(sp->m.state), sp->last_error[0] ? ": " : "", sp->last_error);
        sup__inst_stop(sp);
        r->phase = PH_ABORT_SPARE;
        return true;
    case PH_STOP_OLD_AFTER:
        if (!down(in))
            return false;
        r->app->inst[r->cur] = sp;
        r->spare = NULL;
        snprintf(sp->label, sizeof sp->label, "%s:%d", r->app->name, r->cur);
        sup__inst_free(in);
        record(r, sp);
        next_instance(r);
        sup__state_changed(r->s);
        return true;
    default: /* PH_ABORT_SPARE, PH_INTERRUPTED */
        if (sp && !down(sp)) {
            if (r->phase == PH_INTERRUPTED)
                sup__inst_stop(sp);
            r->phase = PH_ABORT_SPARE;
            return false;
        }
        drop_spare(r);
        end_app(r, false, r->err.msg);
        return true;
    }
}

/* One move; true when another may follow at once. */
static bool advance(struct sup_reload *r)
{
    if (!r->app)
        return next_app(r);
    struct sup_app *a = r->app;
    if (r->phase != PH_INTERRUPTED && r->phase != PH_ABORT_SPARE && r->cur >= a->ninst) {
        end_app(r, true, NULL);
        return true;
    }
    struct sup_instance *in = r->cur < a->ninst ? a->inst[r->cur] : NULL;
    switch (r->phase) {
    case PH_BEGIN:
        begin(r);
        return true;
    case PH_STOP_OLD:
    case PH_WAIT_IN_PLACE:
    case PH_ABORT_STOP:
    case PH_ABORT_RESTORE:
        return advance_in_place(r, in);
    default:
        return advance_spare(r, in, r->spare);
    }
}

static void on_step(uv_timer_t *t)
{
    struct sup_reload *r = t->data;
    while (advance(r))
        if (!r->app && r->next_name >= r->nnames) {
            finish_all(r);
            return;
        }
}

int sup__reload(struct sup *s, struct sup_app *app, int index, sup_done_fn *done, void *arg,
                struct err *err)
{
    if (app && app->reload)
        return err_set(err, -TE_STATE, "cannot reload %s: a reload of it is already running",
                       app->name);
    struct sup_reload *r = xcalloc(1, sizeof *r);
    r->s = s;
    r->only = app ? index : -1;
    r->done = done;
    r->arg = arg;
    r->results = json_array();
    size_t n = 0;
    for (struct sup_app *a = s->apps; a; a = a->next)
        n++;
    r->names = xcalloc(n + 1, sizeof *r->names);
    for (struct sup_app *a = s->apps; a; a = a->next)
        if (!a->deleting && (!app || a == app))
            r->names[r->nnames++] = str_dup(a->name);
    uv_timer_init(s->loop, &r->step);
    r->step.data = r;
    uv_timer_start(&r->step, on_step, 0, 0);
    return 0;
}

void sup__reload_notify(struct sup_instance *in)
{
    struct sup_reload *r = in->app->reload;
    if (r && !uv_is_closing((uv_handle_t *)&r->step))
        uv_timer_start(&r->step, on_step, 0, 0);
}

void sup__reload_abort_app(struct sup_app *a)
{
    struct sup_reload *r = a->reload;
    if (!r || r->phase == PH_INTERRUPTED)
        return;
    r->phase = PH_INTERRUPTED;
    str_copy(r->err.msg, "interrupted by another command", sizeof r->err.msg);
    uv_timer_start(&r->step, on_step, 0, 0);
}

void sup__reload_detach(struct sup_app *a)
{
    struct sup_reload *r = a->reload;
    if (!r)
        return;
    /* Shutdown without stopping apps: a replacement in flight is left running as it is (it is
     * not in state.json, so the next daemon will not adopt it: a known gap). */
    if (r->spare)
        sup__inst_free(r->spare);
    r->spare = NULL;
    cfg_unref(r->old_cfg);
    r->old_cfg = NULL;
    a->reload = NULL;
    r->app = NULL;
    r->next_name = r->nnames;
    r->rc =
        err_set(&r->err, -TE_STATE, "reload of %s interrupted: the daemon is stopping", a->name);
    uv_timer_stop(&r->step);
    finish_all(r);
}

struct sup_instance *sup__reload_spare(struct sup_app *a)
{
    return a->reload ? a->reload->spare : NULL;
}
