/* alert/alert.h: the alert engine: rules of `alerts:` evaluated against current values.
 *
 * The engine knows nothing of where values come from: its owner (the daemon) answers a lookup
 * callback ("what is app(api).latency.p95 now?") and receives a callback per state change and
 * per notice. Each rule walks inactive -> pending -> firing -> resolved -> inactive:
 *   - inactive -> pending when the condition is first seen true (straight to firing if no `for`);
 *   - pending -> firing at the first evaluation at least `for` after it was first seen true;
 *     pending -> inactive as soon as it is false or has no data (it must hold the whole time);
 *   - firing -> resolved only once the condition has been false for one full evaluation step
 *     (seen false at two evaluations in a row, a step apart): one good sample between bad
 *     ones does not resolve and re-fire (flapping guard);
 *   - resolved -> inactive (or pending/firing again) at the next evaluation.
 * No data (the lookup says so) is not 0: pending goes back to inactive, firing holds (a probe
 * that stopped answering has not recovered) and shows "no_data"; inactive stays inactive.
 * While firing, a notice repeats every `repeat` (0 = never). Silences (name or glob, until a
 * wall-clock time) suppress notices only: state is still tracked, shown and recorded; a firing
 * alert whose firing notice was silenced is announced when the silence ends; a resolution is
 * notified exactly when its firing was, even under a silence (so no receiver keeps showing an
 * alert that is over).
 *
 * Time: alert_eval(e, mono_ms, wall_ms) is pure over the callbacks, so tests drive it; in
 * production alert_start() runs it on a uv timer every step_ms with clock_mono_ms() and
 * clock_wall_ms(). Durations use the monotonic clock; started/ended/silences are wall time. */
#ifndef TEND_ALERT_H
#define TEND_ALERT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/rule.h"

struct err;
struct cfg_alert;
struct alert_engine;

enum alert_severity { ALERT_INFO, ALERT_WARNING, ALERT_CRITICAL };
/* Stored in SQLite by name; values only grow. */
enum alert_state { ALERT_INACTIVE, ALERT_PENDING, ALERT_FIRING, ALERT_RESOLVED, ALERT_NSTATES };
enum alert_notice_kind { ALERT_NOTICE_FIRING, ALERT_NOTICE_RESOLVED, ALERT_NOTICE_REPEAT };

const char *alert_state_name(enum alert_state s);               /* "inactive" "pending" ... */
const char *alert_severity_name(enum alert_severity s);         /* "info" "warning" "critical" */
const char *alert_notice_kind_name(enum alert_notice_kind k);   /* "firing" "resolved" "repeat" */
int alert_state_parse(const char *word, enum alert_state *out); /* 0 or -TE_NOTFOUND */

/* ---- what the owner answers --------------------------------------------------------------- */
/* One question. For a state rule (op RULE_IS) answer 1 if the subject is in `state`, else 0.
 * Otherwise answer the value in `unit` (percent 0-100, ms, bytes, count). When window_ms > 0
 * (`restarts > 5 in 10m`) answer the increase of the counter over the last window_ms. */
struct alert_query {
    const struct rule *rule;
    enum rule_subject subject;
    const char *arg; /* "api", "/data"; NULL for cpu/memory/load and `postgres` alone */
    enum rule_field field;
    enum rule_state state; /* RULE_STATE_NONE unless a state rule */
    enum rule_unit unit;
    uint64_t window_ms;
};
/* 1 and *value set; 0 = no data (never measured, stale, no requests in the window); < 0 = the
 * subject does not exist (treated as no data, and shown as such). */
typedef int alert_lookup_fn(void *ctx, const struct alert_query *q, double *value);

struct alert_label {
    const char *key; /* "app" "check" "path" "backup" */
    const char *value;
};

/* Borrowed for the duration of the callback. */
struct alert_notice {
    const char *name; /* "high-cpu", or the rule text */
    const char *rule; /* "cpu > 70% for 5m" as written */
    enum alert_severity severity;
    enum alert_state state;           /* the new state */
    enum alert_state from;            /* the previous one (transitions) */
    enum alert_notice_kind kind;      /* notices only */
    bool has_value;                   /* false: no data */
    double value, threshold;          /* in the rule's unit; threshold 0 for state rules */
    const char *value_text;           /* "83%", "812ms", "down", "no data" */
    const char *threshold_text;       /* "70%"; "" for state rules */
    const char *summary;              /* "cpu is 83% (> 70%) for 5m", "app(api) is down for 1m" */
    const struct alert_label *labels; /* {app: api} or {check: db} ...; 0 or 1 today */
    size_t nlabels;
    const char *const *notify; /* notifier names, NULL-terminated; NULL = every notifier */
    int64_t at_ms;             /* wall clock of this change */
    int64_t started_ms;        /* wall clock: when it started firing (0 if it never fired) */
    int64_t ended_ms;          /* wall clock: when it resolved; 0 while firing */
    bool is_silenced;
};
typedef void alert_notice_fn(void *ctx, const struct alert_notice *n);

