/* monitor_lookup.c: the alert engine's questions ("what is app(api).latency.p95 now?").
 *
 * Answers come from what the daemon already measures: the system sample and series (cpu,
 * memory, load, disk), supervise's status (app states, instances, restarts), the instance series
 * (app cpu, memory, restarts over a window), the probes (check/postgres/redis/cert/file_age),
 * the access logs (latency percentiles, error rate, request rate over the shortest window) and
 * the backup module (age of the last good backup). A value older than three sampling intervals
 * is no data, never a stale number. */
#include "monitor_int.h"

#include <math.h>
#include <string.h>

#include "core/clock.h"
#include "core/str.h"
#include "core/util.h"
#include "daemon_int.h"

/* ---- host --------------------------------------------------------------------------------------- */
static const struct watch_sys_mount *mount_of(const struct monitor *m, const char *path)
{
    const struct watch_sys_mount *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; m->has_sample && i < m->last->nmounts; i++) {
        const struct watch_sys_mount *mt = &m->last->mounts[i];
        size_t n = strlen(mt->path);
        bool under = str_eq(mt->path, "/") ||
                     (strncmp(path, mt->path, n) == 0 && (path[n] == '\0' || path[n] == '/'));
        if (under && (!best || n > best_len))
            best = mt, best_len = n;
    }
    return best;
}

static int host_value(struct monitor *m, const struct alert_query *q, double *v)
{
    const char *name = q->subject == RULE_CPU      ? WATCH_CPU
                       : q->subject == RULE_MEMORY ? WATCH_MEMORY
                                                   : WATCH_LOAD1;
    if (q->subject == RULE_MEMORY && q->unit == RULE_UNIT_BYTES) {
        if (!m->has_sample)
            return 0;
        *v = (double)(m->last->mem_total - m->last->mem_available);
        return 1;
    }
    const struct watch_series *s = watch_series_find(m->series, name);
    int64_t at;
    if (!s || !watch_series_last(s, v, &at) || isnan(*v) ||
        clock_wall_ms() - at > 3 * (int64_t)m->interval_ms)
        return 0;
    return 1;
}

static int disk_value(struct monitor *m, const struct alert_query *q, double *v)
{
    const struct watch_sys_mount *mt = mount_of(m, q->arg ? q->arg : "/");
    if (!mt)
        return m->has_sample ? -1 : 0;
    if (q->field == RULE_FIELD_INODES)
        *v = 100.0 - mt->inodes_free_pct;
    else if (q->field == RULE_FIELD_FREE)
        *v = q->unit == RULE_UNIT_BYTES ? (double)mt->avail : 100.0 - mt->used_pct;
    else
        *v = q->unit == RULE_UNIT_BYTES ? (double)(mt->size - mt->avail) : mt->used_pct;
    return isnan(*v) ? 0 : 1;
}

/* ---- apps ---------------------------------------------------------------------------------------- */
/* Sum of a per-instance series of `app` (last values, or increase over window_ms). */
struct app_sum {
    struct monitor *m;
    const char *app, *name;
    uint64_t window_ms;
    double sum;
    size_t n;
};

static void add_series(void *arg, const struct watch_series *s)
{
    struct app_sum *a = arg;
    const struct watch_label *l;
    size_t nl = watch_series_labels(s, &l);
    if (!str_eq(watch_series_name(s), a->name))
        return;
    for (size_t i = 0; i < nl; i++) {
        if (!str_eq(l[i].name, "app") || !str_eq(l[i].value, a->app))
            continue;
        double v;
        int64_t at, now = clock_wall_ms();
        if (!watch_series_last(s, &v, &at) || now - at > MON_APP_MAX_AGE_MS(a->m))
            return;
        if (a->window_ms) {
            struct watch_stats st;
            watch_series_stats(a->m->series, s, now, (int64_t)a->window_ms, &st);
            if (st.n == 0)
                return;
            v = st.max - st.min; /* a counter: its increase within the window */
        }
        a->sum += v;
        a->n++;
    }
}

static int app_series(struct monitor *m, const char *app, const char *name, uint64_t window_ms,
                      double *v)
{
    struct app_sum a = {m, app, name, window_ms, 0, 0};
    watch_series_each(m->series, add_series, &a);
    if (a.n == 0)
        return 0;
    *v = a.sum;
    return 1;
}

static int access_value(struct monitor *m, const char *app, enum rule_field f, double *v)
{
    for (size_t i = 0; i < m->nalogs; i++) {
        struct alog_window w;
        if (alog_app_window(m->alogs[i], app, m->alog_window_ms[i], &w) < 0)
            continue;
        if (f == RULE_FIELD_RPS) {
            *v = w.rate;
            return 1;
        }
        if (w.requests == 0)
            return 0;
        if (f == RULE_FIELD_ERROR_RATE) {
            *v = 100.0 * w.error_rate;
            return 1;
        }
        if (w.latency_count == 0)
            return 0;
        uint64_t us = f == RULE_FIELD_LATENCY_P50   ? w.p50_us
                      : f == RULE_FIELD_LATENCY_P95 ? w.p95_us
                      : f == RULE_FIELD_LATENCY_P99 ? w.p99_us
                                                    : w.avg_us;
        *v = (double)us / 1000.0;
        return 1;
    }
    return 0;
}

static int health_failing(struct monitor *m, const char *app)
{
    for (struct mon_probe *mp = m->probes; mp; mp = mp->next)
        if (str_eq(mp->app, app) && probe_state(mp->p)->status == PROBE_FAILING)
            return 1;
    return 0;
}

