/* tests/unit/supervise/test_backoff.c: restart delays, crash counting and errored.
 *
 * Drives the pure machine through crash loops with the fake clock of core/clock.h, so minutes
 * of backoff run in microseconds: the delay sequence and its cap, restart_delay added, the
 * window count (more than max_restarts crashes in restart_window -> errored), the consecutive
 * count that backoff cannot hide, the reset after a healthy run, the slow retry from errored,
 * and a person's start forgetting the history. */
#include <string.h>

#include "core/clock.h"
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

static const struct sup_exit crash = {.known = true, .code = 1};

/* Spawn (from stopped or waiting), become ready, run for `run_ms`, crash. */
static struct sup_step run_and_crash(struct sup_machine *m, const struct sup_policy *p,
                                     uint64_t run_ms)
{
    struct sup_step st = sup__machine_step(m, m->state == SUP_STOPPED ? SUP_EV_START : SUP_EV_TIMER,
                                           SUP_THEN_STOP, p, NULL, clock_mono_ms());
    m->state = st.next;
    st = sup__machine_step(m, SUP_EV_READY, SUP_THEN_STOP, p, NULL, clock_mono_ms());
    m->state = st.next;
    if (run_ms >= sup__healthy_ms(p)) {
        clock_fake_advance(sup__healthy_ms(p));
        st = sup__machine_step(m, SUP_EV_TIMER, SUP_THEN_STOP, p, NULL, clock_mono_ms());
        m->state = st.next;
        run_ms -= sup__healthy_ms(p);
    }
    clock_fake_advance(run_ms);
    st = sup__machine_step(m, SUP_EV_EXIT, SUP_THEN_STOP, p, &crash, clock_mono_ms());
    m->state = st.next;
    return st;
}

TEST(delay_sequence_and_cap)
{
    struct sup_policy p = policy();
    const uint64_t want[] = {0, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000};
    for (int k = 0; k < 12; k++)
        CHECK_INT(sup__backoff_delay(&p, k), want[k]);
    CHECK_INT(sup__backoff_delay(&p, 1000), 30000); /* no overflow */
    p.restart_delay_ms = 500;
    CHECK_INT(sup__backoff_delay(&p, 0), 500);
    CHECK_INT(sup__backoff_delay(&p, 3), 900);
    p.backoff = false;
    CHECK_INT(sup__backoff_delay(&p, 7), 500);
}

TEST(crash_loop_backs_off_then_goes_errored)
{
    struct sup_policy p = policy();
    struct sup_machine m;
    memset(&m, 0, sizeof m);
    clock_fake_set(1000000, 1700000000000);
    uint64_t expect = 100;
    for (int i = 1; i <= 10; i++) {
        struct sup_step st = run_and_crash(&m, &p, 200);
        CHECK_INT(st.next, SUP_WAITING);
        CHECK_INT(st.delay_ms, expect > 30000 ? 30000 : expect);
        CHECK_INT(m.k, i);
        expect *= 2;
        clock_fake_advance(st.delay_ms);
    }
    /* The 11th consecutive quick crash: errored, even though backoff spread the crashes over
     * more than restart_window (that alone would never reach 11 in 60s). */
    struct sup_step st = run_and_crash(&m, &p, 200);
    CHECK_INT(st.next, SUP_ERRORED);
    CHECK(st.errored_now);
    CHECK_INT(st.timer, SUP_TIMER_ARM);
    CHECK_INT(st.timer_ms, 300000);
    CHECK_INT(m.restarts, 10);
    CHECK_INT(m.unstable, 11);
    clock_fake_off();
}

TEST(window_counts_crashes_of_any_uptime)
{
    struct sup_policy p = policy();
    p.backoff = false;
    p.max_restarts = 3;
    p.restart_window_ms = 60000;
    struct sup_machine m;
    memset(&m, 0, sizeof m);
    clock_fake_set(1000000, 1700000000000);
    /* Healthy runs (k stays 0) but 4 crashes within a minute: errored by the window. */
    for (int i = 0; i < 3; i++)
        CHECK_INT(run_and_crash(&m, &p, 12000).next, SUP_WAITING);
    CHECK_INT(m.k, 0);
    CHECK_INT(run_and_crash(&m, &p, 12000).next, SUP_ERRORED);
    clock_fake_off();
}

