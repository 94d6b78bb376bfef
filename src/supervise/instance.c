/* supervise/instance.c: the life of one instance of an app.
 *
 * An instance is one process group started from its app's config snapshot; machine.c's table
 * decides what each event means in each state and this file performs the effects: spawn
 * (spawn.c), signals to the whole process group, events, the state timer. Every state change
 * goes through set_state(), which logs it, tells waiting verbs (op.c) and the rolling reload,
 * and schedules a state.json write. Crashes count over the app's whole life (backoff.c).
 *
 * Invariants: at most one live process group per instance (a spawn happens only from states
 * without a process); an instance is freed only when it has no process and its handles are
 * closed. Effects may dispatch further events (a failed exec is an exit right away); they do so
 * only after the state of the current step is set. */
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"
#include "supervise/supervise_int.h"

void sup__emit(struct sup_instance *in, enum sup_evkind kind, const char *fmt, ...)
{
    struct sup *s = in->app->s;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (s->hooks.on_event)
        s->hooks.on_event(s->hooks.ctx, kind, in->app->name, in->index, msg);
}

bool sup__inst_live(const struct sup_instance *in)
{
    return in->pid > 0;
}

static void set_state(struct sup_instance *in, enum sup_state to)
{
    enum sup_state from = in->m.state;
    if (from == to)
        return;
    tlog_info("supervise", "%s: %s -> %s", in->label, sup_state_name(from), sup_state_name(to));
    in->m.state = to;
    sup__state_changed(in->app->s);
    sup__ops_notify(in->app->s, in);
    sup__reload_notify(in);
    if (to == SUP_STOPPED && (in->removing || in->app->deleting || in->app->s->shutting_down))
        sup__gc_soon(in->app->s);
}

static void on_timer(uv_timer_t *t)
{
    struct sup_instance *in = container_of(t, struct sup_instance, timer);
    sup__dispatch(in, SUP_EV_TIMER, SUP_THEN_STOP);
}

static void signal_group(struct sup_instance *in, int sig)
{
    if (in->pid <= 0)
        return;
    /* pgid == pid: every instance is a session and group leader (spawn.c calls setsid). */
    if (kill(-in->pid, sig) < 0 && errno != ESRCH)
        tlog_warn("supervise", "%s: cannot send %s to group %d: %s", in->label,
                  cfg_signal_name(sig), (int)in->pid, strerror(errno));
    if (sig == SIGKILL)
        sup__tree_kill(in, SIGKILL);
}

static void take_next_cfg(struct sup_instance *in);

static void do_spawn(struct sup_instance *in)
{
    struct err err = {0};
    in->last_error[0] = '\0';
    take_next_cfg(in);
    if (sup__spawn(in, &err) < 0) {
        str_copy(in->last_error, err.msg, sizeof in->last_error);
        tlog_error("supervise", "cannot start %s: %s", in->label, err.msg);
        sup__emit(in, SUP_EVK_EXIT, "cannot start %s: %s", in->label, err.msg);
        struct sup_exit ex = {.known = true, .code = 127, .signal = 0};
        in->last_exit = ex;
        sup__dispatch(in, SUP_EV_EXIT, SUP_THEN_STOP);
        return;
    }
    sup__emit(in, SUP_EVK_START, "%s started with pid %d", in->label, (int)in->pid);
    sup__state_changed(in->app->s);
    if (sup__ready_start(in))
        sup__dispatch(in, SUP_EV_READY, SUP_THEN_STOP);
}

static void fmt_exit(const struct sup_exit *ex, char *dst, size_t size)
{
    if (!ex->known)
        snprintf(dst, size, "exited (status unknown: adopted)");
    else if (ex->signal)
        snprintf(dst, size, "was killed by %s", cfg_signal_name(ex->signal));
    else
        snprintf(dst, size, "exited with code %d", ex->code);
}

/* What happened after an exit that was not a requested stop. */
static void report_outcome(struct sup_instance *in, const struct sup_step *st)
{
    struct sup_policy p;
    sup__policy_from_cfg(&p, in->ca);
    char what[120];
    fmt_exit(&in->last_exit, what, sizeof what);
    uint64_t now = clock_mono_ms();
    if (st->next == SUP_WAITING) {
        tlog_warn("supervise", "%s %s; restart %d/%d in %llums", in->label, what,
                  sup__crash_count(&in->m, &p, now), p.max_restarts,
                  (unsigned long long)st->delay_ms);
        sup__emit(in, SUP_EVK_RESTART, "%s %s; restart in %llums", in->label, what,
                  (unsigned long long)st->delay_ms);
    } else if (st->next == SUP_ERRORED) {
        tlog_error("supervise", "%s %s; %d restarts in a row or within %llus: errored%s", in->label,
                   what, in->m.k, (unsigned long long)p.restart_window_ms / 1000,
                   p.errored_retry_ms ? ", will retry later" : "");
        if (p.errored_retry_ms)
            sup__emit(in, SUP_EVK_ERRORED, "%s keeps crashing (%s); retrying in %llus", in->label,
                      what, (unsigned long long)p.errored_retry_ms / 1000);
        else
            sup__emit(in, SUP_EVK_ERRORED, "%s keeps crashing (%s); not retrying", in->label, what);
    } else if (st->next == SUP_STOPPED) {
        tlog_info("supervise", "%s %s; restart policy leaves it stopped", in->label, what);
    }
}

