/* supervise/machine.c: the instance state machine as a table, without processes.
 *
 * sup__on_event[state][event] names the action for every (state, event) pair (STYLE.md 7,
 * s6-supervise's actions[state][event]); sup__machine_step() turns the action into the next
 * state, the timer to arm and the crash accounting (backoff.c). It touches no process, handle
 * or clock, so tests/unit/supervise/test_instance.c walks the same table that runs in
 * production; instance.c performs the effects (spawn, kill, events) and is the only caller
 * that changes an instance's state, through set_state().
 *
 * The one instance timer means, per state: starting = ready timeout, online = healthy run,
 * stopping = kill timeout, waiting = backoff delay, errored = slow retry. */
#include "supervise/supervise_int.h"

static const char *const state_name[SUP_NSTATES] = {
    [SUP_STOPPED] = "stopped",   [SUP_STARTING] = "starting", [SUP_ONLINE] = "online",
    [SUP_STOPPING] = "stopping", [SUP_WAITING] = "waiting",   [SUP_ERRORED] = "errored",
};

const char *sup_state_name(enum sup_state s)
{
    return (unsigned)s < SUP_NSTATES ? state_name[s] : "unknown";
}

static const char *const evkind_name[] = {
    [SUP_EVK_START] = "start",
    [SUP_EVK_EXIT] = "exit",
    [SUP_EVK_RESTART] = "restart",
    [SUP_EVK_ERRORED] = "errored",
    [SUP_EVK_MEMORY] = "memory",
    [SUP_EVK_CRON] = "cron",
    [SUP_EVK_WATCH] = "watch",
    [SUP_EVK_RELOAD] = "reload",
    [SUP_EVK_STOP] = "stop",
    [SUP_EVK_READY] = "ready",
    [SUP_EVK_READY_FAILED] = "ready_failed",
    [SUP_EVK_ADOPT] = "adopt",
    [SUP_EVK_KILL] = "kill",
};

const char *sup_evkind_name(enum sup_evkind k)
{
    if ((unsigned)k < sizeof evkind_name / sizeof evkind_name[0] && evkind_name[k])
        return evkind_name[k];
    return "unknown";
}

#define BUG SUP_A_BUG
#define NOTHING SUP_A_NOTHING
#define SPAWN SUP_A_SPAWN
#define RETARGET SUP_A_RETARGET

/* One row per state, one column per event: every case is visible and decided. BUG: those
 * events come only from our own handles (an exit needs a process; the timer is stopped on
 * every state change), never from outside. READY arrives only through sup__inst_ready(),
 * which ignores it outside starting, so it is `nothing` elsewhere rather than a bug. */
const enum sup_action sup__on_event[SUP_NSTATES][SUP_NEVENTS] = {
    /*                 START     READY         EXIT                STOP            TIMER   */
    [SUP_STOPPED] = {SPAWN, NOTHING, BUG, NOTHING, NOTHING},
    [SUP_STARTING] = {NOTHING, SUP_A_ONLINE, SUP_A_START_FAILED, SUP_A_KILL_TERM,
                      SUP_A_READY_TIMEOUT},
    [SUP_ONLINE] = {NOTHING, NOTHING, SUP_A_CRASHED, SUP_A_KILL_TERM, SUP_A_HEALTHY},
    [SUP_STOPPING] = {RETARGET, NOTHING, SUP_A_EXITED, RETARGET, SUP_A_KILL_HARD},
    [SUP_WAITING] = {SPAWN, NOTHING, BUG, SUP_A_CANCEL, SPAWN},
    [SUP_ERRORED] = {SPAWN, NOTHING, BUG, SUP_A_CANCEL, SPAWN},
};

static const char *const action_name[SUP_NACTIONS] = {
    [SUP_A_BUG] = "bug",
    [SUP_A_NOTHING] = "nothing",
    [SUP_A_SPAWN] = "spawn",
    [SUP_A_ONLINE] = "online",
    [SUP_A_START_FAILED] = "start_failed",
    [SUP_A_KILL_TERM] = "kill_term",
    [SUP_A_READY_TIMEOUT] = "ready_timeout",
    [SUP_A_CRASHED] = "crashed",
    [SUP_A_HEALTHY] = "healthy_run",
    [SUP_A_EXITED] = "exited",
    [SUP_A_KILL_HARD] = "kill_hard",
    [SUP_A_CANCEL] = "cancel",
    [SUP_A_RETARGET] = "retarget",
};

