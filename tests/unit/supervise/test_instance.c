/* tests/unit/supervise/test_instance.c: the instance state machine, walked as a table.
 *
 * Every (state, event) pair of machine.c's table is listed here with the action, the next
 * state and the timer it must produce (STYLE.md 9: state machines are tested as a table), plus
 * the cases where the outcome depends on the exit and the policy (on-failure, never, a stop
 * that is a restart, a failed readiness that counts as a crash). No process is involved: the
 * pure step function runs the same table production runs. */
#include <string.h>

#include "supervise/supervise_int.h"
#include "unit.h"

static struct sup_policy policy(void)
{
    struct sup_policy p = {.restart = CFG_RESTART_ALWAYS,
                           .max_restarts = 10,
                           .restart_window_ms = 60000,
                           .min_uptime_ms = 1000,
                           .restart_delay_ms = 0,
                           .backoff = true,
                           .backoff_max_ms = 30000,
                           .errored_retry_ms = 300000,
                           .kill_timeout_ms = 5000,
                           .ready_timeout_ms = 30000};
    return p;
}

struct row {
    enum sup_state from;
    enum sup_event ev;
    enum sup_action action;
    enum sup_state next;
    enum sup_timer_op timer;
    uint64_t timer_ms;
};

#define KEEP SUP_TIMER_KEEP
#define STOP SUP_TIMER_STOP
#define ARM SUP_TIMER_ARM

/* The exit used for EXIT rows: code 1 after 500 ms of run (a quick crash). */
static const struct row table[] = {
    {SUP_STOPPED, SUP_EV_START, SUP_A_SPAWN, SUP_STARTING, ARM, 30000},
    {SUP_STOPPED, SUP_EV_READY, SUP_A_NOTHING, SUP_STOPPED, KEEP, 0},
    {SUP_STOPPED, SUP_EV_EXIT, SUP_A_BUG, SUP_STOPPED, KEEP, 0},
    {SUP_STOPPED, SUP_EV_STOP, SUP_A_NOTHING, SUP_STOPPED, KEEP, 0},
    {SUP_STOPPED, SUP_EV_TIMER, SUP_A_NOTHING, SUP_STOPPED, KEEP, 0},
    {SUP_STARTING, SUP_EV_START, SUP_A_NOTHING, SUP_STARTING, KEEP, 0},
    {SUP_STARTING, SUP_EV_READY, SUP_A_ONLINE, SUP_ONLINE, ARM, 10000},
    {SUP_STARTING, SUP_EV_EXIT, SUP_A_START_FAILED, SUP_WAITING, ARM, 100},
    {SUP_STARTING, SUP_EV_STOP, SUP_A_KILL_TERM, SUP_STOPPING, ARM, 5000},
    {SUP_STARTING, SUP_EV_TIMER, SUP_A_READY_TIMEOUT, SUP_STOPPING, ARM, 5000},
    {SUP_ONLINE, SUP_EV_START, SUP_A_NOTHING, SUP_ONLINE, KEEP, 0},
    {SUP_ONLINE, SUP_EV_READY, SUP_A_NOTHING, SUP_ONLINE, KEEP, 0},
    {SUP_ONLINE, SUP_EV_EXIT, SUP_A_CRASHED, SUP_WAITING, ARM, 100},
    {SUP_ONLINE, SUP_EV_STOP, SUP_A_KILL_TERM, SUP_STOPPING, ARM, 5000},
    {SUP_ONLINE, SUP_EV_TIMER, SUP_A_HEALTHY, SUP_ONLINE, STOP, 0},
    {SUP_STOPPING, SUP_EV_START, SUP_A_RETARGET, SUP_STOPPING, KEEP, 0},
    {SUP_STOPPING, SUP_EV_READY, SUP_A_NOTHING, SUP_STOPPING, KEEP, 0},
    {SUP_STOPPING, SUP_EV_EXIT, SUP_A_EXITED, SUP_STOPPED, STOP, 0},
    {SUP_STOPPING, SUP_EV_STOP, SUP_A_RETARGET, SUP_STOPPING, KEEP, 0},
    {SUP_STOPPING, SUP_EV_TIMER, SUP_A_KILL_HARD, SUP_STOPPING, STOP, 0},
    {SUP_WAITING, SUP_EV_START, SUP_A_SPAWN, SUP_STARTING, ARM, 30000},
    {SUP_WAITING, SUP_EV_READY, SUP_A_NOTHING, SUP_WAITING, KEEP, 0},
    {SUP_WAITING, SUP_EV_EXIT, SUP_A_BUG, SUP_WAITING, KEEP, 0},
    {SUP_WAITING, SUP_EV_STOP, SUP_A_CANCEL, SUP_STOPPED, STOP, 0},
    {SUP_WAITING, SUP_EV_TIMER, SUP_A_SPAWN, SUP_STARTING, ARM, 30000},
    {SUP_ERRORED, SUP_EV_START, SUP_A_SPAWN, SUP_STARTING, ARM, 30000},
    {SUP_ERRORED, SUP_EV_READY, SUP_A_NOTHING, SUP_ERRORED, KEEP, 0},
    {SUP_ERRORED, SUP_EV_EXIT, SUP_A_BUG, SUP_ERRORED, KEEP, 0},
    {SUP_ERRORED, SUP_EV_STOP, SUP_A_CANCEL, SUP_STOPPED, STOP, 0},
    {SUP_ERRORED, SUP_EV_TIMER, SUP_A_SPAWN, SUP_STARTING, ARM, 30000},
};