struct alert_opts {
    alert_lookup_fn *lookup; /* required */
    void *lookup_ctx;
    alert_notice_fn *on_transition; /* every state change, silenced or not (history, log) */
    alert_notice_fn *on_notice;     /* firing / resolved / repeat to send, never silenced ones */
    void *ctx;                      /* for both */
    uint64_t step_ms;               /* evaluation period; default 10 s */
};

/* A rule to evaluate; borrowed, copied. alert_config_from_cfg() fills one from tend.yaml. */
struct alert_rule_spec {
    const char *name; /* NULL = the rule text */
    const char *text; /* parsed here again (rule_parse) */
    enum alert_severity severity;
    const char *const *notify; /* NULL-terminated or NULL */
    uint64_t repeat_ms;        /* 0 = never */
};
void alert_spec_from_cfg(struct alert_rule_spec *s, const struct cfg_alert *a);

/* ---- the engine ---------------------------------------------------------------------------- */
int alert_engine_new(const struct alert_opts *opts, struct alert_engine **out, struct err *err);
/* Stops the timer; the engine is freed from the loop once the timer is closed (immediately if
 * it was never started). No callback runs after this call. NULL is a no-op. */
void alert_engine_free(struct alert_engine *e);
/* Replace the rules (all or nothing: -TE_INVALID with err naming the bad rule, nothing changed;
 * -TE_INVALID also for two rules with one name). A rule whose name and text are unchanged keeps
 * its state (a reload does not re-fire or forget firing alerts); a removed firing rule gets a
 * transition to inactive and no notice. */
int alert_configure(struct alert_engine *e, const struct alert_rule_spec *specs, size_t n,
                    struct err *err);
/* After a daemon restart: rule `name` with this `text`, not evaluated yet, was firing since
 * started_wall when the previous daemon died (its history says so). It becomes firing again,
 * as already announced (no second firing notice; its resolution is notified with the same
 * started time). 0, or -TE_NOTFOUND when no such fresh rule exists. No callback runs. */
int alert_restore_firing(struct alert_engine *e, const char *name, const char *text,
                         int64_t started_wall, uint64_t now_mono, int64_t now_wall);
/* Evaluate every rule once. Callbacks run inside this call. */
void alert_eval(struct alert_engine *e, uint64_t mono_ms, int64_t wall_ms);
/* Production: alert_eval every step_ms on `loop` (first run after one step). */
int alert_start(struct alert_engine *e, uv_loop_t *loop, struct err *err);

/* ---- silences ------------------------------------------------------------------------------ */
/* Silence rules whose name matches `pattern` (exact or fnmatch glob: "api-*", "*") until
 * wall-clock until_ms; also applies to rules configured later. Replaces an earlier silence with
 * the same pattern. Returns how many current rules it matches (0 is allowed: a future rule),
 * or -TE_INVALID for an empty pattern. */
int alert_silence(struct alert_engine *e, const char *pattern, int64_t until_ms);
/* Remove the silence with exactly this pattern: 0, or -TE_NOTFOUND. */
int alert_unsilence(struct alert_engine *e, const char *pattern);

/* ---- visibility ---------------------------------------------------------------------------- */
/* {"alerts": [{"name", "rule", "severity", "state", "value" (number or null), "value_text",
 * "threshold", "unit", "summary", "since" (wall ms of the last state change), "started",
 * "ended" (wall ms or null), "no_data", "silenced_until" (wall ms or null), "last_notice"
 * (wall ms or null), "notices" (count)}], "silences": [{"pattern", "until"}]}, rules in config
 * order. Silences expired at now_wall_ms are left out. New reference. */
json_t *alert_json(const struct alert_engine *e, int64_t now_wall_ms);
/* The state of rule `name`, for tests and the API; -TE_NOTFOUND. */
int alert_get_state(const struct alert_engine *e, const char *name, enum alert_state *out);

#endif
