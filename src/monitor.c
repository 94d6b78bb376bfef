/* monitor.c: probes, metrics, access logs, alerts and notifiers wired together (monitor.h).
 *
 * Configuration follows the running config: every `tend up` (and resurrect, adoption) builds a
 * new cfg_watch snapshot; stand-alone probes are made again, health probes of running instances
 * too, the tails of access logs restart, the alert engine keeps the state of unchanged rules and
 * the notifiers keep their queues (both modules do that themselves). Health probes follow their
 * instance: made on start/adoption (grace period from then), dropped on exit/stop. A liveness
 * failure restarts only that instance, once, through supervise, and is an event. */
#include "monitor_int.h"

#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"
#include "daemon_int.h"

#define ROLLUP_EVERY_MS 60000
#define ALERT_HISTORY_KEEP_MS (30LL * 24 * 3600 * 1000)

/* ---- children: exec probes and notifiers are reaped by supervise --------------------------- */
static int watch_child(void *ctx, pid_t pid, probe_child_fn *cb, void *arg)
{
    struct monitor *m = ctx;
    return m->d->sup ? sup_child_watch(m->d->sup, pid, cb, arg) : -TE_STATE;
}

static int notify_watch_child(void *ctx, pid_t pid, notify_child_fn *cb, void *arg)
{
    struct monitor *m = ctx;
    return m->d->sup ? sup_child_watch(m->d->sup, pid, cb, arg) : -TE_STATE;
}

/* ---- probes ---------------------------------------------------------------------------------- */
/* Strings of one probe spec, expanded for an instance; freed after probe_new(). */
struct spec_strs {
    char *s[16];
    size_t n;
    struct probe_kv kv[64];
    struct probe_range ranges[16];
};

static const char *keep(struct spec_strs *ss, const struct cfg_app *app, int i, const char *text)
{
    if (!text)
        return NULL;
    char *v = app ? cfg_app_expand(app, i, text) : str_dup(text);
    if (ss->n < ARRAY_LEN(ss->s))
        ss->s[ss->n++] = v;
    return v;
}

static void spec_strs_free(struct spec_strs *ss)
{
    for (size_t i = 0; i < ss->n; i++)
        free(ss->s[i]);
}