TEST(old_crashes_leave_the_window)
{
    struct sup_policy p = policy();
    p.max_restarts = 2;
    struct sup_machine m;
    memset(&m, 0, sizeof m);
    clock_fake_set(1000000, 1700000000000);
    for (int i = 0; i < 10; i++) {
        struct sup_step st = run_and_crash(&m, &p, 40000); /* healthy, one crash / 40 s */
        CHECK_INT(st.next, SUP_WAITING);
        CHECK_INT(st.delay_ms, 0); /* not a quick crash: restart_delay only */
    }
    CHECK_INT(sup__crash_count(&m, &p, clock_mono_ms()), 2);
    clock_fake_off();
}

TEST(healthy_run_resets_backoff)
{
    struct sup_policy p = policy();
    struct sup_machine m;
    memset(&m, 0, sizeof m);
    clock_fake_set(1000000, 1700000000000);
    for (int i = 0; i < 5; i++)
        clock_fake_advance(run_and_crash(&m, &p, 100).delay_ms);
    CHECK_INT(m.k, 5);
    /* One hour up, then a crash: restart at once (restart_delay), not after 3.2 s; a crash at
     * boot right after that is the first quick one again. */
    struct sup_step st = run_and_crash(&m, &p, 3600000);
    CHECK_INT(st.next, SUP_WAITING);
    CHECK_INT(m.k, 0);
    CHECK_INT(st.delay_ms, 0);
    st = run_and_crash(&m, &p, 100);
    CHECK_INT(m.k, 1);
    CHECK_INT(st.delay_ms, 100);
    clock_fake_off();
}

TEST(errored_retries_slowly_one_attempt_each_time)
{
    struct sup_policy p = policy();
    p.max_restarts = 1;
    struct sup_machine m;
    memset(&m, 0, sizeof m);
    clock_fake_set(1000000, 1700000000000);
    clock_fake_advance(run_and_crash(&m, &p, 100).delay_ms);
    CHECK_INT(run_and_crash(&m, &p, 100).next, SUP_ERRORED);
    clock_fake_advance(300000); /* errored_retry: the TIMER spawns again */
    struct sup_step st = run_and_crash(&m, &p, 100);
    CHECK_INT(st.next, SUP_ERRORED); /* k is kept: straight back */
    CHECK_INT(m.restarts, 2);
    /* The database came back: the retry runs healthy and the instance stays up. */
    clock_fake_advance(300000);
    st = sup__machine_step(&m, SUP_EV_TIMER, SUP_THEN_STOP, &p, NULL, clock_mono_ms());
    CHECK_INT(st.next, SUP_STARTING);
    p.errored_retry_ms = 0;
    m.state = SUP_ONLINE;
    clock_fake_advance(100);
    st = sup__machine_step(&m, SUP_EV_EXIT, SUP_THEN_STOP, &p, &crash, clock_mono_ms());
    CHECK_INT(st.next, SUP_ERRORED);
    CHECK_INT(st.timer, SUP_TIMER_STOP); /* errored_retry 0 = never */
    clock_fake_off();
}

TEST(a_person_starting_forgets_history)
{
    struct sup_policy p = policy();
    p.max_restarts = 1;
    struct sup_machine m;
    memset(&m, 0, sizeof m);
    clock_fake_set(1000000, 1700000000000);
    clock_fake_advance(run_and_crash(&m, &p, 100).delay_ms);
    CHECK_INT(run_and_crash(&m, &p, 100).next, SUP_ERRORED);
    sup__machine_reset(&m);
    CHECK_INT(m.k, 0);
    CHECK_INT(sup__crash_count(&m, &p, clock_mono_ms()), 0);
    struct sup_step st =
        sup__machine_step(&m, SUP_EV_START, SUP_THEN_START, &p, NULL, clock_mono_ms());
    CHECK_INT(st.next, SUP_STARTING);
    m.state = st.next;
    clock_fake_advance(100);
    st = sup__machine_step(&m, SUP_EV_EXIT, SUP_THEN_STOP, &p, &crash, clock_mono_ms());
    CHECK_INT(st.next, SUP_WAITING);
    clock_fake_off();
}

int main(void)
{
    RUN(delay_sequence_and_cap);
    RUN(crash_loop_backs_off_then_goes_errored);
    RUN(window_counts_crashes_of_any_uptime);
    RUN(old_crashes_leave_the_window);
    RUN(healthy_run_resets_backoff);
    RUN(errored_retries_slowly_one_attempt_each_time);
    RUN(a_person_starting_forgets_history);
    return unit_done();
}
