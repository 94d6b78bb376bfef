/* alert/alert_json.c: every rule's state as JSON, for `tend alerts` and GET /alerts.
 *
 * Keys are the words of tend.yaml and alert.h (name, rule, severity, state); times are wall
 * epoch ms or null; a value is a number in the rule's unit or null for no data, with value_text
 * ("83%") beside it so the CLI prints what people read without knowing units. */
#include <jansson.h>

#include "alert/alert_int.h"

static json_t *time_or_null(int64_t ms)
{
    return ms ? json_integer(ms) : json_null();
}

static json_t *one(const struct alert_engine *e, const struct alert_rule *a, int64_t now)
{
    char v[48], thr[48] = "", summary[300];
    alert__value_text(a, v, sizeof v);
    alert__summary(a, summary, sizeof summary);
    const struct rule *r = a->rule;
    bool is_state = rule_op(r) == RULE_IS;
    if (!is_state)
        rule_format_value(r, rule_threshold(r), thr, sizeof thr);
    const struct alert_silence *s = alert__silenced(e, a->name, now);
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(a->name));
    json_object_set_new(o, "rule", json_string(a->text));
    json_object_set_new(o, "severity", json_string(alert_severity_name(a->severity)));
    json_object_set_new(o, "state", json_string(alert_state_name(a->state)));
    json_object_set_new(o, "value", a->has_value ? json_real(a->value) : json_null());
    json_object_set_new(o, "value_text", json_string(v));
    json_object_set_new(o, "threshold", is_state ? json_null() : json_real(rule_threshold(r)));
    json_object_set_new(o, "threshold_text", json_string(thr));
    json_object_set_new(o, "unit", json_string(is_state ? "state" : rule_unit_name(rule_unit(r))));
    json_object_set_new(o, "summary", json_string(summary));
    json_object_set_new(o, "since", time_or_null(a->since_wall));
    json_object_set_new(o, "started", time_or_null(a->started_wall));
    json_object_set_new(o, "ended", time_or_null(a->ended_wall));
    json_object_set_new(o, "no_data", json_boolean(a->is_evaluated && !a->has_value));
    json_object_set_new(o, "silenced_until", s ? json_integer(s->until_ms) : json_null());
    json_object_set_new(o, "last_notice", time_or_null(a->last_notice_wall));
    json_object_set_new(o, "notices", json_integer(a->notices));
    return o;
}

json_t *alert_json(const struct alert_engine *e, int64_t now_wall_ms)
{
    json_t *alerts = json_array(), *silences = json_array();
    for (size_t i = 0; i < e->nrules; i++)
        json_array_append_new(alerts, one(e, e->rules[i], now_wall_ms));
    for (size_t i = 0; i < e->nsilences; i++) {
        const struct alert_silence *s = &e->silences[i];
        if (s->until_ms <= now_wall_ms)
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "pattern", json_string(s->pattern));
        json_object_set_new(o, "until", json_integer(s->until_ms));
        json_array_append_new(silences, o);
    }
    json_t *o = json_object();
    json_object_set_new(o, "alerts", alerts);
    json_object_set_new(o, "silences", silences);
    return o;
}
