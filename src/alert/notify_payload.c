/* alert/notify_payload.c: what a message says: tend's JSON, Alertmanager's webhook JSON, and
 * the text for people that the robots and mail carry.
 *
 * tend JSON payload (webhook `format: tend`, and exec's stdin), one object per message:
 *
 *   version      1 (integer); a field is never renamed or removed within a version
 *   source       "tend"
 *   notifier     the notifier's name ("ops")
 *   host         the server's name (gethostname, or the daemon's configured host)
 *   status       "firing" if any alert in the message fires, else "resolved"
 *   firing       how many alerts in `alerts` fire; resolved: how many are resolved
 *   seq          message number, increasing within one daemon run
 *   title        "[FIRING:2] high-cpu, disk-data (web-1)"
 *   sent_at      when the message was formed, RFC 3339 UTC ("2026-05-01T02:03:04.567Z")
 *   alerts[]     in the order they fired or resolved:
 *     name       the rule's name ("high-cpu"; the rule text when it has none)
 *     rule       the rule text ("cpu > 70% for 5m")
 *     severity   "info" | "warning" | "critical"
 *     status     "firing" | "resolved"
 *     value      the value seen, as text ("83.2%"), or null
 *     summary    one line for people ("cpu 83.2% > 70% for 5m"), or null
 *     labels     object of strings ({"app": "api"}); may be empty
 *     started_at RFC 3339 UTC; started_ms: the same in epoch milliseconds
 *     ended_at   RFC 3339 UTC when resolved, null while firing; ended_ms likewise
 *
 * Alertmanager (webhook `format: alertmanager`): the webhook receiver payload version "4":
 * version, groupKey ("{}:{notifier=\"ops\"}"), truncatedAlerts 0, status, receiver (the
 * notifier's name), groupLabels {}, commonLabels, commonAnnotations, externalURL "", alerts[]
 * with status, labels {alertname, severity, host, and the alert's labels}, annotations {summary,
 * description (the rule), value}, startsAt, endsAt ("0001-01-01T00:00:00Z" while firing, as
 * Alertmanager sends), generatorURL "", fingerprint (16 hex digits of FNV-1a over the sorted
 * labels). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert/notify_int.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"

void notify__rfc3339(int64_t ms, char *dst, size_t size)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char base[32];
    gmtime_r(&t, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(dst, size, "%s.%03dZ", base, (int)(ms % 1000));
}

static json_t *time_or_null(int64_t ms)
{
    char t[40];
    if (!ms)
        return json_null();
    notify__rfc3339(ms, t, sizeof t);
    return json_string(t);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static const char *state_name(enum notify_state s)
{
    return s == NOTIFY_RESOLVED ? "resolved" : "firing";
}

static size_t count_firing(const struct notify_msg *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++)
        n += m->alerts[i].state == NOTIFY_FIRING;
    return n;
}

void notify__title(const struct notifier *nf, const struct notify_msg *m, char *dst, size_t size)
{
    size_t firing = count_firing(m), resolved = m->n - firing;
    struct buf b;
    buf_init(&b, 0);
    if (firing && resolved)
        buf_printf(&b, "[FIRING:%zu, RESOLVED:%zu] ", firing, resolved);
    else if (firing)
        buf_printf(&b, "[FIRING:%zu] ", firing);
    else
        buf_printf(&b, "[RESOLVED:%zu] ", resolved);
    for (size_t i = 0; i < m->n && i < 3; i++)
        buf_printf(&b, "%s%s", i ? ", " : "", m->alerts[i].name);
    if (m->n > 3)
        buf_printf(&b, " +%zu more", m->n - 3);
    buf_printf(&b, " (%s)", nf->set->host);
    str_copy(dst, b.ptr, size);
    notify__utf8_trim(dst);
    buf_fini(&b);
}

static json_t *labels_json(const struct notify_alert *a)
{
    json_t *o = json_object();
    for (size_t i = 0; i < a->nlabels; i++)
        json_object_set_new(o, a->labels[i].key, json_string(a->labels[i].value));
    return o;
}

json_t *notify__tend_json(const struct notifier *nf, const struct notify_msg *m)
{
    char title[512], t[40];
    size_t firing = count_firing(m);
    json_t *alerts = json_array();
    for (size_t i = 0; i < m->n; i++) {
        const struct notify_alert *a = &m->alerts[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(a->name));
        json_object_set_new(o, "rule", json_string(a->rule));
        json_object_set_new(o, "severity", json_string(a->severity));
        json_object_set_new(o, "status", json_string(state_name(a->state)));
        json_object_set_new(o, "value", str_or_null(a->value));
        json_object_set_new(o, "summary", str_or_null(a->summary));
        json_object_set_new(o, "labels", labels_json(a));
        json_object_set_new(o, "started_at", time_or_null(a->started_ms));
        json_object_set_new(o, "started_ms",
                            a->started_ms ? json_integer(a->started_ms) : json_null());
        json_object_set_new(o, "ended_at", time_or_null(a->ended_ms));
        json_object_set_new(o, "ended_ms", a->ended_ms ? json_integer(a->ended_ms) : json_null());
        json_array_append_new(alerts, o);
    }
    notify__title(nf, m, title, sizeof title);
    notify__rfc3339(m->created_ms, t, sizeof t);
    return json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:o}", "version", 1,
                     "source", "tend", "notifier", nf->spec.name, "host", nf->set->host, "status",
                     firing ? "firing" : "resolved", "firing", (json_int_t)firing, "resolved",
                     (json_int_t)(m->n - firing), "seq", (json_int_t)m->seq, "title", title,
                     "sent_at", t, "alerts", alerts);
}

/* FNV-1a over the labels serialized with sorted keys: stable across runs, like Alertmanager's
 * label-set fingerprint (not the same numbers, which no receiver relies on). */
