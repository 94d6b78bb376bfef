/* monitor_json.c: what the routes show of the monitor: checks, metrics with sparkline points,
 * alerts, the Prometheus page, and the one-answer /health. */
#include "monitor_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "core/util.h"
#include "daemon_int.h"
#include "watch/prom.h"

struct mon_probe *monitor__find_probe(struct monitor *m, const char *name)
{
    for (struct mon_probe *mp = m->probes; mp; mp = mp->next)
        if (!mp->app[0] && str_eq(probe_name(mp->p), name))
            return mp;
    return NULL;
}

json_t *monitor_checks_json(struct monitor *m)
{
    json_t *arr = json_array();
    /* m->probes is newest first; show them in the order they were made (config order). */
    size_t n = 0;
    for (struct mon_probe *mp = m->probes; mp; mp = mp->next)
        n++;
    struct mon_probe **v = xcalloc(n + 1, sizeof *v);
    size_t i = n;
    for (struct mon_probe *mp = m->probes; mp; mp = mp->next)
        v[--i] = mp;
    for (i = 0; i < n; i++) {
        json_t *o = probe_to_json(v[i]->p);
        json_object_set_new(o, "app", v[i]->app[0] ? json_string(v[i]->app) : json_null());
        json_object_set_new(o, "instance",
                            v[i]->instance >= 0 ? json_integer(v[i]->instance) : json_null());
        json_array_append_new(arr, o);
    }
    free(v);
    return json_pack("{s:o}", "checks", arr);
}

/* ---- metrics ----------------------------------------------------------------------------------- */
struct metrics_walk {
    struct monitor *m;
    const char *app;
    int64_t now, window_ms;
    int points;
    json_t *out;
};

static json_t *series_json(const struct metrics_walk *w, const struct watch_series *s)
{
    struct watch_stats st;
    watch_series_stats(w->m->series, s, w->now, w->window_ms, &st);
    json_t *o = json_object();
    const struct watch_label *l;
    size_t nl = watch_series_labels(s, &l);
    json_t *labels = json_object();
    for (size_t i = 0; i < nl; i++)
        json_object_set_new(labels, l[i].name, json_string(l[i].value));
    json_object_set_new(o, "name", json_string(watch_series_name(s)));
    json_object_set_new(o, "labels", labels);
    json_object_set_new(o, "samples", json_integer((json_int_t)st.n));
#define NUM(x) (st.n && !isnan(x) ? json_real(x) : json_null())
    json_object_set_new(o, "last", NUM(st.last));
    json_object_set_new(o, "min", NUM(st.min));
    json_object_set_new(o, "avg", NUM(st.avg));
    json_object_set_new(o, "max", NUM(st.max));
#undef NUM
    if (w->points > 0) {
        double *p = xcalloc((size_t)w->points, sizeof *p);
        watch_series_points(w->m->series, s, w->now, w->window_ms, p, (size_t)w->points);
        json_t *pts = json_array();
        for (int i = 0; i < w->points; i++)
            json_array_append_new(pts, isnan(p[i]) ? json_null() : json_real(p[i]));
        json_object_set_new(o, "points", pts);
        free(p);
    }
    return o;
}

static void walk_one(void *arg, const struct watch_series *s)
{
    struct metrics_walk *w = arg;
    const struct watch_label *l;
    size_t nl = watch_series_labels(s, &l);
    const char *app = NULL;
    for (size_t i = 0; i < nl; i++)
        if (str_eq(l[i].name, "app"))
            app = l[i].value;
    if (w->app && !str_eq(app, w->app))
        return;
    json_array_append_new(json_object_get(w->out, app ? "apps" : "system"), series_json(w, s));
}

json_t *monitor_metrics_json(struct monitor *m, const char *app, int64_t window_ms, int points)
{
    struct metrics_walk w = {m, app, clock_wall_ms(), window_ms, points,
                             json_pack("{s:[], s:[]}", "system", "apps")};
    watch_series_each(m->series, walk_one, &w);
    json_object_set_new(w.out, "window_ms", json_integer(window_ms));
    json_object_set_new(w.out, "interval_ms", json_integer((json_int_t)m->interval_ms));
    json_t *logs = json_array();
    for (size_t i = 0; i < m->nalogs; i++)
        json_array_append_new(logs, alog_json(m->alogs[i]));
    json_object_set_new(w.out, "access_logs", logs);
    return w.out;
}

