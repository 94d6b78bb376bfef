/* supervise/sched.c: cron_restart, a restart at the times of a cron expression.
 *
 * The next fire time comes from cron_next() in local wall time; a uv timer (monotonic) waits
 * for it, at most an hour at a time, and on waking checks the wall clock again, so a clock
 * change or a DST jump moves the restart instead of firing it at the wrong time. Only
 * instances that run are restarted; a stopped one stays stopped. */
#include <stdio.h>

#include "core/clock.h"
#include "core/tlog.h"
#include "core/util.h"
#include "supervise/supervise_int.h"

#define MAX_WAIT_MS (3600 * 1000)

static void on_cron(uv_timer_t *t);

static void wait_for(struct sup_app *a)
{
    int64_t delay = a->cron_next_ms - clock_wall_ms();
    if (delay < 0)
        delay = 0;
    uv_timer_start(&a->cron_timer, on_cron, (uint64_t)MIN(delay, MAX_WAIT_MS), 0);
}

void sup__cron_arm(struct sup_app *a)
{
    uv_timer_stop(&a->cron_timer);
    a->cron_next_ms = 0;
    if (!a->ca->cron_restart || a->deleting)
        return;
    time_t next = cron_next(&a->ca->cron, (time_t)(clock_wall_ms() / 1000), NULL);
    if (next < 0) {
        tlog_warn("supervise", "%s: cron_restart \"%s\" never fires", a->name, a->ca->cron_restart);
        return;
    }
    a->cron_next_ms = (int64_t)next * 1000;
    wait_for(a);
}

static void on_cron(uv_timer_t *t)
{
    struct sup_app *a = container_of(t, struct sup_app, cron_timer);
    if (clock_wall_ms() + 500 < a->cron_next_ms) {
        wait_for(a); /* woke early: long wait, or the clock moved back */
        return;
    }
    for (int i = 0; i < a->ninst; i++) {
        struct sup_instance *in = a->inst[i];
        if (in->removing || !sup__inst_live(in) || in->m.state == SUP_STOPPING)
            continue;
        char msg[300];
        snprintf(msg, sizeof msg, "%s restarted by cron_restart \"%s\"", in->label,
                 a->ca->cron_restart);
        tlog_info("supervise", "%s", msg);
        sup__inst_restart(in, SUP_EVK_CRON, msg);
    }
    sup__cron_arm(a);
}

void sup__cron_stop(struct sup_app *a)
{
    uv_timer_stop(&a->cron_timer);
    a->cron_next_ms = 0;
}