static void kill_term(struct sup_instance *in)
{
    sup__ready_cancel(in);
    sup__tree_snapshot(in);
    if (in->m.then == SUP_THEN_STOP)
        sup__emit(in, SUP_EVK_STOP, "stopping %s (%s)", in->label,
                  cfg_signal_name(in->ca->kill_signal));
    signal_group(in, in->ca->kill_signal);
}

static void perform(struct sup_instance *in, const struct sup_step *st, enum sup_state from)
{
    switch (st->action) {
    case SUP_A_SPAWN:
        do_spawn(in);
        break;
    case SUP_A_ONLINE:
        sup__ready_cancel(in);
        in->online_ms = clock_mono_ms();
        sup__emit(in, SUP_EVK_READY, "%s is online (pid %d)", in->label, (int)in->pid);
        break;
    case SUP_A_READY_TIMEOUT:
        snprintf(in->last_error, sizeof in->last_error, "not ready within %llums",
                 (unsigned long long)in->ca->ready_timeout_ms);
        sup__emit(in, SUP_EVK_READY_FAILED, "%s was %s", in->label, in->last_error);
        kill_term(in);
        break;
    case SUP_A_KILL_TERM:
        kill_term(in);
        break;
    case SUP_A_KILL_HARD:
        tlog_warn("supervise", "%s did not stop within %llums; sending SIGKILL", in->label,
                  (unsigned long long)in->ca->kill_timeout_ms);
        sup__emit(in, SUP_EVK_KILL, "%s did not stop within %llums: SIGKILL", in->label,
                  (unsigned long long)in->ca->kill_timeout_ms);
        signal_group(in, SIGKILL);
        break;
    case SUP_A_START_FAILED:
    case SUP_A_CRASHED:
        report_outcome(in, st);
        break;
    case SUP_A_EXITED:
        if (st->next == SUP_STARTING)
            do_spawn(in);
        else if (st->next != SUP_STOPPED)
            report_outcome(in, st);
        break;
    case SUP_A_CANCEL:
        if (from == SUP_ERRORED || from == SUP_WAITING)
            sup__emit(in, SUP_EVK_STOP, "%s stopped (was %s)", in->label, sup_state_name(from));
        break;
    default:
        break;
    }
}

void sup__dispatch(struct sup_instance *in, enum sup_event ev, enum sup_then then)
{
    struct sup_policy p;
    sup__policy_from_cfg(&p, in->ca);
    enum sup_state from = in->m.state;
    struct sup_step st = sup__machine_step(
        &in->m, ev, then, &p, ev == SUP_EV_EXIT ? &in->last_exit : NULL, clock_mono_ms());
    assert(st.action != SUP_A_BUG);
    if (st.action == SUP_A_NOTHING)
        return;
    if (st.timer == SUP_TIMER_STOP)
        uv_timer_stop(&in->timer);
    else if (st.timer == SUP_TIMER_ARM)
        uv_timer_start(&in->timer, on_timer, st.timer_ms, 0);
    set_state(in, st.next);
    perform(in, &st, from);
}

void sup__inst_use_cfg(struct sup_instance *in, struct cfg *cfg, const struct cfg_app *ca)
{
    struct cfg *old = in->next_cfg;
    in->next_cfg = cfg_ref(cfg);
    in->next_ca = ca;
    cfg_unref(old);
}

/* A new run starts from the pending snapshot, if any. */
static void take_next_cfg(struct sup_instance *in)
{
    if (!in->next_cfg)
        return;
    cfg_unref(in->cfg);
    in->cfg = in->next_cfg;
    in->ca = in->next_ca;
    in->next_cfg = NULL;
    in->next_ca = NULL;
}

void sup__inst_start(struct sup_instance *in, bool by_person)
{
    if (by_person) {
        sup__machine_reset(&in->m);
        sup__inst_use_cfg(in, in->app->cfg, in->app->ca);
        if (!sup__inst_live(in))
            take_next_cfg(in); /* the policy of this start is the new one */
    }
    sup__dispatch(in, SUP_EV_START, SUP_THEN_START);
}

void sup__inst_stop(struct sup_instance *in)
{
    sup__dispatch(in, SUP_EV_STOP, SUP_THEN_STOP);
}