/* ---- alerts ------------------------------------------------------------------------------------ */
json_t *monitor_alerts_json(struct monitor *m)
{
    int64_t now = clock_wall_ms();
    json_t *o = m->alerts ? alert_json(m->alerts, now) : json_pack("{s:[], s:[]}", "alerts", "silences");
    struct err err = {0};
    json_t *recent = m->d->store ? store_alerts(m->d->store, NULL, now - 24 * 3600 * 1000LL, 50, &err)
                                 : NULL;
    json_object_set_new(o, "recent", recent ? recent : json_array());
    json_object_set_new(o, "notifiers", m->notify ? notify_set_status(m->notify) : json_array());
    return o;
}

int monitor_silence(struct monitor *m, const char *pattern, int64_t until_ms, struct err *err)
{
    int rc = m->alerts ? alert_silence(m->alerts, pattern, until_ms) : -TE_STATE;
    if (rc < 0)
        return err_set(err, rc, "cannot silence \"%s\": %s", pattern ? pattern : "",
                       rc == -TE_INVALID ? "give a rule name or a glob such as api-*" : err_str(rc));
    return rc;
}

int monitor_unsilence(struct monitor *m, const char *pattern, struct err *err)
{
    int rc = m->alerts ? alert_unsilence(m->alerts, pattern) : -TE_STATE;
    if (rc < 0)
        return err_set(err, rc, "no silence \"%s\"", pattern ? pattern : "");
    return 0;
}

/* ---- Prometheus ---------------------------------------------------------------------------------- */
static void prom_checks(struct monitor *m, struct watch_prom *p)
{
    watch_prom_family(p, "tend_check_up", WATCH_PROM_GAUGE,
                      "1 when the probe's last result was ok, 0 when failing");
    for (struct mon_probe *mp = m->probes; mp; mp = mp->next) {
        const struct probe_state *st = probe_state(mp->p);
        if (st->status == PROBE_PENDING)
            continue;
        struct watch_label l[2] = {{"check", probe_name(mp->p)},
                                   {"kind", probe_kind_name(probe_kind(mp->p))}};
        watch_prom_sample(p, l, 2, st->status == PROBE_OK ? 1 : 0);
    }
    watch_prom_family(p, "tend_check_latency_seconds", WATCH_PROM_GAUGE,
                      "latency of the probe's last attempt");
    for (struct mon_probe *mp = m->probes; mp; mp = mp->next) {
        const struct probe_state *st = probe_state(mp->p);
        if (st->status == PROBE_PENDING)
            continue;
        struct watch_label l[1] = {{"check", probe_name(mp->p)}};
        watch_prom_sample(p, l, 1, st->latency_ms / 1000.0);
    }
}

static void prom_access(struct monitor *m, struct watch_prom *p)
{
    static const char *const classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
    watch_prom_family(p, "tend_http_requests_total", WATCH_PROM_COUNTER,
                      "requests seen in the access logs, by app and status class");
    for (size_t i = 0; i < m->nalogs; i++)
        for (size_t a = 0; a < alog_app_count(m->alogs[i]); a++) {
            const struct alog_totals *t = alog_app_totals(m->alogs[i], a);
            for (size_t c = 0; c < 6; c++) {
                struct watch_label l[2] = {{"app", alog_app_name(m->alogs[i], a)},
                                           {"class", classes[c]}};
                watch_prom_sample(p, l, 2, (double)t->status[c]);
            }
        }
    watch_prom_family(p, "tend_http_request_duration_seconds", WATCH_PROM_HISTOGRAM,
                      "request latency from the access logs");
    for (size_t i = 0; i < m->nalogs; i++)
        for (size_t a = 0; a < alog_app_count(m->alogs[i]); a++) {
            const struct alog_totals *t = alog_app_totals(m->alogs[i], a);
            uint64_t counts[HIST_PROM_NLE + 1];
            uint64_t prev = 0;
            for (size_t k = 0; k < HIST_PROM_NLE; k++) {
                counts[k] = t->latency.le[k] - prev;
                prev = t->latency.le[k];
            }
            counts[HIST_PROM_NLE] = t->latency.count - prev;
            struct watch_label l[1] = {{"app", alog_app_name(m->alogs[i], a)}};
            watch_prom_histogram(p, l, 1, hist_prom_le_s, counts, HIST_PROM_NLE,
                                 (double)t->latency.sum_us / 1e6);
        }
}

