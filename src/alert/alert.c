/* alert/alert.c: the alert engine: rules, their state machine, evaluation and notices.
 *
 * Each evaluation asks the owner's lookup for every rule's value and turns the answer into one
 * event (TRUE: the condition holds, FALSE: it does not, NODATA); the table `on_event` decides
 * what that event means in each state, and every change goes through set_state(), which checks
 * it against `allowed`, logs it and reports it to on_transition (history). Notices (firing,
 * repeat, resolved) go to on_notice unless silenced; see alert.h for the rules of the machine.
 *
 * Invariants: a rule's `started_wall` is set exactly when it enters FIRING and `ended_wall`
 * when it enters RESOLVED; `is_announced` is true only while FIRING/RESOLVED after a firing
 * notice was sent, so a resolution is notified only for an alert someone was told about. */
#include "alert/alert_int.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"

#define DEFAULT_STEP_MS 10000

static const char *const state_name[ALERT_NSTATES] = {
    [ALERT_INACTIVE] = "inactive",
    [ALERT_PENDING] = "pending",
    [ALERT_FIRING] = "firing",
    [ALERT_RESOLVED] = "resolved",
};
static const char *const severity_name[] = {
    [ALERT_INFO] = "info", [ALERT_WARNING] = "warning", [ALERT_CRITICAL] = "critical"};
static const char *const notice_name[] = {
    [ALERT_NOTICE_FIRING] = "firing",
    [ALERT_NOTICE_RESOLVED] = "resolved",
    [ALERT_NOTICE_REPEAT] = "repeat",
};

const char *alert_state_name(enum alert_state s)
{
    return (unsigned)s < ALERT_NSTATES ? state_name[s] : "?";
}
const char *alert_severity_name(enum alert_severity s)
{
    return (unsigned)s <= ALERT_CRITICAL ? severity_name[s] : "?";
}
const char *alert_notice_kind_name(enum alert_notice_kind k)
{
    return (unsigned)k <= ALERT_NOTICE_REPEAT ? notice_name[k] : "?";
}
int alert_state_parse(const char *word, enum alert_state *out)
{
    for (int i = 0; i < ALERT_NSTATES; i++)
        if (str_eq(word, state_name[i])) {
            *out = (enum alert_state)i;
            return 0;
        }
    return -TE_NOTFOUND;
}

/* ---- text for people ---------------------------------------------------------------------- */

void alert__value_text(const struct alert_rule *a, char *dst, size_t size)
{
    const struct rule *r = a->rule;
    if (!a->has_value)
        snprintf(dst, size, "no data");
    else if (rule_op(r) == RULE_IS)
        snprintf(dst, size, "%s", a->value != 0 ? rule_state_name(rule_state(r)) : "ok");
    else
        rule_format_value(r, a->value, dst, size);
}

/* "cpu is 83% (> 70%) for 5m"; "app(api) is down for 1m"; "cpu is back to 52% (> 70%)". */
void alert__summary(const struct alert_rule *a, char *dst, size_t size)
{
    const struct rule *r = a->rule;
    const char *subj = rule_subject_text(r), *fo = rule_for_text(r), *in = rule_in_text(r);
    bool is_bad = a->state == ALERT_FIRING || a->state == ALERT_PENDING;
    char v[48];
    alert__value_text(a, v, sizeof v);
    if (rule_op(r) == RULE_IS) {
        const char *st = rule_state_name(rule_state(r));
        if (!a->has_value)
            snprintf(dst, size, "%s: no data (alert when %s)", subj, st);
        else if (is_bad)
            snprintf(dst, size, "%s is %s%s%s", subj, st, fo[0] ? " for " : "", fo);
        else
            snprintf(dst, size, "%s is no longer %s", subj, st);
        return;
    }
    const char *op = rule_op_name(rule_op(r)), *thr = rule_value_text(r);
    if (!a->has_value)
        snprintf(dst, size, "%s: no data (alert when %s %s)", subj, op, thr);
    else if (is_bad)
        snprintf(dst, size, "%s is %s%s%s (%s %s)%s%s", subj, v, in[0] ? " in " : "", in, op, thr,
                 fo[0] ? " for " : "", fo);
    else
        snprintf(dst, size, "%s is back to %s%s%s (alert when %s %s)", subj, v, in[0] ? " in " : "",
                 in, op, thr);
}