void sup__inst_restart(struct sup_instance *in, enum sup_evkind why, const char *msg)
{
    if (why && msg)
        sup__emit(in, why, "%s", msg);
    if (sup__inst_live(in)) {
        if (in->m.state == SUP_STOPPING) {
            sup__dispatch(in, SUP_EV_START, SUP_THEN_START);
            return;
        }
        sup__dispatch(in, SUP_EV_STOP, SUP_THEN_START);
        return;
    }
    sup__dispatch(in, SUP_EV_START, SUP_THEN_START);
}

void sup__inst_exited(struct sup_instance *in, const struct sup_exit *ex)
{
    char what[120];
    fmt_exit(ex, what, sizeof what);
    in->last_exit = *ex;
    tlog_info("supervise", "%s (pid %d) %s", in->label, (int)in->pid, what);
    sup__emit(in, SUP_EVK_EXIT, "%s (pid %d) %s", in->label, (int)in->pid, what);
    sup__ready_cancel(in);
    sup__after_exit(in); /* pid = 0, pipes, keeper, leftovers */
    sup__state_changed(in->app->s);
    sup__dispatch(in, SUP_EV_EXIT, SUP_THEN_STOP);
}

void sup__inst_ready(struct sup_instance *in, bool ok, const char *why)
{
    if (in->m.state != SUP_STARTING)
        return;
    if (ok) {
        sup__dispatch(in, SUP_EV_READY, SUP_THEN_STOP);
        return;
    }
    /* A readiness check that failed for good (bad URL): same as a ready timeout. */
    str_copy(in->last_error, why ? why : "readiness check failed", sizeof in->last_error);
    sup__dispatch(in, SUP_EV_TIMER, SUP_THEN_STOP);
}

struct sup_instance *sup__inst_new(struct sup_app *app, int index, struct cfg *cfg,
                                   const struct cfg_app *ca)
{
    struct sup_instance *in = xcalloc(1, sizeof *in);
    in->app = app;
    in->index = index;
    snprintf(in->label, sizeof in->label, "%s:%d", app->name, index);
    in->cfg = cfg_ref(cfg);
    in->ca = ca;
    in->m.state = SUP_STOPPED;
    in->hold_out = in->hold_err = -1;
    uv_timer_init(app->s->loop, &in->timer);
    return in;
}

static void inst_closed(uv_handle_t *h)
{
    struct sup_instance *in = h->data;
    if (--in->closing > 0)
        return;
    cfg_unref(in->cfg);
    cfg_unref(in->next_cfg);
    free(in->tree);
    free(in->tree_start);
    free(in);
}

void sup__inst_free(struct sup_instance *in)
{
    if (!in)
        return;
    sup__ops_forget(in->app->s, in);
    sup__ready_cancel(in);
    if (in->hold_out >= 0)
        close(in->hold_out);
    if (in->hold_err >= 0)
        close(in->hold_err);
    in->hold_out = in->hold_err = -1;
    in->closing = 1;
    in->timer.data = in;
    uv_timer_stop(&in->timer);
    sup__adopt_unwatch(in);
    uv_close((uv_handle_t *)&in->timer, inst_closed);
}

void sup__inst_adopt(struct sup_instance *in, pid_t pid, unsigned long long start_ticks,
                     uint64_t age_ms, bool starting)
{
    struct sup_policy p;
    sup__policy_from_cfg(&p, in->ca);
    uint64_t now = clock_mono_ms();
    in->pid = pid;
    in->start_ticks = start_ticks;
    in->adopted = true;
    in->m.started_ms = now > age_ms ? now - age_ms : 0;
    in->online_ms = in->m.started_ms;
    in->started_wall_ms = clock_wall_ms() - (int64_t)age_ms;
    tlog_info("supervise", "%s: adopted pid %d (running for %llus%s)", in->label, (int)pid,
              (unsigned long long)age_ms / 1000, starting ? ", not ready yet" : "");
    sup__emit(in, SUP_EVK_ADOPT, "%s (pid %d) found running after a daemon restart", in->label,
              (int)pid);
    /* Not through set_state: this is no transition, the instance was in this state all along.
     * One that was still starting (a reload's replacement, say) is not online until its
     * readiness check passes here too, within what is left of its ready_timeout. A notify app
     * may have sent READY=1 to the dead daemon, so it is taken as online rather than killed. */
    if (starting && in->ca->ready != CFG_READY_NOTIFY) {
        in->m.state = SUP_STARTING;
        uint64_t left = p.ready_timeout_ms > age_ms ? p.ready_timeout_ms - age_ms : 0;
        uv_timer_start(&in->timer, on_timer, left, 0);
        if (sup__ready_start(in))
            sup__dispatch(in, SUP_EV_READY, SUP_THEN_STOP);
        return;
    }
    in->m.state = SUP_ONLINE;
    uint64_t healthy = sup__healthy_ms(&p);
    uv_timer_start(&in->timer, on_timer, age_ms >= healthy ? 0 : healthy - age_ms, 0);
}