static void prom_backups(struct monitor *m, struct watch_prom *p)
{
    json_t *st = m->d->backup ? backup_status(m->d->backup) : NULL, *j;
    size_t i;
    watch_prom_family(p, "tend_backup_last_success_timestamp_seconds", WATCH_PROM_GAUGE,
                      "when the job's last good backup finished");
    json_array_foreach(json_object_get(st, "jobs"), i, j)
    {
        json_t *ok = json_object_get(j, "last_ok");
        if (!json_is_integer(ok))
            continue;
        struct watch_label l[1] = {{"job", json_string_value(json_object_get(j, "name"))}};
        watch_prom_sample(p, l, 1, (double)json_integer_value(ok) / 1000.0);
    }
    json_decref(st);
}

static void prom_alerts(struct monitor *m, struct watch_prom *p)
{
    json_t *a = m->alerts ? alert_json(m->alerts, clock_wall_ms()) : NULL, *r;
    size_t i;
    watch_prom_family(p, "tend_alert_firing", WATCH_PROM_GAUGE, "1 while the alert rule fires");
    json_array_foreach(json_object_get(a, "alerts"), i, r)
    {
        struct watch_label l[2] = {{"alert", json_string_value(json_object_get(r, "name"))},
                                   {"severity", json_string_value(json_object_get(r, "severity"))}};
        watch_prom_sample(p, l, 2,
                          str_eq(json_string_value(json_object_get(r, "state")), "firing"));
    }
    json_decref(a);
}

int monitor_prometheus(struct monitor *m, struct buf *out, struct err *err)
{
    struct watch_prom p;
    watch_prom_init(&p, out);
    /* One age for every family: the apps' (sampled every 5 s) bounds it from below. */
    watch_prom_series(&p, m->series, clock_wall_ms(), MON_APP_MAX_AGE_MS(m));
    prom_checks(m, &p);
    prom_access(m, &p);
    prom_backups(m, &p);
    prom_alerts(m, &p);
    int rc = watch_prom_finish(&p);
    return rc < 0 ? err_set(err, rc, "cannot write the metrics page: %s", err_str(rc)) : 0;
}

/* ---- /health ---------------------------------------------------------------------------------- */
json_t *monitor_health_json(struct monitor *m, bool *ok)
{
    json_t *apps = json_object(), *checks = json_object(), *st, *a, *in;
    size_t i, j;
    *ok = true;
    st = m->d->sup ? sup_status_json(m->d->sup, NULL) : NULL;
    json_array_foreach(json_object_get(st, "apps"), i, a)
    {
        size_t online = 0, n = 0, stopped = 0;
        json_array_foreach(json_object_get(a, "instances"), j, in)
        {
            const char *s = json_string_value(json_object_get(in, "state"));
            n++, online += str_eq(s, "online"), stopped += str_eq(s, "stopped");
        }
        bool up = online > 0 || n == stopped;
        *ok &= up;
        json_object_set_new(apps, json_string_value(json_object_get(a, "name")),
                            json_pack("{s:s, s:I, s:I}", "status", up ? "ok" : "down", "online",
                                      (json_int_t)online, "instances", (json_int_t)n));
    }
    json_decref(st);
    /* The answer's status is about serving traffic: apps and their health probes. Stand-alone
     * checks (a backup's age, a certificate, a disk) are listed but do not make it 503, so a load
     * balancer never pulls a server that serves fine (alerts are for those). */
    for (struct mon_probe *mp = m->probes; mp; mp = mp->next) {
        enum probe_status s = probe_state(mp->p)->status;
        if (mp->app[0]) {
            /* As many failures in a row as liveness needs (one slow answer is not "down"). */
            uint32_t need = mp->cc && mp->cc->failures > 0 ? (uint32_t)mp->cc->failures : 1;
            if (s == PROBE_FAILING && probe_state(mp->p)->consecutive_failures >= need) {
                *ok = false;
                json_object_set_new(json_object_get(apps, mp->app), "status", json_string("failing"));
            }
            continue;
        }
        json_object_set_new(checks, probe_name(mp->p), json_string(probe_status_name(s)));
    }
    return json_pack("{s:s, s:o, s:o}", "status", *ok ? "ok" : "failing", "apps", apps, "checks",
                     checks);
}