static struct sup_step step_from(enum sup_state st, enum sup_event ev, const struct sup_exit *ex,
                                 enum sup_then then, struct sup_machine *m,
                                 const struct sup_policy *p)
{
    memset(m, 0, sizeof *m);
    m->state = st;
    m->then = SUP_THEN_STOP;
    m->started_ms = 100000;
    return sup__machine_step(m, ev, then, p, ex, 100500);
}

TEST(every_cell_of_the_table)
{
    struct sup_policy p = policy();
    struct sup_exit crash = {.known = true, .code = 1};
    CHECK_INT((sizeof table / sizeof table[0]), SUP_NSTATES * SUP_NEVENTS);
    for (size_t i = 0; i < (sizeof table / sizeof table[0]); i++) {
        const struct row *r = &table[i];
        struct sup_machine m;
        struct sup_step st = step_from(r->from, r->ev, &crash, SUP_THEN_STOP, &m, &p);
        if (st.action != r->action || st.next != r->next || st.timer != r->timer ||
            (r->timer == ARM && st.timer_ms != r->timer_ms))
            UNIT_FAIL("%s + event %d: got %s -> %s timer %d/%llu, expected %s -> %s timer "
                      "%d/%llu",
                      sup_state_name(r->from), r->ev, sup__action_name(st.action),
                      sup_state_name(st.next), st.timer, (unsigned long long)st.timer_ms,
                      sup__action_name(r->action), sup_state_name(r->next), r->timer,
                      (unsigned long long)r->timer_ms);
    }
}

TEST(bugs_only_where_no_process_exists)
{
    for (int s = 0; s < SUP_NSTATES; s++)
        for (int e = 0; e < SUP_NEVENTS; e++) {
            bool no_process = s == SUP_STOPPED || s == SUP_WAITING || s == SUP_ERRORED;
            bool is_bug = sup__on_event[s][e] == SUP_A_BUG;
            CHECK(is_bug == (no_process && e == SUP_EV_EXIT));
        }
}

TEST(names)
{
    CHECK_STR(sup_state_name(SUP_STOPPED), "stopped");
    CHECK_STR(sup_state_name(SUP_ERRORED), "errored");
    CHECK_STR(sup_state_name(SUP_NSTATES), "unknown");
    CHECK_STR(sup_evkind_name(SUP_EVK_READY_FAILED), "ready_failed");
    CHECK_STR(sup_evkind_name(SUP_EVK_KILL), "kill");
    CHECK_STR(sup_evkind_name((enum sup_evkind)99), "unknown");
}

TEST(on_failure_clean_exit_stays_stopped)
{
    struct sup_policy p = policy();
    p.restart = CFG_RESTART_ON_FAILURE;
    struct sup_machine m;
    struct sup_exit clean = {.known = true, .code = 0};
    struct sup_step st = step_from(SUP_ONLINE, SUP_EV_EXIT, &clean, SUP_THEN_STOP, &m, &p);
    CHECK_INT(st.next, SUP_STOPPED);
    struct sup_exit sig = {.known = true, .code = -1, .signal = 9};
    st = step_from(SUP_ONLINE, SUP_EV_EXIT, &sig, SUP_THEN_STOP, &m, &p);
    CHECK_INT(st.next, SUP_WAITING);
    struct sup_exit unknown = {.known = false, .code = -1};
    st = step_from(SUP_ONLINE, SUP_EV_EXIT, &unknown, SUP_THEN_STOP, &m, &p);
    CHECK_INT(st.next, SUP_WAITING); /* adopted: status unknown counts as a failure */
}

