/* tests/unit/alert/test_alert.c: the alert engine's state machine, driven by an injected clock.
 *
 * alert_eval(e, mono, wall) is called with times the test chooses and a lookup that answers from
 * a small table the test sets, so `for 5m`, `repeat 4h` and `in 10m` run in microseconds. Every
 * transition and notice is recorded and checked: what a person would see (state, summary, how
 * many messages) and when (exactly at `for`, not a step before). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "alert/alert.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/tlog.h"
#include "unit.h"

#define SEC 1000ULL
#define MINUTE (60 * SEC)
#define HOUR (60 * MINUTE)
#define WALL0 1795435200000LL /* 2026-11-23 12:00 UTC */
#define STEP (10 * SEC)

/* ---- the fake world ------------------------------------------------------------------------ */
struct value {
    const char *subject; /* rule_subject_text, or "app(api).down" for a state */
    int rc;              /* 1 value, 0 no data */
    double v;
};

struct rec {
    enum alert_state from, to;
    enum alert_notice_kind kind;
    bool is_silenced;
    char name[64], summary[200], value_text[48], label[64];
    int64_t started, ended, at;
};

struct world {
    struct value values[8];
    size_t nvalues;
    uint64_t restarts[32]; /* mono times of restarts of app api */
    size_t nrestarts;
    uint64_t now;
    uint64_t last_window;
    int lookups;
    struct rec trans[64], notes[64];
    size_t ntrans, nnotes;
    uv_loop_t *stop_loop;
};

static void set_value(struct world *w, const char *subject, int rc, double v)
{
    for (size_t i = 0; i < w->nvalues; i++)
        if (strcmp(w->values[i].subject, subject) == 0) {
            w->values[i].rc = rc;
            w->values[i].v = v;
            return;
        }
    w->values[w->nvalues++] = (struct value){subject, rc, v};
}

static int lookup(void *ctx, const struct alert_query *q, double *out)
{
    struct world *w = ctx;
    w->lookups++;
    if (w->stop_loop)
        uv_stop(w->stop_loop);
    if (q->field == RULE_FIELD_RESTARTS && q->window_ms) {
        w->last_window = q->window_ms;
        double n = 0;
        for (size_t i = 0; i < w->nrestarts; i++)
            n += w->restarts[i] + q->window_ms > w->now && w->restarts[i] <= w->now;
        *out = n;
        return 1;
    }
    char key[96];
    if (q->state != RULE_STATE_NONE)
        snprintf(key, sizeof key, "%s.%s", rule_subject_text(q->rule), rule_state_name(q->state));
    else
        snprintf(key, sizeof key, "%s", rule_subject_text(q->rule));
    for (size_t i = 0; i < w->nvalues; i++)
        if (strcmp(w->values[i].subject, key) == 0) {
            *out = w->values[i].v;
            return w->values[i].rc;
        }
    return -TE_NOTFOUND;
}

static void record(struct rec *r, const struct alert_notice *n)
{
    r->from = n->from;
    r->to = n->state;
    r->kind = n->kind;
    r->is_silenced = n->is_silenced;
    snprintf(r->name, sizeof r->name, "%s", n->name);
    snprintf(r->summary, sizeof r->summary, "%s", n->summary);
    snprintf(r->value_text, sizeof r->value_text, "%s", n->value_text);
    if (n->nlabels)
        snprintf(r->label, sizeof r->label, "%s=%s", n->labels[0].key, n->labels[0].value);
    r->started = n->started_ms;
    r->ended = n->ended_ms;
    r->at = n->at_ms;
}

static void on_transition(void *ctx, const struct alert_notice *n)
{
    struct world *w = ctx;
    if (w->ntrans < 64)
        record(&w->trans[w->ntrans++], n);
}

static void on_notice(void *ctx, const struct alert_notice *n)
{
    struct world *w = ctx;
    if (w->nnotes < 64)
        record(&w->notes[w->nnotes++], n);
}