static void label_of(const struct rule *r, struct alert_label *l, size_t *n)
{
    static const char *const key[RULE_NSUBJECTS] = {
        [RULE_DISK] = "path",      [RULE_APP] = "app",       [RULE_CHECK] = "check",
        [RULE_POSTGRES] = "check", [RULE_REDIS] = "check",   [RULE_CERT] = "check",
        [RULE_FILE_AGE] = "check", [RULE_BACKUP] = "backup",
    };
    *n = 0;
    if (rule_arg(r) && key[rule_subject(r)]) {
        l->key = key[rule_subject(r)];
        l->value = rule_arg(r);
        *n = 1;
    }
}

/* Build the notice for `a` as it is now and hand it to `fn`. */
static void report(struct alert_engine *e, struct alert_rule *a, alert_notice_fn *fn,
                   enum alert_notice_kind kind, enum alert_state from, int64_t wall,
                   bool is_silenced)
{
    if (!fn)
        return;
    char v[48], thr[48] = "", summary[300];
    struct alert_label label;
    struct alert_notice n = {
        .name = a->name,
        .rule = a->text,
        .severity = a->severity,
        .state = a->state,
        .from = from,
        .kind = kind,
        .has_value = a->has_value,
        .value = a->value,
        .threshold = rule_threshold(a->rule),
        .value_text = v,
        .threshold_text = thr,
        .summary = summary,
        .labels = &label,
        .notify = (const char *const *)a->notify,
        .at_ms = wall,
        .started_ms = a->started_wall,
        .ended_ms = a->ended_wall,
        .is_silenced = is_silenced,
    };
    alert__value_text(a, v, sizeof v);
    if (rule_op(a->rule) != RULE_IS)
        rule_format_value(a->rule, rule_threshold(a->rule), thr, sizeof thr);
    alert__summary(a, summary, sizeof summary);
    label_of(a->rule, &label, &n.nlabels);
    fn(e->opts.ctx, &n);
}

/* ---- the state machine -------------------------------------------------------------------- */

enum ev { EV_TRUE, EV_FALSE, EV_NODATA, NEVENTS };

/* One evaluation of one rule: what the actions need. */
struct step {
    struct alert_engine *e;
    struct alert_rule *a;
    uint64_t mono;
    int64_t wall;
    bool is_silenced;
};

/* allowed[from][to]: the diagram of alert.h. */
static const bool allowed[ALERT_NSTATES][ALERT_NSTATES] = {
    [ALERT_INACTIVE] = {[ALERT_PENDING] = true, [ALERT_FIRING] = true},
    [ALERT_PENDING] = {[ALERT_INACTIVE] = true, [ALERT_FIRING] = true},
    [ALERT_FIRING] = {[ALERT_RESOLVED] = true, [ALERT_INACTIVE] = true /* rule removed */},
    [ALERT_RESOLVED] = {[ALERT_INACTIVE] = true, [ALERT_PENDING] = true, [ALERT_FIRING] = true},
};

static void set_state(struct step *s, enum alert_state to)
{
    struct alert_rule *a = s->a;
    enum alert_state from = a->state;
    assert(allowed[from][to]);
    a->state = to;
    a->since_wall = s->wall;
    if (to == ALERT_FIRING) {
        a->started_wall = s->wall;
        a->ended_wall = 0;
        a->is_announced = false;
        a->is_clearing = false;
    } else if (to == ALERT_RESOLVED) {
        a->ended_wall = s->wall;
    } else if (to == ALERT_PENDING) {
        a->pending_since = s->mono;
    }
    char summary[300];
    alert__summary(a, summary, sizeof summary);
    if (to == ALERT_FIRING || to == ALERT_RESOLVED)
        tlog_info("alert", "%s: %s -> %s: %s%s", a->name, state_name[from], state_name[to], summary,
                  s->is_silenced ? " (silenced)" : "");
    else
        tlog_debug("alert", "%s: %s -> %s: %s", a->name, state_name[from], state_name[to], summary);
    report(s->e, a, s->e->opts.on_transition, ALERT_NOTICE_FIRING, from, s->wall, s->is_silenced);
}

