/* routes_watch.c: the monitoring routes (docs/api.md "Monitoring").
 *
 *   GET  /v1/checks                        every probe: status, since when, latency, message
 *   GET  /v1/metrics?app=&since=MS&points=N  series over the last MS (default 1 h, the ring's
 *                                          span) with N sparkline points, and access-log figures
 *   GET  /v1/metrics/history?app=&since=MS&points=N  the same shape from the one-minute
 *                                          roll-ups in tend.db (since up to 90 days)
 *   GET  /v1/alerts                        rules and their state, silences, recent history,
 *                                          notifiers
 *   POST /v1/alerts/silence {"pattern","for_ms"}   silence rules (name or glob)
 *   POST /v1/alerts/unsilence {"pattern"}
 *   GET  /metrics                          Prometheus text format 0.0.4; on the TCP door it
 *                                          needs the token like every /v1 route (metrics tell a
 *                                          lot about a server): give Prometheus a bearer token
 *   GET  /health                           200 when every app that should run has an online
 *                                          instance and no health probe of an app has failed
 *                                          `failures` times in a row, else 503; stand-alone checks
 *                                          are listed, not counted; public on the TCP door (load
 *                                          balancers rarely send tokens) and says only ok/down */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "daemon_int.h"
#include "monitor.h"

static bool have(struct daemon *d, struct api_req *req)
{
    if (d->monitor)
        return true;
    api_reply_error(req, 409, "state", "monitoring is not available: the daemon is stopping", NULL);
    return false;
}

static void h_checks(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    if (have(d, req))
        api_reply(req, 200, monitor_checks_json(d->monitor));
}

static void h_metrics(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    long since = 0, points = 0;
    if (!have(d, req) ||
        routes__query_int(req, "since", 3600 * 1000L, 1000, 3600 * 1000L, &since) < 0 ||
        routes__query_int(req, "points", 0, 0, 240, &points) < 0)
        return;
    const char *app = api_req_query(req, "app");
    api_reply(req, 200, monitor_metrics_json(d->monitor, app && *app ? app : NULL, since,
                                             (int)points));
}

/* "name{a=\"x\",b=\"y\"}" (watch_series_key) -> {"name","labels"} as /v1/metrics shows them. */
static json_t *key_json(const char *key)
{
    size_t n = strcspn(key, "{");
    json_t *labels = json_object();
    struct buf k = {0}, v = {0};
    const char *p = key + n;
    while (*p == '{' || *p == ',') {
        buf_reset(&k), buf_reset(&v);
        for (p++; *p && *p != '='; p++)
            buf_putc(&k, *p);
        if (p[0] != '=' || p[1] != '"')
            break;
        for (p += 2; *p && *p != '"'; p++)
            buf_putc(&v, *p == '\\' && p[1] ? *++p : *p);
        if (*p == '"')
            p++;
        json_object_set_new(labels, k.ptr ? k.ptr : "", json_string(v.ptr ? v.ptr : ""));
    }
    buf_fini(&k), buf_fini(&v);
    return json_pack("{s:s%, s:o}", "name", key, n, "labels", labels);
}

/* One series over [from, to) from its roll-ups: last/min/avg/max and `points` averages. */
static json_t *rollup_json(struct store *st, const char *key, int64_t from, int64_t to, int points,
                           struct err *err)
{
    struct store_metric *r = NULL;
    size_t n = 0;
    if (store_metrics_range(st, key, from, to, 0, &r, &n, err) < 0)
        return NULL;
    json_t *o = key_json(key);
    double min = NAN, max = NAN, sum = 0, *acc = calloc((size_t)points + 1, sizeof *acc);
    size_t *cnt = calloc((size_t)points + 1, sizeof *cnt);
    for (size_t i = 0; i < n; i++) {
        min = isnan(min) || r[i].min < min ? r[i].min : min;
        max = isnan(max) || r[i].max > max ? r[i].max : max;
        sum += r[i].avg;
        size_t b = (size_t)((r[i].minute_ms - from) * points / (to - from));
        if (acc && cnt && b < (size_t)points)
            acc[b] += r[i].avg, cnt[b]++;
    }
#define NUM(x) (n && !isnan(x) ? json_real(x) : json_null())
    json_object_set_new(o, "samples", json_integer((json_int_t)n));
    json_object_set_new(o, "last", NUM(n ? r[n - 1].last : NAN));
    json_object_set_new(o, "min", NUM(min));
    json_object_set_new(o, "avg", NUM(n ? sum / (double)n : NAN));
    json_object_set_new(o, "max", NUM(max));
#undef NUM
    if (points > 0) {
        json_t *pts = json_array();
        for (int i = 0; i < points; i++)
            json_array_append_new(pts,
                                  cnt && cnt[i] ? json_real(acc[i] / (double)cnt[i]) : json_null());
        json_object_set_new(o, "points", pts);
    }
    free(acc), free(cnt), free(r);
    return o;
}