static struct alert_engine *engine(struct world *w, const char *name, const char *text,
                                   uint64_t repeat_ms)
{
    memset(w, 0, sizeof *w);
    struct alert_opts o = {lookup, w, on_transition, on_notice, w, STEP};
    struct alert_engine *e = NULL;
    struct err err = {0};
    if (alert_engine_new(&o, &e, &err) < 0)
        return NULL;
    struct alert_rule_spec s = {name, text, ALERT_WARNING, NULL, repeat_ms};
    if (alert_configure(e, &s, 1, &err) < 0) {
        fprintf(stderr, "configure: %s\n", err.msg);
        alert_engine_free(e);
        return NULL;
    }
    return e;
}

static void eval_at(struct alert_engine *e, struct world *w, uint64_t t)
{
    w->now = t;
    alert_eval(e, t, WALL0 + (int64_t)t);
}

static enum alert_state state_of(struct alert_engine *e, const char *name)
{
    enum alert_state s = ALERT_NSTATES;
    alert_get_state(e, name, &s);
    return s;
}

/* ---- tests --------------------------------------------------------------------------------- */

TEST(pending_fires_after_exactly_for)
{
    struct world w;
    struct alert_engine *e = engine(&w, "high-cpu", "cpu > 70% for 5m", 4 * HOUR);
    set_value(&w, "cpu", 1, 83);
    eval_at(e, &w, 0);
    CHECK_INT(state_of(e, "high-cpu"), ALERT_PENDING);
    CHECK_INT(w.ntrans, 1);
    CHECK_INT(w.nnotes, 0);
    eval_at(e, &w, 5 * MINUTE - 1);
    CHECK_INT(state_of(e, "high-cpu"), ALERT_PENDING);
    CHECK_INT(w.nnotes, 0);
    eval_at(e, &w, 5 * MINUTE);
    CHECK_INT(state_of(e, "high-cpu"), ALERT_FIRING);
    CHECK_INT(w.ntrans, 2);
    CHECK_INT(w.trans[1].from, ALERT_PENDING);
    CHECK_INT(w.nnotes, 1);
    CHECK_INT(w.notes[0].kind, ALERT_NOTICE_FIRING);
    CHECK_STR(w.notes[0].summary, "cpu is 83% (> 70%) for 5m");
    CHECK_STR(w.notes[0].name, "high-cpu");
    CHECK_INT(w.notes[0].started, WALL0 + (int64_t)(5 * MINUTE));
    CHECK_INT(w.notes[0].ended, 0);
    alert_engine_free(e);
}

TEST(pending_restarts_when_the_condition_breaks)
{
    struct world w;
    struct alert_engine *e = engine(&w, NULL, "cpu > 70% for 5m", 0);
    set_value(&w, "cpu", 1, 90);
    eval_at(e, &w, 0);
    set_value(&w, "cpu", 1, 70); /* not > 70 */
    eval_at(e, &w, 4 * MINUTE);
    CHECK_INT(state_of(e, "cpu > 70% for 5m"), ALERT_INACTIVE);
    set_value(&w, "cpu", 1, 95);
    eval_at(e, &w, 5 * MINUTE); /* 5m after the first sighting, but only just seen again */
    CHECK_INT(state_of(e, "cpu > 70% for 5m"), ALERT_PENDING);
    eval_at(e, &w, 10 * MINUTE - 1);
    CHECK_INT(state_of(e, "cpu > 70% for 5m"), ALERT_PENDING);
    eval_at(e, &w, 10 * MINUTE);
    CHECK_INT(state_of(e, "cpu > 70% for 5m"), ALERT_FIRING);
    CHECK_INT(w.nnotes, 1);
    alert_engine_free(e);
}