static void send_notice(struct step *s, enum alert_notice_kind kind)
{
    struct alert_rule *a = s->a;
    a->last_notice_mono = s->mono;
    a->last_notice_wall = s->wall;
    a->notices++;
    report(s->e, a, s->e->opts.on_notice, kind, a->state, s->wall, false);
}

/* While firing: announce (first time, or when a silence ended) or repeat when due. */
static void maybe_notify(struct step *s)
{
    struct alert_rule *a = s->a;
    if (s->is_silenced)
        return;
    if (!a->is_announced) {
        a->is_announced = true;
        send_notice(s, ALERT_NOTICE_FIRING);
    } else if (a->repeat_ms && s->mono - a->last_notice_mono >= a->repeat_ms) {
        send_notice(s, ALERT_NOTICE_REPEAT);
    }
}

typedef void action_fn(struct step *s);

static void nothing(struct step *s)
{
    (void)s;
}

static void fire(struct step *s)
{
    set_state(s, ALERT_FIRING);
    maybe_notify(s);
}

/* Condition newly true: wait `for`, or fire now when there is none. */
static void start(struct step *s)
{
    if (rule_for_ms(s->a->rule) == 0)
        fire(s);
    else
        set_state(s, ALERT_PENDING);
}

static void still_pending(struct step *s)
{
    if (s->mono - s->a->pending_since >= rule_for_ms(s->a->rule))
        fire(s);
}

static void go_inactive(struct step *s)
{
    set_state(s, ALERT_INACTIVE);
}

static void still_firing(struct step *s)
{
    s->a->is_clearing = false;
    maybe_notify(s);
}

/* Resolve only when seen false at two evaluations in a row (one full step: the flapping guard).
 * A resolution is notified whenever the firing was, even under a silence, so that no receiver
 * is left showing an alert that is over. */
static void clearing(struct step *s)
{
    struct alert_rule *a = s->a;
    if (!a->is_clearing) {
        a->is_clearing = true;
        maybe_notify(s);
        return;
    }
    set_state(s, ALERT_RESOLVED);
    if (a->is_announced)
        send_notice(s, ALERT_NOTICE_RESOLVED);
    a->is_announced = false;
}

/* No data while firing: hold (not recovered), but a false sample before it no longer counts. */
static void firing_no_data(struct step *s)
{
    s->a->is_clearing = false;
    maybe_notify(s);
}

static action_fn *const on_event[ALERT_NSTATES][NEVENTS] = {
    /*                   TRUE            FALSE         NODATA          */
    [ALERT_INACTIVE] = {start, nothing, nothing},
    [ALERT_PENDING] = {still_pending, go_inactive, go_inactive},
    [ALERT_FIRING] = {still_firing, clearing, firing_no_data},
    [ALERT_RESOLVED] = {start, go_inactive, go_inactive},
};

static enum ev evaluate(struct alert_engine *e, struct alert_rule *a)
{
    const struct rule *r = a->rule;
    struct alert_query q = {
        .rule = r,
        .subject = rule_subject(r),
        .arg = rule_arg(r),
        .field = rule_field(r),
        .state = rule_state(r),
        .unit = rule_unit(r),
        .window_ms = rule_in_ms(r),
    };
    double v = 0;
    int rc = e->opts.lookup(e->opts.lookup_ctx, &q, &v);
    a->is_evaluated = true;
    a->has_value = rc > 0 && v == v; /* NaN is no data too */
    a->value = a->has_value ? v : 0;
    if (!a->has_value)
        return EV_NODATA;
    if (rule_op(r) == RULE_IS)
        return v != 0 ? EV_TRUE : EV_FALSE;
    return rule_compare(r, v) ? EV_TRUE : EV_FALSE;
}