TEST(always_restarts_a_clean_exit_and_never_does_not_restart)
{
    struct sup_policy p = policy();
    struct sup_machine m;
    struct sup_exit clean = {.known = true, .code = 0};
    CHECK_INT(step_from(SUP_ONLINE, SUP_EV_EXIT, &clean, SUP_THEN_STOP, &m, &p).next, SUP_WAITING);
    p.restart = CFG_RESTART_NEVER;
    struct sup_exit crash = {.known = true, .code = 3};
    CHECK_INT(step_from(SUP_ONLINE, SUP_EV_EXIT, &crash, SUP_THEN_STOP, &m, &p).next, SUP_STOPPED);
    CHECK_INT(step_from(SUP_STARTING, SUP_EV_EXIT, &crash, SUP_THEN_STOP, &m, &p).next,
              SUP_STOPPED);
}

TEST(stop_then_start_is_a_restart)
{
    struct sup_policy p = policy();
    struct sup_machine m;
    struct sup_exit ex = {.known = true, .code = -1, .signal = 15};
    memset(&m, 0, sizeof m);
    m.state = SUP_ONLINE;
    struct sup_step st = sup__machine_step(&m, SUP_EV_STOP, SUP_THEN_START, &p, NULL, 1000);
    CHECK_INT(st.action, SUP_A_KILL_TERM);
    m.state = st.next;
    st = sup__machine_step(&m, SUP_EV_EXIT, SUP_THEN_STOP, &p, &ex, 1200);
    CHECK_INT(st.action, SUP_A_EXITED);
    CHECK_INT(st.next, SUP_STARTING);
    CHECK_INT(m.restarts, 1);
    CHECK_INT(m.k, 0); /* a requested restart is no crash */
}

TEST(a_stop_during_a_restart_wins)
{
    struct sup_policy p = policy();
    struct sup_machine m;
    memset(&m, 0, sizeof m);
    m.state = SUP_STOPPING;
    m.then = SUP_THEN_START;
    sup__machine_step(&m, SUP_EV_STOP, SUP_THEN_STOP, &p, NULL, 0);
    CHECK_INT(m.then, SUP_THEN_STOP);
    sup__machine_step(&m, SUP_EV_START, SUP_THEN_STOP, &p, NULL, 0);
    CHECK_INT(m.then, SUP_THEN_START);
}

TEST(ready_timeout_counts_as_a_crash)
{
    struct sup_policy p = policy();
    p.restart = CFG_RESTART_ON_FAILURE;
    struct sup_machine m;
    memset(&m, 0, sizeof m);
    m.state = SUP_STARTING;
    struct sup_step st = sup__machine_step(&m, SUP_EV_TIMER, SUP_THEN_STOP, &p, NULL, 30000);
    CHECK_INT(st.next, SUP_STOPPING);
    CHECK_INT(m.then, SUP_THEN_CRASH);
    m.state = st.next;
    struct sup_exit clean = {.known = true, .code = 0}; /* exits 0 on SIGTERM */
    st = sup__machine_step(&m, SUP_EV_EXIT, SUP_THEN_STOP, &p, &clean, 30100);
    CHECK_INT(st.next, SUP_WAITING);
    CHECK_INT(m.k, 1);
}

TEST(ready_timeout_zero_means_no_timer)
{
    struct sup_policy p = policy();
    p.ready_timeout_ms = 0;
    struct sup_machine m;
    struct sup_step st = step_from(SUP_STOPPED, SUP_EV_START, NULL, SUP_THEN_STOP, &m, &p);
    CHECK_INT(st.timer, SUP_TIMER_STOP);
}

int main(void)
{
    RUN(every_cell_of_the_table);
    RUN(bugs_only_where_no_process_exists);
    RUN(names);
    RUN(on_failure_clean_exit_stays_stopped);
    RUN(always_restarts_a_clean_exit_and_never_does_not_restart);
    RUN(stop_then_start_is_a_restart);
    RUN(a_stop_during_a_restart_wins);
    RUN(ready_timeout_counts_as_a_crash);
    RUN(ready_timeout_zero_means_no_timer);
    return unit_done();
}