TEST(no_for_fires_at_once_and_resolves_after_a_full_step)
{
    struct world w;
    struct alert_engine *e = engine(&w, "disk", "disk(/data) > 85%", 0);
    set_value(&w, "disk(/data)", 1, 91.5);
    eval_at(e, &w, 0);
    CHECK_INT(state_of(e, "disk"), ALERT_FIRING);
    CHECK_INT(w.nnotes, 1);
    CHECK_STR(w.notes[0].summary, "disk(/data) is 91.5% (> 85%)");
    CHECK_STR(w.notes[0].label, "path=/data");
    /* One good sample between bad ones: no resolve, no second firing notice (flapping). */
    set_value(&w, "disk(/data)", 1, 80);
    eval_at(e, &w, STEP);
    CHECK_INT(state_of(e, "disk"), ALERT_FIRING);
    set_value(&w, "disk(/data)", 1, 90);
    eval_at(e, &w, 2 * STEP);
    set_value(&w, "disk(/data)", 1, 80);
    eval_at(e, &w, 3 * STEP);
    CHECK_INT(state_of(e, "disk"), ALERT_FIRING);
    CHECK_INT(w.nnotes, 1);
    eval_at(e, &w, 4 * STEP); /* false for one full step */
    CHECK_INT(state_of(e, "disk"), ALERT_RESOLVED);
    CHECK_INT(w.nnotes, 2);
    CHECK_INT(w.notes[1].kind, ALERT_NOTICE_RESOLVED);
    CHECK_STR(w.notes[1].summary, "disk(/data) is back to 80% (alert when > 85%)");
    CHECK_INT(w.notes[1].started, WALL0);
    CHECK_INT(w.notes[1].ended, WALL0 + (int64_t)(4 * STEP));
    eval_at(e, &w, 5 * STEP);
    CHECK_INT(state_of(e, "disk"), ALERT_INACTIVE);
    CHECK_INT(w.nnotes, 2);
    alert_engine_free(e);
}

/* A daemon restarted while the alert fired: no second firing notice, the resolution carries
 * the original start, and the repeat counts from that start. */
TEST(restored_firing_is_not_announced_again)
{
    struct world w;
    struct alert_engine *e = engine(&w, "disk", "disk(/data) > 85%", HOUR);
    int64_t started = WALL0 + 30 * MINUTE; /* restored at HOUR: firing for 30 minutes */
    CHECK_INT(alert_restore_firing(e, "disk", "disk(/data) > 90%", started, HOUR, WALL0 + HOUR),
              -TE_NOTFOUND); /* the rule changed: start afresh */
    CHECK_INT(alert_restore_firing(e, "disk", "disk(/data) > 85%", started, HOUR, WALL0 + HOUR), 0);
    CHECK_INT(state_of(e, "disk"), ALERT_FIRING);
    CHECK_INT(w.ntrans, 0);
    set_value(&w, "disk(/data)", 1, 91.5);
    eval_at(e, &w, HOUR);
    CHECK_INT(state_of(e, "disk"), ALERT_FIRING);
    CHECK_INT(w.nnotes, 0);
    eval_at(e, &w, HOUR + 20 * MINUTE);
    CHECK_INT(w.nnotes, 0);
    eval_at(e, &w, HOUR + 30 * MINUTE); /* an hour after the start: the repeat is due */
    CHECK_INT(w.nnotes, 1);
    CHECK_INT(w.notes[0].kind, ALERT_NOTICE_REPEAT);
    set_value(&w, "disk(/data)", 1, 80);
    eval_at(e, &w, 90 * MINUTE + STEP);
    eval_at(e, &w, 90 * MINUTE + 2 * STEP);
    CHECK_INT(state_of(e, "disk"), ALERT_RESOLVED);
    CHECK_INT(w.nnotes, 2);
    CHECK_INT(w.notes[1].kind, ALERT_NOTICE_RESOLVED);
    CHECK_INT(w.notes[1].started, started);
    CHECK_INT(alert_restore_firing(e, "disk", "disk(/data) > 85%", started, 0, WALL0),
              -TE_NOTFOUND); /* only before the first evaluation */
    alert_engine_free(e);
}

TEST(repeat_renotifies_while_firing)
{
    struct world w;
    struct alert_engine *e = engine(&w, "mem", "memory > 80% for 5m", 4 * HOUR);
    set_value(&w, "memory", 1, 85);
    for (uint64_t t = 0; t <= 9 * HOUR; t += 5 * MINUTE)
        eval_at(e, &w, t);
    /* Firing at 5m; repeats at 4h5m and 8h5m. */
    CHECK_INT(w.nnotes, 3);
    CHECK_INT(w.notes[0].kind, ALERT_NOTICE_FIRING);
    CHECK_INT(w.notes[1].kind, ALERT_NOTICE_REPEAT);
    CHECK_INT(w.notes[1].at, WALL0 + (int64_t)(4 * HOUR + 5 * MINUTE));
    CHECK_INT(w.notes[2].at, WALL0 + (int64_t)(8 * HOUR + 5 * MINUTE));
    CHECK_INT(w.notes[2].started, WALL0 + (int64_t)(5 * MINUTE));
    alert_engine_free(e);

    e = engine(&w, "mem", "memory > 80% for 5m", 0); /* repeat 0: never */
    set_value(&w, "memory", 1, 85);
    for (uint64_t t = 0; t <= 9 * HOUR; t += 5 * MINUTE)
        eval_at(e, &w, t);
    CHECK_INT(w.nnotes, 1);
    alert_engine_free(e);
}