/* Reads SQLite on the loop (as /v1/events does): at most 100000 rows per series, a few ms per
 * series for a day; the CLI asks for it only when --since is beyond the hour in memory. */
static void h_history(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    long since = 0, points = 0;
    if (routes__query_int(req, "since", 24 * 3600 * 1000L, 60 * 1000L, 90L * 24 * 3600 * 1000,
                          &since) < 0 ||
        routes__query_int(req, "points", 0, 0, 240, &points) < 0)
        return;
    if (!d->store) {
        api_reply_error(req, 409, "state", "the metrics store is not open", NULL);
        return;
    }
    const char *app = api_req_query(req, "app");
    char contains[300], **keys = NULL;
    size_t nkeys = 0;
    struct err err = {0};
    if (app && *app)
        snprintf(contains, sizeof contains, "app=\"%s\"", app);
    if (store_metrics_series(d->store, app && *app ? contains : NULL, &keys, &nkeys, &err) < 0) {
        routes__reply_err(req, err.code, &err);
        return;
    }
    int64_t to = clock_wall_ms(), from = to - since;
    json_t *out = json_pack("{s:[], s:[], s:I, s:I, s:s, s:[]}", "system", "apps", "window_ms",
                            (json_int_t)since, "interval_ms", (json_int_t)60000, "source",
                            "rollups", "access_logs");
    for (size_t i = 0; i < nkeys && out; i++) {
        json_t *o = rollup_json(d->store, keys[i], from, to, (int)points, &err);
        if (!o) {
            json_decref(out);
            out = NULL;
        } else if (json_integer_value(json_object_get(o, "samples")) == 0) {
            json_decref(o); /* a series with nothing in the window (an app removed long ago) */
        } else {
            bool is_app = json_object_get(json_object_get(o, "labels"), "app") != NULL;
            json_array_append_new(json_object_get(out, is_app ? "apps" : "system"), o);
        }
    }
    for (size_t i = 0; i < nkeys; i++)
        free(keys[i]);
    free(keys);
    if (out)
        api_reply(req, 200, out);
    else
        routes__reply_err(req, err.code, &err);
}

static void h_alerts(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    if (have(d, req))
        api_reply(req, 200, monitor_alerts_json(d->monitor));
}

static void h_silence(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    if (!have(d, req))
        return;
    json_t *body = api_req_json(req);
    const char *pattern = json_string_value(json_object_get(body, "pattern"));
    json_t *for_ms = json_object_get(body, "for_ms");
    struct err err = {0};
    if (!pattern || !*pattern) {
        api_reply_error(req, 400, "bad_request", "\"pattern\" must name a rule or be a glob",
                        "tend alerts lists the rules");
        return;
    }
    if (str_eq(api_req_param(req, "verb"), "unsilence")) {
        if (monitor_unsilence(d->monitor, pattern, &err) < 0)
            routes__reply_err(req, err.code, &err);
        else
            api_reply(req, 200, json_pack("{s:s}", "unsilenced", pattern));
        return;
    }
    if (!json_is_integer(for_ms) || json_integer_value(for_ms) < 1000 ||
        json_integer_value(for_ms) > 90LL * 24 * 3600 * 1000) {
        api_reply_error(req, 400, "bad_request", "\"for_ms\" must be from 1 s to 90 days", NULL);
        return;
    }
    int64_t until = clock_wall_ms() + json_integer_value(for_ms);
    int n = monitor_silence(d->monitor, pattern, until, &err);
    if (n < 0)
        routes__reply_err(req, err.code, &err);
    else
        api_reply(req, 200, json_pack("{s:s, s:I, s:i}", "pattern", pattern, "until",
                                      (json_int_t)until, "matches", n));
}

static void h_prometheus(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    if (!have(d, req))
        return;
    struct buf b;
    struct err err = {0};
    buf_init(&b, 16u << 20);
    if (monitor_prometheus(d->monitor, &b, &err) < 0)
        routes__reply_err(req, err.code, &err);
    else
        api_reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.ptr ? b.ptr : "",
                       b.len);
    buf_fini(&b);
}

static void h_health(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    if (!have(d, req))
        return;
    bool ok;
    json_t *o = monitor_health_json(d->monitor, &ok);
    api_reply(req, ok ? 200 : 503, o);
}

void routes_watch_register(struct daemon *d)
{
    struct api *a = d->api;
    api_route(a, "GET", "/v1/checks", h_checks, d);
    api_route(a, "GET", "/v1/metrics", h_metrics, d);
    api_route(a, "GET", "/v1/metrics/history", h_history, d);
    api_route(a, "GET", "/v1/alerts", h_alerts, d);
    api_route(a, "POST", "/v1/alerts/:verb", h_silence, d);
    api_route(a, "GET", "/metrics", h_prometheus, d);
    api_route_public(a, "GET", "/health", h_health, d);
}