static void fill_spec(struct probe_spec *sp, struct spec_strs *ss, const struct cfg_check *cc,
                      const struct cfg_app *app, int i, const char *name)
{
    static const enum probe_kind_id kinds[] = {
        [CFG_CHECK_HTTP] = PROBE_HTTP,         [CFG_CHECK_TCP] = PROBE_TCP,
        [CFG_CHECK_POSTGRES] = PROBE_POSTGRES, [CFG_CHECK_REDIS] = PROBE_REDIS,
        [CFG_CHECK_TLS] = PROBE_TLS,           [CFG_CHECK_DISK] = PROBE_DISK,
        [CFG_CHECK_FILE_AGE] = PROBE_FILE_AGE, [CFG_CHECK_EXEC] = PROBE_EXEC};
    memset(sp, 0, sizeof *sp);
    sp->name = name;
    sp->kind = kinds[cc->kind];
    sp->interval_ms = (uint32_t)cc->interval_ms;
    sp->timeout_ms = (uint32_t)cc->timeout_ms;
    sp->failures = app ? (uint32_t)cc->failures : 0;
    sp->grace_ms = (uint32_t)cc->grace_ms;
    size_t k = 0;
    switch (cc->kind) {
    case CFG_CHECK_HTTP:
        sp->u.http.url = keep(ss, app, i, cc->u.http.url);
        sp->u.http.method = cc->u.http.method;
        for (size_t j = 0; j < cc->u.http.nstatus && j < ARRAY_LEN(ss->ranges); j++)
            ss->ranges[j] = (struct probe_range){cc->u.http.status[j].lo, cc->u.http.status[j].hi};
        sp->u.http.status = ss->ranges;
        sp->u.http.nstatus = MIN(cc->u.http.nstatus, ARRAY_LEN(ss->ranges));
        sp->u.http.body = cc->u.http.body;
        sp->u.http.json = &ss->kv[k];
        for (size_t j = 0; j < cc->u.http.njson && k < ARRAY_LEN(ss->kv); j++)
            ss->kv[k++] = (struct probe_kv){cc->u.http.json[j].key, cc->u.http.json[j].value};
        sp->u.http.njson = (size_t)(&ss->kv[k] - sp->u.http.json);
        sp->u.http.headers = &ss->kv[k];
        for (size_t j = 0; j < cc->u.http.nheaders && k < ARRAY_LEN(ss->kv); j++)
            ss->kv[k++] = (struct probe_kv){cc->u.http.headers[j].key,
                                            keep(ss, app, i, cc->u.http.headers[j].value)};
        sp->u.http.nheaders = (size_t)(&ss->kv[k] - sp->u.http.headers);
        sp->u.http.latency_ms = (uint32_t)cc->u.http.latency_ms;
        sp->u.http.skip_tls_verify = !cc->u.http.tls_verify;
        break;
    case CFG_CHECK_TCP:
        sp->u.tcp.address = keep(ss, app, i, cc->u.tcp.address);
        sp->u.tcp.send = cc->u.tcp.send;
        sp->u.tcp.expect = cc->u.tcp.expect;
        break;
    case CFG_CHECK_POSTGRES:
        sp->u.postgres.url = keep(ss, app, i, cc->u.postgres.url);
        sp->u.postgres.query = cc->u.postgres.query;
        break;
    case CFG_CHECK_REDIS:
        sp->u.redis.url = keep(ss, app, i, cc->u.redis.url);
        break;
    case CFG_CHECK_TLS:
        sp->u.tls.host = keep(ss, app, i, cc->u.tls.host);
        sp->u.tls.port = cc->u.tls.port;
        sp->u.tls.servername = cc->u.tls.servername;
        sp->u.tls.days = cc->u.tls.days;
        break;
    case CFG_CHECK_DISK:
        sp->u.disk.path = cc->u.disk.path;
        sp->u.disk.max_used_pct = cc->u.disk.max_pct;
        sp->u.disk.min_free_inodes_pct = cc->u.disk.min_free_inodes_pct;
        break;
    case CFG_CHECK_FILE_AGE:
        sp->u.file_age.glob = cc->u.file_age.glob;
        sp->u.file_age.max_age_ms = cc->u.file_age.max_age_ms;
        break;
    case CFG_CHECK_EXEC:
        sp->u.exec.cmd = keep(ss, app, i, cc->u.exec.cmd);
        sp->u.exec.argv = (const char *const *)cc->u.exec.argv;
        sp->u.exec.cwd = app ? app->cwd : NULL;
        break;
    case CFG_CHECK_NKINDS:
        break;
    }
}

static void restarted(void *arg, int rc, json_t *result, const struct err *err)
{
    (void)result;
    char *what = arg;
    if (rc < 0)
        tlog_error("monitor", "cannot restart %s after its health probe failed: %s", what,
                   err ? err->msg : err_str(rc));
    free(what);
}

static void on_probe(void *arg, struct watch_probe *p, const struct probe_state *st,
                     bool is_change)
{
    struct mon_probe *mp = arg;
    struct monitor *m = mp->m;
    char msg[PROBE_MSG_MAX + 400];
    if (is_change && st->status != PROBE_PENDING) {
        snprintf(msg, sizeof msg, "%s: %s: %s", probe_name(p), probe_status_name(st->status),
                 st->msg);
        daemon__event(m->d, st->status == PROBE_OK ? "check_ok" : "check_failing",
                      mp->app[0] ? mp->app : NULL, mp->instance, msg);
    }
    if (!st->is_liveness_due || mp->is_restarting || !m->d->sup)
        return;
    mp->is_restarting = true;
    char target[160];
    snprintf(target, sizeof target, "%s:%d", mp->app, mp->instance);
    snprintf(msg, sizeof msg, "health probe failed %u times in a row (%s); restarting %s",
             st->consecutive_failures, st->msg, target);
    tlog_warn("monitor", "%s", msg);
    daemon__event(m->d, "health_restart", mp->app, mp->instance, msg);
    struct err err = {0};
    char *t = str_dup(target);
    if (sup_act(m->d->sup, SUP_RESTART, target, restarted, t, &err) < 0) {
        tlog_error("monitor", "cannot restart %s: %s", target, err.msg);
        free(t);
    }
}