TEST(silence_suppresses_notices_not_state)
{
    struct world w;
    struct alert_engine *e = engine(&w, "high-cpu", "cpu > 70%", 4 * HOUR);
    CHECK_INT(alert_silence(e, "high-*", WALL0 + (int64_t)(2 * HOUR)), 1);
    CHECK_INT(alert_silence(e, "nothing-yet", WALL0 + (int64_t)HOUR), 0);
    CHECK_INT(alert_silence(e, "", WALL0), -TE_INVALID);
    set_value(&w, "cpu", 1, 99);
    eval_at(e, &w, 0);
    CHECK_INT(state_of(e, "high-cpu"), ALERT_FIRING);
    CHECK_INT(w.ntrans, 1);
    CHECK(w.trans[0].is_silenced);
    CHECK_INT(w.nnotes, 0);
    json_t *j = alert_json(e, WALL0);
    json_t *a = json_array_get(json_object_get(j, "alerts"), 0);
    CHECK_STR(json_string_value(json_object_get(a, "state")), "firing");
    CHECK_INT(json_integer_value(json_object_get(a, "silenced_until")), WALL0 + 2 * HOUR);
    CHECK_INT(json_array_size(json_object_get(j, "silences")), 2);
    json_decref(j);
    eval_at(e, &w, 2 * HOUR - 1);
    CHECK_INT(w.nnotes, 0);
    /* The silence ends while it still fires: announced once, at the next evaluation. */
    eval_at(e, &w, 2 * HOUR);
    CHECK_INT(w.nnotes, 1);
    CHECK_INT(w.notes[0].kind, ALERT_NOTICE_FIRING);
    CHECK_INT(w.notes[0].started, WALL0);
    eval_at(e, &w, 2 * HOUR + STEP);
    CHECK_INT(w.nnotes, 1);
    /* Silenced again, then it resolves: the resolution of an announced alert is still sent. */
    CHECK_INT(alert_silence(e, "high-cpu", WALL0 + (int64_t)(10 * HOUR)), 1);
    set_value(&w, "cpu", 1, 10);
    eval_at(e, &w, 3 * HOUR);
    eval_at(e, &w, 3 * HOUR + STEP);
    CHECK_INT(state_of(e, "high-cpu"), ALERT_RESOLVED);
    CHECK_INT(w.nnotes, 2);
    CHECK_INT(w.notes[1].kind, ALERT_NOTICE_RESOLVED);
    /* Fires and resolves while silenced: nothing at all is sent. */
    set_value(&w, "cpu", 1, 99);
    eval_at(e, &w, 4 * HOUR);
    set_value(&w, "cpu", 1, 10);
    eval_at(e, &w, 4 * HOUR + STEP);
    eval_at(e, &w, 4 * HOUR + 2 * STEP);
    CHECK_INT(state_of(e, "high-cpu"), ALERT_RESOLVED);
    CHECK_INT(w.nnotes, 2);
    CHECK_INT(alert_unsilence(e, "high-cpu"), 0);
    CHECK_INT(alert_unsilence(e, "high-cpu"), -TE_NOTFOUND);
    set_value(&w, "cpu", 1, 99);
    eval_at(e, &w, 5 * HOUR);
    CHECK_INT(w.nnotes, 3); /* "high-*" expired at 2h, "high-cpu" removed */
    alert_engine_free(e);
}