void alert_eval(struct alert_engine *e, uint64_t mono_ms, int64_t wall_ms)
{
    alert__silences_expire(e, wall_ms);
    for (size_t i = 0; i < e->nrules; i++) {
        struct alert_rule *a = e->rules[i];
        struct step s = {e, a, mono_ms, wall_ms, alert__silenced(e, a->name, wall_ms) != NULL};
        on_event[a->state][evaluate(e, a)](&s);
    }
}

/* ---- rules ------------------------------------------------------------------------------- */

static void rule_free_one(struct alert_rule *a)
{
    if (!a)
        return;
    free(a->name);
    free(a->text);
    rule_free(a->rule);
    for (char **p = a->notify; p && *p; p++)
        free(*p);
    free(a->notify);
    free(a);
}

static int rule_new(const struct alert_rule_spec *sp, struct alert_rule **out, struct err *err)
{
    struct rule *r = NULL;
    struct rule_error re;
    *out = NULL;
    if (!sp->text)
        return err_set(err, -TE_INVALID, "alert \"%s\" has no rule", sp->name ? sp->name : "");
    int rc = rule_parse(sp->text, &r, &re);
    if (rc < 0)
        return err_set(err, rc == -ENOMEM ? rc : -TE_INVALID,
                       "alert \"%s\": %s (at column %zu of \"%s\")", sp->name ? sp->name : sp->text,
                       re.message, re.offset + 1, sp->text);
    struct alert_rule *a = xcalloc(1, sizeof *a);
    a->rule = r;
    a->text = str_dup(sp->text);
    a->name = str_dup(sp->name && sp->name[0] ? sp->name : sp->text);
    a->severity = sp->severity;
    a->repeat_ms = sp->repeat_ms;
    if (sp->notify) {
        size_t n = 0;
        while (sp->notify[n])
            n++;
        a->notify = xcalloc(n + 1, sizeof *a->notify);
        for (size_t i = 0; i < n; i++)
            a->notify[i] = str_dup(sp->notify[i]);
    }
    *out = a;
    return 0;
}

int alert_configure(struct alert_engine *e, const struct alert_rule_spec *specs, size_t n,
                    struct err *err)
{
    struct alert_rule **rules = xcalloc(n ? n : 1, sizeof *rules);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = rule_new(&specs[i], &rules[i], err);
        for (size_t j = 0; rc == 0 && j < i; j++)
            if (str_eq(rules[j]->name, rules[i]->name))
                rc = err_set(err, -TE_INVALID, "two alerts are named \"%s\"", rules[i]->name);
    }
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            rule_free_one(rules[i]);
        free(rules);
        return rc;
    }
    /* Keep the state of unchanged rules; retire the others. */
    for (size_t k = 0; k < e->nrules; k++) {
        struct alert_rule *old = e->rules[k];
        bool is_kept = false;
        for (size_t i = 0; i < n && !is_kept; i++) {
            struct alert_rule *a = rules[i];
            if (!str_eq(a->name, old->name) || !str_eq(a->text, old->text))
                continue;
            struct alert_rule fresh = *a;
            *a = *old;
            a->severity = fresh.severity;
            a->repeat_ms = fresh.repeat_ms;
            char **notify = a->notify;
            a->notify = fresh.notify;
            old->notify = notify;
            old->name = fresh.name;
            old->text = fresh.text;
            old->rule = fresh.rule;
            is_kept = true;
        }
        if (!is_kept && old->state != ALERT_INACTIVE) {
            struct step s = {e, old, clock_mono_ms(), clock_wall_ms(), true};
            if (old->state == ALERT_FIRING)
                old->ended_wall = s.wall;
            set_state(&s, ALERT_INACTIVE);
        }
        rule_free_one(old);
    }
    free(e->rules);
    e->rules = rules;
    e->nrules = n;
    return 0;
}

