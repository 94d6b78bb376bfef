/* store/store.h: the SQLite database in $TEND_HOME/tend.db (WAL mode): history, not live state.
 *
 * Schema changes are numbered migrations applied in order at open (PRAGMA user_version), each
 * in one transaction; a database newer than this binary is refused, never downgraded. Writes
 * are small single-row inserts (prepared statements, synchronous=NORMAL), cheap enough for the
 * loop; reads are bounded by `limit`. */
#ifndef TEND_STORE_H
#define TEND_STORE_H

#include <jansson.h>
#include <stdint.h>

struct err;
struct store;

/* Open (creating and migrating as needed). */
int store_open(const char *path, struct store **out, struct err *err);
void store_close(struct store *s); /* NULL is a no-op */
/* The schema version this binary writes. */
int store_schema_version(void);

/* Append an event. `kind` is a stable name ("start", "exit", "log_drop", "config_applied");
 * app may be NULL (daemon-wide), instance -1 when not about one instance. */
int store_event_add(struct store *s, int64_t time_ms, const char *kind, const char *app,
                    int instance, const char *msg);
/* Events newest last: [{"time","kind","app","instance","message"}], filtered by app (NULL =
 * all) and time >= since_ms, at most `limit` (the newest ones). New reference. */
json_t *store_events(struct store *s, const char *app, int64_t since_ms, int limit,
                     struct err *err);
/* Drop events older than `before_ms` (retention; default 30 days, run daily by the daemon). */
int store_events_prune(struct store *s, int64_t before_ms);

/* ---- the backup catalog (backups.c) -------------------------------------------------------- */
/* Record (or replace) the manifest of backup `id` of `job`: the JSON text written beside it. */
int store_backup_put(struct store *s, const char *job, const char *id, int64_t started_ms,
                     const char *manifest_json);
/* Forget one backup (pruned by retention), named by its id or its file. 0 also when it was
 * not there. */
int store_backup_delete(struct store *s, const char *job, const char *id);
/* Manifests newest first, of `job` (NULL = every job), at most `limit` (<= 0: 1000). New ref. */
json_t *store_backups(struct store *s, const char *job, int limit, struct err *err);
/* Replace every row of `job` (NULL = the whole catalog) with `manifests` (an array of manifest
 * objects with "job", "id", "started"), in one transaction: `tend backup sync`. */
int store_backups_replace(struct store *s, const char *job, json_t *manifests, struct err *err);

/* ---- metric roll-ups (metrics.c) ---------------------------------------------------------- */

/* One minute of one series: what watch_series_rollups() produces (the daemon copies). */
struct store_metric {
    const char *series; /* key: "cpu_percent", "app_cpu_percent{app=\"api\",instance=\"0\"}" */
    int64_t minute_ms;  /* start of the minute, Unix epoch ms */
    double min, avg, max, last;
};
/* Insert (or replace: same series and minute) rows in one transaction; nothing is written on
 * failure. Strings are borrowed for the call. */
int store_metrics_insert(struct store *s, const struct store_metric *rows, size_t n,
                         struct err *err);
/* Rows of one series with from_ms <= minute_ms < to_ms, oldest first, at most `limit` (the oldest
 * ones; <= 0 means 100000). *rows is the caller's to free(); their `series` is `series`. */
int store_metrics_range(struct store *s, const char *series, int64_t from_ms, int64_t to_ms,
                        int limit, struct store_metric **rows, size_t *n, struct err *err);
/* Keys of the series that have rows, sorted; those containing `contains` (NULL = all), e.g.
 * "app=\"api\"". *keys (each string and the array) is the caller's to free(). */
int store_metrics_series(struct store *s, const char *contains, char ***keys, size_t *n,
                         struct err *err);
/* Delete rows with minute_ms < before_ms (keep: default 30 days) and series left without rows;
 * run daily by the daemon. */
int store_metrics_prune(struct store *s, int64_t before_ms, struct err *err);

/* ---- alert history (store/alerts.c) ---------------------------------------------------------
 * One row per state change of an alert rule. Strings are the alert module's names ("firing",
 * "warning"); the store does not interpret them. Borrowed for the call. */
struct store_alert_row {
    int64_t time_ms; /* wall clock */
    const char *name, *rule, *severity;
    const char *state, *from_state; /* "inactive" "pending" "firing" "resolved" */
    int has_value;                  /* 0: no data (value stored as NULL) */
    double value;
    const char *value_text; /* "83%", "no data" */
    const char *summary;    /* "cpu is 83% (> 70%) for 5m" */
    int is_silenced;
};
int store_alert_add(struct store *s, const struct store_alert_row *r);
/* Transitions, oldest first: [{"time", "name", "rule", "severity", "state", "from", "value"
 * (number or null), "value_text", "summary", "silenced"}], of rule `name` (NULL = all) with
 * time >= since_ms, at most `limit` (the newest; <= 0 = 10000). New reference, or NULL + err. */
json_t *store_alerts(struct store *s, const char *name, int64_t since_ms, int limit,
                     struct err *err);
/* Drop transitions older than before_ms (retention, run daily with the events'). */
int store_alerts_prune(struct store *s, int64_t before_ms);

#endif