TEST(no_data_is_not_zero)
{
    struct world w;
    /* online == 0 must not fire when the app is unknown or unmeasured. */
    struct alert_engine *e = engine(&w, "none", "app(api).online == 0", 0);
    set_value(&w, "app(api).online", 0, 0);
    eval_at(e, &w, 0);
    CHECK_INT(state_of(e, "none"), ALERT_INACTIVE);
    json_t *j = alert_json(e, WALL0);
    json_t *a = json_array_get(json_object_get(j, "alerts"), 0);
    CHECK(json_is_null(json_object_get(a, "value")));
    CHECK(json_is_true(json_object_get(a, "no_data")));
    CHECK_STR(json_string_value(json_object_get(a, "value_text")), "no data");
    json_decref(j);
    set_value(&w, "app(api).online", 1, 0);
    eval_at(e, &w, STEP);
    CHECK_INT(state_of(e, "none"), ALERT_FIRING);
    alert_engine_free(e);

    /* Pending needs data the whole time; firing holds through no data and does not resolve. */
    e = engine(&w, "lat", "app(api).latency.p95 > 500ms for 1m", 0);
    set_value(&w, "app(api).latency.p95", 1, 812);
    eval_at(e, &w, 0);
    CHECK_INT(state_of(e, "lat"), ALERT_PENDING);
    set_value(&w, "app(api).latency.p95", 0, 0);
    eval_at(e, &w, 30 * SEC);
    CHECK_INT(state_of(e, "lat"), ALERT_INACTIVE);
    set_value(&w, "app(api).latency.p95", 1, 812);
    eval_at(e, &w, 40 * SEC);
    eval_at(e, &w, 100 * SEC);
    CHECK_INT(state_of(e, "lat"), ALERT_FIRING);
    CHECK_STR(w.notes[0].summary, "app(api).latency.p95 is 812ms (> 500ms) for 1m");
    CHECK_STR(w.notes[0].label, "app=api");
    set_value(&w, "app(api).latency.p95", 1, 100); /* seen false once ... */
    eval_at(e, &w, 110 * SEC);
    set_value(&w, "app(api).latency.p95", 0, 0); /* ... then no data: not a full good step */
    for (uint64_t t = 120 * SEC; t < 20 * MINUTE; t += STEP)
        eval_at(e, &w, t);
    CHECK_INT(state_of(e, "lat"), ALERT_FIRING);
    set_value(&w, "app(api).latency.p95", 1, 100);
    eval_at(e, &w, 20 * MINUTE);
    CHECK_INT(state_of(e, "lat"), ALERT_FIRING);
    eval_at(e, &w, 20 * MINUTE + STEP);
    CHECK_INT(state_of(e, "lat"), ALERT_RESOLVED);
    CHECK_INT(w.nnotes, 2);
    alert_engine_free(e);
}

TEST(restarts_in_a_window_ask_for_the_increase)
{
    struct world w;
    struct alert_engine *e = engine(&w, "crashloop", "app(api).restarts > 5 in 10m", 0);
    for (int i = 0; i < 6; i++)
        w.restarts[w.nrestarts++] = (uint64_t)i * MINUTE; /* 0m 1m ... 5m */
    eval_at(e, &w, 4 * MINUTE + 30 * SEC);                /* 5 restarts in the window: not > 5 */
    CHECK_INT(w.last_window, 10 * MINUTE);
    CHECK_INT(state_of(e, "crashloop"), ALERT_INACTIVE);
    eval_at(e, &w, 5 * MINUTE);
    CHECK_INT(state_of(e, "crashloop"), ALERT_FIRING);
    CHECK_STR(w.notes[0].summary, "app(api).restarts is 6 in 10m (> 5)");
    eval_at(e, &w, 10 * MINUTE - 1); /* the 0m restart still inside (0, 10m) */
    CHECK_INT(state_of(e, "crashloop"), ALERT_FIRING);
    eval_at(e, &w, 10 * MINUTE); /* it left the window: 5 */
    eval_at(e, &w, 10 * MINUTE + STEP);
    CHECK_INT(state_of(e, "crashloop"), ALERT_RESOLVED);
    alert_engine_free(e);
}

TEST(state_rules)
{
    struct world w;
    struct alert_engine *e = engine(&w, "api-down", "app(api).down for 1m", 0);
    set_value(&w, "app(api).down", 1, 1);
    eval_at(e, &w, 0);
    eval_at(e, &w, MINUTE);
    CHECK_INT(state_of(e, "api-down"), ALERT_FIRING);
    CHECK_STR(w.notes[0].summary, "app(api) is down for 1m");
    CHECK_STR(w.notes[0].value_text, "down");
    set_value(&w, "app(api).down", 1, 0);
    eval_at(e, &w, MINUTE + STEP);
    eval_at(e, &w, MINUTE + 2 * STEP);
    CHECK_INT(state_of(e, "api-down"), ALERT_RESOLVED);
    CHECK_STR(w.notes[1].summary, "app(api) is no longer down");
    alert_engine_free(e);
}

