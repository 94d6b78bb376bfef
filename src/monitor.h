/* monitor.h: the daemon's side of watch/ and alert/ (issue 3): the wiring, not the work.
 *
 * watch/ measures (probes, /proc, access logs) and alert/ judges and notifies; neither knows the
 * other nor supervise. struct monitor, owned by the daemon, connects them (STYLE 1): it turns
 * the `checks:` and apps' `health:` of the running config into probes (one per instance for
 * health, made when the instance starts and dropped when it stops), restarts an instance whose
 * liveness probe failed `failures` times after its grace period, samples the system and feeds
 * each instance's numbers from supervise into the series, writes one-minute roll-ups to tend.db,
 * tails the access logs, answers the alert engine's questions from all of that, and hands its
 * notices to the notifiers. Routes (routes_watch.c) read it for /v1/checks, /v1/metrics,
 * /v1/alerts, /metrics and /health. */
#ifndef TEND_MONITOR_H
#define TEND_MONITOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "supervise/supervise.h"
#include "watch/metrics.h"

struct daemon;
struct err;
struct monitor;
struct buf;

int monitor_new(struct daemon *d, struct monitor **out, struct err *err);
/* Stop every probe, tail, timer, notifier; closed(arg) from the loop when all is released. */
void monitor_close(struct monitor *m, void (*closed)(void *arg), void *arg);
/* Take the monitoring part of the config supervise now runs (after up, resurrect, adoption). */
void monitor_configure(struct monitor *m);
/* supervise's events (instances start and stop: health probes) and samples (metrics). */
void monitor_on_sup_event(struct monitor *m, enum sup_evkind kind, const char *app, int instance);
void monitor_on_sample(struct monitor *m, const char *app, int instance,
                       const struct sup_sample *s);
/* Daily retention of roll-ups and alert history. */
void monitor_prune(struct monitor *m);

/* ---- for the routes ------------------------------------------------------------------------ */
/* {"checks":[probe_to_json + "app","instance"]} */
json_t *monitor_checks_json(struct monitor *m);
/* {"system":{...},"apps":[...]} over the last `window_ms` with `points` sparkline values. */
json_t *monitor_metrics_json(struct monitor *m, const char *app, int64_t window_ms, int points);
/* {"alerts":[...],"silences":[...],"recent":[...],"notifiers":[...]} */
json_t *monitor_alerts_json(struct monitor *m);
int monitor_silence(struct monitor *m, const char *pattern, int64_t until_ms, struct err *err);
int monitor_unsilence(struct monitor *m, const char *pattern, struct err *err);
/* The Prometheus page into out: 0 or < 0 with err. */
int monitor_prometheus(struct monitor *m, struct buf *out, struct err *err);
/* {"status":"ok"|"failing","apps":{name:{status,online,instances}},"checks":{name:status}};
 * *ok false when an app that should run has no online instance or a health probe of an app
 * fails. Stand-alone checks are listed, not counted (a stale backup must not make a load
 * balancer drop the server). */
json_t *monitor_health_json(struct monitor *m, bool *ok);

/* monitor_lookup.c: the alert engine's questions. */
struct alert_query;
int monitor__lookup(void *ctx, const struct alert_query *q, double *value);

#endif