static void fingerprint(json_t *labels, char *dst, size_t size)
{
    char *s = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *p = s; p && *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    free(s);
    snprintf(dst, size, "%016llx", (unsigned long long)h);
}

/* Keep in `common` only the pairs that `o` has too, with the same value. */
static void intersect(json_t *common, json_t *o)
{
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(common, tmp, k, v)
    {
        if (!json_equal(v, json_object_get(o, k)))
            json_object_del(common, k);
    }
}

json_t *notify__am_json(const struct notifier *nf, const struct notify_msg *m)
{
    json_t *alerts = json_array(), *common_l = NULL, *common_a = NULL;
    char fp[20], group_key[300];
    for (size_t i = 0; i < m->n; i++) {
        const struct notify_alert *a = &m->alerts[i];
        json_t *labels = labels_json(a);
        json_object_set_new(labels, "alertname", json_string(a->name));
        json_object_set_new(labels, "severity", json_string(a->severity));
        json_object_set_new(labels, "host", json_string(nf->set->host));
        json_t *ann = json_pack("{s:s, s:s}", "summary", a->summary ? a->summary : a->name,
                                "description", a->rule);
        if (a->value)
            json_object_set_new(ann, "value", json_string(a->value));
        fingerprint(labels, fp, sizeof fp);
        if (!common_l) {
            common_l = json_deep_copy(labels);
            common_a = json_deep_copy(ann);
        } else {
            intersect(common_l, labels);
            intersect(common_a, ann);
        }
        json_t *ends =
            a->ended_ms ? time_or_null(a->ended_ms) : json_string("0001-01-01T00:00:00Z");
        json_array_append_new(alerts,
                              json_pack("{s:s, s:o, s:o, s:o, s:o, s:s, s:s}", "status",
                                        state_name(a->state), "labels", labels, "annotations", ann,
                                        "startsAt", time_or_null(a->started_ms), "endsAt", ends,
                                        "generatorURL", "", "fingerprint", fp));
    }
    snprintf(group_key, sizeof group_key, "{}:{notifier=\"%s\"}", nf->spec.name);
    return json_pack("{s:s, s:s, s:i, s:s, s:s, s:{}, s:o, s:o, s:s, s:o}", "version", "4",
                     "groupKey", group_key, "truncatedAlerts", 0, "status",
                     count_firing(m) ? "firing" : "resolved", "receiver", nf->spec.name,
                     "groupLabels", "commonLabels", common_l ? common_l : json_object(),
                     "commonAnnotations", common_a ? common_a : json_object(), "externalURL", "",
                     "alerts", alerts);
}

/* How each style marks things up. */
struct style {
    const char *bold_on, *bold_off, *code_on, *code_off, *nl, *sep;
};
static const struct style styles[] = {
    /* DingTalk and WeCom markdown: a blank line is the one line break both render. */
    [NOTIFY_STYLE_MARKDOWN] = {"**", "**", "`", "`", "\n\n", "\n\n"},
    [NOTIFY_STYLE_SLACK] = {"*", "*", "`", "`", "\n", "\n\n"},
    [NOTIFY_STYLE_PLAIN] = {"", "", "", "", "\n  ", "\n\n"},
};

static void render_alert(const struct notify_alert *a, const struct style *st, struct buf *b)
{
    char t[64];
    buf_printf(b, "%s%s %s%s (%s)", st->bold_on, a->state == NOTIFY_FIRING ? "FIRING" : "RESOLVED",
               a->name, st->bold_off, a->severity);
    if (a->summary)
        buf_printf(b, "%s%s", st->nl, a->summary);
    buf_printf(b, "%srule: %s%s%s", st->nl, st->code_on, a->rule, st->code_off);
    if (a->value)
        buf_printf(b, ", value: %s", a->value);
    if (a->started_ms) {
        clock_iso8601(t, sizeof t, a->started_ms, 0);
        buf_printf(b, "%ssince: %s", st->nl, t);
    }
    if (a->ended_ms) {
        clock_iso8601(t, sizeof t, a->ended_ms, 0);
        buf_printf(b, ", resolved: %s", t);
    }
    for (size_t i = 0; i < a->nlabels; i++)
        buf_printf(b, "%s%s=%s", i ? ", " : st->nl, a->labels[i].key, a->labels[i].value);
}

void notify__render(const struct notifier *nf, const struct notify_msg *m, enum notify_style sty,
                    size_t max, struct buf *out)
{
    const struct style *st = &styles[sty];
    size_t start = out->len;
    struct buf one;
    buf_init(&one, 0);
    for (size_t i = 0; i < m->n; i++) {
        buf_reset(&one);
        if (i)
            buf_puts(&one, st->sep);
        render_alert(&m->alerts[i], st, &one);
        /* Whole alerts only: leave room for the "and N more" line. */
        if (out->len - start + one.len + 64 > max) {
            buf_printf(out, "%s... and %zu more alerts", st->sep, m->n - i);
            break;
        }
        buf_append(out, one.ptr, one.len);
    }
    buf_fini(&one);
    (void)nf;
}

void notify__utf8_trim(char *s)
{
    size_t n = strlen(s), i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--; /* continuation bytes */
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (n - (i - 1) < need)
        s[i - 1] = '\0';
}

int notify__json_body(json_t *doc, struct notify_req *req, struct err *err)
{
    char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!s)
        return err_set(err, -ENOMEM, "cannot encode the notification as JSON");
    int rc = buf_puts(&req->body, s);
    free(s);
    if (rc < 0)
        return err_set(err, rc, "cannot hold the notification body");
    notify__strv_push(&req->headers, "Content-Type: application/json; charset=utf-8");
    return 0;
}