/* The machine as a table: a rule without `for` (F = false, T = true, N = no data, one letter per
 * evaluation a step apart) -> final state and number of notices. */
TEST(transition_table)
{
    static const struct {
        const char *events;
        const char *rule;
        enum alert_state want;
        int notices;
    } rows[] = {
        {"F", "cpu > 70%", ALERT_INACTIVE, 0},
        {"N", "cpu > 70%", ALERT_INACTIVE, 0},
        {"T", "cpu > 70%", ALERT_FIRING, 1},
        {"TN", "cpu > 70%", ALERT_FIRING, 1},
        {"TF", "cpu > 70%", ALERT_FIRING, 1},
        {"TFT", "cpu > 70%", ALERT_FIRING, 1},
        {"TFF", "cpu > 70%", ALERT_RESOLVED, 2},
        {"TFFF", "cpu > 70%", ALERT_INACTIVE, 2},
        {"TFFT", "cpu > 70%", ALERT_FIRING, 3},
        {"TFFN", "cpu > 70%", ALERT_INACTIVE, 2},
        {"TFNF", "cpu > 70%", ALERT_FIRING, 1},
        {"T", "cpu > 70% for 10s", ALERT_PENDING, 0},
        {"TT", "cpu > 70% for 10s", ALERT_FIRING, 1},
        {"TN", "cpu > 70% for 10s", ALERT_INACTIVE, 0},
        {"TF", "cpu > 70% for 10s", ALERT_INACTIVE, 0},
        {"TTFFT", "cpu > 70% for 10s", ALERT_PENDING, 2},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct world w;
        struct alert_engine *e = engine(&w, "r", rows[i].rule, 0);
        uint64_t t = 0;
        for (const char *c = rows[i].events; *c; c++, t += STEP) {
            set_value(&w, "cpu", *c == 'N' ? 0 : 1, *c == 'T' ? 90 : 10);
            eval_at(e, &w, t);
        }
        if (state_of(e, "r") != rows[i].want || (int)w.nnotes != rows[i].notices)
            UNIT_FAIL("%s on \"%s\": %s with %zu notices, expected %s with %d", rows[i].events,
                      rows[i].rule, alert_state_name(state_of(e, "r")), w.nnotes,
                      alert_state_name(rows[i].want), rows[i].notices);
        alert_engine_free(e);
    }
}

TEST(configure_keeps_state_and_refuses_bad_rules)
{
    struct world w;
    struct alert_engine *e = engine(&w, "high-cpu", "cpu > 70%", 0);
    set_value(&w, "cpu", 1, 90);
    eval_at(e, &w, 0);
    CHECK_INT(state_of(e, "high-cpu"), ALERT_FIRING);
    struct err err = {0};
    struct alert_rule_spec two[] = {
        {"high-cpu", "cpu > 70%", ALERT_CRITICAL, NULL, 0},
        {"mem", "memory > 80%", ALERT_WARNING, NULL, 0},
    };
    CHECK_INT(alert_configure(e, two, 2, &err), 0);
    CHECK_INT(state_of(e, "high-cpu"), ALERT_FIRING); /* kept: no second notice */
    eval_at(e, &w, STEP);
    CHECK_INT(w.nnotes, 1);
    struct alert_rule_spec bad[] = {
        {"high-cpu", "cpu > 70%", ALERT_WARNING, NULL, 0},
        {"lat", "app(api).latency.p95 > 5%", ALERT_WARNING, NULL, 0},
    };
    CHECK_INT(alert_configure(e, bad, 2, &err), -TE_INVALID);
    CHECK_STR(err.msg, "alert \"lat\": app(api).latency.p95 is a duration: write it as 500ms, "
                       "30s, 5m, 26h or 7d, not \"5%\" (at column 24 of \"app(api).latency.p95 "
                       "> 5%\")");
    CHECK_INT(state_of(e, "mem"), ALERT_INACTIVE); /* nothing changed */
    struct alert_rule_spec dup[] = {
        {"x", "cpu > 70%", ALERT_WARNING, NULL, 0},
        {"x", "memory > 80%", ALERT_WARNING, NULL, 0},
    };
    CHECK_INT(alert_configure(e, dup, 2, &err), -TE_INVALID);
    CHECK_STR(err.msg, "two alerts are named \"x\"");
    /* A changed rule text starts over; a removed firing rule goes inactive without a notice. */
    struct alert_rule_spec changed[] = {{"high-cpu", "cpu > 80%", ALERT_WARNING, NULL, 0}};
    size_t before = w.ntrans;
    CHECK_INT(alert_configure(e, changed, 1, &err), 0);
    CHECK_INT(state_of(e, "high-cpu"), ALERT_INACTIVE);
    CHECK_INT(w.ntrans, before + 1);
    CHECK_INT(w.trans[before].to, ALERT_INACTIVE);
    CHECK_INT(w.nnotes, 1);
    alert_engine_free(e);
}