static int app_value(struct monitor *m, const struct alert_query *q, double *v)
{
    json_t *st = m->d->sup ? sup_status_json(m->d->sup, q->arg) : NULL;
    json_t *app = json_array_get(json_object_get(st, "apps"), 0), *in;
    size_t i, online = 0, stopped = 0, errored = 0, n = 0;
    int restarts = 0;
    json_array_foreach(json_object_get(app, "instances"), i, in)
    {
        const char *s = json_string_value(json_object_get(in, "state"));
        n++;
        online += str_eq(s, "online");
        stopped += str_eq(s, "stopped");
        errored += str_eq(s, "errored");
        restarts += (int)json_integer_value(json_object_get(in, "restarts"));
    }
    json_decref(st);
    if (!app)
        return -1;
    if (q->state == RULE_DOWN) {
        *v = n > 0 && online == 0 && stopped < n; /* stopped on purpose is not down */
        return 1;
    }
    if (q->state == RULE_ERRORED) {
        *v = errored > 0;
        return 1;
    }
    if (q->state == RULE_FAILING) {
        *v = health_failing(m, q->arg);
        return 1;
    }
    switch (q->field) {
    case RULE_FIELD_ONLINE:
        *v = (double)online;
        return 1;
    case RULE_FIELD_RESTARTS:
        if (q->window_ms)
            return app_series(m, q->arg, WATCH_APP_RESTARTS, q->window_ms, v);
        *v = restarts;
        return 1;
    case RULE_FIELD_CPU:
        return app_series(m, q->arg, WATCH_APP_CPU, 0, v);
    case RULE_FIELD_MEMORY:
        return app_series(m, q->arg, WATCH_APP_MEMORY, 0, v);
    default:
        return access_value(m, q->arg, q->field, v);
    }
}

/* ---- probes and backups ----------------------------------------------------------------------------- */
static bool metric(const struct probe_state *st, const char *name, double *v)
{
    for (size_t i = 0; i < st->nmetrics; i++)
        if (str_eq(st->metrics[i].name, name)) {
            *v = st->metrics[i].value;
            return true;
        }
    return false;
}

/* `postgres` alone: the only postgres check. */
static struct mon_probe *only_of_kind(struct monitor *m, enum probe_kind_id k)
{
    struct mon_probe *found = NULL;
    for (struct mon_probe *mp = m->probes; mp; mp = mp->next)
        if (!mp->app[0] && probe_kind(mp->p) == k) {
            if (found)
                return NULL;
            found = mp;
        }
    return found;
}

static int probe_value(struct monitor *m, const struct alert_query *q, double *v)
{
    struct mon_probe *mp = q->arg ? monitor__find_probe(m, q->arg)
                           : only_of_kind(m, q->subject == RULE_REDIS ? PROBE_REDIS : PROBE_POSTGRES);
    if (!mp)
        return -1;
    const struct probe_state *st = probe_state(mp->p);
    if (st->status == PROBE_PENDING)
        return 0;
    if (q->state == RULE_FAILING) {
        *v = st->status == PROBE_FAILING;
        return 1;
    }
    switch (q->field) {
    case RULE_FIELD_LATENCY:
        *v = st->latency_ms;
        return 1;
    case RULE_FIELD_CONNECTIONS:
        return metric(st, "connections", v) ? 1 : 0;
    case RULE_FIELD_CLIENTS:
        return metric(st, "connected_clients", v) ? 1 : 0;
    case RULE_FIELD_MEMORY:
        return metric(st, "used_memory", v) ? 1 : 0;
    case RULE_FIELD_DAYS_LEFT:
        return metric(st, "days_left", v) ? 1 : 0;
    default:
        if (q->subject == RULE_FILE_AGE && metric(st, "age_s", v)) {
            *v *= 1000.0;
            return 1;
        }
        if (q->subject == RULE_CERT)
            return metric(st, "days_left", v) ? 1 : 0;
        return 0;
    }
}

static int backup_value(struct monitor *m, const struct alert_query *q, double *v)
{
    json_t *st = m->d->backup ? backup_status(m->d->backup) : NULL, *j;
    size_t i;
    int rc = -1;
    json_array_foreach(json_object_get(st, "jobs"), i, j)
    {
        if (!str_eq(json_string_value(json_object_get(j, "name")), q->arg))
            continue;
        json_t *ok = json_object_get(j, "last_ok");
        if (q->state == RULE_FAILING) {
            *v = json_is_string(json_object_get(j, "last_error"));
            rc = 1;
        } else if (!json_is_integer(ok)) {
            rc = 0;
        } else {
            *v = (double)(clock_wall_ms() - json_integer_value(ok));
            rc = 1;
        }
    }
    json_decref(st);
    return rc;
}

int monitor__lookup(void *ctx, const struct alert_query *q, double *value)
{
    struct monitor *m = ctx;
    switch (q->subject) {
    case RULE_CPU:
    case RULE_MEMORY:
    case RULE_LOAD:
        return host_value(m, q, value);
    case RULE_DISK:
        return disk_value(m, q, value);
    case RULE_APP:
        return app_value(m, q, value);
    case RULE_CHECK:
    case RULE_POSTGRES:
    case RULE_REDIS:
    case RULE_CERT:
    case RULE_FILE_AGE:
        return probe_value(m, q, value);
    case RULE_BACKUP:
        return backup_value(m, q, value);
    default:
        return -1;
    }
}