static void probe_add(struct monitor *m, const struct cfg_check *cc, const struct cfg_app *app,
                      int instance)
{
    struct mon_probe *mp = xcalloc(1, sizeof *mp);
    struct probe_spec sp;
    struct spec_strs ss = {0};
    char name[200];
    if (app)
        snprintf(name, sizeof name, "%s:%d health", app->name, instance);
    else
        str_copy(name, cc->name, sizeof name);
    mp->m = m;
    mp->cc = cc;
    mp->instance = app ? instance : -1;
    if (app)
        str_copy(mp->app, app->name, sizeof mp->app);
    fill_spec(&sp, &ss, cc, app, instance, name);
    struct err err = {0};
    int rc = probe_new(m->sched, &sp, on_probe, mp, &mp->p, &err);
    spec_strs_free(&ss);
    if (rc < 0) {
        tlog_error("monitor", "cannot start probe %s: %s", name, err.msg);
        free(mp);
        return;
    }
    mp->next = m->probes;
    m->probes = mp;
}

/* Drop the probes matching (app, instance); app NULL = every probe; instance -2 = any. */
static void probes_drop(struct monitor *m, const char *app, int instance)
{
    for (struct mon_probe **pp = &m->probes; *pp;) {
        struct mon_probe *mp = *pp;
        bool match = !app || (str_eq(mp->app, app) && (instance == -2 || mp->instance == instance));
        if (!match) {
            pp = &mp->next;
            continue;
        }
        *pp = mp->next;
        probe_free(mp->p);
        free(mp);
    }
}

static void health_start(struct monitor *m, const char *app, int instance)
{
    struct cfg *c = m->d->sup ? sup_config(m->d->sup) : NULL;
    const struct cfg_app *a = c ? cfg_app_find(c, app) : NULL;
    const struct cfg_check *cc = m->cfg && a ? cfg_watch_health(m->cfg, app) : NULL;
    probes_drop(m, app, instance);
    if (cc)
        probe_add(m, cc, a, instance);
}

void monitor_on_sup_event(struct monitor *m, enum sup_evkind kind, const char *app, int instance)
{
    if (!m || !app || instance < 0)
        return;
    switch (kind) {
    case SUP_EVK_START:
    case SUP_EVK_ADOPT:
        health_start(m, app, instance);
        break;
    case SUP_EVK_EXIT:
    case SUP_EVK_STOP:
    case SUP_EVK_ERRORED:
        probes_drop(m, app, instance);
        break;
    default:
        break;
    }
}

/* Health probes for every instance running now (a new config, or adoption at start). */
static void health_all(struct monitor *m)
{
    json_t *st = m->d->sup ? sup_status_json(m->d->sup, NULL) : NULL;
    size_t i, j;
    json_t *a, *in;
    json_array_foreach(json_object_get(st, "apps"), i, a)
    {
        const char *name = json_string_value(json_object_get(a, "name"));
        json_array_foreach(json_object_get(a, "instances"), j, in)
        {
            const char *state = json_string_value(json_object_get(in, "state"));
            if (str_eq(state, "online") || str_eq(state, "starting"))
                health_start(m, name, (int)json_integer_value(json_object_get(in, "instance")));
        }
    }
    json_decref(st);
}

/* ---- metrics ----------------------------------------------------------------------------------- */
static void on_sample_timer(uv_timer_t *t)
{
    struct monitor *m = t->data;
    struct err err = {0};
    if (!m->sys && watch_sys_open(&m->sys, &err) < 0) {
        tlog_warn("monitor", "cannot read system metrics: %s", err.msg);
        uv_timer_stop(t);
        return;
    }
    if (watch_sys_sample(m->sys, clock_mono_ms(), m->last, &err) < 0) {
        tlog_debug("monitor", "system sample failed: %s", err.msg);
        return;
    }
    m->has_sample = true;
    watch_sys_put(m->series, m->last, clock_wall_ms());
}

void monitor_on_sample(struct monitor *m, const char *app, int instance,
                       const struct sup_sample *s)
{
    if (!m)
        return;
    char inst[16];
    snprintf(inst, sizeof inst, "%d", instance);
    struct watch_label l[2] = {{"app", app}, {"instance", inst}};
    int64_t now = clock_wall_ms();
    const char *names[] = {WATCH_APP_CPU, WATCH_APP_MEMORY, WATCH_APP_FDS, WATCH_APP_THREADS,
                           WATCH_APP_RESTARTS};
    double v[] = {s->cpu_pct, (double)s->rss, (double)s->fds, (double)s->threads,
                  (double)s->restarts};
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        watch_series_put(m->series, watch_series_get(m->series, names[i], l, 2), now, v[i]);
}