TEST(json_shows_every_rule)
{
    struct world w;
    struct alert_engine *e = engine(&w, "high-cpu", "cpu > 70% for 5m", 0);
    set_value(&w, "cpu", 1, 83);
    eval_at(e, &w, 0);
    json_t *j = alert_json(e, WALL0);
    json_t *a = json_array_get(json_object_get(j, "alerts"), 0);
    CHECK_STR(json_string_value(json_object_get(a, "name")), "high-cpu");
    CHECK_STR(json_string_value(json_object_get(a, "rule")), "cpu > 70% for 5m");
    CHECK_STR(json_string_value(json_object_get(a, "state")), "pending");
    CHECK_STR(json_string_value(json_object_get(a, "severity")), "warning");
    CHECK_STR(json_string_value(json_object_get(a, "value_text")), "83%");
    CHECK_STR(json_string_value(json_object_get(a, "threshold_text")), "70%");
    CHECK_STR(json_string_value(json_object_get(a, "unit")), "percent");
    CHECK(json_real_value(json_object_get(a, "value")) == 83);
    CHECK_INT(json_integer_value(json_object_get(a, "since")), WALL0);
    CHECK(json_is_null(json_object_get(a, "started")));
    CHECK(json_is_null(json_object_get(a, "silenced_until")));
    json_decref(j);
    alert_engine_free(e);
}

TEST(timer_evaluates_on_the_loop)
{
    uv_loop_t loop;
    CHECK_INT(uv_loop_init(&loop), 0);
    struct world w;
    memset(&w, 0, sizeof w);
    w.stop_loop = &loop;
    struct alert_opts o = {lookup, &w, on_transition, on_notice, &w, 1};
    struct alert_engine *e = NULL;
    CHECK_INT(alert_engine_new(&o, &e, NULL), 0);
    struct alert_rule_spec s = {"c", "cpu > 70%", ALERT_WARNING, NULL, 0};
    CHECK_INT(alert_configure(e, &s, 1, NULL), 0);
    set_value(&w, "cpu", 1, 99);
    CHECK_INT(alert_start(e, &loop, NULL), 0);
    uv_run(&loop, UV_RUN_DEFAULT); /* the lookup stops the loop at the first tick */
    CHECK_INT(w.lookups, 1);
    CHECK_INT(w.nnotes, 1);
    alert_engine_free(e);
    uv_run(&loop, UV_RUN_DEFAULT); /* the close callback frees it */
    CHECK_INT(uv_loop_close(&loop), 0);
}

int main(void)
{
    tlog_set_level(TLOG_WARN); /* transitions log at info: one line each */
    RUN(pending_fires_after_exactly_for);
    RUN(pending_restarts_when_the_condition_breaks);
    RUN(no_for_fires_at_once_and_resolves_after_a_full_step);
    RUN(restored_firing_is_not_announced_again);
    RUN(repeat_renotifies_while_firing);
    RUN(silence_suppresses_notices_not_state);
    RUN(no_data_is_not_zero);
    RUN(restarts_in_a_window_ask_for_the_increase);
    RUN(state_rules);
    RUN(transition_table);
    RUN(configure_keeps_state_and_refuses_bad_rules);
    RUN(json_shows_every_rule);
    RUN(timer_evaluates_on_the_loop);
    return unit_done();
}