void alert_spec_from_cfg(struct alert_rule_spec *s, const struct cfg_alert *a)
{
    static const enum alert_severity sev[] = {
        [CFG_ALERT_INFO] = ALERT_INFO,
        [CFG_ALERT_WARNING] = ALERT_WARNING,
        [CFG_ALERT_CRITICAL] = ALERT_CRITICAL,
    };
    *s = (struct alert_rule_spec){
        .name = a->name,
        .text = a->rule_text,
        .severity = (unsigned)a->severity <= CFG_ALERT_CRITICAL ? sev[a->severity] : ALERT_WARNING,
        .notify = (const char *const *)a->notify,
        .repeat_ms = a->repeat_ms,
    };
}

int alert_get_state(const struct alert_engine *e, const char *name, enum alert_state *out)
{
    for (size_t i = 0; i < e->nrules; i++)
        if (str_eq(e->rules[i]->name, name)) {
            *out = e->rules[i]->state;
            return 0;
        }
    return -TE_NOTFOUND;
}

int alert_restore_firing(struct alert_engine *e, const char *name, const char *text,
                         int64_t started_wall, uint64_t now_mono, int64_t now_wall)
{
    for (size_t i = 0; i < e->nrules; i++) {
        struct alert_rule *a = e->rules[i];
        if (!str_eq(a->name, name) || !str_eq(a->text, text) || a->state != ALERT_INACTIVE ||
            a->is_evaluated)
            continue;
        uint64_t ago = now_wall > started_wall ? (uint64_t)(now_wall - started_wall) : 0;
        a->state = ALERT_FIRING;
        a->since_wall = a->started_wall = a->last_notice_wall = started_wall;
        a->ended_wall = 0;
        a->is_announced = true;
        a->is_clearing = false;
        a->last_notice_mono = now_mono > ago ? now_mono - ago : 0;
        tlog_info("alert", "%s: firing since before the daemon started; state kept", a->name);
        return 0;
    }
    return -TE_NOTFOUND;
}

/* ---- the engine --------------------------------------------------------------------------- */

int alert_engine_new(const struct alert_opts *opts, struct alert_engine **out, struct err *err)
{
    *out = NULL;
    if (!opts->lookup)
        return err_set(err, -EINVAL, "the alert engine needs a lookup callback");
    struct alert_engine *e = xcalloc(1, sizeof *e);
    e->opts = *opts;
    if (!e->opts.step_ms)
        e->opts.step_ms = DEFAULT_STEP_MS;
    *out = e;
    return 0;
}

static void on_tick(uv_timer_t *t)
{
    struct alert_engine *e = container_of(t, struct alert_engine, timer);
    alert_eval(e, clock_mono_ms(), clock_wall_ms());
}

int alert_start(struct alert_engine *e, uv_loop_t *loop, struct err *err)
{
    if (e->is_started)
        return err_set(err, -TE_STATE, "the alert engine is already running");
    int rc = uv_timer_init(loop, &e->timer);
    if (rc < 0)
        return err_set(err, rc, "cannot start the alert timer: %s", uv_strerror(rc));
    e->is_started = true;
    rc = uv_timer_start(&e->timer, on_tick, e->opts.step_ms, e->opts.step_ms);
    if (rc < 0)
        return err_set(err, rc, "cannot start the alert timer: %s", uv_strerror(rc));
    return 0;
}

static void free_now(struct alert_engine *e)
{
    for (size_t i = 0; i < e->nrules; i++)
        rule_free_one(e->rules[i]);
    free(e->rules);
    alert__silences_free(e);
    free(e);
}

static void on_timer_closed(uv_handle_t *h)
{
    free_now(container_of((uv_timer_t *)h, struct alert_engine, timer));
}

void alert_engine_free(struct alert_engine *e)
{
    if (!e)
        return;
    if (!e->is_started) {
        free_now(e);
        return;
    }
    uv_timer_stop(&e->timer);
    uv_close((uv_handle_t *)&e->timer, on_timer_closed);
}