const char *sup__action_name(enum sup_action a)
{
    return (unsigned)a < SUP_NACTIONS ? action_name[a] : "unknown";
}

static void arm(struct sup_step *st, uint64_t ms)
{
    st->timer = SUP_TIMER_ARM;
    st->timer_ms = ms;
}

static void enter_starting(struct sup_machine *m, const struct sup_policy *p, uint64_t now_ms,
                           struct sup_step *st)
{
    m->started_ms = now_ms;
    m->healthy = false;
    m->then = SUP_THEN_STOP;
    st->next = SUP_STARTING;
    if (p->ready_timeout_ms)
        arm(st, p->ready_timeout_ms);
    else
        st->timer = SUP_TIMER_STOP;
}

/* The process is gone without tend asking (or a failed start, `forced`): restart, give up
 * (errored) or stay stopped, by policy. */
static void after_crash(struct sup_machine *m, const struct sup_policy *p,
                        const struct sup_exit *ex, bool forced, uint64_t now_ms,
                        struct sup_step *st)
{
    bool clean = ex && ex->known && ex->code == 0 && ex->signal == 0;
    m->crashed_last = false;
    st->timer = SUP_TIMER_STOP;
    if (p->restart == CFG_RESTART_NEVER ||
        (p->restart == CFG_RESTART_ON_FAILURE && clean && !forced)) {
        st->next = SUP_STOPPED;
        return;
    }
    m->crashed_last = true;
    if (sup__crash_note(m, p, now_ms)) {
        st->next = SUP_ERRORED;
        st->errored_now = true;
        if (p->errored_retry_ms)
            arm(st, p->errored_retry_ms);
        return;
    }
    st->next = SUP_WAITING;
    st->delay_ms = sup__backoff_delay(p, m->k);
    arm(st, st->delay_ms);
}

static void exited_while_stopping(struct sup_machine *m, const struct sup_policy *p,
                                  const struct sup_exit *ex, uint64_t now_ms, struct sup_step *st)
{
    switch (m->then) {
    case SUP_THEN_STOP:
        st->next = SUP_STOPPED;
        st->timer = SUP_TIMER_STOP;
        break;
    case SUP_THEN_START:
        m->restarts++;
        enter_starting(m, p, now_ms, st);
        break;
    case SUP_THEN_CRASH:
        after_crash(m, p, ex, true, now_ms, st);
        break;
    }
}

struct sup_step sup__machine_step(struct sup_machine *m, enum sup_event ev, enum sup_then then,
                                  const struct sup_policy *p, const struct sup_exit *ex,
                                  uint64_t now_ms)
{
    struct sup_step st = {.action = sup__on_event[m->state][ev], .next = m->state};
    switch (st.action) {
    case SUP_A_BUG:
    case SUP_A_NOTHING:
        break;
    case SUP_A_SPAWN:
        if (m->state == SUP_WAITING || (m->state == SUP_ERRORED && ev == SUP_EV_TIMER))
            m->restarts++;
        enter_starting(m, p, now_ms, &st);
        break;
    case SUP_A_ONLINE:
        st.next = SUP_ONLINE;
        arm(&st, sup__healthy_ms(p));
        break;
    case SUP_A_KILL_TERM:
        m->then = then;
        st.next = SUP_STOPPING;
        arm(&st, p->kill_timeout_ms);
        break;
    case SUP_A_READY_TIMEOUT:
        m->then = SUP_THEN_CRASH;
        st.next = SUP_STOPPING;
        arm(&st, p->kill_timeout_ms);
        break;
    case SUP_A_HEALTHY:
        m->k = 0;
        m->healthy = true;
        st.timer = SUP_TIMER_STOP;
        break;
    case SUP_A_START_FAILED:
    case SUP_A_CRASHED:
        after_crash(m, p, ex, false, now_ms, &st);
        break;
    case SUP_A_EXITED:
        exited_while_stopping(m, p, ex, now_ms, &st);
        break;
    case SUP_A_KILL_HARD:
        st.timer = SUP_TIMER_STOP;
        break;
    case SUP_A_CANCEL:
        st.next = SUP_STOPPED;
        st.timer = SUP_TIMER_STOP;
        break;
    case SUP_A_RETARGET:
        /* A stop that follows a restart (or a failed start) wins; a start cancels a stop. */
        m->then = ev == SUP_EV_START ? SUP_THEN_START : then;
        break;
    case SUP_NACTIONS:
        break;
    }
    return st;
}
