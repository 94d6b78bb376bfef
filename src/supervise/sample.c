/* supervise/sample.c: CPU% and memory of each instance's process tree; max_memory.
 *
 * Every sample_interval (5 s) one pass over /proc (tree.c) builds the table of every process;
 * each live instance's tree (session, group, descendants: PM2 lesson 2, an app run through
 * `npm start` is measured as a tree, not as the npm wrapper) sums utime+stime and RSS. CPU% is
 * the tick delta over the wall delta (100% = one core). When the tree's RSS passes max_memory
 * the instance is restarted (SUP_EVK_MEMORY). The pass also remembers each tree, so stop and
 * exit can kill descendants that left the process group. Nothing is read when no instance
 * runs, so an idle daemon costs nothing here. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/tlog.h"
#include "core/util.h"
#include "supervise/supervise_int.h"

static void on_sample(uv_timer_t *t)
{
    sup__sample_tick(container_of(t, struct sup, sample_timer));
}

int sup__sample_init(struct sup *s)
{
    return uv_timer_start(&s->sample_timer, on_sample, s->sample_interval_ms,
                          s->sample_interval_ms);
}

void sup_set_sample_interval(struct sup *s, uint64_t ms)
{
    if (ms < 1000 || ms == s->sample_interval_ms)
        return;
    s->sample_interval_ms = ms;
    if (uv_is_active((uv_handle_t *)&s->sample_timer))
        uv_timer_start(&s->sample_timer, on_sample, ms, ms);
}

static void check_memory(struct sup_instance *in)
{
    uint64_t max = in->ca->max_memory;
    if (!max || in->rss <= max || in->m.state != SUP_ONLINE)
        return;
    char msg[300];
    snprintf(msg, sizeof msg, "%s uses %llu MiB, over max_memory %llu MiB; restarting", in->label,
             (unsigned long long)(in->rss >> 20), (unsigned long long)(max >> 20));
    tlog_warn("supervise", "%s", msg);
    sup__inst_restart(in, SUP_EVK_MEMORY, msg);
}

static void sample_one(struct sup_instance *in, const struct sup_proc *all, size_t n, bool *member,
                       uint64_t now)
{
    static long hz, page;
    if (!hz) {
        hz = sysconf(_SC_CLK_TCK);
        page = sysconf(_SC_PAGESIZE);
    }
    if (in->adopted && !in->pidw && !sup__pid_matches(in->pid, in->start_ticks)) {
        struct sup_exit ex = {.known = false, .code = -1};
        sup__inst_exited(in, &ex); /* no pidfd on this kernel: noticed here */
        return;
    }
    sup__proc_tree(all, n, in->pid, member);
    uint64_t ticks = 0, pages = 0;
    uint32_t threads = 0, fds = 0;
    for (size_t i = 0; i < n; i++)
        if (member[i]) {
            int nfd = sup__proc_fds(all[i].pid); /* one stat() each (Linux >= 6.2) */
            ticks += all[i].ticks;
            pages += all[i].rss_pages;
            threads += all[i].threads;
            fds += nfd > 0 ? (uint32_t)nfd : 0;
        }
    in->threads = threads;
    in->fds = fds;
    sup__tree_remember(in, all, n, member);
    if (in->last_sample_ms && now > in->last_sample_ms && ticks >= in->last_ticks)
        in->cpu_pct = (double)(ticks - in->last_ticks) * 1000.0 / (double)hz /
                      (double)(now - in->last_sample_ms) * 100.0;
    in->last_ticks = ticks;
    in->last_sample_ms = now;
    in->rss = pages * (uint64_t)page;
    if (in->app->s->hooks.on_sample)
        in->app->s->hooks.on_sample(in->app->s->hooks.ctx, in->app->name, in->index,
                                    &(struct sup_sample){.cpu_pct = in->cpu_pct,
                                                         .rss = in->rss,
                                                         .fds = in->fds,
                                                         .threads = in->threads,
                                                         .restarts = in->m.restarts});
    check_memory(in);
}

void sup__sample_tick(struct sup *s)
{
    bool any = false;
    for (struct sup_app *a = s->apps; a && !any; a = a->next)
        for (int i = 0; i < a->ninst && !any; i++)
            any = sup__inst_live(a->inst[i]);
    if (!any)
        return;
    struct sup_proc *all = NULL;
    size_t n = 0;
    if (sup__proc_scan(&all, &n) < 0)
        return;
    bool *member = xcalloc(n ? n : 1, sizeof *member);
    uint64_t now = clock_mono_ms();
    for (struct sup_app *a = s->apps; a; a = a->next) {
        for (int i = 0; i < a->ninst; i++)
            if (sup__inst_live(a->inst[i]))
                sample_one(a->inst[i], all, n, member, now);
        struct sup_instance *spare = sup__reload_spare(a);
        if (spare && sup__inst_live(spare))
            sample_one(spare, all, n, member, now);
    }
    free(member);
    free(all);
}