static void on_rollup_timer(uv_timer_t *t)
{
    struct monitor *m = t->data;
    const struct watch_rollup *rows;
    size_t n = watch_series_rollups(m->series, clock_wall_ms(), &rows);
    if (n == 0 || !m->d->store)
        return;
    struct store_metric *out = xcalloc(n, sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = (struct store_metric){rows[i].key, rows[i].minute_ms, rows[i].min, rows[i].avg,
                                       rows[i].max, rows[i].last};
    struct err err = {0};
    if (store_metrics_insert(m->d->store, out, n, &err) < 0)
        tlog_warn("monitor", "cannot store %zu metric roll-ups: %s", n, err.msg);
    free(out);
}

void monitor_prune(struct monitor *m)
{
    if (!m || !m->d->store)
        return;
    struct err err = {0};
    uint64_t keep = m->cfg ? m->cfg->metrics.keep_ms : 30ULL * 24 * 3600 * 1000;
    store_metrics_prune(m->d->store, clock_wall_ms() - (int64_t)keep, &err);
    store_alerts_prune(m->d->store, clock_wall_ms() - ALERT_HISTORY_KEEP_MS);
}

/* ---- alerts and notifiers --------------------------------------------------------------------- */
static void on_transition(void *ctx, const struct alert_notice *n)
{
    struct monitor *m = ctx;
    if (m->d->store) {
        struct store_alert_row r = {n->at_ms,          n->name,       n->rule,
                                    alert_severity_name(n->severity), alert_state_name(n->state),
                                    alert_state_name(n->from),        n->has_value,
                                    n->value,          n->value_text, n->summary,
                                    n->is_silenced};
        store_alert_add(m->d->store, &r);
    }
    if (n->state == ALERT_FIRING || n->state == ALERT_RESOLVED) {
        char kind[32], msg[600];
        snprintf(kind, sizeof kind, "alert_%s", alert_state_name(n->state));
        snprintf(msg, sizeof msg, "%s: %s%s", n->name, n->summary,
                 n->is_silenced ? " (silenced)" : "");
        daemon__event(m->d, kind, NULL, -1, msg);
    }
}

static void on_notice(void *ctx, const struct alert_notice *n)
{
    struct monitor *m = ctx;
    struct notify_label labels[8];
    size_t nl = MIN(n->nlabels, ARRAY_LEN(labels));
    for (size_t i = 0; i < nl; i++)
        labels[i] = (struct notify_label){n->labels[i].key, n->labels[i].value};
    struct notify_alert a = {.name = n->name,
                             .rule = n->rule,
                             .severity = alert_severity_name(n->severity),
                             .state = n->kind == ALERT_NOTICE_RESOLVED ? NOTIFY_RESOLVED
                                                                       : NOTIFY_FIRING,
                             .value = n->value_text,
                             .summary = n->summary,
                             .labels = labels,
                             .nlabels = nl,
                             .started_ms = n->started_ms,
                             .ended_ms = n->ended_ms};
    struct err err = {0};
    if (!m->cfg || m->cfg->nnotifiers == 0)
        return;
    if (!n->notify) {
        if (notify_send(m->notify, NULL, &a, 1, &err) < 0)
            tlog_warn("monitor", "cannot notify %s: %s", n->name, err.msg);
        return;
    }
    for (size_t i = 0; n->notify[i]; i++)
        if (notify_send(m->notify, n->notify[i], &a, 1, &err) < 0)
            tlog_warn("monitor", "cannot notify %s through %s: %s", n->name, n->notify[i],
                      err.msg);
}

static void on_notify_event(void *ctx, enum notify_event_kind k, const char *notifier,
                            const char *message)
{
    struct monitor *m = ctx;
    char kind[32], msg[700];
    snprintf(kind, sizeof kind, "notify_%s", notify_event_name(k));
    snprintf(msg, sizeof msg, "%s: %s", notifier, message);
    daemon__event(m->d, kind, NULL, -1, msg);
}

/* ---- configuration ---------------------------------------------------------------------------- */
static void alogs_stop(struct monitor *m)
{
    for (size_t i = 0; i < m->nalogs; i++)
        alog_free(m->alogs[i]);
    free(m->alogs);
    free(m->alog_window_ms);
    m->alogs = NULL;
    m->alog_window_ms = NULL;
    m->nalogs = 0;
}

static void alogs_start(struct monitor *m, const struct cfg_watch *w)
{
    m->alogs = xcalloc(w->naccess_logs + 1, sizeof *m->alogs);
    m->alog_window_ms = xcalloc(w->naccess_logs + 1, sizeof *m->alog_window_ms);
    for (size_t i = 0; i < w->naccess_logs; i++) {
        const struct cfg_access_log *l = w->access_logs[i];
        struct alog_route *routes = xcalloc(l->napps + 1, sizeof *routes);
        for (size_t j = 0; j < l->napps; j++)
            routes[j] = (struct alog_route){l->apps[j].app, l->apps[j].port_lo, l->apps[j].port_hi,
                                            l->apps[j].location};
        struct alog_config ac = {.path = l->path,
                                 .format = l->log_format,
                                 .routes = routes,
                                 .nroutes = l->napps,
                                 .windows_ms = l->windows_ms,
                                 .nwindows = l->nwindows};
        struct err err = {0};
        struct alog *a = NULL;
        if (alog_new(&m->d->loop, &ac, &a, &err) < 0 || alog_start(a) < 0) {
            tlog_error("monitor", "cannot follow %s: %s", l->path, err.msg[0] ? err.msg : "");
            alog_free(a);
        } else {
            m->alog_window_ms[m->nalogs] = l->nwindows ? l->windows_ms[0] : 60000;
            m->alogs[m->nalogs++] = a;
        }
        free(routes);
    }
}

/* A daemon killed while an alert fired must not page again for the same incident, nor leave
 * the receiver without its resolution: rules that the history shows firing last are firing
 * again, as announced, with their original start (once, at the first configuration). */
static void restore_alerts(struct monitor *m)
{
    struct err err = {0};
    int64_t now = clock_wall_ms();
    json_t *rows =
        m->d->store ? store_alerts(m->d->store, NULL, now - ALERT_HISTORY_KEEP_MS, 0, &err) : NULL;
    json_t *seen = json_object();
    for (size_t i = rows ? json_array_size(rows) : 0; i-- > 0;) {
        json_t *r = json_array_get(rows, i);
        const char *name = json_string_value(json_object_get(r, "name"));
        const char *state = json_string_value(json_object_get(r, "state"));
        const char *text = json_string_value(json_object_get(r, "rule"));
        if (!name || json_object_get(seen, name))
            continue;
        json_object_set_new(seen, name, json_true());
        if (state && text && str_eq(state, "firing"))
            alert_restore_firing(m->alerts, name, text,
                                 json_integer_value(json_object_get(r, "time")), clock_mono_ms(),
                                 now);
    }
    json_decref(seen);
    json_decref(rows);
}

static void configure_alerts(struct monitor *m, const struct cfg_watch *w)
{
    struct alert_rule_spec *specs = xcalloc(w->nalerts + 1, sizeof *specs);
    for (size_t i = 0; i < w->nalerts; i++)
        alert_spec_from_cfg(&specs[i], w->alerts[i]);
    struct err err = {0};
    if (alert_configure(m->alerts, specs, w->nalerts, &err) < 0)
        tlog_error("monitor", "cannot apply the alert rules: %s", err.msg);
    else if (!m->alerts_restored) {
        m->alerts_restored = true;
        restore_alerts(m);
    }
    free(specs);
    if (notify_set_configure_cfg(m->notify, w, &err) < 0)
        tlog_error("monitor", "cannot apply the notifiers: %s", err.msg);
}

void monitor_configure(struct monitor *m)
{
    struct cfg *c = m && m->d->sup ? sup_config(m->d->sup) : NULL;
    if (!c)
        return;
    char dir[PATH_MAX];
    str_copy(dir, c->path ? c->path : "/", sizeof dir);
    struct cfg_load_opts o = {.profile = c->profile, .home = m->d->home, .base_dir = dirname(dir)};
    struct cfg_watch *w = NULL;
    struct cfg_diag *diag = xcalloc(1, sizeof *diag);
    int rc = cfg_watch_load(c, &o, &w, diag);
    free(diag);
    if (rc < 0) {
        tlog_error("monitor", "cannot read the monitoring part of %s; it is unchanged",
                   c->path ? c->path : "tend.yaml");
        return;
    }
    probes_drop(m, NULL, -2);
    alogs_stop(m);
    cfg_watch_unref(m->cfg);
    m->cfg = w;
    for (size_t i = 0; i < w->nchecks; i++)
        if (!w->checks[i]->app)
            probe_add(m, w->checks[i], NULL, -1);
    health_all(m);
    alogs_start(m, w);
    configure_alerts(m, w);
    if (w->metrics.interval_ms != m->interval_ms) {
        /* The rings' slots are one interval wide: a new interval starts new rings (the last
         * minutes are written to tend.db first). */
        on_rollup_timer(&m->rollup_timer);
        watch_series_free(m->series);
        m->interval_ms = w->metrics.interval_ms;
        m->series = watch_series_new(m->interval_ms, 0);
        uv_timer_start(&m->sample_timer, on_sample_timer, 0, m->interval_ms);
        if (m->d->sup)
            sup_set_sample_interval(m->d->sup, m->interval_ms);
    }
}

/* ---- lifecycle ---------------------------------------------------------------------------------- */
int monitor_new(struct daemon *d, struct monitor **out, struct err *err)
{
    struct monitor *m = xcalloc(1, sizeof *m);
    m->d = d;
    m->interval_ms = 5000;
    m->last = xcalloc(1, sizeof *m->last);
    m->series = watch_series_new(m->interval_ms, 0);
    struct probe_sched_opts po = {.watch_child = watch_child, .watch_ctx = m,
                                  .jitter_ms = PROBE_JITTER_MS};
    struct alert_opts ao = {.lookup = monitor__lookup, .lookup_ctx = m,
                            .on_transition = on_transition, .on_notice = on_notice, .ctx = m};
    /* For tests only (docs/alerts.md): a shorter evaluation step than the 10 s default, so an
     * end-to-end test of firing and resolving takes seconds, not a minute. */
    const char *step = getenv("TEND_ALERT_STEP_MS");
    char *end = NULL;
    unsigned long ms = step ? strtoul(step, &end, 10) : 0;
    if (step && end && *end == '\0' && ms >= 100 && ms <= 60000)
        ao.step_ms = ms;
    struct notify_opts no = {.watch_child = notify_watch_child, .watch_ctx = m,
                             .on_event = on_notify_event, .event_ctx = m};
    int rc;
    if ((rc = probe_sched_new(&d->loop, &po, &m->sched, err)) < 0 ||
        (rc = alert_engine_new(&ao, &m->alerts, err)) < 0 ||
        (rc = notify_set_new(&d->loop, &no, &m->notify, err)) < 0 ||
        (rc = alert_start(m->alerts, &d->loop, err)) < 0) {
        *out = m; /* the caller closes it */
        return rc;
    }
    uv_timer_init(&d->loop, &m->sample_timer);
    uv_timer_init(&d->loop, &m->rollup_timer);
    m->sample_timer.data = m->rollup_timer.data = m;
    uv_timer_start(&m->sample_timer, on_sample_timer, 0, m->interval_ms);
    uv_timer_start(&m->rollup_timer, on_rollup_timer, ROLLUP_EVERY_MS, ROLLUP_EVERY_MS);
    uv_unref((uv_handle_t *)&m->sample_timer);
    uv_unref((uv_handle_t *)&m->rollup_timer);
    *out = m;
    return 0;
}

static void part_closed(void *arg)
{
    struct monitor *m = arg;
    if (--m->closing > 0)
        return;
    on_rollup_timer(&m->rollup_timer); /* the last minutes are kept */
    watch_series_free(m->series);
    watch_sys_free(m->sys);
    cfg_watch_unref(m->cfg);
    free(m->last);
    void (*closed)(void *) = m->closed;
    void *arg2 = m->closed_arg;
    free(m);
    if (closed)
        closed(arg2);
}

static void timer_closed(uv_handle_t *h)
{
    part_closed(h->data);
}

void monitor_close(struct monitor *m, void (*closed)(void *arg), void *arg)
{
    m->closed = closed;
    m->closed_arg = arg;
    m->closing = 1; /* this call */
    probes_drop(m, NULL, -2);
    alogs_stop(m);
    alert_engine_free(m->alerts);
    m->alerts = NULL;
    if (m->sched) {
        m->closing++;
        probe_sched_close(m->sched, part_closed, m);
    }
    if (m->notify) {
        m->closing++;
        notify_set_close(m->notify, part_closed, m);
    }
    if (uv_is_active((uv_handle_t *)&m->rollup_timer) || m->rollup_timer.loop) {
        m->closing += 2;
        uv_close((uv_handle_t *)&m->sample_timer, timer_closed);
        uv_close((uv_handle_t *)&m->rollup_timer, timer_closed);
    }
    part_closed(m);
}
