/* monitor_int.h: what monitor.c, monitor_lookup.c and monitor_json.c share. */
#ifndef TEND_MONITOR_INT_H
#define TEND_MONITOR_INT_H

#include <uv.h>

#include "alert/alert.h"
#include "alert/notify.h"
#include "config/config.h"
#include "monitor.h"
#include "watch/alog.h"
#include "watch/probe.h"

/* supervise samples each instance every metrics.interval (sup_set_sample_interval), but only
 * while instances run and with /proc walks that can be late under load: a series counts as no
 * data after three intervals, and never before 15 s. */
#define MON_APP_SAMPLE_MS 5000
#define MON_APP_MAX_AGE_MS(m) (3 * (int64_t)MAX((m)->interval_ms, MON_APP_SAMPLE_MS))

/* One probe: a `checks:` entry (instance -1) or one instance's health. */
struct mon_probe {
    struct mon_probe *next;
    struct monitor *m;
    struct watch_probe *p;
    const struct cfg_check *cc; /* in m->cfg */
    char app[128];              /* "" for checks */
    int instance;
    bool is_restarting; /* liveness restart asked; dropped when the instance stops */
};

struct monitor {
    struct daemon *d;
    struct cfg_watch *cfg; /* the snapshot in use (ref), or NULL */
    struct probe_sched *sched;
    struct mon_probe *probes;
    struct watch_sys *sys;
    struct watch_sys_sample *last; /* the last system sample (large: on the heap) */
    bool has_sample;
    struct watch_series_set *series;
    uint64_t interval_ms;
    uv_timer_t sample_timer, rollup_timer;
    struct alog **alogs;
    uint64_t *alog_window_ms; /* each log's shortest window: what rules read */
    size_t nalogs;
    struct alert_engine *alerts;
    bool alerts_restored; /* firing rules taken over from the history (once, at start) */
    struct notify_set *notify;
    int closing; /* parts still closing */
    void (*closed)(void *arg);
    void *closed_arg;
};

/* monitor_json.c */
struct mon_probe *monitor__find_probe(struct monitor *m, const char *name);

#endif
